// SPDX-License-Identifier: MIT
//
// The Writer slot of a disarmer: what writes the reconstruction (torch/reconstruction.hpp) of an
// input (a torch zip archive, a legacy stream, a bare pickle, a NumPy .npy or .npz) once
// everything was read and judged. writer::torch_zip rewrites each input canonically in its own
// format (a torch.save archive; a bare pickle: the pickle alone; NumPy: a fresh .npy / .npz),
// writer::safetensors writes a .safetensors file (torch checkpoints only). A Writer W has
//
//   static constexpr std::string_view name    what it writes, for reports ("torch zip")
//   template <class Parts, class SeekableSink>
//   status write(const Parts& parts, SeekableSink& out) const
//                                              writes the whole output to `out`
//
// and receives Parts with (parts_archetype below spells out the types):
//
//   torch::container from() const             the input's container (torch_zip, torch_legacy, pickle,
//                                              npy, npz)
//   const pickle::graph& values() const       the judged value graph
//   const torch::checkpoint& tensors() const  its tensors and storages, as the input names them
//   byte_view pickle() const                  the pickle rebuilt from values() (data.pkl)
//   std::size_t storage_count() const         the storages to write, in order
//   std::size_t source_index(std::size_t i) const
//                                              which storage of tensors() is written i-th
//   torch::storage_ref storage(std::size_t i) const
//                                              the i-th one, under the record key to write it as
//   bool known_crc(std::size_t i, std::uint32_t& crc) const
//                                              its CRC-32 when known in advance (else computed)
//   status copy_storage(std::size_t i, std::string_view record_name, Sink& sink) const
//                                              streams its bytes (through the Mtd policy) to sink
//   status add_record(Archive& archive, std::string_view name, byte_view bytes) const
//                                              adds a small record through the Mtd policy
//   status finish_records(Archive& archive) const
//                                              lets the Mtd policy add its records (a manifest)
//   status write_bare_pickle(Sink& sink) const
//                                              writes pickle() alone (through the Mtd policy)
//   status write_npy(Sink& sink) const        from() == npy: writes the .npy rebuilt from the one
//                                              reading (an object array from its evaluation; one
//                                              the policy refused in part is numpy_object_refused)
//   status write_npz(SeekableSink& sink) const
//                                              from() == npz: writes a fresh .npz (numeric members
//                                              streamed again from the input, object members from
//                                              their evaluation, refused ones left out)
//   status write_safetensors(Sink& sink) const
//                                              from() == safetensors: writes a fresh safetensors
//                                              file from the parsed header (same tensors, metadata)
//
// For NumPy and safetensors inputs values() is empty, tensors() has none and storage_count() is 0;
// no pickle is evaluated again while writing. A Writer that writes only torch checkpoints returns an error for
// them (writer::safetensors: errc::torch_not_a_checkpoint).
//
// Record keys, order and storage bytes are the Mtd policy's (storage(i), copy_storage): with
// mtd::none they are the input's. A Writer that writes nothing is an error the disarmer reports
// (errc::invalid_argument), never an empty output. check_writer<W>() states each requirement in
// its own static_assert.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/detect.hpp>
#include <brine/core/result.hpp>
#include <brine/pickle/value.hpp>
#include <brine/torch/checkpoint.hpp>
#include <brine/torch/reconstruction.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

BRINE_NAMESPACE_BEGIN
namespace writer {

// The least a Parts provides and the least a SeekableSink is: a Writer's write() must accept them.
struct seekable_sink_archetype {
    status write(byte_view) noexcept { return {}; }
    status write_at(std::uint64_t, byte_view) noexcept { return {}; }
};
struct parts_archetype {
    [[nodiscard]] torch::container from() const noexcept { return torch::container::torch_zip; }
    [[nodiscard]] const pickle::graph& values() const noexcept;
    [[nodiscard]] const torch::checkpoint& tensors() const noexcept;
    [[nodiscard]] std::size_t source_index(std::size_t i) const noexcept { return i; }
    [[nodiscard]] byte_view pickle() const noexcept { return {}; }
    [[nodiscard]] std::size_t storage_count() const noexcept { return 0; }
    [[nodiscard]] torch::storage_ref storage(std::size_t) const noexcept { return {}; }
    [[nodiscard]] bool known_crc(std::size_t, std::uint32_t&) const noexcept { return false; }
    template <class Sink>
    [[nodiscard]] status copy_storage(std::size_t, std::string_view, Sink&) const noexcept {
        return {};
    }
    template <class Archive>
    [[nodiscard]] status add_record(Archive&, std::string_view, byte_view) const noexcept {
        return {};
    }
    template <class Archive>
    [[nodiscard]] status finish_records(Archive&) const noexcept {
        return {};
    }
    template <class Sink>
    [[nodiscard]] status write_bare_pickle(Sink&) const noexcept {
        return {};
    }
    template <class Sink>
    [[nodiscard]] status write_npy(Sink&) const noexcept {
        return {};
    }
    template <class SeekableSink>
    [[nodiscard]] status write_npz(SeekableSink&) const noexcept {
        return {};
    }
    template <class Sink>
    [[nodiscard]] status write_safetensors(Sink&) const noexcept {
        return {};
    }
};

namespace detail {

template <class W>
using name_op = decltype(std::string_view(W::name));
template <class W>
using write_op = decltype(std::declval<const W&>().write(std::declval<const parts_archetype&>(),
                                                         std::declval<seekable_sink_archetype&>()));
template <class W>
inline constexpr bool has_name = is_detected_v<name_op, W>;
template <class W>
inline constexpr bool has_write = is_detected_exact_v<status, write_op, W>;

}  // namespace detail

template <class W>
inline constexpr bool is_writer_v = detail::has_name<W> && detail::has_write<W>;

template <class W>
constexpr bool check_writer() noexcept {
    static_assert(detail::has_name<W>, "brine Writer: needs static constexpr std::string_view name");
    static_assert(detail::has_write<W>,
                  "brine Writer: needs template <class Parts, class SeekableSink> status write(const Parts&, "
                  "SeekableSink&) const (writer/concept.hpp)");
    return is_writer_v<W>;
}

}  // namespace writer
BRINE_NAMESPACE_END
