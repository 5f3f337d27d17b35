// SPDX-License-Identifier: MIT
//
// The manifest of a seal: what was done to the file (strategies, parameters, the salt) and the
// digests at every granularity, authenticated as a whole. It never holds the key or a
// permutation: those are derived again from key + salt when needed.
//
// Format, version 2: UTF-8 text, one item per line ending in "\n", in exactly this order:
//
//     brine-manifest 2
//     format torch_zip|pickle
//     hash NAME                            the hash: hmac_sha256|sha256, or a user hash's name
//                                          ([a-z0-9_]{1,32})
//     permute NAME                         the strategy: none|records|elements|neurons|blocks|chacha20,
//                                          or a user strategy's name ([a-z0-9_]{1,32})
//     scrub-lsb N                          0: no scrubbing
//     chunk-size N                         bytes per chunk digest (power of two, 4 KiB..1 GiB)
//     salt HEX64
//     key-check HEX16                      tells a wrong key from tampering (seal.hpp, key_check_of)
//     label =TEXT                          optional: the model and release the seal is bound to
//     plan =TEXT                           zero or more: the strategy's plan (neurons: one line per
//                                          hidden axis; blocks: one per class of identical blocks)
//     record =NAME SIZE SEALED ORIGINAL    per record of the file in file order (not the manifest)
//     chunk HEX64                          after each record: its chunk digests, in order
//     tensor =NAME DTYPE LAYOUT [SIZES] [STRIDES] OFFSET RECORD FLAGS HEX64
//     global =MODULE =NAME                 the globals the pickle names, in order of first use
//     architecture HEX64
//     root HEX64
//     tag HEX64
//
// Text fields start with '=' and escape every byte outside '!'..'~' and '%' itself as %XX
// (uppercase hex), so names with spaces or newlines stay on one line and "" is "=". SIZES and
// STRIDES are comma-separated decimals in brackets ("[]" for a scalar); RECORD is the index of
// the tensor's storage record or "-"; FLAGS is "p" (parameter) and/or "g" (requires_grad) or "-".
// Numbers are canonical decimals; hex is lowercase. A file with any other spelling is refused:
// the parser re-formats what it read and requires the same bytes, so one manifest has exactly
// one encoding.
//
// Digests (mtd/digest.hpp, under the seal's Hash, mtd/hash.hpp):
//   chunk        label, record index, chunk index, bytes
//   record       SEALED: label, index, name, size, its chunk digests; ORIGINAL: the same over the
//                bytes before the permutation (restore checks its output against it; equal to
//                SEALED when the strategy leaves bytes as they are)
//   tensor       label, its tensor line without the digest, the digests of the chunks holding
//                its bytes (all chunks of its record when elements are permuted)
//   architecture label, every tensor line without digest, every global line
//   root         label, every byte of the manifest before the root line
//   tag          HMAC-SHA-256 under the manifest key (always keyed) of everything before the tag
//                line: the manifest is authentic only with the key that sealed it.
// The key check and the label are lines of the prefix: covered by the root and the tag like every
// other field, so a label cannot be changed or removed without the key.
//
// Version 1 (brine before labels and key checks) is the same without the key-check and label
// lines. It is still read, so files sealed then keep verifying: such a manifest has no key check
// (a wrong key is reported as tampering, as it was) and no label (--expect-label refuses it).
// brine writes version 2 only; a reader older than version 2 refuses it at offset 0 with
// "brine-manifest 1" expected, rather than misreading it.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/error.hpp>
#include <brine/core/hex.hpp>
#include <brine/core/result.hpp>
#include <brine/core/utf8.hpp>
#include <brine/crypto/hmac.hpp>
#include <brine/mtd/digest.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace mtd {

// The permutation strategies brine ships (mtd/strategies/). A manifest names its strategy by a
// name (strategy_name_ok): these, or a user's strategy's own.
enum class permutation : std::uint8_t { none, records, elements, neurons, blocks, chacha20 };

