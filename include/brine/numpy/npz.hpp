// SPDX-License-Identifier: MIT
//
// NumPy .npz archives (THREATS.md F5), the entry point: a zip of .npy members, as np.savez
// (stored) and np.savez_compressed (deflated) write it. scan_npz (numpy/npz_scan.hpp) reads and
// checks every member, evaluating object members' pickles once; rebuild_npz writes a fresh
// archive from that scan (numpy/npz_write.hpp): numeric members streamed again in bounded
// memory, object members from their evaluation.
//
// Object members whose pickle the policy refuses are reported (scan_npz) and, like refused dict
// entries in a pickle, left out of a rebuild (npz_options::drop_refused_objects), or refused.
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/numpy/default_allowlist.hpp>
#include <brine/numpy/npy.hpp>
#include <brine/numpy/npz_scan.hpp>
#include <brine/numpy/npz_write.hpp>
#include <brine/pickle/limits.hpp>
#include <brine/pickle/writer.hpp>
#include <brine/zip/reader.hpp>
#include <brine/zip/writer.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

BRINE_NAMESPACE_BEGIN
namespace numpy {

// What np.load would do with a file, from its first 6 bytes: a zip signature (a local header, or
// the end record of an empty archive) is an .npz, the magic an .npy; anything else np.load hands
// to pickle.load when allow_pickle=True, so scan it as a pickle.
enum class file_format { npy, npz, other };

[[nodiscard]] inline file_format detect(byte_view start) noexcept {
    const auto starts_with = [&](std::string_view prefix) {
        return start.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), start.begin(),
                                                           [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; });
    };
    if (starts_with("PK\x03\x04") || starts_with("PK\x05\x06")) return file_format::npz;
    if (starts_with(std::string_view(reinterpret_cast<const char*>(detail::npy_magic), sizeof detail::npy_magic)))
        return file_format::npy;
    return file_format::other;
}

struct npz_options {
    npz_limits limits;
    // Leave refused object members out of a rebuild (true), or refuse the archive (false).
    bool drop_refused_objects = true;
};

struct npz_rebuild_stats {
    std::size_t members_written = 0;
    alloc::vector<npz_member> dropped;  // object members left out, with their findings
    std::uint64_t bytes_written = 0;
};

// Writes a fresh .npz into a SeekableSink (vector_sink, atomic_file_sink, ...): members in the
// input's order, each rebuilt as write_rebuilt would, every pickle evaluated once (scan_npz, then
// write_npz). A refusal (drop_refused_objects off) comes before anything is written; on another
// failure the sink holds a partial archive: atomic_file_sink discards it unless committed.
template <class Policy = default_allowlist, class Limits = pickle::limits::standard,
          class Reader = pickle::reader<Limits>, class Source, class SeekableSink,
          class = std::enable_if_t<is_random_access_source_v<Source> && zip::is_seekable_sink_v<SeekableSink>>>
[[nodiscard]] result<npz_rebuild_stats> rebuild_npz(const Source& source, SeekableSink& sink,
                                                    const Policy& rules = Policy{},
                                                    const npz_options& options = {}) noexcept {
    auto archive = zip::reader<Source>::open(source, options.limits.zip);
    BRINE_TRY(archive);
    auto scan = scan_npz_archive<Policy, Limits, Reader>(*archive, rules, options.limits.npy);
    BRINE_TRY(scan);
    auto written = write_npz(*archive, *scan, sink, options.drop_refused_objects, pickle::writer_limits::of<Limits>());
    BRINE_TRY(written);
    npz_rebuild_stats stats;
    stats.members_written = written->members_written;
    stats.bytes_written = written->bytes_written;
    for (const std::size_t i : written->dropped) stats.dropped.push_back(std::move(scan->members[i]));
    return stats;
}

// The same from bytes in memory, appending to a vector (left as it was on failure).
template <class Policy = default_allowlist, class Limits = pickle::limits::standard>
[[nodiscard]] result<npz_rebuild_stats> rebuild_npz(byte_view file, alloc::vector<std::uint8_t>& out,
                                                    const Policy& rules = Policy{},
                                                    const npz_options& options = {}) noexcept {
    const memory_source source(file);
    alloc::vector<std::uint8_t> fresh;
    vector_sink sink(fresh);
    auto stats = rebuild_npz<Policy, Limits>(source, sink, rules, options);
    BRINE_TRY(stats);
    out.insert(out.end(), fresh.begin(), fresh.end());
    return stats;
}

}  // namespace numpy
BRINE_NAMESPACE_END
