// SPDX-License-Identifier: MIT
//
// NumPy .npy files (THREATS.md F5): a strict parser, and a writer of fresh files.
//
// An .npy file is "\x93NUMPY", a version (1.0, 2.0, 3.0), a header length (2 bytes in 1.0, 4 in
// 2.0 and 3.0, little-endian) and a header: the text of a Python dict literal with exactly the
// keys 'descr', 'fortran_order' and 'shape', padded with spaces and ending in '\n'. numpy reads it
// with ast.literal_eval; brine reads a strict subset of that grammar with a bounded parser, and
// refuses every file numpy would read differently from its text or not at all. After the header
// come the array's bytes, or, when the dtype holds Python objects ('O' anywhere), a pickle that
// np.load(allow_pickle=True) runs: that pickle is only ever evaluated symbolically here.
//
// Where brine is stricter than numpy 1.24's format.py, on purpose:
//   - duplicate keys (Python keeps the last one), leading blanks, tabs, comments, implicit string
//     concatenation, u''/b'' prefixes, numbers other than plain decimal ints, lists as shapes or
//     fields, bools as dimensions (isinstance(True, int) holds) are refused;
//   - the preamble (magic to '\n') must be a multiple of 16 bytes, as every numpy has written it
//     (64 since 1.14, 16 before); numpy itself does not check;
//   - '|' is refused as the byte order of a multi-byte type (numpy reads it as the host's order,
//     never writes it); descr strings must be in the form dtype.str writes them (an explicit
//     byte order, no aliases like 'float32' or '<d', no leading zeros);
//   - data must be exactly shape x itemsize bytes: numpy ignores bytes after the array;
//   - field titles ((title, name) pairs) are not supported.
//
// Reconstruction writes a brand-new file: the header as numpy's format.py writes it for the same
// array (its key order, spacing, growth padding and 64-byte alignment; version 1.0, or 2.0 when
// the header passes 65535 bytes), then the data bytes. Field names with characters beyond
// Latin-1 are written with \u escapes (so the header stays 1.0/2.0) where numpy writes them raw
// in a 3.0 header; the names read back the same.
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/core/utf8.hpp>
#include <brine/pickle/limits.hpp>
#include <brine/pickle/machine.hpp>
#include <brine/pickle/value.hpp>
#include <brine/pickle/writer.hpp>
#include <brine/policy/torch_weights_only.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace numpy {

// Bounds on what a header may declare; exceeding one is errc::limit_exceeded.
struct npy_limits {
    // numpy's np.load refuses headers over 10000 characters unless allow_pickle=True; wide
    // structured dtypes legitimately need more. Parsing is linear, so 1 MiB costs little.
    std::uint64_t max_header_size = std::uint64_t{1} << 20;
    // NPY_MAXDIMS of numpy 1.x, for the array's shape and for each sub-array shape.
    std::uint32_t max_dims = 32;
    // Brackets open at once; CPython's parser stops near 200, real dtypes nest a few levels.
    std::uint32_t max_nesting = 64;
};

// As dtype.str writes it: '<' and '>' explicit, '=' the reading host's order, '|' not applicable
// (one-byte numbers, bytes, void, objects).
enum class byte_order : char { little = '<', big = '>', native = '=', not_applicable = '|' };

// The kind character of dtype.str; `structured` is a list of fields in the header.
enum class type_kind : char {
    boolean = 'b',
    signed_integer = 'i',
    unsigned_integer = 'u',
    floating = 'f',
    complex_floating = 'c',
    raw = 'V',
    bytes = 'S',
    unicode = 'U',
    datetime = 'M',
    timedelta = 'm',
    object = 'O',
    structured = '[',
};

// The unit of a datetime64/timedelta64: generic is '<M8' without brackets.
enum class datetime_unit : std::uint8_t { generic, Y, M, W, D, h, m, s, ms, us, ns, ps, fs, as };

[[nodiscard]] constexpr std::string_view to_string(datetime_unit unit) noexcept {
    constexpr std::string_view names[] = {"", "Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"};
    return names[static_cast<std::size_t>(unit)];
}

// One type of a dtype tree: a scalar type, or a structured type whose fields follow.
struct type_node {
    type_kind kind = type_kind::raw;
    byte_order order = byte_order::not_applicable;
    datetime_unit unit = datetime_unit::generic;  // datetime and timedelta
    std::uint32_t multiplier = 1;                  // datetime and timedelta: the 10 of '<M8[10s]'
    std::uint64_t length = 0;      // the number after the kind: bytes, or characters for 'U'
    std::uint64_t itemsize = 0;    // bytes of one element
    std::uint32_t first_field = 0;  // structured: its fields are dtype::fields[first_field, +field_count)
    std::uint32_t field_count = 0;
    bool has_object = false;       // 'O' here or in a field below (padding fields aside: numpy drops them)
};

// A field of a structured type, in header order.
struct field {
    alloc::string name;               // UTF-8
    std::uint32_t type = 0;         // index in dtype::nodes
    std::uint32_t first_dim = 0;    // sub-array shape: dtype::dims[first_dim, +dim_count); none when 0
    std::uint32_t dim_count = 0;
    std::uint64_t offset = 0;       // bytes from the start of the enclosing record
    std::uint64_t size = 0;         // bytes, sub-array included
    // An unnamed void or sub-array field: numpy's reader keeps only its size (as a gap).
    bool padding = false;
};

// A dtype as a tree in three flat arrays; nodes[0] is the array's own type.
struct dtype {
    alloc::vector<type_node> nodes;
    alloc::vector<field> fields;
    alloc::vector<std::uint64_t> dims;

    [[nodiscard]] const type_node& root() const noexcept { return nodes.front(); }
    [[nodiscard]] std::uint64_t itemsize() const noexcept { return nodes.empty() ? 0 : root().itemsize; }
    [[nodiscard]] bool has_object() const noexcept { return !nodes.empty() && root().has_object; }
    [[nodiscard]] bool is_structured() const noexcept {
        return !nodes.empty() && root().kind == type_kind::structured;
    }

    // The descr as numpy's format.py writes it: repr(dtype.str), or repr(dtype.descr) with
    // adjacent padding merged into one ('', '|V<n>') gap. Latin-1 text, as in the header.
    [[nodiscard]] alloc::string descr() const {
        alloc::string out;
        append_descr(out, 0);
        return out;
    }

