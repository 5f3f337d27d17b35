// SPDX-License-Identifier: MIT
//
// The tensors of an evaluated checkpoint pickle, read off the value graph without running
// anything: which storages it refers to (persistent ids) and how each tensor views them (offset,
// sizes, strides), with a dotted name from the path that reaches it ("layer1.0.conv1.weight").
// Everything torch would trust is validated here (THREATS.md W rows): a known dtype per storage,
// one dtype and one size per storage key, non-negative sizes and strides, no overflow, every
// element inside its storage, no state set on a tensor after its rebuild call (W6). Record
// lengths are checked by the container (archive.hpp).
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/checked_arithmetic.hpp>
#include <brine/core/error.hpp>
#include <brine/core/result.hpp>
#include <brine/pickle/graph_queries.hpp>
#include <brine/pickle/name_table.hpp>
#include <brine/pickle/value.hpp>
#include <brine/torch/checkpoint.hpp>
#include <brine/torch/dtype.hpp>
#include <brine/torch/load_rules.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace torch {

namespace detail {

class analyzer {
public:
    explicit analyzer(const pickle::graph& g) noexcept : g_(g) {}

    result<checkpoint> run() {
        if (g_.root() == pickle::no_node) return error{errc::invalid_argument, 0, "an evaluated pickle"};
        visited_.assign(g_.size(), 0);
        paths_.clear();
        paths_.push_back({0, {}});
        // Depth first, iteratively (a hostile pickle may nest deeply). A node's dotted name is a
        // chain of steps in paths_, spelled out only for tensors: building every name on the way
        // costs the square of the depth (200 000 nested lists: seconds).
        struct pending {
            pickle::node_id id;
            std::uint32_t path;
        };
        alloc::vector<pending> work;
        work.push_back({g_.root(), 0});
        while (!work.empty()) {
            const pending next = work.back();
            work.pop_back();
            if (pickle::graph::is_shared_constant(next.id) || visited_[next.id]) continue;
            visited_[next.id] = 1;
            const pickle::node& n = g_[next.id];
            if (pickle::left_out(g_, next.id)) continue;  // not in the reconstruction: needs nothing
            if (n.kind == pickle::node_kind::call && makes_tensor(policy::callable_name(g_, next.id))) {
                auto name = name_of(next.path, g_[next.id].offset);
                BRINE_TRY(name);
                auto made = tensor_call(next.id, *name, 0);
                BRINE_TRY(made);
                if (*made) continue;
            }
            if (n.kind == pickle::node_kind::persistent_id) {
                BRINE_TRY(storage_of(next.id));
                continue;
            }
            // Containers and other calls: children get names, pushed in reverse so that the
            // first child is named first.
            const bool keyed = n.kind == pickle::node_kind::dict;
            const pickle::node_ids children = g_.children(next.id);
            const pickle::node_ids items = g_.items(next.id);
            // An entry whose key or value is left out is not written at all (pickle::writer's
            // next_entry): its value is no tensor of the reconstruction either.
            for (std::size_t i = items.size(); i >= 2; i -= 2)
                if (!pickle::left_out(g_, items[i - 2]))
                    work.push_back({items[i - 1], step(next.path, key_text(items[i - 2]))});
            for (std::size_t i = children.size(); i-- > 0;) {
                if (keyed) {
                    if (i % 2 == 1 && !pickle::left_out(g_, children[i - 1]))
                        work.push_back({children[i], step(next.path, key_text(children[i - 1]))});
                } else if (n.kind == pickle::node_kind::call) {
                    work.push_back({children[i], next.path});
                } else {
                    work.push_back({children[i], step(next.path, alloc::to_string(i))});
                }
            }
            for (const pickle::node_id state : g_.states(next.id)) work.push_back({state, next.path});
        }
        return std::move(out_);
    }

private:
    // Tensor names longer than this are refused: they only come from nesting no checkpoint has,
    // and spelling them out for every tensor would cost depth x tensors.
    static constexpr std::size_t max_name_length = 4096;
    // Tensors inside a tensor's arguments (a Parameter of a Parameter...): real ones go 3 deep.
    static constexpr int max_tensor_nesting = 16;

    struct path_step {
        std::uint32_t parent;  // index in paths_; paths_[0] is the root, the empty name
        alloc::string part;
    };

