// SPDX-License-Identifier: MIT
//
// Files. mapped_file: a read-only memory map, for zero-copy access (a RandomAccessSource too).
// file_source: a read-only file as a Source (sequential reads) and as a RandomAccessSource
// (positional reads), without loading it into memory; positional reads do not move a shared file
// position, so several readers (threads) can share one open file. atomic_file_sink: output that
// appears under its name complete or not at all (temporary file, then rename).
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#if BRINE_HAS_POSIX_FILES
#include <fcntl.h>
#include <sys/mman.h>
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
    [[nodiscard]] int descriptor() const noexcept { return fd_; }

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


// A read-only memory map of a whole regular file: zero-copy views of its bytes. Also a
// RandomAccessSource. The file must not be truncated by someone else while mapped (that is a
// SIGBUS on every platform); use file_source for files others may be writing.
class mapped_file {
public:
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;
    mapped_file(mapped_file&& other) noexcept : data_(other.data_), size_(other.size_) {
        other.data_ = nullptr;
        other.size_ = 0;
    }
    mapped_file& operator=(mapped_file&& other) noexcept {
        if (this != &other) {
            unmap();
            data_ = other.data_;
            size_ = other.size_;
            other.data_ = nullptr;
            other.size_ = 0;
        }
        return *this;
    }
    ~mapped_file() { unmap(); }

    [[nodiscard]] static result<mapped_file> open(const char* path) noexcept {
        auto file = file_source::open(path);
        BRINE_TRY(file);
        return map(*file);
    }

    // The file already open as `file` (its size as opened), so that a caller reading it both
    // ways reads one file, whatever happens to the path.
    [[nodiscard]] static result<mapped_file> map(const file_source& file) noexcept {
        mapped_file mapped;
        if (file.size() == 0) return mapped;  // nothing to map; an empty view
        if (file.size() > SIZE_MAX) return error{errc::limit_exceeded, 0, "a file that fits the address space"};
        void* address = ::mmap(nullptr, static_cast<std::size_t>(file.size()), PROT_READ, MAP_PRIVATE, file.descriptor(), 0);
        if (address == MAP_FAILED) return error{errc::io_open_failed, 0, "a file that can be memory-mapped"};
        mapped.data_ = static_cast<const std::uint8_t*>(address);
        mapped.size_ = static_cast<std::size_t>(file.size());
        return mapped;
    }

    [[nodiscard]] byte_view bytes() const noexcept { return {data_, size_}; }
    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
    [[nodiscard]] status read_at(std::uint64_t offset, std::uint8_t* dst, std::size_t count) const noexcept {
        if (offset > size_ || count > size_ - offset)
            return error{errc::io_read_failed, offset, "more bytes (the file is shorter than expected)"};
        if (count != 0) std::memcpy(dst, data_ + offset, count);
        return {};
    }

private:
    mapped_file() noexcept = default;
    void unmap() noexcept {
        if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
        data_ = nullptr;
        size_ = 0;
    }

    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

// Writes a file through a temporary file beside it, renamed over the final name by commit().
// Until then nothing exists under the final name; if commit() is never reached (an error, an early
// return), the destructor removes the temporary file, so a failure leaves nothing behind.
// A SeekableSink: write_at patches bytes already written (used by the zip writer).
namespace detail {

// The temporary files of atomic_file_sinks not yet renamed or removed, in fixed slots so that a
// fatal path that cannot unwind (out of memory, SIGINT) can remove them with async-signal-safe
// calls only: brine::remove_unfinished_outputs().
class unfinished_outputs {
public:
    static constexpr int slots = 8;
    static constexpr std::size_t path_capacity = 4096;

