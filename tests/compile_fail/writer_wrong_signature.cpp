// A Writer whose write() takes something else than (parts, sink): one error, naming the contract.
// expect: brine Writer: needs template <class Parts, class SeekableSink> status write
// every: brine Writer: needs
#include <brine/brine.hpp>

#include <string>

struct text_writer {
    static constexpr std::string_view name = "text";
    brine::status write(const std::string&, std::string&) const { return {}; }
};
using disarmer = brine::torch::basic_disarmer<brine::pickle::reader<>, brine::policy::torch_weights_only, text_writer,
                                              brine::mtd::none>;

int main() {
    disarmer d;
    return d.scan(brine::byte_view()) ? 0 : 1;
}
