// SPDX-License-Identifier: MIT
//
// A strict zip reader. It reads exactly what PyTorch's reader (miniz) would read, and refuses every
// archive where two readers could disagree: see THREATS.md rows Z1–Z13. Opening validates the
// whole structure from headers alone (end records, ZIP64, central and local headers, names, and
// that every byte of the file belongs to exactly one structure); entry data is verified (CRC-32,
// sizes) while it streams out. Nothing is loaded into memory beyond the central directory.
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/zip/crc32.hpp>
#include <brine/zip/detail/format.hpp>
#include <brine/zip/detail/name_rules.hpp>
#include <brine/zip/entry_stream.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace zip {

// Bounds on what an archive may declare; exceeding one is errc::limit_exceeded.
struct reader_limits {
    std::uint32_t max_entries = 1u << 16;
    std::uint32_t max_name_length = 1024;
    std::uint64_t max_central_directory_size = std::uint64_t{64} << 20;
    std::uint64_t max_entry_size = std::uint64_t{64} << 30;   // uncompressed, per entry
    std::uint64_t max_total_size = std::uint64_t{256} << 30;  // uncompressed, all entries
    // Every entry under one top-level folder, as torch.save writes (root() names it). NumPy's
    // .npz keeps its members at the top level: false there (and an empty archive is then valid).
    bool single_root = true;
};

struct entry {
    std::string_view name;                // as stored (valid per the name rules)
    std::uint64_t central_header_offset = 0;
    std::uint64_t local_header_offset = 0;
    std::uint64_t data_offset = 0;        // first byte of the (compressed) data
    std::uint64_t compressed_size = 0;
    std::uint64_t uncompressed_size = 0;
    std::uint64_t end_offset = 0;         // one past the data, or past its data descriptor
    std::uint32_t crc32 = 0;
    std::uint16_t method = 0;             // detail::method_stored or detail::method_deflate
    std::uint16_t flags = 0;
    std::uint32_t external_attributes = 0;  // MS-DOS attributes (low byte), Unix st_mode (high 16 bits)

    // Whether some reader takes the entry for a directory: miniz by its name or MS-DOS bit, Unix
    // extractors by its mode. Opening refused every such entry that holds data, so it is empty.
    [[nodiscard]] bool is_directory() const noexcept {
        return (!name.empty() && name.back() == '/') || detail::dos_marks_directory(external_attributes) ||
               detail::unix_marks_directory(external_attributes);
    }
    [[nodiscard]] bool is_stored() const noexcept { return method == detail::method_stored; }
};

namespace detail {

[[nodiscard]] constexpr bool add_fits(std::uint64_t a, std::uint64_t b, std::uint64_t limit) noexcept {
    return a <= limit && b <= limit - a;
}

// DEFLATE cannot expand beyond 1032:1. Its best case is a length-258 match coded in 2 bits
// (a 1-bit literal/length code and a 1-bit distance code), 258 bytes per quarter byte; a
// literal costs at least a bit per byte. A declared uncompressed size above this bound is a lie
// that would otherwise size a buffer before the stream is read, so it is refused at open.
inline constexpr std::uint64_t deflate_max_expansion = 1032;

[[nodiscard]] constexpr bool deflate_can_reach(std::uint64_t compressed, std::uint64_t uncompressed) noexcept {
    return compressed >= uncompressed / deflate_max_expansion + (uncompressed % deflate_max_expansion != 0);
}

// The end-of-central-directory record and, when present, its ZIP64 counterpart, reconciled.
struct directory_location {
    std::uint64_t entries = 0;
    std::uint64_t directory_offset = 0;
    std::uint64_t directory_size = 0;
    std::uint64_t directory_end_limit = 0;  // where the central directory must end (next record)
};

// The ZIP64 extra field of a header, if it has one.
struct zip64_field {
    bool present = false;
    byte_view data;
    std::uint64_t offset = 0;  // file offset of the field's header, for error reports
};

// A field that gives the entry a second name: newer Python zipfiles (ZipInfo._decodeExtra) read
// the entry under the Unicode Path's name when the field's CRC-32 matches the header's name, and
// refuse the archive when the field is malformed; miniz only ever uses the header's name.
[[nodiscard]] inline status check_extra_field_id(std::uint16_t id, std::uint64_t offset) noexcept {
    if (id == unicode_path_extra_id)
        return error{errc::zip_unicode_path, offset, "no Info-ZIP Unicode Path extra field (0x7075): one name only"};
    return {};
}

// Walks an extra-field block: each field must fit exactly, none may rename the entry, and at most
// one may be ZIP64.
[[nodiscard]] inline result<zip64_field> find_zip64_field(byte_view extra, std::uint64_t offset) noexcept {
    zip64_field field;
    std::size_t pos = 0;
    while (pos < extra.size()) {
        if (extra.size() - pos < 4)
            return error{errc::zip_bad_extra_field, offset + pos, "a complete extra-field header (4 bytes)"};
        const std::uint16_t id = load_le16(extra.data() + pos);
        const std::uint16_t length = load_le16(extra.data() + pos + 2);
        if (extra.size() - pos - 4 < length)
            return error{errc::zip_bad_extra_field, offset + pos, "an extra field that fits in its header"};
        BRINE_TRY(check_extra_field_id(id, offset + pos));
        if (id == zip64_extra_id) {
            if (field.present) return error{errc::zip_bad_extra_field, offset + pos, "at most one ZIP64 extra field"};
            field.present = true;
            field.data = extra.subview(pos + 4, length);
            field.offset = offset + pos;
        }
        pos += 4 + std::size_t{length};
    }
    return field;
}

// Which 32-bit fields of a header are saturated (0xFFFFFFFF) and so live in its ZIP64 extra field.
struct zip64_wanted {
    bool uncompressed_size = false;
    bool compressed_size = false;
    bool local_header_offset = false;

