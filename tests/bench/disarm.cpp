// Benchmark: disarming a real model, in the same run and on the same file, against `cp` of the
// file and against a Python torch.load(weights_only=True) + torch.save round trip; plus the time
// of `brine scan`. Each contender runs as a child process, so its wall time and peak RSS
// (getrusage of the child) are measured the same way. Targets (issue 5): disarm <= 1.5x cp,
// >= 10x faster than the torch round trip, peak RSS <= 64 MiB and flat as the model grows,
// scan <= 10 ms.
//
// usage: brine_disarm_bench --brine PATH [--model vit_b_16] [--python /usr/bin/python3] [--dir D]
// The model's state dict is written by torchvision (random init, no download) into D.
#include "child_process.hpp"

#include <cstdio>
#include <cstring>
#include <string>

namespace {

using brine_bench::measured;

void print(const char* what, const measured& m, double baseline) {
    std::printf("%-38s %8.3f s  %7.2fx cp  peak RSS %7.1f MiB  (exit %d)\n", what, m.seconds, m.seconds / baseline,
                m.peak_rss_mib(), m.exit_code);
}

}  // namespace

int main(int argc, char** argv) {
    std::string brine, model = "vit_b_16", python = "/usr/bin/python3", dir = "/tmp/brine_bench_disarm";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--brine") == 0) brine = argv[i + 1];
        if (std::strcmp(argv[i], "--model") == 0) model = argv[i + 1];
        if (std::strcmp(argv[i], "--python") == 0) python = argv[i + 1];
        if (std::strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
    }
    if (brine.empty()) {
        std::fputs("usage: brine_disarm_bench --brine PATH [--model NAME] [--python PATH] [--dir DIR]\n", stderr);
        return 2;
    }
    const std::string input = brine_bench::torchvision_state_dict(python, model, dir);
    if (input.empty()) return 2;
    const std::string out_cp = dir + "/copy.pt", out_brine = dir + "/disarmed.pt", out_torch = dir + "/torch.pt";
    const std::string roundtrip = "import sys, torch; torch.save(torch.load(sys.argv[1], weights_only=True), sys.argv[2])";

    // Best of several runs; 0 clean, 1 findings: anything else is a failure (that run is kept).
    using brine_bench::best_of;
    brine_bench::warm(input);
    const measured cp = best_of(5, {"/bin/cp", input, out_cp}, out_cp, 1);
    const measured disarm = best_of(5, {brine, "disarm", "--quiet", input, out_brine}, out_brine, 1);
    const measured scan = best_of(5, {brine, "scan", "--quiet", input}, "", 1);
    const measured torch_rt = best_of(2, {python, "-c", roundtrip, input, out_torch}, out_torch, 1);

    std::printf("disarm benchmark: %s state dict, %.1f MB (%s)\n", model.c_str(),
                static_cast<double>(brine_bench::file_size(input)) / 1e6, input.c_str());
    print("cp", cp, cp.seconds);
    print("brine disarm", disarm, cp.seconds);
    print("brine scan", scan, cp.seconds);
    print("torch.load(weights_only)+torch.save", torch_rt, cp.seconds);
    std::printf("disarm: %.2fx cp (target <= 1.5x), %.1fx faster than torch (target >= 10x), "
                "peak RSS %.1f MiB (target <= 64); scan %.1f ms (target <= 10 ms)\n",
                disarm.seconds / cp.seconds, torch_rt.seconds / disarm.seconds,
                disarm.peak_rss_mib(), scan.seconds * 1000.0);
    std::remove(out_cp.c_str());
    std::remove(out_brine.c_str());
    std::remove(out_torch.c_str());
    const auto ok = [](const measured& m) { return m.exit_code == 0 || m.exit_code == 1; };
    return ok(disarm) && ok(scan) ? 0 : 1;
}
