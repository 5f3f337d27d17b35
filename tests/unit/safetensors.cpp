// Unit tests for safetensors: every clean torch checkpoint among the fixtures, converted by the
// Writer policy, reads back through brine's strict reader with each tensor's bytes equal to an
// element-by-element gather computed here from the checkpoint view (views, transposes, expands,
// overlapping windows included); what the format cannot hold is reported, or refused with
// `strict`; and the reader refuses every hand-made hostile file with its own sentence and the
// offset of the byte that broke the rule.
#include <brine/brine.hpp>
#include <doctest/doctest.h>


#include "test_files.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>


using namespace brine;
using bytes = std::vector<std::uint8_t>;

namespace {

byte_view view_of(const bytes& data) { return {data.data(), data.size()}; }

using converter = torch::basic_disarmer<pickle::reader<pickle::limits::standard>, policy::torch_weights_only,
                                        writer::safetensors, mtd::none>;

// Converts a checkpoint with the Writer policy; `summary` receives what was written and skipped.
result<torch::report> convert(const bytes& input, bytes& out, writer::safetensors_summary& summary,
                              writer::safetensors_options options = {}) {
    writer::safetensors policy;
    policy.options = std::move(options);
    policy.summary = &summary;
    converter d({}, policy);
    vector_sink sink(out);
    const byte_view in = view_of(input);
    return d.disarm(in, memory_source(in), sink);
}

std::string sha256_hex(const bytes& data) {
    const auto hex = crypto::to_hex(crypto::sha256::hash(view_of(data)));
    return std::string(hex.data(), hex.size());
}

// The elements a tensor view sees, in C order, computed one element at a time from its sizes,
// strides and offset: an implementation independent of the writer's run-by-run gather.
bytes gather_elementwise(const torch::tensor_view& t) {
    const std::size_t item = torch::info(t.type).item_size;
    std::uint64_t numel = 1;
    for (const std::int64_t size : t.sizes) numel *= static_cast<std::uint64_t>(size);
    bytes out;
    for (std::uint64_t linear = 0; linear < numel; ++linear) {
        std::uint64_t rest = linear;
        std::uint64_t element = static_cast<std::uint64_t>(t.storage_offset);
        for (std::size_t d = t.sizes.size(); d-- > 0;) {
            const auto size = static_cast<std::uint64_t>(t.sizes[d]);
            element += (rest % size) * static_cast<std::uint64_t>(t.strides[d]);
            rest /= size;
        }
        const std::uint8_t* at = t.storage.data() + element * item;
        out.insert(out.end(), at, at + item);
    }
    return out;
}

bool c_contiguous(const torch::tensor_view& t) {
    std::int64_t expected = 1;
    for (std::size_t d = t.sizes.size(); d-- > 0;) {
        if (t.sizes[d] != 1 && t.strides[d] != expected) return false;
        expected *= t.sizes[d];
    }
    return true;
}

// Every file under the fixture folders that scans as a clean torch checkpoint.
std::vector<std::filesystem::path> clean_checkpoints() {
    std::vector<std::filesystem::path> found;
    for (const char* folder : {"tests/fixtures/torch", "tests/fixtures/torch/legacy", "tests/fixtures/torch/benign",
                               "tests/fixtures/torch/module"}) {
        for (const auto& item : std::filesystem::directory_iterator(brine_test::source_path(folder))) {
            if (!item.is_regular_file()) continue;
            const bytes data = brine_test::read_file(item.path());
            torch::disarmer d;
            const auto scanned = d.scan(view_of(data));
            if (!scanned || !scanned->clean()) continue;
            if (scanned->format != "torch zip" && scanned->format != "torch legacy") continue;
            found.push_back(item.path());
        }
    }
    return found;
}

// A safetensors file from header text and data; `declared` overrides the header length.
bytes st_file(const std::string& header, const bytes& data = {}, std::uint64_t declared = UINT64_MAX) {
    bytes out(8 + header.size() + data.size());
    store_le64(out.data(), declared == UINT64_MAX ? header.size() : declared);
    std::copy(header.begin(), header.end(), out.begin() + 8);
    std::copy(data.begin(), data.end(), out.begin() + 8 + static_cast<std::ptrdiff_t>(header.size()));
    return out;
}

// The file offset of the first `needle` in the header text (which starts at byte 8).
std::uint64_t at(const std::string& header, const std::string& needle, std::size_t from = 0) {
    const std::size_t i = header.find(needle, from);
    REQUIRE(i != std::string::npos);
    return 8 + i;
}

struct refusal {
    errc code;
    std::uint64_t offset;
    std::string entry;
    std::string detail;
};

// The reader's verdict on `file`, in memory and through a RandomAccessSource: the two agree.
refusal refuse(const bytes& file, const safetensors::limits& lim = {}) {
    const auto read = safetensors::read(view_of(file), lim);
    REQUIRE_FALSE(read);
    const auto through_source = safetensors::read_header(memory_source(view_of(file)), lim);
    REQUIRE_FALSE(through_source);
    CHECK(through_source.err().code == read.err().code);
    CHECK(through_source.err().offset == read.err().offset);
    return {read.err().code, read.err().offset, std::string(read.err().entry.view()), read.err().detail};
}

const std::string entry_a = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

// Pickle pieces for hand-made checkpoints: {name: _rebuild_tensor_v2(storage, offset, sizes,
// strides, False, OrderedDict())} as a protocol-2 pickle.
std::string pickle_int(std::int64_t v) {
    std::string out = "\x8a\x08";  // LONG1, 8 bytes
    for (int i = 0; i < 8; ++i) out += static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xFF);
    return out;
}
std::string pickle_str(const std::string& s) {
    std::string out = "X";
    for (int i = 0; i < 4; ++i) out += static_cast<char>((s.size() >> (8 * i)) & 0xFF);
    return out + s;
}
std::string pickle_ints(const std::vector<std::int64_t>& values) {
    std::string out = "(";
    for (const std::int64_t v : values) out += pickle_int(v);
    return out + "t";
}
std::string pickle_tensor(const std::string& key, std::int64_t numel, const std::vector<std::int64_t>& sizes,
                          const std::vector<std::int64_t>& strides) {
    return "ctorch._utils\n_rebuild_tensor_v2\n((" + pickle_str("storage") + "ctorch\nFloatStorage\n" +
           pickle_str(key) + pickle_str("cpu") + pickle_int(numel) + "tQ" + pickle_int(0) + pickle_ints(sizes) +
           pickle_ints(strides) + "\x89" + "ccollections\nOrderedDict\n)RtR";
}
std::string pickle_dict(const std::vector<std::pair<std::string, std::string>>& items) {
    std::string out = "}(";
    for (const auto& [key, value] : items) out += pickle_str(key) + value;
    return out + "u";
}

