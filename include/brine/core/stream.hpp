// SPDX-License-Identifier: MIT
//
// Sources and sinks: how bytes flow into and out of brine's streaming components.
//
// A Source is any object with
//     result<std::size_t> read(std::uint8_t* dst, std::size_t max) noexcept;
// returning how many bytes it wrote to dst (at most max); 0 means the end of the input.
//
// A RandomAccessSource (for containers read by offset, like zip) is any object with
//     std::uint64_t size() const noexcept;
//     status read_at(std::uint64_t offset, std::uint8_t* dst, std::size_t count) const noexcept;
// where read_at reads exactly count bytes or fails. file_source and memory_source are two.
//
// A Sink is any object with
//     status write(byte_view bytes) noexcept;
// which consumes all of bytes or fails.
//
// Streaming components take both as template parameters, so a call through them costs nothing.
#pragma once

#include <brine/config.hpp>
#include <brine/core/memory.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN

namespace detail {
template <class T, class = void>
struct is_source : std::false_type {};
template <class T>
struct is_source<T, std::enable_if_t<std::is_same_v<
                        decltype(std::declval<T&>().read(std::declval<std::uint8_t*>(), std::size_t{})),
                        result<std::size_t>>>> : std::true_type {};

template <class T, class = void>
struct is_sink : std::false_type {};
template <class T>
struct is_sink<T, std::enable_if_t<std::is_same_v<decltype(std::declval<T&>().write(byte_view{})), status>>>
    : std::true_type {};

template <class T, class = void>
struct is_random_access_source : std::false_type {};
template <class T>
struct is_random_access_source<
    T, std::enable_if_t<std::is_same_v<decltype(std::declval<const T&>().read_at(
                                           std::uint64_t{}, std::declval<std::uint8_t*>(), std::size_t{})),
                                       status> &&
                        std::is_same_v<decltype(std::declval<const T&>().size()), std::uint64_t>>>
    : std::true_type {};

template <class T, class = void>
struct has_contiguous_bytes : std::false_type {};
template <class T>
struct has_contiguous_bytes<T, std::enable_if_t<std::is_same_v<decltype(std::declval<const T&>().bytes()), byte_view>>>
    : std::true_type {};
}  // namespace detail

template <class T>
inline constexpr bool is_random_access_source_v = detail::is_random_access_source<T>::value;

// A RandomAccessSource whose bytes are all in memory (memory_source, mapped_file) may also be
// read in place: `byte_view bytes() const`.
template <class T>
inline constexpr bool has_contiguous_bytes_v = detail::has_contiguous_bytes<T>::value;

// Writes source bytes [offset, offset + size) to `sink` in chunks: in place when the source is
// in memory (no copy), else through a
// 256 KiB buffer (a system call per chunk, not per few KiB).
template <class RandomAccessSource, class Sink>
[[nodiscard]] status copy_range(const RandomAccessSource& source, std::uint64_t offset, std::uint64_t size,
                                Sink& sink) noexcept {
    constexpr std::size_t chunk = std::size_t{256} << 10;
    if (offset > source.size() || size > source.size() - offset)
        return error{errc::io_read_failed, offset, "a byte range inside the input"};
    if constexpr (has_contiguous_bytes_v<RandomAccessSource>) {
        const byte_view all = source.bytes();
        while (size != 0) {
            const std::size_t n = size < chunk ? static_cast<std::size_t>(size) : chunk;
            BRINE_TRY(sink.write(byte_view(all.data() + offset, n)));
            offset += n;
            size -= n;
        }
        return {};
    } else {
        const detail::raw_block block(chunk, std::nothrow);
        auto* buffer = static_cast<std::uint8_t*>(block.data());
        if (!buffer) return error{errc::limit_exceeded, offset, "memory for a copy buffer"};
        while (size != 0) {
            const std::size_t n = size < chunk ? static_cast<std::size_t>(size) : chunk;
            BRINE_TRY(source.read_at(offset, buffer, n));
            BRINE_TRY(sink.write(byte_view(buffer, n)));
            offset += n;
            size -= n;
        }
        return {};
    }
}

template <class T>
inline constexpr bool is_source_v = detail::is_source<T>::value;
template <class T>
inline constexpr bool is_sink_v = detail::is_sink<T>::value;

