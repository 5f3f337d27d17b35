// SPDX-License-Identifier: MIT
//
// The ChaCha20 block function and keystream (RFC 8439 §2.3–2.4: 256-bit key, 96-bit nonce,
// 32-bit block counter). brine uses it as a deterministic generator, not as a cipher: the keyed
// permutations and weight scrubbing of Moving Target Defense draw their randomness from it, so
// what it produces is part of the sealed-file format and must never change.
//
// Portable C++ (with GCC/Clang vector extensions, four blocks at a time in SIMD registers where
// they map onto SSE2 or NEON). Whole blocks are written straight into the caller's buffer; only a
// partial block at the end of a request goes through the internal buffer.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/crypto/detail/secure_wipe.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

BRINE_NAMESPACE_BEGIN
namespace crypto {

namespace detail {

[[nodiscard]] BRINE_FORCE_INLINE std::uint32_t chacha_rotl(std::uint32_t x, int n) noexcept {
    return (x << n) | (x >> (32 - n));
}

// The 16-word input state of RFC 8439 §2.3: four constants ("expand 32-byte k" read as
// little-endian words), eight key words, the block counter, three nonce words.
[[nodiscard]] inline std::array<std::uint32_t, 16> chacha20_state(const std::uint8_t* key, const std::uint8_t* nonce,
                                                                  std::uint32_t counter) noexcept {
    std::array<std::uint32_t, 16> state{};
    state[0] = 0x61707865u;
    state[1] = 0x3320646eu;
    state[2] = 0x79622d32u;
    state[3] = 0x6b206574u;
    for (std::size_t i = 0; i < 8; ++i) state[4 + i] = load_le32(key + 4 * i);
    state[12] = counter;
    for (std::size_t i = 0; i < 3; ++i) state[13 + i] = load_le32(nonce + 4 * i);
    return state;
}

// The 20 rounds (ten column + diagonal double rounds) on sixteen words, for one word type: a
// 32-bit integer (one block) or a vector of them (one block per lane). Sixteen named variables
// rather than an array, so that compilers keep them all in registers.
template <class Word, class Rotate>
BRINE_FORCE_INLINE void chacha20_rounds(Word (&x)[16], Rotate rotate) noexcept {
    Word x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3], x4 = x[4], x5 = x[5], x6 = x[6], x7 = x[7];
    Word x8 = x[8], x9 = x[9], x10 = x[10], x11 = x[11], x12 = x[12], x13 = x[13], x14 = x[14], x15 = x[15];
    auto quarter = [rotate](Word& a, Word& b, Word& c, Word& d) noexcept {
        a += b; d = rotate(d ^ a, 16);
        c += d; b = rotate(b ^ c, 12);
        a += b; d = rotate(d ^ a, 8);
        c += d; b = rotate(b ^ c, 7);
    };
    for (int round = 0; round < 10; ++round) {
        quarter(x0, x4, x8, x12);
        quarter(x1, x5, x9, x13);
        quarter(x2, x6, x10, x14);
        quarter(x3, x7, x11, x15);
        quarter(x0, x5, x10, x15);
        quarter(x1, x6, x11, x12);
        quarter(x2, x7, x8, x13);
        quarter(x3, x4, x9, x14);
    }
    x[0] = x0; x[1] = x1; x[2] = x2; x[3] = x3; x[4] = x4; x[5] = x5; x[6] = x6; x[7] = x7;
    x[8] = x8; x[9] = x9; x[10] = x10; x[11] = x11; x[12] = x12; x[13] = x13; x[14] = x14; x[15] = x15;
}

// One block: the rounds over a copy of `state`, the input added back, serialised little-endian
// into out[0..64).
inline void chacha20_block(const std::array<std::uint32_t, 16>& state, std::uint8_t* out) noexcept {
    std::uint32_t x[16];
    for (std::size_t i = 0; i < 16; ++i) x[i] = state[i];
    chacha20_rounds(x, [](std::uint32_t v, int n) noexcept { return chacha_rotl(v, n); });
    for (std::size_t i = 0; i < 16; ++i) store_le32(out + 4 * i, x[i] + state[i]);
}

// Four blocks at once in SIMD registers where GCC/Clang vector extensions map onto 128-bit
// registers (SSE2, NEON): lane l of every word is block state[12] + l. Elsewhere blocks are
// generated one at a time; the output is the same.
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__SSE2__) || defined(__ARM_NEON))
#define BRINE_DETAIL_CHACHA20_FOUR_BLOCKS 1

typedef std::uint32_t chacha_u32x4 __attribute__((vector_size(16)));

