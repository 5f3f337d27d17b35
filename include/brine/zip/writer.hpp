// SPDX-License-Identifier: MIT
//
// A zip writer for PyTorch archives: stored entries whose data starts on a 64-byte boundary (the
// padding scheme torch.save uses, an 'FB' extra field), CRC-32 computed while the data streams
// through, ZIP64 records exactly when a size or offset needs them. Output is deterministic: the
// same entries give the same bytes. Names must pass the same rules the reader enforces.
//
// The sink must be a SeekableSink: a Sink that can also patch bytes it has already written,
//     status write_at(std::uint64_t offset, byte_view bytes) noexcept;
// The CRC-32 is patched into the local header after the data, so the local header is complete
// (no data descriptor) and an entry of any size is copied in bounded memory.
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/zip/crc32.hpp>
#include <brine/zip/detail/format.hpp>
#include <brine/zip/detail/name_rules.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace zip {

namespace detail {
template <class T, class = void>
struct is_seekable_sink : std::false_type {};
template <class T>
struct is_seekable_sink<T, std::enable_if_t<is_sink_v<T> && std::is_same_v<decltype(std::declval<T&>().write_at(
                                                                                 std::uint64_t{}, byte_view{})),
                                                                             status>>> : std::true_type {};

// Fixed field values: DOS date 1980-01-01 00:00 (the earliest valid one; a zero date is invalid),
// version 2.0, or 4.5 when ZIP64 is needed.
inline constexpr std::uint16_t fixed_dos_date = (0u << 9) | (1u << 5) | 1u;
inline constexpr std::uint16_t version_default = 20;
inline constexpr std::uint16_t version_zip64 = 45;
}  // namespace detail

template <class T>
inline constexpr bool is_seekable_sink_v = detail::is_seekable_sink<T>::value;

template <class SeekableSink>
class writer {
    static_assert(is_seekable_sink_v<SeekableSink>,
                  "SeekableSink must have: status write(byte_view) and status write_at(std::uint64_t, byte_view)");

public:
    explicit writer(SeekableSink& sink) noexcept : sink_(&sink) {}

    // Streaming an entry in: open_entry() writes its local header; write() (the Sink interface, so
    // a reader can extract straight into the writer) takes exactly `size` bytes in any pieces,
    // computing the CRC-32 on the way; close_entry() checks the count and patches the CRC in.
    [[nodiscard]] status open_entry(std::string_view name, std::uint64_t size) noexcept {
        if (open_) return fail(error{errc::invalid_argument, position_, "close_entry() before the next entry", name});
        BRINE_TRY(begin_entry(name, size));
        open_ = true;
        remaining_ = size;
        crc_.reset();
        vouched_ = false;
        return {};
    }

    // The same for bytes whose CRC-32 the caller already has and vouches for: they are not
    // hashed again. For copying an entry out of another archive whose CRC the reader verifies
    // on the way (an error there must then abandon this output).
    [[nodiscard]] status open_entry(std::string_view name, std::uint64_t size, std::uint32_t vouched_crc) noexcept {
        BRINE_TRY(open_entry(name, size));
        vouched_ = true;
        vouched_crc_ = vouched_crc;
        return {};
    }

    status write(byte_view bytes) noexcept {
        if (!open_) return fail(error{errc::invalid_argument, position_, "open_entry() before writing entry data"});
        if (bytes.size() > remaining_)
            return fail(error{errc::invalid_argument, position_, "no more data than the entry's declared size",
                              records_.back().name});
        if (!vouched_) crc_.update(bytes);
        remaining_ -= bytes.size();
        return put(bytes);
    }

    [[nodiscard]] status close_entry() noexcept {
        if (!open_) return fail(error{errc::invalid_argument, position_, "an open entry to close"});
        open_ = false;
        if (remaining_ != 0)
            return fail(error{errc::io_read_failed, position_, "as much data as the entry's declared size",
                              records_.back().name});
        return end_entry(vouched_ ? vouched_crc_ : crc_.value());
    }