    void append_descr(alloc::string& out, std::uint32_t index) const;
};

struct npy_header {
    std::uint8_t major = 1;
    std::uint8_t minor = 0;
    dtype type;
    alloc::vector<std::uint64_t> shape;
    bool fortran_order = false;     // as the file says
    std::uint64_t data_offset = 0;  // the preamble's size: magic, version, header length, header
    std::uint64_t count = 1;        // elements: the product of shape (1 for shape ())
    // shape x itemsize. For object arrays the data is a pickle instead, and numpy ignores the
    // shape: this is then only what the header claims.
    std::uint64_t data_size = 0;

    [[nodiscard]] bool has_objects() const noexcept { return type.has_object(); }
    // The order numpy writes back for the same array: Fortran only when the array is not also
    // C-contiguous (at least two dimensions longer than 1, and no zero-length one).
    [[nodiscard]] bool effective_fortran_order() const noexcept {
        if (!fortran_order || count == 0) return false;
        return std::count_if(shape.begin(), shape.end(), [](std::uint64_t d) { return d > 1; }) > 1;
    }
};

// A parsed file: the header, and the data (exactly data_size bytes; the pickle for object arrays).
struct npy_view {
    npy_header header;
    byte_view data;
};

namespace detail {

inline constexpr std::uint8_t npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
inline constexpr std::uint64_t npy_alignment = 64;         // what numpy writes
inline constexpr std::uint64_t npy_min_alignment = 16;     // what numpy wrote before 1.14
inline constexpr std::uint64_t c_int_max = 0x7FFFFFFF;     // numpy 1.x item sizes are C ints
inline constexpr std::uint64_t intp_max = 0x7FFFFFFFFFFFFFFF;
// numpy pads the header for this many digits of the growing axis (GROWTH_AXIS_MAX_DIGITS).
inline constexpr std::size_t growth_axis_digits = 21;

inline void append_decimal(alloc::string& out, std::uint64_t value) {
    char digits[20];
    out.append(digits, std::to_chars(digits, digits + sizeof digits, value).ptr);
}

[[nodiscard]] inline std::size_t decimal_length(std::uint64_t value) noexcept {
    std::size_t n = 1;
    while (value >= 10) value /= 10, ++n;
    return n;
}

// repr() of a tuple of ints: (), (3,), (2, 3).
inline void append_shape(alloc::string& out, const std::uint64_t* dims, std::size_t count) {
    out += '(';
    for (std::size_t i = 0; i < count; ++i) {
        if (i != 0) out += ", ";
        append_decimal(out, dims[i]);
    }
    if (count == 1) out += ',';
    out += ')';
}

inline void append_hex(alloc::string& out, std::uint32_t value, int digits) {
    constexpr char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; --i) out += hex[(value >> (4 * i)) & 0xF];
}

// Python's repr() of a str, encoded in Latin-1 as format.py encodes a 1.0 header; code points
// beyond Latin-1 are escaped (see the top of this file).
inline void append_python_string(alloc::string& out, std::string_view utf8) {
    const bool single = utf8.find('\'') != std::string_view::npos;
    const bool dbl = utf8.find('"') != std::string_view::npos;
    const char quote = single && !dbl ? '"' : '\'';
    out += quote;
    const auto* p = reinterpret_cast<const std::uint8_t*>(utf8.data());
    const auto* end = p + utf8.size();
    while (p < end) {
        std::uint32_t cp = *p;
        std::size_t length = 1;
        if (cp >= 0xF0) cp &= 0x07, length = 4;
        else if (cp >= 0xE0) cp &= 0x0F, length = 3;
        else if (cp >= 0xC0) cp &= 0x1F, length = 2;
        if (length > static_cast<std::size_t>(end - p)) length = static_cast<std::size_t>(end - p);
        for (std::size_t k = 1; k < length; ++k) cp = (cp << 6) | (p[k] & 0x3Fu);
        p += length;
        if (cp == static_cast<std::uint32_t>(quote) || cp == '\\') {
            out += '\\';
            out += static_cast<char>(cp);
        } else if (cp == '\t') {
            out += "\\t";
        } else if (cp == '\n') {
            out += "\\n";
        } else if (cp == '\r') {
            out += "\\r";
        } else if (cp < 0x20 || cp == 0x7F) {
            out += "\\x";
            append_hex(out, cp, 2);
        } else if (cp < 0x7F) {
            out += static_cast<char>(cp);
        } else if (cp <= 0xFF) {
            // str.isprintable() is false for the C1 controls, NO-BREAK SPACE and SOFT HYPHEN.
            if (cp <= 0xA0 || cp == 0xAD) {
                out += "\\x";
                append_hex(out, cp, 2);
            } else {
                out += static_cast<char>(static_cast<std::uint8_t>(cp));
            }
        } else if (cp <= 0xFFFF) {
            out += "\\u";
            append_hex(out, cp, 4);
        } else {
            out += "\\U";
            append_hex(out, cp, 8);
        }
    }
    out += quote;
}

inline void append_type_string(alloc::string& out, const type_node& node) {
    out += static_cast<char>(node.order);
    out += static_cast<char>(node.kind);
    if (node.kind == type_kind::object) return;  // dtype('O').str is '|O'
    if (node.kind == type_kind::datetime || node.kind == type_kind::timedelta) {
        out += '8';
        if (node.unit != datetime_unit::generic) {
            out += '[';
            if (node.multiplier != 1) append_decimal(out, node.multiplier);
            out += to_string(node.unit);
            out += ']';
        }
        return;
    }
    append_decimal(out, node.length);
}

}  // namespace detail

