// SPDX-License-Identifier: MIT
//
// What torch.load accepts in a checkpoint pickle, which the tensor finder (torch/find_tensors.hpp)
// and the legacy reader check before trusting anything: the rebuild functions and how many
// arguments each takes, storage keys and record names, device locations, Python 2 strings.
#pragma once

#include <brine/config.hpp>
#include <brine/core/error.hpp>
#include <brine/core/result.hpp>
#include <brine/core/utf8.hpp>
#include <brine/pickle/name_table.hpp>
#include <brine/pickle/value.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace torch {

// A storage key as torch.serialization._load uses it: the record is f"data/{key}", so only a str
// names data/<key>. Python 2 strings (STRING, BINSTRING, SHORT_BINSTRING) are str too, as
// torch.load passes encoding='utf-8' to the unpickler (their UTF-8 is checked by
// check_python2_strings). A bytes key b'0' names the record data/b'0' (Python's str of bytes),
// never data/0: brine refuses it (its plain-key rule admits no quote) instead of mapping it to
// another record. The same holds in the legacy format, whose keys torch compares with ==
// (b'0' != '0'). The 'storage' tag and the location may be bytes: torch reads those with
// _maybe_decode_ascii (see policy::ascii_text).
[[nodiscard]] inline bool storage_key_text(const pickle::graph& g, pickle::node_id id, std::string_view& out) noexcept {
    if (id == pickle::no_node || id >= g.size()) return false;
    const pickle::node& n = g[id];
    if (n.kind != pickle::node_kind::string && n.kind != pickle::node_kind::legacy_string) return false;
    out = n.text();
    return true;
}

// The locations torch 1.13's default_restore_location restores (serialization.py's registered
// packages), without a map_location:
//   'cpu'                 _cpu_deserialize (exactly 'cpu': 'CPU', 'cpu:0' and '' fail)
//   'cuda', 'cuda:N'      _cuda_deserialize, through torch.device(location): N is 0 or a number
//                         without leading zeros, at most 127 (a c10 DeviceIndex; 'cuda:128'
//                         parses as device -128). It needs CUDA, or a map_location, to load.
//   'mps'                 _mps_deserialize (exactly 'mps'); needs an Apple GPU, or a map_location.
// brine keeps the location in its output, so the disarmed file loads where, and only where, the
// original loads (a 'cuda' checkpoint needs CUDA or map_location either way); the bytes are the
// same wherever torch puts them. 'meta' (_meta_deserialize) is refused although torch restores it:
// torch then discards the record's bytes (a meta storage holds none), while brine's view and
// digests would use them; torch.save never writes a meta location (meta tensors are saved
// without storage, by _rebuild_meta_tensor_no_storage). Everything else fails in torch.
[[nodiscard]] constexpr bool restorable_location(std::string_view location) noexcept {
    if (location == "cpu" || location == "cuda" || location == "mps") return true;
    constexpr std::string_view cuda = "cuda:";
    if (location.size() <= cuda.size() || location.substr(0, cuda.size()) != cuda) return false;
    const std::string_view index = location.substr(cuda.size());
    if (index.size() > 3 || (index.size() > 1 && index[0] == '0')) return false;
    unsigned value = 0;
    for (const char c : index) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return value <= 127;
}

// Python 2 strings (STRING, BINSTRING, SHORT_BINSTRING) in a pickle torch.load reads: torch.load
// passes encoding='utf-8' to every unpickler of a checkpoint (zip and legacy), so each one becomes
// a str, and one that is not UTF-8 makes the whole load fail (UnicodeDecodeError). Every such
// node of the graph is checked, used or not (the unpickler decodes it when it reads the opcode).
// Not for raw pickles: their loader's encoding is unknown.
[[nodiscard]] inline status check_python2_strings(const pickle::graph& g) noexcept {
    for (pickle::node_id id = pickle::graph::shared_constants; id < g.size(); ++id) {
        const pickle::node& n = g[id];
        if (n.kind != pickle::node_kind::legacy_string) continue;
        const std::string_view text = n.text();
        if (::brine::detail::first_invalid_utf8(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()) != text.size())
            return error{errc::pickle_invalid_utf8, n.offset,
                         "Python 2 strings that decode as UTF-8 (torch.load reads them with encoding='utf-8')"};
    }
    return {};
}

