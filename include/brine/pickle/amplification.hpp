// SPDX-License-Identifier: MIT
//
// Resource amplification by allowed content (THREATS.md R5): a call the allowlist accepts can
// still make the victim's loader allocate in proportion to a number in the pickle, not to the
// pickle's size. bytearray(2**31) is a 15-byte call that torch's weights_only unpickler runs and
// that allocates 2 GiB of zeros; numpy's _reconstruct(ndarray, (2**30,), b'b') allocates the
// shape it is given. Calls that copy their argument do the same through the memo: set(L) of a
// memoized list L, repeated with BINGET, allocates |L| entries per 4-byte call.
//
// loader_bytes() estimates, for the callables the shipped policies (or a user's extension of
// them) may allow, what one call allocates in CPython; the machine charges every allowed call
// against a budget per pickle (loader_budget) and refuses the calls past it. Unknown callables
// cost 0: brine has no semantics for them (policy/extend.hpp). The counting is the machine's, so
// this lives in the pickle layer; the names stay in namespace policy, next to the allowlists whose
// callables they price.
#pragma once

#include <brine/config.hpp>
#include <brine/core/checked_arithmetic.hpp>
#include <brine/pickle/name_table.hpp>
#include <brine/pickle/value.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace policy {

// The budget of a pickle of `input_size` bytes. CPython's unpickler already turns one byte into
// up to about 64 bytes of objects without any call (EMPTY_DICT: 1 byte, a 64-byte dict), so
// copies within that ratio add nothing a plain pickle could not do; 64 MiB more covers values made
// from nothing (bytearray(n), an array shape) in any real file, which never writes such calls
// (bytearray pickles as bytearray(b'...'), np.save's _reconstruct has shape (0,)).
inline constexpr std::uint64_t loader_fixed_budget = std::uint64_t(64) << 20;
inline constexpr std::uint64_t loader_bytes_per_input_byte = 64;

namespace detail {

inline constexpr std::uint64_t saturated = std::numeric_limits<std::uint64_t>::max();


// A size argument as the loader reads it: negative sizes raise before allocating (0); an int
// beyond 64 bits saturates.
[[nodiscard]] inline std::uint64_t size_value(const pickle::graph& g, pickle::node_id id) noexcept {
    const pickle::node& n = g[id];
    switch (n.kind) {
        case pickle::node_kind::boolean: return n.boolean() ? 1 : 0;
        case pickle::node_kind::integer: return n.integer() < 0 ? 0 : static_cast<std::uint64_t>(n.integer());
        case pickle::node_kind::big_integer: {
            const std::string_view bytes = n.text();  // little-endian two's complement
            if (bytes.empty() || (static_cast<unsigned char>(bytes.back()) & 0x80) != 0) return 0;
            return saturated;
        }
        default: return 0;
    }
}

// The number of elements of an array shape: an int, or a tuple or list of ints (numpy's forms).
[[nodiscard]] inline std::uint64_t shape_elements(const pickle::graph& g, pickle::node_id id) noexcept {
    const pickle::node_kind kind = g[id].kind;
    if (kind != pickle::node_kind::tuple && kind != pickle::node_kind::list) return size_value(g, id);
    std::uint64_t product = 1;
    for (const pickle::node_id dim : g.children(id)) product = saturating_mul(product, size_value(g, dim));
    return product;
}

[[nodiscard]] inline bool is_text(pickle::node_kind kind) noexcept {
    return kind == pickle::node_kind::string || kind == pickle::node_kind::legacy_string ||
           kind == pickle::node_kind::bytes || kind == pickle::node_kind::bytearray;
}

// bytearray(x[, encoding]) and _codecs.encode(x, encoding): an int allocates that many zero bytes;
// text is encoded, at most 4 bytes per input byte (UTF-32) plus a BOM.
[[nodiscard]] inline std::uint64_t buffer_bytes(const pickle::graph& g, pickle::node_id first) noexcept {
    if (is_text(g[first].kind)) return saturating_add(saturating_mul(g[first].text().size(), 4), 4);
    return size_value(g, first);
}

// A container copied into a set, dict or tuple: about 64 bytes per entry at most (a set's hash
// table slot with its load factor, a dict's entry and index), the ratio the budget allows.
[[nodiscard]] inline std::uint64_t copy_bytes(const pickle::graph& g, pickle::node_id first) noexcept {
    const pickle::node& n = g[first];
    if (is_text(n.kind)) return saturating_mul(n.text().size(), 64);  // Counter('...'), set('...')
    if (n.kind == pickle::node_kind::global || n.kind == pickle::node_kind::call) return 0;
    return saturating_mul(g.children(first).size() + g.items(first).size(), 64);
}

inline constexpr qualified_name buffer_makers[] = {
    {"_codecs", "encode"},
    {"builtins", "bytearray"},
    {"builtins", "bytes"},
};
static_assert(strictly_sorted(buffer_makers), "the table must be sorted by (module, name), no duplicates");
inline constexpr qualified_name container_copiers[] = {
    {"builtins", "frozenset"}, {"builtins", "list"},        {"builtins", "set"},  {"builtins", "tuple"},
    {"collections", "Counter"}, {"collections", "OrderedDict"}, {"torch", "Size"},
};
static_assert(strictly_sorted(container_copiers), "the table must be sorted by (module, name), no duplicates");
// (callable, index of the shape argument): what np.save's object arrays call, and numpy's array
// makers should a user allow them. 8 bytes per element: an object array's pointers, the widest
// scalar; a structured dtype can be wider, so this is a lower bound.
struct shaped_maker {
    qualified_name name;
    std::size_t shape_argument;
};
inline constexpr shaped_maker array_makers[] = {
    {{"numpy", "empty"}, 0},
    {{"numpy", "ndarray"}, 0},
    {{"numpy", "ones"}, 0},
    {{"numpy", "zeros"}, 0},
    {{"numpy._core.multiarray", "_reconstruct"}, 1},
    {{"numpy.core.multiarray", "_reconstruct"}, 1},
};

}  // namespace detail

// What calling `callee` with the argument tuple `args` allocates in the loader, at least; 0 for
// callables brine knows nothing about. Saturates instead of overflowing.
[[nodiscard]] inline std::uint64_t loader_bytes(const pickle::graph& g, const qualified_name& callee,
                                                pickle::node_id args) noexcept {
    if (args == pickle::no_node || g[args].kind != pickle::node_kind::tuple) return 0;
    const auto arguments = g.children(args);
    if (arguments.empty()) return 0;
    if (contains(detail::buffer_makers, callee)) return detail::buffer_bytes(g, arguments[0]);
    if (contains(detail::container_copiers, callee)) return detail::copy_bytes(g, arguments[0]);
    for (const detail::shaped_maker& maker : detail::array_makers) {
        if (maker.name.module != callee.module || maker.name.name != callee.name) continue;
        if (maker.shape_argument >= arguments.size()) return 0;
        return saturating_mul(detail::shape_elements(g, arguments[maker.shape_argument]), 8);
    }
    return 0;
}

// The most an accepted pickle of `input_size` bytes may make the loader allocate through calls.
[[nodiscard]] constexpr std::uint64_t loader_budget(std::uint64_t input_size) noexcept {
    return saturating_add(loader_fixed_budget,
                          saturating_mul(input_size, loader_bytes_per_input_byte));
}

}  // namespace policy
BRINE_NAMESPACE_END
