// brine — safe loading of pickle and PyTorch model files, without executing them.
// SPDX-License-Identifier: MIT
//
// Configuration: version, namespace and the few platform macros brine needs.
// Every macro brine defines starts with BRINE_ and is listed here.
#pragma once

// BRINE_VERSION_*: the library version (semantic versioning).
#define BRINE_VERSION_MAJOR 0
#define BRINE_VERSION_MINOR 1
#define BRINE_VERSION_PATCH 0
#define BRINE_VERSION_STRING "0.1.0"

// BRINE_HAS_EXCEPTIONS: 1 when the translation unit is compiled with exceptions. The library never
// throws; only the optional throwing conveniences (result::value_or_throw) depend on it.
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define BRINE_HAS_EXCEPTIONS 1
#else
#define BRINE_HAS_EXCEPTIONS 0
#endif

// BRINE_ARCH_X86 / BRINE_ARCH_ARM64: the target architecture, for runtime-dispatched fast paths.
#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#define BRINE_ARCH_X86 1
#else
#define BRINE_ARCH_X86 0
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
#define BRINE_ARCH_ARM64 1
#else
#define BRINE_ARCH_ARM64 0
#endif

// BRINE_HAS_POSIX_FILES: 1 where POSIX file I/O (open, pread, rename) is available; the file
// sources and sinks need it, everything that works on memory does not.
#if defined(__unix__) || defined(__APPLE__)
#define BRINE_HAS_POSIX_FILES 1
#else
#define BRINE_HAS_POSIX_FILES 0
#endif

// BRINE_HAS_THREADS: 1 where std::thread may be used (seal and verify hash on several cores).
// Define it to 0 for targets without threads: everything then runs on the calling thread.
#ifndef BRINE_HAS_THREADS
#define BRINE_HAS_THREADS 1
#endif

// BRINE_CALLER_ARENA: 1 makes every allocation of the library come from an arena the caller
// installs (brine::arena, brine::arena_scope in core/allocator.hpp) instead of the heap: for
// embedded targets with no heap, or one they must not fragment. Off by default. Like every
// BRINE_ macro, it must have the same value in every translation unit of a program.
#ifndef BRINE_CALLER_ARENA
#define BRINE_CALLER_ARENA 0
#endif

// BRINE_NAMESPACE_BEGIN / _END: one inline namespace named after the version and every setting
// that changes a type (as nlohmann/json does): v0, v0_arena with BRINE_CALLER_ARENA (the
// allocator type of every container differs), v0_nothreads without BRINE_HAS_THREADS (the
// hasher's members differ). Two brine versions, or two translation units built with different
// settings, then never violate the one-definition rule: their symbols differ, and a mix fails to
// link instead of running with mismatched layouts.
#if BRINE_CALLER_ARENA
#define BRINE_ABI_TAG_ARENA _arena
#else
#define BRINE_ABI_TAG_ARENA
#endif
#if BRINE_HAS_THREADS
#define BRINE_ABI_TAG_THREADS
#else
#define BRINE_ABI_TAG_THREADS _nothreads
#endif
#define BRINE_ABI_JOIN(version, arena, threads) version##arena##threads
#define BRINE_ABI_NAME(version, arena, threads) BRINE_ABI_JOIN(version, arena, threads)
#define BRINE_NAMESPACE_BEGIN \
    namespace brine {         \
    inline namespace BRINE_ABI_NAME(v0, BRINE_ABI_TAG_ARENA, BRINE_ABI_TAG_THREADS) {
#define BRINE_NAMESPACE_END \
    }                       \
    }

// BRINE_TARGET(features): compile one function for extra instruction-set features (GCC/Clang
// function multiversioning), so accelerated paths exist without raising the baseline of the whole
// program; they are only called after the CPU has been checked at run time.
#if defined(__GNUC__) || defined(__clang__)
#define BRINE_HAS_TARGET_ATTRIBUTE 1
#define BRINE_TARGET(features) __attribute__((target(features)))
#else
#define BRINE_HAS_TARGET_ATTRIBUTE 0
#define BRINE_TARGET(features)
#endif

// BRINE_LIKELY / BRINE_UNLIKELY: branch hints on the hot paths of the decoders.
#if defined(__GNUC__) || defined(__clang__)
#define BRINE_LIKELY(x) __builtin_expect(!!(x), 1)
#define BRINE_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define BRINE_LIKELY(x) (x)
#define BRINE_UNLIKELY(x) (x)
#endif

// BRINE_FORCE_INLINE: for the few small helpers on the hot paths where inlining decides speed.
#if defined(__GNUC__) || defined(__clang__)
#define BRINE_FORCE_INLINE inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define BRINE_FORCE_INLINE __forceinline
#else
#define BRINE_FORCE_INLINE inline
#endif
