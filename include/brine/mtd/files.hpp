// SPDX-License-Identifier: MIT
//
// Seal, verify and restore on files, as the CLI runs them. Outputs are written through temporary
// files renamed into place only on success; a restore runs only on a file that verifies intact.
#pragma once

#include <brine/config.hpp>
#include <brine/core/file.hpp>
#include <brine/core/result.hpp>
#include <brine/mtd/restore.hpp>
#include <brine/mtd/seal.hpp>
#include <brine/mtd/verify.hpp>
#include <brine/pickle/reader.hpp>
#include <brine/policy/torch_weights_only.hpp>
#include <brine/pipeline/disarm.hpp>
#include <brine/writer/torch_zip.hpp>
#include <brine/zip/reader.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace mtd {

// A file read as it was when pinned. Everything but the data of its storage records (the archive's
// structure, data.pkl, the manifest, the small records; all of a raw pickle) is copied into memory
// once, so that verify and the rebuild after it parse and evaluate the very same bytes, whatever a
// writer with the file open does meanwhile. Storage data, the bulk, stays in the file: the rebuild
// reads it again and checks it against the seal's digests as it streams (restorer).
template <class RandomAccessSource>
class pinned_source {
public:
    // `limit`: the most bytes to copy (the pickle, the manifest and headers, not the weights).
    [[nodiscard]] static result<pinned_source> pin(const RandomAccessSource& file, std::uint64_t limit) {
        pinned_source out(file);
        std::vector<range> storages;
        auto archive = zip::reader<RandomAccessSource>::open(file);
        if (archive) BRINE_TRY(storage_data(*archive, storages));
        // The end record is searched for in the last 64 KiB + 22 bytes: pinned whole, so that
        // storage bytes there cannot make another end record appear.
        const std::uint64_t tail = out.size_ > end_search ? out.size_ - end_search : 0;
        std::vector<range> live;
        for (range r : storages) {
            if (r.to > tail) r.to = tail;
            if (r.from < r.to) live.push_back(r);
        }
        std::uint64_t at = 0, copied = 0;
        for (std::size_t i = 0; i <= live.size(); ++i) {
            const std::uint64_t to = i < live.size() ? live[i].from : out.size_;
            if (to > at) {
                copied += to - at;
                if (copied > limit)
                    return error{errc::limit_exceeded, at, "a sealed file whose parts besides its weights fit in memory"};
                segment kept{{at, to}, {}};
                vector_sink sink(kept.bytes);
                BRINE_TRY(copy_range(file, at, to - at, sink));
                out.segments_.push_back(std::move(kept));
            }
            if (i < live.size()) out.segments_.push_back(segment{live[i], {}});
            if (i < live.size()) at = live[i].to;
        }
        if (!live.empty()) BRINE_TRY(out.check_structure(storages, live));
        return out;
    }

    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
    // The whole file when all of it is pinned (a raw pickle), else empty.
    [[nodiscard]] byte_view mapping() const noexcept {
        if (segments_.size() == 1 && segments_[0].pinned())
            return byte_view(segments_[0].bytes.data(), segments_[0].bytes.size());
        return {};
    }

    [[nodiscard]] status read_at(std::uint64_t offset, std::uint8_t* dst, std::size_t count) const noexcept {
        if (offset > size_ || count > size_ - offset)
            return error{errc::io_read_failed, offset, "a byte range inside the input"};
        // The first segment that ends after `offset`, then on through the ones the range spans.
        std::size_t lo = 0, hi = segments_.size();
        while (lo < hi) {
            const std::size_t mid = lo + (hi - lo) / 2;
            if (segments_[mid].where.to <= offset) lo = mid + 1;
            else hi = mid;
        }
        for (std::size_t i = lo; count != 0 && i < segments_.size(); ++i) {
            const segment& s = segments_[i];
            const std::uint64_t in_segment = s.where.to - offset;
            const std::size_t n = count < in_segment ? count : static_cast<std::size_t>(in_segment);
            if (s.pinned()) {
                std::memcpy(dst, s.bytes.data() + (offset - s.where.from), n);
            } else {
                ++live_reads_;
                BRINE_TRY(file_->read_at(offset, dst, n));
            }
            dst += n;
            offset += n;
            count -= n;
        }
        return {};
    }

private:
    struct range {
        std::uint64_t from = 0, to = 0;
        bool operator==(const range& o) const noexcept { return from == o.from && to == o.to; }
    };
    struct segment {
        range where;
        std::vector<std::uint8_t> bytes;  // empty for a live range (read from the file)
        [[nodiscard]] bool pinned() const noexcept { return where.to - where.from == bytes.size(); }
    };

