// SPDX-License-Identifier: MIT
//
// Every byte of a sealed archive accounted for (issue 20). The digests cover the records' content;
// everything else in the file (headers, extra fields, comments, the central directory, bytes
// between or after entries) would be a place to carry a payload past `verify`. So verify also
// checks that the archive is, byte for byte outside the record data, what brine's own writer
// writes for that content.
//
// How: the simplest exact way is to run the writer itself. zip::writer is deterministic (the same
// entries give the same bytes), so its output for the sealed entry list (names and sizes from the
// authentic manifest, in the sealed order, then the manifest record) is the only layout brine
// ever writes for this seal. layout_comparer is a SeekableSink that, instead of storing what the
// writer emits, compares it with the file at the same offset: header bytes are compared, entry
// data is skipped (its bytes are digested, and the reader checks its CRC-32 while extracting it,
// so the CRC the writer is given is the file's, vouched for). No second description of the format
// to keep in step with the writer: a change to the writer changes what verify expects.
//
// The first byte that differs is the problem (every later offset would differ after a shift, so
// more would be noise), named by the file's entry holding it and by what brine writes there.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/mtd/manifest.hpp>
#include <brine/mtd/describe.hpp>
#include <brine/zip/detail/format.hpp>
#include <brine/zip/reader.hpp>
#include <brine/zip/writer.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace mtd {

// A byte brine did not write: where ("record NAME" or "file") and what, with its offset.
struct layout_problem {
    std::string where;
    std::string what;
};

namespace detail {

// One entry as brine writes it.
struct layout_entry {
    std::string name;
    std::uint64_t size = 0;
    std::uint32_t crc32 = 0;  // the file's (verified on extraction), 0 when the file lacks it
};

// What one write of the writer is, for naming the field a difference falls in.
enum class layout_part { local_header, local_name, local_extra, central_header, central_name, central_extra,
                         zip64_end, zip64_locator, end_record };

struct layout_segment {
    std::uint64_t start = 0;
    layout_part part = layout_part::local_header;
    std::size_t entry = 0;  // index in the expected list (headers only)
};

[[nodiscard]] inline const char* field_at(const std::size_t* offsets, const char* const* names, std::size_t count,
                                          std::uint64_t at) {
    std::size_t i = 0;
    while (i + 1 < count && offsets[i + 1] <= at) ++i;
    return names[i];
}

// The field of a fixed header that byte `at` (from the header's start) belongs to.
[[nodiscard]] inline std::string fixed_field(layout_part part, std::uint64_t at) {
    static const std::size_t local_at[] = {0, 4, 6, 8, 10, 12, 14, 18, 22, 26, 28};
    static const char* const local_names[] = {"signature", "version needed", "flags", "method",
                                              "time", "date", "CRC-32", "compressed size",
                                              "uncompressed size", "name length", "extra field length"};
    static const std::size_t central_at[] = {0, 4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 30, 32, 34, 36, 38, 42};
    static const char* const central_names[] = {
        "signature", "version made by", "version needed", "flags", "method", "time", "date", "CRC-32",
        "compressed size", "uncompressed size", "name length", "extra field length", "comment length",
        "disk number", "internal attributes", "external attributes", "local header offset"};
    static const std::size_t end_at[] = {0, 4, 6, 8, 10, 12, 16, 20};
    static const char* const end_names[] = {"signature", "disk number", "directory disk", "entries on disk",
                                            "entries", "directory size", "directory offset", "comment length"};
    switch (part) {
    case layout_part::local_header: return field_at(local_at, local_names, std::size(local_at), at);
    case layout_part::central_header: return field_at(central_at, central_names, std::size(central_at), at);
    case layout_part::end_record: return field_at(end_at, end_names, std::size(end_at), at);
    default: return "";
    }
}

// A SeekableSink over a RandomAccessSource: what the writer writes is compared with the file
// (see the top of this file). Writes are held until flush(), since the writer patches each local
// header's CRC-32 after the entry's data; only headers are held, never data.
template <class RandomAccessSource>
class layout_comparer {
public:
    explicit layout_comparer(const RandomAccessSource& file) noexcept : file_(&file) {}

    // The next writes are the local header of expected entry `entry`, its data, the directory.
    void begin_local(std::size_t entry) noexcept { phase_ = layout_part::local_header, entry_ = entry, part_ = 0; }
    void data(bool on) noexcept { data_ = on; }
    void begin_directory() noexcept { phase_ = layout_part::central_header, entry_ = 0, part_ = 0, first_central_ = true; }

    status write(byte_view bytes) {
        if (!data_) {
            if (pending_.empty()) pending_at_ = position_;
            segments_.push_back({position_, classify(bytes), entry_});
            pending_.insert(pending_.end(), bytes.begin(), bytes.end());
        }
        position_ += bytes.size();
        return {};
    }

