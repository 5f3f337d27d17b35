// SPDX-License-Identifier: MIT
//
// Reading an input into a reconstruction (torch/reconstruction.hpp): the one reading step the
// disarmer and the checkpoint view share. For every torch container it
//   - finds the pickle(s) the way torch.load finds them, and evaluates each with the machine
//     under the allowlist, reading opcodes with Reader (never executing anything);
//   - with weight extraction, reads pickled modules and TorchScript under
//     policy::module_structure and keeps only the state dict of their weights, judged again
//     from the graph under the allowlist (pickle/judge_reachable.hpp);
//   - validates the tensors (find_tensors), every storage's bytes (a record of exactly numel x
//     item size bytes; sparse indices in range) and the container's bookkeeping (byteorder,
//     version), and reports what the reconstruction will leave out.
// Storage bytes are not read here (but for sparse indices): the reconstruction streams them when
// they are written. NumPy inputs (.npy, .npz; THREATS.md F5) are scanned by numpy/ with the same
// Reader and allowlist, each object array's pickle evaluated once, and described in the report
// (each array a storage, its data bytes storage_bytes).
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/memory.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/numpy/npy.hpp>
#include <brine/numpy/npz_scan.hpp>
#include <brine/pickle/judge_reachable.hpp>
#include <brine/pickle/machine.hpp>
#include <brine/policy/module_structure.hpp>
#include <brine/safetensors/detect.hpp>
#include <brine/safetensors/reader.hpp>
#include <brine/torch/archive.hpp>
#include <brine/torch/extract.hpp>
#include <brine/torch/find_tensors.hpp>
#include <brine/torch/formats.hpp>
#include <brine/torch/legacy.hpp>
#include <brine/torch/load_rules.hpp>
#include <brine/torch/reconstruction.hpp>
#include <brine/torch/report.hpp>
#include <brine/zip/reader.hpp>

#include <cstdint>
#include <new>
#include <string_view>
#include <utility>

BRINE_NAMESPACE_BEGIN
namespace torch {

// Reader, Allowlist and Formats as a disarmer resolved them (policies that passed their checks).
template <class Reader, class Allowlist, class Formats>
class checkpoint_reader {
public:
    using limits_type = typename Reader::limits_type;
    using machine_type = pickle::machine<Allowlist, limits_type, Reader>;
    using module_policy = policy::module_structure<Allowlist>;
    // What a reading yields: room for a safetensors header only when Formats reads safetensors
    // (its std containers would otherwise reach a heap-free build).
    template <class RandomAccessSource>
    using value_type = reconstruction<RandomAccessSource, formats::reads_safetensors_v<Formats>>;

    // `allowlist` must outlive the reader. `extract_weights`: read TorchScript archives and
    // pickled modules as the state dict of their weights (only when Formats compiles it in).
    checkpoint_reader(const Allowlist& allowlist, bool extract_weights) noexcept
        : allowlist_(&allowlist), extract_weights_(extract_weights) {}

