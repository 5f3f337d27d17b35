// A machine's Reader without limits_type: one error, naming it.
// expect: brine Reader: needs a member type limits_type
// every: brine Reader: needs
#include <brine/brine.hpp>

struct no_limits_reader {
    explicit no_limits_reader(brine::byte_view) {}
    brine::status next(brine::pickle::token&) { return {}; }
};

int main() {
    const brine::policy::torch_weights_only rules;
    brine::pickle::machine<brine::policy::torch_weights_only, brine::pickle::limits::standard, no_limits_reader> m(rules);
    return m.run(brine::byte_view()) ? 0 : 1;
}
