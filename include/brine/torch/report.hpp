// SPDX-License-Identifier: MIT
//
// What scanning or disarming one file found: the findings (every refusal, with the pickle it came
// from, the opcode, the offset and the global), the tensors, and what was written. Owning copies,
// so a report outlives the input and the value graph (the CLI prints it, as text or JSON).
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/pickle/opcodes.hpp>
#include <brine/pickle/value.hpp>
#include <brine/pickle/writer.hpp>
#include <brine/torch/checkpoint.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace torch {

struct finding_entry {
    alloc::string part;        // the pickle it is in: "data.pkl", "pickle", "legacy main pickle"...
    bool in_pickle = true;   // false for findings about records or the module structure (no opcode)
    pickle::opcode op = pickle::opcode::STOP;
    std::uint64_t offset = 0;  // of the opcode, in the file (raw pickle, legacy) or in `part` (zip)
    alloc::string module;      // the global involved, if any
    alloc::string name;
    alloc::string reason;
};

struct tensor_entry {
    alloc::string name;
    dtype type = dtype::float32;
    layout kind = layout::strided;
    alloc::vector<std::int64_t> sizes;
    alloc::vector<std::int64_t> strides;
    std::int64_t storage_offset = 0;
    alloc::string storage_key;  // empty for tensors without storage (meta, sparse wrappers)
    bool parameter = false;
    bool requires_grad = false;
};

struct report {
    alloc::string format;        // "torch zip", "torch legacy", "pickle", ...
    int protocol = 0;          // of the (main) pickle
    alloc::vector<finding_entry> findings;
    alloc::vector<tensor_entry> tensors;
    std::size_t storages = 0;
    std::uint64_t storage_bytes = 0;
    bool written = false;      // disarm: the output file exists
    std::uint64_t output_size = 0;
    pickle::write_stats write;

    // Nothing refused, nothing left out.
    [[nodiscard]] bool clean() const noexcept { return findings.empty(); }
};

namespace detail {

inline void add_findings(report& out, const pickle::graph& g, std::string_view part, std::uint64_t base = 0) {
    for (const pickle::finding& f : g.findings()) {
        finding_entry e;
        e.part = alloc::string(part);
        e.op = f.op;
        e.offset = base + f.offset;
        e.module = alloc::string(f.module);
        e.name = alloc::string(f.name);
        e.reason = f.reason;
        out.findings.push_back(std::move(e));
    }
}

inline void add_tensors(report& out, const checkpoint& found) {
    out.storages = found.storages.size();
    for (const storage_ref& s : found.storages) out.storage_bytes += s.byte_size();
    for (const tensor_ref& t : found.tensors) {
        tensor_entry e;
        e.name = t.name;
        e.type = t.type;
        e.kind = t.kind;
        e.sizes = t.sizes;
        e.strides = t.strides;
        e.storage_offset = t.storage_offset;
        if (t.kind == layout::strided || t.kind == layout::quantized)
            e.storage_key = alloc::string(found.storages[t.storage].key);
        e.parameter = t.parameter;
        e.requires_grad = t.requires_grad;
        out.tensors.push_back(std::move(e));
    }
}

}  // namespace detail
}  // namespace torch
BRINE_NAMESPACE_END
