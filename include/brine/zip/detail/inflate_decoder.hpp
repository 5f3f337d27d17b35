// SPDX-License-Identifier: MIT
//
// The DEFLATE decode loop (RFC 1951), written once and specialised by where bytes come from and go
// to (inflate_input.hpp, inflate_output.hpp).
//
// Two speeds. The fast loop runs while at least fast_input_margin input bytes and
// fast_output_margin bytes of output room remain: it refills the bit buffer a word at a time,
// writes literals and copies matches without per-byte bounds checks, and checks only what the
// data decides (symbol validity, match distance). Near either end, one symbol at a time is decoded
// carefully: bytes are taken one by one, the input's end is padded with zero bits that are counted
// (using one is a truncated stream), and every output byte is checked against the room left.
//
// Bounded work: every symbol consumes at least one bit and writes at most 258 bytes; every block
// header consumes at least three bits; the output window moves only to make room.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/error.hpp>
#include <brine/core/result.hpp>
#include <brine/zip/detail/inflate_bits.hpp>
#include <brine/zip/detail/inflate_copy.hpp>
#include <brine/zip/detail/inflate_huffman.hpp>
#include <brine/zip/detail/inflate_tables.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>

BRINE_NAMESPACE_BEGIN
namespace zip::detail {

// The decoder's working memory besides its input and output (about 12 KiB).
struct inflate_tables {
    std::uint32_t litlen[litlen_table_size];
    std::uint32_t distance[distance_table_size];
    std::uint32_t precode[precode_table_size];
    std::uint8_t lengths[deflate_litlen_symbols + deflate_distance_symbols];
    std::uint16_t sorted[deflate_litlen_symbols];
    bool holds_fixed_codes = false;
};

// Two word refills per fast iteration, each reading 8 bytes and advancing at most 7.
inline constexpr std::size_t fast_input_margin = 16;
// A fast iteration writes at most two literals and one match, which may overrun its end.
inline constexpr std::size_t fast_output_margin = 2 + deflate_max_match + match_copy_overrun;

// What to call output past the bound: more than the caller allows, or more than declared.
struct output_bound_error {
    errc code;
    const char* detail;
};

template <class Input, class Output>
class inflate_decoder {
public:
    inflate_decoder(inflate_tables& tables, Input& input, Output& output, output_bound_error bound) noexcept
        : tables_(tables),
          input_(input),
          output_(output),
          bound_(bound),
          in_(input.initial_cursor()),
          in_end_(input.initial_end()),
          history_(output.history_begin()),
          out_(output.initial_position()),
          out_end_(output.initial_end()) {}

    // Decodes blocks up to and including the final one.
    [[nodiscard]] status decode() noexcept {
        for (;;) {
            BRINE_TRY(refill_careful());
            const std::uint64_t header_bit = bit_position();
            const std::uint32_t header = bits_.take(3);
            if (overran()) return truncated();
            switch (header >> 1) {
                case 0: BRINE_TRY(stored_block()); break;
                case 1:
                    BRINE_TRY(use_fixed_codes(header_bit));
                    BRINE_TRY(huffman_block());
                    break;
                case 2:
                    BRINE_TRY(read_dynamic_codes());
                    BRINE_TRY(huffman_block());
                    break;
                default:
                    return fail(errc::deflate_bad_block_type, header_bit,
                                "a block type of 0, 1 or 2 (type 3 is reserved)");
            }
            if (header & 1u) return {};
        }
    }

    // After decode(): the stream's length in bytes, up to and including the final block's last bit.
    [[nodiscard]] std::uint64_t consumed() const noexcept { return (bit_position() + 7) / 8; }
    [[nodiscard]] std::uint64_t produced() const noexcept { return output_.produced(out_); }

    // After decode(): whether any input follows the stream (reads from the source if need be).
    [[nodiscard]] result<bool> input_follows() noexcept {
        if (bits_.count / 8 > overread_ || in_ != in_end_) return true;
        if (!input_.exhausted()) BRINE_TRY(input_.fill(in_, in_end_));
        return in_ != in_end_;
    }

    [[nodiscard]] status finish_output() noexcept { return output_.finish(out_); }

private:
    enum class loop_exit { out_of_room, end_of_block, failed };

