// Unit tests for CRC-32: published check values, every backend against zlib's crc32 on all short
// lengths and alignments and on long buffers, incremental use, and the compile-time derivations.
#include <brine/brine.hpp>
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using namespace brine;
using zip::crc32_backend;

namespace {

constexpr crc32_backend all_backends[] = {crc32_backend::automatic, crc32_backend::portable,
                                          crc32_backend::x86_pclmul, crc32_backend::arm_crc32,
                                          crc32_backend::x86_vpclmul};

// The backends that run natively on this machine, announced once so that a skipped accelerated
// path shows in the test log.
const std::vector<crc32_backend>& available_backends() {
    static const std::vector<crc32_backend> available = [] {
        std::vector<crc32_backend> list;
        std::string names;
        for (const crc32_backend backend : all_backends) {
            if (!zip::crc32_backend_available(backend)) continue;
            list.push_back(backend);
            names += ' ';
            names += zip::to_string(backend);
        }
        MESSAGE("CRC-32 backends available:" << names << " (automatic runs "
                                             << zip::to_string(zip::crc32_stream().backend()) << ")");
        return list;
    }();
    return available;
}

std::vector<std::uint8_t> random_bytes(std::size_t size, std::uint64_t seed) {
    std::vector<std::uint8_t> bytes(size);
    std::mt19937_64 rng(seed);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    return bytes;
}

std::uint32_t zlib_crc32(std::uint32_t crc, const std::uint8_t* data, std::size_t size) {
    return static_cast<std::uint32_t>(::crc32_z(crc, data, size));
}

}  // namespace

TEST_CASE("published check values, on every backend") {
    struct vector {
        std::string_view text;
        std::uint32_t crc;
    };
    // The CRC-32 catalogue check value, and common examples quoted for CRC-32/ISO-HDLC.
    const vector vectors[] = {
        {"", 0x00000000u},
        {"a", 0xE8B7BE43u},
        {"abc", 0x352441C2u},
        {"123456789", 0xCBF43926u},
        {"The quick brown fox jumps over the lazy dog", 0x414FA339u},
    };
    for (const crc32_backend backend : available_backends()) {
        CAPTURE(zip::to_string(backend));
        for (const vector& v : vectors) {
            CAPTURE(v.text);
            CHECK(zip::crc32(as_bytes(v.text), 0, backend) == v.crc);
        }
        const std::vector<std::uint8_t> zeros(32, 0), ones(32, 0xFF);
        CHECK(zip::crc32(byte_view(zeros.data(), zeros.size()), 0, backend) == 0x190A55ADu);
        CHECK(zip::crc32(byte_view(ones.data(), ones.size()), 0, backend) == 0xFF6CAB0Bu);
    }
}

TEST_CASE("the accelerated path this CPU offers is available") {
    (void)available_backends();
    CHECK(zip::crc32_backend_available(crc32_backend::automatic));
    CHECK(zip::crc32_backend_available(crc32_backend::portable));
#if BRINE_ARCH_X86 && BRINE_HAS_TARGET_ATTRIBUTE
    if (cpu().pclmul && cpu().sse41) {
        CHECK(zip::crc32_backend_available(crc32_backend::x86_pclmul));
        CHECK(zip::crc32_backend_available(crc32_backend::x86_vpclmul) == cpu().avx512_vpclmul);
        CHECK(zip::crc32_stream().backend() ==
              (cpu().avx512_vpclmul ? crc32_backend::x86_vpclmul : crc32_backend::x86_pclmul));
    }
#endif
#if BRINE_ARCH_ARM64 && BRINE_HAS_TARGET_ATTRIBUTE
    if (cpu().arm_crc32) {
        CHECK(zip::crc32_backend_available(crc32_backend::arm_crc32));
        CHECK(zip::crc32_stream().backend() == crc32_backend::arm_crc32);
    }
#endif
    CHECK(zip::crc32_stream().backend() != crc32_backend::automatic);
}

