// SPDX-License-Identifier: MIT
//
// CRC-32 on x86 with PCLMULQDQ (carry-less multiplication): the message is folded 64 bytes at a
// time in four independent 128-bit lanes, the lanes are folded into one, and a Barrett reduction
// turns the last 128 bits into the 32-bit register. Compiled for PCLMULQDQ and SSE4.1 per function,
// so the rest of the program keeps its baseline; reached only through crc32_pclmul_if_supported().
//
// The algebra, in the layouts of crc32_polynomial.hpp (reflected-n: bit i holds the coefficient of
// x^(n-1-i)). Sixteen message bytes loaded little-endian form a reflected-128 value X = H*x^64 + L,
// H in the low 64-bit lane. Carry-less multiplication of a reflected-64 lane by a constant in
// reflected-33 layout gives the product times x^32 in reflected-128 layout, so folding a block
// forward by s bits multiplies H by (x^(s+64-32) mod P) and L by (x^(s-32) mod P): the result is
// congruent to X*x^s, has degree < 128, and is simply xored onto the block s bits later. Every
// constant below is computed at compile time from these definitions.
#pragma once

#include <brine/config.hpp>
#include <brine/core/cpu.hpp>
#include <brine/zip/detail/crc32_polynomial.hpp>
#include <brine/zip/detail/crc32_portable.hpp>

#include <cstddef>
#include <cstdint>

#if BRINE_ARCH_X86 && BRINE_HAS_TARGET_ATTRIBUTE
#include <immintrin.h>
#include <smmintrin.h>
#include <wmmintrin.h>
#endif

BRINE_NAMESPACE_BEGIN
namespace zip::detail {

#if BRINE_ARCH_X86 && BRINE_HAS_TARGET_ATTRIBUTE

// The multiplier, reflected-33, that carries a 64-bit half `shift` bits further along the message.
[[nodiscard]] constexpr std::uint64_t crc32_pclmul_shift_constant(std::size_t shift) noexcept {
    return crc32_reflected33(crc32_x_pow_mod(shift - 32));
}

// Packs two 64-bit constants into one register: `low_lane` multiplies H, `high_lane` multiplies L.
BRINE_TARGET("pclmul,sse4.1")
inline __m128i crc32_pclmul_pair(std::uint64_t low_lane, std::uint64_t high_lane) noexcept {
    return _mm_set_epi64x(static_cast<long long>(high_lane), static_cast<long long>(low_lane));
}

BRINE_TARGET("pclmul,sse4.1")
inline __m128i crc32_pclmul_load(const std::uint8_t* data) noexcept {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(data));
}

// block * x^s + next, where `shift` holds the constants for a fold by s bits.
BRINE_TARGET("pclmul,sse4.1")
inline __m128i crc32_pclmul_fold(__m128i block, __m128i shift, __m128i next) noexcept {
    const __m128i high_half = _mm_clmulepi64_si128(block, shift, 0x00);
    const __m128i low_half = _mm_clmulepi64_si128(block, shift, 0x11);
    return _mm_xor_si128(_mm_xor_si128(high_half, low_half), next);
}

// The raw CRC register for message polynomial X (reflected-128): X*x^32 mod P.
//
// X*x^32 is split into four 32-bit pieces at degree offsets 128, 96, 64 and 32. A 32-bit piece in
// reflected-32 layout times (x^offset mod P) in reflected-33 layout is a congruent product of degree
// < 63 in reflected-64 layout; the piece at offset 32 is already one. Their sum Z (degree < 64) is
// then reduced modulo P by Barrett's method with mu = floor(x^64 / P): the quotient is the upper 32
// bits of (Z's upper 32 bits * mu), and the remainder is the lower 32 bits of Z + quotient * P.
BRINE_TARGET("pclmul,sse4.1")
inline std::uint32_t crc32_pclmul_reduce(__m128i x) noexcept {
    constexpr std::uint64_t offset_128 = crc32_reflected33(crc32_x_pow_mod(128));
    constexpr std::uint64_t offset_96 = crc32_reflected33(crc32_x_pow_mod(96));
    constexpr std::uint64_t offset_64 = crc32_reflected33(crc32_x_pow_mod(64));
    constexpr std::uint64_t mu = crc32_x64_quotient();
    const __m128i low32 = _mm_set_epi64x(0xFFFFFFFFll, 0xFFFFFFFFll);
    const __m128i offsets_128_64 = crc32_pclmul_pair(offset_128, offset_64);
    const __m128i offsets_96 = crc32_pclmul_pair(offset_96, 0);
    const __m128i barrett = crc32_pclmul_pair(mu, crc32_polynomial_reflected33);

    // Lanes of x: H = [h1 | h0], L = [l1 | l0]; the low 32 bits of a lane hold its upper terms.
    const __m128i h1_l1 = _mm_and_si128(x, low32);  // offsets 128 and 64
    const __m128i h0_l0 = _mm_srli_epi64(x, 32);    // offsets 96 and 32
    __m128i z = _mm_xor_si128(_mm_clmulepi64_si128(h1_l1, offsets_128_64, 0x00),
                              _mm_clmulepi64_si128(h1_l1, offsets_128_64, 0x11));
    z = _mm_xor_si128(z, _mm_clmulepi64_si128(h0_l0, offsets_96, 0x00));
    z = _mm_xor_si128(z, _mm_srli_si128(h0_l0, 8));

    const __m128i product = _mm_clmulepi64_si128(_mm_and_si128(z, low32), barrett, 0x00);
    const __m128i quotient = _mm_and_si128(product, low32);
    const __m128i remainder = _mm_xor_si128(z, _mm_clmulepi64_si128(quotient, barrett, 0x10));
    return static_cast<std::uint32_t>(_mm_extract_epi32(remainder, 1));
}

