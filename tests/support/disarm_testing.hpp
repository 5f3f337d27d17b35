// Helpers shared by unit tests: the default disarmer on bytes in memory.
#pragma once

#include <brine/brine.hpp>

#include <cstdint>
#include <string_view>
#include <vector>

namespace brine_test {

inline brine::result<brine::torch::report> scan_bytes(const std::vector<std::uint8_t>& data) {
    brine::torch::disarmer d;
    return d.scan(brine::byte_view(data.data(), data.size()));
}

// Disarms `data` into `out` through a vector_sink, which the disarmer reads back for its output
// check (readings/output_check.hpp).
inline brine::result<brine::torch::report> disarm_bytes(const std::vector<std::uint8_t>& data,
                                                        std::vector<std::uint8_t>& out) {
    brine::torch::disarmer d;
    const brine::byte_view view(data.data(), data.size());
    brine::vector_sink sink(out);
    return d.disarm(view, brine::memory_source(view), sink);
}

// The bytes of the record named `name` (a path under the archive's folder: "data.pkl", "version")
// in a torch zip held in memory; false when the archive or the record is not there.
inline bool record_of(const std::vector<std::uint8_t>& archive_bytes, std::string_view name,
                      std::vector<std::uint8_t>& out) {
    const brine::memory_source source(brine::byte_view(archive_bytes.data(), archive_bytes.size()));
    auto archive = brine::zip::reader<brine::memory_source>::open(source);
    if (!archive) return false;
    auto record = archive->find_record(name);
    if (!record) return false;
    out.clear();
    brine::vector_sink sink(out);
    return static_cast<bool>(archive->extract(**record, sink));
}

}  // namespace brine_test
