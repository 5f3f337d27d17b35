// brine CLI: safetensors inputs for scan, info, disarm and verify (issue 7, "Drop-in").
//
// Which files these are is decided by content (safetensors::detect, which explains why the rule
// cannot take a zip, .npy, tar or pickle for safetensors), before the torch path sees the file.
// Every file is checked whole by the strict reader (safetensors/reader.hpp): the header's JSON,
// every tensor's dtype, shape and byte range, and a data area the tensors cover exactly. A
// safetensors file holds no code; what brine reports besides its validity is what a pickle loader
// would reach if handed the same bytes (safetensors::read_as_pickle), a finding when that is an
// opcode that can name code.
//
//   scan     0 valid (no code), 1 valid but a pickle loader would reach code, 2 invalid (the
//            reader's sentence and byte offset)
//   info     the tensors (name, dtype, shape, C-contiguous strides, data_offsets) and the
//            __metadata__ entries; exit as scan
//   disarm   a reconstruction, never a copy: the file is parsed and validated, then a new file is
//            written through the safetensors writer from the parsed tensors and metadata (layout,
//            padding and offsets are the writer's; its first byte is no pickle opcode). 0 written,
//            1 written and the input's pickle reading removed, 2 error (no output)
//   verify   a safetensors file carries no brine seal: the structure is checked, then exit 2
//            saying so (or the structural error with its offset); never "intact"
#pragma once

#include <brine/brine.hpp>

#include "options.hpp"
#include "output.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace brine_cli {

// Whether brine reads `path` as safetensors. A file that cannot be opened is not: the torch
// path then reports why.
inline bool is_safetensors_file(const std::string& path) {
    auto file = brine::file_source::open(path.c_str());
    if (!file) return false;
    const auto found = brine::safetensors::detect(*file);
    return found && *found;
}

// A safetensors file, mapped, validated, and walked as a pickle loader would read it.
struct safetensors_file {
    brine::mapped_file mapping;
    brine::safetensors::header header;
    brine::safetensors::pickle_reading pickle;
};

inline brine::result<safetensors_file> read_safetensors(const std::string& path) {
    auto mapped = brine::mapped_file::open(path.c_str());
    if (!mapped) return mapped.err();
    auto header = brine::safetensors::read(mapped->bytes());
    if (!header) return header.err();
    const brine::safetensors::pickle_reading pickle = brine::safetensors::read_as_pickle(mapped->bytes());
    return safetensors_file{std::move(*mapped), std::move(*header), pickle};
}

inline const char* no_code_note() { return "safetensors holds tensors and string metadata, no code"; }

inline std::string polyglot_reason() {
    return "a pickle loader handed this file (torch.load without weights_only, pickle.load) would read its bytes as "
           "opcodes up to this one, which can import or call code; load it only as safetensors, or rewrite it with "
           "brine disarm";
}

inline std::string safetensors_findings_json(const safetensors_file& f) {
    if (!f.pickle.names_code) return "[]";
    return "[{\"part\":\"pickle\",\"offset\":" + std::to_string(f.pickle.offset) +
           ",\"opcode\":" + json_string(brine::pickle::opcode_name(f.pickle.op)) +
           ",\"module\":\"\",\"name\":\"\",\"reason\":" + json_string(polyglot_reason()) + "}]";
}

inline std::string safetensors_findings_text(const safetensors_file& f, bool removed = false) {
    if (!f.pickle.names_code) return "";
    return "  pickle @" + std::to_string(f.pickle.offset) + " " + std::string(brine::pickle::opcode_name(f.pickle.op)) +
           ": " +
           (removed ? std::string("removed: the input read as a pickle up to this opcode, which can import or call "
                                  "code; the output's first byte is no pickle opcode")
                    : polyglot_reason()) +
           "\n";
}

inline int safetensors_status(const safetensors_file& f) { return f.pickle.names_code ? exit_findings : exit_ok; }

inline std::string safetensors_summary(const safetensors_file& f) {
    return "safetensors, " + std::to_string(f.header.tensors.size()) + " tensors, " + std::to_string(f.header.data_size) +
           " bytes of data";
}

