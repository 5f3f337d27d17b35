// Unit tests for pickle::disassemble: the listing of CPython-written pickles agrees with
// pickletools.dis line for line on offsets, opcode names, memo indices and MARK nesting, and with
// a stack count made from pickletools' stack descriptions (tests/fixtures/pickle/tokens/*.dis.tsv);
// arguments are rendered safely; malformed streams are listed up to the error, never further.
#include <brine/brine.hpp>
#include <doctest/doctest.h>

#include "test_files.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace brine;
using namespace brine::pickle;
using bytes = std::vector<std::uint8_t>;

namespace {

const std::string fixture_dir = "tests/fixtures/pickle/tokens/";

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::stringstream split(text);
    std::string line;
    while (std::getline(split, line)) lines.push_back(line);
    return lines;
}

std::string trim(const std::string& text) {
    const auto begin = text.find_first_not_of(' ');
    if (begin == std::string::npos) return "";
    return text.substr(begin, text.find_last_not_of(' ') - begin + 1);
}

// One opcode line of our listing, split into its columns.
struct listed {
    std::string offset, depth, marks, name, argument;
};

listed parse_line(const std::string& line) {
    listed l;
    l.offset = trim(line.substr(0, 8));
    l.depth = trim(line.substr(8, 7));
    l.marks = trim(line.substr(15, 6));
    const std::string rest = line.size() > 23 ? trim(line.substr(23)) : "";
    const auto space = rest.find(' ');
    l.name = rest.substr(0, space);
    l.argument = space == std::string::npos ? "" : trim(rest.substr(space));
    return l;
}

// A string literal with embedded NULs, whole.
template <std::size_t N>
std::string_view lit(const char (&text)[N]) {
    return {text, N - 1};
}

std::string listing(std::string_view pickle) { return disassemble_to_string(as_bytes(pickle)); }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("CPython pickles list as pickletools.dis lists them") {
    const char* files[] = {"rich_p0", "rich_p1", "rich_p2", "rich_p3", "rich_p4", "rich_p5",
                           "persistent_p0", "persistent_p1", "extensions_p2", "buffers_p5"};
    for (const char* file : files) {
        CAPTURE(file);
        const bytes data = brine_test::read_file(brine_test::source_path(fixture_dir + file + ".pkl"));
        const auto expected = brine_test::read_tsv(brine_test::source_path(fixture_dir + file + ".dis.tsv"));
        REQUIRE(!data.empty());
        REQUIRE(!expected.empty());
        std::string text;
        struct string_sink {
            std::string* out;
            status write(byte_view b) noexcept {
                out->append(reinterpret_cast<const char*>(b.data()), b.size());
                return {};
            }
        } sink{&text};
        auto summary = disassemble(byte_view(data.data(), data.size()), sink);
        REQUIRE(summary);
        CHECK(summary->reached_stop);
        CHECK(summary->problem.code == errc::ok);
        CHECK(summary->opcodes == expected.size());
        const auto lines = lines_of(text);
        REQUIRE(lines.size() == expected.size() + 1);
        CHECK(lines[0].find("offset") != std::string::npos);
        for (std::size_t i = 0; i < expected.size(); ++i) {
            CAPTURE(lines[i + 1]);
            const listed l = parse_line(lines[i + 1]);
            const auto& row = expected[i];
            REQUIRE(row.size() == 5);
            CHECK(l.offset == row[0]);
            CHECK(l.name == row[1]);
            CHECK(l.depth == row[2]);
            CHECK(l.marks == row[3]);
            if (row[4] != "-") CHECK(l.argument.rfind("memo[" + row[4] + "]", 0) == 0);
            CHECK(lines[i + 1].find("  ! ") == std::string::npos);  // no stack complaints
        }
    }
}

TEST_CASE("key lines of a protocol-4 listing") {
    const bytes data = brine_test::read_file(brine_test::source_path(fixture_dir + "rich_p4.pkl"));
    const std::string text = disassemble_to_string(byte_view(data.data(), data.size()));
    const auto lines = lines_of(text);
    REQUIRE(lines.size() > 10);
    std::vector<std::string> shown;  // "NAME argument"
    for (std::size_t i = 1; i < lines.size(); ++i) {
        const listed l = parse_line(lines[i]);
        shown.push_back(l.argument.empty() ? l.name : l.name + " " + l.argument);
    }
    auto has = [&](const std::string& entry) { return std::find(shown.begin(), shown.end(), entry) != shown.end(); };
    CHECK(shown[0] == "PROTO 4");
    CHECK(shown[1] == "FRAME 2052 bytes, to offset 2063");
    CHECK(has("SHORT_BINUNICODE 'caf\\xe9'"));
    CHECK(has("SHORT_BINUNICODE '\\u4e2d\\u6587'"));
    CHECK(has("SHORT_BINUNICODE '\\U0001f600'"));
    CHECK(has("SHORT_BINUNICODE 'new\\nline'"));
    CHECK(has("SHORT_BINUNICODE 'nul\\x00'"));
    CHECK(has("BINFLOAT nan"));
    CHECK(has("BINFLOAT -0.0"));
    CHECK(has("BINFLOAT 1e+300"));
    CHECK(has("LONG1 -9223372036854775808"));
    CHECK(has("LONG1 -0x8000000000000001"));
    CHECK(has("STACK_GLOBAL"));
    CHECK(has("STOP"));
    CHECK(contains(text, "...(251 bytes)"));  // a big integer, cut
    CHECK(contains(text, "...(300 bytes)"));  // a long string, cut
}

