// SPDX-License-Identifier: MIT
//
// Reading a NumPy .npz archive (THREATS.md F5) into a scan: a zip of .npy members, as np.savez
// (stored) and np.savez_compressed (deflated) write it. The archive is read with the strict zip
// reader (reader_limits::single_root off: members have no folder; all its other rules: end
// records, central directory, layout, names, CRCs, inflate), every member must be named *.npy and
// parse as a strict .npy file (numpy itself decides by the magic bytes and hands anything else
// back as raw bytes). Numeric members stream through in bounded memory (their data is not kept);
// object members (a pickle) are held in memory and evaluated under the policy, within the pickle
// Limits, once: numpy/npz_write.hpp writes a fresh archive from the scan.
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
#include <brine/zip/reader.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

BRINE_NAMESPACE_BEGIN
namespace numpy {

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

namespace detail {

inline error in_member(error e, std::string_view name) noexcept {
    e.entry = name;
    return e;
}

// Receives one member's bytes as the zip reader extracts them: collects the preamble and parses
// it, then lets a numeric array's data pass (checked by the extraction's CRC and size; a rebuild
// streams it again, numpy/npz_write.hpp), or keeps an object array's pickle. Offsets in its
// errors count from the member's first byte.
class member_sink {
public:
    member_sink(const zip::entry& item, const npy_limits& limits, std::uint64_t max_pickle) noexcept
        : item_(&item), limits_(&limits), max_pickle_(max_pickle) {}

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
            if (phase_ == phase::numeric) return {};
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
        phase_ = phase::numeric;
        return {};
    }

    const zip::entry* item_;
    const npy_limits* limits_;
    std::uint64_t max_pickle_;
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

// Reads one member into `member`, evaluating an object member's pickle (once: a rebuild writes
// from this evaluation).
template <class Policy, class Limits, class Reader, class Archive>
[[nodiscard]] status read_member(const Archive& archive, const zip::entry& item, const Policy& rules,
                                 const npy_limits& limits, npz_member& member) noexcept {
    BRINE_TRY(check_member_name(item));
    member_sink sink(item, limits, Limits::max_pickle_size);
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

// Reads and checks every member of an archive already opened (with npz_zip_limits() rules),
// evaluating object members' pickles under the policy. The members are parallel to
// archive.entries(), which a rebuild (numpy/npz_write.hpp) reads numeric data from again.
template <class Policy = default_allowlist, class Limits = pickle::limits::standard,
          class Reader = pickle::reader<Limits>, class Source>
[[nodiscard]] result<npz_scan> scan_npz_archive(const zip::reader<Source>& archive, const Policy& rules = Policy{},
                                                const npy_limits& limits = {}) noexcept {
    npz_scan scan;
    scan.members.reserve(archive.entries().size());
    for (const zip::entry& item : archive.entries()) {
        npz_member member;
        BRINE_TRY((detail::read_member<Policy, Limits, Reader>(archive, item, rules, limits, member)));
        scan.members.push_back(std::move(member));
    }
    return scan;
}

// Reads and checks every member of an .npz from a RandomAccessSource (memory_source,
// file_source, ...), evaluating object members' pickles under the policy.
template <class Policy = default_allowlist, class Limits = pickle::limits::standard,
          class Reader = pickle::reader<Limits>, class Source, class = std::enable_if_t<is_random_access_source_v<Source>>>
[[nodiscard]] result<npz_scan> scan_npz(const Source& source, const Policy& rules = Policy{},
                                        const npz_limits& limits = {}) noexcept {
    auto archive = zip::reader<Source>::open(source, limits.zip);
    BRINE_TRY(archive);
    return scan_npz_archive<Policy, Limits, Reader>(*archive, rules, limits.npy);
}

template <class Policy = default_allowlist, class Limits = pickle::limits::standard>
[[nodiscard]] result<npz_scan> scan_npz(byte_view file, const Policy& rules = Policy{},
                                        const npz_limits& limits = {}) noexcept {
    const memory_source source(file);
    return scan_npz<Policy, Limits>(source, rules, limits);
}

}  // namespace numpy
BRINE_NAMESPACE_END
