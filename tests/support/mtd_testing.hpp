// Helpers shared by the MTD unit tests.
#pragma once

#include <brine/brine.hpp>

#include <cstddef>
#include <cstdint>

namespace brine_test {

// A fixed key per seed: tests need keys that differ, not secret ones.
inline brine::mtd::secret_key test_key(std::uint8_t seed) {
    brine::mtd::secret_key key;
    for (std::size_t i = 0; i < key.bytes.size(); ++i) key.bytes[i] = static_cast<std::uint8_t>(seed * 31 + i);
    return key;
}

}  // namespace brine_test
