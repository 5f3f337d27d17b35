// libFuzzer harness: symbolic machine + reconstruction writer on arbitrary bytes. Property: when
// the machine accepts an input and the writer writes it, the output evaluates (under the same
// policy) to the same graph with nothing blocked, and rewriting it gives the same bytes.
#include <brine/pickle/machine.hpp>
#include <brine/pickle/writer.hpp>
#include <brine/policy/torch_weights_only.hpp>

#include "pickle_testing.hpp"

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {
struct small_limits : brine::pickle::limits::standard {
    static constexpr std::uint64_t max_nodes = 1 << 16;
    static constexpr std::uint64_t max_mark_depth = 512;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using machine = brine::pickle::machine<brine::policy::torch_weights_only, small_limits>;
    const brine::policy::torch_weights_only rules;
    // Evaluations are reused from one input to the next, as a scanner of many files does: this
    // also checks that a reused graph keeps nothing of the previous pickle.
    static brine::pickle::evaluation first;
    static brine::pickle::evaluation second;
    if (!machine(rules).run(brine::byte_view(data, size), first)) return 0;
    std::vector<std::uint8_t> out;
    const auto bounds = brine::pickle::writer_limits::of<small_limits>();
    auto written = brine::pickle::writer(first.values, bounds).write(out);
    // A blocked root, a cycle through a tuple, or an output nesting deeper than the limits: refused.
    if (!written) return 0;

    if (!machine(rules).run(brine::byte_view(out.data(), out.size()), second))
        std::abort();                                           // the writer wrote something invalid
    if (!second.values.findings().empty()) std::abort();        // a refused value survived
    // With nothing refused, the reconstruction is the same graph.
    if (first.values.findings().empty() && brine_test::describe(first) != brine_test::describe(second))
        std::abort();
    // A fresh evaluation of the input agrees with the reused one.
    auto fresh = machine(rules).run(brine::byte_view(data, size));
    if (!fresh || brine_test::describe(*fresh) != brine_test::describe(first) ||
        fresh->values.findings().size() != first.values.findings().size())
        std::abort();
    std::vector<std::uint8_t> again;
    if (!brine::pickle::writer(second.values, bounds).write(again)) std::abort();
    if (again != out) std::abort();                             // not canonical
    return 0;
}