    [[nodiscard]] std::size_t length() const noexcept {
        return 8 * (std::size_t{uncompressed_size} + compressed_size + local_header_offset);
    }
};

struct zip64_values {
    std::uint64_t uncompressed_size = 0;
    std::uint64_t compressed_size = 0;
    std::uint64_t local_header_offset = 0;
};

// Reads the saturated fields from a ZIP64 extra field, in the APPNOTE's order. The field must hold
// exactly those values, so no two readers can take a value from different positions.
[[nodiscard]] inline result<zip64_values> read_zip64_values(const zip64_field& field, const zip64_wanted& wanted,
                                                            std::size_t expected_length) noexcept {
    zip64_values values;
    if (field.data.size() != expected_length)
        return error{errc::zip_bad_extra_field, field.offset,
                     "a ZIP64 extra field holding exactly the saturated 32-bit fields"};
    const std::uint8_t* p = field.data.data();
    if (wanted.uncompressed_size) values.uncompressed_size = load_le64(p), p += 8;
    if (wanted.compressed_size) values.compressed_size = load_le64(p), p += 8;
    if (wanted.local_header_offset) values.local_header_offset = load_le64(p);
    return values;
}

// Python's zipfile refuses the whole archive when a central header needs a version above 6.3
// (numpy.load cannot read it), while miniz never looks. zipfile reads the low byte only; producers
// (miniz, zipfile, brine) write 0 to 63 with a high byte of 0, so any other value is refused, in
// local headers as well.
[[nodiscard]] inline status check_version_needed(std::uint16_t version, std::uint64_t offset,
                                                 std::string_view name) noexcept {
    if (version > max_version_needed)
        return error{errc::zip_unsupported_version, offset,
                     "a version needed to extract of at most 6.3 (63), as Python's zipfile reads", name};
    return {};
}

// What the external attributes and the name make of an entry, once its sizes are known. miniz
// takes a name ending in '/' or the MS-DOS directory bit (whatever the host system) for a
// directory and extracts nothing for it: torch.load keeps the uninitialised buffer it allocated
// for the record's declared size, while zipfile (and brine) read the bytes. Extractors that honour
// the Unix mode (libarchive, Info-ZIP's unzip) make S_IFDIR a directory and S_IFLNK a link whose
// data is its target; devices, FIFOs and sockets hold no data at all, and an MS-DOS volume label
// names a disk, not a file. So every entry must be a file or an empty directory. `at` is the
// central header's offset.
[[nodiscard]] inline status check_attributes(const entry& item, std::uint64_t at) noexcept {
    const std::uint64_t attributes_at = at + central::external_attributes;
    const std::uint32_t attributes = item.external_attributes;
    if (unix_marks_special_file(attributes))
        return error{errc::zip_special_file, attributes_at + 2,
                     "a Unix mode of a regular file or a directory (no link, device, FIFO or socket)", item.name};
    if (attributes & dos_volume_label)
        return error{errc::zip_special_file, attributes_at, "no MS-DOS volume-label attribute (0x08)", item.name};
    if (item.uncompressed_size == 0) return {};
    if (!item.name.empty() && item.name.back() == '/')
        return error{errc::zip_directory_with_data, at + central_header_size + item.name.size() - 1,
                     "no data in a directory entry (its name ends in '/')", item.name};
    if (dos_marks_directory(attributes))
        return error{errc::zip_directory_with_data, attributes_at,
                     "no MS-DOS directory attribute (0x10) on an entry with data", item.name};
    if (unix_marks_directory(attributes))
        return error{errc::zip_directory_with_data, attributes_at + 2,
                     "no Unix directory mode (S_IFDIR) on an entry with data", item.name};
    return {};
}

// `scratch` is reused memory for the file's tail (up to 64 KiB).
template <class Source>
[[nodiscard]] result<directory_location> locate_central_directory(const Source& source,
                                                                   alloc::vector<std::uint8_t>& scratch) noexcept {
    const std::uint64_t file_size = source.size();
    if (file_size < end_record_size)
        return error{errc::zip_no_end_record, 0, "an end-of-central-directory record (the file is too short)"};

    // The end record sits in the last 64 KiB + 22 bytes (its comment is at most 65535 bytes).
    const std::size_t tail_size =
        static_cast<std::size_t>(std::min<std::uint64_t>(file_size, max_comment_size + end_record_size));
    const std::uint64_t tail_offset = file_size - tail_size;
    scratch.resize(tail_size);
    std::uint8_t* const tail = scratch.data();
    BRINE_TRY(source.read_at(tail_offset, tail, tail_size));

    // A candidate is an end record whose comment reaches exactly to the end of the file. More than
    // one candidate means readers that scan differently would pick different directories.
    // A record whose comment stops short of the end leaves trailing bytes; one whose comment runs
    // past the end is no end record at all.
    std::size_t candidates = 0, chosen = 0;
    bool stops_short = false;
    for (std::size_t i = tail_size - end_record_size + 1; i-- > 0;) {
        if (load_le32(tail + i) != end_record_signature) continue;
        const std::size_t comment = load_le16(tail + i + end_record::comment_length);
        const std::size_t record_end = i + end_record_size + comment;
        if (record_end == tail_size) {
            if (candidates++ == 0) chosen = i;
        } else if (record_end < tail_size) {
            stops_short = true;
        }
    }
    if (candidates == 0) {
        if (stops_short)
            return error{errc::zip_trailing_data, file_size,
                         "the end of the file right after the end record and its comment"};
        return error{errc::zip_no_end_record, file_size, "an end-of-central-directory record"};
    }
    if (candidates > 1)
        return error{errc::zip_multiple_end_records, tail_offset + chosen, "exactly one end-of-central-directory record"};

    const std::uint8_t* end = tail + chosen;
    const std::uint64_t end_offset = tail_offset + chosen;
    const std::uint16_t disk = load_le16(end + end_record::disk);
    const std::uint16_t directory_disk = load_le16(end + end_record::directory_disk);
    const std::uint16_t entries_on_disk = load_le16(end + end_record::entries_on_disk);
    const std::uint16_t entries = load_le16(end + end_record::entries);
    const std::uint32_t directory_size = load_le32(end + end_record::directory_size);
    const std::uint32_t directory_offset = load_le32(end + end_record::directory_offset);

    directory_location where;
    where.entries = entries;
    where.directory_size = directory_size;
    where.directory_offset = directory_offset;
    where.directory_end_limit = end_offset;

    const bool saturated = disk == u16_max || directory_disk == u16_max || entries_on_disk == u16_max ||
                           entries == u16_max || directory_size == u32_max || directory_offset == u32_max;
    std::uint8_t locator[zip64_locator_size] = {};
    if (end_offset >= zip64_locator_size)
        BRINE_TRY(source.read_at(end_offset - zip64_locator_size, locator, sizeof locator));
    const bool has_locator = load_le32(locator) == zip64_locator_signature;
    if (!has_locator) {
        if (saturated)
            return error{errc::zip_zip64_inconsistent, end_offset,
                         "a ZIP64 locator before an end record with saturated fields"};
        if (disk != 0 || directory_disk != 0)
            return error{errc::zip_multi_disk, end_offset + end_record::disk, "disk numbers 0 (no split archives)"};
        if (entries_on_disk != entries)
            return error{errc::zip_multi_disk, end_offset + end_record::entries_on_disk,
                         "as many entries on this disk as in total"};
        return where;
    }

    // ZIP64: the locator sits right before the end record and points at a ZIP64 end record that
    // ends exactly where the locator begins; every 32-bit field is either saturated or equal.
    const std::uint64_t locator_offset = end_offset - zip64_locator_size;
    if (load_le32(locator + zip64_locator::record_disk) != 0 || load_le32(locator + zip64_locator::disk_count) != 1)
        return error{errc::zip_multi_disk, locator_offset, "a ZIP64 locator for a single-disk archive"};
    const std::uint64_t record_offset = load_le64(locator + zip64_locator::record_offset);
    if (record_offset > locator_offset || locator_offset - record_offset < zip64_end_record_size)
        return error{errc::zip_zip64_inconsistent, locator_offset, "a ZIP64 end record before its locator"};
    std::uint8_t record[zip64_end_record_size];
    BRINE_TRY(source.read_at(record_offset, record, sizeof record));
    if (load_le32(record) != zip64_end_record_signature)
        return error{errc::zip_zip64_inconsistent, record_offset, "the ZIP64 end record signature PK\\6\\6"};
    const std::uint64_t record_size = load_le64(record + zip64_end::record_size);
    if (record_size < zip64_end_record_size - 12 || record_size != locator_offset - record_offset - 12)
        return error{errc::zip_zip64_inconsistent, record_offset,
                     "a ZIP64 end record that ends exactly where its locator begins"};
    if (load_le32(record + zip64_end::disk) != 0 || load_le32(record + zip64_end::directory_disk) != 0)
        return error{errc::zip_multi_disk, record_offset, "disk numbers 0 in the ZIP64 end record"};
    const std::uint64_t entries64 = load_le64(record + zip64_end::entries);
    if (load_le64(record + zip64_end::entries_on_disk) != entries64)
        return error{errc::zip_multi_disk, record_offset, "as many entries on this disk as in total"};
    const std::uint64_t size64 = load_le64(record + zip64_end::directory_size);
    const std::uint64_t offset64 = load_le64(record + zip64_end::directory_offset);

    const auto agrees = [](std::uint64_t narrow, std::uint64_t saturated_value, std::uint64_t wide) {
        return narrow == saturated_value || narrow == wide;
    };
    if (!agrees(disk, u16_max, 0) || !agrees(directory_disk, u16_max, 0) ||
        !agrees(entries_on_disk, u16_max, entries64) || !agrees(entries, u16_max, entries64) ||
        !agrees(directory_size, u32_max, size64) || !agrees(directory_offset, u32_max, offset64))
        return error{errc::zip_zip64_inconsistent, end_offset,
                     "end record fields equal to the ZIP64 end record's (or saturated)"};

    where.entries = entries64;
    where.directory_size = size64;
    where.directory_offset = offset64;
    where.directory_end_limit = record_offset;
    return where;
}

}  // namespace detail

