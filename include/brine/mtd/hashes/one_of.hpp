// SPDX-License-Identifier: MIT
//
// one_of<H...>: a hash that is one of H... chosen at run time, by the hash named in the seal's
// options or in the manifest being checked. A verifier or restorer built on one_of<H...> trusts
// exactly H...: a seal made with any other hash is refused (errc::mtd_unsupported), however
// authentic its manifest.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/mtd/choice.hpp>
#include <brine/mtd/hash.hpp>

#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace mtd {
namespace hashes {

template <class... Hashes>
class one_of {
    static_assert((check_hash<Hashes>() && ...));

public:
    [[nodiscard]] bool select(std::string_view name) { return members_.select(name); }
    [[nodiscard]] std::string_view name() const {
        return members_.call([](const auto& h) { return h.name(); });
    }
    void key(const digest& k) {
        members_.call([&](auto& h) { h.key(k); });
    }
    void update(byte_view bytes) {
        members_.call([&](auto& h) { h.update(bytes); });
    }
    [[nodiscard]] digest finish() {
        return members_.call([](auto& h) { return h.finish(); });
    }

private:
    detail::choice<Hashes...> members_;
};

}  // namespace hashes
}  // namespace mtd
BRINE_NAMESPACE_END