inline void dtype::append_descr(alloc::string& out, std::uint32_t index) const {
    const type_node& node = nodes[index];
    if (node.kind != type_kind::structured) {
        out += '\'';
        detail::append_type_string(out, node);
        out += '\'';
        return;
    }
    // numpy's _array_descr: fields in order, every gap between them one ('', '|V<gap>').
    out += '[';
    bool first = true;
    std::uint64_t gap = 0;
    const auto separate = [&] {
        if (!first) out += ", ";
        first = false;
    };
    const auto flush_gap = [&] {
        if (gap == 0) return;
        separate();
        out += "('', '|V";
        detail::append_decimal(out, gap);
        out += "')";
        gap = 0;
    };
    for (std::uint32_t i = node.first_field; i < node.first_field + node.field_count; ++i) {
        const field& item = fields[i];
        if (item.padding) {
            gap += item.size;
            continue;
        }
        flush_gap();
        separate();
        out += '(';
        detail::append_python_string(out, item.name);
        out += ", ";
        append_descr(out, item.type);
        if (item.dim_count != 0) {
            out += ", ";
            detail::append_shape(out, dims.data() + item.first_dim, item.dim_count);
        }
        out += ')';
    }
    flush_gap();
    out += ']';
}

namespace detail {

// ---- the header's dict literal ---------------------------------------------------------------

enum class literal_kind : std::uint8_t { string, integer, boolean, tuple, list, dict };

struct literal {
    literal_kind kind = literal_kind::integer;
    bool negative = false;       // integer: written with a '-'
    bool boolean = false;
    std::uint64_t offset = 0;    // file offset of its first byte
    std::uint64_t integer = 0;
    std::uint32_t first = 0;     // string: range in the text pool; containers: in the item pool
    std::uint32_t count = 0;
};

class header_parser {
public:
    header_parser(byte_view text, std::uint64_t base, bool utf8, bool long_suffix, const npy_limits& limits) noexcept
        : text_(text), base_(base), utf8_(utf8), long_suffix_(long_suffix), limits_(&limits) {}

    // Parses the header text into `out` (type, shape, fortran_order).
    status run(npy_header& out) {
        if (text_.empty() || text_[text_.size() - 1] != '\n')
            return fail(errc::numpy_bad_header, text_.size(), "a header ending in '\\n'");
        if (utf8_) {
            const std::size_t bad = ::brine::detail::first_invalid_utf8(text_.data(), text_.size());
            if (bad != text_.size()) return fail(errc::numpy_bad_header, bad, "header text in UTF-8 (format 3.0)");
        }
        if (text_[0] != '{') return fail(errc::numpy_bad_header, 0, "the header's dict literal right at its start");
        auto root = parse_value(0);
        BRINE_TRY(root);
        skip_spaces();
        if (pos_ != text_.size() - 1)
            return fail(errc::numpy_bad_header, pos_, "only spaces after the dict, then the final '\\n'");
        return interpret(*root, out);
    }

private:
    [[nodiscard]] error fail(errc code, std::size_t at, const char* what) const noexcept {
        return error{code, base_ + at, what};
    }
    [[nodiscard]] static error fail_at(errc code, const literal& where, const char* what) noexcept {
        return error{code, where.offset, what};
    }

    [[nodiscard]] bool at_end() const noexcept { return pos_ >= text_.size(); }
    [[nodiscard]] std::uint8_t peek() const noexcept { return at_end() ? 0 : text_[pos_]; }
    void skip_spaces() noexcept {
        while (!at_end() && text_[pos_] == ' ') ++pos_;
    }

    result<std::uint32_t> add(literal item) {
        values_.push_back(item);
        return static_cast<std::uint32_t>(values_.size() - 1);
    }

    result<std::uint32_t> parse_value(std::uint32_t depth) {
        const std::uint8_t c = peek();
        if (c == '{' || c == '[' || c == '(') {
            if (depth >= limits_->max_nesting)
                return error{errc::limit_exceeded, base_ + pos_, "brackets nested within npy_limits::max_nesting"};
            if (c == '(') return parse_parenthesized(depth + 1);
            return parse_sequence(c == '{' ? literal_kind::dict : literal_kind::list, depth + 1);
        }
        if (c == '\'' || c == '"') return parse_string();
        if ((c >= '0' && c <= '9') || c == '-') return parse_integer();
        if (c == 'T' || c == 'F') return parse_boolean();
        return error{errc::numpy_bad_header, base_ + pos_,
                     "a Python literal: a string, an int, True, False, a tuple, a list or a dict"};
    }

    // [a, b, ...] or {k: v, ...}, an optional trailing comma, spaces between tokens.
    result<std::uint32_t> parse_sequence(literal_kind kind, std::uint32_t depth) {
        literal item;
        item.kind = kind;
        item.offset = base_ + pos_;
        const std::uint8_t close = kind == literal_kind::dict ? '}' : ']';
        ++pos_;
        alloc::vector<std::uint32_t> items;
        skip_spaces();
        while (peek() != close) {
            auto value = parse_value(depth);
            BRINE_TRY(value);
            items.push_back(*value);
            skip_spaces();
            if (kind == literal_kind::dict) {
                if (peek() != ':') return fail(errc::numpy_bad_header, pos_, "':' after a dict key");
                ++pos_;
                skip_spaces();
                auto entry = parse_value(depth);
                BRINE_TRY(entry);
                items.push_back(*entry);
                skip_spaces();
            }
            if (peek() == ',') {
                ++pos_;
                skip_spaces();
            } else if (peek() != close) {
                return fail(errc::numpy_bad_header, pos_,
                            kind == literal_kind::dict ? "',' or '}' after a dict entry" : "',' or ']' after a list item");
            }
        }
        ++pos_;
        return finish_container(item, items);
    }

    // () is an empty tuple, (x) is x itself, (x,) and (x, y) are tuples: Python's rules.
    result<std::uint32_t> parse_parenthesized(std::uint32_t depth) {
        literal item;
        item.kind = literal_kind::tuple;
        item.offset = base_ + pos_;
        ++pos_;
        alloc::vector<std::uint32_t> items;
        skip_spaces();
        bool comma = false;
        while (peek() != ')') {
            auto value = parse_value(depth);
            BRINE_TRY(value);
            items.push_back(*value);
            skip_spaces();
            if (peek() == ',') {
                comma = true;
                ++pos_;
                skip_spaces();
            } else if (peek() != ')') {
                return fail(errc::numpy_bad_header, pos_, "',' or ')' after a tuple item");
            }
        }
        ++pos_;
        if (items.size() == 1 && !comma) return items.front();
        return finish_container(item, items);
    }

