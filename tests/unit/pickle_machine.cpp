// Unit tests for the symbolic machine and the policies: CPython's stack, mark and memo semantics,
// name resolution, and every refusal becoming a blocked node with a finding (never an execution).
// Pickles written by CPython are embedded as byte strings (made with pickle.dumps in Python 3.11).
#include <brine/brine.hpp>
#include <doctest/doctest.h>

#include "pickle_testing.hpp"

#include <string>
#include <string_view>

using namespace brine;
using brine_test::describe;
using brine_test::evaluate;

// A compile-time extension, as a user would write it.
struct my_globals {
    static constexpr policy::qualified_name globals[] = {{"mylib.config", "Config"}};
};

namespace {
template <std::size_t N>
constexpr std::string_view P(const char (&bytes)[N]) {
    return {bytes, N - 1};
}

std::string first_finding(const pickle::evaluation& e) {
    if (e.values.findings().empty()) return "";
    const auto& f = e.values.findings().front();
    return std::string(f.module) + "." + std::string(f.name) + " @" + std::to_string(f.offset) + " " +
           std::string(pickle::opcode_name(f.op));
}
}  // namespace

TEST_CASE("values written by CPython evaluate to the same structure") {
    // pickle.dumps((None, True, False, 7, -3, 300, 70000, 2**40, -2**70, 1.5, 'héllo'), protocol=2)
    auto scalars = evaluate(P("\x80\x02\x28\x4e\x88\x89\x4b\x07\x4a\xfd\xff\xff\xff\x4d\x2c\x01\x4a\x70\x11\x01\x00"
                              "\x8a\x06\x00\x00\x00\x00\x00\x01\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\xc0\x47\x3f"
                              "\xf8\x00\x00\x00\x00\x00\x00\x58\x06\x00\x00\x00\x68\xc3\xa9\x6c\x6c\x6f\x71\x00\x74"
                              "\x71\x01\x2e"));
    REQUIRE(scalars);
    CHECK(describe(*scalars) ==
          "#1=tuple(None, True, False, 7, -3, 300, 70000, 1099511627776, bigint(0000000000000000c0), 1.5, "
          "'h\xc3\xa9llo')");
    CHECK(scalars->values.findings().empty());
    CHECK(scalars->protocol == 2);

    // x = [1]; pickle.dumps([x, x], protocol=2): one list, referenced twice (memo)
    auto shared = evaluate(P("\x80\x02\x5d\x71\x00\x28\x5d\x71\x01\x4b\x01\x61\x68\x01\x65\x2e"));
    REQUIRE(shared);
    CHECK(describe(*shared) == "#1=list(#2=list(1), #2)");

    // pickle.dumps({'k': [1, 'two', 3.0, None]}, protocol=0): text opcodes, PUT/GET lines
    auto text = evaluate(P("\x28\x64\x70\x30\x0a\x56\x6b\x0a\x70\x31\x0a\x28\x6c\x70\x32\x0a\x49\x31\x0a\x61\x56\x74"
                           "\x77\x6f\x0a\x70\x33\x0a\x61\x46\x33\x2e\x30\x0a\x61\x4e\x61\x73\x2e"));
    REQUIRE(text);
    CHECK(describe(*text) == "#1=dict('k', #2=list(1, 'two', 3, None))");
}

TEST_CASE("an OrderedDict state dict passes torch_weights_only untouched") {
    // pickle.dumps(OrderedDict([('a', 1), ('b', [2, 3])]), protocol=2)
    auto od = evaluate(P("\x80\x02\x63\x63\x6f\x6c\x6c\x65\x63\x74\x69\x6f\x6e\x73\x0a\x4f\x72\x64\x65\x72\x65\x64"
                         "\x44\x69\x63\x74\x0a\x71\x00\x29\x52\x71\x01\x28\x58\x01\x00\x00\x00\x61\x71\x02\x4b\x01"
                         "\x58\x01\x00\x00\x00\x62\x71\x03\x5d\x71\x04\x28\x4b\x02\x4b\x03\x65\x75\x2e"));
    REQUIRE(od);
    CHECK(od->values.findings().empty());
    CHECK(describe(*od) == "#1=call(<collections:OrderedDict>, #2=tuple() items='a', 1, 'b', #3=list(2, 3))");
    // The strict policy accepts it too; a policy without OrderedDict would not.
    brine::policy::strict strict;
    auto strictly = evaluate(P("\x80\x02\x63\x63\x6f\x6c\x6c\x65\x63\x74\x69\x6f\x6e\x73\x0a\x4f\x72\x64\x65\x72\x65"
                               "\x64\x44\x69\x63\x74\x0a\x71\x00\x29\x52\x71\x01\x2e"),
                             strict);
    REQUIRE(strictly);
    CHECK(strictly->values.findings().empty());
}

