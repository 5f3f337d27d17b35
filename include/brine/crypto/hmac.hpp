// SPDX-License-Identifier: MIT
//
// HMAC-SHA-256 (RFC 2104, FIPS 198-1) and a constant-time comparison for checking MACs.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/crypto/detail/secure_wipe.hpp>
#include <brine/crypto/detail/sha256_engine.hpp>
#include <brine/crypto/detail/sha256_portable.hpp>
#include <brine/crypto/sha256.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

BRINE_NAMESPACE_BEGIN
namespace crypto {

// Incremental HMAC-SHA-256: construct with the key, update() with the message in any split, then
// finish().
//
// The key itself is never stored: the constructor reduces it to the SHA-256 states after the
// inner and outer padded key blocks, and erases every temporary copy. finish() erases all
// message-dependent intermediates and returns to those keyed states, so the same object can
// authenticate another message under the same key; the destructor erases the keyed states too.
class hmac_sha256 {
public:
    static constexpr std::size_t mac_size = 32;
    static constexpr std::size_t block_size = 64;

    // Keys of any length (RFC 2104: longer than a block are hashed first, shorter ones padded).
    // The backend is chosen as for sha256.
    explicit hmac_sha256(byte_view key, sha256_backend requested = sha256_backend::automatic) noexcept
        : hmac_sha256(key, detail::select_sha256(requested)) {}

    hmac_sha256(const hmac_sha256&) noexcept = default;
    hmac_sha256& operator=(const hmac_sha256&) noexcept = default;
    ~hmac_sha256() {
        inner_.wipe();
        detail::secure_wipe(inner_start_);
        detail::secure_wipe(outer_start_);
    }

    [[nodiscard]] sha256_backend backend() const noexcept { return backend_; }

    void update(byte_view message) noexcept { inner_.update(message.data(), message.size()); }

    // The MAC of everything passed to update() since construction or the previous finish().
    [[nodiscard]] sha256_digest finish() noexcept {
        std::array<std::uint8_t, 32> inner_digest{};
        inner_.finish(inner_digest.data());

        detail::sha256_engine outer(compress_);
        outer.restart(outer_start_, block_size);
        outer.update(inner_digest.data(), inner_digest.size());
        sha256_digest mac{};
        outer.finish(mac.data());

        outer.wipe();
        inner_.wipe();
        detail::secure_wipe(inner_digest);
        inner_.restart(inner_start_, block_size);
        return mac;
    }

    // The MAC of `message` under `key` in one call.
    [[nodiscard]] static sha256_digest mac(byte_view key, byte_view message,
                                          sha256_backend requested = sha256_backend::automatic) noexcept {
        hmac_sha256 authenticator(key, requested);
        authenticator.update(message);
        return authenticator.finish();
    }

private:
    hmac_sha256(byte_view key, detail::sha256_implementation implementation) noexcept
        : backend_(implementation.backend), compress_(implementation.compress), inner_(compress_) {
        // K0: the key, or its digest when longer than a block, zero-padded to a block.
        std::array<std::uint8_t, block_size> padded_key{};
        if (key.size() > block_size) {
            detail::sha256_engine key_hasher(compress_);
            key_hasher.update(key.data(), key.size());
            key_hasher.finish(padded_key.data());
            key_hasher.wipe();
        } else {
            for (std::size_t i = 0; i < key.size(); ++i) padded_key[i] = key[i];
        }

        inner_start_ = keyed_state(padded_key, 0x36);
        outer_start_ = keyed_state(padded_key, 0x5c);
        detail::secure_wipe(padded_key);
        inner_.restart(inner_start_, block_size);
    }

    // The SHA-256 state after compressing the block K0 ⊕ pad.
    std::array<std::uint32_t, 8> keyed_state(const std::array<std::uint8_t, block_size>& padded_key,
                                             std::uint8_t pad) const noexcept {
        std::array<std::uint8_t, block_size> block{};
        for (std::size_t i = 0; i < block_size; ++i) block[i] = static_cast<std::uint8_t>(padded_key[i] ^ pad);
        std::array<std::uint32_t, 8> state = detail::sha256_initial_state;
        compress_(state.data(), block.data(), 1);
        detail::secure_wipe(block);
        return state;
    }

    sha256_backend backend_;
    detail::sha256_compress_fn compress_;
    detail::sha256_engine inner_;
    std::array<std::uint32_t, 8> inner_start_{};
    std::array<std::uint32_t, 8> outer_start_{};
};

// Whether `a` and `b` hold the same bytes, taking a time that depends only on their lengths, so
// that comparing a computed MAC with a received one reveals nothing about where they differ.
// Different lengths compare unequal (lengths are not secret).
[[nodiscard]] inline bool constant_time_equal(byte_view a, byte_view b) noexcept {
    if (a.size() != b.size()) return false;
    // Reading through volatile makes every load observable, so the compiler can neither stop at
    // the first difference nor turn the loop into memcmp.
    const volatile std::uint8_t* left = a.data();
    const volatile std::uint8_t* right = b.data();
    unsigned difference = 0;
    for (std::size_t i = 0; i < a.size(); ++i) difference |= static_cast<unsigned>(left[i] ^ right[i]);
    return difference == 0;
}

}  // namespace crypto
BRINE_NAMESPACE_END