    std::uint32_t step(std::uint32_t parent, alloc::string part) {
        paths_.push_back({parent, std::move(part)});
        return static_cast<std::uint32_t>(paths_.size() - 1);
    }

    // The dotted name of a path: its steps from the root, joined with '.'.
    result<alloc::string> name_of(std::uint32_t path, std::uint64_t at) const {
        std::size_t length = 0;
        for (std::uint32_t p = path; p != 0; p = paths_[p].parent) {
            length += paths_[p].part.size() + (paths_[p].parent != 0 ? 1 : 0);
            if (length > max_name_length)
                return error{errc::limit_exceeded, at, "a tensor name of at most 4096 bytes (nesting that deep)"};
        }
        alloc::string name(length, '.');
        std::size_t end = length;
        for (std::uint32_t p = path; p != 0; p = paths_[p].parent) {
            const alloc::string& part = paths_[p].part;
            end -= part.size();
            std::copy(part.begin(), part.end(), name.begin() + static_cast<std::ptrdiff_t>(end));
            if (paths_[p].parent != 0) --end;  // the '.' already there
        }
        return name;
    }

    [[nodiscard]] static bool makes_tensor(const policy::qualified_name& callee) noexcept {
        for (const policy::qualified_name& maker : {rebuild_tensor_v2, rebuild_tensor, rebuild_qtensor, rebuild_parameter,
                                                    rebuild_parameter_with_state, rebuild_from_type_v2, rebuild_sparse,
                                                    rebuild_sparse_csr, rebuild_meta})
            if (same(callee, maker)) return true;
        return false;
    }

    alloc::string key_text(pickle::node_id id) const {
        const pickle::node& n = g_[id];
        if (n.kind == pickle::node_kind::string) return alloc::string(n.text());
        if (n.kind == pickle::node_kind::integer) return alloc::to_string(n.integer());
        return "?";
    }

    bool integer(pickle::node_id id, std::int64_t& out) const noexcept {
        const pickle::node& n = g_[id];
        if (n.kind != pickle::node_kind::integer) return false;
        out = n.integer();
        return true;
    }

    bool int_tuple(pickle::node_id id, alloc::vector<std::int64_t>& out) const {
        const pickle::node& n = g_[id];
        // torch.Size(...) pickles as a call to torch.Size with a tuple; plain tuples elsewhere.
        if (n.kind == pickle::node_kind::call && policy::callable_name(g_, id).name == "Size") {
            const pickle::node_ids parts = g_.children(id);
            if (parts.size() < 2 || g_.children(parts[1]).size() != 1) return false;
            return int_tuple(g_.children(parts[1])[0], out);
        }
        if (n.kind != pickle::node_kind::tuple) return false;
        out.clear();
        for (const pickle::node_id item : g_.children(id)) {
            std::int64_t v = 0;
            if (!integer(item, v)) return false;
            out.push_back(v);
        }
        return true;
    }

    bool boolean(pickle::node_id id, bool& out) const noexcept {
        const pickle::node& n = g_[id];
        if (n.kind != pickle::node_kind::boolean) return false;
        out = n.boolean();
        return true;
    }

    // Where to point at a state: its own opcode, or the call's when it is a shared constant
    // (offset 0 means nothing there).
    std::uint64_t state_offset(pickle::node_id call, pickle::node_id state) const noexcept {
        return pickle::graph::is_shared_constant(state) ? g_[call].offset : g_[state].offset;
    }

    // THREATS.md W6, (a): a BUILD on a tensor or Parameter. torch runs set_(*state) on a plain
    // Tensor (weights_only), or Tensor.__setstate__: a 4-sequence is set_(storage, offset, size,
    // stride), a 5-sequence sets .data, a 3-sequence requires_grad and backward hooks; even an
    // empty dict empties the tensor (set_()). Nothing benign writes it (torch.save pickles tensors
    // as rebuild calls without state), and the policies refuse it; one that lets it through (an
    // extension that lists a rebuild function) gets this error rather than a wrong description.
    status no_state_after_rebuild(pickle::node_id id) const noexcept {
        const pickle::node_ids states = g_.states(id);
        if (states.empty()) return {};
        return error{errc::torch_tensor_state, state_offset(id, states[0]),
                     "no BUILD on a tensor or Parameter (torch would set_() it onto other storage, or set its data, "
                     "requires_grad or hooks)"};
    }

