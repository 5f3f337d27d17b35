// brine — the command-line tool. The contract (commands, exit codes) is README's "The brine command".
//
// Exit codes: 0 done, 1 findings, 2 error (unreadable, malformed, unsupported), 3 tampering.
#include <brine/brine.hpp>

#include "options.hpp"
#include "convert_command.hpp"
#include "fatal.hpp"
#include "mtd_commands.hpp"
#include "output.hpp"
#include "progress.hpp"
#include "safetensors_commands.hpp"
#include "walk.hpp"

#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <unistd.h>

namespace {

using brine_cli::exit_error;
using brine_cli::exit_findings;
using brine_cli::exit_ok;
using brine_cli::progress_line;
using brine_cli::wants_progress;

void print_usage(std::FILE* out) {
    std::fputs(
        "usage: brine <command> [arguments] [options]\n"
        "\n"
        "commands:\n"
        "  scan FILE|DIR...  report what a loader would run or refuse in each model file (a\n"
        "                    directory is walked; files are recognised by content; a\n"
        "                    safetensors file is validated under the format's rules)\n"
        "  disarm IN OUT     write a clean reconstruction of IN to OUT (torch zip, legacy .pt\n"
        "                    -> torch zip; raw pickle -> pickle; .npy/.npz -> .npy/.npz;\n"
        "                    safetensors -> safetensors, rewritten from the parsed tensors);\n"
        "                    nothing is written on error\n"
        "  info FILE         list the tensors: name, dtype, shape, strides, storage (safetensors:\n"
        "                    data_offsets, and the __metadata__ entries)\n"
        "  dis FILE          list the pickle's opcodes (a raw pickle, or data.pkl of a torch\n"
        "                    zip) with the policy's verdict on every global and call\n"
        "  convert IN OUT.safetensors [--strict]\n"
        "                    a clean reconstruction of a torch checkpoint as safetensors\n"
        "                    (views gathered; quantized, sparse, complex, meta skipped, or an\n"
        "                    error with --strict)\n"
        "  keygen KEYFILE    create a new secret key for seals (64 hex digits, mode 0600; a\n"
        "                    key file group or others can access is refused: chmod 600)\n"
        "  seal IN OUT --key KEYFILE [--permute records|elements|neurons[=PLAN]|blocks|chacha20|none]\n"
        "                    [--hash hmac_sha256|sha256] [--scrub-lsb N] [--manifest PATH]\n"
        "                    [--label NAME]\n"
        "                    a clean reconstruction of IN, permuted under the key, with a\n"
        "                    manifest of digests (a record of OUT, or PATH); blocks swaps\n"
        "                    identical blocks, chacha20 encrypts every storage; --label binds the\n"
        "                    seal to a model and release (printable UTF-8, at most 256 bytes)\n"
        "  verify FILE --key KEYFILE [--manifest PATH] [--expect-label NAME]\n"
        "                    [--expect-root HEX]\n"
        "                    check FILE against its seal; name each tensor, chunk, record or\n"
        "                    architecture change (exit 0 intact, 3 tampered, also when the\n"
        "                    label or root differs from the expected one: not the expected\n"
        "                    model; 2 with \"wrong key\" for a key other than the seal's; a\n"
        "                    safetensors file has no seal: its structure is checked, then exit 2)\n"
        "  restore IN OUT --key KEYFILE [--manifest PATH] [--expect-label NAME]\n"
        "                    [--expect-root HEX]\n"
        "                    undo a seal's permutation (IN must verify intact, and match the\n"
        "                    expected label and root when given)\n"
        "  sha256 FILE...    print the SHA-256 of each file (like sha256sum)\n"
        "  version           print brine's version and the accelerated paths in use\n"
        "  help              print this text\n"
        "\n"
        "options: --json (one JSON object per file), --quiet, --policy torch_weights_only|strict,\n"
        "         --allow module.qualname (repeatable), --jobs N (scan), --sync (disarm: fsync\n"
        "         the output before renaming it into place), --extract-weights (read TorchScript\n"
        "         archives and pickled modules, writing the state dict of their weights),\n"
        "         seal/verify: --jobs N threads that hash, this one included (default: all cores)\n"
        "\n"
        "exit codes: 0 clean/done, 1 findings (scan) or something removed (disarm), 2 error\n"
        "            (no output file exists), 3 tampering detected\n",
        out);
}

void print_error(std::string_view what, const brine::error& e) {
    std::fprintf(stderr, "brine: %.*s: %.*s at offset %llu", static_cast<int>(what.size()), what.data(),
                 static_cast<int>(brine::to_string(e.code).size()), brine::to_string(e.code).data(),
                 static_cast<unsigned long long>(e.offset));
    if (e.detail != nullptr && *e.detail != '\0') std::fprintf(stderr, " (expected %s)", e.detail);
    std::fputc('\n', stderr);
}

int command_version() {
    std::printf("brine %s (sha256: %.*s, crc32: %.*s)\n", BRINE_VERSION_STRING,
                static_cast<int>(brine::crypto::to_string(brine::crypto::sha256().backend()).size()),
                brine::crypto::to_string(brine::crypto::sha256().backend()).data(),
                static_cast<int>(brine::zip::to_string(brine::zip::crc32_stream().backend()).size()),
                brine::zip::to_string(brine::zip::crc32_stream().backend()).data());
    return exit_ok;
}

// Hashes a file in fixed-size chunks: memory stays constant whatever the file's size.
brine::result<brine::crypto::sha256_digest> hash_file(const char* path) {
    auto file = brine::file_source::open(path);
    if (!file) return file.err();
    brine::crypto::sha256 hasher;
    static std::uint8_t buffer[1 << 20];
    for (;;) {
        auto got = file->read(buffer, sizeof buffer);
        if (!got) return got.err();
        if (*got == 0) break;
        hasher.update(brine::byte_view(buffer, *got));
    }
    return hasher.finish();
}

int command_sha256(int argc, char** argv) {
    if (argc == 0) {
        std::fputs("brine sha256: expected at least one FILE\n", stderr);
        return exit_error;
    }
    int status = exit_ok;
    for (int i = 0; i < argc; ++i) {
        auto digest = hash_file(argv[i]);
        if (!digest) {
            print_error(argv[i], digest.err());
            status = exit_error;
            continue;
        }
        const auto hex = brine::crypto::to_hex(*digest);
        std::printf("%.*s  %s\n", static_cast<int>(hex.size()), hex.data(), argv[i]);
    }
    return status;
}

// The pickle inside a file: data.pkl of a zip (found as torch finds it), else the file itself.
brine::result<std::vector<std::uint8_t>> pickle_bytes(const brine::mapped_file& file) {
    const brine::byte_view bytes = file.bytes();
    if (bytes.size() >= 4 && brine::load_le32(bytes.data()) == 0x04034b50) {
        auto archive = brine::zip::reader<brine::mapped_file>::open(file);
        if (!archive) return archive.err();
        auto record = archive->find_record("data.pkl");
        if (!record) return record.err();
        std::vector<std::uint8_t> out;
        brine::vector_sink sink(out);
        if (auto read = archive->extract(**record, sink); !read) return read.err();
        return out;
    }
    return std::vector<std::uint8_t>(bytes.begin(), bytes.end());
}

// Names come from the file: never print their control bytes raw.
void append_escaped(brine::pickle::listing_line& line, std::string_view text) {
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7F && c != '\\') {
            line.append(c);
        } else {
            line.append("\\x");
            brine::append_hex_byte(line, byte);
        }
    }
}

