// SPDX-License-Identifier: MIT
//
// Telling a safetensors file from the formats torch.load reads, by content (never by name), and
// what a pickle loader would make of a safetensors file's bytes.
//
// The rule (safetensors::detect):
//   1. torch::detect first, unchanged: "PK\3\4" at offset 0 is a zip, "\x93NUMPY" an .npy,
//      "ustar" at 257 a tar. These are the magic numbers torch.load and numpy.load test before
//      anything else, so a file that carries one is that format and never safetensors, whatever
//      follows (a zip whose bytes 0-7 read as a plausible length is still the zip torch.load opens).
//   2. Of the rest (what torch.load would read as a pickle stream), a file is safetensors when it
//      has the format's shape: an 8-byte little-endian N with 2 <= N < 2^40 and '{' at byte 8
//      (safetensors::has_header_shape; whether N fits in the file is the reader's check, so a
//      truncated file is reported as a broken safetensors file). N < 2^40 needs bytes 5-7 to be
//      0x00, which is no opcode, and the pickles torch.save and pickle.dump write never have it:
//      torch.save's legacy stream starts with the magic number's LONG1 (bytes 3-7 non-zero),
//      protocol 4-5 pickles with FRAME and a 64-bit length whose byte 8 is 0x00 for any frame
//      below 2^40 bytes, protocol 1-3 pickles with PROTO, a container opcode and BINPUT 0 followed
//      by another opcode at byte 5, protocol 0 pickles with printable text. A crafted pickle can
//      have the shape (say, a BINUNICODE string starting "\0{"): brine then reads it as the
//      safetensors file it also is, and what a pickle loader would do with it is reported apart
//      (read_as_pickle, below).
//   Checking the shape first, rather than "safetensors only when the file is not a valid pickle",
//   keeps the decision about the first 9 bytes: it never depends on how far a pickle reader gets,
//   which differs between readers (brine refuses forms that CPython's _pickle.c accepts).
//
// The rule decides what brine reads the file as. It cannot decide what another loader does: a
// pickle loader given a safetensors file (torch.load without weights_only, pickle.load,
// numpy.load with allow_pickle) reads its first bytes as opcodes. For most files it stops within
// the first 9 bytes (0x00 and '{' are no opcodes), but a header length whose low byte is, say,
// 'V' (UNICODE, a text line) makes it read on to the first '\n', which may lie in the tensor data,
// and go on from there: a polyglot whose tensor bytes are a pickle payload. read_as_pickle walks
// the bytes as a pickle loader would, taking every argument as accepted (the most lenient
// reading: only the extents of the opcodes come from the bytes), and reports the first opcode
// that can name code (GLOBAL, INST, STACK_GLOBAL, EXT1/2/4: without one of them no pickle can
// import or call anything). `brine scan` reports such a file as a finding; brine's writer pads
// every header so that byte 0 is no opcode (writer/safetensors.hpp), so its files are no pickle
// at all.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/pickle/opcodes.hpp>
#include <brine/safetensors/reader.hpp>
#include <brine/torch/detect.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>

