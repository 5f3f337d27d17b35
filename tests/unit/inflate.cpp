// Unit tests for the DEFLATE decoder: round trips against zlib's raw deflate, hand-built streams
// for every edge and every malformation (each also checked against zlib's own verdict), corrupted
// streams, output bounds, and the exact-size and trailing-data options.
#include <brine/brine.hpp>
#include <doctest/doctest.h>
#include <zlib.h>

#include "zlib_testing.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace brine;
using bytes = std::vector<std::uint8_t>;

namespace {

// ---- zlib, the independent implementation --------------------------------------------------------

using brine_test::zlib_deflate;

// zlib's verdict on a raw stream: its output and how many input bytes the stream took, or nothing
// if zlib refuses it (or it would inflate past `limit`).
struct zlib_verdict {
    bool ok = false;
    bool over_limit = false;
    bytes output;
    std::size_t consumed = 0;
};

zlib_verdict zlib_inflate(const bytes& stream, std::size_t limit) {
    zlib_verdict v;
    z_stream z{};
    REQUIRE(inflateInit2(&z, -15) == Z_OK);
    v.output.resize(limit + 1);
    z.next_in = const_cast<Bytef*>(stream.data());
    z.avail_in = static_cast<uInt>(stream.size());
    z.next_out = v.output.data();
    z.avail_out = static_cast<uInt>(v.output.size());
    const int r = inflate(&z, Z_FINISH);
    v.ok = r == Z_STREAM_END && z.total_out <= limit;
    v.over_limit = z.total_out > limit || (r == Z_BUF_ERROR && z.avail_out == 0);
    v.output.resize(z.total_out);
    v.consumed = z.total_in;
    inflateEnd(&z);
    return v;
}

// ---- test data -----------------------------------------------------------------------------------

bytes random_bytes(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    bytes b(n);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    return b;
}

bytes text_like(std::size_t n, std::uint32_t seed) {
    static const char* const words[] = {"the", "model", "weights", "tensor", "of", "and", "a", "layer", "storage",
                                        "torch", "float32", "pickle", "zip", "bias", "is", "norm", "to", "in"};
    std::mt19937 rng(seed);
    std::string s;
    while (s.size() < n) {
        const std::size_t w = std::min<std::size_t>(rng() % 18, rng() % 18);  // skewed towards the first
        s += words[w];
        s += (rng() % 11 == 0) ? ".\n" : " ";
    }
    s.resize(n);
    return bytes(s.begin(), s.end());
}

bytes repetitive(std::size_t n) {
    bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>("abcabcabd"[(i / 3) % 9]);
    return b;
}

bytes float_array(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    bytes b(n);
    for (std::size_t i = 0; i + 4 <= n; i += 4) {
        const float f = normal(rng);
        std::memcpy(&b[i], &f, 4);
    }
    return b;
}

// ---- decoding through brine ----------------------------------------------------------------------

struct outcome {
    bool ok = false;
    error err;
    zip::inflate_stats stats;
    bytes output;
};

// One-shot into a heap buffer of exactly `capacity` bytes, so ASan sees any write past it.
outcome one_shot(const bytes& stream, std::size_t capacity, zip::inflate_options options = {}) {
    std::unique_ptr<std::uint8_t[]> buffer(new std::uint8_t[capacity ? capacity : 1]);
    // Also pass the stream in an exact-size heap copy, for the same reason.
    std::unique_ptr<std::uint8_t[]> input(new std::uint8_t[stream.empty() ? 1 : stream.size()]);
    if (!stream.empty()) std::memcpy(input.get(), stream.data(), stream.size());
    auto r = zip::inflate(byte_view(input.get(), stream.size()), mutable_byte_view(buffer.get(), capacity), options);
    outcome o;
    o.ok = r.has_value();
    if (o.ok) {
        o.stats = *r;
        o.output.assign(buffer.get(), buffer.get() + r->produced);
    } else {
        o.err = r.err();
    }
    return o;
}

// Hands out at most `chunk` bytes per read.
class chunked_source {
public:
    chunked_source(const bytes& data, std::size_t chunk) : data_(&data), chunk_(chunk) {}
    result<std::size_t> read(std::uint8_t* dst, std::size_t max) noexcept {
        std::size_t n = std::min({max, chunk_, data_->size() - pos_});
        if (n) std::memcpy(dst, data_->data() + pos_, n);
        pos_ += n;
        return n;
    }

private:
    const bytes* data_;
    std::size_t chunk_;
    std::size_t pos_ = 0;
};

struct recording_sink {
    bytes data;
    std::size_t writes = 0;
    std::size_t largest_write = 0;
    status write(byte_view b) noexcept {
        data.insert(data.end(), b.begin(), b.end());
        ++writes;
        largest_write = std::max(largest_write, b.size());
        return {};
    }
};

template <std::size_t Flush, std::size_t Input>
outcome streamed(const bytes& stream, std::size_t read_chunk, zip::inflate_options options = {}) {
    auto decoder = std::make_unique<zip::basic_stream_inflater<Flush, Input>>();
    chunked_source source(stream, read_chunk);
    recording_sink sink;
    auto r = decoder->inflate(source, sink, options);
    outcome o;
    o.ok = r.has_value();
    if (o.ok) o.stats = *r;
    else o.err = r.err();
    o.output = std::move(sink.data);
    if (o.ok) CHECK(sink.largest_write <= Flush + 32768);
    return o;
}

// Both modes, several buffer geometries: all must agree with `expected`.
void check_round_trip(const bytes& data, const bytes& stream, bool stress_streaming) {
    const outcome a = one_shot(stream, data.size());
    REQUIRE_MESSAGE(a.ok, to_string(a.err.code), " at ", a.err.offset, ": ", a.err.detail);
    CHECK(a.output == data);
    CHECK(a.stats.produced == data.size());
    CHECK(a.stats.consumed == stream.size());

    const outcome b = streamed<64 * 1024, 16 * 1024>(stream, 1 << 20);
    REQUIRE(b.ok);
    CHECK(b.output == data);
    CHECK(b.stats.consumed == stream.size());
    CHECK(b.stats.produced == data.size());

    if (stress_streaming) {
        const outcome c = streamed<300, 7>(stream, 1);
        REQUIRE(c.ok);
        CHECK(c.output == data);
        CHECK(c.stats.consumed == stream.size());
        const outcome d = streamed<4096, 1>(stream, 3);
        REQUIRE(d.ok);
        CHECK(d.output == data);
        const outcome e = streamed<1000, 64>(stream, 13);
        REQUIRE(e.ok);
        CHECK(e.output == data);
    }
}

// ---- hand-built streams ----------------------------------------------------------------------------

class bit_writer {
public:
    // `count` bits of `value`, least significant first (header fields, extra bits).
    void bits(std::uint64_t value, unsigned count) {
        for (unsigned i = 0; i < count; ++i) bit(static_cast<std::uint32_t>((value >> i) & 1u));
    }
    // A Huffman codeword: most significant bit first.
    void code(std::uint32_t codeword, unsigned length) {
        for (unsigned i = length; i-- > 0;) bit((codeword >> i) & 1u);
    }
    void align() {
        while (used_ % 8) bit(0);
    }
    void raw(const bytes& b) {
        align();
        out_.insert(out_.end(), b.begin(), b.end());
        used_ += 8 * b.size();
    }
    [[nodiscard]] const bytes& data() const { return out_; }
    [[nodiscard]] std::size_t bit_count() const { return used_; }

private:
    void bit(std::uint32_t b) {
        if (used_ % 8 == 0) out_.push_back(0);
        out_.back() = static_cast<std::uint8_t>(out_.back() | (b << (used_ % 8)));
        ++used_;
    }
    bytes out_;
    std::size_t used_ = 0;
};

// Canonical codes from lengths, as RFC 1951 §3.2.2 defines them.
std::vector<std::uint32_t> canonical_codes(const std::vector<std::uint8_t>& lengths) {
    unsigned count[16] = {};
    for (auto l : lengths) ++count[l];
    count[0] = 0;
    std::uint32_t next[16] = {};
    std::uint32_t code = 0;
    for (unsigned len = 1; len < 16; ++len) {
        code = (code + count[len - 1]) << 1;
        next[len] = code;
    }
    std::vector<std::uint32_t> codes(lengths.size());
    for (std::size_t s = 0; s < lengths.size(); ++s)
        if (lengths[s]) codes[s] = next[lengths[s]]++;
    return codes;
}

struct length_code {
    unsigned symbol, extra_bits, extra;
};
length_code length_symbol(unsigned length) {
    static const unsigned base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const unsigned extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                       2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    for (unsigned i = 29; i-- > 0;)
        if (length >= base[i]) return {257 + i, extra[i], length - base[i]};
    return {0, 0, 0};
}
length_code distance_symbol(unsigned distance) {
    static const unsigned base[30] = {1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
                                      193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
    for (unsigned i = 30; i-- > 0;)
        if (distance >= base[i]) return {i, i < 4 ? 0 : i / 2 - 1, distance - base[i]};
    return {0, 0, 0};
}

// A block's Huffman codes, for writing symbols with them.
struct codes {
    std::vector<std::uint8_t> litlen_lengths, distance_lengths;
    std::vector<std::uint32_t> litlen, distance;

    static codes fixed() {
        codes c;
        c.litlen_lengths.assign(288, 8);
        std::fill(c.litlen_lengths.begin() + 144, c.litlen_lengths.begin() + 256, 9);
        std::fill(c.litlen_lengths.begin() + 256, c.litlen_lengths.begin() + 280, 7);
        c.distance_lengths.assign(32, 5);
        c.finish();
        return c;
    }
    void finish() {
        litlen = canonical_codes(litlen_lengths);
        distance = canonical_codes(distance_lengths);
    }
    void symbol(bit_writer& w, unsigned s) const { w.code(litlen[s], litlen_lengths[s]); }
    void literal(bit_writer& w, std::uint8_t byte) const { symbol(w, byte); }
    void end_of_block(bit_writer& w) const { symbol(w, 256); }
    void distance_code(bit_writer& w, unsigned s) const { w.code(distance[s], distance_lengths[s]); }
    void match(bit_writer& w, unsigned length, unsigned dist) const {
        const length_code l = length_symbol(length);
        symbol(w, l.symbol);
        w.bits(l.extra, l.extra_bits);
        const length_code d = distance_symbol(dist);
        distance_code(w, d.symbol);
        w.bits(d.extra, d.extra_bits);
    }
};

void fixed_header(bit_writer& w, bool final_block) {
    w.bits(final_block ? 1 : 0, 1);
    w.bits(1, 2);
}
void stored_block(bit_writer& w, bool final_block, const bytes& content) {
    w.bits(final_block ? 1 : 0, 1);
    w.bits(0, 2);
    w.align();
    const auto len = static_cast<std::uint32_t>(content.size());
    w.bits(len, 16);
    w.bits(~len & 0xFFFFu, 16);
    w.raw(content);
}

// A code-length code item: a symbol 0..18 and its repeat bits.
struct precode_item {
    unsigned symbol, extra = 0;
};
std::vector<precode_item> plain_items(const std::vector<std::uint8_t>& lengths) {
    std::vector<precode_item> items;
    for (auto l : lengths) items.push_back({l});
    return items;
}

// A dynamic block header. The code-length code gives symbols 0..12 four bits and 13..18 five bits
// (a complete code) unless `precode_lengths` says otherwise.
void dynamic_header(bit_writer& w, bool final_block, unsigned hlit, unsigned hdist, const std::vector<precode_item>& items,
                    std::vector<std::uint8_t> precode_lengths = {}) {
    static const unsigned order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    if (precode_lengths.empty()) {
        precode_lengths.assign(19, 4);
        for (unsigned s = 13; s < 19; ++s) precode_lengths[s] = 5;
    }
    w.bits(final_block ? 1 : 0, 1);
    w.bits(2, 2);
    w.bits(hlit - 257, 5);
    w.bits(hdist - 1, 5);
    w.bits(19 - 4, 4);
    for (unsigned i = 0; i < 19; ++i) w.bits(precode_lengths[order[i]], 3);
    const auto precode = canonical_codes(precode_lengths);
    for (const auto& item : items) {
        w.code(precode[item.symbol], precode_lengths[item.symbol]);
        if (item.symbol == 16) w.bits(item.extra, 2);
        if (item.symbol == 17) w.bits(item.extra, 3);
        if (item.symbol == 18) w.bits(item.extra, 7);
    }
}
// A dynamic header for the given codes, lengths written one by one.
void dynamic_header(bit_writer& w, bool final_block, const codes& c) {
    std::vector<std::uint8_t> all = c.litlen_lengths;
    all.insert(all.end(), c.distance_lengths.begin(), c.distance_lengths.end());
    dynamic_header(w, final_block, static_cast<unsigned>(c.litlen_lengths.size()),
                   static_cast<unsigned>(c.distance_lengths.size()), plain_items(all));
}

// Literal/length lengths giving `symbols` the listed lengths, everything else none.
std::vector<std::uint8_t> lengths_for(std::size_t count, std::initializer_list<std::pair<unsigned, std::uint8_t>> assigned) {
    std::vector<std::uint8_t> l(count, 0);
    for (auto [symbol, length] : assigned) l[symbol] = length;
    return l;
}

// Decodes with brine (one-shot and streaming) and with zlib; they must agree. Returns brine's.
outcome decode_everywhere(const bytes& stream, std::size_t limit = 1 << 20) {
    const outcome a = one_shot(stream, limit);
    const outcome b = streamed<500, 3>(stream, 2);
    const zlib_verdict z = zlib_inflate(stream, limit);
    CHECK(a.ok == b.ok);
    CHECK(a.ok == z.ok);
    if (a.ok && b.ok) {
        CHECK(a.output == b.output);
        CHECK(a.stats.consumed == b.stats.consumed);
    }
    if (a.ok && z.ok) {
        CHECK(a.output == z.output);
        CHECK(a.stats.consumed == z.consumed);
    }
    if (!a.ok && !b.ok) {
        CHECK(a.err.code == b.err.code);
        CHECK(a.err.offset == b.err.offset);
    }
    return a;
}

void check_error(const bytes& stream, errc code, std::uint64_t offset) {
    const outcome o = decode_everywhere(stream);
    REQUIRE_FALSE(o.ok);
    CHECK(o.err.code == code);
    CHECK(o.err.offset == offset);
    CHECK(std::string(o.err.detail).size() > 0);
}

}  // namespace

// ==== round trips =====================================================================================

TEST_CASE("round trips zlib's raw deflate at every level and strategy") {
    const std::vector<std::pair<const char*, bytes>> inputs = {
        {"empty", {}},
        {"one byte", {0x5A}},
        {"random 70000", random_bytes(70000, 1)},
        {"text 100000", text_like(100000, 2)},
        {"repetitive 90000", repetitive(90000)},
        {"floats 80000", float_array(80000, 3)},
    };
    const int strategies[] = {Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED};
    for (const auto& input : inputs) {
        const char* name = input.first;
        const bytes& data = input.second;
        for (int level = 0; level <= 9; ++level) {
            for (int strategy : strategies) {
                CAPTURE(name);
                CAPTURE(level);
                CAPTURE(strategy);
                const bytes stream = zlib_deflate(data, level, strategy);
                check_round_trip(data, stream, level == 6 || level == 0 || strategy == Z_FIXED);
            }
        }
    }
}

TEST_CASE("round trips sizes around the 32 KiB window and 64 KiB stored-block boundaries") {
    for (std::size_t size : {32767u, 32768u, 32769u, 65535u, 65536u, 65537u, 98304u + 5}) {
        for (int level : {0, 1, 6, 9}) {
            CAPTURE(size);
            CAPTURE(level);
            bytes data = text_like(size, static_cast<std::uint32_t>(size));
            // Make matches reach the full window: repeat the first 32 KiB later on.
            for (std::size_t i = 32768; i < size; i += 7) data[i] = data[i - 32768];
            check_round_trip(data, zlib_deflate(data, level), true);
        }
    }
}

TEST_CASE("round trips a 4 MiB mixed input, with small memory levels for many blocks") {
    bytes data = text_like(2 << 20, 9);
    const bytes floats = float_array(1 << 20, 10);
    const bytes noise = random_bytes(1 << 20, 11);
    data.insert(data.end(), floats.begin(), floats.end());
    data.insert(data.end(), noise.begin(), noise.end());
    for (int level : {1, 6}) {
        CAPTURE(level);
        check_round_trip(data, zlib_deflate(data, level, Z_DEFAULT_STRATEGY, level == 1 ? 1 : 9), false);
    }
    const bytes stream = zlib_deflate(data, 6);
    const outcome slow = streamed<8192, 512>(stream, 100);
    REQUIRE(slow.ok);
    CHECK(slow.output == data);
}

TEST_CASE("one inflater object decodes many streams, switching between fixed and dynamic codes") {
    zip::inflater decoder;
    const bytes text = text_like(20000, 4);
    const bytes fixed = zlib_deflate(text, 6, Z_FIXED);
    const bytes dynamic = zlib_deflate(text, 6);
    bytes out(text.size());
    for (const bytes* stream : {&fixed, &dynamic, &fixed, &dynamic, &dynamic, &fixed}) {
        auto r = decoder.inflate(byte_view(stream->data(), stream->size()), mutable_byte_view(out.data(), out.size()));
        REQUIRE(r);
        CHECK(out == text);
    }
    // Within one stream: a dynamic block, then a fixed one.
    const codes fixed_codes = codes::fixed();
    codes dyn;
    dyn.litlen_lengths = lengths_for(257, {{'x', 1}, {256, 1}});
    dyn.distance_lengths = {0};
    dyn.finish();
    bit_writer w;
    dynamic_header(w, false, dyn);
    dyn.literal(w, 'x');
    dyn.end_of_block(w);
    fixed_header(w, true);
    fixed_codes.literal(w, 'y');
    fixed_codes.end_of_block(w);
    const outcome o = decode_everywhere(w.data());
    REQUIRE(o.ok);
    CHECK(o.output == bytes{'x', 'y'});
}

// ==== hand-built edge cases ==========================================================================

TEST_CASE("stored blocks: empty, several, and the final bit") {
    const outcome empty = decode_everywhere({0x01, 0x00, 0x00, 0xFF, 0xFF});
    REQUIRE(empty.ok);
    CHECK(empty.output.empty());
    CHECK(empty.stats.consumed == 5);

    bit_writer w;
    stored_block(w, false, {'a', 'b'});
    stored_block(w, false, {});
    stored_block(w, true, {'c'});
    const outcome three = decode_everywhere(w.data());
    REQUIRE(three.ok);
    CHECK(three.output == bytes{'a', 'b', 'c'});
    CHECK(three.stats.consumed == w.data().size());

    // Without a final block the stream never ends.
    bit_writer open;
    stored_block(open, false, {'a'});
    check_error(open.data(), errc::deflate_truncated, open.data().size());
}

TEST_CASE("fixed blocks: empty, mixed with others, lengths and distances at their extremes") {
    const codes fixed = codes::fixed();
    {
        const outcome empty = decode_everywhere({0x03, 0x00});  // final fixed block, end of block only
        REQUIRE(empty.ok);
        CHECK(empty.output.empty());
        CHECK(empty.stats.consumed == 2);
    }
    {
        bit_writer w;  // one literal, then length 258 (code 285) at distance 1: 259 copies
        fixed_header(w, true);
        fixed.literal(w, 'z');
        fixed.match(w, 258, 1);
        fixed.end_of_block(w);
        const outcome o = decode_everywhere(w.data());
        REQUIRE(o.ok);
        CHECK(o.output == bytes(259, 'z'));
    }
    for (unsigned period = 2; period <= 9; ++period) {
        bit_writer w;  // short periods, long overlapping copies: each output byte repeats `period` back
        fixed_header(w, true);
        for (unsigned i = 0; i < period; ++i) fixed.literal(w, static_cast<std::uint8_t>('a' + i));
        for (unsigned length : {3u, 7u, 16u, 17u, 258u, 100u}) fixed.match(w, length, period);
        fixed.end_of_block(w);
        const outcome o = decode_everywhere(w.data());
        REQUIRE(o.ok);
        bytes expected;
        for (std::size_t i = 0; i < period + 3 + 7 + 16 + 17 + 258 + 100; ++i)
            expected.push_back(static_cast<std::uint8_t>('a' + i % period));
        CHECK(o.output == expected);
    }
    {
        // 32768 bytes of history in stored blocks, then a match reaching all of it.
        bytes history = random_bytes(32768, 5);
        bit_writer w;
        stored_block(w, false, history);
        fixed_header(w, true);
        fixed.match(w, 258, 32768);
        fixed.match(w, 3, 32768);
        fixed.end_of_block(w);
        const outcome o = decode_everywhere(w.data());
        REQUIRE(o.ok);
        bytes expected = history;
        for (std::size_t i = 0; i < 261; ++i) expected.push_back(expected[expected.size() - 32768]);
        CHECK(o.output == expected);
    }
    {
        // Every length 3..258 once, with distances cycling through every distance code.
        bytes seed = random_bytes(40000, 6);
        bit_writer w;
        stored_block(w, false, seed);
        fixed_header(w, true);
        bytes expected = seed;
        unsigned distance = 1;
        for (unsigned length = 3; length <= 258; ++length) {
            fixed.match(w, length, distance);
            for (unsigned i = 0; i < length; ++i) expected.push_back(expected[expected.size() - distance]);
            distance = distance * 3 % 32768 + 1;
        }
        fixed.end_of_block(w);
        const outcome o = decode_everywhere(w.data());
        REQUIRE(o.ok);
        CHECK(o.output == expected);
    }
}

TEST_CASE("a match may reach exactly the start of the output, not one byte before it") {
    const codes fixed = codes::fixed();
    bit_writer ok;
    fixed_header(ok, true);
    for (char c : std::string("hello")) fixed.literal(ok, static_cast<std::uint8_t>(c));
    fixed.match(ok, 3, 5);
    fixed.end_of_block(ok);
    const outcome o = decode_everywhere(ok.data());
    REQUIRE(o.ok);
    CHECK(std::string(o.output.begin(), o.output.end()) == "hellohel");

    bit_writer far;
    fixed_header(far, true);
    for (char c : std::string("hello")) fixed.literal(far, static_cast<std::uint8_t>(c));
    const std::size_t distance_bit = far.bit_count() + 7;  // after the length code (257: 7 bits)
    fixed.match(far, 3, 6);
    fixed.end_of_block(far);
    check_error(far.data(), errc::deflate_distance_too_far, distance_bit / 8);

    bit_writer first;  // a match as the very first symbol
    fixed_header(first, true);
    fixed.match(first, 3, 1);
    fixed.end_of_block(first);
    check_error(first.data(), errc::deflate_distance_too_far, 1);
}

TEST_CASE("dynamic blocks: a single distance code, or none, is what zlib allows") {
    {
        codes c;  // one distance code of length 1: zlib accepts the incomplete code
        c.litlen_lengths = lengths_for(258, {{'q', 2}, {256, 2}, {257, 1}});
        c.distance_lengths = {1};
        c.finish();
        bit_writer w;
        dynamic_header(w, true, c);
        c.literal(w, 'q');
        c.match(w, 3, 1);
        c.end_of_block(w);
        const outcome o = decode_everywhere(w.data());
        REQUIRE(o.ok);
        CHECK(o.output == bytes(4, 'q'));

        // The code that the single distance code leaves unassigned is a bad symbol.
        bit_writer bad;
        dynamic_header(bad, true, c);
        c.literal(bad, 'q');
        c.symbol(bad, 257);
        const std::size_t distance_bit = bad.bit_count();
        bad.code(1, 1);
        check_error(bad.data(), errc::deflate_bad_symbol, distance_bit / 8);
    }
    {
        codes c;  // only literals: the distance code may be empty
        c.litlen_lengths = lengths_for(257, {{'a', 1}, {256, 1}});
        c.distance_lengths = {0};
        c.finish();
        bit_writer w;
        dynamic_header(w, true, c);
        c.literal(w, 'a');
        c.literal(w, 'a');
        c.end_of_block(w);
        const outcome o = decode_everywhere(w.data());
        REQUIRE(o.ok);
        CHECK(o.output == bytes{'a', 'a'});

        // ...but then a length symbol has no distance to go with it.
        codes m = c;
        m.litlen_lengths = lengths_for(258, {{'a', 1}, {256, 2}, {257, 2}});
        m.finish();
        bit_writer bad;
        dynamic_header(bad, true, m);
        m.literal(bad, 'a');
        m.symbol(bad, 257);
        const std::size_t distance_bit = bad.bit_count();
        bad.bits(0, 8);
        check_error(bad.data(), errc::deflate_bad_symbol, distance_bit / 8);
    }
    {
        codes c;  // a literal/length code with only end-of-block, one bit long: zlib accepts it
        c.litlen_lengths = lengths_for(257, {{256, 1}});
        c.distance_lengths = {0};
        c.finish();
        bit_writer w;
        dynamic_header(w, true, c);
        c.end_of_block(w);
        const outcome o = decode_everywhere(w.data());
        REQUIRE(o.ok);
        CHECK(o.output.empty());
    }
    {
        // Incomplete distance codes other than one 1-bit code are refused.
        for (const std::vector<std::uint8_t>& distance : {std::vector<std::uint8_t>{2},
                                                          std::vector<std::uint8_t>{2, 2},
                                                          std::vector<std::uint8_t>{1, 0, 2}}) {
            codes c;
            c.litlen_lengths = lengths_for(257, {{'a', 1}, {256, 1}});
            c.distance_lengths = distance;
            c.finish();
            bit_writer w;
            dynamic_header(w, true, c);
            const std::size_t end_of_lengths = w.bit_count();
            c.end_of_block(w);
            check_error(w.data(), errc::deflate_bad_code_lengths, (end_of_lengths - 1) / 8);
        }
    }
}

TEST_CASE("dynamic headers: every malformation, with its error and offset") {
    const auto complete_litlen = lengths_for(257, {{'a', 1}, {256, 1}});
    SUBCASE("over-subscribed literal/length code") {
        codes c;
        c.litlen_lengths = lengths_for(257, {{'a', 1}, {'b', 1}, {256, 1}});
        c.distance_lengths = {1};
        bit_writer w;
        dynamic_header(w, true, c);
        check_error(w.data(), errc::deflate_bad_code_lengths, (w.bit_count() - 1) / 8);
    }
    SUBCASE("incomplete literal/length code") {
        codes c;
        c.litlen_lengths = lengths_for(257, {{'a', 2}, {'b', 2}, {256, 2}});
        c.distance_lengths = {1};
        bit_writer w;
        dynamic_header(w, true, c);
        check_error(w.data(), errc::deflate_bad_code_lengths, (w.bit_count() - 1) / 8);
    }
    SUBCASE("no code for end-of-block") {
        codes c;
        c.litlen_lengths = lengths_for(257, {{'a', 1}, {'b', 1}});
        c.distance_lengths = {1};
        bit_writer w;
        dynamic_header(w, true, c);
        check_error(w.data(), errc::deflate_bad_code_lengths, (w.bit_count() - 1) / 8);
    }
    SUBCASE("repeat of the previous length with no previous length") {
        std::vector<precode_item> items = {{16, 0}};
        bit_writer w;
        dynamic_header(w, true, 257, 1, items);
        check_error(w.data(), errc::deflate_bad_code_lengths, (w.bit_count() - 7) / 8);  // symbol 16: 5 bits + 2
    }
    SUBCASE("repeats past the declared number of lengths") {
        for (unsigned symbol : {16u, 17u, 18u}) {
            CAPTURE(symbol);
            std::vector<precode_item> items = plain_items(complete_litlen);  // 257 lengths, 1 to go
            items.push_back({symbol, 0});  // 3 or 11 more
            bit_writer w;
            dynamic_header(w, true, 257, 1, items);
            const unsigned extra = symbol == 16 ? 2 : symbol == 17 ? 3 : 7;
            check_error(w.data(), errc::deflate_bad_code_lengths, (w.bit_count() - 5 - extra) / 8);
        }
        // A repeat may cross from the literal/length lengths into the distance lengths.
        codes c;
        c.litlen_lengths = lengths_for(258, {{'a', 2}, {'b', 2}, {256, 2}, {257, 2}});
        c.distance_lengths = {2, 2, 2, 2};
        c.finish();
        std::vector<precode_item> items = plain_items(lengths_for(257, {{'a', 2}, {'b', 2}, {256, 2}}));
        items.push_back({16, 2});  // five more 2s: symbol 257 and the four distance codes
        bit_writer w;
        dynamic_header(w, true, 258, 4, items);
        c.literal(w, 'a');
        c.literal(w, 'b');
        c.match(w, 3, 2);
        c.end_of_block(w);
        const outcome o = decode_everywhere(w.data());
        REQUIRE(o.ok);
        CHECK(std::string(o.output.begin(), o.output.end()) == "ababa");
    }
    SUBCASE("more than 286 literal/length or 30 distance codes") {
        for (auto [hlit, hdist] : {std::pair<unsigned, unsigned>{287, 1}, {288, 1}, {257, 31}, {257, 32}}) {
            bit_writer w;
            stored_block(w, false, {'x'});
            const std::size_t header = w.bit_count();
            dynamic_header(w, true, hlit, hdist, {});
            check_error(w.data(), errc::deflate_bad_symbol, header / 8);
        }
    }
    SUBCASE("code-length code over-subscribed, incomplete, or empty") {
        std::vector<std::uint8_t> over(19, 0), incomplete(19, 0), empty(19, 0);
        over[0] = over[1] = over[2] = 1;
        incomplete[0] = 1;
        incomplete[1] = 2;
        for (const auto& precode : {over, incomplete, empty}) {
            bit_writer w;
            dynamic_header(w, true, 257, 1, {}, precode);
            w.bits(0, 16);
            check_error(w.data(), errc::deflate_bad_code_lengths, (3 + 14 + 19 * 3 - 1) / 8);
        }
        // A code-length code with a single one-bit code is incomplete too (unlike distance codes).
        std::vector<std::uint8_t> single(19, 0);
        single[1] = 1;
        bit_writer w;
        dynamic_header(w, true, 257, 1, {}, single);
        w.bits(0, 64);
        check_error(w.data(), errc::deflate_bad_code_lengths, (3 + 14 + 19 * 3 - 1) / 8);
    }
}

TEST_CASE("malformed blocks: reserved type, stored length, symbols 286/287 and distances 30/31") {
    check_error({0x07}, errc::deflate_bad_block_type, 0);
    {
        bit_writer w;  // after a valid block, at a byte further on
        stored_block(w, false, {'a', 'b', 'c'});
        w.bits(1, 1);
        w.bits(3, 2);
        check_error(w.data(), errc::deflate_bad_block_type, 8);
    }
    check_error({0x01, 0x05, 0x00, 0xFB, 0xFF, 'a', 'b', 'c', 'd', 'e'}, errc::deflate_stored_length, 1);
    check_error({0x01, 0x00, 0x00, 0x00, 0x00}, errc::deflate_stored_length, 1);
    const codes fixed = codes::fixed();
    for (unsigned symbol : {286u, 287u}) {
        bit_writer w;
        fixed_header(w, true);
        fixed.literal(w, 'a');
        const std::size_t at = w.bit_count();
        fixed.symbol(w, symbol);
        w.bits(0, 16);
        check_error(w.data(), errc::deflate_bad_symbol, at / 8);
    }
    for (unsigned symbol : {30u, 31u}) {
        bit_writer w;
        fixed_header(w, true);
        fixed.literal(w, 'a');
        fixed.symbol(w, 257);
        const std::size_t at = w.bit_count();
        fixed.distance_code(w, symbol);
        w.bits(0, 16);
        check_error(w.data(), errc::deflate_bad_symbol, at / 8);
    }
    // Also where the fast loop is the one to see them: after plenty of valid input.
    for (unsigned symbol : {286u, 30u}) {
        bit_writer w;
        fixed_header(w, true);
        for (int i = 0; i < 1000; ++i) fixed.literal(w, static_cast<std::uint8_t>(i));
        if (symbol == 30) fixed.symbol(w, 257);
        const std::size_t at = w.bit_count();
        if (symbol == 30) fixed.distance_code(w, symbol);
        else fixed.symbol(w, symbol);
        for (int i = 0; i < 1000; ++i) fixed.literal(w, 'x');
        check_error(w.data(), errc::deflate_bad_symbol, at / 8);
    }
}

TEST_CASE("every proper prefix of a valid stream is truncated, at its end") {
    const bytes text = text_like(3000, 7);
    std::vector<bytes> streams = {zlib_deflate(text, 6), zlib_deflate(text, 0), zlib_deflate(text, 6, Z_FIXED),
                                  zlib_deflate(random_bytes(100, 8), 9), zlib_deflate({}, 6)};
    for (const bytes& stream : streams) {
        for (std::size_t cut = 0; cut < stream.size(); ++cut) {
            CAPTURE(cut);
            const bytes prefix(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(cut));
            const outcome a = one_shot(prefix, text.size());
            REQUIRE_FALSE(a.ok);
            CHECK(a.err.code == errc::deflate_truncated);
            CHECK(a.err.offset == cut);
            const outcome b = streamed<300, 5>(prefix, 3);
            REQUIRE_FALSE(b.ok);
            CHECK(b.err.code == errc::deflate_truncated);
            CHECK(b.err.offset == cut);
        }
    }
}

TEST_CASE("corrupted streams decode or fail exactly as zlib does, within bounds") {
    std::mt19937 rng(12345);
    const std::vector<bytes> originals = {
        zlib_deflate(text_like(5000, 1), 6), zlib_deflate(text_like(5000, 2), 9, Z_FIXED),
        zlib_deflate(float_array(4000, 3), 6), zlib_deflate(repetitive(20000), 9),
        zlib_deflate(text_like(2000, 4), 1, Z_HUFFMAN_ONLY), zlib_deflate(random_bytes(300, 5), 0)};
    constexpr std::size_t limit = 64 * 1024;
    std::size_t decoded = 0;
    for (const bytes& original : originals) {
        for (int trial = 0; trial < 300; ++trial) {
            bytes stream = original;
            const int flips = 1 + static_cast<int>(rng() % 4);
            for (int f = 0; f < flips; ++f) {
                const std::size_t bit = rng() % (8 * stream.size());
                stream[bit / 8] = static_cast<std::uint8_t>(stream[bit / 8] ^ (1u << (bit % 8)));
            }
            if (trial % 3 == 0) stream.resize(rng() % (stream.size() + 1));
            CAPTURE(trial);
            zip::inflate_options lenient;
            lenient.allow_trailing_input = true;
            const outcome a = one_shot(stream, limit, lenient);
            const outcome b = streamed<700, 9>(stream, 1 + rng() % 50, [&] {
                zip::inflate_options o = lenient;
                o.max_output = limit;
                return o;
            }());
            const zlib_verdict z = zlib_inflate(stream, limit);
            CHECK(a.ok == b.ok);
            if (a.ok) {
                ++decoded;
                CHECK(a.output.size() <= limit);
                CHECK(a.output == b.output);
                CHECK(a.stats.consumed == b.stats.consumed);
            } else {
                CHECK(a.err.code == b.err.code);
                CHECK(a.err.offset == b.err.offset);
                CHECK(a.err.offset <= stream.size());
            }
            // zlib agrees on the verdict; past the limit it can only say "no room".
            if (z.over_limit) {
                CHECK_FALSE(a.ok);
                CHECK(a.err.code == errc::deflate_output_limit);
            } else {
                CHECK(a.ok == z.ok);
                if (a.ok && z.ok) {
                    CHECK(a.output == z.output);
                    CHECK(a.stats.consumed == z.consumed);
                }
            }
        }
    }
    MESSAGE(decoded, " of 1800 corrupted streams still decoded");
}

// ==== bounds and options =============================================================================

TEST_CASE("the output limit stops decoding without writing past it") {
    const bytes zeros(10 << 20, 0);
    const bytes stream = zlib_deflate(zeros, 6);
    constexpr std::size_t limit = 1 << 20;
    {
        const outcome o = one_shot(stream, limit);  // buffer of exactly 1 MiB (ASan-checked)
        REQUIRE_FALSE(o.ok);
        CHECK(o.err.code == errc::deflate_output_limit);
        CHECK(o.err.offset < stream.size());
    }
    {
        // A larger buffer with max_output set: nothing past the limit is touched.
        bytes buffer(2 * limit, 0xAA);
        zip::inflate_options options;
        options.max_output = limit;
        auto r = zip::inflate(byte_view(stream.data(), stream.size()), mutable_byte_view(buffer.data(), buffer.size()), options);
        REQUIRE_FALSE(r);
        CHECK(r.err().code == errc::deflate_output_limit);
        CHECK(std::all_of(buffer.begin(), buffer.begin() + limit, [](std::uint8_t b) { return b == 0; }));
        CHECK(std::all_of(buffer.begin() + limit, buffer.end(), [](std::uint8_t b) { return b == 0xAA; }));
    }
    {
        zip::inflate_options options;
        options.max_output = limit;
        const outcome o = streamed<64 * 1024, 16 * 1024>(stream, 4096, options);
        REQUIRE_FALSE(o.ok);
        CHECK(o.err.code == errc::deflate_output_limit);
        CHECK(o.output.size() <= limit);
    }
    {
        // Exactly at the limit is fine.
        zip::inflate_options options;
        options.max_output = zeros.size();
        const outcome o = streamed<64 * 1024, 16 * 1024>(stream, 1 << 20, options);
        REQUIRE(o.ok);
        CHECK(o.output.size() == zeros.size());
        CHECK(one_shot(stream, zeros.size()).ok);
        CHECK_FALSE(one_shot(stream, zeros.size() - 1).ok);
    }
}

TEST_CASE("a zip bomb (1 GiB of zeros in about 1 MiB) stops at a small limit") {
    // Dynamic block: length 258 gets a 1-bit code, the only distance code 1 bit: every 2 bits
    // inflate to 258 bytes.
    codes c;
    c.litlen_lengths = lengths_for(286, {{0, 2}, {256, 2}, {285, 1}});
    c.distance_lengths = {1};
    c.finish();
    bit_writer w;
    dynamic_header(w, true, c);
    c.literal(w, 0);
    const std::size_t matches = (std::size_t{1} << 30) / 258;
    for (std::size_t i = 0; i < matches; ++i) c.match(w, 258, 1);
    c.end_of_block(w);
    const bytes& bomb = w.data();
    CHECK(bomb.size() < (2u << 20));

    const outcome o = one_shot(bomb, 1 << 20);
    REQUIRE_FALSE(o.ok);
    CHECK(o.err.code == errc::deflate_output_limit);
    zip::inflate_options options;
    options.max_output = 1 << 20;
    const outcome s = streamed<64 * 1024, 16 * 1024>(bomb, 1 << 16, options);
    REQUIRE_FALSE(s.ok);
    CHECK(s.err.code == errc::deflate_output_limit);
    // The error is found within the first limit/258 symbols: at a small input offset.
    CHECK(o.err.offset < 2000);
    CHECK(s.err.offset == o.err.offset);
}

TEST_CASE("exact size: equal passes, more or less is a size mismatch") {
    const bytes data = text_like(50000, 21);
    const bytes stream = zlib_deflate(data, 6);
    zip::inflate_options exact;
    exact.exact_size = data.size();
    const outcome ok = one_shot(stream, data.size(), exact);
    REQUIRE(ok.ok);
    CHECK(ok.output == data);
    CHECK(streamed<64 * 1024, 16 * 1024>(stream, 999, exact).ok);

    exact.exact_size = data.size() + 1;  // the stream ends early
    for (const outcome& o : {one_shot(stream, data.size() + 10, exact), streamed<2048, 100>(stream, 77, exact)}) {
        REQUIRE_FALSE(o.ok);
        CHECK(o.err.code == errc::deflate_size_mismatch);
        CHECK(o.err.offset == stream.size());
    }
    exact.exact_size = data.size() - 1;  // the stream has more
    for (const outcome& o : {one_shot(stream, data.size() + 10, exact), streamed<2048, 100>(stream, 77, exact)}) {
        REQUIRE_FALSE(o.ok);
        CHECK(o.err.code == errc::deflate_size_mismatch);
        CHECK(o.err.offset < stream.size());
    }
    // A declared size larger than the buffer or the limit fails before any decoding.
    exact.exact_size = data.size();
    const outcome small = one_shot(stream, data.size() - 1, exact);
    REQUIRE_FALSE(small.ok);
    CHECK(small.err.code == errc::deflate_output_limit);
    CHECK(small.err.offset == 0);
    exact.max_output = data.size() - 1;
    const outcome limited = streamed<2048, 100>(stream, 77, exact);
    REQUIRE_FALSE(limited.ok);
    CHECK(limited.err.code == errc::deflate_output_limit);
    CHECK(limited.output.empty());
}

TEST_CASE("trailing data is refused by default and reported when allowed") {
    const bytes data = text_like(10000, 22);
    bytes stream = zlib_deflate(data, 6);
    const std::size_t length = stream.size();
    stream.push_back(0x00);
    stream.push_back(0x42);
    for (const outcome& o : {one_shot(stream, data.size()), streamed<1024, 8>(stream, 1), streamed<1024, 8>(stream, 5000)}) {
        REQUIRE_FALSE(o.ok);
        CHECK(o.err.code == errc::deflate_trailing_data);
        CHECK(o.err.offset == length);
    }
    zip::inflate_options lenient;
    lenient.allow_trailing_input = true;
    for (const outcome& o : {one_shot(stream, data.size(), lenient), streamed<1024, 8>(stream, 1, lenient)}) {
        REQUIRE(o.ok);
        CHECK(o.output == data);
        CHECK(o.stats.consumed == length);
    }
    // A single trailing byte that the bit buffer had already taken in is still trailing data.
    const bytes empty_stored = {0x01, 0x00, 0x00, 0xFF, 0xFF, 0x99};
    const outcome o = one_shot(empty_stored, 0);
    REQUIRE_FALSE(o.ok);
    CHECK(o.err.code == errc::deflate_trailing_data);
    CHECK(o.err.offset == 5);
}

TEST_CASE("source and sink failures propagate unchanged") {
    const bytes data = text_like(200000, 23);
    const bytes stream = zlib_deflate(data, 6);
    struct failing_source {
        const bytes* data;
        std::size_t pos = 0;
        result<std::size_t> read(std::uint8_t* dst, std::size_t max) noexcept {
            if (pos >= 1000) return error{errc::io_read_failed, pos, "a readable file"};
            const std::size_t n = std::min<std::size_t>(max, 100);
            std::memcpy(dst, data->data() + pos, n);
            pos += n;
            return n;
        }
    };
    struct failing_sink {
        std::size_t taken = 0;
        status write(byte_view b) noexcept {
            if (taken > 0) return error{errc::io_write_failed, taken, "a writable file"};
            taken += b.size();
            return {};
        }
    };
    auto decoder = std::make_unique<zip::basic_stream_inflater<4096, 512>>();
    failing_source source{&stream};
    counting_sink counter;
    auto r = decoder->inflate(source, counter);
    REQUIRE_FALSE(r);
    CHECK(r.err().code == errc::io_read_failed);
    CHECK(r.err().offset == 1000);

    span_source whole(byte_view(stream.data(), stream.size()));
    failing_sink sink;
    auto w = decoder->inflate(whole, sink);
    REQUIRE_FALSE(w);
    CHECK(w.err().code == errc::io_write_failed);
}