TEST_CASE("a backend that cannot run falls back to portable") {
    const auto data = random_bytes(1000, 3);
    const byte_view view(data.data(), data.size());
    for (const crc32_backend backend : all_backends) {
        CAPTURE(zip::to_string(backend));
        CHECK(zip::crc32(view, 0, backend) == zlib_crc32(0, data.data(), data.size()));
        if (!zip::crc32_backend_available(backend)) CHECK(zip::crc32_stream(backend).backend() == crc32_backend::portable);
    }
    // Out-of-range values behave like an unavailable backend rather than reading past a table.
    const auto bogus = static_cast<crc32_backend>(99);
    CHECK_FALSE(zip::crc32_backend_available(bogus));
    CHECK(zip::to_string(bogus) == "unknown");
    CHECK(zip::crc32(view, 0, bogus) == zlib_crc32(0, data.data(), data.size()));
}

TEST_CASE("names of the backends") {
    CHECK(zip::to_string(crc32_backend::automatic) == "automatic");
    CHECK(zip::to_string(crc32_backend::portable) == "portable");
    CHECK(zip::to_string(crc32_backend::x86_pclmul) == "x86_pclmul");
    CHECK(zip::to_string(crc32_backend::arm_crc32) == "arm_crc32");
}

TEST_CASE("every length 0..4096 at every alignment matches zlib, on every backend") {
    // Slack on both sides: reads outside [offset, offset + length) would show under ASan only if
    // they left the allocation, so the compared bytes also sit between unrelated random bytes.
    const auto buffer = random_bytes(4096 + 64 + 64, 42);
    std::mt19937_64 rng(7);
    for (const crc32_backend backend : available_backends()) {
        CAPTURE(zip::to_string(backend));
        for (std::size_t length = 0; length <= 4096; ++length) {
            const std::size_t offset = 64 + rng() % 64;
            const std::uint32_t initial = length % 3 == 0 ? 0u : static_cast<std::uint32_t>(rng());
            const std::uint8_t* data = buffer.data() + offset;
            const std::uint32_t expected = zlib_crc32(initial, data, length);
            const std::uint32_t actual = zip::crc32(byte_view(data, length), initial, backend);
            if (actual != expected) {
                CAPTURE(length);
                CAPTURE(offset);
                CAPTURE(initial);
                CHECK(actual == expected);  // report, then stop this backend: one length is enough
                break;
            }
        }
    }
}

TEST_CASE("lengths around the accelerated paths' block sizes, at every alignment 0..63") {
    const auto buffer = random_bytes(1024 + 64, 5);
    for (const crc32_backend backend : available_backends()) {
        CAPTURE(zip::to_string(backend));
        int mismatches = 0;
        for (std::size_t offset = 0; offset < 64; ++offset) {
            for (const std::size_t length : {15u, 16u, 17u, 31u, 32u, 63u, 64u, 65u, 79u, 80u, 127u, 128u, 129u,
                                             191u, 192u, 255u, 256u, 257u, 511u, 512u, 1000u, 1024u}) {
                const std::uint8_t* data = buffer.data() + offset;
                if (zip::crc32(byte_view(data, length), 0, backend) != zlib_crc32(0, data, length)) ++mismatches;
            }
        }
        CHECK(mismatches == 0);
    }
}

TEST_CASE("long buffers match zlib, on every backend") {
    const auto buffer = random_bytes((8u << 20) + 64, 11);
    for (const crc32_backend backend : available_backends()) {
        CAPTURE(zip::to_string(backend));
        for (const std::size_t length : {std::size_t{1} << 20, (std::size_t{3} << 20) + 13, std::size_t{8} << 20}) {
            CAPTURE(length);
            const std::uint8_t* data = buffer.data() + (length % 7);
            CHECK(zip::crc32(byte_view(data, length), 0, backend) == zlib_crc32(0, data, length));
        }
    }
}

