// SPDX-License-Identifier: MIT
//
// DEFLATE's fixed vocabulary (RFC 1951 §3.2.5–3.2.7) and the layout of brine's decode-table
// entries: what each literal/length, distance and code-length symbol means, before any Huffman
// code has been assigned to it.
#pragma once

#include <brine/config.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

BRINE_NAMESPACE_BEGIN
namespace zip::detail {

inline constexpr unsigned deflate_max_code_length = 15;
inline constexpr unsigned deflate_max_precode_length = 7;
inline constexpr unsigned deflate_max_match = 258;
inline constexpr unsigned deflate_window_size = 32768;  // the farthest a match may reach back

// Symbol counts: what the format can express, and what zlib accepts in a dynamic header.
inline constexpr unsigned deflate_litlen_symbols = 288;     // incl. 286 and 287, never valid
inline constexpr unsigned deflate_distance_symbols = 32;    // incl. 30 and 31, never valid
inline constexpr unsigned deflate_precode_symbols = 19;
inline constexpr unsigned deflate_max_dynamic_litlen = 286;
inline constexpr unsigned deflate_max_dynamic_distance = 30;
inline constexpr unsigned deflate_end_of_block = 256;

// The order in which a dynamic header lists the code-length code's lengths.
inline constexpr std::uint8_t deflate_precode_order[deflate_precode_symbols] = {
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

// A decode-table entry is one 32-bit word, so that a single load answers "what is this code":
//   bits  0..7   bits to consume: the codeword (its part in this table) plus any extra bits
//   bits  8..11  the codeword's bits in this table (extra bits start right above them);
//                for a subtable pointer, the subtable's index width instead
//   bit  13      end of block              } only together with bit 15
//   bit  14      pointer to a subtable     }
//   bit  15      exceptional: end of block, subtable pointer or a symbol the stream may not use
//   bits 16..30  the value: literal byte, match length/distance base, or subtable start
//   bit  31      literal (checked first on the hot path)
inline constexpr std::uint32_t entry_literal = 1u << 31;
inline constexpr std::uint32_t entry_exceptional = 1u << 15;
inline constexpr std::uint32_t entry_subtable = 1u << 14;
inline constexpr std::uint32_t entry_end_of_block = 1u << 13;
inline constexpr std::uint32_t entry_invalid = entry_exceptional;  // neither subtable nor end

[[nodiscard]] BRINE_FORCE_INLINE constexpr unsigned entry_consume_bits(std::uint32_t entry) noexcept {
    return entry & 0xFFu;
}
[[nodiscard]] BRINE_FORCE_INLINE constexpr unsigned entry_code_bits(std::uint32_t entry) noexcept {
    return (entry >> 8) & 0xFu;
}
[[nodiscard]] BRINE_FORCE_INLINE constexpr unsigned entry_value(std::uint32_t entry) noexcept {
    return (entry >> 16) & 0x7FFFu;
}
// The extra-bits payload of a length or distance entry, from the bit buffer as it was before the
// entry's bits were consumed.
[[nodiscard]] BRINE_FORCE_INLINE constexpr unsigned entry_extra(std::uint32_t entry,
                                                                std::uint64_t bits_before) noexcept {
    const std::uint64_t field = bits_before & ((std::uint64_t{1} << entry_consume_bits(entry)) - 1);
    return static_cast<unsigned>(field >> entry_code_bits(entry));
}

// A symbol's meaning, as an entry without its codeword length: the table builder adds that.
// Extra-bit counts sit in the consume field, so that adding the codeword length gives the total.
[[nodiscard]] constexpr std::uint32_t symbol_entry(std::uint32_t value, unsigned extra_bits,
                                                   std::uint32_t flags = 0) noexcept {
    return flags | (value << 16) | extra_bits;
}

namespace inflate_symbols {
inline constexpr std::uint16_t length_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                                  31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
inline constexpr std::uint8_t length_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                                  2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
inline constexpr std::uint16_t distance_base[30] = {
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
inline constexpr std::uint8_t distance_extra[30] = {0, 0, 0, 0, 1, 1, 2,  2,  3,  3,  4,  4,  5,  5,  6,
                                                    6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

constexpr std::array<std::uint32_t, deflate_litlen_symbols> make_litlen() noexcept {
    std::array<std::uint32_t, deflate_litlen_symbols> entries{};
    for (std::uint32_t s = 0; s < 256; ++s) entries[s] = symbol_entry(s, 0, entry_literal);
    entries[deflate_end_of_block] = symbol_entry(0, 0, entry_exceptional | entry_end_of_block);
    for (std::size_t i = 0; i < 29; ++i) entries[257 + i] = symbol_entry(length_base[i], length_extra[i]);
    entries[286] = symbol_entry(0, 0, entry_invalid);
    entries[287] = symbol_entry(0, 0, entry_invalid);
    return entries;
}
constexpr std::array<std::uint32_t, deflate_distance_symbols> make_distance() noexcept {
    std::array<std::uint32_t, deflate_distance_symbols> entries{};
    for (std::size_t i = 0; i < 30; ++i) entries[i] = symbol_entry(distance_base[i], distance_extra[i]);
    entries[30] = symbol_entry(0, 0, entry_invalid);
    entries[31] = symbol_entry(0, 0, entry_invalid);
    return entries;
}
constexpr std::array<std::uint32_t, deflate_precode_symbols> make_precode() noexcept {
    std::array<std::uint32_t, deflate_precode_symbols> entries{};
    for (std::uint32_t s = 0; s < deflate_precode_symbols; ++s) entries[s] = symbol_entry(s, 0);
    return entries;
}
}  // namespace inflate_symbols

inline constexpr std::array<std::uint32_t, deflate_litlen_symbols> litlen_symbol_entries =
    inflate_symbols::make_litlen();
inline constexpr std::array<std::uint32_t, deflate_distance_symbols> distance_symbol_entries =
    inflate_symbols::make_distance();
inline constexpr std::array<std::uint32_t, deflate_precode_symbols> precode_symbol_entries =
    inflate_symbols::make_precode();

}  // namespace zip::detail
BRINE_NAMESPACE_END
