// SPDX-License-Identifier: MIT
//
// Growing a policy. At compile time, extend<Base, Extra> where Extra lists more names:
//
//     struct my_globals {
//         static constexpr brine::policy::qualified_name globals[] = {{"mylib.config", "Config"}};
//     };
//     using my_policy = brine::policy::extend<brine::policy::torch_weights_only, my_globals>;
//
// At run time (the CLI's --allow), runtime_allowlist<Base>::add("module.qualname").
// An added name may be referenced, called (REDUCE, NEWOBJ) and built (BUILD on its call's result);
// brine has no semantics for it, so the writer re-emits such calls structurally (same call, same
// arguments). Modules torch never allows (sys, os, posix, nt) stay refused.
#pragma once

#include <brine/config.hpp>
#include <brine/pickle/allowlist_concept.hpp>
#include <brine/pickle/graph_queries.hpp>
#include <brine/pickle/name_table.hpp>
#include <brine/pickle/verdict.hpp>
#include <brine/policy/torch_weights_only.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace policy {

// The rules for names an extension lists; Derived says which names with listed().
template <class Derived, class Base>
struct extension : Base {
    [[nodiscard]] verdict allow_global(const qualified_name& name) const noexcept {
        if (self().listed(name) && !detail::blocklisted_module(name.module)) return allowed;
        return Base::allow_global(name);
    }
    [[nodiscard]] verdict allow_call(const pickle::graph& g, pickle::node_id callable,
                                     pickle::call_form form) const noexcept {
        if ((form == pickle::call_form::reduce || form == pickle::call_form::newobj) &&
            self().listed(callable_name(g, callable)))
            return allowed;
        return Base::allow_call(g, callable, form);
    }
    [[nodiscard]] verdict allow_build(const pickle::graph& g, pickle::node_id target) const noexcept {
        if (g[target].kind == pickle::node_kind::call && self().listed(callable_name(g, target))) return allowed;
        return Base::allow_build(g, target);
    }

private:
    [[nodiscard]] const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
};

template <class Base, class Extra>
struct extend : extension<extend<Base, Extra>, Base> {
    static_assert(strictly_sorted(Extra::globals), "Extra::globals must be sorted by (module, name), no duplicates");

    [[nodiscard]] static bool listed(const qualified_name& name) noexcept {
        return !name.module.empty() && contains(Extra::globals, name);
    }
};

// Names added while running. "module.qualname" splits at the last dot; a qualname that itself
// has dots is written "module:qualname" (as pkgutil.resolve_name spells it).
template <class Base>
class runtime_allowlist : public extension<runtime_allowlist<Base>, Base> {
public:
    // Adds a name; false when it is not of the form module.name or module:qualname.
    bool add(std::string_view spelled) {
        std::size_t split = spelled.find(':');
        if (split == std::string_view::npos) split = spelled.rfind('.');
        if (split == std::string_view::npos || split == 0 || split + 1 >= spelled.size()) return false;
        names_.emplace_back(std::string(spelled.substr(0, split)), std::string(spelled.substr(split + 1)));
        return true;
    }
    [[nodiscard]] std::size_t size() const noexcept { return names_.size(); }

    [[nodiscard]] bool listed(const qualified_name& name) const noexcept {
        for (const auto& [module, qualname] : names_)
            if (module == name.module && qualname == name.name) return true;
        return false;
    }

private:
    std::vector<std::pair<std::string, std::string>> names_;
};

}  // namespace policy
BRINE_NAMESPACE_END
