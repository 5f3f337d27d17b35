// Unit tests for the torch layer: the tensors brine reads off a checkpoint's pickle agree with
// what real torch.load makes of the same file (tests/fixtures/torch/tensors.tsv, written by
// torch), the disarmed output has the canonical layout and the same tensors, and every way a
// tensor or storage can lie (THREATS.md W rows) is refused with its own error code.
#include <brine/brine.hpp>
#include <doctest/doctest.h>

#include "disarm_testing.hpp"
#include "test_files.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

using namespace brine;
using bytes = std::vector<std::uint8_t>;

namespace {

template <std::size_t N>
std::string P(const char (&text)[N]) {
    return std::string(text, N - 1);
}

std::string join(const std::vector<std::int64_t>& values) {
    std::string out;
    for (std::size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + std::to_string(values[i]);
    return out;
}

using brine_test::disarm_bytes;
using brine_test::scan_bytes;

// A torch.save-like archive from a pickle and records, written with brine's zip writer.
// `version`: the version record's text, or none with nullptr.
bytes make_archive(const std::string& pickle, const std::vector<std::pair<std::string, bytes>>& records,
                   const char* byteorder = nullptr, const char* version = "3\n") {
    bytes out;
    vector_sink sink(out);
    zip::writer<vector_sink> w(sink);
    REQUIRE(w.add("archive/data.pkl", as_bytes(std::string_view(pickle))));
    if (byteorder) REQUIRE(w.add("archive/byteorder", as_bytes(std::string_view(byteorder))));
    for (const auto& [name, data] : records) REQUIRE(w.add("archive/" + name, byte_view(data.data(), data.size())));
    if (version) REQUIRE(w.add("archive/version", as_bytes(std::string_view(version))));
    REQUIRE(w.finish());
    return out;
}

// Pickle pieces for one tensor: _rebuild_tensor_v2(('storage', cls, key, 'cpu', numel), offset,
// sizes, strides, False, OrderedDict()). Ints are written as BININT (4 bytes, signed) or LONG1.
std::string int_op(std::int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
        std::string out = "J";
        for (int i = 0; i < 4; ++i) out += static_cast<char>((static_cast<std::uint32_t>(v) >> (8 * i)) & 0xFF);
        return out;
    }
    std::string out = P("\x8a\x08");
    for (int i = 0; i < 8; ++i) out += static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xFF);
    return out;
}

std::string str_op(const std::string& s) {
    std::string out = "X";
    const auto n = static_cast<std::uint32_t>(s.size());
    for (int i = 0; i < 4; ++i) out += static_cast<char>((n >> (8 * i)) & 0xFF);
    return out + s;
}

std::string tuple_op(const std::vector<std::int64_t>& values) {
    std::string out = "(";
    for (const auto v : values) out += int_op(v);
    return out + "t";
}

std::string tensor_op(const std::string& storage_class, const std::string& key, std::int64_t numel, std::int64_t offset,
                      const std::vector<std::int64_t>& sizes, const std::vector<std::int64_t>& strides) {
    return "ctorch._utils\n_rebuild_tensor_v2\n(" + ("(" + str_op("storage") + "ctorch\n" + storage_class + "\n" +
                                                     str_op(key) + str_op("cpu") + int_op(numel) + "tQ") +
           int_op(offset) + tuple_op(sizes) + tuple_op(strides) + P("\x89") + "ccollections\nOrderedDict\n)RtR";
}

// {'t': tensor, ...} as a protocol-2 pickle.
std::string state_dict(const std::vector<std::pair<std::string, std::string>>& tensors) {
    std::string out = P("\x80\x02}(");
    for (const auto& [name, tensor] : tensors) out += str_op(name) + tensor;
    return out + "u.";
}

bytes as_vector(const std::string& text) { return bytes(text.begin(), text.end()); }

errc scan_error(const bytes& archive) {
    const auto scanned = scan_bytes(archive);
    if (scanned) return errc::ok;
    return scanned.err().code;
}

}  // namespace

TEST_CASE("tensors read off each fixture are the ones torch.load makes, name by name") {
    const auto rows = brine_test::read_tsv(brine_test::source_path("tests/fixtures/torch/tensors.tsv"));
    REQUIRE(rows.size() > 40);
    std::map<std::string, std::vector<std::vector<std::string>>> by_file;
    for (const auto& row : rows) by_file[row[0]].push_back(row);
    for (const auto& [file, expected] : by_file) {
        CAPTURE(file);
        const bytes data = brine_test::read_file(brine_test::source_path("tests/fixtures/torch/" + file));
        const auto scanned = scan_bytes(data);
        REQUIRE_MESSAGE(scanned, to_string(scanned.err().code), " at ", scanned.err().offset);
        CHECK(scanned->clean());
        REQUIRE(scanned->tensors.size() == expected.size());
        std::map<std::string, std::string> group_of_key;  // storage key -> torch's storage group
        for (std::size_t i = 0; i < expected.size(); ++i) {
            const auto& row = expected[i];
            const auto& t = scanned->tensors[i];
            CAPTURE(row[1]);
            CHECK(t.name == row[1]);
            CHECK(torch::info(t.type).name == row[2]);
            CHECK(join(t.sizes) == row[3]);
            CHECK(join(t.strides) == row[4]);
            CHECK(std::to_string(t.storage_offset) == row[5]);
            CHECK(t.parameter == (row[6] == "1"));
            CHECK(t.requires_grad == (row[7] == "1"));
            // Tensors share a storage key exactly when torch gives them one storage.
            const auto [known, inserted] = group_of_key.emplace(t.storage_key, row[8]);
            CHECK(known->second == row[8]);
            (void)inserted;
        }
        std::map<std::string, std::string> key_of_group;
        for (const auto& [key, group] : group_of_key) CHECK(key_of_group.emplace(group, key).second);
    }
}

TEST_CASE("a disarmed checkpoint has the canonical layout and the same tensors") {
    for (const char* file : {"mlp_state_dict.pt", "shared_views.pt", "dtypes.pt", "legacy/mlp.pt"}) {
        CAPTURE(file);
        const bytes data = brine_test::read_file(brine_test::source_path(std::string("tests/fixtures/torch/") + file));
        bytes out;
        const auto done = disarm_bytes(data, out);
        REQUIRE_MESSAGE(done, to_string(done.err().code), " at ", done.err().offset);
        CHECK(done->clean());
        CHECK(done->output_size == out.size());

        memory_source source(byte_view(out.data(), out.size()));
        auto archive = zip::reader<memory_source>::open(source);
        REQUIRE(archive);
        const auto& entries = archive->entries();
        REQUIRE(entries.size() == 3 + done->storages);
        CHECK(entries.front().name == "archive/data.pkl");
        CHECK(entries[1].name == "archive/byteorder");
        CHECK(entries.back().name == "archive/version");
        std::uint64_t storage_bytes = 0;
        for (std::size_t i = 2; i + 1 < entries.size(); ++i) {
            CHECK(entries[i].name.substr(0, 13) == "archive/data/");
            CHECK(entries[i].data_offset % 64 == 0);
            CHECK(entries[i].is_stored());
            storage_bytes += entries[i].uncompressed_size;
        }
        CHECK(storage_bytes == done->storage_bytes);

        const auto again = scan_bytes(out);
        REQUIRE(again);
        CHECK(again->clean());
        REQUIRE(again->tensors.size() == done->tensors.size());
        for (std::size_t i = 0; i < again->tensors.size(); ++i) {
            CHECK(again->tensors[i].name == done->tensors[i].name);
            CHECK(again->tensors[i].sizes == done->tensors[i].sizes);
            CHECK(again->tensors[i].strides == done->tensors[i].strides);
            CHECK(again->tensors[i].storage_offset == done->tensors[i].storage_offset);
        }
        // Disarming the output again changes nothing: the reconstruction is canonical.
        bytes twice;
        REQUIRE(disarm_bytes(out, twice));
        CHECK(twice == out);
    }
}

