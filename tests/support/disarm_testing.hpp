// Helpers shared by unit tests: the default disarmer on bytes in memory.
#pragma once

#include <brine/brine.hpp>

#include <cstdint>
#include <vector>

namespace brine_test {

inline brine::result<brine::torch::report> scan_bytes(const std::vector<std::uint8_t>& data) {
    brine::torch::disarmer d;
    return d.scan(brine::byte_view(data.data(), data.size()));
}

// Disarms `data` into `out` through a vector_sink, which the disarmer reads back for its output
// check (readings/output_check.hpp).
inline brine::result<brine::torch::report> disarm_bytes(const std::vector<std::uint8_t>& data,
                                                        std::vector<std::uint8_t>& out) {
    brine::torch::disarmer d;
    const brine::byte_view view(data.data(), data.size());
    brine::vector_sink sink(out);
    return d.disarm(view, brine::memory_source(view), sink);
}

}  // namespace brine_test
