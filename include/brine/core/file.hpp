// SPDX-License-Identifier: MIT
//
// file_source: a read-only file as a Source (sequential reads) and as a random-access byte source
// (positional reads), without loading it into memory. Positional reads do not move a shared file
// position, so several readers (threads) can share one open file.
#pragma once

#include <brine/config.hpp>
#include <brine/core/result.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>

#if BRINE_HAS_POSIX_FILES
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

BRINE_NAMESPACE_BEGIN

#if BRINE_HAS_POSIX_FILES

class file_source {
public:
    file_source() noexcept = default;
    file_source(const file_source&) = delete;
    file_source& operator=(const file_source&) = delete;
    file_source(file_source&& other) noexcept : fd_(other.fd_), size_(other.size_), pos_(other.pos_) {
        other.fd_ = -1;
    }
    file_source& operator=(file_source&& other) noexcept {
        if (this != &other) {
            close();
            fd_ = other.fd_;
            size_ = other.size_;
            pos_ = other.pos_;
            other.fd_ = -1;
        }
        return *this;
    }
    ~file_source() { close(); }

    // Opens a regular file for reading. Directories, devices and FIFOs are refused: their "size"
    // means nothing and reading them may block forever.
    [[nodiscard]] static result<file_source> open(const char* path) noexcept {
        file_source file;
        do {
            file.fd_ = ::open(path, O_RDONLY | O_CLOEXEC);
        } while (file.fd_ < 0 && errno == EINTR);
        if (file.fd_ < 0) return error{errc::io_open_failed, 0, "a readable file"};
        struct stat info {};
        if (::fstat(file.fd_, &info) != 0) return error{errc::io_open_failed, 0, "a file whose size can be read"};
        if (!S_ISREG(info.st_mode)) return error{errc::io_open_failed, 0, "a regular file"};
        file.size_ = static_cast<std::uint64_t>(info.st_size);
        return file;
    }

    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

    // Reads exactly `count` bytes at `offset`; a file shorter than that is an error at `offset`.
    [[nodiscard]] status read_at(std::uint64_t offset, std::uint8_t* dst, std::size_t count) const noexcept {
        while (count != 0) {
            const std::size_t chunk = count < chunk_limit ? count : chunk_limit;
            const ssize_t got = ::pread(fd_, dst, chunk, static_cast<off_t>(offset));
            if (got < 0) {
                if (errno == EINTR) continue;
                return error{errc::io_read_failed, offset, "readable bytes"};
            }
            if (got == 0) return error{errc::io_read_failed, offset, "more bytes (the file is shorter than expected)"};
            dst += got;
            offset += static_cast<std::uint64_t>(got);
            count -= static_cast<std::size_t>(got);
        }
        return {};
    }

    // Source interface: sequential reads from the current position; 0 at the end of the file.
    result<std::size_t> read(std::uint8_t* dst, std::size_t max) noexcept {
        const std::uint64_t rest = size_ > pos_ ? size_ - pos_ : 0;
        const std::size_t count = max < rest ? max : static_cast<std::size_t>(rest);
        BRINE_TRY(read_at(pos_, dst, count));
        pos_ += count;
        return count;
    }

private:
    // Bounded single reads keep every platform's ssize_t/off_t arithmetic in range.
    static constexpr std::size_t chunk_limit = std::size_t{1} << 30;

    void close() noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

    int fd_ = -1;
    std::uint64_t size_ = 0;
    std::uint64_t pos_ = 0;
};

#endif  // BRINE_HAS_POSIX_FILES

BRINE_NAMESPACE_END
