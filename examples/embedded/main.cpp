// SPDX-License-Identifier: MIT
//
// A firmware-style host for brine's scan/disarm path: every byte it uses is a static buffer
// (the input, the arena brine allocates from, the output), output goes through write(2), and
// there is no heap, no iostreams and no threads.
//
//   brine_embedded              disarm the sample compiled into the image (tiny_mlp_with_payload.pt)
//   brine_embedded IN [OUT]     disarm IN (read into the static input buffer); write OUT if given
//
// Exit codes as `brine disarm`: 0 clean, 1 written with something removed, 2 error (nothing
// written); 4 if the arena ran out, which the arena size below is chosen never to allow (the
// limits of limits::embedded refuse an input first; the test runs every fixture to show it).
#include "disarm.h"

#include <brine/core/allocator.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>  // rename
#include <cstdlib>

#include <fcntl.h>
#include <unistd.h>

namespace {

#include "sample.inc"  // generated at build time: const unsigned char bundled_sample[]

constexpr std::size_t input_capacity = std::size_t{2} << 20;
constexpr std::size_t output_capacity = std::size_t{2} << 20;
constexpr std::size_t arena_size = std::size_t{6} << 20;

std::uint8_t input[input_capacity];
std::uint8_t output[output_capacity];
alignas(16) unsigned char arena[arena_size];

void say(const char* text) noexcept {
    std::size_t n = 0;
    while (text[n] != '\0') ++n;
    while (n != 0) {
        const ssize_t w = ::write(1, text, n);
        if (w <= 0) return;
        text += w;
        n -= static_cast<std::size_t>(w);
    }
}

void say_number(std::uint64_t value) noexcept {
    char digits[24];
    char* p = digits + sizeof digits;
    *--p = '\0';
    do {
        *--p = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value != 0);
    say(p);
}

[[noreturn]] void arena_exhausted(std::size_t bytes) {
    say("brine_embedded: the arena is exhausted (asked for ");
    say_number(bytes);
    say(" bytes): raise arena_size or lower the limits\n");
    ::_exit(4);
}

// Reads a whole file into the static input buffer; false if it cannot or does not fit.
bool read_file(const char* path, std::size_t& size) noexcept {
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    size = 0;
    for (;;) {
        if (size == input_capacity) {  // full: one more byte means the file does not fit
            char probe;
            const bool more = ::read(fd, &probe, 1) > 0;
            ::close(fd);
            return !more;
        }
        const ssize_t n = ::read(fd, input + size, input_capacity - size);
        if (n < 0) {
            ::close(fd);
            return false;
        }
        if (n == 0) break;
        size += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return true;
}

// Nothing half-written: a temporary file next to OUT, renamed into place once complete.
bool write_file(const char* path, const std::uint8_t* bytes, std::size_t size) noexcept {
    char temp[4096];
    std::size_t n = 0;
    for (const char* p = path; *p != '\0'; ++p) {
        if (n + 16 >= sizeof temp) return false;
        temp[n++] = *p;
    }
    for (const char* p = ".brine-tmp"; *p != '\0'; ++p) temp[n++] = *p;
    temp[n] = '\0';
    const int fd = ::open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    while (size != 0) {
        const ssize_t w = ::write(fd, bytes, size);
        if (w <= 0) {
            ::close(fd);
            ::unlink(temp);
            return false;
        }
        bytes += w;
        size -= static_cast<std::size_t>(w);
    }
    if (::close(fd) != 0 || std::rename(temp, path) != 0) {
        ::unlink(temp);
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    brine::set_arena_exhausted_handler(arena_exhausted);
    const std::uint8_t* in = bundled_sample;
    std::size_t size = sizeof bundled_sample;
    const char* name = "bundled sample";
    if (argc >= 2) {
        name = argv[1];
        if (!read_file(argv[1], size)) {
            say("brine_embedded: ");
            say(argv[1]);
            say(": cannot read it, or it is larger than the input buffer\n");
            return 2;
        }
        in = input;
    }

    const firmware::outcome done = firmware::disarm(in, size, output, sizeof output, arena, sizeof arena);
    say(name);
    if (done.result == firmware::verdict::error) {
        say(": error ");
        say(done.code);
        say(" at offset ");
        say_number(done.offset);
        if (done.where[0] != '\0') {
            say(" in ");
            say(done.where);
        }
        say(": expected ");
        say(done.expected);
        say("\n");
    } else {
        say(done.result == firmware::verdict::clean ? ": clean, " : ": disarmed, ");
        say_number(done.tensors);
        say(" tensors, ");
        say_number(done.findings);
        say(" findings, ");
        say_number(done.written);
        say(" bytes written");
        if (done.findings != 0) {
            say("; first: ");
            say(done.where);
            say(": ");
            say(done.reason);
        }
        say("\n");
    }
    say("arena peak: ");
    say_number(done.arena_peak);
    say(" bytes of ");
    say_number(arena_size);
    say("\n");
    if (done.result != firmware::verdict::error && argc >= 3 && !write_file(argv[2], output, done.written)) {
        say("brine_embedded: cannot write the output\n");
        return 2;
    }
    return static_cast<int>(done.result);
}
