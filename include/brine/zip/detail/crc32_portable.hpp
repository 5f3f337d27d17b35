// SPDX-License-Identifier: MIT
//
// Portable CRC-32: slicing-by-16 over tables built at compile time. Runs on any host, whatever its
// byte order (words are assembled with load_le32), and in constant expressions.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/zip/detail/crc32_polynomial.hpp>

#include <cstddef>
#include <cstdint>

BRINE_NAMESPACE_BEGIN
namespace zip::detail {

// entry[k][b]: what byte b contributes to the register when k more bytes follow it. entry[0] is the
// classic byte-at-a-time table; the others let 16 bytes be folded in with independent look-ups.
struct crc32_slicing_tables {
    static constexpr int slices = 16;
    std::uint32_t entry[slices][256];
};

[[nodiscard]] constexpr crc32_slicing_tables make_crc32_slicing_tables() noexcept {
    crc32_slicing_tables t{};
    for (std::uint32_t b = 0; b < 256; ++b) {
        std::uint32_t r = b;
        for (int bit = 0; bit < 8; ++bit) r = (r >> 1) ^ ((r & 1u) ? crc32_polynomial : 0u);
        t.entry[0][b] = r;
    }
    for (int k = 1; k < crc32_slicing_tables::slices; ++k) {
        for (int b = 0; b < 256; ++b) {
            const std::uint32_t previous = t.entry[k - 1][b];
            t.entry[k][b] = (previous >> 8) ^ t.entry[0][previous & 0xFFu];
        }
    }
    return t;
}

inline constexpr crc32_slicing_tables crc32_tables = make_crc32_slicing_tables();

// One message byte into the raw register.
[[nodiscard]] BRINE_FORCE_INLINE constexpr std::uint32_t crc32_update_byte(std::uint32_t state,
                                                                            std::uint8_t byte) noexcept {
    return (state >> 8) ^ crc32_tables.entry[0][(state ^ byte) & 0xFFu];
}

// The bytes one at a time: for short inputs and the heads and tails of the accelerated paths.
[[nodiscard]] constexpr std::uint32_t crc32_update_bytewise(std::uint32_t state, const std::uint8_t* data,
                                                            std::size_t size) noexcept {
    for (std::size_t i = 0; i < size; ++i) state = crc32_update_byte(state, data[i]);
    return state;
}

// Adds the four bytes of `word` (little-endian, first byte lowest), followed by `after` further
// bytes, to the look-up sum.
[[nodiscard]] BRINE_FORCE_INLINE constexpr std::uint32_t crc32_slice_word(std::uint32_t word, int after) noexcept {
    const auto& t = crc32_tables.entry;
    return t[after + 3][word & 0xFFu] ^ t[after + 2][(word >> 8) & 0xFFu] ^ t[after + 1][(word >> 16) & 0xFFu] ^
           t[after][word >> 24];
}

// Advances the raw register over `size` bytes, sixteen at a time.
[[nodiscard]] constexpr std::uint32_t crc32_update_portable(std::uint32_t state, const std::uint8_t* data,
                                                            std::size_t size) noexcept {
    while (size >= 16) {
        // Only the first word depends on the register: summing the twelve other look-ups first
        // keeps them off the loop-carried dependency chain (about 1.5x faster than one long sum).
        const std::uint32_t independent = crc32_slice_word(load_le32(data + 4), 8) ^
                                          crc32_slice_word(load_le32(data + 8), 4) ^
                                          crc32_slice_word(load_le32(data + 12), 0);
        state = independent ^ crc32_slice_word(load_le32(data) ^ state, 12);
        data += 16;
        size -= 16;
    }
    return crc32_update_bytewise(state, data, size);
}

}  // namespace zip::detail
BRINE_NAMESPACE_END
