// SPDX-License-Identifier: MIT
//
// Layer plans for the `permute_neurons` strategy (mtd/strategies/neurons.hpp): which tensor axes hold the same
// hidden units, so that permuting all of them with one permutation leaves the function the model
// computes unchanged. For an MLP fc1 -> relu -> fc2, the rows of fc1.weight, the entries of
// fc1.bias and the columns of fc2.weight are one hidden axis; for a conv net, a convolution's
// output channels (weight dim 0, bias, the following BatchNorm's four vectors) and the next
// convolution's input channels (dim 1). After a Conv -> Flatten -> Linear, every channel owns a
// run of H*W consecutive Linear columns: the Linear's dim 1 moves in blocks of H*W.
//
// Plan text (stored in sealed files' manifests; this format is stable):
//
//   - UTF-8 text of at most 1 MiB, split into lines at '\n'. Spaces, tabs and carriage returns
//     are blanks. A line of blanks only is ignored, and so is a line whose first non-blank byte
//     is '#' (a comment).
//   - Every other line is one hidden axis: members separated by blanks, each one of
//         NAME:AXIS          (block 1)
//         NAME:AXIS:BLOCK
//     NAME is the tensor's dotted name in the checkpoint ("features.0.weight"). AXIS and BLOCK
//     are decimal numbers without sign or leading zeros (AXIS < 2^32, 1 <= BLOCK < 2^64).
//   - Names may themselves contain ':', so a member is read from the right: the text after its
//     last ':' is a number F1. If what precedes that ':' again contains a ':' followed only by
//     digits (F2) up to it, the member is NAME:F2:F1 (AXIS = F2, BLOCK = F1); otherwise it is
//     NAME:F1 with block 1. format_plan therefore writes ":BLOCK" when BLOCK != 1 and also
//     whenever NAME itself ends in ':' and digits, so that parse_plan(format_plan(p)) == p.
//   - NAME is 1 to 1024 bytes, holds no whitespace (Unicode White_Space) and no control
//     character (C0, DEL, C1), and does not start with '#'.
//   - At most 100000 hidden axes.
//
//   format_plan writes one line per hidden axis ('\n' after each), its members in order,
//   separated by one space; no comments. The `units` of an axis are not written: check_plan
//   computes them from the checkpoint.
//
// infer_plan derives the plan of a plain chain, and only of this kind of checkpoint: a state dict
// whose every tensor is named [PREFIX.]INDEX.PARAM with one PREFIX (possibly empty), INDEX a
// decimal module index increasing in order of appearance, PARAM one of weight, bias,
// running_mean, running_var, num_batches_tracked: the state dict of an nn.Sequential of leaf
// modules, which run one after the other. A module with a weight of 2+ dimensions is a "layer";
// a module of 1-D vectors (and a 0-D num_batches_tracked) after a layer, of its first size, is a
// "normalization" of that layer. Between two consecutive layers L and N the plan has one hidden
// axis {L.weight:0, L.bias:0, the vectors of L's normalizations:0, N.weight:1[:block]}.
//
// Why the function is unchanged. Permuting the units of that axis with P gives L the outputs
// y' = P y (rows of weight and bias move together); a module acting unit by unit commutes with
// P; N, whose input columns moved with the same P, computes W P^T P y = W y. That holds exactly
// when (1) dim 0 of L.weight and L.bias index L's outputs, (2) what runs between L and N acts
// unit by unit, and (3) dim 1 of N.weight indexes N's inputs, in blocks of `block` consecutive
// inputs per unit. The state dict alone shows names and shapes, not module types; what it cannot
// show (modules without parameters) is assumed, the rest must be proven by shapes:
//
//   Assumed (invisible in a state dict): modules without parameters between layers act element by
//   element or channel by channel (activations, dropout, pooling) or are one nn.Flatten
//   (start_dim 1) from a convolution to a Linear; ChannelShuffle, PixelShuffle, reshapes or a
//   Linear applied to a convolution's last dimension would be misread. A Linear's outputs that a
//   BatchNorm1d reads are [batch, features] (on [batch, L, features] with L == features it would
//   normalize L). No ConvTranspose with groups > 1 is the first layer (a depthwise
//   ConvTranspose(C, C, groups=C) has the weight [C, 1, k...] and bias [C] of a Conv(1, C)).
//
//   Proven (refused with errc::mtd_unsupported, asking for --permute neurons=PLAN, otherwise):
//   A. Layers with a bias and 2-D weights are Linear [out, in]: no other module of a Sequential
//      has a 2-D weight with a bias of weight.size(0) (a two-dimensional LayerNorm's bias is 2-D).
//      Conditions (1) and (3) hold for a Linear.
//   B. A 2-D weight without a bias is a Linear [out, in] unless square. It could be an Embedding
//      [num, dim] (the first module: its outputs are dim 1) or a bias-free LayerNorm/RMSNorm over
//      two dimensions [d1, d2] (d2 = the units before it). Read as a Linear, the chain checks
//      need dim 0 to be the next layer's inputs, whose true count is dim 1 for both: only a
//      square weight passes them, and is refused. After a convolution of C channels, the
//      LayerNorm over (C, length) has weight [C, length]: refused when dim 0 is C.
//   C. A weight of 3+ dimensions is a convolution [out, in, k...] or a ConvTranspose [in, out,
//      k...] (groups 1). Refused: a square one (out == in: both readings fit); one after a
//      layer of another rank (after a Linear, the channels are not the Linear's outputs; convs
//      of different ranks need a reshape); a first one with neither a bias nor a normalization.
//      Proof by induction along the chain: the first layer has a bias or a normalization of
//      size dim 0 while a ConvTranspose's would have size dim 1 != dim 0, so it is a convolution;
//      a later one takes dim 1 inputs from the (proven) layer before, while a ConvTranspose
//      would take dim 0 != dim 1. Its successor reads its channels at dim 1 (a convolution of
//      the same rank, by induction) or, flattened channel-major, in blocks of H*W at dim 1 (a
//      Linear whose inputs are a whole multiple of the channels).
//   D. A normalization between two layers must have running_mean and running_var: a BatchNorm
//      (or InstanceNorm with running statistics), which normalizes dim 1 channel by channel.
//      Weight and bias alone could be a GroupNorm, which mixes the channels of a group, or,
//      after a convolution, a LayerNorm over its last dimension. After the last layer anything
//      goes: its outputs are the model's and never move.
//   E. Grouped convolutions ([out, in / groups, k...]) never pass the chain checks (dim 1 must
//      equal the outputs before); shapes that fit no chain are refused (errc::invalid_argument).
// Any other architecture needs a plan file written by its user.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/checked_arithmetic.hpp>
#include <brine/core/error.hpp>
#include <brine/core/result.hpp>
#include <brine/core/utf8.hpp>
#include <brine/torch/checkpoint.hpp>
#include <brine/torch/dtype.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace mtd {