    result<std::uint32_t> finish_container(literal item, const alloc::vector<std::uint32_t>& items) {
        item.first = static_cast<std::uint32_t>(children_.size());
        item.count = static_cast<std::uint32_t>(items.size());
        children_.insert(children_.end(), items.begin(), items.end());
        return add(item);
    }

    [[nodiscard]] static bool identifier_char(std::uint8_t c) noexcept {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
    }

    // Plain decimal: no sign but '-' (refused later, with the shape), no leading zeros, no '_',
    // and 'L' after it only in 1.0/2.0 headers (format.py drops it from Python 2 files).
    result<std::uint32_t> parse_integer() {
        literal item;
        item.kind = literal_kind::integer;
        item.offset = base_ + pos_;
        if (peek() == '-') {
            item.negative = true;
            ++pos_;
        }
        const std::size_t start = pos_;
        std::uint64_t value = 0;
        while (!at_end() && text_[pos_] >= '0' && text_[pos_] <= '9') {
            const unsigned digit = text_[pos_] - '0';
            if (value > (intp_max - digit) / 10)
                return fail(errc::numpy_size_overflow, start, "an int below 2**63");
            value = value * 10 + digit;
            ++pos_;
        }
        if (pos_ == start) return fail(errc::numpy_bad_header, pos_, "digits after '-'");
        if (text_[start] == '0' && pos_ - start > 1)
            return fail(errc::numpy_bad_header, start, "an int without leading zeros");
        if (long_suffix_ && peek() == 'L') ++pos_;
        if (identifier_char(peek()) || peek() == '.')
            return fail(errc::numpy_bad_header, pos_, "a plain decimal int (no float, hex, '_' or suffix)");
        item.integer = value;
        return add(item);
    }

    result<std::uint32_t> parse_boolean() {
        literal item;
        item.kind = literal_kind::boolean;
        item.offset = base_ + pos_;
        const std::string_view rest(reinterpret_cast<const char*>(text_.data()) + pos_, text_.size() - pos_);
        std::size_t length = 0;
        if (rest.substr(0, 4) == "True") item.boolean = true, length = 4;
        else if (rest.substr(0, 5) == "False") length = 5;
        if (length == 0 || identifier_char(length < rest.size() ? static_cast<std::uint8_t>(rest[length]) : 0))
            return fail(errc::numpy_bad_header, pos_, "True or False (no other names)");
        pos_ += length;
        return add(item);
    }

    result<std::uint32_t> parse_string() {
        literal item;
        item.kind = literal_kind::string;
        item.offset = base_ + pos_;
        const std::uint8_t quote = text_[pos_++];
        item.first = static_cast<std::uint32_t>(text_pool_.size());
        for (;;) {
            if (at_end()) return fail(errc::numpy_bad_header, pos_, "the string's closing quote");
            const std::uint8_t c = text_[pos_];
            if (c == quote) break;
            if (c < 0x20 || c == 0x7F)
                return fail(errc::numpy_bad_header, pos_, "no raw control characters in a string (escape them)");
            if (c == '\\') {
                BRINE_TRY(parse_escape());
                continue;
            }
            if (c >= 0x80 && utf8_) {
                // Validated already: copy the whole sequence.
                const std::size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
                text_pool_.append(reinterpret_cast<const char*>(text_.data()) + pos_, length);
                pos_ += length;
                continue;
            }
            append_code_point(c);  // Latin-1 in 1.0 and 2.0 headers: a byte is a code point
            ++pos_;
        }
        ++pos_;
        item.count = static_cast<std::uint32_t>(text_pool_.size() - item.first);
        // Python joins adjacent string literals; numpy never writes that, brine refuses it.
        skip_spaces();
        if (peek() == '\'' || peek() == '"')
            return fail(errc::numpy_bad_header, pos_, "one string literal (no implicit concatenation)");
        return add(item);
    }

    void append_code_point(std::uint32_t cp) {
        std::uint8_t buffer[4];
        const std::size_t n = ::brine::detail::encode_utf8(cp, buffer);
        text_pool_.append(reinterpret_cast<const char*>(buffer), n);
    }

    [[nodiscard]] static int hex_value(std::uint8_t c) noexcept {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }

    // The escapes of a Python str literal, except \N{...} and line continuations.
    status parse_escape() {
        const std::size_t at = pos_;
        ++pos_;
        if (at_end()) return fail(errc::numpy_bad_header, at, "a complete escape");
        const std::uint8_t c = text_[pos_++];
        switch (c) {
            case '\\': append_code_point('\\'); return {};
            case '\'': append_code_point('\''); return {};
            case '"': append_code_point('"'); return {};
            case 'a': append_code_point(7); return {};
            case 'b': append_code_point(8); return {};
            case 'f': append_code_point(12); return {};
            case 'n': append_code_point(10); return {};
            case 'r': append_code_point(13); return {};
            case 't': append_code_point(9); return {};
            case 'v': append_code_point(11); return {};
            default: break;
        }
        std::uint32_t cp = 0;
        if (c >= '0' && c <= '7') {
            cp = c - '0';
            for (int k = 0; k < 2 && !at_end() && text_[pos_] >= '0' && text_[pos_] <= '7'; ++k)
                cp = cp * 8 + (text_[pos_++] - '0');
        } else if (c == 'x' || c == 'u' || c == 'U') {
            const int digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            for (int k = 0; k < digits; ++k) {
                const int v = at_end() ? -1 : hex_value(text_[pos_]);
                if (v < 0) return fail(errc::numpy_bad_header, at, "a \\x, \\u or \\U escape with all its hex digits");
                cp = cp * 16 + static_cast<std::uint32_t>(v);
                ++pos_;
            }
        } else {
            return fail(errc::numpy_bad_header, at, "an escape Python defines (\\N{...} and line continuations refused)");
        }
        if (cp > 0x10FFFF || ::brine::detail::is_surrogate(cp))
            return fail(errc::numpy_bad_header, at, "an escaped code point that is a Unicode scalar value");
        append_code_point(cp);
        return {};
    }

    // ---- from literals to a header ---------------------------------------------------------------

    [[nodiscard]] const literal& value(std::uint32_t index) const noexcept { return values_[index]; }
    [[nodiscard]] const literal& item(const literal& container, std::uint32_t i) const noexcept {
        return values_[children_[container.first + i]];
    }
    [[nodiscard]] std::string_view string_of(const literal& text) const noexcept {
        return std::string_view(text_pool_).substr(text.first, text.count);
    }