    explicit pinned_source(const RandomAccessSource& file) noexcept : file_(&file), size_(file.size()) {}

    static constexpr std::uint64_t end_search = 65535 + 22;  // zip: the longest comment and the end record

    // The data of the archive's storage records (<root>/data/...), in file order.
    template <class Archive>
    static status storage_data(const Archive& archive, std::vector<range>& out) {
        out.clear();
        const std::string data = std::string(archive.root()) + "/data/";
        for (const zip::entry& e : archive.entries())
            if (!e.is_directory() && e.name.substr(0, data.size()) == data && e.compressed_size != 0)
                out.push_back(range{e.data_offset, e.data_offset + e.compressed_size});
        std::sort(out.begin(), out.end(), [](const range& a, const range& b) { return a.from < b.from; });
        for (std::size_t i = 1; i < out.size(); ++i)
            if (out[i].from < out[i - 1].to)
                return error{errc::zip_overlap, out[i].from, "storage records that do not overlap"};
        return {};
    }

    // The archive read from the pinned bytes alone (no live byte read to parse it) must be the one
    // whose storage data was left live, with every other record's bytes pinned: then verify and
    // the rebuild parse the same archive and read the same pickle. It differs only when the file
    // changed while it was pinned.
    status check_structure(const std::vector<range>& storages, const std::vector<range>& live) const {
        live_reads_ = 0;
        auto archive = zip::reader<pinned_source>::open(*this);
        std::vector<range> again;
        if (archive) BRINE_TRY(storage_data(*archive, again));
        if (!archive || again != storages || live_reads_ != 0)
            return error{errc::mtd_tampered, live.front().from, "a file whose archive does not change while it is read"};
        const std::string data = std::string(archive->root()) + "/data/";
        for (const zip::entry& e : archive->entries()) {
            const bool storage = !e.is_directory() && e.name.substr(0, data.size()) == data;
            const range read{e.local_header_offset, storage ? e.data_offset : e.end_offset};
            for (const range& r : live)
                if (read.from < r.to && r.from < read.to)
                    return error{errc::zip_overlap, read.from, "records apart from the storage data", e.name};
        }
        return {};
    }

    const RandomAccessSource* file_;
    std::uint64_t size_;
    std::vector<segment> segments_;  // in file order, covering it
    mutable std::uint64_t live_reads_ = 0;  // counted while the structure is checked
};

// What the rebuild reads at most besides the weights: the pickle, the manifest, headers.
inline constexpr std::uint64_t pin_limit =
    pickle::limits::standard::max_pickle_size + manifest_limits::max_size + (std::uint64_t{64} << 20);

namespace detail {

// A rebuild that fails on storage bytes whose CRC-32 no longer matches, after verify read the
// same records intact: the file changed under us (a permuted storage is checked only once whole).
[[nodiscard]] inline error changed_while_read(error e) noexcept {
    if (e.code == errc::zip_crc_mismatch) e.code = errc::mtd_tampered;
    return e;
}

}  // namespace detail

#if BRINE_HAS_POSIX_FILES

template <class Allowlist = policy::torch_weights_only, class Strategy = strategies::bundled, class Hash = hashes::bundled>
using sealing_disarmer = torch::basic_disarmer<pickle::reader<pickle::limits::standard>, Allowlist, writer::torch_zip,
                                               basic_sealer<Strategy, Hash>>;
template <class Allowlist = policy::torch_weights_only, class Strategy = strategies::bundled, class Hash = hashes::bundled>
using restoring_disarmer = torch::basic_disarmer<pickle::reader<pickle::limits::standard>, Allowlist, writer::torch_zip,
                                                 basic_restorer<Strategy, Hash>>;

struct seal_result {
    torch::report reconstruction;  // what the reconstruction found and removed, as for disarm
    seal_summary summary;
};

