// SPDX-License-Identifier: MIT
//
// The hash "sha256": plain SHA-256, not keyed. Anyone can recompute the digests (a hub can
// publish them for files it never held a key for), and a digest confirms a guess of the weights;
// the manifest itself is still authenticated under the key.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/crypto/sha256.hpp>
#include <brine/mtd/hash.hpp>

#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace mtd {
namespace hashes {

class sha256 : public named_hash<sha256> {
public:
    static constexpr std::string_view spelling = "sha256";

    void key(const digest&) noexcept {}
    void update(byte_view bytes) noexcept { state_.update(bytes); }
    [[nodiscard]] digest finish() noexcept { return state_.finish(); }

private:
    crypto::sha256 state_;
};

}  // namespace hashes
}  // namespace mtd
BRINE_NAMESPACE_END