struct evaluated_checkpoint {
    bytes pickle;
    pickle::evaluation evaluation;
    torch::checkpoint found;
};

// Evaluates a hand-made checkpoint pickle (kept alive with the graph that points into it).
void evaluate(evaluated_checkpoint& out, const std::string& body) {
    const std::string text = "\x80\x02" + body + ".";
    out.pickle.assign(text.begin(), text.end());
    const policy::torch_weights_only rules;
    pickle::machine<policy::torch_weights_only> machine(rules);
    REQUIRE(machine.run(view_of(out.pickle), out.evaluation));
    auto found = torch::find_tensors(out.evaluation.values);
    REQUIRE(found);
    out.found = std::move(*found);
}

}  // namespace

TEST_CASE("every clean torch fixture converts and reads back with each tensor's elements in C order") {
    const auto files = clean_checkpoints();
    REQUIRE(files.size() >= 25);
    std::size_t converted = 0, non_contiguous = 0;
    for (const auto& path : files) {
        CAPTURE(path.string());
        const bytes input = brine_test::read_file(path);
        torch::disarmer plain;
        const auto scanned = plain.scan(view_of(input));
        REQUIRE(scanned);
        writer::safetensors_summary summary;
        bytes out;
        writer::safetensors_options options;
        options.source_sha256 = sha256_hex(input);
        options.extra.emplace_back("source_format", scanned->format);
        const auto done = convert(input, out, summary, options);

        bool unnamed = false;
        for (const auto& t : scanned->tensors) unnamed = unnamed || t.name.empty();
        if (unnamed) {
            // A root tensor has no name to give it: refused, never written without one.
            REQUIRE_FALSE(done);
            CHECK(done.err().code == errc::invalid_argument);
            CHECK(std::string(done.err().detail).find("non-empty tensor name") != std::string::npos);
            continue;
        }
        REQUIRE_MESSAGE(done, to_string(done.err().code), " at ", done.err().offset, ": ", done.err().detail, " ",
                        done.err().entry.view());
        CHECK(done->output_size == out.size());
        ++converted;

        const auto read = safetensors::read(view_of(out));
        REQUIRE_MESSAGE(read, to_string(read.err().code), " at ", read.err().offset, ": ", read.err().detail);
        // What brine's writer adds to the format: an aligned data area, aligned tensors,
        // metadata first.
        CHECK(read->data_offset % 8 == 0);
        CHECK(read->header_size + 8 == summary.header_size);
        CHECK(read->data_size == summary.data_size);
        REQUIRE(read->metadata_value("format"));
        CHECK(*read->metadata_value("format") == "pt");
        REQUIRE(read->metadata_value("source_sha256"));
        CHECK(*read->metadata_value("source_sha256") == options.source_sha256);
        REQUIRE(read->metadata_value("source_format"));
        CHECK(*read->metadata_value("source_format") == scanned->format);
        REQUIRE(read->tensors.size() == summary.tensors_written);
        CHECK(summary.tensors_written + summary.skipped.size() == scanned->tensors.size());

        // The same header through a RandomAccessSource.
        const auto header_only = safetensors::read_header(memory_source(view_of(out)));
        REQUIRE(header_only);
        REQUIRE(header_only->tensors.size() == read->tensors.size());

        auto checkpoint = torch::checkpoint_view::open(view_of(input));
        REQUIRE_MESSAGE(checkpoint, to_string(checkpoint.err().code), " at ", checkpoint.err().offset);
        for (std::size_t i = 0; i < read->tensors.size(); ++i) {
            const safetensors::tensor_info& t = read->tensors[i];
            CAPTURE(t.name);
            CHECK(header_only->tensors[i].name == t.name);
            CHECK(header_only->tensors[i].begin == t.begin);
            CHECK(t.begin % safetensors::info(t.type).item_size == 0);
            const torch::tensor_view* source = checkpoint->find(t.name);
            REQUIRE(source);
            torch::dtype type = torch::dtype::float32;
            REQUIRE(safetensors::to_torch(t.type, type));
            CHECK(type == source->type);
            REQUIRE(t.shape.size() == source->sizes.size());
            for (std::size_t d = 0; d < t.shape.size(); ++d)
                CHECK(t.shape[d] == static_cast<std::uint64_t>(source->sizes[d]));
            const bytes expected = gather_elementwise(*source);
            CHECK(bytes(t.data.begin(), t.data.end()) == expected);
            if (!c_contiguous(*source)) ++non_contiguous;
        }
        // Everything not written was skipped for a reason that matches what the tensor is.
        for (const writer::skipped_tensor& s : summary.skipped) {
            CAPTURE(s.name);
            CHECK(read->find(s.name) == nullptr);
            const torch::tensor_entry* t = nullptr;
            for (const auto& candidate : scanned->tensors)
                if (candidate.name == s.name) t = &candidate;
            REQUIRE(t);
            switch (s.reason) {
                case writer::skip_reason::quantized: CHECK(t->kind == torch::layout::quantized); break;
                case writer::skip_reason::sparse:
                    CHECK((t->kind == torch::layout::sparse_coo || t->kind == torch::layout::sparse_compressed));
                    break;
                case writer::skip_reason::meta: CHECK(t->kind == torch::layout::meta); break;
                case writer::skip_reason::complex:
                    CHECK((t->type == torch::dtype::complex64 || t->type == torch::dtype::complex128));
                    break;
                case writer::skip_reason::sparse_part:
                case writer::skip_reason::quantization_parameters: CHECK(t->kind == torch::layout::strided); break;
            }
        }
        // Converting the same input again gives the same bytes.
        bytes again;
        writer::safetensors_summary again_summary;
        REQUIRE(convert(input, again, again_summary, options));
        CHECK(again == out);
    }
    CHECK(converted >= 24);
    CHECK(non_contiguous >= 10);
}

