// SPDX-License-Identifier: MIT
//
// The Mtd policy of a disarmer that applies no Moving Target Defense: storages are written as they
// are. An Mtd policy sees each storage's bytes on their way to the output
//     template <class Sink> auto wrap(const torch::storage_ref&, Sink& next) const;
// returning a Sink that transforms (permutes, hashes) and forwards to `next`, and says with
//     static constexpr bool changes_bytes
// whether what reaches the output differs from the input (then no input CRC can be reused).
#pragma once

#include <brine/config.hpp>

BRINE_NAMESPACE_BEGIN
namespace mtd {

struct none {
    static constexpr bool changes_bytes = false;
    template <class Storage, class Sink>
    [[nodiscard]] Sink& wrap(const Storage&, Sink& next) const noexcept {
        return next;
    }
};

}  // namespace mtd
BRINE_NAMESPACE_END