TEST_CASE("refused globals become blocked nodes with a finding naming them") {
    // c os\nsystem\n (S'ls' tR. : os.system('ls') in protocol 0
    auto os_system = evaluate(P("cos\nsystem\n(S'touch brine_marker'\ntR."));
    REQUIRE(os_system);
    CHECK(describe(*os_system) == "BLOCKED");
    CHECK(first_finding(*os_system) == "os.system @0 GLOBAL");

    // Python 2 names are mapped before the policy sees them (protocol < 3): __builtin__ -> builtins.
    auto py2 = evaluate(P("\x80\x02" "c__builtin__\neval\nX\x01\x00\x00\x00" "1\x85R."));
    REQUIRE(py2);
    CHECK(first_finding(*py2) == "builtins.eval @2 GLOBAL");
    // ... but not under protocol 3, where the name stays as written.
    auto py3 = evaluate(P("\x80\x03" "c__builtin__\neval\nX\x01\x00\x00\x00" "1\x85R."));
    REQUIRE(py3);
    CHECK(first_finding(*py3) == "__builtin__.eval @2 GLOBAL");

    // A dotted qualname is its own name, even under an allowed module.
    auto dotted = evaluate(P("\x80\x04\x8c\x05torch\x8c\tos.system\x93."));
    REQUIRE(dotted);
    CHECK(first_finding(*dotted) == "torch.os.system @20 STACK_GLOBAL");
}

TEST_CASE("STACK_GLOBAL takes its operands from the simulated stack, memo tricks included") {
    // 'builtins' PUT 0, 'eval' , POP it, GET 0 (builtins again), 'exec', STACK_GLOBAL
    auto trick = evaluate(P("\x80\x04\x8c\x08" "builtins\x94\x8c\x04" "eval0h\x00\x8c\x04" "exec\x93."));
    REQUIRE(trick);
    CHECK(first_finding(*trick) == "builtins.exec @28 STACK_GLOBAL");
    // DUP of the module string, then the name.
    auto dup = evaluate(P("\x80\x04\x8c\x05posix2\x8c\x06system\x93."));
    REQUIRE(dup);
    CHECK(first_finding(*dup) == "posix.system @18 STACK_GLOBAL");
    // Non-string operands are an error, as in CPython.
    auto bad = evaluate(P("\x80\x04K\x01K\x02\x93."));
    REQUIRE_FALSE(bad);
    CHECK(bad.err().code == errc::pickle_bad_argument);
}

TEST_CASE("a refused mutation blocks its target everywhere it is referenced") {
    // A tensor rebuilt from a storage id, then SETITEM applied to it (THREATS W2).
    const std::string tensor(P(
        "\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\n"
        "(" "(X\x07\x00\x00\x00storage" "ctorch\nFloatStorage\n" "X\x01\x00\x00\x00" "0" "X\x03\x00\x00\x00" "cpu" "K\x04" "tQ"
        "K\x00" "K\x04\x85" "K\x01\x85" "\x89" "ccollections\nOrderedDict\n)R" "t" "R" "q\x00"));
    auto clean = evaluate(tensor + std::string(P("h\x00\x86.")));
    REQUIRE(clean);
    CHECK(clean->values.findings().empty());

    auto patched = evaluate(tensor + std::string(P("X\x01\x00\x00\x00kK\x01sh\x00\x86.")));
    REQUIRE(patched);
    CHECK(describe(*patched) == "#1=tuple(BLOCKED, BLOCKED)");  // both references see it
    REQUIRE(patched->values.findings().size() == 1);
    CHECK(std::string(patched->values.findings()[0].reason) == "SETITEM is allowed only on dicts");

    // BUILD on a module-level object (THREATS G6) blocks that object.
    auto build = evaluate(P("\x80\x02" "ccollections\nOrderedDict\n}X\x01\x00\x00\x00xK\x01sb."));
    REQUIRE(build);
    CHECK(describe(*build) == "BLOCKED");
}

