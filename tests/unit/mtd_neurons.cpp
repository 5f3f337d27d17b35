// Unit tests for neuron plans (permute_neurons): the plan text round-trips and its errors point at
// the offending byte, check_plan refuses every tensor a permutation could not move safely,
// infer_plan reads plain nn.Sequential chains (real torch fixtures and hand-built checkpoints) and
// refuses the rest, and permute_axis moves units so that a network computes the same function.
#include <brine/brine.hpp>
#include <doctest/doctest.h>

#include "test_files.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

using namespace brine;
using bytes = std::vector<std::uint8_t>;

namespace {

// ---- checkpoints ------------------------------------------------------------------------------

// A checkpoint's tensors read from a torch zip; the storage keys point into `evaluated`, so the
// object is filled in place and never moved.
struct loaded_checkpoint {
    bytes pickle;
    pickle::evaluation evaluated;
    torch::checkpoint found;
};

bool load_zip(const bytes& file, loaded_checkpoint& out) {
    const byte_view view(file.data(), file.size());
    const memory_source source(view);
    auto archive = zip::reader<memory_source>::open(source);
    if (!archive) {
        FAIL_CHECK("not a zip: ", to_string(archive.err().code));
        return false;
    }
    auto data_pkl = archive->find_record("data.pkl");
    if (!data_pkl) {
        FAIL_CHECK("no data.pkl");
        return false;
    }
    vector_sink sink(out.pickle);
    if (!archive->extract(**data_pkl, sink)) {
        FAIL_CHECK("data.pkl unreadable");
        return false;
    }
    const policy::torch_weights_only rules{};
    pickle::machine<policy::torch_weights_only> machine(rules);
    const status ran = machine.run(byte_view(out.pickle.data(), out.pickle.size()), out.evaluated);
    if (!ran) {
        FAIL_CHECK("pickle refused: ", to_string(ran.err().code));
        return false;
    }
    auto found = torch::find_tensors(out.evaluated.values);
    if (!found) {
        FAIL_CHECK("tensors refused: ", to_string(found.err().code));
        return false;
    }
    out.found = std::move(*found);
    return true;
}

bool load_fixture(const std::string& relative, loaded_checkpoint& out) {
    return load_zip(brine_test::read_file(brine_test::source_path("tests/fixtures/torch/" + relative)), out);
}

// A checkpoint made by hand: tensors with their own storages, or views of existing ones.
struct builder {
    std::deque<std::string> keys;  // storage_ref::key is a view
    torch::checkpoint found;

    static std::vector<std::int64_t> row_major(const std::vector<std::int64_t>& sizes) {
        std::vector<std::int64_t> strides(sizes.size(), 1);
        for (std::size_t d = sizes.size(); d-- > 1;) strides[d - 1] = strides[d] * sizes[d];
        return strides;
    }

    std::uint32_t storage(std::uint64_t numel, torch::dtype type = torch::dtype::float32) {
        keys.push_back(std::to_string(found.storages.size()));
        torch::storage_ref s;
        s.key = keys.back();
        s.type = type;
        s.numel = numel;
        s.location = "cpu";
        found.storages.push_back(s);
        found.by_key.emplace(s.key, static_cast<std::uint32_t>(found.storages.size() - 1));
        return static_cast<std::uint32_t>(found.storages.size() - 1);
    }

    torch::tensor_ref& view(const std::string& name, std::uint32_t storage_index, std::int64_t offset,
                            const std::vector<std::int64_t>& sizes, const std::vector<std::int64_t>& strides) {
        torch::tensor_ref t;
        t.name = name;
        t.storage = storage_index;
        t.type = found.storages[storage_index].type;
        t.storage_offset = offset;
        t.sizes = sizes;
        t.strides = strides;
        t.offset = 100 + found.tensors.size();
        bool empty = false;
        std::uint64_t last = 0;
        for (std::size_t d = 0; d < sizes.size(); ++d) {
            if (sizes[d] == 0) empty = true;
            else last += static_cast<std::uint64_t>((sizes[d] - 1) * strides[d]);
        }
        t.extent = empty ? 0 : last + 1;
        found.tensors.push_back(std::move(t));
        return found.tensors.back();
    }

