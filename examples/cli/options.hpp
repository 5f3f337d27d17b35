// brine CLI: the options every command shares (DESIGN.md §5) and the policy they select.
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
    unsigned jobs = 1;
};

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
            char* end = nullptr;
            const unsigned long jobs = std::strtoul(v, &end, 10);
            if (end == v || *end != '\0' || jobs == 0 || jobs > 256) {
                std::fprintf(stderr, "brine %s: --jobs takes a number from 1 to 256\n", command);
                return false;
            }
            out.jobs = static_cast<unsigned>(jobs);
        } else if (arg.size() > 1 && arg[0] == '-' && arg != "-") {
            std::fprintf(stderr, "brine %s: unknown option '%s'\n", command, argv[i]);
            return false;
        } else {
            out.paths.emplace_back(arg);
        }
    }
    return true;
}

// Runs `work` with a disarmer for the selected policy, extended by the --allow names.
template <class Work>
int with_disarmer(const options& opts, const char* command, Work&& work) {
    const auto run = [&](auto allowlist) {
        for (const std::string& name : opts.allow) {
            if (!allowlist.add(name)) {
                std::fprintf(stderr, "brine %s: --allow wants module.qualname or module:qualname, not '%s'\n", command,
                             name.c_str());
                return exit_error;
            }
        }
        using allowlist_type = decltype(allowlist);
        brine::torch::basic_disarmer<brine::pickle::reader<brine::pickle::limits::standard>, allowlist_type,
                                     brine::writer::torch_zip, brine::mtd::none>
            disarmer(std::move(allowlist));
        disarmer.extract_weights(opts.extract_weights);
        return work(disarmer);
    };
    if (opts.policy == "strict") return run(brine::policy::runtime_allowlist<brine::policy::strict>{});
    return run(brine::policy::runtime_allowlist<brine::policy::torch_weights_only>{});
}

}  // namespace brine_cli
