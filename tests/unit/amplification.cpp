// Unit tests for resource amplification by allowed content (THREATS.md R5): small pickles the
// allowlist accepts that would make the victim's loader (CPython's _pickle.c, torch.load, numpy)
// allocate gigabytes. brine reports them, and the reconstruction carries none of them.
#include <brine/brine.hpp>
#include <doctest/doctest.h>

#include "disarm_testing.hpp"
#include "pickle_testing.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace brine;
using brine_test::evaluate;

namespace {
template <std::size_t N>
constexpr std::string_view P(const char (&bytes)[N]) {
    return {bytes, N - 1};
}

std::string reasons(const pickle::evaluation& e) {
    std::string out;
    for (const pickle::finding& f : e.values.findings())
        out += std::string(pickle::opcode_name(f.op)) + " @" + std::to_string(f.offset) + " " + f.reason + "\n";
    return out;
}

// The largest memo index any PUT of `bytes` stores at (MEMOIZE numbers densely by itself).
std::uint64_t largest_put_index(std::string_view bytes) {
    pickle::reader<pickle::limits::standard> tokens(as_bytes(bytes));
    std::uint64_t largest = 0;
    pickle::token t;
    for (;;) {
        REQUIRE(tokens.next(t));
        if (t.op == pickle::opcode::STOP) return largest;
        const bool put = t.op == pickle::opcode::PUT || t.op == pickle::opcode::BINPUT ||
                         t.op == pickle::opcode::LONG_BINPUT;
        if (put && static_cast<std::uint64_t>(t.integer) > largest) largest = static_cast<std::uint64_t>(t.integer);
    }
}

std::vector<std::uint8_t> to_vector(std::string_view bytes) { return {bytes.begin(), bytes.end()}; }

struct numpy_globals {
    static constexpr policy::qualified_name globals[] = {{"numpy", "ndarray"},
                                                         {"numpy.core.multiarray", "_reconstruct"}};
};
using numpy_policy = policy::extend<policy::torch_weights_only, numpy_globals>;
}  // namespace

TEST_CASE("a memo index far past the pickle's length is a finding; the disarmed output numbers from 0") {
    // [] stored at 0xFFFFFFF0: CPython's _Unpickler_MemoPut resizes its memo to twice the index.
    const std::string_view bomb = P("\x80\x02]r\xf0\xff\xff\xff.");
    auto e = evaluate(bomb);
    REQUIRE(e);
    REQUIRE(e->values.findings().size() == 1);
    const pickle::finding& f = e->values.findings().front();
    CHECK(f.op == pickle::opcode::LONG_BINPUT);
    CHECK(f.offset == 3);
    CHECK(std::string(f.reason).find("memo index") != std::string::npos);
    CHECK(brine_test::describe(*e) == "#1=list()");

    // The text form too (PUT 4294967280 in protocol 0), and only one finding however many PUTs.
    auto text = evaluate(P("(lp4294967280\np4294967281\n."));
    REQUIRE(text);
    CHECK(reasons(*text).find("PUT @2 memo index") == 0);
    CHECK(text->values.findings().size() == 1);

    // Disarmed: the output is clean, and its memo indices are small.
    std::vector<std::uint8_t> out;
    const auto done = brine_test::disarm_bytes(to_vector(bomb), out);
    REQUIRE_MESSAGE(done, to_string(done.err().code));
    CHECK_FALSE(done->clean());
    const std::string_view written(reinterpret_cast<const char*>(out.data()), out.size());
    CHECK(largest_put_index(written) < 16);
    auto again = evaluate(written);
    REQUIRE(again);
    CHECK(again->values.findings().empty());
    CHECK(brine_test::describe(*again) == "#1=list()");
}

TEST_CASE("memo indices a pickler could write are not reported") {
    // pickle.dumps([[1], [1]]) style dense numbering, and a sparse index below 2^20.
    auto dense = evaluate(P("\x80\x02]q\x00(]q\x01K\x01" "a]q\x02K\x01" "ae."));
    REQUIRE(dense);
    CHECK(dense->values.findings().empty());
    auto sparse = evaluate(P("\x80\x02]r\xff\xff\x0f\x00."));
    REQUIRE(sparse);
    CHECK(sparse->values.findings().empty());
}

