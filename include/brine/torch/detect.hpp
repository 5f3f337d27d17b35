// SPDX-License-Identifier: MIT
//
// Which loader a file would meet, decided from its content the way the loaders decide (never
// from its name), and refused when two of them would read it as two different things (THREATS.md
// F6, F8):
//   - torch.load: "PK\3\4" at offset 0 is a zip (_is_zipfile), and a zip with constants.pkl is
//     TorchScript; any other file it opened itself goes to tarfile.open first (readings/
//     tar_block.hpp), and only when tarfile gives up to the legacy pickle stream;
//   - numpy.load: "PK\3\4" or "PK\5\6" (an empty zip) is an .npz, "\x93NUMPY" an .npy, anything
//     else a pickle (with allow_pickle);
//   - pickle.load: every file is a pickle stream.
// So a file is a zip, an .npy or a pickle stream (legacy torch.save when its first pickle is
// torch's magic number, see legacy.hpp; plain otherwise); a POSIX tar (the pre-1.0 format) is
// recognised to be refused by name. A block 0 that tarfile accepts without being a POSIX tar, or a
// file starting with an end-of-central-directory record, has two readings: ambiguous.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/readings/tar_block.hpp>

#include <cstdint>
#include <cstring>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace torch {

enum class format : std::uint8_t {
    zip,            // a zip: torch.save's archive, TorchScript or NumPy .npz (container.hpp decides)
    tar,            // the pre-1.0 tar format (members sys_info, pickle, storages, tensors)
    numpy,          // a NumPy .npy array
    pickle_stream,  // a pickle: a legacy torch.save stream or a plain pickle
};

[[nodiscard]] constexpr std::string_view to_string(format f) noexcept {
    switch (f) {
        case format::zip: return "zip";
        case format::tar: return "tar";
        case format::numpy: return "npy";
        case format::pickle_stream: return "pickle";
    }
    return "unknown";
}

namespace detail {
// A POSIX tar header, as torch's pre-1.0 format wrote it: "ustar" at 257 (old GNU tar writes
// "ustar  \0"). Refused by name even where tarfile would reject its checksum (GNU tar and other
// readers may not check it): no loader needs such a pickle.
[[nodiscard]] inline bool has_ustar_magic(byte_view block0) noexcept {
    return block0.size() >= readings::tar_block_size && std::memcmp(block0.data() + 257, "ustar", 5) == 0;
}
}  // namespace detail

template <class RandomAccessSource>
[[nodiscard]] result<format> detect(const RandomAccessSource& source) noexcept {
    static_assert(is_random_access_source_v<RandomAccessSource>, "detect() reads a RandomAccessSource");
    std::uint8_t head[readings::tar_block_size] = {};
    const std::uint64_t size = source.size();
    const std::size_t have = size < sizeof head ? static_cast<std::size_t>(size) : sizeof head;
    if (have == 0) return error{errc::torch_not_a_checkpoint, 0, "a non-empty file"};
    BRINE_TRY(source.read_at(0, head, have));
    const byte_view block0(head, have);
    if (readings::read_tar_block0(block0) == readings::tar_block0::header) {
        if (detail::has_ustar_magic(block0)) return format::tar;
        return error{errc::torch_ambiguous, readings::tar_checksum_offset,
                     "a file with one reading (tarfile takes its first 512 bytes for a tar header, "
                     "torch.load would unpickle its members)"};
    }
    if (have >= 4 && std::memcmp(head, "PK\x05\x06", 4) == 0)
        return error{errc::torch_ambiguous, 0,
                     "a file with one reading (an end-of-central-directory record at offset 0 is an "
                     ".npz to numpy.load and a pickle to torch.load)"};
    if (have >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) return format::zip;
    if (have >= 6 && std::memcmp(head, "\x93NUMPY", 6) == 0) return format::numpy;
    if (detail::has_ustar_magic(block0)) return format::tar;
    return format::pickle_stream;
}

}  // namespace torch
BRINE_NAMESPACE_END