// brine dis: the listing, with each refusal the policy makes written on the line that caused it.
int command_dis(int argc, char** argv) {
    if (argc != 1) {
        std::fputs("brine dis: expected one FILE\n", stderr);
        return exit_error;
    }
    auto file = brine::mapped_file::open(argv[0]);
    if (!file) {
        print_error(argv[0], file.err());
        return exit_error;
    }
    auto pickle = pickle_bytes(*file);
    if (!pickle) {
        print_error(argv[0], pickle.err());
        return exit_error;
    }
    const brine::byte_view bytes(pickle->data(), pickle->size());
    brine::policy::torch_weights_only rules;
    brine::pickle::machine<brine::policy::torch_weights_only> machine(rules);
    auto evaluated = machine.run(bytes);
    std::unordered_map<std::uint64_t, const brine::pickle::finding*> refusals;
    if (evaluated)
        for (const auto& f : evaluated->values.findings()) refusals.emplace(f.offset, &f);

    const auto annotate = [&](const brine::pickle::token& t, brine::pickle::listing_line& line) {
        const auto found = refusals.find(t.offset);
        if (found != refusals.end()) {
            const brine::pickle::finding& f = *found->second;
            line.append("   <-- refused: ");
            if (!f.module.empty()) {
                append_escaped(line, f.module);
                line.append('.');
                append_escaped(line, f.name);
                line.append(": ");
            }
            line.append(f.reason);
        } else if (evaluated && (t.op == brine::pickle::opcode::GLOBAL || t.op == brine::pickle::opcode::STACK_GLOBAL ||
                                 t.op == brine::pickle::opcode::INST)) {
            line.append("   (allowed)");
        }
    };
    struct stdout_sink {
        brine::status write(brine::byte_view text) noexcept {
            std::fwrite(text.data(), 1, text.size(), stdout);
            return {};
        }
    } out;
    auto listed = brine::pickle::disassemble(bytes, out, annotate);
    if (!listed) {
        print_error(argv[0], listed.err());
        return exit_error;
    }
    if (!evaluated) {
        print_error(argv[0], evaluated.err());
        return exit_error;
    }
    std::printf("policy torch_weights_only: %zu finding(s)\n", evaluated->values.findings().size());
    return evaluated->values.findings().empty() ? exit_ok : exit_findings;
}

