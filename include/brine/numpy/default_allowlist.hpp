// SPDX-License-Identifier: MIT
//
// The allowlist an object array's pickle is judged by when the caller names none (scan_npy,
// rebuild_npy, scan_npz, rebuild_npz).
//
// numpy has no reading rules of its own to follow here: np.load(allow_pickle=True) runs an object
// array's pickle with no restriction at all, and allow_pickle=False refuses every object array.
// So the default is borrowed, on purpose: torch's weights_only allowlist, which accepts plain data
// (containers, scalars, strings) and nothing that runs code. It is also what the disarmer
// (pipeline/disarm.hpp) judges every pickle by, a checkpoint's or an array's, so a file gets the same
// verdict alone as inside a checkpoint. It allows none of the globals numpy's own object-array
// pickles call (numpy.core.multiarray._reconstruct, numpy.ndarray, numpy.dtype): every object
// array numpy writes has findings under it. Pass a policy that allows them to accept such files.
#pragma once

#include <brine/config.hpp>
#include <brine/policy/torch_weights_only.hpp>

BRINE_NAMESPACE_BEGIN
namespace numpy {

using default_allowlist = policy::torch_weights_only;

}  // namespace numpy
BRINE_NAMESPACE_END
