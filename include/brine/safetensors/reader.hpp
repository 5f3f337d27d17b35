// SPDX-License-Identifier: MIT
//
// A strict safetensors reader (format in safetensors/format.hpp). Everything a loader would
// trust is checked before any of it is used, and every refusal has its own sentence and the file
// offset of the byte that broke the rule (the tensor's name as the error entry when one is
// concerned):
//
//   header length     at least 8 bytes in the file; N within limits::max_header_size and within
//                     the file
//   JSON              its own small parser, not a general one: the header is an object of
//                     tensor entries (objects of a dtype string, an integer array and a pair of
//                     integers) and one optional object of strings, so nothing nests deeper and
//                     the parser never recurses on input. Strict UTF-8, JSON escapes only (with
//                     surrogate pairs checked), no raw control characters, no NUL in any string
//                     (a C consumer would cut a name there and see two tensors as one), integers
//                     only where integers belong (no sign, fraction, exponent or leading zero),
//                     each key once (JSON parsers disagree on which duplicate wins), only the
//                     three keys of a tensor entry, nothing after the closing '}' but spaces
//   tensors           a dtype the format defines; a non-empty name; rank within limits;
//                     product(shape) x item size without overflow and equal to end - begin;
//                     begin <= end <= the data area's size
//   data area         the tensors, sorted by offset, cover it exactly: no overlap, no gap, no
//                     byte after the last one
//
// Errors use errc::invalid_argument (the file breaks a rule) or errc::limit_exceeded (a size
// over a limit or past 64 bits). Header alignment is not required: the format does not ask for it
// (brine's writer aligns the data area to 8 bytes anyway).
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/error.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/core/utf8.hpp>
#include <brine/safetensors/format.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace safetensors {

namespace detail {

// A cursor over the header's JSON text. Offsets in errors are file offsets: the text starts at
// byte 8 of the file. The text is known to be valid UTF-8 before the cursor sees it.
class json_cursor {
public:
    json_cursor(byte_view text, std::uint64_t base) noexcept : text_(text), base_(base) {}

    [[nodiscard]] std::uint64_t offset() const noexcept { return base_ + pos_; }
    [[nodiscard]] std::size_t position() const noexcept { return pos_; }
    // The next byte, or -1 at the end of the text.
    [[nodiscard]] int peek() const noexcept { return pos_ < text_.size() ? text_[pos_] : -1; }
    void advance() noexcept { ++pos_; }

    [[nodiscard]] error fail(const char* expected) const noexcept {
        return error{errc::invalid_argument, offset(), expected};
    }

    // JSON's insignificant whitespace between tokens (the padding after the object is checked
    // separately: spaces only).
    void skip_space() noexcept {
        while (pos_ < text_.size()) {
            const std::uint8_t c = text_[pos_];
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
            ++pos_;
        }
    }

    [[nodiscard]] status expect(char c, const char* expected) noexcept {
        if (peek() != static_cast<unsigned char>(c)) return fail(expected);
        ++pos_;
        return {};
    }