TEST_CASE("bytearray(n) past the loader budget is refused with its size; small ones pass") {
    // bytearray(2**31): 31 bytes that allocate 2 GiB in torch.load(weights_only=True).
    auto huge = evaluate(P("\x80\x02" "cbuiltins\nbytearray\n" "\x8a\x05\x00\x00\x00\x80\x00" "\x85R."));
    REQUIRE(huge);
    CHECK(reasons(*huge) ==
          "REDUCE @30 allocates 2147483648 bytes in the loader, past what this pickle may make it allocate "
          "(64 MiB + 64 bytes per input byte; R5)\n");
    CHECK(huge->values.findings().front().name == "bytearray");

    // A big int beyond 64 bits saturates; it is refused too.
    auto bigger = evaluate(P("\x80\x02" "cbuiltins\nbytearray\n" "\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01"
                             "\x85R."));
    REQUIRE(bigger);
    CHECK(reasons(*bigger).find("REDUCE @34 allocates 18446744073709551615 bytes") == 0);

    auto small = evaluate(P("\x80\x02" "cbuiltins\nbytearray\n" "K\x10\x85R."));
    REQUIRE(small);
    CHECK(small->values.findings().empty());

    // The budget is per pickle: two bytearray(40 MiB), the second is refused.
    auto twice = evaluate(P("\x80\x02" "cbuiltins\nbytearray\nq\x00" "J\x00\x00\x80\x02\x85R"
                            "h\x00" "J\x00\x00\x80\x02\x85R\x86."));
    REQUIRE(twice);
    REQUIRE(twice->values.findings().size() == 1);
    CHECK(twice->values.findings().front().offset == 39);
}

TEST_CASE("copies of one memoized container by allowed calls are charged to the budget") {
    // L = [1] * 4096 memoized, then set(L) 300 times: 2.6 KB of calls, 300 copies in the loader.
    std::string p(P("\x80\x02]q\x00("));
    for (int i = 0; i < 4096; ++i) p += P("K\x01");
    p += P("ecbuiltins\nset\nq\x01(");
    for (int i = 0; i < 300; ++i) p += P("h\x01h\x00\x85R");
    p += P("l.");
    auto e = evaluate(p);
    REQUIRE(e);
    CHECK_FALSE(e->values.findings().empty());
    CHECK(reasons(*e).find("REDUCE @") == 0);
    CHECK(reasons(*e).find("allocates 262144 bytes in the loader") != std::string::npos);
    // The same calls on their own lists (as a pickler writes them) stay far within it.
    std::string fresh(P("\x80\x02" "cbuiltins\nset\nq\x01("));
    for (int i = 0; i < 300; ++i) fresh += P("h\x01]K\x01\x61\x85R");
    fresh += P("l.");
    auto ok = evaluate(fresh);
    REQUIRE(ok);
    CHECK(ok->values.findings().empty());
}

TEST_CASE("numpy's _reconstruct with a huge shape is refused where a policy allows it; np.save's (0,) passes") {
    numpy_policy rules;
    // _reconstruct(ndarray, (0,), b'b'), as np.save writes every object array.
    auto real = evaluate(P("\x80\x03" "cnumpy.core.multiarray\n_reconstruct\n" "cnumpy\nndarray\n"
                           "K\x00\x85" "C\x01" "b\x87R."),
                         rules);
    REQUIRE(real);
    CHECK(real->values.findings().empty());
    // shape (2**30,): 8 GiB of pointers for an object array.
    auto huge = evaluate(P("\x80\x03" "cnumpy.core.multiarray\n_reconstruct\n" "cnumpy\nndarray\n"
                           "\x8a\x04\x00\x00\x00\x40\x85" "C\x01" "b\x87R."),
                         rules);
    REQUIRE(huge);
    CHECK(reasons(*huge).find("REDUCE @64 allocates 8589934592 bytes in the loader") == 0);
    // shape (65536, 65536): the product counts.
    auto square = evaluate(P("\x80\x03" "cnumpy.core.multiarray\n_reconstruct\n" "cnumpy\nndarray\n"
                             "J\x00\x00\x01\x00J\x00\x00\x01\x00\x86" "C\x01" "b\x87R."),
                           rules);
    REQUIRE(square);
    CHECK(reasons(*square).find("allocates 34359738368 bytes in the loader") != std::string::npos);
    // Under the default policy numpy is refused anyway, as a global.
    auto refused = evaluate(P("\x80\x03" "cnumpy.core.multiarray\n_reconstruct\n" "cnumpy\nndarray\n"
                              "K\x00\x85" "C\x01" "b\x87R."));
    REQUIRE(refused);
    CHECK(reasons(*refused).find("global is not in the allowlist") != std::string::npos);
}
