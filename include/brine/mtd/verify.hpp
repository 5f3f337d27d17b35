// SPDX-License-Identifier: MIT
//
// Verifying a sealed file: is it what its seal says, and if not, what changed?
//
//   1. the manifest (the .brine/manifest record, or a detached file) parses and its tag verifies
//      under the key: otherwise nothing else in it can be trusted, and that is the one answer;
//   2. the records: none missing, added, resized or moved;
//   3. every record hashed again in chunks (on `jobs` threads): a changed chunk is named with the
//      tensors whose bytes it holds (their tensor digests no longer match);
//   4. the architecture: the pickle evaluated again (never executed) and its tensors (names,
//      dtypes, shapes, strides, offsets, storage sharing) and globals compared with the manifest;
//   5. the whole file: every byte outside the record data exactly as brine's writer writes it for
//      this seal (layout.hpp), so no header, comment or gap can carry what the digests miss.
//
// Every difference is a problem in the report; the report is intact when there is none. Errors
// (the result's error) are reserved for what prevents an answer: an unreadable file, a file that
// is neither a sealed archive nor given with a detached manifest, a wrong key, and an authentic
// seal made with a strategy or a hash the verifier does not trust.
//
// basic_verifier<Strategy, Hash, Policy, Limits> trusts the strategies Strategy selects and the
// hashes Hash selects (a one_of<...> of them, or one type): it computes digests only with those,
// and a seal that names another is refused once its manifest is authenticated. The manifest's
// tag is always HMAC-SHA-256 (hash.hpp), so the names it gives are checked before they are used.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/detect.hpp>
#include <brine/core/file.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/mtd/digest.hpp>
#include <brine/mtd/hash.hpp>
#include <brine/mtd/hashes/bundled.hpp>
#include <brine/mtd/strategies/bundled.hpp>
#include <brine/mtd/strategy.hpp>
#include <brine/mtd/key.hpp>
#include <brine/mtd/layout.hpp>
#include <brine/mtd/manifest.hpp>
#include <brine/mtd/derive.hpp>
#include <brine/mtd/describe.hpp>
#include <brine/pickle/machine.hpp>
#include <brine/policy/torch_weights_only.hpp>
#include <brine/torch/detect.hpp>
#include <brine/torch/find_tensors.hpp>
#include <brine/zip/reader.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace mtd {

struct verify_problem {
    std::string where;  // "manifest", "record NAME", "tensor NAME", "architecture", "file"
    std::string what;
};

struct verify_report {
    std::vector<verify_problem> problems;
    manifest sealed;               // as read (trusted only when the manifest problem is absent)
    bool manifest_authentic = false;
    std::uint64_t bytes_hashed = 0;

    [[nodiscard]] bool intact() const noexcept { return problems.empty(); }
};

struct verify_options {
    unsigned jobs = 1;
    const char* manifest_path = nullptr;  // a detached manifest; else the archive's record
    void (*progress)(void* context, std::uint64_t done, std::uint64_t total) = nullptr;
    void* progress_context = nullptr;
    // Pins: a seal that is authentic but not the one expected (another model or release sealed
    // under the same key, replayed in its place) is reported as tampering, a problem named
    // "label" or "root". A version-1 manifest has no label: it never matches an expected one.
    std::optional<std::string> expect_label;  // the label given at seal time
    std::optional<digest> expect_root;        // the root digest published for the seal
};