// Reads a zip archive from a RandomAccessSource (memory_source, file_source, ...). The source must
// outlive the reader. Move-only: entry names point into the reader's copy of the directory.
template <class Source>
class reader {
    static_assert(is_random_access_source_v<Source>,
                  "Source must have: std::uint64_t size() const and "
                  "status read_at(std::uint64_t, std::uint8_t*, std::size_t) const");

public:
    reader(reader&&) noexcept = default;
    reader& operator=(reader&&) noexcept = default;
    reader(const reader&) = delete;
    reader& operator=(const reader&) = delete;

    // Opens and validates the whole archive structure (no entry data is read).
    [[nodiscard]] static result<reader> open(const Source& source, const reader_limits& limits = {}) noexcept {
        reader archive(source);
        BRINE_TRY(archive.load(limits));
        return archive;
    }

    // Entries in central-directory order (the order PyTorch's reader enumerates them).
    [[nodiscard]] const alloc::vector<entry>& entries() const noexcept { return entries_; }
    // The single top-level folder every entry is under ("archive" in "archive/data.pkl").
    [[nodiscard]] std::string_view root() const noexcept { return root_; }
    [[nodiscard]] std::uint64_t central_directory_offset() const noexcept { return directory_offset_; }
    [[nodiscard]] const Source& source() const noexcept { return *source_; }

