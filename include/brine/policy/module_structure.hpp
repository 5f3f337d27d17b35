// SPDX-License-Identifier: MIT
//
// A policy for reading the structure of pickled modules (torch.save(model), TorchScript's
// data.pkl) so that their weights can be extracted. Loading such a file runs the classes' code;
// brine never does: class globals become plain names, NEWOBJ of them a node, BUILD a recorded
// state. Nothing of that structure is ever written: torch::extract_state_dict keeps only the
// tensors (which the Base policy still judges) under the names the module tree gives them.
// Calls (REDUCE) stay under the Base policy's rules, and modules torch never allows (sys, os,
// posix, nt) stay refused, so a payload inside a module's attributes is still a finding.
#pragma once

#include <brine/config.hpp>
#include <brine/pickle/allowlist_concept.hpp>
#include <brine/pickle/graph_queries.hpp>
#include <brine/pickle/value.hpp>
#include <brine/pickle/verdict.hpp>
#include <brine/policy/torch_weights_only.hpp>

#include <utility>

BRINE_NAMESPACE_BEGIN
namespace policy {

template <class Base>
struct module_structure : Base {
    module_structure() = default;
    explicit module_structure(Base base) : Base(std::move(base)) {}

    [[nodiscard]] verdict allow_global(const qualified_name& name) const noexcept {
        if (detail::blocklisted_module(name.module)) return refused("module is never allowed (sys, os, posix, nt)");
        return allowed;  // a name only: what may be called is decided below
    }

    [[nodiscard]] verdict allow_call(const pickle::graph& g, pickle::node_id callable,
                                     pickle::call_form form) const noexcept {
        // cls.__new__(cls): recorded as an object of that class, never created.
        if (form == pickle::call_form::newobj) return allowed;
        return Base::allow_call(g, callable, form);
    }

    // The legacy format (torch.save with _use_new_zipfile_serialization=False) pickles each
    // nn.Module class as a persistent id ('module', class, source file, source), which
    // persistent_load turns into the class: allowed here, and resolved to the class name.
    [[nodiscard]] verdict allow_persistent_id(const pickle::graph& g, pickle::node_id id,
                                              pickle::opcode op) const noexcept {
        if (module_class(g, id) != pickle::no_node) return allowed;
        return Base::allow_persistent_id(g, id, op);
    }
    [[nodiscard]] pickle::node_id resolve_persistent_id(const pickle::graph& g, pickle::node_id id) const noexcept {
        return module_class(g, id);
    }

    [[nodiscard]] verdict allow_build(const pickle::graph& g, pickle::node_id target) const noexcept {
        const pickle::node& n = g[target];
        if (n.kind == pickle::node_kind::call && n.form == pickle::call_form::newobj) return allowed;
        return Base::allow_build(g, target);
    }

private:
    [[nodiscard]] static pickle::node_id module_class(const pickle::graph& g, pickle::node_id id) noexcept {
        std::string_view tag;
        const pickle::node_ids parts = g.children(id);
        if (g[id].kind != pickle::node_kind::tuple || parts.size() != 4 || !ascii_text(g, parts[0], tag) ||
            tag != "module" || g[parts[1]].kind != pickle::node_kind::global)
            return pickle::no_node;
        return parts[1];
    }
};

static_assert(check_policy<module_structure<torch_weights_only>>());

}  // namespace policy
BRINE_NAMESPACE_END
