// SPDX-License-Identifier: MIT
//
// The disarm pipeline: detect the container, read and judge it once into a reconstruction
// (torch/read_checkpoint.hpp), let the Mtd policy name, order and transform the storages, and have
// the Writer write a brand-new file from what the policy allows. It composes every layer below it
// (formats, writers), so it sits above them in pipeline/; the MTD sealers (mtd/) build on it. The
// class keeps its name, torch::basic_disarmer, that users know.
//   torch zip    -> canonical torch zip (Writer policy)
//   legacy .pt   -> canonical torch zip (the legacy stream's five pickles all judged)
//   raw pickle   -> a raw reconstructed pickle
//   NumPy .npy / .npz  -> a fresh .npy / .npz (numpy/): numeric arrays rebuilt, object arrays
//                         through the policy (refused ones dropped from an .npz, an error for .npy)
//   TorchScript (unless extract_weights), tar, other zips -> refused (errc::torch_*)
// Every input is read once into a reconstruction (torch/read_checkpoint.hpp), every pickle in it
// evaluated once, and written in one step by the Writer policy (reconstruct below).
// Memory: the pickle(s) plus fixed buffers; storages are streamed from input to output. The
// output is complete or absent: the caller's sink is written only after everything validated,
// and the file API writes a temporary file renamed into place at the end.
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/detect.hpp>
#include <brine/core/file.hpp>
#include <brine/core/memory.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/numpy/npy.hpp>
#include <brine/numpy/npz_scan.hpp>
#include <brine/numpy/npz_write.hpp>
#include <brine/pickle/allowlist_concept.hpp>
#include <brine/pickle/machine.hpp>
#include <brine/pickle/reader.hpp>
#include <brine/pickle/reader_concept.hpp>
#include <brine/pickle/writer.hpp>
#include <brine/policy/torch_weights_only.hpp>
#include <brine/readings/output_check.hpp>
#include <brine/safetensors/reader.hpp>
#include <brine/torch/detect.hpp>
#include <brine/torch/formats.hpp>
#include <brine/pipeline/mtd_hooks.hpp>
#include <brine/torch/read_checkpoint.hpp>
#include <brine/torch/reconstruction.hpp>
#include <brine/torch/report.hpp>
#include <brine/torch/storage_keys.hpp>
#include <brine/writer/concept.hpp>
#include <brine/writer/safetensors.hpp>
#include <brine/writer/torch_zip.hpp>
#include <brine/zip/reader.hpp>

#include <cstdint>
#include <memory>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace torch {

