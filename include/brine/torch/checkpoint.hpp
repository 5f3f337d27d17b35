// SPDX-License-Identifier: MIT
//
// What a checkpoint pickle holds, as brine describes it: the storages it refers to (persistent
// ids: record key, dtype, element count, location) and the tensors that view them (offset, sizes,
// strides, a dotted name). torch/find_tensors.hpp fills these from a value graph, validated.
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/pickle/value.hpp>
#include <brine/torch/dtype.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace torch {

struct storage_ref {
    std::string_view key;        // the record is data/<key>
    dtype type = dtype::float32;
    std::uint64_t numel = 0;     // elements of `type`, as the persistent id declares
    std::string_view location;   // "cpu", "cuda:0"... (torch maps it on load; brine keeps it)
    pickle::node_id node = pickle::no_node;  // the persistent id (first seen)

    [[nodiscard]] std::uint64_t byte_size() const noexcept { return numel * info(type).item_size; }
};

enum class layout : std::uint8_t { strided, quantized, sparse_coo, sparse_compressed, meta };

struct tensor_ref {
    alloc::string name;                  // dotted path from the root; "" for the root itself
    layout kind = layout::strided;
    std::uint32_t storage = 0;         // index into checkpoint::storages (strided, quantized)
    dtype type = dtype::float32;
    std::int64_t storage_offset = 0;   // in elements
    alloc::vector<std::int64_t> sizes;
    alloc::vector<std::int64_t> strides;
    bool parameter = false;            // wrapped in torch.nn.Parameter
    bool requires_grad = false;
    pickle::node_id node = pickle::no_node;
    std::uint64_t offset = 0;          // of the opcode that made it, in its pickle
    std::uint32_t first_part = 0;      // sparse: index in checkpoint::tensors of its first part

    // Elements the view reaches: 0 for an empty tensor, else 1 + sum((size - 1) * stride).
    std::uint64_t extent = 0;
};

struct checkpoint {
    alloc::vector<storage_ref> storages;  // in order of first reference
    alloc::vector<tensor_ref> tensors;    // in order of first reference (depth first from the root)
    alloc::unordered_map<std::string_view, std::uint32_t> by_key;  // storage key -> index in storages

    // The index of the storage with `key`, or storages.size().
    [[nodiscard]] std::size_t find_storage(std::string_view key) const {
        const auto it = by_key.find(key);
        return it == by_key.end() ? storages.size() : it->second;
    }
};

}  // namespace torch
BRINE_NAMESPACE_END
