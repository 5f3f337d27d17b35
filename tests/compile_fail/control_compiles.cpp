// The control: the same slots filled correctly compile, so a failure of the others is theirs.
#include <brine/brine.hpp>

struct counting_reader : brine::pickle::reader<> {
    using reader::reader;
    brine::status next(brine::pickle::token& t) { return reader::next(t); }
};
struct my_strategy : brine::mtd::fixed_strategy<brine::mtd::permutation::none> {
    brine::status prepare(const brine::mtd::strategy_context&, brine::torch::storage_keys&) { return {}; }
};
struct my_hash : brine::mtd::named_hash<my_hash> {
    static constexpr std::string_view spelling = "mine";
    void key(const brine::mtd::digest&) {}
    void update(brine::byte_view bytes) { state.update(bytes); }
    brine::mtd::digest finish() { return state.finish(); }
    brine::crypto::sha256 state;
};
using disarmer = brine::torch::basic_disarmer<counting_reader, brine::policy::torch_weights_only,
                                              brine::writer::torch_zip, brine::mtd::none>;

int main() {
    disarmer d;
    auto sealed = brine::mtd::seal_file<brine::policy::torch_weights_only, my_strategy, my_hash>(
        "in.pt", "out.pt", brine::mtd::secret_key{}, {});
    return d.scan(brine::byte_view()) && sealed ? 0 : 1;
}