    // The entry PyTorch's lookup would return for `name`: names compare ignoring ASCII case, and
    // opening refused every archive where that could match two entries, so the answer is unique.
    [[nodiscard]] result<const entry*> find(std::string_view name) const noexcept {
        const auto it = std::lower_bound(by_folded_name_.begin(), by_folded_name_.end(), name,
                                         [this](std::uint32_t index, std::string_view wanted) {
                                             return detail::compare_folded(entries_[index].name, wanted) < 0;
                                         });
        if (it == by_folded_name_.end() || detail::compare_folded(entries_[*it].name, name) != 0)
            return error{errc::zip_not_found, 0, "an entry with this name", name};
        return &entries_[*it];
    }

    // A record of a PyTorch archive: `record` under the top-level folder ("data.pkl", "data/0").
    [[nodiscard]] result<const entry*> find_record(std::string_view record) const noexcept {
        char full[1024 + 1 + 1024];
        if (root_.size() + 1 + record.size() > sizeof full)
            return error{errc::zip_not_found, 0, "a record name of reasonable length", record};
        std::copy(root_.begin(), root_.end(), full);
        full[root_.size()] = '/';
        std::copy(record.begin(), record.end(), full + root_.size() + 1);
        return find(std::string_view(full, root_.size() + 1 + record.size()));
    }

