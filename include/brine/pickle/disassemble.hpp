// SPDX-License-Identifier: MIT
//
// A human-readable listing of a pickle, one line per opcode, in the spirit of pickletools.dis:
//
//       offset  depth marks  opcode             argument
//            0      0     0  PROTO              2
//            2      1     0  EMPTY_DICT
//            3      1     0  BINPUT             memo[0]
//            5      2     1    MARK
//
// `depth` is the number of objects on the unpickler's stack after the opcode and `marks` the
// number of open MARKs (opcodes inside a MARK are indented); both come from a counting
// simulation, no values are built. Memo opcodes show the index they store or fetch (MEMOIZE the
// one it assigns). Strings are quoted with every control and non-ASCII character escaped, so a
// listing never carries raw bytes to a terminal; long ones are cut with "...(N bytes)".
//
// A malformed pickle is listed up to the problem, followed by a line naming the error and its
// offset. Bytes after STOP are listed too, under a line saying they are no part of the object
// (a loader that reads several pickles in a row would run them). Memory: the reader's scratch
// buffer, the simulation's mark and memo tables (bounded by Limits::max_mark_depth and
// Limits::max_memo_size) and, while a big integer's line is written, a copy of it.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/error.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/core/hex.hpp>
#include <brine/pickle/limits.hpp>
#include <brine/pickle/opcodes.hpp>
#include <brine/pickle/reader.hpp>
#include <brine/pickle/token.hpp>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace pickle {

// One line of the listing, built in a fixed buffer; text beyond its capacity is dropped and the
// line ends in "...".
class listing_line {
public:
    static constexpr std::size_t capacity = 1024;

