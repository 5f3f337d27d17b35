// SPDX-License-Identifier: MIT
//
// NumPy .npz archives (THREATS.md F5): a zip of .npy members, as np.savez (stored) and
// np.savez_compressed (deflated) write it. The archive is read with the strict zip reader, every
// member must be named *.npy and parse as a strict .npy file (numpy itself decides by the magic
// bytes and hands anything else back as raw bytes), and a rebuild writes a fresh archive with
// zip::writer (stored, data 64-byte aligned) whose members are each written anew by the .npy
// writer. Numeric members stream through in bounded memory; object members (a pickle) are held
// in memory to be evaluated, within the pickle Limits.
//
// Object members whose pickle the policy refuses are reported (scan_npz) and, like refused dict
// entries in a pickle, left out of a rebuild (npz_options::drop_refused_objects), or refused.
//
// zip::reader reads .npz archives with reader_limits::single_root off (members have no folder)
// and all its other rules: end records, central directory, layout, names, CRCs, inflate.
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/numpy/default_allowlist.hpp>
#include <brine/numpy/npy.hpp>
#include <brine/pickle/limits.hpp>
#include <brine/pickle/machine.hpp>
#include <brine/zip/detail/name_rules.hpp>
#include <brine/zip/reader.hpp>
#include <brine/zip/writer.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

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

// Members sit at the top level of an .npz (no folder), and np.savez() of nothing writes an empty
// archive that np.load reads.
[[nodiscard]] inline zip::reader_limits npz_zip_limits() noexcept {
    zip::reader_limits limits;
    limits.single_root = false;
    return limits;
}

struct npz_limits {
    npy_limits npy;
    zip::reader_limits zip = npz_zip_limits();
};

// One member of an archive: its name (np.load's key is the name without ".npy"), its header, and
// for object arrays the pickle and its evaluation.
struct npz_member {
    alloc::string name;
    npy_header header;
    alloc::vector<std::uint8_t> data;   // object arrays: the member's pickle (the graph points into it)
    pickle::evaluation objects;       // offsets in it count from header.data_offset in the member

    [[nodiscard]] bool has_objects() const noexcept { return header.has_objects(); }
    [[nodiscard]] const alloc::vector<pickle::finding>& findings() const noexcept { return objects.values.findings(); }
    [[nodiscard]] bool clean() const noexcept { return findings().empty(); }
};

struct npz_scan {
    alloc::vector<npz_member> members;  // in central-directory order

    [[nodiscard]] bool clean() const noexcept {
        return std::all_of(members.begin(), members.end(), [](const npz_member& m) { return m.clean(); });
    }
};

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

namespace detail {

inline error in_member(error e, std::string_view name) noexcept {
    e.entry = name;
    return e;
}

// Stands in for a zip writer when only scanning.
struct no_writer {
    status open_entry(std::string_view, std::uint64_t) noexcept { return {}; }
    status write(byte_view) noexcept { return {}; }
};

// Receives one member's bytes as the zip reader extracts them: collects the preamble and parses
// it, then passes a numeric array's data straight on (to a zip writer, after the fresh preamble),
// or keeps an object array's pickle. Offsets in its errors count from the member's first byte.
template <class Writer>
class member_sink {
public:
    member_sink(const zip::entry& item, const npy_limits& limits, std::uint64_t max_pickle, Writer* out) noexcept
        : item_(&item), limits_(&limits), max_pickle_(max_pickle), out_(out) {}

    status write(byte_view bytes) noexcept {
        const status written = consume(bytes);
        if (!written) failure_ = written.err();
        return written;
    }

    // The error this sink returned, as it returned it: the inflater shifts errors that pass
    // through it by the entry's offset in the archive, and these count from the member's start.
    [[nodiscard]] const error& failure() const noexcept { return failure_; }

    // After the extraction: the member held a whole preamble.
    status finish() noexcept {
        if (phase_ != phase::preamble) return {};
        auto size = npy_preamble_size(byte_view(buffer_.data(), buffer_.size()), *limits_);
        if (!size) return in_member(size.err(), item_->name);
        return error{errc::numpy_truncated_header, buffer_.size(), "the whole header its length field declares",
                     item_->name};
    }