// Seals `in_path` into `out_path` (and the manifest into `manifest_path` when given: required
// for raw pickles, whose format has no room for it). `progress` as for the disarmer. Strategy:
// the permutation strategy (mtd/strategy.hpp), Hash the hash (mtd/hash.hpp); options.permute and
// options.hash choose within a one_of.
template <class Allowlist = policy::torch_weights_only, class Strategy = strategies::bundled, class Hash = hashes::bundled>
[[nodiscard]] result<seal_result> seal_file(const char* in_path, const char* out_path, const secret_key& key,
                                            seal_options options, const char* manifest_path = nullptr,
                                            Allowlist allowlist = {}, bool durable = false,
                                            void (*progress)(void*, std::uint64_t, std::uint64_t) = nullptr,
                                            void* progress_context = nullptr) {
    options.detached = manifest_path != nullptr;
    sealing_disarmer<Allowlist, Strategy, Hash> sealing(std::move(allowlist), writer::torch_zip{},
                                                        basic_sealer<Strategy, Hash>(key, std::move(options)));
    sealing.on_progress(progress, progress_context);
    auto input = hybrid_file_source::open(in_path);
    BRINE_TRY(input);
    auto output = atomic_file_sink::create(out_path);
    BRINE_TRY(output);
    auto done = sealing.disarm(input->mapping(), *input, *output);
    BRINE_TRY(done);
    const seal_summary& summary = sealing.mtd().summary();
    if (summary.manifest_text.empty())
        return error{errc::mtd_unsupported, 0, "a torch checkpoint or pickle to seal"};
    const bool raw = done->format == "pickle";
    if (raw && !manifest_path)
        return error{errc::mtd_unsupported, 0, "--manifest PATH for a raw pickle (it has no room for its manifest)"};
    if (manifest_path) {
        auto manifest_out = atomic_file_sink::create(manifest_path);
        BRINE_TRY(manifest_out);
        BRINE_TRY(manifest_out->write(as_bytes(std::string_view(summary.manifest_text))));
        BRINE_TRY(output->commit(durable));
        const status saved = manifest_out->commit(durable);
        if (!saved) {
            std::remove(out_path);  // a sealed file without its manifest could never verify
            return saved.err();
        }
    } else {
        BRINE_TRY(output->commit(durable));
    }
    done->written = true;
    return seal_result{std::move(*done), summary};
}

// Restores a sealed file: verified, then rebuilt with the permutation undone, from one open file
// (a RandomAccessSource). The two passes read the same bytes: the file is pinned first (see
// pinned_source), and the storage bytes the rebuild reads again are checked against the seal's
// digests as they stream into `out`. Any difference is errc::mtd_tampered; `out` must then be
// discarded (an atomic_file_sink that is not committed leaves no file). A file sealed with a
// strategy Strategy or a hash Hash does not hold is refused (errc::mtd_unsupported) before anything
// is written.
template <class Allowlist = policy::torch_weights_only, class Strategy = strategies::bundled, class Hash = hashes::bundled,
          class RandomAccessSource, class SeekableSink>
[[nodiscard]] result<torch::report> restore(const RandomAccessSource& file, SeekableSink& out, const secret_key& key,
                                            const verify_options& options = {}, Allowlist allowlist = {}) {
    auto pinned = pinned_source<RandomAccessSource>::pin(file, pin_limit);
    BRINE_TRY(pinned);
    auto checked = basic_verifier<Strategy, Hash, Allowlist>(key, options, allowlist).verify(*pinned);
    BRINE_TRY(checked);
    if (!checked->intact())
        return error{errc::mtd_tampered, 0, "an intact sealed file (brine verify names what changed)",
                     checked->problems.front().where};
    restoring_disarmer<Allowlist, Strategy, Hash> restoring(std::move(allowlist), writer::torch_zip{},
                                                            basic_restorer<Strategy, Hash>(key, std::move(checked->sealed)));
    auto done = restoring.disarm(pinned->mapping(), *pinned, out);
    if (!done) return detail::changed_while_read(done.err());
    return done;
}

// restore() on `in_path`, opened once, into `out_path` (a temporary file renamed into place only
// on success: on any error, tampering included, no file exists at `out_path`).
template <class Allowlist = policy::torch_weights_only, class Strategy = strategies::bundled, class Hash = hashes::bundled>
[[nodiscard]] result<torch::report> restore_file(const char* in_path, const char* out_path, const secret_key& key,
                                                 const verify_options& options = {}, Allowlist allowlist = {},
                                                 bool durable = false) {
    auto input = hybrid_file_source::open(in_path);
    BRINE_TRY(input);
    auto output = atomic_file_sink::create(out_path);
    BRINE_TRY(output);
    auto done = restore<Allowlist, Strategy, Hash>(*input, *output, key, options, std::move(allowlist));
    BRINE_TRY(done);
    BRINE_TRY(output->commit(durable));
    done->written = true;
    return done;
}

#endif

}  // namespace mtd
BRINE_NAMESPACE_END
