// SPDX-License-Identifier: MIT
//
// brine_embed: how an inference engine loads PyTorch weights through brine. The checkpoint is
// mapped, brine validates it whole (a file its policy does not accept in full is refused: nothing
// in it is ever executed, and no weight is read from it), and the engine then reads its weights
// straight from the mapping.
//
//     brine_embed mlp|cnn MODEL.pt INPUT.bin
//
// INPUT.bin holds a batch of float32 samples, little-endian, row-major (16 values per MLP sample,
// 3x8x8 per CNN sample); the outputs are printed one per line. Exit 0 on success, 1 when the
// checkpoint, its weights or the input are refused, 2 for a usage error.
#include "engine.hpp"

#include <brine/core/file.hpp>
#include <brine/torch/view.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

// The weights and the input are used as they lie in the files: little-endian float32.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "brine_embed reads little-endian float32 in place: build it for a little-endian target"
#endif

namespace {

// The architectures of examples/embed/make_reference.py; the names are the nn.Sequential indices
// that prefix each parameter in the state dict.
toy::model make_model(const std::string& arch, std::vector<std::size_t>& sample_shape) {
    if (arch == "mlp") {
        sample_shape = {16};
        return toy::model({toy::linear("0", 16, 32), toy::relu(), toy::linear("2", 32, 32), toy::relu(),
                           toy::linear("4", 32, 4)});
    }
    sample_shape = {3, 8, 8};
    return toy::model({toy::conv2d("0", 3, 8, 3, 1), toy::batchnorm2d("1", 8), toy::relu(), toy::maxpool2d(2),
                       toy::conv2d("4", 8, 16, 3, 1), toy::batchnorm2d("5", 16), toy::relu(), toy::flatten(),
                       toy::linear("8", 256, 10)});
}

// A whole batch of samples of `sample_shape`; false if the file is not a whole number of them.
bool read_input(const char* path, const std::vector<std::size_t>& sample_shape, toy::tensor& batch) {
    std::size_t per_sample = 1;
    for (const std::size_t d : sample_shape) per_sample *= d;
    auto file = brine::mapped_file::open(path);
    if (!file || file->size() == 0 || file->size() % (per_sample * sizeof(float)) != 0) return false;
    batch.values.resize(static_cast<std::size_t>(file->size()) / sizeof(float));
    std::memcpy(batch.values.data(), file->bytes().data(), static_cast<std::size_t>(file->size()));
    batch.shape = sample_shape;
    batch.shape.insert(batch.shape.begin(), batch.values.size() / per_sample);
    return true;
}

int refuse(const char* path, const std::string& why) {
    std::fprintf(stderr, "brine_embed: %s: refused: %s\n", path, why.c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string arch = argc == 4 ? argv[1] : "";
    if (arch != "mlp" && arch != "cnn") {
        std::fprintf(stderr, "usage: brine_embed mlp|cnn MODEL.pt INPUT.bin\n");
        return 2;
    }
    const char* model_path = argv[2];
    const char* input_path = argv[3];

    // The mapping must outlive the view, and the view the model: the weights are read in place.
    auto file = brine::mapped_file::open(model_path);
    if (!file) return refuse(model_path, "cannot be opened and mapped");
    auto view = brine::torch::checkpoint_view::open(file->bytes());
    if (!view) {
        const brine::error& e = view.err();
        std::string why = std::string(brine::to_string(e.code)) + " at offset " + std::to_string(e.offset);
        if (!e.entry.empty()) why += " in " + std::string(e.entry.view());
        return refuse(model_path, why + ": expected " + e.detail);
    }

    std::vector<std::size_t> sample_shape;
    toy::model model = make_model(arch, sample_shape);
    std::string why;
    if (!model.load(*view, why)) return refuse(model_path, why);

    toy::tensor batch;
    if (!read_input(input_path, sample_shape, batch))
        return refuse(input_path, "not a batch of " + toy::shape_text(sample_shape) + " float32 samples");
    const toy::tensor output = model.forward(std::move(batch));
    if (output.values.empty()) return refuse(input_path, "does not fit the model");
    for (const float v : output.values) std::printf("%.9g\n", static_cast<double>(v));
    return 0;
}
