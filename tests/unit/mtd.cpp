// Seal, verify and restore (issue 6): the manifest format, chunk digests against an independent
// HMAC computation, every permutation strategy on torch-written fixtures (verify intact, restore
// bit-identical), and every kind of tampering detected and located.
#include <brine/brine.hpp>
#include <doctest/doctest.h>

#include "mtd_testing.hpp"

#include "test_files.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

using namespace brine;
using bytes = std::vector<std::uint8_t>;

namespace {

using brine_test::test_key;

std::string fixture(const std::string& name) { return brine_test::source_path("tests/fixtures/torch/" + name).string(); }

// The records of an archive, in file order.
std::vector<std::pair<std::string, bytes>> records_of(const std::string& path) {
    const bytes data = brine_test::read_file(path);
    const memory_source source(byte_view(data.data(), data.size()));
    auto archive = zip::reader<memory_source>::open(source);
    REQUIRE(archive);
    std::vector<const zip::entry*> entries;
    for (const zip::entry& e : archive->entries()) entries.push_back(&e);
    std::sort(entries.begin(), entries.end(),
              [](const zip::entry* a, const zip::entry* b) { return a->local_header_offset < b->local_header_offset; });
    std::vector<std::pair<std::string, bytes>> out;
    for (const zip::entry* e : entries) {
        bytes content;
        vector_sink sink(content);
        REQUIRE(archive->extract(*e, sink));
        out.emplace_back(std::string(e->name), std::move(content));
    }
    return out;
}

// An attacker's rewrite: a valid archive (CRCs right) with the records given.
void write_records(const std::string& path, const std::vector<std::pair<std::string, bytes>>& records) {
    auto sink = atomic_file_sink::create(path.c_str());
    REQUIRE(sink);
    zip::writer<atomic_file_sink> archive(*sink);
    for (const auto& r : records) REQUIRE(archive.add(r.first, byte_view(r.second.data(), r.second.size())));
    REQUIRE(archive.finish());
    REQUIRE(sink->commit());
}

bytes& record(std::vector<std::pair<std::string, bytes>>& records, const std::string& suffix) {
    for (auto& r : records)
        if (r.first.size() >= suffix.size() && r.first.compare(r.first.size() - suffix.size(), suffix.size(), suffix) == 0)
            return r.second;
    FAIL("no record ending in " << suffix);
    return records.front().second;
}

mtd::verify_report verify(const std::string& path, const mtd::secret_key& key, const char* manifest = nullptr) {
    mtd::verify_options options;
    options.manifest_path = manifest;
    auto report = mtd::verify_file(path.c_str(), key, options);
    REQUIRE_MESSAGE(report, to_string(report.err().code));
    return *report;
}

bool has_problem(const mtd::verify_report& r, const std::string& where, const std::string& what_part = "") {
    for (const auto& p : r.problems)
        if (p.where == where && p.what.find(what_part) != std::string::npos) return true;
    return false;
}

std::string problems_text(const mtd::verify_report& r) {
    std::string text;
    for (const auto& p : r.problems) text += p.where + ": " + p.what + "\n";
    return text;
}

// Tensor name -> (dtype, sizes, strides, offset, bytes the tensor reads), through the zero-copy view.
struct tensor_data {
    std::string type;
    std::vector<std::int64_t> sizes, strides;
    std::int64_t offset;
    bytes data;
    bool operator==(const tensor_data& o) const {
        return type == o.type && sizes == o.sizes && strides == o.strides && offset == o.offset && data == o.data;
    }
};
std::vector<std::pair<std::string, tensor_data>> tensors_of(const std::string& path) {
    const bytes file = brine_test::read_file(path);
    auto view = torch::checkpoint_view::open(byte_view(file.data(), file.size()));
    REQUIRE_MESSAGE(view, path << ": " << to_string(view.err().code) << " " << view.err().detail);
    std::vector<std::pair<std::string, tensor_data>> out;
    for (const auto& t : view->tensors())
        out.push_back({t.name, {std::string(torch::info(t.type).name), t.sizes, t.strides, t.storage_offset,
                                bytes(t.data.begin(), t.data.end())}});
    return out;
}

mtd::seal_options with(mtd::permutation p, std::uint64_t chunk_size = std::uint64_t{1} << 20) {
    mtd::seal_options o;
    o.permute = mtd::to_string(p);
    o.chunk_size = chunk_size;
    return o;
}

}  // namespace

