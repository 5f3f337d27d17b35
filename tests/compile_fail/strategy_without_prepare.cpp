// A seal strategy without prepare(): one error, naming it, from seal_file down.
// expect: brine Strategy: needs status prepare\(const mtd::strategy_context&, torch::storage_keys&\)
// every: brine Strategy: needs
#include <brine/brine.hpp>

struct my_strategy : brine::mtd::strategy_base {
    bool select(std::string_view) { return true; }
    std::string_view name() const { return "mine"; }
};

int main() {
    auto done = brine::mtd::seal_file<brine::policy::torch_weights_only, my_strategy>("in.pt", "out.pt",
                                                                                     brine::mtd::secret_key{}, {});
    return done ? 0 : 1;
}
