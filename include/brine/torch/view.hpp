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
#include <brine/pickle/machine.hpp>
#include <brine/policy/torch_weights_only.hpp>
#include <brine/torch/archive.hpp>
#include <brine/torch/detect.hpp>
#include <brine/torch/find_tensors.hpp>
#include <brine/torch/legacy.hpp>
#include <brine/zip/reader.hpp>

#include <cstdint>
#include <memory>
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
    // Reads and validates `file`, which must stay alive (and unchanged) as long as the view.
    [[nodiscard]] static result<basic_checkpoint_view> open(byte_view file, const Policy& rules = Policy{}) {
        basic_checkpoint_view view;
        const memory_source source(file);
        auto kind = detect(source);
        BRINE_TRY(kind);
        pickle::machine<Policy, Limits> machine(rules);
        checkpoint found;
        std::vector<byte_view> storages;
        report ignored;
        if (*kind == format::zip) {
            auto archive = zip::reader<memory_source>::open(source);
            BRINE_TRY(archive);
            if (archive->find_record("constants.pkl"))
                return error{errc::torch_torchscript, 0, "a torch.save archive (TorchScript is refused by default)"};
            auto data_pkl = archive->find_record("data.pkl");
            if (!data_pkl) return error{errc::torch_no_data_pkl, 0, "a <folder>/data.pkl record"};
            BRINE_TRY(check_byteorder(*archive));
            BRINE_TRY(check_version(*archive));
            BRINE_TRY(stored_record(**data_pkl, file));
            const byte_view pickle = file.subview(static_cast<std::size_t>((*data_pkl)->data_offset),
                                                  static_cast<std::size_t>((*data_pkl)->uncompressed_size));
            BRINE_TRY(machine.run(pickle, *view.evaluation_));
            BRINE_TRY(check_python2_strings(view.evaluation_->values));  // as disarm: encoding='utf-8'
            detail::add_findings(ignored, view.evaluation_->values, "data.pkl");
            auto tensors = find_tensors(view.evaluation_->values);
            BRINE_TRY(tensors);
            found = std::move(*tensors);
            for (const storage_ref& storage : found.storages) {
                std::string name = "data/";
                name += storage.key;
                auto record = archive->find_record(name);
                if (!record) return error{errc::torch_missing_record, 0, "a data/<key> record for every storage", name};
                BRINE_TRY(stored_record(**record, file));
                if ((*record)->uncompressed_size != storage.byte_size())
                    return error{errc::torch_record_size, (*record)->local_header_offset,
                                 "a record of exactly numel x item size bytes", (*record)->name};
                // Verified once here: the engine then trusts the bytes it reads in place.
                counting_sink checked;
                BRINE_TRY(archive->extract(**record, checked));
                storages.push_back(file.subview(static_cast<std::size_t>((*record)->data_offset),
                                                static_cast<std::size_t>(storage.byte_size())));
            }
        } else if (*kind == format::pickle_stream) {
            pickle::evaluation first;
            BRINE_TRY(machine.run(file, first, true));
            if (!is_legacy_magic(first))
                return error{errc::torch_not_a_checkpoint, 0, "a torch checkpoint (a raw pickle holds no storages)"};
            auto stream = read_legacy(file, first.end_offset, machine, ignored);
            BRINE_TRY(stream);
            *view.evaluation_ = std::move(stream->main);
            found = std::move(stream->found);
            for (std::size_t i = 0; i < found.storages.size(); ++i)
                storages.push_back(file.subview(static_cast<std::size_t>(stream->data[i].offset),
                                                static_cast<std::size_t>(found.storages[i].byte_size())));
        } else {
            return error{errc::torch_not_a_checkpoint, 0, "a torch.save zip archive or legacy stream"};
        }
        // A view is offered only for a checkpoint the policy accepts whole.
        if (!ignored.findings.empty())
            return error{errc::torch_not_clean, ignored.findings.front().offset,
                         "a checkpoint the policy accepts whole (brine scan lists what it refuses)"};
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
    basic_checkpoint_view() : evaluation_(new pickle::evaluation) {}

    static status stored_record(const zip::entry& record, byte_view file) noexcept {
        if (!record.is_stored())
            return error{errc::zip_unsupported_method, record.local_header_offset,
                         "stored records for a zero-copy view (brine disarm rewrites the file stored)", record.name};
        if (record.data_offset > file.size() || record.uncompressed_size > file.size() - record.data_offset)
            return error{errc::zip_out_of_range, record.local_header_offset, "a record inside the file", record.name};
        return {};
    }

    // Names and keys point into the graph; it lives (and never moves) as long as the view.
    std::unique_ptr<pickle::evaluation> evaluation_;
    std::vector<tensor_view> tensors_;
};

using checkpoint_view = basic_checkpoint_view<>;

}  // namespace torch
BRINE_NAMESPACE_END
