// SPDX-License-Identifier: MIT
//
// Where the decoder's output goes. The decoder writes into a contiguous window [position, end)
// and looks back up to 32 KiB before `position` for matches; when it runs short of room it calls
// reserve(), which may flush and move that window.
//
//   span_output      the caller's buffer (one-shot decoding): `end` is the output limit itself
//   window_output    a fixed caller-owned buffer holding the last 32 KiB of history plus a flush
//                    area; when the area fills, it is written to a Sink and the history slides
//                    down to the front of the buffer
//
// `end` never lies past the output limit, so the decoder finds the limit by running out of room.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/zip/detail/inflate_tables.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>

BRINE_NAMESPACE_BEGIN
namespace zip::detail {

class span_output {
public:
    span_output(std::uint8_t* begin, std::size_t limit) noexcept : begin_(begin), end_(begin + limit) {}

    [[nodiscard]] std::uint8_t* history_begin() const noexcept { return begin_; }
    [[nodiscard]] std::uint8_t* initial_position() const noexcept { return begin_; }
    [[nodiscard]] std::uint8_t* initial_end() const noexcept { return end_; }
    [[nodiscard]] status reserve(std::uint8_t*& /*position*/, std::uint8_t*& /*end*/, std::size_t /*want*/) noexcept {
        return {};  // the buffer is all there is
    }
    [[nodiscard]] status finish(std::uint8_t* /*position*/) noexcept { return {}; }
    [[nodiscard]] std::uint64_t produced(const std::uint8_t* position) const noexcept {
        return static_cast<std::uint64_t>(position - begin_);
    }

private:
    std::uint8_t* begin_;
    std::uint8_t* end_;
};

template <class Sink>
class window_output {
public:
    static constexpr std::size_t history = deflate_window_size;

    // Requires capacity > history.
    window_output(Sink& sink, std::uint8_t* buffer, std::size_t capacity, std::uint64_t limit) noexcept
        : sink_(&sink), buffer_(buffer), physical_end_(buffer + capacity), flushed_(buffer), limit_(limit) {}

    [[nodiscard]] std::uint8_t* history_begin() const noexcept { return buffer_; }
    [[nodiscard]] std::uint8_t* initial_position() const noexcept { return buffer_; }
    [[nodiscard]] std::uint8_t* initial_end() const noexcept { return limited_end(buffer_); }

    // Tries to leave at least `want` bytes of room. Sliding moves 32 KiB, so it happens only when
    // it reclaims at least half of the flush area, or when there is no room at all.
    [[nodiscard]] status reserve(std::uint8_t*& position, std::uint8_t*& end, std::size_t want) noexcept {
        if (static_cast<std::size_t>(end - position) >= want) return {};
        if (end != physical_end_) return {};  // the output limit is what is near: nothing to gain
        const std::size_t used = static_cast<std::size_t>(position - buffer_);
        if (used <= history) return {};
        const std::size_t reclaim = used - history;
        const std::size_t flush_area = static_cast<std::size_t>(physical_end_ - buffer_) - history;
        if (position != end && reclaim < flush_area / 2) return {};

        BRINE_TRY(flush(position));
        std::memmove(buffer_, position - history, history);
        base_ += reclaim;
        position = buffer_ + history;
        flushed_ = position;
        end = limited_end(position);
        return {};
    }

    [[nodiscard]] status finish(std::uint8_t* position) noexcept { return flush(position); }

    [[nodiscard]] std::uint64_t produced(const std::uint8_t* position) const noexcept {
        return base_ + static_cast<std::uint64_t>(position - buffer_);
    }

private:
    [[nodiscard]] std::uint8_t* limited_end(std::uint8_t* position) const noexcept {
        const std::uint64_t allowed = limit_ - produced(position);
        const std::size_t room = static_cast<std::size_t>(physical_end_ - position);
        return allowed < room ? position + static_cast<std::size_t>(allowed) : physical_end_;
    }
    [[nodiscard]] status flush(std::uint8_t* position) noexcept {
        if (position == flushed_) return {};
        BRINE_TRY(sink_->write(byte_view(flushed_, static_cast<std::size_t>(position - flushed_))));
        flushed_ = position;
        return {};
    }

    Sink* sink_;
    std::uint8_t* buffer_;
    std::uint8_t* physical_end_;
    std::uint8_t* flushed_;      // output before this has been written to the sink
    std::uint64_t base_ = 0;     // how much output lies before buffer_[0]
    std::uint64_t limit_;
};

}  // namespace zip::detail
BRINE_NAMESPACE_END
