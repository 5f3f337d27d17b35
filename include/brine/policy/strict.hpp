// SPDX-License-Identifier: MIT
//
// strict: containers, scalars and plain tensors only. Like torch_weights_only, minus everything a
// plain state dict does not need: no sparse, quantized, meta or subclass tensors, no Counter,
// device, complex, set or bytearray helpers, no _codecs.encode.
#pragma once

#include <brine/config.hpp>
#include <brine/pickle/allowlist_concept.hpp>
#include <brine/pickle/name_table.hpp>
#include <brine/policy/torch_weights_only.hpp>

BRINE_NAMESPACE_BEGIN
namespace policy {

namespace detail {
inline constexpr qualified_name strict_globals[] = {
    {"collections", "OrderedDict"},
    {"torch", "BFloat16Storage"},
    {"torch", "BoolStorage"},
    {"torch", "ByteStorage"},
    {"torch", "CharStorage"},
    {"torch", "ComplexDoubleStorage"},
    {"torch", "ComplexFloatStorage"},
    {"torch", "DoubleStorage"},
    {"torch", "FloatStorage"},
    {"torch", "HalfStorage"},
    {"torch", "IntStorage"},
    {"torch", "LongStorage"},
    {"torch", "ShortStorage"},
    {"torch", "bfloat16"},
    {"torch", "bool"},
    {"torch", "complex128"},
    {"torch", "complex64"},
    {"torch", "float16"},
    {"torch", "float32"},
    {"torch", "float64"},
    {"torch", "int16"},
    {"torch", "int32"},
    {"torch", "int64"},
    {"torch", "int8"},
    {"torch", "uint8"},
    {"torch._utils", "_rebuild_parameter"},
    {"torch._utils", "_rebuild_tensor"},
    {"torch._utils", "_rebuild_tensor_v2"},
    {"torch.nn.parameter", "Parameter"},
    {"torch.storage", "TypedStorage"},
    {"torch.storage", "UntypedStorage"},
};
static_assert(strictly_sorted(strict_globals), "the table must be sorted by (module, name), no duplicates");

// Besides the tensor makers it lists (rebuild functions, Parameter), strict calls only this.
inline constexpr qualified_name strict_other_callables[] = {
    {"collections", "OrderedDict"},
};
}  // namespace detail

using strict = torch_style_policy<detail::strict_globals, detail::strict_other_callables>;
static_assert(check_policy<strict>());

}  // namespace policy
BRINE_NAMESPACE_END
