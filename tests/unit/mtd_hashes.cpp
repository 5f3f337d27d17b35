// The Hash slot of a seal (mtd/hash.hpp): the requirements, one_of's choice, a user's hash that
// seals, verifies and restores end to end by name, and verifiers that trust a list of hashes
// fixed at compile time (a seal made with another is refused, however authentic).
#include <brine/brine.hpp>
#include <doctest/doctest.h>

#include "mtd_testing.hpp"
#include "test_files.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

using namespace brine;
using bytes = std::vector<std::uint8_t>;

namespace {

using brine_test::test_key;

std::string fixture(const std::string& name) { return brine_test::source_path("tests/fixtures/torch/" + name).string(); }

// A user's hash, written against mtd/hash.hpp alone: SHA-256 of a company label, the digest key
// and the message. It counts the bytes brine gave it.
class acme_sha256 : public mtd::named_hash<acme_sha256> {
public:
    static constexpr std::string_view spelling = "acme_sha256";
    static inline std::uint64_t bytes_hashed = 0;

    void key(const mtd::digest& k) noexcept {
        key_ = k;
        start();
    }
    void update(byte_view bytes) noexcept {
        bytes_hashed += bytes.size();
        state_.update(bytes);
    }
    [[nodiscard]] mtd::digest finish() noexcept {
        const mtd::digest out = state_.finish();
        start();
        return out;
    }

private:
    void start() noexcept {
        state_.update(as_bytes(std::string_view("acme/v1")));
        state_.update(byte_view(key_.data(), key_.size()));
    }
    crypto::sha256 state_;
    mtd::digest key_{};
};

// Everything but finish().
struct no_finish : mtd::named_hash<no_finish> {
    static constexpr std::string_view spelling = "no_finish";
    void key(const mtd::digest&) {}
    void update(byte_view) {}
};

static_assert(mtd::is_hash_v<mtd::hashes::sha256>);
static_assert(mtd::is_hash_v<mtd::hashes::hmac_sha256>);
static_assert(mtd::is_hash_v<mtd::hashes::bundled>);
static_assert(mtd::is_hash_v<acme_sha256>);
static_assert(!mtd::is_hash_v<int>);
static_assert(!mtd::is_hash_v<no_finish>);

mtd::digest sha256_of(std::string_view text) { return crypto::sha256::hash(as_bytes(text)); }

}  // namespace

TEST_CASE("one_of: the first hash until another is selected by name") {
    mtd::hashes::bundled hash;
    CHECK(hash.name() == "hmac_sha256");
    CHECK_FALSE(hash.select("md5"));
    CHECK(hash.name() == "hmac_sha256");  // a failed select changes nothing

    mtd::digest key{};
    key[0] = 7;
    mtd::basic_digester<mtd::hashes::bundled> as_hmac(hash, key);
    as_hmac.update(std::string_view("abc"));
    CHECK(as_hmac.finish() == crypto::hmac_sha256::mac(byte_view(key.data(), key.size()), as_bytes(std::string_view("abc"))));

    REQUIRE(hash.select("sha256"));
    CHECK(hash.name() == "sha256");
    mtd::basic_digester<mtd::hashes::bundled> plain(hash, key);
    plain.update(std::string_view("abc"));
    CHECK(plain.finish() == sha256_of("abc"));
    plain.update(std::string_view("abc"));  // finish() started the next message
    CHECK(plain.finish() == sha256_of("abc"));
}

TEST_CASE("a user's hash: sealed, verified and restored by a verifier and restorer that trust it") {
    brine_test::scratch_dir dir("mtd-user-hash");
    const mtd::secret_key key = test_key(21);
    const std::string in = fixture("mlp_state_dict.pt");
    const std::string clean = (dir / "clean.pt").string(), sealed = (dir / "sealed.pt").string();
    const std::string restored = (dir / "restored.pt").string();
    torch::disarmer disarm;
    auto disarmed = disarm.disarm_file(in.c_str(), clean.c_str());
    REQUIRE(disarmed);

    acme_sha256::bytes_hashed = 0;
    auto done = mtd::seal_file<policy::torch_weights_only, mtd::strategies::records, acme_sha256>(in.c_str(), sealed.c_str(),
                                                                                                  key, {});
    REQUIRE_MESSAGE(done, to_string(done.err().code) << " " << done.err().detail);
    CHECK(acme_sha256::bytes_hashed >= disarmed->storage_bytes);  // every storage byte, and more
    CHECK(done->summary.manifest_text.find("\nhash acme_sha256\n") != std::string::npos);

    // The bundled verifier and restorer do not trust it: refused, nothing written.
    auto untrusted = mtd::verify_file(sealed.c_str(), key);
    REQUIRE_FALSE(untrusted);
    CHECK(untrusted.err().code == errc::mtd_unsupported);
    CHECK(std::string(untrusted.err().entry.view()) == "acme_sha256");
    auto not_restored = mtd::restore_file(sealed.c_str(), restored.c_str(), key);
    REQUIRE_FALSE(not_restored);
    CHECK(not_restored.err().code == errc::mtd_unsupported);
    CHECK_FALSE(brine_test::exists(restored));

    using trusted = mtd::hashes::one_of<mtd::hashes::hmac_sha256, acme_sha256>;
    const mtd::basic_verifier<mtd::strategies::bundled, trusted> verifier(key);
    auto report = verifier.verify(sealed.c_str());
    REQUIRE(report);
    CHECK(report->intact());
    REQUIRE_FALSE(report->sealed.records.empty());

    // The first chunk digest is the user's construction, recomputed here from its definition.
    const mtd::manifest& m = report->sealed;
    const mtd::digest digest_key = mtd::detail::derive(key, m.salt, "digest");
    crypto::sha256 expected;
    expected.update(as_bytes(std::string_view("acme/v1")));
    expected.update(byte_view(digest_key.data(), digest_key.size()));
    expected.update(as_bytes(std::string_view("brine/chunk")));
    const std::uint8_t positions[16] = {};
    expected.update(byte_view(positions, 16));
    {
        const bytes data = brine_test::read_file(sealed);
        const memory_source source(byte_view(data.data(), data.size()));
        auto archive = zip::reader<memory_source>::open(source);
        REQUIRE(archive);
        auto first = archive->find_record(std::string_view(m.records[0].name).substr(m.records[0].name.find('/') + 1));
        REQUIRE(first);
        bytes content;
        vector_sink sink(content);
        REQUIRE(archive->extract(**first, sink));
        REQUIRE(content.size() <= m.chunk_size);
        expected.update(byte_view(content.data(), content.size()));
    }
    CHECK(m.records[0].chunks[0] == expected.finish());

    auto back = mtd::restore_file<policy::torch_weights_only, mtd::strategies::bundled, trusted>(sealed.c_str(),
                                                                                                 restored.c_str(), key);
    REQUIRE_MESSAGE(back, to_string(back.err().code) << " " << back.err().detail);
    CHECK(brine_test::read_file(restored) == brine_test::read_file(clean));

    // A changed storage byte: the trusting verifier names it.
    bytes tampered = brine_test::read_file(sealed);
    tampered[tampered.size() / 2] ^= 0x01;
    const std::string changed = (dir / "changed.pt").string();
    brine_test::write_file(changed, tampered);
    auto tampered_report = verifier.verify(changed.c_str());
    REQUIRE(tampered_report);
    CHECK_FALSE(tampered_report->intact());
}

