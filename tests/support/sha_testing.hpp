// Helpers shared by the SHA-256 and HMAC-SHA-256 unit tests.
#pragma once

#include <brine/brine.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace sha_testing {

using brine::crypto::sha256_backend;

// Every backend that can run on this machine, `automatic` included, so that each test covers
// the dispatch as well as each compression function forced on its own.
inline std::vector<sha256_backend> runnable_backends() {
    std::vector<sha256_backend> backends;
    for (sha256_backend backend : {sha256_backend::automatic, sha256_backend::portable,
                                   sha256_backend::x86_shani, sha256_backend::arm_sha2})
        if (brine::crypto::sha256_backend_available(backend)) backends.push_back(backend);
    return backends;
}

// Published test vectors are written in hex.
inline std::vector<std::uint8_t> from_hex(std::string_view hex) {
    auto nibble = [](char c) {
        return static_cast<std::uint8_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    };
    std::vector<std::uint8_t> bytes;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        bytes.push_back(static_cast<std::uint8_t>((nibble(hex[i]) << 4) | nibble(hex[i + 1])));
    return bytes;
}

// Digests are compared as hex strings, so a failing check prints both values readably.
inline std::string hex_of(const brine::crypto::sha256_digest& digest) {
    const auto hex = brine::crypto::to_hex(digest);
    return std::string(hex.data(), hex.size());
}

inline std::vector<std::uint8_t> random_bytes(std::mt19937_64& rng, std::size_t size) {
    std::vector<std::uint8_t> bytes(size);
    for (auto& byte : bytes) byte = static_cast<std::uint8_t>(rng());
    return bytes;
}

// Feeds `data` to `hasher` in random pieces: empty ones, pieces that end inside a block, and
// pieces that span several blocks, so every path through the buffering is taken.
template <class Hasher>
void update_in_random_pieces(Hasher& hasher, const std::vector<std::uint8_t>& data, std::mt19937_64& rng,
                             std::size_t largest_piece) {
    std::size_t offset = 0;
    while (offset < data.size()) {
        const std::size_t piece = std::min<std::size_t>(rng() % (largest_piece + 1), data.size() - offset);
        hasher.update(brine::byte_view(data.data() + offset, piece));
        offset += piece;
    }
}

}  // namespace sha_testing
