// Opcode-by-opcode tests of the symbolic machine: every one of the 68 opcodes of protocols 0-5,
// with the malformed uses that are the machine's business (stack, mark and memo discipline,
// operand types, refused opcodes). Expected results are what CPython 3.11's unpickler returns or
// raises for the same bytes (checked with pickle.loads and pickle._loads); where brine deliberately
// differs, the comment says so and cites where brine documents it.
#include <brine/brine.hpp>
#include <doctest/doctest.h>

#include "pickle_testing.hpp"

#include <set>
#include <string>
#include <string_view>

using namespace brine;
using brine_test::describe;
using brine_test::evaluate;

namespace {
// Byte strings may hold NULs: take the array's length, never strlen.
template <std::size_t N>
constexpr std::string_view P(const char (&bytes)[N]) {
    return {bytes, N - 1};
}

// describe() of the result, or "error <code> @<offset>": one string compares both the value and
// where a malformed stream was caught.
template <class Policy = policy::torch_weights_only>
std::string outcome(std::string_view pickle, const Policy& rules = Policy{}) {
    auto result = evaluate(pickle, rules);
    if (!result) return "error " + std::string(to_string(result.err().code)) + " @" + std::to_string(result.err().offset);
    return describe(*result);
}

// Every finding as "OPCODE@offset module.name", joined by "; ".
std::string findings(std::string_view pickle) {
    auto result = evaluate(pickle);
    if (!result) return "error " + std::string(to_string(result.err().code));
    std::string out;
    for (const auto& f : result->values.findings()) {
        if (!out.empty()) out += "; ";
        out += std::string(pickle::opcode_name(f.op)) + "@" + std::to_string(f.offset);
        if (!f.module.empty() || !f.name.empty()) out += " " + std::string(f.module) + "." + std::string(f.name);
    }
    return out;
}
}  // namespace

TEST_CASE("PROTO, FRAME and STOP: the protocol in force, frames, and where the object ends") {
    SUBCASE("PROTO") {
        auto plain = evaluate(P("K\x01."));
        REQUIRE(plain);
        CHECK(plain->protocol == 0);
        auto two = evaluate(P("\x80\x02K\x01."));
        REQUIRE(two);
        CHECK(two->protocol == 2);
        CHECK(two->values.findings().empty());

        // CPython accepts a repeated or late PROTO; brine accepts it too but reports it
        // (machine.hpp), and the last one is in force.
        auto repeated = evaluate(P("\x80\x02\x80\x03K\x01."));
        REQUIRE(repeated);
        CHECK(describe(*repeated) == "1");
        CHECK(repeated->protocol == 3);
        CHECK(findings(P("\x80\x02\x80\x03K\x01.")) == "PROTO@2");
        CHECK(outcome(P("K\x01\x80\x02.")) == "1");
        CHECK(findings(P("K\x01\x80\x02.")) == "PROTO@2");

        // The protocol in force decides Python 2 name mapping (find_class: proto < 3).
        CHECK(outcome(P("\x80\x03\x80\x02" "c__builtin__\nset\n.")) == "<builtins:set>");
        CHECK(outcome(P("\x80\x02\x80\x03" "c__builtin__\nset\n.")) == "BLOCKED");  // CPython: no module __builtin__
    }
    SUBCASE("FRAME") {
        // pickle.dumps([1, [2]], protocol=4): PROTO, FRAME, MEMOIZE...
        auto framed = evaluate(P("\x80\x04\x95\x0c\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01]\x94K\x02" "ae."));
        REQUIRE(framed);
        CHECK(describe(*framed) == "#1=list(1, #2=list(2))");
        CHECK(framed->protocol == 4);
        CHECK(framed->values.findings().empty());
        // CPython honours FRAME whatever the protocol.
        CHECK(outcome(P("\x95\x03\x00\x00\x00\x00\x00\x00\x00K\x01.")) == "1");
    }
    SUBCASE("STOP") {
        auto one = evaluate(P("\x80\x02K\x01."));
        REQUIRE(one);
        CHECK(one->end_offset == 5);
        CHECK(outcome(P(".")) == "error pickle.stack_underflow @0");
        // STOP pops above the topmost MARK only (CPython: "unexpected MARK found").
        CHECK(outcome(P("K\x01(.")) == "error pickle.stack_underflow @3");
        // A MARK left open below the result does not matter to CPython.
        CHECK(outcome(P("(K\x01.")) == "1");
        CHECK(outcome(P("K\x01")) == "error pickle.end_of_input @2");
    }
    SUBCASE("data after STOP is reported, never evaluated") {
        // The trailing GLOBAL would be a finding of its own if it were evaluated.
        auto trailing = evaluate(P("K\x01.cos\nsystem\n."));
        REQUIRE(trailing);
        CHECK(describe(*trailing) == "1");
        CHECK(trailing->end_offset == 3);
        CHECK(findings(P("K\x01.cos\nsystem\n.")) == "STOP@3");
        // Not even parsed: 0x00 is no opcode.
        CHECK(outcome(P("K\x01.\x00")) == "1");
        CHECK(findings(P("K\x01.\x00")) == "STOP@3");
    }
}

