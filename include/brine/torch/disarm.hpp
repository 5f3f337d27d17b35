// SPDX-License-Identifier: MIT
//
// The disarm pipeline (DESIGN.md §1): detect the container, evaluate every pickle against the
// allowlist, validate the tensors, and write a brand-new file from what the policy allows.
//   torch zip    -> canonical torch zip (Writer policy)
//   legacy .pt   -> canonical torch zip (the legacy stream's five pickles all judged)
//   raw pickle   -> a raw reconstructed pickle
//   NumPy .npy / .npz  -> a fresh .npy / .npz (numpy/): numeric arrays rebuilt, object arrays
//                         through the policy (refused ones dropped from an .npz, an error for .npy)
//   TorchScript (unless extract_weights), tar, other zips -> refused (errc::torch_*)
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
#include <brine/numpy/npz.hpp>
#include <brine/pickle/allowlist_concept.hpp>
#include <brine/pickle/machine.hpp>
#include <brine/pickle/reader.hpp>
#include <brine/pickle/reader_concept.hpp>
#include <brine/pickle/writer.hpp>
#include <brine/policy/module_structure.hpp>
#include <brine/policy/torch_weights_only.hpp>
#include <brine/readings/output_check.hpp>
#include <brine/torch/archive.hpp>
#include <brine/torch/detect.hpp>
#include <brine/torch/extract.hpp>
#include <brine/torch/find_tensors.hpp>
#include <brine/torch/formats.hpp>
#include <brine/torch/legacy.hpp>
#include <brine/torch/mtd_hooks.hpp>
#include <brine/torch/report.hpp>
#include <brine/writer/concept.hpp>
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

