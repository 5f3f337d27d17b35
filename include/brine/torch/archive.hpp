// SPDX-License-Identifier: MIT
//
// Checks every reader of a torch.save archive makes, whatever it does next (disarm, view, verify).
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/zip/reader.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace torch {

// A brine seal's manifest (mtd/manifest.hpp), a record under the archive's folder: known to every
// reading, so that a sealed checkpoint reads as the checkpoint it is.
inline constexpr std::string_view sealed_manifest_record = ".brine/manifest";

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

// The format versions torch 1.13 reads (caffe2/serialize/versions.h: kMinSupportedFileFormatVersion
// and kMaxSupportedFileFormatVersion); torch.save writes 3, and so does brine.
inline constexpr std::uint64_t min_file_format_version = 1;
inline constexpr std::uint64_t max_file_format_version = 10;

namespace detail {

[[nodiscard]] constexpr bool c_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// The number in a version record, as std::stoull reads it (leading white space, an optional '+',
// decimal digits) but whole: only white space may follow the digits (stoull would stop at the
// first other byte and ignore the rest; brine refuses such a record instead of guessing). A '-'
// (which stoull negates modulo 2^64) and values beyond 64 bits are refused.
[[nodiscard]] constexpr bool parse_version(std::string_view text, std::uint64_t& out) noexcept {
    std::size_t i = 0;
    while (i < text.size() && c_space(text[i])) ++i;
    if (i < text.size() && text[i] == '+') ++i;
    const std::size_t digits = i;
    std::uint64_t value = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
        const auto digit = static_cast<std::uint64_t>(text[i] - '0');
        if (value > (UINT64_MAX - digit) / 10) return false;
        value = value * 10 + digit;
    }
    if (i == digits) return false;
    for (; i < text.size(); ++i)
        if (!c_space(text[i])) return false;
    out = value;
    return true;
}

}  // namespace detail

// The archive's format version, read as torch's PyTorchStreamReader reads it before anything
// else (caffe2/serialize/inline_container.cc): the record .data/version if there is one, else
// version, which must exist (hasRecord("version")); its text parsed as an integer (stoull) and
// within [min_file_format_version, max_file_format_version]. The record is extracted, so its CRC
// and inflated size are checked like every other record torch reads.
template <class Archive>
[[nodiscard]] inline status check_version(const Archive& archive) noexcept {
    auto found = archive.find_record(".data/version");
    if (!found) found = archive.find_record("version");
    if (!found) return error{errc::torch_bad_version, 0, "a <folder>/version record (torch requires one)"};
    const zip::entry& record = **found;
    constexpr std::size_t most = 32;  // "3\n" in practice; anything this long is not a version
    if (record.uncompressed_size > most)
        return error{errc::torch_bad_version, record.local_header_offset, "a version record of a decimal number",
                     record.name};
    std::uint8_t text[most];
    buffer_sink sink(mutable_byte_view(text, sizeof text));
    BRINE_TRY(archive.extract(record, sink));
    const std::string_view version(reinterpret_cast<const char*>(text), static_cast<std::size_t>(record.uncompressed_size));
    std::uint64_t value = 0;
    if (!detail::parse_version(version, value))
        return error{errc::torch_bad_version, record.local_header_offset,
                     "a version record of a decimal number (digits, white space around them)", record.name};
    if (value < min_file_format_version || value > max_file_format_version)
        return error{errc::torch_bad_version, record.local_header_offset,
                     "a format version torch 1.13 reads (1 to 10)", record.name};
    return {};
}

}  // namespace torch
BRINE_NAMESPACE_END
