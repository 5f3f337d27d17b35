// Benchmark: brine's bundled primitives against the system's reference implementations, measured
// in the same run on the same buffers, single-threaded:
//   SHA-256  vs OpenSSL libcrypto   (target >= 0.9x)
//   CRC-32   vs zlib crc32          (target >= 2x)
//   inflate  vs zlib inflate        (target >= 0.8x)
// Each figure is the best of several timed repetitions, interleaving brine and the baseline so
// that frequency changes and noise from other processes hit both alike.
//
// usage: brine_bench [--size MiB] [--reps N]
#include <brine/brine.hpp>

#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

using bytes = std::vector<std::uint8_t>;
using clock_type = std::chrono::steady_clock;

volatile std::uint64_t sink_value;  // keeps results alive so no work is optimised away

double seconds_for(const std::function<void()>& work) {
    const auto start = clock_type::now();
    work();
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

struct comparison {
    double brine_mbps = 0;
    double baseline_mbps = 0;
};

// Best throughput of `reps` interleaved repetitions; `megabytes` is the data processed per call.
comparison compare(double megabytes, int reps, const std::function<void()>& brine_work,
                   const std::function<void()>& baseline_work) {
    double best_brine = 1e30, best_baseline = 1e30;
    brine_work();  // warm caches, page in buffers, run CPU dispatch once
    baseline_work();
    for (int i = 0; i < reps; ++i) {
        best_brine = std::min(best_brine, seconds_for(brine_work));
        best_baseline = std::min(best_baseline, seconds_for(baseline_work));
    }
    return {megabytes / best_brine, megabytes / best_baseline};
}

void report(const char* name, const char* baseline, const comparison& c, double target) {
    const double ratio = c.brine_mbps / c.baseline_mbps;
    std::printf("%-28s brine %9.1f MB/s   %-16s %9.1f MB/s   ratio %5.2fx   target >= %.1fx  %s\n", name,
                c.brine_mbps, baseline, c.baseline_mbps, ratio, target, ratio >= target ? "met" : "MISSED");
}

bytes random_bytes(std::size_t size, std::uint64_t seed) {
    bytes out(size);
    std::mt19937_64 rng(seed);
    for (std::size_t i = 0; i + 8 <= size; i += 8) {
        const std::uint64_t v = rng();
        std::memcpy(out.data() + i, &v, 8);
    }
    return out;
}

// float32 weights from a normal distribution: what model files mostly contain.
bytes float_weights(std::size_t size, std::uint64_t seed) {
    bytes out(size);
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    for (std::size_t i = 0; i + 4 <= size; i += 4) {
        const float v = normal(rng);
        std::memcpy(out.data() + i, &v, 4);
    }
    return out;
}

// Text with the statistics of source code and pickled metadata: words, names, numbers.
bytes text_like(std::size_t size, std::uint64_t seed) {
    static const char* words[] = {"layer", "weight", "bias", "running_mean", "running_var", "torch",
                                  "_utils", "_rebuild_tensor_v2", "collections", "OrderedDict", "conv",
                                  "features", "classifier", "num_batches_tracked", "storage", "cpu",
                                  "FloatStorage", "(", ")", ",", ".", "\n", "  ", "0", "1", "2", "3",
                                  "64", "128", "256", "512", "def", "return", "self", "import"};
    constexpr std::size_t word_count = sizeof words / sizeof words[0];
    bytes out;
    out.reserve(size);
    std::mt19937_64 rng(seed);
    std::geometric_distribution<std::size_t> pick(0.15);
    while (out.size() < size) {
        const char* w = words[std::min(pick(rng), word_count - 1)];
        out.insert(out.end(), w, w + std::strlen(w));
        if (rng() % 3 == 0) out.push_back(' ');
    }
    out.resize(size);
    return out;
}

bytes zlib_raw_deflate(const bytes& input, int level) {
    z_stream z{};
    if (deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
    bytes out(deflateBound(&z, static_cast<uLong>(input.size())));
    z.next_in = const_cast<Bytef*>(input.data());
    z.avail_in = static_cast<uInt>(input.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

void zlib_raw_inflate(const bytes& compressed, bytes& out) {
    z_stream z{};
    if (inflateInit2(&z, -15) != Z_OK) std::abort();
    z.next_in = const_cast<Bytef*>(compressed.data());
    z.avail_in = static_cast<uInt>(compressed.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    if (inflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
    sink_value = sink_value + z.total_out;
    inflateEnd(&z);
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t mib = 16;
    int reps = 7;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--size") == 0) mib = std::strtoul(argv[i + 1], nullptr, 10);
        if (std::strcmp(argv[i], "--reps") == 0) reps = std::atoi(argv[i + 1]);
    }
    const std::size_t size = mib << 20;
    const double megabytes = static_cast<double>(size) / 1e6;

    std::printf("brine %s benchmark: %zu MiB buffers, best of %d, single thread\n", BRINE_VERSION_STRING, mib, reps);
    std::printf("brine paths: sha256 %s, crc32 %s; OpenSSL %s; zlib %s\n\n",
                std::string(brine::crypto::to_string(brine::crypto::sha256().backend())).c_str(),
                std::string(brine::zip::to_string(brine::zip::crc32_stream().backend())).c_str(),
                OpenSSL_version(OPENSSL_VERSION), zlibVersion());

    const bytes data = random_bytes(size, 1);

    // SHA-256
    {
        const auto c = compare(
            megabytes, reps,
            [&] { sink_value = brine::crypto::sha256::hash(brine::byte_view(data.data(), data.size()))[0]; },
            [&] {
                unsigned char md[32];
                unsigned int len = 0;
                EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
                sink_value = md[0];
            });
        report("SHA-256", "OpenSSL", c, 0.9);
    }

    // CRC-32
    {
        const auto c = compare(
            megabytes, reps, [&] { sink_value = brine::zip::crc32(brine::byte_view(data.data(), data.size())); },
            [&] { sink_value = ::crc32(0L, data.data(), static_cast<uInt>(data.size())); });
        report("CRC-32", "zlib", c, 2.0);
    }

    // inflate, on the kinds of data zip entries in model files hold; throughput is of output.
    struct corpus {
        const char* name;
        bytes plain;
    };
    const corpus corpora[] = {
        {"inflate float32 weights", float_weights(size, 2)},
        {"inflate text", text_like(size, 3)},
        {"inflate random (stored)", random_bytes(size, 4)},
    };
    double total_brine = 0, total_baseline = 0;
    for (const corpus& item : corpora) {
        const bytes compressed = zlib_raw_deflate(item.plain, 6);
        bytes out(item.plain.size());
        const auto c = compare(
            megabytes, reps,
            [&] {
                brine::zip::inflate_options options;
                options.exact_size = out.size();
                auto r = brine::zip::inflate(brine::byte_view(compressed.data(), compressed.size()),
                                             brine::mutable_byte_view(out.data(), out.size()), options);
                if (!r) std::abort();
                sink_value = r->produced;
            },
            [&] { zlib_raw_inflate(compressed, out); });
        if (out != item.plain) {
            std::fprintf(stderr, "inflate output differs from the input for %s\n", item.name);
            return 1;
        }
        std::printf("%-28s (compressed to %.1f%%)\n", item.name,
                    100.0 * static_cast<double>(compressed.size()) / static_cast<double>(size));
        report("", "zlib", c, 0.8);
        total_brine += megabytes / c.brine_mbps;
        total_baseline += megabytes / c.baseline_mbps;
    }
    report("inflate, all kinds", "zlib",
           {3 * megabytes / total_brine, 3 * megabytes / total_baseline}, 0.8);
    return 0;
}