    // Adds an entry whose `size` bytes come from `source` (a Source), which must deliver exactly
    // that many. Memory use is one fixed buffer, whatever the size.
    template <class Source>
    [[nodiscard]] status add(std::string_view name, std::uint64_t size, Source& source) noexcept {
        static_assert(is_source_v<Source>, "Source must have: result<std::size_t> read(std::uint8_t*, std::size_t)");
        BRINE_TRY(open_entry(name, size));
        std::uint8_t buffer[16384];
        for (;;) {
            // Ask for one byte more than is left, so a source longer than declared is caught.
            const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_ + 1, sizeof buffer));
            auto got = source.read(buffer, want);
            if (!got) return fail(got.err());
            if (*got == 0) break;
            BRINE_TRY(write(byte_view(buffer, *got)));
        }
        return close_entry();
    }

    // Adds an entry from bytes in memory.
    [[nodiscard]] status add(std::string_view name, byte_view data) noexcept {
        span_source source(data);
        return add(name, data.size(), source);
    }

    // Writes the central directory and end records. No entry may be added afterwards.
    [[nodiscard]] status finish() noexcept {
        using namespace detail;
        if (finished_) return error{errc::invalid_argument, position_, "finish() called once"};
        if (open_ || failed_) return error{errc::invalid_argument, position_, "a complete last entry before finish()"};
        finished_ = true;
        const std::uint64_t directory_offset = position_;
        for (const record& item : records_) BRINE_TRY(put_central_header(item));
        const std::uint64_t directory_size = position_ - directory_offset;
        const std::uint64_t count = records_.size();
        const bool zip64 = count >= u16_max || directory_offset >= u32_max || directory_size >= u32_max;

        if (zip64) {
            const std::uint64_t record_offset = position_;
            std::uint8_t end64[zip64_end_record_size] = {};
            store_le32(end64, zip64_end_record_signature);
            store_le64(end64 + zip64_end::record_size, zip64_end_record_size - 12);
            store_le16(end64 + zip64_end::version_made_by, version_zip64);
            store_le16(end64 + zip64_end::version_needed, version_zip64);
            store_le64(end64 + zip64_end::entries_on_disk, count);
            store_le64(end64 + zip64_end::entries, count);
            store_le64(end64 + zip64_end::directory_size, directory_size);
            store_le64(end64 + zip64_end::directory_offset, directory_offset);
            BRINE_TRY(put(byte_view(end64, sizeof end64)));

            std::uint8_t locator[zip64_locator_size] = {};
            store_le32(locator, zip64_locator_signature);
            store_le64(locator + zip64_locator::record_offset, record_offset);
            store_le32(locator + zip64_locator::disk_count, 1);
            BRINE_TRY(put(byte_view(locator, sizeof locator)));
        }

        std::uint8_t end[end_record_size] = {};
        const auto narrow16 = [](std::uint64_t v) { return v >= u16_max ? u16_max : static_cast<std::uint16_t>(v); };
        const auto narrow32 = [](std::uint64_t v) { return v >= u32_max ? u32_max : static_cast<std::uint32_t>(v); };
        store_le32(end, end_record_signature);
        store_le16(end + end_record::entries_on_disk, narrow16(count));
        store_le16(end + end_record::entries, narrow16(count));
        store_le32(end + end_record::directory_size, narrow32(directory_size));
        store_le32(end + end_record::directory_offset, narrow32(directory_offset));
        return put(byte_view(end, sizeof end));
    }

    [[nodiscard]] std::uint64_t bytes_written() const noexcept { return position_; }

