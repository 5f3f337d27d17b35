// A tiny program that uses brine the way a consumer would; built three ways by the consumer tests
// (installed package, add_subdirectory, the single header with a bare compiler command).
#include <brine/brine.hpp>

#include <cstdio>
#include <cstring>

int main() {
    const auto digest = brine::crypto::sha256::hash(brine::as_bytes("abc"));
    const auto hex = brine::crypto::to_hex(digest);
    const char* expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const bool sha_ok = std::memcmp(hex.data(), expected, 64) == 0;
    const bool crc_ok = brine::zip::crc32(brine::as_bytes("123456789")) == 0xCBF43926u;
    std::printf("brine %s consumer: sha256 %s, crc32 %s\n", BRINE_VERSION_STRING, sha_ok ? "ok" : "WRONG",
                crc_ok ? "ok" : "WRONG");
    return sha_ok && crc_ok ? 0 : 1;
}