    status interpret(std::uint32_t root_index, npy_header& out) {
        const literal& root = value(root_index);
        if (root.kind != literal_kind::dict)
            return fail_at(errc::numpy_bad_header, root, "a dict");
        const literal* descr = nullptr;
        const literal* fortran = nullptr;
        const literal* shape = nullptr;
        for (std::uint32_t i = 0; i < root.count; i += 2) {
            const literal& key = item(root, i);
            const literal& entry = item(root, i + 1);
            const literal** slot = nullptr;
            if (key.kind == literal_kind::string) {
                const std::string_view name = string_of(key);
                if (name == "descr") slot = &descr;
                else if (name == "fortran_order") slot = &fortran;
                else if (name == "shape") slot = &shape;
            }
            if (slot == nullptr)
                return fail_at(errc::numpy_unknown_key, key, "only the keys 'descr', 'fortran_order' and 'shape'");
            if (*slot != nullptr) return fail_at(errc::numpy_duplicate_key, key, "each header key once");
            *slot = &entry;
        }
        if (!descr || !fortran || !shape)
            return fail_at(errc::numpy_missing_key, root, "all of 'descr', 'fortran_order' and 'shape'");

        if (shape->kind != literal_kind::tuple)
            return fail_at(errc::numpy_bad_shape, *shape, "a shape that is a tuple of ints");
        if (shape->count > limits_->max_dims)
            return fail_at(errc::numpy_bad_shape, *shape, "at most npy_limits::max_dims dimensions");
        out.shape.clear();
        for (std::uint32_t i = 0; i < shape->count; ++i) {
            const literal& dim = item(*shape, i);
            if (dim.kind != literal_kind::integer || dim.negative)
                return fail_at(errc::numpy_bad_shape, dim, "a dimension that is an int >= 0");
            out.shape.push_back(dim.integer);
        }

        if (fortran->kind != literal_kind::boolean)
            return fail_at(errc::numpy_bad_fortran_order, *fortran, "fortran_order True or False");
        out.fortran_order = fortran->boolean;

        out.type = dtype{};
        if (descr->kind != literal_kind::string && descr->kind != literal_kind::list)
            return fail_at(errc::numpy_bad_descr, *descr, "a descr that is a str or a list of fields");
        auto root_type = build_type(*descr, out.type);
        BRINE_TRY(root_type);

        // numpy's array allocation: itemsize x the non-zero dimensions must fit in intp.
        std::uint64_t elements = 1;
        std::uint64_t bytes = out.type.itemsize();
        bool empty = false;
        for (const std::uint64_t dim : out.shape) {
            if (dim == 0) {
                empty = true;
                continue;
            }
            if (elements > intp_max / dim || (bytes != 0 && bytes > intp_max / dim))
                return fail_at(errc::numpy_size_overflow, *shape, "shape x itemsize within 2**63 - 1 bytes");
            elements *= dim;
            bytes *= dim;
        }
        out.count = empty ? 0 : elements;
        out.data_size = empty ? 0 : bytes;
        return {};
    }

    // Appends the type a descr literal describes (with its fields) to `type`; returns its index.
    result<std::uint32_t> build_type(const literal& descr, dtype& type) {
        if (descr.kind == literal_kind::string) {
            auto node = parse_type_string(string_of(descr), descr);
            BRINE_TRY(node);
            type.nodes.push_back(*node);
            return static_cast<std::uint32_t>(type.nodes.size() - 1);
        }
        if (descr.kind != literal_kind::list)
            return fail_at(errc::numpy_bad_descr, descr, "a field type that is a str or a list of fields");

        const auto index = static_cast<std::uint32_t>(type.nodes.size());
        type_node node;
        node.kind = type_kind::structured;
        node.first_field = static_cast<std::uint32_t>(type.fields.size());
        node.field_count = descr.count;
        type.nodes.push_back(node);
        type.fields.resize(type.fields.size() + descr.count);

        std::uint64_t offset = 0;
        bool has_object = false;
        for (std::uint32_t i = 0; i < descr.count; ++i) {
            const literal& spec = item(descr, i);
            if (spec.kind != literal_kind::tuple || (spec.count != 2 && spec.count != 3))
                return fail_at(errc::numpy_bad_descr, spec, "a field: a (name, type) or (name, type, shape) tuple");
            const literal& name = item(spec, 0);
            if (name.kind == literal_kind::tuple)
                return fail_at(errc::numpy_bad_descr, name, "a field name that is a str (titles are not supported)");
            if (name.kind != literal_kind::string)
                return fail_at(errc::numpy_bad_descr, name, "a field name that is a str");
            auto child = build_type(item(spec, 1), type);
            BRINE_TRY(child);

            field entry;
            entry.name.assign(string_of(name));
            entry.type = *child;
            std::uint64_t size = type.nodes[*child].itemsize;
            if (spec.count == 3) {
                const literal& dims = item(spec, 2);
                if (dims.kind != literal_kind::tuple)
                    return fail_at(errc::numpy_bad_descr, dims, "a sub-array shape that is a tuple of ints");
                if (dims.count > limits_->max_dims)
                    return fail_at(errc::numpy_bad_descr, dims, "a sub-array of at most npy_limits::max_dims dimensions");
                entry.first_dim = static_cast<std::uint32_t>(type.dims.size());
                entry.dim_count = dims.count;
                for (std::uint32_t k = 0; k < dims.count; ++k) {
                    const literal& dim = item(dims, k);
                    if (dim.kind != literal_kind::integer || dim.negative)
                        return fail_at(errc::numpy_bad_descr, dim, "a sub-array dimension that is an int >= 0");
                    // Zero makes the field empty but later dimensions still must fit numpy's C int.
                    if (dim.integer > c_int_max || (size != 0 && dim.integer != 0 && size > c_int_max / dim.integer))
                        return fail_at(errc::numpy_size_overflow, dim, "a field whose size fits in a C int");
                    size *= dim.integer;
                    type.dims.push_back(dim.integer);
                }
                if (dims.count == 0) entry.first_dim = 0;  // (name, type, ()) is (name, type)
            }
            const type_node& child_node = type.nodes[*child];
            entry.padding = entry.name.empty() && (entry.dim_count != 0 || child_node.kind == type_kind::raw);
            entry.offset = offset;
            entry.size = size;
            // numpy drops padding fields: an object inside one is raw bytes there, never unpickled.
            has_object = has_object || (!entry.padding && child_node.has_object);
            if (size > c_int_max - offset)
                return fail_at(errc::numpy_size_overflow, spec, "a record whose size fits in a C int");
            offset += size;
            type.fields[node.first_field + i] = std::move(entry);
        }
        type.nodes[index].itemsize = offset;
        type.nodes[index].has_object = has_object;

        // numpy refuses a name used twice ("name already used as a name or title").
        alloc::vector<std::uint32_t> order;
        for (std::uint32_t i = 0; i < descr.count; ++i)
            if (!type.fields[node.first_field + i].padding) order.push_back(node.first_field + i);
        std::sort(order.begin(), order.end(),
                  [&](std::uint32_t a, std::uint32_t b) { return type.fields[a].name < type.fields[b].name; });
        for (std::size_t i = 1; i < order.size(); ++i)
            if (type.fields[order[i]].name == type.fields[order[i - 1]].name)
                return fail_at(errc::numpy_bad_descr, item(descr, order[i] - node.first_field),
                               "field names that differ from each other");
        return index;
    }