TEST_CASE("arguments never carry raw control or non-ASCII bytes") {
    const std::string text = listing(lit("(C\x05\x1b[31mX\x04\x00\x00\x00\xe2\x80\xae" "a"
                                         "cos\r\nsys\x1btem\n\x8c\x01'Vq\\u202e\nt."));
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        CHECK((byte == '\n' || (byte >= 0x20 && byte < 0x7f)));
    }
    CHECK(contains(text, "b'\\x1b[31m'"));
    CHECK(contains(text, "'\\u202ea'"));
    CHECK(contains(text, "'q\\u202e'"));
    CHECK(contains(text, "'os\\r' 'sys\\x1btem'"));
    CHECK(contains(text, "'\\''"));
}

TEST_CASE("malformed streams are listed up to the error, which is named with its offset") {
    std::string text = listing(lit("(N\x95\x02\x00\x00\x00\x00\x00\x00\x00JABCD."));
    CHECK(contains(text, "error at offset 12: pickle.bad_frame"));
    text = listing("NN\xff");
    CHECK(contains(text, "error at offset 2: pickle.unknown_opcode"));
    text = listing("N");
    CHECK(contains(text, "error at offset 1: pickle.end_of_input"));
    // Stack problems are noted on the line, the listing goes on.
    text = listing("R0t2h\x05.");
    CHECK(contains(text, "REDUCE               ! stack underflow"));
    CHECK(contains(text, "TUPLE                ! no MARK to pop to"));
    CHECK(contains(text, "memo[5] (never stored)"));
    // POP with nothing above the topmost mark discards the mark (CPython's load_pop).
    const auto lines = lines_of(listing("N(0."));
    REQUIRE(lines.size() == 5);
    CHECK(parse_line(lines[3]).name == "POP");
    CHECK(parse_line(lines[3]).marks == "0");
    CHECK(parse_line(lines[3]).depth == "1");
}

TEST_CASE("bytes after STOP are flagged and listed on their own") {
    const std::string text = listing("N.cos\nsystem\n.");
    CHECK(contains(text, "after STOP: 12 more bytes, no part of the object"));
    CHECK(contains(text, "GLOBAL             'os' 'system'"));
    auto summary = [] {
        counting_sink sink;
        const std::string p = "N.\xff";
        return disassemble(as_bytes(p), sink);
    }();
    REQUIRE(summary);
    CHECK(summary->reached_stop);
    CHECK(summary->problem.code == errc::pickle_unknown_opcode);
}

TEST_CASE("memo indices: MEMOIZE counts distinct keys, as len(memo)") {
    const auto lines = lines_of(listing(lit("N\x94N\x94q\x05N\x94q\x00N\x94h\x03.")));
    REQUIRE(lines.size() == 13);
    CHECK(parse_line(lines[2]).argument == "memo[0]");
    CHECK(parse_line(lines[4]).argument == "memo[1]");
    CHECK(parse_line(lines[5]).argument == "memo[5]");
    CHECK(parse_line(lines[7]).argument == "memo[3]");
    CHECK(parse_line(lines[8]).argument == "memo[0]");  // overwrites, adds no key
    CHECK(parse_line(lines[10]).argument == "memo[4]");
    CHECK(parse_line(lines[11]).argument == "memo[3]");
}

namespace {
struct shallow_limits : limits::standard {
    static constexpr std::uint64_t max_mark_depth = 3;
    static constexpr std::uint64_t max_memo_size = 4;
};
}  // namespace

TEST_CASE("the simulation stays within Limits: MARK nesting and memo size") {
    const std::string text = disassemble_to_string<shallow_limits>(as_bytes("(((((((N."));
    CHECK(contains(text, "MARK nesting beyond Limits::max_mark_depth"));
    CHECK(lines_of(text).size() == 5);
    const std::string memo = disassemble_to_string<shallow_limits>(as_bytes("Nq\x09N\x94h\x09."));
    CHECK(contains(memo, "memo[9] (beyond Limits::max_memo_size)"));
    CHECK(contains(memo, "memo[?]"));
}

TEST_CASE("the annotator hook adds text to every line, e.g. a verdict on globals") {
    const std::string text = disassemble_to_string(as_bytes("cos\nsystem\n\x8c\x01" "a\x8c\x01" "b\x93."),
                                                   [](const token& t, listing_line& line) {
                                                       if (t.op == opcode::GLOBAL || t.op == opcode::STACK_GLOBAL)
                                                           line.append("  <- refused");
                                                   });
    CHECK(contains(text, "'os' 'system'  <- refused"));
    const auto lines = lines_of(text);
    REQUIRE(lines.size() == 6);
    CHECK(parse_line(lines[4]).name == "STACK_GLOBAL");
    CHECK(parse_line(lines[4]).argument == "<- refused");
}

TEST_CASE("a failing sink ends the listing with the sink's error") {
    std::uint8_t buffer[100];
    buffer_sink sink(mutable_byte_view(buffer, sizeof buffer));
    auto summary = disassemble(as_bytes("NNNNNNNNNN."), sink);
    REQUIRE_FALSE(summary);
    CHECK(summary.err().code == errc::limit_exceeded);
}
