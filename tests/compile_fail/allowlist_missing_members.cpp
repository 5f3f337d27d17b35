// An allowlist with allow_global only: one error per missing member, each naming it, nothing else.
// expect: Policy needs: verdict allow_call
// every: Policy needs: verdict allow_
#include <brine/brine.hpp>

struct globals_only {
    brine::policy::verdict allow_global(const brine::policy::qualified_name&) const noexcept {
        return brine::policy::allowed;
    }
};
using disarmer = brine::torch::basic_disarmer<brine::pickle::reader<>, globals_only, brine::writer::torch_zip,
                                              brine::mtd::none>;

int main() {
    disarmer d;
    return d.scan(brine::byte_view()) ? 0 : 1;
}
