// SPDX-License-Identifier: MIT
//
// Memory blocks for large working sets (the value graph of a big pickle). The first touch of
// fresh memory costs a page fault per 4 KiB page, and on virtual machines that fault is the
// dominant cost of scanning a large pickle: filling fresh memory ran at about 200 MB/s on the
// 2-core CI machine, against 10 GB/s with 2 MiB pages. So blocks of 2 MiB and more are mapped
// 2 MiB-aligned and offered to the kernel for transparent huge pages (Linux; a no-op where THP is
// off). Smaller blocks, other systems and a caller's arena (BRINE_CALLER_ARENA) use
// detail::allocate_bytes.
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

BRINE_NAMESPACE_BEGIN
namespace detail {

inline constexpr std::size_t huge_page_size = std::size_t{2} << 20;

// An owned, uninitialised block of bytes.
class raw_block {
public:
    raw_block() noexcept = default;
    explicit raw_block(std::size_t bytes) : bytes_(bytes) {
        if (bytes == 0) return;
#if defined(__linux__) && defined(MADV_HUGEPAGE) && !BRINE_CALLER_ARENA
        if (bytes >= huge_page_size) {
            // Over-map by one huge page, then unmap the unaligned head and the tail.
            const std::size_t mapped = bytes + huge_page_size;
            void* base = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (base != MAP_FAILED) {
                const auto start = reinterpret_cast<std::uintptr_t>(base);
                const std::uintptr_t aligned = (start + huge_page_size - 1) & ~std::uintptr_t{huge_page_size - 1};
                if (aligned > start) ::munmap(base, aligned - start);
                const std::uintptr_t end = aligned + bytes;
                const std::uintptr_t mapped_end = start + mapped;
                if (mapped_end > end) ::munmap(reinterpret_cast<void*>(end), mapped_end - end);
                data_ = reinterpret_cast<void*>(aligned);
                ::madvise(data_, bytes, MADV_HUGEPAGE);
                mapped_ = true;
                return;
            }
        }
#endif
        data_ = allocate_bytes(bytes);
    }
    // Empty (data() == nullptr) when there is no memory, instead of ending the program.
    raw_block(std::size_t bytes, std::nothrow_t) noexcept
        : data_(try_allocate_bytes(bytes)), bytes_(data_ ? bytes : 0), nothrow_(true) {}
    raw_block(raw_block&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)),
          mapped_(std::exchange(other.mapped_, false)), nothrow_(std::exchange(other.nothrow_, false)) {}
    raw_block& operator=(raw_block&& other) noexcept {
        if (this != &other) {
            release();
            data_ = std::exchange(other.data_, nullptr);
            bytes_ = std::exchange(other.bytes_, 0);
            mapped_ = std::exchange(other.mapped_, false);
            nothrow_ = std::exchange(other.nothrow_, false);
        }
        return *this;
    }
    raw_block(const raw_block&) = delete;
    raw_block& operator=(const raw_block&) = delete;
    ~raw_block() { release(); }

    [[nodiscard]] void* data() const noexcept { return data_; }
    [[nodiscard]] std::size_t size() const noexcept { return bytes_; }

private:
    void release() noexcept {
        if (!data_) return;
#if defined(__linux__) && defined(MADV_HUGEPAGE) && !BRINE_CALLER_ARENA
        if (mapped_) {
            ::munmap(data_, bytes_);
            data_ = nullptr;
            return;
        }
#endif
        if (nothrow_) try_deallocate_bytes(data_, bytes_);
        else deallocate_bytes(data_, bytes_);
        data_ = nullptr;
    }

    void* data_ = nullptr;
    std::size_t bytes_ = 0;
    bool mapped_ = false;
    bool nothrow_ = false;  // from try_allocate_bytes
};

// One T in a nothrow raw_block: for large objects kept off a caller's (possibly small) stack.
template <class T>
class boxed {
public:
    // Empty when there was no memory.
    [[nodiscard]] static boxed make() noexcept {
        boxed b;
        b.block_ = raw_block(sizeof(T), std::nothrow);
        if (b.block_.data()) b.object_ = ::new (b.block_.data()) T();
        return b;
    }
    boxed(boxed&& other) noexcept : block_(std::move(other.block_)), object_(std::exchange(other.object_, nullptr)) {}
    boxed& operator=(boxed&&) = delete;
    ~boxed() {
        if (object_) object_->~T();
    }
    explicit operator bool() const noexcept { return object_ != nullptr; }
    T* operator->() const noexcept { return object_; }
    T& operator*() const noexcept { return *object_; }

private:
    boxed() noexcept = default;
    raw_block block_;
    T* object_ = nullptr;
};

// A growable array of trivially copyable values in a raw_block: like std::vector, but growth
// leaves new elements uninitialised and large arrays get huge pages.
template <class T>
class pod_array {
    static_assert(std::is_trivially_copyable_v<T>, "pod_array holds trivially copyable values only");

public:
    [[nodiscard]] T* data() noexcept { return static_cast<T*>(block_.data()); }
    [[nodiscard]] const T* data() const noexcept { return static_cast<const T*>(block_.data()); }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

    // New elements are uninitialised.
    void resize(std::size_t size) {
        if (size > capacity()) grow(size);
        size_ = size;
    }

private:
    [[nodiscard]] std::size_t capacity() const noexcept { return block_.size() / sizeof(T); }

    void grow(std::size_t wanted) {
        std::size_t bytes = capacity() * sizeof(T) * 2;
        if (bytes < wanted * sizeof(T)) bytes = wanted * sizeof(T);
        if (bytes < 256) bytes = 256;
        if (bytes >= huge_page_size) bytes = (bytes + huge_page_size - 1) & ~(huge_page_size - 1);
        raw_block bigger(bytes);
        if (size_ != 0) std::memcpy(bigger.data(), block_.data(), size_ * sizeof(T));
        block_ = std::move(bigger);
    }

    raw_block block_;
    std::size_t size_ = 0;
};

}  // namespace detail
BRINE_NAMESPACE_END