    [[nodiscard]] npy_header& header() noexcept { return header_; }
    [[nodiscard]] alloc::vector<std::uint8_t>& data() noexcept { return data_; }

private:
    enum class phase { preamble, numeric, objects };

    status consume(byte_view bytes) noexcept {
        while (!bytes.empty()) {
            if (phase_ == phase::numeric) {
                if (out_ != nullptr) {
                    const status written = out_->write(bytes);
                    if (!written) return in_member(written.err(), item_->name);
                }
                return {};
            }
            if (phase_ == phase::objects) {
                data_.insert(data_.end(), bytes.begin(), bytes.end());
                return {};
            }
            // The first 12 bytes (or the whole member, if shorter) tell the preamble's length.
            const std::uint64_t target = preamble_size_ != 0 ? preamble_size_ : std::min<std::uint64_t>(12, item_->uncompressed_size);
            const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(target - buffer_.size(), bytes.size()));
            buffer_.insert(buffer_.end(), bytes.begin(), bytes.begin() + take);
            bytes = bytes.subview(take);
            if (buffer_.size() == target) {
                const status advanced = advance();
                if (!advanced) return in_member(advanced.err(), item_->name);
            }
        }
        return {};
    }

    status advance() noexcept {
        const std::uint64_t member_size = item_->uncompressed_size;
        if (preamble_size_ == 0) {
            auto size = npy_preamble_size(byte_view(buffer_.data(), buffer_.size()), *limits_);
            BRINE_TRY(size);
            if (*size > member_size)
                return error{errc::numpy_truncated_header, member_size, "the whole header its length field declares"};
            preamble_size_ = *size;
            if (buffer_.size() < preamble_size_) return {};
        }
        auto parsed = parse_npy_header(byte_view(buffer_.data(), buffer_.size()), *limits_);
        BRINE_TRY(parsed);
        header_ = std::move(*parsed);
        const std::uint64_t rest = member_size - preamble_size_;
        if (header_.has_objects()) {
            if (rest > max_pickle_) return error{errc::limit_exceeded, preamble_size_, "a pickle within the pickle limits"};
            data_.reserve(static_cast<std::size_t>(rest));
            phase_ = phase::objects;
            return {};
        }
        if (rest < header_.data_size)
            return error{errc::numpy_truncated_data, member_size, "as many data bytes as shape x itemsize"};
        if (rest > header_.data_size)
            return error{errc::numpy_trailing_data, preamble_size_ + header_.data_size,
                         "the end of the member right after shape x itemsize data bytes"};
        if (out_ != nullptr) {
            alloc::vector<std::uint8_t> preamble;
            BRINE_TRY(append_npy_preamble(header_, preamble));
            BRINE_TRY(out_->open_entry(item_->name, preamble.size() + header_.data_size));
            BRINE_TRY(out_->write(byte_view(preamble.data(), preamble.size())));
        }
        phase_ = phase::numeric;
        return {};
    }

    const zip::entry* item_;
    const npy_limits* limits_;
    std::uint64_t max_pickle_;
    Writer* out_;
    phase phase_ = phase::preamble;
    std::uint64_t preamble_size_ = 0;
    alloc::vector<std::uint8_t> buffer_;
    alloc::vector<std::uint8_t> data_;
    npy_header header_;
    error failure_;
};

[[nodiscard]] inline status check_member_name(const zip::entry& item) noexcept {
    const std::string_view name = item.name;
    if (name.size() <= 4 || name.substr(name.size() - 4) != ".npy")
        return error{errc::numpy_not_npy, 0, "only members named <key>.npy", name};
    return {};
}

// Reads one member into `member`; with a writer, a numeric member's entry is left open.
template <class Policy, class Limits, class Reader, class Writer, class Archive>
[[nodiscard]] status read_member(const Archive& archive, const zip::entry& item, const Policy& rules,
                                 const npy_limits& limits, npz_member& member, Writer* out) noexcept {
    BRINE_TRY(check_member_name(item));
    member_sink<Writer> sink(item, limits, Limits::max_pickle_size, out);
    const status extracted = archive.extract(item, sink);
    if (!extracted) return sink.failure().code != errc::ok ? sink.failure() : extracted.err();
    BRINE_TRY(sink.finish());
    member.name.assign(item.name.data(), item.name.size());
    member.header = std::move(sink.header());
    if (!member.has_objects()) return {};
    member.data = std::move(sink.data());
    pickle::machine<Policy, Limits, Reader> machine(rules);
    const status run = machine.run(byte_view(member.data.data(), member.data.size()), member.objects);
    if (!run) return in_member(shifted(run.err(), member.header.data_offset), item.name);
    return {};
}

}  // namespace detail