TEST_CASE("MARK, POP, POP_MARK and DUP follow CPython's split object and mark stacks") {
    SUBCASE("MARK") {
        CHECK(outcome(P("((K\x01tt.")) == "#1=tuple(#2=tuple(1))");
        // TUPLE takes only what lies above the topmost MARK.
        CHECK(outcome(P("K\x07(K\x01t\x86.")) == "#1=tuple(7, #2=tuple(1))");
        CHECK(outcome(std::string(20000, '(') + "K\x01.").rfind("error limit_exceeded", 0) == 0);
    }
    SUBCASE("POP") {
        CHECK(outcome(P("K\x01K\x02" "0.")) == "1");
        CHECK(outcome(P("(K\x01K\x02" "0t.")) == "#1=tuple(1)");
        CHECK(outcome(P("0.")) == "error pickle.stack_underflow @0");
        // With nothing above the topmost MARK, POP discards the MARK (load_pop in _pickle.c).
        CHECK(outcome(P("K\x01(0.")) == "1");
        CHECK(outcome(P("]K\x01(0a.")) == "#1=list(1)");
        CHECK(outcome(P("K\x01(0t.")) == "error pickle.mark_missing @4");
        CHECK(outcome(P("((0t.")) == "#1=tuple()");
        CHECK(outcome(P("((((0000K\x01.")) == "1");
        CHECK(outcome(P("(0.")) == "error pickle.stack_underflow @2");
    }
    SUBCASE("POP_MARK") {
        CHECK(outcome(P("K\x01(K\x02K\x03" "1.")) == "1");
        CHECK(outcome(P("K\x01(1.")) == "1");
        CHECK(outcome(P("K\x01K\x02K\x03(1\x87.")) == "#1=tuple(1, 2, 3)");
        CHECK(outcome(P("1.")) == "error pickle.mark_missing @0");
        // The memo keeps what POP_MARK threw away.
        CHECK(outcome(P("(K\x01q\x00" "1h\x00.")) == "1");
    }
    SUBCASE("DUP") {
        CHECK(outcome(P("K\x01" "2\x86.")) == "#1=tuple(1, 1)");
        // The same object twice, not a copy: the APPEND through one reference shows in both.
        CHECK(outcome(P("]2K\x01" "a\x86.")) == "#1=tuple(#2=list(1), #2)");
        CHECK(outcome(P("2.")) == "error pickle.stack_underflow @0");
        CHECK(outcome(P("K\x01(2.")) == "error pickle.stack_underflow @3");
    }
}

TEST_CASE("integer opcodes: INT, BININT, BININT1, BININT2, LONG, LONG1, LONG4") {
    SUBCASE("INT") {
        CHECK(outcome(P("I42\n.")) == "42");
        CHECK(outcome(P("I-7\n.")) == "-7");
        // Protocol 0 spells the bools as INT "00" and "01".
        CHECK(outcome(P("I00\n.")) == "False");
        CHECK(outcome(P("I01\n.")) == "True");
        CHECK(outcome(P("I99999999999999999999\n.")) == "bigint(ffff0f632d5ec76b05)");
    }
    SUBCASE("BININT, BININT1, BININT2") {
        CHECK(outcome(P("J\xff\xff\xff\xff.")) == "-1");
        CHECK(outcome(P("J\x00\x00\x00\x80.")) == "-2147483648");
        CHECK(outcome(P("K\xff.")) == "255");
        CHECK(outcome(P("M\xff\xff.")) == "65535");
    }
    SUBCASE("LONG") {
        CHECK(outcome(P("L123L\n.")) == "123");
        CHECK(outcome(P("L-5\n.")) == "-5");
        CHECK(outcome(P("L18446744073709551616L\n.")) == "bigint(000000000000000001)");
    }
    SUBCASE("LONG1, LONG4") {
        CHECK(outcome(P("\x8a\x00.")) == "0");
        CHECK(outcome(P("\x8a\x01\xff.")) == "-1");
        CHECK(outcome(P("\x8a\x02\x00\x80.")) == "-32768");
        CHECK(outcome(P("\x8a\x03\x01\x00\x00.")) == "1");  // a non-minimal encoding is the same int
        CHECK(outcome(P("\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f.")) == "9223372036854775807");
        CHECK(outcome(P("\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\x00.")) == "bigint(000000000000008000)");
        CHECK(outcome(P("\x8b\x02\x00\x00\x00\x2c\x01.")) == "300");
        CHECK(outcome(P("\x8b\x00\x00\x00\x00.")) == "0");
    }
}

TEST_CASE("NONE, NEWTRUE, NEWFALSE, FLOAT and BINFLOAT") {
    CHECK(outcome(P("N.")) == "None");
    CHECK(outcome(P("\x88.")) == "True");
    CHECK(outcome(P("\x89.")) == "False");
    CHECK(outcome(P("F1.5\n.")) == "1.5");
    CHECK(outcome(P("F-0.0\n.")) == "-0");
    CHECK(outcome(P("Finf\n.")) == "inf");
    CHECK(outcome(P("G\x3f\xf8\x00\x00\x00\x00\x00\x00.")) == "1.5");  // big-endian
    CHECK(outcome(P("G\x80\x00\x00\x00\x00\x00\x00\x00.")) == "-0");
}

