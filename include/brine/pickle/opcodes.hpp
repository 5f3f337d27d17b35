// SPDX-License-Identifier: MIT
//
// The 68 opcodes of pickle protocols 0-5: byte values, CPython's names, the protocol that
// introduced each, how its argument is encoded, and its effect on the unpickler's stack. The
// facts are those of CPython's Lib/pickletools.py; the reader and the disassembler are driven by
// this one table.
#pragma once

#include <brine/config.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace pickle {

// The enumerators are spelled exactly as CPython spells them (pickle.py, pickletools.py), so a
// listing, a test and a CPython traceback all use the same names.
enum class opcode : std::uint8_t {
    MARK = '(',
    STOP = '.',
    POP = '0',
    POP_MARK = '1',
    DUP = '2',
    FLOAT = 'F',
    INT = 'I',
    BININT = 'J',
    BININT1 = 'K',
    LONG = 'L',
    BININT2 = 'M',
    NONE = 'N',
    PERSID = 'P',
    BINPERSID = 'Q',
    REDUCE = 'R',
    STRING = 'S',
    BINSTRING = 'T',
    SHORT_BINSTRING = 'U',
    UNICODE = 'V',
    BINUNICODE = 'X',
    APPEND = 'a',
    BUILD = 'b',
    GLOBAL = 'c',
    DICT = 'd',
    EMPTY_DICT = '}',
    APPENDS = 'e',
    GET = 'g',
    BINGET = 'h',
    INST = 'i',
    LONG_BINGET = 'j',
    LIST = 'l',
    EMPTY_LIST = ']',
    OBJ = 'o',
    PUT = 'p',
    BINPUT = 'q',
    LONG_BINPUT = 'r',
    SETITEM = 's',
    TUPLE = 't',
    EMPTY_TUPLE = ')',
    SETITEMS = 'u',
    BINFLOAT = 'G',
    // Protocol 2
    PROTO = 0x80,
    NEWOBJ = 0x81,
    EXT1 = 0x82,
    EXT2 = 0x83,
    EXT4 = 0x84,
    TUPLE1 = 0x85,
    TUPLE2 = 0x86,
    TUPLE3 = 0x87,
    NEWTRUE = 0x88,
    NEWFALSE = 0x89,
    LONG1 = 0x8a,
    LONG4 = 0x8b,
    // Protocol 3
    BINBYTES = 'B',
    SHORT_BINBYTES = 'C',
    // Protocol 4
    SHORT_BINUNICODE = 0x8c,
    BINUNICODE8 = 0x8d,
    BINBYTES8 = 0x8e,
    EMPTY_SET = 0x8f,
    ADDITEMS = 0x90,
    FROZENSET = 0x91,
    NEWOBJ_EX = 0x92,
    STACK_GLOBAL = 0x93,
    MEMOIZE = 0x94,
    FRAME = 0x95,
    // Protocol 5
    BYTEARRAY8 = 0x96,
    NEXT_BUFFER = 0x97,
    READONLY_BUFFER = 0x98,
};

// How an opcode's argument is laid out in the stream; the names are pickletools' argument
// descriptors. Fixed-width integers are little-endian, float8 is big-endian; "nl" forms are text
// lines ending in '\n'.
enum class arg_encoding : std::uint8_t {
    none,
    uint1,
    uint2,
    uint4,
    uint8,
    int4,                    // signed 32-bit
    long1,                   // u8 length, then that many bytes of little-endian two's complement
    long4,                   // signed 32-bit length, then the bytes
    float8,                  // big-endian IEEE-754 binary64
    decimalnl_short,         // INT ("00"/"01" are False/True), GET, PUT
    decimalnl_long,          // LONG: decimal with an optional trailing 'L'
    floatnl,                 // FLOAT: a Python float literal
    stringnl,                // STRING: a quoted Python 2 str literal with escapes
    stringnl_noescape,       // PERSID: one ASCII line
    stringnl_noescape_pair,  // GLOBAL, INST: module line, then name line
    unicodestringnl,         // UNICODE: raw-unicode-escape text
    string1,                 // SHORT_BINSTRING: u8 length
    string4,                 // BINSTRING: signed 32-bit length
    bytes1,
    bytes4,
    bytes8,
    unicodestring1,
    unicodestring4,
    unicodestring8,
    bytearray8,
};

// The opcode's effect on the unpickler's stack, counted, not typed. Applied in order: if
// `to_mark`, everything above the topmost mark is consumed together with the mark; then `pops`
// objects are taken (they must lie above the topmost mark); then `pushes` objects are pushed;
// `pushes_mark` pushes a mark. POP is the one irregular opcode: with no object above the
// topmost mark it discards the mark instead (CPython's load_pop).
struct stack_effect {
    bool to_mark = false;
    std::uint8_t pops = 0;
    std::uint8_t pushes = 0;
    bool pushes_mark = false;
};