namespace detail {

[[nodiscard]] inline std::string describe_error(const error& e) {
    std::string out(to_string(e.code));
    out += " at offset " + std::to_string(e.offset);
    if (!e.entry.empty()) out += " in " + std::string(e.entry.view());
    if (e.detail && *e.detail) out += std::string(" (expected ") + e.detail + ")";
    return out;
}

[[nodiscard]] inline std::string chunk_range(std::uint64_t chunk, std::uint64_t chunk_size, std::uint64_t record_size) {
    const std::uint64_t from = chunk * chunk_size;
    std::uint64_t to = from + chunk_size;
    if (to > record_size) to = record_size;
    return "chunk " + std::to_string(chunk) + " (bytes " + std::to_string(from) + ".." + std::to_string(to) + ")";
}

// Feeds extracted bytes to the hasher, counting them for the progress line.
template <class Hasher>
struct hashing_sink {
    Hasher* hasher;
    std::uint64_t* done;
    std::uint64_t total;
    const verify_options* options;
    status write(byte_view bytes) {
        hasher->update(bytes);
        const std::uint64_t before = *done;
        *done += bytes.size();
        constexpr std::uint64_t step = std::uint64_t{8} << 20;
        if (options->progress && (before / step != *done / step || *done == total))
            options->progress(options->progress_context, *done, total);
        return {};
    }
};

// The tensors and globals of a sealed pickle, as the seal described them.
template <class Policy, class Limits, class Hash>
void compare_architecture(byte_view pickle_bytes, const std::string& prefix, const manifest& m, const Policy& rules,
                          const Hash& hash, verify_report& out) {
    pickle::machine<Policy, Limits> machine(rules);
    pickle::evaluation evaluated;
    const status ran = machine.run(pickle_bytes, evaluated);
    if (!ran) {
        out.problems.push_back({"architecture", "the pickle no longer reads: " + describe_error(ran.err())});
        return;
    }
    for (const pickle::finding& f : evaluated.values.findings())
        out.problems.push_back({"architecture", "the pickle holds what the policy refuses: " + std::string(f.module) + "." +
                                                    std::string(f.name) + " at offset " + std::to_string(f.offset) +
                                                    " (" + f.reason + ")"});
    auto found = torch::find_tensors(evaluated.values);
    if (!found) {
        out.problems.push_back({"architecture", "the tensors no longer validate: " + describe_error(found.err())});
        return;
    }
    std::unordered_map<std::string_view, std::size_t> record_index;
    for (std::size_t i = 0; i < m.records.size(); ++i) record_index.emplace(m.records[i].name, i);
    std::vector<manifest_tensor> now;
    for (const torch::tensor_ref& t : found->tensors) {
        std::int64_t record = -1;
        if (has_storage(t)) {
            const std::string name = prefix.empty() ? std::string("pickle")
                                                    : prefix + "/data/" + std::string(found->storages[t.storage].key);
            const auto it = record_index.find(name);
            // No such record: an index that differs from every sealed one.
            record = static_cast<std::int64_t>(it == record_index.end() ? m.records.size() : it->second);
        }
        now.push_back(describe(t, record));
    }
    const std::vector<manifest_global> globals = globals_of(evaluated.values);
    // Two descriptions compared with each other: the key does not matter (finish() resets).
    basic_digester<Hash> d(hash, digest{});
    const digest observed = architecture_digest(d, now, globals);
    if (observed == architecture_digest(d, m.tensors, m.globals)) return;

    const std::size_t before = out.problems.size();
    const auto record_name = [&](std::int64_t r) {
        return r < 0 ? std::string("none")
                     : static_cast<std::size_t>(r) < m.records.size() ? m.records[static_cast<std::size_t>(r)].name
                                                                       : std::string("a record not in the seal");
    };
    std::unordered_map<std::string_view, std::size_t> now_by_name, sealed_by_name;
    for (std::size_t i = 0; i < now.size(); ++i) now_by_name.emplace(now[i].name, i);
    for (std::size_t i = 0; i < m.tensors.size(); ++i) sealed_by_name.emplace(m.tensors[i].name, i);
    for (const manifest_tensor& sealed : m.tensors) {
        const auto it = now_by_name.find(sealed.name);
        if (it == now_by_name.end()) {
            out.problems.push_back({"tensor " + sealed.name, "removed from the architecture"});
            continue;
        }
        const manifest_tensor& t = now[it->second];
        std::string what;
        const auto differs = [&](const char* field, const std::string& is, const std::string& was) {
            if (is == was) return;
            if (!what.empty()) what += "; ";
            what += std::string(field) + " " + is + " (sealed " + was + ")";
        };
        std::string a, b;
        differs("dtype", t.type, sealed.type);
        differs("layout", t.layout, sealed.layout);
        a.clear(), b.clear(), detail::put_ints(a, t.sizes), detail::put_ints(b, sealed.sizes);
        differs("shape", a, b);
        a.clear(), b.clear(), detail::put_ints(a, t.strides), detail::put_ints(b, sealed.strides);
        differs("strides", a, b);
        differs("storage offset", std::to_string(t.offset), std::to_string(sealed.offset));
        differs("storage record", record_name(t.record), record_name(sealed.record));
        differs("parameter", t.parameter ? "yes" : "no", sealed.parameter ? "yes" : "no");
        differs("requires_grad", t.requires_grad ? "yes" : "no", sealed.requires_grad ? "yes" : "no");
        if (!what.empty()) out.problems.push_back({"tensor " + sealed.name, what});
    }
    for (const manifest_tensor& t : now)
        if (sealed_by_name.find(t.name) == sealed_by_name.end())
            out.problems.push_back({"tensor " + t.name, "added to the architecture"});
    const auto global_list = [](const std::vector<manifest_global>& list) {
        std::string text;
        for (const manifest_global& g : list) text += (text.empty() ? "" : ", ") + g.module + "." + g.name;
        return text.empty() ? std::string("none") : text;
    };
    const std::string globals_now = global_list(globals), globals_sealed = global_list(m.globals);
    if (globals_now != globals_sealed)
        out.problems.push_back({"architecture", "globals " + globals_now + " (sealed " + globals_sealed + ")"});
    if (out.problems.size() == before)
        out.problems.push_back({"architecture", "the tensors are listed in another order or structure than sealed"});
}

// A manifest that does not verify under `key`: a wrong key when the key check (version 2) says
// so, else tampering. Only the tag makes a manifest authentic, so an attacker who rewrites the
// key check can turn "tampered" into "wrong key" and nothing more: neither verifies.
[[nodiscard]] inline bool wrong_key(const manifest& m, const secret_key& key) {
    return m.format_version >= 2 && key_check_of(key, m.salt) != m.check;
}

// The pins of `options` against an authentic manifest.
inline void check_binding(const manifest& m, const verify_options& options, verify_report& out) {
    if (options.expect_label && m.label != *options.expect_label)
        out.problems.push_back({"label", m.label.empty() ? std::string("none (expected one: not the expected model)")
                                                         : "\"" + m.label + "\" (expected \"" + *options.expect_label +
                                                               "\": not the expected model)"});
    if (options.expect_root && m.root != *options.expect_root)
        out.problems.push_back({"root", to_hex(m.root) + " (expected " + to_hex(*options.expect_root) +
                                            ": not the expected seal)"});
}

}  // namespace detail