TEST_CASE("views of a shared storage are gathered one element at a time as torch sees them") {
    const bytes input = brine_test::read_file(brine_test::source_path("tests/fixtures/torch/benign/views_shared_storage.pt"));
    bytes out;
    writer::safetensors_summary summary;
    REQUIRE(convert(input, out, summary));
    CHECK(summary.skipped.empty());
    const auto read = safetensors::read(view_of(out));
    REQUIRE(read);
    auto checkpoint = torch::checkpoint_view::open(view_of(input));
    REQUIRE(checkpoint);
    // float32 views of one 60-element storage: each one a copy of exactly the elements it sees.
    const auto element = [&](const char* name, std::size_t i) {
        const safetensors::tensor_info* t = read->find(name);
        REQUIRE(t);
        REQUIRE((i + 1) * 4 <= t->data.size());
        float v;
        std::memcpy(&v, t->data.data() + i * 4, 4);
        return v;
    };
    const auto base = [&](std::size_t i) { return element("base", i); };
    // transposed: sizes (10, 6), strides (1, 10): element (r, c) is base[r + 10c].
    for (std::size_t r = 0; r < 10; ++r)
        for (std::size_t c = 0; c < 6; ++c) CHECK(element("transposed", r * 6 + c) == base(r + 10 * c));
    // expanded: stride 0 everywhere, 4 x 5 copies of base[0].
    REQUIRE(read->find("expanded")->data.size() == 4 * 5 * 4);
    for (std::size_t i = 0; i < 20; ++i) CHECK(element("expanded", i) == base(0));
    // windows: overlapping (19, 5) windows with stride 3: (w, k) is base[3w + k].
    for (std::size_t w = 0; w < 19; ++w)
        for (std::size_t k = 0; k < 5; ++k) CHECK(element("windows", w * 5 + k) == base(3 * w + k));
    // col7: base[7 + 10r]; block: offset 12, strides (10, 3).
    for (std::size_t r = 0; r < 6; ++r) CHECK(element("col7", r) == base(7 + 10 * r));
    for (std::size_t r = 0; r < 3; ++r)
        for (std::size_t c = 0; c < 2; ++c) CHECK(element("block", r * 2 + c) == base(12 + 10 * r + 3 * c));
    // An empty view at the end of the storage: no bytes, a shape kept.
    const safetensors::tensor_info* empty = read->find("tail_empty");
    REQUIRE(empty);
    CHECK(empty->byte_size() == 0);
    CHECK(empty->shape == std::vector<std::uint64_t>{0});
    // Every tensor against the independent gather, and the data area holds nothing else.
    std::uint64_t total = 0;
    for (const torch::tensor_view& t : checkpoint->tensors()) {
        CAPTURE(t.name);
        const safetensors::tensor_info* written = read->find(t.name);
        REQUIRE(written);
        CHECK(bytes(written->data.begin(), written->data.end()) == gather_elementwise(t));
        total += written->byte_size();
    }
    CHECK(total == read->data_size);
}

TEST_CASE("tensors safetensors cannot hold are reported and skipped, or refused with strict") {
    struct expectation {
        const char* file;
        writer::skip_reason reason;
        const char* first;  // the first tensor refused with strict
    };
    const expectation cases[] = {
        {"benign/dtypes_all.pt", writer::skip_reason::complex, "complex64"},
        {"benign/sparse.pt", writer::skip_reason::sparse, "coo"},
        {"benign/meta_tensors.pt", writer::skip_reason::meta, "meta"},
        {"benign/quantized.pt", writer::skip_reason::quantized, ""},
        {"benign/quantized_packed.pt", writer::skip_reason::quantized, "quint4x2"},
    };
    for (const expectation& e : cases) {
        CAPTURE(e.file);
        const bytes input = brine_test::read_file(brine_test::source_path(std::string("tests/fixtures/torch/") + e.file));
        bytes out;
        writer::safetensors_summary summary;
        REQUIRE(convert(input, out, summary));
        REQUIRE_FALSE(summary.skipped.empty());
        bool seen = false;
        for (const auto& s : summary.skipped) seen = seen || s.reason == e.reason;
        CHECK(seen);
        CHECK_FALSE(writer::to_string(e.reason).empty());
        const auto read = safetensors::read(view_of(out));
        REQUIRE(read);
        for (const auto& s : summary.skipped) CHECK(read->find(s.name) == nullptr);

        writer::safetensors_options strict;
        strict.strict = true;
        bytes refused_out;
        writer::safetensors_summary unused;
        const auto refused = convert(input, refused_out, unused, strict);
        REQUIRE_FALSE(refused);
        CHECK(refused.err().code == errc::invalid_argument);
        CHECK(std::string(refused.err().detail).find("strict") != std::string::npos);
        CHECK(refused.err().entry.view() == summary.skipped.front().name);
        if (*e.first) CHECK(refused.err().entry.view() == e.first);
    }
    // Sparse tensors take their indices and values with them; quantized ones their scales.
    const bytes sparse = brine_test::read_file(brine_test::source_path("tests/fixtures/torch/benign/sparse.pt"));
    bytes out;
    writer::safetensors_summary summary;
    REQUIRE(convert(sparse, out, summary));
    std::size_t parts = 0;
    for (const auto& s : summary.skipped) parts += s.reason == writer::skip_reason::sparse_part;
    CHECK(parts >= 10);
    const bytes quantized = brine_test::read_file(brine_test::source_path("tests/fixtures/torch/benign/quantized.pt"));
    bytes quantized_out;
    writer::safetensors_summary quantized_summary;
    REQUIRE(convert(quantized, quantized_out, quantized_summary));
    CHECK(quantized_summary.tensors_written == 0);
    std::size_t scales = 0;
    for (const auto& s : quantized_summary.skipped) {
        if (s.reason != writer::skip_reason::quantization_parameters) continue;
        ++scales;
        CHECK(s.name.find(".quantizer.") != std::string::npos);
    }
    CHECK(scales >= 4);
}

