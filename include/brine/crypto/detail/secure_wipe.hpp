// SPDX-License-Identifier: MIT
//
// Erasing secrets. A plain memset of memory that is never read again is a dead store the
// optimiser may delete; stores through a volatile lvalue are observable behaviour and stay.
#pragma once

#include <brine/config.hpp>

#include <cstddef>
#include <type_traits>

BRINE_NAMESPACE_BEGIN
namespace crypto::detail {

inline void secure_wipe(void* bytes, std::size_t size) noexcept {
    volatile unsigned char* p = static_cast<volatile unsigned char*>(bytes);
    for (std::size_t i = 0; i < size; ++i) p[i] = 0;
}

template <class T>
void secure_wipe(T& object) noexcept {
    static_assert(std::is_trivially_copyable_v<T>, "only plain data can be wiped byte by byte");
    secure_wipe(static_cast<void*>(&object), sizeof object);
}

}  // namespace crypto::detail
BRINE_NAMESPACE_END
