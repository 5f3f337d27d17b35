// SPDX-License-Identifier: MIT
//
// The streaming half of SHA-256, shared by every backend and by HMAC: it gathers input into whole
// blocks, counts the length and appends the final padding (FIPS 180-4 §5.1.1). The compression
// function is a parameter, so one engine drives the portable and the accelerated paths alike, and
// with the portable one it also runs at compile time.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/crypto/detail/secure_wipe.hpp>
#include <brine/crypto/detail/sha256_portable.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

BRINE_NAMESPACE_BEGIN
namespace crypto::detail {

class sha256_engine {
public:
    static constexpr std::size_t block_size = 64;
    static constexpr std::size_t digest_size = 32;

    constexpr explicit sha256_engine(sha256_compress_fn compress) noexcept : compress_(compress) {}

    // Continues from `state` as if `length` bytes, a whole number of blocks, had been hashed to
    // reach it. HMAC starts from its keyed states this way.
    constexpr void restart(const std::array<std::uint32_t, 8>& state, std::uint64_t length) noexcept {
        state_ = state;
        buffered_ = 0;
        length_ = length;
    }

    constexpr void update(const std::uint8_t* data, std::size_t size) noexcept {
        if (size == 0) return;
        length_ += size;
        if (buffered_ != 0) {
            const std::size_t take = size < block_size - buffered_ ? size : block_size - buffered_;
            append(data, take);
            data += take;
            size -= take;
            if (buffered_ < block_size) return;
            compress_(state_.data(), buffer_.data(), 1);
            buffered_ = 0;
        }
        // Whole blocks go to the compression function straight from the input, in one call, so
        // the accelerated paths run without interruption.
        const std::size_t whole = size / block_size;
        if (whole != 0) {
            compress_(state_.data(), data, whole);
            data += whole * block_size;
            size -= whole * block_size;
        }
        append(data, size);
    }

    // Writes the digest of everything since the last restart to `digest` (digest_size bytes) and
    // restarts from the initial state.
    constexpr void finish(std::uint8_t* digest) noexcept {
        // The length field counts bits modulo 2^64, as FIPS 180-4 defines it for all messages
        // shorter than 2^64 bits.
        const std::uint64_t bit_length = length_ << 3;
        buffer_[buffered_++] = 0x80;
        if (buffered_ > block_size - 8) {
            while (buffered_ < block_size) buffer_[buffered_++] = 0;
            compress_(state_.data(), buffer_.data(), 1);
            buffered_ = 0;
        }
        while (buffered_ < block_size - 8) buffer_[buffered_++] = 0;
        store_be64(buffer_.data() + (block_size - 8), bit_length);
        compress_(state_.data(), buffer_.data(), 1);
        for (std::size_t i = 0; i < 8; ++i) store_be32(digest + 4 * i, state_[i]);
        restart(sha256_initial_state, 0);
    }

    // Erases the chaining state and any buffered input; restart() before using the engine again.
    void wipe() noexcept {
        secure_wipe(state_);
        secure_wipe(buffer_);
        buffered_ = 0;
        length_ = 0;
    }

private:
    constexpr void append(const std::uint8_t* data, std::size_t size) noexcept {
        for (std::size_t i = 0; i < size; ++i) buffer_[buffered_ + i] = data[i];
        buffered_ += size;
    }

    sha256_compress_fn compress_;
    std::array<std::uint32_t, 8> state_ = sha256_initial_state;
    std::array<std::uint8_t, block_size> buffer_{};
    std::size_t buffered_ = 0;  // always < block_size between calls
    std::uint64_t length_ = 0;  // bytes hashed since restart, including the restart length
};

}  // namespace crypto::detail
BRINE_NAMESPACE_END
