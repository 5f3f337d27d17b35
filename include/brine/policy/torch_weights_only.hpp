// SPDX-License-Identifier: MIT
//
// torch_weights_only: what PyTorch's own `weights_only` unpickler accepts (torch 1.13 and current
// releases, torch/_weights_only_unpickler.py), as exact (module, qualname) pairs:
//   - globals: OrderedDict, Counter, Parameter, Size, Tensor, device, dtypes, quantization
//     schemes, tensor and storage classes, the tensor rebuild functions, and the helpers torch
//     pickles bytes, sets, bytearrays and complex numbers with;
//   - calls (REDUCE) only to the callable ones of those; NEWOBJ only of Parameter;
//   - BUILD only on OrderedDicts; SETITEM only on dicts and OrderedDict/Counter; APPEND only on
//     lists, ADDITEMS only on sets;
//   - persistent ids only BINPERSID of a tuple ('storage', ...).
// Where torch is looser, brine is strict: torch joins module and name with a dot before looking
// them up (so ("torch", "cuda.FloatTensor") passes there); brine compares the exact pair, and
// torch 1.13 lets SETITEM reach any object, brine only dicts. torch also allows BUILD on tensors
// and Parameters, where it rebuilds the tensor (THREATS.md W6): set_(*state) or
// Tensor.__setstate__ puts it on another storage, shape or data than its rebuild call says, or
// sets requires_grad and backward hooks. torch.save never writes that (tensors pickle as rebuild
// calls without state), so brine refuses it (tests/interop/check_tensor_state.py).
#pragma once

#include <brine/config.hpp>
#include <brine/pickle/allowlist_concept.hpp>
#include <brine/pickle/graph_queries.hpp>
#include <brine/pickle/name_table.hpp>
#include <brine/pickle/opcodes.hpp>
#include <brine/pickle/value.hpp>
#include <brine/pickle/verdict.hpp>

#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace policy {