TEST_CASE("string opcodes: Python 2 str, str, bytes and bytearray") {
    SUBCASE("STRING, BINSTRING, SHORT_BINSTRING") {
        // CPython (encoding='ASCII') returns 'abc'; the graph keeps a Python 2 str raw because its
        // type depends on the loader's encoding (value.hpp, node_kind::legacy_string).
        CHECK(outcome(P("S'abc'\n.")) == "str2(616263)");
        CHECK(outcome(P("S'a\\n'\n.")) == "str2(610a)");
        CHECK(outcome(P("S\"\"\n.")) == "str2()");
        CHECK(outcome(P("T\x03\x00\x00\x00" "abc.")) == "str2(616263)");
        CHECK(outcome(P("U\x03" "a\x00" "c.")) == "str2(610063)");
    }
    SUBCASE("UNICODE, BINUNICODE, SHORT_BINUNICODE, BINUNICODE8") {
        CHECK(outcome(P("Vh\\u00e9\n.")) == "'h\xc3\xa9'");
        CHECK(outcome(P("X\x02\x00\x00\x00\xc3\xa9.")) == "'\xc3\xa9'");
        CHECK(outcome(P("\x8c\x01" "a.")) == "'a'");
        CHECK(outcome(P("\x8d\x01\x00\x00\x00\x00\x00\x00\x00" "a.")) == "'a'");
    }
    SUBCASE("BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8") {
        CHECK(outcome(P("B\x02\x00\x00\x00\x00\x01.")) == "b(0001)");
        CHECK(outcome(P("C\x00.")) == "b()");
        CHECK(outcome(P("\x8e\x01\x00\x00\x00\x00\x00\x00\x00\xff.")) == "b(ff)");
        // pickle.dumps(bytearray(b'ab'), protocol=5)
        CHECK(outcome(P("\x80\x05\x95\x0d\x00\x00\x00\x00\x00\x00\x00\x96\x02\x00\x00\x00\x00\x00\x00\x00" "ab\x94.")) ==
              "bytearray(6162)");
    }
}

TEST_CASE("container opcodes: tuples, lists, dicts, sets and frozensets") {
    SUBCASE("EMPTY_TUPLE, TUPLE, TUPLE1, TUPLE2, TUPLE3") {
        CHECK(outcome(P(").")) == "#1=tuple()");
        CHECK(outcome(P("(K\x01K\x02t.")) == "#1=tuple(1, 2)");
        CHECK(outcome(P("(t.")) == "#1=tuple()");
        CHECK(outcome(P("t.")) == "error pickle.mark_missing @0");
        CHECK(outcome(P("K\x01\x85.")) == "#1=tuple(1)");
        CHECK(outcome(P("K\x01K\x02\x86.")) == "#1=tuple(1, 2)");
        CHECK(outcome(P("K\x01K\x02K\x03\x87.")) == "#1=tuple(1, 2, 3)");
        CHECK(outcome(P("K\x01\x86.")) == "error pickle.stack_underflow @2");
        CHECK(outcome(P("\x87.")) == "error pickle.stack_underflow @0");
        // The counted forms never reach below a MARK (_pickle.c: "unexpected MARK found").
        CHECK(outcome(P("K\x01(K\x02K\x03\x87.")) == "error pickle.stack_underflow @7");
        CHECK(outcome(P("(\x85.")) == "error pickle.stack_underflow @1");
    }
    SUBCASE("EMPTY_LIST, LIST") {
        CHECK(outcome(P("].")) == "#1=list()");
        CHECK(outcome(P("(K\x01l.")) == "#1=list(1)");
        CHECK(outcome(P("(l.")) == "#1=list()");
        CHECK(outcome(P("l.")) == "error pickle.mark_missing @0");
    }
    SUBCASE("EMPTY_DICT, DICT") {
        CHECK(outcome(P("}.")) == "#1=dict()");
        CHECK(outcome(P("(K\x01K\x02" "d.")) == "#1=dict(1, 2)");
        CHECK(outcome(P("(d.")) == "#1=dict()");
        CHECK(outcome(P("(K\x01" "d.")) == "error pickle.odd_items @3");
        CHECK(outcome(P("d.")) == "error pickle.mark_missing @0");
        // CPython's result is {1: 3}. The graph records the pairs in order (value.hpp: dict
        // children replay as SETITEMs), and replaying them gives the same dict.
        CHECK(outcome(P("(K\x01K\x02K\x01K\x03" "d.")) == "#1=dict(1, 2, 1, 3)");
    }
    SUBCASE("EMPTY_SET, FROZENSET") {
        CHECK(outcome(P("\x8f.")) == "#1=set()");
        CHECK(outcome(P("(K\x01K\x02\x91.")) == "#1=frozenset(1, 2)");
        CHECK(outcome(P("(\x91.")) == "#1=frozenset()");
        CHECK(outcome(P("\x91.")) == "error pickle.mark_missing @0");
    }
}

