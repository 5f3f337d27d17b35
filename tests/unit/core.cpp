// Unit tests for the core: byte views, explicit-endian access, errors and result<T>.
#include <brine/brine.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

using namespace brine;

TEST_CASE("byte_view slicing is clamped, never out of range") {
    const std::uint8_t bytes[] = {1, 2, 3, 4, 5};
    const byte_view view(bytes, sizeof bytes);
    CHECK(view.subview(1, 2).size() == 2);
    CHECK(view.subview(1, 2)[0] == 2);
    CHECK(view.subview(4, 100).size() == 1);
    CHECK(view.subview(9, 1).empty());
    CHECK(view.first(3).size() == 3);
    CHECK(view.first(99).size() == 5);
}

TEST_CASE("explicit-endian loads and stores") {
    const std::uint8_t le[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    CHECK(load_le16(le) == 0x0201);
    CHECK(load_le32(le) == 0x04030201u);
    CHECK(load_le64(le) == 0x0807060504030201ull);
    CHECK(load_be32(le) == 0x01020304u);
    CHECK(load_be64(le) == 0x0102030405060708ull);

    std::uint8_t out[8] = {};
    store_le64(out, 0x0807060504030201ull);
    CHECK(std::equal(out, out + 8, le));
    store_be64(out, 0x0102030405060708ull);
    CHECK(std::equal(out, out + 8, le));
    store_le32(out, 0xA1B2C3D4u);
    CHECK(load_le32(out) == 0xA1B2C3D4u);
    store_be32(out, 0xA1B2C3D4u);
    CHECK(out[0] == 0xA1);
    store_le16(out, 0xBEEF);
    CHECK(out[0] == 0xEF);
    CHECK(out[1] == 0xBE);
    constexpr std::uint8_t be[] = {0x12, 0x34, 0x56, 0x78};
    static_assert(load_be32(be) == 0x12345678u, "loads are usable at compile time");
}

namespace {
result<int> parse_digit(char c) {
    if (c < '0' || c > '9') return error{errc::invalid_argument, 7, "a decimal digit"};
    return c - '0';
}
status sum_digits(const char* text, int& sum) {
    for (; *text; ++text) {
        auto digit = parse_digit(*text);
        BRINE_TRY(digit);
        sum += *digit;
    }
    return {};
}
}  // namespace

TEST_CASE("result carries a value or an error with offset, entry and detail") {
    auto good = parse_digit('7');
    REQUIRE(good.has_value());
    CHECK(*good == 7);

    auto bad = parse_digit('x');
    REQUIRE_FALSE(bad);
    CHECK(bad.err().code == errc::invalid_argument);
    CHECK(bad.err().offset == 7);
    CHECK(std::string(bad.err().detail) == "a decimal digit");

    int sum = 0;
    CHECK(sum_digits("123", sum).has_value());
    CHECK(sum == 6);
    const status failed = sum_digits("1x", sum);
    CHECK_FALSE(failed);
    CHECK(failed.err().code == errc::invalid_argument);

    result<std::vector<int>> moved = std::vector<int>{1, 2, 3};
    result<std::vector<int>> copy = moved;
    CHECK(copy->size() == 3);
    copy = error{errc::limit_exceeded, 1, "less"};
    CHECK_FALSE(copy);
    copy = moved;
    CHECK(copy->at(2) == 3);
}

TEST_CASE("entry names are held inline and truncated, never overflowing") {
    const std::string long_name(300, 'n');
    const error e{errc::io_read_failed, 0, "readable bytes", long_name};
    CHECK(e.entry.view().size() == entry_name::capacity);
    const error short_entry{errc::io_read_failed, 0, "", "archive/data.pkl"};
    CHECK(short_entry.entry.view() == "archive/data.pkl");
}

TEST_CASE("every error code has a distinct name") {
    // Codes are consecutive from ok; the first value without a name ends the enumeration.
    std::vector<std::string> names;
    int c = 0;
    for (; to_string(static_cast<errc>(c)) != "unknown"; ++c) {
        const std::string name(to_string(static_cast<errc>(c)));
        CHECK(std::find(names.begin(), names.end(), name) == names.end());
        names.push_back(name);
    }
    CHECK(names.size() > 40);
    for (int beyond = c; beyond < c + 64; ++beyond) CHECK(to_string(static_cast<errc>(beyond)) == "unknown");
}

#if BRINE_HAS_EXCEPTIONS
TEST_CASE("value_or_throw describes the error") {
    auto bad = parse_digit('x');
    try {
        (void)bad.value_or_throw();
        FAIL("expected an exception");
    } catch (const brine::exception& e) {
        CHECK(std::string(e.what()) == "invalid_argument at offset 7: a decimal digit");
    }
}
#endif

TEST_CASE("sinks and sources move bytes with bounds") {
    const std::uint8_t input[] = {9, 8, 7, 6, 5};
    span_source source(byte_view(input, sizeof input));
    std::uint8_t chunk[3];
    auto n = source.read(chunk, sizeof chunk);
    REQUIRE(n);
    CHECK(*n == 3);
    n = source.read(chunk, sizeof chunk);
    CHECK(*n == 2);
    n = source.read(chunk, sizeof chunk);
    CHECK(*n == 0);

    std::uint8_t storage[4];
    buffer_sink sink(mutable_byte_view(storage, sizeof storage));
    CHECK(sink.write(byte_view(input, 3)).has_value());
    const status overflow = sink.write(byte_view(input, 2));
    CHECK_FALSE(overflow);
    CHECK(overflow.err().code == errc::limit_exceeded);
    CHECK(sink.size() == 3);
    static_assert(is_source_v<span_source>);
    static_assert(is_sink_v<buffer_sink>);
    static_assert(is_sink_v<vector_sink>);
    static_assert(!is_sink_v<span_source>);
}

TEST_CASE("the arena hands out aligned blocks until it is full, and gives back the last one") {
    alignas(64) unsigned char buffer[256];
    arena a(buffer, sizeof buffer);
    CHECK(a.capacity() == 256);
    void* one = a.allocate(3, 1);
    REQUIRE(one == buffer);
    void* two = a.allocate(8, 8);
    REQUIRE(two != nullptr);
    CHECK(reinterpret_cast<std::uintptr_t>(two) % 8 == 0);
    CHECK(static_cast<unsigned char*>(two) == buffer + 8);  // 3 bytes, padded up to 8
    CHECK(a.used() == 16);

    // Only the most recent block comes back; an older one stays until reset.
    a.deallocate(one, 3);
    CHECK(a.used() == 16);
    a.deallocate(two, 8);
    CHECK(a.used() == 8);

    void* big = a.allocate(248, 1);
    CHECK(big == buffer + 8);
    CHECK(a.allocate(1, 1) == nullptr);                  // full
    CHECK(a.allocate(std::size_t(-1), 16) == nullptr);   // no wrap-around on huge requests
    CHECK(a.peak() == 256);
    a.reset();
    CHECK(a.used() == 0);
    CHECK(a.peak() == 256);  // the peak is what sizes the buffer: kept across resets
    CHECK(a.allocate(256, 64) == buffer);

    arena none(nullptr, 100);
    CHECK(none.capacity() == 0);
    CHECK(none.allocate(1, 1) == nullptr);
}

TEST_CASE("arena scopes nest and restore the arena before them") {
    unsigned char first_bytes[64];
    unsigned char second_bytes[64];
    arena first(first_bytes, sizeof first_bytes);
    arena second(second_bytes, sizeof second_bytes);
    CHECK(detail::current_arena_state().current == nullptr);
    {
        const arena_scope outer(first);
        CHECK(detail::current_arena_state().current == &first);
        {
            const arena_scope inner(second);
            CHECK(detail::current_arena_state().current == &second);
        }
        CHECK(detail::current_arena_state().current == &first);
    }
    CHECK(detail::current_arena_state().current == nullptr);
}

TEST_CASE("alloc::to_string agrees with std::to_string at the extremes") {
    for (const long long v : {0LL, 1LL, -1LL, 9LL, 10LL, -10LL, 1234567890123LL, std::numeric_limits<long long>::max(),
                              std::numeric_limits<long long>::min()})
        CHECK(std::string(alloc::to_string(v)) == std::to_string(v));
    CHECK(std::string(alloc::to_string(std::numeric_limits<unsigned long long>::max())) ==
          std::to_string(std::numeric_limits<unsigned long long>::max()));
    CHECK(std::string(alloc::to_string(std::int8_t{-128})) == "-128");
    CHECK(std::string(alloc::to_string(std::uint32_t{4294967295u})) == "4294967295");
}

namespace {
struct counted_object {
    static inline int alive = 0;
    int value = 42;
    counted_object() { ++alive; }
    ~counted_object() { --alive; }
};
}  // namespace

TEST_CASE("boxed constructs one object off the stack and destroys it") {
    {
        auto box = detail::boxed<counted_object>::make();
        REQUIRE(box);
        CHECK(box->value == 42);
        CHECK(counted_object::alive == 1);
        auto moved = std::move(box);
        CHECK(!box);
        CHECK(moved->value == 42);
        CHECK(counted_object::alive == 1);
    }
    CHECK(counted_object::alive == 0);

    const detail::raw_block block(1024, std::nothrow);
    CHECK(block.data() != nullptr);
    CHECK(block.size() == 1024);
    // More than any machine has: empty, not the end of the program (no new_handler, no throw).
    const detail::raw_block impossible(std::size_t(-1) / 2, std::nothrow);
    CHECK(impossible.data() == nullptr);
    CHECK(impossible.size() == 0);
}