    // Bits consumed so far, counting from the start of the stream.
    [[nodiscard]] std::uint64_t bit_position() const noexcept {
        return 8 * (input_.offset_of(in_) + overread_) - bits_.count;
    }
    [[nodiscard]] std::size_t input_available() const noexcept { return static_cast<std::size_t>(in_end_ - in_); }
    [[nodiscard]] std::size_t output_room() const noexcept { return static_cast<std::size_t>(out_end_ - out_); }

    // Whether the zero bits appended past the end of the input have been used.
    [[nodiscard]] bool overran() const noexcept { return bits_.count < 8 * overread_; }

    [[nodiscard]] error truncated() const noexcept {
        return error{errc::deflate_truncated, input_.offset_of(in_end_), "more input: the final block has not ended"};
    }
    [[nodiscard]] static error fail(errc code, std::uint64_t at_bit, const char* expected) noexcept {
        return error{code, at_bit / 8, expected};
    }

    // Fills the bit buffer to at least 56 bits, appending zero bytes once the input is exhausted.
    [[nodiscard]] status refill_careful() noexcept {
        while (bits_.count <= 55) {
            if (input_available() >= 8) {
                in_ = bits_.refill_word(in_);
            } else if (in_ != in_end_) {
                bits_.push_byte(*in_++);
            } else if (!input_.exhausted()) {
                BRINE_TRY(input_.fill(in_, in_end_));
            } else {
                ++overread_;
                bits_.count += 8;
            }
        }
        return {};
    }

    // Room for at least one more output byte; having none is the output bound.
    [[nodiscard]] status need_output_room(std::uint64_t symbol_bit) noexcept {
        if (out_ != out_end_) return {};
        BRINE_TRY(output_.reserve(out_, out_end_, 1));
        if (out_ == out_end_) return fail(bound_.code, symbol_bit, bound_.detail);
        return {};
    }

    [[nodiscard]] status stored_block() noexcept {
        bits_.consume(bits_.count & 7u);  // to the byte boundary
        BRINE_TRY(refill_careful());
        const std::uint64_t field_bit = bit_position();
        const std::uint32_t length = bits_.take(16);
        const std::uint32_t complement = bits_.take(16);
        if (overran()) return truncated();
        if (length != (~complement & 0xFFFFu))
            return fail(errc::deflate_stored_length, field_bit, "a stored block's LEN followed by its complement NLEN");

        std::size_t left = length;
        // Whole bytes already in the bit buffer come first (the count is a multiple of 8 here).
        for (unsigned buffered = bits_.count / 8 - overread_; left != 0 && buffered != 0; --buffered, --left) {
            BRINE_TRY(need_output_room(bit_position()));
            *out_++ = static_cast<std::uint8_t>(bits_.take(8));
        }
        if (left == 0) return {};
        if (overread_ != 0) return truncated();
        bits_.bits = 0;  // now empty: drop the lookahead, the bytes are read directly from here on
        while (left != 0) {
            if (in_ == in_end_) {
                if (input_.exhausted()) return truncated();
                BRINE_TRY(input_.fill(in_, in_end_));
                continue;
            }
            BRINE_TRY(need_output_room(bit_position()));
            std::size_t n = left < input_available() ? left : input_available();
            if (n > output_room()) n = output_room();
            std::memcpy(out_, in_, n);
            out_ += n;
            in_ += n;
            left -= n;
        }
        return {};
    }

    [[nodiscard]] status use_fixed_codes(std::uint64_t header_bit) noexcept {
        if (tables_.holds_fixed_codes) return {};
        std::uint8_t* lengths = tables_.lengths;
        std::memset(lengths, 8, 144);
        std::memset(lengths + 144, 9, 256 - 144);
        std::memset(lengths + 256, 7, 280 - 256);
        std::memset(lengths + 280, 8, deflate_litlen_symbols - 280);
        std::memset(lengths + deflate_litlen_symbols, 5, deflate_distance_symbols);
        BRINE_TRY(build(tables_.litlen, litlen_table_size, litlen_table_bits, lengths, deflate_litlen_symbols,
                        litlen_symbol_entries.data(), sparse_codes::refuse, header_bit));
        BRINE_TRY(build(tables_.distance, distance_table_size, distance_table_bits, lengths + deflate_litlen_symbols,
                        deflate_distance_symbols, distance_symbol_entries.data(), sparse_codes::refuse, header_bit));
        tables_.holds_fixed_codes = true;
        return {};
    }