TEST_CASE("write_safetensors: names must be unique and non-empty, sizes must fit") {
    // Two tensors reach the dotted name "a.b": {"a": {"b": t}, "a.b": u}.
    evaluated_checkpoint twice;
    evaluate(twice, pickle_dict({{"a", pickle_dict({{"b", pickle_tensor("0", 4, {4}, {1})}})},
                                 {"a.b", pickle_tensor("1", 4, {2, 2}, {2, 1})}}));
    REQUIRE(twice.found.tensors.size() == 2);
    const bytes sixteen(16, 0x41);
    const auto storages = [&](std::uint32_t, std::vector<std::uint8_t>&) -> result<byte_view> { return view_of(sixteen); };
    bytes out;
    vector_sink sink(out);
    auto dup = writer::write_safetensors(twice.found, storages, sink);
    REQUIRE_FALSE(dup);
    CHECK(dup.err().code == errc::invalid_argument);
    CHECK(dup.err().entry.view() == "a.b");
    CHECK(std::string(dup.err().detail).find("unique") != std::string::npos);
    CHECK(out.empty());  // nothing is written before the header is complete

    // A root tensor has no name.
    evaluated_checkpoint root;
    evaluate(root, pickle_tensor("0", 4, {4}, {1}));
    auto unnamed = writer::write_safetensors(root.found, storages, sink);
    REQUIRE_FALSE(unnamed);
    CHECK(unnamed.err().code == errc::invalid_argument);

    // The free function writes what it is given: a transposed 2x2 view of "0" and a plain one.
    evaluated_checkpoint plain;
    evaluate(plain, pickle_dict({{"t", pickle_tensor("0", 4, {2, 2}, {1, 2})}, {"u", pickle_tensor("0", 4, {4}, {1})}}));
    const bytes counting = {0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0};
    std::size_t fetched = 0;
    const auto one_storage = [&](std::uint32_t, std::vector<std::uint8_t>& scratch) -> result<byte_view> {
        ++fetched;
        scratch.assign(counting.begin(), counting.end());
        return view_of(scratch);
    };
    bytes file;
    vector_sink file_sink(file);
    auto written = writer::write_safetensors(plain.found, one_storage, file_sink);
    REQUIRE(written);
    CHECK(fetched == 1);  // one storage, fetched once for both views
    CHECK(written->tensors_written == 2);
    const auto read = safetensors::read(view_of(file));
    REQUIRE(read);
    const bytes transposed = {0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0};
    CHECK(bytes(read->find("t")->data.begin(), read->find("t")->data.end()) == transposed);
    CHECK(bytes(read->find("u")->data.begin(), read->find("u")->data.end()) == counting);

    // An expand of one element to 2^20 x 2^20 floats (4 TiB): over the default limit.
    evaluated_checkpoint huge;
    evaluate(huge, pickle_dict({{"big", pickle_tensor("0", 1, {1 << 20, 1 << 20}, {0, 0})}}));
    bytes none;
    vector_sink none_sink(none);
    auto too_big = writer::write_safetensors(huge.found, storages, none_sink);
    REQUIRE_FALSE(too_big);
    CHECK(too_big.err().code == errc::limit_exceeded);
    CHECK(too_big.err().entry.view() == "big");
    CHECK(none.empty());
    // ... and an element count past 64 bits.
    evaluated_checkpoint overflow;
    evaluate(overflow, pickle_dict({{"x", pickle_tensor("0", 1, {std::int64_t{1} << 40, std::int64_t{1} << 40}, {0, 0})}}));
    auto overflowed = writer::write_safetensors(overflow.found, storages, none_sink);
    REQUIRE_FALSE(overflowed);
    CHECK(overflowed.err().code == errc::torch_overflow);
    // An explicit limit below what a normal file needs.
    writer::safetensors_options small;
    small.max_data_bytes = 8;
    auto limited = writer::write_safetensors(plain.found, one_storage, none_sink, small);
    REQUIRE_FALSE(limited);
    CHECK(limited.err().code == errc::limit_exceeded);
}

TEST_CASE("safetensors::write: contiguous tensors round-trip, and bad names or sizes are refused") {
    const bytes floats = {0, 0, 0x80, 0x3f, 0, 0, 0, 0x40};  // 1.0f, 2.0f
    const bytes flags = {1, 0, 1};
    std::vector<safetensors::tensor_to_write> tensors(3);
    tensors[0] = {"w\"eird\\name\n\xc3\xa9", safetensors::dtype::f32, {2}, view_of(floats), 0};
    tensors[1] = {"flags", safetensors::dtype::boolean, {3, 1}, view_of(flags), 0};
    tensors[2] = {"scalar_u64", safetensors::dtype::u64, {}, byte_view(floats.data(), 8), 0};
    const safetensors::metadata meta = {{"format", "pt"}, {"note", "caf\xc3\xa9 \"quoted\""}};
    bytes file;
    vector_sink sink(file);
    const auto written = safetensors::write(tensors, meta, sink);
    REQUIRE(written);
    CHECK(*written == file.size());
    const auto read = safetensors::read(view_of(file));
    REQUIRE(read);
    REQUIRE(read->tensors.size() == 3);
    CHECK(read->data_offset % 8 == 0);
    CHECK(read->meta == meta);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(read->tensors[i].name == tensors[i].name);
        CHECK(read->tensors[i].type == tensors[i].type);
        CHECK(read->tensors[i].shape == tensors[i].shape);
        CHECK(bytes(read->tensors[i].data.begin(), read->tensors[i].data.end()) ==
              bytes(tensors[i].data.begin(), tensors[i].data.end()));
    }
    torch::dtype type = torch::dtype::float32;
    CHECK_FALSE(safetensors::to_torch(safetensors::dtype::u64, type));  // torch 1.13 has no uint64

    const auto refused = [&](std::vector<safetensors::tensor_to_write> list, const char* what,
                             const safetensors::metadata& m = {}) {
        bytes nothing;
        vector_sink nowhere(nothing);
        const auto r = safetensors::write(list, m, nowhere);
        REQUIRE_FALSE(r);
        CHECK(std::string(r.err().detail).find(what) != std::string::npos);
        CHECK(nothing.empty());
    };
    const safetensors::tensor_to_write one = {"x", safetensors::dtype::f32, {2}, view_of(floats), 0};
    auto renamed = [&](std::string_view name) {
        safetensors::tensor_to_write t = one;
        t.name = name;
        return t;
    };
    refused({one, one}, "unique");
    refused({renamed("")}, "non-empty");
    refused({renamed("__metadata__")}, "other than __metadata__");
    refused({renamed(std::string_view("a\0b", 3))}, "without NUL");
    refused({renamed("bad\xff")}, "UTF-8");
    safetensors::tensor_to_write short_data = one;
    short_data.shape = {3};
    refused({short_data}, "exactly");
    refused({one}, "once", {{"k", "1"}, {"k", "2"}});
}