[[nodiscard]] constexpr std::string_view to_string(permutation p) noexcept {
    switch (p) {
        case permutation::none: return "none";
        case permutation::records: return "records";
        case permutation::elements: return "elements";
        case permutation::neurons: return "neurons";
        case permutation::blocks: return "blocks";
        case permutation::chacha20: return "chacha20";
    }
    return "none";
}
[[nodiscard]] constexpr bool parse_permutation(std::string_view text, permutation& out) noexcept {
    for (const permutation p : {permutation::none, permutation::records, permutation::elements, permutation::neurons,
                                 permutation::blocks, permutation::chacha20})
        if (to_string(p) == text) {
            out = p;
            return true;
        }
    return false;
}

// A strategy's or a hash's name as a manifest spells it: 1 to 32 bytes of a-z, 0-9 and '_'.
[[nodiscard]] constexpr bool strategy_name_ok(std::string_view name) noexcept {
    if (name.empty() || name.size() > 32) return false;
    for (const char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

// Whether a strategy leaves every byte of a storage where it was (it may change its value): then
// a tensor's digest covers the chunks its bytes are in; otherwise (elements, and any strategy
// brine does not know) all chunks of its record.
[[nodiscard]] constexpr bool keeps_byte_positions(std::string_view name) noexcept {
    return name == "none" || name == "records" || name == "neurons" || name == "blocks" || name == "chacha20";
}

struct manifest_record {
    std::string name;
    std::uint64_t size = 0;
    digest sealed{};
    digest original{};
    std::vector<digest> chunks;
};

struct manifest_tensor {
    std::string name;
    std::string type;    // dtype name, as torch prints it ("float32")
    std::string layout;  // "strided", "quantized", "sparse_coo", "sparse_compressed", "meta"
    std::vector<std::int64_t> sizes;
    std::vector<std::int64_t> strides;
    std::int64_t offset = 0;
    std::int64_t record = -1;  // index into manifest::records, or -1
    bool parameter = false;
    bool requires_grad = false;
    digest value{};

    // The line without its digest: what the tensor and architecture digests cover.
    [[nodiscard]] std::string describe() const;
};

struct manifest_global {
    std::string module;
    std::string name;
};

// The key check: 8 bytes derived from the key and the salt (seal.hpp, key_check_of).
using key_check = std::array<std::uint8_t, 8>;

struct manifest {
    static constexpr unsigned version = 2;         // the version brine writes
    static constexpr unsigned oldest_version = 1;  // the oldest it reads
    static constexpr std::size_t max_label = 256;  // bytes of UTF-8
    unsigned format_version = version;             // of the text read (written: always `version`)
    std::string format = "torch_zip";
    std::string hash = "hmac_sha256";              // the Hash's name
    std::string permute = "none";                  // the strategy's name
    unsigned scrub_lsb = 0;
    std::uint64_t chunk_size = std::uint64_t{1} << 20;
    digest salt{};
    key_check check{};              // version 2: the key check (version 1 has none)
    std::string label;              // version 2: the seal's label; empty: none
    std::vector<std::string> plan;  // lines of the strategy's plan (neurons, blocks)
    std::vector<manifest_record> records;
    std::vector<manifest_tensor> tensors;
    std::vector<manifest_global> globals;
    digest architecture{};
    digest root{};
};

// Limits of the parser: a manifest is small next to its model (about 80 bytes per MiB of data).
struct manifest_limits {
    static constexpr std::uint64_t max_size = std::uint64_t{256} << 20;
    static constexpr std::size_t max_dims = 64;
};

// Where a label goes wrong: the byte offset in the label and what was expected there.
struct label_fault {
    std::size_t offset = 0;
    const char* expected = nullptr;  // null: the label is fine
};

// A label is printable UTF-8 of 1..max_label bytes: shortest-form UTF-8 without control
// characters (C0, DEL, C1), so that what verify prints is what the sealer saw, and a label can
// never forge a line of a report or move the terminal's cursor.
[[nodiscard]] inline label_fault check_label(std::string_view label) noexcept {
    if (label.empty()) return {0, "a label of at least one byte"};
    if (label.size() > manifest::max_label) return {manifest::max_label, "a label of at most 256 bytes"};
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(label.data());
    std::size_t i = 0;
    while (i < label.size()) {
        const std::uint8_t c = bytes[i];
        if (c < 0x20 || c == 0x7F) return {i, "printable characters in the label (no control characters)"};
        if (c < 0x80) {
            ++i;
            continue;
        }
        const std::size_t valid = brine::detail::first_invalid_utf8(bytes + i, label.size() - i);
        if (valid == 0) return {i, "a label in valid UTF-8"};
        // C1 controls (U+0080..U+009F) are 0xC2 0x80..0x9F.
        if (c == 0xC2 && bytes[i + 1] < 0xA0) return {i, "printable characters in the label (no control characters)"};
        i += c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;  // a well-formed sequence's length, from its lead byte
    }
    return {};
}

namespace detail {

inline void put_text(std::string& out, std::string_view text) {
    out += '=';
    for (const char c : text) {
        const auto b = static_cast<unsigned char>(c);
        if (b >= '!' && b <= '~' && b != '%') {
            out += c;
        } else {
            out += '%';
            append_hex_byte(out, b, true);
        }
    }
}

inline void put_ints(std::string& out, const std::vector<std::int64_t>& values) {
    out += '[';
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) out += ',';
        out += std::to_string(values[i]);
    }
    out += ']';
}

}  // namespace detail