    status write_at(std::uint64_t offset, byte_view bytes) {
        // Only the open entry's local header is patched, and it is still pending.
        if (offset < pending_at_ || offset - pending_at_ + bytes.size() > pending_.size())
            return error{errc::invalid_argument, offset, "a patch of a pending header"};
        std::copy(bytes.begin(), bytes.end(), pending_.begin() + static_cast<std::ptrdiff_t>(offset - pending_at_));
        return {};
    }

    // Compares what is pending with the file; false (and mismatch() set) at the first difference.
    bool flush() {
        const std::uint64_t size = file_->size();
        std::uint8_t buffer[4096];
        for (std::size_t done = 0; done < pending_.size();) {
            const std::uint64_t at = pending_at_ + done;
            if (at >= size) return mismatch_at(at);
            const std::size_t n = static_cast<std::size_t>(
                std::min<std::uint64_t>({sizeof buffer, pending_.size() - done, size - at}));
            if (!file_->read_at(at, buffer, n)) return mismatch_at(at);
            for (std::size_t i = 0; i < n; ++i)
                if (buffer[i] != pending_[done + i]) return mismatch_at(at + i);
            done += n;
        }
        pending_.clear();
        segments_.clear();
        return true;
    }

    // After the writer finished: the file must end where the writer's output ends.
    bool check_end() {
        if (file_->size() == position_) return true;
        return mismatch_at(std::min(file_->size(), position_));
    }

    [[nodiscard]] const std::optional<std::uint64_t>& mismatch() const noexcept { return mismatch_; }
    // The segment the first difference falls in, when it is one the writer wrote.
    [[nodiscard]] const std::optional<layout_segment>& mismatch_segment() const noexcept { return segment_; }

private:
    // Which structure a write is: the writer puts each fixed header in one write, then its name,
    // then its extra field; the directory's records start with their signatures.
    layout_part classify(byte_view bytes) {
        if (phase_ == layout_part::local_header) {
            const layout_part parts[] = {layout_part::local_header, layout_part::local_name, layout_part::local_extra};
            return parts[std::min<std::size_t>(part_++, 2)];
        }
        const std::uint32_t signature = bytes.size() >= 4 ? load_le32(bytes.data()) : 0;
        if (bytes.size() == zip::detail::central_header_size && signature == zip::detail::central_header_signature) {
            if (!first_central_) ++entry_;
            first_central_ = false;
            part_ = 1;
            return layout_part::central_header;
        }
        if (bytes.size() == zip::detail::zip64_end_record_size && signature == zip::detail::zip64_end_record_signature)
            return phase_ = layout_part::zip64_end;
        if (bytes.size() == zip::detail::zip64_locator_size && signature == zip::detail::zip64_locator_signature)
            return phase_ = layout_part::zip64_locator;
        if (bytes.size() == zip::detail::end_record_size && signature == zip::detail::end_record_signature)
            return phase_ = layout_part::end_record;
        return part_++ == 1 ? layout_part::central_name : layout_part::central_extra;
    }

    bool mismatch_at(std::uint64_t at) {
        mismatch_ = at;
        for (const layout_segment& s : segments_)
            if (s.start <= at) segment_ = s;
        if (at >= position_) segment_.reset();  // past everything the writer wrote
        return false;
    }

