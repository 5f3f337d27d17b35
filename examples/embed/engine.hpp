// SPDX-License-Identifier: MIT
//
// A toy float32 inference engine in plain C++: the forward pass of an nn.Sequential made of
// Linear, ReLU, Conv2d, BatchNorm2d (eval mode), MaxPool2d and Flatten. It owns no weights: each
// layer points at its parameters where they lie in a checkpoint mapped read-only and validated by
// brine::torch::checkpoint_view, so loading a model copies nothing.
#pragma once

#include <brine/torch/view.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace toy {

// A batch of activations, row-major, shaped as torch shapes it: {N, F} or {N, C, H, W}.
struct tensor {
    std::vector<std::size_t> shape;
    std::vector<float> values;
};

enum class op { linear, relu, conv2d, batchnorm2d, maxpool2d, flatten };

// `name` is the layer's prefix in the state dict ("0" for "0.weight"); `in`/`out` are features or
// channels. `params` is filled by model::load(), in the order expected_params() lists them.
struct layer {
    layer(op k, std::string prefix = "", std::size_t i = 0, std::size_t o = 0, std::size_t kern = 0,
          std::size_t pad = 0)
        : kind(k), name(std::move(prefix)), in(i), out(o), kernel(kern), padding(pad) {}
    op kind;
    std::string name;
    std::size_t in, out, kernel, padding;
    std::vector<const float*> params;
};

inline layer linear(std::string name, std::size_t in, std::size_t out) {
    return {op::linear, std::move(name), in, out};
}
inline layer conv2d(std::string name, std::size_t in, std::size_t out, std::size_t kernel, std::size_t padding) {
    return {op::conv2d, std::move(name), in, out, kernel, padding};
}
inline layer batchnorm2d(std::string name, std::size_t channels) {
    return {op::batchnorm2d, std::move(name), channels, channels};
}
inline layer relu() { return {op::relu}; }
inline layer maxpool2d(std::size_t kernel) { return {op::maxpool2d, "", 0, 0, kernel}; }
inline layer flatten() { return {op::flatten}; }

struct param_spec {
    const char* suffix;
    std::vector<std::size_t> shape;
};

// What torch's module of the same kind keeps in its state dict and this engine reads.
// BatchNorm2d's num_batches_tracked only matters for training, so it is not read.
inline std::vector<param_spec> expected_params(const layer& l) {
    switch (l.kind) {
        case op::linear: return {{"weight", {l.out, l.in}}, {"bias", {l.out}}};
        case op::conv2d: return {{"weight", {l.out, l.in, l.kernel, l.kernel}}, {"bias", {l.out}}};
        case op::batchnorm2d:
            return {{"weight", {l.out}}, {"bias", {l.out}}, {"running_mean", {l.out}}, {"running_var", {l.out}}};
        default: return {};
    }
}

inline std::string shape_text(const std::vector<std::size_t>& shape) {
    std::string text = "[";
    for (std::size_t d = 0; d < shape.size(); ++d) text += (d ? ", " : "") + std::to_string(shape[d]);
    return text + "]";
}

// The tensor `name` as dense row-major float32 of exactly `shape`, read in place; nullptr and
// `why` otherwise. The layers index the bytes as such an array, so anything else (another dtype,
// a transposed or strided view) is refused rather than silently misread or converted.
inline const float* find_param(const brine::torch::checkpoint_view& view, const std::string& name,
                               const std::vector<std::size_t>& shape, std::string& why) {
    const brine::torch::tensor_view* t = view.find(name);
    if (t == nullptr) {
        why = name + ": not in the checkpoint";
        return nullptr;
    }
    if (t->type != brine::torch::dtype::float32) {
        why = name + ": dtype " + std::string(brine::torch::info(t->type).name) + ", expected float32";
        return nullptr;
    }
    std::vector<std::size_t> sizes;
    for (const std::int64_t s : t->sizes) sizes.push_back(static_cast<std::size_t>(s));  // the view checked s >= 0
    if (sizes != shape) {
        why = name + ": shape " + shape_text(sizes) + ", expected " + shape_text(shape);
        return nullptr;
    }
    std::int64_t stride = 1;  // row-major: each dimension steps over all the ones after it
    for (std::size_t d = sizes.size(); d-- > 0;) {
        if (sizes[d] != 1 && t->strides[d] != stride) {  // a size-1 dimension never steps
            why = name + ": not contiguous (strides not row-major)";
            return nullptr;
        }
        stride *= t->sizes[d];
    }
    // torch.save aligns every record to 64 bytes; a legacy or hand-made file need not.
    if (reinterpret_cast<std::uintptr_t>(t->data.data()) % alignof(float) != 0) {
        why = name + ": float32 data not aligned in the file";
        return nullptr;
    }
    // torch wrote little-endian IEEE floats, which is what this host reads (main.cpp insists).
    return reinterpret_cast<const float*>(t->data.data());
}

// The layers' forward passes, in float32 like torch's (though summing in another order, so the last
// bits may differ). `params` point into the mapped checkpoint, laid out as find_param() checked.

inline tensor linear_forward(const layer& l, const tensor& x) {  // y = x W^T + b, W is [out, in]
    const std::size_t n = x.shape[0];
    const float *weight = l.params[0], *bias = l.params[1];
    tensor y{{n, l.out}, std::vector<float>(n * l.out)};
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t o = 0; o < l.out; ++o) {
            float sum = bias[o];
            for (std::size_t k = 0; k < l.in; ++k) sum += weight[o * l.in + k] * x.values[i * l.in + k];
            y.values[i * l.out + o] = sum;
        }
    return y;
}

