// Unit tests for pickle::reader, the opcode tokenizer. Every opcode of protocols 0-5 is read from
// pickles written by CPython (and two hand-assembled ones) and compared with what CPython's own
// primitives make of each argument (tests/fixtures/pickle/tokens/expected.tsv, written by
// tests/fixtures/gen/pickle_tokens.py); then every way an argument can be malformed is refused
// with its error code and offset: truncation at every byte, lying lengths, bad text, bad frames.
#include <brine/brine.hpp>
#include <doctest/doctest.h>

#include "test_files.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace brine;
using namespace brine::pickle;
using bytes = std::vector<std::uint8_t>;

namespace {

bytes bytes_of(std::string_view text) { return bytes(text.begin(), text.end()); }

std::string hex(byte_view data) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (std::uint8_t b : data) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

// A token's argument in the notation of expected.tsv.
std::string describe(const token& t) {
    switch (t.kind) {
        case arg_kind::none: return "none\t-";
        case arg_kind::integer: return "integer\t" + std::to_string(t.integer);
        case arg_kind::big_integer: return "big_integer\t" + hex(t.data);
        case arg_kind::boolean: return std::string("boolean\t") + (t.boolean ? "1" : "0");
        case arg_kind::real: {
            std::uint64_t bits;
            std::memcpy(&bits, &t.real, 8);
            std::uint8_t be[8];
            store_be64(be, bits);
            return "real\t" + hex(byte_view(be, 8));
        }
        case arg_kind::bytes: return "bytes\t" + hex(t.data);
        case arg_kind::text: return "text\t" + hex(t.data);
        case arg_kind::global: return "global\t" + hex(as_bytes(t.module)) + ":" + hex(as_bytes(t.name));
    }
    return "?";
}

std::string row_of(const token& t) {
    return std::to_string(t.offset) + "\t" + std::string(opcode_name(t.op)) + "\t" + describe(t);
}

const std::string fixture_dir = "tests/fixtures/pickle/tokens/";

// Expected rows per fixture file, "offset\topcode\tkind\tvalue".
std::map<std::string, std::vector<std::string>> expected_tokens() {
    std::map<std::string, std::vector<std::string>> files;
    for (auto row : brine_test::read_tsv(brine_test::source_path(fixture_dir + "expected.tsv"))) {
        if (row.size() == 4) row.emplace_back();  // an empty string's value is an empty last field
        REQUIRE(row.size() == 5);
        files[row[0]].push_back(row[1] + "\t" + row[2] + "\t" + row[3] + "\t" + row[4]);
    }
    return files;
}

struct outcome {
    std::vector<std::string> rows;  // the tokens read, described
    error stopped;                  // the error that ended reading (code ok after STOP)
};

template <class Limits = limits::standard>
outcome read_all(const bytes& data) {
    reader<Limits> tokens(byte_view(data.data(), data.size()));
    outcome result;
    while (true) {
        auto t = tokens.next();
        if (!t) {
            result.stopped = t.err();
            return result;
        }
        result.rows.push_back(row_of(*t));
        if (t->op == opcode::STOP) return result;
    }
}

// The error reading `text` ends with (after any tokens before it).
template <class Limits = limits::standard>
error first_error(std::string_view text) {
    const outcome o = read_all<Limits>(bytes_of(text));
    return o.stopped;
}

// The single token of `text` (one opcode, then STOP).
token only_token(std::string_view text, std::vector<std::uint8_t>& storage, reader<>*& keep) {
    storage = bytes_of(text);
    keep = new reader<>(byte_view(storage.data(), storage.size()));
    auto t = keep->next();
    REQUIRE_MESSAGE(t, to_string(t.err().code), " at ", t.err().offset, ": ", t.err().detail);
    return *t;
}

// Reads `text` and returns the description of its first token, or the error code's name.
std::string first(std::string_view text) {
    const bytes data = bytes_of(text);
    reader<> tokens(byte_view(data.data(), data.size()));
    auto t = tokens.next();
    if (!t) return std::string(to_string(t.err().code)) + "@" + std::to_string(t.err().offset);
    return describe(*t);
}

#define CHECK_ERROR(text, expected_code, expected_offset)                                            \
    do {                                                                                             \
        const error e_ = first_error(text);                                                          \
        CHECK_MESSAGE(e_.code == (expected_code), to_string(e_.code), " at ", e_.offset, ": ", e_.detail); \
        CHECK(e_.offset == (expected_offset));                                                       \
    } while (false)

std::string le32(std::uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (8 * i));
    return s;
}
std::string le64(std::uint64_t v) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
    return s;
}

}  // namespace

