// Unit tests for files: file_source (sequential and positional reads), mapped_file, and
// atomic_file_sink (complete output or none).
#include <brine/brine.hpp>
#include <doctest/doctest.h>

#include "test_files.hpp"

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

using namespace brine;

#if BRINE_HAS_POSIX_FILES
namespace {
void write_text(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}
}  // namespace

TEST_CASE("file_source reads sequentially and at offsets, and refuses what is not a file") {
    brine_test::scratch_dir dir("file");
    write_text(dir / "f.bin", "0123456789");
    auto file = file_source::open((dir / "f.bin").string().c_str());
    REQUIRE(file);
    CHECK(file->size() == 10);
    std::uint8_t buffer[8] = {};
    REQUIRE(file->read_at(3, buffer, 4));
    CHECK(std::string(buffer, buffer + 4) == "3456");
    const status past_end = file->read_at(8, buffer, 4);
    REQUIRE_FALSE(past_end);
    CHECK(past_end.err().code == errc::io_read_failed);
    CHECK(past_end.err().offset == 10);

    auto first = file->read(buffer, 8);
    REQUIRE(first);
    CHECK(*first == 8);
    auto rest = file->read(buffer, 8);
    REQUIRE(rest);
    CHECK(*rest == 2);
    CHECK(*file->read(buffer, 8) == 0);

    auto missing = file_source::open((dir / "missing").string().c_str());
    REQUIRE_FALSE(missing);
    CHECK(missing.err().code == errc::io_open_failed);
    auto directory = file_source::open(dir.path().string().c_str());
    REQUIRE_FALSE(directory);
    CHECK(std::string(directory.err().detail) == "a regular file");
    static_assert(is_random_access_source_v<file_source>);
    static_assert(is_source_v<file_source>);
}

TEST_CASE("mapped_file gives the file's bytes without copying, empty files included") {
    brine_test::scratch_dir dir("mmap");
    write_text(dir / "f.bin", "mapped bytes");
    auto mapped = mapped_file::open((dir / "f.bin").string().c_str());
    REQUIRE(mapped);
    CHECK(std::string(mapped->bytes().begin(), mapped->bytes().end()) == "mapped bytes");
    std::uint8_t word[5];
    REQUIRE(mapped->read_at(7, word, 5));
    CHECK(std::string(word, word + 5) == "bytes");
    CHECK_FALSE(mapped->read_at(8, word, 5));

    write_text(dir / "empty", "");
    auto empty = mapped_file::open((dir / "empty").string().c_str());
    REQUIRE(empty);
    CHECK(empty->size() == 0);
    CHECK(empty->bytes().empty());
    static_assert(is_random_access_source_v<mapped_file>);
}

TEST_CASE("hybrid_file_source reads small ranges from its mapping and large ones with pread, alike") {
    brine_test::scratch_dir dir("hybrid");
    std::string content(200000, '\0');
    for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>((i * 2654435761u) >> 13);
    write_text(dir / "f.bin", content);
    auto file = hybrid_file_source::open((dir / "f.bin").string().c_str());
    REQUIRE(file);
    CHECK(file->size() == content.size());
    CHECK(file->mapping().size() == content.size());
    for (const std::size_t count : {std::size_t{30}, std::size_t{4096}, std::size_t{4097}, std::size_t{150000}}) {
        std::vector<std::uint8_t> got(count);
        REQUIRE(file->read_at(1234, got.data(), count));
        CHECK(std::equal(got.begin(), got.end(), content.begin() + 1234,
                         [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); }));
        CHECK_FALSE(file->read_at(content.size() - count + 1, got.data(), count));  // one past the end
    }
    // Copies take the buffered pread path: no resident pages of the mapping.
    static_assert(!has_contiguous_bytes_v<hybrid_file_source>);
    static_assert(is_random_access_source_v<hybrid_file_source>);
    CHECK_FALSE(hybrid_file_source::open((dir / "missing").string().c_str()));
}