TEST_CASE("a refused entry is left out and the weights are kept") {
    const bytes weights(16, 0x3f);
    const std::string payload = "cbuiltins\neval\n(" + str_op("1+1") + "tR";
    const bytes archive = make_archive(
        state_dict({{"w", tensor_op("FloatStorage", "0", 4, 0, {2, 2}, {2, 1})}, {"hook", payload}}), {{"data/0", weights}});
    bytes out;
    const auto done = disarm_bytes(archive, out);
    REQUIRE(done);
    REQUIRE(done->findings.size() == 2);
    CHECK(done->findings[0].module == "builtins");
    CHECK(done->findings[0].name == "eval");
    CHECK(done->write.dropped_entries == 1);
    const auto again = scan_bytes(out);
    REQUIRE(again);
    CHECK(again->clean());
    REQUIRE(again->tensors.size() == 1);
    CHECK(again->tensors[0].name == "w");
}

TEST_CASE("storages and views that lie are refused, each with its own code (THREATS.md W rows)") {
    const bytes sixteen(16, 0);
    const auto one = [&](const std::string& tensor, const std::vector<std::pair<std::string, bytes>>& records) {
        return scan_error(make_archive(state_dict({{"t", tensor}}), records));
    };
    // The baseline is accepted.
    CHECK(one(tensor_op("FloatStorage", "0", 4, 0, {2, 2}, {2, 1}), {{"data/0", sixteen}}) == errc::ok);
    // W1: numel x item size beyond the record; W5: a record longer than its storage (bytes no
    // tensor accounts for) or of a length the item size does not divide.
    CHECK(one(tensor_op("FloatStorage", "0", 5, 0, {5}, {1}), {{"data/0", sixteen}}) == errc::torch_record_size);
    CHECK(one(tensor_op("DoubleStorage", "0", 4, 0, {4}, {1}), {{"data/0", sixteen}}) == errc::torch_record_size);
    CHECK(one(tensor_op("FloatStorage", "0", 3, 0, {3}, {1}), {{"data/0", sixteen}}) == errc::torch_record_size);
    CHECK(one(tensor_op("FloatStorage", "0", 4, 0, {4}, {1}), {{"data/0", bytes(17, 0)}}) == errc::torch_record_size);
    // W3: the view reaches past the storage; negative sizes and strides; overflow.
    CHECK(one(tensor_op("FloatStorage", "0", 4, 1, {2, 2}, {2, 1}), {{"data/0", sixteen}}) == errc::torch_out_of_storage);
    CHECK(one(tensor_op("FloatStorage", "0", 4, 0, {2, 2}, {3, 1}), {{"data/0", sixteen}}) == errc::torch_out_of_storage);
    CHECK(one(tensor_op("FloatStorage", "0", 4, 0, {-1}, {1}), {{"data/0", sixteen}}) == errc::torch_bad_shape);
    CHECK(one(tensor_op("FloatStorage", "0", 4, 0, {2}, {-1}), {{"data/0", sixteen}}) == errc::torch_bad_shape);
    CHECK(one(tensor_op("FloatStorage", "0", 4, -1, {2}, {1}), {{"data/0", sixteen}}) == errc::torch_bad_shape);
    CHECK(one(tensor_op("FloatStorage", "0", 4, 0, {2, 2}, {1}), {{"data/0", sixteen}}) == errc::torch_bad_shape);
    CHECK(one(tensor_op("FloatStorage", "0", 4, 0, {std::int64_t{1} << 40, std::int64_t{1} << 40},
                        {std::int64_t{1} << 40, 1}),
              {{"data/0", sixteen}}) == errc::torch_overflow);
    // An empty view needs no element, wherever it starts (as torch's set_ accepts).
    CHECK(one(tensor_op("FloatStorage", "0", 4, 100, {0, 3}, {3, 1}), {{"data/0", sixteen}}) == errc::ok);
    // Storage keys: plain names only; the record must exist.
    CHECK(one(tensor_op("FloatStorage", "../0", 4, 0, {4}, {1}), {{"data/0", sixteen}}) == errc::torch_bad_key);
    CHECK(one(tensor_op("FloatStorage", "1", 4, 0, {4}, {1}), {{"data/0", sixteen}}) == errc::torch_missing_record);

    // One storage key, two dtypes (a float storage reinterpreted as ints) or two sizes.
    const auto two = [&](const std::string& a, const std::string& b) {
        return scan_error(make_archive(state_dict({{"a", a}, {"b", b}}), {{"data/0", sixteen}}));
    };
    CHECK(two(tensor_op("FloatStorage", "0", 4, 0, {4}, {1}), tensor_op("IntStorage", "0", 4, 0, {4}, {1})) ==
          errc::torch_dtype_conflict);
    CHECK(two(tensor_op("FloatStorage", "0", 4, 0, {4}, {1}), tensor_op("FloatStorage", "0", 2, 0, {2}, {1})) ==
          errc::torch_bad_storage);

    // W5: a big-endian archive is refused, not byte-swapped.
    CHECK(scan_error(make_archive(state_dict({{"t", tensor_op("FloatStorage", "0", 4, 0, {4}, {1})}}), {{"data/0", sixteen}},
                                  "big")) == errc::torch_big_endian);
    CHECK(scan_error(make_archive(state_dict({{"t", tensor_op("FloatStorage", "0", 4, 0, {4}, {1})}}), {{"data/0", sixteen}},
                                  "little")) == errc::ok);
    // The zero-copy view makes the same refusal: an engine would read the floats as they lie.
    const bytes big = make_archive(state_dict({{"t", tensor_op("FloatStorage", "0", 4, 0, {4}, {1})}}), {{"data/0", sixteen}}, "big");
    const auto view = torch::checkpoint_view::open(byte_view(big.data(), big.size()));
    REQUIRE_FALSE(view);
    CHECK(view.err().code == errc::torch_big_endian);
}