TEST_CASE("the opcode table has the 68 opcodes of protocols 0-5, one per byte value") {
    CHECK(all_opcodes().size() == 68);
    std::set<std::string_view> names;
    int mapped = 0;
    for (int byte = 0; byte < 256; ++byte) {
        const opcode_info* found = find_opcode(static_cast<std::uint8_t>(byte));
        if (!found) continue;
        ++mapped;
        CHECK(static_cast<int>(found->op) == byte);
        CHECK(&info(found->op) == found);
        names.insert(found->name);
    }
    CHECK(mapped == 68);
    CHECK(names.size() == 68);
    CHECK(opcode_name(opcode::BYTEARRAY8) == "BYTEARRAY8");
    CHECK(info(opcode::SHORT_BINBYTES).protocol == 3);
    CHECK(info(opcode::FRAME).arg == arg_encoding::uint8);
    CHECK(info(static_cast<opcode>(0xff)).name == "?");
}

TEST_CASE("every fixture pickle reads token for token as CPython reads it") {
    const auto expected = expected_tokens();
    REQUIRE(expected.size() >= 12);
    std::set<std::string> opcodes_seen;
    for (const auto& entry : expected) {
        const std::string& file = entry.first;
        const std::vector<std::string>& rows = entry.second;
        CAPTURE(file);
        const bytes data = brine_test::read_file(brine_test::source_path(fixture_dir + file));
        REQUIRE(!data.empty());
        reader<> tokens(byte_view(data.data(), data.size()));
        std::size_t i = 0;
        while (true) {
            auto t = tokens.next();
            REQUIRE_MESSAGE(t, to_string(t.err().code), " at ", t.err().offset, ": ", t.err().detail);
            REQUIRE(i < rows.size());
            CHECK(row_of(*t) == rows[i]);
            opcodes_seen.insert(std::string(opcode_name(t->op)));
            ++i;
            if (t->op == opcode::STOP) break;
        }
        CHECK(i == rows.size());
        CHECK(tokens.at_stop());
        CHECK(tokens.at_end());
        auto after = tokens.next();
        REQUIRE_FALSE(after);
        CHECK(after.err().code == errc::pickle_end_of_input);
        CHECK(after.err().offset == data.size());
        CHECK_FALSE(tokens.at_stop());
    }
    CHECK(opcodes_seen.size() == 68);
}

TEST_CASE("a pickle cut at any byte yields the same tokens up to the cut, then an error") {
    const auto expected = expected_tokens();
    for (const auto& entry : expected) {
        const std::string& file = entry.first;
        const std::vector<std::string>& rows = entry.second;
        CAPTURE(file);
        const bytes data = brine_test::read_file(brine_test::source_path(fixture_dir + file));
        std::set<std::uint64_t> boundaries;
        for (const auto& row : rows) boundaries.insert(std::stoull(row.substr(0, row.find('\t'))));
        const bool framed = data.size() > 2 && data[2] == 0x95;
        for (std::size_t cut = 0; cut < data.size(); ++cut) {
            CAPTURE(cut);
            const bytes prefix(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(cut));
            const outcome o = read_all(prefix);
            REQUIRE(o.rows.size() <= rows.size());
            for (std::size_t i = 0; i < o.rows.size(); ++i) CHECK(o.rows[i] == rows[i]);
            const errc code = o.stopped.code;
            if (framed && code == errc::pickle_bad_frame) continue;  // the frame now runs past the end
            if (boundaries.count(cut)) {
                CHECK(code == errc::pickle_end_of_input);
            } else {
                CHECK(code == errc::pickle_truncated);
            }
            CHECK(o.stopped.offset <= cut);
        }
    }
}