TEST_CASE("manifest: written, parsed back to the same text, authentic only under its key") {
    mtd::manifest m;
    m.permute = "neurons";
    m.scrub_lsb = 3;
    m.salt[5] = 0xab;
    m.plan = {"0.weight:0 0.bias:0 2.weight:1", "conv:0 fc.weight:1:16"};
    mtd::manifest_record r;
    r.name = "archive/data with space\n%odd\x01";
    r.size = 3u << 20;
    r.chunks.assign(3, mtd::digest{});
    r.chunks[2][0] = 7;
    m.records.push_back(r);
    mtd::manifest_tensor t;
    t.name = "";
    t.type = "float32";
    t.layout = "strided";
    t.sizes = {3, 4};
    t.strides = {4, 1};
    t.offset = 12;
    t.record = 0;
    t.parameter = true;
    m.tensors.push_back(t);
    m.globals.push_back({"torch._utils", "_rebuild_tensor_v2"});
    mtd::digest key{};
    key[0] = 9;
    const std::string text = mtd::write_manifest(m, key);
    CHECK(text.find("record =archive/data%20with%20space%0A%25odd%01 3145728 ") != std::string::npos);
    CHECK(text.find("tensor = float32 strided [3,4] [4,1] 12 0 p ") != std::string::npos);

    auto parsed = mtd::parse_manifest(as_bytes(std::string_view(text)));
    REQUIRE(parsed);
    CHECK(parsed->authentic(key));
    mtd::digest other = key;
    other[1] ^= 1;
    CHECK_FALSE(parsed->authentic(other));
    CHECK(parsed->content.records[0].name == r.name);
    CHECK(parsed->content.records[0].chunks[2][0] == 7);
    CHECK(parsed->content.plan == m.plan);
    CHECK(parsed->content.tensors[0].name.empty());
    CHECK(mtd::write_manifest(parsed->content, key) == text);

    SUBCASE("any change to a signed byte breaks the tag or the parse") {
        for (std::size_t at = 0; at < text.size(); at += 7) {
            std::string changed = text;
            changed[at] = changed[at] == 'a' ? 'b' : 'a';
            auto again = mtd::parse_manifest(as_bytes(std::string_view(changed)));
            const std::size_t tag_line = text.rfind("tag ");
            if (again && at < tag_line) CHECK_FALSE(again->authentic(key));
        }
    }
    SUBCASE("one spelling only") {
        const auto refused = [&](const std::string& from, const std::string& to) {
            std::string changed = text;
            const std::size_t at = changed.find(from);
            REQUIRE(at != std::string::npos);
            changed.replace(at, from.size(), to);
            auto again = mtd::parse_manifest(as_bytes(std::string_view(changed)));
            REQUIRE_FALSE(again);
            CHECK(again.err().code == errc::mtd_bad_manifest);
            return again.err().offset;
        };
        CHECK(refused("scrub-lsb 3", "scrub-lsb 03") == text.find("scrub-lsb") + 10);  // the first byte that differs
        refused("=archive/data%20", "=%61rchive/data%20");  // an escaped byte that needs none
        refused("[3,4]", "[3, 4]");
        refused("chunk-size 1048576", "chunk-size 1000000");  // not a power of two
        refused("brine-manifest 2", "brine-manifest 3");
        // A strategy name is 1 to 32 bytes of a-z, 0-9, '_'.
        refused("permute neurons", "permute Neurons");
        refused("permute neurons", "permute neur-ons");
        refused("permute neurons", "permute abcdefghijklmnopqrstuvwxyz0123456");
    }
    SUBCASE("truncated anywhere: refused") {
        for (std::size_t cut = 0; cut < text.size(); cut += 13)
            CHECK_FALSE(mtd::parse_manifest(as_bytes(std::string_view(text).substr(0, cut))));
    }
}