    // A torch.save zip archive (TorchScript only with weight extraction). The archive's opening
    // errors come back as they are: the caller may try another reading (an .npz) on some.
    template <class RandomAccessSource>
    [[nodiscard]] result<value_type<RandomAccessSource>> read_zip(const RandomAccessSource& source) const {
        value_type<RandomAccessSource> out;
        out.from = container::torch_zip;
        out.source_ = &source;
        auto opened = zip::reader<RandomAccessSource>::open(source);
        BRINE_TRY(opened);
        out.archive_.emplace(std::move(*opened));
        const zip::reader<RandomAccessSource>& archive = *out.archive_;

        const bool script = static_cast<bool>(archive.find_record("constants.pkl"));
        if (script && !extracting())
            return error{errc::torch_torchscript, 0,
                         "a torch.save archive (TorchScript is refused by default; --extract-weights reads its weights)"};
        auto data_pkl = archive.find_record("data.pkl");
        if (!data_pkl) return error{errc::torch_no_data_pkl, 0, "a <folder>/data.pkl record"};
        const zip::entry& pickle_entry = **data_pkl;
        if (pickle_entry.uncompressed_size > limits_type::max_pickle_size)
            return error{errc::limit_exceeded, pickle_entry.local_header_offset, "a data.pkl within the pickle limits",
                         pickle_entry.name};
        // Its size is the archive's word (up to the limit): memory it cannot have is an error,
        // not the end of the program.
        const auto pickle_size = static_cast<std::size_t>(pickle_entry.uncompressed_size);
        out.pickle_bytes_ = ::brine::detail::raw_block(pickle_size, std::nothrow);
        if (out.pickle_bytes_.data() == nullptr && pickle_size != 0)
            return error{errc::limit_exceeded, pickle_entry.local_header_offset,
                         "a data.pkl that fits in the memory available", pickle_entry.name};
        buffer_sink pickle_sink(mutable_byte_view(static_cast<std::uint8_t*>(out.pickle_bytes_.data()), pickle_size));
        BRINE_TRY(archive.extract(pickle_entry, pickle_sink));

        BRINE_TRY(check_byteorder(archive));
        BRINE_TRY(check_version(archive));

        report& described = out.described;
        described.format = script ? "torchscript" : "torch zip";
        const status ran = evaluate_main(pickle_sink.written(), out.evaluated_, described, "data.pkl");
        if (!ran) return in_entry(ran.err(), pickle_entry.name);
        const status text_ok = check_python2_strings(out.values());  // torch.load: encoding='utf-8'
        if (!text_ok) return in_entry(text_ok.err(), pickle_entry.name);
        auto found = find_tensors(out.values());
        if (!found) return in_entry(found.err(), pickle_entry.name);
        out.found = std::move(*found);
        detail::add_tensors(described, out.found);

        // Every storage's record exists and holds exactly numel x item size bytes: fewer would
        // make torch read past it (W1), more would be bytes no tensor accounts for (W5).
        for (const storage_ref& storage : out.found.storages) {
            alloc::string name = "data/";
            name += storage.key;
            auto record = archive.find_record(name);
            if (!record) return error{errc::torch_missing_record, 0, "a data/<key> record for every storage", name};
            if ((*record)->uncompressed_size != storage.byte_size())
                return error{errc::torch_record_size, (*record)->local_header_offset,
                             "a record of exactly numel x item size bytes", (*record)->name};
            out.records_.push_back(*record);
        }
        report_unused_records(archive, out.records_, script, described);
        const status sparse_ok =
            check_sparse_indices(out.found, [&](std::uint32_t i, alloc::vector<std::uint8_t>& storage_bytes) {
                storage_bytes.clear();
                vector_sink sink(storage_bytes);
                return archive.extract(*out.records_[i], sink);
            });
        if (!sparse_ok) return in_entry(sparse_ok.err(), pickle_entry.name);
        return out;
    }

    // A pickle stream: a legacy torch.save stream (its five pickles all judged) when the first
    // pickle is torch's magic number, else a bare pickle. `file` holds the whole input; `source`
    // reads the same bytes by offset.
    template <class RandomAccessSource>
    [[nodiscard]] result<value_type<RandomAccessSource>> read_pickle_stream(byte_view file,
                                                                                const RandomAccessSource& source) const {
        value_type<RandomAccessSource> out;
        out.source_ = &source;
        report& described = out.described;
        machine_type machine(*allowlist_);
        pickle::evaluation first;
        BRINE_TRY(machine.run(file, first, true));
        if (!is_legacy_magic(first)) {
            out.from = container::pickle;
            described.format = "pickle";
            described.protocol = first.protocol;
            detail::add_findings(described, first.values, "pickle");
            if (first.end_offset < file.size()) {
                finding_entry trailing;
                trailing.part = "pickle";
                trailing.offset = first.end_offset;
                trailing.reason = "data after STOP: not part of the object, ignored (never written)";
                described.findings.push_back(std::move(trailing));
            }
            out.evaluated_ = std::move(first);
            auto found = find_tensors(out.values());
            BRINE_TRY(found);
            out.found = std::move(*found);
            detail::add_tensors(described, out.found);
            return out;
        }

        out.from = container::torch_legacy;
        described.format = "torch legacy";
        detail::add_findings(described, first.values, "legacy magic number pickle");
        auto stream = read_legacy_stream(file, first.end_offset, machine, described);
        BRINE_TRY(stream);
        if (extracting()) {
            BRINE_TRY(extract_if_module(stream->main, described, stream->main_offset));
            BRINE_TRY(refind_tensors(*stream));
        }
        const legacy_stream& parsed = *stream;
        BRINE_TRY(check_sparse_indices(parsed.found, [&](std::uint32_t i, alloc::vector<std::uint8_t>& storage_bytes) -> status {
            const byte_view data = file.subview(static_cast<std::size_t>(parsed.data[i].offset),
                                                static_cast<std::size_t>(parsed.found.storages[i].byte_size()));
            storage_bytes.assign(data.begin(), data.end());
            return {};
        }));
        described.protocol = stream->main.protocol;
        out.evaluated_ = std::move(stream->main);
        out.found = std::move(stream->found);
        for (const legacy_storage_data& data : stream->data) out.offsets_.push_back(data.offset);
        detail::add_tensors(described, out.found);
        return out;
    }

