// brine CLI: the options every command shares (README: "The brine command") and the policy they select.
#pragma once

#include <brine/brine.hpp>

#include "output.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace brine_cli {

struct options {
    std::vector<std::string> paths;    // positional arguments
    std::string policy = "torch_weights_only";
    std::vector<std::string> allow;    // --allow module.qualname
    bool json = false;
    bool quiet = false;
    bool sync = false;                 // --sync: fsync outputs before renaming them into place
    bool extract_weights = false;      // --extract-weights: state dicts out of TorchScript / pickled modules
    bool strict = false;               // convert --strict: a tensor the format cannot hold is an error
    unsigned jobs = 1;
    bool jobs_given = false;
    // seal, verify, restore (README: "Seal, verify, restore")
    std::string key;                   // --key KEYFILE
    std::string manifest;              // --manifest PATH: a detached manifest
    std::string permute = "records";   // --permute records|elements|neurons[=PLAN]|blocks|chacha20|none
    std::string plan;                  // the PLAN file of --permute neurons=PLAN
    std::string hash = "hmac_sha256";  // --hash sha256|hmac_sha256
    unsigned scrub_lsb = 0;            // --scrub-lsb N
    std::string label;                 // seal --label NAME
    bool expect_label_given = false;   // verify/restore --expect-label NAME
    std::string expect_label;
    bool expect_root_given = false;    // verify/restore --expect-root HEX (64 digits, either case)
    brine::mtd::digest expect_root{};
};

// The root digest of --expect-root: 64 hexadecimal digits, either case (as copied from anywhere).
inline bool parse_root(std::string_view text, brine::mtd::digest& out) {
    std::string lower(text);
    for (char& c : lower)
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    return brine::mtd::from_hex(lower, out);
}

// A whole number in [low, high] from an option's value, or false.
inline bool parse_number(const char* text, unsigned long low, unsigned long high, unsigned long& out) {
    char* end = nullptr;
    out = std::strtoul(text, &end, 10);
    return end != text && *end == '\0' && text[0] != '-' && out >= low && out <= high;
}

