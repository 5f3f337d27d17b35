// Compile-time probe: the whole single header, with the default disarmer instantiated.
#include <brine/brine.hpp>

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    brine::torch::disarmer disarmer;
    auto done = disarmer.disarm_file(argv[1], argv[2]);
    return done ? 0 : 1;
}
