// SPDX-License-Identifier: MIT
//
// Streaming an entry's data out of an archive: stored data is copied, deflated data is inflated,
// and both are checked against the central header (CRC-32 and exact size) on the way, in bounded
// memory. A mismatch is reported after the sink has seen at most the declared size.
#pragma once

#include <brine/config.hpp>
#include <brine/core/memory.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/zip/crc32.hpp>
#include <brine/zip/detail/format.hpp>
#include <brine/zip/inflate.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

BRINE_NAMESPACE_BEGIN
namespace zip {

struct entry;

namespace detail {

// Sequential reads of the byte range [offset, offset + length) of a RandomAccessSource.
template <class RandomAccessSource>
class range_source {
public:
    range_source(const RandomAccessSource& source, std::uint64_t offset, std::uint64_t length) noexcept
        : source_(&source), offset_(offset), remaining_(length) {}

    result<std::size_t> read(std::uint8_t* dst, std::size_t max) noexcept {
        const std::size_t count = max < remaining_ ? max : static_cast<std::size_t>(remaining_);
        BRINE_TRY(source_->read_at(offset_, dst, count));
        offset_ += count;
        remaining_ -= count;
        return count;
    }

private:
    const RandomAccessSource* source_;
    std::uint64_t offset_;
    std::uint64_t remaining_;
};

// Forwards to another sink while computing the CRC-32 and the size of what passed through.
template <class Sink>
class checking_sink {
public:
    explicit checking_sink(Sink& next) noexcept : next_(&next) {}

    status write(byte_view bytes) noexcept {
        crc_.update(bytes);
        size_ += bytes.size();
        return next_->write(bytes);
    }
    [[nodiscard]] std::uint32_t crc() const noexcept { return crc_.value(); }
    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

private:
    Sink* next_;
    crc32_stream crc_;
    std::uint64_t size_ = 0;
};

}  // namespace detail

// Streams `item`'s data from `source` into `sink`, verifying CRC-32 and size.
template <class RandomAccessSource, class Entry, class Sink>
[[nodiscard]] status extract_entry(const RandomAccessSource& source, const Entry& item, Sink& sink) noexcept {
    static_assert(is_sink_v<Sink>, "Sink must have: status write(byte_view) noexcept");
    detail::checking_sink<Sink> checked(sink);
    detail::range_source<RandomAccessSource> input(source, item.data_offset, item.compressed_size);

    if (item.method == detail::method_stored) {
        const status copied = copy_range(source, item.data_offset, item.compressed_size, checked);
        if (!copied) {
            error e = copied.err();
            e.entry = item.name;
            return e;
        }
    } else {
        // ~130 KiB of tables and window: on the heap, not on a caller's (possibly small) stack.
        auto inflater = ::brine::detail::boxed<stream_inflater>::make();
        if (!inflater) return error{errc::limit_exceeded, item.data_offset, "memory for the inflate window", item.name};
        inflate_options options;
        options.exact_size = item.uncompressed_size;
        options.allow_trailing_input = false;  // the compressed size is exact: nothing may follow
        auto inflated = inflater->inflate(input, checked, options);
        if (!inflated) {
            error e = inflated.err();
            // Inflate reports offsets in the compressed data; make them file offsets.
            e.offset += item.data_offset;
            e.entry = item.name;
            if (e.code == errc::deflate_size_mismatch || e.code == errc::deflate_output_limit)
                e.code = errc::zip_size_mismatch;
            return e;
        }
    }
    if (checked.size() != item.uncompressed_size)
        return error{errc::zip_size_mismatch, item.data_offset, "entry data of the size the central header declares",
                     item.name};
    if (checked.crc() != item.crc32)
        return error{errc::zip_crc_mismatch, item.data_offset, "entry data with the CRC-32 the central header declares",
                     item.name};
    return {};
}

}  // namespace zip
BRINE_NAMESPACE_END
