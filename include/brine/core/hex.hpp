// SPDX-License-Identifier: MIT
//
// Hexadecimal digits, one definition for every text brine writes them in: digests and keys (lower
// case), %XX escapes in a manifest (upper case), \xNN and \u00NN escapes in listings and JSON,
// fixed-width numbers in NumPy headers. Output goes to anything with push_back(char) (strings) or
// append(char) (fixed-capacity lines).
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/detect.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

BRINE_NAMESPACE_BEGIN

[[nodiscard]] constexpr char hex_digit(unsigned nibble, bool upper = false) noexcept {
    return (upper ? "0123456789ABCDEF" : "0123456789abcdef")[nibble & 15];
}

// The value of one hex digit of the given case, or -1.
[[nodiscard]] constexpr int hex_value(char c, bool upper = false) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    const char first = upper ? 'A' : 'a';
    if (c >= first && c <= first + 5) return c - first + 10;
    return -1;
}

namespace detail {
template <class Out>
using push_back_op = decltype(std::declval<Out&>().push_back('0'));
template <class Out>
void put_char(Out& out, char c) {
    if constexpr (is_detected_v<push_back_op, Out>) out.push_back(c);
    else out.append(c);
}
}  // namespace detail

// Two digits per byte.
template <class Out>
void append_hex(Out& out, byte_view bytes, bool upper = false) {
    for (const std::uint8_t b : bytes) {
        detail::put_char(out, hex_digit(b >> 4, upper));
        detail::put_char(out, hex_digit(b & 15, upper));
    }
}
template <class Out>
void append_hex_byte(Out& out, std::uint8_t byte, bool upper = false) {
    append_hex(out, byte_view(&byte, 1), upper);
}
// `value` in exactly `digits` digits (the high ones dropped), lower case.
template <class Out>
void append_hex_number(Out& out, std::uint64_t value, unsigned digits) {
    for (unsigned i = digits; i-- > 0;) detail::put_char(out, hex_digit(static_cast<unsigned>(value >> (4 * i))));
}

// Exactly 2 x out.size() lowercase digits into out.
[[nodiscard]] inline bool parse_hex(std::string_view text, mutable_byte_view out) noexcept {
    if (text.size() != 2 * out.size()) return false;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int high = hex_value(text[2 * i]), low = hex_value(text[2 * i + 1]);
        if (high < 0 || low < 0) return false;
        out[i] = static_cast<std::uint8_t>(high * 16 + low);
    }
    return true;
}

BRINE_NAMESPACE_END
