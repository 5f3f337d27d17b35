// Binding a seal to a model and a release (issue 20): the label in the manifest, authenticated;
// pins on the label and the root at verify time; the key check that tells a wrong key from
// tampering; key files others can access refused.
#include <brine/brine.hpp>
#include <doctest/doctest.h>

#include "test_files.hpp"

#include <cstdint>
#include <string>
#include <vector>

#if BRINE_HAS_POSIX_FILES
#include <sys/stat.h>
#endif

using namespace brine;

namespace {

mtd::secret_key binding_key(std::uint8_t seed) {
    mtd::secret_key key;
    for (std::size_t i = 0; i < key.bytes.size(); ++i) key.bytes[i] = static_cast<std::uint8_t>(seed * 17 + 3 * i);
    return key;
}

std::string binding_fixture() { return brine_test::source_path("tests/fixtures/torch/cnn_state_dict.pt").string(); }

mtd::seal_options labelled(const std::string& label) {
    mtd::seal_options o;
    o.permute = "records";
    o.label = label;
    return o;
}

bool names_problem(const mtd::verify_report& r, const std::string& where) {
    for (const auto& p : r.problems)
        if (p.where == where) return true;
    return false;
}

// The manifest of a sealed archive, and the archive rewritten with another manifest text.
std::string manifest_of(const std::string& path) {
    const auto data = brine_test::read_file(path);
    const memory_source source(byte_view(data.data(), data.size()));
    auto archive = zip::reader<memory_source>::open(source);
    REQUIRE(archive);
    auto record = archive->find_record(mtd::manifest_record_name);
    REQUIRE(record);
    std::vector<std::uint8_t> text;
    vector_sink sink(text);
    REQUIRE(archive->extract(**record, sink));
    return std::string(text.begin(), text.end());
}

void replace_manifest(const std::string& from, const std::string& to, const std::string& text) {
    const auto data = brine_test::read_file(from);
    const memory_source source(byte_view(data.data(), data.size()));
    auto archive = zip::reader<memory_source>::open(source);
    REQUIRE(archive);
    auto sink = atomic_file_sink::create(to.c_str());
    REQUIRE(sink);
    zip::writer<atomic_file_sink> out(*sink);
    for (const zip::entry& e : archive->entries()) {
        std::vector<std::uint8_t> content;
        vector_sink into(content);
        REQUIRE(archive->extract(e, into));
        const std::string name(e.name);
        if (name.size() >= mtd::manifest_record_name.size() &&
            name.compare(name.size() - mtd::manifest_record_name.size(), std::string::npos,
                         std::string(mtd::manifest_record_name)) == 0)
            content.assign(text.begin(), text.end());
        REQUIRE(out.add(name, byte_view(content.data(), content.size())));
    }
    REQUIRE(out.finish());
    REQUIRE(sink->commit());
}

}  // namespace

TEST_CASE("label: written in the manifest, parsed back, covered by the tag") {
    mtd::manifest m;
    m.label = "resnet18 v2.1 \xc3\xa9t\xc3\xa9";  // UTF-8 and a space: escaped like every text field
    m.check = {1, 2, 3, 4, 5, 6, 7, 0xfe};
    mtd::digest key{};
    key[3] = 1;
    const std::string text = mtd::write_manifest(m, key);
    CHECK(text.rfind("brine-manifest 2\n", 0) == 0);
    CHECK(text.find("key-check 01020304050607fe\n") != std::string::npos);
    CHECK(text.find("label =resnet18%20v2.1%20%C3%A9t%C3%A9\n") != std::string::npos);
    auto parsed = mtd::parse_manifest(as_bytes(std::string_view(text)));
    REQUIRE(parsed);
    CHECK(parsed->authentic(key));
    CHECK(parsed->content.label == m.label);
    CHECK(parsed->content.check == m.check);
    CHECK(parsed->key_check_offset == text.find("key-check"));

    // Another label, well formed and in canonical spelling: parses, but the tag no longer fits.
    std::string changed = text;
    changed.replace(changed.find("v2.1"), 4, "v2.2");
    auto relabelled = mtd::parse_manifest(as_bytes(std::string_view(changed)));
    REQUIRE(relabelled);
    CHECK_FALSE(relabelled->authentic(key));

    // No label: no line at all.
    m.label.clear();
    CHECK(mtd::write_manifest(m, key).find("label") == std::string::npos);
}