namespace detail {

// Forwards to a seekable sink, counting the bytes appended (the output's size for the report).
template <class SeekableSink>
class counted_sink {
public:
    explicit counted_sink(SeekableSink& next) noexcept : next_(&next) {}
    status write(byte_view bytes) noexcept {
        count_ += bytes.size();
        return next_->write(bytes);
    }
    status write_at(std::uint64_t offset, byte_view bytes) noexcept { return next_->write_at(offset, bytes); }
    [[nodiscard]] std::uint64_t count() const noexcept { return count_; }

private:
    SeekableSink* next_;
    std::uint64_t count_ = 0;
};

// Forwards to a sink and reports the running byte count to a progress callback, at most once
// per `step` bytes (a terminal progress line, not a call per chunk).
template <class Sink>
class progress_sink {
public:
    using callback = void (*)(void* context, std::uint64_t done, std::uint64_t total);
    progress_sink(Sink& next, callback report, void* context, std::uint64_t& done, std::uint64_t total) noexcept
        : next_(&next), report_(report), context_(context), done_(&done), total_(total) {}
    status write(byte_view bytes) noexcept {
        BRINE_TRY(next_->write(bytes));
        const std::uint64_t before = *done_;
        *done_ += bytes.size();
        if (report_ && (before / step != *done_ / step || *done_ == total_)) report_(context_, *done_, total_);
        return {};
    }

private:
    static constexpr std::uint64_t step = std::uint64_t{8} << 20;
    Sink* next_;
    callback report_;
    void* context_;
    std::uint64_t* done_;
    std::uint64_t total_;
};

// A sink that discards (scan runs the pipeline without output).
struct null_seekable_sink {
    status write(byte_view) noexcept { return {}; }
    status write_at(std::uint64_t, byte_view) noexcept { return {}; }
};

// What the Writer policy sees (writer/concept.hpp): the reconstruction, with its pickle rebuilt,
// and a way to stream each storage, in the order and under the record keys the Mtd policy chose,
// through its transformation; for NumPy inputs, a way to write them anew from their one reading.
// WithNumpy / WithSafetensors false (a Formats policy that leaves them out): their writing is not
// compiled.
template <class Reconstruction, class Copier, class Mtd, bool WithNumpy, bool WithSafetensors = false>
class output_parts {
public:
    // `bounds`: the limits the pickles were evaluated within, for the pickles written anew.
    output_parts(byte_view pickle, const Reconstruction& value, const Copier& copier, Mtd& mtd,
                 pickle::writer_limits bounds) noexcept
        : pickle_(pickle), value_(&value), copier_(&copier), mtd_(&mtd), bounds_(bounds) {}
    [[nodiscard]] container from() const noexcept { return value_->from; }
    [[nodiscard]] const pickle::graph& values() const noexcept { return value_->values(); }
    [[nodiscard]] const checkpoint& tensors() const noexcept { return value_->found; }
    [[nodiscard]] byte_view pickle() const noexcept { return pickle_; }
    [[nodiscard]] std::size_t storage_count() const noexcept { return value_->found.storages.size(); }
    // The storage of tensors() written i-th.
    [[nodiscard]] std::size_t source_index(std::size_t i) const noexcept { return mtd_->order(i); }
    // The i-th storage written, with its output record key.
    [[nodiscard]] storage_ref storage(std::size_t i) const noexcept {
        const std::size_t j = mtd_->order(i);
        storage_ref written = value_->found.storages[j];
        written.key = mtd_->record_key(value_->found, j);
        return written;
    }
    // A storage copied whole from a zip record: the record's CRC-32, which extraction verifies.
    [[nodiscard]] bool known_crc(std::size_t i, std::uint32_t& crc) const noexcept {
        return !mtd_->changes_bytes() && value_->known_crc(mtd_->order(i), crc);
    }
    template <class Sink>
    [[nodiscard]] status copy_storage(std::size_t i, std::string_view record_name, Sink& sink) const {
        const std::size_t j = mtd_->order(i);
        auto transformed = mtd_->wrap(j, record_name, value_->found.storages[j], sink);
        BRINE_TRY((*copier_)(j, transformed));
        return transformed.finish();
    }
    template <class Archive>
    [[nodiscard]] status add_record(Archive& archive, std::string_view record_name, byte_view bytes) const {
        return mtd_->add_record(archive, record_name, bytes);
    }
    template <class Archive>
    [[nodiscard]] status finish_records(Archive& archive) const {
        return mtd_->finish_records(archive);
    }
    // A bare pickle's output: the rebuilt pickle alone, then the Mtd policy's hook.
    template <class Sink>
    [[nodiscard]] status write_bare_pickle(Sink& out) const {
        BRINE_TRY(out.write(pickle_));
        return mtd_->raw_pickle(pickle_);
    }
    // An .npy input's output: the file rebuilt from its scan (an object array from the evaluation
    // read_npy made; one with findings is errc::numpy_object_refused, before any byte is written).
    template <class Sink>
    [[nodiscard]] status write_npy(Sink& out) const {
        if constexpr (WithNumpy) {
            if (value_->from != container::npy) return not_for_this_input("an .npy input (from() == container::npy)");
            auto written = numpy::write_rebuilt(value_->npy(), out, bounds_);
            BRINE_TRY(written);
            return {};
        } else {
            return not_for_this_input("a disarmer whose Formats policy reads NumPy");
        }
    }
    // An .npz input's output: a fresh archive (numpy/npz_write.hpp), numeric members streamed again
    // from the input, object members from read_npz's evaluations, refused ones left out.
    template <class SeekableSink>
    [[nodiscard]] status write_npz(SeekableSink& out) const {
        if constexpr (WithNumpy) {
            if (value_->from != container::npz) return not_for_this_input("an .npz input (from() == container::npz)");
            auto written = numpy::write_npz(value_->npz_archive(), value_->npz(), out, true, bounds_);
            BRINE_TRY(written);
            return {};
        } else {
            return not_for_this_input("a disarmer whose Formats policy reads NumPy");
        }
    }