// ---- scan, disarm, info ----------------------------------------------------------------------

// The exit status of one file's outcome.
int status_of(const brine::result<brine::torch::report>& outcome) {
    if (!outcome) return exit_error;
    return outcome->clean() ? exit_ok : exit_findings;
}

std::string describe_outcome(const std::string& path, const brine::result<brine::torch::report>& outcome,
                             const brine_cli::options& opts, const char* verb) {
    if (opts.json) {
        std::string line = "{\"file\":" + brine_cli::json_string(path);
        if (!outcome) {
            line += ",\"status\":\"error\",\"error\":" + brine_cli::error_json(outcome.err()) + "}\n";
            return line;
        }
        const brine::torch::report& r = *outcome;
        line += std::string(",\"status\":") + (r.clean() ? "\"clean\"" : "\"findings\"") +
                ",\"format\":" + brine_cli::json_string(r.format) + ",\"protocol\":" + std::to_string(r.protocol) +
                ",\"tensors\":" + std::to_string(r.tensors.size()) + ",\"storages\":" + std::to_string(r.storages) +
                ",\"storage_bytes\":" + std::to_string(r.storage_bytes) + ",\"findings\":" + brine_cli::findings_json(r);
        if (r.written)
            line += ",\"output_bytes\":" + std::to_string(r.output_size) +
                    ",\"dropped_entries\":" + std::to_string(r.write.dropped_entries) +
                    ",\"replaced_items\":" + std::to_string(r.write.replaced_items);
        return line + "}\n";
    }
    const std::string shown = brine_cli::escaped(path);
    if (!outcome) return shown + ": error: " + brine_cli::error_text(outcome.err()) + "\n";
    const brine::torch::report& r = *outcome;
    std::string text = shown + ": " + (r.clean() ? "clean" : std::to_string(r.findings.size()) + " finding(s)") + " (" +
                       r.format + ", " + std::to_string(r.tensors.size()) + " tensors, " + std::to_string(r.storages) +
                       " storages)";
    if (r.written) text += std::string(", ") + verb + " " + std::to_string(r.output_size) + " bytes";
    text += "\n";
    if (!opts.quiet)
        for (const auto& f : r.findings) text += brine_cli::finding_text(f);
    return text;
}

int command_scan(int argc, char** argv) {
    brine_cli::options opts;
    if (!brine_cli::parse_options(argc, argv, "scan", opts)) return exit_error;
    if (opts.paths.empty()) {
        std::fputs("brine scan: expected at least one FILE or DIR\n", stderr);
        return exit_error;
    }
    std::vector<std::string> files;
    for (const std::string& path : opts.paths) brine_cli::collect_files(path, files, true);
    return brine_cli::with_disarmer(opts, "scan", [&](auto& disarmer) {
        int worst = exit_ok;
        using outcome = brine::result<brine::torch::report>;
        brine_cli::run_in_order<std::string>(
            files.size(), opts.jobs,
            [&](std::size_t i) {
                if (brine_cli::is_safetensors_file(files[i])) {
                    int status = exit_ok;
                    std::string text = brine_cli::scan_safetensors(files[i], opts, status);
                    return std::to_string(status) + text;
                }
                const outcome scanned = disarmer.scan_file(files[i].c_str());
                const int status = status_of(scanned);
                return std::to_string(status) + describe_outcome(files[i], scanned, opts, "");
            },
            [&](std::size_t, std::string& line) {
                const int status = line[0] - '0';
                worst = status > worst ? status : worst;
                if (!opts.quiet || opts.json || status != exit_ok) brine_cli::print_line(stdout, line.substr(1));
            });
        return worst;
    });
}

