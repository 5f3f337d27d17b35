// SPDX-License-Identifier: MIT
//
// The Mtd policy of a disarmer that applies no Moving Target Defense: storages are written as they
// are. An Mtd policy sees each storage's bytes on their way to the output
//     template <class Sink> auto wrap(const torch::storage_ref&, Sink& next) const;
// returning a Sink that transforms (permutes, hashes) and forwards to `next`.
#pragma once

#include <brine/config.hpp>

BRINE_NAMESPACE_BEGIN
namespace mtd {

struct none {
    template <class Storage, class Sink>
    [[nodiscard]] Sink& wrap(const Storage&, Sink& next) const noexcept {
        return next;
    }
};

}  // namespace mtd
BRINE_NAMESPACE_END