TEST_CASE("label: printable UTF-8 of bounded length, checked on seal and on read with offsets") {
    CHECK(mtd::check_label("model-a/2024-05").expected == nullptr);
    CHECK(mtd::check_label("\xe6\xa8\xa1\xe5\x9e\x8b v1").expected == nullptr);
    CHECK(mtd::check_label("").expected != nullptr);
    CHECK(mtd::check_label("ab\ncd").offset == 2);
    CHECK(mtd::check_label("ab\x1b[2J").offset == 2);
    CHECK(mtd::check_label("abc\x7f").offset == 3);
    CHECK(mtd::check_label("a\xc2\x85").offset == 1);  // U+0085, a C1 control
    CHECK(mtd::check_label("ab\xff").offset == 2);
    CHECK(mtd::check_label("ab\xc3").offset == 2);     // truncated sequence
    CHECK(mtd::check_label(std::string(256, 'x')).expected == nullptr);
    CHECK(mtd::check_label(std::string(257, 'x')).offset == 256);

    // Read: a label the sealer would have refused is a malformed manifest, at the label's line.
    mtd::manifest m;
    m.label = "ok";
    const std::string text = mtd::write_manifest(m, mtd::digest{});
    std::string bad = text;
    bad.replace(bad.find("label =ok"), 9, "label =o%0Ak");
    auto refused = mtd::parse_manifest(as_bytes(std::string_view(bad)));
    REQUIRE_FALSE(refused);
    CHECK(refused.err().code == errc::mtd_bad_manifest);
    CHECK(refused.err().offset == text.find("label"));

    // Seal: invalid_argument at the offset in the label, and no output.
    brine_test::scratch_dir dir("mtd-label-seal");
    const std::string out = (dir / "sealed.pt").string();
    auto sealed = mtd::seal_file(binding_fixture().c_str(), out.c_str(), binding_key(1), labelled("bad\tlabel"));
    REQUIRE_FALSE(sealed);
    CHECK(sealed.err().code == errc::invalid_argument);
    CHECK(sealed.err().offset == 3);
    CHECK_FALSE(brine_test::exists(out));
}

TEST_CASE("version 1 manifests (no key check, no label) are still read") {
    mtd::manifest m;
    m.format_version = 1;
    m.label = "ignored in version 1";
    const std::string text = mtd::write_manifest(m, mtd::digest{});
    CHECK(text.rfind("brine-manifest 1\n", 0) == 0);
    CHECK(text.find("key-check") == std::string::npos);
    CHECK(text.find("label") == std::string::npos);
    auto parsed = mtd::parse_manifest(as_bytes(std::string_view(text)));
    REQUIRE(parsed);
    CHECK(parsed->content.format_version == 1);
    CHECK(parsed->content.label.empty());
    // A version-1 manifest with a version-2 line is refused.
    std::string mixed = text;
    const std::size_t after_salt = mixed.find('\n', mixed.find("salt ")) + 1;
    mixed.insert(after_salt, "key-check 0000000000000000\n");
    CHECK_FALSE(mtd::parse_manifest(as_bytes(std::string_view(mixed))));
}

TEST_CASE("seal --label, verify --expect-label / --expect-root") {
    brine_test::scratch_dir dir("mtd-binding");
    const mtd::secret_key key = binding_key(2);
    const std::string a = (dir / "a.pt").string(), b = (dir / "b.pt").string(), swapped = (dir / "swapped.pt").string();
    auto sealed_a = mtd::seal_file(binding_fixture().c_str(), a.c_str(), key, labelled("cnn release 1"));
    REQUIRE(sealed_a);
    REQUIRE(mtd::seal_file(binding_fixture().c_str(), b.c_str(), key, labelled("cnn release 2")));
    CHECK(sealed_a->summary.manifest_text.find("label =cnn%20release%201\n") != std::string::npos);

    mtd::verify_options pinned;
    pinned.expect_label = std::string("cnn release 1");
    pinned.expect_root = sealed_a->summary.root;

    SUBCASE("the label round trips and both pins pass") {
        auto report = mtd::verify_file(a.c_str(), key, pinned);
        REQUIRE(report);
        CHECK(report->intact());
        CHECK(report->sealed.label == "cnn release 1");
        CHECK(report->sealed.root == sealed_a->summary.root);
    }
    SUBCASE("a replay of another release sealed under the same key: caught by the label pin") {
        mtd::verify_options by_label;
        by_label.expect_label = std::string("cnn release 1");
        auto report = mtd::verify_file(b.c_str(), key, by_label);
        REQUIRE(report);
        CHECK(report->manifest_authentic);
        CHECK_FALSE(report->intact());
        CHECK(names_problem(*report, "label"));
        CHECK(mtd::verify_file(b.c_str(), key).value().intact());  // unpinned, it is a good seal
    }
    SUBCASE("a replay caught by the root pin") {
        mtd::verify_options by_root;
        by_root.expect_root = sealed_a->summary.root;
        auto report = mtd::verify_file(b.c_str(), key, by_root);
        REQUIRE(report);
        CHECK_FALSE(report->intact());
        CHECK(names_problem(*report, "root"));
        CHECK_FALSE(names_problem(*report, "label"));
    }
    SUBCASE("no label at all does not match an expected one") {
        const std::string plain = (dir / "plain.pt").string();
        REQUIRE(mtd::seal_file(binding_fixture().c_str(), plain.c_str(), key, labelled("")));
        mtd::verify_options by_label;
        by_label.expect_label = std::string("cnn release 1");
        auto report = mtd::verify_file(plain.c_str(), key, by_label);
        REQUIRE(report);
        CHECK(names_problem(*report, "label"));
    }
    SUBCASE("restore refuses a seal that is not the expected one") {
        const std::string out = (dir / "restored.pt").string();
        mtd::verify_options by_label;
        by_label.expect_label = std::string("cnn release 1");
        auto refused = mtd::restore_file(b.c_str(), out.c_str(), key, by_label);
        REQUIRE_FALSE(refused);
        CHECK(refused.err().code == errc::mtd_tampered);
        CHECK_FALSE(brine_test::exists(out));
        CHECK(mtd::restore_file(a.c_str(), out.c_str(), key, by_label));
    }
    SUBCASE("the label cannot be changed without the key") {
        std::string text = manifest_of(a);
        text.replace(text.find("release%201"), 11, "release%202");
        replace_manifest(a, swapped, text);
        auto report = mtd::verify_file(swapped.c_str(), key);
        REQUIRE(report);
        CHECK_FALSE(report->manifest_authentic);
        CHECK(names_problem(*report, "manifest"));
    }
}

