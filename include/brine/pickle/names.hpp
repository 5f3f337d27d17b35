// SPDX-License-Identifier: MIT
//
// Name resolution as CPython's Unpickler.find_class does it: for streams whose protocol is below
// 3, Python 2 names are first mapped to their Python 3 homes (a (module, name) pair mapping, else
// a whole-module mapping). The result is the exact pair a policy is asked about.
#pragma once

#include <brine/config.hpp>
#include <brine/pickle/detail/compat_names.hpp>
#include <brine/pickle/name_table.hpp>

#include <algorithm>
#include <iterator>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace pickle {

[[nodiscard]] inline policy::qualified_name resolve_name(std::string_view module, std::string_view name,
                                                         int protocol) noexcept {
    if (protocol >= 3) return {module, name};
    const auto* names_end = std::end(detail::compat_names);
    const auto* found = std::lower_bound(std::begin(detail::compat_names), names_end, policy::qualified_name{module, name},
                                         [](const detail::compat_name& entry, const policy::qualified_name& wanted) {
                                             return policy::compare({entry.from_module, entry.from_name}, wanted) < 0;
                                         });
    if (found != names_end && found->from_module == module && found->from_name == name)
        return {found->to_module, found->to_name};
    const auto* modules_end = std::end(detail::compat_modules);
    const auto* renamed = std::lower_bound(std::begin(detail::compat_modules), modules_end, module,
                                           [](const detail::compat_module& entry, std::string_view wanted) {
                                               return entry.from < wanted;
                                           });
    if (renamed != modules_end && renamed->from == module) return {renamed->to, name};
    return {module, name};
}

}  // namespace pickle
BRINE_NAMESPACE_END
