// SPDX-License-Identifier: MIT
//
// A NumPy dtype as an .npy header describes it (THREATS.md F5): scalar kinds with their byte order
// and size, structured types as a tree of fields with sub-array shapes, and the descr text that
// numpy's format.py writes for each (repr(dtype.str), or repr(dtype.descr) for structured types).
// Parsing a descr is numpy/npy_parse.hpp's job; this is what it produces and what is written back.
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/hex.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace numpy {

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

namespace detail {

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
            append_hex_number(out, cp, 2);
        } else if (cp < 0x7F) {
            out += static_cast<char>(cp);
        } else if (cp <= 0xFF) {
            // str.isprintable() is false for the C1 controls, NO-BREAK SPACE and SOFT HYPHEN.
            if (cp <= 0xA0 || cp == 0xAD) {
                out += "\\x";
                append_hex_number(out, cp, 2);
            } else {
                out += static_cast<char>(static_cast<std::uint8_t>(cp));
            }
        } else if (cp <= 0xFFFF) {
            out += "\\u";
            append_hex_number(out, cp, 4);
        } else {
            out += "\\U";
            append_hex_number(out, cp, 8);
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

}  // namespace numpy
BRINE_NAMESPACE_END