    // A contiguous tensor of its own storage.
    torch::tensor_ref& add(const std::string& name, const std::vector<std::int64_t>& sizes,
                           torch::dtype type = torch::dtype::float32) {
        std::uint64_t numel = 1;
        for (const auto size : sizes) numel *= static_cast<std::uint64_t>(size);
        const std::uint32_t own = storage(numel, type);
        return view(name, own, 0, sizes, row_major(sizes));
    }
};

// ---- plans --------------------------------------------------------------------------------------

mtd::neuron_plan plan_of(const std::vector<std::vector<mtd::axis_member>>& axes) {
    mtd::neuron_plan plan;
    for (const auto& members : axes) {
        mtd::hidden_axis axis;
        axis.members = members;
        plan.axes.push_back(axis);
    }
    return plan;
}

struct parse_failure {
    errc code = errc::ok;
    std::uint64_t offset = 0;
};

parse_failure parse_error(std::string_view text) {
    const auto parsed = mtd::parse_plan(text);
    if (parsed) return {};
    return {parsed.err().code, parsed.err().offset};
}

struct check_failure {
    errc code = errc::ok;
    std::string entry;
};

check_failure check_error(mtd::neuron_plan plan, const torch::checkpoint& found) {
    const status checked = mtd::check_plan(plan, found);
    if (checked) return {};
    return {checked.err().code, std::string(checked.err().entry.view())};
}

check_failure infer_error(const torch::checkpoint& found) {
    const auto inferred = mtd::infer_plan(found);
    if (inferred) return {};
    return {inferred.err().code, std::string(inferred.err().entry.view())};
}

// ---- float networks -----------------------------------------------------------------------------

struct float_tensor {
    std::vector<std::int64_t> sizes;
    std::vector<float> values;
};
using float_model = std::map<std::string, float_tensor>;

float_tensor random_tensor(std::mt19937& rng, const std::vector<std::int64_t>& sizes, float low = -1.0f,
                           float high = 1.0f) {
    std::uniform_real_distribution<float> dist(low, high);
    float_tensor t;
    t.sizes = sizes;
    std::size_t n = 1;
    for (const auto s : sizes) n *= static_cast<std::size_t>(s);
    t.values.resize(n);
    for (auto& v : t.values) v = dist(rng);
    return t;
}

std::vector<std::uint32_t> random_permutation(std::mt19937& rng, std::size_t n) {
    std::vector<std::uint32_t> perm(n);
    std::iota(perm.begin(), perm.end(), 0u);
    std::shuffle(perm.begin(), perm.end(), rng);
    return perm;
}

mutable_byte_view bytes_of(std::vector<float>& values) {
    return {reinterpret_cast<std::uint8_t*>(values.data()), values.size() * sizeof(float)};
}

// Applies a checked plan: one permutation per hidden axis, to every member.
void apply_plan(const mtd::neuron_plan& plan, float_model& model, const std::vector<std::vector<std::uint32_t>>& perms,
                bool inverse) {
    std::vector<std::uint8_t> scratch;
    REQUIRE(perms.size() == plan.axes.size());
    for (std::size_t a = 0; a < plan.axes.size(); ++a) {
        for (const auto& m : plan.axes[a].members) {
            CAPTURE(m.tensor);
            auto it = model.find(m.tensor);
            REQUIRE(it != model.end());
            float_tensor& t = it->second;
            const status done =
                mtd::permute_axis(bytes_of(t.values), t.sizes, sizeof(float), m.axis, m.block, perms[a], inverse, scratch);
            REQUIRE_MESSAGE(done, done.err().detail);
        }
    }
}

// Hand-built checkpoint metadata for a float model (names in the map's order would sort "10"
// before "2": the order is given explicitly).
void describe(builder& b, const float_model& model, const std::vector<std::string>& order) {
    for (const auto& name : order) b.add(name, model.at(name).sizes);
}

bool close(double a, double b) { return std::fabs(a - b) <= 1e-6 * std::max(1.0, std::max(std::fabs(a), std::fabs(b))); }

// fc1 -> relu -> fc2 -> relu -> fc3 (Sequential indices 0, 2, 4).
std::vector<double> run_mlp(const float_model& m, const std::vector<float>& x) {
    std::vector<double> h(x.begin(), x.end());
    for (const char* layer : {"0", "2", "4"}) {
        const float_tensor& w = m.at(std::string(layer) + ".weight");
        const float_tensor& b = m.at(std::string(layer) + ".bias");
        const auto out = static_cast<std::size_t>(w.sizes[0]), in = static_cast<std::size_t>(w.sizes[1]);
        REQUIRE(in == h.size());
        std::vector<double> y(out);
        for (std::size_t o = 0; o < out; ++o) {
            double sum = b.values[o];
            for (std::size_t i = 0; i < in; ++i) sum += double(w.values[o * in + i]) * h[i];
            y[o] = layer[0] == '4' ? sum : std::max(0.0, sum);
        }
        h = std::move(y);
    }
    return h;
}

// conv (k x k, no padding) -> batchnorm -> relu -> flatten -> linear: indices 0, 1, 4.
std::vector<double> run_cnn(const float_model& m, const std::vector<float>& x, std::int64_t channels_in,
                            std::int64_t height, std::int64_t width) {
    const float_tensor& w = m.at("0.weight");
    const float_tensor& b = m.at("0.bias");
    const std::int64_t channels = w.sizes[0], k = w.sizes[2];
    const std::int64_t oh = height - k + 1, ow = width - k + 1;
    std::vector<double> features(static_cast<std::size_t>(channels * oh * ow));
    for (std::int64_t c = 0; c < channels; ++c)
        for (std::int64_t i = 0; i < oh; ++i)
            for (std::int64_t j = 0; j < ow; ++j) {
                double sum = b.values[static_cast<std::size_t>(c)];
                for (std::int64_t ci = 0; ci < channels_in; ++ci)
                    for (std::int64_t di = 0; di < k; ++di)
                        for (std::int64_t dj = 0; dj < k; ++dj)
                            sum += double(w.values[static_cast<std::size_t>(((c * channels_in + ci) * k + di) * k + dj)]) *
                                   x[static_cast<std::size_t>((ci * height + i + di) * width + j + dj)];
                const auto cc = static_cast<std::size_t>(c);
                const double mean = m.at("1.running_mean").values[cc], var = m.at("1.running_var").values[cc];
                const double normed = (sum - mean) / std::sqrt(var + 1e-5) * m.at("1.weight").values[cc] + m.at("1.bias").values[cc];
                features[static_cast<std::size_t>((c * oh + i) * ow + j)] = std::max(0.0, normed);
            }
    const float_tensor& fw = m.at("4.weight");
    const float_tensor& fb = m.at("4.bias");
    const auto out = static_cast<std::size_t>(fw.sizes[0]), in = static_cast<std::size_t>(fw.sizes[1]);
    REQUIRE(in == features.size());
    std::vector<double> y(out);
    for (std::size_t o = 0; o < out; ++o) {
        double sum = fb.values[o];
        for (std::size_t i = 0; i < in; ++i) sum += double(fw.values[o * in + i]) * features[i];
        y[o] = sum;
    }
    return y;
}

}  // namespace

// ---- plan text ---------------------------------------------------------------------------------

TEST_CASE("plan text: format writes one line per axis and parse reads it back equal") {
    const mtd::neuron_plan simple = plan_of({
        {{"fc1.weight", 0, 1}, {"fc1.bias", 0, 1}, {"fc2.weight", 1, 1}},
        {{"features.3.weight", 0, 1}, {"classifier.weight", 1, 16}},
    });
    const std::string text = mtd::format_plan(simple);
    CHECK(text == "fc1.weight:0 fc1.bias:0 fc2.weight:1\nfeatures.3.weight:0 classifier.weight:1:16\n");
    auto back = mtd::parse_plan(text);
    REQUIRE(back);
    CHECK(*back == simple);

    // Names with ':' (also ending in ':' and digits, which then need their block written), dots,
    // non-ASCII letters, large axes and blocks.
    const mtd::neuron_plan writable = plan_of({
        {{"a:b", 0, 1}, {"x:1", 2, 1}, {"weird:12:3", 0, 7}, {":5", 1, 1}, {"end:", 0, 1}},
        {{"layer.0.conv:weight", 3, 18446744073709551615ull}, {"poids_\xc3\xa9t\xc3\xa9.w", 4294967295u, 2}},
        {{"in.#middle", 0, 1}, {"a::0:", 1, 1}},
    });
    const std::string odd_text = mtd::format_plan(writable);
    CHECK(odd_text ==
          "a:b:0 x:1:2:1 weird:12:3:0:7 :5:1:1 end::0\n"
          "layer.0.conv:weight:3:18446744073709551615 poids_\xc3\xa9t\xc3\xa9.w:4294967295:2\n"
          "in.#middle:0 a::0::1\n");
    auto odd_back = mtd::parse_plan(odd_text);
    REQUIRE_MESSAGE(odd_back, odd_back.err().detail, " at ", odd_back.err().offset);
    CHECK(*odd_back == writable);
    CHECK(mtd::format_plan(*odd_back) == odd_text);
    // A name never starts with '#': such a line is a comment, and such a member an error.
    CHECK(parse_error("#in.middle:0 b:0\n").code == errc::ok);
    CHECK(parse_error("b:0 #in.middle:0\n").offset == 4);

    // Comments, blank lines, tabs, CRLF and runs of blanks; no final newline.
    const auto loose = mtd::parse_plan("# a plan\n\n  \t\r\n\tfc1.weight:0\t fc1.bias:0  fc2.weight:1\r\n   # indented\nc:0 d:1:4");
    REQUIRE(loose);
    CHECK(*loose == plan_of({{{"fc1.weight", 0, 1}, {"fc1.bias", 0, 1}, {"fc2.weight", 1, 1}}, {{"c", 0, 1}, {"d", 1, 4}}}));

    // Nothing but comments: an empty plan (check_plan refuses it).
    auto none = mtd::parse_plan("# nothing\n\n");
    REQUIRE(none);
    CHECK(none->axes.empty());
    CHECK(mtd::format_plan(*none).empty());
}