TEST_CASE("chunk digests are HMACs of (label, record, chunk, bytes), the same on any thread count and split") {
    bytes data(3 * 4096 + 100);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7 + (i >> 9));
    mtd::digest key{};
    key[3] = 1;
    // Independent computation with the plain HMAC API.
    const auto expected = [&](std::uint64_t record, std::uint64_t chunk, std::size_t from, std::size_t size) {
        crypto::hmac_sha256 mac(byte_view(key.data(), key.size()));
        mac.update(as_bytes(std::string_view("brine/chunk")));
        std::uint8_t le[16];
        for (int b = 0; b < 8; ++b) {
            le[b] = static_cast<std::uint8_t>(record >> (8 * b));
            le[8 + b] = static_cast<std::uint8_t>(chunk >> (8 * b));
        }
        mac.update(byte_view(le, 16));
        mac.update(byte_view(data.data() + from, size));
        return mac.finish();
    };
    for (const unsigned jobs : {1u, 3u}) {
        for (const std::size_t split : {std::size_t{1000}, std::size_t{4096}, data.size()}) {
            mtd::chunk_hasher<mtd::hashes::hmac_sha256> hasher({}, key, 4096, jobs);
            hasher.begin_record(0, 0);
            hasher.end_record();
            hasher.begin_record(data.size(), 5);
            for (std::size_t at = 0; at < data.size(); at += split)
                hasher.update(byte_view(data.data() + at, std::min(split, data.size() - at)));
            hasher.end_record();
            const auto& digests = hasher.finish();
            REQUIRE(digests.size() == 2);
            REQUIRE(digests[0].size() == 1);  // an empty record has one empty chunk
            CHECK(digests[0][0] == expected(0, 0, 0, 0));
            REQUIRE(digests[1].size() == 4);
            for (std::size_t c = 0; c < 4; ++c)
                CHECK(digests[1][c] == expected(5, c, c * 4096, c == 3 ? 100 : 4096));
        }
    }
    // sha256: the same message, unkeyed.
    mtd::chunk_hasher<mtd::hashes::sha256> plain({}, key, 4096, 1);
    plain.begin_record(10, 2);
    plain.update(byte_view(data.data(), 10));
    plain.end_record();
    crypto::sha256 h;
    h.update(as_bytes(std::string_view("brine/chunk")));
    const std::uint8_t le[16] = {2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    h.update(byte_view(le, 16));
    h.update(byte_view(data.data(), 10));
    CHECK(plain.finish()[0][0] == h.finish());
}

TEST_CASE("seal, verify, restore: every strategy on torch-written checkpoints") {
    brine_test::scratch_dir dir("mtd-strategies");
    const mtd::secret_key key = test_key(1);
    const std::vector<std::string> inputs = {"mlp_state_dict.pt", "cnn_state_dict.pt", "benign/views_shared_storage.pt",
                                             "benign/dtypes_all.pt", "legacy/mlp.pt", "benign/vit_tiny_state_dict.pth",
                                             "benign/quantized.pt", "benign/sparse.pt", "benign/legacy_tensors.pt"};
    for (const std::string& name : inputs) {
        const std::string in = fixture(name);
        const std::string clean = (dir / "clean.pt").string();
        torch::disarmer disarm;
        auto disarmed = disarm.disarm_file(in.c_str(), clean.c_str());
        REQUIRE_MESSAGE(disarmed, name << ": " << to_string(disarmed.err().code) << " " << disarmed.err().detail);
        const auto original = tensors_of(clean);
        for (const mtd::permutation p : {mtd::permutation::records, mtd::permutation::elements, mtd::permutation::neurons,
                                         mtd::permutation::blocks, mtd::permutation::chacha20, mtd::permutation::none}) {
            CAPTURE(name);
            CAPTURE(mtd::to_string(p));
            const std::string sealed = (dir / "sealed.pt").string();
            const std::string restored = (dir / "restored.pt").string();
            std::remove(sealed.c_str());
            auto done = mtd::seal_file(in.c_str(), sealed.c_str(), key, with(p, 4096));
            if (p == mtd::permutation::neurons && !done) {
                // Only plain chains get an inferred plan; anything else is refused, with no output.
                CHECK(done.err().code == errc::mtd_bad_plan);
                CHECK_FALSE(brine_test::exists(sealed));
                continue;
            }
            if (p == mtd::permutation::blocks && !done) {
                // No two identical blocks: refused, with no output.
                CHECK(done.err().code == errc::mtd_unsupported);
                CHECK_FALSE(brine_test::exists(sealed));
                continue;
            }
            REQUIRE_MESSAGE(done, to_string(done.err().code) << " " << done.err().detail << " " << done.err().entry.view());
            const auto intact = verify(sealed, key);
            CHECK_MESSAGE(intact.intact(), problems_text(intact));

            const auto sealed_tensors = tensors_of(sealed);
            REQUIRE(sealed_tensors.size() == original.size());
            if (p == mtd::permutation::records || p == mtd::permutation::none) CHECK(sealed_tensors == original);
            if (p == mtd::permutation::elements || p == mtd::permutation::chacha20) CHECK(sealed_tensors != original);
            if (p == mtd::permutation::records) {
                // Opaque record names, none of the original ones.
                for (const auto& r : records_of(sealed))
                    if (r.first.find("/data/") != std::string::npos) CHECK(r.first.size() == std::string("archive/data/").size() + 16);
            }

            auto back = mtd::restore_file(sealed.c_str(), restored.c_str(), key);
            REQUIRE_MESSAGE(back, to_string(back.err().code) << " " << back.err().detail);
            CHECK(back->findings.empty());
            CHECK(tensors_of(restored) == original);
            // Records and blocks rename a legacy file's storage keys the way torch.save names them.
            if (name.find("legacy") == std::string::npos || (p != mtd::permutation::records && p != mtd::permutation::blocks))
                CHECK(brine_test::read_file(restored) == brine_test::read_file(clean));  // the very bytes disarm writes
        }
    }
}