    // A safetensors input's output: a fresh file from its parsed header (writer/safetensors.hpp).
    template <class Sink>
    [[nodiscard]] status write_safetensors(Sink& out) const {
        if constexpr (WithSafetensors) {
            if (value_->from != container::safetensors)
                return not_for_this_input("a safetensors input (from() == container::safetensors)");
            auto written = writer::rewrite_safetensors(value_->safetensors_header(), out);
            BRINE_TRY(written);
            return {};
        } else {
            return not_for_this_input("a disarmer whose Formats policy reads safetensors");
        }
    }

private:
    static error not_for_this_input(const char* expected) noexcept { return error{errc::invalid_argument, 0, expected}; }

    byte_view pickle_;
    const Reconstruction* value_;
    const Copier* copier_;
    Mtd* mtd_;
    pickle::writer_limits bounds_;
};

}  // namespace detail

template <class OpcodeReader, class Allowlist, class Writer, class Mtd, class Formats = formats::every>
class basic_disarmer {
    static_assert((pickle::check_reader<OpcodeReader>(), true));  // one error per failed requirement, no more
    static_assert((policy::check_policy<Allowlist>(), true));
    static_assert((writer::check_writer<Writer>(), true));
    static_assert((formats::check_formats<Formats>(), true));

public:
    // Every pickle of every format is read by OpcodeReader (the bundled reader when it does not
    // qualify: the static_assert above is then the one error reported).
    using reader_type = pickle::reader_or_default<OpcodeReader>;
    using limits_type = typename reader_type::limits_type;
    // The same for the allowlist (a stand-in that refuses everything), the writer and the formats.
    using allowlist_type = policy::policy_or_default<Allowlist>;
    using writer_type = std::conditional_t<writer::is_writer_v<Writer>, Writer, writer::torch_zip>;
    using formats_type = std::conditional_t<formats::is_formats_v<Formats>, Formats, formats::checkpoints_only>;
    using machine_type = pickle::machine<allowlist_type, limits_type, reader_type>;

    explicit basic_disarmer(Allowlist allowlist = {}, Writer writer = {}, Mtd mtd = {}) noexcept
        : allowlist_(gated<allowlist_type>(std::move(allowlist))), writer_(gated<writer_type>(std::move(writer))),
          mtd_(std::move(mtd)) {}

    // Called as storage bytes are written (every 8 MiB and at the end): done and total bytes.
    using progress_callback = void (*)(void* context, std::uint64_t done, std::uint64_t total);

    // Reads TorchScript archives and pickled modules (torch.save(model)) instead of refusing them,
    // writing the state dict of their weights (see extract.hpp); off by default, as torch.load
    // with weights_only=True refuses both.
    void extract_weights(bool on) noexcept { extract_weights_ = on; }
    // The Mtd policy (a sealer keeps what it wrote: the manifest, the plan, the scrub report).
    [[nodiscard]] Mtd& mtd() noexcept { return mtd_; }

    void on_progress(progress_callback report, void* context) noexcept {
        progress_ = report;
        progress_context_ = context;
    }

    // Findings and tensors of `file` (the whole input, e.g. a mapped file); `source` reads the
    // same bytes by offset (a file_source keeps large records out of memory).
    template <class RandomAccessSource>
    [[nodiscard]] result<report> scan(byte_view file, const RandomAccessSource& source) {
        detail::null_seekable_sink nowhere;
        return run(file, source, nowhere, false);
    }
    [[nodiscard]] result<report> scan(byte_view file) { return scan(file, memory_source(file)); }