TEST_CASE("the reader accepts what the format allows") {
    // An empty header: no tensors, no data.
    const bytes nothing = st_file("{}");
    const auto empty = safetensors::read(view_of(nothing));
    REQUIRE(empty);
    CHECK(empty->tensors.empty());
    CHECK_FALSE(empty->has_metadata);
    // Whitespace between tokens, keys in any order, escapes, space padding, a 0-d tensor, empty
    // tensors sharing an offset, an empty __metadata__.
    const std::string header =
        "{ \"__metadata__\" : { } ,\n\t\"caf\\u00e9\\ud83d\\ude00\\/\\n\":{\"shape\":[ ],\"data_offsets\":[ 0 , 2 ],"
        "\"dtype\":\"BF16\"}, \"e1\":{\"dtype\":\"I64\",\"shape\":[0,3],\"data_offsets\":[2,2]},"
        "\"e2\":{\"data_offsets\":[2,2],\"dtype\":\"U8\",\"shape\":[5,0]},"
        "\"f8\":{\"dtype\":\"F8_E4M3\",\"shape\":[1,2],\"data_offsets\":[2,4]}}      ";
    const bytes file = st_file(header, {1, 2, 3, 4});  // the tensors' data views point into it
    const auto read = safetensors::read(view_of(file));
    REQUIRE_MESSAGE(read, read.err().detail, " at ", read.err().offset);
    CHECK(read->has_metadata);
    REQUIRE(read->tensors.size() == 4);
    CHECK(read->tensors[0].name == "caf\xc3\xa9\xf0\x9f\x98\x80/\n");
    CHECK(read->tensors[0].type == safetensors::dtype::bf16);
    CHECK(read->tensors[0].shape.empty());
    CHECK(read->tensors[0].data.size() == 2);
    CHECK(read->tensors[0].entry_offset == at(header, "\"caf"));
    CHECK(read->tensors[3].type == safetensors::dtype::f8_e4m3);
    CHECK(read->tensors[3].data.data()[0] == 3);
}

