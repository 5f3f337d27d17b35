// SPDX-License-Identifier: MIT
//
// The reconstruction: the one value every input (a torch.save zip archive, a legacy stream, a bare
// pickle; TorchScript and pickled modules once their weights are extracted; a NumPy .npy or .npz)
// is read into before anything is written, by torch/read_checkpoint.hpp. It holds everything a
// writer needs:
//
//   described   the report so far: format, protocol, findings (what the policy refused and the
//               records left out), tensors
//   values()    the judged value graph: what the allowlist allowed, refused values blocked
//   found       the tensors and storages as torch would build them from it (validated)
//   copy_storage(j, sink), known_crc(j, crc)
//               storage j's bytes streamed from the input (a zip record, checked against its
//               CRC-32 and size as it is read; a range of a legacy stream)
//
// The disarmer (pipeline/disarm.hpp) then lets its Mtd policy choose the output's record keys,
// order and byte transformation (torch inputs), and hands the Writer the parts to write
// (writer/concept.hpp). For NumPy inputs values() is empty and found has no tensors.
// basic_checkpoint_view (torch/view.hpp) reads the same value and offers its storages in place.
//
// Moving the value keeps every view into it valid: the graph's nodes and the archive's entries
// live in heap blocks that move with it, and names point into the extracted data.pkl (a heap
// block too) or the caller's input. Nothing here allocates with new: a disarmer on a caller's
// arena (BRINE_CALLER_ARENA) reads through it.
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/memory.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/numpy/npy.hpp>
#include <brine/numpy/npz.hpp>
#include <brine/pickle/machine.hpp>
#include <brine/safetensors/format.hpp>
#include <brine/torch/checkpoint.hpp>
#include <brine/torch/report.hpp>
#include <brine/zip/reader.hpp>

#include <cassert>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

BRINE_NAMESPACE_BEGIN
namespace torch {

// The container a reconstruction was read from; the bundled Writer writes a torch zip for the
// first two, the pickle alone for a bare pickle, a fresh .npy / .npz for NumPy inputs and a fresh
// safetensors file for a safetensors input.
enum class container : std::uint8_t { torch_zip, torch_legacy, pickle, npy, npz, safetensors };

// The NumPy containers: no torch pickle, no tensors; the scans hold what a writer needs.
[[nodiscard]] constexpr bool is_numpy(container c) noexcept { return c == container::npy || c == container::npz; }
// Whether the input held a torch pickle (values() and found describe it): not NumPy, not safetensors.
[[nodiscard]] constexpr bool holds_torch_pickle(container c) noexcept {
    return !is_numpy(c) && c != container::safetensors;
}

// Stands in for the safetensors header in a reconstruction that cannot hold one.
struct no_safetensors_header {};

// WithSafetensors: whether it can hold a safetensors input (a Formats policy that leaves
// safetensors out keeps its std containers out of a heap-free build).
template <class RandomAccessSource, bool WithSafetensors = true>
class reconstruction {
public:
    report described;
    container from = container::pickle;
    checkpoint found;

    [[nodiscard]] pickle::graph& values() noexcept { return evaluated_.values; }
    [[nodiscard]] const pickle::graph& values() const noexcept { return evaluated_.values; }
    [[nodiscard]] const pickle::evaluation& evaluation() const noexcept { return evaluated_; }

    // Streams storage j's bytes into `sink`: exactly found.storages[j].byte_size() of them.
    template <class Sink>
    [[nodiscard]] status copy_storage(std::size_t j, Sink& sink) const {
        if (from == container::torch_zip) return archive_->extract(*records_[j], sink);
        if (from == container::torch_legacy)
            return copy_range(*source_, offsets_[j], found.storages[j].byte_size(), sink);
        return error{errc::invalid_argument, 0, "a checkpoint with storage data (a bare pickle has none)"};
    }
    // A storage copied whole from a zip record: the record's CRC-32 (extraction verifies it).
    [[nodiscard]] bool known_crc(std::size_t j, std::uint32_t& crc) const noexcept {
        if (from != container::torch_zip) return false;
        crc = records_[j]->crc32;
        return true;
    }
    // Where storage j's bytes are: its zip record (torch zip), or nullptr.
    [[nodiscard]] const zip::entry* record(std::size_t j) const noexcept {
        return from == container::torch_zip ? records_[j] : nullptr;
    }
    // Where storage j's bytes start in the input (a legacy stream's data; a zip record's data,
    // which is the bytes themselves only for a stored record).
    [[nodiscard]] std::uint64_t data_offset(std::size_t j) const noexcept {
        if (from == container::torch_zip) return records_[j]->data_offset;
        return from == container::torch_legacy ? offsets_[j] : 0;
    }

    // A NumPy input (from == npy / npz), as numpy::scan_npy / numpy::scan_npz read it.
    [[nodiscard]] const numpy::npy_scan& npy() const noexcept {
        assert(npy_.has_value());
        return *npy_;
    }
    [[nodiscard]] const numpy::npz_scan& npz() const noexcept {
        assert(npz_.has_value());
        return *npz_;
    }
    // A safetensors input (from == safetensors): its validated header; tensors' data point into
    // the caller's input.
    [[nodiscard]] const safetensors::header& safetensors_header() const noexcept {
        static_assert(WithSafetensors, "a reconstruction of a disarmer whose Formats policy reads safetensors");
        assert(safetensors_.has_value());
        return *safetensors_;
    }
    // The .npz archive, its entries parallel to npz().members.
    [[nodiscard]] const zip::reader<RandomAccessSource>& npz_archive() const noexcept {
        assert(from == container::npz && archive_.has_value());
        return *archive_;
    }

private:
    template <class, class, class>
    friend class checkpoint_reader;

    const RandomAccessSource* source_ = nullptr;
    std::optional<zip::reader<RandomAccessSource>> archive_;    // torch zip, npz
    std::optional<numpy::npy_scan> npy_;                        // npy
    std::optional<numpy::npz_scan> npz_;                        // npz
    std::conditional_t<WithSafetensors, std::optional<safetensors::header>, no_safetensors_header> safetensors_;
    pickle::evaluation evaluated_;
    ::brine::detail::raw_block pickle_bytes_;                   // torch zip: data.pkl, extracted
    alloc::vector<const zip::entry*> records_;                  // torch zip: parallel to found.storages
    alloc::vector<std::uint64_t> offsets_;                      // legacy: parallel to found.storages
};

}  // namespace torch
BRINE_NAMESPACE_END
