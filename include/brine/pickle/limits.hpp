// SPDX-License-Identifier: MIT
//
// Resource limits for reading a pickle, as a template parameter: every size an attacker declares
// is checked against one of these before anything is allocated or computed. `standard` fits
// PyTorch checkpoints and ordinary pickles on a workstation or server; `embedded` fits small
// devices with fixed memory budgets. A user defines their own struct with the same members.
//
// The opcode reader uses max_pickle_size, max_string_size, max_big_int_bytes,
// max_big_int_digits and max_line_length; the symbolic machine uses the others.
#pragma once

#include <brine/config.hpp>

#include <cstdint>

BRINE_NAMESPACE_BEGIN
namespace pickle {
namespace limits {

struct standard {
    // The whole pickle is held in memory. A checkpoint's data.pkl is kilobytes to megabytes (the
    // tensors live in separate records); 4 GiB admits even a large object pickled with its data.
    static constexpr std::uint64_t max_pickle_size = std::uint64_t(4) << 30;
    // One string, bytes or bytearray argument (BINBYTES8, BYTEARRAY8, STRING, ...).
    static constexpr std::uint64_t max_string_size = std::uint64_t(1) << 30;
    // Binary big integers (LONG1, LONG4): 64 KiB is a 524288-bit number; no model needs more.
    static constexpr std::uint64_t max_big_int_bytes = std::uint64_t(64) << 10;
    // Decimal digits of an INT or LONG line: CPython >= 3.11 refuses int() of more than 4300
    // digits by default (sys.int_info.default_max_str_digits), which also keeps the quadratic
    // decimal-to-binary conversion trivially cheap.
    static constexpr std::uint64_t max_big_int_digits = 4300;
    // A text line that is no string (INT, LONG, FLOAT, GET, PUT, PERSID, GLOBAL/INST names).
    // STRING and UNICODE lines are strings and fall under max_string_size instead.
    static constexpr std::uint64_t max_line_length = std::uint64_t(64) << 10;
    // Memo entries (distinct indices). The indices themselves may be any int64 >= 0, as in
    // CPython; sparse ones cost a map entry each, never memory in proportion to their value.
    static constexpr std::uint64_t max_memo_size = std::uint64_t(1) << 20;
    // Objects on the unpickler's stack at once, and MARKs open at once (THREATS.md R1: nesting of
    // hundreds of thousands of levels). Real checkpoints stay in the tens.
    static constexpr std::uint64_t max_stack_size = std::uint64_t(1) << 20;
    static constexpr std::uint64_t max_mark_depth = std::uint64_t(10000);
    // Nodes of the value graph (containers, scalars, calls): a state dict of 100k tensors needs
    // about a million.
    static constexpr std::uint64_t max_nodes = std::uint64_t(8) << 20;
};

struct embedded {
    static constexpr std::uint64_t max_pickle_size = std::uint64_t(1) << 20;
    static constexpr std::uint64_t max_string_size = std::uint64_t(64) << 10;
    static constexpr std::uint64_t max_big_int_bytes = 512;
    static constexpr std::uint64_t max_big_int_digits = 1000;  // about 416 bytes of binary
    static constexpr std::uint64_t max_line_length = std::uint64_t(4) << 10;
    static constexpr std::uint64_t max_memo_size = std::uint64_t(4) << 10;
    static constexpr std::uint64_t max_stack_size = std::uint64_t(4) << 10;
    static constexpr std::uint64_t max_mark_depth = 256;
    static constexpr std::uint64_t max_nodes = std::uint64_t(16) << 10;
};

}  // namespace limits
}  // namespace pickle
BRINE_NAMESPACE_END