// One tensor axis of a hidden axis: unit u is the indices [u * block, (u + 1) * block) of `axis`.
struct axis_member {
    std::string tensor;
    unsigned axis = 0;
    std::uint64_t block = 1;
};

// Tensor axes that hold the same hidden units: one permutation of `units` is applied to all.
struct hidden_axis {
    std::vector<axis_member> members;
    std::uint64_t units = 0;  // filled by check_plan
};

struct neuron_plan {
    std::vector<hidden_axis> axes;
};

// Equality compares `units` too: parse_plan leaves them 0, check_plan fills them.
[[nodiscard]] inline bool operator==(const axis_member& a, const axis_member& b) noexcept {
    return a.tensor == b.tensor && a.axis == b.axis && a.block == b.block;
}
[[nodiscard]] inline bool operator!=(const axis_member& a, const axis_member& b) noexcept { return !(a == b); }
[[nodiscard]] inline bool operator==(const hidden_axis& a, const hidden_axis& b) noexcept {
    return a.units == b.units && a.members == b.members;
}
[[nodiscard]] inline bool operator!=(const hidden_axis& a, const hidden_axis& b) noexcept { return !(a == b); }
[[nodiscard]] inline bool operator==(const neuron_plan& a, const neuron_plan& b) noexcept { return a.axes == b.axes; }
[[nodiscard]] inline bool operator!=(const neuron_plan& a, const neuron_plan& b) noexcept { return !(a == b); }

// The limits of a plan (text and checked plans alike).
inline constexpr std::size_t max_plan_text = std::size_t(1) << 20;
inline constexpr std::size_t max_plan_axes = 100000;
inline constexpr std::size_t max_plan_name = 1024;