// Reads from a byte range in memory.
class span_source {
public:
    constexpr explicit span_source(byte_view bytes) noexcept : bytes_(bytes) {}

    result<std::size_t> read(std::uint8_t* dst, std::size_t max) noexcept {
        const std::size_t n = max < bytes_.size() - pos_ ? max : bytes_.size() - pos_;
        if (n != 0) std::memcpy(dst, bytes_.data() + pos_, n);
        pos_ += n;
        return n;
    }
    [[nodiscard]] std::size_t position() const noexcept { return pos_; }

private:
    byte_view bytes_;
    std::size_t pos_ = 0;
};

// Random access to bytes in memory (a span, or an mmap'ed file).
class memory_source {
public:
    constexpr explicit memory_source(byte_view bytes) noexcept : bytes_(bytes) {}

    [[nodiscard]] std::uint64_t size() const noexcept { return bytes_.size(); }
    [[nodiscard]] status read_at(std::uint64_t offset, std::uint8_t* dst, std::size_t count) const noexcept {
        if (offset > bytes_.size() || count > bytes_.size() - offset)
            return error{errc::io_read_failed, offset, "more bytes (the input is shorter than expected)"};
        if (count != 0) std::memcpy(dst, bytes_.data() + offset, count);
        return {};
    }
    [[nodiscard]] byte_view bytes() const noexcept { return bytes_; }

private:
    byte_view bytes_;
};

// Writes into a caller-owned buffer; writing past its end fails instead of growing.
// Seekable: write_at patches bytes already written.
class buffer_sink {
public:
    constexpr explicit buffer_sink(mutable_byte_view buffer) noexcept : buffer_(buffer) {}

    status write(byte_view bytes) noexcept {
        if (bytes.size() > buffer_.size() - size_)
            return error{errc::limit_exceeded, size_, "output that fits the caller's buffer"};
        if (!bytes.empty()) std::memcpy(buffer_.data() + size_, bytes.data(), bytes.size());
        size_ += bytes.size();
        return {};
    }
    status write_at(std::uint64_t offset, byte_view bytes) noexcept {
        if (offset > size_ || bytes.size() > size_ - offset)
            return error{errc::invalid_argument, offset, "a patch inside the bytes already written"};
        if (!bytes.empty()) std::memcpy(buffer_.data() + offset, bytes.data(), bytes.size());
        return {};
    }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] byte_view written() const noexcept { return {buffer_.data(), size_}; }

private:
    mutable_byte_view buffer_;
    std::size_t size_ = 0;
};

// Appends to a std::vector (for tools and tests; allocation failure ends the program as usual).
// Seekable: write_at patches bytes already written.
class vector_sink {
public:
    explicit vector_sink(alloc::vector<std::uint8_t>& out) noexcept : out_(&out) {}

    status write(byte_view bytes) noexcept {
        out_->insert(out_->end(), bytes.begin(), bytes.end());
        return {};
    }
    status write_at(std::uint64_t offset, byte_view bytes) noexcept {
        if (offset > out_->size() || bytes.size() > out_->size() - offset)
            return error{errc::invalid_argument, offset, "a patch inside the bytes already written"};
        std::copy(bytes.begin(), bytes.end(), out_->begin() + static_cast<std::ptrdiff_t>(offset));
        return {};
    }
    // Reads back what was written: a vector_sink is also a RandomAccessSource.
    [[nodiscard]] std::uint64_t size() const noexcept { return out_->size(); }
    [[nodiscard]] status read_at(std::uint64_t offset, std::uint8_t* dst, std::size_t count) const noexcept {
        if (offset > out_->size() || count > out_->size() - offset)
            return error{errc::io_read_failed, offset, "bytes within the output written so far"};
        if (count != 0) std::memcpy(dst, out_->data() + offset, count);
        return {};
    }

private:
    alloc::vector<std::uint8_t>* out_;
};

// Discards everything and counts it (sizing, hashing-only passes).
class counting_sink {
public:
    status write(byte_view bytes) noexcept {
        count_ += bytes.size();
        return {};
    }
    [[nodiscard]] std::uint64_t count() const noexcept { return count_; }

private:
    std::uint64_t count_ = 0;
};

BRINE_NAMESPACE_END
