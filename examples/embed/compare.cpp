// SPDX-License-Identifier: MIT
//
// embed_compare EXPECTED: the test-side half of the embedding example. Reads numbers from standard
// input (brine_embed's output) and from EXPECTED (torch's, written by make_reference.py), and exits
// 0 when both hold as many numbers and each pair agrees within 1e-6 + 1e-5 * |expected|: the engine
// sums in another order than torch does, so the last bits of a float32 may differ.
#include <cmath>
#include <cstdio>
#include <vector>

namespace {

std::vector<double> read_numbers(std::FILE* in) {
    std::vector<double> numbers;
    double v = 0;
    while (std::fscanf(in, "%lf", &v) == 1) numbers.push_back(v);
    if (!std::feof(in)) numbers.clear();  // something that is not a number: fail on the count
    return numbers;
}

}  // namespace

int main(int argc, char** argv) {
    std::FILE* expected_file = argc == 2 ? std::fopen(argv[1], "r") : nullptr;
    if (expected_file == nullptr) {
        std::fprintf(stderr, "usage: embed_compare EXPECTED < ACTUAL\n");
        return 2;
    }
    const std::vector<double> expected = read_numbers(expected_file);
    std::fclose(expected_file);
    const std::vector<double> actual = read_numbers(stdin);
    if (expected.empty() || actual.size() != expected.size()) {
        std::fprintf(stderr, "embed_compare: %zu numbers, expected %zu\n", actual.size(), expected.size());
        return 1;
    }
    int wrong = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        if (std::fabs(actual[i] - expected[i]) <= 1e-6 + 1e-5 * std::fabs(expected[i])) continue;
        std::fprintf(stderr, "embed_compare: output %zu is %.9g, expected %.9g\n", i, actual[i], expected[i]);
        ++wrong;
    }
    return wrong == 0 ? 0 : 1;
}
