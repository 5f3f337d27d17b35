// SPDX-License-Identifier: MIT
//
// The DEFLATE bit buffer: up to 64 stream bits, first bit in the least significant position.
// The decoder keeps a copy in local variables on its hot loop (a member would be reloaded after
// every output byte, since byte stores may alias anything).
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>

#include <cstdint>

BRINE_NAMESPACE_BEGIN
namespace zip::detail {

struct bit_buffer {
    // Invariant: the `count` low bits are the next stream bits; every bit above them is either zero
    // or the stream bit of that position (a word refill loads a few bits ahead of what it counts),
    // so adding bytes with OR is always right.
    std::uint64_t bits = 0;
    unsigned count = 0;

    // The most a word refill guarantees: 56 bits, plus what was left of the partial byte.
    static constexpr unsigned word_refill_minimum = 56;

    [[nodiscard]] BRINE_FORCE_INLINE std::uint32_t peek(unsigned n) const noexcept {
        return static_cast<std::uint32_t>(bits & ((std::uint64_t{1} << n) - 1));
    }
    BRINE_FORCE_INLINE void consume(unsigned n) noexcept {
        bits >>= n;
        count -= n;
    }
    [[nodiscard]] BRINE_FORCE_INLINE std::uint32_t take(unsigned n) noexcept {
        const std::uint32_t value = peek(n);
        consume(n);
        return value;
    }

    // Requires 8 readable bytes at `in` and count < 64; takes whole bytes until at least 56 bits
    // are held and returns the new read position (at most 7 bytes further). Branch-free.
    [[nodiscard]] BRINE_FORCE_INLINE const std::uint8_t* refill_word(const std::uint8_t* in) noexcept {
        bits |= load_le64(in) << count;
        in += (63 - count) >> 3;
        count |= word_refill_minimum;
        return in;
    }
    // Requires count <= 56.
    BRINE_FORCE_INLINE void push_byte(std::uint8_t byte) noexcept {
        bits |= std::uint64_t{byte} << count;
        count += 8;
    }
    // Drops the lookahead above `count`, before the read position moves without the buffer.
    BRINE_FORCE_INLINE void clear_lookahead() noexcept {
        if (count < 64) bits &= (std::uint64_t{1} << count) - 1;
    }
};

}  // namespace zip::detail
BRINE_NAMESPACE_END