TEST_CASE("fixed-size arguments: values, signs and byte order") {
    CHECK(first("K\xff") == "integer\t255");
    CHECK(first(std::string("M\x01\x80", 3)) == "integer\t32769");
    CHECK(first("J\xff\xff\xff\xff") == "integer\t-1");
    CHECK(first(std::string("J\x00\x00\x00\x80", 5)) == "integer\t-2147483648");
    CHECK(first(std::string("h\x00", 2)) == "integer\t0");
    CHECK(first("j\xff\xff\xff\xff") == "integer\t4294967295");
    CHECK(first("r\x01\x02\x03\x04") == "integer\t67305985");
    CHECK(first("\x82\x05") == "integer\t5");
    CHECK(first(std::string("\x83\x00\x01", 3)) == "integer\t256");
    CHECK(first("\x84\xfe\xff\xff\xff") == "integer\t-2");  // EXT4's code is signed, as in pickle.py
    CHECK(first("\x80\x05") == "integer\t5");
    CHECK(first(std::string("G\x3f\xf0\x00\x00\x00\x00\x00\x00", 9)) == "real\t3ff0000000000000");
    // LONG1 / LONG4: little-endian two's complement; the minimal form is what is reported.
    CHECK(first(std::string("\x8a\x00", 2)) == "integer\t0");
    CHECK(first("\x8a\x01\xff") == "integer\t-1");
    CHECK(first(std::string("\x8a\x03\xff\xff\xff", 5)) == "integer\t-1");
    CHECK(first(std::string("\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80", 10)) == "integer\t-9223372036854775808");
    CHECK(first(std::string("\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\x00", 11)) == "big_integer\t000000000000008000");
    CHECK(first(std::string("\x8a\x0a\x00\x00\x00\x00\x00\x00\x00\x80\xff\xff", 12)) ==
          "integer\t-9223372036854775808");
    CHECK(first("\x8b" + le32(2) + std::string("\x00\x01", 2)) == "integer\t256");
}

TEST_CASE("every byte that is no opcode is refused where it stands") {
    for (int byte = 0; byte < 256; ++byte) {
        if (find_opcode(static_cast<std::uint8_t>(byte))) continue;
        const std::string text = std::string("N") + static_cast<char>(byte) + ".";
        CHECK_ERROR(text, errc::pickle_unknown_opcode, 1u);
    }
}

TEST_CASE("PROTO: versions 0 to 5, anywhere, any number of times") {
    CHECK_ERROR("\x80\x06.", errc::pickle_bad_protocol, 1u);
    CHECK_ERROR("\x80\xff.", errc::pickle_bad_protocol, 1u);
    const outcome o = read_all(bytes_of("\x80\x02N\x80\x05\x80\x01."));
    CHECK(o.stopped.code == errc::ok);
    CHECK(o.rows.size() == 5);
}

TEST_CASE("lengths are checked against the input before anything else (THREATS R3)") {
    // Huge declared lengths on a short file: an error at the length field, never an allocation.
    CHECK_ERROR("\x8d" + le64(~0ull) + "x.", errc::pickle_truncated, 1u);                // BINUNICODE8
    CHECK_ERROR("\x8e" + le64(1ull << 62) + ".", errc::pickle_truncated, 1u);            // BINBYTES8
    CHECK_ERROR("N\x96" + le64(0x8000000000000000ull) + ".", errc::pickle_truncated, 2u);  // BYTEARRAY8
    CHECK_ERROR("\x8b" + le32(0x7fffffff) + ".", errc::pickle_truncated, 1u);            // LONG4
    CHECK_ERROR("X" + le32(0xffffffff) + ".", errc::pickle_truncated, 1u);               // BINUNICODE
    CHECK_ERROR("B" + le32(5) + "abcd", errc::pickle_truncated, 1u);                     // BINBYTES
    CHECK_ERROR("T" + le32(5) + "abcd", errc::pickle_truncated, 1u);                     // BINSTRING
    CHECK_ERROR("C\x05" "abcd", errc::pickle_truncated, 1u);
    CHECK_ERROR("U\x05" "abcd", errc::pickle_truncated, 1u);
    CHECK_ERROR("\x8c\x05" "abcd", errc::pickle_truncated, 1u);
    CHECK_ERROR("\x8a\x05" "abcd", errc::pickle_truncated, 1u);
    // Signed lengths that are negative.
    CHECK_ERROR("T" + le32(0xffffffff) + ".", errc::pickle_bad_length, 1u);
    CHECK_ERROR("\x8b" + le32(0x80000000) + ".", errc::pickle_bad_length, 1u);
    // Truncated fixed-size fields.
    CHECK_ERROR("J\x01\x02", errc::pickle_truncated, 1u);
    CHECK_ERROR("G\x01\x02", errc::pickle_truncated, 1u);
    CHECK_ERROR("\x95\x01", errc::pickle_truncated, 1u);
    CHECK_ERROR("\x8d\x01", errc::pickle_truncated, 1u);
    CHECK_ERROR("\x80", errc::pickle_truncated, 1u);
    CHECK_ERROR("", errc::pickle_end_of_input, 0u);
    CHECK_ERROR("N", errc::pickle_end_of_input, 1u);
}