namespace detail {

[[nodiscard]] constexpr bool plan_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r'; }

[[nodiscard]] constexpr bool all_digits(std::string_view text) noexcept {
    if (text.empty()) return false;
    for (const char c : text)
        if (c < '0' || c > '9') return false;
    return true;
}

// True for the code points a tensor name may not hold: controls (C0, DEL, C1) and Unicode
// White_Space.
[[nodiscard]] constexpr bool forbidden_in_name(std::uint32_t cp) noexcept {
    if (cp <= 0x20 || (cp >= 0x7f && cp <= 0xa0)) return true;  // C0, space, DEL, C1, NBSP
    return cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
           cp == 0x205f || cp == 0x3000;
}

// The index of the first byte of `name` that makes it unusable as a plan name, or name.size()
// when it is fine. Length is checked separately.
[[nodiscard]] inline std::size_t first_bad_name_byte(std::string_view name) noexcept {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(name.data());
    const std::size_t invalid = brine::detail::first_invalid_utf8(bytes, name.size());
    if (!name.empty() && name[0] == '#') return 0;
    std::size_t i = 0;
    while (i < invalid) {
        const std::uint8_t lead = bytes[i];
        std::uint32_t cp = lead;
        std::size_t length = 1;
        if (lead >= 0xf0) {
            cp = lead & 0x07u;
            length = 4;
        } else if (lead >= 0xe0) {
            cp = lead & 0x0fu;
            length = 3;
        } else if (lead >= 0xc0) {
            cp = lead & 0x1fu;
            length = 2;
        }
        for (std::size_t k = 1; k < length; ++k) cp = (cp << 6) | (bytes[i + k] & 0x3fu);
        if (forbidden_in_name(cp)) return i;
        i += length;
    }
    return invalid;
}

// "...:digits" at the end: such a name needs its block written out (see the format above).
[[nodiscard]] inline bool ends_in_colon_number(std::string_view name) noexcept {
    const std::size_t colon = name.rfind(':');
    return colon != std::string_view::npos && all_digits(name.substr(colon + 1));
}

// A decimal number without leading zeros, at most `max`.
[[nodiscard]] inline bool plan_number(std::string_view text, std::uint64_t max, std::uint64_t& out) noexcept {
    if (!all_digits(text) || (text.size() > 1 && text[0] == '0')) return false;
    std::uint64_t value = 0;
    for (const char c : text) {
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (max - digit) / 10) return false;
        value = value * 10 + digit;
    }
    out = value;
    return true;
}

// A tensor name as check_plan and infer_plan accept it; `at` and `entry` locate the error.
[[nodiscard]] inline status check_plan_name(std::string_view name, std::uint64_t at) noexcept {
    if (name.empty()) return error{errc::invalid_argument, at, "a tensor name (not empty)"};
    if (name.size() > max_plan_name)
        return error{errc::limit_exceeded, at, "a tensor name of at most 1024 bytes", name};
    if (first_bad_name_byte(name) != name.size())
        return error{errc::invalid_argument, at,
                     "a tensor name of UTF-8 text without whitespace or control characters, not starting with '#'",
                     name};
    return {};
}

// One member token text[start, end).
[[nodiscard]] inline status parse_member(std::string_view text, std::size_t start, std::size_t end,
                                         axis_member& out) {
    const std::string_view token = text.substr(start, end - start);
    const std::size_t last = token.rfind(':');
    if (last == std::string_view::npos)
        return error{errc::invalid_argument, start, "a member NAME:AXIS or NAME:AXIS:BLOCK (no ':' found)"};
    const std::string_view f1 = token.substr(last + 1);
    if (!all_digits(f1))
        return error{errc::invalid_argument, start + last + 1, "a decimal axis or block after the last ':'"};
    std::string_view name = token.substr(0, last);
    std::string_view axis_text = f1;
    std::string_view block_text;
    std::size_t axis_at = start + last + 1;
    std::size_t block_at = 0;
    const std::size_t second = name.rfind(':');
    if (second != std::string_view::npos && all_digits(name.substr(second + 1))) {
        axis_text = name.substr(second + 1);
        block_text = f1;
        block_at = axis_at;
        axis_at = start + second + 1;
        name = name.substr(0, second);
    }
    if (name.empty()) return error{errc::invalid_argument, start, "a tensor name before ':AXIS' (empty member)"};
    if (name.size() > max_plan_name)
        return error{errc::limit_exceeded, start, "a tensor name of at most 1024 bytes"};
    const std::size_t bad = first_bad_name_byte(name);
    if (bad != name.size())
        return error{errc::invalid_argument, start + bad,
                     "a tensor name without whitespace or control characters, not starting with '#'"};
    std::uint64_t axis = 0;
    if (!plan_number(axis_text, UINT32_MAX, axis))
        return error{errc::invalid_argument, axis_at, "an axis: a decimal number below 2^32 without leading zeros"};
    std::uint64_t block = 1;
    if (!block_text.empty() && (!plan_number(block_text, UINT64_MAX, block) || block == 0))
        return error{errc::invalid_argument, block_at,
                     "a block: a decimal number from 1 to 2^64 - 1 without leading zeros"};
    out.tensor.assign(name.data(), name.size());
    out.axis = static_cast<unsigned>(axis);
    out.block = block;
    return {};
}

}  // namespace detail

