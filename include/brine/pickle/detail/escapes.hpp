// SPDX-License-Identifier: MIT
//
// The two escaped text forms of protocol 0: STRING's Python 2 str literal (codecs.escape_decode)
// and UNICODE's raw-unicode-escape. Both follow CPython 3.11's decoders, except that escapes
// CPython only accepts with a DeprecationWarning are refused, since no pickler writes them.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/core/utf8.hpp>

#include <cstddef>
#include <cstdint>

BRINE_NAMESPACE_BEGIN
namespace pickle {
namespace detail {

using brine::hex_digit_value;

// Undoes the escapes of a STRING body (the text between the quotes), as codecs.escape_decode:
// \\ \' \" \a \b \f \n \r \t \v, \x with exactly two hex digits, and octal \ooo with one to three
// digits. Every other byte stands for itself. Refused: a trailing lone backslash and a \x without
// two hex digits (errors in CPython too), an octal escape above \377 and an unknown escape such
// as \q (CPython keeps them with a DeprecationWarning: no pickler writes them). `out` has room for
// body.size() bytes, which bounds the result. `base` is the body's offset in the input.
[[nodiscard]] inline result<std::size_t> decode_string_escapes(byte_view body, std::uint8_t* out,
                                                               std::uint64_t base) noexcept {
    const std::size_t size = body.size();
    std::size_t n = 0;
    for (std::size_t i = 0; i < size;) {
        const std::uint8_t c = body[i];
        if (c != '\\') {
            out[n++] = c;
            ++i;
            continue;
        }
        const std::uint64_t at = base + i;
        if (i + 1 == size) return error{errc::pickle_bad_escape, at, "a character after the backslash"};
        const std::uint8_t e = body[i + 1];
        i += 2;
        switch (e) {
            case '\\': out[n++] = '\\'; break;
            case '\'': out[n++] = '\''; break;
            case '"': out[n++] = '"'; break;
            case 'a': out[n++] = 0x07; break;
            case 'b': out[n++] = 0x08; break;
            case 'f': out[n++] = 0x0c; break;
            case 'n': out[n++] = 0x0a; break;
            case 'r': out[n++] = 0x0d; break;
            case 't': out[n++] = 0x09; break;
            case 'v': out[n++] = 0x0b; break;
            case 'x': {
                const int high = i < size ? hex_digit_value(body[i]) : -1;
                const int low = i + 1 < size ? hex_digit_value(body[i + 1]) : -1;
                if (high < 0 || low < 0) return error{errc::pickle_bad_escape, at, "two hex digits after \\x"};
                out[n++] = static_cast<std::uint8_t>(high * 16 + low);
                i += 2;
                break;
            }
            default: {
                if (e < '0' || e > '7') return error{errc::pickle_bad_escape, at, "a known escape (\\q-style escapes are refused)"};
                unsigned value = e - '0';
                for (int more = 0; more < 2 && i < size && body[i] >= '0' && body[i] <= '7'; ++more, ++i)
                    value = value * 8 + (body[i] - '0');
                if (value > 0377) return error{errc::pickle_bad_escape, at, "an octal escape of at most \\377"};
                out[n++] = static_cast<std::uint8_t>(value);
                break;
            }
        }
    }
    return n;
}

// Decodes a UNICODE line (raw-unicode-escape) to UTF-8: \uXXXX and \UXXXXXXXX (exactly 4 and 8
// hex digits) are code points; every other byte, a backslash before anything but u/U included, is
// the Latin-1 code point of that byte. A code point above U+10FFFF and a short or non-hex escape
// are refused as in CPython; a surrogate code point, which CPython keeps in the str, is refused
// because it has no UTF-8 form. With `out` null only the UTF-8 size is computed (pass one, to size
// the buffer); otherwise `out` has room for that size.
[[nodiscard]] inline result<std::size_t> decode_raw_unicode_escape(byte_view line, std::uint8_t* out,
                                                                   std::uint64_t base) noexcept {
    const std::size_t size = line.size();
    std::size_t n = 0;
    auto put = [&](std::uint32_t cp) noexcept {
        if (out) n += ::brine::detail::encode_utf8(cp, out + n);
        else n += ::brine::detail::utf8_length(cp);
    };
    for (std::size_t i = 0; i < size;) {
        const std::uint8_t c = line[i++];
        if (c != '\\' || i == size) {
            put(c);
            continue;
        }
        const std::uint8_t e = line[i++];
        if (e != 'u' && e != 'U') {
            put(c);
            put(e);
            continue;
        }
        const std::uint64_t at = base + i - 2;
        const std::size_t digits = e == 'u' ? 4 : 8;
        if (size - i < digits) return error{errc::pickle_bad_escape, at, "a complete \\uXXXX or \\UXXXXXXXX escape"};
        std::uint32_t cp = 0;
        for (std::size_t k = 0; k < digits; ++k) {
            const int v = hex_digit_value(line[i + k]);
            if (v < 0) return error{errc::pickle_bad_escape, at, "hex digits in a \\u or \\U escape"};
            cp = (cp << 4) | static_cast<std::uint32_t>(v);
        }
        i += digits;
        if (cp > 0x10ffff) return error{errc::pickle_bad_escape, at, "a \\U escape of at most U+10FFFF"};
        if (::brine::detail::is_surrogate(cp)) return error{errc::pickle_invalid_utf8, at, "a code point that is not a surrogate"};
        put(cp);
    }
    return n;
}

}  // namespace detail
}  // namespace pickle
BRINE_NAMESPACE_END
