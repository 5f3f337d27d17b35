// Helpers shared by unit tests: zlib, the independent DEFLATE encoder brine's tests compare with.
#pragma once

#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <vector>

namespace brine_test {

// A raw DEFLATE stream (no zlib header) of `data`, as zlib writes it with these settings.
inline std::vector<std::uint8_t> zlib_deflate(const std::vector<std::uint8_t>& data, int level,
                                              int strategy = Z_DEFAULT_STRATEGY, int mem_level = 8) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, level, Z_DEFLATED, -15, mem_level, strategy) == Z_OK);
    std::vector<std::uint8_t> out(deflateBound(&z, static_cast<uLong>(data.size())) + 64);
    z.next_in = const_cast<Bytef*>(data.data());
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

}  // namespace brine_test
