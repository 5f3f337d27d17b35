// Benchmark: scanning a pickle (reader + symbolic machine + torch_weights_only policy) against
// Python's pickletools.genops walking the same bytes, in the same run (target: >= 50x Python and
// >= 300 MB/s). The input is a synthetic protocol-2 pickle rich in small opcodes: a long list of
// small ints, short strings, small dicts and tuples, with memo puts and gets, as in optimizer
// checkpoints and metadata.
//
// usage: brine_pickle_scan [--size MiB] [--python /usr/bin/python3]
#include <brine/brine.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::vector<std::uint8_t> synthetic_pickle(std::size_t target) {
    std::vector<std::uint8_t> out = {0x80, 0x02, ']', 'q', 0x00};
    const auto put = [&](std::initializer_list<std::uint8_t> bytes) { out.insert(out.end(), bytes); };
    const auto put_str = [&](const char* s) {
        const std::size_t n = std::strlen(s);
        put({'X', static_cast<std::uint8_t>(n), 0, 0, 0});
        out.insert(out.end(), s, s + n);
    };
    std::uint32_t memo = 1;
    std::size_t item = 0;
    while (out.size() < target) {
        put({'('});
        for (int i = 0; i < 1000; ++i, ++item) {
            switch (item % 5) {
                case 0: put({'K', static_cast<std::uint8_t>(item)}); break;
                case 1: put_str(item % 2 ? "step" : "exp_avg"); break;
                case 2:  // {'lr': 3, 'momentum': 1.5}
                    put({'}', '('});
                    put_str("lr");
                    put({'K', 3});
                    put_str("momentum");
                    put({'G', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 'u'});
                    break;
                case 3:  // (1, 2, 3) memoized
                    put({'K', 1, 'K', 2, 'K', 3, 0x87});
                    if (memo < 256) put({'q', static_cast<std::uint8_t>(memo++)});
                    break;
                case 4: put({'h', static_cast<std::uint8_t>(1 + item % (memo > 1 ? memo - 1 : 1))}); break;
            }
        }
        put({'e'});
    }
    put({'.'});
    return out;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t mib = 64;
    std::string python = "/usr/bin/python3";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--size") == 0) mib = std::strtoul(argv[i + 1], nullptr, 10);
        if (std::strcmp(argv[i], "--python") == 0) python = argv[i + 1];
    }
    const std::vector<std::uint8_t> data = synthetic_pickle(mib << 20);
    const double megabytes = static_cast<double>(data.size()) / 1e6;

    // brine: best of 5 scans, each into fresh memory (as a one-off scan of one file), then best of
    // 5 into one reused evaluation (as a hub scanning many files: no page faults after the first).
    brine::policy::torch_weights_only rules;
    brine::pickle::machine<brine::policy::torch_weights_only> machine(rules);
    const brine::byte_view input(data.data(), data.size());
    double best_fresh = 1e30;
    double best_reused = 1e30;
    std::size_t nodes = 0;
    brine::pickle::evaluation reused;
    for (int rep = 0; rep < 10; ++rep) {
        const bool fresh = rep < 5;
        brine::pickle::evaluation one_off;
        brine::pickle::evaluation& into = fresh ? one_off : reused;
        const auto start = std::chrono::steady_clock::now();
        const brine::status scanned = machine.run(input, into);
        const double elapsed = seconds_since(start);
        if (!scanned) {
            std::fprintf(stderr, "scan failed: %s at %llu\n", brine::to_string(scanned.err().code).data(),
                         static_cast<unsigned long long>(scanned.err().offset));
            return 1;
        }
        nodes = into.values.size();
        double& best = fresh ? best_fresh : best_reused;
        best = elapsed < best ? elapsed : best;
    }

    // brine's reader alone: the work genops does (tokens with decoded arguments, no objects).
    double best_tokens = 1e30;
    for (int rep = 0; rep < 5; ++rep) {
        const auto start = std::chrono::steady_clock::now();
        brine::pickle::reader<> tokens(input);
        brine::pickle::token t;
        std::size_t count = 0;
        while (tokens.next(t) && t.op != brine::pickle::opcode::STOP) ++count;
        const double elapsed = seconds_since(start);
        if (count == 0) return 1;
        best_tokens = elapsed < best_tokens ? elapsed : best_tokens;
    }

    // Python: pickletools.genops over the same bytes (written to a temporary file), timed inside
    // Python so interpreter start-up is not counted.
    const std::string path = "/tmp/brine_bench_scan.pkl";
    if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
        std::fwrite(data.data(), 1, data.size(), f);
        std::fclose(f);
    }
    const std::string command = python +
                                " -c \"import pickletools,time;d=open('" + path +
                                "','rb').read();t=time.perf_counter();n=sum(1 for _ in pickletools.genops(d));"
                                "print(time.perf_counter()-t)\"";
    double python_seconds = 0;
    if (std::FILE* p = popen(command.c_str(), "r")) {
        if (std::fscanf(p, "%lf", &python_seconds) != 1) python_seconds = 0;
        pclose(p);
    }
    std::remove(path.c_str());

    std::printf("pickle scan: %.1f MB synthetic protocol-2 pickle, %zu values\n", megabytes, nodes);
    std::printf("brine scan, fresh memory (reader+machine+policy)  %8.1f MB/s  (%.3f s)\n", megabytes / best_fresh,
                best_fresh);
    std::printf("brine scan, reused evaluation                     %8.1f MB/s  (%.3f s)\n", megabytes / best_reused,
                best_reused);
    std::printf("brine reader alone (tokens only, as genops)       %8.1f MB/s  (%.3f s)\n", megabytes / best_tokens,
                best_tokens);
    if (python_seconds > 0) {
        std::printf("python pickletools.genops (tokens only)           %8.1f MB/s  (%.3f s)\n",
                    megabytes / python_seconds, python_seconds);
        std::printf("tokens: brine reader %.1fx genops\n", python_seconds / best_tokens);
        std::printf("ratio fresh %.1fx, reused %.1fx (target >= 50x); brine reused %s 300 MB/s\n",
                    python_seconds / best_fresh, python_seconds / best_reused, megabytes / best_reused >= 300 ? ">=" : "<");
    } else {
        std::printf("python baseline unavailable (%s)\n", python.c_str());
    }
    return 0;
}
