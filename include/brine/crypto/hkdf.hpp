// SPDX-License-Identifier: MIT
//
// HKDF with HMAC-SHA-256 (RFC 5869). Moving Target Defense needs many independent keys from one
// secret: a key per sealed copy (from the secret key and that copy's random salt) and a key per
// tensor (from that and the tensor's name). HKDF is the standard way to get them: extract turns
// the input keying material into one uniform pseudorandom key, expand stretches that key into as
// many bytes as asked for, bound to a context string (`info`).
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/crypto/detail/secure_wipe.hpp>
#include <brine/crypto/hmac.hpp>
#include <brine/crypto/sha256.hpp>

#include <cstddef>
#include <cstdint>

BRINE_NAMESPACE_BEGIN
namespace crypto {

// The most hkdf_expand can produce: 255 blocks of one SHA-256 digest each (RFC 5869 §2.3).
inline constexpr std::size_t hkdf_sha256_max_output = 255 * 32;

// HKDF-Extract: PRK = HMAC-SHA-256(key = salt, message = ikm). An empty salt means 32 zero
// bytes (RFC 5869 §2.2); HMAC zero-pads short keys, so passing an empty view does exactly that.
[[nodiscard]] inline sha256_digest hkdf_extract(byte_view salt, byte_view ikm) noexcept {
    return hmac_sha256::mac(salt, ikm);
}

// HKDF-Expand: fills `out` with T(1) | T(2) | ... truncated, where
// T(i) = HMAC-SHA-256(prk, T(i-1) | info | byte i) and T(0) is empty. `prk` should be a
// pseudorandom key of at least 32 bytes (the output of hkdf_extract); `out` may overlap `prk`
// (the key is absorbed first) but not `info`. Returns false, leaving `out` untouched, when more
// than hkdf_sha256_max_output bytes are asked for.
[[nodiscard]] inline bool hkdf_expand(byte_view prk, byte_view info, mutable_byte_view out) noexcept {
    if (out.size() > hkdf_sha256_max_output) return false;
    hmac_sha256 mac(prk);
    sha256_digest previous{};
    std::size_t done = 0;
    std::uint8_t index = 0;
    while (done < out.size()) {
        ++index;
        if (index > 1) mac.update(byte_view(previous.data(), previous.size()));
        mac.update(info);
        mac.update(byte_view(&index, 1));
        previous = mac.finish();
        const std::size_t rest = out.size() - done;
        const std::size_t take = rest < previous.size() ? rest : previous.size();
        for (std::size_t i = 0; i < take; ++i) out[done + i] = previous[i];
        done += take;
    }
    detail::secure_wipe(previous);
    return true;
}

// Extract then expand, in one call; the intermediate PRK is erased. False as for hkdf_expand.
[[nodiscard]] inline bool hkdf_sha256(byte_view salt, byte_view ikm, byte_view info, mutable_byte_view out) noexcept {
    if (out.size() > hkdf_sha256_max_output) return false;
    sha256_digest prk = hkdf_extract(salt, ikm);
    const bool ok = hkdf_expand(byte_view(prk.data(), prk.size()), info, out);
    detail::secure_wipe(prk);
    return ok;
}

}  // namespace crypto
BRINE_NAMESPACE_END