    // Whether a value is empty as an object's attributes: None, {}, OrderedDict() with nothing set.
    bool empty_attributes(pickle::node_id id) const noexcept {
        const pickle::node& n = g_[id];
        if (n.kind == pickle::node_kind::none) return true;
        if (n.kind == pickle::node_kind::dict) return g_.children(id).empty();
        if (n.kind != pickle::node_kind::call || n.form != pickle::call_form::reduce ||
            !same(policy::callable_name(g_, id), ordered_dict))
            return false;
        const pickle::node_ids parts = g_.children(id);
        return parts.size() == 2 && g_.children(parts[1]).empty() && g_.items(id).empty() && g_.states(id).empty();
    }

    // THREATS.md W6, (b) and (c): the state argument of _rebuild_from_type_v2 and of
    // _rebuild_parameter_with_state. torch >= 2.0 setattr's each entry of it (a dict, or a
    // (dict, slots) pair) on the tensor (_set_obj_state): 'data' replaces the tensor's data,
    // 'requires_grad' and '_backward_hooks' change what brine reports, and other names may be
    // properties too (real, imag, names, grad, __class__...). torch 1.13 ignores it when the type
    // is Tensor and setattr's it otherwise. What torch writes for a tensor without Python
    // attributes is None (Python 3.11) or an empty dict: accepted, as a no-op in every version;
    // anything else is refused rather than modelled.
    status empty_object_state(pickle::node_id call, pickle::node_id state) const noexcept {
        if (empty_attributes(state)) return {};
        const pickle::node_ids pair = g_.children(state);
        if (g_[state].kind == pickle::node_kind::tuple && pair.size() == 2 && empty_attributes(pair[0]) &&
            empty_attributes(pair[1]))
            return {};
        return error{errc::torch_tensor_state, state_offset(call, state),
                     "an empty state for the tensor (None, {}, OrderedDict() or a pair of them): torch sets every "
                     "attribute of it on the tensor, 'data' replacing its data"};
    }

    error bad_tensor(pickle::node_id id, const char* what) const noexcept {
        return error{errc::torch_bad_tensor, g_[id].offset, what};
    }

    // The storage a persistent id stands for; every use of one key must agree.
    result<std::uint32_t> storage_of(pickle::node_id pid) {
        const pickle::node& n = g_[pid];
        const std::uint64_t at = n.offset;
        if (n.kind != pickle::node_kind::persistent_id || g_.children(pid).size() != 1)
            return error{errc::torch_bad_storage, at, "a persistent id"};
        const pickle::node_id tuple = g_.children(pid)[0];
        const pickle::node_ids parts = g_.children(tuple);
        if (g_[tuple].kind != pickle::node_kind::tuple || parts.size() != 5)
            return error{errc::torch_bad_storage, at, "('storage', storage class, key, location, numel)"};
        std::string_view tag, key, location;
        if (!policy::ascii_text(g_, parts[0], tag) || tag != "storage")
            return error{errc::torch_bad_storage, at, "a persistent id tagged 'storage'"};
        if (g_[parts[1]].kind != pickle::node_kind::global)
            return error{errc::torch_bad_storage, at, "a storage class global"};
        const pickle::global_name cls = g_.global(parts[1]);
        dtype type = dtype::float32;
        if (!dtype_of_storage(cls.module, cls.name, type))
            return error{errc::torch_unknown_dtype, at, "a storage class of a known dtype (torch.FloatStorage...)"};
        if (!storage_key_text(g_, parts[2], key)) {
            if (g_[parts[2]].kind == pickle::node_kind::bytes || g_[parts[2]].kind == pickle::node_kind::bytearray)
                return error{errc::torch_bad_key, at, "a str storage key (torch names a bytes key's record data/b'...')"};
            return error{errc::torch_bad_storage, at, "a storage key string"};
        }
        if (!plain_key(key)) return error{errc::torch_bad_key, at, "a storage key of letters, digits, '_' and '-'"};
        if (!policy::ascii_text(g_, parts[3], location))
            return error{errc::torch_bad_storage, at, "a storage location string"};
        if (!restorable_location(location))
            return error{errc::torch_bad_storage, at, "a storage location torch restores: 'cpu', 'cuda', 'cuda:N' or 'mps'"};
        std::int64_t numel = 0;
        if (!integer(parts[4], numel) || numel < 0)
            return error{errc::torch_bad_storage, at, "a non-negative storage numel"};
        std::uint64_t bytes = 0;
        if (!mul_fits(static_cast<std::uint64_t>(numel), info(type).item_size, bytes))
            return error{errc::torch_overflow, at, "a storage size that fits in 64 bits"};
        // A map, not a scan of the storages: a state dict may hold 100k of them.
        const auto [known, inserted] = out_.by_key.emplace(key, static_cast<std::uint32_t>(out_.storages.size()));
        if (!inserted) {
            const storage_ref& first = out_.storages[known->second];
            if (first.type != type)
                return error{errc::torch_dtype_conflict, at, "one dtype for every use of a storage key"};
            if (first.numel != static_cast<std::uint64_t>(numel))
                return error{errc::torch_bad_storage, at, "one numel for every use of a storage key"};
            return known->second;
        }
        out_.storages.push_back(storage_ref{key, type, static_cast<std::uint64_t>(numel), location, pid});
        return known->second;
    }