inline std::string manifest_tensor::describe() const {
    std::string out = "tensor ";
    detail::put_text(out, name);
    out += ' ';
    out += type;
    out += ' ';
    out += layout;
    out += ' ';
    detail::put_ints(out, sizes);
    out += ' ';
    detail::put_ints(out, strides);
    out += ' ';
    out += std::to_string(offset);
    out += ' ';
    out += record < 0 ? std::string("-") : std::to_string(record);
    out += ' ';
    if (!parameter && !requires_grad) out += '-';
    if (parameter) out += 'p';
    if (requires_grad) out += 'g';
    return out;
}

// Everything before the "root" line, in the manifest's format version.
[[nodiscard]] inline std::string manifest_prefix(const manifest& m) {
    std::string out = "brine-manifest " + std::to_string(m.format_version) + "\n";
    out += "format " + m.format + "\n";
    out += "hash " + m.hash + "\n";
    out += "permute " + m.permute + "\n";
    out += "scrub-lsb " + std::to_string(m.scrub_lsb) + "\n";
    out += "chunk-size " + std::to_string(m.chunk_size) + "\n";
    out += "salt " + to_hex(m.salt) + "\n";
    if (m.format_version >= 2) {
        out += "key-check " + to_hex(byte_view(m.check.data(), m.check.size())) + "\n";
        if (!m.label.empty()) {
            out += "label ";
            detail::put_text(out, m.label);
            out += '\n';
        }
    }
    for (const std::string& line : m.plan) {
        out += "plan ";
        detail::put_text(out, line);
        out += '\n';
    }
    for (const manifest_record& r : m.records) {
        out += "record ";
        detail::put_text(out, r.name);
        out += ' ' + std::to_string(r.size) + ' ' + to_hex(r.sealed) + ' ' + to_hex(r.original) + '\n';
        for (const digest& c : r.chunks) out += "chunk " + to_hex(c) + '\n';
    }
    for (const manifest_tensor& t : m.tensors) out += t.describe() + ' ' + to_hex(t.value) + '\n';
    for (const manifest_global& g : m.globals) {
        out += "global ";
        detail::put_text(out, g.module);
        out += ' ';
        detail::put_text(out, g.name);
        out += '\n';
    }
    out += "architecture " + to_hex(m.architecture) + '\n';
    return out;
}

// The architecture digest: every tensor line (without digest) and every global line.
template <class Digester>
[[nodiscard]] digest architecture_digest(Digester& d, const std::vector<manifest_tensor>& tensors,
                                                const std::vector<manifest_global>& globals) {
    d.update(std::string_view("brine/architecture"));
    d.update_u64(tensors.size());
    for (const manifest_tensor& t : tensors) d.update_field(t.describe());
    d.update_u64(globals.size());
    for (const manifest_global& g : globals) {
        d.update_field(g.module);
        d.update_field(g.name);
    }
    return d.finish();
}

template <class Digester>
[[nodiscard]] digest root_digest(Digester& d, std::string_view prefix) {
    d.update(std::string_view("brine/root"));
    d.update_field(prefix);
    return d.finish();
}