TEST_CASE("plan text: each error gives the byte offset of what is wrong") {
    CHECK(parse_error("fc.weight:x").offset == 10);
    CHECK(parse_error("fc.weight:x").code == errc::invalid_argument);
    CHECK(parse_error("a:0 fc.weight").offset == 4);                 // missing ':'
    CHECK(parse_error("a:0 b:1\nfc.weight").offset == 8);            // on the second line
    CHECK(parse_error("a:0 :1").offset == 4);                        // empty name
    CHECK(parse_error("a:0 :1:2").offset == 4);                      // empty name, with a block
    CHECK(parse_error("fc.weight:").offset == 10);                   // empty axis
    CHECK(parse_error("a:0 b:-1").offset == 6);                      // signed axis
    CHECK(parse_error("a:01").offset == 2);                          // leading zero
    CHECK(parse_error("a:1:0").offset == 4);                         // block 0
    CHECK(parse_error("a:1:007").offset == 4);                       // leading zeros
    CHECK(parse_error("a:4294967296").offset == 2);                  // axis >= 2^32
    CHECK(parse_error("a:4294967295").code == errc::ok);
    CHECK(parse_error("a:0:18446744073709551616").offset == 4);      // block >= 2^64
    CHECK(parse_error("ab\x01" "c:0").offset == 2);                  // a control character
    CHECK(parse_error("ab\x7f" "c:0").offset == 2);                  // DEL
    CHECK(parse_error("a:0 b\xc2\xa0" "c:0").offset == 5);           // no-break space
    CHECK(parse_error("a:0 b\xe2\x80\xa8" "c:0").offset == 5);       // line separator
    CHECK(parse_error("a:0 b\xc2\x85" "c:0").offset == 5);           // C1 control (NEL)
    CHECK(parse_error("a:0 b\v:0").offset == 5);                     // vertical tab is no blank
    CHECK(parse_error("a:0 b\xff:0").offset == 5);                   // not UTF-8
    CHECK(parse_error("a:0 b\xff:0").code == errc::invalid_argument);
    CHECK(parse_error("# \xc0\xaf\na:0").offset == 2);               // not UTF-8, even in a comment
    CHECK(parse_error("a\xc3\xa9:0").code == errc::ok);

    // Limits: names of 1024 bytes, 100000 axes, 1 MiB of text.
    const std::string longest(1024, 'n');
    CHECK(parse_error(longest + ":0").code == errc::ok);
    CHECK(parse_error("a:0 " + longest + "n:0").code == errc::limit_exceeded);
    CHECK(parse_error("a:0 " + longest + "n:0").offset == 4);
    std::string many;
    for (int i = 0; i < 100000; ++i) many += "a:0 b:0\n";
    CHECK(parse_error(many).code == errc::ok);
    CHECK(parse_error(many + "c:0\n").code == errc::limit_exceeded);
    CHECK(parse_error(many + "c:0\n").offset == 800000);
    CHECK(parse_error(many + "# only comments may follow\n\n").code == errc::ok);
    std::string huge(mtd::max_plan_text, '#');
    CHECK(parse_error(huge).code == errc::ok);
    huge += '\n';
    CHECK(parse_error(huge).code == errc::limit_exceeded);
}

// ---- check_plan ----------------------------------------------------------------------------------

