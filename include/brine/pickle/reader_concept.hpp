// SPDX-License-Identifier: MIT
//
// The opcode Reader slot of the symbolic machine (and so of every disarmer): the type that turns
// a pickle's bytes into tokens. pickle::reader<Limits> is the bundled one; a user's reader, for
// instance one that wraps it to count opcodes or refuse some, replaces it as the machine's
// third template parameter or the disarmer's first. A Reader R has
//
//   typename R::limits_type          the limits the machine applies too (pickle/limits.hpp)
//   R(byte_view bytes)               a reader of the pickle starting at bytes[0]; the machine
//                                    constructs one per pickle it evaluates
//   status next(token& t)            the next token (opcode, argument, offset), or an error that
//                                    ends the evaluation (a refused opcode is such an error)
//
// check_reader<R>() states each requirement in its own static_assert; reader_or_default<R> is R
// when it qualifies and pickle::reader<> otherwise, so that a class gated on it reports the
// failed requirement and nothing after it.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/detect.hpp>
#include <brine/core/result.hpp>
#include <brine/pickle/reader.hpp>
#include <brine/pickle/token.hpp>

#include <type_traits>
#include <utility>

BRINE_NAMESPACE_BEGIN
namespace pickle {
namespace detail {

template <class R>
using limits_type_op = typename R::limits_type;
template <class R>
using next_op = decltype(std::declval<R&>().next(std::declval<token&>()));
template <class R>
inline constexpr bool has_limits_type = is_detected_v<limits_type_op, R>;
template <class R>
inline constexpr bool has_next = is_detected_exact_v<status, next_op, R>;

}  // namespace detail

template <class R>
inline constexpr bool is_reader_v = detail::has_limits_type<R> && std::is_constructible_v<R, byte_view> &&
                                    detail::has_next<R>;

template <class R>
constexpr bool check_reader() noexcept {
    static_assert(detail::has_limits_type<R>, "brine Reader: needs a member type limits_type (pickle/limits.hpp)");
    static_assert(std::is_constructible_v<R, byte_view>, "brine Reader: needs a constructor R(byte_view)");
    static_assert(detail::has_next<R>, "brine Reader: needs status next(pickle::token&)");
    return is_reader_v<R>;
}

template <class R>
using reader_or_default = std::conditional_t<is_reader_v<R>, R, reader<>>;

}  // namespace pickle
BRINE_NAMESPACE_END