[[nodiscard]] inline digest manifest_tag(const digest& manifest_key, std::string_view signed_text) {
    return crypto::hmac_sha256::mac(byte_view(manifest_key.data(), manifest_key.size()), as_bytes(signed_text));
}

// The whole manifest text, root and tag lines included (root must be set).
[[nodiscard]] inline std::string write_manifest(const manifest& m, const digest& manifest_key) {
    std::string out = manifest_prefix(m);
    out += "root " + to_hex(m.root) + '\n';
    out += "tag " + to_hex(manifest_tag(manifest_key, out)) + '\n';
    return out;
}

// A parsed manifest and what its tag covers, before the tag is checked.
struct parsed_manifest {
    manifest content;
    std::string signed_text;  // every byte before the tag line
    digest tag{};
    std::uint64_t key_check_offset = 0;  // of the key-check line (version 2), for a wrong key's error

    // Whether the tag is the MAC of the text under `manifest_key` (constant-time compare).
    [[nodiscard]] bool authentic(const digest& manifest_key) const {
        const digest expected = manifest_tag(manifest_key, signed_text);
        return crypto::constant_time_equal(byte_view(expected.data(), expected.size()), byte_view(tag.data(), tag.size()));
    }
};

namespace detail {

// Reads one line at a time and its space-separated fields, with offsets for errors.
class manifest_lines {
public:
    explicit manifest_lines(std::string_view text) noexcept : text_(text) {}

    [[nodiscard]] bool at_end() const noexcept { return pos_ >= text_.size(); }
    [[nodiscard]] std::uint64_t offset() const noexcept { return line_start_; }
    [[nodiscard]] std::size_t position() const noexcept { return pos_; }

    // The next line's fields; false at the end or when a line lacks its "\n".
    bool next(std::vector<std::string_view>& fields) {
        fields.clear();
        line_start_ = pos_;
        if (pos_ >= text_.size()) return false;
        const std::size_t end = text_.find('\n', pos_);
        if (end == std::string_view::npos) return false;
        std::string_view line = text_.substr(pos_, end - pos_);
        pos_ = end + 1;
        std::size_t start = 0;
        for (;;) {
            const std::size_t space = line.find(' ', start);
            fields.push_back(line.substr(start, space == std::string_view::npos ? std::string_view::npos : space - start));
            if (space == std::string_view::npos) break;
            start = space + 1;
        }
        return true;
    }