// The plan as text (see the format above): parse_plan reads it back equal but for `units`
// (check_plan fills them again). Only names parse_plan, check_plan or infer_plan accept can be
// written; check a plan built by hand before writing it.
[[nodiscard]] inline std::string format_plan(const neuron_plan& plan) {
    std::string out;
    for (const hidden_axis& axis : plan.axes) {
        for (std::size_t i = 0; i < axis.members.size(); ++i) {
            const axis_member& m = axis.members[i];
            if (i != 0) out += ' ';
            out += m.tensor;
            out += ':';
            out += std::to_string(m.axis);
            if (m.block != 1 || detail::ends_in_colon_number(m.tensor)) {
                out += ':';
                out += std::to_string(m.block);
            }
        }
        out += '\n';
    }
    return out;
}

// Reads plan text (see the format above). Errors give the byte offset of the offending token
// (or byte); `units` are left 0 for check_plan to fill.
[[nodiscard]] inline result<neuron_plan> parse_plan(std::string_view text) {
    if (text.size() > max_plan_text) return error{errc::limit_exceeded, max_plan_text, "a plan of at most 1 MiB"};
    const std::size_t invalid =
        brine::detail::first_invalid_utf8(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
    if (invalid != text.size()) return error{errc::invalid_argument, invalid, "a plan of UTF-8 text"};
    neuron_plan plan;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t line_end = text.find('\n', pos);
        if (line_end == std::string_view::npos) line_end = text.size();
        std::size_t i = pos;
        while (i < line_end && detail::plan_blank(text[i])) ++i;
        if (i < line_end && text[i] != '#') {
            if (plan.axes.size() == max_plan_axes)
                return error{errc::limit_exceeded, pos, "a plan of at most 100000 hidden axes"};
            hidden_axis axis;
            while (i < line_end) {
                const std::size_t start = i;
                while (i < line_end && !detail::plan_blank(text[i])) ++i;
                axis_member member;
                BRINE_TRY(detail::parse_member(text, start, i, member));
                axis.members.push_back(std::move(member));
                while (i < line_end && detail::plan_blank(text[i])) ++i;
            }
            plan.axes.push_back(std::move(axis));
        }
        pos = line_end + 1;
    }
    return plan;
}

// Validates `plan` against the checkpoint it will permute and fills each axis's `units`. Errors
// name the tensor in error.entry; their offset is that of the opcode that made the tensor in the
// checkpoint's pickle (0 for a name the checkpoint lacks). Refused:
//   - an empty plan, more than 100000 axes, a hidden axis of fewer than two members (a unit
//     moved in one tensor only changes what the model computes);
//   - a name the checkpoint lacks, or holds twice;
//   - a tensor that is not strided (quantized, sparse, meta) or of a sub-byte or quantized dtype;
//   - a tensor that is empty, not contiguous row-major, not starting at its storage's first
//     element, not covering its whole storage, or sharing its storage with another tensor
//     (shared bytes would be permuted twice);
//   - an axis beyond the tensor's dimensions, a size along the axis not divisible by the block,
//     members of one hidden axis with different numbers of units (size / block), more than
//     2^32 - 1 units;
//   - a (tensor, axis) pair in more than one place.
[[nodiscard]] inline status check_plan(neuron_plan& plan, const torch::checkpoint& found) {
    if (plan.axes.empty()) return error{errc::invalid_argument, 0, "a plan with at least one hidden axis"};
    if (plan.axes.size() > max_plan_axes)
        return error{errc::limit_exceeded, 0, "a plan of at most 100000 hidden axes"};
    constexpr std::uint32_t twice = UINT32_MAX;
    std::unordered_map<std::string_view, std::uint32_t> by_name;
    by_name.reserve(found.tensors.size());
    for (std::size_t i = 0; i < found.tensors.size(); ++i) {
        const auto [it, inserted] = by_name.emplace(found.tensors[i].name, static_cast<std::uint32_t>(i));
        if (!inserted) it->second = twice;
    }
    std::vector<std::uint32_t> users(found.storages.size(), 0);
    for (const torch::tensor_ref& t : found.tensors)
        if ((t.kind == torch::layout::strided || t.kind == torch::layout::quantized) && t.storage < users.size())
            ++users[t.storage];

    std::set<std::pair<std::string_view, unsigned>> seen;
    std::vector<std::uint64_t> units(plan.axes.size(), 0);
    for (std::size_t a = 0; a < plan.axes.size(); ++a) {
        const hidden_axis& axis = plan.axes[a];
        if (axis.members.size() < 2)
            return error{errc::invalid_argument, 0,
                         "a hidden axis of at least two members (units moved in one tensor change the function)",
                         axis.members.empty() ? std::string_view() : std::string_view(axis.members[0].tensor)};
        for (const axis_member& m : axis.members) {
            const std::string_view name = m.tensor;
            BRINE_TRY(detail::check_plan_name(name, 0));
            const auto it = by_name.find(name);
            if (it == by_name.end())
                return error{errc::invalid_argument, 0, "a tensor of the checkpoint (no tensor has this name)", name};
            if (it->second == twice)
                return error{errc::invalid_argument, 0, "a tensor name the checkpoint holds once", name};
            const torch::tensor_ref& t = found.tensors[it->second];
            const std::uint64_t at = t.offset;
            const torch::dtype_info& type = torch::info(t.type);
            if (t.kind != torch::layout::strided || type.quantized || type.per_byte != 1 || t.storage >= found.storages.size())
                return error{errc::invalid_argument, at,
                             "a strided tensor of a plain dtype (quantized, sparse and meta tensors are not permuted)",
                             name};
            if (m.axis >= t.sizes.size())
                return error{errc::invalid_argument, at, "an axis below the tensor's number of dimensions", name};
            if (t.strides.size() != t.sizes.size())
                return error{errc::invalid_argument, at, "as many strides as sizes", name};
            std::uint64_t expected = 1;  // the row-major stride of the current dimension
            for (std::size_t d = t.sizes.size(); d-- > 0;) {
                if (t.sizes[d] <= 0) return error{errc::invalid_argument, at, "a non-empty tensor", name};
                if (t.sizes[d] != 1 && static_cast<std::uint64_t>(t.strides[d]) != expected)
                    return error{errc::invalid_argument, at, "a contiguous row-major tensor", name};
                if (!mul_fits(expected, static_cast<std::uint64_t>(t.sizes[d]), expected))
                    return error{errc::torch_overflow, at, "a tensor whose element count fits in 64 bits", name};
            }
            if (t.storage_offset != 0)
                return error{errc::invalid_argument, at, "a tensor starting at its storage's first element", name};
            if (t.extent != found.storages[t.storage].numel)
                return error{errc::invalid_argument, at, "a tensor covering its whole storage", name};
            if (users[t.storage] > 1)
                return error{errc::invalid_argument, at,
                             "a tensor with a storage of its own (a shared storage would be permuted twice)", name};
            const auto size = static_cast<std::uint64_t>(t.sizes[m.axis]);
            if (m.block == 0 || size % m.block != 0)
                return error{errc::invalid_argument, at, "a size along the axis divisible by the block", name};
            const std::uint64_t count = size / m.block;
            if (count > UINT32_MAX)
                return error{errc::limit_exceeded, at, "at most 2^32 - 1 units in a hidden axis", name};
            if (units[a] == 0) units[a] = count;
            else if (units[a] != count)
                return error{errc::invalid_argument, at,
                             "the same number of units (size / block) in every member of a hidden axis", name};
            if (!seen.emplace(name, m.axis).second)
                return error{errc::invalid_argument, at, "each (tensor, axis) in at most one place of the plan", name};
        }
    }
    for (std::size_t a = 0; a < plan.axes.size(); ++a) plan.axes[a].units = units[a];
    return {};
}

