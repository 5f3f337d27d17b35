// brine CLI: a progress line on stderr for large inputs when stderr is a terminal.
#pragma once

#include <brine/brine.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

#include <unistd.h>

namespace brine_cli {

// A progress line on stderr for large inputs when stderr is a terminal.
struct progress_line {
    const char* verb;
    std::string name;
    bool shown = false;

    static void update(void* self, std::uint64_t done, std::uint64_t total) {
        auto* line = static_cast<progress_line*>(self);
        line->shown = true;
        const double percent = total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0;
        std::fprintf(stderr, "\r%s %s: %5.1f%% (%llu of %llu MB)", line->verb, line->name.c_str(), percent,
                     static_cast<unsigned long long>(done >> 20), static_cast<unsigned long long>(total >> 20));
        std::fflush(stderr);
    }
    void finish() const {
        if (shown) std::fputs("\r\033[K", stderr);  // clear the line: the report follows on stdout
    }
};

inline bool wants_progress(const std::string& path) {
    if (!::isatty(STDERR_FILENO)) return false;
    auto file = brine::file_source::open(path.c_str());
    return file && file->size() > (std::uint64_t{100} << 20);
}

}  // namespace brine_cli
