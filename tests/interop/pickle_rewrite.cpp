// pickle_rewrite [--policy strict|torch_weights_only] [--allow module.name]... IN OUT
// Evaluates a raw pickle under a policy and writes the reconstruction (never the input's bytes).
// Prints each finding. Exit: 0 written with nothing removed, 1 written with something removed,
// 2 error (malformed, over a limit, or the top-level object itself refused): no OUT exists then.
// Used by the interop tests, which load OUT with CPython and compare it with IN.
#include <brine/brine.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

// Names come from hostile input: never print their control bytes raw.
std::string escaped(std::string_view text) {
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '\\') out += "\\\\";
        else if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (byte < 0x20 || byte >= 0x7F) {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", byte);
            out += hex;
        } else {
            out += c;
        }
    }
    return out;
}

int fail(const char* what, const brine::error& e) {
    std::fprintf(stderr, "pickle_rewrite: %s: %s at offset %llu: expected %s\n", what,
                 brine::to_string(e.code).data(), static_cast<unsigned long long>(e.offset), e.detail);
    return 2;
}

template <class Policy>
int rewrite(const Policy& rules, const char* in_path, const char* out_path) {
    auto input = brine::mapped_file::open(in_path);
    if (!input) return fail(in_path, input.err());
    brine::pickle::machine<Policy> machine(rules);
    auto evaluated = machine.run(input->bytes());
    if (!evaluated) return fail(in_path, evaluated.err());
    for (const brine::pickle::finding& f : evaluated->values.findings())
        std::printf("finding: %s at %llu: %s%s%s: %s\n", brine::pickle::opcode_name(f.op).data(),
                    static_cast<unsigned long long>(f.offset), escaped(f.module).c_str(), f.module.empty() ? "" : ".",
                    escaped(f.name).c_str(), f.reason);
    std::vector<std::uint8_t> bytes;
    auto written = brine::pickle::writer(evaluated->values).write(bytes);
    if (!written) return fail(in_path, written.err());
    auto out = brine::atomic_file_sink::create(out_path);
    if (!out) return fail(out_path, out.err());
    if (auto w = out->write(brine::byte_view(bytes.data(), bytes.size())); !w) return fail(out_path, w.err());
    if (auto c = out->commit(); !c) return fail(out_path, c.err());
    const bool removed = written->dropped_entries + written->replaced_items != 0 ||
                         !evaluated->values.findings().empty();
    return removed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string policy_name = "torch_weights_only";
    std::vector<const char*> allowed;
    std::vector<const char*> paths;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--policy") == 0 && i + 1 < argc) policy_name = argv[++i];
        else if (std::strcmp(argv[i], "--allow") == 0 && i + 1 < argc) allowed.push_back(argv[++i]);
        else paths.push_back(argv[i]);
    }
    if (paths.size() != 2) {
        std::fputs("usage: pickle_rewrite [--policy strict|torch_weights_only] [--allow module.name]... IN OUT\n", stderr);
        return 2;
    }
    const auto run = [&](auto rules) {
        for (const char* name : allowed) {
            if (!rules.add(name)) {
                std::fprintf(stderr, "pickle_rewrite: --allow wants module.name, not '%s'\n", name);
                return 2;
            }
        }
        return rewrite(rules, paths[0], paths[1]);
    };
    if (policy_name == "strict") return run(brine::policy::runtime_allowlist<brine::policy::strict>{});
    if (policy_name == "torch_weights_only")
        return run(brine::policy::runtime_allowlist<brine::policy::torch_weights_only>{});
    std::fprintf(stderr, "pickle_rewrite: unknown policy '%s'\n", policy_name.c_str());
    return 2;
}