TEST_CASE("neurons: the MLP's hidden units move together and the plan is recorded") {
    brine_test::scratch_dir dir("mtd-neurons");
    const mtd::secret_key key = test_key(2);
    const std::string sealed = (dir / "sealed.pt").string();
    auto done = mtd::seal_file(fixture("mlp_state_dict.pt").c_str(), sealed.c_str(), key, with(mtd::permutation::neurons));
    REQUIRE(done);
    CHECK_FALSE(done->summary.plan.empty());
    const auto report = verify(sealed, key);
    REQUIRE(report.intact());
    CHECK_FALSE(report.sealed.plan.empty());
    // Rows of the first weight are permuted as whole rows: the multiset of rows is unchanged.
    const auto before = tensors_of(fixture("mlp_state_dict.pt"));
    const auto after = tensors_of(sealed);
    REQUIRE(before.size() == after.size());
    const auto& w0 = before[0].second;
    const auto& w1 = after[0].second;
    REQUIRE(w0.sizes.size() == 2);
    const std::size_t row = static_cast<std::size_t>(w0.sizes[1]) * 4;
    std::vector<bytes> rows0, rows1;
    for (std::size_t r = 0; r < static_cast<std::size_t>(w0.sizes[0]); ++r) {
        rows0.emplace_back(w0.data.begin() + static_cast<std::ptrdiff_t>(r * row), w0.data.begin() + static_cast<std::ptrdiff_t>((r + 1) * row));
        rows1.emplace_back(w1.data.begin() + static_cast<std::ptrdiff_t>(r * row), w1.data.begin() + static_cast<std::ptrdiff_t>((r + 1) * row));
    }
    CHECK(rows0 != rows1);
    std::sort(rows0.begin(), rows0.end());
    std::sort(rows1.begin(), rows1.end());
    CHECK(rows0 == rows1);
}

TEST_CASE("two seals of one input with one key differ, and both verify") {
    brine_test::scratch_dir dir("mtd-salt");
    const mtd::secret_key key = test_key(3);
    const std::string a = (dir / "a.pt").string(), b = (dir / "b.pt").string();
    for (const mtd::permutation p : {mtd::permutation::records, mtd::permutation::elements}) {
        REQUIRE(mtd::seal_file(fixture("cnn_state_dict.pt").c_str(), a.c_str(), key, with(p)));
        REQUIRE(mtd::seal_file(fixture("cnn_state_dict.pt").c_str(), b.c_str(), key, with(p)));
        CHECK(brine_test::read_file(a) != brine_test::read_file(b));
        if (p == mtd::permutation::elements) CHECK(tensors_of(a) != tensors_of(b));
        CHECK(verify(a, key).intact());
        CHECK(verify(b, key).intact());
        // Each one's manifest belongs to it alone.
        auto records = records_of(a);
        auto other = records_of(b);
        record(records, ".brine/manifest") = record(other, ".brine/manifest");
        write_records((dir / "mixed.pt").string(), records);
        CHECK_FALSE(verify((dir / "mixed.pt").string(), key).intact());
    }
}