    // A JSON string, decoded into `out`. The cursor is at the opening quote.
    [[nodiscard]] status string(std::string& out, const char* expected) {
        if (peek() != '"') return fail(expected);
        ++pos_;
        out.clear();
        for (;;) {
            if (pos_ >= text_.size()) return fail("a closing '\"' before the end of the header");
            const std::uint8_t c = text_[pos_];
            if (c == '"') {
                ++pos_;
                return {};
            }
            if (c < 0x20) return fail("no raw control characters in a string (JSON escapes them)");
            if (c != '\\') {
                out += static_cast<char>(c);  // multi-byte UTF-8 was validated as a whole
                ++pos_;
                continue;
            }
            const std::uint64_t escape_at = offset();
            if (pos_ + 1 >= text_.size()) return fail("an escape sequence before the end of the header");
            const std::uint8_t kind = text_[pos_ + 1];
            pos_ += 2;
            char simple = 0;
            switch (kind) {
                case '"': simple = '"'; break;
                case '\\': simple = '\\'; break;
                case '/': simple = '/'; break;
                case 'b': simple = '\b'; break;
                case 'f': simple = '\f'; break;
                case 'n': simple = '\n'; break;
                case 'r': simple = '\r'; break;
                case 't': simple = '\t'; break;
                case 'u': break;
                default:
                    return error{errc::invalid_argument, escape_at,
                                 "a JSON escape: \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u and four hex digits"};
            }
            if (simple != 0) {
                out += simple;
                continue;
            }
            std::uint32_t unit = 0;
            BRINE_TRY(hex4(unit, escape_at));
            std::uint32_t code_point = unit;
            if (unit >= 0xdc00 && unit <= 0xdfff)
                return error{errc::invalid_argument, escape_at, "a \\u escape that is not a lone low surrogate"};
            if (unit >= 0xd800 && unit <= 0xdbff) {
                // A high surrogate must be followed by an escaped low surrogate: together one
                // code point above U+FFFF. A lone one has no UTF-8 form.
                if (pos_ + 1 >= text_.size() || text_[pos_] != '\\' || text_[pos_ + 1] != 'u')
                    return error{errc::invalid_argument, escape_at,
                                 "a high surrogate \\u escape followed by a low surrogate \\u escape"};
                pos_ += 2;
                std::uint32_t low = 0;
                BRINE_TRY(hex4(low, escape_at));
                if (low < 0xdc00 || low > 0xdfff)
                    return error{errc::invalid_argument, escape_at,
                                 "a high surrogate \\u escape followed by a low surrogate \\u escape"};
                code_point = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
            }
            if (code_point == 0)
                return error{errc::invalid_argument, escape_at,
                             "no NUL in a string (a C consumer would cut the text there)"};
            std::uint8_t encoded[4];
            const std::size_t n = brine::detail::encode_utf8(code_point, encoded);
            out.append(reinterpret_cast<const char*>(encoded), n);
        }
    }

    // A non-negative JSON integer below 2^64. The cursor is at its first character.
    [[nodiscard]] status integer(std::uint64_t& out, const char* expected) noexcept {
        const std::uint64_t start = offset();
        const int first = peek();
        if (first == '-') return fail("a non-negative integer");
        if (first == '{' || first == '[') return fail("an integer, not a nested object or array");
        if (first < '0' || first > '9') return fail(expected);
        out = 0;
        std::size_t digits = 0;
        while (peek() >= '0' && peek() <= '9') {
            const auto d = static_cast<std::uint64_t>(peek() - '0');
            if (out > (UINT64_MAX - d) / 10)
                return error{errc::limit_exceeded, start, "an integer below 2^64"};
            out = out * 10 + d;
            ++digits;
            ++pos_;
        }
        if (first == '0' && digits > 1)
            return error{errc::invalid_argument, start, "an integer without leading zeros"};
        if (peek() == '.' || peek() == 'e' || peek() == 'E')
            return error{errc::invalid_argument, start, "an integer, not a number with a fraction or exponent"};
        return {};
    }

    // A JSON array of integers into `out`, at most `max_count` of them. The cursor is at '['.
    // More than `max_count` is a `too_many_code` error.
    [[nodiscard]] status integer_array(std::vector<std::uint64_t>& out, std::uint64_t max_count,
                                       const char* expected, errc too_many_code, const char* too_many) {
        if (peek() != '[') return fail(expected);
        ++pos_;
        out.clear();
        skip_space();
        if (peek() == ']') {
            ++pos_;
            return {};
        }
        for (;;) {
            if (out.size() >= max_count) return error{too_many_code, offset(), too_many};
            std::uint64_t value = 0;
            BRINE_TRY(integer(value, "an integer in the array"));
            out.push_back(value);
            skip_space();
            if (peek() == ',') {
                ++pos_;
                skip_space();
                continue;
            }
            if (peek() == ']') {
                ++pos_;
                return {};
            }
            return fail("',' or ']' after an array element");
        }
    }

private:
    status hex4(std::uint32_t& out, std::uint64_t escape_at) noexcept {
        if (text_.size() - pos_ < 4)
            return error{errc::invalid_argument, escape_at, "four hex digits after \\u"};
        out = 0;
        for (int i = 0; i < 4; ++i) {
            const int v = hex_digit_value(text_[pos_ + static_cast<std::size_t>(i)]);
            if (v < 0) return error{errc::invalid_argument, escape_at, "four hex digits after \\u"};
            out = out * 16 + static_cast<std::uint32_t>(v);
        }
        pos_ += 4;
        return {};
    }