TEST_CASE("records the reconstruction does not use are findings, never copied (THREATS.md Z6)") {
    const std::string pickle = state_dict({{"t", tensor_op("FloatStorage", "0", 4, 0, {4}, {1})}});
    const bytes archive = make_archive(pickle, {{"data/0", bytes(16, 1)}, {"data/9", as_vector(pickle)}, {"extra.pkl", as_vector(pickle)}});
    bytes out;
    const auto done = disarm_bytes(archive, out);
    REQUIRE(done);
    REQUIRE(done->findings.size() == 2);
    CHECK(done->findings[0].part == "archive/data/9");
    CHECK(done->findings[1].part == "archive/extra.pkl");
    memory_source source(byte_view(out.data(), out.size()));
    auto rebuilt = zip::reader<memory_source>::open(source);
    REQUIRE(rebuilt);
    CHECK(rebuilt->entries().size() == 4);  // data.pkl, byteorder, data/0, version
    const auto again = scan_bytes(out);
    REQUIRE(again);
    CHECK(again->clean());
}

TEST_CASE("a storage class with no known dtype is refused even when a policy allows the name") {
    policy::runtime_allowlist<policy::torch_weights_only> allow;
    REQUIRE(allow.add("torch.FancyStorage"));
    torch::basic_disarmer<pickle::reader<>, policy::runtime_allowlist<policy::torch_weights_only>, writer::torch_zip,
                          mtd::none>
        d(allow);
    const bytes archive =
        make_archive(state_dict({{"t", tensor_op("FancyStorage", "0", 4, 0, {4}, {1})}}), {{"data/0", bytes(16, 0)}});
    const auto scanned = d.scan(byte_view(archive.data(), archive.size()));
    REQUIRE_FALSE(scanned);
    CHECK(scanned.err().code == errc::torch_unknown_dtype);
}

TEST_CASE("formats torch.load would not read as a checkpoint are refused with a clear code") {
    // TorchScript: constants.pkl present.
    const bytes script = brine_test::read_file(brine_test::source_path("tests/fixtures/torch/scripted_module.pt"));
    CHECK(scan_error(script) == errc::torch_torchscript);
    // A zip without data.pkl.
    bytes other;
    {
        vector_sink sink(other);
        zip::writer<vector_sink> w(sink);
        REQUIRE(w.add("folder/readme.txt", as_bytes(std::string_view("hello"))));
        REQUIRE(w.finish());
    }
    CHECK(scan_error(other) == errc::torch_no_data_pkl);
    // A tar header (the pre-1.0 format).
    bytes tar(1024, 0);
    std::memcpy(tar.data() + 257, "ustar", 5);
    CHECK(scan_error(tar) == errc::torch_legacy_tar);
    // Empty input.
    CHECK(scan_error(bytes{}) == errc::torch_not_a_checkpoint);
}

TEST_CASE("legacy streams: every pickle is judged, and broken streams are refused") {
    const bytes legacy = brine_test::read_file(brine_test::source_path("tests/fixtures/torch/legacy/mlp.pt"));
    const auto scanned = scan_bytes(legacy);
    REQUIRE(scanned);
    CHECK(scanned->format == "torch legacy");
    CHECK(scanned->clean());

    // Cut anywhere inside the storages: refused (as torch would fail reading them).
    bytes cut(legacy.begin(), legacy.end() - 5);
    CHECK(scan_error(cut) == errc::torch_bad_legacy);
    // Trailing data: a finding (never written), not an error.
    bytes longer = legacy;
    longer.push_back(0x2e);
    const auto trailing = scan_bytes(longer);
    REQUIRE(trailing);
    REQUIRE(trailing->findings.size() == 1);
    CHECK(trailing->findings[0].part == "legacy stream");
    // A wrong protocol version after the magic number.
    bytes wrong = legacy;
    const std::uint8_t protocol_1001[] = {'M', 0xe9, 0x03};  // BININT2 1001
    const auto at = std::search(wrong.begin(), wrong.end(), std::begin(protocol_1001), std::end(protocol_1001));
    REQUIRE(at != wrong.end());
    *(at + 1) = 0xea;  // 1002
    CHECK(scan_error(wrong) == errc::torch_bad_legacy);
}

TEST_CASE("the checkpoint view gives each tensor's bytes in place, as torch would read them") {
    for (const char* file : {"shared_views.pt", "legacy/mlp.pt"}) {
        CAPTURE(file);
        const bytes data = brine_test::read_file(brine_test::source_path(std::string("tests/fixtures/torch/") + file));
        const byte_view whole(data.data(), data.size());
        auto view = torch::checkpoint_view::open(whole);
        REQUIRE_MESSAGE(view, to_string(view.err().code), " at ", view.err().offset);
        const auto scanned = scan_bytes(data);
        REQUIRE(scanned);
        REQUIRE(view->tensors().size() == scanned->tensors.size());
        for (const torch::tensor_view& t : view->tensors()) {
            CAPTURE(t.name);
            // Zero-copy: every byte range lies inside the input buffer.
            CHECK(t.storage.data() >= whole.data());
            CHECK(t.storage.data() + t.storage.size() <= whole.data() + whole.size());
            CHECK(t.data.data() >= t.storage.data());
            CHECK(t.data.data() + t.data.size() <= t.storage.data() + t.storage.size());
            CHECK(view->find(t.name) == &t);
        }
    }
    // shared_views: 'row2' is row 2 of a 4x6 float32 grid, so it starts 12 elements into 'base'.
    const bytes data = brine_test::read_file(brine_test::source_path("tests/fixtures/torch/shared_views.pt"));
    auto view = torch::checkpoint_view::open(byte_view(data.data(), data.size()));
    REQUIRE(view);
    const auto* base = view->find("base");
    const auto* row2 = view->find("row2");
    REQUIRE(base);
    REQUIRE(row2);
    CHECK(row2->storage.data() == base->storage.data());
    CHECK(row2->data.data() == base->data.data() + 12 * 4);
    CHECK(row2->data.size() == 6 * 4);

    // Anything the policy refuses means no view at all.
    const std::string payload = "cbuiltins\neval\n(" + str_op("1") + "tR";
    const bytes hostile = make_archive(
        state_dict({{"w", tensor_op("FloatStorage", "0", 4, 0, {4}, {1})}, {"x", payload}}), {{"data/0", bytes(16, 0)}});
    auto refused = torch::checkpoint_view::open(byte_view(hostile.data(), hostile.size()));
    REQUIRE_FALSE(refused);
    CHECK(refused.err().code == errc::torch_not_clean);
}