TEST_CASE("the reader refuses hostile files, each with its own sentence and the offset of the bad byte") {
    const bytes eight(8, 0);
    // Header length: the file too short for it, over the limit, beyond the file.
    {
        const auto r = refuse({1, 2, 3});
        CHECK(r.code == errc::invalid_argument);
        CHECK(r.offset == 0);
    }
    {
        const auto r = refuse(st_file(entry_a, eight, 200'000'000));
        CHECK(r.code == errc::limit_exceeded);
        CHECK(r.offset == 0);
        safetensors::limits tight;
        tight.max_header_size = 16;
        CHECK(refuse(st_file(entry_a, eight), tight).code == errc::limit_exceeded);
    }
    {
        const auto r = refuse(st_file(entry_a, eight, entry_a.size() + 9));
        CHECK(r.code == errc::invalid_argument);
        CHECK(r.offset == 0);
        CHECK(r.detail.find("within the file") != std::string::npos);
    }
    // Not a JSON object at byte 8; an empty header.
    CHECK(refuse(st_file(" {}")).offset == 8);
    CHECK(refuse(st_file("[]")).offset == 8);
    CHECK(refuse(st_file("")).offset == 8);

    struct hostile {
        const char* what;
        std::string header;
        bytes data;
        std::string at;     // the header text the offset points at
        errc code;
        std::string entry;  // the tensor named in the error, if any
        std::size_t from = 0;  // where to look for `at` (npos: its last occurrence)
    };
    const std::string f32 = R"("dtype":"F32","shape":[2],"data_offsets":)";
    const hostile cases[] = {
        // JSON syntax
        {"missing colon", R"({"a" {"dtype":"F32"}})", {}, "{\"dtype", errc::invalid_argument, "", 1},
        {"trailing comma", "{\"a\":{" + f32 + "[0,8]},}", eight, "}", errc::invalid_argument, "", std::string::npos},
        {"unterminated string", R"({"a)", {}, "", errc::invalid_argument, ""},
        {"unquoted key", "{a:1}", {}, "a", errc::invalid_argument, ""},
        {"invalid UTF-8", "{\"a\xff\":{" + f32 + "[0,8]}}", eight, "\xff", errc::invalid_argument, ""},
        {"bad escape", R"({"a\x":{}})", {}, "\\x", errc::invalid_argument, ""},
        {"lone low surrogate", R"({"a\udc00":{}})", {}, "\\udc00", errc::invalid_argument, ""},
        {"high surrogate alone", R"({"a\ud83dz":{}})", {}, "\\ud83d", errc::invalid_argument, ""},
        {"NUL escape", R"({"a\u0000b":{}})", {}, "\\u0000", errc::invalid_argument, ""},
        {"raw control character", "{\"a\tb\":{}}", {}, "\t", errc::invalid_argument, ""},
        // duplicate keys
        {"duplicate tensor", "{\"a\":{" + f32 + "[0,8]},\"a\":{" + f32 + "[8,16]}}", bytes(16, 0), "\"a\"",
         errc::invalid_argument, "a", 5},
        {"duplicate by escape", "{\"a\":{" + f32 + "[0,8]},\"\\u0061\":{" + f32 + "[8,16]}}", bytes(16, 0),
         "\"\\u0061\"", errc::invalid_argument, "a"},
        {"duplicate entry key", R"({"a":{"dtype":"F32","dtype":"F32"}})", {}, "\"dtype\"", errc::invalid_argument, "a", 12},
        {"duplicate metadata key", R"({"__metadata__":{"k":"1","k":"2"}})", {}, "\"k\"", errc::invalid_argument, "", 22},
        {"two metadata objects", R"({"__metadata__":{},"__metadata__":{}})", {}, "\"__metadata__\"", errc::invalid_argument,
         "__metadata__", 2},
        // integers where integers belong
        {"float in shape", R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", eight, "2.0",
         errc::invalid_argument, "a"},
        {"exponent in offsets", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8e0]}})", eight, "8e0",
         errc::invalid_argument, "a"},
        {"negative dimension", R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight, "-2",
         errc::invalid_argument, "a"},
        {"leading zero", R"({"a":{"dtype":"F32","shape":[02],"data_offsets":[0,8]}})", eight, "02",
         errc::invalid_argument, "a"},
        {"integer past 64 bits", R"({"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,8]}})", eight,
         "1844", errc::limit_exceeded, "a"},
        {"string dimension", R"({"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", eight, "\"2\"",
         errc::invalid_argument, "a"},
        {"one offset", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8]}})", eight, "[8]", errc::invalid_argument, "a"},
        {"three offsets", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}})", eight, "8]",
         errc::invalid_argument, "a", 50},
        // tensor entries
        {"unknown dtype", R"({"a":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}})", eight, "\"f32\"",
         errc::invalid_argument, "a"},
        {"unknown key", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}})", eight, "\"extra\"",
         errc::invalid_argument, "a"},
        {"missing key", R"({"a":{"dtype":"F32","shape":[2]}})", {}, "{\"dtype", errc::invalid_argument, "a"},
        {"empty name", "{\"\":{" + f32 + "[0,8]}}", eight, "\"\"", errc::invalid_argument, ""},
        {"metadata value not a string", R"({"__metadata__":{"k":1}})", {}, "1", errc::invalid_argument, ""},
        {"metadata not an object", R"({"__metadata__":"x"})", {}, "\"x\"", errc::invalid_argument, ""},
        // nesting deeper than the format has
        {"nested metadata", R"({"__metadata__":{"k":{"x":"y"}}})", {}, "{\"x", errc::invalid_argument, ""},
        {"nested shape", R"({"a":{"dtype":"F32","shape":[[2]],"data_offsets":[0,8]}})", eight, "[2]",
         errc::invalid_argument, "a"},
        {"deep nesting", "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}", {}, "[",
         errc::invalid_argument, "a"},
        {"deep objects", "{\"a\":{\"dtype\":" + std::string(1000, '{') + "}", {}, "{{", errc::invalid_argument, "a"},
        // sizes against offsets
        {"wrong byte length", "{\"a\":{" + f32 + "[0,4]}}", bytes(4, 0), "\"a\"", errc::invalid_argument, "a"},
        {"begin after end", "{\"a\":{" + f32 + "[8,0]}}", eight, "\"a\"", errc::invalid_argument, "a"},
        {"offsets past the data", "{\"a\":{" + f32 + "[0,8]}}", bytes(4, 0), "\"a\"", errc::invalid_argument, "a"},
        {"byte size past 64 bits",
         R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", {}, "\"a\"",
         errc::limit_exceeded, "a"},
        // padding and trailing garbage
        {"newline padding", entry_a + "  \n", eight, "\n", errc::invalid_argument, ""},
        {"tab padding", entry_a + "\t", eight, "\t", errc::invalid_argument, ""},
        {"garbage after the object", entry_a + "  x", eight, "x", errc::invalid_argument, ""},
        {"a second object", entry_a + "{}", eight, "{}", errc::invalid_argument, "", 10},
    };
    for (const hostile& h : cases) {
        CAPTURE(h.what);
        const auto r = refuse(st_file(h.header, h.data));
        CAPTURE(r.detail);
        CHECK(r.code == h.code);
        const std::uint64_t expected = h.at.empty()                 ? 8 + h.header.size()
                                       : h.from == std::string::npos ? 8 + h.header.rfind(h.at)
                                                                     : at(h.header, h.at, h.from);
        CHECK(r.offset == expected);
        CHECK(r.entry == h.entry);
        CHECK_FALSE(r.detail.empty());
    }

    // The data area: overlap, gap, trailing bytes. Offsets point into the data area.
    const std::string two = "{\"a\":{" + f32 + "[0,8]},\"b\":{" + f32;
    {
        const std::string header = two + "[4,12]}}";
        const auto r = refuse(st_file(header, bytes(12, 0)));
        CHECK(r.code == errc::invalid_argument);
        CHECK(r.offset == 8 + header.size() + 4);
        CHECK(r.entry == "b");
        CHECK(r.detail.find("overlap") != std::string::npos);
    }
    {
        const std::string header = two + "[12,20]}}";
        const auto r = refuse(st_file(header, bytes(20, 0)));
        CHECK(r.code == errc::invalid_argument);
        CHECK(r.offset == 8 + header.size() + 8);
        CHECK(r.entry == "b");
        CHECK(r.detail.find("gap") != std::string::npos);
    }
    {
        const auto r = refuse(st_file(entry_a, bytes(12, 0)));
        CHECK(r.code == errc::invalid_argument);
        CHECK(r.offset == 8 + entry_a.size() + 8);
        CHECK(r.detail.find("after the last") != std::string::npos);
    }
    {
        // A zero-size tensor inside another one's bytes overlaps it.
        const std::string header = two.substr(0, two.size() - f32.size()) +
                                   R"("dtype":"F32","shape":[0],"data_offsets":[4,4]}})";
        const auto r = refuse(st_file(header, eight));
        CHECK(r.offset == 8 + header.size() + 4);
        CHECK(r.entry == "b");
    }
    // Limits: rank and tensor count.
    {
        std::string shape = "[1";
        for (int i = 0; i < 64; ++i) shape += ",1";
        const std::string header = R"({"a":{"dtype":"F32","shape":)" + shape + R"(],"data_offsets":[0,4]}})";
        const auto r = refuse(st_file(header, bytes(4, 0)));
        CHECK(r.code == errc::limit_exceeded);
        CHECK(r.offset == 8 + header.find("],") - 1);  // the 65th dimension
        safetensors::limits few;
        few.max_tensors = 1;
        const auto counted = refuse(st_file(two + "[8,16]}}", bytes(16, 0)), few);
        CHECK(counted.code == errc::limit_exceeded);
        CHECK(counted.offset == at(two, "\"b\""));
    }
}


