// Composition (issue 16): a user's opcode Reader, put in a disarmer's first slot, reads every
// pickle the disarmer evaluates (torch zip, legacy stream, raw pickle, NumPy object arrays): it
// sees every opcode, and what it refuses ends the disarm with its error, at its offset.
#include <brine/brine.hpp>
#include <doctest/doctest.h>

#include "disarm_testing.hpp"
#include "test_files.hpp"

#include <cstdint>
#include <string>
#include <vector>

using namespace brine;
using bytes = std::vector<std::uint8_t>;

namespace {

// Counts the opcodes it hands out; refuses BINPERSID when told to.
struct counting_reader : pickle::reader<> {
    static inline std::uint64_t tokens = 0;
    static inline bool refuse_persistent_ids = false;

    using reader::reader;
    status next(pickle::token& t) {
        BRINE_TRY(reader::next(t));
        ++tokens;
        if (refuse_persistent_ids && t.op == pickle::opcode::BINPERSID)
            return error{errc::pickle_refused_opcode, t.offset, "no persistent ids (this build reads plain pickles only)"};
        return {};
    }
};
static_assert(pickle::is_reader_v<counting_reader>);

using counting_disarmer =
    torch::basic_disarmer<counting_reader, policy::torch_weights_only, writer::torch_zip, mtd::none>;

// The tokens the bundled reader gives for one pickle, up to and including STOP.
std::uint64_t tokens_in(byte_view pickle_bytes) {
    pickle::reader<> reader(pickle_bytes);
    std::uint64_t count = 0;
    pickle::token t;
    while (reader.next(t)) {
        ++count;
        if (t.op == pickle::opcode::STOP) break;
    }
    return count;
}

// The offset of the first BINPERSID, by the bundled reader.
std::uint64_t first_persistent_id(byte_view pickle_bytes) {
    pickle::reader<> reader(pickle_bytes);
    pickle::token t;
    while (reader.next(t) && t.op != pickle::opcode::STOP)
        if (t.op == pickle::opcode::BINPERSID) return t.offset;
    return pickle_bytes.size();
}

bytes data_pkl_of(const std::string& path) {
    bytes out;
    REQUIRE(brine_test::record_of(brine_test::read_file(path), "data.pkl", out));
    return out;
}

std::string fixture(const std::string& name) { return brine_test::source_path("tests/fixtures/" + name).string(); }

}  // namespace

TEST_CASE("a user's Reader sees every opcode of every pickle the disarmer evaluates") {
    counting_reader::refuse_persistent_ids = false;
    const std::string checkpoint = fixture("torch/mlp_state_dict.pt");
    const bytes data_pkl = data_pkl_of(checkpoint);
    counting_reader::tokens = 0;
    counting_disarmer disarm;
    auto scanned = disarm.scan_file(checkpoint.c_str());
    REQUIRE(scanned);
    CHECK(counting_reader::tokens == tokens_in(byte_view(data_pkl.data(), data_pkl.size())));

    const std::string raw = fixture("torch/benign/plain_data.pkl");
    const bytes raw_bytes = brine_test::read_file(raw);
    counting_reader::tokens = 0;
    REQUIRE(disarm.scan_file(raw.c_str()));
    CHECK(counting_reader::tokens == tokens_in(byte_view(raw_bytes.data(), raw_bytes.size())));

    // A legacy file is five pickles and more: all of them go through the reader.
    counting_reader::tokens = 0;
    REQUIRE(disarm.scan_file(fixture("torch/benign/legacy_state_dict.pt").c_str()));
    CHECK(counting_reader::tokens > tokens_in(byte_view(raw_bytes.data(), raw_bytes.size())));
}

TEST_CASE("what a user's Reader refuses ends the disarm with its error, and nothing is written") {
    counting_reader::refuse_persistent_ids = true;
    brine_test::scratch_dir dir("composition-reader");
    counting_disarmer disarm;
    const std::string out = (dir / "out.pt").string();
    const std::string checkpoint = fixture("torch/mlp_state_dict.pt");
    const bytes data_pkl = data_pkl_of(checkpoint);
    auto refused = disarm.disarm_file(checkpoint.c_str(), out.c_str());
    REQUIRE_FALSE(refused);
    CHECK(refused.err().code == errc::pickle_refused_opcode);
    // At the first BINPERSID of data.pkl, which the error names.
    const std::uint64_t first = first_persistent_id(byte_view(data_pkl.data(), data_pkl.size()));
    REQUIRE(first < data_pkl.size());
    CHECK(refused.err().offset == first);
    CHECK(std::string(refused.err().entry.view()).find("data.pkl") != std::string::npos);
    CHECK(std::string(refused.err().detail).find("no persistent ids") != std::string::npos);
    CHECK_FALSE(brine_test::exists(out));

    // A pickle without persistent ids passes the same reader.
    auto plain = disarm.disarm_file(fixture("torch/benign/plain_data.pkl").c_str(), out.c_str());
    CHECK(plain);
    counting_reader::refuse_persistent_ids = false;
}

namespace {

// A user's Writer: torch.save's archive, counted.
struct counting_writer : writer::torch_zip {
    static inline int calls = 0;
    template <class Parts, class SeekableSink>
    [[nodiscard]] status write(const Parts& parts, SeekableSink& out) const noexcept {
        ++calls;
        return torch_zip::write(parts, out);
    }
};
// One that accepts the call and writes nothing.
struct silent_writer {
    static constexpr std::string_view name = "silent";
    template <class Parts, class SeekableSink>
    [[nodiscard]] status write(const Parts&, SeekableSink&) const noexcept {
        return {};
    }
};
static_assert(writer::is_writer_v<counting_writer> && writer::is_writer_v<silent_writer>);
static_assert(writer::is_writer_v<writer::torch_zip> && writer::is_writer_v<writer::safetensors>);

}  // namespace

TEST_CASE("a user's Writer writes the reconstruction; one that writes nothing is an error, not an empty file") {
    brine_test::scratch_dir dir("composition-writer");
    const std::string in = fixture("torch/mlp_state_dict.pt");
    const std::string out = (dir / "out.pt").string();
    const std::string reference = (dir / "reference.pt").string();
    torch::disarmer plain;
    REQUIRE(plain.disarm_file(in.c_str(), reference.c_str()));

    counting_writer::calls = 0;
    torch::basic_disarmer<pickle::reader<>, policy::torch_weights_only, counting_writer, mtd::none> counted;
    auto done = counted.disarm_file(in.c_str(), out.c_str());
    REQUIRE(done);
    CHECK(counting_writer::calls == 1);
    CHECK(brine_test::read_file(out) == brine_test::read_file(reference));

    std::remove(out.c_str());
    torch::basic_disarmer<pickle::reader<>, policy::torch_weights_only, silent_writer, mtd::none> silent;
    auto refused = silent.disarm_file(in.c_str(), out.c_str());
    REQUIRE_FALSE(refused);
    CHECK(refused.err().code == errc::invalid_argument);
    CHECK(std::string(refused.err().entry.view()) == "silent");
    CHECK_FALSE(brine_test::exists(out));
}