    // Peeks at the first word of the next line without consuming it.
    [[nodiscard]] std::string_view peek_keyword() const noexcept {
        if (pos_ >= text_.size()) return {};
        const std::size_t end = text_.find_first_of(" \n", pos_);
        return text_.substr(pos_, end == std::string_view::npos ? std::string_view::npos : end - pos_);
    }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
    std::size_t line_start_ = 0;
};

inline bool get_text(std::string_view field, std::string& out) {
    if (field.empty() || field[0] != '=') return false;
    out.clear();
    for (std::size_t i = 1; i < field.size(); ++i) {
        const char c = field[i];
        if (c != '%') {
            out += c;
            continue;
        }
        if (i + 2 >= field.size()) return false;
        const int high = hex_value(field[i + 1], true), low = hex_value(field[i + 2], true);
        if (high < 0 || low < 0) return false;
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return true;
}

inline bool get_u64(std::string_view field, std::uint64_t& out) noexcept {
    if (field.empty() || field.size() > 20) return false;
    std::uint64_t v = 0;
    for (const char c : field) {
        if (c < '0' || c > '9') return false;
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (v > (UINT64_MAX - digit) / 10) return false;
        v = v * 10 + digit;
    }
    out = v;
    return true;
}

inline bool get_i64(std::string_view field, std::int64_t& out) noexcept {
    const bool negative = !field.empty() && field[0] == '-';
    std::uint64_t magnitude = 0;
    if (!get_u64(negative ? field.substr(1) : field, magnitude)) return false;
    if (magnitude > static_cast<std::uint64_t>(INT64_MAX)) return false;
    out = negative ? -static_cast<std::int64_t>(magnitude) : static_cast<std::int64_t>(magnitude);
    return true;
}

inline bool get_ints(std::string_view field, std::vector<std::int64_t>& out) {
    out.clear();
    if (field.size() < 2 || field.front() != '[' || field.back() != ']') return false;
    field = field.substr(1, field.size() - 2);
    if (field.empty()) return true;
    for (;;) {
        if (out.size() == manifest_limits::max_dims) return false;
        const std::size_t comma = field.find(',');
        std::int64_t v = 0;
        if (!get_i64(field.substr(0, comma), v)) return false;
        out.push_back(v);
        if (comma == std::string_view::npos) return true;
        field = field.substr(comma + 1);
    }
}

inline bool get_key_check(std::string_view field, key_check& out) noexcept {
    if (field.size() != 2 * out.size()) return false;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int high = hex_digit_value(static_cast<std::uint8_t>(field[2 * i]));
        const int low = hex_digit_value(static_cast<std::uint8_t>(field[2 * i + 1]));
        if (high < 0 || low < 0) return false;  // uppercase is refused by the canonical re-write
        out[i] = static_cast<std::uint8_t>(high << 4 | low);
    }
    return true;
}

// Version 2's lines after the salt: the key check, and the label if there is one (validated here,
// so that a verifier never prints or compares a label the sealer would have refused).
inline status parse_binding(manifest_lines& lines, std::vector<std::string_view>& f, parsed_manifest& out) {
    manifest& m = out.content;
    if (!lines.next(f) || f.size() != 2 || f[0] != "key-check" || !get_key_check(f[1], m.check))
        return error{errc::mtd_bad_manifest, lines.offset(), "\"key-check\" and 16 lowercase hex digits"};
    out.key_check_offset = lines.offset();
    if (lines.peek_keyword() != "label") return {};
    if (!lines.next(f) || f.size() != 2 || !get_text(f[1], m.label))
        return error{errc::mtd_bad_manifest, lines.offset(), "\"label =TEXT\""};
    const label_fault fault = check_label(m.label);
    if (fault.expected) return error{errc::mtd_bad_manifest, lines.offset(), fault.expected};
    return {};
}

}  // namespace detail