TEST_CASE("persistent ids: only ('storage', ...) under torch_weights_only") {
    auto storage = evaluate(P("\x80\x02(X\x07\x00\x00\x00storageK\x01tQ."));
    REQUIRE(storage);
    CHECK(storage->values.findings().empty());
    auto other = evaluate(P("\x80\x02(X\x06\x00\x00\x00systemK\x01tQ."));
    REQUIRE(other);
    CHECK(describe(*other) == "BLOCKED");
    auto text = evaluate(P("Pstorage\n."));
    REQUIRE(text);
    CHECK(describe(*text) == "BLOCKED");  // PERSID is not BINPERSID
}

TEST_CASE("CPython's stack and memo rules, including their errors") {
    // POP with nothing above the topmost MARK removes the MARK.
    auto pop_mark = evaluate(P("K\x01(0."));
    REQUIRE(pop_mark);
    CHECK(describe(*pop_mark) == "1");
    // MEMOIZE uses the count of memo entries as its index.
    auto memoize = evaluate(P("\x80\x04K\x07\x94K\x08\x94h\x01h\x00\x86."));
    REQUIRE(memoize);
    CHECK(describe(*memoize) == "#1=tuple(8, 7)");
    // A huge PUT index is legal and allocates nothing in proportion to it.
    auto huge = evaluate(P("K\x05r\xff\xff\xff\xffj\xff\xff\xff\xff\x86."));
    REQUIRE(huge);
    CHECK(describe(*huge) == "#1=tuple(5, 5)");

    const auto expect_error = [](std::string_view pickle, errc code) {
        auto result = evaluate(pickle);
        REQUIRE_FALSE(result);
        CHECK(to_string(result.err().code) == to_string(code));
    };
    expect_error(P("h\x05."), errc::pickle_memo_missing);          // GET of a key never PUT (P5)
    expect_error(P("0."), errc::pickle_stack_underflow);             // POP on an empty stack
    expect_error(P("(\x85."), errc::pickle_stack_underflow);         // TUPLE1 across a MARK
    expect_error(P("t."), errc::pickle_mark_missing);                // TUPLE without MARK
    expect_error(P("(K\x01" "d."), errc::pickle_odd_items);             // DICT with an odd count
    expect_error(P("\x82\x01."), errc::pickle_refused_opcode);       // EXT1 (P9)
    expect_error(P("\x80\x05\x97."), errc::pickle_refused_opcode);   // NEXT_BUFFER (P9)
    expect_error(P("ccollections\nOrderedDict\n]R."), errc::pickle_bad_argument);  // REDUCE args not a tuple
    expect_error(P("K\x01"), errc::pickle_end_of_input);             // no STOP
}

TEST_CASE("only the first pickle counts; what follows STOP is reported, never evaluated") {
    auto two = evaluate(P("K\x01.cos\nsystem\n."));
    REQUIRE(two);
    CHECK(describe(*two) == "1");
    CHECK(two->end_offset == 3);
    REQUIRE(two->values.findings().size() == 1);
    CHECK(std::string(two->values.findings()[0].reason).find("after STOP") != std::string::npos);
}

TEST_CASE("resource limits end evaluation with an error, never exhaustion") {
    // 200 000 nested MARKs (THREATS R1) stop at limits::standard::max_mark_depth.
    const std::string deep = std::string(200000, '(') + ".";
    auto nested = evaluate(deep);
    REQUIRE_FALSE(nested);
    CHECK(nested.err().code == errc::limit_exceeded);

    // Memo "billion laughs" (R2): each level a tuple of the previous twice; the graph stays linear.
    std::string laughs(P("\x80\x02]q\x00"));
    for (int level = 0; level < 60; ++level) laughs += P("h\x00h\x00\x86q\x00");
    laughs += ".";
    auto doubled = evaluate(laughs);
    REQUIRE(doubled);
    CHECK(doubled->values.size() < pickle::graph::shared_constants + 200);

    // A list appended to itself (R4) is a cycle in the graph, not a loop in the machine.
    auto cycle = evaluate(P("]q\x00h\x00" "a."));
    REQUIRE(cycle);
    CHECK(describe(*cycle) == "#1=list(#1)");
}

