// SPDX-License-Identifier: MIT
//
// What a policy answers: allowed, or refused with a static sentence saying why. In the pickle
// layer because the machine acts on it (pickle/allowlist_concept.hpp).
#pragma once

#include <brine/config.hpp>

BRINE_NAMESPACE_BEGIN
namespace policy {

struct verdict {
    const char* refusal = nullptr;  // static text; nullptr when allowed
    [[nodiscard]] constexpr bool allowed() const noexcept { return refusal == nullptr; }
};

inline constexpr verdict allowed{};
[[nodiscard]] constexpr verdict refused(const char* why) noexcept { return verdict{why}; }

}  // namespace policy
BRINE_NAMESPACE_END
