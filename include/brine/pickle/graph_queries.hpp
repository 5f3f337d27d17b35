// SPDX-License-Identifier: MIT
//
// Questions policies ask about the value graph: what a node is, which global made it. They read
// only pickle values (the machine and torch's readers ask them too), so they live in the pickle
// layer, in namespace policy with the rest of the allowlist vocabulary.
#pragma once

#include <brine/config.hpp>
#include <brine/pickle/name_table.hpp>
#include <brine/pickle/value.hpp>

#include <cstddef>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace policy {

// The name of a global node, or of the global a call node calls; empty otherwise.
[[nodiscard]] inline qualified_name callable_name(const pickle::graph& g, pickle::node_id id) noexcept {
    if (id == pickle::no_node || id >= g.size()) return {};
    if (g[id].kind == pickle::node_kind::call && !g.children(id).empty()) id = g.children(id)[0];
    if (g[id].kind != pickle::node_kind::global) return {};
    const pickle::global_name name = g.global(id);
    return {name.module, name.name};
}

// Whether `id` is a call whose callable is one of `names`.
template <std::size_t N>
[[nodiscard]] bool is_call_to(const pickle::graph& g, pickle::node_id id, const qualified_name (&names)[N]) noexcept {
    if (id == pickle::no_node || id >= g.size() || g[id].kind != pickle::node_kind::call) return false;
    const qualified_name callee = callable_name(g, id);
    return !callee.module.empty() && contains(names, callee);
}

// The text of a str node, or of a Python 2 str / bytes node holding only ASCII (as
// torch.serialization._maybe_decode_ascii reads a persistent id's 'storage' tag and location);
// nothing otherwise. Not for storage keys, which torch uses as they are (bytes b'0' names the
// record data/b'0'): see torch::storage_key_text.
[[nodiscard]] inline bool ascii_text(const pickle::graph& g, pickle::node_id id, std::string_view& out) noexcept {
    if (id == pickle::no_node || id >= g.size()) return false;
    const pickle::node& item = g[id];
    if (item.kind == pickle::node_kind::string) {
        out = item.text();
        return true;
    }
    if (item.kind == pickle::node_kind::legacy_string || item.kind == pickle::node_kind::bytes) {
        for (const char c : item.text())
            if (static_cast<unsigned char>(c) >= 0x80) return false;
        out = item.text();
        return true;
    }
    return false;
}

}  // namespace policy
BRINE_NAMESPACE_END
