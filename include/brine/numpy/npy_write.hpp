// SPDX-License-Identifier: MIT
//
// Writing a fresh .npy file of a numeric array (THREATS.md F5).
//
// Reconstruction writes a brand-new file: the header as numpy's format.py writes it for the same
// array (its key order, spacing, growth padding and 64-byte alignment; version 1.0, or 2.0 when
// the header passes 65535 bytes), then the data bytes. Field names with characters beyond
// Latin-1 are written with \u escapes (so the header stays 1.0/2.0) where numpy writes them raw
// in a 3.0 header; the names read back the same.
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/numpy/dtype.hpp>
#include <brine/numpy/npy_parse.hpp>

#include <cstddef>
#include <cstdint>

BRINE_NAMESPACE_BEGIN
namespace numpy {

namespace detail {

inline constexpr std::uint64_t npy_alignment = 64;         // what numpy writes
// numpy pads the header for this many digits of the growing axis (GROWTH_AXIS_MAX_DIGITS).
inline constexpr std::size_t growth_axis_digits = 21;

}  // namespace detail

// Appends the preamble numpy's format.py writes for this header (written for `header`'s dtype,
// shape and effective order; the version is 1.0, or 2.0 for a header over 65535 bytes).
inline status append_npy_preamble(const npy_header& header, alloc::vector<std::uint8_t>& out) {
    if (header.type.nodes.empty()) return error{errc::invalid_argument, 0, "a header with a dtype"};
    const bool fortran = header.effective_fortran_order();
    alloc::string text = "{'descr': ";
    header.type.append_descr(text, 0);
    text += ", 'fortran_order': ";
    text += fortran ? "True" : "False";
    text += ", 'shape': ";
    detail::append_shape(text, header.shape.data(), header.shape.size());
    text += ", }";
    if (!header.shape.empty()) {
        // Room for the growing axis to be rewritten in place (numpy >= 1.24's open_memmap).
        const std::size_t digits = detail::decimal_length(fortran ? header.shape.back() : header.shape.front());
        if (digits < detail::growth_axis_digits) text.append(detail::growth_axis_digits - digits, ' ');
    }
    const std::uint64_t length = text.size() + 1;  // with the final '\n'
    std::uint64_t prefix = 10;
    std::uint64_t padding = detail::npy_alignment - (prefix + length) % detail::npy_alignment;
    if (length + padding > 0xFFFF) {
        prefix = 12;
        padding = detail::npy_alignment - (prefix + length) % detail::npy_alignment;
        if (length + padding > 0xFFFFFFFFu)
            return error{errc::limit_exceeded, 0, "a header under 4 GiB (format 2.0)"};
    }
    const std::uint64_t field = length + padding;
    out.insert(out.end(), detail::npy_magic, detail::npy_magic + sizeof detail::npy_magic);
    out.push_back(prefix == 10 ? 1 : 2);
    out.push_back(0);
    std::uint8_t encoded[4];
    store_le32(encoded, static_cast<std::uint32_t>(field));
    out.insert(out.end(), encoded, encoded + (prefix == 10 ? 2 : 4));
    out.insert(out.end(), text.begin(), text.end());
    out.insert(out.end(), static_cast<std::size_t>(padding), std::uint8_t{' '});
    out.push_back('\n');
    return {};
}

// Writes a fresh .npy file of a numeric array: the canonical preamble, then `data`, which must be
// exactly header.data_size bytes. Object arrays are refused: their data is a pickle, and only
// rebuild_npy writes one (from a value graph the policy accepted).
template <class Sink>
[[nodiscard]] status write_npy(const npy_header& header, byte_view data, Sink& sink) noexcept {
    static_assert(is_sink_v<Sink>, "Sink must have: status write(byte_view) noexcept");
    if (header.has_objects())
        return error{errc::invalid_argument, header.data_offset, "a numeric array (object arrays: rebuild_npy)"};
    if (data.size() != header.data_size)
        return error{errc::invalid_argument, header.data_offset, "data of exactly shape x itemsize bytes"};
    alloc::vector<std::uint8_t> preamble;
    BRINE_TRY(append_npy_preamble(header, preamble));
    BRINE_TRY(sink.write(byte_view(preamble.data(), preamble.size())));
    return sink.write(data);
}

}  // namespace numpy
BRINE_NAMESPACE_END