// Parses a manifest. Errors carry the offset of the offending line and what was expected there.
[[nodiscard]] inline result<parsed_manifest> parse_manifest(byte_view bytes) {
    if (bytes.size() > manifest_limits::max_size)
        return error{errc::limit_exceeded, manifest_limits::max_size, "a manifest of at most 256 MiB"};
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    detail::manifest_lines lines(text);
    std::vector<std::string_view> f;
    parsed_manifest out;
    manifest& m = out.content;
    const auto bad = [&](const char* expected) { return error{errc::mtd_bad_manifest, lines.offset(), expected}; };
    const auto line = [&](std::string_view keyword, std::size_t fields) {
        return lines.next(f) && f.size() == fields && f[0] == keyword;
    };

    if (!line("brine-manifest", 2) || (f[1] != "1" && f[1] != "2"))
        return bad("\"brine-manifest 2\" or \"brine-manifest 1\" (a manifest of version 1 or 2)");
    m.format_version = f[1] == "1" ? 1 : 2;
    if (!line("format", 2) || (f[1] != "torch_zip" && f[1] != "pickle")) return bad("\"format torch_zip|pickle\"");
    m.format = std::string(f[1]);
    if (!line("hash", 2) || !strategy_name_ok(f[1]))
        return bad("\"hash NAME\", a hash name of 1 to 32 bytes of a-z, 0-9 and '_'");
    m.hash = std::string(f[1]);
    if (!line("permute", 2) || !strategy_name_ok(f[1]))
        return bad("\"permute NAME\", a strategy name of 1 to 32 bytes of a-z, 0-9 and '_'");
    m.permute = std::string(f[1]);
    std::uint64_t number = 0;
    if (!line("scrub-lsb", 2) || !detail::get_u64(f[1], number) || number > 52) return bad("\"scrub-lsb N\", N <= 52");
    m.scrub_lsb = static_cast<unsigned>(number);
    if (!line("chunk-size", 2) || !detail::get_u64(f[1], m.chunk_size) || m.chunk_size < 4096 ||
        m.chunk_size > (std::uint64_t{1} << 30) || (m.chunk_size & (m.chunk_size - 1)) != 0)
        return bad("\"chunk-size N\", a power of two from 4096 to 2^30");
    if (!line("salt", 2) || !from_hex(f[1], m.salt)) return bad("\"salt\" and 64 lowercase hex digits");
    if (m.format_version >= 2) BRINE_TRY(detail::parse_binding(lines, f, out));

    while (lines.peek_keyword() == "plan") {
        std::string plan_line;
        if (!line("plan", 2) || !detail::get_text(f[1], plan_line)) return bad("\"plan =TEXT\"");
        m.plan.push_back(std::move(plan_line));
    }
    while (lines.peek_keyword() == "record") {
        manifest_record r;
        if (!line("record", 5) || !detail::get_text(f[1], r.name) || !detail::get_u64(f[2], r.size) ||
            !from_hex(f[3], r.sealed) || !from_hex(f[4], r.original))
            return bad("\"record =NAME SIZE SEALED ORIGINAL\"");
        const std::uint64_t chunks = chunk_count(r.size, m.chunk_size);
        // Each chunk line is 71 bytes: a count beyond what the text can hold is malformed.
        if (chunks > text.size() / 71 + 1) return bad("as many chunk lines as the record's size needs");
        for (std::uint64_t i = 0; i < chunks; ++i) {
            digest c{};
            if (!line("chunk", 2) || !from_hex(f[1], c)) return bad("\"chunk HEX64\" (one per chunk of the record)");
            r.chunks.push_back(c);
        }
        m.records.push_back(std::move(r));
    }
    while (lines.peek_keyword() == "tensor") {
        manifest_tensor t;
        if (!line("tensor", 10) || !detail::get_text(f[1], t.name) || f[2].empty() || f[3].empty() ||
            !detail::get_ints(f[4], t.sizes) || !detail::get_ints(f[5], t.strides) || !detail::get_i64(f[6], t.offset) ||
            !from_hex(f[9], t.value))
            return bad("\"tensor =NAME DTYPE LAYOUT [SIZES] [STRIDES] OFFSET RECORD FLAGS HEX64\"");
        t.type = std::string(f[2]);
        t.layout = std::string(f[3]);
        std::uint64_t record = 0;
        if (f[7] == "-") t.record = -1;
        else if (detail::get_u64(f[7], record) && record < m.records.size()) t.record = static_cast<std::int64_t>(record);
        else return bad("a tensor's record: the index of a record above, or \"-\"");
        if (f[8] != "-" && f[8] != "p" && f[8] != "g" && f[8] != "pg") return bad("tensor flags \"-\", \"p\", \"g\" or \"pg\"");
        t.parameter = f[8] == "p" || f[8] == "pg";
        t.requires_grad = f[8] == "g" || f[8] == "pg";
        m.tensors.push_back(std::move(t));
    }
    while (lines.peek_keyword() == "global") {
        manifest_global g;
        if (!line("global", 3) || !detail::get_text(f[1], g.module) || !detail::get_text(f[2], g.name))
            return bad("\"global =MODULE =NAME\"");
        m.globals.push_back(std::move(g));
    }
    if (!line("architecture", 2) || !from_hex(f[1], m.architecture)) return bad("\"architecture HEX64\"");
    if (!line("root", 2) || !from_hex(f[1], m.root)) return bad("\"root HEX64\"");
    const std::size_t signed_end = lines.position();
    if (!line("tag", 2) || !from_hex(f[1], out.tag)) return bad("\"tag HEX64\"");
    if (!lines.at_end()) return error{errc::mtd_bad_manifest, lines.position(), "the end of the manifest after its tag"};

    // One encoding only: what was read, written again, must be the same bytes.
    out.signed_text = std::string(text.substr(0, signed_end));
    std::string again = manifest_prefix(m);
    again += "root " + to_hex(m.root) + '\n';
    if (again != out.signed_text) {
        std::size_t at = 0;
        while (at < again.size() && at < out.signed_text.size() && again[at] == out.signed_text[at]) ++at;
        return error{errc::mtd_bad_manifest, at, "the canonical spelling of every field (escapes, numbers, order)"};
    }
    return out;
}

}  // namespace mtd
BRINE_NAMESPACE_END