TEST_CASE("data that arrives in pieces gives the same CRC") {
    const auto data = random_bytes(100000, 99);
    const std::uint32_t whole = zlib_crc32(0, data.data(), data.size());
    std::mt19937_64 rng(1234);
    for (const crc32_backend backend : available_backends()) {
        CAPTURE(zip::to_string(backend));
        for (int round = 0; round < 20; ++round) {
            zip::crc32_stream stream(backend);
            std::uint32_t chained = 0;
            std::size_t at = 0;
            while (at < data.size()) {
                // Mostly short pieces, sometimes long ones, so that every path gets split inputs.
                const std::size_t limit = rng() % 4 == 0 ? 20000 : 100;
                const std::size_t piece = std::min<std::size_t>(rng() % (limit + 1), data.size() - at);
                const byte_view view(data.data() + at, piece);
                stream.update(view);
                chained = zip::crc32(view, chained, backend);
                at += piece;
            }
            CHECK(stream.value() == whole);
            CHECK(chained == whole);
        }
    }
}

TEST_CASE("crc32_stream starts empty and resets") {
    zip::crc32_stream stream;
    CHECK(stream.value() == 0u);
    stream.update(as_bytes("1234"));
    stream.update(as_bytes(""));
    stream.update(as_bytes("56789"));
    CHECK(stream.value() == 0xCBF43926u);
    stream.reset();
    CHECK(stream.value() == 0u);
    stream.update(as_bytes("abc"));
    CHECK(stream.value() == 0x352441C2u);
}

TEST_CASE("a non-zero initial CRC continues the message") {
    const std::string_view text = "The quick brown fox jumps over the lazy dog";
    for (const crc32_backend backend : available_backends()) {
        CAPTURE(zip::to_string(backend));
        for (std::size_t split = 0; split <= text.size(); ++split) {
            const std::uint32_t head = zip::crc32(as_bytes(text.substr(0, split)), 0, backend);
            CHECK(zip::crc32(as_bytes(text.substr(split)), head, backend) == 0x414FA339u);
        }
    }
}

// The tables and the carry-less-multiply constants are derived at compile time; check them against
// values published independently (the classic byte table, and the reflected CRC-32 constants of
// Intel's "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ").
TEST_CASE("compile-time derivations") {
    using namespace zip::detail;
    static_assert(crc32_tables.entry[0][0x01] == 0x77073096u, "byte table");
    static_assert(crc32_tables.entry[0][0xFF] == 0x2D02EF8Du, "byte table");
    static_assert(crc32_reflected33(crc32_x_pow_mod(4 * 128 + 32)) == 0x154442BD4u, "4-lane fold, high half");
    static_assert(crc32_reflected33(crc32_x_pow_mod(4 * 128 - 32)) == 0x1C6E41596u, "4-lane fold, low half");
    static_assert(crc32_reflected33(crc32_x_pow_mod(128 + 32)) == 0x1751997D0u, "1-lane fold, high half");
    static_assert(crc32_reflected33(crc32_x_pow_mod(128 - 32)) == 0x0CCAA009Eu, "1-lane fold, low half");
    static_assert(crc32_reflected33(crc32_x_pow_mod(64)) == 0x163CD6124u, "x^64 mod P");
    static_assert(crc32_x64_quotient() == 0x1F7011641u, "Barrett constant floor(x^64 / P)");
    static_assert(crc32_polynomial_reflected33 == 0x1DB710641u, "P");

    // The portable path runs in constant expressions.
    constexpr std::uint8_t check[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
    static_assert(~crc32_update_portable(~0u, check, sizeof check) == 0xCBF43926u, "check value");
    constexpr std::uint8_t zeros[40] = {};
    static_assert(~crc32_update_portable(~0u, zeros, 32) == 0x190A55ADu, "slicing step");
    CHECK(true);
}
