// Shared by the benchmark programs that time whole commands (brine disarm, brine seal/verify):
// every contender runs as a child process, so its wall time (fork to reap) and peak RSS (the
// child's rusage from wait4) are measured the same way whatever it is. Before each run dirty
// pages are written back (sync, not timed), so no contender pays for the previous one's writes.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace brine_bench {

struct measured {
    double seconds = 0;      // wall time
    double cpu_seconds = 0;  // user + system time of the child and its threads
    long peak_rss_kib = 0;
    int exit_code = -1;  // -1: killed by a signal, or could not be reaped

    [[nodiscard]] double peak_rss_mib() const { return static_cast<double>(peak_rss_kib) / 1024.0; }
};

// Runs argv as a child (stdout to /dev/null: reports are not part of the measurement; stderr
// is inherited so that a failing contender says why). 127: argv[0] could not be executed.
inline measured run(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const auto start = std::chrono::steady_clock::now();
    const pid_t child = fork();
    if (child == 0) {
        const int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, STDOUT_FILENO);
        execv(args[0], args.data());
        _exit(127);
    }
    measured m;
    if (child < 0) return m;
    int status = 0;
    rusage usage{};
    if (wait4(child, &status, 0, &usage) != child) return m;
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    m.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                    static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    m.peak_rss_kib = usage.ru_maxrss;
    m.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return m;
}

// The runs of one contender: best (shortest) and median wall time, and the largest peak RSS.
struct series {
    std::vector<measured> runs;

    void add(const measured& m) { runs.push_back(m); }
    [[nodiscard]] bool empty() const { return runs.empty(); }
    [[nodiscard]] measured best() const {
        measured out;
        out.seconds = 1e30;
        for (const measured& m : runs)
            if (m.seconds < out.seconds) out = m;
        return out;
    }
    [[nodiscard]] double median_seconds() const { return median(&measured::seconds); }
    [[nodiscard]] double median_cpu_seconds() const { return median(&measured::cpu_seconds); }
    [[nodiscard]] long max_peak_rss_kib() const {
        long most = 0;
        for (const measured& m : runs) most = std::max(most, m.peak_rss_kib);
        return most;
    }

private:
    [[nodiscard]] double median(double measured::*field) const {
        if (runs.empty()) return 0;
        std::vector<double> t;
        for (const measured& m : runs) t.push_back(m.*field);
        std::sort(t.begin(), t.end());
        const std::size_t n = t.size();
        return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
    }
};

// One timed run: the output (if any) is removed and dirty pages written back first, untimed.
inline measured run_fresh(const std::vector<std::string>& argv, const std::string& output) {
    if (!output.empty()) std::remove(output.c_str());
    sync();
    return run(argv);
}

// Best of `repeats` by time; stops at the first run whose exit code exceeds `worst_success`
// and returns that run.
inline measured best_of(int repeats, const std::vector<std::string>& argv, const std::string& output,
                        int worst_success = 0) {
    series s;
    for (int i = 0; i < repeats; ++i) {
        const measured m = run_fresh(argv, output);
        if (m.exit_code < 0 || m.exit_code > worst_success) return m;
        s.add(m);
    }
    return s.best();
}

// Reads the file once so that every contender finds it in the page cache.
inline void warm(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return;
    std::vector<char> buffer(std::size_t{1} << 20);
    while (std::fread(buffer.data(), 1, buffer.size(), f) == buffer.size()) {
    }
    std::fclose(f);
}

inline long long file_size(const std::string& path) {
    struct stat info;
    return stat(path.c_str(), &info) == 0 ? static_cast<long long>(info.st_size) : -1;
}

// `<dir>/<model>.pt`: the state dict of a torchvision model (random init, no download), written
// by Python the first time and reused afterwards. Returns the path, or "" (after a message).
inline std::string torchvision_state_dict(const std::string& python, const std::string& model, const std::string& dir) {
    mkdir(dir.c_str(), 0755);
    const std::string path = dir + "/" + model + ".pt";
    if (file_size(path) > 0) return path;
    const std::string make = "import torch, torchvision; torch.manual_seed(0); "
                             "torch.save(getattr(torchvision.models, '" + model + "')().state_dict(), '" + path + "')";
    const measured made = run({python, "-c", make});
    if (made.exit_code != 0) {
        std::fprintf(stderr, "could not write %s with torchvision (exit %d)\n", path.c_str(), made.exit_code);
        std::remove(path.c_str());
        return "";
    }
    return path;
}

}  // namespace brine_bench
