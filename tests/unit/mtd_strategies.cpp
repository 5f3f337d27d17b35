// Permutation strategies as policy types (issue 20, part 5): the Strategy requirements, one_of's
// choice, how blocks reads tensor names and writes its plan, chacha20's stream cut anywhere, and
// a sealer and restorer built on one strategy (a file sealed with another is refused before
// anything is written). Real models: tests/interop/check_mtd_strategies.py.
#include <brine/brine.hpp>
#include <doctest/doctest.h>

#include "mtd_testing.hpp"

#include "test_files.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

using namespace brine;
using bytes = std::vector<std::uint8_t>;

namespace {

using brine_test::test_key;

// Everything a strategy needs but the byte transformation.
struct no_transform_piece : mtd::strategy_base {
    [[nodiscard]] bool select(std::string_view) const noexcept { return true; }
    [[nodiscard]] std::string_view name() const noexcept { return "none"; }
    status prepare(const mtd::strategy_context&, torch::storage_keys&) { return {}; }
    void transform_piece(std::size_t, std::uint64_t, int) {}  // the wrong signature hides the base's
};

static_assert(mtd::is_strategy_v<mtd::strategies::records>);
static_assert(mtd::is_strategy_v<mtd::strategies::elements>);
static_assert(mtd::is_strategy_v<mtd::strategies::neurons>);
static_assert(mtd::is_strategy_v<mtd::strategies::blocks>);
static_assert(mtd::is_strategy_v<mtd::strategies::chacha20>);
static_assert(mtd::is_strategy_v<mtd::strategies::none>);
static_assert(mtd::is_strategy_v<mtd::strategies::bundled>);
static_assert(!mtd::is_strategy_v<int>);
static_assert(!mtd::is_strategy_v<mtd::strategy_base>);  // no kind, select or prepare
static_assert(!mtd::is_strategy_v<no_transform_piece>);

// A user's strategy, written against mtd/strategy.hpp alone: every storage byte XORed with a key
// of its own (derived for "xor_mask"), streaming. It counts what brine asked of it.
class xor_mask : public mtd::strategy_base {
public:
    static inline int prepared = 0;
    static inline std::uint64_t bytes_masked = 0;

    [[nodiscard]] bool select(std::string_view name) const noexcept { return name == "xor_mask"; }
    [[nodiscard]] std::string_view name() const noexcept { return "xor_mask"; }
    status prepare(const mtd::strategy_context& context, torch::storage_keys&) {
        ++prepared;
        mask_ = mtd::derive_key(context, "xor_mask");
        return {};
    }
    [[nodiscard]] bool changes_bytes() const noexcept { return true; }
    void transform_piece(std::size_t j, std::uint64_t at, mutable_byte_view bytes) noexcept {
        for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] ^= static_cast<std::uint8_t>(mask_[(at + i) % 32] + j);
        bytes_masked += bytes.size();
    }

private:
    mtd::digest mask_{};
};
static_assert(mtd::is_strategy_v<xor_mask>);

std::string fixture(const std::string& name) { return brine_test::source_path("tests/fixtures/torch/" + name).string(); }

}  // namespace

TEST_CASE("blocks: a tensor name splits at its first decimal component") {
    mtd::detail::block_name n;
    REQUIRE(mtd::detail::split_block_name("layer1.0.conv1.weight", n));
    CHECK(n.container == "layer1");
    CHECK(n.index == 0);
    CHECK(n.suffix == "conv1.weight");
    REQUIRE(mtd::detail::split_block_name("0.weight", n));  // a top-level Sequential
    CHECK(n.container.empty());
    CHECK(n.suffix == "weight");
    REQUIRE(mtd::detail::split_block_name("params.17", n));  // a ParameterList entry
    CHECK(n.container == "params");
    CHECK(n.index == 17);
    CHECK(n.suffix.empty());
    // Not decimal: a leading zero, ten digits, a sign, letters; the next component is tried.
    REQUIRE(mtd::detail::split_block_name("a.01.b.+2.c.1234567890.d.3.e", n));
    CHECK(n.container == "a.01.b.+2.c.1234567890.d");
    CHECK(n.index == 3);
    CHECK(n.suffix == "e");
    CHECK_FALSE(mtd::detail::split_block_name("encoder.layers.encoder_layer_0.ln_1.weight", n));
    CHECK_FALSE(mtd::detail::split_block_name("", n));
}

TEST_CASE("blocks: a plan line is COUNT, ascending indices, then the container, and nothing else reads") {
    const mtd::detail::block_class c{"model.layers with spaces", {0, 2, 5}};
    const std::string line = mtd::detail::format_block_class(c);
    CHECK(line == "3 0 2 5 model.layers with spaces");
    mtd::detail::block_class back;
    REQUIRE(mtd::detail::parse_block_class(line, back));
    CHECK(back.container == c.container);
    CHECK(back.indices == c.indices);
    REQUIRE(mtd::detail::parse_block_class("2 0 1 ", back));  // the top-level container ""
    CHECK(back.container.empty());
    for (const char* bad : {"", "2", "2 0 1", "1 0 x", "2 1 0 x", "2 0 0 x", "02 0 1 x", "2 0 01 x", "2 0 1000000000 x",
                            "3 0 1 x", "+2 0 1 x", "2 0 -1 x"}) {
        CAPTURE(bad);
        CHECK_FALSE(mtd::detail::parse_block_class(bad, back));
    }
}