namespace {
struct tiny_limits {
    static constexpr std::uint64_t max_pickle_size = 64;
    static constexpr std::uint64_t max_string_size = 4;
    static constexpr std::uint64_t max_big_int_bytes = 9;
    static constexpr std::uint64_t max_big_int_digits = 20;
    static constexpr std::uint64_t max_line_length = 8;
};
}  // namespace

TEST_CASE("limits: pickle size, string size, big integers, line length") {
    CHECK(first_error<tiny_limits>(std::string(65, 'N')).code == errc::limit_exceeded);
    CHECK(first_error<tiny_limits>(std::string(64, 'N')).code == errc::pickle_end_of_input);
    CHECK(first_error<tiny_limits>("C\x05" "abcde.").code == errc::limit_exceeded);
    CHECK(first_error<tiny_limits>("C\x04" "abcd.").code == errc::ok);
    CHECK(first_error<tiny_limits>("X" + le32(5) + "abcde.").code == errc::limit_exceeded);
    CHECK(first_error<tiny_limits>("S'abcde'\n.").code == errc::limit_exceeded);  // the quoted line counts
    CHECK(first_error<tiny_limits>("S'ab'\n.").code == errc::ok);
    CHECK(first_error<tiny_limits>("Vabcde\n.").code == errc::limit_exceeded);
    CHECK(first_error<tiny_limits>("V\xe9\xe9\xe9\n.").code == errc::limit_exceeded);  // 6 bytes of UTF-8
    CHECK(first_error<tiny_limits>("V\xe9\xe9\n.").code == errc::ok);
    CHECK(first_error<tiny_limits>(std::string("\x8a\x0a") + std::string(10, '\x01') + ".").code == errc::limit_exceeded);
    CHECK(first_error<tiny_limits>("I123456789\n.").code == errc::limit_exceeded);  // a 9-byte line
    CHECK(first_error<tiny_limits>("I12345678\n.").code == errc::ok);
    CHECK(first_error<tiny_limits>("cmod\nlongname\n.").code == errc::ok);
    CHECK(first_error<tiny_limits>("cmod\nlongname1\n.").code == errc::limit_exceeded);
    CHECK(first_error<tiny_limits>("L1234567\n.").code == errc::ok);
    // Decimal digits: CPython >= 3.11 refuses int() of more than 4300 digits.
    CHECK(first_error("L" + std::string(4300, '7') + "\n.").code == errc::ok);
    const error digits = first_error("L" + std::string(4301, '7') + "\n.");
    CHECK(digits.code == errc::limit_exceeded);
    CHECK(digits.offset == 1);
    CHECK(first_error<limits::embedded>("L" + std::string(1001, '7') + "\n.").code == errc::limit_exceeded);
    CHECK(first_error<limits::embedded>(std::string("\x8b") + le32(513) + std::string(513, '\x01') + ".").code ==
          errc::limit_exceeded);
}