namespace detail {

enum class sequential_param : std::uint8_t { weight, bias, running_mean, running_var, num_batches_tracked, count };

[[nodiscard]] inline bool sequential_param_of(std::string_view text, sequential_param& out) noexcept {
    static constexpr std::string_view names[] = {"weight", "bias", "running_mean", "running_var",
                                                 "num_batches_tracked"};
    for (std::size_t i = 0; i < 5; ++i) {
        if (text == names[i]) {
            out = static_cast<sequential_param>(i);
            return true;
        }
    }
    return false;
}

struct sequential_module {
    std::uint64_t index = 0;
    static constexpr std::uint32_t none = UINT32_MAX;
    std::uint32_t params[static_cast<std::size_t>(sequential_param::count)] = {none, none, none, none, none};

    [[nodiscard]] std::uint32_t operator[](sequential_param p) const noexcept {
        return params[static_cast<std::size_t>(p)];
    }
};

struct chain_layer {
    std::uint32_t weight = 0;
    std::uint32_t bias = sequential_module::none;
    std::vector<std::uint32_t> followers;  // normalization vectors after it (moving with its outputs)
    // The first tensor of a 1-D module after it that is not proven channel-wise (no running
    // statistics): refused unless the layer is the last one (its outputs never move).
    std::uint32_t unproven = sequential_module::none;
};

}  // namespace detail

