// SPDX-License-Identifier: MIT
//
// Linked into brine_embedded to prove the scan/disarm path never touches a heap: every
// operator new and delete of the program, and (through -Wl,--wrap) every malloc family call
// made from its own objects, ends the program with a message instead of allocating.
#include <cstddef>
#include <cstdlib>
#include <new>

#include <unistd.h>

namespace {
[[noreturn]] void trap(const char* what) noexcept {
    const char prefix[] = "brine_embedded: heap use: ";
    (void)!::write(2, prefix, sizeof prefix - 1);
    std::size_t n = 0;
    while (what[n] != '\0') ++n;
    (void)!::write(2, what, n);
    (void)!::write(2, "\n", 1);
    ::_exit(5);
}
}  // namespace

void* operator new(std::size_t) { trap("operator new"); }
void* operator new[](std::size_t) { trap("operator new[]"); }
void* operator new(std::size_t, const std::nothrow_t&) noexcept { trap("operator new(nothrow)"); }
void* operator new[](std::size_t, const std::nothrow_t&) noexcept { trap("operator new[](nothrow)"); }
void operator delete(void*) noexcept { trap("operator delete"); }
void operator delete[](void*) noexcept { trap("operator delete[]"); }
void operator delete(void*, std::size_t) noexcept { trap("operator delete(sized)"); }
void operator delete[](void*, std::size_t) noexcept { trap("operator delete[](sized)"); }

extern "C" {
void* __wrap_malloc(std::size_t) { trap("malloc"); }
void* __wrap_calloc(std::size_t, std::size_t) { trap("calloc"); }
void* __wrap_realloc(void*, std::size_t) { trap("realloc"); }
void __wrap_free(void*) { trap("free"); }
}