TEST_CASE("pickled modules and TorchScript: refused by default, their state dict with extract_weights") {
    const auto rows = brine_test::read_tsv(brine_test::source_path("tests/fixtures/torch/module/state_dicts.tsv"));
    std::map<std::string, std::vector<std::vector<std::string>>> by_file;
    for (const auto& row : rows) by_file[row[0]].push_back(row);
    REQUIRE(by_file.size() == 3);
    for (const auto& [file, expected] : by_file) {
        CAPTURE(file);
        const bytes data = brine_test::read_file(brine_test::source_path("tests/fixtures/torch/" + file));
        // Default: TorchScript is an error, a module pickle is all findings (its classes refused;
        // the legacy format's ('module', class, ...) persistent ids too).
        const auto plain = scan_bytes(data);
        if (file == "scripted_module.pt") {
            REQUIRE_FALSE(plain);
            CHECK(plain.err().code == errc::torch_torchscript);
        } else {
            REQUIRE(plain);
            CHECK_FALSE(plain->clean());
            CHECK(plain->tensors.empty());
        }

        torch::disarmer d;
        d.extract_weights(true);
        bytes out;
        vector_sink sink(out);
        const byte_view view(data.data(), data.size());
        const auto done = d.disarm(view, memory_source(view), sink);
        REQUIRE_MESSAGE(done, to_string(done.err().code), " at ", done.err().offset, ": ", done.err().detail);
        REQUIRE_FALSE(done->findings.empty());
        CHECK(done->findings[0].part == "module");
        // Anything else left out is a record the state dict does not use (a non-persistent buffer).
        for (std::size_t i = 1; i < done->findings.size(); ++i) CHECK_FALSE(done->findings[i].in_pickle);

        // The output is a plain state dict the default policy accepts, in state_dict() order.
        const auto again = scan_bytes(out);
        REQUIRE(again);
        CHECK(again->clean());
        REQUIRE(again->tensors.size() == expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            CHECK(again->tensors[i].name == expected[i][2]);
            CHECK(torch::info(again->tensors[i].type).name == expected[i][3]);
            CHECK(join(again->tensors[i].sizes) == (expected[i].size() > 4 ? expected[i][4] : ""));
        }
    }
}

TEST_CASE("extracted weights hold only what the allowlist allows: judged from the graph, not by reading the output") {
    // A pickled module (NEWOBJ __main__.Net, BUILD with its __dict__) whose one parameter carries
    // backward hooks; module_structure reads the structure, the state dict keeps the parameter.
    const auto module_with_hooks = [](const std::string& hooks) {
        const std::string parameter = "ctorch._utils\n_rebuild_parameter\n(" + tensor_op("FloatStorage", "0", 4, 0, {4}, {1}) +
                                      P("\x88") + hooks + "tR";
        const std::string parameters = "ccollections\nOrderedDict\n)R(" + str_op("w") + parameter + "u";
        const std::string state = "}(" + str_op("_parameters") + parameters + str_op("_buffers") + "}" +
                                  str_op("_modules") + "}u";
        return make_archive(P("\x80\x02") + "c__main__\nNet\n)" + P("\x81") + state + "b.", {{"data/0", bytes(16, 0)}});
    };
    const auto extract = [](const bytes& data) {
        torch::disarmer d;
        d.extract_weights(true);
        bytes out;
        vector_sink sink(out);
        const byte_view view(data.data(), data.size());
        return d.disarm(view, memory_source(view), sink);
    };
    // No hooks: the state dict {w} is written.
    const auto plain = extract(module_with_hooks("ccollections\nOrderedDict\n)R"));
    REQUIRE_MESSAGE(plain, to_string(plain.err().code), " ", plain.err().detail);
    REQUIRE(plain->tensors.size() == 1);
    CHECK(plain->tensors[0].name == "w");
    // A hook object (a class only module_structure lets be named and made) reachable from the
    // parameter: the allowlist refuses it, so nothing is written.
    const auto hooked =
        extract(module_with_hooks("ccollections\nOrderedDict\n)R(" + int_op(0) + "c__main__\nHook\n)" + P("\x81") + "u"));
    REQUIRE_FALSE(hooked);
    CHECK(hooked.err().code == errc::torch_not_clean);
    CHECK(std::string(hooked.err().detail).find("extracted weights") != std::string::npos);
}

TEST_CASE("a disarmer whose Formats policy leaves NumPy and extraction out refuses them, and reads the rest alike") {
    using checkpoints_only = torch::basic_disarmer<pickle::reader<>, policy::torch_weights_only, writer::torch_zip,
                                                   mtd::none, torch::formats::checkpoints_only>;
    const auto run = [](auto& d, const bytes& data, bytes& out) {
        out.clear();
        vector_sink sink(out);
        const byte_view view(data.data(), data.size());
        return d.disarm(view, memory_source(view), sink);
    };
    bytes out_every;
    bytes out_only;
    for (const char* file : {"mlp_state_dict.pt", "legacy/mlp.pt", "shared_views.pt"}) {
        CAPTURE(file);
        const bytes data = brine_test::read_file(brine_test::source_path(std::string("tests/fixtures/torch/") + file));
        torch::disarmer every;
        checkpoints_only only;
        REQUIRE(run(every, data, out_every));
        REQUIRE(run(only, data, out_only));
        CHECK(out_every == out_only);
    }

    const bytes npy = brine_test::read_file(brine_test::source_path("tests/fixtures/torch/benign/arrays_float32.npy"));
    torch::disarmer every;
    checkpoints_only only;
    CHECK(run(every, npy, out_every));
    const auto refused = run(only, npy, out_only);
    REQUIRE_FALSE(refused);
    CHECK(refused.err().code == errc::torch_not_a_checkpoint);
    CHECK(std::string_view(refused.err().detail).find("NumPy") != std::string_view::npos);

    const bytes module = brine_test::read_file(brine_test::source_path("tests/fixtures/torch/module/sequential.pt"));
    only.extract_weights(true);
    const auto no_extraction = run(only, module, out_only);
    REQUIRE_FALSE(no_extraction);
    CHECK(no_extraction.err().code == errc::invalid_argument);
}

// ---- decided as torch 1.13 decides, or refused (tests/interop/differential_findings) ----------

namespace {

// ('storage', torch.<cls>, <key_op>, <location_op>, numel) as a persistent id, the key and the
// location given as pickle opcodes.
std::string pid_op(const std::string& key_op, const std::string& location_op, std::int64_t numel,
                   const std::string& storage_class = "FloatStorage") {
    return "(" + str_op("storage") + "ctorch\n" + storage_class + "\n" + key_op + location_op + int_op(numel) + "tQ";
}

// torch._utils.<function>(*<args>) where args are pickle opcodes.
std::string rebuild_op(const std::string& function, const std::string& args) {
    return "ctorch._utils\n" + function + "\n(" + args + "tR";
}

// The 6 arguments of _rebuild_tensor_v2 for a 4-element 1-d tensor of storage key "0".
std::string v2_args(const std::string& pid) {
    return pid + int_op(0) + tuple_op({4}) + tuple_op({1}) + P("\x89") + "ccollections\nOrderedDict\n)R";
}

// {'t': tensor} with a PROTO of the caller's choice (bytes opcodes are protocol 3, BYTEARRAY8 5).
std::string state_dict_proto(char protocol, const std::string& tensor) {
    std::string out = state_dict({{"t", tensor}});
    out[1] = protocol;
    return out;
}

errc view_error(const bytes& archive) {
    const auto view = torch::checkpoint_view::open(byte_view(archive.data(), archive.size()));
    if (view) return errc::ok;
    return view.err().code;
}

// Replaces the first `from` in `data` by `to` (which may differ in length).
bytes replaced(const bytes& data, const std::string& from, const std::string& to) {
    const auto at = std::search(data.begin(), data.end(), from.begin(), from.end());
    REQUIRE(at != data.end());
    bytes out(data.begin(), at);
    out.insert(out.end(), to.begin(), to.end());
    out.insert(out.end(), at + static_cast<std::ptrdiff_t>(from.size()), data.end());
    return out;
}

}  // namespace

