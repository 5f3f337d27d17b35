// Compile-time probe: one fine-grained header, SHA-256 alone.
#include <brine/crypto/sha256.hpp>

#include <cstdio>

int main(int argc, char** argv) {
    const auto digest = brine::crypto::sha256::hash(brine::as_bytes(std::string_view(argc > 1 ? argv[1] : "")));
    const auto hex = brine::crypto::to_hex(digest);
    std::printf("%.*s\n", 64, hex.data());
    return 0;
}
