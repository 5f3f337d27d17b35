// brine CLI: keygen, seal, verify, restore (README: "Seal, verify, restore").
//
// Exit codes: 0 done / intact, 1 the seal's reconstruction removed something (as disarm),
// 2 error (no output exists; also a wrong key, said as "wrong key"), 3 tampering detected
// (verify; restore of a tampered file), which includes an authentic seal whose label or root is
// not the one --expect-label / --expect-root pins: not the expected model.
#pragma once

#include <brine/brine.hpp>

#include "options.hpp"
#include "output.hpp"
#include "progress.hpp"
#include "safetensors_commands.hpp"

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace brine_cli {

inline unsigned hashing_jobs(const options& opts) {
    if (opts.jobs_given) return opts.jobs;
    const unsigned cores = std::thread::hardware_concurrency();
    return cores == 0 ? 1 : cores;
}

inline bool load_key(const options& opts, const char* command, brine::mtd::secret_key& key) {
    if (opts.key.empty()) {
        std::fprintf(stderr, "brine %s: --key KEYFILE is required (brine keygen KEYFILE makes one)\n", command);
        return false;
    }
    auto loaded = brine::mtd::read_key_file(opts.key.c_str());
    if (!loaded) {
        std::fprintf(stderr, "brine %s: key %s: %s\n", command, escaped(opts.key).c_str(), error_text(loaded.err()).c_str());
        return false;
    }
    key = *loaded;
    return true;
}

inline int command_keygen(int argc, char** argv) {
    options opts;
    if (!parse_options(argc, argv, "keygen", opts)) return exit_error;
    if (opts.paths.size() != 1) {
        std::fputs("brine keygen: expected one KEYFILE (it must not exist yet)\n", stderr);
        return exit_error;
    }
    auto key = brine::mtd::generate_key();
    if (key) {
        const brine::status written = brine::mtd::write_new_key_file(opts.paths[0].c_str(), *key);
        if (written) {
            if (!opts.quiet) std::printf("%s: new key written (mode 0600); keep it secret and backed up\n", escaped(opts.paths[0]).c_str());
            return exit_ok;
        }
        std::fprintf(stderr, "brine keygen: %s: %s\n", escaped(opts.paths[0]).c_str(), error_text(written.err()).c_str());
        return exit_error;
    }
    std::fprintf(stderr, "brine keygen: %s\n", error_text(key.err()).c_str());
    return exit_error;
}

inline bool read_text_file(const std::string& path, std::string& out) {
    auto file = brine::mapped_file::open(path.c_str());
    if (!file || file->bytes().size() > (std::size_t{1} << 20)) return false;
    out.assign(reinterpret_cast<const char*>(file->bytes().data()), file->bytes().size());
    return true;
}

inline int command_seal(int argc, char** argv) {
    options opts;
    if (!parse_options(argc, argv, "seal", opts)) return exit_error;
    if (opts.paths.size() != 2) {
        std::fputs("brine seal: expected IN and OUT\n", stderr);
        return exit_error;
    }
    brine::mtd::secret_key key;
    if (!load_key(opts, "seal", key)) return exit_error;
    brine::mtd::seal_options seal;
    seal.permute = opts.permute;  // a bundled strategy's name, checked by parse_options
    seal.hash = opts.hash;
    if (brine::mtd::hashes::bundled known; !known.select(seal.hash)) {
        std::fputs("brine seal: --hash takes hmac_sha256 or sha256\n", stderr);
        return exit_error;
    }
    seal.scrub_lsb = opts.scrub_lsb;
    seal.label = opts.label;  // checked by parse_options
    seal.jobs = hashing_jobs(opts);
    if (!opts.plan.empty() && !read_text_file(opts.plan, seal.plan)) {
        std::fprintf(stderr, "brine seal: cannot read the plan file %s (at most 1 MiB)\n", escaped(opts.plan).c_str());
        return exit_error;
    }
    const std::string& in = opts.paths[0];
    const std::string& out = opts.paths[1];
    return with_allowlist(opts, "seal", [&](auto allowlist) {
        progress_line progress{"sealing", escaped(in)};
        const bool show = !opts.quiet && wants_progress(in);
        auto sealed = brine::mtd::seal_file(in.c_str(), out.c_str(), key, seal,
                                            opts.manifest.empty() ? nullptr : opts.manifest.c_str(), std::move(allowlist),
                                            opts.sync, show ? &progress_line::update : nullptr, &progress);
        progress.finish();
        if (!sealed) {
            print_failure(opts, "seal", in, sealed.err());
            return exit_error;
        }
        const brine::torch::report& r = sealed->reconstruction;
        const brine::mtd::seal_summary& s = sealed->summary;
        const std::string root = brine::mtd::to_hex(s.root);
        const bool scrubbed = seal.scrub_lsb != 0;
        if (opts.json) {
            std::string line = "{\"file\":" + json_string(in) + ",\"output\":" + json_string(out) +
                               ",\"status\":\"sealed\",\"format\":" + json_string(r.format) +
                               ",\"permute\":" + json_string(opts.permute) + ",\"hash\":" + json_string(opts.hash) +
                               ",\"records\":" + std::to_string(s.records) + ",\"tensors\":" + std::to_string(s.tensors) +
                               ",\"root\":" + json_string(root) + ",\"findings\":" + findings_json(r);
            if (!seal.label.empty()) line += ",\"label\":" + json_string(seal.label);
            if (!s.plan.empty()) line += ",\"plan\":" + json_string(s.plan);
            if (scrubbed)
                line += ",\"scrub\":{\"bits\":" + std::to_string(seal.scrub_lsb) +
                        ",\"max_abs_change\":" + json_number(s.scrubbed.max_abs) +
                        ",\"max_rel_change\":" + json_number(s.scrubbed.max_rel) + "}";
            print_line(stdout, line + "}\n");
        } else {
            std::string text = escaped(in) + ": sealed into " + escaped(out) + " (" + r.format + "; permute " +
                               opts.permute + ", " + opts.hash + "; " + std::to_string(s.records) + " records, " +
                               std::to_string(s.tensors) + " tensors)\n  root " + root + "\n";
            if (!seal.label.empty()) text += "  label " + escaped(seal.label) + "\n";
            if (!opts.manifest.empty()) text += "  manifest " + escaped(opts.manifest) + "\n";
            if (!opts.quiet && !s.plan.empty()) text += "  " + opts.permute + " plan:\n" + s.plan;
            if (scrubbed) {
                char line[160];
                std::snprintf(line, sizeof line, "  scrubbed %u low mantissa bits: largest change %.3g absolute, %.3g relative\n",
                              seal.scrub_lsb, s.scrubbed.max_abs, s.scrubbed.max_rel);
                text += line;
            }
            if (!opts.quiet)
                for (const auto& f : r.findings) text += finding_text(f);
            print_line(stdout, text);
        }
        return r.clean() ? exit_ok : exit_findings;
    });
}

// What to add to a failure's line: a wrong key is said in words (exit 2, not tampering).
inline const char* failure_hint(const brine::error& e) {
    return e.code == brine::errc::mtd_wrong_key ? " -- wrong key: the file was sealed under another key" : "";
}

inline brine::mtd::verify_options verify_options_of(const options& opts, progress_line* progress) {
    brine::mtd::verify_options v;
    v.jobs = hashing_jobs(opts);
    v.manifest_path = opts.manifest.empty() ? nullptr : opts.manifest.c_str();
    if (opts.expect_label_given) v.expect_label = opts.expect_label;
    if (opts.expect_root_given) v.expect_root = opts.expect_root;
    if (progress) {
        v.progress = &progress_line::update;
        v.progress_context = progress;
    }
    return v;
}

template <class Allowlist>
int verify_one(const options& opts, const std::string& path, const brine::mtd::secret_key& key, const Allowlist& rules) {
    progress_line progress{"verifying", escaped(path)};
    const bool show = !opts.quiet && wants_progress(path);
    const auto checked = brine::mtd::verify_file(path.c_str(), key, verify_options_of(opts, show ? &progress : nullptr), rules);
    progress.finish();
    if (!checked) {
        print_failure(opts, "verify", path, checked.err(), "error", failure_hint(checked.err()));
        return exit_error;
    }
    const brine::mtd::verify_report& r = *checked;
    if (opts.json) {
        std::string line = "{\"file\":" + json_string(path) + ",\"status\":" + (r.intact() ? "\"intact\"" : "\"tampered\"");
        if (r.manifest_authentic) line += ",\"root\":" + json_string(brine::mtd::to_hex(r.sealed.root));
        if (r.manifest_authentic && !r.sealed.label.empty()) line += ",\"label\":" + json_string(r.sealed.label);
        line += ",\"problems\":[";
        for (std::size_t i = 0; i < r.problems.size(); ++i)
            line += std::string(i ? "," : "") + "{\"where\":" + json_string(r.problems[i].where) +
                    ",\"what\":" + json_string(r.problems[i].what) + "}";
        print_line(stdout, line + "]}\n");
    } else if (r.intact()) {
        if (!opts.quiet)
            print_line(stdout, escaped(path) + ": intact (" + std::to_string(r.sealed.records.size()) + " records, " +
                                   std::to_string(r.sealed.tensors.size()) + " tensors, " +
                                   std::to_string(r.bytes_hashed) + " bytes hashed)\n  root " +
                                   brine::mtd::to_hex(r.sealed.root) + "\n" +
                                   (r.sealed.label.empty() ? std::string() : "  label " + escaped(r.sealed.label) + "\n"));
    } else {
        std::string text = escaped(path) + ": TAMPERED (" + std::to_string(r.problems.size()) + " problem(s))\n";
        for (const auto& p : r.problems) text += "  " + escaped(p.where) + ": " + escaped(p.what) + "\n";
        print_line(stdout, text);
    }
    return r.intact() ? exit_ok : exit_tampered;
}

inline int command_verify(int argc, char** argv) {
    options opts;
    if (!parse_options(argc, argv, "verify", opts)) return exit_error;
    if (opts.paths.size() != 1) {
        std::fputs("brine verify: expected one FILE\n", stderr);
        return exit_error;
    }
    const std::string& path = opts.paths[0];
    // A safetensors file carries no seal: checked for structure, reported, never "intact" (the
    // key is not needed for that).
    if (is_safetensors_file(path)) return verify_safetensors(path, opts);
    brine::mtd::secret_key key;
    if (!load_key(opts, "verify", key)) return exit_error;
    return with_allowlist(opts, "verify", [&](auto allowlist) { return verify_one(opts, path, key, allowlist); });
}

inline int command_restore(int argc, char** argv) {
    options opts;
    if (!parse_options(argc, argv, "restore", opts)) return exit_error;
    if (opts.paths.size() != 2) {
        std::fputs("brine restore: expected IN and OUT\n", stderr);
        return exit_error;
    }
    brine::mtd::secret_key key;
    if (!load_key(opts, "restore", key)) return exit_error;
    const std::string& in = opts.paths[0];
    const std::string& out = opts.paths[1];
    return with_allowlist(opts, "restore", [&](auto allowlist) {
        auto restored = brine::mtd::restore_file(in.c_str(), out.c_str(), key, verify_options_of(opts, nullptr),
                                                 std::move(allowlist), opts.sync);
        if (!restored) {
            const bool tampered = restored.err().code == brine::errc::mtd_tampered;
            print_failure(opts, "restore", in, restored.err(), tampered ? "tampered" : "error",
                          tampered ? " (brine verify names what changed)" : failure_hint(restored.err()));
            return tampered ? exit_tampered : exit_error;
        }
        const brine::torch::report& r = *restored;
        if (opts.json)
            print_line(stdout, "{\"file\":" + json_string(in) + ",\"output\":" + json_string(out) +
                                   ",\"status\":\"restored\",\"tensors\":" + std::to_string(r.tensors.size()) +
                                   ",\"output_bytes\":" + std::to_string(r.output_size) + "}\n");
        else if (!opts.quiet)
            print_line(stdout, escaped(in) + ": restored into " + escaped(out) + " (" + std::to_string(r.tensors.size()) +
                                   " tensors, " + std::to_string(r.output_size) + " bytes)\n");
        return r.clean() ? exit_ok : exit_findings;
    });
}

}  // namespace brine_cli
