// SPDX-License-Identifier: MIT
//
// Every key a seal uses, derived from the secret key and the seal's salt: HKDF-SHA-256 with the
// info "brine/v1/<label>", one label per purpose ("digest", "manifest", "elements/3"...). Nothing
// derived is ever stored; sealing, verifying and restoring derive the same keys again.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/crypto/detail/secure_wipe.hpp>
#include <brine/crypto/hkdf.hpp>
#include <brine/mtd/digest.hpp>
#include <brine/mtd/key.hpp>
#include <brine/mtd/keyed_stream.hpp>
#include <brine/mtd/manifest.hpp>

#include <cstddef>
#include <string>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace mtd {
namespace detail {

// The key for one purpose: HKDF-SHA-256 of the secret key, salted with the seal's salt.
[[nodiscard]] inline digest derive(const secret_key& key, const digest& salt, std::string_view label) {
    std::string info = "brine/v1/";
    info += label;
    digest out{};
    // 32 bytes of output are always within HKDF's 255 x 32 limit.
    (void)crypto::hkdf_sha256(byte_view(salt.data(), salt.size()), byte_view(key.bytes.data(), key.bytes.size()),
                              as_bytes(std::string_view(info)), mutable_byte_view(out.data(), out.size()));
    return out;
}

// The key check stored in the manifest, so that a wrong key is told apart from tampering: the
// first 8 bytes of an HKDF output under the key and the seal's salt. It lets anyone holding a
// sealed file test a guessed key, but no faster than computing the tag would: with a 256-bit
// random key, guessing is out of reach either way, so 64 bits (a false match once in 2^64 wrong
// keys) is enough. Salted, so that files sealed under one key do not show it by a shared value.
[[nodiscard]] inline key_check key_check_of(const secret_key& key, const digest& salt) {
    digest full = derive(key, salt, "key-check");
    key_check out{};
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = full[i];
    crypto::detail::secure_wipe(full);
    return out;
}

[[nodiscard]] inline keyed_stream stream_for(const secret_key& key, const digest& salt, std::string_view label) {
    digest k = derive(key, salt, label);
    keyed_stream stream(k);
    crypto::detail::secure_wipe(k);
    return stream;
}

[[nodiscard]] inline std::string indexed(std::string_view label, std::size_t i) {
    return std::string(label) + "/" + std::to_string(i);
}

}  // namespace detail
}  // namespace mtd
BRINE_NAMESPACE_END