// Parses the arguments after the command name. On a bad option prints why and returns false.
inline bool parse_options(int argc, char** argv, const char* command, options& out) {
    for (int i = 0; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const auto value = [&](const char* flag) -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "brine %s: %s needs a value\n", command, flag);
                return nullptr;
            }
            return argv[++i];
        };
        if (arg == "--json") {
            out.json = true;
        } else if (arg == "--quiet" || arg == "-q") {
            out.quiet = true;
        } else if (arg == "--sync") {
            out.sync = true;
        } else if (arg == "--strict") {
            out.strict = true;
        } else if (arg == "--extract-weights") {
            out.extract_weights = true;
        } else if (arg == "--policy") {
            const char* v = value("--policy");
            if (!v) return false;
            out.policy = v;
            if (out.policy != "torch_weights_only" && out.policy != "strict") {
                std::fprintf(stderr, "brine %s: unknown policy '%s' (torch_weights_only, strict)\n", command, v);
                return false;
            }
        } else if (arg == "--allow") {
            const char* v = value("--allow");
            if (!v) return false;
            out.allow.emplace_back(v);
        } else if (arg == "--jobs" || arg == "-j") {
            const char* v = value("--jobs");
            if (!v) return false;
            unsigned long jobs = 0;
            if (!parse_number(v, 1, 256, jobs)) {
                std::fprintf(stderr, "brine %s: --jobs takes a number from 1 to 256\n", command);
                return false;
            }
            out.jobs = static_cast<unsigned>(jobs);
            out.jobs_given = true;
        } else if (arg == "--key" || arg == "--manifest" || arg == "--hash") {
            const char* v = value(argv[i]);
            if (!v) return false;
            (arg == "--key" ? out.key : arg == "--manifest" ? out.manifest : out.hash) = v;
        } else if (arg == "--permute") {
            const char* v = value("--permute");
            if (!v) return false;
            const std::string_view text = v;
            const std::size_t equals = text.find('=');
            out.permute = std::string(text.substr(0, equals));
            out.plan = equals == std::string_view::npos ? std::string() : std::string(text.substr(equals + 1));
            brine::mtd::permutation known{};
            if (!brine::mtd::parse_permutation(out.permute, known)) {
                std::fprintf(stderr, "brine %s: --permute takes records, elements, neurons[=PLAN], blocks, chacha20 or none\n",
                             command);
                return false;
            }
            if (!out.plan.empty() && out.permute != "neurons") {
                std::fprintf(stderr, "brine %s: only --permute neurons takes a plan file\n", command);
                return false;
            }
        } else if (arg == "--label" || arg == "--expect-label") {
            const char* v = value(argv[i]);
            if (!v) return false;
            // Checked here as the manifest checks it, so a label that could never match is an
            // error now rather than a seal that cannot be made or a verify that always fails.
            const brine::mtd::label_fault fault = brine::mtd::check_label(v);
            if (fault.expected) {
                std::fprintf(stderr, "brine %s: %s: byte %zu: expected %s\n", command, arg == "--label" ? "--label" : "--expect-label",
                             fault.offset, fault.expected);
                return false;
            }
            if (arg == "--label") {
                out.label = v;
            } else {
                out.expect_label = v;
                out.expect_label_given = true;
            }
        } else if (arg == "--expect-root") {
            const char* v = value("--expect-root");
            if (!v) return false;
            if (!parse_root(v, out.expect_root)) {
                std::fprintf(stderr, "brine %s: --expect-root takes the 64 hexadecimal digits of a seal's root\n", command);
                return false;
            }
            out.expect_root_given = true;
        } else if (arg == "--scrub-lsb") {
            const char* v = value("--scrub-lsb");
            if (!v) return false;
            unsigned long bits = 0;
            if (!parse_number(v, 1, 52, bits)) {
                std::fprintf(stderr, "brine %s: --scrub-lsb takes a number of bits from 1 to 52\n", command);
                return false;
            }
            out.scrub_lsb = static_cast<unsigned>(bits);
        } else if (arg.size() > 1 && arg[0] == '-' && arg != "-") {
            std::fprintf(stderr, "brine %s: unknown option '%s'\n", command, argv[i]);
            return false;
        } else {
            out.paths.emplace_back(arg);
        }
    }
    return true;
}

// Runs `work` with the allowlist of the selected policy, extended by the --allow names.
template <class Work>
int with_allowlist(const options& opts, const char* command, Work&& work) {
    const auto run = [&](auto allowlist) {
        for (const std::string& name : opts.allow) {
            if (!allowlist.add(name)) {
                std::fprintf(stderr, "brine %s: --allow wants module.qualname or module:qualname, not '%s'\n", command,
                             name.c_str());
                return exit_error;
            }
        }
        return work(std::move(allowlist));
    };
    if (opts.policy == "strict") return run(brine::policy::runtime_allowlist<brine::policy::strict>{});
    return run(brine::policy::runtime_allowlist<brine::policy::torch_weights_only>{});
}

// Runs `work` with a disarmer for the selected policy.
template <class Work>
int with_disarmer(const options& opts, const char* command, Work&& work) {
    return with_allowlist(opts, command, [&](auto allowlist) {
        using allowlist_type = decltype(allowlist);
        brine::torch::basic_disarmer<brine::pickle::reader<brine::pickle::limits::standard>, allowlist_type,
                                     brine::writer::torch_zip, brine::mtd::none>
            disarmer(std::move(allowlist));
        disarmer.extract_weights(opts.extract_weights);
        return work(disarmer);
    });
}

// A command's failure on one file: a JSON object on stdout with --json, else a line on stderr.
inline void print_failure(const options& opts, const char* command, const std::string& path, const brine::error& e,
                          const char* status = "error", const char* hint = "") {
    if (opts.json)
        print_line(stdout, "{\"file\":" + json_string(path) + ",\"status\":\"" + status + "\",\"error\":" + error_json(e) + "}\n");
    else
        std::fprintf(stderr, "brine %s: %s: %s%s\n", command, escaped(path).c_str(), error_text(e).c_str(), hint);
}

}  // namespace brine_cli