    byte_view text_;
    std::uint64_t base_;
    std::size_t pos_ = 0;
};

// After a value inside an object: true at ',' (another member follows), false at '}' (the
// object ends); either is consumed.
[[nodiscard]] inline result<bool> next_member(json_cursor& c, const char* expected) noexcept {
    c.skip_space();
    if (c.peek() == ',') {
        c.advance();
        c.skip_space();
        return true;
    }
    if (c.peek() == '}') {
        c.advance();
        return false;
    }
    return c.fail(expected);
}

// "__metadata__": an object of string keys and string values. The cursor is at its value.
[[nodiscard]] inline status parse_metadata(json_cursor& c, header& out) {
    if (c.peek() != '{') return c.fail("an object of strings as __metadata__");
    c.advance();
    out.has_metadata = true;
    c.skip_space();
    if (c.peek() == '}') {
        c.advance();
        return {};
    }
    std::unordered_set<std::string> seen;
    for (;;) {
        const std::uint64_t key_at = c.offset();
        std::string key, value;
        BRINE_TRY(c.string(key, "a quoted metadata key"));
        if (!seen.insert(key).second)
            return error{errc::invalid_argument, key_at,
                         "each metadata key once (JSON parsers disagree on duplicates)"};
        c.skip_space();
        BRINE_TRY(c.expect(':', "':' after a metadata key"));
        c.skip_space();
        if (c.peek() == '{' || c.peek() == '[')
            return c.fail("a string metadata value (a safetensors header nests no deeper)");
        BRINE_TRY(c.string(value, "a string metadata value (the format allows strings only)"));
        out.meta.emplace_back(std::move(key), std::move(value));
        auto more = next_member(c, "',' or '}' after a metadata value");
        BRINE_TRY(more);
        if (!*more) return {};
    }
}

// One tensor entry: {"dtype": ..., "shape": [...], "data_offsets": [begin, end]}, in any order,
// each once, nothing else. The cursor is at its value.
[[nodiscard]] inline status parse_tensor(json_cursor& c, tensor_info& t, const limits& lim) {
    const std::uint64_t entry_at = c.offset();
    if (c.peek() != '{') return c.fail("an object {dtype, shape, data_offsets} for each tensor");
    c.advance();
    c.skip_space();
    bool has_dtype = false, has_shape = false, has_offsets = false;
    std::string key, dtype_name;
    std::vector<std::uint64_t> offsets;
    if (c.peek() != '}') {
        for (;;) {
            const std::uint64_t key_at = c.offset();
            BRINE_TRY(c.string(key, "a quoted key: dtype, shape or data_offsets"));
            c.skip_space();
            BRINE_TRY(c.expect(':', "':' after a key"));
            c.skip_space();
            bool* seen = nullptr;
            if (key == "dtype") seen = &has_dtype;
            else if (key == "shape") seen = &has_shape;
            else if (key == "data_offsets") seen = &has_offsets;
            else return error{errc::invalid_argument, key_at, "only dtype, shape and data_offsets in a tensor entry"};
            if (*seen) return error{errc::invalid_argument, key_at, "each of dtype, shape and data_offsets once"};
            *seen = true;
            const std::uint64_t value_at = c.offset();
            if (seen == &has_dtype) {
                if (c.peek() == '{' || c.peek() == '[')
                    return c.fail("a dtype string (a safetensors header nests no deeper)");
                BRINE_TRY(c.string(dtype_name, "a dtype string"));
                if (!dtype_from_name(dtype_name, t.type))
                    return error{errc::invalid_argument, value_at,
                                 "a dtype the format defines: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL U64 U32 U16 "
                                 "F8_E5M2 F8_E4M3"};
            } else if (seen == &has_shape) {
                BRINE_TRY(c.integer_array(t.shape, lim.max_rank, "a shape: an array of integers",
                                          errc::limit_exceeded, "a shape of at most limits::max_rank dimensions"));
            } else {
                BRINE_TRY(c.integer_array(offsets, 2, "data_offsets: an array of two integers",
                                          errc::invalid_argument, "data_offsets of exactly two integers [begin, end]"));
                if (offsets.size() != 2)
                    return error{errc::invalid_argument, value_at, "data_offsets of exactly two integers [begin, end]"};
                t.begin = offsets[0];
                t.end = offsets[1];
            }
            auto more = next_member(c, "',' or '}' after a tensor entry's value");
            BRINE_TRY(more);
            if (!*more) break;
        }
    } else {
        c.advance();
    }
    if (!has_dtype || !has_shape || !has_offsets)
        return error{errc::invalid_argument, entry_at, "dtype, shape and data_offsets in every tensor entry"};
    return {};
}

// The header object: tensor entries and at most one "__metadata__".
[[nodiscard]] inline status parse_object(byte_view text, header& out, const limits& lim) {
    json_cursor c(text, 8);
    // The format asks for '{' as the very first byte (no leading whitespace, no byte-order mark).
    BRINE_TRY(c.expect('{', "a header that starts with '{'"));
    c.skip_space();
    std::unordered_set<std::string> seen;
    if (c.peek() == '}') {
        c.advance();
    } else {
        for (;;) {
            const std::uint64_t key_at = c.offset();
            if (seen.size() >= lim.max_tensors)
                return error{errc::limit_exceeded, key_at, "at most limits::max_tensors header entries"};
            std::string name;
            BRINE_TRY(c.string(name, "a quoted tensor name"));
            if (!seen.insert(name).second)
                return error{errc::invalid_argument, key_at,
                             "each name once (JSON parsers disagree on which duplicate wins)", name};
            c.skip_space();
            BRINE_TRY(c.expect(':', "':' after a tensor name"));
            c.skip_space();
            if (name == metadata_key) {
                BRINE_TRY(parse_metadata(c, out));
            } else {
                if (name.empty()) return error{errc::invalid_argument, key_at, "a non-empty tensor name"};
                tensor_info t;
                t.entry_offset = key_at;
                const status parsed = parse_tensor(c, t, lim);
                if (!parsed) {
                    error e = parsed.err();
                    e.entry.assign(name);
                    return e;
                }
                t.name = std::move(name);
                out.tensors.push_back(std::move(t));
            }
            auto more = next_member(c, "',' or '}' after a header entry");
            BRINE_TRY(more);
            if (!*more) break;
        }
    }
    // Padding: the format allows trailing spaces (writers align the data area with them).
    for (int next = c.peek(); next != -1; next = c.peek()) {
        if (next == '\t' || next == '\n' || next == '\r') return c.fail("header padding of spaces (0x20) only");
        if (next != ' ') return c.fail("nothing after the header's closing '}' but space padding");
        c.advance();
    }
    return {};
}

// Sizes against offsets, then the data area's coverage.
[[nodiscard]] inline status check_tensors(header& out) {
    for (tensor_info& t : out.tensors) {
        std::uint64_t bytes = info(t.type).item_size;
        for (const std::uint64_t dim : t.shape) {
            if (dim != 0 && bytes > UINT64_MAX / dim)
                return error{errc::limit_exceeded, t.entry_offset, "a shape whose byte size fits in 64 bits", t.name};
            bytes *= dim;
        }
        if (t.begin > t.end)
            return error{errc::invalid_argument, t.entry_offset, "data_offsets [begin, end] with begin <= end", t.name};
        if (t.end > out.data_size)
            return error{errc::invalid_argument, t.entry_offset,
                         "data_offsets within the data area (it ends before the tensor does)", t.name};
        if (t.end - t.begin != bytes)
            return error{errc::invalid_argument, t.entry_offset,
                         "data_offsets spanning exactly product(shape) x item size bytes", t.name};
    }
    // In offset order (empty tensors first at a shared offset), each tensor must start exactly
    // where the previous one ended.
    std::vector<std::size_t> order(out.tensors.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const tensor_info& x = out.tensors[a];
        const tensor_info& y = out.tensors[b];
        return x.begin != y.begin ? x.begin < y.begin : x.end < y.end;
    });
    std::uint64_t covered = 0;
    for (const std::size_t i : order) {
        const tensor_info& t = out.tensors[i];
        if (t.begin < covered)
            return error{errc::invalid_argument, out.data_offset + t.begin,
                         "tensors whose data do not overlap (each byte belongs to one tensor)", t.name};
        if (t.begin > covered)
            return error{errc::invalid_argument, out.data_offset + covered,
                         "no gap between tensors (each data byte belongs to a tensor)", t.name};
        covered = t.end;
    }
    if (covered != out.data_size)
        return error{errc::invalid_argument, out.data_offset + covered, "no bytes after the last tensor's data"};
    return {};
}