// out[0..256): blocks state[12] .. state[12] + 3 (the counter wraps modulo 2^32).
inline void chacha20_four_blocks(const std::array<std::uint32_t, 16>& state, std::uint8_t* out) noexcept {
    chacha_u32x4 input[16];
    for (std::size_t i = 0; i < 16; ++i) input[i] = chacha_u32x4{state[i], state[i], state[i], state[i]};
    input[12] += chacha_u32x4{0, 1, 2, 3};
    chacha_u32x4 x[16];
    for (std::size_t i = 0; i < 16; ++i) x[i] = input[i];
    chacha20_rounds(x, [](chacha_u32x4 v, int n) noexcept { return (v << n) | (v >> (32 - n)); });
    for (std::size_t i = 0; i < 16; ++i) {
        const chacha_u32x4 word = x[i] + input[i];
        for (std::size_t l = 0; l < 4; ++l) store_le32(out + 64 * l + 4 * i, word[l]);
    }
}
#else
#define BRINE_DETAIL_CHACHA20_FOUR_BLOCKS 0
#endif

}  // namespace detail

// The ChaCha20 keystream from (key, nonce, initial counter). keystream() hands out consecutive
// bytes across calls in any split: the bytes of block `counter`, then `counter + 1`, and so on.
//
// The block counter is 32 bits, as in RFC 8439: after 2^32 blocks (256 GiB) it wraps to 0 and
// the keystream repeats. Nothing in brine comes near that with one (key, nonce).
//
// The destructor erases the key-bearing state and the buffered keystream. The per-block working
// copies are left to be overwritten on the stack: erasing them through volatile stores would
// halve the speed.
class chacha20 {
public:
    static constexpr std::size_t key_size = 32;
    static constexpr std::size_t nonce_size = 12;
    static constexpr std::size_t block_size = 64;
    using key_type = std::array<std::uint8_t, key_size>;
    using nonce_type = std::array<std::uint8_t, nonce_size>;

    chacha20(const key_type& key, const nonce_type& nonce, std::uint32_t counter = 0) noexcept
        : state_(detail::chacha20_state(key.data(), nonce.data(), counter)) {}

    chacha20(const chacha20&) noexcept = default;
    chacha20& operator=(const chacha20&) noexcept = default;
    ~chacha20() {
        detail::secure_wipe(state_);
        detail::secure_wipe(buffer_);
    }

    // The next out.size() bytes of the keystream.
    void keystream(mutable_byte_view out) noexcept {
        std::uint8_t* dst = out.data();
        std::size_t count = out.size();

        // What is left of the block generated for the previous call.
        if (used_ < block_size && count != 0) {
            const std::size_t rest = block_size - used_;
            const std::size_t take = count < rest ? count : rest;
            for (std::size_t i = 0; i < take; ++i) dst[i] = buffer_[used_ + i];
            used_ += take;
            dst += take;
            count -= take;
        }
        // Whole blocks straight into the output, four at a time where that is faster.
#if BRINE_DETAIL_CHACHA20_FOUR_BLOCKS
        while (count >= 4 * block_size) {
            detail::chacha20_four_blocks(state_, dst);
            state_[12] += 4;
            dst += 4 * block_size;
            count -= 4 * block_size;
        }
#endif
        while (count >= block_size) {
            detail::chacha20_block(state_, dst);
            ++state_[12];
            dst += block_size;
            count -= block_size;
        }
        // A partial block: generate it whole and keep the rest for the next call.
        if (count != 0) {
            detail::chacha20_block(state_, buffer_.data());
            ++state_[12];
            for (std::size_t i = 0; i < count; ++i) dst[i] = buffer_[i];
            used_ = count;
        }
    }

    // XORs the next in.size() keystream bytes into `data` (encryption and decryption alike).
    void apply(mutable_byte_view data) noexcept {
        std::array<std::uint8_t, 4 * block_size> pad{};
        std::size_t done = 0;
        while (done < data.size()) {
            const std::size_t rest = data.size() - done;
            const std::size_t chunk = rest < pad.size() ? rest : pad.size();
            keystream(mutable_byte_view(pad.data(), chunk));
            for (std::size_t i = 0; i < chunk; ++i) data[done + i] = static_cast<std::uint8_t>(data[done + i] ^ pad[i]);
            done += chunk;
        }
        detail::secure_wipe(pad);
    }

    // The 64-byte block `counter` of (key, nonce), on its own (RFC 8439 §2.3).
    [[nodiscard]] static std::array<std::uint8_t, block_size> block(const key_type& key, const nonce_type& nonce,
                                                                    std::uint32_t counter) noexcept {
        std::array<std::uint32_t, 16> state = detail::chacha20_state(key.data(), nonce.data(), counter);
        std::array<std::uint8_t, block_size> out{};
        detail::chacha20_block(state, out.data());
        detail::secure_wipe(state);
        return out;
    }

private:
    std::array<std::uint32_t, 16> state_;         // state_[12] is the counter of the next block to generate
    std::array<std::uint8_t, block_size> buffer_{};  // the last partial block handed out
    std::size_t used_ = block_size;                  // bytes of buffer_ already handed out
};

}  // namespace crypto
BRINE_NAMESPACE_END