TEST_CASE("run-time and compile-time extensions allow exactly the names they list") {
    const std::string_view counter_call = P("\x80\x02" "cmylib.config\nConfig\n)R.");
    auto refused = evaluate(counter_call);
    REQUIRE(refused);
    CHECK(describe(*refused) == "BLOCKED");

    policy::runtime_allowlist<policy::torch_weights_only> runtime;
    CHECK(runtime.add("mylib.config.Config"));
    CHECK_FALSE(runtime.add("nodots"));
    auto allowed = evaluate(counter_call, runtime);
    REQUIRE(allowed);
    CHECK(describe(*allowed) == "#1=call(<mylib.config:Config>, #2=tuple())");

    auto compiled = evaluate(counter_call, policy::extend<policy::torch_weights_only, my_globals>{});
    REQUIRE(compiled);
    CHECK(compiled->values.findings().empty());

    // Modules torch never allows stay refused even when listed.
    policy::runtime_allowlist<policy::torch_weights_only> reckless;
    CHECK(reckless.add("os.system"));
    auto still = evaluate(P("cos\nsystem\n."), reckless);
    REQUIRE(still);
    CHECK(describe(*still) == "BLOCKED");
}

TEST_CASE("a refused mutation of a shared scalar blocks that occurrence only") {
    // [5, 5] where the second 5 gets a BUILD: None, bools and small ints are shared constants of
    // the graph, and the refusal must not reach the other 5 (nor any other 5 in the file).
    auto built = evaluate(P("\x80\x02]q\x00(K\x05K\x05Nbe."));
    REQUIRE(built);
    CHECK(describe(*built) == "#1=list(5, BLOCKED)");
    REQUIRE(built->values.findings().size() == 1);
    CHECK(built->values.findings()[0].op == pickle::opcode::BUILD);

    // APPEND to a memoized None, then the memo read: the memo still holds None.
    auto appended = evaluate(P("\x80\x02Nq\x00K\x01" "ah\x00\x86."));
    REQUIRE(appended);
    CHECK(describe(*appended) == "#1=tuple(BLOCKED, None)");
}

TEST_CASE("a container changed after a call took it is refused: the call saw it before") {
    // L = []; od = OrderedDict(L); L.append(('a', 1)) -> CPython's od is empty, the graph's L is not
    auto late = evaluate(P("\x80\x02" "ccollections\nOrderedDict\n]q\x00\x85Rq\x01h\x00X\x01\x00\x00\x00" "aK\x01\x86" "a0."));
    REQUIRE(late);
    REQUIRE(late->values.findings().size() == 1);
    CHECK(std::string(late->values.findings()[0].reason).find("after it was passed to a call") != std::string::npos);
    // Filling the list before the call is fine.
    auto early = evaluate(P("\x80\x02" "ccollections\nOrderedDict\n](X\x01\x00\x00\x00" "aK\x01\x86" "e\x85R."));
    REQUIRE(early);
    CHECK(early->values.findings().empty());
}

TEST_CASE("a call is refused when its argument tuple itself is refused (found by fuzzing)") {
    // OrderedDict(*os.system(...)): the args are the result of a refused call.
    auto nested = evaluate(P("\x80\x02" "ccollections\nOrderedDict\n" "cos\nsystem\nX\x01\x00\x00\x00" "x\x85R" "R."));
    REQUIRE(nested);
    CHECK(describe(*nested) == "BLOCKED");
    // A name computed by a call (e.g. _codecs.encode(.., 'rot13') returns str) is refused, not an error.
    auto computed = evaluate(P("\x80\x04\x8c\x08" "builtins" "c_codecs\nencode\n\x8c\x04rkrp\x8c\x05rot13\x86R\x93."));
    REQUIRE(computed);
    CHECK(describe(*computed) == "BLOCKED");
}
