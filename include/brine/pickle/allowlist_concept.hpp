// SPDX-License-Identifier: MIT
//
// The Allowlist policy concept: what the symbolic machine (pickle/machine.hpp) requires of the
// policy it enforces, so it lives in the pickle layer and the bundled allowlists (policy/) build
// on it. The names stay in namespace policy: they are the vocabulary every policy speaks.
//
// The machine asks the policy about every operation that could run code or change an object in a
// real unpickler; each member returns a verdict:
//
//   verdict allow_global(const qualified_name&) const noexcept            GLOBAL, STACK_GLOBAL, INST, OBJ class
//   verdict allow_call(const pickle::graph&, pickle::node_id callable,
//                      pickle::call_form) const noexcept                   REDUCE, NEWOBJ(_EX), INST, OBJ
//   verdict allow_build(const pickle::graph&, pickle::node_id target) const noexcept        BUILD
//   verdict allow_setitem(const pickle::graph&, pickle::node_id target) const noexcept      SETITEM(S)
//   verdict allow_append(const pickle::graph&, pickle::node_id target,
//                        pickle::opcode) const noexcept                    APPEND(S), ADDITEMS
//   verdict allow_persistent_id(const pickle::graph&, pickle::node_id id,
//                               pickle::opcode) const noexcept             PERSID, BINPERSID
//
// `callable` is always an allowed global node; targets and ids are any node. check_policy<P>()
// states each requirement in its own static_assert, so a policy that misses one gets one
// readable message.
#pragma once

#include <brine/config.hpp>
#include <brine/core/detect.hpp>
#include <brine/pickle/name_table.hpp>
#include <brine/pickle/opcodes.hpp>
#include <brine/pickle/value.hpp>
#include <brine/pickle/verdict.hpp>

#include <type_traits>
#include <utility>

BRINE_NAMESPACE_BEGIN
namespace policy {

namespace detail {
// Optional: node_id resolve_persistent_id(const pickle::graph&, node_id id) const — the value an
// allowed persistent id stands for, or pickle::no_node to keep the persistent id itself.
template <class P>
using resolve_persistent_id_op =
    decltype(std::declval<const P&>().resolve_persistent_id(std::declval<const pickle::graph&>(), pickle::node_id{}));
template <class P>
using allow_global_op = decltype(std::declval<const P&>().allow_global(std::declval<const qualified_name&>()));
template <class P>
using allow_call_op = decltype(std::declval<const P&>().allow_call(std::declval<const pickle::graph&>(), pickle::node_id{},
                                                                   pickle::call_form{}));
template <class P>
using allow_build_op = decltype(std::declval<const P&>().allow_build(std::declval<const pickle::graph&>(), pickle::node_id{}));
template <class P>
using allow_setitem_op =
    decltype(std::declval<const P&>().allow_setitem(std::declval<const pickle::graph&>(), pickle::node_id{}));
template <class P>
using allow_append_op = decltype(std::declval<const P&>().allow_append(std::declval<const pickle::graph&>(),
                                                                       pickle::node_id{}, pickle::opcode{}));
template <class P>
using allow_persistent_id_op = decltype(std::declval<const P&>().allow_persistent_id(
    std::declval<const pickle::graph&>(), pickle::node_id{}, pickle::opcode{}));

template <class P>
inline constexpr bool has_resolve_persistent_id = is_detected_exact_v<pickle::node_id, resolve_persistent_id_op, P>;
template <class P>
inline constexpr bool has_allow_global = is_detected_exact_v<verdict, allow_global_op, P>;
template <class P>
inline constexpr bool has_allow_call = is_detected_exact_v<verdict, allow_call_op, P>;
template <class P>
inline constexpr bool has_allow_build = is_detected_exact_v<verdict, allow_build_op, P>;
template <class P>
inline constexpr bool has_allow_setitem = is_detected_exact_v<verdict, allow_setitem_op, P>;
template <class P>
inline constexpr bool has_allow_append = is_detected_exact_v<verdict, allow_append_op, P>;
template <class P>
inline constexpr bool has_allow_persistent_id = is_detected_exact_v<verdict, allow_persistent_id_op, P>;
}  // namespace detail

template <class P>
inline constexpr bool is_policy_v = detail::has_allow_global<P> && detail::has_allow_call<P> &&
                                    detail::has_allow_build<P> && detail::has_allow_setitem<P> &&
                                    detail::has_allow_append<P> &&
                                    detail::has_allow_persistent_id<P>;

// One readable message per missing member.
template <class P>
constexpr bool check_policy() noexcept {
    static_assert(detail::has_allow_global<P>,
                  "Policy needs: verdict allow_global(const qualified_name&) const noexcept");
    static_assert(detail::has_allow_call<P>,
                  "Policy needs: verdict allow_call(const pickle::graph&, pickle::node_id, pickle::call_form) const");
    static_assert(detail::has_allow_build<P>,
                  "Policy needs: verdict allow_build(const pickle::graph&, pickle::node_id) const noexcept");
    static_assert(detail::has_allow_setitem<P>,
                  "Policy needs: verdict allow_setitem(const pickle::graph&, pickle::node_id) const noexcept");
    static_assert(detail::has_allow_append<P>,
                  "Policy needs: verdict allow_append(const pickle::graph&, pickle::node_id, pickle::opcode) const");
    static_assert(detail::has_allow_persistent_id<P>,
                  "Policy needs: verdict allow_persistent_id(const pickle::graph&, pickle::node_id, pickle::opcode) const");
    return true;
}

// Refuses everything: what a class gated on its policy runs with when the policy it was given
// fails check_policy, so that the failed requirement is the one error reported.
struct refuse_all {
    [[nodiscard]] verdict allow_global(const qualified_name&) const noexcept { return refused("nothing is allowed"); }
    [[nodiscard]] verdict allow_call(const pickle::graph&, pickle::node_id, pickle::call_form) const noexcept {
        return refused("nothing is allowed");
    }
    [[nodiscard]] verdict allow_build(const pickle::graph&, pickle::node_id) const noexcept {
        return refused("nothing is allowed");
    }
    [[nodiscard]] verdict allow_setitem(const pickle::graph&, pickle::node_id) const noexcept {
        return refused("nothing is allowed");
    }
    [[nodiscard]] verdict allow_append(const pickle::graph&, pickle::node_id, pickle::opcode) const noexcept {
        return refused("nothing is allowed");
    }
    [[nodiscard]] verdict allow_persistent_id(const pickle::graph&, pickle::node_id, pickle::opcode) const noexcept {
        return refused("nothing is allowed");
    }
};

template <class P>
using policy_or_default = std::conditional_t<is_policy_v<P>, P, refuse_all>;

#if defined(__cpp_concepts) && __cpp_concepts >= 201907L
template <class P>
concept allowlist_policy = is_policy_v<P>;
#endif

}  // namespace policy
BRINE_NAMESPACE_END