TEST_CASE("check_plan fills the units and refuses what a permutation could not move safely") {
    builder b;
    b.add("fc1.weight", {8, 4});
    b.add("fc1.bias", {8});
    b.add("fc2.weight", {3, 8});
    b.add("conv.weight", {6, 2, 3, 3});
    b.add("fc3.weight", {5, 24});
    b.add("other", {7});
    const std::uint32_t shared = b.storage(12);
    b.view("shared_a", shared, 0, {12}, {1});
    b.view("shared_b", shared, 0, {3, 4}, {4, 1});
    const std::uint32_t grid = b.storage(12);
    b.view("transposed", grid, 0, {4, 3}, {1, 4});
    const std::uint32_t longer = b.storage(20);
    b.view("part", longer, 0, {4, 4}, {4, 1});  // leaves 4 elements of its storage out
    const std::uint32_t later = b.storage(20);
    b.view("offset", later, 4, {4, 4}, {4, 1});
    b.view("unit_dims", b.storage(6), 0, {6, 1, 1}, {1, 7, 1});  // size-1 strides do not matter
    b.add("empty", {0, 4});
    b.add("quantized", {8}, torch::dtype::qint8).kind = torch::layout::quantized;
    b.add("dup", {8});
    b.add("dup", {8});
    const torch::checkpoint& cp = b.found;

    mtd::neuron_plan ok = plan_of({
        {{"fc1.weight", 0, 1}, {"fc1.bias", 0, 1}, {"fc2.weight", 1, 1}},
        {{"conv.weight", 0, 1}, {"fc3.weight", 1, 4}},
        {{"fc2.weight", 0, 1}, {"unit_dims", 0, 2}},  // another axis of fc2.weight may move too
    });
    REQUIRE(mtd::check_plan(ok, cp));
    CHECK(ok.axes[0].units == 8);
    CHECK(ok.axes[1].units == 6);
    CHECK(ok.axes[2].units == 3);
    // A checked plan round-trips through text (units come back from check_plan).
    auto again = mtd::parse_plan(mtd::format_plan(ok));
    REQUIRE(again);
    REQUIRE(mtd::check_plan(*again, cp));
    CHECK(*again == ok);

    const auto refused = [&](const std::vector<std::vector<mtd::axis_member>>& axes) {
        return check_error(plan_of(axes), cp);
    };
    CHECK(check_error(mtd::neuron_plan{}, cp).code == errc::invalid_argument);
    CHECK(refused({{{"fc1.weight", 0, 1}}}).entry == "fc1.weight");                             // one member
    CHECK(refused({{{"fc1.weight", 0, 1}, {"fc9.weight", 1, 1}}}).entry == "fc9.weight");       // unknown
    CHECK(refused({{{"fc1.weight", 0, 1}, {"fc9.weight", 1, 1}}}).code == errc::invalid_argument);
    CHECK(refused({{{"fc1.weight", 0, 1}, {"other", 0, 1}}}).entry == "other");                 // 8 vs 7 units
    CHECK(refused({{{"fc1.weight", 0, 1}, {"fc2.weight", 2, 1}}}).entry == "fc2.weight");       // no axis 2
    CHECK(refused({{{"fc1.weight", 0, 1}, {"fc2.weight", 1, 3}}}).entry == "fc2.weight");       // 8 % 3
    CHECK(refused({{{"fc1.weight", 0, 1}, {"fc2.weight", 1, 0}}}).entry == "fc2.weight");       // block 0
    CHECK(refused({{{"fc1.weight", 0, 1}, {"fc1.weight", 0, 1}}}).entry == "fc1.weight");       // twice in one axis
    CHECK(refused({{{"fc1.weight", 0, 1}, {"fc2.weight", 1, 1}},
                   {{"fc2.weight", 1, 1}, {"fc1.bias", 0, 1}}})
              .entry == "fc2.weight");                                                          // in two axes
    CHECK(refused({{{"shared_a", 0, 1}, {"fc1.weight", 1, 3}}}).entry == "shared_a");           // shared storage
    CHECK(refused({{{"fc2.weight", 0, 1}, {"shared_b", 0, 1}}}).entry == "shared_b");
    CHECK(refused({{{"transposed", 0, 1}, {"fc1.weight", 1, 1}}}).entry == "transposed");       // not contiguous
    CHECK(refused({{{"part", 0, 1}, {"fc1.weight", 1, 1}}}).entry == "part");                   // part of a storage
    CHECK(refused({{{"offset", 0, 1}, {"fc1.weight", 1, 1}}}).entry == "offset");               // storage offset
    CHECK(refused({{{"empty", 1, 1}, {"fc1.weight", 1, 1}}}).entry == "empty");                 // no elements
    CHECK(refused({{{"quantized", 0, 1}, {"fc1.bias", 0, 1}}}).entry == "quantized");           // quantized
    CHECK(refused({{{"dup", 0, 1}, {"fc1.bias", 0, 1}}}).entry == "dup");                       // ambiguous name
    CHECK(refused({{{"fc1 .bias", 0, 1}, {"fc1.bias", 0, 1}}}).code == errc::invalid_argument); // unwritable name
    CHECK(refused({{{std::string(1025, 'x'), 0, 1}, {"fc1.bias", 0, 1}}}).code == errc::limit_exceeded);
    // Errors carry the offset of the tensor in its pickle.
    mtd::neuron_plan mismatch = plan_of({{{"fc1.weight", 0, 1}, {"other", 0, 1}}});
    const status why = mtd::check_plan(mismatch, cp);
    REQUIRE_FALSE(why);
    CHECK(why.err().offset == 105);
    CHECK(mismatch.axes[0].units == 0);  // untouched on failure
}

TEST_CASE("check_plan on real torch files: shared storages, views and quantized tensors are refused") {
    loaded_checkpoint views;
    REQUIRE(load_fixture("shared_views.pt", views));
    // 'other' and 'other_view' are one int32 storage.
    CHECK(check_error(plan_of({{{"other", 0, 1}, {"other_view", 1, 1}}}), views.found).entry == "other");
    CHECK(check_error(plan_of({{{"transposed", 1, 1}, {"row2", 0, 1}}}), views.found).entry == "transposed");
    CHECK(check_error(plan_of({{{"slice", 0, 1}, {"row2", 0, 1}}}), views.found).entry == "slice");

    loaded_checkpoint quantized;
    REQUIRE(load_fixture("benign/quantized.pt", quantized));
    CHECK(check_error(plan_of({{{"quint8", 0, 1}, {"qint32", 0, 1}}}), quantized.found).entry == "quint8");

    loaded_checkpoint mlp;
    REQUIRE(load_fixture("mlp_state_dict.pt", mlp));
    mtd::neuron_plan plan = plan_of({{{"0.weight", 0, 1}, {"0.bias", 0, 1}, {"2.weight", 1, 1}}});
    REQUIRE(mtd::check_plan(plan, mlp.found));
    CHECK(plan.axes[0].units == 8);
}

// ---- infer_plan -----------------------------------------------------------------------------------

TEST_CASE("infer_plan reads the chain of real nn.Sequential state dicts") {
    loaded_checkpoint mlp;  // Linear(4, 8), ReLU, Linear(8, 2)
    REQUIRE(load_fixture("mlp_state_dict.pt", mlp));
    auto mlp_plan = mtd::infer_plan(mlp.found);
    REQUIRE_MESSAGE(mlp_plan, mlp_plan.err().detail);
    CHECK(mtd::format_plan(*mlp_plan) == "0.weight:0 0.bias:0 2.weight:1\n");
    CHECK(mlp_plan->axes[0].units == 8);

    // Conv2d(1, 4), BatchNorm2d(4), ReLU, Conv2d(4, 6), BatchNorm2d(6), ReLU, AdaptiveAvgPool2d(1),
    // Flatten, Linear(6, 3): a pooled flatten gives one feature per channel.
    loaded_checkpoint cnn;
    REQUIRE(load_fixture("cnn_state_dict.pt", cnn));
    auto cnn_plan = mtd::infer_plan(cnn.found);
    REQUIRE_MESSAGE(cnn_plan, cnn_plan.err().detail);
    CHECK(mtd::format_plan(*cnn_plan) ==
          "0.weight:0 0.bias:0 1.weight:0 1.bias:0 1.running_mean:0 1.running_var:0 3.weight:1\n"
          "3.weight:0 3.bias:0 4.weight:0 4.bias:0 4.running_mean:0 4.running_var:0 8.weight:1\n");
    REQUIRE(cnn_plan->axes.size() == 2);
    CHECK(cnn_plan->axes[0].units == 4);
    CHECK(cnn_plan->axes[1].units == 6);

    // torch.save(model) of Conv2d(1, 2, 3), BatchNorm2d(2), ..., Linear(2, 2): its weights, as
    // `brine disarm --extract-weights` writes them.
    const bytes pickled = brine_test::read_file(brine_test::source_path("tests/fixtures/torch/module/sequential.pt"));
    torch::disarmer d;
    d.extract_weights(true);
    bytes extracted;
    vector_sink sink(extracted);
    const byte_view view(pickled.data(), pickled.size());
    REQUIRE(d.disarm(view, memory_source(view), sink));
    loaded_checkpoint module;
    REQUIRE(load_zip(extracted, module));
    auto module_plan = mtd::infer_plan(module.found);
    REQUIRE_MESSAGE(module_plan, module_plan.err().detail);
    CHECK(mtd::format_plan(*module_plan) ==
          "0.weight:0 0.bias:0 1.weight:0 1.bias:0 1.running_mean:0 1.running_var:0 4.weight:1\n");

    // Not Sequentials of leaf modules: refused, naming a tensor.
    for (const char* file : {"benign/densenet_tiny_state_dict.bin", "benign/vit_tiny_state_dict.pth",
                             "benign/regnet_tiny_state_dict.ckpt", "shared_views.pt", "benign/quantized.pt"}) {
        CAPTURE(file);
        loaded_checkpoint other;
        REQUIRE(load_fixture(file, other));
        const check_failure failure = infer_error(other.found);
        CHECK(failure.code == errc::invalid_argument);
        CHECK_FALSE(failure.entry.empty());
    }
    loaded_checkpoint regnet;
    REQUIRE(load_fixture("benign/regnet_tiny_state_dict.ckpt", regnet));
    CHECK(infer_error(regnet.found).entry.substr(0, 5) != "stem.");  // stem.N.* parse; the next prefix does not
}

