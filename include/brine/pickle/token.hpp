// SPDX-License-Identifier: MIT
//
// A token: one opcode read from a pickle with its argument decoded, and the byte offset it came
// from. Produced by pickle::reader; consumed by the symbolic machine and the disassembler.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/pickle/opcodes.hpp>

#include <cstdint>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace pickle {

// Which member of `token` holds the argument.
enum class arg_kind : std::uint8_t {
    none,         // no argument (MARK, STOP, TUPLE, NEXT_BUFFER, ...)
    integer,      // `integer`: INT, LONG, BININT*, LONG1/4 values that fit; memo indices of the
                  // GET/PUT forms; the PROTO version; the FRAME length; EXT1/2/4 codes
    big_integer,  // `data`: an INT, LONG, LONG1 or LONG4 value outside int64, as little-endian
                  // two's complement of minimal length (the top byte's sign bit is the sign, and
                  // no shorter encoding has the same value)
    boolean,      // `boolean`: INT's "00" (False) and "01" (True), protocol 0's bools
    real,         // `real`: FLOAT, BINFLOAT
    bytes,        // `data`: STRING (escapes undone), BINSTRING, SHORT_BINSTRING, BINBYTES,
                  // SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
    text,         // `data`: strict UTF-8 of UNICODE (escapes undone), BINUNICODE, SHORT_BINUNICODE,
                  // BINUNICODE8; PERSID's ASCII line
    global,       // `module`, `name`: GLOBAL (UTF-8) and INST (ASCII)
};

struct token {
    opcode op = opcode::STOP;
    std::uint64_t offset = 0;  // of the opcode byte in the input
    arg_kind kind = arg_kind::none;
    std::int64_t integer = 0;
    bool boolean = false;
    double real = 0.0;
    // Views into the input (raw forms) or into the reader's scratch buffer (decoded forms): valid
    // until the next call to reader::next() or the reader's destruction.
    byte_view data;
    std::string_view module;
    std::string_view name;

    [[nodiscard]] std::string_view text() const noexcept {
        return {reinterpret_cast<const char*>(data.data()), data.size()};
    }
};

}  // namespace pickle
BRINE_NAMESPACE_END
