// SPDX-License-Identifier: MIT
//
// The Moving Target Defense secret key and its file. Whoever holds the key can verify and restore
// sealed models; everyone else sees permuted weights. The file format is deliberately tiny and
// strict, so that a key can be written by hand or with `openssl rand -hex 32 > key`, and so that a
// truncated, doubled or mistyped key is refused instead of silently becoming another key:
//
//   exactly 64 hexadecimal digits (0-9, a-f, A-F; the 32 key bytes in order, high nibble first),
//   then optionally one line ending, "\n" or "\r\n", then the end of the file. Nothing else:
//   no spaces, no "0x", no comments, no second line.
//
// brine writes 64 lowercase digits and "\n", into a new file of mode 0600, and reads only key
// files that group and others can neither read nor write (as ssh treats private keys): a key
// others could read is no longer secret, and one they could write may have been replaced.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/hex.hpp>
#include <brine/core/file.hpp>
#include <brine/core/os_random.hpp>
#include <brine/core/result.hpp>
#include <brine/crypto/detail/secure_wipe.hpp>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>

#if BRINE_HAS_POSIX_FILES
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

BRINE_NAMESPACE_BEGIN
namespace mtd {

// 32 secret bytes, erased when the object is destroyed (copies too: each erases its own bytes).
struct secret_key {
    static constexpr std::size_t size = 32;
    std::array<std::uint8_t, size> bytes{};

    secret_key() noexcept = default;
    secret_key(const secret_key&) noexcept = default;
    secret_key& operator=(const secret_key&) noexcept = default;
    ~secret_key() { crypto::detail::secure_wipe(bytes); }