    // The digits of a size or multiplier: no leading zero, at most `limit`.
    [[nodiscard]] static bool parse_count(std::string_view digits, std::uint64_t limit, std::uint64_t& out) noexcept {
        if (digits.empty() || digits.size() > 10 || digits[0] == '0') return false;
        std::uint64_t value = 0;
        for (const char c : digits) {
            if (c < '0' || c > '9') return false;
            value = value * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (value > limit) return false;
        out = value;
        return true;
    }

    // A type as dtype.str writes it: byte order, kind, size ('<f4', '|S10', '<U3', '<M8[ns]', '|O').
    result<type_node> parse_type_string(std::string_view text, const literal& where) const noexcept {
        type_node node;
        if (text.size() < 2)
            return fail_at(errc::numpy_bad_descr, where, "a type string: byte order, kind and size, like '<f4'");
        const char order = text[0];
        if (order != '<' && order != '>' && order != '|' && order != '=')
            return fail_at(errc::numpy_bad_descr, where, "a type string starting with a byte order: <, >, | or =");
        node.kind = static_cast<type_kind>(text[1]);
        const std::string_view size = text.substr(2);
        const auto sized = [&](std::initializer_list<std::uint64_t> allowed) {
            for (const std::uint64_t n : allowed) {
                std::uint64_t value = 0;
                if (parse_count(size, 64, value) && value == n) {
                    node.length = node.itemsize = n;
                    return true;
                }
            }
            return false;
        };
        bool valid = false;
        switch (text[1]) {
            case 'b': valid = sized({1}); break;
            case 'i':
            case 'u': valid = sized({1, 2, 4, 8}); break;
            case 'f': valid = sized({2, 4, 8, 16}); break;
            case 'c': valid = sized({8, 16, 32}); break;
            case 'S':
            case 'V':
                valid = parse_count(size, c_int_max, node.length);
                node.itemsize = node.length;
                break;
            case 'U':
                valid = parse_count(size, c_int_max / 4, node.length);
                node.itemsize = node.length * 4;
                break;
            case 'O':
                valid = size.empty() || size == "8";
                node.itemsize = 8;
                node.has_object = true;
                break;
            case 'M':
            case 'm':
                valid = parse_datetime(size, node);
                node.itemsize = 8;
                break;
            default:
                return fail_at(errc::numpy_bad_descr, where, "a type kind numpy writes: b i u f c V S U M m O");
        }
        if (!valid) return fail_at(errc::numpy_bad_descr, where, "a size numpy has for this type kind");
        const bool order_free = node.kind == type_kind::boolean || node.kind == type_kind::raw ||
                                node.kind == type_kind::bytes || node.kind == type_kind::object || node.itemsize == 1;
        if (order_free) {
            node.order = byte_order::not_applicable;  // numpy writes '|' whatever the file said
        } else if (order == '|') {
            return fail_at(errc::numpy_bad_descr, where, "an explicit byte order (<, > or =) for a multi-byte type");
        } else {
            node.order = static_cast<byte_order>(order);
        }
        return node;
    }

    // "8", "8[unit]" or "8[<multiplier>unit]".
    [[nodiscard]] static bool parse_datetime(std::string_view size, type_node& node) noexcept {
        if (size.empty() || size[0] != '8') return false;
        size.remove_prefix(1);
        if (size.empty()) return true;  // generic
        if (size.front() != '[' || size.back() != ']') return false;
        size = size.substr(1, size.size() - 2);
        std::size_t digits = 0;
        while (digits < size.size() && size[digits] >= '0' && size[digits] <= '9') ++digits;
        if (digits != 0) {
            std::uint64_t multiplier = 0;
            if (!parse_count(size.substr(0, digits), c_int_max, multiplier)) return false;
            node.multiplier = static_cast<std::uint32_t>(multiplier);
        }
        const std::string_view unit = size.substr(digits);
        for (std::uint8_t u = 1; u <= static_cast<std::uint8_t>(datetime_unit::as); ++u) {
            if (unit == to_string(static_cast<datetime_unit>(u))) {
                node.unit = static_cast<datetime_unit>(u);
                return true;
            }
        }
        return false;
    }

    byte_view text_;
    std::uint64_t base_;      // file offset of text_[0]
    bool utf8_;
    bool long_suffix_;
    const npy_limits* limits_;
    std::size_t pos_ = 0;
    alloc::vector<literal> values_;
    alloc::vector<std::uint32_t> children_;
    alloc::string text_pool_;
};

}  // namespace detail

// The size of the preamble (magic, version, header length, header), from the file's first 12
// bytes (or all of it, if shorter).
[[nodiscard]] inline result<std::uint64_t> npy_preamble_size(byte_view start, const npy_limits& limits = {}) noexcept {
    for (std::size_t i = 0; i < sizeof detail::npy_magic; ++i) {
        if (i >= start.size()) return error{errc::numpy_truncated_header, start.size(), "the magic string \\x93NUMPY"};
        if (start[i] != detail::npy_magic[i]) return error{errc::numpy_bad_magic, i, "the magic string \\x93NUMPY"};
    }
    if (start.size() < 8) return error{errc::numpy_truncated_header, start.size(), "a format version"};
    const std::uint8_t major = start[6];
    if ((major != 1 && major != 2 && major != 3) || start[7] != 0)
        return error{errc::numpy_bad_version, 6, "format version 1.0, 2.0 or 3.0"};
    const std::size_t field = major == 1 ? 2 : 4;
    if (start.size() < 8 + field) return error{errc::numpy_truncated_header, start.size(), "the header length"};
    const std::uint64_t length = major == 1 ? load_le16(start.data() + 8) : load_le32(start.data() + 8);
    if (length > limits.max_header_size)
        return error{errc::limit_exceeded, 8, "a header within npy_limits::max_header_size"};
    const std::uint64_t total = 8 + field + length;
    if (total % detail::npy_min_alignment != 0)
        return error{errc::numpy_bad_alignment, 8, "a header length making the preamble a multiple of 16 bytes"};
    return total;
}

// Parses a preamble of exactly npy_preamble_size() bytes. data_offset is set; the data is not seen.
[[nodiscard]] inline result<npy_header> parse_npy_header(byte_view preamble, const npy_limits& limits = {}) noexcept {
    auto size = npy_preamble_size(preamble.first(12), limits);
    BRINE_TRY(size);
    if (preamble.size() < *size)
        return error{errc::numpy_truncated_header, preamble.size(), "the whole header its length field declares"};
    if (preamble.size() > *size) return error{errc::invalid_argument, *size, "the preamble alone"};
    npy_header header;
    header.major = preamble[6];
    header.minor = preamble[7];
    header.data_offset = *size;
    const std::size_t start = header.major == 1 ? 10 : 12;
    detail::header_parser parser(preamble.subview(start), start, header.major == 3, header.major != 3, limits);
    BRINE_TRY(parser.run(header));
    return header;
}

// Parses a whole .npy file. Numeric data must be exactly shape x itemsize bytes; for object
// arrays `data` is everything after the header (a pickle: see scan_npy).
[[nodiscard]] inline result<npy_view> parse_npy(byte_view file, const npy_limits& limits = {}) noexcept {
    auto size = npy_preamble_size(file.first(12), limits);
    BRINE_TRY(size);
    if (file.size() < *size)
        return error{errc::numpy_truncated_header, file.size(), "the whole header its length field declares"};
    auto header = parse_npy_header(file.first(static_cast<std::size_t>(*size)), limits);
    BRINE_TRY(header);
    npy_view view;
    view.header = std::move(*header);
    const byte_view rest = file.subview(static_cast<std::size_t>(*size));
    if (!view.header.has_objects()) {
        if (rest.size() < view.header.data_size)
            return error{errc::numpy_truncated_data, file.size(), "as many data bytes as shape x itemsize"};
        if (rest.size() > view.header.data_size)
            return error{errc::numpy_trailing_data, *size + view.header.data_size,
                         "the end of the file right after shape x itemsize data bytes"};
    }
    view.data = rest;
    return view;
}

// ---- writing ---------------------------------------------------------------------------------

// Appends the preamble numpy's format.py writes for this header (written for `header`'s dtype,
// shape and effective order; the version is 1.0, or 2.0 for a header over 65535 bytes).
inline status append_npy_preamble(const npy_header& header, alloc::vector<std::uint8_t>& out) {
    if (header.type.nodes.empty()) return error{errc::invalid_argument, 0, "a header with a dtype"};
    const bool fortran = header.effective_fortran_order();
    alloc::string text = "{'descr': ";
    header.type.append_descr(text, 0);
    text += ", 'fortran_order': ";
    text += fortran ? "True" : "False";
    text += ", 'shape': ";
    detail::append_shape(text, header.shape.data(), header.shape.size());
    text += ", }";
    if (!header.shape.empty()) {
        // Room for the growing axis to be rewritten in place (numpy >= 1.24's open_memmap).
        const std::size_t digits = detail::decimal_length(fortran ? header.shape.back() : header.shape.front());
        if (digits < detail::growth_axis_digits) text.append(detail::growth_axis_digits - digits, ' ');
    }
    const std::uint64_t length = text.size() + 1;  // with the final '\n'
    std::uint64_t prefix = 10;
    std::uint64_t padding = detail::npy_alignment - (prefix + length) % detail::npy_alignment;
    if (length + padding > 0xFFFF) {
        prefix = 12;
        padding = detail::npy_alignment - (prefix + length) % detail::npy_alignment;
        if (length + padding > 0xFFFFFFFFu)
            return error{errc::limit_exceeded, 0, "a header under 4 GiB (format 2.0)"};
    }
    const std::uint64_t field = length + padding;
    out.insert(out.end(), detail::npy_magic, detail::npy_magic + sizeof detail::npy_magic);
    out.push_back(prefix == 10 ? 1 : 2);
    out.push_back(0);
    std::uint8_t encoded[4];
    store_le32(encoded, static_cast<std::uint32_t>(field));
    out.insert(out.end(), encoded, encoded + (prefix == 10 ? 2 : 4));
    out.insert(out.end(), text.begin(), text.end());
    out.insert(out.end(), static_cast<std::size_t>(padding), std::uint8_t{' '});
    out.push_back('\n');
    return {};
}

// Writes a fresh .npy file of a numeric array: the canonical preamble, then `data`, which must be
// exactly header.data_size bytes. Object arrays are refused: their data is a pickle, and only
// rebuild_npy writes one (from a value graph the policy accepted).
template <class Sink>
[[nodiscard]] status write_npy(const npy_header& header, byte_view data, Sink& sink) noexcept {
    static_assert(is_sink_v<Sink>, "Sink must have: status write(byte_view) noexcept");
    if (header.has_objects())
        return error{errc::invalid_argument, header.data_offset, "a numeric array (object arrays: rebuild_npy)"};
    if (data.size() != header.data_size)
        return error{errc::invalid_argument, header.data_offset, "data of exactly shape x itemsize bytes"};
    alloc::vector<std::uint8_t> preamble;
    BRINE_TRY(append_npy_preamble(header, preamble));
    BRINE_TRY(sink.write(byte_view(preamble.data(), preamble.size())));
    return sink.write(data);
}

// ---- object arrays: scan and rebuild -----------------------------------------------------------

// A parsed file, and for object arrays the symbolic evaluation of its pickle. numpy's own pickle
// of an object array calls numpy.core.multiarray._reconstruct, numpy.ndarray and numpy.dtype:
// torch_weights_only (the default policy) allows none of them, so every object array numpy writes
// has findings under it, and rebuild_npy refuses it. A policy that allows those globals gets the
// pickle re-emitted structurally (pickle::writer), nothing else added.
struct npy_scan {
    npy_view array;
    // Object arrays: the pickle's value graph; offsets in it count from header.data_offset. The
    // graph may point into the scanned bytes: keep them alive as long as this.
    pickle::evaluation objects;

