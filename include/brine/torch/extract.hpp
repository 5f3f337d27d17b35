// SPDX-License-Identifier: MIT
//
// Weights out of a pickled module, without instantiating anything: the value graph of
// torch.save(model) or of a TorchScript archive's data.pkl (read with policy::module_structure)
// is walked from its root module, and a plain state dict is built next to it in the same graph,
// an OrderedDict of name -> tensor in the order state_dict() gives:
//   - nn.Module objects (NEWOBJ of a class, BUILD with the instance __dict__): parameters from
//     `_parameters`, persistent buffers from `_buffers` (names in `_non_persistent_buffers_set`
//     are left out, as state_dict does; None entries too), then each of `_modules`, prefixed;
//   - TorchScript objects (NEWOBJ of a __torch__ class, BUILD with an attribute dict): every
//     tensor attribute, and every object attribute as a submodule, in attribute order.
// The module objects themselves are never written: the new root refers only to tensor nodes.
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/error.hpp>
#include <brine/core/result.hpp>
#include <brine/pickle/graph_queries.hpp>
#include <brine/pickle/value.hpp>
#include <brine/torch/checkpoint.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace torch {

namespace detail {

class state_dict_builder {
public:
    explicit state_dict_builder(pickle::graph& g) noexcept : g_(g) {}

    result<std::size_t> run() {
        const pickle::node_id root = g_.root();
        if (root == pickle::no_node || !is_object(root))
            return error{errc::torch_bad_tensor, 0, "a pickled module (an object made by NEWOBJ) at the root"};
        visiting_.assign(g_.size(), 0);
        BRINE_TRY(walk(root, ""));
        // OrderedDict() with the entries set on it, as torch.save writes a state dict.
        const pickle::node_id ordered = g_.add(pickle::node_kind::global, pickle::opcode::GLOBAL, 0);
        g_.set_global(ordered, pickle::global_name{"collections", "OrderedDict"});
        const pickle::node_id no_args = g_.add(pickle::node_kind::tuple, pickle::opcode::EMPTY_TUPLE, 0);
        const pickle::node_id dict = g_.add(pickle::node_kind::call, pickle::opcode::REDUCE, 0);
        const pickle::node_id parts[] = {ordered, no_args};
        if (!g_.append_children(dict, parts, 2) || !g_.append_items(dict, entries_.data(), entries_.size()))
            return error{errc::limit_exceeded, 0, "fewer references between values than 2^32"};
        g_.set_root(dict);
        return entries_.size() / 2;
    }

private:
    // An object: NEWOBJ of a class, whose (last) BUILD state is a dict.
    [[nodiscard]] bool is_object(pickle::node_id id) const noexcept {
        const pickle::node& n = g_[id];
        return n.kind == pickle::node_kind::call && n.form == pickle::call_form::newobj && !g_.states(id).empty() &&
               g_[g_.states(id).back()].kind == pickle::node_kind::dict;
    }

    // The entries of a dict node, or of an OrderedDict call's SETITEM entries.
    [[nodiscard]] pickle::node_ids entries_of(pickle::node_id id) const noexcept {
        const pickle::node& n = g_[id];
        if (n.kind == pickle::node_kind::dict) return g_.children(id);
        if (n.kind == pickle::node_kind::call) return g_.items(id);
        return {};
    }

    [[nodiscard]] bool text(pickle::node_id id, std::string_view& out) const noexcept {
        return policy::ascii_text(g_, id, out);
    }

    [[nodiscard]] bool is_tensor(pickle::node_id id) const {
        if (g_[id].kind != pickle::node_kind::call || pickle::left_out(g_, id)) return false;
        const policy::qualified_name callee = policy::callable_name(g_, id);
        return callee.module == "torch._utils" || (callee.module == "torch._tensor" && callee.name == "_rebuild_from_type_v2");
    }

    status add(const alloc::string& name, pickle::node_id tensor) {
        const std::string_view kept = g_.keep(as_bytes(std::string_view(name)));
        const pickle::node_id key = g_.add(pickle::node_kind::string, pickle::opcode::BINUNICODE, 0);
        g_.set_text(key, kept);
        entries_.push_back(key);
        entries_.push_back(tensor);
        return {};
    }