TEST_CASE("tampering is detected and located") {
    brine_test::scratch_dir dir("mtd-tamper");
    const mtd::secret_key key = test_key(4);
    const std::string sealed = (dir / "sealed.pt").string();
    const std::string tampered = (dir / "tampered.pt").string();
    REQUIRE(mtd::seal_file(fixture("benign/vit_tiny_state_dict.pth").c_str(), sealed.c_str(), key,
                           with(mtd::permutation::records, 4096)));
    const auto good = verify(sealed, key);
    REQUIRE(good.intact());
    const mtd::manifest& m = good.sealed;

    SUBCASE("one bit flipped in any tensor names that tensor and the chunk") {
        for (const mtd::manifest_tensor& t : m.tensors) {
            if (t.record < 0) continue;
            const auto& r = m.records[static_cast<std::size_t>(t.record)];
            std::uint64_t first = 0, end = 0;
            mtd::detail::tensor_chunks(t, m, first, end);
            if (first == end) continue;
            // The last byte of the tensor's last chunk that lies inside it.
            const std::uint64_t at = std::min<std::uint64_t>(end * m.chunk_size, r.size) - 1;
            auto records = records_of(sealed);
            record(records, r.name)[static_cast<std::size_t>(at)] ^= 0x10;
            write_records(tampered, records);
            const auto report = verify(tampered, key);
            CAPTURE(t.name);
            CHECK_FALSE(report.intact());
            CHECK_MESSAGE(has_problem(report, "tensor " + t.name, "chunk " + std::to_string(end - 1)), problems_text(report));
        }
    }
    SUBCASE("a flip deep in a large record names the chunk it is in") {
        const mtd::manifest_record* big = nullptr;
        for (const auto& r : m.records)
            if (r.size > 5 * 4096 && !big) big = &r;
        REQUIRE(big);
        auto records = records_of(sealed);
        record(records, big->name)[2 * 4096 + 17] ^= 1;
        write_records(tampered, records);
        const auto report = verify(tampered, key);
        bool located = false;
        for (const auto& p : report.problems) located = located || p.what.find("chunk 2 (bytes 8192..12288)") != std::string::npos;
        CHECK_MESSAGE(located, problems_text(report));
    }
    // Architecture changes through the pickle, re-written as an attacker would (valid pickle).
    const auto edit_pickle = [&](auto&& change) {
        auto records = records_of(sealed);
        bytes& pkl = record(records, "data.pkl");
        policy::torch_weights_only rules;
        pickle::machine<policy::torch_weights_only> machine(rules);
        auto evaluated = machine.run(byte_view(pkl.data(), pkl.size()));
        REQUIRE(evaluated);
        auto found = torch::find_tensors(evaluated->values);
        REQUIRE(found);
        change(evaluated->values, *found);
        bytes rebuilt;
        REQUIRE(pickle::writer(evaluated->values).write(rebuilt));
        pkl = rebuilt;
        write_records(tampered, records);
        return verify(tampered, key);
    };
    // The tensor call's arguments: (storage, offset, sizes, strides, ...).
    const auto argument_tuple = [](pickle::graph& g, const torch::tensor_ref& t) { return g.children(t.node)[1]; };
    const auto arguments = [&](pickle::graph& g, const torch::tensor_ref& t) { return g.children(argument_tuple(g, t)); };
    // Small ints are shared constant nodes: a changed one is a new node in its parent's slot.
    const auto put_integer = [](pickle::graph& g, pickle::node_id parent, std::size_t slot, std::int64_t value) {
        std::vector<pickle::node_id> children(g.children(parent).begin(), g.children(parent).end());
        children[slot] = g.add_integer(pickle::opcode::BININT, 0, value);
        g.truncate_children(parent, 0);
        REQUIRE(g.append_children(parent, children.data(), children.size()));
    };
    // A 2-D tensor that fills its storage: its shape can be transposed, its strides halved.
    std::size_t matrix = m.tensors.size();
    for (std::size_t i = 0; i < m.tensors.size() && matrix == m.tensors.size(); ++i)
        if (m.tensors[i].sizes.size() == 2 && m.tensors[i].sizes[0] != m.tensors[i].sizes[1] && m.tensors[i].sizes[0] > 1)
            matrix = i;
    REQUIRE(matrix < m.tensors.size());
    const std::string matrix_name = "tensor " + m.tensors[matrix].name;
    SUBCASE("a changed shape") {
        const auto report = edit_pickle([&](pickle::graph& g, const torch::checkpoint& found) {
            const pickle::node_id sizes = arguments(g, found.tensors[matrix])[2];
            put_integer(g, sizes, 0, m.tensors[matrix].sizes[1]);
            put_integer(g, sizes, 1, m.tensors[matrix].sizes[0]);
        });
        CHECK_MESSAGE(has_problem(report, matrix_name, "shape"), problems_text(report));
        CHECK(has_problem(report, "record archive/data.pkl", "changed"));
    }
    SUBCASE("a changed stride") {
        const auto report = edit_pickle([&](pickle::graph& g, const torch::checkpoint& found) {
            put_integer(g, arguments(g, found.tensors[matrix])[3], 0, 1);
        });
        CHECK_MESSAGE(has_problem(report, matrix_name, "strides"), problems_text(report));
    }
    SUBCASE("a changed storage offset") {
        const auto report = edit_pickle([&](pickle::graph& g, const torch::checkpoint& found) {
            put_integer(g, argument_tuple(g, found.tensors[matrix]), 1, 1);
        });
        // Shifted past the end of its storage, the tensor no longer validates: said with where.
        CHECK_MESSAGE(has_problem(report, "architecture", "out_of_storage"), problems_text(report));
    }
    SUBCASE("a changed dtype") {
        const auto report = edit_pickle([&](pickle::graph& g, const torch::checkpoint& found) {
            const pickle::node_id pid = found.storages[0].node;
            const pickle::node_id cls = g.children(g.children(pid)[0])[1];
            g.set_global(cls, {"torch", "IntStorage"});  // same item size: the record still fits
        });
        bool named = false;
        for (const auto& p : report.problems) named = named || (p.where.rfind("tensor ", 0) == 0 && p.what.find("dtype int32") != std::string::npos);
        CHECK_MESSAGE(named, problems_text(report));
    }
    SUBCASE("records added, dropped, renamed, swapped") {
        auto added = records_of(sealed);
        added.insert(added.end() - 1, {"archive/data/extra", bytes(8, 0)});
        write_records(tampered, added);
        CHECK(has_problem(verify(tampered, key), "record archive/data/extra", "added"));

        auto dropped = records_of(sealed);
        const std::string victim = dropped[3].first;
        dropped.erase(dropped.begin() + 3);
        write_records(tampered, dropped);
        CHECK(has_problem(verify(tampered, key), "record " + victim, "missing"));

        auto renamed = records_of(sealed);
        const std::string old_name = renamed[3].first;
        renamed[3].first = "archive/data/renamed";
        write_records(tampered, renamed);
        const auto report = verify(tampered, key);
        CHECK(has_problem(report, "record " + old_name, "missing"));
        CHECK(has_problem(report, "record archive/data/renamed", "added"));

        auto swapped = records_of(sealed);
        std::swap(swapped[3], swapped[4]);
        write_records(tampered, swapped);
        CHECK(has_problem(verify(tampered, key), "records", "order"));

        // Contents swapped under the names: the digests are bound to the record's position. Two
        // records of one size and different bytes (the keyed order decides which they are; two
        // LayerNorm weights of all ones would swap to the same file).
        auto contents = records_of(sealed);
        std::size_t a = 0, b = 0;
        for (std::size_t i = 2; i + 1 < contents.size() && a == b; ++i)
            for (std::size_t j = i + 1; j + 1 < contents.size() && a == b; ++j)
                if (contents[i].second.size() == contents[j].second.size() && contents[i].second != contents[j].second) {
                    a = i;
                    b = j;
                }
        REQUIRE(a != b);
        std::swap(contents[a].second, contents[b].second);
        write_records(tampered, contents);
        CHECK_FALSE(verify(tampered, key).intact());
    }
    SUBCASE("the manifest removed, altered, or truncated file") {
        auto records = records_of(sealed);
        records.pop_back();
        write_records(tampered, records);
        CHECK(has_problem(verify(tampered, key), "manifest", "no .brine/manifest"));

        records = records_of(sealed);
        bytes& text = record(records, ".brine/manifest");
        text[text.size() / 2] ^= 1;
        write_records(tampered, records);
        CHECK(has_problem(verify(tampered, key), "manifest"));

        const bytes whole = brine_test::read_file(sealed);
        for (const std::size_t cut : {whole.size() - 1, whole.size() / 2, std::size_t{100}}) {
            brine_test::write_file(tampered, bytes(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(cut)));
            const auto report = verify(tampered, key);
            CHECK_FALSE(report.intact());
        }
    }
    SUBCASE("a wrong key: told apart from tampering by the manifest's key check") {
        const auto report = mtd::verify_file(sealed.c_str(), test_key(5));
        REQUIRE_FALSE(report);
        CHECK(report.err().code == errc::mtd_wrong_key);
    }
    SUBCASE("restore refuses a tampered file and writes nothing") {
        auto records = records_of(sealed);
        record(records, m.records[3].name)[0] ^= 1;
        write_records(tampered, records);
        const std::string out = (dir / "restored.pt").string();
        auto restored = mtd::restore_file(tampered.c_str(), out.c_str(), key);
        REQUIRE_FALSE(restored);
        CHECK(restored.err().code == errc::mtd_tampered);
        CHECK_FALSE(brine_test::exists(out));
    }
}