TEST_CASE("wrong key: mtd_wrong_key, not tampering") {
    brine_test::scratch_dir dir("mtd-wrong-key");
    const std::string sealed = (dir / "sealed.pt").string(), out = (dir / "restored.pt").string();
    const std::string manifest = (dir / "sealed.manifest").string();
    REQUIRE(mtd::seal_file(binding_fixture().c_str(), sealed.c_str(), binding_key(3), labelled("m")));
    const std::string text = manifest_of(sealed);

    auto verified = mtd::verify_file(sealed.c_str(), binding_key(4));
    REQUIRE_FALSE(verified);
    CHECK(verified.err().code == errc::mtd_wrong_key);
    CHECK(verified.err().code != errc::mtd_tampered);
    CHECK(verified.err().offset == text.find("key-check"));

    auto restored = mtd::restore_file(sealed.c_str(), out.c_str(), binding_key(4));
    REQUIRE_FALSE(restored);
    CHECK(restored.err().code == errc::mtd_wrong_key);
    CHECK_FALSE(brine_test::exists(out));

    // The right key with an altered key check (and so a broken tag): reported as a wrong key,
    // which still verifies nothing; with the key check intact, tampering is tampering.
    std::string altered = text;
    const std::size_t check_at = altered.find("key-check ") + 10;
    altered[check_at] = altered[check_at] == '0' ? '1' : '0';
    const std::string forged = (dir / "forged.pt").string();
    replace_manifest(sealed, forged, altered);
    CHECK(mtd::verify_file(forged.c_str(), binding_key(3)).err().code == errc::mtd_wrong_key);
    std::string relabelled = text;
    relabelled.replace(relabelled.find("label =m"), 8, "label =n");
    replace_manifest(sealed, forged, relabelled);
    auto tampered = mtd::verify_file(forged.c_str(), binding_key(3));
    REQUIRE(tampered);
    CHECK_FALSE(tampered->intact());
}

#if BRINE_HAS_POSIX_FILES
TEST_CASE("key files group or others can access are refused (fstat on the open file)") {
    brine_test::scratch_dir dir("mtd-key-mode");
    const std::string path = (dir / "model.key").string();
    REQUIRE(mtd::write_new_key_file(path.c_str(), binding_key(5)));
    auto accepted = mtd::read_key_file(path.c_str());
    REQUIRE(accepted);
    CHECK(accepted->bytes == binding_key(5).bytes);

    for (const unsigned mode : {0644u, 0640u, 0604u, 0620u, 0602u, 0660u}) {
        CAPTURE(mode);
        REQUIRE(::chmod(path.c_str(), mode) == 0);
        auto refused = mtd::read_key_file(path.c_str());
        REQUIRE_FALSE(refused);
        CHECK(refused.err().code == errc::mtd_bad_key);
        CHECK(std::string(refused.err().detail).find("chmod 600") != std::string::npos);
        char expected[16];
        std::snprintf(expected, sizeof expected, "mode %04o", mode);
        CHECK(std::string(refused.err().entry.view()) == expected);
    }
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
    CHECK(mtd::read_key_file(path.c_str()));
    REQUIRE(::chmod(path.c_str(), 0400) == 0);
    CHECK(mtd::read_key_file(path.c_str()));
}
#endif