TEST_CASE("one_of: select picks the first member of that kind, and only a member") {
    mtd::strategies::one_of<mtd::strategies::records, mtd::strategies::none> two;
    CHECK(two.name() == "records");  // before select: the first
    CHECK(two.select("none"));
    CHECK(two.name() == "none");
    CHECK_FALSE(two.select("chacha20"));
    CHECK(two.name() == "none");  // a failed select changes nothing
    mtd::strategies::bundled all;
    for (const mtd::permutation p : {mtd::permutation::none, mtd::permutation::records, mtd::permutation::elements,
                                     mtd::permutation::neurons, mtd::permutation::blocks, mtd::permutation::chacha20}) {
        CHECK(all.select(mtd::to_string(p)));
        CHECK(all.name() == mtd::to_string(p));
    }
    CHECK_FALSE(all.select("xor"));
}

TEST_CASE("chacha20: the same bytes however the stream is cut, its own stream per storage, and undone by itself") {
    torch::checkpoint found;
    for (int i = 0; i < 2; ++i) {
        torch::storage_ref s;
        s.type = torch::dtype::uint8;
        s.numel = 1000;
        found.storages.push_back(s);
    }
    const mtd::secret_key key = test_key(7);
    const mtd::digest salt{};
    std::vector<std::string> lines;
    pickle::graph values;
    torch::storage_keys unused(values, found);
    const mtd::strategy_context context{key, salt, found, mtd::direction::seal, {}, lines};

    bytes plain(1000);
    for (std::size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<std::uint8_t>(i * 7);
    mtd::strategies::chacha20 whole;
    REQUIRE(whole.prepare(context, unused));
    bytes once = plain;
    whole.transform_piece(0, 0, mutable_byte_view(once.data(), once.size()));
    CHECK(once != plain);

    for (const std::size_t cut : {1, 63, 64, 65, 128, 333}) {
        CAPTURE(cut);
        mtd::strategies::chacha20 pieces;
        REQUIRE(pieces.prepare(context, unused));
        bytes cipher = plain;
        for (std::size_t at = 0; at < cipher.size(); at += cut)
            pieces.transform_piece(0, at, mutable_byte_view(cipher.data() + at, std::min(cut, cipher.size() - at)));
        CHECK(cipher == once);
    }
    // A piece out of order (a restart at an offset) lands on the same keystream bytes.
    mtd::strategies::chacha20 seek;
    REQUIRE(seek.prepare(context, unused));
    bytes tail(plain.begin() + 700, plain.end());
    seek.transform_piece(0, 700, mutable_byte_view(tail.data(), tail.size()));
    CHECK(bytes(once.begin() + 700, once.end()) == tail);

    bytes other = plain;
    whole.transform_piece(1, 0, mutable_byte_view(other.data(), other.size()));
    CHECK(other != once);  // storage 1 has its own key

    mtd::strategies::chacha20 back;
    REQUIRE(back.prepare(context, unused));
    back.transform_piece(0, 0, mutable_byte_view(once.data(), once.size()));
    CHECK(once == plain);
}

TEST_CASE("a sealer and a restorer built on one strategy") {
    brine_test::scratch_dir dir("mtd-one-strategy");
    const mtd::secret_key key = test_key(8);
    const std::string in = fixture("mlp_state_dict.pt");
    const std::string sealed = (dir / "sealed.pt").string();
    const std::string restored = (dir / "restored.pt").string();
    const std::string clean = (dir / "clean.pt").string();
    torch::disarmer disarm;
    REQUIRE(disarm.disarm_file(in.c_str(), clean.c_str()));

    // No permute option: the strategy's own. The manifest names it.
    auto done = mtd::seal_file<policy::torch_weights_only, mtd::strategies::chacha20>(in.c_str(), sealed.c_str(), key, {});
    REQUIRE_MESSAGE(done, to_string(done.err().code) << " " << done.err().detail);
    auto report = mtd::verify_file(sealed.c_str(), key);
    REQUIRE(report);
    CHECK(report->intact());
    CHECK(report->sealed.permute == "chacha20");

    // A restorer that does not hold chacha20 refuses before writing anything.
    auto refused = mtd::restore_file<policy::torch_weights_only, mtd::strategies::records>(sealed.c_str(), restored.c_str(), key);
    REQUIRE_FALSE(refused);
    CHECK(refused.err().code == errc::mtd_unsupported);
    CHECK(std::string(refused.err().entry.view()) == "chacha20");
    CHECK_FALSE(brine_test::exists(restored));

    auto back = mtd::restore_file<policy::torch_weights_only, mtd::strategies::chacha20>(sealed.c_str(), restored.c_str(), key);
    REQUIRE_MESSAGE(back, to_string(back.err().code) << " " << back.err().detail);
    CHECK(brine_test::read_file(restored) == brine_test::read_file(clean));

    // Asking a one-strategy sealer for another strategy is an error, not a silent substitute.
    mtd::seal_options other;
    other.permute = "elements";
    const std::string never = (dir / "never.pt").string();
    auto wrong = mtd::seal_file<policy::torch_weights_only, mtd::strategies::chacha20>(in.c_str(), never.c_str(), key, other);
    REQUIRE_FALSE(wrong);
    CHECK(wrong.err().code == errc::mtd_unsupported);
    CHECK_FALSE(brine_test::exists(never));
}

TEST_CASE("blocks: a checkpoint without two identical blocks is refused with what it needs") {
    brine_test::scratch_dir dir("mtd-blocks-refused");
    const std::string sealed = (dir / "sealed.pt").string();
    auto done = mtd::seal_file<policy::torch_weights_only, mtd::strategies::blocks>(fixture("mlp_state_dict.pt").c_str(),
                                                                                    sealed.c_str(), test_key(9), {});
    REQUIRE_FALSE(done);
    CHECK(done.err().code == errc::mtd_unsupported);
    CHECK(std::string(done.err().detail).find("structurally identical blocks") != std::string::npos);
    CHECK_FALSE(brine_test::exists(sealed));
}

TEST_CASE("a user's strategy: sealed, verified and restored by name, by a restorer that lists it") {
    brine_test::scratch_dir dir("mtd-user-strategy");
    const mtd::secret_key key = test_key(10);
    const std::string in = fixture("cnn_state_dict.pt");
    const std::string clean = (dir / "clean.pt").string(), sealed = (dir / "sealed.pt").string();
    const std::string restored = (dir / "restored.pt").string();
    torch::disarmer disarm;
    auto disarmed = disarm.disarm_file(in.c_str(), clean.c_str());
    REQUIRE(disarmed);

    xor_mask::prepared = 0;
    xor_mask::bytes_masked = 0;
    auto done = mtd::seal_file<policy::torch_weights_only, xor_mask>(in.c_str(), sealed.c_str(), key, {});
    REQUIRE_MESSAGE(done, to_string(done.err().code) << " " << done.err().detail);
    CHECK(xor_mask::prepared == 1);
    CHECK(xor_mask::bytes_masked == disarmed->storage_bytes);  // every storage byte went through it
    CHECK(brine_test::read_file(sealed) != brine_test::read_file(clean));

    // The bundled verifier does not trust it: refused once the manifest is authentic.
    auto untrusted = mtd::verify_file(sealed.c_str(), key);
    REQUIRE_FALSE(untrusted);
    CHECK(untrusted.err().code == errc::mtd_unsupported);
    CHECK(std::string(untrusted.err().entry.view()) == "xor_mask");

    // A verifier that lists it: the manifest names it, the digests cover what was written.
    using trusted = mtd::strategies::one_of<mtd::strategies::records, xor_mask>;
    const mtd::basic_verifier<trusted> verifier(key);
    auto report = verifier.verify(sealed.c_str());
    REQUIRE(report);
    CHECK(report->intact());
    CHECK(report->sealed.permute == "xor_mask");

    // The bundled restorer does not know it: refused, nothing written.
    auto unknown = mtd::restore_file(sealed.c_str(), restored.c_str(), key);
    REQUIRE_FALSE(unknown);
    CHECK(unknown.err().code == errc::mtd_unsupported);
    CHECK(std::string(unknown.err().entry.view()) == "xor_mask");
    CHECK_FALSE(brine_test::exists(restored));

    // A restorer that lists it among the strategies it trusts gives back the clean bytes.
    auto back = mtd::restore_file<policy::torch_weights_only, trusted>(sealed.c_str(), restored.c_str(), key);
    REQUIRE_MESSAGE(back, to_string(back.err().code) << " " << back.err().detail);
    CHECK(xor_mask::prepared == 2);
    CHECK(brine_test::read_file(restored) == brine_test::read_file(clean));

    // A flipped byte in a storage: verify names the tensor, restore refuses.
    bytes tampered = brine_test::read_file(sealed);
    const std::size_t at = tampered.size() / 2;
    tampered[at] ^= 0x10;
    const std::string changed = (dir / "changed.pt").string();
    brine_test::write_file(changed, tampered);
    auto tampered_report = verifier.verify(changed.c_str());
    REQUIRE(tampered_report);
    CHECK_FALSE(tampered_report->intact());
    std::remove(restored.c_str());
    auto refused = mtd::restore_file<policy::torch_weights_only, trusted>(changed.c_str(), restored.c_str(), key);
    CHECK_FALSE(refused);
    CHECK_FALSE(brine_test::exists(restored));
}