TEST_CASE("raw pickles seal with a detached manifest only") {
    brine_test::scratch_dir dir("mtd-pickle");
    const mtd::secret_key key = test_key(6);
    const std::string in = fixture("benign/plain_data.pkl");
    const std::string out = (dir / "sealed.pkl").string();
    const std::string manifest = (dir / "sealed.manifest").string();
    auto refused = mtd::seal_file(in.c_str(), out.c_str(), key, with(mtd::permutation::records));
    REQUIRE_FALSE(refused);
    CHECK(refused.err().code == errc::mtd_unsupported);
    CHECK_FALSE(brine_test::exists(out));

    REQUIRE(mtd::seal_file(in.c_str(), out.c_str(), key, with(mtd::permutation::records), manifest.c_str()));
    CHECK(verify(out, key, manifest.c_str()).intact());
    auto no_manifest = mtd::verify_file(out.c_str(), key);
    REQUIRE_FALSE(no_manifest);
    CHECK(no_manifest.err().code == errc::mtd_no_manifest);

    bytes data = brine_test::read_file(out);
    data[data.size() / 2] ^= 0x20;
    brine_test::write_file(out, data);
    const auto report = verify(out, key, manifest.c_str());
    CHECK(has_problem(report, "record pickle", "chunk 0"));
}