int command_disarm(int argc, char** argv) {
    brine_cli::options opts;
    if (!brine_cli::parse_options(argc, argv, "disarm", opts)) return exit_error;
    if (opts.paths.size() != 2) {
        std::fputs("brine disarm: expected IN and OUT\n", stderr);
        return exit_error;
    }
    const std::string& in = opts.paths[0];
    const std::string& out = opts.paths[1];
    if (brine_cli::is_safetensors_file(in)) return brine_cli::disarm_safetensors(in, out, opts);
    return brine_cli::with_disarmer(opts, "disarm", [&](auto& disarmer) {
        progress_line progress{"disarming", brine_cli::escaped(in)};
        if (!opts.quiet && wants_progress(in)) disarmer.on_progress(&progress_line::update, &progress);
        const auto done = disarmer.disarm_file(in.c_str(), out.c_str(), opts.sync);
        progress.finish();
        if (!done && !opts.json) {
            std::fprintf(stderr, "brine disarm: %s: %s\n", brine_cli::escaped(in).c_str(),
                         brine_cli::error_text(done.err()).c_str());
            return exit_error;
        }
        brine_cli::print_line(stdout, describe_outcome(in, done, opts, "wrote"));
        return status_of(done);
    });
}

int command_info(int argc, char** argv) {
    brine_cli::options opts;
    if (!brine_cli::parse_options(argc, argv, "info", opts)) return exit_error;
    if (opts.paths.size() != 1) {
        std::fputs("brine info: expected one FILE\n", stderr);
        return exit_error;
    }
    const std::string& path = opts.paths[0];
    if (brine_cli::is_safetensors_file(path)) return brine_cli::info_safetensors(path, opts);
    return brine_cli::with_disarmer(opts, "info", [&](auto& disarmer) {
        const auto scanned = disarmer.scan_file(path.c_str());
        if (!scanned) {
            if (opts.json) brine_cli::print_line(stdout, describe_outcome(path, scanned, opts, ""));
            else std::fprintf(stderr, "brine info: %s: %s\n", brine_cli::escaped(path).c_str(),
                              brine_cli::error_text(scanned.err()).c_str());
            return exit_error;
        }
        const brine::torch::report& r = *scanned;
        if (opts.json) {
            brine_cli::print_line(stdout, "{\"file\":" + brine_cli::json_string(path) + ",\"format\":" +
                                              brine_cli::json_string(r.format) + ",\"tensors\":" +
                                              brine_cli::tensors_json(r) + ",\"findings\":" +
                                              brine_cli::findings_json(r) + "}\n");
        } else {
            std::printf("%s: %s, %zu tensors, %zu storages, %llu bytes of storage\n", brine_cli::escaped(path).c_str(),
                        r.format.c_str(), r.tensors.size(), r.storages, static_cast<unsigned long long>(r.storage_bytes));
            for (const auto& t : r.tensors) {
                std::printf("  %-40s %-9s %-10s %s", brine_cli::escaped(t.name).c_str(),
                            std::string(brine::torch::info(t.type).name).c_str(),
                            std::string(brine_cli::layout_name(t.kind)).c_str(), brine_cli::shape_text(t.sizes).c_str());
                if (!t.storage_key.empty())
                    std::printf("  stride %s offset %lld storage %s", brine_cli::shape_text(t.strides).c_str(),
                                static_cast<long long>(t.storage_offset), brine_cli::escaped(t.storage_key).c_str());
                std::printf("%s\n", t.parameter ? " (parameter)" : "");
            }
            if (!r.clean()) {
                std::printf("%zu finding(s):\n", r.findings.size());
                for (const auto& f : r.findings) brine_cli::print_line(stdout, brine_cli::finding_text(f));
            }
        }
        return r.clean() ? exit_ok : exit_findings;
    });
}

}  // namespace

int main(int argc, char** argv) {
    brine_cli::install_fatal_handlers();
    if (argc < 2) {
        print_usage(stderr);
        return exit_error;
    }
    const std::string_view command = argv[1];
    if (command == "version" || command == "--version") return command_version();
    if (command == "help" || command == "--help" || command == "-h") {
        print_usage(stdout);
        return exit_ok;
    }
    if (command == "sha256") return command_sha256(argc - 2, argv + 2);
    if (command == "dis") return command_dis(argc - 2, argv + 2);
    if (command == "scan") return command_scan(argc - 2, argv + 2);
    if (command == "disarm") return command_disarm(argc - 2, argv + 2);
    if (command == "info") return command_info(argc - 2, argv + 2);
    if (command == "convert") return brine_cli::command_convert(argc - 2, argv + 2);
    if (command == "keygen") return brine_cli::command_keygen(argc - 2, argv + 2);
    if (command == "seal") return brine_cli::command_seal(argc - 2, argv + 2);
    if (command == "verify") return brine_cli::command_verify(argc - 2, argv + 2);
    if (command == "restore") return brine_cli::command_restore(argc - 2, argv + 2);
    std::fprintf(stderr, "brine: unknown command '%s'\n\n", argv[1]);
    print_usage(stderr);
    return exit_error;
}