TEST_CASE("text lines: a newline is required; \\r before it is part of the line") {
    CHECK_ERROR("I12", errc::pickle_truncated, 1u);
    CHECK_ERROR("cmodule\nname", errc::pickle_truncated, 8u);
    CHECK_ERROR("S'abc'", errc::pickle_truncated, 1u);
    CHECK(first("I12\r\n.") == "integer\t12");       // int() strips whitespace
    CHECK(first("L12\r\n.") == "integer\t12");
    CHECK(first("g7\r\n.") == "integer\t7");
    CHECK(first_error("L12L\r\n.").code == errc::pickle_bad_integer);  // the 'L' is not last
    CHECK(first_error("F1.5\r\n.").code == errc::pickle_bad_float);    // _pickle.c refuses it
    CHECK(first_error("S'abc'\r\n.").code == errc::pickle_bad_quotes);
    CHECK(first("Vab\r\n.") == "text\t61620d");
    CHECK(first("Pid\r\n.") == "text\t69640d");
    std::vector<std::uint8_t> storage;
    reader<>* keep = nullptr;
    const token global = only_token("cos\r\nsystem\r\n.", storage, keep);
    CHECK(global.module == "os\r");  // a different name from "os": no allowlist lists it
    CHECK(global.name == "system\r");
    delete keep;
}

TEST_CASE("INT, LONG, GET, PUT: plain decimal only, as CPython's two unpicklers agree") {
    CHECK(first("I00\n.") == "boolean\t0");
    CHECK(first("I01\n.") == "boolean\t1");
    CHECK(first("I0\n.") == "integer\t0");
    CHECK(first("I000\n.") == "integer\t0");
    CHECK(first("I-1\n.") == "integer\t-1");
    CHECK(first("I 5 \n.") == "integer\t5");
    CHECK(first("I0 \n.") == "integer\t0");
    CHECK(first("I9223372036854775807\n.") == "integer\t9223372036854775807");
    CHECK(first("I-9223372036854775809\n.") == "big_integer\tffffffffffffff7fff");
    CHECK(first("L-256L\n.") == "integer\t-256");
    CHECK(first("L+7L\n.") == "integer\t7");
    // _pickle.c reads these two-character lines as bools, pickle.py as ints: refused.
    for (const char* ambiguous : {"I 1\n.", "I 0\n.", "I+0\n.", "I+1\n.", "I-0\n.", "I\t1\n.", "I\v0\n."})
        CHECK(first_error(ambiguous).code == errc::pickle_bad_integer);
    // Leading zeros: int(x, 0) refuses them, strtol reads octal.
    CHECK(first_error("I010\n.").code == errc::pickle_bad_integer);
    CHECK(first_error("I01\r\n.").code == errc::pickle_bad_integer);
    CHECK(first_error("L007L\n.").code == errc::pickle_bad_integer);
    // Forms CPython reads but no pickler writes.
    for (const char* exotic : {"I0x10\n.", "I1_0\n.", "I0o7\n.", "I\n.", "I-\n.", "I1 2\n.", "I1L\n.", "L0b1\n.",
                               "LL\n.", "L\n.", "g-1\n.", "p1_0\n.", "g\n.", "g0x1\n."})
        CHECK_MESSAGE(first_error(exotic).code == errc::pickle_bad_integer, exotic);
    CHECK(first_error(std::string("I1\0\n.", 5)).code == errc::pickle_bad_integer);
    CHECK_ERROR("N(I12x\n.", errc::pickle_bad_integer, 5u);
    CHECK(first("g012\n.") == "integer\t12");  // base 10 in CPython: leading zeros are fine
    CHECK(first("p-0\n.") == "integer\t0");
    CHECK(first("p9223372036854775807\n.") == "integer\t9223372036854775807");
    CHECK(first_error("p9223372036854775808\n.").code == errc::pickle_bad_integer);
}

