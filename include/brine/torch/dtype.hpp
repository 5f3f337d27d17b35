// SPDX-License-Identifier: MIT
//
// Tensor element types, as a checkpoint names them: by the storage class in each persistent id
// ("torch.FloatStorage" is float32). torch.save has written typed storage classes in every
// version from 0.4 to current (newer versions derive the class from the dtype on save).
#pragma once

#include <brine/config.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace torch {

enum class dtype : std::uint8_t {
    float32, float64, float16, bfloat16, complex64, complex128,
    uint8, int8, int16, int32, int64, boolean,
    quint8, qint8, qint32, quint4x2, quint2x4,
};

struct dtype_info {
    dtype type;
    std::string_view name;           // as torch prints it (torch.float32 -> "float32")
    std::string_view storage_class;  // the global in module "torch" that stands for it
    std::uint8_t item_size;          // bytes per element of the storage
    bool quantized;
    std::uint8_t per_byte = 1;       // tensor elements packed in one storage byte (4-bit: 2, 2-bit: 4)
};

// Every dtype, in enum order: for lookups by another key than the enum (a name, a storage class).
inline constexpr std::array<dtype_info, 17> dtypes = {{
    {dtype::float32, "float32", "FloatStorage", 4, false},
    {dtype::float64, "float64", "DoubleStorage", 8, false},
    {dtype::float16, "float16", "HalfStorage", 2, false},
    {dtype::bfloat16, "bfloat16", "BFloat16Storage", 2, false},
    {dtype::complex64, "complex64", "ComplexFloatStorage", 8, false},
    {dtype::complex128, "complex128", "ComplexDoubleStorage", 16, false},
    {dtype::uint8, "uint8", "ByteStorage", 1, false},
    {dtype::int8, "int8", "CharStorage", 1, false},
    {dtype::int16, "int16", "ShortStorage", 2, false},
    {dtype::int32, "int32", "IntStorage", 4, false},
    {dtype::int64, "int64", "LongStorage", 8, false},
    {dtype::boolean, "bool", "BoolStorage", 1, false},
    {dtype::quint8, "quint8", "QUInt8Storage", 1, true},
    {dtype::qint8, "qint8", "QInt8Storage", 1, true},
    {dtype::qint32, "qint32", "QInt32Storage", 4, true},
    {dtype::quint4x2, "quint4x2", "QUInt4x2Storage", 1, true, 2},
    {dtype::quint2x4, "quint2x4", "QUInt2x4Storage", 1, true, 4},
}};

namespace detail {
constexpr bool dtypes_in_enum_order() noexcept {
    for (std::size_t i = 0; i < dtypes.size(); ++i)
        if (static_cast<std::size_t>(dtypes[i].type) != i) return false;
    return true;
}
static_assert(dtypes_in_enum_order(), "dtypes is indexed by dtype");
}  // namespace detail

[[nodiscard]] constexpr const dtype_info& info(dtype type) noexcept {
    return dtypes[static_cast<std::size_t>(type)];
}

// The dtype a storage global ("torch", "FloatStorage") stands for; false if none.
[[nodiscard]] constexpr bool dtype_of_storage(std::string_view module, std::string_view name, dtype& out) noexcept {
    if (module != "torch") return false;
    for (const dtype_info& entry : dtypes) {
        if (entry.storage_class == name) {
            out = entry.type;
            return true;
        }
    }
    return false;
}

static_assert(info(dtype::bfloat16).item_size == 2 && info(dtype::boolean).name == "bool",
              "dtype lookups work at compile time");

}  // namespace torch
BRINE_NAMESPACE_END
