// Unit tests for every reading of the bytes (THREATS.md F6-F8): what Python's tarfile makes of
// block 0, the detection that refuses files with two readings, the output check before a
// rename, and the FRAME that reaches past STOP. The tar expectations follow CPython's tarfile
// (TarInfo.frombuf, nti); tests/interop/check_readings.py checks the same model against the real
// tarfile on thousands of generated blocks.
#include <brine/brine.hpp>
#include <doctest/doctest.h>

#include "disarm_testing.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

using namespace brine;
using bytes = std::vector<std::uint8_t>;

namespace {

// The header checksum as tar defines it: 256 (the field as eight spaces) plus every other byte.
std::int64_t unsigned_sum(const bytes& block) {
    std::int64_t sum = 256;
    for (std::size_t i = 0; i < 512; ++i)
        if (i < 148 || i >= 156) sum += block[i];
    return sum;
}
std::int64_t signed_sum(const bytes& block) {
    std::int64_t sum = 256;
    for (std::size_t i = 0; i < 512; ++i)
        if (i < 148 || i >= 156) sum += static_cast<std::int8_t>(block[i]);
    return sum;
}

void put_field(bytes& block, std::size_t at, std::string_view text) {
    REQUIRE(text.size() <= 8);
    std::memset(block.data() + at, 0, 8);
    std::memcpy(block.data() + at, text.data(), text.size());
}

std::string octal(std::int64_t value) {
    char text[32];
    std::snprintf(text, sizeof text, "%llo", static_cast<unsigned long long>(value));
    return text;
}

readings::tar_block0 read_block(const bytes& block) { return readings::read_tar_block0(byte_view(block.data(), block.size())); }

// A block with a name and a few non-zero bytes, its checksum field set to `field`.
bytes named_block(std::string_view checksum_field) {
    bytes block(512, 0);
    std::memcpy(block.data(), "payload.bin", 11);
    put_field(block, 148, checksum_field);
    return block;
}

using brine_test::disarm_bytes;
using brine_test::scan_bytes;

status check_output(bytes& out) {
    vector_sink sink(out);
    return readings::check_single_reading(sink);
}

}  // namespace

TEST_CASE("tarfile's block 0: a header is any block whose checksum field holds its sum") {
    const std::int64_t sum = unsigned_sum(named_block(""));
    // No "ustar" magic is needed: the checksum alone makes a header.
    CHECK(read_block(named_block(octal(sum) + std::string(1, '\0'))) == readings::tar_block0::header);
    CHECK(read_block(named_block(octal(sum + 1))) == readings::tar_block0::not_a_header);
    // Spellings int(text, 8) accepts after str.strip(): padding, sign, 0o prefix, underscores,
    // whitespace Python counts as such (\x1c-\x1f, \v).
    const std::string digits = octal(sum);
    CHECK(read_block(named_block("  " + digits + " ")) == readings::tar_block0::header);
    CHECK(read_block(named_block("+" + digits)) == readings::tar_block0::header);
    CHECK(read_block(named_block("0o" + digits)) == readings::tar_block0::header);
    CHECK(read_block(named_block("0o_" + digits)) == readings::tar_block0::header);
    CHECK(read_block(named_block(digits.substr(0, 1) + "_" + digits.substr(1))) == readings::tar_block0::header);
    CHECK(read_block(named_block("\x1c" + digits + "\x0b")) == readings::tar_block0::header);
    CHECK(read_block(named_block(digits + std::string(1, '\0') + "zz")) == readings::tar_block0::header);
    // Spellings it refuses.
    CHECK(read_block(named_block("_" + digits)) == readings::tar_block0::not_a_header);
    CHECK(read_block(named_block(digits + "_")) == readings::tar_block0::not_a_header);
    CHECK(read_block(named_block(digits.substr(0, 1) + "__" + digits.substr(1))) == readings::tar_block0::not_a_header);
    CHECK(read_block(named_block(digits.substr(0, 1) + " " + digits.substr(1))) == readings::tar_block0::not_a_header);
    CHECK(read_block(named_block("0x" + digits)) == readings::tar_block0::not_a_header);
    CHECK(read_block(named_block("0o")) == readings::tar_block0::not_a_header);
    CHECK(read_block(named_block(digits + "\xc3\xa9")) == readings::tar_block0::not_a_header);
}

