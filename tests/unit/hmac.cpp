// Unit tests for HMAC-SHA-256: the RFC 4231 vectors, random keys and messages against OpenSSL for
// every backend, reuse after finish(), and the constant-time comparison.
#include <brine/brine.hpp>
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sha_testing.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

using brine::byte_view;
using brine::crypto::hmac_sha256;
using brine::crypto::sha256_backend;
using brine::crypto::sha256_digest;
using sha_testing::from_hex;
using sha_testing::hex_of;
using sha_testing::runnable_backends;

namespace {

sha256_digest openssl_hmac(const std::vector<std::uint8_t>& key, const std::vector<std::uint8_t>& message) {
    // OpenSSL wants non-null pointers even for empty inputs.
    static const std::uint8_t nothing = 0;
    sha256_digest mac{};
    unsigned int mac_length = 0;
    const unsigned char* result =
        HMAC(EVP_sha256(), key.empty() ? &nothing : key.data(), static_cast<int>(key.size()),
             message.empty() ? &nothing : message.data(), message.size(), mac.data(), &mac_length);
    CHECK(result != nullptr);
    CHECK(mac_length == mac.size());
    return mac;
}

std::vector<std::uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

// RFC 4231 §4.2–4.8.
struct rfc4231_case {
    int number;
    std::vector<std::uint8_t> key;
    std::vector<std::uint8_t> data;
    const char* mac;  // hex; case 5 gives only the first 128 bits
};
std::vector<rfc4231_case> rfc4231_cases() {
    std::vector<std::uint8_t> key4;
    for (std::uint8_t b = 0x01; b <= 0x19; ++b) key4.push_back(b);
    return {
        {1, std::vector<std::uint8_t>(20, 0x0b), bytes_of("Hi There"),
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {2, bytes_of("Jefe"), bytes_of("what do ya want for nothing?"),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {3, std::vector<std::uint8_t>(20, 0xaa), std::vector<std::uint8_t>(50, 0xdd),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {4, key4, std::vector<std::uint8_t>(50, 0xcd),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {5, std::vector<std::uint8_t>(20, 0x0c), bytes_of("Test With Truncation"),
         "a3b6167473100ee06e0c796c2955552b"},
        {6, std::vector<std::uint8_t>(131, 0xaa), bytes_of("Test Using Larger Than Block-Size Key - Hash Key First"),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {7, std::vector<std::uint8_t>(131, 0xaa),
         bytes_of("This is a test using a larger than block-size key and a larger than block-size data. The key "
                  "needs to be hashed before being used by the HMAC algorithm."),
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
}

byte_view view_of(const std::vector<std::uint8_t>& bytes) { return {bytes.data(), bytes.size()}; }

}  // namespace

TEST_CASE("hmac_sha256: RFC 4231 test cases 1-7, every backend") {
    for (sha256_backend backend : runnable_backends()) {
        CAPTURE(brine::crypto::to_string(backend));
        for (const auto& test : rfc4231_cases()) {
            CAPTURE(test.number);
            const std::vector<std::uint8_t> expected = from_hex(test.mac);
            const sha256_digest mac = hmac_sha256::mac(view_of(test.key), view_of(test.data), backend);
            CHECK(hex_of(mac).substr(0, 2 * expected.size()) == test.mac);
            CHECK(brine::crypto::constant_time_equal(byte_view(mac.data(), expected.size()), view_of(expected)));

            hmac_sha256 incremental(view_of(test.key), backend);
            CHECK(incremental.backend() == brine::crypto::sha256(backend).backend());
            for (std::uint8_t byte : test.data) incremental.update(byte_view(&byte, 1));
            CHECK(hex_of(incremental.finish()) == hex_of(mac));
        }
    }
}

TEST_CASE("hmac_sha256: random keys 0..200 bytes and messages, every backend, against OpenSSL") {
    std::mt19937_64 rng(0xC0FFEE);
    const auto backends = runnable_backends();
    for (std::size_t key_length = 0; key_length <= 200; ++key_length) {
        const std::vector<std::uint8_t> key = sha_testing::random_bytes(rng, key_length);
        const std::vector<std::uint8_t> message = sha_testing::random_bytes(rng, rng() % 400);
        const std::string expected = hex_of(openssl_hmac(key, message));
        for (sha256_backend backend : backends) {
            CAPTURE(brine::crypto::to_string(backend));
            CAPTURE(key_length);
            CAPTURE(message.size());
            const std::string in_one_call = hex_of(hmac_sha256::mac(view_of(key), view_of(message), backend));
            CHECK(in_one_call == expected);
            hmac_sha256 incremental(view_of(key), backend);
            sha_testing::update_in_random_pieces(incremental, message, rng, 100);
            const std::string in_pieces = hex_of(incremental.finish());
            CHECK(in_pieces == expected);
            if (in_one_call != expected || in_pieces != expected) return;  // one report is enough
        }
    }
}

TEST_CASE("hmac_sha256: a long message, every backend, against OpenSSL") {
    std::mt19937_64 rng(99);
    const std::vector<std::uint8_t> key = sha_testing::random_bytes(rng, 32);
    const std::vector<std::uint8_t> message = sha_testing::random_bytes(rng, (1 << 20) + 13);
    const sha256_digest expected = openssl_hmac(key, message);
    for (sha256_backend backend : runnable_backends()) {
        CAPTURE(brine::crypto::to_string(backend));
        hmac_sha256 incremental(view_of(key), backend);
        sha_testing::update_in_random_pieces(incremental, message, rng, 70000);
        CHECK(hex_of(incremental.finish()) == hex_of(expected));
    }
}

TEST_CASE("hmac_sha256: finish() returns to the keyed state; copies are independent") {
    std::mt19937_64 rng(5);
    const std::vector<std::uint8_t> key = sha_testing::random_bytes(rng, 77);
    const std::vector<std::uint8_t> first = sha_testing::random_bytes(rng, 100);
    const std::vector<std::uint8_t> second = sha_testing::random_bytes(rng, 3);
    for (sha256_backend backend : runnable_backends()) {
        CAPTURE(brine::crypto::to_string(backend));
        hmac_sha256 authenticator(view_of(key), backend);
        authenticator.update(view_of(first));
        CHECK(hex_of(authenticator.finish()) == hex_of(openssl_hmac(key, first)));
        authenticator.update(view_of(second));
        CHECK(hex_of(authenticator.finish()) == hex_of(openssl_hmac(key, second)));
        CHECK(hex_of(authenticator.finish()) == hex_of(openssl_hmac(key, {})));

        authenticator.update(view_of(first));
        hmac_sha256 copy = authenticator;
        copy.update(view_of(second));
        std::vector<std::uint8_t> both = first;
        both.insert(both.end(), second.begin(), second.end());
        CHECK(hex_of(copy.finish()) == hex_of(openssl_hmac(key, both)));
        CHECK(hex_of(authenticator.finish()) == hex_of(openssl_hmac(key, first)));
    }
}

TEST_CASE("hmac_sha256: keys around the block size; long keys are replaced by their digest") {
    std::mt19937_64 rng(64);
    const std::vector<std::uint8_t> message = sha_testing::random_bytes(rng, 10);
    for (std::size_t key_length : {63, 64, 65}) {
        const std::vector<std::uint8_t> key = sha_testing::random_bytes(rng, key_length);
        CAPTURE(key_length);
        CHECK(hex_of(hmac_sha256::mac(view_of(key), view_of(message))) == hex_of(openssl_hmac(key, message)));
    }
    // A long key and its digest are the same HMAC key (RFC 2104), a short key and its digest not.
    const auto mac_with_digest_of = [&](const std::vector<std::uint8_t>& key) {
        const sha256_digest digest = brine::crypto::sha256::hash(view_of(key));
        return hex_of(hmac_sha256::mac(byte_view(digest.data(), digest.size()), view_of(message)));
    };
    const std::vector<std::uint8_t> long_key = sha_testing::random_bytes(rng, 100);
    CHECK(hex_of(hmac_sha256::mac(view_of(long_key), view_of(message))) == mac_with_digest_of(long_key));
    const std::vector<std::uint8_t> short_key = sha_testing::random_bytes(rng, 20);
    CHECK(hex_of(hmac_sha256::mac(view_of(short_key), view_of(message))) != mac_with_digest_of(short_key));
}

TEST_CASE("constant_time_equal") {
    using brine::crypto::constant_time_equal;
    const std::vector<std::uint8_t> a = {1, 2, 3, 4, 5, 6, 7, 8};
    std::vector<std::uint8_t> b = a;
    CHECK(constant_time_equal(view_of(a), view_of(b)));
    CHECK(constant_time_equal(byte_view(), byte_view()));
    CHECK(constant_time_equal(byte_view(), view_of(a).first(0)));
    CHECK_FALSE(constant_time_equal(view_of(a), view_of(a).first(7)));
    CHECK_FALSE(constant_time_equal(view_of(a).first(7), view_of(a)));
    CHECK_FALSE(constant_time_equal(byte_view(), view_of(a)));
    for (std::size_t i = 0; i < b.size(); ++i) {
        for (int flip : {0x01, 0x80, 0xff}) {
            b = a;
            b[i] = static_cast<std::uint8_t>(b[i] ^ flip);
            CAPTURE(i);
            CHECK_FALSE(constant_time_equal(view_of(a), view_of(b)));
        }
    }
}