    // A NumPy .npy file: `file` holds it whole (the reconstruction's view of its data points
    // into it). An object array is evaluated under the allowlist; its findings are reported.
    template <class RandomAccessSource>
    [[nodiscard]] result<value_type<RandomAccessSource>> read_npy(byte_view file) const {
        auto scanned = numpy::scan_npy<Allowlist, limits_type, Reader>(file, *allowlist_);
        BRINE_TRY(scanned);
        value_type<RandomAccessSource> out;
        out.from = container::npy;
        report& described = out.described;
        described.format = scanned->has_objects() ? "npy (object array)" : "npy";
        described.storages = 1;
        described.storage_bytes = scanned->array.data.size();
        if (scanned->has_objects()) {
            detail::add_findings(described, scanned->objects.values, "npy object pickle",
                                 scanned->array.header.data_offset);
            described.protocol = scanned->objects.protocol;
        }
        out.npy_.emplace(std::move(*scanned));
        return out;
    }

    // A NumPy .npz archive (a zip of .npy members at the top level): every member read and
    // checked, object members evaluated under the allowlist; the archive stays open in the
    // reconstruction for numeric members to be streamed again when written. `archive`: `source`
    // opened with numpy::npz_zip_limits() (the caller opened it to tell an .npz from a zip).
    template <class RandomAccessSource>
    [[nodiscard]] result<value_type<RandomAccessSource>> read_npz(const RandomAccessSource& source,
                                                                  zip::reader<RandomAccessSource>&& archive) const {
        value_type<RandomAccessSource> out;
        out.from = container::npz;
        out.source_ = &source;
        out.archive_.emplace(std::move(archive));
        auto scanned = numpy::scan_npz_archive<Allowlist, limits_type, Reader>(*out.archive_, *allowlist_);
        BRINE_TRY(scanned);
        report& described = out.described;
        described.format = "npz";
        for (const numpy::npz_member& member : scanned->members) {
            ++described.storages;
            described.storage_bytes += member.header.data_size;
            if (member.has_objects())
                detail::add_findings(described, member.objects.values, member.name, member.header.data_offset);
        }
        out.npz_.emplace(std::move(*scanned));
        return out;
    }