    // Streams an entry's (inflated) data into `sink`, verifying its size and CRC-32 on the way;
    // at most the declared size is ever produced. On failure the sink has seen a prefix only.
    template <class Sink>
    [[nodiscard]] status extract(const entry& item, Sink& sink) const noexcept {
        return extract_entry(*source_, item, sink);
    }

private:
    explicit reader(const Source& source) noexcept : source_(&source) {}

    status load(const reader_limits& limits) noexcept {
        alloc::vector<std::uint8_t> scratch;
        auto where = detail::locate_central_directory(*source_, scratch);
        BRINE_TRY(where);
        BRINE_TRY(read_central_directory(*where, limits));
        BRINE_TRY(check_names(limits));
        BRINE_TRY(read_local_headers(scratch));
        return check_layout(*where);
    }

    status read_central_directory(const detail::directory_location& where, const reader_limits& limits) noexcept {
        using namespace detail;
        if (where.entries > limits.max_entries)
            return error{errc::limit_exceeded, where.directory_offset, "at most reader_limits::max_entries entries"};
        if (where.directory_size > limits.max_central_directory_size)
            return error{errc::limit_exceeded, where.directory_offset,
                         "a central directory within reader_limits::max_central_directory_size"};
        if (!add_fits(where.directory_offset, where.directory_size, where.directory_end_limit))
            return error{errc::zip_central_directory_bounds, where.directory_offset,
                         "a central directory that ends before the end records"};
        if (where.directory_offset + where.directory_size != where.directory_end_limit) {
            const std::uint64_t gap_start = where.directory_offset + where.directory_size;
            auto hidden_end = gap_holds_end_record(gap_start, where.directory_end_limit);
            BRINE_TRY(hidden_end);
            if (*hidden_end)
                return error{errc::zip_multiple_end_records, gap_start,
                             "exactly one end-of-central-directory record"};
            return error{errc::zip_unaccounted_bytes, gap_start,
                         "the end records right after the central directory"};
        }
        directory_offset_ = where.directory_offset;
        directory_.resize(static_cast<std::size_t>(where.directory_size));
        BRINE_TRY(source_->read_at(where.directory_offset, directory_.data(), directory_.size()));

        entries_.reserve(static_cast<std::size_t>(where.entries));
        std::uint64_t total = 0;
        std::size_t pos = 0;
        while (pos < directory_.size()) {
            const std::uint64_t at = where.directory_offset + pos;
            if (entries_.size() == where.entries)
                return error{errc::zip_entry_count_mismatch, at, "no more central headers than the end record counts"};
            if (directory_.size() - pos < central_header_size)
                return error{errc::zip_central_directory_bounds, at, "a complete central header (46 bytes)"};
            const std::uint8_t* h = directory_.data() + pos;
            if (load_le32(h) != central_header_signature)
                return error{errc::zip_bad_signature, at, "a central header signature PK\\1\\2"};
            const std::size_t name_length = load_le16(h + central::name_length);
            const std::size_t extra_length = load_le16(h + central::extra_length);
            const std::size_t comment_length = load_le16(h + central::comment_length);
            const std::size_t header_length = central_header_size + name_length + extra_length + comment_length;
            if (directory_.size() - pos < header_length)
                return error{errc::zip_central_directory_bounds, at, "a central header inside the central directory"};

            entry item;
            item.name = std::string_view(reinterpret_cast<const char*>(h + central_header_size), name_length);
            item.central_header_offset = at;
            item.flags = load_le16(h + central::flags);
            item.method = load_le16(h + central::method);
            item.crc32 = load_le32(h + central::crc32);
            item.compressed_size = load_le32(h + central::compressed_size);
            item.uncompressed_size = load_le32(h + central::uncompressed_size);
            item.local_header_offset = load_le32(h + central::local_header_offset);
            item.external_attributes = load_le32(h + central::external_attributes);

            BRINE_TRY(check_flags_and_method(item, at, item.name));
            BRINE_TRY(check_version_needed(load_le16(h + central::version_needed), at + central::version_needed,
                                           item.name));
            // miniz refuses 0xFFFF here even when a ZIP64 extra field holds disk 0; zipfile ignores
            // the field. Only 0 reads the same everywhere.
            if (load_le16(h + central::disk_start) != 0)
                return error{errc::zip_multi_disk, at + central::disk_start, "disk number 0", item.name};

            zip64_wanted wanted;
            wanted.uncompressed_size = item.uncompressed_size == u32_max;
            wanted.compressed_size = item.compressed_size == u32_max;
            wanted.local_header_offset = item.local_header_offset == u32_max;
            auto field = find_zip64_field(byte_view(h + central_header_size + name_length, extra_length),
                                          at + central_header_size + name_length);
            if (!field) return with_entry(field.err(), item.name);
            if (field->present || wanted.length() != 0) {
                auto zip64 = read_zip64_values(*field, wanted, wanted.length());
                if (!zip64) return with_entry(zip64.err(), item.name);
                if (wanted.uncompressed_size) item.uncompressed_size = zip64->uncompressed_size;
                if (wanted.compressed_size) item.compressed_size = zip64->compressed_size;
                if (wanted.local_header_offset) item.local_header_offset = zip64->local_header_offset;
            }

            if (item.uncompressed_size > limits.max_entry_size)
                return error{errc::limit_exceeded, at, "an entry within reader_limits::max_entry_size", item.name};
            if (!add_fits(total, item.uncompressed_size, limits.max_total_size))
                return error{errc::limit_exceeded, at, "entries within reader_limits::max_total_size in all", item.name};
            total += item.uncompressed_size;
            if (item.is_stored() && item.compressed_size != item.uncompressed_size)
                return error{errc::zip_size_mismatch, at, "equal sizes for a stored entry", item.name};
            if (!item.is_stored() && !deflate_can_reach(item.compressed_size, item.uncompressed_size))
                return error{errc::zip_size_mismatch, at,
                             "an uncompressed size DEFLATE can reach (at most 1032 times the compressed size)",
                             item.name};
            BRINE_TRY(check_attributes(item, at));

            entries_.push_back(item);
            pos += header_length;
        }
        if (entries_.size() != where.entries)
            return error{errc::zip_entry_count_mismatch, where.directory_offset + pos,
                         "as many central headers as the end record counts"};
        return {};
    }