TEST_CASE("infer_plan on hand-built chains") {
    SUBCASE("an MLP under a prefix, with a BatchNorm1d") {
        builder b;
        b.add("model.0.weight", {32, 16});
        b.add("model.0.bias", {32});
        b.add("model.2.weight", {24, 32});  // no bias, not square: a Linear
        b.add("model.3.weight", {24});      // BatchNorm1d(24)
        b.add("model.3.bias", {24});
        b.add("model.3.running_mean", {24});
        b.add("model.3.running_var", {24});
        b.add("model.3.num_batches_tracked", {}, torch::dtype::int64);
        b.add("model.5.weight", {4, 24});
        b.add("model.5.bias", {4});
        b.add("model.6.weight", {4});  // a LayerNorm after the last layer: not permuted, whatever it is
        b.add("model.6.bias", {4});
        auto plan = mtd::infer_plan(b.found);
        REQUIRE_MESSAGE(plan, plan.err().detail);
        CHECK(mtd::format_plan(*plan) ==
              "model.0.weight:0 model.0.bias:0 model.2.weight:1\n"
              "model.2.weight:0 model.3.weight:0 model.3.bias:0 model.3.running_mean:0 model.3.running_var:0 "
              "model.5.weight:1\n");
    }
    SUBCASE("conv + batchnorm chains, conv -> flatten -> linear in blocks") {
        builder b;
        b.add("0.weight", {8, 3, 3, 3});
        b.add("0.bias", {8});
        b.add("1.weight", {8});
        b.add("1.bias", {8});
        b.add("1.running_mean", {8});
        b.add("1.running_var", {8});
        b.add("1.num_batches_tracked", {}, torch::dtype::int64);
        b.add("4.weight", {16, 8, 3, 3});  // no bias
        b.add("5.running_mean", {16});     // BatchNorm2d(16, affine=False)
        b.add("5.running_var", {16});
        b.add("5.num_batches_tracked", {}, torch::dtype::int64);
        b.add("8.weight", {10, 16 * 4 * 4});
        b.add("8.bias", {10});
        auto plan = mtd::infer_plan(b.found);
        REQUIRE_MESSAGE(plan, plan.err().detail);
        CHECK(mtd::format_plan(*plan) ==
              "0.weight:0 0.bias:0 1.weight:0 1.bias:0 1.running_mean:0 1.running_var:0 4.weight:1\n"
              "4.weight:0 5.running_mean:0 5.running_var:0 8.weight:1:16\n");
        CHECK(plan->axes[1].units == 16);
    }
    SUBCASE("Conv1d -> flatten -> linear") {
        builder b;
        b.add("0.weight", {4, 2, 3});
        b.add("0.bias", {4});  // without it, a ConvTranspose1d(4, 2) would fit too
        b.add("2.weight", {3, 4 * 5});
        auto plan = mtd::infer_plan(b.found);
        REQUIRE_MESSAGE(plan, plan.err().detail);
        CHECK(mtd::format_plan(*plan) == "0.weight:0 0.bias:0 2.weight:1:5\n");
    }
    SUBCASE("refusals name the tensor") {
        const auto refusal = [](const std::vector<std::pair<std::string, std::vector<std::int64_t>>>& tensors) {
            builder b;
            for (const auto& [name, sizes] : tensors) b.add(name, sizes);
            return infer_error(b.found);
        };
        // in != out: not a plain chain.
        CHECK(refusal({{"0.weight", {8, 4}}, {"2.weight", {3, 9}}}).entry == "2.weight");
        // Linear -> Linear never moves in blocks.
        CHECK(refusal({{"0.weight", {8, 4}}, {"2.weight", {3, 16}}}).entry == "2.weight");
        // Conv -> conv taking a multiple of the channels, and a grouped conv.
        CHECK(refusal({{"0.weight", {8, 4, 3, 3}}, {"2.weight", {3, 16, 3, 3}}}).entry == "2.weight");
        CHECK(refusal({{"0.weight", {8, 4, 3, 3}}, {"2.weight", {8, 2, 3, 3}}}).entry == "2.weight");
        // Names of anything but a Sequential of leaf modules.
        CHECK(refusal({{"fc1.weight", {8, 4}}, {"fc2.weight", {3, 8}}}).entry == "fc1.weight");
        CHECK(refusal({{"0.weight", {8, 4}}, {"0.scale", {8}}, {"2.weight", {3, 8}}}).entry == "0.scale");
        CHECK(refusal({{"0.weight", {8, 4}}, {"weight", {8}}}).entry == "weight");
        CHECK(refusal({{"0.weight", {8, 4}}, {"02.weight", {3, 8}}}).entry == "02.weight");
        CHECK(refusal({{"a.0.weight", {8, 4}}, {"b.2.weight", {3, 8}}}).entry == "b.2.weight");
        CHECK(refusal({{"0.weight", {8, 4}}, {"x.2.weight", {3, 8}}}).entry == "x.2.weight");
        CHECK(refusal({{"x.0.weight", {8, 4}}, {"2.weight", {3, 8}}}).entry == "2.weight");
        CHECK(refusal({{"2.weight", {8, 4}}, {"0.weight", {3, 8}}}).entry == "0.weight");  // out of order
        CHECK(refusal({{"0.weight", {8, 4}}, {"2.weight", {3, 8}}, {"0.bias", {8}}}).entry == "0.bias");
        // Modules that are neither layers nor channel-wise normalizations.
        CHECK(refusal({{"0.weight", {8}}, {"1.weight", {8, 4}}, {"2.weight", {3, 8}}}).entry == "0.weight");
        CHECK(refusal({{"0.weight", {8, 4}}, {"1.weight", {7}}, {"2.weight", {3, 8}}}).entry == "1.weight");
        CHECK(refusal({{"0.weight", {8, 4}}, {"0.bias", {4}}, {"2.weight", {3, 8}}}).entry == "0.bias");
        CHECK(refusal({{"0.weight", {8, 4}}, {"0.running_mean", {8}}, {"2.weight", {3, 8}}}).entry == "0.running_mean");
        CHECK(refusal({{"0.weight", {8, 4}}, {"1.num_batches_tracked", {1}}, {"2.weight", {3, 8}}}).entry ==
              "1.num_batches_tracked");
        // GroupNorm looks like an affine-only normalization: refused after a convolution.
        CHECK(refusal({{"0.weight", {8, 4, 3, 3}}, {"0.bias", {8}}, {"1.weight", {8}}, {"1.bias", {8}},
                       {"2.weight", {3, 8, 3, 3}}})
                  .entry == "1.weight");
        // Nothing to permute.
        CHECK(refusal({{"0.weight", {8, 4}}, {"0.bias", {8}}, {"1.weight", {8}}}).entry == "0.weight");
        CHECK(refusal({}).code == errc::invalid_argument);
    }
    SUBCASE("a chain check_plan refuses: a storage shared by two layers") {
        builder b;
        b.add("0.weight", {8, 4});
        const std::uint32_t s = b.storage(16);
        b.view("2.weight", s, 0, {2, 8}, {8, 1});
        b.view("4.weight", s, 0, {8, 2}, {2, 1});
        CHECK(infer_error(b.found).entry == "2.weight");
    }
}

