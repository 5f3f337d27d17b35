// Composition (issue 16): a user's opcode Reader, put in a disarmer's first slot, reads every
// pickle the disarmer evaluates (torch zip, legacy stream, raw pickle, NumPy object arrays): it
// sees every opcode, and what it refuses ends the disarm with its error, at its offset.
#include <brine/brine.hpp>
#include <doctest/doctest.h>

#include "disarm_testing.hpp"
#include "test_files.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
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

namespace {

// numpy's own pickle of an object array calls these; a user who trusts them extends the policy.
struct numpy_object_globals {
    static constexpr policy::qualified_name globals[] = {
        {"numpy", "dtype"}, {"numpy", "ndarray"}, {"numpy.core.multiarray", "_reconstruct"}};
};
using numpy_objects_policy = policy::extend<policy::torch_weights_only, numpy_object_globals>;

std::string describe_error(const error& e) {
    return std::string(to_string(e.code)) + " at " + std::to_string(e.offset) + " in '" + std::string(e.entry.view()) +
           "': expected " + e.detail;
}

// An .npz member's pickle: the member extracted, its .npy preamble skipped.
bytes npz_member_pickle(const bytes& archive_bytes, std::string_view member) {
    const memory_source source(byte_view(archive_bytes.data(), archive_bytes.size()));
    auto archive = zip::reader<memory_source>::open(source, numpy::npz_zip_limits());
    REQUIRE(archive);
    const zip::entry* record = nullptr;
    for (const zip::entry& item : archive->entries())
        if (item.name == member) record = &item;
    REQUIRE(record != nullptr);
    bytes content;
    vector_sink sink(content);
    REQUIRE(archive->extract(*record, sink));
    auto parsed = numpy::parse_npy(byte_view(content.data(), content.size()));
    REQUIRE(parsed);
    return bytes(content.begin() + static_cast<std::ptrdiff_t>(parsed->header.data_offset), content.end());
}

// Writes NumPy inputs itself through the parts (and torch inputs as torch_zip does), counted.
struct numpy_writer {
    static constexpr std::string_view name = "numpy";
    static inline int npy_calls = 0;
    static inline int npz_calls = 0;
    template <class Parts, class SeekableSink>
    [[nodiscard]] status write(const Parts& parts, SeekableSink& out) const noexcept {
        if (parts.from() == torch::container::npy) {
            ++npy_calls;
            return parts.write_npy(out);
        }
        if (parts.from() == torch::container::npz) {
            ++npz_calls;
            return parts.write_npz(out);
        }
        return writer::torch_zip{}.write(parts, out);
    }
};
static_assert(writer::is_writer_v<numpy_writer>);

}  // namespace

TEST_CASE("an .npz is read once: the Reader sees each opcode of an object member's pickle exactly once") {
    counting_reader::refuse_persistent_ids = false;
    brine_test::scratch_dir dir("composition-npz");
    const std::string in = fixture("numpy/hostile/obj_member.npz");
    const bytes input = brine_test::read_file(in);
    const bytes pickle_bytes = npz_member_pickle(input, "o.npy");
    const std::uint64_t once = tokens_in(byte_view(pickle_bytes.data(), pickle_bytes.size()));
    REQUIRE(once > 10);

    using numpy_disarmer = torch::basic_disarmer<counting_reader, numpy_objects_policy, writer::torch_zip, mtd::none>;
    numpy_disarmer disarm;
    counting_reader::tokens = 0;
    REQUIRE(disarm.scan_file(in.c_str()));
    CHECK(counting_reader::tokens == once);

    // Writing uses the scan's evaluation: still once (it was twice when the rebuild read again).
    const std::string out = (dir / "out.npz").string();
    counting_reader::tokens = 0;
    auto done = disarm.disarm_file(in.c_str(), out.c_str());
    REQUIRE_MESSAGE(done, describe_error(done.err()));
    CHECK(done->findings.empty());
    CHECK(counting_reader::tokens == once);
    const bytes written = brine_test::read_file(out);
    CHECK(done->output_size == written.size());

    // The object member was written (the policy accepts it), as numpy::rebuild_npz writes it.
    const numpy_objects_policy rules;
    auto rescanned = numpy::scan_npz(byte_view(written.data(), written.size()), rules);
    REQUIRE(rescanned);
    REQUIRE(rescanned->members.size() == 2);
    CHECK(rescanned->clean());
    CHECK((rescanned->members[0].has_objects() || rescanned->members[1].has_objects()));
    bytes expected;
    REQUIRE(numpy::rebuild_npz(byte_view(input.data(), input.size()), expected, rules));
    CHECK(written == expected);

    // An .npy object array: once too.
    const std::string npy = fixture("numpy/hostile/obj_array.npy");
    counting_reader::tokens = 0;
    auto npy_done = disarm.disarm_file(npy.c_str(), (dir / "out.npy").string().c_str());
    REQUIRE_MESSAGE(npy_done, describe_error(npy_done.err()));
    const bytes npy_input = brine_test::read_file(npy);
    auto parsed = numpy::parse_npy(byte_view(npy_input.data(), npy_input.size()));
    REQUIRE(parsed);
    CHECK(counting_reader::tokens == tokens_in(parsed->data));
}

TEST_CASE("NumPy inputs go through the Writer: a user's writes them from the parts, safetensors refuses them") {
    brine_test::scratch_dir dir("composition-numpy-writer");
    for (const char* name : {"numpy/benign/stored.npz", "numpy/hostile/obj_member.npz", "numpy/benign/fortran_2d.npy"}) {
        CAPTURE(name);
        const std::string in = fixture(name);
        const std::string reference = (dir / "reference").string();
        const std::string out = (dir / "out").string();
        std::remove(reference.c_str());
        std::remove(out.c_str());
        torch::disarmer plain;
        auto expected = plain.disarm_file(in.c_str(), reference.c_str());
        REQUIRE_MESSAGE(expected, describe_error(expected.err()));

        numpy_writer::npy_calls = numpy_writer::npz_calls = 0;
        torch::basic_disarmer<pickle::reader<>, policy::torch_weights_only, numpy_writer, mtd::none> own;
        auto done = own.disarm_file(in.c_str(), out.c_str());
        REQUIRE_MESSAGE(done, describe_error(done.err()));
        CHECK(numpy_writer::npy_calls + numpy_writer::npz_calls == 1);
        CHECK(brine_test::read_file(out) == brine_test::read_file(reference));
        CHECK(done->output_size == expected->output_size);

        std::remove(out.c_str());
        torch::basic_disarmer<pickle::reader<>, policy::torch_weights_only, writer::safetensors, mtd::none> tensors_only;
        auto refused = tensors_only.disarm_file(in.c_str(), out.c_str());
        REQUIRE_FALSE(refused);
        CHECK(refused.err().code == errc::torch_not_a_checkpoint);
        CHECK(std::string(refused.err().detail).find("NumPy") != std::string::npos);
        CHECK_FALSE(brine_test::exists(out));
        // Scanning writes nothing, so it is not the Writer's business.
        CHECK(tensors_only.scan_file(in.c_str()));
    }
}
