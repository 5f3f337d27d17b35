// Every byte of a sealed archive accounted for (issue 20): each place in a zip that no digest
// covers (comments, extra fields, directories, empty records, compression, data descriptors,
// timestamps, the central directory's order, a manifest record beside a detached manifest) is
// reported with the entry and offset, while the untouched sealed file verifies intact.
//
// The mutated archives come from a small zip builder below that writes brine's layout by default
// (checked: with no change it reproduces the sealed file byte for byte), with one knob per change,
// so each archive is valid (CRCs and sizes right) and differs from the seal in one way only.
#include <brine/brine.hpp>
#include <doctest/doctest.h>
#include <zlib.h>

#include "test_files.hpp"
#include "zlib_testing.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

using namespace brine;
using bytes = std::vector<std::uint8_t>;

namespace {

mtd::secret_key layout_key() {
    mtd::secret_key key;
    for (std::size_t i = 0; i < key.bytes.size(); ++i) key.bytes[i] = static_cast<std::uint8_t>(7 * i + 3);
    return key;
}

struct zentry {
    std::string name;
    bytes data;
    std::uint16_t method = 0;
    std::uint16_t flags = 0;
    std::uint16_t time = 0;
    std::uint16_t date = (1u << 5) | 1u;  // 1980-01-01, as brine writes
    bytes local_extra;                    // before the alignment field
    bytes central_extra;
    std::string comment;
    bool descriptor = false;
    std::uint32_t external = 0;
};

void put16(bytes& out, std::uint32_t v) {
    out.push_back(static_cast<std::uint8_t>(v));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
}
void put32(bytes& out, std::uint32_t v) {
    put16(out, v & 0xFFFF);
    put16(out, v >> 16);
}
void put(bytes& out, const std::string& s) { out.insert(out.end(), s.begin(), s.end()); }
void put(bytes& out, const bytes& b) { out.insert(out.end(), b.begin(), b.end()); }

bytes deflated(const bytes& data) { return brine_test::zlib_deflate(data, 9); }

std::uint32_t crc_of(const bytes& data) {
    return static_cast<std::uint32_t>(crc32(0, data.data(), static_cast<uInt>(data.size())));
}

// A stored-or-deflated zip in brine's layout (no ZIP64: the fixtures are small). `central_order`
// lists entry indices for the central directory (default: file order).
bytes build(const std::vector<zentry>& entries, const std::string& archive_comment = "",
            std::vector<std::size_t> central_order = {}) {
    bytes out;
    std::vector<std::uint32_t> offsets;
    for (const zentry& e : entries) {
        offsets.push_back(static_cast<std::uint32_t>(out.size()));
        const bytes stored = e.method == 8 ? deflated(e.data) : e.data;
        const std::size_t unpadded = out.size() + 30 + e.name.size() + e.local_extra.size() + 4;
        const std::size_t padding = (64 - unpadded % 64) % 64;
        put32(out, 0x04034b50), put16(out, 20), put16(out, e.flags), put16(out, e.method), put16(out, e.time);
        put16(out, e.date), put32(out, crc_of(e.data)), put32(out, static_cast<std::uint32_t>(stored.size()));
        put32(out, static_cast<std::uint32_t>(e.data.size())), put16(out, static_cast<std::uint32_t>(e.name.size()));
        put16(out, static_cast<std::uint32_t>(e.local_extra.size() + 4 + padding));
        put(out, e.name), put(out, e.local_extra);
        put16(out, 0x4246), put16(out, static_cast<std::uint32_t>(padding)), put(out, std::string(padding, 'Z'));
        put(out, stored);
        if (e.descriptor) {
            put32(out, 0x08074b50), put32(out, crc_of(e.data)), put32(out, static_cast<std::uint32_t>(stored.size()));
            put32(out, static_cast<std::uint32_t>(e.data.size()));
        }
    }
    if (central_order.empty())
        for (std::size_t i = 0; i < entries.size(); ++i) central_order.push_back(i);
    const std::size_t directory = out.size();
    for (const std::size_t i : central_order) {
        const zentry& e = entries[i];
        const std::size_t stored = e.method == 8 ? deflated(e.data).size() : e.data.size();
        put32(out, 0x02014b50), put16(out, 45), put16(out, 20), put16(out, e.flags), put16(out, e.method);
        put16(out, e.time), put16(out, e.date), put32(out, crc_of(e.data)), put32(out, static_cast<std::uint32_t>(stored));
        put32(out, static_cast<std::uint32_t>(e.data.size())), put16(out, static_cast<std::uint32_t>(e.name.size()));
        put16(out, static_cast<std::uint32_t>(e.central_extra.size()));
        put16(out, static_cast<std::uint32_t>(e.comment.size())), put16(out, 0), put16(out, 0);
        put32(out, e.external), put32(out, offsets[i]);
        put(out, e.name), put(out, e.central_extra), put(out, e.comment);
    }
    const std::size_t directory_size = out.size() - directory;
    put32(out, 0x06054b50), put16(out, 0), put16(out, 0);
    put16(out, static_cast<std::uint32_t>(entries.size())), put16(out, static_cast<std::uint32_t>(entries.size()));
    put32(out, static_cast<std::uint32_t>(directory_size)), put32(out, static_cast<std::uint32_t>(directory));
    put16(out, static_cast<std::uint32_t>(archive_comment.size())), put(out, archive_comment);
    return out;
}

// The entries of an archive, in file order.
std::vector<zentry> entries_of(const bytes& file) {
    const memory_source source(byte_view(file.data(), file.size()));
    auto archive = zip::reader<memory_source>::open(source);
    REQUIRE(archive);
    std::vector<const zip::entry*> sorted;
    for (const zip::entry& e : archive->entries()) sorted.push_back(&e);
    std::sort(sorted.begin(), sorted.end(),
              [](const zip::entry* a, const zip::entry* b) { return a->local_header_offset < b->local_header_offset; });
    std::vector<zentry> out;
    for (const zip::entry* e : sorted) {
        zentry z;
        z.name = std::string(e->name);
        vector_sink sink(z.data);
        REQUIRE(archive->extract(*e, sink));
        out.push_back(std::move(z));
    }
    return out;
}

std::size_t first_difference(const bytes& a, const bytes& b) {
    const auto at = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
    return static_cast<std::size_t>(at.first - a.begin());
}

std::string problems_text(const mtd::verify_report& r) {
    std::string text;
    for (const auto& p : r.problems) text += p.where + ": " + p.what + "\n";
    return text;
}

struct sealed_fixture {
    brine_test::scratch_dir dir{"mtd-layout"};
    std::string sealed = (dir / "sealed.pt").string();
    std::string tampered = (dir / "tampered.pt").string();
    std::string manifest = (dir / "sealed.manifest").string();
    bytes original;