BRINE_NAMESPACE_BEGIN
namespace safetensors {

// Whether brine reads `source` as a safetensors file (the rule above). True says nothing about
// validity: read() or read_header() decide that, every refusal with its offset.
template <class RandomAccessSource>
[[nodiscard]] result<bool> detect(const RandomAccessSource& source) noexcept {
    static_assert(is_random_access_source_v<RandomAccessSource>, "detect() reads a RandomAccessSource");
    auto kind = torch::detect(source);
    BRINE_TRY(kind);
    if (*kind != torch::format::pickle_stream) return false;
    const std::uint64_t size = source.size();
    if (size < 10) return false;
    std::uint8_t first[9] = {};
    BRINE_TRY(source.read_at(0, first, sizeof first));
    return has_header_shape(byte_view(first, sizeof first), size);
}

// What a pickle loader reaches reading `bytes` from offset 0.
struct pickle_reading {
    // An opcode that can name code was reached: GLOBAL, INST, STACK_GLOBAL, EXT1, EXT2 or EXT4.
    bool names_code = false;
    pickle::opcode op = pickle::opcode::STOP;  // that opcode, when names_code
    // The offset of that opcode; otherwise of the opcode at which every loader stops (a byte that
    // is no opcode, an argument cut short by the end of the input, a negative length, PROTO
    // above 5), or the input's size when the opcodes end exactly there.
    std::uint64_t offset = 0;
};

// Walks `bytes` as a pickle loader reads them, accepting every argument as CPython's most
// lenient unpickler might (only lengths and line ends are taken from the bytes), across STOP
// (torch.load's legacy format reads several pickles in a row), until an opcode that can name
// code or a point where every loader stops. Stack and memo are not simulated: a loader may stop
// earlier, never later. Linear in the input.
[[nodiscard]] inline pickle_reading read_as_pickle(byte_view bytes) noexcept {
    using E = pickle::arg_encoding;
    using O = pickle::opcode;
    pickle_reading out;
    const std::size_t size = bytes.size();
    const std::uint8_t* data = bytes.data();
    // The position after the '\n' ending the line that starts at `from`, or 0 when there is none.
    const auto after_line = [&](std::size_t from) -> std::size_t {
        if (from >= size) return 0;
        const void* newline = std::memchr(data + from, '\n', size - from);
        return newline ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(newline) - data) + 1 : 0;
    };
    std::size_t pos = 0;
    while (pos < size) {
        out.offset = pos;
        const pickle::opcode_info* op = pickle::find_opcode(data[pos]);
        if (!op) return out;
        switch (op->op) {
            case O::GLOBAL:
            case O::INST:
            case O::STACK_GLOBAL:
            case O::EXT1:
            case O::EXT2:
            case O::EXT4:
                out.names_code = true;
                out.op = op->op;
                return out;
            default: break;
        }
        const std::size_t arg = pos + 1;
        const std::size_t left = size - arg;
        std::uint64_t field = 0;   // bytes of fixed-size argument or length field
        std::uint64_t length = 0;  // bytes that follow a length field
        switch (op->arg) {
            case E::none: break;
            case E::uint1:
                if (left < 1) return out;
                if (op->op == O::PROTO && data[arg] > 5) return out;  // "unsupported pickle protocol"
                field = 1;
                break;
            case E::uint2: field = 2; break;
            case E::uint4:
            case E::int4: field = 4; break;
            case E::uint8:  // FRAME: its length is not followed; the opcodes inside are walked
            case E::float8: field = 8; break;
            case E::long1:
            case E::string1:
            case E::bytes1:
            case E::unicodestring1:
                if (left < 1) return out;
                field = 1;
                length = data[arg];
                break;
            case E::long4:
            case E::string4: {  // signed: CPython refuses a negative count
                if (left < 4) return out;
                const std::uint32_t raw = load_le32(data + arg);
                if (raw & 0x80000000u) return out;
                field = 4;
                length = raw;
                break;
            }
            case E::bytes4:
            case E::unicodestring4:
                if (left < 4) return out;
                field = 4;
                length = load_le32(data + arg);
                break;
            case E::bytes8:
            case E::unicodestring8:
            case E::bytearray8:
                if (left < 8) return out;
                field = 8;
                length = load_le64(data + arg);
                break;
            case E::decimalnl_short:
            case E::decimalnl_long:
            case E::floatnl:
            case E::stringnl:
            case E::stringnl_noescape:
            case E::unicodestringnl:
            case E::stringnl_noescape_pair: {
                const std::size_t next = after_line(arg);
                if (next == 0) return out;  // no '\n' before the end: the loader runs out of input
                pos = next;
                continue;
            }
        }
        if (field > left || length > left - field) return out;
        pos = arg + static_cast<std::size_t>(field + length);
    }
    out.offset = size;
    return out;
}

}  // namespace safetensors
BRINE_NAMESPACE_END
