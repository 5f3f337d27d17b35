// libFuzzer harness: the seal manifest parser (mtd/manifest.hpp). Properties: a manifest that
// parses has exactly one spelling (written again, it is the same bytes up to its tag); written
// with a key, it parses to the same content and its tag verifies under that key and no other.
// Each plan line that reads as a class of identical blocks (mtd/strategies/blocks.hpp) has one
// spelling too.
#include <brine/mtd/manifest.hpp>
#include <brine/mtd/strategies/blocks.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const brine::byte_view input(data, size);
    auto parsed = brine::mtd::parse_manifest(input);
    if (!parsed) {
        if (parsed.err().offset > size) std::abort();  // an offset inside the input, or its end
        return 0;
    }
    const std::string& signed_text = parsed->signed_text;
    if (signed_text.size() > size || signed_text.compare(0, signed_text.size(),
                                                         reinterpret_cast<const char*>(data), signed_text.size()) != 0)
        std::abort();

    for (const std::string& line : parsed->content.plan) {
        brine::mtd::detail::block_class blocks;
        if (brine::mtd::detail::parse_block_class(line, blocks) && brine::mtd::detail::format_block_class(blocks) != line)
            std::abort();
    }

    brine::mtd::digest key{};
    key[0] = 1;
    const std::string written = brine::mtd::write_manifest(parsed->content, key);
    auto again = brine::mtd::parse_manifest(brine::as_bytes(std::string_view(written)));
    if (!again) std::abort();
    if (again->signed_text != signed_text) std::abort();
    if (!again->authentic(key)) std::abort();
    brine::mtd::digest other = key;
    other[31] ^= 0x80;
    if (again->authentic(other)) std::abort();
    return 0;
}