private:
    struct record {
        alloc::string name;
        std::uint64_t local_header_offset = 0;
        std::uint64_t size = 0;
        std::uint32_t crc32 = 0;
        std::uint16_t flags = 0;
    };

    static std::uint16_t flags_for(std::string_view name) noexcept {
        const bool ascii = std::all_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
        return ascii ? 0 : detail::flag_utf8;
    }

    status begin_entry(std::string_view name, std::uint64_t size) noexcept {
        using namespace detail;
        if (finished_) return error{errc::invalid_argument, position_, "entries added before finish()", name};
        if (failed_) return error{errc::invalid_argument, position_, "a writer that has not failed before", name};
        const std::uint16_t flags = flags_for(name);
        if (name.size() > 0xFFFF) return error{errc::invalid_argument, 0, "an entry name under 64 KiB", name};
        if (const char* problem = name_problem(name, flags != 0))
            return error{errc::zip_bad_name, 0, problem, name};
        if (!names_.insert(alloc::string(name)).second)
            return error{errc::zip_duplicate_name, 0, "entry names that differ other than in ASCII case", name};

        const bool zip64 = size >= u32_max;
        const std::uint64_t offset = position_;
        // Data starts after the header, the name, the ZIP64 field and the 'FB' padding field's
        // own 4-byte header; the padding makes that a multiple of 64 (as torch.save does).
        const std::uint64_t unpadded = offset + local_header_size + name.size() + (zip64 ? 20 : 0) + 4;
        const std::size_t padding = static_cast<std::size_t>((torch_alignment - unpadded % torch_alignment) % torch_alignment);

        std::uint8_t header[local_header_size + 20 + 4 + torch_alignment] = {};
        store_le32(header, local_header_signature);
        store_le16(header + local::version_needed, zip64 ? version_zip64 : version_default);
        store_le16(header + local::flags, flags);
        store_le16(header + local::method, method_stored);
        store_le16(header + local::date, fixed_dos_date);
        store_le32(header + local::compressed_size, zip64 ? u32_max : static_cast<std::uint32_t>(size));
        store_le32(header + local::uncompressed_size, zip64 ? u32_max : static_cast<std::uint32_t>(size));
        store_le16(header + local::name_length, static_cast<std::uint16_t>(name.size()));
        store_le16(header + local::extra_length, static_cast<std::uint16_t>((zip64 ? 20 : 0) + 4 + padding));
        BRINE_TRY(put(byte_view(header, local_header_size)));
        BRINE_TRY(put(as_bytes(name)));

        std::uint8_t* extra = header + local_header_size;
        std::size_t extra_size = 0;
        if (zip64) {
            store_le16(extra, zip64_extra_id);
            store_le16(extra + 2, 16);
            store_le64(extra + 4, size);
            store_le64(extra + 12, size);
            extra_size = 20;
        }
        store_le16(extra + extra_size, torch_padding_extra_id);
        store_le16(extra + extra_size + 2, static_cast<std::uint16_t>(padding));
        std::fill(extra + extra_size + 4, extra + extra_size + 4 + padding, std::uint8_t{'Z'});
        extra_size += 4 + padding;
        BRINE_TRY(put(byte_view(extra, extra_size)));

        record item;
        item.name.assign(name.data(), name.size());
        item.local_header_offset = offset;
        item.size = size;
        item.flags = flags;
        records_.push_back(std::move(item));
        return {};
    }

    status end_entry(std::uint32_t crc) noexcept {
        record& item = records_.back();
        item.crc32 = crc;
        std::uint8_t field[4];
        store_le32(field, crc);
        const status patched = sink_->write_at(item.local_header_offset + detail::local::crc32, byte_view(field, 4));
        if (!patched) return fail(patched.err());
        return {};
    }

    status put_central_header(const record& item) noexcept {
        using namespace detail;
        zip64_wanted_fields wanted{item.size >= u32_max, item.local_header_offset >= u32_max};
        const std::size_t zip64_length = (wanted.sizes ? 16 : 0) + (wanted.offset ? 8 : 0);
        std::uint8_t header[central_header_size + 4 + 24] = {};
        store_le32(header, central_header_signature);
        store_le16(header + central::version_made_by, version_zip64);
        store_le16(header + central::version_needed, zip64_length ? version_zip64 : version_default);
        store_le16(header + central::flags, item.flags);
        store_le16(header + central::method, method_stored);
        store_le16(header + central::date, fixed_dos_date);
        store_le32(header + central::crc32, item.crc32);
        store_le32(header + central::compressed_size, wanted.sizes ? u32_max : static_cast<std::uint32_t>(item.size));
        store_le32(header + central::uncompressed_size, wanted.sizes ? u32_max : static_cast<std::uint32_t>(item.size));
        store_le16(header + central::name_length, static_cast<std::uint16_t>(item.name.size()));
        store_le16(header + central::extra_length, static_cast<std::uint16_t>(zip64_length ? 4 + zip64_length : 0));
        store_le32(header + central::local_header_offset,
                   wanted.offset ? u32_max : static_cast<std::uint32_t>(item.local_header_offset));
        BRINE_TRY(put(byte_view(header, central_header_size)));
        BRINE_TRY(put(as_bytes(item.name)));
        if (zip64_length != 0) {
            std::uint8_t* extra = header + central_header_size;
            store_le16(extra, zip64_extra_id);
            store_le16(extra + 2, static_cast<std::uint16_t>(zip64_length));
            std::uint8_t* p = extra + 4;
            if (wanted.sizes) {
                store_le64(p, item.size);       // uncompressed
                store_le64(p + 8, item.size);   // compressed
                p += 16;
            }
            if (wanted.offset) store_le64(p, item.local_header_offset);
            BRINE_TRY(put(byte_view(extra, 4 + zip64_length)));
        }
        return {};
    }

    struct zip64_wanted_fields {
        bool sizes;
        bool offset;
    };

    status put(byte_view bytes) noexcept {
        const status written = sink_->write(bytes);
        if (!written) return fail(written.err());
        position_ += bytes.size();
        return {};
    }

    status fail(const error& e) noexcept {
        failed_ = true;
        return e;
    }

    struct folded_less {
        bool operator()(const alloc::string& a, const alloc::string& b) const noexcept {
            return detail::compare_folded(a, b) < 0;
        }
    };

    SeekableSink* sink_;
    alloc::vector<record> records_;
    alloc::set<alloc::string, folded_less> names_;  // PyTorch looks records up ignoring ASCII case
    std::uint64_t position_ = 0;
    crc32_stream crc_;                 // of the open entry
    std::uint32_t vouched_crc_ = 0;    // the caller's CRC-32 for it, when vouched_
    bool vouched_ = false;
    std::uint64_t remaining_ = 0;      // bytes the open entry still expects
    bool open_ = false;
    bool finished_ = false;
    bool failed_ = false;
};

}  // namespace zip
BRINE_NAMESPACE_END
