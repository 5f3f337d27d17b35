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
// This header reads the preamble and the header into an npy_header and finds the data's extent;
// the data itself is not interpreted (numpy/npy.hpp evaluates object arrays' pickles).
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/core/utf8.hpp>
#include <brine/numpy/dtype.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

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
inline constexpr std::uint64_t npy_min_alignment = 16;     // what numpy wrote before 1.14
inline constexpr std::uint64_t c_int_max = 0x7FFFFFFF;     // numpy 1.x item sizes are C ints
inline constexpr std::uint64_t intp_max = 0x7FFFFFFFFFFFFFFF;

}  // namespace detail

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

}  // namespace numpy
BRINE_NAMESPACE_END
