// SPDX-License-Identifier: MIT
//
// Where the library's memory comes from. By default it is the heap, through std::allocator. With
// BRINE_CALLER_ARENA=1 it is an arena over a buffer the caller owns (a static array on a device
// without a heap), installed for a scope with brine::arena_scope: the library then never calls
// operator new or malloc. The containers of the reading and writing paths are named through the
// aliases below (alloc::vector, alloc::string, ...), so both builds share one source and the
// default build keeps plain std:: types in its interfaces.
//
// The arena is a bump allocator. Freeing the most recent block gives its bytes back; anything
// else is reclaimed when the arena is reset. A growing array therefore leaves its old copies
// behind: at most the sum of a geometric series, under twice its final size.
//
// Running out: an allocator must return memory or not return at all (the containers cannot be
// told), so an exhausted arena calls the caller's handler, which must not return (abort, reset
// the device); the default aborts. Size the arena so that the pickle limits refuse a file first:
// limits::embedded bounds every structure the reader builds (see examples/embedded/).
#pragma once

#include <brine/config.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <set>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

BRINE_NAMESPACE_BEGIN

// A bump allocator over caller-owned bytes. Not thread-safe: one arena per thread.
class arena {
public:
    arena(void* buffer, std::size_t size) noexcept
        : base_(static_cast<unsigned char*>(buffer)), capacity_(buffer ? size : 0) {}
    arena(const arena&) = delete;
    arena& operator=(const arena&) = delete;

    // nullptr when the arena cannot hold `bytes` more at `alignment` (a power of two).
    [[nodiscard]] void* allocate(std::size_t bytes, std::size_t alignment) noexcept {
        const auto start = reinterpret_cast<std::uintptr_t>(base_);
        const std::uintptr_t aligned = (start + used_ + alignment - 1) & ~std::uintptr_t(alignment - 1);
        const std::size_t offset = static_cast<std::size_t>(aligned - start);
        if (offset > capacity_ || bytes > capacity_ - offset) return nullptr;
        last_ = offset;
        used_ = offset + bytes;
        if (used_ > peak_) peak_ = used_;
        return base_ + offset;
    }
    // Gives the bytes back only for the most recent block (a stack discipline costs nothing).
    void deallocate(void* block, std::size_t bytes) noexcept {
        auto* p = static_cast<unsigned char*>(block);
        if (p == base_ + last_ && last_ + bytes == used_) used_ = last_;
    }
    void reset() noexcept { used_ = last_ = 0; }

    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] std::size_t used() const noexcept { return used_; }
    // The most ever in use at once since construction: what to size the buffer by.
    [[nodiscard]] std::size_t peak() const noexcept { return peak_; }

private:
    unsigned char* base_;
    std::size_t capacity_;
    std::size_t used_ = 0;
    std::size_t last_ = 0;
    std::size_t peak_ = 0;
};

// Called with the size asked for when the installed arena is exhausted (or none is installed); it
// must not return.
using arena_exhausted_handler = void (*)(std::size_t bytes);

namespace detail {

struct arena_state {
    arena* current = nullptr;
    arena_exhausted_handler on_exhausted = nullptr;
};

#if BRINE_HAS_THREADS
inline arena_state& current_arena_state() noexcept {
    static thread_local arena_state state;
    return state;
}
#else
inline arena_state& current_arena_state() noexcept {
    static arena_state state;
    return state;
}
#endif

}  // namespace detail

inline void set_arena_exhausted_handler(arena_exhausted_handler handler) noexcept {
    detail::current_arena_state().on_exhausted = handler;
}

// Installs `a` for the library's allocations on this thread until the scope ends (scopes nest).
class arena_scope {
public:
    explicit arena_scope(arena& a) noexcept : previous_(detail::current_arena_state().current) {
        detail::current_arena_state().current = &a;
    }
    arena_scope(const arena_scope&) = delete;
    arena_scope& operator=(const arena_scope&) = delete;
    ~arena_scope() { detail::current_arena_state().current = previous_; }

private:
    arena* previous_;
};

