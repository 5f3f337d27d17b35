// SPDX-License-Identifier: MIT
//
// LZ77 match copies for the decoder's fast loop: whole words at a time, allowed to write a little
// past the match (the decoder keeps that much room), never reading a byte not yet written.
#pragma once

#include <brine/config.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>

BRINE_NAMESPACE_BEGIN
namespace zip::detail {

// How far past the end of a match copy_match_fast may write.
inline constexpr std::size_t match_copy_overrun = 15;

BRINE_FORCE_INLINE void copy_word(std::uint8_t* to, const std::uint8_t* from) noexcept {
    std::uint64_t word;
    std::memcpy(&word, from, sizeof word);
    std::memcpy(to, &word, sizeof word);
}

// Appends `length` (>= 1) bytes at `out`, copied from `distance` (>= 1) bytes back; the ranges may
// overlap, as LZ77 means them to. Requires [out - distance, out) to be output and
// [out, out + length + match_copy_overrun) to be writable.
BRINE_FORCE_INLINE void copy_match_fast(std::uint8_t* out, std::size_t distance, std::size_t length) noexcept {
    const std::uint8_t* from = out - distance;
    std::uint8_t* const stop = out + length;
    if (BRINE_LIKELY(distance >= 8)) {
        // Each word read lies entirely before the word it is written to, so it is already output.
        do {
            copy_word(out, from);
            copy_word(out + 8, from + 8);
            out += 16;
            from += 16;
        } while (out < stop);
    } else if (distance == 1) {
        std::uint64_t run = 0x0101010101010101ull * *from;
        do {
            std::memcpy(out, &run, sizeof run);
            std::memcpy(out + 8, &run, sizeof run);
            out += 16;
        } while (out < stop);
    } else {
        // Periods 2..7: lay the first 8 bytes down one by one, then the pattern repeats every
        // `distance` bytes, so the longest whole number of periods fitting in a word can be copied
        // a word at a time from that far back.
        for (int i = 0; i < 8; ++i) out[i] = from[i];
        const std::size_t step = 8 - 8 % distance;
        std::uint8_t* at = out + 8;
        while (at < stop) {
            copy_word(at, at - step);
            at += step;
        }
    }
}

}  // namespace zip::detail
BRINE_NAMESPACE_END
