// SPDX-License-Identifier: MIT
//
// The safetensors format, as brine reads and writes it:
//
//   [8 bytes]  N, the header length, unsigned little-endian
//   [N bytes]  a JSON object in UTF-8, starting with '{', optionally padded with spaces (0x20):
//                "__metadata__": {"key": "value", ...}          optional, strings only
//                "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
//   [rest]     the data area: each tensor's elements in C order, little-endian, at
//              [begin, end) relative to the start of the data area.
//
// The format's own safety rules, which the reader enforces and the writer keeps: a bounded
// header inside the file, end - begin == product(shape) x item size, tensors that neither
// overlap nor leave gaps, and a data area that they cover exactly (no bytes hidden after the
// last one: a polyglot could hide a second file there).
//
// This header holds what the reader (safetensors/reader.hpp) and the writer
// (writer/safetensors.hpp) share: the element types, the limits, and the parsed description.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/torch/dtype.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace safetensors {

// Every element type the format defines (safetensors 0.4: 15 names).
enum class dtype : std::uint8_t {
    f64, f32, f16, bf16, i64, i32, i16, i8, u8, boolean, u64, u32, u16, f8_e5m2, f8_e4m3,
};

struct dtype_info {
    dtype type;
    std::string_view name;   // as the header spells it
    std::uint8_t item_size;  // bytes per element
    // The torch dtype with the same bytes, when torch 1.13 has one (it has no unsigned type
    // wider than a byte and no float8): such tensors are read, but cannot become torch tensors.
    bool in_torch;
    torch::dtype torch_type;
};

namespace detail {
inline constexpr std::array<dtype_info, 15> dtype_table = {{
    {dtype::f64, "F64", 8, true, torch::dtype::float64},
    {dtype::f32, "F32", 4, true, torch::dtype::float32},
    {dtype::f16, "F16", 2, true, torch::dtype::float16},
    {dtype::bf16, "BF16", 2, true, torch::dtype::bfloat16},
    {dtype::i64, "I64", 8, true, torch::dtype::int64},
    {dtype::i32, "I32", 4, true, torch::dtype::int32},
    {dtype::i16, "I16", 2, true, torch::dtype::int16},
    {dtype::i8, "I8", 1, true, torch::dtype::int8},
    {dtype::u8, "U8", 1, true, torch::dtype::uint8},
    {dtype::boolean, "BOOL", 1, true, torch::dtype::boolean},
    {dtype::u64, "U64", 8, false, torch::dtype::uint8},
    {dtype::u32, "U32", 4, false, torch::dtype::uint8},
    {dtype::u16, "U16", 2, false, torch::dtype::uint8},
    {dtype::f8_e5m2, "F8_E5M2", 1, false, torch::dtype::uint8},
    {dtype::f8_e4m3, "F8_E4M3", 1, false, torch::dtype::uint8},
}};

constexpr bool dtype_table_in_enum_order() noexcept {
    for (std::size_t i = 0; i < dtype_table.size(); ++i)
        if (static_cast<std::size_t>(dtype_table[i].type) != i) return false;
    return true;
}
static_assert(dtype_table_in_enum_order(), "dtype_table is indexed by dtype");
}  // namespace detail

[[nodiscard]] constexpr const dtype_info& info(dtype type) noexcept {
    return detail::dtype_table[static_cast<std::size_t>(type)];
}

// The dtype a header names; false for any other spelling (names are case-sensitive).
[[nodiscard]] constexpr bool dtype_from_name(std::string_view name, dtype& out) noexcept {
    for (const dtype_info& entry : detail::dtype_table) {
        if (entry.name == name) {
            out = entry.type;
            return true;
        }
    }
    return false;
}

// The safetensors dtype holding a torch dtype's bytes unchanged; false for complex (the format
// has no complex type) and for quantized types (their scale and zero point have no place).
[[nodiscard]] constexpr bool from_torch(torch::dtype type, dtype& out) noexcept {
    for (const dtype_info& entry : detail::dtype_table) {
        if (entry.in_torch && entry.torch_type == type) {
            out = entry.type;
            return true;
        }
    }
    return false;
}

// The torch dtype of a safetensors dtype; false for U16, U32, U64 and the float8 types.
[[nodiscard]] constexpr bool to_torch(dtype type, torch::dtype& out) noexcept {
    if (!info(type).in_torch) return false;
    out = info(type).torch_type;
    return true;
}

static_assert(info(dtype::bf16).item_size == 2 && info(dtype::boolean).name == "BOOL",
              "dtype lookups work at compile time");

// Limits the reader checks before it allocates or computes anything from the header.
struct limits {
    // The header is held in memory and parsed whole. The format's reference implementation
    // refuses headers above 100 MB; real ones are kilobytes to a few megabytes.
    std::uint64_t max_header_size = 100'000'000;
    // Entries in the header (tensors, plus __metadata__). Large language models have thousands.
    std::uint64_t max_tensors = std::uint64_t{1} << 20;
    // Dimensions of one tensor (torch allows at most 64).
    std::uint64_t max_rank = 64;
};

// Key/value pairs of "__metadata__", in the order the header lists them.
using metadata = std::vector<std::pair<std::string, std::string>>;

// One tensor as its header entry describes it.
struct tensor_info {
    std::string name;
    dtype type = dtype::f32;
    std::vector<std::uint64_t> shape;   // outermost first; empty for a 0-d tensor
    std::uint64_t begin = 0;            // data_offsets, relative to the start of the data area
    std::uint64_t end = 0;
    std::uint64_t entry_offset = 0;     // file offset of the entry's name (for error reports)
    byte_view data;                     // the bytes [begin, end), when the file is in memory

    [[nodiscard]] std::uint64_t byte_size() const noexcept { return end - begin; }
};

// A validated header.
struct header {
    std::uint64_t header_size = 0;      // N
    std::uint64_t data_offset = 0;      // 8 + N: where the data area starts in the file
    std::uint64_t data_size = 0;        // the file size minus data_offset
    std::vector<tensor_info> tensors;   // in the order the header lists them
    bool has_metadata = false;          // "__metadata__" was present (possibly empty)
    metadata meta;

    // The tensor named `name`, or nullptr.
    [[nodiscard]] const tensor_info* find(std::string_view name) const noexcept {
        for (const tensor_info& t : tensors)
            if (t.name == name) return &t;
        return nullptr;
    }
    // The metadata value for `key`, or nullptr.
    [[nodiscard]] const std::string* metadata_value(std::string_view key) const noexcept {
        for (const auto& [k, v] : meta)
            if (k == key) return &v;
        return nullptr;
    }
};

// The reserved key that is not a tensor.
inline constexpr std::string_view metadata_key = "__metadata__";

}  // namespace safetensors
BRINE_NAMESPACE_END
