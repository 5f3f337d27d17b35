// SPDX-License-Identifier: MIT
//
// Which loader a file would meet, decided from its content the way torch.load and pickle.load
// decide (never from its name): "PK\3\4" at offset 0 is a zip (torch.load's _is_zipfile), and a
// zip with constants.pkl is TorchScript; a tar header is the pre-1.0 tar format; "\x93NUMPY" is a
// NumPy array; anything else is a pickle stream, which is a legacy torch.save stream when its
// first pickle is torch's magic number (see legacy.hpp) and a plain pickle otherwise.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>

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
// A POSIX tar header: "ustar" at 257, and a checksum field of octal digits (old GNU tar writes
// "ustar  \0"). Python's tarfile also reads pre-POSIX headers, but torch only ever wrote ustar.
template <class Source>
[[nodiscard]] bool looks_like_tar(const Source& source) noexcept {
    if (source.size() < 512) return false;
    std::uint8_t magic[5];
    if (!source.read_at(257, magic, sizeof magic)) return false;
    return std::memcmp(magic, "ustar", 5) == 0;
}
}  // namespace detail

template <class RandomAccessSource>
[[nodiscard]] result<format> detect(const RandomAccessSource& source) noexcept {
    static_assert(is_random_access_source_v<RandomAccessSource>, "detect() reads a RandomAccessSource");
    std::uint8_t head[6] = {};
    const std::size_t have = source.size() < sizeof head ? static_cast<std::size_t>(source.size()) : sizeof head;
    if (have == 0) return error{errc::torch_not_a_checkpoint, 0, "a non-empty file"};
    BRINE_TRY(source.read_at(0, head, have));
    if (have >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) return format::zip;
    if (have >= 6 && std::memcmp(head, "\x93NUMPY", 6) == 0) return format::numpy;
    if (detail::looks_like_tar(source)) return format::tar;
    return format::pickle_stream;
}

}  // namespace torch
BRINE_NAMESPACE_END