TEST_CASE("a bytes storage key is refused: torch names its record data/b'0', never data/0") {
    const bytes sixteen(16, 0);
    const bytes other(16, 7);
    // The archive holds both data/0 and the record torch would really read for b'0'.
    const auto archive = [&](char protocol, const std::string& key_op) {
        return make_archive(state_dict_proto(protocol, rebuild_op("_rebuild_tensor_v2", v2_args(pid_op(key_op, str_op("cpu"), 4))))
                            , {{"data/0", sixteen}, {"data/b'0'", other}});
    };
    CHECK(scan_error(archive('\x03', P("C\x01" "0"))) == errc::torch_bad_key);                  // SHORT_BINBYTES
    CHECK(scan_error(archive('\x03', P("B\x01\x00\x00\x00" "0"))) == errc::torch_bad_key);      // BINBYTES
    CHECK(scan_error(archive('\x04', P("\x8e\x01\x00\x00\x00\x00\x00\x00\x00" "0"))) == errc::torch_bad_key);  // BINBYTES8
    CHECK(scan_error(archive('\x05', P("\x96\x01\x00\x00\x00\x00\x00\x00\x00" "0"))) == errc::torch_bad_key);  // BYTEARRAY8
    CHECK(view_error(archive('\x03', P("C\x01" "0"))) == errc::torch_bad_key);
    bytes out;
    CHECK_FALSE(disarm_bytes(archive('\x03', P("C\x01" "0")), out));
    // str keys, and Python 2 strings (str under torch.load's encoding='utf-8'), name data/0.
    for (const std::string& key_op : {str_op("0"), P("U\x01" "0"), P("T\x01\x00\x00\x00" "0"), P("S'0'\n")}) {
        CAPTURE(key_op);
        const bytes fine = make_archive(state_dict_proto('\x02', rebuild_op("_rebuild_tensor_v2", v2_args(pid_op(key_op, str_op("cpu"), 4)))),
                                        {{"data/0", sixteen}});
        CHECK(scan_error(fine) == errc::ok);
        CHECK(view_error(fine) == errc::ok);
    }
    // The 'storage' tag and the location may be bytes: torch decodes them (_maybe_decode_ascii).
    const bytes location_bytes = make_archive(
        state_dict_proto('\x03', rebuild_op("_rebuild_tensor_v2", v2_args(pid_op(str_op("0"), P("C\x03" "cpu"), 4)))),
        {{"data/0", sixteen}});
    CHECK(scan_error(location_bytes) == errc::ok);

    // Legacy streams: torch finds the listed keys with == among the persistent ids' keys, and
    // b'100000000' is not '100000000'. Refused in the persistent id and in the list of keys.
    const bytes legacy = brine_test::read_file(brine_test::source_path("tests/fixtures/torch/legacy/mlp.pt"));
    REQUIRE(scan_error(legacy) == errc::ok);
    const std::string key = P("X\x09\x00\x00\x00" "100000000");
    const bytes pid_bytes = replaced(legacy, key, P("C\x09" "100000000"));  // first: the main pickle's
    CHECK(scan_error(pid_bytes) == errc::torch_bad_key);
    CHECK(view_error(pid_bytes) == errc::torch_bad_key);
    // The list of keys is the last pickle: its first key is the last occurrence.
    bytes list_bytes = legacy;
    const auto last = std::find_end(list_bytes.begin(), list_bytes.end(), key.begin(), key.end());
    REQUIRE(last != list_bytes.end());
    const bytes head(list_bytes.begin(), last);
    list_bytes = replaced(bytes(last, list_bytes.end()), key, P("C\x09" "100000000"));
    list_bytes.insert(list_bytes.begin(), head.begin(), head.end());
    CHECK(scan_error(list_bytes) == errc::torch_bad_legacy);
}

TEST_CASE("the version record is read as torch reads it: required, a decimal number from 1 to 10") {
    const std::string pickle = state_dict({{"t", tensor_op("FloatStorage", "0", 4, 0, {4}, {1})}});
    const bytes sixteen(16, 0);
    const auto with = [&](const char* version) { return make_archive(pickle, {{"data/0", sixteen}}, nullptr, version); };
    // What torch's stoull reads whole, within kMinSupportedFileFormatVersion..kMaxSupportedFileFormatVersion.
    for (const char* fine : {"3\n", "3", "1\n", "10\n", "03\n", " 3\n", "3\r\n", "+3\n"}) {
        CAPTURE(fine);
        CHECK(scan_error(with(fine)) == errc::ok);
        CHECK(view_error(with(fine)) == errc::ok);
    }
    // Missing, unparseable, out of range, trailing text (stoull would ignore it: refused, not guessed).
    CHECK(scan_error(with(nullptr)) == errc::torch_bad_version);
    CHECK(view_error(with(nullptr)) == errc::torch_bad_version);
    for (const char* bad : {"", "x\n", "\n", "-1\n", "0\n", "11\n", "99\n", "18446744073709551619\n", "3x\n", "3 3\n",
                            "0x3\n", "3333333333333333333333333333333333\n"}) {
        CAPTURE(bad);
        CHECK(scan_error(with(bad)) == errc::torch_bad_version);
        CHECK(view_error(with(bad)) == errc::torch_bad_version);
    }
    bytes out;
    const auto refused = disarm_bytes(with("x\n"), out);
    REQUIRE_FALSE(refused);
    CHECK(refused.err().entry.view() == "archive/version");
    // The record is extracted, so its CRC (and inflated size) is checked: "3\n" stored as "4\n".
    bytes lying = with("3\n");
    {
        memory_source lying_source(byte_view(lying.data(), lying.size()));
        auto opened = zip::reader<memory_source>::open(lying_source);
        REQUIRE(opened);
        auto record = opened->find_record("version");
        REQUIRE(record);
        REQUIRE(lying[static_cast<std::size_t>((*record)->data_offset)] == '3');
        lying[static_cast<std::size_t>((*record)->data_offset)] = '4';
    }
    CHECK(scan_error(lying) == errc::zip_crc_mismatch);
    // .data/version, when present, is the one torch reads (version is then not even required).
    const auto dotted = [&](const char* dot, const char* version) {
        std::vector<std::pair<std::string, bytes>> records = {{"data/0", sixteen}};
        records.push_back({".data/version", as_vector(dot)});
        return make_archive(pickle, records, nullptr, version);
    };
    CHECK(scan_error(dotted("3\n", nullptr)) == errc::ok);
    CHECK(scan_error(dotted("x\n", "3\n")) == errc::torch_bad_version);
    CHECK(scan_error(dotted("3\n", "x\n")) == errc::ok);
    // brine writes version "3\n", as torch.save does.
    out.clear();
    REQUIRE(disarm_bytes(with("10\n"), out));
    bytes text;
    REQUIRE(brine_test::record_of(out, "version", text));
    CHECK(std::string(text.begin(), text.end()) == "3\n");
}

