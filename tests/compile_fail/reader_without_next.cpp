// A disarmer's opcode Reader without next(): one error, naming it.
// expect: brine Reader: needs status next\(pickle::token&\)
// every: brine Reader: needs
#include <brine/brine.hpp>

struct counting_reader {
    using limits_type = brine::pickle::limits::standard;
    explicit counting_reader(brine::byte_view) {}
};
using disarmer = brine::torch::basic_disarmer<counting_reader, brine::policy::torch_weights_only,
                                              brine::writer::torch_zip, brine::mtd::none>;

int main() {
    disarmer d;
    return d.scan(brine::byte_view()) ? 0 : 1;
}