TEST_CASE("atomic_file_sink: the file appears complete on commit, and not at all otherwise") {
    brine_test::scratch_dir dir("atomic");
    const std::string target = (dir / "out.pt").string();
    {
        auto sink = atomic_file_sink::create(target.c_str());
        REQUIRE(sink);
        REQUIRE(sink->write(as_bytes("partial")));
        // Dropped without commit: as if an error happened half-way.
    }
    CHECK_FALSE(std::filesystem::exists(target));
    CHECK(std::filesystem::is_empty(dir.path()));
    {
        auto sink = atomic_file_sink::create(target.c_str());
        REQUIRE(sink);
        REQUIRE(sink->write(as_bytes("hello world")));
        REQUIRE(sink->write_at(0, as_bytes("J")));
        REQUIRE(sink->commit());
    }
    const auto content = brine_test::read_file(target);
    CHECK(std::string(content.begin(), content.end()) == "Jello world");
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()) == 1);

    // Replacing an existing file is atomic too: the old content stays until the commit.
    {
        auto sink = atomic_file_sink::create(target.c_str());
        REQUIRE(sink);
        REQUIRE(sink->write(as_bytes("new")));
        const auto before = brine_test::read_file(target);
        CHECK(std::string(before.begin(), before.end()) == "Jello world");
        REQUIRE(sink->commit());
    }
    const auto replaced = brine_test::read_file(target);
    CHECK(std::string(replaced.begin(), replaced.end()) == "new");

    auto nowhere = atomic_file_sink::create((dir / "missing-dir/out.pt").string().c_str());
    REQUIRE_FALSE(nowhere);
    CHECK(nowhere.err().code == errc::io_open_failed);
}

TEST_CASE("remove_unfinished_outputs removes the temporaries of outputs being written, and only those") {
    brine_test::scratch_dir dir("unfinished");
    const std::string done_path = (dir / "done.pt").string();
    {
        auto done = atomic_file_sink::create(done_path.c_str());
        REQUIRE(done);
        REQUIRE(done->write(as_bytes("kept")));
        REQUIRE(done->commit());
    }
    auto first = atomic_file_sink::create((dir / "a.pt").string().c_str());
    auto second = atomic_file_sink::create((dir / "b.pt").string().c_str());
    REQUIRE(first);
    REQUIRE(second);
    REQUIRE(first->write(as_bytes("partial")));
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()) == 3);
    // What a fatal path (out of memory, SIGINT) calls before _exit: both temporaries go, the
    // committed file stays.
    remove_unfinished_outputs();
    std::vector<std::string> left;
    for (const auto& item : std::filesystem::directory_iterator(dir.path())) left.push_back(item.path().filename().string());
    CHECK(left == std::vector<std::string>{"done.pt"});

    // Slots are given back: many more sinks than slots come and go, and a later one is still
    // removed by the fatal path.
    for (int i = 0; i < 40; ++i) {
        auto sink = atomic_file_sink::create((dir / "loop.pt").string().c_str());
        REQUIRE(sink);
    }
    auto third = atomic_file_sink::create((dir / "c.pt").string().c_str());
    REQUIRE(third);
    remove_unfinished_outputs();
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("atomic_file_sink: sparse output reads back the same bytes") {
    brine_test::scratch_dir dir("sparse");
    const std::string target = (dir / "sparse.bin").string();
    std::vector<std::uint8_t> data(64 * 1024, 0);
    data[5000] = 7;
    data[64 * 1024 - 1] = 9;
    {
        auto sink = atomic_file_sink::create(target.c_str(), /*sparse=*/true);
        REQUIRE(sink);
        REQUIRE(sink->write(byte_view(data.data(), data.size())));
        const std::vector<std::uint8_t> zeros(8192, 0);
        REQUIRE(sink->write(byte_view(zeros.data(), zeros.size())));  // trailing zeros: a hole at the end
        REQUIRE(sink->commit());
    }
    auto content = brine_test::read_file(target);
    REQUIRE(content.size() == data.size() + 8192);
    CHECK(std::equal(data.begin(), data.end(), content.begin()));
    CHECK(std::all_of(content.begin() + static_cast<std::ptrdiff_t>(data.size()), content.end(),
                      [](std::uint8_t b) { return b == 0; }));
}
#endif