    void append(std::string_view text) noexcept {
        for (char c : text) append(c);
    }
    void append(char c) noexcept {
        if (size_ < capacity) text_[size_++] = c;
        else truncated_ = true;
    }
    void append_number(std::int64_t value) noexcept {
        char digits[24];
        const auto converted = std::to_chars(digits, digits + sizeof digits, value);
        append(std::string_view(digits, static_cast<std::size_t>(converted.ptr - digits)));
    }
    void append_number(std::uint64_t value) noexcept {
        char digits[24];
        const auto converted = std::to_chars(digits, digits + sizeof digits, value);
        append(std::string_view(digits, static_cast<std::size_t>(converted.ptr - digits)));
    }
    // Pads with spaces to `column` (no-op when already past it).
    void pad_to(std::size_t column) noexcept {
        while (size_ < column && size_ < capacity) text_[size_++] = ' ';
    }
    // A number right-aligned in `width` columns.
    void append_right(std::uint64_t value, std::size_t width) noexcept {
        char digits[24];
        const auto converted = std::to_chars(digits, digits + sizeof digits, value);
        const auto length = static_cast<std::size_t>(converted.ptr - digits);
        for (std::size_t i = length; i < width; ++i) append(' ');
        append(std::string_view(digits, length));
    }
    // Drops everything after the first `size` characters.
    void shorten_to(std::size_t size) noexcept {
        if (size < size_) size_ = size;
    }
    [[nodiscard]] std::string_view view() const noexcept { return {text_, size_}; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool truncated() const noexcept { return truncated_; }

private:
    char text_[capacity];
    std::size_t size_ = 0;
    bool truncated_ = false;
};

// The default annotator: adds nothing. An annotator is called once per opcode line, after the
// argument, with the token; it may append text (e.g. a policy verdict for GLOBAL, INST and
// STACK_GLOBAL lines).
struct no_annotation {
    void operator()(const token&, listing_line&) const noexcept {}
};

struct disassembly_summary {
    std::uint64_t opcodes = 0;   // lines listed
    bool reached_stop = false;   // the first pickle ended with STOP
    error problem;               // the first error in the stream (code ok when none)
};

namespace detail {

inline constexpr std::size_t shown_bytes = 64;  // of a string argument, before "...(N bytes)"
inline constexpr std::size_t shown_indent = 16;  // levels of MARK indentation at most

inline void append_escaped_code_point(listing_line& out, std::uint32_t cp, char quote) noexcept {
    switch (cp) {
        case '\\': out.append("\\\\"); return;
        case '\n': out.append("\\n"); return;
        case '\r': out.append("\\r"); return;
        case '\t': out.append("\\t"); return;
        default: break;
    }
    if (cp == static_cast<std::uint32_t>(quote)) {
        out.append('\\');
        out.append(quote);
    } else if (cp >= 0x20 && cp < 0x7f) {
        out.append(static_cast<char>(cp));
    } else if (cp < 0x100) {
        out.append("\\x");
        append_hex_byte(out, static_cast<std::uint8_t>(cp));
    } else if (cp < 0x10000) {
        out.append("\\u");
        append_hex_byte(out, static_cast<std::uint8_t>(cp >> 8));
        append_hex_byte(out, static_cast<std::uint8_t>(cp & 0xff));
    } else {
        out.append("\\U");
        for (int shift = 24; shift >= 0; shift -= 8) append_hex_byte(out, static_cast<std::uint8_t>((cp >> shift) & 0xff));
    }
}

inline void append_size_note(listing_line& out, std::size_t size) noexcept {
    out.append("...(");
    out.append_number(static_cast<std::uint64_t>(size));
    out.append(" bytes)");
}

// b'...' with Python-style escapes.
inline void append_bytes_literal(listing_line& out, byte_view bytes) noexcept {
    out.append("b'");
    const std::size_t shown = bytes.size() < shown_bytes ? bytes.size() : shown_bytes;
    for (std::size_t i = 0; i < shown; ++i) append_escaped_code_point(out, bytes[i], '\'');
    out.append('\'');
    if (shown < bytes.size()) append_size_note(out, bytes.size());
}

// '...' from strict UTF-8 (the reader validated it), non-ASCII as \u escapes.
inline void append_text_literal(listing_line& out, byte_view utf8) noexcept {
    out.append('\'');
    std::size_t i = 0;
    while (i < utf8.size() && i < shown_bytes) {
        const std::uint8_t lead = utf8[i];
        std::size_t length = lead < 0x80 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
        if (length > utf8.size() - i) length = utf8.size() - i;  // never happens after validation
        std::uint32_t cp = length == 1 ? lead : lead & (0x7fu >> length);
        for (std::size_t k = 1; k < length; ++k) cp = (cp << 6) | (utf8[i + k] & 0x3fu);
        append_escaped_code_point(out, cp, '\'');
        i += length;
    }
    out.append('\'');
    if (i < utf8.size()) append_size_note(out, utf8.size());
}

// A big integer as signed hexadecimal (decimal would cost quadratic time on 64 KiB values).
inline void append_big_integer(listing_line& out, byte_view twos_complement) noexcept {
    const std::size_t n = twos_complement.size();
    const bool negative = n != 0 && (twos_complement[n - 1] & 0x80);
    // |value| = value, or ~value + 1; computed from the low end, printed from the high end.
    std::vector<std::uint8_t> magnitude(twos_complement.begin(), twos_complement.end());
    if (negative) {
        unsigned carry = 1;
        for (auto& byte : magnitude) {
            const unsigned sum = static_cast<std::uint8_t>(~byte) + carry;
            byte = static_cast<std::uint8_t>(sum);
            carry = sum >> 8;
        }
    }
    std::size_t top = magnitude.size();
    while (top > 1 && magnitude[top - 1] == 0) --top;
    out.append(negative ? "-0x" : "0x");
    const std::size_t shown = top < shown_bytes / 2 ? top : shown_bytes / 2;
    for (std::size_t i = 0; i < shown; ++i) append_hex_byte(out, static_cast<std::uint8_t>(magnitude[top - 1 - i]));
    if (shown < top) append_size_note(out, n);
}

// Like Python's repr for the common cases: shortest round-trip digits, a ".0" on integral values.
inline void append_real(listing_line& out, double value) noexcept {
    if (std::isnan(value)) {
        out.append(std::signbit(value) ? "-nan" : "nan");
        return;
    }
    if (std::isinf(value)) {
        out.append(value < 0 ? "-inf" : "inf");
        return;
    }
    char digits[40];
    const auto converted = std::to_chars(digits, digits + sizeof digits, value);
    const std::string_view text(digits, static_cast<std::size_t>(converted.ptr - digits));
    out.append(text);
    if (text.find_first_of(".e") == std::string_view::npos) out.append(".0");
}

// The counting stack machine behind the depth and marks columns, and the memo's occupancy
// behind the memo indices.
template <class Limits>
class stack_counter {
public:
    // Applies one opcode. Returns a note for the line ("stack underflow", ...) or nullptr.
    [[nodiscard]] const char* apply(const token& t) noexcept {
        const stack_effect effect = info(t.op).stack;
        const char* note = nullptr;
        if (t.op == opcode::POP && level_ == 0 && !marks_.empty()) {
            pop_mark();  // CPython: POP with nothing above the topmost mark discards the mark
            return nullptr;
        }
        if (effect.to_mark) {
            if (marks_.empty()) note = "no MARK to pop to";
            else pop_mark();
        }
        if (level_ < effect.pops) {
            if (!note) note = "stack underflow";
            total_ -= level_;
            level_ = 0;
        } else {
            level_ -= effect.pops;
            total_ -= effect.pops;
        }
        level_ += effect.pushes;
        total_ += effect.pushes;
        if (effect.pushes_mark) {
            if (marks_.size() >= Limits::max_mark_depth) return "MARK nesting beyond Limits::max_mark_depth";
            marks_.push_back(level_);
            level_ = 0;
        }
        return note;
    }

