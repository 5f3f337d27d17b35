// SPDX-License-Identifier: MIT
//
// Which inputs a disarmer reads besides torch zip checkpoints, legacy .pt streams and raw
// pickles (always read): the disarmer's fifth, defaulted, policy. A reader left out is not
// compiled, which is what a firmware image with a code budget needs (examples/embedded/: NumPy
// alone is about a quarter of the disarmer's code at -Os); an input it would have read is
// refused with a message saying what was compiled out.
#pragma once

#include <brine/config.hpp>

BRINE_NAMESPACE_BEGIN
namespace torch {
namespace formats {

// Everything: NumPy .npy/.npz, and weights extracted from TorchScript archives and pickled
// modules when asked for (basic_disarmer::extract_weights).
struct every {
    static constexpr bool numpy = true;
    static constexpr bool weight_extraction = true;
};

// What an inference engine loads: torch.save checkpoints (zip and legacy) and plain pickles.
struct checkpoints_only {
    static constexpr bool numpy = false;
    static constexpr bool weight_extraction = false;
};

}  // namespace formats
}  // namespace torch
BRINE_NAMESPACE_END