TEST_CASE("npy and npz are not sealed") {
    brine_test::scratch_dir dir("mtd-npy");
    const std::string out = (dir / "x.npy").string();
    auto refused = mtd::seal_file(fixture("benign/arrays_float32.npy").c_str(), out.c_str(), test_key(7),
                                  with(mtd::permutation::records));
    REQUIRE_FALSE(refused);
    CHECK(refused.err().code == errc::mtd_unsupported);
    CHECK_FALSE(brine_test::exists(out));
}

TEST_CASE("scrub: a payload hidden in the low mantissa bits is gone, within the stated bound") {
    brine_test::scratch_dir dir("mtd-scrub");
    const mtd::secret_key key = test_key(8);
    // Plant a message in the 2 lowest bits of every float32 of the first weight.
    auto records = records_of(fixture("mlp_state_dict.pt"));
    bytes& weights = record(records, "data/0");
    const std::string message = "exfiltrate:/etc/passwd";
    const auto plant_bits = [&](std::size_t i) { return (static_cast<unsigned>(message[(i * 2 / 8) % message.size()]) >> ((i * 2) % 8)) & 3u; };
    for (std::size_t i = 0; i * 4 < weights.size(); ++i) weights[i * 4] = static_cast<std::uint8_t>((weights[i * 4] & ~3u) | plant_bits(i));
    const std::string stego = (dir / "stego.pt").string();
    write_records(stego, records);

    const std::string sealed = (dir / "sealed.pt").string();
    mtd::seal_options options = with(mtd::permutation::none);
    options.scrub_lsb = 2;
    auto done = mtd::seal_file(stego.c_str(), sealed.c_str(), key, options);
    REQUIRE(done);
    CHECK(verify(sealed, key).intact());
    const double bound = mtd::scrub_relative_bound(torch::dtype::float32, 2);
    CHECK(done->summary.scrubbed.max_rel <= bound);
    CHECK(done->summary.scrubbed.max_rel > 0);

    const auto before = tensors_of(stego);
    const auto after = tensors_of(sealed);
    const bytes& w0 = before[0].second.data;
    const bytes& w1 = after[0].second.data;
    REQUIRE(w0.size() == w1.size());
    std::size_t still_planted = 0;
    double worst = 0;
    for (std::size_t i = 0; i * 4 < w0.size(); ++i) {
        still_planted += (w1[i * 4] & 3u) == plant_bits(i);
        float a = 0, b = 0;
        std::memcpy(&a, &w0[i * 4], 4);
        std::memcpy(&b, &w1[i * 4], 4);
        if (a != 0) worst = std::max(worst, std::abs(static_cast<double>(b) - a) / std::abs(static_cast<double>(a)));
        // Only the two low bits may differ.
        CHECK((w0[i * 4] & ~3u) == (w1[i * 4] & ~3u));
        CHECK(std::memcmp(&w0[i * 4 + 1], &w1[i * 4 + 1], 3) == 0);
    }
    // Random bits match the planted ones a quarter of the time (8 of these 32 on average); all
    // 32 would still match without scrubbing. Three quarters or more: odds below 1e-7.
    CHECK(still_planted < w0.size() / 4 * 3 / 4);
    CHECK(worst <= bound);
    CHECK(worst == doctest::Approx(done->summary.scrubbed.max_rel));
}

