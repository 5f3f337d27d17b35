// SPDX-License-Identifier: MIT
//
// Random bytes from the operating system's cryptographic generator, for what must be
// unpredictable: new secret keys and the fresh salt of every seal. (Everything that must be
// reproducible comes from keyed generators instead; see mtd/keyed_stream.hpp.)
//
//   Linux                     getrandom(), which waits only until the kernel pool has been seeded
//                             once at boot; /dev/urandom if the system call is missing or filtered
//   macOS and the BSDs        arc4random_buf(), which cannot fail
//   other POSIX systems       /dev/urandom
//   anything else             an error: there is no portable source, and no weak substitute is used
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>

#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || \
    defined(__DragonFly__)
#define BRINE_DETAIL_OS_RANDOM_ARC4 1
#include <stdlib.h>
#else
#define BRINE_DETAIL_OS_RANDOM_ARC4 0
#endif

#if defined(__linux__) && defined(__has_include)
#if __has_include(<sys/random.h>)
#define BRINE_DETAIL_OS_RANDOM_GETRANDOM 1
#include <sys/random.h>
#endif
#endif
#ifndef BRINE_DETAIL_OS_RANDOM_GETRANDOM
#define BRINE_DETAIL_OS_RANDOM_GETRANDOM 0
#endif

#if BRINE_HAS_POSIX_FILES
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

BRINE_NAMESPACE_BEGIN

namespace detail {

#if BRINE_HAS_POSIX_FILES
// Fills out[0..size) from /dev/urandom. It must be a character device: a regular file planted
// under that name (in a chroot or container image) would hand out the same "random" bytes forever.
// `already` counts bytes obtained before (from getrandom), for the offset of an error.
[[nodiscard]] inline status read_dev_urandom(std::uint8_t* out, std::size_t size, std::size_t already = 0) noexcept {
    int fd = -1;
    do {
        fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC | O_NOCTTY);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return error{errc::io_open_failed, 0, "a readable /dev/urandom"};
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISCHR(info.st_mode)) {
        ::close(fd);
        return error{errc::io_open_failed, 0, "/dev/urandom to be a character device"};
    }
    std::size_t done = 0;
    while (done < size) {
        const ssize_t got = ::read(fd, out + done, size - done);
        if (got < 0) {
            if (errno == EINTR) continue;
            ::close(fd);
            return error{errc::io_read_failed, already + done, "random bytes from /dev/urandom"};
        }
        if (got == 0) {
            ::close(fd);
            return error{errc::io_read_failed, already + done,
                         "random bytes from /dev/urandom (it reported end of file)"};
        }
        done += static_cast<std::size_t>(got);
    }
    ::close(fd);
    return {};
}
#endif

}  // namespace detail

// Fills `out` with bytes from the operating system's cryptographically secure generator. Either
// every byte is filled or an error is returned (io_open_failed when no source can be opened,
// io_read_failed, its offset the number of bytes obtained, when reading stopped); a failure must
// never be ignored, since the buffer's content is then not random.
[[nodiscard]] inline status os_random(mutable_byte_view out) noexcept {
    std::uint8_t* dst = out.data();
    const std::size_t size = out.size();
    if (size == 0) return {};
#if BRINE_DETAIL_OS_RANDOM_ARC4
    ::arc4random_buf(dst, size);
    return {};
#elif BRINE_DETAIL_OS_RANDOM_GETRANDOM
    std::size_t done = 0;
    while (done < size) {
        // Large requests may be answered in part (and interrupted by signals): ask again for the rest.
        const ssize_t got = ::getrandom(dst + done, size - done, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            // ENOSYS: a kernel older than 3.17; EPERM: a seccomp filter forbidding the call.
            if (errno == ENOSYS || errno == EPERM) return detail::read_dev_urandom(dst + done, size - done, done);
            return error{errc::io_read_failed, done, "random bytes from getrandom()"};
        }
        done += static_cast<std::size_t>(got);
    }
    return {};
#elif BRINE_HAS_POSIX_FILES
    return detail::read_dev_urandom(dst, size);
#else
    (void)dst;
    return error{errc::io_open_failed, 0, "an operating system random source (none is known on this platform)"};
#endif
}

BRINE_NAMESPACE_END