// ---- detection by content, and what a pickle loader would make of a safetensors file ---------

TEST_CASE("safetensors::detect: the 8-byte length and '{' decide, after the magic numbers torch.load tests first") {
    const auto detected = [](const bytes& file) {
        const auto found = safetensors::detect(memory_source(view_of(file)));
        REQUIRE(found);
        return *found;
    };
    CHECK(detected(st_file(entry_a, bytes(8, 0))));
    CHECK(detected(st_file("{}")));
    // A header length past the end still has the shape: the reader refuses it with its offset.
    CHECK(detected(st_file(entry_a, {}, 1000)));
    CHECK_FALSE(safetensors::read(view_of(st_file(entry_a, {}, 1000))));
    CHECK_FALSE(detected(st_file(entry_a, bytes(8, 0), 1)));                       // N < 2
    CHECK_FALSE(detected(st_file(" " + entry_a, bytes(8, 0))));                    // byte 8 is not '{'
    CHECK_FALSE(detected(st_file(entry_a, bytes(8, 0), std::uint64_t{1} << 40)));  // bytes 5-7 not zero
    CHECK_FALSE(detected(bytes{2, 0, 0, 0, 0, 0, 0, 0, '{'}));                     // 9 bytes: no room for "{}"
    // Magic numbers win whatever bytes 0-8 say: a zip, an .npy and a tar are never safetensors.
    bytes zip = st_file(entry_a, bytes(8, 0));
    std::memcpy(zip.data(), "PK\x03\x04", 4);
    zip[4] = zip[5] = zip[6] = zip[7] = 0;
    CHECK(load_le64(zip.data()) < (std::uint64_t{1} << 40));
    CHECK_FALSE(detected(zip));
    bytes npy = st_file(entry_a, bytes(8, 0));
    std::memcpy(npy.data(), "\x93NUMPY", 6);
    CHECK_FALSE(detected(npy));
    bytes tar = st_file(entry_a, bytes(600, 0));
    std::memcpy(tar.data() + 257, "ustar", 5);
    CHECK_FALSE(detected(tar));
    // Real checkpoints and pickles: none has the shape.
    for (const char* name : {"tests/fixtures/torch/mlp_state_dict.pt", "tests/fixtures/torch/protocol4.pt",
                             "tests/fixtures/torch/legacy/mlp.pt", "tests/fixtures/pickle/hostile/p3_pop_mark_decoys.pkl"}) {
        INFO(name);
        CHECK_FALSE(detected(brine_test::read_file(brine_test::source_path(name))));
    }
    // Every file the converter writes has it.
    const bytes input = brine_test::read_file(brine_test::source_path("tests/fixtures/torch/mlp_state_dict.pt"));
    bytes out;
    writer::safetensors_summary summary;
    REQUIRE(convert(input, out, summary));
    CHECK(detected(out));
}

namespace {

// A polyglot: N's low byte is 'V' (UNICODE, a text line), so a pickle loader reads through the
// header to the first '\n', in the tensor data of "t", then GLOBAL os.system and a call.
struct os_system_polyglot {
    bytes data;          // the tensor's bytes
    std::string header;  // the JSON header, padded
    bytes file;
};
os_system_polyglot make_os_system_polyglot() {
    os_system_polyglot out;
    const std::string payload = "\ncos\nsystem\n(S'true'\ntR.";
    out.data.assign(payload.begin(), payload.end());
    out.header = "{\"t\":{\"dtype\":\"U8\",\"shape\":[" + std::to_string(out.data.size()) +
                 "],\"data_offsets\":[0," + std::to_string(out.data.size()) + "]}}";
    while (out.header.size() % 256 != 'V') out.header += ' ';
    out.file = st_file(out.header, out.data);
    return out;
}

}  // namespace

TEST_CASE("read_as_pickle: how far a pickle loader gets into a safetensors file, and whether it meets code") {
    const os_system_polyglot made = make_os_system_polyglot();
    const std::string& header = made.header;
    const bytes& polyglot = made.file;
    REQUIRE(safetensors::read(view_of(polyglot)));  // a valid safetensors file
    const auto reading = safetensors::read_as_pickle(view_of(polyglot));
    CHECK(reading.names_code);
    CHECK(reading.op == pickle::opcode::GLOBAL);
    CHECK(reading.offset == 8 + header.size() + 1);

    // No '\n' after the text line: every loader runs out of input there.
    bytes no_newline = polyglot;
    no_newline[8 + header.size()] = ' ';
    for (std::size_t i = 8 + header.size(); i < no_newline.size(); ++i)
        if (no_newline[i] == '\n') no_newline[i] = ' ';
    CHECK_FALSE(safetensors::read_as_pickle(view_of(no_newline)).names_code);
    CHECK(safetensors::read_as_pickle(view_of(no_newline)).offset == 0);

    // Most files stop in the first 9 bytes: 0x00 and '{' are no opcodes.
    const bytes plain = st_file(entry_a, bytes(8, 0));  // N = 0x37: '7' is no opcode
    CHECK(safetensors::read_as_pickle(view_of(plain)).offset == 0);
    bytes none_stop = st_file("{}");
    store_le64(none_stop.data(), 0x2e4e);  // "N." then zeros: a pickle of None, no code
    const auto none_reading = safetensors::read_as_pickle(view_of(none_stop));
    CHECK_FALSE(none_reading.names_code);
    CHECK(none_reading.offset == 2);  // across STOP to the 0x00 after it
    // Lengths are followed: LONG1 over bytes 2-11, then STACK_GLOBAL at 12.
    bytes long1 = {0x8a, 10, 1, 1, 1, 1, 1, 1, '{', 1, 1, 1, 0x93, 0};
    CHECK(safetensors::read_as_pickle(view_of(long1)).names_code);
    CHECK(safetensors::read_as_pickle(view_of(long1)).offset == 12);
    // A negative BINSTRING length and PROTO above 5 stop every loader.
    const bytes negative = {'T', 0, 0, 0, 0x80, 'c'};
    CHECK(safetensors::read_as_pickle(view_of(negative)).offset == 0);
    CHECK_FALSE(safetensors::read_as_pickle(view_of(negative)).names_code);
    const bytes proto6 = {0x80, 6, 'c'};
    CHECK_FALSE(safetensors::read_as_pickle(view_of(proto6)).names_code);
    const bytes proto2 = {0x80, 2, 0x82, 1};
    CHECK(safetensors::read_as_pickle(view_of(proto2)).op == pickle::opcode::EXT1);
}

