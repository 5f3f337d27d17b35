// SPDX-License-Identifier: MIT
//
// Byte views and explicit-endian integer access. Every multi-byte field brine reads or writes goes
// through these helpers, so byte order is always spelled out at the call site.
#pragma once

#include <brine/config.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

BRINE_NAMESPACE_BEGIN

// A read-only view of contiguous bytes (C++17 has no std::span). Slicing is clamped, never UB.
class byte_view {
public:
    constexpr byte_view() noexcept = default;
    constexpr byte_view(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}
    byte_view(const void* data, std::size_t size) noexcept
        : data_(static_cast<const std::uint8_t*>(data)), size_(size) {}

    [[nodiscard]] constexpr const std::uint8_t* data() const noexcept { return data_; }
    [[nodiscard]] constexpr std::size_t size() const noexcept { return size_; }
    [[nodiscard]] constexpr bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] constexpr const std::uint8_t* begin() const noexcept { return data_; }
    [[nodiscard]] constexpr const std::uint8_t* end() const noexcept { return data_ + size_; }
    [[nodiscard]] constexpr std::uint8_t operator[](std::size_t i) const noexcept { return data_[i]; }

    // The bytes [offset, offset + count), clamped to the view.
    [[nodiscard]] constexpr byte_view subview(std::size_t offset, std::size_t count = SIZE_MAX) const noexcept {
        if (offset > size_) offset = size_;
        const std::size_t rest = size_ - offset;
        return {data_ + offset, count < rest ? count : rest};
    }
    [[nodiscard]] constexpr byte_view first(std::size_t count) const noexcept { return subview(0, count); }

private:
    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

// A writable view of contiguous bytes.
class mutable_byte_view {
public:
    constexpr mutable_byte_view() noexcept = default;
    constexpr mutable_byte_view(std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}

    [[nodiscard]] constexpr std::uint8_t* data() const noexcept { return data_; }
    [[nodiscard]] constexpr std::size_t size() const noexcept { return size_; }
    [[nodiscard]] constexpr bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] constexpr std::uint8_t* begin() const noexcept { return data_; }
    [[nodiscard]] constexpr std::uint8_t* end() const noexcept { return data_ + size_; }
    [[nodiscard]] constexpr std::uint8_t& operator[](std::size_t i) const noexcept { return data_[i]; }
    constexpr operator byte_view() const noexcept { return {data_, size_}; }

private:
    std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

// The bytes of a string (no terminator).
[[nodiscard]] inline byte_view as_bytes(std::string_view text) noexcept {
    return {text.data(), text.size()};
}

// Explicit-endian loads and stores. Written byte by byte: compilers turn them into single moves,
// they are alignment-safe, and they mean the same on every host byte order.
[[nodiscard]] constexpr std::uint16_t load_le16(const std::uint8_t* p) noexcept {
    return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
[[nodiscard]] constexpr std::uint32_t load_le32(const std::uint8_t* p) noexcept {
    return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) |
           (std::uint32_t(p[3]) << 24);
}
[[nodiscard]] constexpr std::uint64_t load_le64(const std::uint8_t* p) noexcept {
    return std::uint64_t(load_le32(p)) | (std::uint64_t(load_le32(p + 4)) << 32);
}
[[nodiscard]] constexpr std::uint32_t load_be32(const std::uint8_t* p) noexcept {
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
           std::uint32_t(p[3]);
}
[[nodiscard]] constexpr std::uint64_t load_be64(const std::uint8_t* p) noexcept {
    return (std::uint64_t(load_be32(p)) << 32) | std::uint64_t(load_be32(p + 4));
}
constexpr void store_le16(std::uint8_t* p, std::uint16_t v) noexcept {
    p[0] = std::uint8_t(v);
    p[1] = std::uint8_t(v >> 8);
}
constexpr void store_le32(std::uint8_t* p, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) p[i] = std::uint8_t(v >> (8 * i));
}
constexpr void store_le64(std::uint8_t* p, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) p[i] = std::uint8_t(v >> (8 * i));
}
constexpr void store_be32(std::uint8_t* p, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) p[i] = std::uint8_t(v >> (24 - 8 * i));
}
constexpr void store_be64(std::uint8_t* p, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) p[i] = std::uint8_t(v >> (56 - 8 * i));
}

// The value of a hexadecimal digit (either case), or -1.
[[nodiscard]] constexpr int hex_digit_value(std::uint8_t c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

BRINE_NAMESPACE_END
