// SPDX-License-Identifier: MIT
//
// Run-time CPU feature detection for the accelerated paths of SHA-256 and CRC-32. Detected once;
// compiling for a target without these instructions simply reports them absent.
#pragma once

#include <brine/config.hpp>

#if BRINE_ARCH_X86 && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif
#if BRINE_ARCH_ARM64 && defined(__linux__)
#include <sys/auxv.h>
#endif

BRINE_NAMESPACE_BEGIN

struct cpu_features {
    // x86
    bool sse41 = false;
    bool ssse3 = false;
    bool pclmul = false;
    bool sha_ni = false;
    bool avx512_vpclmul = false;  // AVX-512F + VPCLMULQDQ, with the OS saving ZMM state
    // ARMv8
    bool arm_sha2 = false;
    bool arm_crc32 = false;
    bool arm_pmull = false;
};

namespace detail {

inline cpu_features detect_cpu_features() noexcept {
    cpu_features f;
#if BRINE_ARCH_X86 && (defined(__GNUC__) || defined(__clang__))
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid(0, &eax, &ebx, &ecx, &edx)) {
        const unsigned max_leaf = eax;
        if (__get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
            f.ssse3 = (ecx >> 9) & 1;
            f.sse41 = (ecx >> 19) & 1;
            f.pclmul = (ecx >> 1) & 1;
        }
        const unsigned leaf1_ecx = ecx;
        const bool osxsave = (leaf1_ecx >> 27) & 1;
        if (max_leaf >= 7) {
            __cpuid_count(7, 0, eax, ebx, ecx, edx);
            f.sha_ni = (ebx >> 29) & 1;
            const bool avx512f = (ebx >> 16) & 1;
            const bool vpclmul = (ecx >> 10) & 1;
            // The OS must save the opmask and ZMM registers (XCR0 bits 1, 2, 5, 6, 7).
            unsigned xcr0_low = 0, xcr0_high = 0;
            if (osxsave) __asm__("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
            f.avx512_vpclmul = avx512f && vpclmul && (xcr0_low & 0xE6u) == 0xE6u;
        }
    }
#elif BRINE_ARCH_ARM64 && defined(__linux__)
    // Linux arm64 HWCAP bits (asm/hwcap.h), spelled out so no kernel header is needed.
    const unsigned long hwcap = getauxval(AT_HWCAP);
    f.arm_pmull = (hwcap >> 4) & 1;  // HWCAP_PMULL
    f.arm_sha2 = (hwcap >> 6) & 1;   // HWCAP_SHA2
    f.arm_crc32 = (hwcap >> 7) & 1;  // HWCAP_CRC32
#elif BRINE_ARCH_ARM64 && defined(__APPLE__)
    f.arm_pmull = f.arm_sha2 = f.arm_crc32 = true;  // every Apple arm64 CPU has them
#endif
    return f;
}

}  // namespace detail

// The features of the CPU this program runs on (detected on first use, thread-safe).
[[nodiscard]] inline const cpu_features& cpu() noexcept {
    static const cpu_features features = detail::detect_cpu_features();
    return features;
}

BRINE_NAMESPACE_END
