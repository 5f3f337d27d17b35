// SPDX-License-Identifier: MIT
//
// SHA-256 (FIPS 180-4). The block compression runs on the fastest path the CPU offers — Intel SHA
// extensions, the ARMv8 cryptography extension, or portable C++ — chosen once per object from
// brine::cpu(). Every path computes the same digest; a path can also be forced, for testing.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/hex.hpp>
#include <brine/core/cpu.hpp>
#include <brine/crypto/detail/sha256_arm.hpp>
#include <brine/crypto/detail/sha256_engine.hpp>
#include <brine/crypto/detail/sha256_portable.hpp>
#include <brine/crypto/detail/sha256_x86.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace crypto {

// The implementations of the block compression.
enum class sha256_backend : std::uint8_t {
    automatic,  // the fastest one available on this CPU
    portable,   // plain C++, everywhere
    x86_shani,  // Intel SHA extensions (with SSE4.1 and SSSE3)
    arm_sha2,   // ARMv8 cryptography extension
};

[[nodiscard]] constexpr std::string_view to_string(sha256_backend backend) noexcept {
    switch (backend) {
        case sha256_backend::automatic: return "automatic";
        case sha256_backend::portable: return "portable";
        case sha256_backend::x86_shani: return "x86_shani";
        case sha256_backend::arm_sha2: return "arm_sha2";
    }
    return "unknown";
}

// Whether `backend` can run here: compiled into this build and supported by this CPU.
// `automatic` and `portable` always can.
[[nodiscard]] inline bool sha256_backend_available(sha256_backend backend) noexcept {
    switch (backend) {
        case sha256_backend::automatic:
        case sha256_backend::portable: return true;
        case sha256_backend::x86_shani: {
            const cpu_features& features = cpu();
            return BRINE_DETAIL_HAS_SHA256_X86 && features.sha_ni && features.sse41 && features.ssse3;
        }
        case sha256_backend::arm_sha2: return BRINE_DETAIL_HAS_SHA256_ARM && cpu().arm_sha2;
    }
    return false;
}

using sha256_digest = std::array<std::uint8_t, 32>;

namespace detail {

struct sha256_implementation {
    sha256_backend backend;
    sha256_compress_fn compress;
};

// The requested backend if it can run here, otherwise the portable one; `automatic` picks the
// fastest available.
[[nodiscard]] inline sha256_implementation select_sha256(sha256_backend requested) noexcept {
    const bool automatic = requested == sha256_backend::automatic;
#if BRINE_DETAIL_HAS_SHA256_X86
    if ((automatic || requested == sha256_backend::x86_shani) &&
        sha256_backend_available(sha256_backend::x86_shani))
        return {sha256_backend::x86_shani, &sha256_x86::compress};
#endif
#if BRINE_DETAIL_HAS_SHA256_ARM
    if ((automatic || requested == sha256_backend::arm_sha2) &&
        sha256_backend_available(sha256_backend::arm_sha2))
        return {sha256_backend::arm_sha2, &sha256_arm::compress};
#endif
    (void)automatic;
    return {sha256_backend::portable, &sha256_portable::compress};
}

}  // namespace detail

// Incremental SHA-256: update() any number of times with any split of the input, then finish().
class sha256 {
public:
    static constexpr std::size_t digest_size = 32;
    static constexpr std::size_t block_size = 64;

    // Uses the fastest backend available on this CPU.
    sha256() noexcept : sha256(sha256_backend::automatic) {}

    // Uses `requested` if sha256_backend_available(requested), otherwise the portable backend;
    // backend() tells which one runs.
    explicit sha256(sha256_backend requested) noexcept : sha256(detail::select_sha256(requested)) {}

    [[nodiscard]] sha256_backend backend() const noexcept { return backend_; }

    void update(byte_view bytes) noexcept { engine_.update(bytes.data(), bytes.size()); }

    // The digest of everything passed to update() since construction or the previous finish().
    // The object is then reset and hashes a new message with the same backend.
    [[nodiscard]] sha256_digest finish() noexcept {
        sha256_digest digest{};
        engine_.finish(digest.data());
        return digest;
    }

    // The digest of `bytes` in one call.
    [[nodiscard]] static sha256_digest hash(byte_view bytes,
                                           sha256_backend requested = sha256_backend::automatic) noexcept {
        sha256 hasher(requested);
        hasher.update(bytes);
        return hasher.finish();
    }

private:
    explicit sha256(detail::sha256_implementation implementation) noexcept
        : engine_(implementation.compress), backend_(implementation.backend) {}

    detail::sha256_engine engine_;
    sha256_backend backend_;
};

// SHA-256 at compile time (also fine at run time, on the portable path), for digests that belong
// in static_asserts and constant tables.
[[nodiscard]] constexpr sha256_digest sha256_constexpr(byte_view bytes) noexcept {
    detail::sha256_engine engine(&detail::sha256_portable::compress);
    engine.update(bytes.data(), bytes.size());
    sha256_digest digest{};
    engine.finish(digest.data());
    return digest;
}

// The same for text; its chars are hashed as bytes. (A constant expression cannot view chars as
// bytes through a pointer cast, hence the copy through a block-sized buffer.)
[[nodiscard]] constexpr sha256_digest sha256_constexpr(std::string_view text) noexcept {
    detail::sha256_engine engine(&detail::sha256_portable::compress);
    std::uint8_t chunk[64] = {};
    while (!text.empty()) {
        const std::size_t count = text.size() < sizeof chunk ? text.size() : sizeof chunk;
        for (std::size_t i = 0; i < count; ++i) chunk[i] = static_cast<std::uint8_t>(text[i]);
        engine.update(chunk, count);
        text.remove_prefix(count);
    }
    sha256_digest digest{};
    engine.finish(digest.data());
    return digest;
}

// Lowercase hexadecimal of a digest, without allocating; view it with
// std::string_view(hex.data(), hex.size()).
[[nodiscard]] constexpr std::array<char, 64> to_hex(const sha256_digest& digest) noexcept {
    std::array<char, 64> hex{};
    for (std::size_t i = 0; i < digest.size(); ++i) {
        hex[2 * i] = hex_digit(digest[i] >> 4);
        hex[2 * i + 1] = hex_digit(digest[i] & 0x0F);
    }
    return hex;
}

}  // namespace crypto
BRINE_NAMESPACE_END