TEST_CASE("mutation opcodes: APPEND, APPENDS, SETITEM, SETITEMS, ADDITEMS, BUILD") {
    SUBCASE("APPEND") {
        CHECK(outcome(P("]K\x01" "a.")) == "#1=list(1)");
        CHECK(outcome(P("K\x01" "a.")) == "error pickle.stack_underflow @2");
        CHECK(outcome(P("](K\x01" "a.")) == "error pickle.stack_underflow @4");
        // CPython raises (a tuple has no append); torch_weights_only refuses it as a finding.
        CHECK(outcome(P(")K\x01" "a.")) == "BLOCKED");
        CHECK(findings(P(")K\x01" "a.")) == "APPEND@3");
    }
    SUBCASE("APPENDS") {
        CHECK(outcome(P("](K\x01K\x02" "e.")) == "#1=list(1, 2)");
        CHECK(outcome(P("](e.")) == "#1=list()");
        CHECK(outcome(P("e.")) == "error pickle.mark_missing @0");
        // The target must lie below the MARK and above the MARK before it.
        CHECK(outcome(P("(K\x01" "e.")) == "error pickle.stack_underflow @3");
        CHECK(outcome(P("]((K\x01" "e.")) == "error pickle.stack_underflow @5");
    }
    SUBCASE("SETITEM") {
        CHECK(outcome(P("}K\x01K\x02s.")) == "#1=dict(1, 2)");
        CHECK(outcome(P("}K\x01s.")) == "error pickle.stack_underflow @3");
        CHECK(outcome(P("}(K\x01K\x02s.")) == "error pickle.stack_underflow @6");
        // CPython: {1: 3}; the graph replays both assignments in order.
        CHECK(outcome(P("}K\x01K\x02sK\x01K\x03s.")) == "#1=dict(1, 2, 1, 3)");
        // An OrderedDict is filled through SETITEM on the call's result.
        CHECK(outcome(P("ccollections\nOrderedDict\n)RK\x01K\x02s.")) ==
              "#1=call(<collections:OrderedDict>, #2=tuple() items=1, 2)");
    }
    SUBCASE("SETITEMS") {
        CHECK(outcome(P("}(K\x01K\x02K\x03K\x04u.")) == "#1=dict(1, 2, 3, 4)");
        CHECK(outcome(P("}(u.")) == "#1=dict()");
        CHECK(outcome(P("}(K\x01K\x02K\x03u.")) == "error pickle.odd_items @8");
        CHECK(outcome(P("}(K\x01u.")) == "error pickle.odd_items @4");
        CHECK(outcome(P("(K\x01K\x02u.")) == "error pickle.stack_underflow @5");
        CHECK(outcome(P("}((K\x01K\x02u.")) == "error pickle.stack_underflow @7");
        CHECK(outcome(P("u.")) == "error pickle.mark_missing @0");
    }
    SUBCASE("ADDITEMS") {
        CHECK(outcome(P("\x8f(K\x01K\x02\x90.")) == "#1=set(1, 2)");
        // pickle.dumps({1, 2}, protocol=4)
        CHECK(outcome(P("\x80\x04\x95\x09\x00\x00\x00\x00\x00\x00\x00\x8f\x94(K\x01K\x02\x90.")) == "#1=set(1, 2)");
        CHECK(outcome(P("(K\x01\x90.")) == "error pickle.stack_underflow @3");
        CHECK(outcome(P("\x90.")) == "error pickle.mark_missing @0");
    }
    SUBCASE("BUILD") {
        // BUILD pops the state and leaves the object.
        CHECK(outcome(P("ccollections\nOrderedDict\n)R}b.")) ==
              "#1=call(<collections:OrderedDict>, #2=tuple() states=#3=dict())");
        CHECK(outcome(P("}b.")) == "error pickle.stack_underflow @1");
        CHECK(outcome(P("}(}b.")) == "error pickle.stack_underflow @3");
        // pickle.py sets attributes on anything; torch_weights_only allows BUILD only on tensors,
        // parameters and OrderedDict.
        CHECK(outcome(P("]}b.")) == "BLOCKED");
        CHECK(findings(P("]}b.")) == "BUILD@2");
    }
}

