// libFuzzer harness: the whole disarm pipeline (format detection, zip, legacy stream, raw pickle,
// .npy/.npz, tensor validation, reconstruction) on arbitrary bytes, into memory, with the
// round-trip property of disarm_property.hpp.
#include "disarm_property.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::disarm_round_trip(brine::byte_view(data, size));
    return 0;
}