    // Reconstructs `file` into `out`. The output is written only once the input has been read
    // and judged whole: on error, `out` has received nothing (zip) or must be discarded. When
    // `out` can be read back (atomic_file_sink, vector_sink: a RandomAccessSource), the written
    // bytes must have one reading under every loader (readings/output_check.hpp), or the result
    // is errc::torch_polyglot_output; a caller with a write-only sink runs that check itself.
    template <class RandomAccessSource, class SeekableSink>
    [[nodiscard]] result<report> disarm(byte_view file, const RandomAccessSource& source, SeekableSink& out) {
        auto done = run(file, source, out, true);
        BRINE_TRY(done);
        if constexpr (is_random_access_source_v<SeekableSink>) BRINE_TRY(readings::check_single_reading(out));
        return done;
    }

#if BRINE_HAS_POSIX_FILES
    [[nodiscard]] result<report> scan_file(const char* path) {
        auto file = hybrid_file_source::open(path);
        BRINE_TRY(file);
        return scan(file->mapping(), *file);
    }

    // Writes `out_path` through a temporary file renamed into place only on success: on any
    // error no file exists at `out_path` (the CLI's exit code 2). `durable`: fsync before
    // the rename (see atomic_file_sink::commit). Headers and pickle streams are read through a
    // mapping, records with pread in large chunks (see hybrid_file_source): on a virtual
    // machine a page fault per 4 KiB of a mapped 350 MB model cost more than the copy
    // (measured: 0.49 s against 0.13 s).
    [[nodiscard]] result<report> disarm_file(const char* in_path, const char* out_path, bool durable = false) {
        auto file = hybrid_file_source::open(in_path);
        BRINE_TRY(file);
        auto sink = atomic_file_sink::create(out_path);
        BRINE_TRY(sink);
        auto done = disarm(file->mapping(), *file, *sink);
        BRINE_TRY(done);
        BRINE_TRY(sink->commit(durable));
        done->written = true;
        return done;
    }
#endif

private:
    using reading_type = checkpoint_reader<reader_type, allowlist_type, formats_type>;

    template <class RandomAccessSource, class SeekableSink>
    result<report> run(byte_view file, const RandomAccessSource& source, SeekableSink& out, bool write) {
        if constexpr (!formats_type::weight_extraction) {
            if (extract_weights_)
                return error{errc::invalid_argument, 0,
                             "a disarmer compiled with weight extraction (its Formats policy leaves it out)"};
        }
        const reading_type reading(allowlist_, extract_weights_);
        auto kind = detect(source);
        BRINE_TRY(kind);
        if constexpr (formats::reads_safetensors_v<formats_type>) {
            // safetensors::detect's rule on the kind found once: a pickle stream by torch's magic
            // numbers whose first bytes have a safetensors header's shape.
            if (*kind == format::pickle_stream && file.size() >= 10 &&
                safetensors::has_header_shape(file.first(9), file.size())) {
                BRINE_TRY(refuse_seal(write, "safetensors"));
                auto read = reading.template read_safetensors<RandomAccessSource>(file);
                BRINE_TRY(read);
                return reconstruct(*read, out, write);
            }
        }
        switch (*kind) {
            case format::zip: {
                auto read = reading.read_zip(source);
                if constexpr (formats_type::numpy) {
                    if (!read && read.err().code == errc::zip_multiple_roots) {
                        // No single folder: not torch.save's layout; an .npz (members at the top level) is.
                        auto npz = zip::reader<RandomAccessSource>::open(source, numpy::npz_zip_limits());
                        if (npz && is_npz(*npz)) {
                            BRINE_TRY(refuse_seal(write, "npz"));
                            auto numpy_read = reading.read_npz(source, std::move(*npz));
                            BRINE_TRY(numpy_read);
                            return reconstruct(*numpy_read, out, write);
                        }
                    }
                }
                BRINE_TRY(read);
                return reconstruct(*read, out, write);
            }
            case format::pickle_stream: {
                auto read = reading.read_pickle_stream(file, source);
                BRINE_TRY(read);
                return reconstruct(*read, out, write);
            }
            case format::tar:
                return error{errc::torch_legacy_tar, 257, "a format other than torch's pre-1.0 tar checkpoints"};
            case format::numpy:
                if constexpr (formats_type::numpy) {
                    BRINE_TRY(refuse_seal(write, "npy"));
                    auto numpy_read = reading.template read_npy<RandomAccessSource>(file);
                    BRINE_TRY(numpy_read);
                    return reconstruct(*numpy_read, out, write);
                }
                return error{errc::torch_not_a_checkpoint, 0,
                             "a torch checkpoint or pickle (this disarmer's Formats policy leaves NumPy out)"};
        }
        return error{errc::torch_not_a_checkpoint, 0, "a known format"};
    }

