// libFuzzer harness: the strict zip reader on arbitrary bytes. Opening must either refuse with an
// error or yield entries that lie inside the input; extracting each accepted entry must stay within
// its declared size. Small limits keep every run fast.
#include <brine/core/stream.hpp>
#include <brine/zip/reader.hpp>

#include <cstdint>
#include <cstdlib>

namespace {

// Counts bytes and aborts if an entry ever produces more than it declared.
struct bounded_sink {
    std::uint64_t limit;
    std::uint64_t written = 0;
    brine::status write(brine::byte_view bytes) noexcept {
        written += bytes.size();
        if (written > limit) std::abort();
        return {};
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    brine::memory_source source(brine::byte_view(data, size));
    brine::zip::reader_limits limits;
    limits.max_entries = 256;
    limits.max_entry_size = 1 << 20;
    limits.max_total_size = 4 << 20;
    auto archive = brine::zip::reader<brine::memory_source>::open(source, limits);
    if (!archive) return 0;
    for (const brine::zip::entry& item : archive->entries()) {
        if (item.end_offset > size || item.data_offset + item.compressed_size > size) std::abort();
        bounded_sink sink{item.uncompressed_size};
        (void)archive->extract(item, sink);
        (void)archive->find(item.name);
    }
    return 0;
}