TEST_CASE("infer_plan refuses chains whose layers the state dict cannot tell apart (issue 20, part 4)") {
    using shapes = std::vector<std::pair<std::string, std::vector<std::int64_t>>>;
    const auto infer = [](const shapes& tensors) {
        builder b;
        for (const auto& [name, sizes] : tensors) {
            if (name.size() > 20 && name.compare(name.size() - 20, 20, "num_batches_tracked") == 0)
                b.add(name, sizes, torch::dtype::int64);
            else
                b.add(name, sizes);
        }
        return infer_error(b.found);
    };
    const auto unsupported = [&](const shapes& tensors, const std::string& entry) {
        builder b;
        for (const auto& [name, sizes] : tensors) b.add(name, sizes);
        const auto inferred = mtd::infer_plan(b.found);
        REQUIRE_FALSE(inferred);
        CHECK(inferred.err().code == errc::mtd_unsupported);
        CHECK(std::string(inferred.err().entry.view()) == entry);
        CHECK(std::string(inferred.err().detail).find("--permute neurons=PLAN") != std::string::npos);
    };

    SUBCASE("the three Sequentials that sealed with exit 0 and computed something else") {
        // Linear(16, 32), GroupNorm(4, 32), ReLU, Linear(32, 4): GroupNorm's weight and bias are a
        // LayerNorm's, and it normalizes groups of units together.
        unsupported({{"0.weight", {32, 16}}, {"0.bias", {32}}, {"1.weight", {32}}, {"1.bias", {32}},
                     {"3.weight", {4, 32}}, {"3.bias", {4}}},
                    "1.weight");
        // Conv2d(3, 8, 3), ReLU, ConvTranspose2d(8, 8, 3), ReLU, Conv2d(8, 4, 3): [8, 8, 3, 3] reads
        // as a Conv2d(8, 8) too.
        unsupported({{"0.weight", {8, 3, 3, 3}}, {"0.bias", {8}}, {"2.weight", {8, 8, 3, 3}}, {"2.bias", {8}},
                     {"4.weight", {4, 8, 3, 3}}, {"4.bias", {4}}},
                    "2.weight");
        // ConvTranspose2d(4, 4, 3), ReLU, Conv2d(4, 6, 3) as the first layer.
        unsupported({{"0.weight", {4, 4, 3, 3}}, {"0.bias", {4}}, {"2.weight", {6, 4, 3, 3}}, {"2.bias", {6}}},
                    "0.weight");
        // Embedding(10, 10), Linear(10, 3): the embedding's outputs are its dim 1.
        unsupported({{"0.weight", {10, 10}}, {"1.weight", {3, 10}}, {"1.bias", {3}}}, "0.weight");
    }
    SUBCASE("other readings the shapes allow") {
        // LayerNorm(32) between Linears: refused like the GroupNorm it looks like.
        unsupported({{"0.weight", {32, 16}}, {"0.bias", {32}}, {"1.weight", {32}}, {"1.bias", {32}},
                     {"2.weight", {4, 32}}},
                    "1.weight");
        // A square bias-free Linear in the middle (or a LayerNorm((8, 8), bias=False)).
        unsupported({{"0.weight", {8, 4}}, {"0.bias", {8}}, {"2.weight", {8, 8}}, {"4.weight", {3, 8}}}, "2.weight");
        // ConvTranspose2d(4, 8) without bias, Flatten, Linear(8 * 25, 5): the Linear's inputs are a
        // multiple of both 4 and 8.
        unsupported({{"0.weight", {4, 8, 3, 3}}, {"2.weight", {5, 8 * 25}}}, "0.weight");
        // ConvTranspose1d(8, 4), ConvTranspose1d(4, 8), bias-free: each fits the other's reading.
        unsupported({{"0.weight", {8, 4, 3}}, {"1.weight", {4, 8, 3}}}, "0.weight");
        // A convolution after a Linear, and convolutions of different ranks.
        unsupported({{"0.weight", {8, 4}}, {"0.bias", {8}}, {"2.weight", {3, 8, 3}}, {"2.bias", {3}}}, "2.weight");
        unsupported({{"0.weight", {8, 4, 3, 3}}, {"0.bias", {8}}, {"2.weight", {3, 8, 3}}, {"2.bias", {3}}},
                    "2.weight");
        // Conv1d(2, 4) then a bias-free [4, 20]: a Linear(20, ...) after Flatten, or a
        // LayerNorm((4, 20), bias=False) over (channels, length).
        unsupported({{"0.weight", {4, 2, 3}}, {"0.bias", {4}}, {"2.weight", {4, 20}}}, "2.weight");
    }
    SUBCASE("MLPs and Conv-BN-ReLU chains still infer") {
        CHECK(infer({{"0.weight", {32, 16}}, {"0.bias", {32}}, {"2.weight", {32, 32}}, {"2.bias", {32}},
                     {"4.weight", {4, 32}}, {"4.bias", {4}}})
                  .code == errc::ok);
        CHECK(infer({{"0.weight", {32, 16}}, {"2.weight", {8, 32}}, {"4.weight", {4, 8}}}).code == errc::ok);
        CHECK(infer({{"0.weight", {8, 3, 3, 3}}, {"1.weight", {8}}, {"1.bias", {8}}, {"1.running_mean", {8}},
                     {"1.running_var", {8}}, {"1.num_batches_tracked", {}}, {"3.weight", {16, 8, 3, 3}},
                     {"4.weight", {16}}, {"4.bias", {16}}, {"4.running_mean", {16}}, {"4.running_var", {16}},
                     {"4.num_batches_tracked", {}}, {"8.weight", {10, 16 * 4 * 4}}, {"8.bias", {10}}})
                  .code == errc::ok);
        CHECK(infer({{"0.weight", {16, 4, 3, 3, 3}}, {"0.bias", {16}}, {"2.weight", {8, 16, 3, 3, 3}},
                     {"2.bias", {8}}, {"5.weight", {2, 8}}, {"5.bias", {2}}})
                  .code == errc::ok);
    }
}

