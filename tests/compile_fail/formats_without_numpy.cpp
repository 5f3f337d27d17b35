// A Formats policy that forgets one of its two switches: one error, naming it.
// expect: brine Formats: needs static constexpr bool numpy
// every: brine Formats: needs
#include <brine/brine.hpp>

struct torch_only {
    static constexpr bool weight_extraction = false;
};
using disarmer = brine::torch::basic_disarmer<brine::pickle::reader<>, brine::policy::torch_weights_only,
                                              brine::writer::torch_zip, brine::mtd::none, torch_only>;

int main() {
    disarmer d;
    return d.scan(brine::byte_view()) ? 0 : 1;
}