    [[nodiscard]] status build(std::uint32_t* table, std::size_t capacity, unsigned table_bits,
                               const std::uint8_t* lengths, unsigned count, const std::uint32_t* symbols,
                               sparse_codes sparse, std::uint64_t at_bit) noexcept {
        switch (build_decode_table(table, capacity, table_bits, lengths, count, symbols, sparse, tables_.sorted)) {
            case huffman_check::ok: return {};
            case huffman_check::over_subscribed:
                return fail(errc::deflate_bad_code_lengths, at_bit, "code lengths that are not over-subscribed");
            case huffman_check::incomplete:
                return fail(errc::deflate_bad_code_lengths, at_bit, "code lengths that form a complete code");
            case huffman_check::too_large: break;
        }
        return fail(errc::deflate_bad_code_lengths, at_bit, "code lengths that form a valid code");
    }

    [[nodiscard]] status read_dynamic_codes() noexcept {
        tables_.holds_fixed_codes = false;
        BRINE_TRY(refill_careful());
        const std::uint64_t header_bit = bit_position();
        const unsigned litlen_count = bits_.take(5) + 257;
        const unsigned distance_count = bits_.take(5) + 1;
        const unsigned precode_count = bits_.take(4) + 4;
        if (overran()) return truncated();
        // zlib refuses codes for symbols that can never be used rather than ignoring them.
        if (litlen_count > deflate_max_dynamic_litlen || distance_count > deflate_max_dynamic_distance)
            return fail(errc::deflate_bad_symbol, header_bit,
                        "at most 286 literal/length codes and 30 distance codes");

        std::uint8_t precode_lengths[deflate_precode_symbols] = {};
        for (unsigned i = 0; i < precode_count; ++i) {
            if (bits_.count < 3) BRINE_TRY(refill_careful());
            precode_lengths[deflate_precode_order[i]] = static_cast<std::uint8_t>(bits_.take(3));
        }
        if (overran()) return truncated();
        BRINE_TRY(build(tables_.precode, precode_table_size, precode_table_bits, precode_lengths,
                        deflate_precode_symbols, precode_symbol_entries.data(), sparse_codes::refuse,
                        bit_position() - 1));

        // One run of lengths for both codes: a repeat may cross from one into the other.
        const unsigned total = litlen_count + distance_count;
        std::uint8_t* lengths = tables_.lengths;
        unsigned have = 0;
        while (have < total) {
            if (bits_.count < deflate_max_precode_length + 7) BRINE_TRY(refill_careful());
            const std::uint64_t symbol_bit = bit_position();
            const std::uint32_t entry = tables_.precode[bits_.peek(precode_table_bits)];
            bits_.consume(entry_consume_bits(entry));
            const unsigned symbol = entry_value(entry);
            if (symbol < 16) {
                if (overran()) return truncated();
                lengths[have++] = static_cast<std::uint8_t>(symbol);
                continue;
            }
            std::uint8_t value = 0;
            unsigned repeat = 0;
            if (symbol == 16) {
                repeat = 3 + bits_.take(2);
                if (have != 0) value = lengths[have - 1];
            } else if (symbol == 17) {
                repeat = 3 + bits_.take(3);
            } else {
                repeat = 11 + bits_.take(7);
            }
            if (overran()) return truncated();
            if (symbol == 16 && have == 0)
                return fail(errc::deflate_bad_code_lengths, symbol_bit, "a code length before the first repeat");
            if (repeat > total - have)
                return fail(errc::deflate_bad_code_lengths, symbol_bit,
                            "repeated code lengths that stay within the declared count");
            std::memset(lengths + have, value, repeat);
            have += repeat;
        }

        const std::uint64_t end_bit = bit_position() - 1;
        if (lengths[deflate_end_of_block] == 0)
            return fail(errc::deflate_bad_code_lengths, end_bit, "a code for the end-of-block symbol");
        BRINE_TRY(build(tables_.litlen, litlen_table_size, litlen_table_bits, lengths, litlen_count,
                        litlen_symbol_entries.data(), sparse_codes::allow, end_bit));
        BRINE_TRY(build(tables_.distance, distance_table_size, distance_table_bits, lengths + litlen_count,
                        distance_count, distance_symbol_entries.data(), sparse_codes::allow, end_bit));
        return {};
    }

