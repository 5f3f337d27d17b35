// SPDX-License-Identifier: MIT
//
// The hooks a disarmer (pipeline/disarm.hpp) calls on its Mtd policy, and its default policy, which
// applies no Moving Target Defense: storages keep their keys, their order and their bytes, and
// nothing is added. They belong to the disarm pipeline, so they live here beside it; the sealing
// policies (mtd/seal.hpp, a layer above) implement the same hooks. The default keeps the name
// mtd::none: it is the Mtd slot's "nothing" choice, next to mtd::basic_sealer.
//
// The hooks every Mtd policy has:
//
//   static constexpr bool seals               whether formats without storages to seal (npy,
//                                             npz) must be refused
//   bool changes_bytes()                      whether output bytes differ from input bytes (then
//                                             no input CRC-32 can be reused)
//   status prepare(const pickle::graph&, const torch::checkpoint&, torch::storage_keys&)
//                                             before anything is written: sees the judged value,
//                                             may name each storage's key in the output pickle
//                                             (torch/storage_keys.hpp; the disarmer applies it)
//   std::size_t order(i)                      the storage written i-th
//   std::string_view record_key(found, j)     the record key of storage j in the output
//   status add_record(archive, name, bytes)   writes a whole small record (data.pkl, version...)
//   auto wrap(j, name, storage, sink)         a sink for storage j's bytes on their way to `sink`,
//                                             with write(byte_view) and finish()
//   status finish_records(archive)            after the last record (a manifest goes here)
//   status raw_pickle(byte_view)              the output of a raw pickle, once written
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>

#include <cstddef>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace mtd {

// Forwards storage bytes unchanged.
template <class Sink>
class passthrough {
public:
    explicit passthrough(Sink& next) noexcept : next_(&next) {}
    status write(byte_view bytes) noexcept { return next_->write(bytes); }
    status finish() noexcept { return {}; }

private:
    Sink* next_;
};

struct none {
    static constexpr bool seals = false;

    [[nodiscard]] bool changes_bytes() const noexcept { return false; }
    template <class Graph, class Checkpoint, class Keys>
    [[nodiscard]] status prepare(const Graph&, const Checkpoint&, Keys&) noexcept {
        return {};
    }
    [[nodiscard]] std::size_t order(std::size_t i) const noexcept { return i; }
    template <class Checkpoint>
    [[nodiscard]] std::string_view record_key(const Checkpoint& found, std::size_t j) const noexcept {
        return found.storages[j].key;
    }
    template <class Archive>
    [[nodiscard]] status add_record(Archive& archive, std::string_view name, byte_view bytes) noexcept {
        return archive.add(name, bytes);
    }
    template <class Storage, class Sink>
    [[nodiscard]] passthrough<Sink> wrap(std::size_t, std::string_view, const Storage&, Sink& next) const noexcept {
        return passthrough<Sink>(next);
    }
    template <class Archive>
    [[nodiscard]] status finish_records(Archive&) noexcept {
        return {};
    }
    [[nodiscard]] status raw_pickle(byte_view) noexcept { return {}; }
};

}  // namespace mtd
BRINE_NAMESPACE_END
