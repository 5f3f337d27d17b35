// SPDX-License-Identifier: MIT
//
// The interface between brine's scan/disarm path (disarm.cpp) and the firmware around it
// (main.cpp): plain structs and fixed buffers, nothing that allocates.
#pragma once

#include <cstddef>
#include <cstdint>

namespace firmware {

enum class verdict : int {
    clean = 0,     // nothing refused (disarm: the reconstruction equals the input's content)
    removed = 1,   // findings: the reconstruction leaves them out
    error = 2,     // unreadable, malformed, over a limit or unsupported: nothing written
};

struct outcome {
    verdict result = verdict::error;
    std::size_t written = 0;          // bytes of the reconstruction (disarm)
    std::size_t findings = 0;
    std::size_t tensors = 0;
    std::size_t arena_peak = 0;       // the most arena bytes in use at once
    // The error, or the first finding: fixed-size, truncated text.
    const char* code = "";            // e.g. "pickle.limit_exceeded" (static text)
    std::uint64_t offset = 0;
    char where[96] = {};              // archive entry, or the global a finding names
    const char* expected = "";        // static text: what was expected at `offset`
    char reason[160] = {};            // a finding's reason
};

// Scans `input`, or disarms it into `output` (at most `output_capacity` bytes), using only
// `arena` (the caller's memory, `arena_size` bytes) for every allocation.
outcome scan(const std::uint8_t* input, std::size_t size, void* arena, std::size_t arena_size) noexcept;
outcome disarm(const std::uint8_t* input, std::size_t size, std::uint8_t* output, std::size_t output_capacity,
               void* arena, std::size_t arena_size) noexcept;

}  // namespace firmware
