// SPDX-License-Identifier: MIT
//
// CRC-32 on ARMv8 with the CRC32 instructions (CRC32X/CRC32B), which compute exactly zip's
// reflected polynomial on the raw register. Compiled for the "crc" extension per function, so the
// rest of the program keeps its baseline; reached only through crc32_armv8_if_supported().
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/cpu.hpp>
#include <brine/zip/detail/crc32_polynomial.hpp>

#include <cstddef>
#include <cstdint>

// GCC declares the CRC intrinsics whatever the baseline; some Clang releases (14 among them) only
// when the whole unit targets +crc, so with Clang the builtins behind them are used directly.
#if BRINE_ARCH_ARM64 && BRINE_HAS_TARGET_ATTRIBUTE && !defined(__clang__)
#include <arm_acle.h>
#endif

BRINE_NAMESPACE_BEGIN
namespace zip::detail {

#if BRINE_ARCH_ARM64 && BRINE_HAS_TARGET_ATTRIBUTE

// Advances the raw register over `size` bytes, eight per instruction. load_le64 keeps the byte
// order the instruction expects (first byte in the low bits) on big-endian hosts too, and compiles
// to a plain unaligned load on little-endian ones.
#if defined(__clang__)
BRINE_TARGET("crc")
#else
BRINE_TARGET("+crc")
#endif
inline std::uint32_t crc32_update_armv8(std::uint32_t state, const std::uint8_t* data, std::size_t size) noexcept {
#if defined(__clang__)
    for (; size >= 8; data += 8, size -= 8) state = __builtin_arm_crc32d(state, load_le64(data));
    for (; size > 0; ++data, --size) state = __builtin_arm_crc32b(state, *data);
#else
    for (; size >= 8; data += 8, size -= 8) state = __crc32d(state, load_le64(data));
    for (; size > 0; ++data, --size) state = __crc32b(state, *data);
#endif
    return state;
}

#endif  // BRINE_ARCH_ARM64 && BRINE_HAS_TARGET_ATTRIBUTE

// The ARMv8 CRC32 implementation when this build has it and the CPU can run it, else nullptr.
[[nodiscard]] inline crc32_update_fn crc32_armv8_if_supported() noexcept {
#if BRINE_ARCH_ARM64 && BRINE_HAS_TARGET_ATTRIBUTE
    if (cpu().arm_crc32) return &crc32_update_armv8;
#endif
    return nullptr;
}

}  // namespace zip::detail
BRINE_NAMESPACE_END
