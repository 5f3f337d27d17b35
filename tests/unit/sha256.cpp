// Unit tests for SHA-256: published FIPS 180-4 vectors, every backend against OpenSSL and against
// each other, every message length around the block boundaries, and the compile-time path.
#include <brine/brine.hpp>
#include <doctest/doctest.h>
#include <openssl/sha.h>
#include <sha_testing.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using brine::byte_view;
using brine::crypto::sha256;
using brine::crypto::sha256_backend;
using brine::crypto::sha256_digest;
using sha_testing::from_hex;
using sha_testing::hex_of;
using sha_testing::runnable_backends;

namespace {

sha256_digest openssl_sha256(const std::vector<std::uint8_t>& data) {
    sha256_digest digest{};
    SHA256(data.data(), data.size(), digest.data());
    return digest;
}

std::vector<std::uint8_t> bytes_of(const sha256_digest& digest) { return {digest.begin(), digest.end()}; }

// FIPS 180-4 examples (NIST CSRC "Example Algorithms": SHA256.pdf, SHA2_Additional.pdf).
struct published_vector {
    std::string message;
    const char* digest;
};
std::vector<published_vector> fips_180_4_vectors() {
    return {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
         "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
        {std::string(1000000, 'a'), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
    };
}

constexpr sha256_digest abc_digest = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                                      0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                                      0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};

constexpr bool same(const sha256_digest& a, const sha256_digest& b) {
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i] != b[i]) return false;
    return true;
}

}  // namespace

static_assert(same(brine::crypto::sha256_constexpr("abc"), abc_digest),
              "SHA-256 runs at compile time and gives the FIPS 180-4 digest of \"abc\"");
static_assert(same(brine::crypto::sha256_constexpr(""),
                   {0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
                    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55}),
              "the empty message at compile time");
static_assert(brine::crypto::to_hex(abc_digest)[0] == 'b' && brine::crypto::to_hex(abc_digest)[63] == 'd',
              "hex at compile time");

TEST_CASE("sha256: which backends run on this machine") {
    std::string names;
    for (sha256_backend backend : runnable_backends()) {
        names += ' ';
        names += brine::crypto::to_string(backend);
    }
    MESSAGE("available SHA-256 backends:" << names << "; automatic selects "
                                          << brine::crypto::to_string(sha256().backend()));
    CHECK(brine::crypto::sha256_backend_available(sha256_backend::automatic));
    CHECK(brine::crypto::sha256_backend_available(sha256_backend::portable));
    // A CPU with the instructions must get the accelerated path, or it silently never runs.
    if (brine::cpu().sha_ni) CHECK(brine::crypto::sha256_backend_available(sha256_backend::x86_shani));
    // (With Clang the ARM path also needs -march=armv8-a+crypto; see detail/sha256_arm.hpp.)
    if (brine::cpu().arm_sha2) WARN(brine::crypto::sha256_backend_available(sha256_backend::arm_sha2));
    CHECK(sha256(sha256_backend::portable).backend() == sha256_backend::portable);
    CHECK(sha256().backend() != sha256_backend::automatic);
    if (brine::crypto::sha256_backend_available(sha256_backend::x86_shani))
        CHECK(sha256().backend() == sha256_backend::x86_shani);
    for (sha256_backend backend : {sha256_backend::x86_shani, sha256_backend::arm_sha2}) {
        const sha256_backend expected = brine::crypto::sha256_backend_available(backend) ? backend
                                                                                         : sha256_backend::portable;
        CHECK(sha256(backend).backend() == expected);
    }
    CHECK(brine::crypto::to_string(sha256_backend::x86_shani) == "x86_shani");
    CHECK(brine::crypto::to_string(sha256_backend::arm_sha2) == "arm_sha2");
}

TEST_CASE("sha256: FIPS 180-4 example vectors, every backend") {
    for (sha256_backend backend : runnable_backends()) {
        CAPTURE(brine::crypto::to_string(backend));
        for (const auto& vector : fips_180_4_vectors()) {
            CAPTURE(vector.message.size());
            const byte_view message = brine::as_bytes(vector.message);
            CHECK(hex_of(sha256::hash(message, backend)) == vector.digest);
            CHECK(bytes_of(sha256::hash(message, backend)) == from_hex(vector.digest));

            // The same, one byte at a time.
            sha256 hasher(backend);
            for (std::size_t i = 0; i < message.size(); ++i) hasher.update(message.subview(i, 1));
            CHECK(hex_of(hasher.finish()) == vector.digest);
        }
    }
}

