// libFuzzer harness: the strict safetensors reader, and the writer on what it accepts.
// Properties: a file gets the same verdict (and the same error code and offset) read in memory
// and through a RandomAccessSource; an accepted file's tensors all lie in its data area; what was
// read, written again by safetensors::write (names, dtypes, shapes, bytes, metadata), reads back
// to the same tensors in the same order with the same bytes; writing that again gives the same
// bytes (the writer's output is canonical), and reads as no pickle at all (byte 0 is no opcode).
// On any input, detect() and read_as_pickle() (what a pickle loader would make of the bytes) end
// inside the input.
#include <brine/core/stream.hpp>
#include <brine/pickle/opcodes.hpp>
#include <brine/safetensors/detect.hpp>
#include <brine/safetensors/reader.hpp>
#include <brine/writer/safetensors.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

void check(bool condition) {
    if (!condition) std::abort();
}

bool same_bytes(brine::byte_view a, brine::byte_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

std::vector<std::uint8_t> rewrite(const brine::safetensors::header& read) {
    std::vector<brine::safetensors::tensor_to_write> tensors;
    for (const auto& t : read.tensors) tensors.push_back({t.name, t.type, t.shape, t.data, t.entry_offset});
    std::vector<std::uint8_t> out;
    brine::vector_sink sink(out);
    // Default limits: escapes the input spelled short may be written longer (\u000a for \n).
    const auto written = brine::safetensors::write(tensors, read.meta, sink);
    check(static_cast<bool>(written));
    check(*written == out.size());
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    brine::safetensors::limits lim;
    lim.max_header_size = std::uint64_t{1} << 20;
    lim.max_tensors = 4096;
    const brine::byte_view input(data, size);
    (void)brine::safetensors::detect(brine::memory_source(input));
    const brine::safetensors::pickle_reading as_pickle = brine::safetensors::read_as_pickle(input);
    check(as_pickle.offset <= size);
    const auto read = brine::safetensors::read(input, lim);
    const auto header = brine::safetensors::read_header(brine::memory_source(input), lim);
    check(static_cast<bool>(read) == static_cast<bool>(header));
    if (!read) {
        check(read.err().code == header.err().code && read.err().offset == header.err().offset);
        check(read.err().detail != nullptr && *read.err().detail != '\0');
        return 0;
    }
    check(read->data_offset == 8 + read->header_size && read->data_offset + read->data_size == size);
    check(header->tensors.size() == read->tensors.size() && header->meta == read->meta);
    std::uint64_t covered = 0;
    for (std::size_t i = 0; i < read->tensors.size(); ++i) {
        const auto& t = read->tensors[i];
        check(!t.name.empty() && t.name == header->tensors[i].name && t.begin == header->tensors[i].begin &&
              t.end == header->tensors[i].end && t.shape == header->tensors[i].shape);
        check(t.data.size() == t.byte_size() && t.data.data() == data + read->data_offset + t.begin);
        covered += t.byte_size();
    }
    check(covered == read->data_size);  // the tensors cover the data area exactly

    const std::vector<std::uint8_t> out = rewrite(*read);
    check(!brine::pickle::is_opcode(out[0]));
    const auto again = brine::safetensors::read(brine::byte_view(out.data(), out.size()));
    check(static_cast<bool>(again));
    check(again->data_offset % 8 == 0);
    check(again->meta == read->meta);
    check(again->tensors.size() == read->tensors.size());
    for (std::size_t i = 0; i < read->tensors.size(); ++i) {
        const auto& a = read->tensors[i];
        const auto& b = again->tensors[i];
        check(a.name == b.name && a.type == b.type && a.shape == b.shape && same_bytes(a.data, b.data));
    }
    check(rewrite(*again) == out);
    return 0;
}