    static unfinished_outputs& instance() noexcept {
        static unfinished_outputs all;
        return all;
    }
    // The slot holding `path`, or -1 when every slot is taken or the path is too long (the file
    // is then still removed by the sink, only not by a fatal path).
    int add(const std::string& path) noexcept {
        if (path.size() >= path_capacity) return -1;
        for (int i = 0; i < slots; ++i) {
            bool expected = false;
            if (!used_[i].compare_exchange_strong(expected, true)) continue;
            std::memcpy(paths_[i], path.c_str(), path.size() + 1);
            ready_[i].store(true, std::memory_order_release);
            return i;
        }
        return -1;
    }
    void remove(int slot) noexcept {
        if (slot < 0) return;
        ready_[slot].store(false, std::memory_order_release);
        used_[slot].store(false, std::memory_order_release);
    }
    void unlink_all() noexcept {
        for (int i = 0; i < slots; ++i)
            if (ready_[i].load(std::memory_order_acquire)) ::unlink(paths_[i]);
    }

private:
    char paths_[slots][path_capacity] = {};
    std::atomic<bool> used_[slots] = {};
    std::atomic<bool> ready_[slots] = {};
};

}  // namespace detail

// Removes the temporary file of every output being written: for a fatal path that ends the
// process without unwinding (a new_handler, a signal handler), so that no partial output stays
// behind. Async-signal-safe.
inline void remove_unfinished_outputs() noexcept { detail::unfinished_outputs::instance().unlink_all(); }

class atomic_file_sink {
public:
    atomic_file_sink(const atomic_file_sink&) = delete;
    atomic_file_sink& operator=(const atomic_file_sink&) = delete;
    atomic_file_sink(atomic_file_sink&& other) noexcept
        : fd_(other.fd_), sparse_(other.sparse_), position_(other.position_), size_(other.size_),
          final_path_(std::move(other.final_path_)), temp_path_(std::move(other.temp_path_)),
          registered_(other.registered_) {
        other.fd_ = -1;
        other.temp_path_.clear();
        other.registered_ = -1;
    }
    atomic_file_sink& operator=(atomic_file_sink&&) = delete;
    ~atomic_file_sink() { abandon(); }

    // `sparse`: runs of zero bytes (4 KiB blocks) become holes instead of written blocks, where
    // the file system supports them; the file's content is the same either way.
    [[nodiscard]] static result<atomic_file_sink> create(const char* final_path, bool sparse = false) noexcept {
        atomic_file_sink sink;
        sink.sparse_ = sparse;
        sink.final_path_ = final_path;
        sink.temp_path_ = sink.final_path_ + ".brine-XXXXXX";
        sink.fd_ = ::mkstemp(&sink.temp_path_[0]);
        if (sink.fd_ < 0) {
            sink.temp_path_.clear();
            return error{errc::io_open_failed, 0, "a writable directory for the output file"};
        }
        sink.registered_ = detail::unfinished_outputs::instance().add(sink.temp_path_);
        return sink;
    }

    status write(byte_view bytes) noexcept {
        BRINE_TRY(write_at(position_, bytes));
        position_ += bytes.size();
        return {};
    }

    status write_at(std::uint64_t offset, byte_view bytes) noexcept {
        if (fd_ < 0) return error{errc::io_write_failed, offset, "an open output file"};
        const std::uint8_t* data = bytes.data();
        std::size_t count = bytes.size();
        if (!sparse_) {
            BRINE_TRY(write_fully(offset, data, count));
            if (offset + count > size_) size_ = offset + count;
            return {};
        }
        while (count != 0) {
            std::size_t chunk = count < block ? count : block;
            if (sparse_ && chunk == block && offset >= size_ && is_zero(data, chunk)) {
                // Past the end of what exists, a skipped block reads back as zeros.
            } else {
                BRINE_TRY(write_fully(offset, data, chunk));
            }
            data += chunk;
            offset += chunk;
            count -= chunk;
            if (offset > size_) size_ = offset;
        }
        return {};
    }

    // Gives the file its final name, replacing any file there. `durable`: fsync first, so that
    // after a system crash the name holds either the old file or the complete new one (costs
    // the time to write the file to disk; cp and mv do not, so it is the caller's choice).
    [[nodiscard]] status commit(bool durable = false) noexcept {
        if (fd_ < 0) return error{errc::io_write_failed, position_, "an open output file"};
        if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0 || ::fchmod(fd_, 0644) != 0 ||
            (durable && ::fsync(fd_) != 0)) {
            abandon();
            return error{errc::io_write_failed, size_, "an output file that can be completed"};
        }
        ::close(fd_);
        fd_ = -1;
        if (std::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
            abandon();
            return error{errc::io_rename_failed, size_, "permission to replace the output file"};
        }
        temp_path_.clear();
        detail::unfinished_outputs::instance().remove(std::exchange(registered_, -1));
        return {};
    }

    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