TEST_CASE("rebuild functions take exactly their torch 1.13 argument counts") {
    const bytes sixteen(16, 0);
    const auto one = [&](const std::string& tensor) {
        return scan_error(make_archive(state_dict({{"t", tensor}}), {{"data/0", sixteen}}));
    };
    const std::string pid = pid_op(str_op("0"), str_op("cpu"), 4);
    const std::string four = pid + int_op(0) + tuple_op({4}) + tuple_op({1});
    const std::string hooks = "ccollections\nOrderedDict\n)R";
    CHECK(one(rebuild_op("_rebuild_tensor_v2", v2_args(pid))) == errc::ok);
    CHECK(one(rebuild_op("_rebuild_tensor_v2", four + P("\x89"))) == errc::torch_bad_tensor);          // 5: no hooks
    CHECK(one(rebuild_op("_rebuild_tensor_v2", v2_args(pid) + "N")) == errc::torch_bad_tensor);         // 7 (torch >= 2.0)
    CHECK(one(rebuild_op("_rebuild_tensor_v2", v2_args(pid) + "}")) == errc::torch_bad_tensor);         // 7, empty metadata
    CHECK(one(rebuild_op("_rebuild_tensor", four)) == errc::ok);
    CHECK(one(rebuild_op("_rebuild_tensor", v2_args(pid))) == errc::torch_bad_tensor);                 // 6 to the v1 name
    CHECK(one(rebuild_op("_rebuild_tensor", pid + int_op(0) + tuple_op({4}))) == errc::torch_bad_tensor);  // 3
    const std::string tensor = rebuild_op("_rebuild_tensor_v2", v2_args(pid));
    CHECK(one(rebuild_op("_rebuild_parameter", tensor + P("\x89") + hooks)) == errc::ok);
    CHECK(one(rebuild_op("_rebuild_parameter", tensor + P("\x89"))) == errc::torch_bad_tensor);
    CHECK(one(rebuild_op("_rebuild_parameter", tensor + P("\x89") + hooks + "N")) == errc::torch_bad_tensor);
    CHECK(one(rebuild_op("_rebuild_parameter_with_state", tensor + P("\x89") + hooks + "}")) == errc::ok);
    CHECK(one(rebuild_op("_rebuild_parameter_with_state", tensor + P("\x89") + hooks)) == errc::torch_bad_tensor);
    CHECK(one(rebuild_op("_rebuild_meta_tensor_no_storage", "ctorch\nfloat32\n" + tuple_op({4}) + tuple_op({1}) + P("\x89"))) ==
          errc::ok);
    CHECK(one(rebuild_op("_rebuild_meta_tensor_no_storage", "ctorch\nfloat32\n" + tuple_op({4}) + tuple_op({1}))) ==
          errc::torch_bad_tensor);
    // _rebuild_from_type_v2(func, type, args, state): func(*args) with args of _rebuild_tensor_v2.
    const auto from_type = [&](const std::string& args, const std::string& tail) {
        return "ctorch._tensor\n_rebuild_from_type_v2\n(ctorch._utils\n_rebuild_tensor_v2\nctorch\nTensor\n(" + args + "t" +
               tail + "tR";
    };
    CHECK(one(from_type(v2_args(pid), "}")) == errc::ok);
    CHECK(one(from_type(v2_args(pid), "")) == errc::torch_bad_tensor);
    CHECK(one(from_type(four + P("\x89"), "}")) == errc::torch_bad_tensor);
}

TEST_CASE("storage locations: those torch 1.13 restores, kept as they are") {
    const bytes sixteen(16, 0);
    const auto at = [&](const std::string& location) {
        return scan_error(make_archive(state_dict({{"t", rebuild_op("_rebuild_tensor_v2", v2_args(pid_op(str_op("0"), str_op(location), 4)))}}),
                                       {{"data/0", sixteen}}));
    };
    for (const char* fine : {"cpu", "cuda", "cuda:0", "cuda:7", "cuda:127", "mps"}) {
        CAPTURE(fine);
        CHECK(at(fine) == errc::ok);
    }
    for (const char* bad : {"CPU", "cpu:0", "", "meta", "cuda:", "cuda:01", "cuda:-1", "cuda:128", "cuda:0 ", "cuda0",
                            "cudax", "mps:0", "xla"}) {
        CAPTURE(bad);
        CHECK(at(bad) == errc::torch_bad_storage);
    }
    // A CUDA location stays in the output: it loads where the original loads.
    bytes out;
    REQUIRE(disarm_bytes(make_archive(state_dict({{"t", rebuild_op("_rebuild_tensor_v2", v2_args(pid_op(str_op("0"), str_op("cuda:1"), 4)))}}),
                                      {{"data/0", sixteen}}),
                         out));
    const std::string text(out.begin(), out.end());
    CHECK(text.find("cuda:1") != std::string::npos);
}

TEST_CASE("Python 2 strings that are not UTF-8 are refused in checkpoints (torch.load: encoding='utf-8')") {
    const bytes sixteen(16, 0);
    const std::string tensor = tensor_op("FloatStorage", "0", 4, 0, {4}, {1});
    // A dict key as SHORT_BINSTRING / BINSTRING / STRING with a byte 0xff.
    for (const std::string& key_op : {P("U\x02\xff" "a"), P("T\x02\x00\x00\x00\xff" "a"), P("S'\\xffa'\n")}) {
        CAPTURE(key_op);
        const std::string pickle = P("\x80\x02}(") + key_op + tensor + "u.";
        const bytes archive = make_archive(pickle, {{"data/0", sixteen}});
        CHECK(scan_error(archive) == errc::pickle_invalid_utf8);
        CHECK(view_error(archive) == errc::pickle_invalid_utf8);
        // Valid UTF-8 (here 'é') is a str: accepted.
        const std::string fine = P("\x80\x02}(") + P("U\x02\xc3\xa9") + tensor + "u.";
        CHECK(scan_error(make_archive(fine, {{"data/0", sixteen}})) == errc::ok);
    }
    // Even one the object does not keep: the unpickler decodes it when it reads the opcode.
    const std::string popped = P("\x80\x02}(") + str_op("t") + tensor + P("U\x01\xff" "0") + "u.";
    CHECK(scan_error(make_archive(popped, {{"data/0", sixteen}})) == errc::pickle_invalid_utf8);
    // A raw pickle: its loader's encoding is unknown, left alone.
    const std::string raw = P("\x80\x02}(") + str_op("k") + P("U\x01\xff") + "u.";
    CHECK(scan_error(as_vector(raw)) == errc::ok);
    // Legacy streams: every one of their pickles is read with encoding='utf-8' too.
    const bytes legacy = brine_test::read_file(brine_test::source_path("tests/fixtures/torch/legacy/mlp.pt"));
    const bytes sys_info = replaced(legacy, P("X\x05\x00\x00\x00" "short"), P("U\x05" "sh\xffrt"));
    CHECK(scan_error(sys_info) == errc::pickle_invalid_utf8);
    CHECK(view_error(sys_info) == errc::pickle_invalid_utf8);
    CHECK(scan_error(replaced(legacy, P("X\x05\x00\x00\x00" "short"), P("U\x05" "short"))) == errc::ok);
}

