// SPDX-License-Identifier: MIT
//
// Writing a fresh .npz archive (THREATS.md F5) from a scan (numpy/npz_scan.hpp) and the archive it
// was read from, with zip::writer (stored, data 64-byte aligned), members in the input's order:
//   numeric members   the canonical preamble (numpy/npy_write.hpp), then the data streamed again
//                     from the input archive, its original preamble skipped (never held whole)
//   object members    written from the evaluation the scan kept (write_rebuilt): no pickle is
//                     evaluated a second time; those whose pickle the policy refused are left
//                     out (reported by index), or refused before anything is written.
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/numpy/npy.hpp>
#include <brine/numpy/npy_write.hpp>
#include <brine/numpy/npz_scan.hpp>
#include <brine/pickle/writer.hpp>
#include <brine/zip/reader.hpp>
#include <brine/zip/writer.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace numpy {

struct npz_write_stats {
    std::size_t members_written = 0;
    alloc::vector<std::size_t> dropped;  // indices in scan.members of the refused object members left out
    std::uint64_t bytes_written = 0;
};

namespace detail {

// Passes a member's bytes on to the zip writer but for its first `skip` (the input's preamble,
// replaced by a fresh one). Keeps the error it returned: the inflater shifts errors that pass
// through it by the entry's offset in the archive.
template <class Next>
class skip_preamble_sink {
public:
    skip_preamble_sink(std::uint64_t skip, Next& next) noexcept : skip_(skip), next_(&next) {}

    status write(byte_view bytes) noexcept {
        const std::size_t skipped = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, bytes.size()));
        skip_ -= skipped;
        bytes = bytes.subview(skipped);
        if (bytes.empty()) return {};
        const status written = next_->write(bytes);
        if (!written) failure_ = written.err();
        return written;
    }
    [[nodiscard]] const error& failure() const noexcept { return failure_; }

private:
    std::uint64_t skip_;
    Next* next_;
    error failure_;
};

template <class Archive, class ZipWriter>
[[nodiscard]] status write_numeric_member(const Archive& archive, const zip::entry& item, const npz_member& member,
                                          ZipWriter& out) noexcept {
    alloc::vector<std::uint8_t> preamble;
    BRINE_TRY(append_npy_preamble(member.header, preamble));
    BRINE_TRY(out.open_entry(member.name, preamble.size() + member.header.data_size));
    BRINE_TRY(out.write(byte_view(preamble.data(), preamble.size())));
    skip_preamble_sink<ZipWriter> data(member.header.data_offset, out);
    const status extracted = archive.extract(item, data);
    if (!extracted) return in_member(data.failure().code != errc::ok ? data.failure() : extracted.err(), member.name);
    return out.close_entry();
}

}  // namespace detail

// Writes a fresh .npz into a SeekableSink (vector_sink, atomic_file_sink, ...) from `scan`, read
// from `archive` (scan_npz_archive: its members parallel to archive.entries()). `bounds`: the
// limits the scan's machine had. With drop_refused_objects false, an object member with findings
// is errc::numpy_object_refused before anything is written; on a later failure the sink holds a
// partial archive (atomic_file_sink discards it unless committed).
template <class Source, class SeekableSink>
[[nodiscard]] result<npz_write_stats> write_npz(const zip::reader<Source>& archive, const npz_scan& scan,
                                                SeekableSink& sink, bool drop_refused_objects = true,
                                                pickle::writer_limits bounds = {}) noexcept {
    static_assert(zip::is_seekable_sink_v<SeekableSink>,
                  "SeekableSink must have: status write(byte_view) and status write_at(std::uint64_t, byte_view)");
    const auto& entries = archive.entries();
    if (entries.size() != scan.members.size())
        return error{errc::invalid_argument, 0, "a scan of this archive (scan_npz_archive)"};
    npz_write_stats stats;
    for (std::size_t i = 0; i < scan.members.size(); ++i) {
        const npz_member& member = scan.members[i];
        if (member.name != entries[i].name)
            return error{errc::invalid_argument, 0, "a scan of this archive (scan_npz_archive)", member.name};
        if (!member.has_objects() || member.clean()) continue;
        if (!drop_refused_objects)
            return error{errc::numpy_object_refused, member.header.data_offset + member.findings().front().offset,
                         "object members whose pickle the policy accepts in full (scan_npz lists the findings)",
                         member.name};
        stats.dropped.push_back(i);
    }

    zip::writer<SeekableSink> out(sink);
    for (std::size_t i = 0; i < scan.members.size(); ++i) {
        const npz_member& member = scan.members[i];
        if (!member.has_objects()) {
            BRINE_TRY(detail::write_numeric_member(archive, entries[i], member, out));
            ++stats.members_written;
            continue;
        }
        if (!member.clean()) continue;  // dropped, above
        alloc::vector<std::uint8_t> bytes;
        vector_sink memory(bytes);
        auto written = write_rebuilt(member.header, byte_view(member.data.data(), member.data.size()),
                                     member.objects, memory, bounds);
        if (!written) return detail::in_member(written.err(), member.name);
        BRINE_TRY(out.add(member.name, byte_view(bytes.data(), bytes.size())));
        ++stats.members_written;
    }
    BRINE_TRY(out.finish());
    stats.bytes_written = out.bytes_written();
    return stats;
}

}  // namespace numpy
BRINE_NAMESPACE_END