    // What a memo opcode does to the memo, for its line. MEMOIZE assigns the memo's current size
    // (CPython: len(memo)); once an index at or beyond Limits::max_memo_size was stored, that
    // size is no longer followed and MEMOIZE shows "memo[?]".
    struct memo_access {
        bool known = true;          // `index` is meaningful
        std::uint64_t index = 0;
        bool never_stored = false;  // a GET form fetching an index no PUT form or MEMOIZE stored
        bool beyond_limit = false;  // an index at or beyond Limits::max_memo_size
    };

    [[nodiscard]] memo_access memo(const token& t) noexcept {
        memo_access access;
        if (t.op == opcode::MEMOIZE) {
            if (!memo_known_) {
                access.known = false;
                return access;
            }
            access.index = memo_count_;
        } else {
            access.index = static_cast<std::uint64_t>(t.integer);
        }
        access.beyond_limit = access.index >= Limits::max_memo_size;
        if (t.op == opcode::GET || t.op == opcode::BINGET || t.op == opcode::LONG_BINGET) {
            const bool stored = access.index < stored_.size() && stored_[static_cast<std::size_t>(access.index)];
            access.never_stored = !stored && memo_known_;
        } else {
            store(access.index);
        }
        return access;
    }

    [[nodiscard]] std::uint64_t depth() const noexcept { return total_; }
    [[nodiscard]] std::uint64_t marks() const noexcept { return marks_.size(); }
    [[nodiscard]] bool mark_limit_reached() const noexcept { return marks_.size() >= Limits::max_mark_depth; }

    void reset() noexcept {
        marks_.clear();
        level_ = total_ = 0;
        stored_.clear();
        memo_count_ = 0;
        memo_known_ = true;
    }

private:
    void pop_mark() noexcept {
        total_ -= level_;
        level_ = marks_.back();
        marks_.pop_back();
    }
    void store(std::uint64_t index) noexcept {
        if (index >= Limits::max_memo_size) {
            memo_known_ = false;
            return;
        }
        if (index >= stored_.size()) stored_.resize(static_cast<std::size_t>(index) + 1, false);
        if (!stored_[static_cast<std::size_t>(index)]) {
            stored_[static_cast<std::size_t>(index)] = true;
            ++memo_count_;
        }
    }

