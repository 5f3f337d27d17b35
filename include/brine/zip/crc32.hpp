// SPDX-License-Identifier: MIT
//
// CRC-32 as zip, gzip and PNG use it (reflected polynomial 0xEDB88320, register preset to all ones
// and inverted at the end), with zlib's calling convention: the CRC of nothing is 0 and
// crc32(b, crc32(a)) == crc32(a followed by b).
//
// The fastest implementation the CPU supports is chosen once, at the first call: PCLMULQDQ folding
// on x86, the CRC32 instructions on ARMv8, otherwise portable slicing-by-16. A specific backend can
// be requested (for tests and benchmarks); one that this build or CPU lacks falls back to portable,
// which crc32_backend_available() tells in advance. All backends give identical results.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/zip/detail/crc32_arm.hpp>
#include <brine/zip/detail/crc32_polynomial.hpp>
#include <brine/zip/detail/crc32_portable.hpp>
#include <brine/zip/detail/crc32_x86.hpp>

#include <cstdint>
#include <initializer_list>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace zip {

enum class crc32_backend {
    automatic,   // the fastest available
    portable,    // slicing-by-16 tables, any CPU
    x86_pclmul,  // PCLMULQDQ + SSE4.1 carry-less folding
    arm_crc32,   // ARMv8 CRC32 instructions
    x86_vpclmul, // the same folding on AVX-512 registers (VPCLMULQDQ), 256 bytes per step
};

[[nodiscard]] inline std::string_view to_string(crc32_backend backend) noexcept {
    switch (backend) {
        case crc32_backend::automatic: return "automatic";
        case crc32_backend::portable: return "portable";
        case crc32_backend::x86_pclmul: return "x86_pclmul";
        case crc32_backend::arm_crc32: return "arm_crc32";
        case crc32_backend::x86_vpclmul: return "x86_vpclmul";
    }
    return "unknown";
}

namespace detail {

// The implementation of `backend`, or nullptr where this build or CPU lacks it.
[[nodiscard]] inline crc32_update_fn crc32_implementation_of(crc32_backend backend) noexcept {
    switch (backend) {
        case crc32_backend::automatic:
        case crc32_backend::portable: return &crc32_update_portable;
        case crc32_backend::x86_pclmul: return crc32_pclmul_if_supported();
        case crc32_backend::arm_crc32: return crc32_armv8_if_supported();
        case crc32_backend::x86_vpclmul: return crc32_vpclmul_if_supported();
    }
    return nullptr;
}

struct crc32_choice {
    crc32_backend backend;
    crc32_update_fn update;
};

// The backend `automatic` stands for on this CPU, decided once (thread-safe static initialisation).
[[nodiscard]] inline const crc32_choice& crc32_fastest() noexcept {
    static const crc32_choice choice = [] {
        for (const crc32_backend candidate :
             {crc32_backend::x86_vpclmul, crc32_backend::x86_pclmul, crc32_backend::arm_crc32}) {
            if (const crc32_update_fn update = crc32_implementation_of(candidate)) return crc32_choice{candidate, update};
        }
        return crc32_choice{crc32_backend::portable, &crc32_update_portable};
    }();
    return choice;
}

// What a request for `backend` runs: automatic resolves to the fastest, an unavailable backend
// falls back to portable.
[[nodiscard]] inline crc32_choice crc32_resolve(crc32_backend backend) noexcept {
    if (backend == crc32_backend::automatic) return crc32_fastest();
    if (const crc32_update_fn update = crc32_implementation_of(backend)) return {backend, update};
    return {crc32_backend::portable, &crc32_update_portable};
}

}  // namespace detail

// Whether `backend` runs natively here (built in and supported by this CPU). `automatic` and
// `portable` always are.
[[nodiscard]] inline bool crc32_backend_available(crc32_backend backend) noexcept {
    return detail::crc32_implementation_of(backend) != nullptr;
}

// The CRC-32 of `data` continued from `crc`, the CRC of the bytes before it (0 to start).
[[nodiscard]] inline std::uint32_t crc32(byte_view data, std::uint32_t crc = 0,
                                         crc32_backend backend = crc32_backend::automatic) noexcept {
    return ~detail::crc32_resolve(backend).update(~crc, data.data(), data.size());
}

// A running CRC-32 over data that arrives in pieces. The backend is resolved at construction.
class crc32_stream {
public:
    crc32_stream() noexcept : crc32_stream(crc32_backend::automatic) {}
    explicit crc32_stream(crc32_backend backend) noexcept : crc32_stream(detail::crc32_resolve(backend)) {}

    void update(byte_view data) noexcept { state_ = update_(state_, data.data(), data.size()); }
    // The CRC-32 of everything passed to update() so far.
    [[nodiscard]] std::uint32_t value() const noexcept { return ~state_; }
    void reset() noexcept { state_ = ~std::uint32_t{0}; }
    // The backend that runs (never `automatic`).
    [[nodiscard]] crc32_backend backend() const noexcept { return backend_; }

private:
    explicit crc32_stream(detail::crc32_choice choice) noexcept : backend_(choice.backend), update_(choice.update) {}

    crc32_backend backend_;
    detail::crc32_update_fn update_;
    std::uint32_t state_ = ~std::uint32_t{0};  // the raw register: zip presets it to all ones
};

}  // namespace zip
BRINE_NAMESPACE_END
