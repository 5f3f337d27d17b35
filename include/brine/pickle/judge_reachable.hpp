// SPDX-License-Identifier: MIT
//
// Judging a value graph again under a narrower allowlist, without reading any pickle again: every
// node reachable from the root (what a writer would write) is put to the policy as the machine
// put it when the node was made: globals to allow_global, calls to allow_call, BUILD states to
// allow_build, SETITEM entries of calls to allow_setitem, persistent ids to allow_persistent_id.
//
// Why: weights extracted from a pickled module (torch/extract.hpp) were evaluated under
// policy::module_structure, which lets module classes be named, NEWOBJ'd and BUILT. The state
// dict built from them must hold nothing but what the disarmer's own allowlist allows; this check
// says so from the graph itself, in one pass, instead of writing the pickle and evaluating brine's
// own output a second time. The members module_structure widens are exactly those asked here.
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/error.hpp>
#include <brine/core/result.hpp>
#include <brine/pickle/name_table.hpp>
#include <brine/pickle/opcodes.hpp>
#include <brine/pickle/value.hpp>
#include <brine/pickle/verdict.hpp>

#include <cstdint>

BRINE_NAMESPACE_BEGIN
namespace pickle {

// The first node reachable from the root that `rules` refuses: errc::torch_not_clean at the
// offset of the opcode that made it, with `expected` as the error's detail.
template <class Policy>
[[nodiscard]] status judge_reachable(const graph& g, const Policy& rules, const char* expected) {
    if (g.root() == no_node) return {};
    alloc::vector<std::uint8_t> seen(g.size(), 0);
    alloc::vector<node_id> pending;
    pending.push_back(g.root());
    seen[g.root()] = 1;
    const auto visit = [&](node_ids ids) {
        for (const node_id id : ids)
            if (id < seen.size() && !seen[id]) {
                seen[id] = 1;
                pending.push_back(id);
            }
    };
    while (!pending.empty()) {
        const node_id id = pending.back();
        pending.pop_back();
        const node& n = g[id];
        if (left_out(g, id)) continue;  // written as None, never loaded
        policy::verdict verdict = policy::allowed;
        switch (n.kind) {
            case node_kind::global: {
                const global_name name = g.global(id);
                verdict = rules.allow_global(policy::qualified_name{name.module, name.name});
                break;
            }
            case node_kind::call: {
                const node_ids parts = g.children(id);
                if (!parts.empty()) verdict = rules.allow_call(g, parts[0], n.form);
                if (verdict.allowed() && !g.states(id).empty()) verdict = rules.allow_build(g, id);
                if (verdict.allowed() && !g.items(id).empty()) verdict = rules.allow_setitem(g, id);
                break;
            }
            case node_kind::persistent_id: {
                const node_ids parts = g.children(id);
                if (!parts.empty()) verdict = rules.allow_persistent_id(g, parts[0], n.origin);
                break;
            }
            default: break;
        }
        if (!verdict.allowed()) return error{errc::torch_not_clean, n.offset, expected};
        visit(g.children(id));
        visit(g.items(id));
        visit(g.states(id));
    }
    return {};
}

}  // namespace pickle
BRINE_NAMESPACE_END