TEST_CASE("FLOAT: decimal and inf/nan literals, correctly rounded; exotic forms refused") {
    CHECK(first("F0.1\n.") == "real\t3fb999999999999a");
    CHECK(first("F-0.0\n.") == "real\t8000000000000000");
    CHECK(first("F1e308\n.") == "real\t7fe1ccf385ebc8a0");
    CHECK(first("F2.4e-324\n.") == "real\t0000000000000000");   // underflow rounds to zero
    CHECK(first("F-1e-999999999999\n.") == "real\t8000000000000000");
    CHECK(first("F5e-324\n.") == "real\t0000000000000001");
    CHECK(first("F1.7976931348623157e308\n.") == "real\t7fefffffffffffff");
    CHECK(first("FINFINITY\n.") == "real\t7ff0000000000000");
    CHECK(first("F-Inf\n.") == "real\tfff0000000000000");
    CHECK(first("FNaN\n.") == "real\t7ff8000000000000");
    CHECK(first("F-nan\n.") == "real\tfff8000000000000");
    CHECK(first("F+1.\n.") == "real\t3ff0000000000000");
    for (const char* refused : {"F 1.5\n.", "F1.5 \n.", "F1_0\n.", "F0x1p3\n.", "F1e\n.", "F1e+\n.", "F.\n.", "F\n.",
                                "Fnan(1)\n.", "Finfin\n.", "F1.5.\n.", "F--1\n.", "F1e400\n.", "F1.7976931348623159e308\n.",
                                "F1e999999999999\n."})
        CHECK_MESSAGE(first_error(refused).code == errc::pickle_bad_float, refused);
}

TEST_CASE("STRING: quoted at both ends; escapes as codecs.escape_decode") {
    CHECK(first("S'abc'\n.") == "bytes\t616263");
    CHECK(first("S\"abc\"\n.") == "bytes\t616263");
    CHECK(first("S''\n.") == "bytes\t");
    CHECK(first("S'a'b'\n.") == "bytes\t612762");
    CHECK(first("S'\\x41\\101\\0\\7\\08'\n.") == "bytes\t4141000700" "38");
    CHECK(first("S'\\\\\\'\\\"\\a\\b\\f\\n\\r\\t\\v'\n.") == "bytes\t5c272207080c0a0d090b");
    CHECK(first("S'\xff\\377'\n.") == "bytes\tffff");
    CHECK_ERROR("S'abc\"\n.", errc::pickle_bad_quotes, 1u);
    CHECK_ERROR("Sabc\n.", errc::pickle_bad_quotes, 1u);
    CHECK_ERROR("S'\n.", errc::pickle_bad_quotes, 1u);
    CHECK_ERROR("S\n.", errc::pickle_bad_quotes, 1u);
    CHECK_ERROR("S'ab\\'\n.", errc::pickle_bad_escape, 4u);  // trailing backslash
    CHECK_ERROR("S'a\\x4'\n.", errc::pickle_bad_escape, 3u);
    CHECK_ERROR("S'a\\xg0'\n.", errc::pickle_bad_escape, 3u);
    CHECK_ERROR("S'\\400'\n.", errc::pickle_bad_escape, 2u);  // CPython: DeprecationWarning, then truncation
    CHECK_ERROR("S'\\q'\n.", errc::pickle_bad_escape, 2u);    // CPython: DeprecationWarning, kept as \q
}

TEST_CASE("UNICODE: raw-unicode-escape to UTF-8") {
    CHECK(first("Vabc\n.") == "text\t616263");
    CHECK(first("V\n.") == "text\t");
    CHECK(first("V\xe9\n.") == "text\tc3a9");  // bytes are Latin-1 code points
    CHECK(first("V\\u00e9\\u4E2D\\U0001f600\n.") == "text\tc3a9e4b8adf09f9880");
    CHECK(first("V\\x41\\\n.") == "text\t5c7834315c");  // \x is no escape here; a last backslash stays
    CHECK(first("V\\\\u0041\n.") == "text\t5c5c7530303431");  // an even run of backslashes
    CHECK(first("V\\\\\\u0041\n.") == "text\t5c5c41");
    CHECK(first("V\\\xe9\n.") == "text\t5cc3a9");
    CHECK_ERROR("Vab\\u12\n.", errc::pickle_bad_escape, 3u);
    CHECK_ERROR("V\\u12g4\n.", errc::pickle_bad_escape, 1u);
    CHECK_ERROR("V\\U00110000\n.", errc::pickle_bad_escape, 1u);
    CHECK_ERROR("V\\U0001f60\n.", errc::pickle_bad_escape, 1u);
    CHECK_ERROR("Vx\\ud800\n.", errc::pickle_invalid_utf8, 2u);  // CPython keeps lone surrogates
    CHECK_ERROR("V\\ud83d\\ude00\n.", errc::pickle_invalid_utf8, 1u);  // never joined into a pair
}

