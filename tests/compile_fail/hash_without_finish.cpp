// A seal hash without finish(): one error, naming it, from seal_file down.
// expect: brine Hash: needs mtd::digest finish\(\)
// every: brine Hash: needs
#include <brine/brine.hpp>

struct my_hash : brine::mtd::named_hash<my_hash> {
    static constexpr std::string_view spelling = "mine";
    void key(const brine::mtd::digest&) {}
    void update(brine::byte_view) {}
};

int main() {
    auto done = brine::mtd::seal_file<brine::policy::torch_weights_only, brine::mtd::strategies::records, my_hash>(
        "in.pt", "out.pt", brine::mtd::secret_key{}, {});
    return done ? 0 : 1;
}