TEST_CASE("memo opcodes: PUT, BINPUT, LONG_BINPUT, MEMOIZE, GET, BINGET, LONG_BINGET") {
    SUBCASE("each PUT form with its GET form, and across forms") {
        CHECK(outcome(P("]p0\ng0\n\x86.")) == "#1=tuple(#2=list(), #2)");
        CHECK(outcome(P("]q\x00h\x00\x86.")) == "#1=tuple(#2=list(), #2)");
        CHECK(outcome(P("]r\x00\x00\x00\x00j\x00\x00\x00\x00\x86.")) == "#1=tuple(#2=list(), #2)");
        CHECK(outcome(P("K\x07p3\nh\x03\x86.")) == "#1=tuple(7, 7)");
        CHECK(outcome(P("K\x07p003\ng3\n\x86.")) == "#1=tuple(7, 7)");  // int('003') == 3
        CHECK(outcome(P("K\x09r\x00\x00\x01\x00j\x00\x00\x01\x00\x86.")) == "#1=tuple(9, 9)");
    }
    SUBCASE("PUT leaves the value on the stack and the memo holds the object, not a copy") {
        CHECK(outcome(P("K\x05q\x00.")) == "5");
        CHECK(outcome(P("]q\x00K\x01" "ah\x00\x86.")) == "#1=tuple(#2=list(1), #2)");
        CHECK(outcome(P("K\x01q\x00(h\x00t.")) == "#1=tuple(1)");
    }
    SUBCASE("PUT overwrites") {
        CHECK(outcome(P("K\x01q\x00K\x02q\x00h\x00\x87.")) == "#1=tuple(1, 2, 2)");
        CHECK(outcome(P("K\x01p0\nK\x02q\x00g0\n.")) == "2");
    }
    SUBCASE("PUT and MEMOIZE need a value above the topmost MARK") {
        CHECK(outcome(P("q\x00.")) == "error pickle.stack_underflow @0");
        CHECK(outcome(P("K\x01(q\x00.")) == "error pickle.stack_underflow @3");
        CHECK(outcome(P("K\x01(p0\n.")) == "error pickle.stack_underflow @3");
        CHECK(outcome(P("K\x01(r\x00\x00\x00\x00.")) == "error pickle.stack_underflow @3");
        CHECK(outcome(P("\x94.")) == "error pickle.stack_underflow @0");
        CHECK(outcome(P("K\x01(\x94.")) == "error pickle.stack_underflow @3");
    }
    SUBCASE("negative memo indices") {
        // CPython: "negative PUT argument" for PUT, "Memo value not found" for GET. The reader
        // already refuses a negative index (reader.hpp), before the machine sees it.
        CHECK(outcome(P("K\x01p-1\n.")) == "error pickle.bad_integer @3");
        CHECK(outcome(P("K\x01q\x00g-1\n.")) == "error pickle.bad_integer @5");
    }
    SUBCASE("GET of an index never stored") {
        CHECK(outcome(P("h\x05.")) == "error pickle.memo_missing @0");
        CHECK(outcome(P("g0\n.")) == "error pickle.memo_missing @0");
        CHECK(outcome(P("j\x00\x00\x00\x00.")) == "error pickle.memo_missing @0");
        CHECK(outcome(P("K\x01q\x00h\x01.")) == "error pickle.memo_missing @4");
        CHECK(outcome(P("K\x01q\x00j\x00\x01\x00\x00.")) == "error pickle.memo_missing @4");
        CHECK(outcome(P("K\x01r\x00\x00\x01\x00h\x00.")) == "error pickle.memo_missing @7");
    }
    SUBCASE("MEMOIZE stores at len(memo), the number of entries, not the highest index") {
        CHECK(outcome(P("\x80\x04K\x01\x94K\x02\x94K\x03\x94h\x00h\x01h\x02\x87.")) == "#1=tuple(1, 2, 3)");
        CHECK(outcome(P("\x80\x04K\x0aq\x05K\x0b\x94h\x01h\x05\x86.")) == "#1=tuple(11, 10)");
        // Overwriting an index does not add an entry.
        CHECK(outcome(P("K\x01q\x00K\x02q\x00K\x03\x94h\x01.")) == "3");
        // len(memo) may name an index a PUT already used: MEMOIZE overwrites it.
        CHECK(outcome(P("K\x01q\x01K\x02\x94h\x01.")) == "2");
        CHECK(outcome(P("K\x01q\x01K\x02\x94h\x00.")) == "error pickle.memo_missing @7");
    }
}

// Regression (found by these tests): an index first stored far past the dense memo's end goes to
// the sparse map; once the dense part had grown to cover it, a PUT to the same index landed in the
// dense part as a new entry, so MEMOIZE's index was one more than CPython's len(memo).
// CPython: memo {1025: 3, 1: 2}, MEMOIZE stores 4 at index 2, GET 2 returns 4.
TEST_CASE("MEMOIZE after a PUT overwrites a high memo index still counts entries as CPython does") {
    CHECK(outcome(P("K\x01r\x01\x04\x00\x00K\x02q\x01K\x03r\x01\x04\x00\x00K\x04\x94h\x02.")) == "4");
    // The same drift without an error: CPython's MEMOIZE overwrites index 3, the machine's writes
    // index 4, so GET 3 yields 4 in CPython and 5 in the graph.
    CHECK(outcome(P("K\x01r\x01\x04\x00\x00K\x02q\x01K\x03r\x01\x04\x00\x00K\x05q\x03K\x04\x94h\x03.")) == "4");
}