    [[nodiscard]] byte_view view() const noexcept { return {bytes.data(), bytes.size()}; }
};

// The longest key file read_key_file accepts; the format needs 66 bytes at most.
inline constexpr std::size_t key_file_limit = 1024;

// Parses the content of a key file (format above). Errors are mtd_bad_key at the offset of
// the first byte that does not fit.
[[nodiscard]] inline result<secret_key> parse_key(byte_view text) noexcept {
    constexpr std::size_t digits = 2 * secret_key::size;
    secret_key key;
    for (std::size_t i = 0; i < digits; ++i) {
        if (i >= text.size())
            return error{errc::mtd_bad_key, i, "64 hexadecimal digits (the key is too short)"};
        const int nibble = hex_digit_value(text[i]);
        if (nibble < 0) {
            if (text[i] == '\n' || text[i] == '\r')
                return error{errc::mtd_bad_key, i, "64 hexadecimal digits before the line ending (the key is too short)"};
            return error{errc::mtd_bad_key, i, "a hexadecimal digit (0-9, a-f or A-F)"};
        }
        const std::size_t index = i / 2;
        key.bytes[index] = static_cast<std::uint8_t>(key.bytes[index] | (i % 2 == 0 ? nibble << 4 : nibble));
    }
    const byte_view rest = text.subview(digits);
    if (rest.empty()) return key;
    if (rest[0] == '\n') {
        if (rest.size() == 1) return key;
        return error{errc::mtd_bad_key, digits + 1, "the end of the file after the key's line"};
    }
    if (rest[0] == '\r') {
        if (rest.size() >= 2 && rest[1] == '\n') {
            if (rest.size() == 2) return key;
            return error{errc::mtd_bad_key, digits + 2, "the end of the file after the key's line"};
        }
        return error{errc::mtd_bad_key, digits + 1, "\"\\n\" after \"\\r\""};
    }
    if (hex_digit_value(rest[0]) >= 0)
        return error{errc::mtd_bad_key, digits, "exactly 64 hexadecimal digits (the key is too long)"};
    return error{errc::mtd_bad_key, digits, "a line ending or the end of the file after the 64 digits"};
}

// A new random key from the operating system's generator (os_random).
[[nodiscard]] inline result<secret_key> generate_key() noexcept {
    secret_key key;
    BRINE_TRY(os_random(mutable_byte_view(key.bytes.data(), key.bytes.size())));
    return key;
}

#if BRINE_HAS_POSIX_FILES

// Refuses a key file whose permission bits let group or others read, write or execute it. The
// mode comes from fstat on the descriptor already open, not from stat on the path: the file
// checked is the file read, whatever happens to the path meanwhile. The error (mtd_bad_key at
// offset 0) names the mode as its entry, e.g. "mode 0644", and says to chmod 600.
[[nodiscard]] inline status check_key_file_mode(int fd) noexcept {
    struct stat info {};
    if (::fstat(fd, &info) != 0) return error{errc::io_open_failed, 0, "a key file whose mode can be read"};
    const auto mode = static_cast<unsigned>(info.st_mode & 07777);
    if ((mode & 077) == 0) return {};
    char text[] = "mode 0000";
    for (int digit = 0; digit < 4; ++digit) text[5 + digit] = static_cast<char>('0' + ((mode >> (3 * (3 - digit))) & 7));
    return error{errc::mtd_bad_key, 0,
                 "a key file only its owner can read or write (group or others have access: chmod 600 KEYFILE)",
                 std::string_view(text, sizeof text - 1)};
}

// Reads and parses a key file, refusing one others can access (check_key_file_mode). Anything larger than key_file_limit is refused before it is read
// (mtd_bad_key at that offset): a key path pointing at a model or a log by mistake fails fast.
[[nodiscard]] inline result<secret_key> read_key_file(const char* path) noexcept {
    auto file = file_source::open(path);
    BRINE_TRY(file);
    BRINE_TRY(check_key_file_mode(file->descriptor()));
    if (file->size() > key_file_limit)
        return error{errc::mtd_bad_key, key_file_limit, "a key file (64 hexadecimal digits, at most 1 KiB)"};
    std::array<std::uint8_t, key_file_limit> text{};
    const auto size = static_cast<std::size_t>(file->size());
    if (auto read = file->read_at(0, text.data(), size); !read) {
        crypto::detail::secure_wipe(text);
        return read.err();
    }
    auto key = parse_key(byte_view(text.data(), size));
    crypto::detail::secure_wipe(text);
    return key;
}

// Writes `key` to a new file at `path` (64 lowercase digits and "\n", mode 0600, flushed to disk
// with fsync). An existing file (or symbolic link) at `path` is never replaced: that is an
// io_open_failed error, since overwriting a key makes every model sealed with it unrecoverable.
// If writing fails after the file was created, the file is removed again (io_write_failed).
[[nodiscard]] inline status write_new_key_file(const char* path, const secret_key& key) noexcept {
    int fd = -1;
    do {
        fd = ::open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        if (errno == EEXIST)
            return error{errc::io_open_failed, 0, "a path where no file exists yet (an existing key file is never overwritten)"};
        return error{errc::io_open_failed, 0, "a new file that can be created (a writable directory)"};
    }

    std::array<std::uint8_t, 2 * secret_key::size + 1> text{};
    for (std::size_t i = 0; i < key.bytes.size(); ++i) {
        text[2 * i] = static_cast<std::uint8_t>(hex_digit(key.bytes[i] >> 4));
        text[2 * i + 1] = static_cast<std::uint8_t>(hex_digit(key.bytes[i] & 0x0F));
    }
    text[2 * secret_key::size] = '\n';

    bool ok = true;
    std::size_t done = 0;
    while (ok && done < text.size()) {
        const ssize_t wrote = ::write(fd, text.data() + done, text.size() - done);
        if (wrote < 0) {
            if (errno == EINTR) continue;
            ok = false;
        } else {
            done += static_cast<std::size_t>(wrote);
        }
    }
    crypto::detail::secure_wipe(text);
    if (ok && ::fsync(fd) != 0) ok = false;
    if (::close(fd) != 0) ok = false;
    if (!ok) {
        ::unlink(path);
        return error{errc::io_write_failed, done, "room to write the key file and flush it to disk"};
    }
    return {};
}

#endif  // BRINE_HAS_POSIX_FILES

}  // namespace mtd
BRINE_NAMESPACE_END
