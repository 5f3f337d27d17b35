// SPDX-License-Identifier: MIT
//
// The last stage before an output is renamed into place (THREATS.md F8): whatever brine writes
// must have exactly one reading under every loader. A disarm that copies attacker-chosen strings
// (tensor names, metadata, pickled text) into its output can place them where another reader
// looks: block 0 for tarfile (torch.load tries it on every non-zip file), the last 64 KiB for a
// zip end record (zipfile, numpy's .npz reading, miniz), byte 0 for a pickle loader. A fixed
// point of disarm would pass such a polyglot on. So the written bytes are read back and checked;
// a failure is an error (no output), never a repair.
//
// The intended reading is the one the output's first bytes announce:
//   "PK\3\4"      a zip: its end record must be the file's last 22 bytes, with no comment, so
//                 that every zip reader (which search backwards from the end) finds that one;
//   "\x93NUMPY"   an .npy;
//   PROTO 2-5     a pickle (brine's writer always opens with PROTO);
//   anything else another format (safetensors), whose byte 0 must stop every pickle loader.
// Every output: block 0 must not be a tar header to tarfile, nor carry the "ustar" magic; every
// non-zip output: no end-of-central-directory signature within the last 64 KiB + 22 bytes.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/pickle/opcodes.hpp>
#include <brine/readings/tar_block.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>

BRINE_NAMESPACE_BEGIN
namespace readings {

// How far from the end zip readers look for the end record: its 22 bytes plus the longest comment.
inline constexpr std::size_t zip_end_search = 22 + 0xffff;

enum class intended_reading : std::uint8_t { zip, npy, pickle, other };

[[nodiscard]] inline intended_reading announced_reading(byte_view head) noexcept {
    if (head.size() >= 4 && std::memcmp(head.data(), "PK\x03\x04", 4) == 0) return intended_reading::zip;
    if (head.size() >= 6 && std::memcmp(head.data(), "\x93NUMPY", 6) == 0) return intended_reading::npy;
    if (head.size() >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5) return intended_reading::pickle;
    return intended_reading::other;
}

// Whether every pickle loader (pickle.load, numpy.load with allow_pickle, torch.load's legacy
// reading) fails at byte 0 without running anything: no opcode there, or one that needs what a
// fresh unpickler lacks (STACK_GLOBAL and BINPERSID pop an empty stack; PERSID and BINPERSID
// need a persistent_load, which the first pickle.load of a file never has).
[[nodiscard]] constexpr bool pickle_stops_at_byte0(std::uint8_t byte0) noexcept {
    const pickle::opcode_info* op = pickle::find_opcode(byte0);
    if (!op) return true;
    return op->op == pickle::opcode::STACK_GLOBAL || op->op == pickle::opcode::PERSID ||
           op->op == pickle::opcode::BINPERSID;
}

namespace detail {
[[nodiscard]] inline error polyglot(std::uint64_t at, const char* expected) noexcept {
    return error{errc::torch_polyglot_output, at, expected};
}

// The offset of the last "PK\5\6" in `tail`, or SIZE_MAX.
[[nodiscard]] inline std::size_t last_end_signature(byte_view tail) noexcept {
    for (std::size_t i = tail.size(); i >= 4; --i)
        if (std::memcmp(tail.data() + i - 4, "PK\x05\x06", 4) == 0) return i - 4;
    return SIZE_MAX;
}
}  // namespace detail

// Checks the written bytes `out` (a RandomAccessSource over the finished output). Reads block 0
// and the last 64 KiB: constant work whatever the output's size.
template <class RandomAccessSource>
[[nodiscard]] status check_single_reading(const RandomAccessSource& out) noexcept {
    static_assert(is_random_access_source_v<RandomAccessSource>, "check_single_reading() reads a RandomAccessSource");
    const std::uint64_t size = out.size();
    std::uint8_t head[tar_block_size] = {};
    const std::size_t head_size = size < sizeof head ? static_cast<std::size_t>(size) : sizeof head;
    BRINE_TRY(out.read_at(0, head, head_size));
    const byte_view block0(head, head_size);
    if (read_tar_block0(block0) == tar_block0::header)
        return detail::polyglot(tar_checksum_offset, "an output whose first 512 bytes are no tar header to tarfile");
    if (head_size >= 262 && std::memcmp(head + 257, "ustar", 5) == 0)
        return detail::polyglot(257, "an output without the tar magic \"ustar\" at offset 257");

    const intended_reading intended = announced_reading(block0);
    if (intended != intended_reading::pickle && head_size > 0 && !pickle_stops_at_byte0(head[0]))
        return detail::polyglot(0, "an output whose first byte stops every pickle loader");

    if (intended == intended_reading::zip) {
        std::uint8_t end[22] = {};
        if (size < sizeof end) return detail::polyglot(0, "a zip output that ends with its end record");
        BRINE_TRY(out.read_at(size - sizeof end, end, sizeof end));
        if (std::memcmp(end, "PK\x05\x06", 4) != 0 || end[20] != 0 || end[21] != 0)
            return detail::polyglot(size - sizeof end, "a zip output whose last 22 bytes are its end record, without a comment");
        return {};
    }
    // The last zip_end_search bytes, read in slices of 4 KiB from the end; a signature may
    // straddle two slices, so each slice is searched with the first 3 bytes of the one after it.
    const std::uint64_t tail_start = size > zip_end_search ? size - zip_end_search : 0;
    std::uint8_t slice[4096 + 3];
    std::uint64_t slice_end = size;
    std::size_t carried = 0;  // bytes of the later slice kept at the end of `slice`
    while (slice_end > tail_start) {
        const std::uint64_t begin = slice_end - tail_start > 4096 ? slice_end - 4096 : tail_start;
        const std::size_t count = static_cast<std::size_t>(slice_end - begin);
        std::memmove(slice + count, slice, carried);
        BRINE_TRY(out.read_at(begin, slice, count));
        const std::size_t found = detail::last_end_signature(byte_view(slice, count + carried));
        if (found != SIZE_MAX)
            return detail::polyglot(begin + found,
                                    "a non-zip output without an end-of-central-directory signature in its last 64 KiB");
        carried = count < 3 ? count : 3;
        slice_end = begin;
    }
    return {};
}

}  // namespace readings
BRINE_NAMESPACE_END