TEST_CASE("data.pkl and version found whatever the case of their names are not extra records") {
    const std::string pickle = state_dict({{"t", tensor_op("FloatStorage", "0", 4, 0, {4}, {1})}});
    bytes archive;
    {
        vector_sink sink(archive);
        zip::writer<vector_sink> w(sink);
        REQUIRE(w.add("archive/DATA.PKL", as_bytes(std::string_view(pickle))));
        REQUIRE(w.add("archive/ByteOrder", as_bytes(std::string_view("little"))));
        const bytes sixteen(16, 0);
        REQUIRE(w.add("archive/data/0", byte_view(sixteen.data(), sixteen.size())));
        REQUIRE(w.add("archive/VERSION", as_bytes(std::string_view("3\n"))));
        REQUIRE(w.finish());
    }
    const auto scanned = scan_bytes(archive);
    REQUIRE(scanned);
    CHECK(scanned->findings.empty());
    CHECK(scanned->clean());
}

TEST_CASE("deep nesting around tensors: names within 4096 bytes, Parameters within 16 levels") {
    const bytes sixteen(16, 0);
    const auto one = [&](const std::string& tensor) {
        return scan_error(make_archive(state_dict({{"t", tensor}}), {{"data/0", sixteen}}));
    };
    const std::string pid = pid_op(str_op("0"), str_op("cpu"), 4);
    const std::string tensor = rebuild_op("_rebuild_tensor_v2", v2_args(pid));
    // In 1-tuples: the name is t.0.0...0, two bytes a level.
    CHECK(one(tensor + std::string(1000, '\x85')) == errc::ok);
    CHECK(one(tensor + std::string(3000, '\x85')) == errc::limit_exceeded);
    // The name is right at depth (the scan reports it).
    const auto scanned = scan_bytes(make_archive(state_dict({{"t", tensor + std::string(3, '\x85')}}), {{"data/0", sixteen}}));
    REQUIRE(scanned);
    REQUIRE(scanned->tensors.size() == 1);
    CHECK(scanned->tensors[0].name == "t.0.0.0");

    // A Parameter wrapping a Parameter...: recursion in the tensor checks, so bounded.
    const std::string hooks = "ccollections\nOrderedDict\n)R";
    const auto wrapped = [&](int levels) {
        std::string t = tensor;
        for (int i = 0; i < levels; ++i) t = rebuild_op("_rebuild_parameter", t + P("\x89") + hooks);
        return t;
    };
    CHECK(one(wrapped(3)) == errc::ok);
    CHECK(one(wrapped(40)) == errc::torch_bad_tensor);
}

// ---- W6: state set on a tensor after its rebuild call (tests/interop/check_tensor_state.py) ---

namespace {

const std::string ordered_dict_op = "ccollections\nOrderedDict\n)R";

// The tensor the rebuild call describes: 4 floats of data/0.
std::string w6_tensor() { return rebuild_op("_rebuild_tensor_v2", v2_args(pid_op(str_op("0"), str_op("cpu"), 4))); }

// Another tensor a state can put in its place: 2 floats of data/1.
std::string w6_other() {
    return rebuild_op("_rebuild_tensor_v2", pid_op(str_op("1"), str_op("cpu"), 2) + int_op(0) + tuple_op({2}) +
                                                tuple_op({1}) + P("\x89") + ordered_dict_op);
}

std::string w6_parameter(const std::string& tensor) {
    return rebuild_op("_rebuild_parameter", tensor + P("\x89") + ordered_dict_op);
}

// {'data': other} (a state that replaces the tensor's data when torch setattr's it).
std::string w6_data_state() { return "}" + str_op("data") + w6_other() + "s"; }

// torch._tensor._rebuild_from_type_v2(_rebuild_tensor_v2, <type>, (<6 args>), <state>): the
// pickle up to the state, and the whole call.
std::string w6_from_type_head(const std::string& type) {
    return "ctorch._tensor\n_rebuild_from_type_v2\n(ctorch._utils\n_rebuild_tensor_v2\n" + type + "(" +
           v2_args(pid_op(str_op("0"), str_op("cpu"), 4)) + "t";
}
std::string w6_from_type(const std::string& state, const std::string& type = "ctorch\nTensor\n") {
    return w6_from_type_head(type) + state + "tR";
}

std::string w6_with_state(const std::string& state) {
    return rebuild_op("_rebuild_parameter_with_state", w6_tensor() + P("\x89") + ordered_dict_op + state);
}

// Where the value for key "t" starts in state_dict({{"t", ...}}): after "\x80\x02}(" and the key.
const std::size_t w6_value_at = state_dict({{"t", ""}}).size() - 2;

bytes w6_archive(const std::string& tensor) {
    return make_archive(state_dict({{"t", tensor}}), {{"data/0", bytes(16, 1)}, {"data/1", bytes(8, 2)}});
}

// The one tensor of a checkpoint whose state brine accepts: the rebuild call's, as it says.
void check_described(const std::string& tensor, bool parameter) {
    const auto scanned = scan_bytes(make_archive(state_dict({{"t", tensor}}), {{"data/0", bytes(16, 1)}}));
    REQUIRE_MESSAGE(scanned, to_string(scanned.err().code), " at ", scanned.err().offset, ": ", scanned.err().detail);
    CHECK(scanned->clean());
    REQUIRE(scanned->tensors.size() == 1);
    CHECK(scanned->tensors[0].name == "t");
    CHECK(join(scanned->tensors[0].sizes) == "4");
    CHECK(scanned->tensors[0].storage_key == "0");
    CHECK(scanned->tensors[0].parameter == parameter);
    CHECK_FALSE(scanned->tensors[0].requires_grad);
}

// A refusal with the state's offset in data.pkl (`state_at`: in the tensor's pickle text).
void check_refused_state(const std::string& tensor, std::size_t state_at) {
    const auto scanned = scan_bytes(w6_archive(tensor));
    REQUIRE_FALSE(scanned);
    CHECK(scanned.err().code == errc::torch_tensor_state);
    CHECK(scanned.err().offset == w6_value_at + state_at);
    CHECK(scanned.err().entry.view() == "archive/data.pkl");
    CHECK(std::string_view(scanned.err().detail).find("empty state") != std::string_view::npos);
    bytes out;
    CHECK_FALSE(disarm_bytes(w6_archive(tensor), out));
}

}  // namespace

