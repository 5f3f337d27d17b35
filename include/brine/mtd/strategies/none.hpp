// SPDX-License-Identifier: MIT
//
// The strategy "none": storages keep their keys, their order and their bytes; the seal only
// hashes. It hides nothing: verify still tells any change from the sealed state.
#pragma once

#include <brine/config.hpp>
#include <brine/core/result.hpp>
#include <brine/mtd/strategy.hpp>

BRINE_NAMESPACE_BEGIN
namespace mtd {
namespace strategies {

struct none : fixed_strategy<permutation::none> {
    status prepare(const strategy_context&, torch::storage_keys&) noexcept { return {}; }
};

}  // namespace strategies
}  // namespace mtd
BRINE_NAMESPACE_END
