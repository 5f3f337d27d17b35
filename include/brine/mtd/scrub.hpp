// SPDX-License-Identifier: MIT
//
// Weight scrubbing against mantissa steganography (THREATS.md S2). A model file can carry a
// payload in the lowest mantissa bits of its float weights: the model still works, since those
// bits hardly change any value, and a loader with a matching extractor rebuilds the payload
// after a "clean" verdict. Nothing can tell such bits from honest rounding noise, so brine does
// not try to detect them: it overwrites the N lowest mantissa bits of every finite non-zero
// float with random bits. Any payload there is destroyed, and the values move by less than
// 2^(N - mantissa bits) relative to themselves, which the report states.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/mtd/keyed_stream.hpp>
#include <brine/torch/dtype.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

BRINE_NAMESPACE_BEGIN
namespace mtd {

// Explicit mantissa (fraction) bits of a floating-point dtype; 0 for every dtype scrub_lsb does
// not handle (integers, booleans, quantized and complex types).
[[nodiscard]] constexpr unsigned mantissa_bits(torch::dtype type) noexcept {
    switch (type) {
        case torch::dtype::float16: return 10;
        case torch::dtype::bfloat16: return 7;
        case torch::dtype::float32: return 23;
        case torch::dtype::float64: return 52;
        default: return 0;
    }
}

// The largest relative change scrubbing `bits` bits can make to a normal number: 2^(bits - M),
// M = mantissa_bits(type), exclusive. (A normal value is (2^M + f) * 2^(e - M) with f < 2^M;
// rewriting the low `bits` bits of f moves it by at most (2^bits - 1) * 2^(e - M), and the value
// itself is at least 2^e.) Subnormal numbers keep their absolute change within the same
// (2^bits - 1) units of the last place, but are themselves smaller than 2^e, so their relative
// change can be anything up to 100% and more; scrub_lsb counts them apart. 0 when scrub_lsb would
// refuse the arguments.
[[nodiscard]] constexpr double scrub_relative_bound(torch::dtype type, unsigned bits) noexcept {
    const unsigned mantissa = mantissa_bits(type);
    if (mantissa == 0 || bits == 0 || bits > mantissa) return 0.0;
    double bound = 1.0;
    for (unsigned i = bits; i < mantissa; ++i) bound /= 2;
    return bound;
}

// What scrubbing did. scrub_lsb adds to it, so one object can summarise every tensor of a model.
struct scrub_change {
    double max_abs = 0;           // largest |new - old| over every rewritten element
    double max_rel = 0;           // largest |new - old| / |old| over rewritten normal elements
    std::uint64_t values = 0;     // elements visited (all of them, including those left alone)
    std::uint64_t skipped = 0;    // infinities and NaNs, left unchanged
    std::uint64_t subnormal = 0;  // subnormal elements rewritten (in max_abs, not in max_rel)
    std::uint64_t zeros = 0;      // +0 and -0, left unchanged
};

namespace detail {

// An element's bit pattern as a double (never called for infinities or NaNs).
[[nodiscard]] inline double float16_value(std::uint16_t bits) noexcept {
    const unsigned exponent = (bits >> 10) & 0x1Fu;
    const unsigned fraction = bits & 0x3FFu;
    double magnitude;
    if (exponent == 0) {
        magnitude = static_cast<double>(fraction) * 0x1p-24;  // subnormal: fraction * 2^-24, exact
    } else {
        // Re-bias the exponent (15 -> 1023) and widen the fraction (10 -> 52 bits): exact.
        const std::uint64_t wide = (std::uint64_t{exponent + 1008u} << 52) | (std::uint64_t{fraction} << 42);
        std::memcpy(&magnitude, &wide, sizeof magnitude);
    }
    return (bits & 0x8000u) != 0 ? -magnitude : magnitude;
}
[[nodiscard]] inline double bfloat16_value(std::uint16_t bits) noexcept {
    const std::uint32_t wide = std::uint32_t{bits} << 16;  // bfloat16 is the top half of a float32
    float value;
    std::memcpy(&value, &wide, sizeof value);
    return static_cast<double>(value);
}
[[nodiscard]] inline double float32_value(std::uint32_t bits) noexcept {
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return static_cast<double>(value);
}
[[nodiscard]] inline double float64_value(std::uint64_t bits) noexcept {
    double value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

template <class Word>
[[nodiscard]] BRINE_FORCE_INLINE Word load_le_word(const std::uint8_t* p) noexcept {
    if constexpr (sizeof(Word) == 2) return load_le16(p);
    else if constexpr (sizeof(Word) == 4) return load_le32(p);
    else return load_le64(p);
}
template <class Word>
BRINE_FORCE_INLINE void store_le_word(std::uint8_t* p, Word value) noexcept {
    if constexpr (sizeof(Word) == 2) store_le16(p, value);
    else if constexpr (sizeof(Word) == 4) store_le32(p, value);
    else store_le64(p, value);
}

// Scrubs elements of one format: Word holds an element, Mantissa and Exponent are its field
// widths, value() converts a finite element to double.
template <class Word, unsigned Mantissa, unsigned Exponent, double (*value)(Word)>
void scrub_elements(std::uint8_t* data, std::size_t count, unsigned bits, keyed_stream& stream,
                    scrub_change& change) noexcept {
    constexpr Word one = 1;
    constexpr Word exponent_mask = static_cast<Word>(((one << Exponent) - 1) << Mantissa);
    constexpr Word magnitude_mask = static_cast<Word>((one << (Mantissa + Exponent)) - 1);
    const Word low_mask = static_cast<Word>((one << bits) - 1);
    const Word keep_mask = static_cast<Word>(~low_mask);

    // Element k takes the k-th group of draw_bytes keystream bytes (little-endian), whether it is
    // rewritten or not: which bits land where depends on positions only, never on values.
    const std::size_t draw_bytes = (bits + 7) / 8;
    constexpr std::size_t chunk = 1024;
    std::array<std::uint8_t, chunk * sizeof(Word)> draws{};

    double max_abs = change.max_abs;
    double max_rel = change.max_rel;
    for (std::size_t start = 0; start < count; start += chunk) {
        const std::size_t here = count - start < chunk ? count - start : chunk;
        stream.fill(mutable_byte_view(draws.data(), here * draw_bytes));
        for (std::size_t k = 0; k < here; ++k) {
            std::uint8_t* item = data + (start + k) * sizeof(Word);
            const Word old = load_le_word<Word>(item);
            if ((old & exponent_mask) == exponent_mask) {
                ++change.skipped;  // Inf or NaN: a new fraction could turn an infinity into a NaN
                continue;
            }
            if ((old & magnitude_mask) == 0) {
                ++change.zeros;  // a zero stays a zero (a subnormal instead could slow inference down)
                continue;
            }
            Word random = 0;
            const std::uint8_t* draw = draws.data() + k * draw_bytes;
            for (std::size_t b = 0; b < draw_bytes; ++b) random = static_cast<Word>(random | (Word{draw[b]} << (8 * b)));
            const Word fresh = static_cast<Word>((old & keep_mask) | (random & low_mask));
            store_le_word<Word>(item, fresh);

            const double before = value(old);
            const double difference = std::fabs(value(fresh) - before);
            if (difference > max_abs) max_abs = difference;
            if ((old & exponent_mask) == 0) {
                ++change.subnormal;
            } else {
                const double relative = difference / std::fabs(before);
                if (relative > max_rel) max_rel = relative;
            }
        }
    }
    crypto::detail::secure_wipe(draws);
    change.values += count;
    change.max_abs = max_abs;
    change.max_rel = max_rel;
}

}  // namespace detail

// Overwrites the `bits` lowest mantissa bits of every element of `data` (little-endian elements
// of `type`, as stored in a checkpoint) with bits from `stream`, leaving sign and exponent as they
// were. Infinities and NaNs are left unchanged (a new fraction could turn an infinity into a NaN)
// and counted in change.skipped; zeros are left unchanged and counted in change.zeros. For every
// other element the relative change is below scrub_relative_bound(type, bits) unless it is
// subnormal (counted in change.subnormal); `change` accumulates the largest changes seen.
//
// Errors (invalid_argument, offset 0, nothing changed): a dtype without a mantissa, bits == 0,
// bits > mantissa_bits(type), or data.size() not a multiple of the element size.
[[nodiscard]] inline status scrub_lsb(torch::dtype type, mutable_byte_view data, unsigned bits,
                                      keyed_stream& stream, scrub_change& change) noexcept {
    const unsigned mantissa = mantissa_bits(type);
    if (mantissa == 0)
        return error{errc::invalid_argument, 0, "a floating-point dtype (float16, bfloat16, float32 or float64) to scrub"};
    if (bits == 0) return error{errc::invalid_argument, 0, "at least one mantissa bit to scrub"};
    if (bits > mantissa) return error{errc::invalid_argument, 0, "no more bits to scrub than the dtype's mantissa has"};
    const std::size_t item_size = torch::info(type).item_size;
    if (data.size() % item_size != 0)
        return error{errc::invalid_argument, 0, "tensor data whose size is a multiple of the element size"};

    const std::size_t count = data.size() / item_size;
    switch (type) {
        case torch::dtype::float16:
            detail::scrub_elements<std::uint16_t, 10, 5, &detail::float16_value>(data.data(), count, bits, stream, change);
            break;
        case torch::dtype::bfloat16:
            detail::scrub_elements<std::uint16_t, 7, 8, &detail::bfloat16_value>(data.data(), count, bits, stream, change);
            break;
        case torch::dtype::float32:
            detail::scrub_elements<std::uint32_t, 23, 8, &detail::float32_value>(data.data(), count, bits, stream, change);
            break;
        case torch::dtype::float64:
            detail::scrub_elements<std::uint64_t, 52, 11, &detail::float64_value>(data.data(), count, bits, stream, change);
            break;
        default: break;  // excluded above: no mantissa
    }
    return {};
}

}  // namespace mtd
BRINE_NAMESPACE_END
