// SPDX-License-Identifier: MIT
//
// Strict UTF-8, for pickle text and zip entry names alike: validation that locates the first bad
// byte (for the error offset), and encoding of one code point.
#pragma once

#include <brine/config.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>

BRINE_NAMESPACE_BEGIN
namespace detail {

// The index of the first byte that does not belong to a well-formed sequence, or `size` when all
// of it is strict UTF-8: no overlong forms, no surrogates (U+D800-DFFF), nothing above U+10FFFF.
// CPython decodes BINUNICODE with 'surrogatepass', so it would accept encoded lone surrogates;
// brine refuses them, as no UTF-8 consumer downstream can hold them.
[[nodiscard]] inline std::size_t first_invalid_utf8(const std::uint8_t* text, std::size_t size) noexcept {
    std::size_t i = 0;
    while (i < size) {
        // Runs of ASCII, the common case, eight bytes at a time.
        while (size - i >= 8) {
            std::uint64_t word;
            std::memcpy(&word, text + i, 8);
            if (word & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i == size) break;
        const std::uint8_t lead = text[i];
        if (lead < 0x80) {
            ++i;
            continue;
        }
        std::size_t length;
        std::uint8_t low = 0x80, high = 0xbf;  // the allowed range of the second byte
        if (lead >= 0xc2 && lead <= 0xdf) {
            length = 2;
        } else if (lead >= 0xe0 && lead <= 0xef) {
            length = 3;
            if (lead == 0xe0) low = 0xa0;        // overlong
            else if (lead == 0xed) high = 0x9f;  // surrogates
        } else if (lead >= 0xf0 && lead <= 0xf4) {
            length = 4;
            if (lead == 0xf0) low = 0x90;        // overlong
            else if (lead == 0xf4) high = 0x8f;  // above U+10FFFF
        } else {
            return i;
        }
        if (size - i < length) return i;
        if (text[i + 1] < low || text[i + 1] > high) return i;
        for (std::size_t k = 2; k < length; ++k)
            if ((text[i + k] & 0xc0) != 0x80) return i;
        i += length;
    }
    return size;
}

[[nodiscard]] constexpr bool is_surrogate(std::uint32_t code_point) noexcept {
    return code_point >= 0xd800 && code_point <= 0xdfff;
}

// Writes a scalar value (not a surrogate, at most U+10FFFF) as UTF-8; returns the bytes written.
constexpr std::size_t encode_utf8(std::uint32_t cp, std::uint8_t* out) noexcept {
    if (cp < 0x80) {
        out[0] = static_cast<std::uint8_t>(cp);
        return 1;
    }
    if (cp < 0x800) {
        out[0] = static_cast<std::uint8_t>(0xc0 | (cp >> 6));
        out[1] = static_cast<std::uint8_t>(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = static_cast<std::uint8_t>(0xe0 | (cp >> 12));
        out[1] = static_cast<std::uint8_t>(0x80 | ((cp >> 6) & 0x3f));
        out[2] = static_cast<std::uint8_t>(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = static_cast<std::uint8_t>(0xf0 | (cp >> 18));
    out[1] = static_cast<std::uint8_t>(0x80 | ((cp >> 12) & 0x3f));
    out[2] = static_cast<std::uint8_t>(0x80 | ((cp >> 6) & 0x3f));
    out[3] = static_cast<std::uint8_t>(0x80 | (cp & 0x3f));
    return 4;
}

[[nodiscard]] constexpr std::size_t utf8_length(std::uint32_t cp) noexcept {
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

}  // namespace detail
BRINE_NAMESPACE_END