TEST_CASE("sha256: compile-time path equals the run-time one") {
    CHECK(hex_of(brine::crypto::sha256_constexpr("abc")) == hex_of(abc_digest));
    const std::string text = "The quick brown fox jumps over the lazy dog, then over the block boundary.";
    const std::string expected = hex_of(openssl_sha256({text.begin(), text.end()}));
    CHECK(hex_of(brine::crypto::sha256_constexpr(std::string_view(text))) == expected);
    CHECK(hex_of(brine::crypto::sha256_constexpr(brine::as_bytes(text))) == expected);
}

TEST_CASE("sha256: every length 0..1000 in random pieces, every backend, against OpenSSL") {
    std::mt19937_64 rng(0x5A256);
    const auto backends = runnable_backends();
    for (std::size_t length = 0; length <= 1000; ++length) {
        const std::vector<std::uint8_t> data = sha_testing::random_bytes(rng, length);
        const std::string expected = hex_of(openssl_sha256(data));
        for (sha256_backend backend : backends) {
            CAPTURE(brine::crypto::to_string(backend));
            CAPTURE(length);
            const std::string in_one_call = hex_of(sha256::hash(byte_view(data.data(), data.size()), backend));
            CHECK(in_one_call == expected);

            sha256 hasher(backend);
            sha_testing::update_in_random_pieces(hasher, data, rng, 150);
            const std::string in_pieces = hex_of(hasher.finish());
            CHECK(in_pieces == expected);
            if (in_one_call != expected || in_pieces != expected) return;  // one report is enough
        }
    }
}

TEST_CASE("sha256: messages of a few MB in random pieces, every backend, against OpenSSL") {
    std::mt19937_64 rng(20240601);
    const auto backends = runnable_backends();
    for (std::size_t length : {std::size_t(1) << 20, (std::size_t(1) << 20) + 55, std::size_t(3141593)}) {
        const std::vector<std::uint8_t> data = sha_testing::random_bytes(rng, length);
        const std::string expected = hex_of(openssl_sha256(data));
        for (sha256_backend backend : backends) {
            CAPTURE(brine::crypto::to_string(backend));
            CAPTURE(length);
            CHECK(hex_of(sha256::hash(byte_view(data.data(), data.size()), backend)) == expected);
            sha256 hasher(backend);
            sha_testing::update_in_random_pieces(hasher, data, rng, 100000);
            CHECK(hex_of(hasher.finish()) == expected);
        }
    }
}

TEST_CASE("sha256: backends agree with each other on unaligned input") {
    std::mt19937_64 rng(7);
    const auto backends = runnable_backends();
    const std::vector<std::uint8_t> data = sha_testing::random_bytes(rng, 4096 + 64);
    for (std::size_t start = 0; start < 64; start += 3) {
        const byte_view view(data.data() + start, data.size() - 64 - start + (start % 17));
        const std::string reference = hex_of(sha256::hash(view, sha256_backend::portable));
        for (sha256_backend backend : backends) {
            CAPTURE(brine::crypto::to_string(backend));
            CAPTURE(start);
            CHECK(hex_of(sha256::hash(view, backend)) == reference);
        }
    }
}

TEST_CASE("sha256: finish() resets the object for the next message") {
    for (sha256_backend backend : runnable_backends()) {
        CAPTURE(brine::crypto::to_string(backend));
        sha256 hasher(backend);
        hasher.update(brine::as_bytes("some earlier message that must not leak into the next one........"));
        (void)hasher.finish();
        hasher.update(brine::as_bytes("ab"));
        hasher.update(brine::as_bytes("c"));
        CHECK(hex_of(hasher.finish()) == hex_of(abc_digest));
        CHECK(hex_of(hasher.finish()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        CHECK(hasher.backend() == sha256(backend).backend());

        // A copy continues independently from the same point.
        hasher.update(brine::as_bytes("a"));
        sha256 copy = hasher;
        copy.update(brine::as_bytes("bc"));
        hasher.update(brine::as_bytes("bc"));
        CHECK(hex_of(copy.finish()) == hex_of(abc_digest));
        CHECK(hex_of(hasher.finish()) == hex_of(abc_digest));
    }
}

TEST_CASE("sha256: empty views, including a null one, change nothing") {
    for (sha256_backend backend : runnable_backends()) {
        sha256 hasher(backend);
        hasher.update(byte_view());
        hasher.update(brine::as_bytes("abc"));
        hasher.update(byte_view(static_cast<const std::uint8_t*>(nullptr), 0));
        CHECK(hex_of(hasher.finish()) == hex_of(abc_digest));
    }
}

TEST_CASE("sha256: to_hex") {
    CHECK(hex_of(abc_digest) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_digest all_values{};
    for (std::size_t i = 0; i < all_values.size(); ++i) all_values[i] = static_cast<std::uint8_t>(i * 8 + 7);
    CHECK(hex_of(all_values) == "070f171f272f373f474f575f676f777f878f979fa7afb7bfc7cfd7dfe7eff7ff");
}