TEST_CASE("binary text is strict UTF-8; PERSID and INST are ASCII; GLOBAL is UTF-8") {
    CHECK(first("\x8c\x02\xc3\xa9.") == "text\tc3a9");
    CHECK_ERROR("\x8c\x02\xc0\x80.", errc::pickle_invalid_utf8, 2u);            // overlong
    CHECK_ERROR("N\x8c\x03\xed\xa0\x80.", errc::pickle_invalid_utf8, 3u);       // surrogate (surrogatepass in CPython)
    CHECK_ERROR("\x8c\x04\xf4\x90\x80\x80.", errc::pickle_invalid_utf8, 2u);    // above U+10FFFF
    CHECK_ERROR("\x8c\x02" "a\xc3.", errc::pickle_invalid_utf8, 3u);            // cut sequence
    CHECK_ERROR("X" + le32(3) + "ab\xff.", errc::pickle_invalid_utf8, 7u);
    CHECK_ERROR("\x8d" + le64(1) + "\x80.", errc::pickle_invalid_utf8, 9u);
    CHECK(first("c\xc3\xa9\nx\n.") == "global\tc3a9:78");
    CHECK_ERROR("cmod\n\xff\n.", errc::pickle_invalid_utf8, 5u);
    CHECK_ERROR("(i\xc3\xa9\nx\n.", errc::pickle_not_ascii, 2u);
    CHECK_ERROR("Pa\xe9\n.", errc::pickle_not_ascii, 2u);
    CHECK(first("(imod\nCls\n.") == "none\t-");
}

TEST_CASE("FRAME: lengths within the input, reads inside their frame, no frame inside a frame") {
    // A valid frame: PROTO 4, FRAME 2, NONE STOP.
    CHECK(first_error("\x80\x04\x95" + le64(2) + "N.").code == errc::ok);
    CHECK(first_error("\x95" + le64(0) + "N.").code == errc::ok);  // empty frame
    // Lying lengths (THREATS P8).
    CHECK_ERROR("\x95" + le64(3) + "N.", errc::pickle_bad_frame, 1u);
    CHECK_ERROR("\x95" + le64(~0ull) + "N.", errc::pickle_bad_frame, 1u);
    // An argument straddling the frame's end (pickle.py: "pickle exhausted before end of frame").
    CHECK_ERROR("\x95" + le64(3) + "J\x01\x02\x03\x04.", errc::pickle_bad_frame, 10u);
    CHECK_ERROR("\x95" + le64(4) + "C\x05" "ab" "cde.", errc::pickle_bad_frame, 11u);
    CHECK_ERROR("\x95" + le64(3) + "I12\n.", errc::pickle_bad_frame, 10u);  // a line ending past the frame
    // A read starting exactly at the end leaves the frame (pickle.py reads on from the file).
    CHECK(first_error("\x95" + le64(1) + "J\x01\x02\x03\x04.").code == errc::ok);
    CHECK(first_error("\x95" + le64(2) + "C\x03" "abc.").code == errc::ok);
    CHECK(first_error("\x95" + le64(1) + "I12\n.").code == errc::ok);
    // A frame inside a frame: only when its argument ends exactly at the outer frame's end.
    CHECK(first_error("\x95" + le64(9) + "\x95" + le64(2) + "N.").code == errc::ok);
    CHECK_ERROR("\x95" + le64(10) + "\x95" + le64(1) + "NN.", errc::pickle_bad_frame, 9u);
    CHECK_ERROR("\x95" + le64(5) + "\x95" + le64(1) + "N.", errc::pickle_bad_frame, 10u);
    // In-frame state is visible to the machine.
    const bytes data = bytes_of("\x95" + le64(2) + "NN.");
    reader<> tokens(byte_view(data.data(), data.size()));
    auto frame = tokens.next();
    REQUIRE(frame);
    CHECK(frame->integer == 2);
    CHECK(tokens.in_frame());
    CHECK(tokens.frame_end() == 11);
    REQUIRE(tokens.next());
    REQUIRE(tokens.next());
    CHECK_FALSE(tokens.in_frame());
}

