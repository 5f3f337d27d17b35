// SPDX-License-Identifier: MIT
//
// What a seal records and how each digest is computed, shared by sealing, verifying and
// restoring: a tensor's manifest line, the globals, which chunks hold a tensor's bytes, and the
// tensor, record and "original" digests (the manifest's header comment gives their inputs).
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/mtd/digest.hpp>
#include <brine/mtd/manifest.hpp>
#include <brine/pickle/value.hpp>
#include <brine/torch/archive.hpp>
#include <brine/torch/checkpoint.hpp>
#include <brine/torch/dtype.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace mtd {

// The manifest's record inside a sealed archive, under the archive's folder.
inline constexpr std::string_view manifest_record_name = torch::sealed_manifest_record;

namespace detail {

[[nodiscard]] constexpr std::string_view layout_name(torch::layout kind) noexcept {
    switch (kind) {
        case torch::layout::strided: return "strided";
        case torch::layout::quantized: return "quantized";
        case torch::layout::sparse_coo: return "sparse_coo";
        case torch::layout::sparse_compressed: return "sparse_compressed";
        case torch::layout::meta: return "meta";
    }
    return "strided";
}

[[nodiscard]] inline bool has_storage(const torch::tensor_ref& t) noexcept {
    return t.kind == torch::layout::strided || t.kind == torch::layout::quantized;
}

// Storages holding a sparse tensor's index structure (COO indices, CSR row pointers and column
// indices). Strategies leave their bytes as they are: every loader validates them (torch refuses
// row pointers out of order), and a sealed file must still load.
[[nodiscard]] inline std::vector<bool> index_storages(const torch::checkpoint& found) {
    std::vector<bool> out(found.storages.size(), false);
    for (const torch::tensor_ref& t : found.tensors) {
        const std::size_t parts = t.kind == torch::layout::sparse_coo ? 1 : t.kind == torch::layout::sparse_compressed ? 2 : 0;
        for (std::size_t p = 0; p < parts && t.first_part + p < found.tensors.size(); ++p) {
            const torch::tensor_ref& part = found.tensors[t.first_part + p];
            if (has_storage(part) && part.storage < out.size()) out[part.storage] = true;
        }
    }
    return out;
}

[[nodiscard]] inline manifest_tensor describe(const torch::tensor_ref& t, std::int64_t record) {
    manifest_tensor out;
    out.name = t.name;
    out.type = std::string(torch::info(t.type).name);
    out.layout = std::string(layout_name(t.kind));
    out.sizes.assign(t.sizes.begin(), t.sizes.end());
    out.strides.assign(t.strides.begin(), t.strides.end());
    out.offset = t.storage_offset;
    out.record = has_storage(t) ? record : -1;
    out.parameter = t.parameter;
    out.requires_grad = t.requires_grad;
    return out;
}

// The globals a reconstruction writes, in order of first appearance in the graph.
[[nodiscard]] inline std::vector<manifest_global> globals_of(const pickle::graph& g) {
    std::vector<manifest_global> out;
    std::unordered_set<std::string> seen;  // "module\nname": a set, not a scan of `out` per global
    for (pickle::node_id id = pickle::graph::shared_constants; id < g.size(); ++id) {
        if (g[id].kind != pickle::node_kind::global || pickle::left_out(g, id)) continue;
        const pickle::global_name name = g.global(id);
        std::string key(name.module);
        key += '\n';
        key += name.name;
        if (seen.insert(std::move(key)).second) out.push_back({std::string(name.module), std::string(name.name)});
    }
    return out;
}

[[nodiscard]] inline bool dtype_named(std::string_view name, torch::dtype& out) noexcept {
    for (const torch::dtype_info& d : torch::dtypes)
        if (d.name == name) {
            out = d.type;
            return true;
        }
    return false;
}

// The chunks [first, end) of its record that hold a tensor's bytes. Permuted elements may be
// anywhere in the record: then all of them.
inline void tensor_chunks(const manifest_tensor& t, const manifest& m, std::uint64_t& first, std::uint64_t& end) {
    first = end = 0;
    if (t.record < 0 || static_cast<std::size_t>(t.record) >= m.records.size()) return;
    const manifest_record& r = m.records[static_cast<std::size_t>(t.record)];
    const std::uint64_t all = chunk_count(r.size, m.chunk_size);
    torch::dtype type = torch::dtype::uint8;
    if (!keeps_byte_positions(m.permute) || !dtype_named(t.type, type) || t.sizes.size() != t.strides.size()) {
        end = all;
        return;
    }
    std::uint64_t last = 0;  // element index of the last element, relative to the offset
    for (std::size_t i = 0; i < t.sizes.size(); ++i) {
        if (t.sizes[i] <= 0) return;  // empty: no bytes
        if (t.strides[i] < 0) {
            end = all;
            return;
        }
        last += static_cast<std::uint64_t>(t.sizes[i] - 1) * static_cast<std::uint64_t>(t.strides[i]);
    }
    const torch::dtype_info& d = torch::info(type);
    const std::uint64_t from = static_cast<std::uint64_t>(t.offset) / d.per_byte * d.item_size;
    const std::uint64_t to = (static_cast<std::uint64_t>(t.offset) + last) / d.per_byte * d.item_size + d.item_size;
    first = from / m.chunk_size;
    end = (to - 1) / m.chunk_size + 1;
    if (end > all) end = all;  // a tensor past its record: validated elsewhere; cover what exists
    if (first > end) first = end;
}

template <class Digester>
[[nodiscard]] digest tensor_digest(Digester& d, const manifest_tensor& t, const manifest& m,
                                          const std::vector<digest>& record_chunks) {
    std::uint64_t first = 0, end = 0;
    tensor_chunks(t, m, first, end);
    d.update(std::string_view("brine/tensor"));
    d.update_field(t.describe());
    d.update_u64(first);
    d.update_u64(end);
    for (std::uint64_t c = first; c < end; ++c)
        if (c < record_chunks.size()) d.update(record_chunks[static_cast<std::size_t>(c)]);
    return d.finish();
}

template <class Digester>
[[nodiscard]] digest record_digest(Digester& d, std::size_t index, const manifest_record& r) {
    d.update(std::string_view("brine/record"));
    d.update_u64(index);
    d.update_field(r.name);
    d.update_u64(r.size);
    d.update_u64(r.chunks.size());
    for (const digest& c : r.chunks) d.update(c);
    return d.finish();
}

// The ORIGINAL digest of record `index` (the storage's bytes before the strategy transformed
// them), started for `size` bytes that the caller then feeds, in pieces or at once.
template <class Digester>
void begin_original(Digester& d, std::size_t index, std::uint64_t size) {
    d.update(std::string_view("brine/original"));
    d.update_u64(index);
    d.update_u64(size);
}

template <class Digester>
[[nodiscard]] digest original_digest(Digester& d, std::size_t index, byte_view bytes) {
    begin_original(d, index, bytes.size());
    d.update(bytes);
    return d.finish();
}

// Collects one storage's bytes for a transformation that needs all of them.
struct storage_buffer {
    std::vector<std::uint8_t> bytes;
    std::uint64_t expected = 0;
    status write(byte_view more) {
        if (more.size() > expected - bytes.size())
            return error{errc::invalid_argument, bytes.size(), "no more storage bytes than numel x item size"};
        bytes.insert(bytes.end(), more.begin(), more.end());
        return {};
    }
};

template <class Sink>
inline status write_in_pieces(byte_view bytes, Sink& next) {
    constexpr std::size_t piece = std::size_t{256} << 10;
    for (std::size_t at = 0; at < bytes.size(); at += piece)
        BRINE_TRY(next.write(bytes.subview(at, bytes.size() - at < piece ? bytes.size() - at : piece)));
    return {};
}

[[nodiscard]] inline std::string folder_of(std::string_view record_name) {
    const std::size_t slash = record_name.find('/');
    return std::string(record_name.substr(0, slash == std::string_view::npos ? 0 : slash));
}

}  // namespace detail
}  // namespace mtd
BRINE_NAMESPACE_END