namespace detail {

inline constexpr policy::qualified_name rebuild_tensor_v2 = {"torch._utils", "_rebuild_tensor_v2"};
inline constexpr policy::qualified_name rebuild_tensor = {"torch._utils", "_rebuild_tensor"};
inline constexpr policy::qualified_name rebuild_qtensor = {"torch._utils", "_rebuild_qtensor"};
inline constexpr policy::qualified_name rebuild_parameter = {"torch._utils", "_rebuild_parameter"};
inline constexpr policy::qualified_name rebuild_parameter_with_state = {"torch._utils", "_rebuild_parameter_with_state"};
inline constexpr policy::qualified_name rebuild_sparse = {"torch._utils", "_rebuild_sparse_tensor"};
inline constexpr policy::qualified_name rebuild_sparse_csr = {"torch._utils", "_rebuild_sparse_csr_tensor"};
inline constexpr policy::qualified_name rebuild_from_type_v2 = {"torch._tensor", "_rebuild_from_type_v2"};
inline constexpr policy::qualified_name rebuild_meta = {"torch._utils", "_rebuild_meta_tensor_no_storage"};
inline constexpr policy::qualified_name parameter_class = {"torch.nn.parameter", "Parameter"};
inline constexpr policy::qualified_name ordered_dict = {"collections", "OrderedDict"};

[[nodiscard]] inline bool same(const policy::qualified_name& a, const policy::qualified_name& b) noexcept {
    return a.module == b.module && a.name == b.name;
}

// Plain record names only: what torch would look up is then exactly what brine writes.
[[nodiscard]] inline bool plain_key(std::string_view key) noexcept {
    if (key.empty() || key.size() > 128) return false;
    for (const char c : key) {
        const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

// The positional arguments each rebuild function takes in torch 1.13 (torch/_utils.py,
// torch/_tensor.py): a call with any other count raises TypeError in torch, and is refused.
//   _rebuild_tensor(storage, storage_offset, size, stride)                                    4
//   _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks)  6
//       torch >= 2.0 appends a 7th, metadata, when it is not empty; 1.13 refuses 7 arguments,
//       and the metadata (tensor flags) cannot be dropped without changing the tensor: refused.
//   _rebuild_qtensor(storage, storage_offset, size, stride, quantizer_params, requires_grad,
//                    backward_hooks)                                                           7
//   _rebuild_parameter(data, requires_grad, backward_hooks)                                   3
//   _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state) (torch >= 2.0)  4
//   _rebuild_sparse_tensor(layout, data), _rebuild_sparse_csr_tensor(layout, data)            2
//   _rebuild_meta_tensor_no_storage(dtype, size, stride, requires_grad)                       4
//   torch._tensor._rebuild_from_type_v2(func, new_type, args, state)                          4
[[nodiscard]] inline std::size_t rebuild_arity(const policy::qualified_name& callee) noexcept {
    if (same(callee, rebuild_tensor)) return 4;
    if (same(callee, rebuild_tensor_v2)) return 6;
    if (same(callee, rebuild_qtensor)) return 7;
    if (same(callee, rebuild_parameter)) return 3;
    if (same(callee, rebuild_parameter_with_state)) return 4;
    if (same(callee, rebuild_sparse) || same(callee, rebuild_sparse_csr)) return 2;
    if (same(callee, rebuild_meta)) return 4;
    if (same(callee, rebuild_from_type_v2)) return 4;
    return 0;  // not a rebuild function
}

}  // namespace detail

}  // namespace torch
BRINE_NAMESPACE_END