namespace detail {

// Modules torch never allows, even when a user adds names from them.
[[nodiscard]] constexpr bool blocklisted_module(std::string_view module) noexcept {
    return module == "sys" || module == "os" || module == "posix" || module == "nt";
}

inline constexpr qualified_name torch_weights_only_globals[] = {
    {"_codecs", "encode"},
    {"builtins", "bytearray"},
    {"builtins", "complex"},
    {"builtins", "set"},
    {"collections", "Counter"},
    {"collections", "OrderedDict"},
    {"torch", "BFloat16Storage"},
    {"torch", "BFloat16Tensor"},
    {"torch", "BoolStorage"},
    {"torch", "BoolTensor"},
    {"torch", "ByteStorage"},
    {"torch", "ByteTensor"},
    {"torch", "CharStorage"},
    {"torch", "CharTensor"},
    {"torch", "ComplexDoubleStorage"},
    {"torch", "ComplexFloatStorage"},
    {"torch", "DoubleStorage"},
    {"torch", "DoubleTensor"},
    {"torch", "FloatStorage"},
    {"torch", "FloatTensor"},
    {"torch", "HalfStorage"},
    {"torch", "HalfTensor"},
    {"torch", "IntStorage"},
    {"torch", "IntTensor"},
    {"torch", "LongStorage"},
    {"torch", "LongTensor"},
    {"torch", "QInt32Storage"},
    {"torch", "QInt8Storage"},
    {"torch", "QUInt2x4Storage"},
    {"torch", "QUInt4x2Storage"},
    {"torch", "QUInt8Storage"},
    {"torch", "ShortStorage"},
    {"torch", "ShortTensor"},
    {"torch", "Size"},
    {"torch", "Tensor"},
    {"torch", "bfloat16"},
    {"torch", "bits16"},
    {"torch", "bits1x8"},
    {"torch", "bits2x4"},
    {"torch", "bits4x2"},
    {"torch", "bits8"},
    {"torch", "bool"},
    {"torch", "complex128"},
    {"torch", "complex32"},
    {"torch", "complex64"},
    {"torch", "device"},
    {"torch", "float16"},
    {"torch", "float32"},
    {"torch", "float64"},
    {"torch", "float8_e4m3fn"},
    {"torch", "float8_e4m3fnuz"},
    {"torch", "float8_e5m2"},
    {"torch", "float8_e5m2fnuz"},
    {"torch", "int1"},
    {"torch", "int16"},
    {"torch", "int2"},
    {"torch", "int3"},
    {"torch", "int32"},
    {"torch", "int4"},
    {"torch", "int5"},
    {"torch", "int6"},
    {"torch", "int64"},
    {"torch", "int7"},
    {"torch", "int8"},
    {"torch", "per_channel_affine"},
    {"torch", "per_channel_affine_float_qparams"},
    {"torch", "per_channel_symmetric"},
    {"torch", "per_tensor_affine"},
    {"torch", "per_tensor_symmetric"},
    {"torch", "qint32"},
    {"torch", "qint8"},
    {"torch", "quint2x4"},
    {"torch", "quint4x2"},
    {"torch", "quint8"},
    {"torch", "uint1"},
    {"torch", "uint16"},
    {"torch", "uint2"},
    {"torch", "uint3"},
    {"torch", "uint32"},
    {"torch", "uint4"},
    {"torch", "uint5"},
    {"torch", "uint6"},
    {"torch", "uint64"},
    {"torch", "uint7"},
    {"torch", "uint8"},
    {"torch._tensor", "_rebuild_from_type_v2"},
    {"torch._utils", "_rebuild_device_tensor_from_cpu_tensor"},
    {"torch._utils", "_rebuild_device_tensor_from_numpy"},
    {"torch._utils", "_rebuild_meta_tensor_no_storage"},
    {"torch._utils", "_rebuild_parameter"},
    {"torch._utils", "_rebuild_parameter_with_state"},
    {"torch._utils", "_rebuild_qtensor"},
    {"torch._utils", "_rebuild_sparse_csr_tensor"},
    {"torch._utils", "_rebuild_sparse_tensor"},
    {"torch._utils", "_rebuild_tensor"},
    {"torch._utils", "_rebuild_tensor_v2"},
    {"torch._utils", "_rebuild_tensor_v3"},
    {"torch._utils", "_rebuild_wrapper_subclass"},
    {"torch.cuda", "BFloat16Storage"},
    {"torch.cuda", "BFloat16Tensor"},
    {"torch.cuda", "BoolStorage"},
    {"torch.cuda", "BoolTensor"},
    {"torch.cuda", "ByteStorage"},
    {"torch.cuda", "ByteTensor"},
    {"torch.cuda", "CharStorage"},
    {"torch.cuda", "CharTensor"},
    {"torch.cuda", "ComplexDoubleStorage"},
    {"torch.cuda", "ComplexFloatStorage"},
    {"torch.cuda", "DoubleStorage"},
    {"torch.cuda", "DoubleTensor"},
    {"torch.cuda", "FloatStorage"},
    {"torch.cuda", "FloatTensor"},
    {"torch.cuda", "HalfStorage"},
    {"torch.cuda", "HalfTensor"},
    {"torch.cuda", "IntStorage"},
    {"torch.cuda", "IntTensor"},
    {"torch.cuda", "LongStorage"},
    {"torch.cuda", "LongTensor"},
    {"torch.cuda", "ShortStorage"},
    {"torch.cuda", "ShortTensor"},
    {"torch.cuda.sparse", "BFloat16Tensor"},
    {"torch.cuda.sparse", "ByteTensor"},
    {"torch.cuda.sparse", "CharTensor"},
    {"torch.cuda.sparse", "DoubleTensor"},
    {"torch.cuda.sparse", "FloatTensor"},
    {"torch.cuda.sparse", "HalfTensor"},
    {"torch.cuda.sparse", "IntTensor"},
    {"torch.cuda.sparse", "LongTensor"},
    {"torch.cuda.sparse", "ShortTensor"},
    {"torch.nn.parameter", "Parameter"},
    {"torch.serialization", "_get_layout"},
    {"torch.sparse", "BFloat16Tensor"},
    {"torch.sparse", "ByteTensor"},
    {"torch.sparse", "CharTensor"},
    {"torch.sparse", "DoubleTensor"},
    {"torch.sparse", "FloatTensor"},
    {"torch.sparse", "HalfTensor"},
    {"torch.sparse", "IntTensor"},
    {"torch.sparse", "LongTensor"},
    {"torch.sparse", "ShortTensor"},
    {"torch.storage", "TypedStorage"},
    {"torch.storage", "UntypedStorage"},
};
static_assert(strictly_sorted(torch_weights_only_globals), "the table must be sorted by (module, name), no duplicates");

// The other globals of the table that torch calls (REDUCE); the tensor makers below are callable
// too. Dtypes, schemes and classes are only values.
inline constexpr qualified_name torch_other_callables[] = {
    {"_codecs", "encode"},
    {"builtins", "bytearray"},
    {"builtins", "complex"},
    {"builtins", "set"},
    {"collections", "Counter"},
    {"collections", "OrderedDict"},
    {"torch", "Size"},
    {"torch", "device"},
    {"torch.serialization", "_get_layout"},
};
static_assert(strictly_sorted(torch_other_callables), "the table must be sorted by (module, name), no duplicates");

// Calls whose result is a tensor or parameter (BUILD on them is refused: see the top).
inline constexpr qualified_name torch_tensor_makers[] = {
    {"torch._tensor", "_rebuild_from_type_v2"},
    {"torch._utils", "_rebuild_device_tensor_from_cpu_tensor"},
    {"torch._utils", "_rebuild_device_tensor_from_numpy"},
    {"torch._utils", "_rebuild_meta_tensor_no_storage"},
    {"torch._utils", "_rebuild_parameter"},
    {"torch._utils", "_rebuild_parameter_with_state"},
    {"torch._utils", "_rebuild_qtensor"},
    {"torch._utils", "_rebuild_sparse_csr_tensor"},
    {"torch._utils", "_rebuild_sparse_tensor"},
    {"torch._utils", "_rebuild_tensor"},
    {"torch._utils", "_rebuild_tensor_v2"},
    {"torch._utils", "_rebuild_tensor_v3"},
    {"torch._utils", "_rebuild_wrapper_subclass"},
    {"torch.nn.parameter", "Parameter"},
};
static_assert(strictly_sorted(torch_tensor_makers), "the table must be sorted by (module, name), no duplicates");

inline constexpr qualified_name torch_dict_makers[] = {
    {"collections", "Counter"},
    {"collections", "OrderedDict"},
};
static_assert(strictly_sorted(torch_dict_makers), "the table must be sorted by (module, name), no duplicates");

inline constexpr qualified_name ordered_dict[] = {{"collections", "OrderedDict"}};
inline constexpr qualified_name parameter[] = {{"torch.nn.parameter", "Parameter"}};

}  // namespace detail