    explicit sealed_fixture(bool detached) {
        const std::string in = brine_test::source_path("tests/fixtures/torch/mlp_state_dict.pt").string();
        mtd::seal_options options;
        options.permute = "records";
        REQUIRE(mtd::seal_file(in.c_str(), sealed.c_str(), layout_key(), options, detached ? manifest.c_str() : nullptr));
        original = brine_test::read_file(sealed);
    }
    const char* manifest_path(bool detached) const { return detached ? manifest.c_str() : nullptr; }

    mtd::verify_report verify(const std::string& path, bool detached = false) const {
        mtd::verify_options options;
        options.manifest_path = manifest_path(detached);
        auto report = mtd::verify_file(path.c_str(), layout_key(), options);
        REQUIRE_MESSAGE(report, to_string(report.err().code));
        return *report;
    }

    // Writes `changed`, verifies it: a problem at `where` naming the first byte that differs
    // from the seal.
    void check_reported(const bytes& changed, const std::string& where, bool detached = false) const {
        REQUIRE(changed != original);
        brine_test::write_file(tampered, changed);
        const auto report = verify(tampered, detached);
        CHECK_FALSE(report.intact());
        const std::string offset = "offset " + std::to_string(first_difference(original, changed));
        bool found = false;
        for (const auto& p : report.problems) found = found || (p.where == where && p.what.find(offset) != std::string::npos);
        CHECK_MESSAGE(found, "expected " << where << " with " << offset << "\n" << problems_text(report));
    }
};

}  // namespace

TEST_CASE("layout: the builder reproduces a sealed file, which verifies intact") {
    for (const bool detached : {false, true}) {
        const sealed_fixture f(detached);
        CHECK(build(entries_of(f.original)) == f.original);
        const auto report = f.verify(f.sealed, detached);
        CHECK_MESSAGE(report.intact(), problems_text(report));
    }
}

