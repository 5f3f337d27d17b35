// libFuzzer harness: the legacy torch.save stream (before 1.6). Arbitrary bytes rarely start with
// the legacy magic number, so the harness puts it in front: every input is read as the rest of
// a legacy stream (protocol version, sys_info, main pickle, storage keys, storage data), through
// the whole disarm pipeline, with the round-trip property of disarm_property.hpp. Seeds are
// legacy checkpoints written by torch 1.13, magic number pickle removed.
#include "disarm_property.hpp"

#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2): what torch.save writes first.
    static const std::uint8_t magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                         0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
    std::vector<std::uint8_t> stream(sizeof magic + size);
    std::memcpy(stream.data(), magic, sizeof magic);
    if (size != 0) std::memcpy(stream.data() + sizeof magic, data, size);
    fuzz::disarm_round_trip(brine::byte_view(stream.data(), stream.size()));
    return 0;
}
