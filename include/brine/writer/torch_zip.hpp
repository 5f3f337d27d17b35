// SPDX-License-Identifier: MIT
//
// Writer policy: a canonical torch.save archive, written from scratch (never a patched copy of the
// input): <prefix>/data.pkl (the reconstructed pickle), <prefix>/byteorder ("little"), one
// <prefix>/data/<key> record per storage the pickle references, in order of first reference, each
// exactly numel x item size bytes and 64-byte aligned (zip::writer pads), then <prefix>/version.
// torch.load of every version since 1.6 reads this layout; records it does not know are ignored.
// The bundled writer rewrites each input canonically in its own format: a bare pickle (no archive
// in the input) as the rebuilt pickle alone, a NumPy .npy / .npz as a fresh .npy / .npz
// (numpy/npy.hpp write_rebuilt, numpy/npz_write.hpp).
//
// The parts it is given, and what a Writer must have, are in writer/concept.hpp.
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/torch/reconstruction.hpp>
#include <brine/zip/writer.hpp>

#include <string>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace writer {

struct torch_zip {
    static constexpr std::string_view name = "torch zip";
    // The archive's top-level folder: torch.save uses the file's stem; torch.load ignores it.
    std::string_view prefix = "archive";
    // The serialization format version torch.save writes (torch >= 1.6 reads "3").
    std::string_view version = "3\n";

    template <class Parts, class SeekableSink>
    [[nodiscard]] status write(const Parts& parts, SeekableSink& out) const noexcept {
        if (parts.from() == torch::container::pickle) return parts.write_bare_pickle(out);
        if (parts.from() == torch::container::npy) return parts.write_npy(out);
        if (parts.from() == torch::container::npz) return parts.write_npz(out);
        if (parts.from() == torch::container::safetensors) return parts.write_safetensors(out);
        zip::writer<SeekableSink> archive(out);
        BRINE_TRY(parts.add_record(archive, record("data.pkl"), parts.pickle()));
        BRINE_TRY(parts.add_record(archive, record("byteorder"), as_bytes(std::string_view("little"))));
        for (std::size_t i = 0; i < parts.storage_count(); ++i) {
            const auto storage = parts.storage(i);
            alloc::string key = "data/";
            key += storage.key;
            const alloc::string record_name = record(key);
            std::uint32_t crc = 0;
            if (parts.known_crc(i, crc)) {
                BRINE_TRY(archive.open_entry(record_name, storage.byte_size(), crc));
            } else {
                BRINE_TRY(archive.open_entry(record_name, storage.byte_size()));
            }
            BRINE_TRY(parts.copy_storage(i, record_name, archive));
            BRINE_TRY(archive.close_entry());
        }
        BRINE_TRY(parts.add_record(archive, record("version"), as_bytes(version)));
        BRINE_TRY(parts.finish_records(archive));
        return archive.finish();
    }

private:
    [[nodiscard]] alloc::string record(std::string_view record_name) const {
        alloc::string full(prefix);
        full += '/';
        full += record_name;
        return full;
    }
};

}  // namespace writer
BRINE_NAMESPACE_END
