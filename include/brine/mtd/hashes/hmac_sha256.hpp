// SPDX-License-Identifier: MIT
//
// The hash "hmac_sha256" (the default): HMAC-SHA-256 under the seal's digest key. The digests
// reveal nothing about the weights and cannot be recomputed, or forged, without the key.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/crypto/hmac.hpp>
#include <brine/mtd/hash.hpp>

#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace mtd {
namespace hashes {

class hmac_sha256 : public named_hash<hmac_sha256> {
public:
    static constexpr std::string_view spelling = "hmac_sha256";

    void key(const digest& k) noexcept { mac_ = crypto::hmac_sha256(byte_view(k.data(), k.size())); }
    void update(byte_view bytes) noexcept { mac_.update(bytes); }
    [[nodiscard]] digest finish() noexcept { return mac_.finish(); }

private:
    crypto::hmac_sha256 mac_{byte_view()};  // keyed by key() before any use
};

}  // namespace hashes
}  // namespace mtd
BRINE_NAMESPACE_END