    // Whether the bytes [begin, end) between the central directory and the end record contain
    // another end-record signature (a second, hidden directory's end).
    result<bool> gap_holds_end_record(std::uint64_t begin, std::uint64_t end) const noexcept {
        std::uint8_t window[4096 + 3];
        std::size_t kept = 0;
        for (std::uint64_t at = begin; at < end;) {
            const std::size_t count = static_cast<std::size_t>(std::min<std::uint64_t>(end - at, 4096));
            BRINE_TRY(source_->read_at(at, window + kept, count));
            const std::size_t available = kept + count;
            for (std::size_t i = 0; i + 4 <= available; ++i)
                if (load_le32(window + i) == detail::end_record_signature) return true;
            kept = available < 3 ? available : 3;
            std::copy(window + available - kept, window + available, window);
            at += count;
        }
        return false;
    }

    static status check_flags_and_method(const entry& item, std::uint64_t at, std::string_view name) noexcept {
        using namespace detail;
        if (item.flags & (flag_encrypted | flag_strong_encryption | flag_masked_local_headers))
            return error{errc::zip_encrypted, at, "no encryption flags (bits 0, 6, 13)", name};
        if (item.flags & flag_patch_data)
            return error{errc::zip_patch_data, at, "no patch-data flag (bit 5)", name};
        if (item.method != method_stored && item.method != method_deflate)
            return error{errc::zip_unsupported_method, at, "compression method 0 (stored) or 8 (deflate)", name};
        return {};
    }

    static error with_entry(error e, std::string_view name) noexcept {
        e.entry = name;
        return e;
    }