    // Sizes, strides and offset against the storage: every element the view reaches is inside.
    // Sub-byte quantized types pack 2 or 4 elements in each storage byte.
    status check_view(tensor_ref& t, std::uint64_t storage_numel, std::uint64_t at) const noexcept {
        if (t.sizes.size() != t.strides.size())
            return error{errc::torch_bad_shape, at, "as many strides as sizes"};
        if (t.storage_offset < 0) return error{errc::torch_bad_shape, at, "a non-negative storage offset"};
        bool empty = false;
        for (std::size_t i = 0; i < t.sizes.size(); ++i) {
            if (t.sizes[i] < 0 || t.strides[i] < 0)
                return error{errc::torch_bad_shape, at, "non-negative sizes and strides"};
            if (t.sizes[i] == 0) empty = true;
        }
        if (empty) {
            t.extent = 0;
            return {};
        }
        std::uint64_t last = 0;  // index of the last element reached, relative to the offset
        for (std::size_t i = 0; i < t.sizes.size(); ++i) {
            std::uint64_t step = 0;
            if (!mul_fits(static_cast<std::uint64_t>(t.sizes[i] - 1), static_cast<std::uint64_t>(t.strides[i]), step) ||
                !add_fits(last, step, last))
                return error{errc::torch_overflow, at, "sizes and strides whose extent fits in 64 bits"};
        }
        std::uint64_t end = 0;
        if (!add_fits(last, 1, t.extent) || !add_fits(static_cast<std::uint64_t>(t.storage_offset), t.extent, end))
            return error{errc::torch_overflow, at, "an offset and extent that fit in 64 bits"};
        const std::uint64_t per_byte = info(t.type).per_byte;
        if ((end + per_byte - 1) / per_byte > storage_numel)
            return error{errc::torch_out_of_storage, at, "storage_offset + extent within the storage's numel"};
        return {};
    }

    // A strided (or quantized) tensor from (storage, offset, size, stride, ...) arguments.
    status strided(tensor_ref& t, pickle::node_ids args, std::uint64_t at) {
        if (args.size() < 4) return error{errc::torch_bad_tensor, at, "(storage, offset, size, stride, ...)"};
        auto storage = storage_of(args[0]);
        BRINE_TRY(storage);
        t.storage = *storage;
        t.type = out_.storages[*storage].type;
        if (!integer(args[1], t.storage_offset)) return error{errc::torch_bad_tensor, at, "an int storage offset"};
        if (!int_tuple(args[2], t.sizes) || !int_tuple(args[3], t.strides))
            return error{errc::torch_bad_tensor, at, "size and stride tuples of ints"};
        if (t.kind == layout::strided && args.size() >= 5 && !boolean(args[4], t.requires_grad))
            return error{errc::torch_bad_tensor, at, "a bool requires_grad"};
        const bool quantized = info(t.type).quantized;
        if (quantized != (t.kind == layout::quantized))
            return error{errc::torch_bad_tensor, at, "quantized storage classes for quantized tensors only"};
        return check_view(t, out_.storages[*storage].numel, at);
    }