// The header from its text (N bytes, starting at file offset 8) in a file of `file_size` bytes.
[[nodiscard]] inline result<header> parse(byte_view text, std::uint64_t file_size, const limits& lim) {
    header out;
    out.header_size = text.size();
    out.data_offset = 8 + static_cast<std::uint64_t>(text.size());
    out.data_size = file_size - out.data_offset;
    const std::size_t bad = brine::detail::first_invalid_utf8(text.data(), text.size());
    if (bad != text.size()) return error{errc::invalid_argument, 8 + bad, "a header in valid UTF-8"};
    BRINE_TRY(parse_object(text, out, lim));
    BRINE_TRY(check_tensors(out));
    return out;
}

}  // namespace detail

// N from the first 8 bytes of a file of `file_size` bytes, checked against the limit and the
// file. `first` holds at least those 8 bytes.
[[nodiscard]] inline result<std::uint64_t> header_length(byte_view first, std::uint64_t file_size,
                                                         const limits& lim = {}) noexcept {
    if (file_size < 8 || first.size() < 8)
        return error{errc::invalid_argument, 0, "an 8-byte little-endian header length (the file is shorter)"};
    const std::uint64_t n = load_le64(first.data());
    if (n > lim.max_header_size)
        return error{errc::limit_exceeded, 0, "a header length within limits::max_header_size"};
    if (n > file_size - 8) return error{errc::invalid_argument, 0, "a header length within the file"};
    return n;
}

