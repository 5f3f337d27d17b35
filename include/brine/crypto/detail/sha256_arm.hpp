// SPDX-License-Identifier: MIT
//
// SHA-256 block compression with the ARMv8 cryptography extension (SHA256H, SHA256H2, SHA256SU0,
// SHA256SU1). Called only after brine::cpu() has reported arm_sha2.
//
// BRINE_DETAIL_HAS_SHA256_ARM (internal) is 1 when this path exists in the build: when the whole
// translation unit targets the extension (-march=armv8-a+crypto or later; the default on Apple
// arm64), or with GCC, whose <arm_neon.h> lets a single function enable it. Clang's <arm_neon.h>
// (at least through version 14) declares these intrinsics only when the translation unit enables
// the extension, so with Clang the path needs that flag.
#pragma once

#include <brine/config.hpp>
#include <brine/crypto/detail/sha256_portable.hpp>

#include <cstddef>
#include <cstdint>

#if BRINE_ARCH_ARM64 && (defined(__ARM_FEATURE_SHA2) || defined(__ARM_FEATURE_CRYPTO))
#define BRINE_DETAIL_HAS_SHA256_ARM 1
#define BRINE_DETAIL_SHA256_ARM_TARGET
#elif BRINE_ARCH_ARM64 && defined(__GNUC__) && !defined(__clang__)
#define BRINE_DETAIL_HAS_SHA256_ARM 1
#define BRINE_DETAIL_SHA256_ARM_TARGET BRINE_TARGET("+crypto")
#else
#define BRINE_DETAIL_HAS_SHA256_ARM 0
#endif

#if BRINE_DETAIL_HAS_SHA256_ARM
#include <arm_neon.h>

BRINE_NAMESPACE_BEGIN
namespace crypto::detail::sha256_arm {

// Four rounds t..t+3: SHA256H advances {A,B,C,D} and SHA256H2 {E,F,G,H}; both need the
// {A,B,C,D} from before the rounds.
BRINE_DETAIL_SHA256_ARM_TARGET
BRINE_FORCE_INLINE void four_rounds(uint32x4_t& abcd, uint32x4_t& efgh, uint32x4_t words, int t) noexcept {
    const uint32x4_t sums = vaddq_u32(words, vld1q_u32(sha256_round_constants + t));
    const uint32x4_t abcd_before = abcd;
    abcd = vsha256hq_u32(abcd, efgh, sums);
    efgh = vsha256h2q_u32(efgh, abcd_before, sums);
}

// W[t..t+3] from the sixteen words before them (w0 holds W[t-16..t-13]).
BRINE_DETAIL_SHA256_ARM_TARGET
BRINE_FORCE_INLINE uint32x4_t next_words(uint32x4_t w0, uint32x4_t w1, uint32x4_t w2, uint32x4_t w3) noexcept {
    return vsha256su1q_u32(vsha256su0q_u32(w0, w1), w2, w3);
}

// Big-endian message words into native lanes.
BRINE_DETAIL_SHA256_ARM_TARGET
BRINE_FORCE_INLINE uint32x4_t load_words(const std::uint8_t* p) noexcept {
    return vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p)));
}

BRINE_DETAIL_SHA256_ARM_TARGET
inline void compress(std::uint32_t* state, const std::uint8_t* blocks, std::size_t block_count) noexcept {
    uint32x4_t abcd = vld1q_u32(state);
    uint32x4_t efgh = vld1q_u32(state + 4);

    for (; block_count != 0; --block_count, blocks += 64) {
        const uint32x4_t abcd_before = abcd;
        const uint32x4_t efgh_before = efgh;

        uint32x4_t w0 = load_words(blocks);
        uint32x4_t w1 = load_words(blocks + 16);
        uint32x4_t w2 = load_words(blocks + 32);
        uint32x4_t w3 = load_words(blocks + 48);
        four_rounds(abcd, efgh, w0, 0);
        four_rounds(abcd, efgh, w1, 4);
        four_rounds(abcd, efgh, w2, 8);
        four_rounds(abcd, efgh, w3, 12);
        for (int t = 16; t < 64; t += 16) {
            w0 = next_words(w0, w1, w2, w3);
            four_rounds(abcd, efgh, w0, t);
            w1 = next_words(w1, w2, w3, w0);
            four_rounds(abcd, efgh, w1, t + 4);
            w2 = next_words(w2, w3, w0, w1);
            four_rounds(abcd, efgh, w2, t + 8);
            w3 = next_words(w3, w0, w1, w2);
            four_rounds(abcd, efgh, w3, t + 12);
        }

        abcd = vaddq_u32(abcd, abcd_before);
        efgh = vaddq_u32(efgh, efgh_before);
    }

    vst1q_u32(state, abcd);
    vst1q_u32(state + 4, efgh);
}

}  // namespace crypto::detail::sha256_arm
BRINE_NAMESPACE_END
#undef BRINE_DETAIL_SHA256_ARM_TARGET
#endif
