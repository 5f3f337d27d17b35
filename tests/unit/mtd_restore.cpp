// Restore from what was verified (issue 20): verify and rebuild read one open file, and bytes
// that change under it between the two passes (a writer with the same file open) never reach
// the output. A source stands in for the file: it flips one byte once that byte has been read a
// given number of times, the way an in-place writer would between the passes.
#include <brine/brine.hpp>
#include <doctest/doctest.h>

#include "mtd_testing.hpp"

#include "test_files.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace brine;
using bytes = std::vector<std::uint8_t>;

namespace {

using brine_test::test_key;

// Five bytes whose XOR leaves a CRC-32 unchanged wherever they are applied (the polynomial
// x^32 + ... + 1 in the bit order of zlib's reflected CRC): a change the archive cannot see.
constexpr std::uint8_t crc_neutral[5] = {0x41, 0x06, 0x71, 0xdb, 0x01};
constexpr std::uint8_t one_bit[1] = {0x01};

// A file in memory whose bytes at `at` are XORed with `change` after the `after`-th read that
// covers `at` (after = 0: after the very first read of anything, while the file is first read).
class changing_source {
public:
    template <std::size_t N>
    changing_source(bytes data, std::uint64_t at, unsigned after, const std::uint8_t (&change)[N])
        : data_(std::move(data)), at_(at), after_(after), change_(change, change + N) {}
    changing_source(bytes data, std::uint64_t at, unsigned after) : changing_source(std::move(data), at, after, one_bit) {}

    [[nodiscard]] std::uint64_t size() const noexcept { return data_.size(); }
    [[nodiscard]] status read_at(std::uint64_t offset, std::uint8_t* dst, std::size_t count) const noexcept {
        if (offset > data_.size() || count > data_.size() - offset)
            return error{errc::io_read_failed, offset, "a byte range inside the input"};
        std::memcpy(dst, data_.data() + offset, count);
        const bool covers = offset <= at_ && at_ - offset < count;
        if (after_ == 0 || covers) ++reads_;
        if (!flipped_ && at_ + change_.size() <= data_.size() && reads_ >= (after_ == 0 ? 1 : after_)) {
            for (std::size_t i = 0; i < change_.size(); ++i) data_[static_cast<std::size_t>(at_) + i] ^= change_[i];
            flipped_ = true;
        }
        return {};
    }
    [[nodiscard]] bool flipped() const noexcept { return flipped_; }

private:
    mutable bytes data_;
    std::uint64_t at_;
    unsigned after_;
    std::vector<std::uint8_t> change_;
    mutable unsigned reads_ = 0;
    mutable bool flipped_ = false;
};

struct offsets {
    std::uint64_t pickle = 0;         // a byte inside data.pkl (a character of a tensor's name)
    std::uint64_t storage_first = 0;  // the first and last bytes of the largest storage record
                                      // left in the file (the rest is copied to memory first)
    std::uint64_t storage_last = 0;
};

offsets offsets_of(const bytes& file) {
    const memory_source source(byte_view(file.data(), file.size()));
    auto archive = zip::reader<memory_source>::open(source);
    REQUIRE(archive);
    offsets out;
    std::uint64_t largest = 0;
    for (const zip::entry& e : archive->entries()) {
        REQUIRE(e.method == 0);  // stored: a byte of the file is a byte of the record
        if (e.name.size() >= 8 && e.name.substr(e.name.size() - 8) == "data.pkl") {
            const std::string_view text(reinterpret_cast<const char*>(file.data() + e.data_offset),
                                        static_cast<std::size_t>(e.compressed_size));
            const std::size_t name = text.find("weight");
            REQUIRE(name != std::string_view::npos);
            out.pickle = e.data_offset + name + 1;
        } else if (e.name.find("/data/") != std::string_view::npos && e.compressed_size > largest &&
                   e.data_offset + e.compressed_size + (65535 + 22) < file.size()) {
            // Before the file's last 64 KiB, which the restore pins with the end record.
            largest = e.compressed_size;
            out.storage_first = e.data_offset;
            out.storage_last = e.data_offset + e.compressed_size - 1;
        }
    }
    REQUIRE(out.pickle != 0);
    REQUIRE(largest > 4096);  // spans chunks: the last one is checked on its own
    return out;
}

mtd::seal_options with(mtd::permutation p) {
    mtd::seal_options o;
    o.permute = mtd::to_string(p);
    o.chunk_size = 4096;
    return o;
}

// Restores `source` into `out_path` through an atomic sink committed only on success.
result<torch::report> restore_to(const changing_source& source, const std::string& out_path, const mtd::secret_key& key) {
    auto sink = atomic_file_sink::create(out_path.c_str());
    REQUIRE(sink);
    auto done = mtd::restore(source, *sink, key);
    if (done) REQUIRE(sink->commit());
    return done;
}

// A restore from `changing` must fail as tampered and leave no file at `out_path`.
void check_tampered(const changing_source& changing, const std::string& out_path, const mtd::secret_key& key) {
    std::remove(out_path.c_str());
    auto done = restore_to(changing, out_path, key);
    CHECK(changing.flipped());
    REQUIRE_FALSE(done);
    CHECK_MESSAGE(done.err().code == errc::mtd_tampered, to_string(done.err().code) << " " << done.err().detail);
    CHECK_FALSE(brine_test::exists(out_path));
}

}  // namespace

