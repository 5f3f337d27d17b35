// Unit tests for zip::writer: alignment, CRCs, determinism, refusals, atomic files, ZIP64.
#include <brine/brine.hpp>
#include <doctest/doctest.h>
#include <zlib.h>

#include "test_files.hpp"

#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace brine;
using bytes = std::vector<std::uint8_t>;

namespace {

bytes random_bytes(std::size_t size, std::uint64_t seed) {
    bytes out(size);
    std::mt19937_64 rng(seed);
    for (auto& b : out) b = static_cast<std::uint8_t>(rng());
    return out;
}

std::uint32_t zlib_crc(const bytes& data) {
    return static_cast<std::uint32_t>(::crc32(0L, data.data(), static_cast<uInt>(data.size())));
}

struct sample_entry {
    std::string name;
    bytes data;
};

bytes write_archive(const std::vector<sample_entry>& entries) {
    bytes out;
    vector_sink sink(out);
    zip::writer<vector_sink> archive(sink);
    for (const auto& item : entries) REQUIRE(archive.add(item.name, byte_view(item.data.data(), item.data.size())));
    REQUIRE(archive.finish());
    return out;
}

// A Source of `size` zero bytes, without holding them.
class zero_source {
public:
    explicit zero_source(std::uint64_t size) : remaining_(size) {}
    result<std::size_t> read(std::uint8_t* dst, std::size_t max) noexcept {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(max, remaining_));
        std::memset(dst, 0, n);
        remaining_ -= n;
        return n;
    }

private:
    std::uint64_t remaining_;
};

}  // namespace

TEST_CASE("written archives read back with aligned data and correct CRCs") {
    const std::vector<sample_entry> entries = {
        {"archive/data.pkl", random_bytes(473, 1)},
        {"archive/data/0", random_bytes(512, 2)},
        {"archive/data/1", random_bytes(0, 3)},
        {"archive/data/2", random_bytes(70000, 4)},
        {"archive/version", {'3', '\n'}},
    };
    const bytes archive_bytes = write_archive(entries);
    memory_source source(byte_view(archive_bytes.data(), archive_bytes.size()));
    auto archive = zip::reader<memory_source>::open(source);
    REQUIRE_MESSAGE(archive, to_string(archive.err().code), " ", archive.err().detail);
    REQUIRE(archive->entries().size() == entries.size());
    CHECK(archive->root() == "archive");
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const zip::entry& item = archive->entries()[i];
        CHECK(item.name == entries[i].name);
        CHECK(item.uncompressed_size == entries[i].data.size());
        CHECK(item.crc32 == zlib_crc(entries[i].data));
        CHECK(item.data_offset % 64 == 0);
        CHECK(item.is_stored());
        bytes extracted;
        vector_sink sink(extracted);
        REQUIRE(archive->extract(item, sink));
        CHECK(extracted == entries[i].data);
    }
}

TEST_CASE("an archive streams from reader to writer, entry by entry, in bounded memory") {
    // The source archive holds deflated entries (Python's zipfile), so this exercises
    // inflate -> CRC check -> writer in one pass, as a CDR copy does.
    const bytes original =
        brine_test::read_file(brine_test::source_path("tests/fixtures/zip/benign/python_deflate.zip"));
    memory_source source(byte_view(original.data(), original.size()));
    auto input = zip::reader<memory_source>::open(source);
    REQUIRE(input);
    bool any_deflated = false;
    bytes copy;
    vector_sink sink(copy);
    zip::writer<vector_sink> output(sink);
    for (const zip::entry& item : input->entries()) {
        any_deflated = any_deflated || !item.is_stored();
        REQUIRE(output.open_entry(item.name, item.uncompressed_size));
        REQUIRE(input->extract(item, output));
        REQUIRE(output.close_entry());
    }
    REQUIRE(output.finish());
    CHECK(any_deflated);

    memory_source copy_source(byte_view(copy.data(), copy.size()));
    auto reread = zip::reader<memory_source>::open(copy_source);
    REQUIRE(reread);
    REQUIRE(reread->entries().size() == input->entries().size());
    for (std::size_t i = 0; i < input->entries().size(); ++i) {
        const zip::entry& before = input->entries()[i];
        const zip::entry& after = reread->entries()[i];
        CHECK(after.name == before.name);
        CHECK(after.crc32 == before.crc32);
        CHECK(after.uncompressed_size == before.uncompressed_size);
        CHECK(after.is_stored());
    }
}

TEST_CASE("the writer's entry protocol is enforced") {
    bytes out;
    vector_sink sink(out);
    zip::writer<vector_sink> archive(sink);
    CHECK_FALSE(archive.write(as_bytes("no entry is open")));
    bytes out2;
    vector_sink sink2(out2);
    zip::writer<vector_sink> second(sink2);
    REQUIRE(second.open_entry("m/a", 3));
    CHECK(second.write(as_bytes("ab")));
    CHECK_FALSE(second.finish());  // the entry is still open
    bytes out3;
    vector_sink sink3(out3);
    zip::writer<vector_sink> third(sink3);
    REQUIRE(third.open_entry("m/a", 3));
    CHECK(third.write(as_bytes("ab")));
    const status short_entry = third.close_entry();
    REQUIRE_FALSE(short_entry);
    CHECK(short_entry.err().code == errc::io_read_failed);
}