// ---- permute_axis ---------------------------------------------------------------------------------

TEST_CASE("permute_axis: a permuted MLP computes the same function, and the inverse restores its bytes") {
    std::mt19937 rng(20240611);
    float_model model;
    model["0.weight"] = random_tensor(rng, {32, 16});
    model["0.bias"] = random_tensor(rng, {32});
    model["2.weight"] = random_tensor(rng, {24, 32});
    model["2.bias"] = random_tensor(rng, {24});
    model["4.weight"] = random_tensor(rng, {4, 24});
    model["4.bias"] = random_tensor(rng, {4});
    builder b;
    describe(b, model, {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"});
    auto plan = mtd::infer_plan(b.found);
    REQUIRE_MESSAGE(plan, plan.err().detail);
    REQUIRE(plan->axes.size() == 2);
    CHECK(mtd::format_plan(*plan) == "0.weight:0 0.bias:0 2.weight:1\n2.weight:0 2.bias:0 4.weight:1\n");

    std::vector<std::vector<float>> inputs;
    for (int i = 0; i < 8; ++i) inputs.push_back(random_tensor(rng, {16}).values);
    std::vector<std::vector<double>> expected;
    for (const auto& x : inputs) expected.push_back(run_mlp(model, x));

    const float_model original = model;
    const std::vector<std::vector<std::uint32_t>> perms = {random_permutation(rng, 32), random_permutation(rng, 24)};
    apply_plan(*plan, model, perms, false);
    CHECK(model.at("0.weight").values != original.at("0.weight").values);
    CHECK(model.at("4.weight").values != original.at("4.weight").values);
    CHECK(model.at("4.bias").values == original.at("4.bias").values);  // the outputs stay in place
    // Row u of fc1 is the original row perm[u].
    for (std::size_t u = 0; u < 32; ++u)
        CHECK(std::memcmp(&model.at("0.weight").values[u * 16], &original.at("0.weight").values[perms[0][u] * 16],
                          16 * sizeof(float)) == 0);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const auto y = run_mlp(model, inputs[i]);
        for (std::size_t o = 0; o < y.size(); ++o) CHECK(close(y[o], expected[i][o]));
    }
    // A wrong plan (fc1's rows only) changes the function: the check above can fail.
    float_model broken = original;
    apply_plan(plan_of({{{"0.weight", 0, 1}, {"0.bias", 0, 1}}}), broken, {perms[0]}, false);
    bool differs = false;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const auto y = run_mlp(broken, inputs[i]);
        for (std::size_t o = 0; o < y.size(); ++o) differs = differs || !close(y[o], expected[i][o]);
    }
    CHECK(differs);

    apply_plan(*plan, model, perms, true);
    for (const auto& entry : original) {
        CAPTURE(entry.first);
        const auto& restored = model.at(entry.first).values;
        CHECK(std::memcmp(restored.data(), entry.second.values.data(), restored.size() * sizeof(float)) == 0);
    }
}