// A failure to read a safetensors file, for scan's per-file lines.
inline std::string safetensors_error_line(const std::string& path, const brine::error& e, const options& opts) {
    if (opts.json)
        return "{\"file\":" + json_string(path) + ",\"status\":\"error\",\"format\":\"safetensors\",\"error\":" +
               error_json(e) + "}\n";
    return escaped(path) + ": error: not a valid safetensors file: " + error_text(e) + "\n";
}

// brine scan of one safetensors file: the line(s) to print; `status` receives the exit status.
inline std::string scan_safetensors(const std::string& path, const options& opts, int& status) {
    const auto read = read_safetensors(path);
    if (!read) {
        status = exit_error;
        return safetensors_error_line(path, read.err(), opts);
    }
    const safetensors_file& f = *read;
    status = safetensors_status(f);
    const bool clean = status == exit_ok;
    if (opts.json)
        return "{\"file\":" + json_string(path) + ",\"status\":" + (clean ? "\"clean\"" : "\"findings\"") +
               ",\"format\":\"safetensors\",\"tensors\":" + std::to_string(f.header.tensors.size()) +
               ",\"header_bytes\":" + std::to_string(f.header.data_offset) +
               ",\"data_bytes\":" + std::to_string(f.header.data_size) + ",\"code\":" + json_string(no_code_note()) +
               ",\"findings\":" + safetensors_findings_json(f) + "}\n";
    std::string text = escaped(path) + ": " + (clean ? "clean" : "1 finding(s)") + " (" + safetensors_summary(f) +
                       "; valid" + (clean ? std::string(", ") + no_code_note() : std::string()) + ")\n";
    if (!opts.quiet) text += safetensors_findings_text(f);
    return text;
}

// C-contiguous strides in elements, as torch computes them (a dimension of size 0 counts as 1);
// false when one would not fit in 64 bits (possible only with a dimension of size 0).
inline bool contiguous_strides(const std::vector<std::uint64_t>& shape, std::vector<std::uint64_t>& out) {
    out.assign(shape.size(), 1);
    std::uint64_t stride = 1;
    for (std::size_t d = shape.size(); d-- > 0;) {
        out[d] = stride;
        const std::uint64_t size = shape[d] == 0 ? 1 : shape[d];
        if (d > 0 && stride > UINT64_MAX / size) return false;
        stride *= size;
    }
    return true;
}

inline std::string list_text(const std::vector<std::uint64_t>& values) {
    std::string out = "[";
    for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + std::to_string(values[i]);
    return out + "]";
}

inline int info_safetensors(const std::string& path, const options& opts) {
    const auto read = read_safetensors(path);
    if (!read) {
        if (opts.json) print_line(stdout, safetensors_error_line(path, read.err(), opts));
        else std::fprintf(stderr, "brine info: %s: not a valid safetensors file: %s\n", escaped(path).c_str(),
                          error_text(read.err()).c_str());
        return exit_error;
    }
    const safetensors_file& f = *read;
    std::vector<std::uint64_t> strides;
    if (opts.json) {
        std::string line = "{\"file\":" + json_string(path) + ",\"format\":\"safetensors\",\"header_bytes\":" +
                           std::to_string(f.header.data_offset) + ",\"data_bytes\":" + std::to_string(f.header.data_size) +
                           ",\"tensors\":[";
        for (std::size_t i = 0; i < f.header.tensors.size(); ++i) {
            const auto& t = f.header.tensors[i];
            const bool fits = contiguous_strides(t.shape, strides);
            line += std::string(i ? "," : "") + "{\"name\":" + json_string(t.name) +
                    ",\"dtype\":" + json_string(brine::safetensors::info(t.type).name) + ",\"shape\":" + list_text(t.shape) +
                    ",\"stride\":" + (fits ? list_text(strides) : std::string("null")) + ",\"data_offsets\":[" +
                    std::to_string(t.begin) + "," + std::to_string(t.end) + "]}";
        }
        line += "],\"metadata\":{";
        for (std::size_t i = 0; i < f.header.meta.size(); ++i)
            line += std::string(i ? "," : "") + json_string(f.header.meta[i].first) + ":" + json_string(f.header.meta[i].second);
        line += "},\"findings\":" + safetensors_findings_json(f) + "}\n";
        print_line(stdout, line);
        return safetensors_status(f);
    }
    std::string text = escaped(path) + ": " + safetensors_summary(f) + ", header " + std::to_string(f.header.data_offset) +
                       " bytes (" + no_code_note() + ")\n";
    const auto padded = [](std::string field, std::size_t width) {
        if (field.size() < width) field.append(width - field.size(), ' ');
        return field;
    };
    for (const auto& t : f.header.tensors) {
        const bool fits = contiguous_strides(t.shape, strides);
        text += "  " + padded(escaped(t.name), 40) + " " + padded(std::string(brine::safetensors::info(t.type).name), 9) +
                " " + padded(list_text(t.shape), 16) + " stride " + (fits ? list_text(strides) : "(beyond 64 bits)") +
                " data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "]\n";
    }
    if (f.header.has_metadata) {
        text += "metadata (" + std::to_string(f.header.meta.size()) + " entries):\n";
        for (const auto& [key, value] : f.header.meta) text += "  " + escaped(key) + ": " + escaped(value) + "\n";
    }
    if (f.pickle.names_code) text += "1 finding(s):\n" + safetensors_findings_text(f);
    print_line(stdout, text);
    return safetensors_status(f);
}

