// SPDX-License-Identifier: MIT
//
// SHA-256 block compression with the Intel SHA extensions (SHA-NI). Compiled for those
// instructions per function, so the rest of the program keeps its baseline; called only after
// brine::cpu() has reported sha_ni, sse4.1 and ssse3.
//
// BRINE_DETAIL_HAS_SHA256_X86 (internal) is 1 when this path exists in the build.
#pragma once

#include <brine/config.hpp>
#include <brine/crypto/detail/sha256_portable.hpp>

#include <cstddef>
#include <cstdint>

#if BRINE_ARCH_X86 && BRINE_HAS_TARGET_ATTRIBUTE
#define BRINE_DETAIL_HAS_SHA256_X86 1
#include <immintrin.h>
#else
#define BRINE_DETAIL_HAS_SHA256_X86 0
#endif

#if BRINE_DETAIL_HAS_SHA256_X86
BRINE_NAMESPACE_BEGIN
namespace crypto::detail::sha256_x86 {

// SHA256RNDS2 keeps the eight working variables in two registers as {A,B,E,F} and {C,D,G,H}
// (listed from the most significant lane down), and does two rounds per instruction, taking the
// two constant+word sums from the low half of its implicit third operand.

// Rounds t..t+3 for the four schedule words in `words`.
BRINE_TARGET("sha,sse4.1,ssse3")
BRINE_FORCE_INLINE void four_rounds(__m128i& abef, __m128i& cdgh, __m128i words, int t) noexcept {
    const __m128i constants =
        _mm_load_si128(reinterpret_cast<const __m128i*>(sha256_round_constants + t));
    __m128i sums = _mm_add_epi32(words, constants);
    cdgh = _mm_sha256rnds2_epu32(cdgh, abef, sums);
    sums = _mm_shuffle_epi32(sums, 0x0E);  // the upper two sums, for the second pair of rounds
    abef = _mm_sha256rnds2_epu32(abef, cdgh, sums);
}

// The next four schedule words W[t..t+3] from the sixteen before them (w0 holds W[t-16..t-13]):
// MSG1 adds σ0(W[t-15]) to W[t-16], the W[t-7] terms straddle w2 and w3, and MSG2 adds σ1 of
// W[t-2], which for the last two lanes are words it computes itself.
BRINE_TARGET("sha,sse4.1,ssse3")
BRINE_FORCE_INLINE __m128i next_words(__m128i w0, __m128i w1, __m128i w2, __m128i w3) noexcept {
    const __m128i partial = _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8(w3, w2, 4));
    return _mm_sha256msg2_epu32(partial, w3);
}

// Big-endian message words into little-endian lanes.
BRINE_TARGET("sha,sse4.1,ssse3")
BRINE_FORCE_INLINE __m128i load_words(const std::uint8_t* p) noexcept {
    const __m128i byte_swap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
    return _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), byte_swap);
}

BRINE_TARGET("sha,sse4.1,ssse3")
inline void compress(std::uint32_t* state, const std::uint8_t* blocks, std::size_t block_count) noexcept {
    // state[0..7] = A..H  →  {A,B,E,F} and {C,D,G,H}.
    const __m128i dcba = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state));
    const __m128i hgfe = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4));
    const __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    const __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
    __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);

    for (; block_count != 0; --block_count, blocks += 64) {
        const __m128i abef_before = abef;
        const __m128i cdgh_before = cdgh;

        __m128i w0 = load_words(blocks);
        __m128i w1 = load_words(blocks + 16);
        __m128i w2 = load_words(blocks + 32);
        __m128i w3 = load_words(blocks + 48);
        four_rounds(abef, cdgh, w0, 0);
        four_rounds(abef, cdgh, w1, 4);
        four_rounds(abef, cdgh, w2, 8);
        four_rounds(abef, cdgh, w3, 12);
        for (int t = 16; t < 64; t += 16) {
            w0 = next_words(w0, w1, w2, w3);
            four_rounds(abef, cdgh, w0, t);
            w1 = next_words(w1, w2, w3, w0);
            four_rounds(abef, cdgh, w1, t + 4);
            w2 = next_words(w2, w3, w0, w1);
            four_rounds(abef, cdgh, w2, t + 8);
            w3 = next_words(w3, w0, w1, w2);
            four_rounds(abef, cdgh, w3, t + 12);
        }

        abef = _mm_add_epi32(abef, abef_before);
        cdgh = _mm_add_epi32(cdgh, cdgh_before);
    }

    // {A,B,E,F} and {C,D,G,H}  →  state[0..7] = A..H.
    const __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    const __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(state), _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), _mm_alignr_epi8(dchg, feba, 8));
}

}  // namespace crypto::detail::sha256_x86
BRINE_NAMESPACE_END
#endif
