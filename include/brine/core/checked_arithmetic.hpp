// SPDX-License-Identifier: MIT
//
// Unsigned 64-bit arithmetic that cannot wrap. Sizes read from a file (tensor shapes, strides,
// array dimensions, declared lengths) are attacker-chosen: a product that wraps would make a huge
// tensor look small, so every such computation either reports that it does not fit or saturates.
#pragma once

#include <brine/config.hpp>

#include <cstdint>
#include <limits>

BRINE_NAMESPACE_BEGIN

// a * b into `out`; false, with `out` unchanged, if the product does not fit in 64 bits.
[[nodiscard]] inline bool mul_fits(std::uint64_t a, std::uint64_t b, std::uint64_t& out) noexcept {
    if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return false;
    out = a * b;
    return true;
}

// a + b into `out`; false, with `out` unchanged, if the sum does not fit in 64 bits.
[[nodiscard]] inline bool add_fits(std::uint64_t a, std::uint64_t b, std::uint64_t& out) noexcept {
    if (b > std::numeric_limits<std::uint64_t>::max() - a) return false;
    out = a + b;
    return true;
}

// For estimates that only need to stay an upper bound (a budget): the largest value instead of a
// wrapped one.
[[nodiscard]] constexpr std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) noexcept {
    constexpr std::uint64_t most = std::numeric_limits<std::uint64_t>::max();
    return a > most - b ? most : a + b;
}
[[nodiscard]] constexpr std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) noexcept {
    constexpr std::uint64_t most = std::numeric_limits<std::uint64_t>::max();
    return a != 0 && b > most / a ? most : a * b;
}

BRINE_NAMESPACE_END