    // ---- the one writing step of every input ---------------------------------------------------------

    // Torch inputs: the Mtd policy chooses keys, order and transformation and the pickle is
    // rebuilt from the judged graph. NumPy inputs have neither (a seal was refused before they
    // were read); the parts write them from their scans. The Writer writes the parts.
    template <class Value, class SeekableSink>
    result<report> reconstruct(Value& value, SeekableSink& out, bool write) {
        if (!write) return std::move(value.described);
        report& described = value.described;
        const pickle::writer_limits bounds = pickle::writer_limits::of<limits_type>();
        alloc::vector<std::uint8_t> rebuilt;
        if (holds_torch_pickle(value.from)) {
            storage_keys keys(value.values(), value.found);
            BRINE_TRY(mtd_.prepare(value.values(), value.found, keys));
            BRINE_TRY(apply_storage_keys(value.values(), value.found, keys));
            auto stats = pickle::writer(value.values(), bounds).write(rebuilt);
            BRINE_TRY(stats);
            described.write = *stats;
        }
        std::uint64_t copied = 0;
        const auto copier = [&](std::size_t j, auto& sink) -> status {
            using sink_type = std::remove_reference_t<decltype(sink)>;
            detail::progress_sink<sink_type> counted(sink, progress_, progress_context_, copied, described.storage_bytes);
            return value.copy_storage(j, counted);
        };
        detail::counted_sink<SeekableSink> counted(out);
        const detail::output_parts<Value, decltype(copier), Mtd, formats_type::numpy,
                                   formats::reads_safetensors_v<formats_type>>
            parts(
            byte_view(rebuilt.data(), rebuilt.size()), value, copier, mtd_, bounds);
        BRINE_TRY(writer_.write(parts, counted));
        if (counted.count() == 0)
            return error{errc::invalid_argument, 0, "a Writer that writes the output (it wrote nothing)",
                         writer_type::name};
        described.output_size = counted.count();
        return std::move(value.described);
    }

    // ---- NumPy .npy / .npz (THREATS.md F5) -----------------------------------------------------

    template <class Archive>
    static bool is_npz(const Archive& archive) noexcept {
        for (const zip::entry& item : archive.entries()) {
            const std::string_view name = item.name;
            if (name.size() <= 4 || name.substr(name.size() - 4) != ".npy") return false;
        }
        return true;
    }

    static status refuse_seal(bool write, const char* format) noexcept {
        if (write && Mtd::seals)
            return error{errc::mtd_unsupported, 0, "a torch checkpoint or a pickle to seal", format};
        return {};
    }

    allowlist_type allowlist_;
    writer_type writer_;
    Mtd mtd_;
    bool extract_weights_ = false;
    progress_callback progress_ = nullptr;
    void* progress_context_ = nullptr;
};

// The default composition: torch's weights-only rules, a canonical torch zip, no MTD.
using disarmer = basic_disarmer<pickle::reader<pickle::limits::standard>, policy::torch_weights_only,
                                writer::torch_zip, mtd::none>;

}  // namespace torch
BRINE_NAMESPACE_END
