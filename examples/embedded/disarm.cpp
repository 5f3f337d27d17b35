// SPDX-License-Identifier: MIT
//
// brine's scan and disarm path as an embedded build compiles it: -fno-exceptions -fno-rtti -Os,
// BRINE_CALLER_ARENA=1 (every allocation from the caller's arena), limits::embedded, no NumPy
// and no weight extraction (formats::checkpoints_only), no threads, no iostreams. It is a
// translation unit of its own so that the test can list what it references: no operator new,
// no malloc (examples/embedded/check_embedded.cmake).
#include "disarm.h"

#include <brine/pipeline/disarm.hpp>

namespace firmware {
namespace {

using embedded_disarmer = brine::torch::basic_disarmer<brine::pickle::reader<brine::pickle::limits::embedded>,
                                                       brine::policy::torch_weights_only, brine::writer::torch_zip,
                                                       brine::mtd::none, brine::torch::formats::checkpoints_only>;

void copy_text(char* to, std::size_t capacity, std::string_view from) noexcept {
    const std::size_t n = from.size() < capacity - 1 ? from.size() : capacity - 1;
    for (std::size_t i = 0; i < n; ++i) to[i] = from[i];
    to[n] = '\0';
}

outcome describe(const brine::result<brine::torch::report>& done, const brine::arena& memory) noexcept {
    outcome out;
    out.arena_peak = memory.peak();
    if (!done) {
        const brine::error& e = done.err();
        out.code = brine::to_string(e.code).data();  // the table's strings are NUL-terminated literals
        out.offset = e.offset;
        copy_text(out.where, sizeof out.where, e.entry.view());
        out.expected = e.detail;
        return out;
    }
    const brine::torch::report& r = *done;
    out.result = r.findings.empty() ? verdict::clean : verdict::removed;
    out.written = static_cast<std::size_t>(r.output_size);
    out.findings = r.findings.size();
    out.tensors = r.tensors.size();
    if (!r.findings.empty()) {
        const brine::torch::finding_entry& first = r.findings.front();
        out.code = "finding";
        out.offset = first.offset;
        char global[sizeof out.where] = {};
        std::size_t n = 0;
        for (const std::string_view part : {std::string_view(first.module), std::string_view("."), std::string_view(first.name)})
            for (const char c : part)
                if (n + 1 < sizeof global) global[n++] = c;
        copy_text(out.where, sizeof out.where, first.module.empty() ? std::string_view(first.part) : std::string_view(global, n));
        copy_text(out.reason, sizeof out.reason, first.reason);
    }
    return out;
}

}  // namespace

outcome scan(const std::uint8_t* input, std::size_t size, void* arena, std::size_t arena_size) noexcept {
    brine::arena memory(arena, arena_size);
    outcome out;
    {
        const brine::arena_scope scope(memory);
        embedded_disarmer disarmer;
        out = describe(disarmer.scan(brine::byte_view(input, size)), memory);
    }  // everything the scan allocated is released before the arena goes
    return out;
}

outcome disarm(const std::uint8_t* input, std::size_t size, std::uint8_t* output, std::size_t output_capacity,
               void* arena, std::size_t arena_size) noexcept {
    brine::arena memory(arena, arena_size);
    outcome out;
    {
        const brine::arena_scope scope(memory);
        embedded_disarmer disarmer;
        brine::buffer_sink sink(brine::mutable_byte_view(output, output_capacity));
        const brine::byte_view file(input, size);
        out = describe(disarmer.disarm(file, brine::memory_source(file), sink), memory);
        if (out.result != verdict::error) out.written = sink.size();
    }
    return out;
}

}  // namespace firmware