TEST_CASE("restore: bytes that change between verify and rebuild never reach the output") {
    brine_test::scratch_dir dir("mtd-restore-race");
    const mtd::secret_key key = test_key(3);
    const std::string in = brine_test::source_path("tests/fixtures/torch/benign/vit_tiny_state_dict.pth").string();
    for (const mtd::permutation p : {mtd::permutation::records, mtd::permutation::none, mtd::permutation::elements}) {
        CAPTURE(mtd::to_string(p));
        const std::string sealed = (dir / "sealed.pt").string();
        const std::string expected_path = (dir / "expected.pt").string();
        const std::string out = (dir / "restored.pt").string();
        std::remove(sealed.c_str());
        REQUIRE(mtd::seal_file(in.c_str(), sealed.c_str(), key, with(p)));
        auto clean = mtd::restore_file(sealed.c_str(), expected_path.c_str(), key);
        REQUIRE_MESSAGE(clean, to_string(clean.err().code) << " at " << clean.err().offset << " " << clean.err().detail
                                                           << " " << clean.err().entry.view());
        const bytes file = brine_test::read_file(sealed);
        const bytes expected = brine_test::read_file(expected_path);
        const offsets at = offsets_of(file);

        SUBCASE("the untouched source restores to the bytes restore_file writes") {
            const changing_source same(file, file.size(), 1);  // a byte past the end: never flips
            auto done = restore_to(same, out, key);
            REQUIRE_MESSAGE(done, to_string(done.err().code) << " " << done.err().detail);
            CHECK(brine_test::read_file(out) == expected);
        }

        // A storage byte read intact by verify, then changed before the rebuild reads it.
        for (const std::uint64_t storage_byte : {at.storage_first, at.storage_last}) {
            CAPTURE(storage_byte);
            check_tampered(changing_source(file, storage_byte, 1), out, key);
        }

        // The same with a change the CRC-32 cannot see: only the seal's digests catch it.
        {
            check_tampered(changing_source(file, at.storage_first + 8, 1, crc_neutral), out, key);
        }

        SUBCASE("data.pkl changed after it was read once: the rebuild evaluates the bytes verified") {
            const changing_source changing(file, at.pickle, 1);
            auto done = restore_to(changing, out, key);
            CHECK(changing.flipped());
            REQUIRE_MESSAGE(done, to_string(done.err().code) << " " << done.err().detail);
            CHECK(brine_test::read_file(out) == expected);
        }

        SUBCASE("data.pkl changed while the file is first read: tampered, nothing written") {
            check_tampered(changing_source(file, at.pickle, 0), out, key);
        }
    }
}

TEST_CASE("restore: a raw pickle is verified and rebuilt from one pinned copy") {
    brine_test::scratch_dir dir("mtd-restore-pickle");
    const mtd::secret_key key = test_key(4);
    // A plain pickle of numbers (a raw pickle seals with a detached manifest).
    const bytes pickled = {0x80, 0x02, 0x5d, 0x71, 0x00, 0x28, 0x4b, 0x01, 0x4b, 0x02, 0x65, 0x2e};  // [1, 2]
    const std::string raw = (dir / "raw.pkl").string();
    {
        auto sink = atomic_file_sink::create(raw.c_str());
        REQUIRE(sink);
        REQUIRE(sink->write(byte_view(pickled.data(), pickled.size())));
        REQUIRE(sink->commit());
    }
    const std::string sealed = (dir / "sealed.pkl").string();
    const std::string manifest = (dir / "sealed.manifest").string();
    auto done = mtd::seal_file(raw.c_str(), sealed.c_str(), key, mtd::seal_options{}, manifest.c_str());
    REQUIRE_MESSAGE(done, to_string(done.err().code) << " " << done.err().detail);
    const bytes file = brine_test::read_file(sealed);
    mtd::verify_options options;
    options.manifest_path = manifest.c_str();
    const std::string out = (dir / "restored.pkl").string();

    // Changed after the pin copied it: nobody reads the file again.
    const changing_source later(file, 3, 1);
    auto sink = atomic_file_sink::create(out.c_str());
    REQUIRE(sink);
    auto back = mtd::restore(later, *sink, key, options);
    REQUIRE_MESSAGE(back, to_string(back.err().code) << " " << back.err().detail);
    REQUIRE(sink->commit());
    const std::string expected = (dir / "expected.pkl").string();
    REQUIRE(mtd::restore_file(sealed.c_str(), expected.c_str(), key, options));
    CHECK(brine_test::read_file(out) == brine_test::read_file(expected));
}