TEST_CASE("sha256 digests and an explicit neuron plan") {
    brine_test::scratch_dir dir("mtd-options");
    const mtd::secret_key key = test_key(9);
    const std::string in = fixture("mlp_state_dict.pt");
    const std::string sealed = (dir / "sealed.pt").string();
    const std::string restored = (dir / "restored.pt").string();
    const std::string clean = (dir / "clean.pt").string();
    torch::disarmer disarm;
    REQUIRE(disarm.disarm_file(in.c_str(), clean.c_str()));

    SUBCASE("sha256: plain digests anyone can recompute, the manifest still keyed") {
        mtd::seal_options options = with(mtd::permutation::records);
        options.hash = "sha256";
        REQUIRE(mtd::seal_file(in.c_str(), sealed.c_str(), key, options));
        const auto report = verify(sealed, key);
        CHECK(report.intact());
        CHECK(report.sealed.hash == "sha256");
        // A chunk digest is SHA-256 of (label, record, chunk, bytes): checkable without the key.
        const auto records = records_of(sealed);
        const auto& first = report.sealed.records[0];
        crypto::sha256 h;
        h.update(as_bytes(std::string_view("brine/chunk")));
        const std::uint8_t positions[16] = {};
        h.update(byte_view(positions, 16));
        h.update(byte_view(records[0].second.data(), records[0].second.size()));
        CHECK(first.chunks[0] == h.finish());
        CHECK(mtd::verify_file(sealed.c_str(), test_key(10)).err().code == errc::mtd_wrong_key);
    }
    SUBCASE("a plan naming one hidden axis: only it moves, and restore undoes it") {
        mtd::seal_options options = with(mtd::permutation::neurons);
        options.plan = "# the first hidden layer only\n0.weight:0 0.bias:0 2.weight:1\n";
        auto done = mtd::seal_file(in.c_str(), sealed.c_str(), key, options);
        REQUIRE_MESSAGE(done, to_string(done.err().code) << " " << done.err().detail);
        CHECK(done->summary.plan == "0.weight:0 0.bias:0 2.weight:1\n");
        CHECK(verify(sealed, key).intact());
        const auto before = tensors_of(clean);
        const auto after = tensors_of(sealed);
        REQUIRE(before.size() == after.size());
        for (std::size_t i = 0; i < before.size(); ++i) {
            const bool moved = before[i].first == "0.weight" || before[i].first == "0.bias" || before[i].first == "2.weight";
            CAPTURE(before[i].first);
            CHECK((before[i].second == after[i].second) != moved);
        }
        REQUIRE(mtd::restore_file(sealed.c_str(), restored.c_str(), key));
        CHECK(brine_test::read_file(restored) == brine_test::read_file(clean));
    }
    SUBCASE("a plan that does not fit is refused, with no output") {
        mtd::seal_options options = with(mtd::permutation::neurons);
        options.plan = "0.weight:0 2.weight:0\n";  // 8 rows against 2: not one hidden axis
        auto mismatch = mtd::seal_file(in.c_str(), sealed.c_str(), key, options);
        REQUIRE_FALSE(mismatch);
        CHECK(mismatch.err().code == errc::mtd_bad_plan);
        CHECK_FALSE(brine_test::exists(sealed));
        options.plan = "no.such.tensor:0 0.bias:0\n";
        auto unknown = mtd::seal_file(in.c_str(), sealed.c_str(), key, options);
        REQUIRE_FALSE(unknown);
        CHECK(unknown.err().code == errc::mtd_bad_plan);
        CHECK(std::string(unknown.err().entry.view()) == "no.such.tensor");
        CHECK_FALSE(brine_test::exists(sealed));
    }
}