TEST_CASE("layout: every byte no digest covers is reported with its entry and offset") {
    const sealed_fixture f(false);
    const std::vector<zentry> base = entries_of(f.original);
    REQUIRE(base.size() > 4);
    const std::string second = "record " + base[1].name;

    SUBCASE("an archive comment (53 KB)") { f.check_reported(build(base, std::string(53000, 'c')), "file"); }
    SUBCASE("an entry comment") {
        auto e = base;
        e[1].comment = "payload";
        f.check_reported(build(e), second);
    }
    SUBCASE("an extra field added to a local header") {
        auto e = base;
        e[1].local_extra = {0xFE, 0xCA, 4, 0, 'p', 'a', 'y', 'l'};
        f.check_reported(build(e), second);
    }
    SUBCASE("an extra field added to a central header") {
        auto e = base;
        e[1].central_extra = {0xFE, 0xCA, 4, 0, 'p', 'a', 'y', 'l'};
        f.check_reported(build(e), second);
    }
    SUBCASE("an added directory entry, empty") {
        auto e = base;
        zentry d;
        d.name = "archive/hidden/";
        d.external = 0x10;
        e.insert(e.begin() + 2, d);
        f.check_reported(build(e), "record archive/hidden/");
    }
    SUBCASE("an added directory entry holding data: the archive itself is refused, at the entry") {
        auto e = base;
        zentry d;
        d.name = "archive/hidden/";
        d.data = bytes(100, 'x');
        e.insert(e.begin() + 2, d);
        brine_test::write_file(f.tampered, build(e));
        const auto report = f.verify(f.tampered);
        CHECK_FALSE(report.intact());
        bool found = false;
        for (const auto& p : report.problems)
            found = found || (p.where == "file" && p.what.find("archive/hidden/") != std::string::npos &&
                              p.what.find("offset") != std::string::npos);
        CHECK_MESSAGE(found, problems_text(report));
    }
    SUBCASE("an added empty record") {
        auto e = base;
        zentry empty;
        empty.name = "archive/data/empty";
        e.insert(e.end() - 1, empty);
        f.check_reported(build(e), "record archive/data/empty");
    }
    SUBCASE("every record switched to deflate (digests of the inflated bytes still match)") {
        auto e = base;
        for (zentry& z : e) z.method = 8;
        f.check_reported(build(e), "record " + base[0].name);
    }
    SUBCASE("one record switched to deflate") {
        auto e = base;
        e[2].method = 8;
        f.check_reported(build(e), "record " + base[2].name);
    }
    SUBCASE("a data descriptor") {
        auto e = base;
        e[1].flags = 0x0008;
        e[1].descriptor = true;
        f.check_reported(build(e), second);
    }
    SUBCASE("changed timestamps") {
        auto e = base;
        for (zentry& z : e) z.time = 0x6000, z.date = 0x5821;
        f.check_reported(build(e), "record " + base[0].name);
    }
    SUBCASE("the central directory in another order than the entries") {
        std::vector<std::size_t> order;
        for (std::size_t i = 0; i < base.size(); ++i) order.push_back(i);
        std::swap(order[1], order[2]);
        f.check_reported(build(base, "", order), "record " + base[2].name);
    }
    SUBCASE("entries reordered") {
        auto e = base;
        std::swap(e[2], e[3]);
        f.check_reported(build(e), "record " + e[2].name);
    }
    SUBCASE("bytes appended after the end record") {
        bytes changed = f.original;
        changed.insert(changed.end(), {'p', 'a', 'y'});
        // The reader refuses trailing bytes itself, or the layout check reports them.
        brine_test::write_file(f.tampered, changed);
        CHECK_FALSE(f.verify(f.tampered).intact());
    }
}

TEST_CASE("layout: a manifest record inside a file verified with a detached manifest") {
    const sealed_fixture f(true);
    auto e = entries_of(f.original);
    zentry injected;
    injected.name = "archive/.brine/manifest";
    injected.data = brine_test::read_file(f.manifest);
    e.push_back(injected);
    f.check_reported(build(e), "record archive/.brine/manifest", true);
    const auto report = f.verify(f.tampered, true);
    bool named = false;
    for (const auto& p : report.problems) named = named || p.what.find("detached manifest") != std::string::npos;
    CHECK_MESSAGE(named, problems_text(report));
}
