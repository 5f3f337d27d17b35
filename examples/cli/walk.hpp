// brine CLI: the files a `scan DIR` looks at, and scanning many files on several threads.
#pragma once

#include <brine/brine.hpp>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace brine_cli {

// Whether a file could be loaded by torch.load, pickle.load, numpy.load or a safetensors loader,
// judged by its first bytes as those loaders judge (never by its name): a zip (or a file opening
// with an end record, an .npz to numpy.load), a NumPy array, a stream whose first byte is a
// pickle opcode, the safetensors shape (an 8-byte header length that fits in the file, then '{'),
// or a first block that Python's tarfile takes for a tar header (torch.load tries tarfile on any
// non-zip file, whatever its first byte). Text files (JSON, YAML, Markdown) start otherwise.
inline bool looks_loadable(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return true;  // unreadable: scanning it reports the error
    std::uint8_t head[brine::readings::tar_block_size] = {};
    ssize_t got = 0;
    while (got < static_cast<ssize_t>(sizeof head)) {
        const ssize_t more = ::read(fd, head + got, sizeof head - static_cast<std::size_t>(got));
        if (more <= 0) break;
        got += more;
    }
    struct stat info;
    const bool sized = ::fstat(fd, &info) == 0;
    ::close(fd);
    if (got <= 0) return false;  // empty files load as nothing
    const brine::byte_view first(head, static_cast<std::size_t>(got));
    if (got >= 9 && sized &&
        brine::safetensors::has_header_shape(first.first(9), static_cast<std::uint64_t>(info.st_size)))
        return true;
    if (got >= 4 && head[0] == 'P' && head[1] == 'K' && (head[2] == 3 || head[2] == 5) && head[3] == head[2] + 1)
        return true;
    if (got >= 6 && head[0] == 0x93 && head[1] == 'N') return true;
    if (brine::readings::read_tar_block0(first) == brine::readings::tar_block0::header) return true;
    return brine::pickle::is_opcode(head[0]);
}

// Regular files under `root` (or `root` itself), depth first, sorted within each directory so
// the output order is stable. Symbolic links are not followed (no loops, no escaping the tree).
inline void collect_files(const std::string& root, std::vector<std::string>& out, bool explicit_path) {
    struct stat info;
    if (::lstat(root.c_str(), &info) != 0) {
        out.push_back(root);  // reported as unreadable
        return;
    }
    if (S_ISREG(info.st_mode)) {
        if (explicit_path || looks_loadable(root)) out.push_back(root);
        return;
    }
    if (!S_ISDIR(info.st_mode)) {
        if (explicit_path) out.push_back(root);  // a FIFO or device named by the user: refused later
        return;
    }
    DIR* dir = ::opendir(root.c_str());
    if (!dir) {
        out.push_back(root);
        return;
    }
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        if (name == "." || name == "..") continue;
        names.push_back(name);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
        const std::string path = root.back() == '/' ? root + name : root + "/" + name;
        struct stat child;
        if (::lstat(path.c_str(), &child) != 0 || S_ISLNK(child.st_mode)) continue;
        collect_files(path, out, false);
    }
}

// Runs `task(i)` for i in [0, count) on `jobs` threads and hands each result to `emit` in index
// order, as soon as it and all before it are done (output stays in order and streams).
template <class Result>
void run_in_order(std::size_t count, unsigned jobs, const std::function<Result(std::size_t)>& task,
                  const std::function<void(std::size_t, Result&)>& emit) {
    if (jobs <= 1 || count <= 1) {
        for (std::size_t i = 0; i < count; ++i) {
            Result r = task(i);
            emit(i, r);
        }
        return;
    }
    std::vector<Result> results(count);
    std::vector<char> done(count, 0);
    std::mutex lock;
    std::condition_variable finished;
    std::size_t next = 0;
    std::vector<std::thread> workers;
    for (unsigned w = 0; w < jobs && w < count; ++w) {
        workers.emplace_back([&] {
            for (;;) {
                std::size_t index;
                {
                    std::lock_guard<std::mutex> guard(lock);
                    if (next == count) return;
                    index = next++;
                }
                Result r = task(index);
                std::lock_guard<std::mutex> guard(lock);
                results[index] = std::move(r);
                done[index] = 1;
                finished.notify_all();
            }
        });
    }
    for (std::size_t i = 0; i < count; ++i) {
        std::unique_lock<std::mutex> guard(lock);
        finished.wait(guard, [&] { return done[i] != 0; });
        guard.unlock();
        emit(i, results[i]);
    }
    for (std::thread& worker : workers) worker.join();
}

}  // namespace brine_cli