// Whether a file of `file_size` bytes starting with `first` has the shape of a safetensors file:
// an 8-byte little-endian N with 2 <= N < 2^40 (room for the shortest header, "{}"; bytes 5-7
// zero, which no pickle writer produces, see safetensors/detect.hpp) and '{' at byte 8, where the
// format puts the first byte of the header. `first` holds the file's first 9 bytes. Whether N
// fits in the file is left to read() and read_header(), so that a truncated file is reported as
// the broken safetensors file it is (with the reader's sentence and offset), not as a pickle.
// This is the content test of safetensors::detect; it says nothing about validity.
[[nodiscard]] inline bool has_header_shape(byte_view first, std::uint64_t file_size) noexcept {
    if (file_size < 10 || first.size() < 9) return false;
    const std::uint64_t n = load_le64(first.data());
    return n >= 2 && n < (std::uint64_t{1} << 40) && first[8] == '{';
}

// Reads and validates a safetensors file held in memory. Each tensor's `data` views its bytes
// in `file`, which must outlive the result. Allocation failure ends the program, as everywhere
// in brine; everything the input decides is checked first.
[[nodiscard]] inline result<header> read(byte_view file, const limits& lim = {}) noexcept {
    auto n = header_length(file, file.size(), lim);
    BRINE_TRY(n);
    auto parsed = detail::parse(file.subview(8, static_cast<std::size_t>(*n)), file.size(), lim);
    BRINE_TRY(parsed);
    for (tensor_info& t : parsed->tensors)
        t.data = file.subview(static_cast<std::size_t>(parsed->data_offset + t.begin),
                              static_cast<std::size_t>(t.byte_size()));
    return parsed;
}

// Reads and validates the header of a safetensors file through a RandomAccessSource (a file
// too large to map, say): only the 8 + N header bytes are read. Tensors' `data` stay empty; their
// bytes are at data_offset + begin in the source.
template <class RandomAccessSource>
[[nodiscard]] result<header> read_header(const RandomAccessSource& source, const limits& lim = {}) noexcept {
    static_assert(is_random_access_source_v<RandomAccessSource>,
                  "read_header needs size() and read_at(offset, dst, count) (see core/stream.hpp)");
    const std::uint64_t size = source.size();
    std::uint8_t first[8] = {};
    if (size >= 8) BRINE_TRY(source.read_at(0, first, 8));
    auto n = header_length(byte_view(first, size >= 8 ? 8 : 0), size, lim);
    BRINE_TRY(n);
    std::vector<std::uint8_t> text(static_cast<std::size_t>(*n));
    if (!text.empty()) BRINE_TRY(source.read_at(8, text.data(), text.size()));
    return detail::parse(byte_view(text.data(), text.size()), size, lim);
}

}  // namespace safetensors
BRINE_NAMESPACE_END