TEST_CASE("the writer is deterministic") {
    const std::vector<sample_entry> entries = {{"m/a", random_bytes(1000, 5)}, {"m/b", random_bytes(3, 6)}};
    CHECK(write_archive(entries) == write_archive(entries));
}

TEST_CASE("the writer refuses names the reader would refuse") {
    bytes out;
    vector_sink sink(out);
    zip::writer<vector_sink> archive(sink);
    const std::uint8_t byte = 1;
    CHECK(archive.add("m/x", byte_view(&byte, 1)));
    const status duplicate = archive.add("M/X", byte_view(&byte, 1));
    REQUIRE_FALSE(duplicate);
    CHECK(duplicate.err().code == errc::zip_duplicate_name);
    for (const char* bad : {"../x", "/abs", "m\\x", "m/../x", "m//x", "m/./x", "c:x"}) {
        const status refused = archive.add(bad, byte_view(&byte, 1));
        REQUIRE_FALSE(refused);
        CHECK(refused.err().code == errc::zip_bad_name);
    }
}

TEST_CASE("a source that disagrees with the declared size fails the entry") {
    bytes out;
    vector_sink sink(out);
    zip::writer<vector_sink> archive(sink);
    zero_source short_source(10);
    const status too_short = archive.add("m/short", 11, short_source);
    REQUIRE_FALSE(too_short);
    CHECK(too_short.err().code == errc::io_read_failed);
    // After a failure the writer refuses to go on: its output would be inconsistent.
    const std::uint8_t byte = 1;
    CHECK_FALSE(archive.add("m/next", byte_view(&byte, 1)));

    bytes out2;
    vector_sink sink2(out2);
    zip::writer<vector_sink> archive2(sink2);
    zero_source long_source(12);
    const status too_long = archive2.add("m/long", 11, long_source);
    REQUIRE_FALSE(too_long);
    CHECK(too_long.err().code == errc::invalid_argument);
}

#if BRINE_HAS_POSIX_FILES
TEST_CASE("ZIP64: a sparse archive with an entry over 4 GiB round-trips") {
    brine_test::scratch_dir dir("zip64");
    const std::string target = (dir / "big.pt").string();
    const std::uint64_t big = (std::uint64_t{1} << 32) + 4096 + 17;  // past 4 GiB, not block-aligned
    const bytes tail = random_bytes(1000, 7);
    {
        auto sink = atomic_file_sink::create(target.c_str(), /*sparse=*/true);
        REQUIRE(sink);
        zip::writer<atomic_file_sink> archive(*sink);
        const std::uint8_t small[] = {'1', '\n'};
        REQUIRE(archive.add("big/version", byte_view(small, 2)));
        zero_source zeros(big);
        REQUIRE(archive.add("big/data/0", big, zeros));
        // This entry's local header lies past 4 GiB: its offset needs ZIP64 in the central header.
        REQUIRE(archive.add("big/data/1", byte_view(tail.data(), tail.size())));
        REQUIRE(archive.finish());
        REQUIRE(sink->commit());
    }
    auto file = file_source::open(target.c_str());
    REQUIRE(file);
    CHECK(file->size() > big);
    auto archive = zip::reader<file_source>::open(*file);
    REQUIRE_MESSAGE(archive, to_string(archive.err().code), " ", archive.err().detail);
    REQUIRE(archive->entries().size() == 3);
    const zip::entry& zeros_entry = archive->entries()[1];
    CHECK(zeros_entry.uncompressed_size == big);
    CHECK(zeros_entry.data_offset % 64 == 0);
    const zip::entry& last = archive->entries()[2];
    CHECK(last.local_header_offset > 0xFFFFFFFFull);
    CHECK(last.data_offset % 64 == 0);

    // The CRC of 4 GiB of zeros, from zlib in pieces (zlib's length argument is 32-bit).
    uLong expected = ::crc32(0L, Z_NULL, 0);
    {
        const bytes chunk(1 << 20, 0);
        std::uint64_t left = big;
        while (left) {
            const auto n = static_cast<uInt>(std::min<std::uint64_t>(left, chunk.size()));
            expected = ::crc32(expected, chunk.data(), n);
            left -= n;
        }
    }
    CHECK(zeros_entry.crc32 == static_cast<std::uint32_t>(expected));
    // (Reading the 4 GiB back would only make the kernel fill the holes with zero pages; the
    // entry past the 4 GiB mark below exercises the ZIP64 offsets on the read side.)

    bytes extracted;
    vector_sink sink(extracted);
    REQUIRE(archive->extract(last, sink));
    CHECK(extracted == tail);
}
#endif