// What the Writer policy sees: the reconstructed pickle and a way to stream each storage, in the
// order and under the record keys the Mtd policy chose, through its transformation.
template <class Copier, class Mtd>
class output_parts {
public:
    output_parts(byte_view pickle, const checkpoint& found, const Copier& copier, Mtd& mtd,
                 const alloc::vector<const zip::entry*>* records = nullptr) noexcept
        : pickle_(pickle), found_(&found), copier_(&copier), mtd_(&mtd), records_(records) {}
    // A storage copied whole from a zip record: the record's CRC-32, which extraction verifies.
    [[nodiscard]] bool known_crc(std::size_t i, std::uint32_t& crc) const noexcept {
        if (!records_ || mtd_->changes_bytes()) return false;
        crc = (*records_)[mtd_->order(i)]->crc32;
        return true;
    }
    [[nodiscard]] byte_view pickle() const noexcept { return pickle_; }
    [[nodiscard]] std::size_t storage_count() const noexcept { return found_->storages.size(); }
    // The i-th storage written, with its output record key.
    [[nodiscard]] storage_ref storage(std::size_t i) const noexcept {
        const std::size_t j = mtd_->order(i);
        storage_ref written = found_->storages[j];
        written.key = mtd_->record_key(*found_, j);
        return written;
    }
    template <class Sink>
    [[nodiscard]] status copy_storage(std::size_t i, std::string_view record_name, Sink& sink) const {
        const std::size_t j = mtd_->order(i);
        auto transformed = mtd_->wrap(j, record_name, found_->storages[j], sink);
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

private:
    byte_view pickle_;
    const checkpoint* found_;
    const Copier* copier_;
    Mtd* mtd_;
    const alloc::vector<const zip::entry*>* records_;
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
    // error no file exists at `out_path` (DESIGN.md §5, exit code 2). `durable`: fsync before
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
    template <class RandomAccessSource, class SeekableSink>
    result<report> run(byte_view file, const RandomAccessSource& source, SeekableSink& out, bool write) {
        if constexpr (!formats_type::weight_extraction) {
            if (extract_weights_)
                return error{errc::invalid_argument, 0,
                             "a disarmer compiled with weight extraction (its Formats policy leaves it out)"};
        }
        auto kind = detect(source);
        BRINE_TRY(kind);
        switch (*kind) {
            case format::zip: return run_zip(source, out, write);
            case format::pickle_stream: return run_pickle_stream(file, source, out, write);
            case format::tar:
                return error{errc::torch_legacy_tar, 257, "a format other than torch's pre-1.0 tar checkpoints"};
            case format::numpy:
                if constexpr (formats_type::numpy) return run_npy(file, out, write);
                return error{errc::torch_not_a_checkpoint, 0,
                             "a torch checkpoint or pickle (this disarmer's Formats policy leaves NumPy out)"};
        }
        return error{errc::torch_not_a_checkpoint, 0, "a known format"};
    }

    // ---- torch zip ----------------------------------------------------------------------------

    template <class RandomAccessSource, class SeekableSink>
    result<report> run_zip(const RandomAccessSource& source, SeekableSink& out, bool write) {
        auto archive = zip::reader<RandomAccessSource>::open(source);
        if constexpr (formats_type::numpy) {
            if (!archive && archive.err().code == errc::zip_multiple_roots) {
                // No single folder: not torch.save's layout; an .npz (members at the top level) is.
                auto npz = zip::reader<RandomAccessSource>::open(source, numpy::npz_zip_limits());
                if (npz && is_npz(*npz)) return run_npz(source, out, write);
            }
        }
        BRINE_TRY(archive);
        const bool script = static_cast<bool>(archive->find_record("constants.pkl"));
        if (script && !extracting())
            return error{errc::torch_torchscript, 0,
                         "a torch.save archive (TorchScript is refused by default; --extract-weights reads its weights)"};
        auto data_pkl = archive->find_record("data.pkl");
        if (!data_pkl) return error{errc::torch_no_data_pkl, 0, "a <folder>/data.pkl record"};
        const zip::entry& pickle_entry = **data_pkl;
        if (pickle_entry.uncompressed_size > limits_type::max_pickle_size)
            return error{errc::limit_exceeded, pickle_entry.local_header_offset, "a data.pkl within the pickle limits",
                         pickle_entry.name};
        // Its size is the archive's word (up to the limit): memory it cannot have is an error,
        // not the end of the program.
        const auto pickle_size = static_cast<std::size_t>(pickle_entry.uncompressed_size);
        const ::brine::detail::raw_block pickle_block(pickle_size, std::nothrow);
        if (pickle_block.data() == nullptr && pickle_size != 0)
            return error{errc::limit_exceeded, pickle_entry.local_header_offset,
                         "a data.pkl that fits in the memory available", pickle_entry.name};
        buffer_sink pickle_sink(mutable_byte_view(static_cast<std::uint8_t*>(pickle_block.data()), pickle_size));
        BRINE_TRY(archive->extract(pickle_entry, pickle_sink));

        BRINE_TRY(check_byteorder(*archive));
        BRINE_TRY(check_version(*archive));

        report out_report;
        out_report.format = script ? "torchscript" : "torch zip";
        pickle::evaluation evaluated;
        const byte_view pickle_view = pickle_sink.written();
        const status ran = evaluate_main(pickle_view, evaluated, out_report, "data.pkl");
        if (!ran) return in_entry(ran.err(), pickle_entry.name);
        const status text_ok = check_python2_strings(evaluated.values);  // torch.load: encoding='utf-8'
        if (!text_ok) return in_entry(text_ok.err(), pickle_entry.name);
        auto found = find_tensors(evaluated.values);
        if (!found) return in_entry(found.err(), pickle_entry.name);
        detail::add_tensors(out_report, *found);

        // Every storage's record exists and holds exactly numel x item size bytes: fewer would
        // make torch read past it (W1), more would be bytes no tensor accounts for (W5).
        alloc::vector<const zip::entry*> records;
        for (const storage_ref& storage : found->storages) {
            alloc::string name = "data/";
            name += storage.key;
            auto record = archive->find_record(name);
            if (!record) return error{errc::torch_missing_record, 0, "a data/<key> record for every storage", name};
            if ((*record)->uncompressed_size != storage.byte_size())
                return error{errc::torch_record_size, (*record)->local_header_offset,
                             "a record of exactly numel x item size bytes", (*record)->name};
            records.push_back(*record);
        }
        report_unused_records(*archive, records, script, out_report);
        const status sparse_ok = check_sparse_indices(*found, [&](std::uint32_t i, alloc::vector<std::uint8_t>& storage_bytes) {
            storage_bytes.clear();
            vector_sink sink(storage_bytes);
            return archive->extract(*records[i], sink);
        });
        if (!sparse_ok) return in_entry(sparse_ok.err(), pickle_entry.name);
        if (!write) return out_report;

        std::uint64_t copied = 0;
        const auto copier = [&](std::size_t i, auto& sink) -> status {
            using sink_type = std::remove_reference_t<decltype(sink)>;
            detail::progress_sink<sink_type> counted(sink, progress_, progress_context_, copied, out_report.storage_bytes);
            return archive->extract(*records[i], counted);
        };
        BRINE_TRY(mtd_.prepare(evaluated.values, *found));
        BRINE_TRY(write_zip(evaluated.values, *found, copier, out, out_report, &records));
        return out_report;
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

    template <class SeekableSink>
    result<report> run_npy(byte_view file, SeekableSink& out, bool write) {
        BRINE_TRY(refuse_seal(write, "npy"));
        auto scanned = numpy::scan_npy<allowlist_type, limits_type, reader_type>(file, allowlist_);
        BRINE_TRY(scanned);
        report out_report;
        out_report.format = scanned->has_objects() ? "npy (object array)" : "npy";
        out_report.storages = 1;
        out_report.storage_bytes = scanned->array.data.size();
        if (scanned->has_objects()) {
            detail::add_findings(out_report, scanned->objects.values, "npy object pickle", scanned->array.header.data_offset);
            out_report.protocol = scanned->objects.protocol;
        }
        if (!write) return out_report;
        detail::counted_sink<SeekableSink> counted(out);
        BRINE_TRY(numpy::write_rebuilt(*scanned, counted, pickle::writer_limits::of<limits_type>()));  // refuses an object array with findings
        out_report.output_size = counted.count();
        return out_report;
    }

    template <class RandomAccessSource, class SeekableSink>
    result<report> run_npz(const RandomAccessSource& source, SeekableSink& out, bool write) {
        BRINE_TRY(refuse_seal(write, "npz"));
        auto scanned = numpy::scan_npz<allowlist_type, limits_type, reader_type>(source, allowlist_);
        BRINE_TRY(scanned);
        report out_report;
        out_report.format = "npz";
        for (const numpy::npz_member& member : scanned->members) {
            ++out_report.storages;
            out_report.storage_bytes += member.header.data_size;
            if (member.has_objects())
                detail::add_findings(out_report, member.objects.values, member.name, member.header.data_offset);
        }
        if (!write) return out_report;
        detail::counted_sink<SeekableSink> counted(out);
        auto rebuilt = numpy::rebuild_npz<allowlist_type, limits_type, reader_type>(source, counted, allowlist_);
        BRINE_TRY(rebuilt);
        out_report.output_size = counted.count();
        return out_report;
    }

    // Records the reconstruction leaves out are findings (THREATS.md Z6: a pickle or payload
    // hidden in an extra record that another loader might read), except the bookkeeping torch
    // writes itself (and, for TorchScript, its code and constants, which --extract-weights drops
    // knowingly).
    template <class Archive>
    static void report_unused_records(const Archive& archive, const alloc::vector<const zip::entry*>& used, bool script,
                                      report& out_report) {
        static constexpr std::string_view bookkeeping[] = {"data.pkl", "byteorder", "version", ".data/version",
                                                           ".data/serialization_id", ".format_version",
                                                           ".storage_alignment"};
        // The entries torch's lookup (case-insensitive) finds for those names: the same entries
        // brine read, whatever the case of their names (DATA.PKL is data.pkl, not an extra record).
        const zip::entry* kept[sizeof bookkeeping / sizeof bookkeeping[0]] = {};
        for (std::size_t i = 0; i < sizeof bookkeeping / sizeof bookkeeping[0]; ++i) {
            auto found = archive.find_record(bookkeeping[i]);
            if (found) kept[i] = *found;
        }
        const std::string_view root = archive.root();
        for (const zip::entry& item : archive.entries()) {
            if (item.is_directory()) continue;
            std::string_view record = item.name.substr(root.size() + 1);
            bool known = false;
            for (const zip::entry* name : kept) known = known || name == &item;
            for (const zip::entry* storage : used) known = known || storage == &item;
            if (script && (record == "constants.pkl" || record.substr(0, 5) == "code/" ||
                           record.substr(0, 10) == "constants/" || record.substr(0, 6) == "extra/"))
                known = true;
            if (known) continue;
            finding_entry unused;
            unused.part = alloc::string(item.name);
            unused.in_pickle = false;
            unused.offset = item.local_header_offset;
            unused.reason = "a record no tensor of the reconstruction uses: not written";
            out_report.findings.push_back(std::move(unused));
        }
    }

    // Evaluates a checkpoint's main pickle. With extract_weights, pickled modules are read with
    // policy::module_structure and replaced by the state dict of their weights.
    status evaluate_main(byte_view pickle_bytes, pickle::evaluation& evaluated, report& out_report, const char* part) {
        if (!extracting()) {
            machine_type machine(allowlist_);
            BRINE_TRY(machine.run(pickle_bytes, evaluated));
        } else if constexpr (formats_type::weight_extraction) {
            const policy::module_structure<allowlist_type> structure(allowlist_);
            pickle::machine<policy::module_structure<allowlist_type>, limits_type, reader_type> machine(structure);
            BRINE_TRY(machine.run(pickle_bytes, evaluated));
        }
        out_report.protocol = evaluated.protocol;
        detail::add_findings(out_report, evaluated.values, part);
        return extract_if_module(evaluated, out_report);
    }

    // extract_weights_, known false at compile time when the Formats policy leaves extraction out.
    [[nodiscard]] bool extracting() const noexcept {
        if constexpr (formats_type::weight_extraction) return extract_weights_;
        return false;
    }

    status extract_if_module(pickle::evaluation& evaluated, report& out_report, std::uint64_t base = 0) {
        if (!extracting()) return {};
        const pickle::graph& g = evaluated.values;
        const pickle::node& root = g[g.root()];
        if (root.kind != pickle::node_kind::call || root.form != pickle::call_form::newobj) return {};  // a state dict
        const pickle::global_name cls = g.global(g.children(g.root())[0]);
        auto extracted = extract_state_dict(evaluated.values);
        BRINE_TRY(extracted);
        out_report.format += ", weights extracted from a pickled module";
        // The module's classes (and with them its code) are left out: that is a removal.
        finding_entry dropped;
        dropped.part = "module";
        dropped.in_pickle = false;
        dropped.op = pickle::opcode::NEWOBJ;
        dropped.offset = base + root.offset;
        dropped.module = alloc::string(cls.module);
        dropped.name = alloc::string(cls.name);
        dropped.reason = "a pickled module: its classes are not kept, only the state dict of its " +
                         alloc::to_string(*extracted) + " tensors";
        out_report.findings.push_back(std::move(dropped));
        return {};
    }

    // Extracted weights were read with a wider policy: the output must pass the strict one.
    status check_extracted(byte_view rebuilt) {
        if (!extracting()) return {};
        machine_type machine(allowlist_);
        pickle::evaluation again;
        BRINE_TRY(machine.run(rebuilt, again));
        if (!again.values.findings().empty())
            return error{errc::torch_not_clean, again.values.findings().front().offset,
                         "extracted weights made only of values the policy allows"};
        return {};
    }

    static error in_entry(error e, std::string_view name) noexcept {
        e.entry = name;
        return e;
    }

    // ---- pickle streams: legacy torch.save, or a plain pickle -----------------------------------

    template <class RandomAccessSource, class SeekableSink>
    result<report> run_pickle_stream(byte_view file, const RandomAccessSource& source, SeekableSink& out, bool write) {
        machine_type machine(allowlist_);
        pickle::evaluation first;
        BRINE_TRY(machine.run(file, first, true));
        report out_report;
        if (is_legacy_magic(first)) {
            out_report.format = "torch legacy";
            detail::add_findings(out_report, first.values, "legacy magic number pickle");
            auto stream = read_legacy_stream(file, first.end_offset, machine, out_report);
            BRINE_TRY(stream);
            if (extracting()) {
                BRINE_TRY(extract_if_module(stream->main, out_report, stream->main_offset));
                BRINE_TRY(refind_tensors(*stream));
            }
            const legacy_stream& parsed = *stream;
            BRINE_TRY(check_sparse_indices(parsed.found, [&](std::uint32_t i, alloc::vector<std::uint8_t>& storage_bytes) -> status {
                const byte_view data = file.subview(static_cast<std::size_t>(parsed.data[i].offset),
                                                    static_cast<std::size_t>(parsed.found.storages[i].byte_size()));
                storage_bytes.assign(data.begin(), data.end());
                return {};
            }));
            out_report.protocol = stream->main.protocol;
            detail::add_tensors(out_report, stream->found);
            if (!write) return out_report;
            const legacy_stream& legacy = *stream;
            std::uint64_t copied = 0;
            const auto copier = [&](std::size_t i, auto& sink) -> status {
                using sink_type = std::remove_reference_t<decltype(sink)>;
                detail::progress_sink<sink_type> counted(sink, progress_, progress_context_, copied,
                                                         out_report.storage_bytes);
                return brine::copy_range(source, legacy.data[i].offset, legacy.found.storages[i].byte_size(), counted);
            };
            BRINE_TRY(mtd_.prepare(stream->main.values, legacy.found));
            BRINE_TRY(write_zip(legacy.main.values, legacy.found, copier, out, out_report));
            return out_report;
        }

        out_report.format = "pickle";
        out_report.protocol = first.protocol;
        detail::add_findings(out_report, first.values, "pickle");
        if (first.end_offset < file.size()) {
            finding_entry trailing;
            trailing.part = "pickle";
            trailing.offset = first.end_offset;
            trailing.reason = "data after STOP: not part of the object, ignored (never written)";
            out_report.findings.push_back(std::move(trailing));
        }
        auto found = find_tensors(first.values);
        BRINE_TRY(found);
        detail::add_tensors(out_report, *found);
        if (!write) return out_report;
        BRINE_TRY(mtd_.prepare(first.values, *found));
        alloc::vector<std::uint8_t> rebuilt;
        auto stats = pickle::writer(first.values, pickle::writer_limits::of<limits_type>()).write(rebuilt);
        BRINE_TRY(stats);
        out_report.write = *stats;
        BRINE_TRY(out.write(byte_view(rebuilt.data(), rebuilt.size())));
        BRINE_TRY(mtd_.raw_pickle(byte_view(rebuilt.data(), rebuilt.size())));
        out_report.output_size = rebuilt.size();
        return out_report;
    }

    result<legacy_stream> read_legacy_stream(byte_view file, std::uint64_t offset, machine_type& machine,
                                             report& out_report) {
        if constexpr (formats_type::weight_extraction) {
            if (extract_weights_) {
                const policy::module_structure<allowlist_type> structure(allowlist_);
                pickle::machine<policy::module_structure<allowlist_type>, limits_type, reader_type> module_machine(structure);
                return read_legacy(file, offset, machine, module_machine, out_report);
            }
        }
        return read_legacy(file, offset, machine, out_report);
    }

    // ---- output -----------------------------------------------------------------------------------

    template <class Copier, class SeekableSink>
    status write_zip(const pickle::graph& values, const checkpoint& found, const Copier& copier, SeekableSink& out,
                     report& out_report, const alloc::vector<const zip::entry*>* records = nullptr) {
        alloc::vector<std::uint8_t> rebuilt;
        auto stats = pickle::writer(values, pickle::writer_limits::of<limits_type>()).write(rebuilt);
        BRINE_TRY(stats);
        out_report.write = *stats;
        BRINE_TRY(check_extracted(byte_view(rebuilt.data(), rebuilt.size())));
        detail::counted_sink<SeekableSink> counted(out);
        const detail::output_parts<Copier, Mtd> parts(byte_view(rebuilt.data(), rebuilt.size()), found, copier, mtd_,
                                                      records);
        BRINE_TRY(writer_.write(parts, counted));
        if (counted.count() == 0)
            return error{errc::invalid_argument, 0, "a Writer that writes the output (it wrote nothing)",
                         writer_type::name};
        out_report.output_size = counted.count();
        return {};
    }

    allowlist_type allowlist_;
    writer_type writer_;
    Mtd mtd_;
    bool extract_weights_ = false;
    progress_callback progress_ = nullptr;
    void* progress_context_ = nullptr;
};

// The default composition (DESIGN.md §1).
using disarmer = basic_disarmer<pickle::reader<pickle::limits::standard>, policy::torch_weights_only,
                                writer::torch_zip, mtd::none>;

}  // namespace torch
BRINE_NAMESPACE_END