    [[nodiscard]] status huffman_block() noexcept {
        for (;;) {
            if (input_available() < fast_input_margin && !input_.exhausted()) BRINE_TRY(input_.fill(in_, in_end_));
            if (output_room() < fast_output_margin) BRINE_TRY(output_.reserve(out_, out_end_, fast_output_margin));
            if (input_available() >= fast_input_margin && output_room() >= fast_output_margin) {
                const loop_exit exit = fast_loop();
                if (exit == loop_exit::end_of_block) return {};
                if (exit == loop_exit::failed) return failure_;
            }
            bool end_of_block = false;
            BRINE_TRY(careful_symbol(end_of_block));
            if (end_of_block) return {};
        }
    }

    // One literal, match or end of block, with every check.
    [[nodiscard]] status careful_symbol(bool& end_of_block) noexcept {
        BRINE_TRY(refill_careful());  // 56 bits: the longest length and distance codes take 48
        const std::uint64_t symbol_bit = bit_position();
        std::uint32_t entry = tables_.litlen[bits_.peek(litlen_table_bits)];
        if (entry & entry_subtable) {
            bits_.consume(litlen_table_bits);
            entry = tables_.litlen[entry_value(entry) + bits_.peek(entry_code_bits(entry))];
        }
        const std::uint64_t length_bits = bits_.bits;
        bits_.consume(entry_consume_bits(entry));
        if (entry & entry_literal) {
            if (overran()) return truncated();
            BRINE_TRY(need_output_room(symbol_bit));
            *out_++ = static_cast<std::uint8_t>(entry_value(entry));
            return {};
        }
        if (entry & entry_exceptional) {
            if (overran()) return truncated();
            if (entry & entry_end_of_block) {
                end_of_block = true;
                return {};
            }
            return fail(errc::deflate_bad_symbol, symbol_bit, "a literal/length code the block defines (not 286, 287)");
        }
        const std::size_t length = entry_value(entry) + entry_extra(entry, length_bits);

        const std::uint64_t distance_bit = bit_position();
        entry = tables_.distance[bits_.peek(distance_table_bits)];
        if (entry & entry_subtable) {
            bits_.consume(distance_table_bits);
            entry = tables_.distance[entry_value(entry) + bits_.peek(entry_code_bits(entry))];
        }
        const std::uint64_t distance_bits = bits_.bits;
        bits_.consume(entry_consume_bits(entry));
        if (overran()) return truncated();
        if (entry & entry_exceptional)
            return fail(errc::deflate_bad_symbol, distance_bit, "a distance code the block defines (not 30, 31)");
        const std::size_t distance = entry_value(entry) + entry_extra(entry, distance_bits);
        if (distance > static_cast<std::size_t>(out_ - history_))
            return fail(errc::deflate_distance_too_far, distance_bit, "a match distance within the output so far");

        for (std::size_t left = length; left != 0;) {
            BRINE_TRY(need_output_room(symbol_bit));  // may slide the window: recompute the source
            const std::size_t n = left < output_room() ? left : output_room();
            const std::uint8_t* from = out_ - distance;
            for (std::size_t i = 0; i < n; ++i) out_[i] = from[i];
            out_ += n;
            left -= n;
        }
        return {};
    }