struct opcode_info {
    opcode op;
    std::string_view name;
    std::uint8_t protocol;  // the protocol that introduced it
    arg_encoding arg;
    stack_effect stack;
};

namespace detail {

constexpr stack_effect push(std::uint8_t n = 1) noexcept { return {false, 0, n, false}; }
constexpr stack_effect take(std::uint8_t pops, std::uint8_t pushes) noexcept { return {false, pops, pushes, false}; }
constexpr stack_effect slice(std::uint8_t pops, std::uint8_t pushes) noexcept { return {true, pops, pushes, false}; }
constexpr stack_effect nothing() noexcept { return {}; }

using E = arg_encoding;
using O = opcode;

inline constexpr std::array<opcode_info, 68> opcode_table = {{
    // Protocol 0
    {O::MARK, "MARK", 0, E::none, {false, 0, 0, true}},
    {O::STOP, "STOP", 0, E::none, take(1, 0)},
    {O::POP, "POP", 0, E::none, take(1, 0)},
    {O::DUP, "DUP", 0, E::none, take(1, 2)},
    {O::FLOAT, "FLOAT", 0, E::floatnl, push()},
    {O::INT, "INT", 0, E::decimalnl_short, push()},
    {O::LONG, "LONG", 0, E::decimalnl_long, push()},
    {O::NONE, "NONE", 0, E::none, push()},
    {O::PERSID, "PERSID", 0, E::stringnl_noescape, push()},
    {O::REDUCE, "REDUCE", 0, E::none, take(2, 1)},
    {O::STRING, "STRING", 0, E::stringnl, push()},
    {O::UNICODE, "UNICODE", 0, E::unicodestringnl, push()},
    {O::APPEND, "APPEND", 0, E::none, take(2, 1)},
    {O::BUILD, "BUILD", 0, E::none, take(2, 1)},
    {O::GLOBAL, "GLOBAL", 0, E::stringnl_noescape_pair, push()},
    {O::DICT, "DICT", 0, E::none, slice(0, 1)},
    {O::GET, "GET", 0, E::decimalnl_short, push()},
    {O::INST, "INST", 0, E::stringnl_noescape_pair, slice(0, 1)},
    {O::LIST, "LIST", 0, E::none, slice(0, 1)},
    {O::PUT, "PUT", 0, E::decimalnl_short, take(1, 1)},
    {O::SETITEM, "SETITEM", 0, E::none, take(3, 1)},
    {O::TUPLE, "TUPLE", 0, E::none, slice(0, 1)},
    // Protocol 1
    {O::POP_MARK, "POP_MARK", 1, E::none, slice(0, 0)},
    {O::BININT, "BININT", 1, E::int4, push()},
    {O::BININT1, "BININT1", 1, E::uint1, push()},
    {O::BININT2, "BININT2", 1, E::uint2, push()},
    {O::BINPERSID, "BINPERSID", 1, E::none, take(1, 1)},
    {O::BINSTRING, "BINSTRING", 1, E::string4, push()},
    {O::SHORT_BINSTRING, "SHORT_BINSTRING", 1, E::string1, push()},
    {O::BINUNICODE, "BINUNICODE", 1, E::unicodestring4, push()},
    {O::EMPTY_DICT, "EMPTY_DICT", 1, E::none, push()},
    {O::APPENDS, "APPENDS", 1, E::none, slice(1, 1)},
    {O::BINGET, "BINGET", 1, E::uint1, push()},
    {O::LONG_BINGET, "LONG_BINGET", 1, E::uint4, push()},
    {O::EMPTY_LIST, "EMPTY_LIST", 1, E::none, push()},
    {O::OBJ, "OBJ", 1, E::none, slice(0, 1)},
    {O::BINPUT, "BINPUT", 1, E::uint1, take(1, 1)},
    {O::LONG_BINPUT, "LONG_BINPUT", 1, E::uint4, take(1, 1)},
    {O::EMPTY_TUPLE, "EMPTY_TUPLE", 1, E::none, push()},
    {O::SETITEMS, "SETITEMS", 1, E::none, slice(1, 1)},
    {O::BINFLOAT, "BINFLOAT", 1, E::float8, push()},
    // Protocol 2
    {O::PROTO, "PROTO", 2, E::uint1, nothing()},
    {O::NEWOBJ, "NEWOBJ", 2, E::none, take(2, 1)},
    {O::EXT1, "EXT1", 2, E::uint1, push()},
    {O::EXT2, "EXT2", 2, E::uint2, push()},
    {O::EXT4, "EXT4", 2, E::int4, push()},
    {O::TUPLE1, "TUPLE1", 2, E::none, take(1, 1)},
    {O::TUPLE2, "TUPLE2", 2, E::none, take(2, 1)},
    {O::TUPLE3, "TUPLE3", 2, E::none, take(3, 1)},
    {O::NEWTRUE, "NEWTRUE", 2, E::none, push()},
    {O::NEWFALSE, "NEWFALSE", 2, E::none, push()},
    {O::LONG1, "LONG1", 2, E::long1, push()},
    {O::LONG4, "LONG4", 2, E::long4, push()},
    // Protocol 3
    {O::BINBYTES, "BINBYTES", 3, E::bytes4, push()},
    {O::SHORT_BINBYTES, "SHORT_BINBYTES", 3, E::bytes1, push()},
    // Protocol 4
    {O::SHORT_BINUNICODE, "SHORT_BINUNICODE", 4, E::unicodestring1, push()},
    {O::BINUNICODE8, "BINUNICODE8", 4, E::unicodestring8, push()},
    {O::BINBYTES8, "BINBYTES8", 4, E::bytes8, push()},
    {O::EMPTY_SET, "EMPTY_SET", 4, E::none, push()},
    {O::ADDITEMS, "ADDITEMS", 4, E::none, slice(1, 1)},
    {O::FROZENSET, "FROZENSET", 4, E::none, slice(0, 1)},
    {O::NEWOBJ_EX, "NEWOBJ_EX", 4, E::none, take(3, 1)},
    {O::STACK_GLOBAL, "STACK_GLOBAL", 4, E::none, take(2, 1)},
    {O::MEMOIZE, "MEMOIZE", 4, E::none, take(1, 1)},
    {O::FRAME, "FRAME", 4, E::uint8, nothing()},
    // Protocol 5
    {O::BYTEARRAY8, "BYTEARRAY8", 5, E::bytearray8, push()},
    {O::NEXT_BUFFER, "NEXT_BUFFER", 5, E::none, push()},
    {O::READONLY_BUFFER, "READONLY_BUFFER", 5, E::none, take(1, 1)},
}};

inline constexpr std::uint8_t no_opcode = 0xff;

// Byte value -> position in opcode_table, or no_opcode.
constexpr std::array<std::uint8_t, 256> make_opcode_index() noexcept {
    std::array<std::uint8_t, 256> index{};
    for (auto& slot : index) slot = no_opcode;
    for (std::size_t i = 0; i < opcode_table.size(); ++i)
        index[static_cast<std::uint8_t>(opcode_table[i].op)] = static_cast<std::uint8_t>(i);
    return index;
}
inline constexpr std::array<std::uint8_t, 256> opcode_index = make_opcode_index();

constexpr bool opcode_table_is_consistent() noexcept {
    std::size_t mapped = 0;
    for (std::size_t byte = 0; byte < 256; ++byte)
        if (opcode_index[byte] != no_opcode) ++mapped;
    if (mapped != opcode_table.size()) return false;  // two entries share a byte value
    for (std::size_t i = 0; i < opcode_table.size(); ++i) {
        if (opcode_table[i].protocol > 5 || opcode_table[i].name.empty()) return false;
        for (std::size_t j = i + 1; j < opcode_table.size(); ++j)
            if (opcode_table[i].name == opcode_table[j].name) return false;
    }
    return true;
}
static_assert(opcode_table.size() == 68, "pickle protocols 0-5 define exactly 68 opcodes");
static_assert(opcode_table_is_consistent(), "opcode byte values and names must be unique");

inline constexpr opcode_info unknown_opcode_info = {opcode::STOP, "?", 0, arg_encoding::none, {}};

}  // namespace detail