TEST_CASE("GLOBAL and STACK_GLOBAL: the policy judges the name, the machine the operands") {
    SUBCASE("GLOBAL") {
        CHECK(outcome(P("ctorch\nfloat32\n.")) == "<torch:float32>");
        CHECK(outcome(P("cos\nsystem\n.")) == "BLOCKED");
        CHECK(findings(P("cos\nsystem\n.")) == "GLOBAL@0 os.system");
        // Protocol 0 maps Python 2 names; strict has no builtins.set.
        CHECK(outcome(P("c__builtin__\nset\n.")) == "<builtins:set>");
        CHECK(outcome(P("c__builtin__\nset\n."), policy::strict{}) == "BLOCKED");
        // _pickle.c fails on an empty module name too (reader.hpp: the machine refuses it).
        CHECK(outcome(P("c\nx\n.")) == "error pickle.bad_argument @0");
    }
    SUBCASE("STACK_GLOBAL") {
        CHECK(outcome(P("\x8c\x05torch\x8c\x07" "float32\x93.")) == "<torch:float32>");
        CHECK(findings(P("\x80\x04\x8c\x02os\x8c\x06system\x93.")) == "STACK_GLOBAL@14 os.system");
        // CPython accepts Python 2 str operands (decoded with encoding='ASCII').
        CHECK(outcome(P("S'collections'\nS'OrderedDict'\n\x93.")) == "<collections:OrderedDict>");
        // "STACK_GLOBAL requires str"
        CHECK(outcome(P("K\x01\x8c\x01" "a\x93.")) == "error pickle.bad_argument @5");
        CHECK(outcome(P("\x8c\x01" "aK\x01\x93.")) == "error pickle.bad_argument @5");
        CHECK(outcome(P("C\x0b" "collectionsC\x0bOrderedDict\x93.")) == "error pickle.bad_argument @26");
        CHECK(outcome(P("\x8c\x01" "a\x93.")) == "error pickle.stack_underflow @3");
        CHECK(outcome(P("\x8c\x0b" "collections(\x8c\x0bOrderedDict\x93.")) == "error pickle.stack_underflow @27");
    }
}

TEST_CASE("call opcodes: REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ") {
    SUBCASE("REDUCE") {
        CHECK(outcome(P("ccollections\nOrderedDict\n)R.")) == "#1=call(<collections:OrderedDict>, #2=tuple())");
        // A refused callable: the GLOBAL and the call are both reported.
        CHECK(outcome(P("cos\nsystem\n(S'x'\ntR.")) == "BLOCKED");
        CHECK(findings(P("cos\nsystem\n(S'x'\ntR.")) == "GLOBAL@0 os.system; REDUCE@18 os.system");
        // Allowed as a value, not as a callable.
        CHECK(findings(P("ctorch\nfloat32\n)R.")) == "REDUCE@16 torch.float32");
        // CPython raises "'tuple' object is not callable"; calling a computed value is refused.
        CHECK(outcome(P("))R.")) == "BLOCKED");
        CHECK(findings(P("))R.")) == "REDUCE@2");
        // _pickle.c: "argument list must be a tuple" (pickle.py would accept any iterable;
        // brine takes the stricter reading, reader.hpp).
        CHECK(outcome(P("ccollections\nOrderedDict\n]R.")) == "error pickle.bad_argument @26");
        CHECK(outcome(P(")R.")) == "error pickle.stack_underflow @1");
        CHECK(outcome(P("ccollections\nOrderedDict\n(R.")) == "error pickle.stack_underflow @26");
    }
    SUBCASE("NEWOBJ") {
        CHECK(outcome(P("ctorch.nn.parameter\nParameter\n)\x81.")) ==
              "#1=call(<torch.nn.parameter:Parameter>, #2=tuple())");
        // CPython builds OrderedDict(); torch_weights_only allows NEWOBJ of Parameter only.
        CHECK(outcome(P("ccollections\nOrderedDict\n)\x81.")) == "BLOCKED");
        CHECK(findings(P("ccollections\nOrderedDict\n)\x81.")) == "NEWOBJ@26 collections.OrderedDict");
        CHECK(outcome(P("ccollections\nOrderedDict\n]\x81.")) == "error pickle.bad_argument @26");
        CHECK(outcome(P(")\x81.")) == "error pickle.stack_underflow @1");
    }
    SUBCASE("NEWOBJ_EX") {
        // CPython builds OrderedDict(); no torch policy allows NEWOBJ_EX.
        CHECK(outcome(P("ccollections\nOrderedDict\n)}\x92.")) == "BLOCKED");
        CHECK(findings(P("ccollections\nOrderedDict\n)}\x92.")) == "NEWOBJ_EX@27 collections.OrderedDict");
        CHECK(outcome(P("ccollections\nOrderedDict\n)]\x92.")) == "error pickle.bad_argument @27");
        CHECK(outcome(P("ccollections\nOrderedDict\n]}\x92.")) == "error pickle.bad_argument @27");
        CHECK(outcome(P(")}\x92.")) == "error pickle.stack_underflow @2");
        CHECK(outcome(P("ccollections\nOrderedDict\n(\x29}\x92.")) == "error pickle.stack_underflow @28");
    }
    SUBCASE("INST") {
        // The arguments are what lies above the MARK; what lies below stays.
        CHECK(outcome(P("K\x07(icollections\nOrderedDict\n\x86.")) == "#1=tuple(7, BLOCKED)");
        CHECK(findings(P("(icollections\nOrderedDict\n.")) == "INST@1 collections.OrderedDict");
        CHECK(findings(P("(ios\nsystem\n.")).rfind("INST@1 os.system", 0) == 0);
        CHECK(outcome(P("icollections\nOrderedDict\n.")) == "error pickle.mark_missing @0");
    }
    SUBCASE("OBJ") {
        CHECK(outcome(P("K\x07(ccollections\nOrderedDict\no\x86.")) == "#1=tuple(7, BLOCKED)");
        CHECK(findings(P("(ccollections\nOrderedDict\no.")) == "OBJ@26 collections.OrderedDict");
        // OBJ needs the class after the MARK.
        CHECK(outcome(P("(o.")) == "error pickle.stack_underflow @1");
        CHECK(outcome(P("ccollections\nOrderedDict\n(o.")) == "error pickle.stack_underflow @26");
        CHECK(outcome(P("o.")) == "error pickle.mark_missing @0");
    }
}