    // If `id` is a call that makes a tensor, records it (and the tensors inside it) and says so.
    result<bool> tensor_call(pickle::node_id id, const alloc::string& name, int depth) {
        if (depth > max_tensor_nesting)
            return bad_tensor(id, "tensors nested in tensor arguments at most 16 deep");
        const policy::qualified_name callee = policy::callable_name(g_, id);
        const pickle::node_ids parts = g_.children(id);
        if (parts.size() < 2) return false;
        const pickle::node_ids args = g_.children(parts[1]);
        const std::uint64_t at = g_[id].offset;
        const std::size_t arity = rebuild_arity(callee);
        if (arity == 0) return false;
        // NEWOBJ would call function.__new__ (a TypeError); REDUCE, INST and OBJ call it.
        const pickle::call_form form = g_[id].form;
        if (form == pickle::call_form::newobj || form == pickle::call_form::newobj_ex)
            return bad_tensor(id, "a call of the rebuild function (REDUCE), not NEWOBJ");
        if (g_[parts[1]].kind != pickle::node_kind::tuple || args.size() != arity) {
            static const char* const expected[] = {
                "", "", "the 2 arguments of a sparse rebuild function (layout, data)",
                "the 3 arguments of _rebuild_parameter (data, requires_grad, backward_hooks)",
                "the 4 arguments of its torch signature (_rebuild_tensor, _rebuild_parameter_with_state, "
                "_rebuild_meta_tensor_no_storage, _rebuild_from_type_v2)",
                "", "the 6 arguments of _rebuild_tensor_v2 in torch 1.13 (storage, storage_offset, size, stride, "
                "requires_grad, backward_hooks)",
                "the 7 arguments of _rebuild_qtensor"};
            return bad_tensor(id, expected[arity]);
        }
        BRINE_TRY(no_state_after_rebuild(id));
        tensor_ref t;
        t.name = name;
        t.node = id;
        t.offset = at;
        if (same(callee, rebuild_tensor_v2) || same(callee, rebuild_tensor)) {
            BRINE_TRY(strided(t, args, at));
        } else if (same(callee, rebuild_qtensor)) {
            t.kind = layout::quantized;
            BRINE_TRY(strided(t, args, at));
            if (args.size() >= 5) BRINE_TRY(nested(args[4], name + ".quantizer", depth + 1));
        } else if (same(callee, rebuild_parameter) || same(callee, rebuild_parameter_with_state)) {
            if (args.empty()) return bad_tensor(id, "a tensor to wrap in a Parameter");
            if (same(callee, rebuild_parameter_with_state)) BRINE_TRY(empty_object_state(id, args[3]));
            const std::size_t before = out_.tensors.size();
            BRINE_TRY(nested(args[0], name, depth + 1));
            if (out_.tensors.size() == before) return bad_tensor(id, "a tensor to wrap in a Parameter");
            out_.tensors[before].parameter = true;
            if (args.size() >= 2 && !boolean(args[1], out_.tensors[before].requires_grad))
                return bad_tensor(id, "a bool requires_grad");
            return true;
        } else if (same(callee, rebuild_from_type_v2)) {
            // (func, new_type, args, state): the tensor is func(*args), as new_type
            // (ret.as_subclass(new_type), which keeps requires_grad), with state's attributes.
            if (args.size() < 4) return bad_tensor(id, "(func, type, args, state)");
            const policy::qualified_name func = policy::callable_name(g_, args[0]);
            if (!same(func, rebuild_tensor_v2)) return bad_tensor(id, "_rebuild_tensor_v2 as the function");
            // func(*args): the argument count of _rebuild_tensor_v2 applies to args.
            if (g_[args[2]].kind != pickle::node_kind::tuple || g_.children(args[2]).size() != rebuild_arity(func))
                return bad_tensor(id, "the 6 arguments of _rebuild_tensor_v2 in torch 1.13 as args");
            // A class, or torch fails (as_subclass); another class than Tensor and Parameter is one a
            // policy was told to allow, and is described as the tensor it wraps.
            if (g_[args[1]].kind != pickle::node_kind::global) return bad_tensor(id, "a tensor class as the type");
            t.parameter = same(policy::callable_name(g_, args[1]), parameter_class);
            BRINE_TRY(empty_object_state(id, args[3]));
            BRINE_TRY(strided(t, g_.children(args[2]), at));
        } else if (same(callee, rebuild_sparse) || same(callee, rebuild_sparse_csr)) {
            // (layout, (indices, values, size)) or (layout, (crow, col, values, size)).
            if (args.size() < 2 || g_[args[1]].kind != pickle::node_kind::tuple)
                return bad_tensor(id, "(layout, parts tuple)");
            t.kind = same(callee, rebuild_sparse) ? layout::sparse_coo : layout::sparse_compressed;
            const pickle::node_ids sparse_parts = g_.children(args[1]);
            if (sparse_parts.size() < 3) return bad_tensor(id, "sparse parts and a size");
            if (!int_tuple(sparse_parts[sparse_parts.size() - 1], t.sizes))
                return bad_tensor(id, "a sparse size tuple of ints");
            for (const std::int64_t size : t.sizes)
                if (size < 0) return error{errc::torch_bad_shape, at, "non-negative sizes"};
            static const char* const coo_names[] = {"indices", "values"};
            static const char* const csr_names[] = {"crow_indices", "col_indices", "values"};
            const std::size_t dense_parts = sparse_parts.size() - 1;
            t.first_part = static_cast<std::uint32_t>(out_.tensors.size() + 1);
            out_.tensors.push_back(std::move(t));
            const std::size_t self = out_.tensors.size() - 1;
            const std::size_t first_part = out_.tensors.size();
            for (std::size_t i = 0; i < dense_parts; ++i) {
                const char* part = out_.tensors[self].kind == layout::sparse_coo ? (i < 2 ? coo_names[i] : "part")
                                                                                 : (i < 3 ? csr_names[i] : "part");
                BRINE_TRY(nested(sparse_parts[i], name + "." + part, depth + 1));
            }
            BRINE_TRY(check_sparse(self, first_part, at));
            out_.tensors[self].type = out_.tensors.back().type;  // the values' dtype
            return true;
        } else if (same(callee, rebuild_meta)) {
            t.kind = layout::meta;
            if (args.size() < 3 || !int_tuple(args[1], t.sizes) || !int_tuple(args[2], t.strides))
                return bad_tensor(id, "(dtype, size, stride, ...)");
            for (std::size_t i = 0; i < t.sizes.size(); ++i)
                if (t.sizes[i] < 0 || (i < t.strides.size() && t.strides[i] < 0))
                    return error{errc::torch_bad_shape, at, "non-negative sizes and strides"};
        } else {
            return false;
        }
        out_.tensors.push_back(std::move(t));
        return true;
    }

