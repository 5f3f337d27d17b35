// brine — the command-line tool. See DESIGN.md §5 for the contract (commands, exit codes).
//
// Exit codes: 0 done, 1 findings, 2 error (unreadable, malformed, unsupported), 3 tampering.
#include <brine/brine.hpp>

#include <cstdio>
#include <cstring>
#include <string_view>

namespace {

constexpr int exit_ok = 0;
constexpr int exit_error = 2;

void print_usage(std::FILE* out) {
    std::fputs(
        "usage: brine <command> [arguments]\n"
        "\n"
        "commands:\n"
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
    std::fprintf(stderr, "brine: unknown command '%s'\n\n", argv[1]);
    print_usage(stderr);
    return exit_error;
}
