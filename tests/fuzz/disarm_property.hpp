// The property every disarm harness checks (torch_disarm, torch_legacy): when disarming
// succeeds, the output is itself accepted, scans clean (nothing refused, nothing left out), and
// has the same tensors; disarming it again gives the same bytes. Aborts (a finding) otherwise.
#pragma once

#include <brine/brine.hpp>

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace fuzz {

inline void check(bool condition) {
    if (!condition) std::abort();
}

inline void disarm_round_trip(brine::byte_view input) {
    brine::torch::disarmer d;
    (void)d.scan(input);  // must not crash whatever it says
    std::vector<std::uint8_t> out;
    brine::vector_sink sink(out);
    const auto done = d.disarm(input, brine::memory_source(input), sink);
    if (!done) return;

    const brine::byte_view rebuilt(out.data(), out.size());
    const auto again = d.scan(rebuilt);
    check(static_cast<bool>(again));
    check(again->clean());
    check(again->tensors.size() == done->tensors.size());
    for (std::size_t i = 0; i < again->tensors.size(); ++i) {
        check(again->tensors[i].name == done->tensors[i].name);
        check(again->tensors[i].sizes == done->tensors[i].sizes);
        check(again->tensors[i].strides == done->tensors[i].strides);
    }
    std::vector<std::uint8_t> twice;
    brine::vector_sink twice_sink(twice);
    check(static_cast<bool>(d.disarm(rebuilt, brine::memory_source(rebuilt), twice_sink)));
    check(twice == out);
}

}  // namespace fuzz