    // Decodes while the margins hold, on local copies of the state (see inflate_bits.hpp). Leaves
    // only between whole symbols.
    [[nodiscard]] loop_exit fast_loop() noexcept {
        bit_buffer bits = bits_;
        const std::uint8_t* in = in_;
        std::uint8_t* out = out_;
        const std::uint8_t* const in_stop = in_end_ - fast_input_margin;
        std::uint8_t* const out_stop = out_end_ - fast_output_margin;
        const std::uint8_t* const history = history_;
        const std::uint32_t* const litlen = tables_.litlen;
        const std::uint32_t* const distances = tables_.distance;

        loop_exit exit = loop_exit::out_of_room;
        errc failure = errc::ok;
        const char* failure_detail = "";
        unsigned failure_bits_back = 0;  // from the stop position to the start of the bad code

        do {
            in = bits.refill_word(in);
            std::uint32_t entry = litlen[bits.peek(litlen_table_bits)];
            if (entry & entry_literal) {
                // Up to three literals per refill: primary-table literals take at most 11 bits.
                bits.consume(entry_consume_bits(entry));
                *out++ = static_cast<std::uint8_t>(entry >> 16);
                entry = litlen[bits.peek(litlen_table_bits)];
                if (entry & entry_literal) {
                    bits.consume(entry_consume_bits(entry));
                    *out++ = static_cast<std::uint8_t>(entry >> 16);
                    entry = litlen[bits.peek(litlen_table_bits)];
                    if (entry & entry_literal) {
                        bits.consume(entry_consume_bits(entry));
                        *out++ = static_cast<std::uint8_t>(entry >> 16);
                        continue;
                    }
                }
                in = bits.refill_word(in);  // a length and a distance may need 48 bits
            }
            if (BRINE_UNLIKELY(entry & entry_exceptional)) {
                unsigned consumed_before = 0;
                if (entry & entry_subtable) {
                    bits.consume(litlen_table_bits);
                    consumed_before = litlen_table_bits;
                    entry = litlen[entry_value(entry) + bits.peek(entry_code_bits(entry))];
                    if (entry & entry_literal) {
                        bits.consume(entry_consume_bits(entry));
                        *out++ = static_cast<std::uint8_t>(entry >> 16);
                        continue;
                    }
                }
                if (entry & entry_exceptional) {
                    if (entry & entry_end_of_block) {
                        bits.consume(entry_consume_bits(entry));
                        exit = loop_exit::end_of_block;
                    } else {
                        failure = errc::deflate_bad_symbol;
                        failure_detail = "a literal/length code the block defines (not 286, 287)";
                        failure_bits_back = consumed_before;
                        exit = loop_exit::failed;
                    }
                    break;
                }
            }
            const std::uint64_t length_bits = bits.bits;
            bits.consume(entry_consume_bits(entry));
            const std::size_t length = entry_value(entry) + entry_extra(entry, length_bits);

            const unsigned count_at_distance = bits.count;
            entry = distances[bits.peek(distance_table_bits)];
            if (BRINE_UNLIKELY(entry & entry_exceptional)) {
                if (entry & entry_subtable) {
                    bits.consume(distance_table_bits);
                    entry = distances[entry_value(entry) + bits.peek(entry_code_bits(entry))];
                }
                if (entry & entry_exceptional) {
                    failure = errc::deflate_bad_symbol;
                    failure_detail = "a distance code the block defines (not 30, 31)";
                    failure_bits_back = count_at_distance - bits.count;
                    exit = loop_exit::failed;
                    break;
                }
            }
            const std::uint64_t distance_bits = bits.bits;
            bits.consume(entry_consume_bits(entry));
            const std::size_t distance = entry_value(entry) + entry_extra(entry, distance_bits);
            if (BRINE_UNLIKELY(distance > static_cast<std::size_t>(out - history))) {
                failure = errc::deflate_distance_too_far;
                failure_detail = "a match distance within the output so far";
                failure_bits_back = count_at_distance - bits.count;
                exit = loop_exit::failed;
                break;
            }
            copy_match_fast(out, distance, length);
            out += length;
        } while (in <= in_stop && out <= out_stop);

        bits_ = bits;
        in_ = in;
        out_ = out;
        if (exit == loop_exit::failed) failure_ = fail(failure, bit_position() - failure_bits_back, failure_detail);
        return exit;
    }

    inflate_tables& tables_;
    Input& input_;
    Output& output_;
    output_bound_error bound_;

    bit_buffer bits_;
    unsigned overread_ = 0;  // zero bytes appended to the bit buffer past the end of the input
    const std::uint8_t* in_;
    const std::uint8_t* in_end_;
    const std::uint8_t* history_;  // the oldest output a match may reach
    std::uint8_t* out_;
    std::uint8_t* out_end_;
    error failure_;
};

}  // namespace zip::detail
BRINE_NAMESPACE_END