    // A safetensors file (`file` holds it whole): its header validated under the format's rules
    // (safetensors/reader.hpp), tensors pointing into `file`. It holds no code; but a pickle
    // loader handed the same bytes reads them as opcodes, and when those reach one that can name
    // code (the file is also a pickle), that is a finding: the rewrite is never one.
    template <class RandomAccessSource>
    [[nodiscard]] result<value_type<RandomAccessSource>> read_safetensors(byte_view file) const {
        value_type<RandomAccessSource> out;
        out.from = container::safetensors;
        auto header = safetensors::read(file);
        BRINE_TRY(header);
        report& described = out.described;
        described.format = "safetensors";
        described.storages = header->tensors.size();
        for (const safetensors::tensor_info& t : header->tensors) described.storage_bytes += t.byte_size();
        const safetensors::pickle_reading as_pickle = safetensors::read_as_pickle(file);
        if (as_pickle.names_code) {
            finding_entry polyglot;
            polyglot.part = "safetensors read as a pickle";
            polyglot.op = as_pickle.op;
            polyglot.offset = as_pickle.offset;
            polyglot.reason = "a pickle loader handed this file would read its bytes as opcodes up to this one, which "
                              "can import or call code: not written (the rewrite starts with no pickle opcode)";
            described.findings.push_back(std::move(polyglot));
        }
        out.safetensors_.emplace(std::move(*header));
        return out;
    }

private:
    // extract_weights_, known false at compile time when the Formats policy leaves extraction out.
    [[nodiscard]] bool extracting() const noexcept {
        if constexpr (Formats::weight_extraction) return extract_weights_;
        return false;
    }

    // Evaluates a checkpoint's main pickle. With extract_weights, pickled modules are read with
    // policy::module_structure and replaced by the state dict of their weights.
    status evaluate_main(byte_view pickle_bytes, pickle::evaluation& evaluated, report& described, const char* part) const {
        if (!extracting()) {
            machine_type machine(*allowlist_);
            BRINE_TRY(machine.run(pickle_bytes, evaluated));
        } else if constexpr (Formats::weight_extraction) {
            const module_policy structure(*allowlist_);
            pickle::machine<module_policy, limits_type, Reader> machine(structure);
            BRINE_TRY(machine.run(pickle_bytes, evaluated));
        }
        described.protocol = evaluated.protocol;
        detail::add_findings(described, evaluated.values, part);
        return extract_if_module(evaluated, described);
    }

    status extract_if_module(pickle::evaluation& evaluated, report& described, std::uint64_t base = 0) const {
        if (!extracting()) return {};
        const pickle::graph& g = evaluated.values;
        const pickle::node& root = g[g.root()];
        if (root.kind != pickle::node_kind::call || root.form != pickle::call_form::newobj) return {};  // a state dict
        const pickle::global_name cls = g.global(g.children(g.root())[0]);
        auto extracted = extract_state_dict(evaluated.values);
        BRINE_TRY(extracted);
        // Read with a wider policy: what the state dict holds must pass the allowlist itself.
        const status judged =
            pickle::judge_reachable(evaluated.values, *allowlist_, "extracted weights made only of values the policy allows");
        if (!judged) {
            error e = judged.err();
            e.offset += base;
            return e;
        }
        described.format += ", weights extracted from a pickled module";
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
        described.findings.push_back(std::move(dropped));
        return {};
    }

    result<legacy_stream> read_legacy_stream(byte_view file, std::uint64_t offset, machine_type& machine,
                                             report& described) const {
        if constexpr (Formats::weight_extraction) {
            if (extract_weights_) {
                const module_policy structure(*allowlist_);
                pickle::machine<module_policy, limits_type, Reader> module_machine(structure);
                return read_legacy(file, offset, machine, module_machine, described);
            }
        }
        return read_legacy(file, offset, machine, described);
    }

    // Records the reconstruction leaves out are findings (THREATS.md Z6: a pickle or payload
    // hidden in an extra record that another loader might read), except the bookkeeping torch
    // writes itself, a brine seal's manifest (read by brine verify alone; a reconstruction is a
    // new file, never sealed), and, for TorchScript, its code and constants, which
    // --extract-weights drops knowingly.
    template <class Archive>
    static void report_unused_records(const Archive& archive, const alloc::vector<const zip::entry*>& used, bool script,
                                      report& described) {
        static constexpr std::string_view bookkeeping[] = {"data.pkl", "byteorder", "version", ".data/version",
                                                           ".data/serialization_id", ".format_version",
                                                           ".storage_alignment", sealed_manifest_record};
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
            described.findings.push_back(std::move(unused));
        }
    }

    static error in_entry(error e, std::string_view name) noexcept {
        e.entry = name;
        return e;
    }

    const Allowlist* allowlist_;
    bool extract_weights_;
};

}  // namespace torch
BRINE_NAMESPACE_END