    std::vector<std::uint64_t> marks_;  // the level below each open MARK
    std::uint64_t level_ = 0;           // objects above the topmost mark
    std::uint64_t total_ = 0;           // objects on the whole stack
    std::vector<bool> stored_;          // memo indices stored so far
    std::uint64_t memo_count_ = 0;
    bool memo_known_ = true;
};

template <class Sink>
[[nodiscard]] status emit(Sink& sink, const listing_line& line) noexcept {
    BRINE_TRY(sink.write(as_bytes(line.view())));
    if (line.truncated()) BRINE_TRY(sink.write(as_bytes("...")));
    return sink.write(as_bytes("\n"));
}

inline void append_argument(listing_line& out, const token& t) noexcept {
    switch (t.kind) {
        case arg_kind::none: break;
        case arg_kind::integer:
            out.append_number(t.integer);
            if (t.op == opcode::FRAME) {
                out.append(" bytes, to offset ");
                out.append_number(t.offset + 9 + static_cast<std::uint64_t>(t.integer));
            }
            break;
        case arg_kind::big_integer: append_big_integer(out, t.data); break;
        case arg_kind::boolean: out.append(t.boolean ? "True" : "False"); break;
        case arg_kind::real: append_real(out, t.real); break;
        case arg_kind::bytes: append_bytes_literal(out, t.data); break;
        case arg_kind::text: append_text_literal(out, t.data); break;
        case arg_kind::global:
            append_text_literal(out, as_bytes(t.module));
            out.append(' ');
            append_text_literal(out, as_bytes(t.name));
            break;
    }
}

}  // namespace detail

// Writes the listing of `pickle` to `sink` (any object with `status write(byte_view)`). The
// result fails only when the sink does; problems in the pickle are listed and summarized.
template <class Limits = limits::standard, class Sink, class Annotator = no_annotation>
[[nodiscard]] result<disassembly_summary> disassemble(byte_view pickle, Sink& sink, Annotator&& annotate = {}) noexcept {
    static_assert(is_sink_v<Sink>, "Sink needs: status write(byte_view) noexcept");
    disassembly_summary summary;
    reader<Limits> tokens(pickle);
    detail::stack_counter<Limits> stack;
    listing_line header;
    header.append("  offset  depth marks  opcode             argument");
    BRINE_TRY(detail::emit(sink, header));

    bool after_stop = false;
    while (true) {
        auto next = tokens.next();
        if (!next) {
            const error& e = next.err();
            if (after_stop && e.code == errc::pickle_end_of_input) break;
            if (summary.problem.code == errc::ok) summary.problem = e;
            listing_line line;
            line.append("error at offset ");
            line.append_number(e.offset);
            line.append(": ");
            line.append(to_string(e.code));
            line.append(": expected ");
            line.append(e.detail);
            BRINE_TRY(detail::emit(sink, line));
            break;
        }
        const token& t = *next;
        ++summary.opcodes;

        const std::uint64_t marks_before = stack.marks();
        const bool memo_op = t.op == opcode::MEMOIZE || t.op == opcode::PUT || t.op == opcode::BINPUT ||
                             t.op == opcode::LONG_BINPUT || t.op == opcode::GET || t.op == opcode::BINGET ||
                             t.op == opcode::LONG_BINGET;
        typename detail::stack_counter<Limits>::memo_access memo;
        if (memo_op) memo = stack.memo(t);
        const bool mark_overflow = t.op == opcode::MARK && stack.mark_limit_reached();
        const char* note = stack.apply(t);

        listing_line line;
        line.append_right(t.offset, 8);
        line.append_right(stack.depth(), 7);
        line.append_right(stack.marks(), 6);
        line.append("  ");
        // Opcodes inside a MARK are indented; the MARK and the opcode that closes it are not.
        const std::uint64_t indent = marks_before < stack.marks() ? marks_before : stack.marks();
        const std::size_t levels = indent < detail::shown_indent ? static_cast<std::size_t>(indent) : detail::shown_indent;
        for (std::size_t i = 0; i < levels; ++i) line.append("  ");
        const std::size_t name_start = line.size();
        line.append(opcode_name(t.op));
        const std::size_t name_end = line.size();
        line.pad_to(name_start + 19);  // the longest names have 16 characters
        const std::size_t argument_start = line.size();
        if (memo_op) {
            if (memo.known) {
                line.append("memo[");
                line.append_number(memo.index);
                line.append(']');
            } else {
                line.append("memo[?]");
            }
            if (memo.never_stored) line.append(" (never stored)");
            if (memo.beyond_limit) line.append(" (beyond Limits::max_memo_size)");
        } else {
            detail::append_argument(line, t);
        }
        if (note) {
            line.append("  ! ");
            line.append(note);
        }
        annotate(t, line);
        if (line.size() == argument_start) line.shorten_to(name_end);  // no trailing blanks
        BRINE_TRY(detail::emit(sink, line));
        if (mark_overflow) {
            if (summary.problem.code == errc::ok)
                summary.problem = error{errc::limit_exceeded, t.offset, "MARK nesting within Limits::max_mark_depth"};
            break;
        }

        if (t.op == opcode::STOP) {
            if (!after_stop) summary.reached_stop = true;
            if (tokens.at_end()) break;
            listing_line trailing;
            trailing.append("after STOP: ");
            trailing.append_number(static_cast<std::uint64_t>(pickle.size()) - tokens.position());
            trailing.append(" more bytes, no part of the object; listed as a further pickle");
            BRINE_TRY(detail::emit(sink, trailing));
            after_stop = true;
            stack.reset();
        }
    }
    return summary;
}

// The listing as a string (for tools and tests).
template <class Limits = limits::standard, class Annotator = no_annotation>
[[nodiscard]] std::string disassemble_to_string(byte_view pickle, Annotator&& annotate = {}) {
    struct string_sink {
        std::string* out;
        status write(byte_view bytes) noexcept {
            out->append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
            return {};
        }
    };
    std::string text;
    string_sink sink{&text};
    (void)disassemble<Limits>(pickle, sink, std::forward<Annotator>(annotate));
    return text;
}

}  // namespace pickle
BRINE_NAMESPACE_END