// Advances the raw register over `size` bytes. Inputs shorter than the 64-byte main step, and the
// final 0..15 bytes, go through the tables: folding cannot start or end on a partial block.
BRINE_TARGET("pclmul,sse4.1")
inline std::uint32_t crc32_update_pclmul(std::uint32_t state, const std::uint8_t* data, std::size_t size) noexcept {
    if (size < 64) return crc32_update_portable(state, data, size);

    constexpr std::uint64_t by_512_high = crc32_pclmul_shift_constant(512 + 64);
    constexpr std::uint64_t by_512_low = crc32_pclmul_shift_constant(512);
    constexpr std::uint64_t by_128_high = crc32_pclmul_shift_constant(128 + 64);
    constexpr std::uint64_t by_128_low = crc32_pclmul_shift_constant(128);
    const __m128i by_512_bits = crc32_pclmul_pair(by_512_high, by_512_low);
    const __m128i by_128_bits = crc32_pclmul_pair(by_128_high, by_128_low);

    // Continuing from register R is the same as starting from zero with R added onto the first
    // 32 message bits.
    __m128i lane0 = _mm_xor_si128(crc32_pclmul_load(data), _mm_cvtsi32_si128(static_cast<int>(state)));
    __m128i lane1 = crc32_pclmul_load(data + 16);
    __m128i lane2 = crc32_pclmul_load(data + 32);
    __m128i lane3 = crc32_pclmul_load(data + 48);
    data += 64;
    size -= 64;

    while (size >= 64) {
        lane0 = crc32_pclmul_fold(lane0, by_512_bits, crc32_pclmul_load(data));
        lane1 = crc32_pclmul_fold(lane1, by_512_bits, crc32_pclmul_load(data + 16));
        lane2 = crc32_pclmul_fold(lane2, by_512_bits, crc32_pclmul_load(data + 32));
        lane3 = crc32_pclmul_fold(lane3, by_512_bits, crc32_pclmul_load(data + 48));
        data += 64;
        size -= 64;
    }

    __m128i folded = crc32_pclmul_fold(lane0, by_128_bits, lane1);
    folded = crc32_pclmul_fold(folded, by_128_bits, lane2);
    folded = crc32_pclmul_fold(folded, by_128_bits, lane3);
    while (size >= 16) {
        folded = crc32_pclmul_fold(folded, by_128_bits, crc32_pclmul_load(data));
        data += 16;
        size -= 16;
    }
    return crc32_update_portable(crc32_pclmul_reduce(folded), data, size);
}

// The same folding four 128-bit lanes wide per register (VPCLMULQDQ on 512-bit registers), four
// registers at a time: 256 bytes per step, each lane folded 2048 bits forward with the same
// algebra. After the loop, the registers fold into one (each 512 bits forward onto the next),
// whose four lanes are exactly the four lanes the 128-bit code holds after its own loop.
BRINE_TARGET("avx512f,vpclmulqdq,pclmul,sse4.1")
inline __m512i crc32_vpclmul_fold(__m512i block, __m512i shift, __m512i next) noexcept {
    const __m512i high_half = _mm512_clmulepi64_epi128(block, shift, 0x00);
    const __m512i low_half = _mm512_clmulepi64_epi128(block, shift, 0x11);
    return _mm512_xor_si512(_mm512_xor_si512(high_half, low_half), next);
}

// crc32_pclmul_pair in each of the four lanes. (Explicit lanes rather than a broadcast: GCC 12's
// broadcast, insert and extract intrinsics read an undefined vector and warn.)
BRINE_TARGET("avx512f,vpclmulqdq,pclmul,sse4.1")
inline __m512i crc32_vpclmul_pair(std::uint64_t low_lane, std::uint64_t high_lane) noexcept {
    const auto h = static_cast<long long>(high_lane);
    const auto l = static_cast<long long>(low_lane);
    return _mm512_set_epi64(h, l, h, l, h, l, h, l);
}