TEST_CASE("the writer pads every header so that the file's first byte is no pickle opcode") {
    const bytes floats(4, 0);
    for (std::size_t length = 1; length <= 300; ++length) {
        const std::string name(length, 'n');
        const std::vector<safetensors::tensor_to_write> tensors = {
            {name, safetensors::dtype::f32, {1}, view_of(floats), 0}};
        bytes file;
        vector_sink sink(file);
        REQUIRE(safetensors::write(tensors, {}, sink));
        INFO("name length " << length);
        CHECK_FALSE(pickle::is_opcode(file[0]));
        CHECK((load_le64(file.data()) + 8) % 8 == 0);
        const auto reading = safetensors::read_as_pickle(view_of(file));
        CHECK(reading.offset == 0);
        CHECK_FALSE(reading.names_code);
        CHECK(safetensors::read(view_of(file)));
    }
}

TEST_CASE("the disarmer reads safetensors through the one reconstruction step and rewrites it") {
    // A safetensors file made from a torch checkpoint, then disarmed like any input.
    const bytes checkpoint = brine_test::read_file(brine_test::source_path("tests/fixtures/torch/mlp_state_dict.pt"));
    bytes converted;
    writer::safetensors_summary summary;
    REQUIRE(convert(checkpoint, converted, summary));
    const auto input = safetensors::read(view_of(converted));
    REQUIRE(input);

    torch::disarmer d;
    bytes out;
    vector_sink sink(out);
    const auto done = d.disarm(view_of(converted), memory_source(view_of(converted)), sink);
    REQUIRE_MESSAGE(done, to_string(done.err().code), " ", done.err().detail);
    CHECK(done->format == "safetensors");
    CHECK(done->storages == input->tensors.size());
    CHECK(done->clean());
    CHECK(done->output_size == out.size());
    const auto rewritten = safetensors::read(view_of(out));
    REQUIRE(rewritten);
    REQUIRE(rewritten->tensors.size() == input->tensors.size());
    for (const auto& t : input->tensors) {
        CAPTURE(t.name);
        const auto* again = rewritten->find(t.name);
        REQUIRE(again);
        CHECK(again->type == t.type);
        CHECK(again->shape == t.shape);
        CHECK(bytes(again->data.begin(), again->data.end()) == bytes(t.data.begin(), t.data.end()));
    }

    // writer::safetensors writes a safetensors input the same way.
    bytes via_writer;
    writer::safetensors_summary unused;
    REQUIRE(convert(converted, via_writer, unused));
    CHECK(via_writer == out);

    // A seal is refused before anything is written: a safetensors file has no room for a manifest.
    mtd::seal_options options;
    torch::basic_disarmer<pickle::reader<>, policy::torch_weights_only, writer::torch_zip, mtd::sealer> sealing(
        {}, {}, mtd::sealer(mtd::secret_key{}, options));
    bytes never;
    vector_sink never_sink(never);
    const auto refused = sealing.disarm(view_of(converted), memory_source(view_of(converted)), never_sink);
    REQUIRE_FALSE(refused);
    CHECK(refused.err().code == errc::mtd_unsupported);
    CHECK(never.empty());

    // A disarmer whose Formats policy leaves safetensors out does not read it as safetensors.
    torch::basic_disarmer<pickle::reader<>, policy::torch_weights_only, writer::torch_zip, mtd::none,
                          torch::formats::checkpoints_only>
        only;
    const auto not_read = only.scan(view_of(converted));
    CHECK_FALSE((not_read && not_read->format == "safetensors"));
}

TEST_CASE("a safetensors file that is also a pickle reaching code: a finding, and the rewrite is no pickle") {
    const os_system_polyglot made = make_os_system_polyglot();
    const bytes& data = made.data;
    const std::string& header = made.header;
    const bytes& polyglot = made.file;
    REQUIRE(safetensors::read_as_pickle(view_of(polyglot)).names_code);

    torch::disarmer d;
    bytes out;
    vector_sink sink(out);
    const auto done = d.disarm(view_of(polyglot), memory_source(view_of(polyglot)), sink);
    REQUIRE_MESSAGE(done, to_string(done.err().code), " ", done.err().detail);
    REQUIRE(done->findings.size() == 1);
    CHECK(done->findings[0].op == pickle::opcode::GLOBAL);
    CHECK(done->findings[0].offset == 8 + header.size() + 1);
    CHECK_FALSE(safetensors::read_as_pickle(view_of(out)).names_code);
    const auto rewritten = safetensors::read(view_of(out));
    REQUIRE(rewritten);
    REQUIRE(rewritten->find("t"));
    CHECK(bytes(rewritten->find("t")->data.begin(), rewritten->find("t")->data.end()) == data);
}