TEST_CASE("tarfile's block 0: signed sums, base-256 fields, numeric fields, short and empty blocks") {
    // Bytes above 0x7f: the signed sum differs from the unsigned one, and either matches.
    bytes high(512, 0xff);
    put_field(high, 148, "");
    const std::int64_t as_signed = signed_sum(high);
    REQUIRE(as_signed < 0);
    {
        bytes block = high;
        put_field(block, 148, "-" + octal(-as_signed));
        // Every numeric field of 0xff bytes is a base-256 negative number: it parses.
        CHECK(read_block(block) == readings::tar_block0::header);
        put_field(block, 148, octal(unsigned_sum(high)));
        CHECK(read_block(block) == readings::tar_block0::header);
    }
    {
        // Base-256: 0x80 then the value big-endian in 7 bytes; 0xff for a negative value.
        bytes block = named_block("");
        const std::int64_t sum = unsigned_sum(block) + 0x80;  // the 0x80 byte is not in the sum
        std::uint8_t field[8] = {0x80, 0, 0, 0, 0, 0, static_cast<std::uint8_t>(sum >> 8), static_cast<std::uint8_t>(sum)};
        std::memcpy(block.data() + 148, field, 8);
        CHECK(read_block(block) == readings::tar_block0::not_a_header);  // the field is excluded: sum is unchanged
        field[7] = static_cast<std::uint8_t>(sum - 0x80);
        field[6] = static_cast<std::uint8_t>((sum - 0x80) >> 8);
        std::memcpy(block.data() + 148, field, 8);
        CHECK(read_block(block) == readings::tar_block0::header);
    }
    {
        // A numeric field frombuf cannot parse (mode "9") makes tarfile refuse the block.
        bytes block = named_block("");
        std::memcpy(block.data() + 100, "9", 1);
        put_field(block, 148, octal(unsigned_sum(block)));
        CHECK(read_block(block) == readings::tar_block0::not_a_header);
        std::memcpy(block.data() + 100, "7", 1);
        put_field(block, 148, octal(unsigned_sum(block)));
        CHECK(read_block(block) == readings::tar_block0::header);
    }
    CHECK(read_block(bytes(512, 0)) == readings::tar_block0::end_of_archive);
    bytes short_block = named_block(octal(unsigned_sum(named_block(""))));
    short_block.resize(511);
    CHECK(read_block(short_block) == readings::tar_block0::not_a_header);
}

TEST_CASE("a raw pickle whose first 512 bytes are a tar header to tarfile is ambiguous") {
    // \x80\x02 C<255 bytes> C<255 bytes> 0 0 . : two SHORT_BINBYTES whose contents hold the
    // header fields. Clean as a pickle; torch.load would read it as a tar.
    bytes pickle = {0x80, 0x02, 'C', 0xff};
    pickle.resize(4 + 255, 0);
    pickle.push_back('C');
    pickle.push_back(0xff);
    pickle.resize(pickle.size() + 255, 0);
    for (const std::uint8_t op : {'0', '0', 'N', '.'}) pickle.push_back(op);
    REQUIRE(scan_bytes(pickle));  // without a checksum: a plain pickle
    std::memcpy(pickle.data() + 8, "storages", 8);
    REQUIRE(scan_bytes(pickle));
    put_field(pickle, 148, octal(unsigned_sum(pickle)));
    const auto refused = scan_bytes(pickle);
    REQUIRE_FALSE(refused);
    CHECK(refused.err().code == errc::torch_ambiguous);
    CHECK(refused.err().offset == 148);
    bytes out;
    CHECK_FALSE(disarm_bytes(pickle, out));
    // With "ustar" at 257 it is the pre-1.0 tar format, refused by name.
    std::memcpy(pickle.data() + 257, "ustar", 5);
    put_field(pickle, 148, octal(unsigned_sum(pickle)));
    CHECK(scan_bytes(pickle).err().code == errc::torch_legacy_tar);
}

TEST_CASE("an end-of-central-directory record at offset 0 is an .npz to numpy.load: ambiguous") {
    bytes file = {'P', 'K', 5, 6};
    file.resize(22, 0);
    const auto refused = scan_bytes(file);
    REQUIRE_FALSE(refused);
    CHECK(refused.err().code == errc::torch_ambiguous);
}