BRINE_TARGET("avx512f,vpclmulqdq,pclmul,sse4.1")
inline __m512i crc32_vpclmul_load(const std::uint8_t* data) noexcept {
    return _mm512_loadu_si512(data);
}

BRINE_TARGET("avx512f,vpclmulqdq,pclmul,sse4.1")
inline std::uint32_t crc32_update_vpclmul(std::uint32_t state, const std::uint8_t* data, std::size_t size) noexcept {
    if (size < 512) return crc32_update_pclmul(state, data, size);

    constexpr std::uint64_t by_2048_high = crc32_pclmul_shift_constant(2048 + 64);
    constexpr std::uint64_t by_2048_low = crc32_pclmul_shift_constant(2048);
    constexpr std::uint64_t by_512_high = crc32_pclmul_shift_constant(512 + 64);
    constexpr std::uint64_t by_512_low = crc32_pclmul_shift_constant(512);
    constexpr std::uint64_t by_128_high = crc32_pclmul_shift_constant(128 + 64);
    constexpr std::uint64_t by_128_low = crc32_pclmul_shift_constant(128);
    const __m512i by_2048_bits = crc32_vpclmul_pair(by_2048_high, by_2048_low);
    const __m512i by_512_bits = crc32_vpclmul_pair(by_512_high, by_512_low);
    const __m128i by_128_bits = crc32_pclmul_pair(by_128_high, by_128_low);

    // Continuing from register R: R is added onto the first 32 message bits (as above).
    const __m512i start = _mm512_set_epi64(0, 0, 0, 0, 0, 0, 0, static_cast<long long>(state));
    __m512i z0 = _mm512_xor_si512(crc32_vpclmul_load(data), start);
    __m512i z1 = crc32_vpclmul_load(data + 64);
    __m512i z2 = crc32_vpclmul_load(data + 128);
    __m512i z3 = crc32_vpclmul_load(data + 192);
    data += 256;
    size -= 256;
    while (size >= 256) {
        z0 = crc32_vpclmul_fold(z0, by_2048_bits, crc32_vpclmul_load(data));
        z1 = crc32_vpclmul_fold(z1, by_2048_bits, crc32_vpclmul_load(data + 64));
        z2 = crc32_vpclmul_fold(z2, by_2048_bits, crc32_vpclmul_load(data + 128));
        z3 = crc32_vpclmul_fold(z3, by_2048_bits, crc32_vpclmul_load(data + 192));
        data += 256;
        size -= 256;
    }
    __m512i z = crc32_vpclmul_fold(z0, by_512_bits, z1);
    z = crc32_vpclmul_fold(z, by_512_bits, z2);
    z = crc32_vpclmul_fold(z, by_512_bits, z3);
    while (size >= 64) {
        z = crc32_vpclmul_fold(z, by_512_bits, crc32_vpclmul_load(data));
        data += 64;
        size -= 64;
    }
    alignas(64) std::uint8_t lanes[64];
    _mm512_store_si512(lanes, z);
    __m128i folded = crc32_pclmul_fold(crc32_pclmul_load(lanes), by_128_bits, crc32_pclmul_load(lanes + 16));
    folded = crc32_pclmul_fold(folded, by_128_bits, crc32_pclmul_load(lanes + 32));
    folded = crc32_pclmul_fold(folded, by_128_bits, crc32_pclmul_load(lanes + 48));
    while (size >= 16) {
        folded = crc32_pclmul_fold(folded, by_128_bits, crc32_pclmul_load(data));
        data += 16;
        size -= 16;
    }
    return crc32_update_portable(crc32_pclmul_reduce(folded), data, size);
}

#endif  // BRINE_ARCH_X86 && BRINE_HAS_TARGET_ATTRIBUTE

// The AVX-512 VPCLMULQDQ implementation when this build has it and the CPU can run it.
[[nodiscard]] inline crc32_update_fn crc32_vpclmul_if_supported() noexcept {
#if BRINE_ARCH_X86 && BRINE_HAS_TARGET_ATTRIBUTE
    const cpu_features& features = cpu();
    if (features.avx512_vpclmul && features.pclmul && features.sse41) return &crc32_update_vpclmul;
#endif
    return nullptr;
}

// The PCLMULQDQ implementation when this build has it and the CPU can run it, else nullptr.
[[nodiscard]] inline crc32_update_fn crc32_pclmul_if_supported() noexcept {
#if BRINE_ARCH_X86 && BRINE_HAS_TARGET_ATTRIBUTE
    const cpu_features& features = cpu();
    if (features.pclmul && features.sse41) return &crc32_update_pclmul;
#endif
    return nullptr;
}

}  // namespace zip::detail
BRINE_NAMESPACE_END
