// SPDX-License-Identifier: MIT
//
// The CRC-32 polynomial of zip, gzip and PNG, and the compile-time GF(2) arithmetic from which the
// lookup tables and the carry-less-multiply constants are derived, so that no magic number in the
// CRC-32 code has to be taken on trust.
//
// Bit order: CRC-32 is "reflected". A message bit stream takes each byte least significant bit
// first, and the first bit is the highest-degree coefficient. A 32-bit CRC register therefore
// holds the coefficient of x^(31-i) in bit i; we call that layout reflected-32.
#pragma once

#include <brine/config.hpp>

#include <cstddef>
#include <cstdint>

BRINE_NAMESPACE_BEGIN
namespace zip::detail {

// P(x) = x^32 + x^26 + x^23 + x^22 + x^16 + x^12 + x^11 + x^10 + x^8 + x^7 + x^5 + x^4 + x^2 + x + 1,
// its terms below x^32 in reflected-32 layout.
inline constexpr std::uint32_t crc32_polynomial = 0xEDB88320u;

// Every backend advances the raw CRC register (the value before zip's final inversion): it returns
// the register after `size` more message bytes. The public API applies the inversions.
using crc32_update_fn = std::uint32_t (*)(std::uint32_t state, const std::uint8_t* data,
                                          std::size_t size) noexcept;

// x^n mod P, reflected-32. Multiplying by x moves every coefficient one bit down; the coefficient
// that reaches x^32 is replaced by the low terms of P.
[[nodiscard]] constexpr std::uint32_t crc32_x_pow_mod(std::size_t n) noexcept {
    std::uint32_t r = 0x80000000u;  // x^0
    for (std::size_t i = 0; i < n; ++i) r = (r >> 1) ^ ((r & 1u) ? crc32_polynomial : 0u);
    return r;
}

// floor(x^64 / P), a polynomial of degree 32, in reflected-33 layout (coefficient of x^(32-j) in
// bit j): the Barrett constant. Multiplying x^0 by x 64 times and reducing whenever a term reaches
// x^32 subtracts P * x^(64-t) at step t, so the steps that reduce are the quotient's terms.
[[nodiscard]] constexpr std::uint64_t crc32_x64_quotient() noexcept {
    std::uint32_t r = 1u;  // x^31: no step before the 32nd reaches x^32
    std::uint64_t quotient = 0;
    for (unsigned t = 32; t <= 64; ++t) {
        if (r & 1u) quotient |= std::uint64_t{1} << (t - 32);  // the term x^(64-t)
        r = (r >> 1) ^ ((r & 1u) ? crc32_polynomial : 0u);
    }
    return quotient;
}

// A polynomial of degree < 32 given in reflected-32 layout, re-expressed in reflected-33 layout
// (coefficient of x^(32-j) in bit j): the form in which carry-less multiplication by a value in
// reflected-32 layout yields the product in reflected-64 layout (x^(63-k) in bit k).
[[nodiscard]] constexpr std::uint64_t crc32_reflected33(std::uint32_t reflected32) noexcept {
    return std::uint64_t{reflected32} << 1;
}

// P itself in reflected-33 layout (its x^32 term lands in bit 0).
inline constexpr std::uint64_t crc32_polynomial_reflected33 = crc32_reflected33(crc32_polynomial) | 1u;

}  // namespace zip::detail
BRINE_NAMESPACE_END