namespace detail {

#if BRINE_CALLER_ARENA

[[nodiscard]] inline void* arena_allocate(std::size_t bytes, std::size_t alignment) noexcept {
    arena_state& state = current_arena_state();
    void* block = state.current ? state.current->allocate(bytes, alignment) : nullptr;
    if (!block) {
        if (state.on_exhausted) state.on_exhausted(bytes);
        std::abort();
    }
    return block;
}
inline void arena_deallocate(void* block, std::size_t bytes) noexcept {
    if (arena* a = current_arena_state().current) a->deallocate(block, bytes);
}

template <class T>
struct allocator {
    using value_type = T;
    allocator() noexcept = default;
    template <class U>
    allocator(const allocator<U>&) noexcept {}  // NOLINT: rebinding is implicit by design

    [[nodiscard]] T* allocate(std::size_t n) noexcept {
        // An overflowing count asks for more than any arena holds: the exhausted handler.
        const std::size_t bytes = n > std::size_t(-1) / sizeof(T) ? std::size_t(-1) : n * sizeof(T);
        return static_cast<T*>(arena_allocate(bytes, alignof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept { arena_deallocate(p, n * sizeof(T)); }

    template <class U>
    friend bool operator==(const allocator&, const allocator<U>&) noexcept {
        return true;
    }
    template <class U>
    friend bool operator!=(const allocator&, const allocator<U>&) noexcept {
        return false;
    }
};

// Untyped blocks (raw_block, text blocks).
[[nodiscard]] inline void* allocate_bytes(std::size_t bytes) noexcept {
    return arena_allocate(bytes, alignof(std::max_align_t));
}
inline void deallocate_bytes(void* block, std::size_t bytes) noexcept { arena_deallocate(block, bytes); }
// nullptr instead of the handler: for the few callers that report running out as an error.
[[nodiscard]] inline void* try_allocate_bytes(std::size_t bytes) noexcept {
    arena* a = current_arena_state().current;
    return a ? a->allocate(bytes, alignof(std::max_align_t)) : nullptr;
}
inline void try_deallocate_bytes(void* block, std::size_t bytes) noexcept { arena_deallocate(block, bytes); }

#else

template <class T>
using allocator = std::allocator<T>;

[[nodiscard]] inline void* allocate_bytes(std::size_t bytes) { return ::operator new(bytes); }
inline void deallocate_bytes(void* block, std::size_t) noexcept { ::operator delete(block); }
// malloc, not a nothrow operator new: that one still calls the program's new_handler, which may
// end the program (the CLI's does), where the caller wants an error it can report.
[[nodiscard]] inline void* try_allocate_bytes(std::size_t bytes) noexcept { return std::malloc(bytes); }
inline void try_deallocate_bytes(void* block, std::size_t) noexcept { std::free(block); }

#endif

}  // namespace detail

// The containers of the library's reading and writing paths: std:: containers over
// detail::allocator, so std::vector and friends themselves in the default build.
namespace alloc {
template <class T>
using vector = std::vector<T, detail::allocator<T>>;
using string = std::basic_string<char, std::char_traits<char>, detail::allocator<char>>;
template <class Key, class Value, class Hash = std::hash<Key>, class Equal = std::equal_to<Key>>
using unordered_map = std::unordered_map<Key, Value, Hash, Equal, detail::allocator<std::pair<const Key, Value>>>;
template <class Key, class Less = std::less<Key>>
using set = std::set<Key, Less, detail::allocator<Key>>;

// std::to_string into an alloc::string (std::to_chars: no locale, no heap).
template <class Integer, class = std::enable_if_t<std::is_integral_v<Integer>>>
[[nodiscard]] string to_string(Integer value) {
    char digits[24];
    const auto converted = std::to_chars(digits, digits + sizeof digits, value);
    return string(digits, static_cast<std::size_t>(converted.ptr - digits));
}
}  // namespace alloc

BRINE_NAMESPACE_END