    status check_names(const reader_limits& limits) noexcept {
        using namespace detail;
        if (entries_.empty() && limits.single_root)
            return error{errc::zip_not_found, directory_offset_, "at least one entry"};
        root_ = limits.single_root ? top_level_folder(entries_.front().name) : std::string_view();
        for (const entry& item : entries_) {
            if (item.name.size() > limits.max_name_length)
                return error{errc::limit_exceeded, directory_offset_, "names within reader_limits::max_name_length",
                             item.name};
            if (const char* problem = name_problem(item.name, (item.flags & flag_utf8) != 0))
                return error{errc::zip_bad_name, directory_offset_, problem, item.name};
            if (limits.single_root && (root_.empty() || top_level_folder(item.name) != root_))
                return error{errc::zip_multiple_roots, directory_offset_,
                             "every entry under the first entry's top-level folder", item.name};
        }
        by_folded_name_.resize(entries_.size());
        for (std::uint32_t i = 0; i < by_folded_name_.size(); ++i) by_folded_name_[i] = i;
        std::sort(by_folded_name_.begin(), by_folded_name_.end(), [this](std::uint32_t a, std::uint32_t b) {
            return compare_folded(entries_[a].name, entries_[b].name) < 0;
        });
        for (std::size_t i = 1; i < by_folded_name_.size(); ++i) {
            const entry& item = entries_[by_folded_name_[i]];
            if (compare_folded(entries_[by_folded_name_[i - 1]].name, item.name) == 0)
                return error{errc::zip_duplicate_name, directory_offset_,
                             "entry names that differ other than in ASCII case", item.name};
        }
        return {};
    }

    // Reads each entry's local header (and data descriptor), requiring it to agree with the
    // central header, and works out where the entry's bytes end.
    status read_local_headers(alloc::vector<std::uint8_t>& scratch) noexcept {
        using namespace detail;
        for (entry& item : entries_) {
            const std::uint64_t at = item.local_header_offset;
            if (!add_fits(at, local_header_size, directory_offset_))
                return error{errc::zip_out_of_range, at, "a local header before the central directory", item.name};
            std::uint8_t h[local_header_size];
            BRINE_TRY(source_->read_at(at, h, sizeof h));
            if (load_le32(h) != local_header_signature)
                return error{errc::zip_bad_signature, at, "a local header signature PK\\3\\4", item.name};
            BRINE_TRY(check_version_needed(load_le16(h + local::version_needed), at + local::version_needed,
                                           item.name));
            const std::size_t name_length = load_le16(h + local::name_length);
            const std::size_t extra_length = load_le16(h + local::extra_length);
            if (!add_fits(at + local_header_size, name_length + extra_length, directory_offset_))
                return error{errc::zip_out_of_range, at, "a local header before the central directory", item.name};

            if (name_length != item.name.size())
                return error{errc::zip_header_mismatch, at + local::name_length,
                             "the same name as the central header", item.name};
            // Name and extra field: at most max_name_length + 64 KiB.
            scratch.resize(name_length + extra_length);
            const std::uint8_t* const variable = scratch.data();
            BRINE_TRY(source_->read_at(at + local_header_size, scratch.data(), scratch.size()));
            const std::uint16_t flags = load_le16(h + local::flags);
            if (flags != item.flags)
                return error{errc::zip_header_mismatch, at + local::flags, "the same flags as the central header",
                             item.name};
            if (load_le16(h + local::method) != item.method)
                return error{errc::zip_header_mismatch, at + local::method, "the same method as the central header",
                             item.name};
            if (std::string_view(reinterpret_cast<const char*>(variable), name_length) != item.name)
                return error{errc::zip_header_mismatch, at + local_header_size, "the same name as the central header",
                             item.name};

            const std::uint32_t crc = load_le32(h + local::crc32);
            const std::uint32_t compressed = load_le32(h + local::compressed_size);
            const std::uint32_t uncompressed = load_le32(h + local::uncompressed_size);
            // In a local header, a ZIP64 extra field holds both sizes whenever either is saturated.
            // PyTorch's writer (miniz) also puts the header's own offset there once it passes
            // 4 GiB; that form is accepted when the offset is the true one.
            zip64_wanted wanted;
            wanted.uncompressed_size = wanted.compressed_size = compressed == u32_max || uncompressed == u32_max;
            auto field = find_zip64_field(byte_view(variable + name_length, extra_length),
                                          at + local_header_size + name_length);
            if (!field) return with_entry(field.err(), item.name);
            zip64_values zip64;
            // Python's zipfile with force_zip64 (np.savez) adds a ZIP64 field repeating both sizes
            // that the 32-bit fields already hold: the same values twice are no ambiguity.
            const bool repeated = field->present && !wanted.uncompressed_size && field->data.size() == 16 &&
                                  load_le64(field->data.data()) == uncompressed &&
                                  load_le64(field->data.data() + 8) == compressed;
            if (!repeated && (field->present || wanted.length() != 0)) {
                wanted.local_header_offset = at >= u32_max && field->data.size() == wanted.length() + 8;
                auto values = read_zip64_values(*field, wanted, wanted.length());
                if (!values) return with_entry(values.err(), item.name);
                if (wanted.local_header_offset && values->local_header_offset != at)
                    return error{errc::zip_header_mismatch, field->offset, "the header's own offset in its ZIP64 field",
                                 item.name};
                zip64 = *values;
            }
            const std::uint64_t local_compressed = wanted.compressed_size ? zip64.compressed_size : compressed;
            const std::uint64_t local_uncompressed = wanted.uncompressed_size ? zip64.uncompressed_size : uncompressed;

            const bool deferred = (flags & flag_data_descriptor) != 0;
            // With a data descriptor the local values may be zero (written before the data was known).
            const bool local_values_zero = crc == 0 && local_compressed == 0 && local_uncompressed == 0;
            if (!(deferred && local_values_zero)) {
                if (crc != item.crc32 || local_compressed != item.compressed_size ||
                    local_uncompressed != item.uncompressed_size)
                    return error{errc::zip_header_mismatch, at + local::crc32,
                                 "the same CRC-32 and sizes as the central header", item.name};
            }

            item.data_offset = at + local_header_size + name_length + extra_length;
            if (!add_fits(item.data_offset, item.compressed_size, source_->size()))
                return error{errc::zip_out_of_range, item.data_offset, "entry data inside the file", item.name};
            if (item.data_offset + item.compressed_size > directory_offset_)
                return error{errc::zip_overlap, item.data_offset, "entry data that ends before the central directory",
                             item.name};
            item.end_offset = item.data_offset + item.compressed_size;
            if (deferred) {
                auto length = data_descriptor_length(item, field->present);
                BRINE_TRY(length);
                item.end_offset += *length;
            }
        }
        return {};
    }

