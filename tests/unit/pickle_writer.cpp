// Unit tests for the reconstruction writer: what it writes evaluates to the same graph with
// nothing blocked; blocked values are left out (None in their place, dropped dict entries); output is canonical.
#include <brine/brine.hpp>
#include <doctest/doctest.h>

#include "pickle_testing.hpp"

#include <string>
#include <string_view>
#include <vector>

using namespace brine;
using brine_test::describe;
using brine_test::evaluate;

namespace {
template <std::size_t N>
constexpr std::string_view P(const char (&bytes)[N]) {
    return {bytes, N - 1};
}

struct rewritten {
    std::string bytes;
    pickle::write_stats stats;
};

result<rewritten> rewrite(const pickle::evaluation& e) {
    std::vector<std::uint8_t> out;
    pickle::writer w(e.values);
    auto stats = w.write(out);
    if (!stats) return stats.err();
    return rewritten{std::string(out.begin(), out.end()), *stats};
}

// Evaluate, rewrite, evaluate the rewrite: the graphs print the same and nothing is blocked.
std::string round_trip(std::string_view pickle) {
    auto first = evaluate(pickle);
    REQUIRE_MESSAGE(first, to_string(first.err().code));
    auto output = rewrite(*first);
    REQUIRE_MESSAGE(output, to_string(output.err().code));
    auto second = evaluate(output->bytes);
    REQUIRE_MESSAGE(second, to_string(second.err().code));
    CHECK(second->values.findings().empty());
    CHECK(describe(*second) == describe(*first));
    // Canonical: rewriting the rewrite changes nothing.
    auto again = rewrite(*second);
    REQUIRE(again);
    CHECK(again->bytes == output->bytes);
    return output->bytes;
}
}  // namespace

TEST_CASE("CPython pickles of every protocol round-trip through the writer") {
    round_trip(P("\x80\x02\x28\x4e\x88\x89\x4b\x07\x4a\xfd\xff\xff\xff\x4d\x2c\x01\x4a\x70\x11\x01\x00\x8a\x06\x00\x00"
                 "\x00\x00\x00\x01\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\xc0\x47\x3f\xf8\x00\x00\x00\x00\x00\x00"
                 "\x58\x06\x00\x00\x00\x68\xc3\xa9\x6c\x6c\x6f\x71\x00\x74\x71\x01\x2e"));
    round_trip(P("\x28\x64\x70\x30\x0a\x56\x6b\x0a\x70\x31\x0a\x28\x6c\x70\x32\x0a\x49\x31\x0a\x61\x56\x74\x77\x6f"
                 "\x0a\x70\x33\x0a\x61\x46\x33\x2e\x30\x0a\x61\x4e\x61\x73\x2e"));
    round_trip(P("\x80\x02\x63\x63\x6f\x6c\x6c\x65\x63\x74\x69\x6f\x6e\x73\x0a\x4f\x72\x64\x65\x72\x65\x64\x44\x69"
                 "\x63\x74\x0a\x71\x00\x29\x52\x71\x01\x28\x58\x01\x00\x00\x00\x61\x71\x02\x4b\x01\x58\x01\x00\x00"
                 "\x00\x62\x71\x03\x5d\x71\x04\x28\x4b\x02\x4b\x03\x65\x75\x2e"));
}

TEST_CASE("shared values are memoized once and stay shared; list cycles are kept") {
    const std::string shared = round_trip(P("\x80\x02\x5d\x71\x00\x28\x5d\x71\x01\x4b\x01\x61\x68\x01\x65\x2e"));
    // The inner list is shared: one BINPUT, one BINGET.
    CHECK(shared.find('q') != std::string::npos);
    CHECK(shared.find('h') != std::string::npos);
    const std::string cycle = round_trip(P("]q\x00h\x00" "a."));
    // What CPython writes for L = []; L.append(L): a list of one item is item APPEND.
    CHECK(cycle == std::string(P("\x80\x02]q\x00h\x00" "a.")));
}

TEST_CASE("the writer picks the lowest protocol that holds the values without calling a global") {
    auto bytes_value = evaluate(P("\x80\x03" "C\x03" "abc."));
    REQUIRE(bytes_value);
    auto out = rewrite(*bytes_value);
    REQUIRE(out);
    CHECK(out->stats.protocol == 3);
    auto set_value = evaluate(P("\x80\x04\x8f(K\x01K\x02\x90."));
    REQUIRE(set_value);
    out = rewrite(*set_value);
    REQUIRE(out);
    CHECK(out->stats.protocol == 4);
    round_trip(P("\x80\x04\x8f(K\x01K\x02\x90."));
    round_trip(P("\x80\x05\x96\x02\x00\x00\x00\x00\x00\x00\x00hi."));
    round_trip(P("\x80\x02U\x03" "abc."));  // a Python 2 str stays one
}