inline tensor conv2d_forward(const layer& l, const tensor& x) {  // stride 1, zero padding, weight [out, in, k, k]
    const std::size_t n = x.shape[0], h = x.shape[2], w = x.shape[3], k = l.kernel, pad = l.padding;
    const std::size_t oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1;
    const float *weight = l.params[0], *bias = l.params[1];
    tensor y{{n, l.out, oh, ow}, std::vector<float>(n * l.out * oh * ow)};
    float* out = y.values.data();
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t o = 0; o < l.out; ++o)
            for (std::size_t r = 0; r < oh; ++r)
                for (std::size_t c = 0; c < ow; ++c, ++out) {
                    float sum = bias[o];
                    for (std::size_t ci = 0; ci < l.in; ++ci) {
                        const float* plane = &x.values[(i * l.in + ci) * h * w];
                        const float* taps = &weight[(o * l.in + ci) * k * k];
                        // (r + dr, c + dc) is in padded coordinates: taps on the padding add zero.
                        for (std::size_t dr = 0; dr < k; ++dr)
                            for (std::size_t dc = 0; dc < k; ++dc)
                                if (r + dr >= pad && c + dc >= pad && r + dr - pad < h && c + dc - pad < w)
                                    sum += taps[dr * k + dc] * plane[(r + dr - pad) * w + (c + dc - pad)];
                    }
                    *out = sum;
                }
    return y;
}

// Eval mode: normalised with the running statistics and torch's default eps (which the state dict
// does not hold), then scaled and shifted; in place.
inline void batchnorm2d_forward(const layer& l, tensor& x) {
    const float *gamma = l.params[0], *beta = l.params[1], *mean = l.params[2], *var = l.params[3];
    const std::size_t area = x.shape[2] * x.shape[3];
    for (std::size_t i = 0; i < x.shape[0]; ++i)
        for (std::size_t c = 0; c < l.out; ++c) {
            const float scale = gamma[c] / std::sqrt(var[c] + 1e-5f), shift = beta[c] - mean[c] * scale;
            float* v = &x.values[(i * l.out + c) * area];
            for (std::size_t j = 0; j < area; ++j) v[j] = v[j] * scale + shift;
        }
}

inline tensor maxpool2d_forward(const layer& l, const tensor& x) {  // stride = kernel; leftover rows dropped
    const std::size_t n = x.shape[0], ch = x.shape[1], h = x.shape[2], w = x.shape[3], k = l.kernel;
    const std::size_t oh = h / k, ow = w / k;
    tensor y{{n, ch, oh, ow}, std::vector<float>(n * ch * oh * ow)};
    float* out = y.values.data();
    for (std::size_t plane = 0; plane < n * ch; ++plane)
        for (std::size_t r = 0; r < oh; ++r)
            for (std::size_t c = 0; c < ow; ++c, ++out) {
                const float* window = &x.values[(plane * h + r * k) * w + c * k];
                *out = window[0];
                for (std::size_t dr = 0; dr < k; ++dr)
                    for (std::size_t dc = 0; dc < k; ++dc) *out = std::max(*out, window[dr * w + dc]);
            }
    return y;
}

class model {
public:
    explicit model(std::vector<layer> layers) : layers_(std::move(layers)) {}

    // Points every layer at its parameters in `view`, which (with the file it maps) must outlive
    // the model. On failure `why` names the first parameter that is missing or unusable.
    bool load(const brine::torch::checkpoint_view& view, std::string& why) {
        for (layer& l : layers_) {
            l.params.clear();
            for (const param_spec& p : expected_params(l)) {
                const float* data = find_param(view, l.name + "." + p.suffix, p.shape, why);
                if (data == nullptr) return false;
                l.params.push_back(data);
            }
        }
        return true;
    }

    // Runs the layers in order on `x`; an empty tensor if some layer does not fit what it is given
    // (a layer list that does not chain, or an input of the wrong shape).
    [[nodiscard]] tensor forward(tensor x) const {
        for (const layer& l : layers_) {
            if (!fits(l, x)) return {};
            x = apply(l, std::move(x));
        }
        return x;
    }

private:
    // Whether `x` has the shape `l` reads: a layer list that does not chain, or an input of the
    // wrong shape, would otherwise index outside the activations.
    static bool fits(const layer& l, const tensor& x) {
        if (x.shape.empty() || x.shape[0] == 0) return false;
        const bool image = x.shape.size() == 4;
        switch (l.kind) {
            case op::linear: return x.shape.size() == 2 && x.shape[1] == l.in;
            case op::conv2d:
                return image && x.shape[1] == l.in && std::min(x.shape[2], x.shape[3]) + 2 * l.padding >= l.kernel;
            case op::batchnorm2d: return image && x.shape[1] == l.in;
            case op::maxpool2d: return image && l.kernel > 0;
            default: return true;
        }
    }

    static tensor apply(const layer& l, tensor x) {
        switch (l.kind) {
            case op::linear: return linear_forward(l, x);
            case op::conv2d: return conv2d_forward(l, x);
            case op::maxpool2d: return maxpool2d_forward(l, x);
            case op::batchnorm2d: batchnorm2d_forward(l, x); return x;
            case op::relu:
                for (float& v : x.values) v = v > 0.0f ? v : 0.0f;
                return x;
            case op::flatten:  // NCHW already holds each sample in C, H, W order: only the shape changes
                return {{x.shape[0], x.values.size() / x.shape[0]}, std::move(x.values)};
        }
        return x;
    }

    std::vector<layer> layers_;
};

}  // namespace toy