// Without a persistent_load CPython raises; torch supplies one, so the machine records the id for
// the policy to judge (machine.hpp).
TEST_CASE("persistent id opcodes: PERSID, BINPERSID") {
    const std::string_view storage = P("(X\x07\x00\x00\x00storageK\x01tQ.");
    CHECK(outcome(storage) == "#1=persistent id(#2=tuple('storage', 1))");
    CHECK(findings(storage).empty());
    CHECK(outcome(P("(X\x06\x00\x00\x00systemK\x01tQ.")) == "BLOCKED");
    CHECK(outcome(P("Q.")) == "error pickle.stack_underflow @0");
    CHECK(outcome(P("K\x01(Q.")) == "error pickle.stack_underflow @3");
    // torch_weights_only accepts only BINPERSID.
    CHECK(outcome(P("Pstorage\n.")) == "BLOCKED");
    CHECK(findings(P("Pstorage\n.")) == "PERSID@0");
}

// CPython resolves EXT codes through copyreg's registry (any global) and reads out-of-band
// buffers from the caller; both reach outside the stream, so brine refuses them (DESIGN §3).
TEST_CASE("EXT1, EXT2, EXT4, NEXT_BUFFER and READONLY_BUFFER are refused") {
    CHECK(outcome(P("\x82\x01.")) == "error pickle.refused_opcode @0");
    CHECK(outcome(P("\x83\x01\x00.")) == "error pickle.refused_opcode @0");
    CHECK(outcome(P("\x84\x01\x00\x00\x00.")) == "error pickle.refused_opcode @0");
    CHECK(outcome(P("\x80\x05\x97.")) == "error pickle.refused_opcode @2");
    // CPython turns in-band bytes into a read-only memoryview here; brine refuses the opcode.
    CHECK(outcome(P("\x80\x05\x43\x01" "a\x98.")) == "error pickle.refused_opcode @5");
}