    const RandomAccessSource* file_;
    std::vector<std::uint8_t> pending_;
    std::vector<layout_segment> segments_;  // of pending_
    std::uint64_t pending_at_ = 0;
    std::uint64_t position_ = 0;
    bool data_ = false;
    layout_part phase_ = layout_part::local_header;
    std::size_t entry_ = 0, part_ = 0;
    bool first_central_ = true;
    std::optional<std::uint64_t> mismatch_;
    std::optional<layout_segment> segment_;
};

// What brine writes at `at`, described from the segment it falls in.
[[nodiscard]] inline std::string expected_at(const std::optional<layout_segment>& s, std::uint64_t at,
                                             const std::vector<layout_entry>& expected) {
    if (!s) return "the end of the file (brine writes nothing after the end of central directory record)";
    const std::string of = s->entry < expected.size() ? expected[s->entry].name : std::string("?");
    const std::uint64_t in = at - s->start;
    switch (s->part) {
    case layout_part::local_header: return "the local header of " + of + ": its " + fixed_field(s->part, in);
    case layout_part::local_name: return "the local header of " + of + ": its name";
    case layout_part::local_extra: return "the local header of " + of + ": its alignment padding extra field";
    case layout_part::central_header: return "the central header of " + of + ": its " + fixed_field(s->part, in);
    case layout_part::central_name: return "the central header of " + of + ": its name";
    case layout_part::central_extra: return "the central header of " + of + ": its ZIP64 extra field";
    case layout_part::zip64_end: return "the ZIP64 end of central directory record";
    case layout_part::zip64_locator: return "the ZIP64 end of central directory locator";
    case layout_part::end_record:
        return "the end of central directory record: its " + fixed_field(s->part, in);
    }
    return "?";
}

// The length of the central header at `e`, read from the file (0 when unreadable).
template <class RandomAccessSource>
[[nodiscard]] std::uint64_t central_length(const RandomAccessSource& file, const zip::entry& e) {
    std::uint8_t h[zip::detail::central_header_size];
    if (!file.read_at(e.central_header_offset, h, sizeof h)) return 0;
    return sizeof h + load_le16(h + zip::detail::central::name_length) +
           load_le16(h + zip::detail::central::extra_length) +
           load_le16(h + zip::detail::central::comment_length);
}

// The file's structure holding `at`: "record NAME" and which part of it, else "file".
template <class RandomAccessSource>
void holder_at(const zip::reader<RandomAccessSource>& archive, std::uint64_t at, std::string& where,
               std::string& part) {
    for (const zip::entry& e : archive.entries()) {
        if (e.local_header_offset <= at && at < e.data_offset) where = "record " + std::string(e.name), part = "its local header";
        else if (e.data_offset <= at && at < e.end_offset) where = "record " + std::string(e.name), part = "its data";
        else if (e.central_header_offset <= at && at < e.central_header_offset + central_length(archive.source(), e))
            where = "record " + std::string(e.name), part = "its central header";
        else continue;
        return;
    }
    where = "file";
    part = at >= archive.source().size() ? "the file ends" : "outside every entry";
}

// The entries brine writes for this seal: the sealed records in order, then the manifest record
// unless the manifest is detached. Sizes from the (authentic) manifest; CRCs from the file.
template <class RandomAccessSource>
[[nodiscard]] std::vector<layout_entry> sealed_layout(const zip::reader<RandomAccessSource>& archive,
                                                      const manifest& m, bool detached) {
    std::vector<layout_entry> out;
    const auto crc_of = [&](std::string_view name) {
        const auto found = archive.find(name);
        return found ? (*found)->crc32 : std::uint32_t{0};
    };
    for (const manifest_record& r : m.records) out.push_back({r.name, r.size, crc_of(r.name)});
    if (!detached) {
        const auto record = archive.find_record(manifest_record_name);
        if (record) out.push_back({std::string((*record)->name), (*record)->uncompressed_size, (*record)->crc32});
    }
    return out;
}

// Runs the writer over `expected` into a comparer; stops at the first difference.
template <class RandomAccessSource>
void compare_with_writer(layout_comparer<RandomAccessSource>& compare, const std::vector<layout_entry>& expected) {
    static const std::uint8_t zeros[16384] = {};  // stands for the data, which is not compared
    zip::writer<layout_comparer<RandomAccessSource>> writer(compare);
    for (std::size_t i = 0; i < expected.size(); ++i) {
        compare.begin_local(i);
        if (!writer.open_entry(expected[i].name, expected[i].size, expected[i].crc32)) return;
        compare.data(true);
        for (std::uint64_t left = expected[i].size; left != 0;) {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, sizeof zeros));
            if (!writer.write(byte_view(zeros, n))) return;
            left -= n;
        }
        compare.data(false);
        if (!writer.close_entry() || !compare.flush()) return;
    }
    compare.begin_directory();
    if (!writer.finish() || !compare.flush()) return;
    compare.check_end();
}

// A manifest record where none belongs: any entry named like one, in a file whose manifest is
// detached (brine writes it to the manifest file only).
template <class RandomAccessSource>
void check_no_manifest_record(const zip::reader<RandomAccessSource>& archive, std::vector<layout_problem>& out) {
    for (const zip::entry& e : archive.entries())
        if (e.name.rfind(".brine", 0) == 0 || e.name.find("/.brine") != std::string_view::npos)
            out.push_back({"record " + std::string(e.name),
                           "a manifest record at offset " + std::to_string(e.local_header_offset) +
                               " in a file verified with a detached manifest: brine writes none there"});
}

}  // namespace detail

// Checks that `archive` (over `file`) is exactly what brine's writer writes for the seal `m`
// (authentic): a problem for the first byte that is not, and for a manifest record where the
// manifest is `detached` (given as a file: brine then writes none into the archive).
template <class RandomAccessSource>
[[nodiscard]] std::vector<layout_problem> check_layout(const zip::reader<RandomAccessSource>& archive,
                                                       const RandomAccessSource& file, const manifest& m,
                                                       bool detached) {
    std::vector<layout_problem> out;
    if (detached) detail::check_no_manifest_record(archive, out);
    const std::vector<detail::layout_entry> expected = detail::sealed_layout(archive, m, detached);
    detail::layout_comparer<RandomAccessSource> compare(file);
    detail::compare_with_writer(compare, expected);
    if (!compare.mismatch()) return out;
    const std::uint64_t at = *compare.mismatch();
    std::string where, part;
    detail::holder_at(archive, at, where, part);
    out.push_back({where, "not as brine writes it: offset " + std::to_string(at) + " (" + part + ") differs from " +
                              detail::expected_at(compare.mismatch_segment(), at, expected)});
    return out;
}

}  // namespace mtd
BRINE_NAMESPACE_END
