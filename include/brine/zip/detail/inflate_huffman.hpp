// SPDX-License-Identifier: MIT
//
// Canonical Huffman decode tables (RFC 1951 §3.2.2) in brine's entry format (inflate_tables.hpp).
// A primary table indexed by the next `table_bits` stream bits resolves every short code in one
// load; longer codes go through one subtable, sized as zlib's inflate_table sizes it, so the
// worst cases computed by zlib's `enough` program bound the total.
#pragma once

#include <brine/config.hpp>
#include <brine/zip/detail/inflate_tables.hpp>

#include <cstddef>
#include <cstdint>

BRINE_NAMESPACE_BEGIN
namespace zip::detail {

inline constexpr unsigned litlen_table_bits = 11;
inline constexpr std::size_t litlen_table_size = 2342;    // enough 288 11 15
inline constexpr unsigned distance_table_bits = 8;
inline constexpr std::size_t distance_table_size = 402;   // enough 32 8 15
inline constexpr unsigned precode_table_bits = 7;
inline constexpr std::size_t precode_table_size = 128;    // no code-length code is longer than 7

enum class huffman_check {
    ok,
    over_subscribed,  // more codes than the lengths leave room for
    incomplete,       // codes left unassigned where the format (as zlib reads it) forbids that
    too_large,        // tables would exceed their worst case: impossible for a valid code
};

// Which incomplete codes a table accepts. zlib (inflate_table) takes an incomplete literal/length
// or distance code only when its single longest code is one bit long (one symbol, code "0"), and
// an empty distance code (a block of literals only); a code-length code must be complete.
enum class sparse_codes { refuse, allow };

[[nodiscard]] constexpr std::uint32_t reverse_bits(std::uint32_t code, unsigned length) noexcept {
    std::uint32_t reversed = 0;
    for (unsigned i = 0; i < length; ++i) {
        reversed = (reversed << 1) | (code & 1u);
        code >>= 1;
    }
    return reversed;
}

// Fills table[0 .. capacity) for the code given by lengths[0 .. count) (each 0..15), where symbol
// s means symbol_entries[s]. Codes the stream may not use decode to entry_invalid entries.
// `sorted` is scratch space for `count` symbols.
[[nodiscard]] inline huffman_check build_decode_table(std::uint32_t* table, std::size_t capacity,
                                                      unsigned table_bits, const std::uint8_t* lengths,
                                                      unsigned count, const std::uint32_t* symbol_entries,
                                                      sparse_codes sparse, std::uint16_t* sorted) noexcept {
    const std::size_t primary_size = std::size_t{1} << table_bits;
    // Unused codes consume one bit: enough to say where the stream went wrong.
    constexpr std::uint32_t unused_code = entry_invalid | (1u << 8) | 1u;

    unsigned length_count[deflate_max_code_length + 1] = {};
    for (unsigned s = 0; s < count; ++s) ++length_count[lengths[s]];
    length_count[0] = 0;

    unsigned max_length = deflate_max_code_length;
    while (max_length > 0 && length_count[max_length] == 0) --max_length;
    if (max_length == 0) {
        if (sparse == sparse_codes::refuse) return huffman_check::incomplete;
        for (std::size_t i = 0; i < primary_size; ++i) table[i] = unused_code;
        return huffman_check::ok;
    }

    // Kraft: `left` is how many codes of the current length are still unassigned.
    int left = 1;
    for (unsigned len = 1; len <= deflate_max_code_length; ++len) {
        left = 2 * left - static_cast<int>(length_count[len]);
        if (left < 0) return huffman_check::over_subscribed;
    }
    if (left > 0) {
        if (sparse == sparse_codes::refuse || max_length != 1) return huffman_check::incomplete;
        for (std::size_t i = 0; i < primary_size; ++i) table[i] = unused_code;
    }

    // Canonical order: by length, then by symbol.
    unsigned next_slot[deflate_max_code_length + 1] = {};
    for (unsigned len = 1; len < deflate_max_code_length; ++len)
        next_slot[len + 1] = next_slot[len] + length_count[len];
    unsigned coded = 0;
    for (unsigned s = 0; s < count; ++s) {
        if (lengths[s] != 0) {
            sorted[next_slot[lengths[s]]++] = static_cast<std::uint16_t>(s);
            ++coded;
        }
    }

    unsigned remaining[deflate_max_code_length + 1];
    for (unsigned len = 0; len <= deflate_max_code_length; ++len) remaining[len] = length_count[len];

    const std::uint32_t primary_mask = static_cast<std::uint32_t>(primary_size - 1);
    std::size_t next_free = primary_size;
    std::uint32_t open_prefix = ~std::uint32_t{0};
    std::size_t sub_start = 0;
    unsigned sub_bits = 0;

    std::uint32_t code = 0;  // the canonical codeword of sorted[i], most significant bit first
    for (unsigned i = 0; i < coded; ++i) {
        const unsigned symbol = sorted[i];
        const unsigned len = lengths[symbol];
        // The stream sends a codeword's first bit first, and the table is indexed by stream order.
        const std::uint32_t stream_code = reverse_bits(code, len);

        if (len <= table_bits) {
            const std::uint32_t entry = symbol_entries[symbol] + len + (len << 8);
            for (std::size_t at = stream_code; at < primary_size; at += std::size_t{1} << len) table[at] = entry;
        } else {
            const std::uint32_t prefix = stream_code & primary_mask;
            if (prefix != open_prefix) {
                // A new subtable: wide enough for the longest code sharing this prefix. The code is
                // complete here, so the prefix's subtree is filled by the next codes in order.
                open_prefix = prefix;
                sub_bits = len - table_bits;
                int space = 1 << sub_bits;
                for (unsigned l = len; l < max_length; ++l) {
                    space -= static_cast<int>(remaining[l]);
                    if (space <= 0) break;
                    ++sub_bits;
                    space <<= 1;
                }
                if (next_free + (std::size_t{1} << sub_bits) > capacity) return huffman_check::too_large;
                sub_start = next_free;
                next_free += std::size_t{1} << sub_bits;
                table[prefix] = entry_exceptional | entry_subtable | (static_cast<std::uint32_t>(sub_start) << 16) |
                                (sub_bits << 8) | table_bits;
            }
            const unsigned sub_len = len - table_bits;
            const std::uint32_t entry = symbol_entries[symbol] + sub_len + (sub_len << 8);
            const std::size_t sub_size = std::size_t{1} << sub_bits;
            for (std::size_t at = stream_code >> table_bits; at < sub_size; at += std::size_t{1} << sub_len)
                table[sub_start + at] = entry;
        }

        --remaining[len];
        ++code;
        if (i + 1 < coded) code <<= lengths[sorted[i + 1]] - len;
    }
    return huffman_check::ok;
}

}  // namespace zip::detail
BRINE_NAMESPACE_END
