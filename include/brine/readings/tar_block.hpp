// SPDX-License-Identifier: MIT
//
// How Python's tarfile reads the first 512 bytes of a file (THREATS.md F6). torch.load hands
// every non-zip file it opened itself to `tarfile.open(mode="r:")` before reading it as a legacy
// pickle stream, and tarfile needs no "ustar" magic: a block whose checksum field holds the sum
// of the block's bytes (signed or unsigned) is a member header. So a raw pickle, an .npy, a
// safetensors file or a legacy stream whose first 512 bytes happen to, or were made to, satisfy
// that sum is also a tar archive to torch.load, which then unpickles its members instead.
//
// The model follows TarInfo.frombuf (CPython 3.8 to 3.13 read block 0 the same way):
//   - fewer than 512 bytes: no header (torch goes on to the pickle reading);
//   - 512 NUL bytes: the end-of-archive marker, an empty archive (torch then fails on a missing
//     member, it does not fall back);
//   - otherwise the checksum field (bytes 148-155) and the numeric fields mode, uid, gid, size,
//     mtime, devmajor and devminor must each parse as `nti` parses them, and the checksum must
//     equal 256 plus the sum of the other 504 bytes taken unsigned, or taken signed.
// What tarfile does after block 0 (long names, PAX records, member data) can still make it give
// up, and torch then falls back to the pickle reading: brine does not follow it there. Any
// block 0 tarfile accepts makes the file ambiguous, which is refused; refusing a file tarfile
// would reject a few steps later costs nothing, since no producer writes such a block by chance.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

BRINE_NAMESPACE_BEGIN
namespace readings {

inline constexpr std::size_t tar_block_size = 512;
inline constexpr std::size_t tar_checksum_offset = 148;  // the 8-byte checksum field

enum class tar_block0 : std::uint8_t {
    not_a_header,   // tarfile.open raises ReadError at offset 0: loaders go on to other readings
    end_of_archive, // 512 NUL bytes: tarfile opens an empty archive
    header,         // a member header: tarfile.open succeeds and torch.load reads a tar
};

namespace detail {

// The ASCII characters Python's str.strip() removes (str.isspace() is true for \x1c-\x1f too).
[[nodiscard]] constexpr bool python_space(std::uint8_t c) noexcept {
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

// int(text, 8) on text that str.strip() already trimmed: an optional sign, an optional "0o"
// prefix (followed by at most one underscore), octal digits with single underscores between
// them. Nothing else: no inner spaces, no trailing underscore, at least one digit.
[[nodiscard]] constexpr std::optional<std::int64_t> python_int_base8(const std::uint8_t* text, std::size_t size) noexcept {
    std::size_t i = 0;
    bool negative = false;
    if (i < size && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
    if (i + 1 < size && text[i] == '0' && (text[i + 1] == 'o' || text[i + 1] == 'O')) {
        i += 2;
        if (i < size && text[i] == '_') ++i;
    }
    std::int64_t value = 0;
    bool digits = false;
    bool after_underscore = false;
    for (; i < size; ++i) {
        const std::uint8_t c = text[i];
        if (c == '_') {
            if (!digits || after_underscore) return std::nullopt;
            after_underscore = true;
            continue;
        }
        if (c < '0' || c > '7') return std::nullopt;
        value = value * 8 + (c - '0');  // at most 12 digits: far below 2^63
        digits = true;
        after_underscore = false;
    }
    if (!digits || after_underscore) return std::nullopt;
    return negative ? -value : value;
}

// tarfile's nti(): a field starting with 0x80 or 0xff is a big-endian base-256 number (0xff:
// negative); anything else is text up to the first NUL, ASCII only, stripped, "" meaning 0, read
// by int(text, 8). Base-256 values of the 12-byte fields can pass 64 bits; only the checksum's
// value is compared, and its 7 payload bytes always fit.
[[nodiscard]] constexpr std::optional<std::int64_t> tarfile_number(byte_view field) noexcept {
    if (field.empty()) return std::nullopt;
    if (field[0] == 0x80 || field[0] == 0xff) {
        std::uint64_t magnitude = 0;
        for (std::size_t i = 1; i < field.size(); ++i) magnitude = (magnitude << 8) | field[i];
        if (field.size() > 8) return 0;  // parses; the value is never compared
        if (field[0] == 0x80) return static_cast<std::int64_t>(magnitude);
        // -(256^(n-1) - magnitude): n - 1 = 7 payload bytes at most here.
        const std::uint64_t span = std::uint64_t{1} << (8 * (field.size() - 1));
        return -static_cast<std::int64_t>(span - magnitude);
    }
    std::size_t end = 0;
    while (end < field.size() && field[end] != 0) {
        if (field[end] >= 0x80) return std::nullopt;  // bytes.decode("ascii", "strict") fails
        ++end;
    }
    std::size_t begin = 0;
    while (begin < end && python_space(field[begin])) ++begin;
    while (end > begin && python_space(field[end - 1])) --end;
    if (begin == end) return 0;
    return python_int_base8(field.data() + begin, end - begin);
}

}  // namespace detail

// What tarfile makes of `first` (the file's first bytes; only the first 512 are read).
[[nodiscard]] constexpr tar_block0 read_tar_block0(byte_view first) noexcept {
    if (first.size() < tar_block_size) return tar_block0::not_a_header;
    const byte_view block = first.first(tar_block_size);
    bool all_nul = true;
    std::int64_t unsigned_sum = 256;  // the checksum field itself counts as eight spaces
    std::int64_t signed_sum = 256;
    for (std::size_t i = 0; i < tar_block_size; ++i) {
        if (block[i] != 0) all_nul = false;
        if (i >= tar_checksum_offset && i < tar_checksum_offset + 8) continue;
        unsigned_sum += block[i];
        signed_sum += static_cast<std::int8_t>(block[i]);
    }
    if (all_nul) return tar_block0::end_of_archive;
    const auto checksum = detail::tarfile_number(block.subview(tar_checksum_offset, 8));
    if (!checksum || (*checksum != unsigned_sum && *checksum != signed_sum)) return tar_block0::not_a_header;
    // mode, uid, gid, size, mtime, devmajor, devminor: frombuf parses each, and fails on any.
    constexpr std::size_t numeric_fields[][2] = {{100, 8}, {108, 8}, {116, 8}, {124, 12}, {136, 12}, {329, 8}, {337, 8}};
    for (const auto& field : numeric_fields)
        if (!detail::tarfile_number(block.subview(field[0], field[1]))) return tar_block0::not_a_header;
    return tar_block0::header;
}

}  // namespace readings
BRINE_NAMESPACE_END