TEST_CASE("a verifier that trusts only hmac_sha256 refuses a plain sha256 seal") {
    brine_test::scratch_dir dir("mtd-trusted-hashes");
    const mtd::secret_key key = test_key(22);
    const std::string in = fixture("mlp_state_dict.pt");
    const std::string plain = (dir / "plain.pt").string(), keyed = (dir / "keyed.pt").string();
    mtd::seal_options options;
    options.hash = "sha256";
    REQUIRE(mtd::seal_file(in.c_str(), plain.c_str(), key, options));
    REQUIRE(mtd::seal_file(in.c_str(), keyed.c_str(), key, {}));

    const mtd::basic_verifier<mtd::strategies::bundled, mtd::hashes::hmac_sha256> strict(key);
    auto refused = strict.verify(plain.c_str());
    REQUIRE_FALSE(refused);
    CHECK(refused.err().code == errc::mtd_unsupported);
    CHECK(std::string(refused.err().entry.view()) == "sha256");
    auto accepted = strict.verify(keyed.c_str());
    REQUIRE(accepted);
    CHECK(accepted->intact());
    CHECK(accepted->sealed.hash == "hmac_sha256");
    // The bundled verifier takes both.
    CHECK(mtd::verify_file(plain.c_str(), key).value().intact());

    // A verifier that trusts one strategy refuses the others the same way.
    const mtd::basic_verifier<mtd::strategies::chacha20> chacha_only(key);
    auto other = chacha_only.verify(keyed.c_str());
    REQUIRE_FALSE(other);
    CHECK(other.err().code == errc::mtd_unsupported);
    CHECK(std::string(other.err().entry.view()) == "records");
}

TEST_CASE("the hash name is authenticated with the manifest, and a sealer refuses a hash it lacks") {
    brine_test::scratch_dir dir("mtd-hash-name");
    const mtd::secret_key key = test_key(23);
    const std::string in = fixture("mlp_state_dict.pt");
    const std::string sealed = (dir / "sealed.pt").string(), manifest = (dir / "sealed.manifest").string();
    mtd::seal_options options;
    options.hash = "sha256";
    REQUIRE(mtd::seal_file(in.c_str(), sealed.c_str(), key, options, manifest.c_str()));

    // Rewriting the name (to make a verifier use another hash) breaks the tag.
    bytes text = brine_test::read_file(manifest);
    std::string as_text(text.begin(), text.end());
    const std::size_t at = as_text.find("\nhash sha256\n");
    REQUIRE(at != std::string::npos);
    as_text.replace(at, 13, "\nhash hmac_sha256\n");
    brine_test::write_file(manifest, bytes(as_text.begin(), as_text.end()));
    mtd::verify_options detached;
    detached.manifest_path = manifest.c_str();
    auto report = mtd::verify_file(sealed.c_str(), key, detached);
    REQUIRE(report);
    CHECK_FALSE(report->manifest_authentic);
    REQUIRE_FALSE(report->problems.empty());
    CHECK(report->problems.front().where == "manifest");

    mtd::seal_options unknown;
    unknown.hash = "md5";
    const std::string never = (dir / "never.pt").string();
    auto refused = mtd::seal_file(in.c_str(), never.c_str(), key, unknown);
    REQUIRE_FALSE(refused);
    CHECK(refused.err().code == errc::mtd_unsupported);
    CHECK(std::string(refused.err().entry.view()) == "md5");
    CHECK_FALSE(brine_test::exists(never));
}
