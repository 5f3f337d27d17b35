// brine CLI: convert a checkpoint into a safetensors file (issue 7).
//
// The conversion is a disarm whose Writer policy is writer::safetensors: the input is judged and
// validated as for disarm, and the output is built from what the policy allows. Exit codes: 0
// written, 1 written with something removed or skipped (the lines say what), 2 error (no file).
#pragma once

#include <brine/brine.hpp>

#include "options.hpp"
#include "output.hpp"

#include <cstdio>
#include <string>

namespace brine_cli {

inline int command_convert(int argc, char** argv) {
    options opts;
    if (!parse_options(argc, argv, "convert", opts)) return exit_error;
    if (opts.paths.size() != 2) {
        std::fputs("brine convert: expected IN and OUT.safetensors\n", stderr);
        return exit_error;
    }
    const std::string& in = opts.paths[0];
    const std::string& out = opts.paths[1];
    const auto fail = [&](const brine::error& e) {
        print_failure(opts, "convert", in, e);
        return exit_error;
    };
    return with_allowlist(opts, "convert", [&](auto allowlist) {
        using allowlist_type = decltype(allowlist);
        using writer_type = brine::writer::safetensors;
        auto file = brine::hybrid_file_source::open(in.c_str());
        if (!file) return fail(file.err());
        auto kind = brine::torch::detect(*file);
        if (!kind) return fail(kind.err());
        if (*kind != brine::torch::format::zip && *kind != brine::torch::format::pickle_stream)
            return fail(brine::error{brine::errc::torch_not_a_checkpoint, 0, "a torch checkpoint to convert"});
        brine::writer::safetensors_summary summary;
        writer_type writer{{}, &summary};
        writer.options.strict = opts.strict;
        writer.options.source_sha256 = std::string(brine::crypto::to_hex(brine::crypto::sha256::hash(file->mapping())).data(), 64);
        brine::torch::basic_disarmer<brine::pickle::reader<brine::pickle::limits::standard>, allowlist_type, writer_type,
                                     brine::mtd::none>
            converter(allowlist, writer);
        converter.extract_weights(opts.extract_weights);
        auto sink = brine::atomic_file_sink::create(out.c_str());
        if (!sink) return fail(sink.err());
        auto done = converter.disarm(file->mapping(), *file, *sink);
        if (!done) return fail(done.err());
        if (auto committed = sink->commit(opts.sync); !committed) return fail(committed.err());
        const bool removed = !done->clean() || !summary.skipped.empty();
        std::string text;
        if (opts.json) {
            text = "{\"file\":" + json_string(in) + ",\"output\":" + json_string(out) + ",\"status\":\"converted\"" +
                   ",\"tensors\":" + std::to_string(summary.tensors_written) + ",\"skipped\":[";
            for (std::size_t i = 0; i < summary.skipped.size(); ++i)
                text += std::string(i ? "," : "") + "{\"name\":" + json_string(summary.skipped[i].name) +
                        ",\"reason\":" + json_string(brine::writer::to_string(summary.skipped[i].reason)) + "}";
            text += "],\"findings\":" + findings_json(*done) + "}\n";
        } else {
            text = escaped(in) + ": converted into " + escaped(out) + " (" + std::to_string(summary.tensors_written) +
                   " tensors, " + std::to_string(summary.data_size) + " bytes of data)\n";
            for (const auto& s : summary.skipped)
                text += "  skipped " + escaped(s.name) + ": " + std::string(brine::writer::to_string(s.reason)) + "\n";
            if (!opts.quiet)
                for (const auto& f : done->findings) text += finding_text(f);
        }
        print_line(stdout, text);
        return removed ? exit_findings : exit_ok;
    });
}

}  // namespace brine_cli