namespace detail {

template <class T>
using mapping_op = decltype(std::declval<const T&>().mapping());

// A raw pickle's bytes, whole: in place when the source maps them, else copied into `copy`.
template <class RandomAccessSource>
[[nodiscard]] status whole_pickle(const RandomAccessSource& file, std::vector<std::uint8_t>& copy, byte_view& out) {
    if constexpr (is_detected_exact_v<byte_view, mapping_op, RandomAccessSource>) {
        out = file.mapping();
        if (out.size() == file.size()) return {};
    }
    vector_sink sink(copy);
    BRINE_TRY(copy_range(file, 0, file.size(), sink));
    out = byte_view(copy.data(), copy.size());
    return {};
}

}  // namespace detail

// The verifier: trusts the strategies Strategy selects and the hashes Hash selects; `rules` is
// the policy the seal was made with (a sealed pickle holds only what it allowed).
template <class Strategy = strategies::bundled, class Hash = hashes::bundled,
          class Policy = policy::torch_weights_only, class Limits = pickle::limits::standard>
class basic_verifier {
    static_assert((check_strategy<Strategy>(), true));  // one error per failed requirement, no more
    static_assert((check_hash<Hash>(), true));

public:
    using strategy_type = std::conditional_t<is_strategy_v<Strategy>, Strategy, strategies::none>;
    using hash_type = std::conditional_t<is_hash_v<Hash>, Hash, hashes::sha256>;

    explicit basic_verifier(const secret_key& key, verify_options options = {}, Policy rules = {}, Strategy strategy = {},
                            Hash hash = {})
        : key_(key), options_(std::move(options)), rules_(std::move(rules)),
          strategy_(gated<strategy_type>(std::move(strategy))), hash_(gated<hash_type>(std::move(hash))) {}