    // A data descriptor is CRC-32 and both sizes (8 bytes each with ZIP64), optionally preceded by
    // its signature. It must repeat the central header's values exactly.
    result<std::uint64_t> data_descriptor_length(const entry& item, bool zip64) const noexcept {
        using namespace detail;
        const std::uint64_t at = item.data_offset + item.compressed_size;
        const std::size_t width = zip64 ? 8 : 4;
        std::uint8_t d[4 + 4 + 8 + 8] = {};
        const std::size_t available =
            static_cast<std::size_t>(std::min<std::uint64_t>(sizeof d, directory_offset_ - at));
        BRINE_TRY(source_->read_at(at, d, available));
        const auto matches = [&](std::size_t skip) {
            const std::size_t length = skip + 4 + 2 * width;
            if (length > available) return false;
            const std::uint8_t* p = d + skip;
            const std::uint64_t compressed = width == 8 ? load_le64(p + 4) : load_le32(p + 4);
            const std::uint64_t uncompressed = width == 8 ? load_le64(p + 4 + width) : load_le32(p + 4 + width);
            return load_le32(p) == item.crc32 && compressed == item.compressed_size &&
                   uncompressed == item.uncompressed_size;
        };
        if (available >= 4 && load_le32(d) == data_descriptor_signature && matches(4)) return 4 + 4 + 2 * width;
        if (matches(0)) return 4 + 2 * width;
        return error{errc::zip_bad_data_descriptor, at, "a data descriptor repeating the central CRC-32 and sizes",
                     item.name};
    }

    // Every byte before the central directory belongs to exactly one entry, in order, from offset 0.
    status check_layout(const detail::directory_location& where) const noexcept {
        alloc::vector<std::uint32_t> order(entries_.size());
        for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
        std::sort(order.begin(), order.end(), [this](std::uint32_t a, std::uint32_t b) {
            return entries_[a].local_header_offset < entries_[b].local_header_offset;
        });
        std::uint64_t expected = 0;
        for (const std::uint32_t index : order) {
            const entry& item = entries_[index];
            if (item.local_header_offset < expected)
                return error{errc::zip_overlap, item.local_header_offset, "entries that do not overlap", item.name};
            if (item.local_header_offset > expected) {
                if (expected == 0)
                    return error{errc::zip_leading_data, 0, "the first local header at offset 0", item.name};
                return error{errc::zip_unaccounted_bytes, expected, "the next local header right after an entry",
                             item.name};
            }
            expected = item.end_offset;
        }
        if (expected != where.directory_offset)
            return error{errc::zip_unaccounted_bytes, expected, "the central directory right after the last entry"};
        return {};
    }

    const Source* source_;
    alloc::vector<std::uint8_t> directory_;
    alloc::vector<entry> entries_;
    alloc::vector<std::uint32_t> by_folded_name_;
    std::string_view root_;
    std::uint64_t directory_offset_ = 0;
};

}  // namespace zip
BRINE_NAMESPACE_END