TEST_CASE("blocked values: dict entries dropped, sequence items become None, a blocked root refused") {
    // {'ok': 1, 'bad': os.system, os.system: 2, 'list': [os.system, 3]}
    auto mixed = evaluate(P("}(X\x02\x00\x00\x00okK\x01X\x03\x00\x00\x00" "badcos\nsystem\n"
                            "cos\nsystem\nK\x02X\x04\x00\x00\x00list](cos\nsystem\nK\x03" "eu."));
    REQUIRE(mixed);
    CHECK(mixed->values.findings().size() == 3);
    auto out = rewrite(*mixed);
    REQUIRE(out);
    CHECK(out->stats.dropped_entries == 2);
    CHECK(out->stats.replaced_items == 1);
    auto clean = evaluate(out->bytes);
    REQUIRE(clean);
    CHECK(clean->values.findings().empty());
    CHECK(describe(*clean) == "#1=dict('ok', 1, 'list', #2=list(None, 3))");
    CHECK(out->bytes.find("system") == std::string::npos);

    auto root = evaluate(P("cos\nsystem\n(X\x02\x00\x00\x00lstR."));
    REQUIRE(root);
    auto refused = rewrite(*root);
    REQUIRE_FALSE(refused);
    CHECK(refused.err().code == errc::pickle_root_blocked);
}

TEST_CASE("cycles through tuples and calls are written as CPython writes them") {
    // L = []; t = (L,); L.append(t); root t  -> the tuple is written nested, the outer copy popped
    const std::string tuple_cycle = round_trip(P("]q\x00h\x00\x85q\x01h\x00h\x01" "a0."));
    CHECK(tuple_cycle == std::string(P("\x80\x02]q\x00h\x00\x85q\x01" "a0h\x01.")));  // pickle.dumps(t, 2)
    // od = OrderedDict(); od['self'] = od
    round_trip(P("\x80\x02" "ccollections\nOrderedDict\n)Rq\x00X\x04\x00\x00\x00selfh\x00s."));
    // (A call whose argument list later contains the call itself is refused by the machine: the
    // list changed after the call took it. See pickle_machine.cpp.)
}

TEST_CASE("long lists and dicts are written in batches of 1000, as CPython does") {
    std::string many = "\x80\x02](";
    for (int i = 0; i < 2500; ++i) many += "K\x01";
    many += "e.";
    const std::string out = round_trip(many);
    std::size_t appends = 0;
    for (std::size_t at = out.find('e'); at != std::string::npos; at = out.find('e', at + 1)) ++appends;
    CHECK(appends == 3);
}

TEST_CASE("a refusal after a call was made leaves no unfaithful call in the output (found by fuzzing)") {
    // [bytearray(), ...] then BUILD on the bytearray global itself: the refused BUILD blocks the
    // global in place, so the call made earlier would be written as None() — a call of None.
    // It is written as None instead, and the output re-reads with nothing refused.
    const auto input = P("\x80\x03]q\x00(c" "builtins\nbytearray\nq\x01)Rq\x02h\x01" "C\x05" "abc\x00\xff" "q\x03\x85q\x63" "bq\x05" "e.");
    auto first = evaluate(input);
    REQUIRE(first);
    CHECK(first->values.findings().size() == 1);
    auto output = rewrite(*first);
    REQUIRE(output);
    auto second = evaluate(output->bytes);
    REQUIRE(second);
    CHECK(second->values.findings().empty());
    CHECK(describe(*second) == "#1=list(None, None)");
    auto again = rewrite(*second);
    REQUIRE(again);
    CHECK(again->bytes == output->bytes);
}

TEST_CASE("a call whose SETITEM entries are all dropped is not memoized (canonical output, found by fuzzing)") {
    // OrderedDict() with one entry whose value is a refused persistent id: the entry is dropped,
    // and the call is written exactly as a call without entries would be.
    const auto input = P("\x80\x02" "ccollections\nOrderedDict\n(tR(X\x01\x00\x00\x00s(X\x07\x00\x00\x00storage"
                         "ctorch\nFloatStorage\nX\x01\x00\x00\x00" "1X\x03\x00\x00\x00" "cpuK\x02tQ}(X\x01\x00\x00\x00m\x88ubu.");
    auto first = evaluate(input);
    REQUIRE(first);
    CHECK_FALSE(first->values.findings().empty());
    auto output = rewrite(*first);
    REQUIRE(output);
    CHECK(output->bytes == std::string(P("\x80\x02" "ccollections\nOrderedDict\n)R.")));
    CHECK(output->stats.dropped_entries == 1);
}

TEST_CASE("a value shared only through a dropped entry is not memoized (canonical output, found by fuzzing)") {
    // {'k': 'v', 'v': os.system}: the second entry is dropped, so the one 'v' node is referenced
    // once in the output and needs no memo slot.
    const auto input = P("\x80\x02}(X\x01\x00\x00\x00kX\x01\x00\x00\x00vq\x00h\x00" "cos\nsystem\nu.");
    auto first = evaluate(input);
    REQUIRE(first);
    CHECK(describe(*first) == "#1=dict('k', 'v', 'v', BLOCKED)");
    auto output = rewrite(*first);
    REQUIRE(output);
    CHECK(output->stats.dropped_entries == 1);
    CHECK(output->bytes.find(std::string(P("\x01\x00\x00\x00vq"))) == std::string::npos);
    auto second = evaluate(output->bytes);
    REQUIRE(second);
    CHECK(describe(*second) == "#1=dict('k', 'v')");
    auto again = rewrite(*second);
    REQUIRE(again);
    CHECK(again->bytes == output->bytes);
}