    // Verifies the open file `file` (a RandomAccessSource: every byte is read through it, so a
    // caller that goes on to read the same source reads what was verified).
    template <class RandomAccessSource, std::enable_if_t<is_random_access_source_v<RandomAccessSource>, int> = 0>
    [[nodiscard]] result<verify_report> verify(const RandomAccessSource& file) const;

#if BRINE_HAS_POSIX_FILES
    // Verifies `path`: the file opened once, then as above.
    [[nodiscard]] result<verify_report> verify(const char* path) const {
        auto file = hybrid_file_source::open(path);
        BRINE_TRY(file);
        return verify(*file);
    }
#endif

private:
    secret_key key_;
    verify_options options_;
    Policy rules_;
    strategy_type strategy_;
    hash_type hash_;
};

// The verifier of the command line: every bundled strategy and hash.
using verifier = basic_verifier<>;

template <class Strategy, class Hash, class Policy, class Limits>
template <class RandomAccessSource, std::enable_if_t<is_random_access_source_v<RandomAccessSource>, int>>
result<verify_report> basic_verifier<Strategy, Hash, Policy, Limits>::verify(const RandomAccessSource& file) const {
    const secret_key& key = key_;
    const verify_options& options = options_;
    const Policy& rules = rules_;
    verify_report out;
    const auto tampered = [&](std::string where, std::string what) -> result<verify_report> {
        out.problems.push_back({std::move(where), std::move(what)});
        return std::move(out);
    };

    // The archive, when the file is one (a sealed raw pickle is not).
    const auto kind = torch::detect(file);
    std::unique_ptr<zip::reader<RandomAccessSource>> archive;
    error archive_error;
    if (kind && *kind == torch::format::zip) {
        auto opened = zip::reader<RandomAccessSource>::open(file);
        if (opened) archive.reset(new zip::reader<RandomAccessSource>(std::move(*opened)));
        else archive_error = opened.err();
    }

    // 1. The manifest, authenticated.
    std::vector<std::uint8_t> text;
    if (options.manifest_path) {
        auto detached = mapped_file::open(options.manifest_path);
        BRINE_TRY(detached);
        if (detached->bytes().size() > manifest_limits::max_size)
            return error{errc::limit_exceeded, manifest_limits::max_size, "a manifest of at most 256 MiB"};
        text.assign(detached->bytes().begin(), detached->bytes().end());
    } else {
        if (!kind || *kind != torch::format::zip)
            return error{errc::mtd_no_manifest, 0, "a sealed torch zip archive, or --manifest with the seal's manifest"};
        if (!archive) return tampered("file", "not a readable archive any more: " + detail::describe_error(archive_error));
        auto record = archive->find_record(manifest_record_name);
        if (!record) return tampered("manifest", "no .brine/manifest record: not sealed, or the manifest was removed");
        if ((*record)->uncompressed_size > manifest_limits::max_size)
            return tampered("manifest", "larger than a manifest can be");
        vector_sink sink(text);
        const status read = archive->extract(**record, sink);
        if (!read) return tampered("manifest", "unreadable: " + detail::describe_error(read.err()));
    }
    auto parsed = parse_manifest(byte_view(text.data(), text.size()));
    if (!parsed) return tampered("manifest", "malformed: " + detail::describe_error(parsed.err()));
    out.sealed = parsed->content;
    const manifest& m = out.sealed;
    if (!parsed->authentic(detail::derive(key, m.salt, "manifest"))) {
        if (detail::wrong_key(m, key))
            return error{errc::mtd_wrong_key, parsed->key_check_offset,
                         "the key the file was sealed with (the manifest's key check differs: a wrong key)",
                         options.manifest_path ? std::string_view("manifest") : manifest_record_name};
        return tampered("manifest", "not authentic: a wrong key, or the manifest was altered or replaced");
    }
    out.manifest_authentic = true;
    // Only what this verifier trusts computes a digest.
    strategy_type strategy = strategy_;
    if (!strategy.select(m.permute))
        return error{errc::mtd_unsupported, 0, "a seal made with a strategy this verifier trusts", m.permute};
    hash_type hash = hash_;
    if (!hash.select(m.hash)) return error{errc::mtd_unsupported, 0, "a seal made with a hash this verifier trusts", m.hash};
    detail::check_binding(m, options, out);
    if (m.format == "torch_zip" && !archive)
        return tampered("file", kind && *kind == torch::format::zip
                                    ? "not a readable archive any more: " + detail::describe_error(archive_error)
                                    : std::string("not a zip archive any more"));

    // 2. The records present, in order, at their sizes.
    struct present {
        const zip::entry* entry;  // null for a raw pickle
        std::uint64_t size;
    };
    std::vector<std::pair<std::string, present>> records;  // in file order
    std::string prefix;
    if (archive) {
        prefix = std::string(archive->root());
        std::vector<const zip::entry*> entries;
        for (const zip::entry& e : archive->entries())
            if (!e.is_directory() && e.name != prefix + "/" + std::string(manifest_record_name)) entries.push_back(&e);
        std::sort(entries.begin(), entries.end(),
                  [](const zip::entry* a, const zip::entry* b) { return a->local_header_offset < b->local_header_offset; });
        for (const zip::entry* e : entries) records.push_back({std::string(e->name), present{e, e->uncompressed_size}});
    } else {
        records.push_back({"pickle", present{nullptr, file.size()}});
    }
    // Maps, not scans: a manifest may list 100k records and a checkpoint as many tensors.
    std::unordered_map<std::string_view, std::size_t> file_index, sealed_index;
    for (std::size_t i = 0; i < records.size(); ++i) file_index.emplace(records[i].first, i);
    for (std::size_t i = 0; i < m.records.size(); ++i) sealed_index.emplace(m.records[i].name, i);
    const auto find = [&](const std::string& name) -> const present* {
        const auto it = file_index.find(name);
        return it == file_index.end() ? nullptr : &records[it->second].second;
    };
    std::vector<std::string> sealed_order, file_order;
    for (const manifest_record& r : m.records) {
        const present* p = find(r.name);
        if (!p) {
            out.problems.push_back({"record " + r.name, "missing (removed or renamed)"});
            continue;
        }
        sealed_order.push_back(r.name);
        if (p->size != r.size)
            out.problems.push_back(
                {"record " + r.name, "size " + std::to_string(p->size) + " bytes (sealed " + std::to_string(r.size) + ")"});
    }
    for (const auto& r : records) {
        const bool sealed = sealed_index.find(r.first) != sealed_index.end();
        if (!sealed) out.problems.push_back({"record " + r.first, "added: not in the seal"});
        else file_order.push_back(r.first);
    }
    if (sealed_order != file_order) out.problems.push_back({"records", "in another order than sealed (moved or swapped)"});

    // 3. Chunk digests of every sealed record present, and the tensors they hold.
    std::uint64_t total = 0;
    for (const manifest_record& r : m.records)
        if (const present* p = find(r.name)) total += p->size;
    chunk_hasher<hash_type> hasher(hash, detail::derive(key, m.salt, "digest"), m.chunk_size, options.jobs);
    std::vector<std::int64_t> hashed(m.records.size(), -1);  // index into the hasher's digests
    std::int64_t next = 0;
    detail::hashing_sink<chunk_hasher<hash_type>> sink{&hasher, &out.bytes_hashed, total, &options};
    for (std::size_t i = 0; i < m.records.size(); ++i) {
        const present* p = find(m.records[i].name);
        if (!p) continue;
        hasher.begin_record(p->size, i);
        const status read = p->entry ? archive->extract(*p->entry, sink) : copy_range(file, 0, p->size, sink);
        hasher.end_record();
        hashed[i] = next++;
        if (!read) out.problems.push_back({"record " + m.records[i].name, "unreadable: " + detail::describe_error(read.err())});
    }
    const std::vector<std::vector<digest>>& observed = hasher.finish();
    std::vector<std::vector<bool>> changed(m.records.size());
    for (std::size_t i = 0; i < m.records.size(); ++i) {
        if (hashed[i] < 0) continue;
        const std::vector<digest>& now = observed[static_cast<std::size_t>(hashed[i])];
        const manifest_record& r = m.records[i];
        changed[i].assign(r.chunks.size(), false);
        for (std::size_t c = 0; c < r.chunks.size(); ++c) changed[i][c] = c >= now.size() || now[c] != r.chunks[c];
    }
    basic_digester<hash_type> d(hash, detail::derive(key, m.salt, "digest"));
    std::vector<std::vector<bool>> explained(m.records.size());
    for (std::size_t i = 0; i < m.records.size(); ++i) explained[i].assign(changed[i].size(), false);
    for (const manifest_tensor& t : m.tensors) {
        if (t.record < 0) continue;
        const std::size_t r = static_cast<std::size_t>(t.record);
        if (hashed[r] < 0) {
            out.problems.push_back({"tensor " + t.name, "its record " + m.records[r].name + " is missing"});
            continue;
        }
        const std::vector<digest>& now = observed[static_cast<std::size_t>(hashed[r])];
        if (detail::tensor_digest(d, t, m, now) == t.value) continue;
        std::uint64_t first = 0, end = 0;
        detail::tensor_chunks(t, m, first, end);
        std::string where;
        for (std::uint64_t c = first; c < end && c < changed[r].size(); ++c) {
            if (!changed[r][static_cast<std::size_t>(c)]) continue;
            explained[r][static_cast<std::size_t>(c)] = true;
            where += (where.empty() ? "" : ", ") + detail::chunk_range(c, m.chunk_size, m.records[r].size);
        }
        out.problems.push_back({"tensor " + t.name, "data changed in record " + m.records[r].name +
                                                        (where.empty() ? std::string() : ": " + where)});
    }
    for (std::size_t i = 0; i < m.records.size(); ++i) {
        std::string where;
        for (std::size_t c = 0; c < changed[i].size(); ++c)
            if (changed[i][c] && !explained[i][c])
                where += (where.empty() ? "" : ", ") + detail::chunk_range(c, m.chunk_size, m.records[i].size);
        if (!where.empty()) out.problems.push_back({"record " + m.records[i].name, "changed: " + where});
    }

    // 4. The architecture, from the pickle as it is now.
    std::vector<std::uint8_t> pickle_bytes;
    if (archive) {
        auto data_pkl = archive->find_record("data.pkl");
        if (!data_pkl || (*data_pkl)->uncompressed_size > Limits::max_pickle_size) {
            out.problems.push_back({"architecture", "no readable data.pkl"});
        } else {
            vector_sink pickle_sink(pickle_bytes);
            const status read = archive->extract(**data_pkl, pickle_sink);
            if (read) detail::compare_architecture<Policy, Limits>(byte_view(pickle_bytes.data(), pickle_bytes.size()), prefix, m, rules, hash, out);
            else out.problems.push_back({"architecture", "data.pkl unreadable: " + detail::describe_error(read.err())});
        }
    } else {
        byte_view whole;
        const status read = detail::whole_pickle(file, pickle_bytes, whole);
        if (read) detail::compare_architecture<Policy, Limits>(whole, prefix, m, rules, hash, out);
        else out.problems.push_back({"architecture", "the pickle unreadable: " + detail::describe_error(read.err())});
    }
    // 5. The bytes no digest covers.
    if (archive && m.format == "torch_zip")
        for (layout_problem& p : check_layout(*archive, file, m, options.manifest_path != nullptr))
            out.problems.push_back({std::move(p.where), std::move(p.what)});
    // The root stands for the whole manifest: a seal whose root is published elsewhere is
    // checked against it by comparing this value.
    basic_digester<hash_type> root(hash, detail::derive(key, m.salt, "digest"));
    if (root_digest(root, manifest_prefix(m)) != m.root)
        out.problems.push_back({"manifest", "its root does not match its content"});
    return out;
}

// verify_file: the bundled verifier, for `file` (a RandomAccessSource) or a path.
template <class Policy = policy::torch_weights_only, class Limits = pickle::limits::standard, class RandomAccessSource,
          std::enable_if_t<is_random_access_source_v<RandomAccessSource>, int> = 0>
[[nodiscard]] result<verify_report> verify_file(const RandomAccessSource& file, const secret_key& key,
                                                const verify_options& options = {}, const Policy& rules = Policy{}) {
    return basic_verifier<strategies::bundled, hashes::bundled, Policy, Limits>(key, options, rules).verify(file);
}
#if BRINE_HAS_POSIX_FILES
template <class Policy = policy::torch_weights_only, class Limits = pickle::limits::standard>
[[nodiscard]] result<verify_report> verify_file(const char* path, const secret_key& key, const verify_options& options = {},
                                                const Policy& rules = Policy{}) {
    return basic_verifier<strategies::bundled, hashes::bundled, Policy, Limits>(key, options, rules).verify(path);
}
#endif

}  // namespace mtd
BRINE_NAMESPACE_END