TEST_CASE("W6: a BUILD on a tensor or Parameter is a finding at the BUILD, and the tensor is left out") {
    // torch: set_(*state) (weights_only, plain Tensor) or Tensor.__setstate__: each of these gives
    // 't' another storage, shape, data or requires_grad than its rebuild call says, or empties it.
    const std::string four = "(" + pid_op(str_op("1"), str_op("cpu"), 2) + int_op(0) + tuple_op({2}) + tuple_op({1}) + "t";
    const std::string five = "(" + w6_other() + "N" + ordered_dict_op + P("\x89") + "Nt";
    const std::string three = "(" + P("\x88") + "N" + ordered_dict_op + "t";
    const struct {
        std::string what;
        std::string target;
        std::string state;
    } cases[] = {
        {"4-tuple: set_(storage, offset, size, stride)", w6_tensor(), four},
        {"5-tuple: .data = other (legacy Variable)", w6_tensor(), five},
        {"5-tuple on a Parameter", w6_parameter(w6_tensor()), five},
        {"3-tuple on a Parameter: requires_grad", w6_parameter(w6_tensor()), three},
        {"(other,): set_(other)", w6_tensor(), "(" + w6_other() + "t"},
        {"{}: set_() empties it", w6_tensor(), "}"},
        {"{'data': other}", w6_tensor(), w6_data_state()},
        {"None", w6_tensor(), "N"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.what);
        const std::string tensor = c.target + c.state + "b";
        const std::size_t build_at = w6_value_at + c.target.size() + c.state.size();
        // Next to a tensor that stays: the rest of the checkpoint is kept.
        const bytes archive = make_archive(state_dict({{"t", tensor}, {"kept", w6_tensor()}}),
                                           {{"data/0", bytes(16, 1)}, {"data/1", bytes(8, 2)}});
        const auto scanned = scan_bytes(archive);
        REQUIRE_MESSAGE(scanned, to_string(scanned.err().code), " at ", scanned.err().offset);
        CHECK_FALSE(scanned->clean());
        const auto build = std::find_if(scanned->findings.begin(), scanned->findings.end(), [](const torch::finding_entry& f) {
            return f.op == pickle::opcode::BUILD;
        });
        REQUIRE(build != scanned->findings.end());
        CHECK(build->offset == build_at);
        CHECK(build->name.find("_rebuild_") == 0);
        REQUIRE(scanned->tensors.size() == 1);
        CHECK(scanned->tensors[0].name == "kept");

        bytes out;
        const auto done = disarm_bytes(archive, out);
        REQUIRE(done);
        const auto again = scan_bytes(out);
        REQUIRE(again);
        CHECK(again->clean());
        REQUIRE(again->tensors.size() == 1);
        CHECK(again->tensors[0].name == "kept");
    }
    // The tensor inside a Parameter: the Parameter is left out with it.
    const auto wrapped = scan_bytes(w6_archive(w6_parameter(w6_tensor() + four + "b")));
    REQUIRE(wrapped);
    CHECK_FALSE(wrapped->clean());
    CHECK(wrapped->tensors.empty());
}

TEST_CASE("W6: a policy that lets BUILD on a tensor through gets an error, not the rebuild call's tensor") {
    // An extension that lists a rebuild function allows BUILD on its result (policy::extension).
    policy::runtime_allowlist<policy::torch_weights_only> allow;
    REQUIRE(allow.add("torch._utils._rebuild_tensor_v2"));
    torch::basic_disarmer<pickle::reader<>, policy::runtime_allowlist<policy::torch_weights_only>, writer::torch_zip,
                          mtd::none>
        d(allow);
    const std::string four = "(" + pid_op(str_op("1"), str_op("cpu"), 2) + int_op(0) + tuple_op({2}) + tuple_op({1}) + "t";
    const bytes archive = w6_archive(w6_tensor() + four + "b");
    const auto scanned = d.scan(byte_view(archive.data(), archive.size()));
    REQUIRE_FALSE(scanned);
    CHECK(scanned.err().code == errc::torch_tensor_state);
    CHECK(scanned.err().offset == w6_value_at + w6_tensor().size() + four.size() - 1);  // the state tuple's TUPLE
    // Without the BUILD the same policy describes the tensor.
    const bytes plain = make_archive(state_dict({{"t", w6_tensor()}}), {{"data/0", bytes(16, 1)}});
    CHECK(d.scan(byte_view(plain.data(), plain.size())));
}

TEST_CASE("W6: _rebuild_from_type_v2 with a state torch would set on the tensor is refused") {
    // torch >= 2.0 setattr's every entry of the state (a dict, or a (dict, slots) pair) on the
    // tensor: 'data' replaces its data, 'requires_grad' and '_backward_hooks' change them.
    const std::string head = w6_from_type_head("ctorch\nTensor\n");
    const std::string pair = "(N" + w6_data_state() + "t";
    const std::string ordered_data = ordered_dict_op + str_op("data") + w6_other() + "s";
    const struct {
        std::string what;
        std::string state;
        std::size_t made_at;  // the opcode that makes the state, in `state`
    } cases[] = {
        {"{'data': other}", w6_data_state(), 0},
        {"(None, {'data': other})", pair, pair.size() - 1},
        {"OrderedDict(data=other)", ordered_data, ordered_dict_op.size() - 1},
        {"{'requires_grad': True}", "}" + str_op("requires_grad") + P("\x88") + "s", 0},
        {"{'_backward_hooks': OrderedDict()}", "}" + str_op("_backward_hooks") + ordered_dict_op + "s", 0},
        {"(): not a (dict, slots) pair", ")", 0},
        {"(None, None, None)", "NNN\x87", 3},
    };
    for (const auto& c : cases) {
        CAPTURE(c.what);
        check_refused_state(w6_from_type(c.state), head.size() + c.made_at);
    }
    // A state that is a shared constant (an int): the call's offset.
    check_refused_state(w6_from_type("K\x05"), w6_from_type("K\x05").size() - 1);
    // Parameter as the type: refused alike (torch 1.13 setattr's it too).
    const std::string parameter = "ctorch.nn.parameter\nParameter\n";
    check_refused_state(w6_from_type(w6_data_state(), parameter), w6_from_type_head(parameter).size());
}

TEST_CASE("W6: _rebuild_from_type_v2 with an empty state, as torch writes it, is the tensor of its arguments") {
    for (const std::string& state : {std::string("N"), std::string("}"), ordered_dict_op, std::string("(N}t"),
                                     std::string("(}Nt"), "(" + ordered_dict_op + "}t"}) {
        CAPTURE(state);
        check_described(w6_from_type(state), false);
    }
    // as_subclass(Parameter): a Parameter, requires_grad as the arguments say.
    check_described(w6_from_type("}", "ctorch.nn.parameter\nParameter\n"), true);
    // A type that is no class: torch's as_subclass fails.
    CHECK(scan_error(make_archive(state_dict({{"t", w6_from_type("N", "N")}}), {{"data/0", bytes(16, 1)}})) ==
          errc::torch_bad_tensor);
}

TEST_CASE("W6: _rebuild_parameter_with_state: only an empty state") {
    const std::string prefix = "ctorch._utils\n_rebuild_parameter_with_state\n(" + w6_tensor() + P("\x89") + ordered_dict_op;
    check_refused_state(w6_with_state(w6_data_state()), prefix.size());
    check_refused_state(w6_with_state("}" + str_op("requires_grad") + P("\x88") + "s"), prefix.size());
    for (const std::string& state : {std::string("}"), std::string("N"), ordered_dict_op}) {
        CAPTURE(state);
        check_described(w6_with_state(state), true);
    }
}