TEST_CASE("after STOP reading goes on; after an error it stays failed") {
    const bytes data = bytes_of("N.N.");
    reader<> tokens(byte_view(data.data(), data.size()));
    REQUIRE(tokens.next());
    REQUIRE(tokens.next());
    CHECK(tokens.at_stop());
    CHECK(tokens.position() == 2);
    auto again = tokens.next();
    REQUIRE(again);
    CHECK(again->offset == 2);
    CHECK_FALSE(tokens.at_stop());

    const bytes bad = bytes_of("N\xffN.");
    reader<> failing(byte_view(bad.data(), bad.size()));
    REQUIRE(failing.next());
    for (int i = 0; i < 3; ++i) {
        auto e = failing.next();
        REQUIRE_FALSE(e);
        CHECK(e.err().code == errc::pickle_unknown_opcode);
        CHECK(e.err().offset == 1);
    }
}

TEST_CASE("decoded views live in the scratch buffer until the next call; raw views in the input") {
    const bytes data = bytes_of("S'\\x41'\nC\x02hi.");
    reader<> tokens(byte_view(data.data(), data.size()));
    auto decoded = tokens.next();
    REQUIRE(decoded);
    CHECK((decoded->data.data() < data.data() || decoded->data.data() >= data.data() + data.size()));
    auto raw = tokens.next();
    REQUIRE(raw);
    CHECK(raw->data.data() == data.data() + 10);
    CHECK(raw->text() == "hi");
}

TEST_CASE("the fast path and the general path read every opcode byte alike") {
    // With at least 16 bytes ahead the reader decodes fixed-size opcodes and short strings
    // without bounds checks; closer to the end it takes the general path. The same opcode and
    // argument bytes must give the same token (or the same error) either way.
    const std::vector<bytes> arguments = {
        bytes(24, 0x00),
        bytes(24, 0xff),
        {0x05, 'a', 'b', 'c', 'd', 'e', 0x0a, 0x0a, 0x2e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {0x03, 0x00, 0x00, 0x00, 'x', 'y', 'z', 0x2e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {0x02, 0xc3, 0xa9, 0x2e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {0x02, 0xc3, 0x28, 0x2e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},  // bad UTF-8
        {0x0d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {0x31, 0x0a, 0x2e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    };
    struct outcome {
        bool ok;
        std::string text;
        std::uint64_t end;
    };
    const auto read_one = [](const bytes& input) {
        reader<> r(byte_view(input.data(), input.size()));
        token t;
        const status s = r.next(t);
        if (!s) return outcome{false, std::string(to_string(s.err().code)) + "@" + std::to_string(s.err().offset), 0};
        return outcome{true, std::string(opcode_name(t.op)) + " " + describe(t), r.position()};
    };
    int compared = 0;
    for (int byte = 0; byte < 256; ++byte) {
        for (const bytes& argument : arguments) {
            bytes roomy(argument.size() + 1);  // 25 bytes: fast path
            roomy[0] = static_cast<std::uint8_t>(byte);
            std::copy(argument.begin(), argument.end(), roomy.begin() + 1);
            const bytes tight(roomy.begin(), roomy.begin() + 15);          // 15 bytes: general path
            const outcome fast = read_one(roomy);
            const outcome general = read_one(tight);
            // Compare wherever the token fits in the tight input; beyond it, only the roomy one
            // can succeed.
            if (general.ok || (fast.ok && fast.end <= tight.size())) {
                INFO("opcode byte " << byte << ", argument " << hex(byte_view(argument.data(), 8)));
                CHECK(fast.ok == general.ok);
                CHECK(fast.text == general.text);
                CHECK(fast.end == general.end);
                ++compared;
            }
        }
    }
    CHECK(compared > 68 * 4);  // every opcode with several arguments
}
