// SPDX-License-Identifier: MIT
//
// A compile-time table of exact (module, qualname) pairs: sorted, checked for order and
// duplicates at compile time, looked up by binary search without allocating. A dotted qualname
// ("OrderedDict.__init__") is its own name: it matches only if listed itself. In the pickle layer:
// name resolution (pickle/names.hpp) yields a qualified_name, the pair an allowlist is asked about.
#pragma once

#include <brine/config.hpp>

#include <cstddef>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace policy {

struct qualified_name {
    std::string_view module;
    std::string_view name;
};

[[nodiscard]] constexpr int compare(const qualified_name& a, const qualified_name& b) noexcept {
    const int by_module = a.module.compare(b.module);
    return by_module != 0 ? by_module : a.name.compare(b.name);
}

// Whether `names` is strictly increasing: sorted, without duplicates.
template <std::size_t N>
[[nodiscard]] constexpr bool strictly_sorted(const qualified_name (&names)[N]) noexcept {
    for (std::size_t i = 1; i < N; ++i)
        if (compare(names[i - 1], names[i]) >= 0) return false;
    return true;
}

template <std::size_t N>
[[nodiscard]] constexpr bool contains(const qualified_name (&names)[N], const qualified_name& wanted) noexcept {
    std::size_t low = 0, high = N;
    while (low < high) {
        const std::size_t mid = low + (high - low) / 2;
        const int order = compare(names[mid], wanted);
        if (order == 0) return true;
        if (order < 0) low = mid + 1;
        else high = mid;
    }
    return false;
}

}  // namespace policy
BRINE_NAMESPACE_END