// The structural rules shared by torch_weights_only and strict. `Globals` is what may be named;
// calls are allowed to the tensor makers among them and to `OtherCallables` (a subset of Globals).
template <const auto& Globals, const auto& OtherCallables>
struct torch_style_policy {
    [[nodiscard]] verdict allow_global(const qualified_name& name) const noexcept {
        if (detail::blocklisted_module(name.module)) return refused("module is never allowed (sys, os, posix, nt)");
        return contains(Globals, name) ? allowed : refused("global is not in the allowlist");
    }

    [[nodiscard]] verdict allow_call(const pickle::graph& g, pickle::node_id callable,
                                     pickle::call_form form) const noexcept {
        const qualified_name name = callable_name(g, callable);
        switch (form) {
            case pickle::call_form::reduce:
                return (contains(detail::torch_tensor_makers, name) && contains(Globals, name)) ||
                               contains(OtherCallables, name)
                           ? allowed
                           : refused("global is allowed as a value, not as a call");
            case pickle::call_form::newobj:
                return contains(detail::parameter, name) ? allowed
                                                         : refused("NEWOBJ is allowed only for torch.nn.Parameter");
            case pickle::call_form::newobj_ex:
            case pickle::call_form::inst:
            case pickle::call_form::obj: break;
        }
        return refused("NEWOBJ_EX, INST and OBJ are not allowed");
    }

    [[nodiscard]] verdict allow_build(const pickle::graph& g, pickle::node_id target) const noexcept {
        if (is_call_to(g, target, detail::ordered_dict)) return allowed;
        if (is_call_to(g, target, detail::torch_tensor_makers))
            return refused("BUILD on a tensor or Parameter: torch's set_(*state) or __setstate__ would give it other "
                           "storage, shape, data or requires_grad than its rebuild call (W6)");
        return refused("BUILD is allowed only on OrderedDict");
    }

    [[nodiscard]] verdict allow_setitem(const pickle::graph& g, pickle::node_id target) const noexcept {
        if (g[target].kind == pickle::node_kind::dict || is_call_to(g, target, detail::torch_dict_makers))
            return allowed;
        return refused("SETITEM is allowed only on dicts");
    }

    [[nodiscard]] verdict allow_append(const pickle::graph& g, pickle::node_id target,
                                       pickle::opcode op) const noexcept {
        const pickle::node_kind kind = g[target].kind;
        if (op == pickle::opcode::ADDITEMS)
            return kind == pickle::node_kind::set ? allowed : refused("ADDITEMS is allowed only on sets");
        return kind == pickle::node_kind::list ? allowed : refused("APPEND is allowed only on lists");
    }

    [[nodiscard]] verdict allow_persistent_id(const pickle::graph& g, pickle::node_id id,
                                              pickle::opcode op) const noexcept {
        if (op != pickle::opcode::BINPERSID) return refused("only BINPERSID persistent ids are allowed");
        std::string_view tag;
        if (g[id].kind != pickle::node_kind::tuple || g.children(id).empty() || !ascii_text(g, g.children(id)[0], tag) ||
            tag != "storage")
            return refused("only ('storage', ...) persistent ids are allowed");
        return allowed;
    }
};

using torch_weights_only = torch_style_policy<detail::torch_weights_only_globals, detail::torch_other_callables>;
static_assert(check_policy<torch_weights_only>());

}  // namespace policy
BRINE_NAMESPACE_END