// Reads and checks every member of an .npz from a RandomAccessSource (memory_source,
// file_source, ...), evaluating object members' pickles under the policy.
template <class Policy = default_allowlist, class Limits = pickle::limits::standard,
          class Reader = pickle::reader<Limits>, class Source, class = std::enable_if_t<is_random_access_source_v<Source>>>
[[nodiscard]] result<npz_scan> scan_npz(const Source& source, const Policy& rules = Policy{},
                                        const npz_limits& limits = {}) noexcept {
    auto archive = zip::reader<Source>::open(source, limits.zip);
    BRINE_TRY(archive);
    npz_scan scan;
    scan.members.reserve(archive->entries().size());
    for (const zip::entry& item : archive->entries()) {
        npz_member member;
        BRINE_TRY((detail::read_member<Policy, Limits, Reader>(*archive, item, rules, limits.npy, member,
                                                               static_cast<detail::no_writer*>(nullptr))));
        scan.members.push_back(std::move(member));
    }
    return scan;
}

template <class Policy = default_allowlist, class Limits = pickle::limits::standard>
[[nodiscard]] result<npz_scan> scan_npz(byte_view file, const Policy& rules = Policy{},
                                        const npz_limits& limits = {}) noexcept {
    const memory_source source(file);
    return scan_npz<Policy, Limits>(source, rules, limits);
}

// Writes a fresh .npz into a SeekableSink (vector_sink, atomic_file_sink, ...): members in the
// input's order, each rebuilt as write_rebuilt would. On failure the sink holds a partial archive:
// atomic_file_sink discards it unless committed.
template <class Policy = default_allowlist, class Limits = pickle::limits::standard,
          class Reader = pickle::reader<Limits>, class Source, class SeekableSink,
          class = std::enable_if_t<is_random_access_source_v<Source> && zip::is_seekable_sink_v<SeekableSink>>>
[[nodiscard]] result<npz_rebuild_stats> rebuild_npz(const Source& source, SeekableSink& sink,
                                                    const Policy& rules = Policy{},
                                                    const npz_options& options = {}) noexcept {
    auto archive = zip::reader<Source>::open(source, options.limits.zip);
    BRINE_TRY(archive);
    zip::writer<SeekableSink> out(sink);
    npz_rebuild_stats stats;
    for (const zip::entry& item : archive->entries()) {
        npz_member member;
        BRINE_TRY((detail::read_member<Policy, Limits, Reader>(*archive, item, rules, options.limits.npy, member, &out)));
        if (!member.has_objects()) {
            BRINE_TRY(out.close_entry());
            ++stats.members_written;
            continue;
        }
        if (!member.clean()) {
            if (!options.drop_refused_objects)
                return error{errc::numpy_object_refused, member.header.data_offset + member.findings().front().offset,
                             "object members whose pickle the policy accepts in full (scan_npz lists the findings)",
                             member.name};
            stats.dropped.push_back(std::move(member));
            continue;
        }
        npy_scan rebuilt;
        rebuilt.array.header = std::move(member.header);
        rebuilt.array.data = byte_view(member.data.data(), member.data.size());
        rebuilt.objects = std::move(member.objects);
        alloc::vector<std::uint8_t> bytes;
        vector_sink memory(bytes);
        auto written = write_rebuilt(rebuilt, memory, pickle::writer_limits::of<Limits>());
        if (!written) return detail::in_member(written.err(), member.name);
        BRINE_TRY(out.add(member.name, byte_view(bytes.data(), bytes.size())));
        ++stats.members_written;
    }
    BRINE_TRY(out.finish());
    stats.bytes_written = out.bytes_written();
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
