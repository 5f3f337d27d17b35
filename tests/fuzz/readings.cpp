// libFuzzer harness for every reading of the bytes (readings/, torch/detect.hpp): what tarfile
// makes of block 0, detection, and the output check. Properties on arbitrary input:
//  - a block 0 read as a header carries the checksum tar defines (unsigned or signed sum, plus
//    256): recomputed here independently of the model;
//  - detection never accepts a file whose block 0 is a header, unless it is the POSIX tar format
//    it refuses by name (format::tar);
//  - the output check, run on the input as if brine had written it, passes only bytes with one
//    reading: no tar header, a zip that ends with its end record, no stray end record otherwise.
// The first byte chooses a mode: with an odd one, the rest gets a checksum field holding its own
// unsigned sum (spelt as tar writes it), so the fuzzer reaches the header paths.
#include <brine/readings/output_check.hpp>
#include <brine/readings/tar_block.hpp>
#include <brine/torch/detect.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

using namespace brine;

void require(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "property violated: %s\n", what);
        std::abort();
    }
}

std::int64_t sum(const std::vector<std::uint8_t>& block, bool as_signed) {
    std::int64_t total = 256;
    for (std::size_t i = 0; i < 512; ++i) {
        if (i >= 148 && i < 156) continue;
        total += as_signed ? static_cast<std::int8_t>(block[i]) : block[i];
    }
    return total;
}

// The checksum field's value where it is plain octal digits (what the fuzzer's seeds and the
// odd mode write); -1 where it is spelt otherwise (the unit and interop tests cover those).
std::int64_t plain_octal(const std::vector<std::uint8_t>& block) {
    std::int64_t value = 0;
    std::size_t i = 148;
    while (i < 156 && block[i] == ' ') ++i;
    const std::size_t first = i;
    for (; i < 156 && block[i] >= '0' && block[i] <= '7'; ++i) value = value * 8 + (block[i] - '0');
    if (i == first) return -1;
    for (; i < 156; ++i)
        if (block[i] != 0 && block[i] != ' ') return -1;
    return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::vector<std::uint8_t> bytes(data + 1, data + size);
    if ((data[0] & 1) != 0 && bytes.size() >= 512) {
        std::memset(bytes.data() + 148, ' ', 8);
        char field[9];
        std::snprintf(field, sizeof field, "%06llo", static_cast<unsigned long long>(sum(bytes, false)));
        std::memcpy(bytes.data() + 148, field, 6);
        bytes[154] = 0;
    }
    const byte_view view(bytes.data(), bytes.size());
    const readings::tar_block0 block0 = readings::read_tar_block0(view);
    if (block0 == readings::tar_block0::header) {
        const std::int64_t field = plain_octal(bytes);
        if (field >= 0) require(field == sum(bytes, false) || field == sum(bytes, true), "a header's checksum is its sum");
    }
    if (block0 == readings::tar_block0::end_of_archive)
        for (std::size_t i = 0; i < 512; ++i) require(bytes[i] == 0, "only 512 NUL bytes end an archive");

    const auto kind = torch::detect(memory_source(view));
    if (block0 == readings::tar_block0::header)
        require(!kind || *kind == torch::format::tar, "a tar header to tarfile is never read as anything else");

    std::vector<std::uint8_t> written = bytes;
    vector_sink sink(written);
    const status checked = readings::check_single_reading(sink);
    if (!checked) {
        require(checked.err().code == errc::torch_polyglot_output, "the output check fails with its own code");
        require(checked.err().offset < bytes.size() || bytes.empty(), "the output check's offset lies in the output");
    } else {
        require(block0 != readings::tar_block0::header, "a passed output is no tar header");
        if (readings::announced_reading(view) == readings::intended_reading::zip)
            require(bytes.size() >= 22 && std::memcmp(bytes.data() + bytes.size() - 22, "PK\x05\x06", 4) == 0,
                    "a passed zip ends with its end record");
    }
    return 0;
}
