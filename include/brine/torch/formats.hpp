// SPDX-License-Identifier: MIT
//
// Which inputs a disarmer reads besides torch zip checkpoints, legacy .pt streams and raw
// pickles (always read): the disarmer's fifth, defaulted, policy. A reader left out is not
// compiled, which is what a firmware image with a code budget needs (examples/embedded/: NumPy
// alone is about a quarter of the disarmer's code at -Os); an input it would have read is
// refused with a message saying what was compiled out.
#pragma once

#include <brine/config.hpp>
#include <brine/core/detect.hpp>

#include <type_traits>

BRINE_NAMESPACE_BEGIN
namespace torch {
namespace formats {

// Everything: NumPy .npy/.npz, and weights extracted from TorchScript archives and pickled
// modules when asked for (basic_disarmer::extract_weights).
struct every {
    static constexpr bool numpy = true;
    static constexpr bool weight_extraction = true;
    static constexpr bool safetensors = true;
};

// What an inference engine loads: torch.save checkpoints (zip and legacy) and plain pickles.
struct checkpoints_only {
    static constexpr bool numpy = false;
    static constexpr bool weight_extraction = false;
};

namespace detail {
template <class F>
using numpy_op = std::remove_cv_t<decltype(F::numpy)>;
template <class F>
using weight_extraction_op = std::remove_cv_t<decltype(F::weight_extraction)>;
template <class F>
inline constexpr bool has_numpy = is_detected_exact_v<bool, numpy_op, F>;
template <class F>
inline constexpr bool has_weight_extraction = is_detected_exact_v<bool, weight_extraction_op, F>;
template <class F>
using safetensors_op = std::remove_cv_t<decltype(F::safetensors)>;
template <class F>
constexpr bool safetensors_flag() noexcept {
    if constexpr (is_detected_exact_v<bool, safetensors_op, F>) return F::safetensors;
    return false;
}
}  // namespace detail

// Whether F reads safetensors files: its optional `static constexpr bool safetensors` (absent:
// no, as before safetensors went through the disarmer).
template <class F>
inline constexpr bool reads_safetensors_v = detail::safetensors_flag<F>();

// A Formats policy: two static constexpr bools, each a reader compiled in or left out (and
// optionally a third, safetensors).
template <class F>
inline constexpr bool is_formats_v = detail::has_numpy<F> && detail::has_weight_extraction<F>;

template <class F>
constexpr bool check_formats() noexcept {
    static_assert(detail::has_numpy<F>, "brine Formats: needs static constexpr bool numpy");
    static_assert(detail::has_weight_extraction<F>, "brine Formats: needs static constexpr bool weight_extraction");
    return is_formats_v<F>;
}

}  // namespace formats
}  // namespace torch
BRINE_NAMESPACE_END
