// brine — the command-line tool. See DESIGN.md §5 for the contract (commands, exit codes).
//
// Exit codes: 0 done, 1 findings, 2 error (unreadable, malformed, unsupported), 3 tampering.
#include <brine/brine.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

constexpr int exit_ok = 0;
constexpr int exit_findings = 1;
constexpr int exit_error = 2;

void print_usage(std::FILE* out) {
    std::fputs(
        "usage: brine <command> [arguments]\n"
        "\n"
        "commands:\n"
        "  dis FILE         list the pickle's opcodes (a raw pickle, or data.pkl of a torch\n"
        "                   zip) with the policy's verdict on every global and call\n"
        "  sha256 FILE...   print the SHA-256 of each file (like sha256sum)\n"
        "  version          print brine's version and the accelerated paths in use\n"
        "  help             print this text\n"
        "\n"
        "exit codes: 0 done, 1 findings, 2 error, 3 tampering detected\n",
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
    static const char hex[] = "0123456789abcdef";
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7F && c != '\\') {
            line.append(c);
        } else {
            line.append("\\x");
            line.append(hex[byte >> 4]);
            line.append(hex[byte & 15]);
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

}  // namespace

int main(int argc, char** argv) {
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
    std::fprintf(stderr, "brine: unknown command '%s'\n\n", argv[1]);
    print_usage(stderr);
    return exit_error;
}