    [[nodiscard]] bool has_objects() const noexcept { return array.header.has_objects(); }
    [[nodiscard]] const alloc::vector<pickle::finding>& findings() const noexcept { return objects.values.findings(); }
    // Nothing refused, nothing ignored: what rebuild_npy writes means what the input meant.
    [[nodiscard]] bool clean() const noexcept { return findings().empty(); }
};

struct npy_rebuild_stats {
    bool object_array = false;
    int pickle_protocol = 0;         // object arrays: the protocol the new pickle declares
    std::uint64_t bytes_written = 0;
};

namespace detail {
inline error shifted(error e, std::uint64_t by) noexcept {
    e.offset += by;
    return e;
}
}  // namespace detail

// Evaluates an object array's pickle, after parsing. A malformed pickle is an error (never clean),
// with offsets in the file. Reader: the machine's opcode reader (pickle/reader_concept.hpp).
template <class Policy = policy::torch_weights_only, class Limits = pickle::limits::standard,
          class Reader = pickle::reader<Limits>>
[[nodiscard]] status evaluate_objects(npy_scan& scan, const Policy& rules = Policy{}) noexcept {
    if (!scan.has_objects()) return {};
    pickle::machine<Policy, Limits, Reader> machine(rules);
    const status run = machine.run(scan.array.data, scan.objects);
    if (!run) return detail::shifted(run.err(), scan.array.header.data_offset);
    return {};
}

template <class Policy = policy::torch_weights_only, class Limits = pickle::limits::standard,
          class Reader = pickle::reader<Limits>>
[[nodiscard]] result<npy_scan> scan_npy(byte_view file, const Policy& rules = Policy{},
                                        const npy_limits& limits = {}) noexcept {
    auto view = parse_npy(file, limits);
    BRINE_TRY(view);
    npy_scan scan;
    scan.array = std::move(*view);
    BRINE_TRY((evaluate_objects<Policy, Limits, Reader>(scan, rules)));
    return scan;
}

// Writes a fresh file from a scan: numeric arrays as write_npy; object arrays only when the
// scan is clean (errc::numpy_object_refused otherwise, at the first finding), with a pickle
// written anew from the value graph, within `bounds` (the limits the scan's machine had).
// Nothing reaches the sink before that decision.
template <class Sink>
[[nodiscard]] result<npy_rebuild_stats> write_rebuilt(const npy_scan& scan, Sink& sink,
                                                      pickle::writer_limits bounds = {}) noexcept {
    static_assert(is_sink_v<Sink>, "Sink must have: status write(byte_view) noexcept");
    const npy_header& header = scan.array.header;
    npy_rebuild_stats stats;
    alloc::vector<std::uint8_t> preamble;
    BRINE_TRY(append_npy_preamble(header, preamble));
    if (!header.has_objects()) {
        if (scan.array.data.size() != header.data_size)
            return error{errc::invalid_argument, header.data_offset, "data of exactly shape x itemsize bytes"};
        BRINE_TRY(sink.write(byte_view(preamble.data(), preamble.size())));
        BRINE_TRY(sink.write(scan.array.data));
        stats.bytes_written = preamble.size() + header.data_size;
        return stats;
    }
    if (scan.objects.values.root() == pickle::no_node)
        return error{errc::invalid_argument, header.data_offset, "a scan whose objects were evaluated (scan_npy)"};
    if (!scan.clean())
        return error{errc::numpy_object_refused, header.data_offset + scan.findings().front().offset,
                     "an object array whose pickle the policy accepts in full (scan_npy lists the findings)"};
    alloc::vector<std::uint8_t> pickled;
    auto written = pickle::writer(scan.objects.values, bounds).write(pickled);
    if (!written) return detail::shifted(written.err(), header.data_offset);
    stats.object_array = true;
    stats.pickle_protocol = written->protocol;
    BRINE_TRY(sink.write(byte_view(preamble.data(), preamble.size())));
    BRINE_TRY(sink.write(byte_view(pickled.data(), pickled.size())));
    stats.bytes_written = preamble.size() + pickled.size();
    return stats;
}

// Parses, evaluates and rebuilds an .npy file into `sink` (see write_rebuilt).
template <class Policy = policy::torch_weights_only, class Limits = pickle::limits::standard, class Sink,
          class = std::enable_if_t<is_sink_v<Sink>>>
[[nodiscard]] result<npy_rebuild_stats> rebuild_npy(byte_view file, Sink& sink, const Policy& rules = Policy{},
                                                    const npy_limits& limits = {}) noexcept {
    auto scan = scan_npy<Policy, Limits>(file, rules, limits);
    BRINE_TRY(scan);
    return write_rebuilt(*scan, sink, pickle::writer_limits::of<Limits>());
}

// The same, appending to a vector (left as it was on failure).
template <class Policy = policy::torch_weights_only, class Limits = pickle::limits::standard>
[[nodiscard]] result<npy_rebuild_stats> rebuild_npy(byte_view file, alloc::vector<std::uint8_t>& out,
                                                    const Policy& rules = Policy{},
                                                    const npy_limits& limits = {}) noexcept {
    alloc::vector<std::uint8_t> fresh;
    vector_sink sink(fresh);
    auto stats = rebuild_npy<Policy, Limits>(file, sink, rules, limits);
    BRINE_TRY(stats);
    out.insert(out.end(), fresh.begin(), fresh.end());
    return stats;
}

}  // namespace numpy
BRINE_NAMESPACE_END