    // Tensors inside a tensor's arguments (a Parameter's data, sparse parts, per-channel scales).
    status nested(pickle::node_id id, const alloc::string& name, int depth) {
        if (depth > max_tensor_nesting)
            return error{errc::torch_bad_tensor, g_[id].offset, "tensors nested in tensor arguments at most 16 deep"};
        if (pickle::graph::is_shared_constant(id) || visited_[id]) return {};
        visited_[id] = 1;
        const pickle::node& n = g_[id];
        if (pickle::left_out(g_, id)) return {};
        if (n.kind == pickle::node_kind::call) {
            auto made = tensor_call(id, name, depth);
            BRINE_TRY(made);
            return {};
        }
        if (n.kind == pickle::node_kind::tuple) {
            const pickle::node_ids items = g_.children(id);
            for (std::size_t i = 0; i < items.size(); ++i)
                BRINE_TRY(nested(items[i], name + "." + alloc::to_string(i), depth + 1));
        }
        return {};
    }

    // The shapes of a sparse tensor's parts agree with its size (the index values themselves are
    // checked against the size when the records are read: see archive.hpp).
    status check_sparse(std::size_t self, std::size_t first_part, std::uint64_t at) const noexcept {
        const tensor_ref& t = out_.tensors[self];
        const std::size_t parts = out_.tensors.size() - first_part;
        if (t.kind == layout::sparse_coo) {
            if (parts != 2) return error{errc::torch_bad_sparse, at, "indices and values tensors"};
            const tensor_ref& indices = out_.tensors[first_part];
            const tensor_ref& values = out_.tensors[first_part + 1];
            if (indices.type != dtype::int64 || indices.sizes.size() != 2)
                return error{errc::torch_bad_sparse, at, "2-d int64 indices"};
            const auto sparse_dims = static_cast<std::size_t>(indices.sizes[0]);
            if (sparse_dims > t.sizes.size() || values.sizes.empty() || values.sizes[0] != indices.sizes[1] ||
                values.sizes.size() != 1 + t.sizes.size() - sparse_dims)
                return error{errc::torch_bad_sparse, at, "indices and values whose shapes match the size"};
        } else {
            if (parts != 3) return error{errc::torch_bad_sparse, at, "compressed indices, plain indices and values"};
        }
        return {};
    }