// The plan of a plain chain (see the assumptions at the top of this file), checked: every pair
// of consecutive layers gives one hidden axis {layer.weight:0, layer.bias:0, the vectors of the
// normalizations between them:0, next.weight:1}, or next.weight:1:s after a convolution whose
// C channels a Linear reads flattened as C * s features. The last layer's outputs are the
// model's: never permuted. Anything not certain to be such a chain is refused, naming a tensor:
// errc::invalid_argument when it is no chain at all (names, shapes), errc::mtd_unsupported when
// it may be one whose layers the state dict cannot tell apart (rules A to E above).
[[nodiscard]] inline result<neuron_plan> infer_plan(const torch::checkpoint& found) {
    using detail::sequential_module;
    using detail::sequential_param;
    const auto& tensors = found.tensors;
    const auto refuse = [&](std::uint32_t i, const char* what) -> error {
        return error{errc::invalid_argument, tensors[i].offset, what, tensors[i].name};
    };

    // Names: [PREFIX.]INDEX.PARAM, one PREFIX, modules in increasing INDEX order.
    std::vector<sequential_module> modules;
    std::string_view prefix;
    bool has_prefix = false;
    for (std::size_t k = 0; k < tensors.size(); ++k) {
        const auto i = static_cast<std::uint32_t>(k);
        const std::string_view name = tensors[i].name;
        const char* const not_sequential =
            "a state dict of an nn.Sequential of leaf modules: [PREFIX.]INDEX.PARAM names, PARAM one of weight, "
            "bias, running_mean, running_var, num_batches_tracked (write a plan file)";
        const std::size_t dot = name.rfind('.');
        sequential_param param{};
        if (dot == std::string_view::npos || !detail::sequential_param_of(name.substr(dot + 1), param))
            return refuse(i, not_sequential);
        const std::string_view rest = name.substr(0, dot);
        const std::size_t before = rest.rfind('.');
        const std::string_view index_text = before == std::string_view::npos ? rest : rest.substr(before + 1);
        const bool own_has_prefix = before != std::string_view::npos;
        const std::string_view own_prefix = own_has_prefix ? rest.substr(0, before) : std::string_view();
        std::uint64_t index = 0;
        if (!detail::plan_number(index_text, UINT32_MAX, index)) return refuse(i, not_sequential);
        if (k == 0) {
            prefix = own_prefix;
            has_prefix = own_has_prefix;
        } else if (own_prefix != prefix || own_has_prefix != has_prefix) {
            return refuse(i, "one module prefix for every tensor (a nested model: write a plan file)");
        }
        if (modules.empty() || modules.back().index != index) {
            if (!modules.empty() && index < modules.back().index)
                return refuse(i, "module indices increasing in order of appearance, each module's tensors together");
            modules.emplace_back();
            modules.back().index = index;
        }
        std::uint32_t& slot = modules.back().params[static_cast<std::size_t>(param)];
        if (slot != sequential_module::none) return refuse(i, "each parameter of a module once");
        slot = i;
    }

    // Layers (weights of 2+ dimensions) and the channel-wise normalizations after them.
    std::vector<detail::chain_layer> layers;
    for (const sequential_module& m : modules) {
        const std::uint32_t weight = m[sequential_param::weight];
        if (weight != sequential_module::none && tensors[weight].sizes.size() >= 2) {
            const std::int64_t out = tensors[weight].sizes[0];
            for (const sequential_param p : {sequential_param::running_mean, sequential_param::running_var,
                                             sequential_param::num_batches_tracked})
                if (m[p] != sequential_module::none)
                    return refuse(m[p], "no running statistics in a layer (a module with a weight of 2+ dimensions)");
            const std::uint32_t bias = m[sequential_param::bias];
            if (bias != sequential_module::none && (tensors[bias].sizes.size() != 1 || tensors[bias].sizes[0] != out))
                return refuse(bias, "a layer bias of one entry per output (weight [out, in, ...])");
            detail::chain_layer layer;
            layer.weight = weight;
            layer.bias = bias;
            layers.push_back(std::move(layer));
            continue;
        }
        // A normalization: 1-D vectors, a 0-D num_batches_tracked, after a layer, of its size.
        std::uint32_t first = sequential_module::none;
        for (const std::uint32_t t : m.params)
            if (t != sequential_module::none && (first == sequential_module::none || t < first)) first = t;
        if (layers.empty()) return refuse(first, "a normalization after a layer (nothing before it to follow)");
        const torch::tensor_ref& previous = tensors[layers.back().weight];
        const std::int64_t out = previous.sizes[0];
        const std::uint32_t counter = m[sequential_param::num_batches_tracked];
        if (counter != sequential_module::none && !tensors[counter].sizes.empty())
            return refuse(counter, "a 0-D num_batches_tracked");
        for (const sequential_param p : {sequential_param::weight, sequential_param::bias,
                                         sequential_param::running_mean, sequential_param::running_var}) {
            const std::uint32_t t = m[p];
            if (t == sequential_module::none) continue;
            if (tensors[t].sizes.size() != 1 || tensors[t].sizes[0] != out)
                return refuse(t, "normalization vectors of one entry per output of the layer before");
            layers.back().followers.push_back(t);
        }
        const bool stats = m[sequential_param::running_mean] != sequential_module::none &&
                           m[sequential_param::running_var] != sequential_module::none;
        if (!stats && layers.back().unproven == sequential_module::none) layers.back().unproven = first;
    }
    if (layers.size() < 2) {
        if (layers.empty()) return error{errc::invalid_argument, 0, "at least two layers (nothing to permute)"};
        return refuse(layers[0].weight, "at least two layers (nothing to permute)");
    }

    neuron_plan plan;
    for (std::size_t k = 0; k + 1 < layers.size(); ++k) {
        const detail::chain_layer& layer = layers[k];
        const torch::tensor_ref& weight = tensors[layer.weight];
        const torch::tensor_ref& next = tensors[layers[k + 1].weight];
        const std::int64_t out = weight.sizes[0];
        const std::int64_t in = next.sizes[1];
        std::uint64_t block = 1;
        if (in != out) {
            const bool flattened = weight.sizes.size() >= 3 && next.sizes.size() == 2 && out > 0 && in > out && in % out == 0;
            if (!flattened)
                return refuse(layers[k + 1].weight,
                              "a layer taking as many inputs as the layer before gives outputs (or a Linear after "
                              "a convolution taking a whole multiple of its channels): not a plain chain, write a "
                              "plan file");
            block = static_cast<std::uint64_t>(in / out);
        }
        hidden_axis axis;
        axis.members.push_back({std::string(weight.name), 0, 1});
        if (layer.bias != sequential_module::none) axis.members.push_back({std::string(tensors[layer.bias].name), 0, 1});
        for (const std::uint32_t t : layer.followers) axis.members.push_back({std::string(tensors[t].name), 0, 1});
        axis.members.push_back({std::string(next.name), 1, block});
        plan.axes.push_back(std::move(axis));
    }

    // Only layers whose reading the state dict proves (rules A to E at the top of this file).
    const auto unsupported = [&](std::uint32_t i, const char* what) -> error {
        return error{errc::mtd_unsupported, tensors[i].offset, what, tensors[i].name};
    };
    for (std::size_t k = 0; k < layers.size(); ++k) {
        const detail::chain_layer& layer = layers[k];
        const torch::tensor_ref& weight = tensors[layer.weight];
        const std::int64_t a = weight.sizes[0], b = weight.sizes[1];
        const bool last = k + 1 == layers.size();
        const torch::tensor_ref* before = k == 0 ? nullptr : &tensors[layers[k - 1].weight];
        if (!last && layer.unproven != sequential_module::none)
            return unsupported(layer.unproven,
                               "running statistics in a normalization between layers (a GroupNorm mixes channels and "
                               "has the same weight and bias as a LayerNorm or an affine BatchNorm; a LayerNorm after "
                               "a convolution normalizes its last dimension): write a plan file, --permute "
                               "neurons=PLAN");
        if (weight.sizes.size() >= 3) {
            if (before != nullptr && before->sizes.size() != weight.sizes.size())
                return unsupported(layer.weight,
                                   "a convolution after a convolution of the same rank (after a Linear, which acts "
                                   "on the last dimension, the channels are not its outputs): write a plan file, "
                                   "--permute neurons=PLAN");
            if (a == b)
                return unsupported(layer.weight,
                                   "a convolution weight [out, in, k...] with out != in (a ConvTranspose's weight is "
                                   "[in, out, k...]: a square one reads both ways): write a plan file, --permute "
                                   "neurons=PLAN");
            if (before == nullptr && layer.bias == sequential_module::none && layer.followers.empty())
                return unsupported(layer.weight,
                                   "a bias or a BatchNorm after the first convolution (its size tells a Conv's "
                                   "[out, in, k...] from a ConvTranspose's [in, out, k...]): write a plan file, "
                                   "--permute neurons=PLAN");
        } else if (layer.bias == sequential_module::none) {
            if (a == b)
                return unsupported(layer.weight,
                                   "a bias on a square 2-D weight (without one it may be an Embedding [num, dim] or "
                                   "a two-dimensional LayerNorm weight, not a Linear [out, in]): write a plan file, "
                                   "--permute neurons=PLAN");
            if (before != nullptr && before->sizes.size() >= 3 && a == before->sizes[0])
                return unsupported(layer.weight,
                                   "a bias on a 2-D weight after a convolution with as many rows as it has channels "
                                   "(it may be a LayerNorm over (channels, length)): write a plan file, --permute "
                                   "neurons=PLAN");
        }
    }
    BRINE_TRY(check_plan(plan, found));
    return plan;
}