namespace {
struct shallow_limits : pickle::limits::standard {
    static constexpr std::uint64_t max_mark_depth = 64;
    static constexpr std::uint64_t max_stack_size = 256;
};
struct deep_marks : shallow_limits {
    static constexpr std::uint64_t max_mark_depth = 10000;
};

template <class Limits>
result<pickle::evaluation> evaluate_within(std::string_view bytes) {
    const policy::torch_weights_only rules;
    return pickle::machine<policy::torch_weights_only, Limits>(rules).run(as_bytes(bytes));
}

// Writes under the limits `Limits` and reads the output back under them.
template <class Limits>
result<std::string> rewrite_within(const pickle::evaluation& e) {
    std::vector<std::uint8_t> out;
    auto written = pickle::writer(e.values, pickle::writer_limits::of<Limits>()).write(out);
    if (!written) return written.err();
    return std::string(out.begin(), out.end());
}
// The input evaluates under `Limits`, its rewrite under them is refused (limit_exceeded), and
// under the standard limits the same graph is written and reads back the same.
template <class Limits>
void check_refused_within(const std::string& input) {
    auto first = evaluate_within<Limits>(input);
    REQUIRE_MESSAGE(first, to_string(first.err().code));
    auto refused = rewrite_within<Limits>(*first);
    REQUIRE_FALSE(refused);
    CHECK(refused.err().code == errc::limit_exceeded);
    auto written = rewrite_within<pickle::limits::standard>(*first);
    REQUIRE(written);
    auto second = evaluate_within<pickle::limits::standard>(*written);
    REQUIRE(second);
    CHECK(describe(*second) == describe(*first));
}
}  // namespace

TEST_CASE("an output that would nest deeper than the input is refused, never written unreadable (found by fuzzing)") {
    SUBCASE("MARKs: 100 nested two-entry dicts built with SETITEM need no MARK; written with SETITEMS they need 100") {
        std::string input = "\x80\x02";
        for (int i = 0; i < 100; ++i) input += P("}K\x00");
        input += "}";
        for (int i = 0; i < 100; ++i) input += P("sK\x01K\x01s");
        input += ".";
        check_refused_within<shallow_limits>(input);
    }
    SUBCASE("stack: 300 nested lists built from the innermost out through the memo") {
        // L0 = []; Li = [L(i-1)], each put in memo slot i and popped: the stack never holds 3.
        std::string input = "\x80\x02]r" + std::string(4, '\0') + "0";
        const auto le32 = [](std::uint32_t v) {
            std::uint8_t b[4];
            store_le32(b, v);
            return std::string(b, b + 4);
        };
        for (std::uint32_t i = 1; i <= 300; ++i) input += "]r" + le32(i) + "j" + le32(i - 1) + "a0";
        input += "j" + le32(300) + ".";
        check_refused_within<deep_marks>(input);
    }
}

TEST_CASE("one-item lists and dicts are item APPEND and key value SETITEM, byte for byte as CPython writes them") {
    // pickle.dumps([{1: 2}], 2) and pickle.dumps({1: 2}, 2) of CPython 3.11 (ints, as CPython
    // memoizes strings that brine writes unmemoized when they are not shared)
    const std::string list_of_dict(P("\x80\x02]q\x00}q\x01K\x01K\x02sa."));
    CHECK(round_trip(list_of_dict) == list_of_dict);
    const std::string dict(P("\x80\x02}q\x00K\x01K\x02s."));
    CHECK(round_trip(dict) == dict);
    // 100 nested one-entry dicts need no MARK at all: written within 64 MARKs.
    std::string nested = "\x80\x02";
    for (int i = 0; i < 100; ++i) nested += P("}K\x00");
    nested += "}" + std::string(100, 's') + ".";
    auto first = evaluate_within<shallow_limits>(nested);
    REQUIRE(first);
    auto written = rewrite_within<shallow_limits>(*first);
    REQUIRE_MESSAGE(written, to_string(written.err().code));
    // What CPython writes for d = {0: {0: ... {}}}, 100 deep: each dict memoized, no MARK.
    std::string expected = "\x80\x02";
    for (int i = 0; i <= 100; ++i) {
        expected += "}q";
        expected += static_cast<char>(i);
        if (i < 100) expected += P("K\x00");
    }
    expected += std::string(100, 's') + ".";
    CHECK(*written == expected);
    auto second = evaluate_within<shallow_limits>(*written);
    REQUIRE(second);
    CHECK(describe(*second) == describe(*first));
}
