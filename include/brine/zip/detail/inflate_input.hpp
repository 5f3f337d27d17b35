// SPDX-License-Identifier: MIT
//
// Where the decoder's compressed bytes come from. The decoder reads a contiguous window
// [cursor, end) directly; when it runs short it calls fill(), which may move that window.
//
//   span_input      the whole stream in memory (one-shot decoding); fill() never adds anything
//   source_input    a Source pulled in chunks into a fixed caller-owned buffer
//
// Both report positions as offsets from the start of the compressed stream, for errors.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/error.hpp>
#include <brine/core/result.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>

BRINE_NAMESPACE_BEGIN
namespace zip::detail {

class span_input {
public:
    explicit span_input(byte_view bytes) noexcept : begin_(bytes.data()), end_(bytes.data() + bytes.size()) {}

    [[nodiscard]] const std::uint8_t* initial_cursor() const noexcept { return begin_; }
    [[nodiscard]] const std::uint8_t* initial_end() const noexcept { return end_; }
    [[nodiscard]] bool exhausted() const noexcept { return true; }
    [[nodiscard]] status fill(const std::uint8_t*& /*cursor*/, const std::uint8_t*& /*end*/) noexcept { return {}; }
    [[nodiscard]] std::uint64_t offset_of(const std::uint8_t* position) const noexcept {
        return static_cast<std::uint64_t>(position - begin_);
    }

private:
    const std::uint8_t* begin_;
    const std::uint8_t* end_;
};

template <class Source>
class source_input {
public:
    source_input(Source& source, std::uint8_t* buffer, std::size_t capacity) noexcept
        : source_(&source), buffer_(buffer), capacity_(capacity) {}

    [[nodiscard]] const std::uint8_t* initial_cursor() const noexcept { return buffer_; }
    [[nodiscard]] const std::uint8_t* initial_end() const noexcept { return buffer_; }
    [[nodiscard]] bool exhausted() const noexcept { return at_end_; }

    // Keeps the unread bytes [cursor, end), moved to the front of the buffer, and reads once from
    // the source into the space after them. Once the source has reported its end, does nothing.
    [[nodiscard]] status fill(const std::uint8_t*& cursor, const std::uint8_t*& end) noexcept {
        if (at_end_) return {};
        const std::size_t kept = static_cast<std::size_t>(end - cursor);
        if (cursor != buffer_) {
            if (kept != 0) std::memmove(buffer_, cursor, kept);
            buffer_offset_ += static_cast<std::uint64_t>(cursor - buffer_);
        }
        cursor = buffer_;
        end = buffer_ + kept;
        const std::size_t room = capacity_ - kept;
        if (room == 0) return {};
        result<std::size_t> got = source_->read(buffer_ + kept, room);
        if (!got) return got.err();
        if (*got > room)
            return error{errc::io_read_failed, buffer_offset_ + kept, "a source that returns at most the bytes asked for"};
        if (*got == 0) at_end_ = true;
        end += *got;
        return {};
    }

    [[nodiscard]] std::uint64_t offset_of(const std::uint8_t* position) const noexcept {
        return buffer_offset_ + static_cast<std::uint64_t>(position - buffer_);
    }

private:
    Source* source_;
    std::uint8_t* buffer_;
    std::size_t capacity_;
    std::uint64_t buffer_offset_ = 0;  // stream offset of buffer_[0]
    bool at_end_ = false;
};

}  // namespace zip::detail
BRINE_NAMESPACE_END