// Permutes `data` (a contiguous row-major tensor of `sizes`, item_size bytes per element) along
// `axis` in blocks of `block` consecutive indices: output unit u = input unit perm[u] (inverse:
// output unit perm[u] = input unit u). `scratch` is reused memory (two rows and a bit per unit).
// The tensor is seen as [outer, units, block * inner] and whole rows of block * inner * item_size
// bytes move, following the permutation's cycles in place. Refused: an axis beyond `sizes`, a
// negative size, a size along the axis not a multiple of `block`, a `perm` that is not a
// permutation of size / block units, and `data` of any length other than the tensor's.
[[nodiscard]] inline status permute_axis(mutable_byte_view data, const alloc::vector<std::int64_t>& sizes,
                                         std::size_t item_size, unsigned axis, std::uint64_t block,
                                         const std::vector<std::uint32_t>& perm, bool inverse,
                                         std::vector<std::uint8_t>& scratch) {
    if (axis >= sizes.size()) return error{errc::invalid_argument, 0, "an axis below the tensor's number of dimensions"};
    if (item_size == 0 || block == 0) return error{errc::invalid_argument, 0, "a non-zero item size and block"};
    std::uint64_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < sizes.size(); ++d) {
        if (sizes[d] < 0) return error{errc::invalid_argument, 0, "non-negative sizes"};
        if (d == axis) continue;
        std::uint64_t& product = d < axis ? outer : inner;
        if (!mul_fits(product, static_cast<std::uint64_t>(sizes[d]), product))
            return error{errc::torch_overflow, 0, "a tensor whose byte size fits in 64 bits"};
    }
    const auto size = static_cast<std::uint64_t>(sizes[axis]);
    if (size % block != 0) return error{errc::invalid_argument, 0, "a size along the axis divisible by the block"};
    const std::uint64_t units = size / block;
    if (perm.size() != units) return error{errc::invalid_argument, 0, "a permutation of size / block units"};
    std::uint64_t row = 0, slice = 0, total = 0;
    if (!mul_fits(block, inner, row) || !mul_fits(row, item_size, row) || !mul_fits(row, units, slice) ||
        !mul_fits(slice, outer, total))
        return error{errc::torch_overflow, 0, "a tensor whose byte size fits in 64 bits"};
    if (total != data.size()) return error{errc::invalid_argument, 0, "data of exactly the tensor's byte size"};

    // Scratch: a bit per unit, then two rows.
    const auto bitmap_bytes = static_cast<std::size_t>((units + 7) / 8);
    const auto row_bytes = static_cast<std::size_t>(row);
    scratch.resize(bitmap_bytes + 2 * row_bytes);
    std::uint8_t* const seen = scratch.data();
    std::memset(seen, 0, bitmap_bytes);
    for (const std::uint32_t u : perm) {
        if (u >= units || (seen[u / 8] >> (u % 8)) & 1u)
            return error{errc::invalid_argument, 0, "a permutation (every unit exactly once)"};
        seen[u / 8] = static_cast<std::uint8_t>(seen[u / 8] | (1u << (u % 8)));
    }
    if (total == 0) return {};

    std::uint8_t* carried = scratch.data() + bitmap_bytes;
    std::uint8_t* spare = carried + row_bytes;
    const auto slice_bytes = static_cast<std::size_t>(slice);
    for (std::uint64_t o = 0; o < outer; ++o) {
        std::uint8_t* const base = data.data() + static_cast<std::size_t>(o) * slice_bytes;
        const auto at = [&](std::uint32_t u) { return base + static_cast<std::size_t>(u) * row_bytes; };
        std::memset(seen, 0, bitmap_bytes);
        const auto mark = [&](std::uint32_t u) { seen[u / 8] = static_cast<std::uint8_t>(seen[u / 8] | (1u << (u % 8))); };
        for (std::uint64_t start64 = 0; start64 < units; ++start64) {
            const auto start = static_cast<std::uint32_t>(start64);
            if ((seen[start / 8] >> (start % 8)) & 1u) continue;
            mark(start);
            if (perm[start] == start) continue;
            std::memcpy(carried, at(start), row_bytes);
            std::uint32_t j = start;
            if (!inverse) {
                // out[j] = in[perm[j]] along the cycle; the start's row, saved, closes it.
                for (;;) {
                    const std::uint32_t k = perm[j];
                    if (k == start) {
                        std::memcpy(at(j), carried, row_bytes);
                        break;
                    }
                    std::memcpy(at(j), at(k), row_bytes);
                    mark(k);
                    j = k;
                }
            } else {
                // out[perm[j]] = in[j]: carry input row j to its place, picking up what was there.
                for (;;) {
                    const std::uint32_t k = perm[j];
                    if (k == start) {
                        std::memcpy(at(start), carried, row_bytes);
                        break;
                    }
                    std::memcpy(spare, at(k), row_bytes);
                    std::memcpy(at(k), carried, row_bytes);
                    std::swap(carried, spare);
                    mark(k);
                    j = k;
                }
            }
        }
    }
    return {};
}

}  // namespace mtd
BRINE_NAMESPACE_END