    // Reads back what was written (the output check reads an output before its rename). Blocks
    // a sparse sink skipped at the end read as the zeros they stand for.
    [[nodiscard]] status read_at(std::uint64_t offset, std::uint8_t* dst, std::size_t count) const noexcept {
        if (fd_ < 0 || offset > size_ || count > size_ - offset)
            return error{errc::io_read_failed, offset, "bytes within the output written so far"};
        while (count != 0) {
            const ssize_t got = ::pread(fd_, dst, count, static_cast<off_t>(offset));
            if (got < 0) {
                if (errno == EINTR) continue;
                return error{errc::io_read_failed, offset, "an output file that can be read back"};
            }
            if (got == 0) {  // past the file's current end: a skipped zero block
                std::memset(dst, 0, count);
                return {};
            }
            dst += got;
            offset += static_cast<std::uint64_t>(got);
            count -= static_cast<std::size_t>(got);
        }
        return {};
    }

private:
    static constexpr std::size_t block = 4096;

    atomic_file_sink() noexcept = default;

    static bool is_zero(const std::uint8_t* data, std::size_t count) noexcept {
        std::uint64_t any = 0;  // OR of all words: no early exit, so the loop vectorises
        std::size_t i = 0;
        for (; i + 8 <= count; i += 8) {
            std::uint64_t word;
            std::memcpy(&word, data + i, 8);
            any |= word;
        }
        for (; i < count; ++i) any |= data[i];
        return any == 0;
    }

    status write_fully(std::uint64_t offset, const std::uint8_t* data, std::size_t count) noexcept {
        while (count != 0) {
            const ssize_t done = ::pwrite(fd_, data, count, static_cast<off_t>(offset));
            if (done < 0) {
                if (errno == EINTR) continue;
                return error{errc::io_write_failed, offset, "room to write the output (disk full?)"};
            }
            data += done;
            offset += static_cast<std::uint64_t>(done);
            count -= static_cast<std::size_t>(done);
        }
        return {};
    }

    void abandon() noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
        if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
        temp_path_.clear();
        detail::unfinished_outputs::instance().remove(std::exchange(registered_, -1));
    }

    int fd_ = -1;
    bool sparse_ = false;
    std::uint64_t position_ = 0;
    std::uint64_t size_ = 0;
    std::string final_path_;
    std::string temp_path_;
    int registered_ = -1;  // slot in detail::unfinished_outputs
};

// A file read both ways, each where it is cheap: small reads (zip headers) are copied from a
// mapping, without a system call each; large reads (records, storages) use pread, without a page
// fault per 4 KiB or resident memory growing with the file. Scanning a 346 MB model's 155
// records took 4.9 ms of preads for the headers alone. The mapping is also there for parsing a
// pickle stream in place (mapping()); it is deliberately not called bytes(), so that copying
// (copy_range) takes the pread path.
class hybrid_file_source {
public:
    // One open: the mapping and the reads are of the same file even if the path is renamed over.
    [[nodiscard]] static result<hybrid_file_source> open(const char* path) noexcept {
        auto file = file_source::open(path);
        BRINE_TRY(file);
        auto mapped = mapped_file::map(*file);
        BRINE_TRY(mapped);
        return hybrid_file_source(std::move(*mapped), std::move(*file));
    }

    [[nodiscard]] std::uint64_t size() const noexcept { return mapped_.size(); }
    [[nodiscard]] byte_view mapping() const noexcept { return mapped_.bytes(); }
    [[nodiscard]] status read_at(std::uint64_t offset, std::uint8_t* dst, std::size_t count) const noexcept {
        if (count <= small_read) return mapped_.read_at(offset, dst, count);
        return file_.read_at(offset, dst, count);
    }

private:
    static constexpr std::size_t small_read = 4096;
    hybrid_file_source(mapped_file mapped, file_source file) noexcept
        : mapped_(std::move(mapped)), file_(std::move(file)) {}
    mapped_file mapped_;
    file_source file_;
};

#endif  // BRINE_HAS_POSIX_FILES

BRINE_NAMESPACE_END
