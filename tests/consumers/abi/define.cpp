// Defines a function inside brine's namespace, under whatever settings this TU is built with.
#include <brine/config.hpp>
BRINE_NAMESPACE_BEGIN
int abi_marker() { return 0; }
BRINE_NAMESPACE_END