TEST_CASE("every one of the 68 opcodes evaluates as CPython's unpickler would") {
    struct example {
        pickle::opcode op;
        std::string_view bytes;
        const char* expected;
    };
    using O = pickle::opcode;
    const example examples[] = {
        {O::MARK, P("(K\x01t."), "#1=tuple(1)"},
        {O::STOP, P("N."), "None"},
        {O::POP, P("K\x01K\x02" "0."), "1"},
        {O::POP_MARK, P("K\x01(K\x02" "1."), "1"},
        {O::DUP, P("K\x01" "2\x86."), "#1=tuple(1, 1)"},
        {O::FLOAT, P("F0.25\n."), "0.25"},
        {O::INT, P("I-3\n."), "-3"},
        {O::BININT, P("J\xfe\xff\xff\xff."), "-2"},
        {O::BININT1, P("K\x00."), "0"},
        {O::LONG, P("L7L\n."), "7"},
        {O::BININT2, P("M\x00\x01."), "256"},
        {O::NONE, P("N."), "None"},
        {O::PERSID, P("Pstorage\n."), "BLOCKED"},
        {O::BINPERSID, P("(X\x07\x00\x00\x00storagetQ."), "#1=persistent id(#2=tuple('storage'))"},
        {O::REDUCE, P("ccollections\nOrderedDict\n)R."), "#1=call(<collections:OrderedDict>, #2=tuple())"},
        {O::STRING, P("S'x'\n."), "str2(78)"},
        {O::BINSTRING, P("T\x01\x00\x00\x00x."), "str2(78)"},
        {O::SHORT_BINSTRING, P("U\x01x."), "str2(78)"},
        {O::UNICODE, P("Vx\n."), "'x'"},
        {O::BINUNICODE, P("X\x01\x00\x00\x00x."), "'x'"},
        {O::APPEND, P("]N" "a."), "#1=list(None)"},
        {O::BUILD, P("ccollections\nOrderedDict\n)RNb."), "#1=call(<collections:OrderedDict>, #2=tuple() states=None)"},
        {O::GLOBAL, P("ctorch\nSize\n."), "<torch:Size>"},
        {O::DICT, P("(N\x88" "d."), "#1=dict(None, True)"},
        {O::EMPTY_DICT, P("}."), "#1=dict()"},
        {O::APPENDS, P("](N\x89" "e."), "#1=list(None, False)"},
        {O::GET, P("Np0\ng0\n\x86."), "#1=tuple(None, None)"},
        {O::BINGET, P("Nq\x00h\x00\x86."), "#1=tuple(None, None)"},
        {O::INST, P("(icollections\nOrderedDict\n."), "BLOCKED"},
        {O::LONG_BINGET, P("Nr\x00\x00\x00\x00j\x00\x00\x00\x00\x86."), "#1=tuple(None, None)"},
        {O::LIST, P("(Nl."), "#1=list(None)"},
        {O::EMPTY_LIST, P("]."), "#1=list()"},
        {O::OBJ, P("(ccollections\nOrderedDict\no."), "BLOCKED"},
        {O::PUT, P("Np0\n."), "None"},
        {O::BINPUT, P("Nq\x00."), "None"},
        {O::LONG_BINPUT, P("Nr\x00\x00\x00\x00."), "None"},
        {O::SETITEM, P("}NN" "s."), "#1=dict(None, None)"},
        {O::TUPLE, P("(t."), "#1=tuple()"},
        {O::EMPTY_TUPLE, P(")."), "#1=tuple()"},
        {O::SETITEMS, P("}(K\x01N" "u."), "#1=dict(1, None)"},
        {O::BINFLOAT, P("G\xc0\x00\x00\x00\x00\x00\x00\x00."), "-2"},
        {O::PROTO, P("\x80\x05N."), "None"},
        {O::NEWOBJ, P("ctorch.nn.parameter\nParameter\n)\x81."), "#1=call(<torch.nn.parameter:Parameter>, #2=tuple())"},
        {O::EXT1, P("\x82\x01."), "error pickle.refused_opcode @0"},
        {O::EXT2, P("\x83\x01\x00."), "error pickle.refused_opcode @0"},
        {O::EXT4, P("\x84\x01\x00\x00\x00."), "error pickle.refused_opcode @0"},
        {O::TUPLE1, P("N\x85."), "#1=tuple(None)"},
        {O::TUPLE2, P("NN\x86."), "#1=tuple(None, None)"},
        {O::TUPLE3, P("NNN\x87."), "#1=tuple(None, None, None)"},
        {O::NEWTRUE, P("\x88."), "True"},
        {O::NEWFALSE, P("\x89."), "False"},
        {O::LONG1, P("\x8a\x01\x80."), "-128"},
        {O::LONG4, P("\x8b\x01\x00\x00\x00\x7f."), "127"},
        {O::BINBYTES, P("B\x01\x00\x00\x00x."), "b(78)"},
        {O::SHORT_BINBYTES, P("C\x01x."), "b(78)"},
        {O::SHORT_BINUNICODE, P("\x8c\x01x."), "'x'"},
        {O::BINUNICODE8, P("\x8d\x01\x00\x00\x00\x00\x00\x00\x00x."), "'x'"},
        {O::BINBYTES8, P("\x8e\x01\x00\x00\x00\x00\x00\x00\x00x."), "b(78)"},
        {O::EMPTY_SET, P("\x8f."), "#1=set()"},
        {O::ADDITEMS, P("\x8f(N\x90."), "#1=set(None)"},
        {O::FROZENSET, P("(N\x91."), "#1=frozenset(None)"},
        {O::NEWOBJ_EX, P("ccollections\nOrderedDict\n)}\x92."), "BLOCKED"},
        {O::STACK_GLOBAL, P("\x8c\x05torch\x8c\x04Size\x93."), "<torch:Size>"},
        {O::MEMOIZE, P("N\x94h\x00\x86."), "#1=tuple(None, None)"},
        {O::FRAME, P("\x95\x02\x00\x00\x00\x00\x00\x00\x00N."), "None"},
        {O::BYTEARRAY8, P("\x96\x01\x00\x00\x00\x00\x00\x00\x00x."), "bytearray(78)"},
        {O::NEXT_BUFFER, P("\x97."), "error pickle.refused_opcode @0"},
        {O::READONLY_BUFFER, P("C\x01x\x98."), "error pickle.refused_opcode @3"},
    };

    std::set<pickle::opcode> covered;
    for (const example& e : examples) {
        CAPTURE(pickle::opcode_name(e.op));
        // The opcode under test must actually occur in its example.
        CHECK(e.bytes.find(static_cast<char>(e.op)) != std::string_view::npos);
        CHECK(outcome(e.bytes) == e.expected);
        CHECK(covered.insert(e.op).second);  // each opcode once
    }
    for (const pickle::opcode_info& info : pickle::all_opcodes()) {
        CAPTURE(info.name);
        CHECK(covered.count(info.op) == 1);
    }
    CHECK(covered.size() == 68);
}
