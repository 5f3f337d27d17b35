// SPDX-License-Identifier: MIT
//
// Member detection for the policy checks (the detection idiom of the Library Fundamentals TS):
// an operation is an alias template, e.g.
//     template <class R> using next_op = decltype(std::declval<R&>().next(std::declval<token&>()));
// and is_detected_exact_v<status, next_op, R> says whether it is well-formed and yields status.
// One definition here instead of a false_type/true_type pair per member; and gated(), the other
// half of every such check.
#pragma once

#include <brine/config.hpp>

#include <type_traits>
#include <utility>

BRINE_NAMESPACE_BEGIN
namespace detail {

struct nonesuch {
    nonesuch() = delete;
    ~nonesuch() = delete;
    nonesuch(const nonesuch&) = delete;
    void operator=(const nonesuch&) = delete;
};

template <class AlwaysVoid, template <class...> class Op, class... Args>
struct detector {
    using value_t = std::false_type;
    using type = nonesuch;
};
template <template <class...> class Op, class... Args>
struct detector<std::void_t<Op<Args...>>, Op, Args...> {
    using value_t = std::true_type;
    using type = Op<Args...>;
};

}  // namespace detail

// Whether Op<Args...> is well-formed.
template <template <class...> class Op, class... Args>
inline constexpr bool is_detected_v = detail::detector<void, Op, Args...>::value_t::value;

// Whether Op<Args...> is well-formed and is exactly Expected.
template <class Expected, template <class...> class Op, class... Args>
inline constexpr bool is_detected_exact_v = std::is_same_v<Expected, typename detail::detector<void, Op, Args...>::type>;

// What a class gated on a policy check holds: the policy it was given when that passed the check
// (Target is then its type), else a default-constructed stand-in, so that the failed static_assert
// is the one error reported.
template <class Target, class Given>
[[nodiscard]] Target gated(Given&& given) {
    if constexpr (std::is_same_v<Target, std::decay_t<Given>>) return std::forward<Given>(given);
    else return Target{};
}

BRINE_NAMESPACE_END
