// Calls it, under whatever settings this TU is built with.
#include <brine/config.hpp>
BRINE_NAMESPACE_BEGIN
int abi_marker();
BRINE_NAMESPACE_END
int main() { return brine::abi_marker(); }
