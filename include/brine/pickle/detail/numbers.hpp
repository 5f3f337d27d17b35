// SPDX-License-Identifier: MIT
//
// Numbers in a pickle: decimal integer lines (INT, LONG, GET, PUT), float lines (FLOAT), and
// little-endian two's complement integers of any length (LONG1, LONG4, and big decimal values).
//
// Protocol 0's text numbers are read by CPython's two unpicklers in slightly different ways
// (pickle.py calls int(line, 0) and float(line); _pickle.c calls strtol, PyLong_FromString and
// PyOS_string_to_double). brine accepts the forms both read identically and refuses the rest.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <system_error>

BRINE_NAMESPACE_BEGIN
namespace pickle {
namespace detail {

// Python's whitespace for bytes (and C's isspace in the "C" locale): \t \n \v \f \r and space.
[[nodiscard]] constexpr bool is_python_space(std::uint8_t c) noexcept { return c == ' ' || (c >= 0x09 && c <= 0x0d); }
[[nodiscard]] constexpr bool is_digit(std::uint8_t c) noexcept { return c >= '0' && c <= '9'; }

struct decimal_literal {
    bool negative = false;
    byte_view digits;  // one or more ASCII digits
};

// Splits `[whitespace][+|-]digits[whitespace]`. Anything else (underscores, 0x/0o/0b prefixes,
// other bases, embedded NUL) is refused: CPython reads some of those, but no pickler writes them.
[[nodiscard]] inline result<decimal_literal> split_decimal(byte_view text, std::uint64_t base) noexcept {
    std::size_t begin = 0, end = text.size();
    while (begin < end && is_python_space(text[begin])) ++begin;
    while (end > begin && is_python_space(text[end - 1])) --end;
    decimal_literal literal;
    if (begin < end && (text[begin] == '+' || text[begin] == '-')) literal.negative = text[begin++] == '-';
    if (begin == end) return error{errc::pickle_bad_integer, base + begin, "decimal digits"};
    for (std::size_t i = begin; i < end; ++i)
        if (!is_digit(text[i])) return error{errc::pickle_bad_integer, base + i, "only decimal digits"};
    literal.digits = text.subview(begin, end - begin);
    return literal;
}

// The value as an int64, if it fits.
[[nodiscard]] constexpr bool decimal_to_int64(const decimal_literal& literal, std::int64_t& value) noexcept {
    const std::uint64_t bound = literal.negative ? std::uint64_t(1) << 63 : (std::uint64_t(1) << 63) - 1;
    std::uint64_t magnitude = 0;
    for (std::uint8_t c : literal.digits) {
        const std::uint64_t digit = c - '0';
        if (magnitude > (bound - digit) / 10) return false;
        magnitude = magnitude * 10 + digit;
    }
    // Two's complement negation in unsigned arithmetic: no signed overflow for -2^63.
    value = static_cast<std::int64_t>(literal.negative ? 0 - magnitude : magnitude);
    return true;
}

// Bytes of scratch decimal_to_twos_complement needs: log2(10)/8 < 1/2 byte per digit, plus a
// sign byte and rounding.
[[nodiscard]] constexpr std::size_t twos_complement_capacity(std::size_t digits) noexcept { return digits / 2 + 2; }

// The shortest little-endian two's complement encoding with the same value: drop top bytes that
// only repeat the sign. An empty input (LONG1 with length 0) is zero and stays empty.
[[nodiscard]] constexpr byte_view minimal_twos_complement(byte_view bytes) noexcept {
    std::size_t n = bytes.size();
    while (n > 1) {
        const std::uint8_t top = bytes[n - 1];
        const bool next_negative = (bytes[n - 2] & 0x80) != 0;
        if ((top == 0x00 && !next_negative) || (top == 0xff && next_negative)) --n;
        else break;
    }
    return bytes.first(n);
}

// Sign-extends a minimal encoding of at most 8 bytes.
[[nodiscard]] constexpr bool twos_complement_to_int64(byte_view minimal, std::int64_t& value) noexcept {
    if (minimal.size() > 8) return false;
    if (minimal.empty()) {
        value = 0;
        return true;
    }
    std::uint64_t bits = (minimal[minimal.size() - 1] & 0x80) ? ~std::uint64_t(0) : 0;
    for (std::size_t i = minimal.size(); i-- > 0;) bits = (bits << 8) | minimal[i];
    value = static_cast<std::int64_t>(bits);
    return true;
}

// Converts decimal digits to little-endian two's complement in `out` (twos_complement_capacity
// bytes); returns the minimal encoding, a prefix of `out`. Quadratic in the number of digits,
// which the caller bounds (Limits::max_big_int_digits).
[[nodiscard]] inline byte_view decimal_to_twos_complement(const decimal_literal& literal, std::uint8_t* out) noexcept {
    const std::size_t capacity = twos_complement_capacity(literal.digits.size());
    for (std::size_t i = 0; i < capacity; ++i) out[i] = 0;
    std::size_t used = 0;  // bytes of the magnitude that may be non-zero
    const std::size_t count = literal.digits.size();
    for (std::size_t start = 0; start < count;) {
        // Nine digits at a time: magnitude = magnitude * 10^k + chunk.
        std::uint64_t multiplier = 1, chunk = 0;
        for (std::size_t k = 0; k < 9 && start < count; ++k, ++start) {
            multiplier *= 10;
            chunk = chunk * 10 + (literal.digits[start] - '0');
        }
        std::uint64_t carry = chunk;
        for (std::size_t i = 0; i < used; ++i) {
            carry += std::uint64_t(out[i]) * multiplier;  // < 2^8 * 10^9 + carry: no overflow
            out[i] = static_cast<std::uint8_t>(carry);
            carry >>= 8;
        }
        while (carry != 0 && used < capacity) {
            out[used++] = static_cast<std::uint8_t>(carry);
            carry >>= 8;
        }
    }
    if (literal.negative) {
        // -m = ~m + 1 over the whole buffer; the top byte was free, so the sign comes out right.
        unsigned carry = 1;
        for (std::size_t i = 0; i < capacity; ++i) {
            const unsigned sum = static_cast<std::uint8_t>(~out[i]) + carry;
            out[i] = static_cast<std::uint8_t>(sum);
            carry = sum >> 8;
        }
    }
    return minimal_twos_complement(byte_view(out, capacity));
}

// A FLOAT line: `[+|-]` then digits with an optional fraction and exponent (`1`, `1.5`, `.5`,
// `5.`, `1e-05`), or inf / infinity / nan in any case. Whitespace, underscores and hex floats are
// refused: Python's float() accepts them but _pickle.c's PyOS_string_to_double does not. A finite
// literal too large for a double is refused (float() gives inf, _pickle.c raises OverflowError);
// one too small rounds to zero, as in both. Conversion is correctly rounded (std::from_chars).
[[nodiscard]] inline result<double> parse_float_line(byte_view text, std::uint64_t base) noexcept {
    const char* const begin = reinterpret_cast<const char*>(text.data());
    const char* p = begin;
    const char* const end = begin + text.size();
    const bool negative = p < end && *p == '-';
    if (p < end && (*p == '+' || *p == '-')) ++p;
    const char* const unsigned_begin = p;

    auto matches_word = [&](const char* word) noexcept {
        const char* q = unsigned_begin;
        for (; *word; ++word, ++q)
            if (q == end || (*q | 0x20) != *word) return false;
        return q == end;
    };
    if (matches_word("inf") || matches_word("infinity"))
        return negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    if (matches_word("nan")) return std::copysign(std::numeric_limits<double>::quiet_NaN(), negative ? -1.0 : 1.0);

    // Validate the grammar ourselves, so from_chars sees exactly the forms described above.
    const char* const int_begin = p;
    while (p < end && is_digit(static_cast<std::uint8_t>(*p))) ++p;
    const char* const int_end = p;
    const char* frac_begin = p;
    const char* frac_end = p;
    if (p < end && *p == '.') {
        frac_begin = ++p;
        while (p < end && is_digit(static_cast<std::uint8_t>(*p))) ++p;
        frac_end = p;
    }
    if (int_begin == int_end && frac_begin == frac_end)
        return error{errc::pickle_bad_float, base + static_cast<std::uint64_t>(p - begin), "digits of a float"};
    std::int64_t exponent = 0;  // saturated: only its sign and rough size matter below
    if (p < end && (*p == 'e' || *p == 'E')) {
        ++p;
        const bool exponent_negative = p < end && *p == '-';
        if (p < end && (*p == '+' || *p == '-')) ++p;
        if (p == end || !is_digit(static_cast<std::uint8_t>(*p)))
            return error{errc::pickle_bad_float, base + static_cast<std::uint64_t>(p - begin), "exponent digits"};
        for (; p < end && is_digit(static_cast<std::uint8_t>(*p)); ++p)
            if (exponent < 1000000000) exponent = exponent * 10 + (*p - '0');
        if (exponent_negative) exponent = -exponent;
    }
    if (p != end)
        return error{errc::pickle_bad_float, base + static_cast<std::uint64_t>(p - begin), "the end of the float literal"};

    double value = 0.0;
    const auto parsed = std::from_chars(unsigned_begin, end, value, std::chars_format::general);
    if (parsed.ec == std::errc::result_out_of_range) {
        // Overflow or underflow: tell them apart by the decimal exponent of the first significant
        // digit (out-of-range values are far from 10^0 either way).
        std::int64_t leading = -1;
        for (const char* q = int_begin; q < int_end && leading < 0; ++q)
            if (*q != '0') leading = int_end - q - 1;
        if (leading < 0) {
            for (const char* q = frac_begin; q < frac_end; ++q)
                if (*q != '0') {
                    leading = -(q - frac_begin) - 1;
                    break;
                }
        }
        if (leading + exponent >= 0)
            return error{errc::pickle_bad_float, base, "a float literal within the range of a double"};
        value = 0.0;
    } else if (parsed.ec != std::errc() || parsed.ptr != end) {
        return error{errc::pickle_bad_float, base, "a float literal"};
    }
    return negative ? -value : value;
}

}  // namespace detail
}  // namespace pickle
BRINE_NAMESPACE_END