TEST_CASE("permute_axis: conv + batchnorm -> flatten -> linear, channels moving in blocks of H*W") {
    std::mt19937 rng(7);
    const std::int64_t cin = 3, channels = 5, k = 3, height = 6, width = 5;
    const std::int64_t s = (height - k + 1) * (width - k + 1);  // 4 x 3 = 12 features per channel
    float_model model;
    model["0.weight"] = random_tensor(rng, {channels, cin, k, k});
    model["0.bias"] = random_tensor(rng, {channels});
    model["1.weight"] = random_tensor(rng, {channels}, 0.5f, 1.5f);
    model["1.bias"] = random_tensor(rng, {channels});
    model["1.running_mean"] = random_tensor(rng, {channels});
    model["1.running_var"] = random_tensor(rng, {channels}, 0.5f, 2.0f);
    model["4.weight"] = random_tensor(rng, {7, channels * s});
    model["4.bias"] = random_tensor(rng, {7});
    builder b;
    describe(b, model, {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"});
    b.add("1.num_batches_tracked", {}, torch::dtype::int64);
    describe(b, model, {"4.weight", "4.bias"});
    auto plan = mtd::infer_plan(b.found);
    REQUIRE_MESSAGE(plan, plan.err().detail);
    CHECK(mtd::format_plan(*plan) ==
          "0.weight:0 0.bias:0 1.weight:0 1.bias:0 1.running_mean:0 1.running_var:0 4.weight:1:12\n");

    const auto x = random_tensor(rng, {cin, height, width}).values;
    const auto expected = run_cnn(model, x, cin, height, width);
    const float_model original = model;
    const std::vector<std::vector<std::uint32_t>> perms = {{3, 0, 4, 1, 2}};
    apply_plan(*plan, model, perms, false);
    const auto y = run_cnn(model, x, cin, height, width);
    for (std::size_t o = 0; o < y.size(); ++o) CHECK(close(y[o], expected[o]));
    CHECK(model.at("4.weight").values != original.at("4.weight").values);
    // Blocks of 12 columns moved together: column u*12 + j is the original perm[u]*12 + j.
    const auto& moved = model.at("4.weight").values;
    const auto& before = original.at("4.weight").values;
    for (std::size_t o = 0; o < 7; ++o)
        for (std::size_t u = 0; u < 5; ++u)
            for (std::size_t j = 0; j < 12; ++j)
                CHECK(moved[o * 60 + u * 12 + j] == before[o * 60 + perms[0][u] * 12 + j]);
    // Moving the Linear's columns one by one instead breaks it.
    float_model wrong = original;
    apply_plan(plan_of({{{"0.weight", 0, 1}, {"0.bias", 0, 1}, {"1.weight", 0, 1}, {"1.bias", 0, 1},
                         {"1.running_mean", 0, 1}, {"1.running_var", 0, 1}}}),
               wrong, perms, false);
    const auto y_wrong = run_cnn(wrong, x, cin, height, width);
    bool differs = false;
    for (std::size_t o = 0; o < y_wrong.size(); ++o) differs = differs || !close(y_wrong[o], expected[o]);
    CHECK(differs);

    apply_plan(*plan, model, perms, true);
    for (const auto& [name, t] : original) CHECK(model.at(name).values == t.values);
}

TEST_CASE("permute_axis: element by element on a 4-D tensor, blocks, and what it refuses") {
    // [2, 6, 3, 2] int32 holding each element's own index, permuted along axis 1.
    const std::vector<std::int64_t> sizes = {2, 6, 3, 2};
    std::vector<std::int32_t> data(2 * 6 * 3 * 2);
    std::iota(data.begin(), data.end(), 0);
    const std::vector<std::int32_t> original = data;
    const mutable_byte_view view(reinterpret_cast<std::uint8_t*>(data.data()), data.size() * 4);
    std::vector<std::uint8_t> scratch;
    const std::vector<std::uint32_t> perm = {2, 5, 0, 1, 3, 4};  // cycles (0 2)(1 5 4 3)
    REQUIRE(mtd::permute_axis(view, sizes, 4, 1, 1, perm, false, scratch));
    for (std::size_t o = 0; o < 2; ++o)
        for (std::size_t u = 0; u < 6; ++u)
            for (std::size_t i = 0; i < 6; ++i) CHECK(data[(o * 6 + u) * 6 + i] == original[(o * 6 + perm[u]) * 6 + i]);
    REQUIRE(mtd::permute_axis(view, sizes, 4, 1, 1, perm, true, scratch));
    CHECK(data == original);
    // The inverse alone: output unit perm[u] = input unit u.
    REQUIRE(mtd::permute_axis(view, sizes, 4, 1, 1, perm, true, scratch));
    for (std::size_t o = 0; o < 2; ++o)
        for (std::size_t u = 0; u < 6; ++u)
            for (std::size_t i = 0; i < 6; ++i) CHECK(data[(o * 6 + perm[u]) * 6 + i] == original[(o * 6 + u) * 6 + i]);
    REQUIRE(mtd::permute_axis(view, sizes, 4, 1, 1, perm, false, scratch));
    CHECK(data == original);

    // Blocks of 2 along axis 1: 3 units of 2 indices each; axis 0 and the last axis too.
    const std::vector<std::uint32_t> three = {1, 2, 0};
    REQUIRE(mtd::permute_axis(view, sizes, 4, 1, 2, three, false, scratch));
    for (std::size_t o = 0; o < 2; ++o)
        for (std::size_t u = 0; u < 3; ++u)
            for (std::size_t i = 0; i < 12; ++i)
                CHECK(data[(o * 6 + u * 2) * 6 + i] == original[(o * 6 + three[u] * 2) * 6 + i]);
    REQUIRE(mtd::permute_axis(view, sizes, 4, 1, 2, three, true, scratch));
    CHECK(data == original);
    REQUIRE(mtd::permute_axis(view, sizes, 4, 0, 1, {1, 0}, false, scratch));
    CHECK(data[0] == 36);
    REQUIRE(mtd::permute_axis(view, sizes, 4, 0, 1, {1, 0}, true, scratch));
    REQUIRE(mtd::permute_axis(view, sizes, 4, 3, 1, {1, 0}, false, scratch));
    CHECK(data[0] == 1);
    CHECK(data[1] == 0);
    REQUIRE(mtd::permute_axis(view, sizes, 4, 3, 1, {1, 0}, false, scratch));
    CHECK(data == original);

    // Random permutations of random shapes: forward then inverse is the identity, byte for byte.
    std::mt19937 rng(3);
    for (int round = 0; round < 50; ++round) {
        std::vector<std::int64_t> shape(1 + rng() % 4);
        for (auto& d : shape) d = 1 + static_cast<std::int64_t>(rng() % 5);
        const auto axis = static_cast<unsigned>(rng() % shape.size());
        const std::uint64_t block = 1 + rng() % 3;
        shape[axis] *= static_cast<std::int64_t>(block);
        const std::size_t item = std::size_t(1) << (rng() % 4);
        std::size_t n = item;
        for (const auto d : shape) n *= static_cast<std::size_t>(d);
        bytes values(n);
        for (auto& v : values) v = static_cast<std::uint8_t>(rng());
        const bytes kept = values;
        const auto p = random_permutation(rng, static_cast<std::size_t>(shape[axis]) / block);
        const mutable_byte_view v(values.data(), values.size());
        REQUIRE(mtd::permute_axis(v, shape, item, axis, block, p, false, scratch));
        REQUIRE(mtd::permute_axis(v, shape, item, axis, block, p, true, scratch));
        CHECK(values == kept);
    }

    // Refusals: nothing is moved.
    const auto refused = [&](const std::vector<std::int64_t>& s, std::size_t item, unsigned axis, std::uint64_t block,
                             const std::vector<std::uint32_t>& p) {
        const status done = mtd::permute_axis(view, s, item, axis, block, p, false, scratch);
        return !done && data == original;
    };
    CHECK(refused(sizes, 4, 4, 1, {0, 1}));                     // no axis 4
    CHECK(refused(sizes, 4, 1, 4, {0}));                        // 6 % 4
    CHECK(refused(sizes, 4, 1, 0, {}));                         // block 0
    CHECK(refused(sizes, 4, 1, 1, {0, 1, 2, 3, 4}));            // too few
    CHECK(refused(sizes, 4, 1, 1, {0, 1, 2, 3, 4, 4}));         // a repeat
    CHECK(refused(sizes, 4, 1, 1, {0, 1, 2, 3, 4, 6}));         // out of range
    CHECK(refused(sizes, 8, 1, 1, perm));                       // wrong byte size
    CHECK(refused(sizes, 0, 1, 1, perm));                       // no item size
    CHECK(refused({2, 6, 3, -2}, 4, 1, 1, perm));               // negative size
    CHECK(refused({2, 6, 3, 4}, 4, 1, 1, perm));                // more bytes than given

    // Empty tensors and identity permutations move nothing.
    std::vector<std::uint8_t> none;
    CHECK(mtd::permute_axis(mutable_byte_view(none.data(), 0), {0, 3}, 4, 1, 1, {2, 0, 1}, false, scratch));
    CHECK(mtd::permute_axis(view, sizes, 4, 1, 1, {0, 1, 2, 3, 4, 5}, false, scratch));
    CHECK(data == original);
}
