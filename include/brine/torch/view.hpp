// SPDX-License-Identifier: MIT
//
// A checkpoint view for inference engines: the tensors of a checkpoint held in memory (a mapped
// file or a buffer), each with its dotted name, dtype, shape, strides and the bytes it reads,
// as views into that memory: nothing is copied, and nothing the policy refuses is offered.
// Everything is validated first (allowlist, tensor bounds, record sizes); a view exists only for
// a checkpoint that would also disarm cleanly, so an engine can use the bytes as they are.
//
//     auto file = brine::mapped_file::open("model.pt");
//     auto view = brine::torch::checkpoint_view::open(file->bytes());
//     for (const auto& t : view->tensors()) engine.load(t.name, t.type, t.sizes, t.data);
//
// Storages must be stored (not deflated) for zero-copy access, as torch.save writes them; a
// deflated record is refused (brine disarm rewrites such a file as stored).
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/pickle/reader.hpp>
#include <brine/policy/torch_weights_only.hpp>
#include <brine/torch/detect.hpp>
#include <brine/torch/formats.hpp>
#include <brine/torch/read_checkpoint.hpp>
#include <brine/zip/reader.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace torch {

struct tensor_view {
    std::string name;
    dtype type = dtype::float32;
    std::vector<std::int64_t> sizes;
    std::vector<std::int64_t> strides;    // in elements
    std::int64_t storage_offset = 0;      // in elements
    byte_view storage;                    // the whole storage the tensor views
    // The bytes from the tensor's first element to one past its last, as laid out in the
    // storage (with strides; contiguous when strides are row-major). Empty for empty tensors.
    byte_view data;
    bool parameter = false;
    bool requires_grad = false;
};

template <class Policy = policy::torch_weights_only, class Limits = pickle::limits::standard>
class basic_checkpoint_view {
public:
    // Reads and validates `file`, which must stay alive (and unchanged) as long as the view. The
    // reading is the disarmer's (torch/read_checkpoint.hpp): a view exists only for what would
    // disarm with no finding.
    [[nodiscard]] static result<basic_checkpoint_view> open(byte_view file, const Policy& rules = Policy{}) {
        const memory_source source(file);
        auto kind = detect(source);
        BRINE_TRY(kind);
        if (*kind != format::zip && *kind != format::pickle_stream)
            return error{errc::torch_not_a_checkpoint, 0, "a torch.save zip archive or legacy stream"};
        const checkpoint_reader<pickle::reader<Limits>, Policy, formats::checkpoints_only> reading(rules, false);
        auto read = *kind == format::zip ? reading.read_zip(source) : reading.read_pickle_stream(file, source);
        BRINE_TRY(read);
        if (read->from == container::pickle)
            return error{errc::torch_not_a_checkpoint, 0, "a torch checkpoint (a raw pickle holds no storages)"};
        // A view is offered only for a checkpoint the policy accepts whole.
        if (!read->described.findings.empty())
            return error{errc::torch_not_clean, read->described.findings.front().offset,
                         "a checkpoint the policy accepts whole (brine scan lists what it refuses)"};
        const checkpoint& found = read->found;
        std::vector<byte_view> storages;
        for (std::size_t j = 0; j < found.storages.size(); ++j) {
            const std::uint64_t size = found.storages[j].byte_size();
            if (const zip::entry* record = read->record(j)) {
                BRINE_TRY(stored_record(*record, file));
                // Verified once here: the engine then trusts the bytes it reads in place.
                counting_sink checked;
                BRINE_TRY(read->copy_storage(j, checked));
            }
            storages.push_back(file.subview(static_cast<std::size_t>(read->data_offset(j)), static_cast<std::size_t>(size)));
        }
        basic_checkpoint_view view;
        for (const tensor_ref& t : found.tensors) {
            if (t.kind != layout::strided && t.kind != layout::quantized) continue;  // no storage of their own
            tensor_view v;
            v.name = t.name;
            v.type = t.type;
            v.sizes = t.sizes;
            v.strides = t.strides;
            v.storage_offset = t.storage_offset;
            v.storage = storages[t.storage];
            const std::size_t item = info(t.type).item_size;
            const std::size_t per_byte = info(t.type).per_byte;  // sub-byte types: elements per byte
            if (t.extent != 0) {
                const std::size_t first = static_cast<std::size_t>(t.storage_offset) / per_byte * item;
                const std::size_t end =
                    (static_cast<std::size_t>(t.storage_offset + static_cast<std::int64_t>(t.extent)) + per_byte - 1) /
                    per_byte * item;
                v.data = v.storage.subview(first, end - first);
            }
            v.parameter = t.parameter;
            v.requires_grad = t.requires_grad;
            view.tensors_.push_back(std::move(v));
        }
        return view;
    }

    [[nodiscard]] const std::vector<tensor_view>& tensors() const noexcept { return tensors_; }

    // The tensor named `name`, or nullptr.
    [[nodiscard]] const tensor_view* find(std::string_view name) const noexcept {
        for (const tensor_view& t : tensors_)
            if (t.name == name) return &t;
        return nullptr;
    }

private:
    basic_checkpoint_view() = default;

    static status stored_record(const zip::entry& record, byte_view file) noexcept {
        if (!record.is_stored())
            return error{errc::zip_unsupported_method, record.local_header_offset,
                         "stored records for a zero-copy view (brine disarm rewrites the file stored)", record.name};
        if (record.data_offset > file.size() || record.uncompressed_size > file.size() - record.data_offset)
            return error{errc::zip_out_of_range, record.local_header_offset, "a record inside the file", record.name};
        return {};
    }

    std::vector<tensor_view> tensors_;  // names copied: nothing points into the reading
};

using checkpoint_view = basic_checkpoint_view<>;

}  // namespace torch
BRINE_NAMESPACE_END
