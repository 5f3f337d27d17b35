// SPDX-License-Identifier: MIT
//
// Checks every reader of a torch.save archive makes, whatever it does next (disarm, view, verify).
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/zip/reader.hpp>

#include <cstdint>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace torch {

// The archive's byteorder record, when it has one, must say "little": torch would read every
// storage of a "big" archive byte-swapped (THREATS.md W5), and brine refuses rather than swap.
template <class Archive>
[[nodiscard]] inline status check_byteorder(const Archive& archive) noexcept {
    auto found = archive.find_record("byteorder");
    if (!found) return {};
    const zip::entry& record = **found;
    if (record.uncompressed_size > 16)
        return error{errc::torch_big_endian, record.local_header_offset, "a byteorder record of 'little'", record.name};
    std::uint8_t text[16];
    buffer_sink sink(mutable_byte_view(text, sizeof text));
    BRINE_TRY(archive.extract(record, sink));
    const std::string_view order(reinterpret_cast<const char*>(text), static_cast<std::size_t>(record.uncompressed_size));
    if (order != "little")
        return error{errc::torch_big_endian, record.local_header_offset, "a byteorder record of 'little'", record.name};
    return {};
}

}  // namespace torch
BRINE_NAMESPACE_END