// Whether a byte is one of the 68 opcodes.
[[nodiscard]] constexpr bool is_opcode(std::uint8_t byte) noexcept { return detail::opcode_index[byte] != detail::no_opcode; }

// The opcode a byte stands for, or nullptr if it is none of the 68.
[[nodiscard]] constexpr const opcode_info* find_opcode(std::uint8_t byte) noexcept {
    const std::uint8_t i = detail::opcode_index[byte];
    return i == detail::no_opcode ? nullptr : &detail::opcode_table[i];
}

// The facts about an opcode. An out-of-range value (a cast from an arbitrary byte) yields an entry
// named "?" instead of undefined behaviour. (Indices, not pointer tests: GCC's UBSan makes a
// pointer comparison non-constant.)
[[nodiscard]] constexpr const opcode_info& info(opcode op) noexcept {
    const std::uint8_t i = detail::opcode_index[static_cast<std::uint8_t>(op)];
    return i == detail::no_opcode ? detail::unknown_opcode_info : detail::opcode_table[i];
}

[[nodiscard]] constexpr std::string_view opcode_name(opcode op) noexcept { return info(op).name; }

// Every opcode, in the order of the table (by protocol, then as pickletools lists them).
[[nodiscard]] constexpr const std::array<opcode_info, 68>& all_opcodes() noexcept { return detail::opcode_table; }

static_assert(opcode_name(opcode::STACK_GLOBAL) == "STACK_GLOBAL" && info(opcode::FRAME).protocol == 4 &&
                  !is_opcode(0x99) && is_opcode(0x98),
              "opcode lookup works at compile time");

}  // namespace pickle
BRINE_NAMESPACE_END