    const pickle::graph& g_;
    checkpoint out_;
    alloc::vector<std::uint8_t> visited_;
    alloc::vector<path_step> paths_;
};

}  // namespace detail

// The index values of sparse tensors, read from their storages' bytes (THREATS.md W4): COO
// indices within the size in every sparse dimension; compressed (CSR) row pointers starting at 0,
// never decreasing, ending at the number of values, and column indices within the size.
// `read(storage index, alloc::vector<std::uint8_t>&)` loads a storage's bytes.
template <class Read>
[[nodiscard]] status check_sparse_indices(const checkpoint& found, Read&& read) {
    alloc::vector<std::uint8_t> bytes;
    const auto element = [&](const tensor_ref& t, std::int64_t i, std::int64_t j) -> std::int64_t {
        const std::uint64_t at = static_cast<std::uint64_t>(t.storage_offset + i * t.strides[0] +
                                                            (t.sizes.size() > 1 ? j * t.strides[1] : 0));
        std::int64_t v;
        std::memcpy(&v, bytes.data() + at * 8, 8);  // little-endian hosts (byteorder checked)
        return v;
    };
    for (const tensor_ref& t : found.tensors) {
        if (t.kind != layout::sparse_coo && t.kind != layout::sparse_compressed) continue;
        const std::uint64_t at = t.offset;
        if (t.kind == layout::sparse_coo) {
            const tensor_ref& indices = found.tensors[t.first_part];
            BRINE_TRY(read(indices.storage, bytes));
            const std::int64_t dims = indices.sizes[0], nnz = indices.sizes[1];
            for (std::int64_t d = 0; d < dims; ++d)
                for (std::int64_t j = 0; j < nnz; ++j) {
                    const std::int64_t v = element(indices, d, j);
                    if (v < 0 || v >= t.sizes[static_cast<std::size_t>(d)])
                        return error{errc::torch_bad_sparse, at, "sparse indices within the tensor's size"};
                }
            continue;
        }
        const tensor_ref& rows = found.tensors[t.first_part];
        const tensor_ref& columns = found.tensors[t.first_part + 1];
        if (rows.type != dtype::int64 || columns.type != dtype::int64 || rows.sizes.size() != 1 ||
            columns.sizes.size() != 1 || t.sizes.size() != 2 || rows.sizes[0] != t.sizes[0] + 1)
            return error{errc::torch_bad_sparse, at, "int64 row pointers (one per row, plus one) and column indices"};
        BRINE_TRY(read(rows.storage, bytes));
        std::int64_t previous = 0;
        for (std::int64_t r = 0; r < rows.sizes[0]; ++r) {
            const std::int64_t v = element(rows, r, 0);
            if ((r == 0 && v != 0) || v < previous)
                return error{errc::torch_bad_sparse, at, "row pointers from 0, never decreasing"};
            previous = v;
        }
        if (previous != columns.sizes[0])
            return error{errc::torch_bad_sparse, at, "a last row pointer equal to the number of values"};
        BRINE_TRY(read(columns.storage, bytes));
        for (std::int64_t j = 0; j < columns.sizes[0]; ++j) {
            const std::int64_t v = element(columns, j, 0);
            if (v < 0 || v >= t.sizes[1]) return error{errc::torch_bad_sparse, at, "column indices within the size"};
        }
    }
    return {};
}

// The storages and tensors of an evaluated checkpoint pickle, validated (W rows). What the
// reconstruction leaves out (pickle::left_out) is skipped: it needs no storage.
[[nodiscard]] inline result<checkpoint> find_tensors(const pickle::graph& g) {
    return detail::analyzer(g).run();
}

}  // namespace torch
BRINE_NAMESPACE_END