inline int disarm_safetensors(const std::string& in, const std::string& out, const options& opts) {
    const auto fail = [&](const brine::error& e) {
        if (opts.json) print_line(stdout, safetensors_error_line(in, e, opts));
        else std::fprintf(stderr, "brine disarm: %s: not a valid safetensors file: %s\n", escaped(in).c_str(),
                          error_text(e).c_str());
        return exit_error;
    };
    const auto read = read_safetensors(in);
    if (!read) return fail(read.err());
    const safetensors_file& f = *read;
    auto sink = brine::atomic_file_sink::create(out.c_str());
    if (!sink) return fail(sink.err());
    auto written = brine::writer::rewrite_safetensors(f.header, *sink);
    if (!written) return fail(written.err());
    if (auto one_reading = brine::readings::check_single_reading(*sink); !one_reading) return fail(one_reading.err());
    if (auto committed = sink->commit(opts.sync); !committed) return fail(committed.err());
    const int status = safetensors_status(f);
    if (opts.json) {
        print_line(stdout, "{\"file\":" + json_string(in) + ",\"output\":" + json_string(out) + ",\"status\":" +
                               (status == exit_ok ? "\"clean\"" : "\"findings\"") +
                               ",\"format\":\"safetensors\",\"tensors\":" + std::to_string(f.header.tensors.size()) +
                               ",\"output_bytes\":" + std::to_string(*written) +
                               ",\"findings\":" + safetensors_findings_json(f) + "}\n");
    } else {
        std::string text = escaped(in) + ": " + (status == exit_ok ? "clean" : "1 finding(s)") + " (" +
                           safetensors_summary(f) + "), rewrote " + std::to_string(*written) + " bytes into " +
                           escaped(out) + "\n";
        if (!opts.quiet) text += safetensors_findings_text(f, true);
        print_line(stdout, text);
    }
    return status;
}

// brine verify of a safetensors file: always exit 2 (there is no seal to check), after the
// structural check so that a broken file reports its own error.
inline int verify_safetensors(const std::string& path, const options& opts) {
    const auto read = read_safetensors(path);
    if (!read) {
        if (opts.json) print_line(stdout, safetensors_error_line(path, read.err(), opts));
        else std::fprintf(stderr, "brine verify: %s: not a valid safetensors file: %s\n", escaped(path).c_str(),
                          error_text(read.err()).c_str());
        return exit_error;
    }
    const safetensors_file& f = *read;
    if (opts.json) {
        print_line(stdout, "{\"file\":" + json_string(path) +
                               ",\"status\":\"not_sealed\",\"format\":\"safetensors\",\"structure\":\"valid\",\"tensors\":" +
                               std::to_string(f.header.tensors.size()) + ",\"findings\":" + safetensors_findings_json(f) +
                               "}\n");
    } else {
        std::fprintf(stderr,
                     "brine verify: %s: not a sealed archive: a safetensors file carries no brine seal, so nothing "
                     "was verified against a key (structure checked: valid, %zu tensors, %llu bytes of data; brine "
                     "seal works on torch checkpoints)\n",
                     escaped(path).c_str(), f.header.tensors.size(), static_cast<unsigned long long>(f.header.data_size));
        if (f.pickle.names_code) std::fputs(safetensors_findings_text(f).c_str(), stderr);
    }
    return exit_error;
}

}  // namespace brine_cli