TEST_CASE("output check: tar headers, zip end records and pickle prefixes are refused") {
    SUBCASE("a pickle output whose block 0 is a tar header") {
        bytes out = named_block("");
        out[0] = 0x80;
        out[1] = 0x02;
        put_field(out, 148, octal(unsigned_sum(out)));
        const status checked = check_output(out);
        REQUIRE_FALSE(checked);
        CHECK(checked.err().code == errc::torch_polyglot_output);
        CHECK(checked.err().offset == 148);
        put_field(out, 148, octal(unsigned_sum(out) + 1));
        CHECK(check_output(out));
    }
    SUBCASE("the ustar magic") {
        bytes out(600, 0);
        out[0] = 0x80;
        out[1] = 0x04;
        std::memcpy(out.data() + 257, "ustar", 5);
        CHECK(check_output(out).err().offset == 257);
    }
    SUBCASE("an end record in the last 64 KiB of a non-zip output, wherever the slices fall") {
        for (const std::size_t size : {std::size_t{40}, std::size_t{4099}, std::size_t{70000}, std::size_t{200000}}) {
            for (const std::size_t from_end : {std::size_t{4}, std::size_t{4096}, std::size_t{4097}, std::size_t{4098},
                                               std::size_t{4099}, std::size_t{22 + 0xffff}}) {
                if (from_end > size - 2) continue;
                bytes out(size, 0);
                out[0] = 0x80;
                out[1] = 0x02;
                std::memcpy(out.data() + size - from_end, "PK\x05\x06", 4);
                const status checked = check_output(out);
                INFO("size " << size << ", signature at end - " << from_end);
                REQUIRE_FALSE(checked);
                CHECK(checked.err().offset == size - from_end);
            }
        }
        bytes far(200000, 0);
        far[0] = 0x80;
        far[1] = 0x02;
        std::memcpy(far.data() + far.size() - (22 + 0xffff) - 1, "PK\x05\x06", 4);
        CHECK(check_output(far));  // beyond where any zip reader looks
    }
    SUBCASE("a zip output ends with its own end record, without a comment") {
        bytes out;
        {
            vector_sink sink(out);
            zip::writer<vector_sink> w(sink);
            REQUIRE(w.add("archive/data.pkl", as_bytes(std::string_view("\x80\x02N."))));
            REQUIRE(w.finish());
        }
        CHECK(check_output(out));
        out[out.size() - 2] = 1;  // a comment length: the comment would be read past the end
        CHECK(check_output(out).err().code == errc::torch_polyglot_output);
    }
    SUBCASE("byte 0 of a non-pickle output stops every pickle loader") {
        bytes out(64, 0);
        out[0] = 'c';  // GLOBAL: a pickle loader would import a name
        CHECK(check_output(out).err().offset == 0);
        out[0] = 0x00;
        CHECK(check_output(out));
        const char npy[] = "\x93NUMPY\x01\x00";
        std::memcpy(out.data(), npy, 8);
        CHECK(check_output(out));
    }
}

TEST_CASE("disarm refuses to write an output that tarfile would read, though its input is no tar") {
    // The writer re-encodes BINUNICODE8 (9-byte header) as BINUNICODE (5 bytes), so the string
    // moves 4 bytes closer to offset 0: a checksum placed in the string reaches offset 148 only
    // in the output. First find where the string lands in the output, then place the field.
    const auto make = [](const std::string& text) {
        bytes pickle = {0x80, 0x04, 0x8d};
        const std::uint64_t length = text.size();
        for (int i = 0; i < 8; ++i) pickle.push_back(static_cast<std::uint8_t>(length >> (8 * i)));
        pickle.insert(pickle.end(), text.begin(), text.end());
        pickle.push_back('.');
        return pickle;
    };
    std::string text(600, ' ');
    bytes out;
    REQUIRE(disarm_bytes(make(text), out));
    // The output's string starts where its first space is (the writer's opcodes come before).
    std::size_t start = 0;
    while (out[start] != ' ') ++start;
    const std::size_t shift = 11 - start;  // input offset of a string byte minus its output offset
    REQUIRE(shift > 0);
    // In the output, bytes 148..155 are the checksum field: fill it with its own sum.
    for (std::size_t i = 148; i < 156; ++i) out[i] = 0;
    const std::string field = octal(unsigned_sum(out));
    for (std::size_t i = 0; i < 8; ++i) text[148 - start + i] = i < field.size() ? field[i] : ' ';
    const bytes input = make(text);
    REQUIRE(scan_bytes(input));  // the input itself is no tar: its field sits elsewhere
    bytes written;
    const auto refused = disarm_bytes(input, written);
    REQUIRE_FALSE(refused);
    CHECK(refused.err().code == errc::torch_polyglot_output);
    CHECK(refused.err().offset == 148);
}

TEST_CASE("FRAME past STOP: the frame's rest would be a hidden stream to the next pickle.load") {
    // PROTO 4, FRAME of 6 bytes: "N." then four more bytes inside the frame.
    const bytes hidden = {0x80, 0x04, 0x95, 6, 0, 0, 0, 0, 0, 0, 0, 'N', '.', 'N', '.', 'N', '.'};
    pickle::reader<> reader(byte_view(hidden.data(), hidden.size()));
    pickle::token t;
    status read;
    do read = reader.next(t);
    while (read && t.op != pickle::opcode::STOP);
    REQUIRE_FALSE(read);
    CHECK(read.err().code == errc::pickle_bad_frame);
    CHECK(read.err().offset == 12);
    CHECK_FALSE(scan_bytes(hidden));
    // A frame that ends with its STOP is how every pickler writes one.
    const bytes framed = {0x80, 0x04, 0x95, 2, 0, 0, 0, 0, 0, 0, 0, 'N', '.'};
    CHECK(scan_bytes(framed));
}
