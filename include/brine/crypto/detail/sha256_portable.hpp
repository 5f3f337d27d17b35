// SPDX-License-Identifier: MIT
//
// The SHA-256 block compression (FIPS 180-4 §6.2.2) in plain C++: the fallback on every CPU and,
// being constexpr, the engine behind compile-time digests. The accelerated paths must agree with
// it bit for bit; the tests hold all of them to an independent implementation as well.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

BRINE_NAMESPACE_BEGIN
namespace crypto::detail {

// FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64
// primes. Aligned so that the vector paths can load four at a time from one cache line.
alignas(64) inline constexpr std::uint32_t sha256_round_constants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// FIPS 180-4 §5.3.3: the initial hash value H(0).
inline constexpr std::array<std::uint32_t, 8> sha256_initial_state = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

// Compresses `block_count` consecutive 64-byte blocks into `state`. Every backend has this shape.
using sha256_compress_fn = void (*)(std::uint32_t* state, const std::uint8_t* blocks,
                                    std::size_t block_count) noexcept;

namespace sha256_portable {

// Compilers recognise this pattern as a single rotate instruction.
BRINE_FORCE_INLINE constexpr std::uint32_t rotr(std::uint32_t x, int n) noexcept {
    return (x >> n) | (x << (32 - n));
}
BRINE_FORCE_INLINE constexpr std::uint32_t big_sigma0(std::uint32_t x) noexcept {
    return rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22);
}
BRINE_FORCE_INLINE constexpr std::uint32_t big_sigma1(std::uint32_t x) noexcept {
    return rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25);
}
BRINE_FORCE_INLINE constexpr std::uint32_t small_sigma0(std::uint32_t x) noexcept {
    return rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3);
}
BRINE_FORCE_INLINE constexpr std::uint32_t small_sigma1(std::uint32_t x) noexcept {
    return rotr(x, 17) ^ rotr(x, 19) ^ (x >> 10);
}
// Ch and Maj in the forms with one operation fewer than the textbook definitions.
BRINE_FORCE_INLINE constexpr std::uint32_t choose(std::uint32_t e, std::uint32_t f, std::uint32_t g) noexcept {
    return g ^ (e & (f ^ g));
}
BRINE_FORCE_INLINE constexpr std::uint32_t majority(std::uint32_t a, std::uint32_t b, std::uint32_t c) noexcept {
    return (a & b) | (c & (a | b));
}

// One round. Instead of shifting eight variables every round, the callers rotate the roles of the
// arguments, so only the two words that really change (d and h) are written.
BRINE_FORCE_INLINE constexpr void one_round(std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t& d,
                                            std::uint32_t e, std::uint32_t f, std::uint32_t g, std::uint32_t& h,
                                            std::uint32_t constant_plus_word) noexcept {
    const std::uint32_t t1 = h + big_sigma1(e) + choose(e, f, g) + constant_plus_word;
    const std::uint32_t t2 = big_sigma0(a) + majority(a, b, c);
    d += t1;
    h = t1 + t2;
}

// The message schedule is kept as a ring of 16 words: W[t] replaces W[t-16] in place.
BRINE_FORCE_INLINE constexpr std::uint32_t next_word(std::uint32_t (&w)[16], int t) noexcept {
    w[t & 15] += small_sigma1(w[(t - 2) & 15]) + w[(t - 7) & 15] + small_sigma0(w[(t - 15) & 15]);
    return w[t & 15];
}

// Eight rounds starting at round `t`; after eight rounds the roles are back where they started.
template <bool Schedule>
BRINE_FORCE_INLINE constexpr void eight_rounds(std::uint32_t (&s)[8], std::uint32_t (&w)[16], int t) noexcept {
    const std::uint32_t* k = sha256_round_constants;
    auto word = [&w](int i) constexpr noexcept -> std::uint32_t {
        if constexpr (Schedule) return next_word(w, i);
        else return w[i & 15];
    };
    one_round(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], k[t + 0] + word(t + 0));
    one_round(s[7], s[0], s[1], s[2], s[3], s[4], s[5], s[6], k[t + 1] + word(t + 1));
    one_round(s[6], s[7], s[0], s[1], s[2], s[3], s[4], s[5], k[t + 2] + word(t + 2));
    one_round(s[5], s[6], s[7], s[0], s[1], s[2], s[3], s[4], k[t + 3] + word(t + 3));
    one_round(s[4], s[5], s[6], s[7], s[0], s[1], s[2], s[3], k[t + 4] + word(t + 4));
    one_round(s[3], s[4], s[5], s[6], s[7], s[0], s[1], s[2], k[t + 5] + word(t + 5));
    one_round(s[2], s[3], s[4], s[5], s[6], s[7], s[0], s[1], k[t + 6] + word(t + 6));
    one_round(s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[0], k[t + 7] + word(t + 7));
}

constexpr void compress(std::uint32_t* state, const std::uint8_t* blocks, std::size_t block_count) noexcept {
    for (; block_count != 0; --block_count, blocks += 64) {
        std::uint32_t w[16] = {};
        for (int i = 0; i < 16; ++i) w[i] = load_be32(blocks + 4 * i);
        std::uint32_t s[8] = {state[0], state[1], state[2], state[3],
                              state[4], state[5], state[6], state[7]};
        // Written out in full so that every schedule index is a compile-time constant and the
        // ring and the working variables live in registers.
        eight_rounds<false>(s, w, 0);
        eight_rounds<false>(s, w, 8);
        eight_rounds<true>(s, w, 16);
        eight_rounds<true>(s, w, 24);
        eight_rounds<true>(s, w, 32);
        eight_rounds<true>(s, w, 40);
        eight_rounds<true>(s, w, 48);
        eight_rounds<true>(s, w, 56);
        for (int i = 0; i < 8; ++i) state[i] += s[i];
    }
}

}  // namespace sha256_portable
}  // namespace crypto::detail
BRINE_NAMESPACE_END