    static alloc::string join(const alloc::string& prefix, std::string_view name) {
        alloc::string out = prefix;
        if (!out.empty()) out += '.';
        out += name;
        return out;
    }

    status walk(pickle::node_id object, const alloc::string& prefix) {
        if (visiting_[object]) return error{errc::torch_bad_tensor, g_[object].offset, "a module tree without cycles"};
        visiting_[object] = 1;
        const pickle::node_ids attributes = g_.children(g_.states(object).back());
        // nn.Module: the three dicts that state_dict() reads.
        pickle::node_id parameters = pickle::no_node, buffers = pickle::no_node, modules = pickle::no_node,
                        non_persistent = pickle::no_node;
        for (std::size_t i = 0; i + 1 < attributes.size(); i += 2) {
            std::string_view key;
            if (!text(attributes[i], key)) continue;
            if (key == "_parameters") parameters = attributes[i + 1];
            else if (key == "_buffers") buffers = attributes[i + 1];
            else if (key == "_modules") modules = attributes[i + 1];
            else if (key == "_non_persistent_buffers_set") non_persistent = attributes[i + 1];
        }
        if (parameters != pickle::no_node || modules != pickle::no_node) {
            if (parameters != pickle::no_node) BRINE_TRY(tensors_in(parameters, prefix, pickle::no_node));
            if (buffers != pickle::no_node) BRINE_TRY(tensors_in(buffers, prefix, non_persistent));
            if (modules != pickle::no_node) {
                const pickle::node_ids children = entries_of(modules);
                for (std::size_t i = 0; i + 1 < children.size(); i += 2) {
                    std::string_view name;
                    if (!text(children[i], name) || !is_object(children[i + 1])) continue;  // None: no module
                    BRINE_TRY(walk(children[i + 1], join(prefix, name)));
                }
            }
        } else {
            // TorchScript: attributes in order; tensors are weights, objects are submodules.
            for (std::size_t i = 0; i + 1 < attributes.size(); i += 2) {
                std::string_view name;
                if (!text(attributes[i], name)) continue;
                const pickle::node_id value = attributes[i + 1];
                if (is_tensor(value)) BRINE_TRY(add(join(prefix, name), value));
                else if (is_object(value)) BRINE_TRY(walk(value, join(prefix, name)));
            }
        }
        visiting_[object] = 0;
        return {};
    }

    // The tensor entries of `_parameters` or `_buffers`, skipping None and the non-persistent.
    status tensors_in(pickle::node_id dict, const alloc::string& prefix, pickle::node_id skipped) {
        const pickle::node_ids entries = entries_of(dict);
        for (std::size_t i = 0; i + 1 < entries.size(); i += 2) {
            std::string_view name;
            if (!text(entries[i], name) || !is_tensor(entries[i + 1])) continue;
            if (skipped != pickle::no_node && in_set(skipped, name)) continue;
            BRINE_TRY(add(join(prefix, name), entries[i + 1]));
        }
        return {};
    }

    // Whether a set (EMPTY_SET + ADDITEMS, or builtins.set([...]) ) holds the string `name`.
    [[nodiscard]] bool in_set(pickle::node_id set, std::string_view name) const noexcept {
        pickle::node_ids members = g_.children(set);
        if (g_[set].kind == pickle::node_kind::call && members.size() >= 2 && !g_.children(members[1]).empty())
            members = g_.children(g_.children(members[1])[0]);  // set([...]): the list argument
        for (const pickle::node_id member : members) {
            std::string_view text_value;
            if (text(member, text_value) && text_value == name) return true;
        }
        return false;
    }

    pickle::graph& g_;
    alloc::vector<pickle::node_id> entries_;
    alloc::vector<std::uint8_t> visiting_;
};

}  // namespace detail

// Replaces the graph's root (a pickled module) by a state dict of its weights, built in the same
// graph; returns the number of tensors. The module structure stays in the graph, unreachable
// from the new root, so the writer never emits it.
[[nodiscard]] inline result<std::size_t> extract_state_dict(pickle::graph& g) {
    return detail::state_dict_builder(g).run();
}

}  // namespace torch
BRINE_NAMESPACE_END
