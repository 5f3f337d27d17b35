// SPDX-License-Identifier: MIT
//
// The strategies brine ships, and `bundled`: any one of them, chosen at run time (the sealer and
// restorer the command line and seal_file use). The first member is the default.
#pragma once

#include <brine/mtd/strategies/blocks.hpp>
#include <brine/mtd/strategies/chacha20.hpp>
#include <brine/mtd/strategies/elements.hpp>
#include <brine/mtd/strategies/neurons.hpp>
#include <brine/mtd/strategies/none.hpp>
#include <brine/mtd/strategies/one_of.hpp>
#include <brine/mtd/strategies/records.hpp>

BRINE_NAMESPACE_BEGIN
namespace mtd {
namespace strategies {

using bundled = one_of<records, elements, neurons, blocks, chacha20, none>;

}  // namespace strategies
}  // namespace mtd
BRINE_NAMESPACE_END
