// SPDX-License-Identifier: MIT
//
// The strategy "neurons": hidden units are permuted along a layer plan (mtd/neuron_plan.hpp),
// one keyed permutation per hidden axis ("neurons/<axis index>"). The model computes the same
// function, yet every sealed copy holds different weights; the plan goes into the manifest.
//
// Hides: the unit order of each hidden layer, so two sealed copies differ and a leaked copy
// names the seal it came from. Does not hide: the weights up to that order (anyone can run the
// model, and a close model aligns its units by matching), shapes, names.
//
// Memory: one storage, twice.
#pragma once

#include <brine/config.hpp>
#include <brine/core/result.hpp>
#include <brine/mtd/derive.hpp>
#include <brine/mtd/keyed_stream.hpp>
#include <brine/mtd/neuron_plan.hpp>
#include <brine/mtd/strategy.hpp>
#include <brine/torch/dtype.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace mtd {
namespace detail {

// A plan that does not fit is the plan's fault: one code for all of it, detail and entry kept.
[[nodiscard]] inline error plan_error(error e) noexcept {
    if (e.code != errc::mtd_unsupported) e.code = errc::mtd_bad_plan;
    return e;
}

// A neuron plan resolved against a checkpoint: for each storage, the axes it is permuted along
// (in plan order) and the permutation of each hidden axis.
struct neuron_moves {
    struct move {
        std::size_t tensor;
        unsigned axis;
        std::uint64_t block;
        std::size_t hidden;  // index into perms
    };
    std::vector<std::vector<move>> by_storage;
    std::vector<std::vector<std::uint32_t>> perms;
};

[[nodiscard]] inline result<neuron_moves> resolve_plan(neuron_plan& plan, const torch::checkpoint& found,
                                                      const secret_key& key, const digest& salt) {
    BRINE_TRY(check_plan(plan, found));
    neuron_moves out;
    out.by_storage.resize(found.storages.size());
    std::unordered_map<std::string_view, std::size_t> by_name;
    for (std::size_t t = 0; t < found.tensors.size(); ++t) by_name.emplace(found.tensors[t].name, t);
    for (std::size_t h = 0; h < plan.axes.size(); ++h) {
        const hidden_axis& axis = plan.axes[h];
        if (axis.units > UINT32_MAX) return error{errc::mtd_unsupported, 0, "at most 2^32 - 1 hidden units per axis"};
        keyed_stream stream = stream_for(key, salt, indexed("neurons", h));
        out.perms.push_back(keyed_permutation(static_cast<std::uint32_t>(axis.units), stream));
        for (const axis_member& member : axis.members) {
            const auto it = by_name.find(member.tensor);
            if (it == by_name.end()) continue;  // check_plan found every member
            out.by_storage[found.tensors[it->second].storage].push_back({it->second, member.axis, member.block, h});
        }
    }
    return out;
}

// Plan text as lines (the manifest's "plan" lines) and back.
[[nodiscard]] inline std::vector<std::string> plan_lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start);
        const std::size_t stop = end == std::string::npos ? text.size() : end;
        if (stop > start) out.push_back(text.substr(start, stop - start));
        start = stop + 1;
    }
    return out;
}
[[nodiscard]] inline std::string plan_text_of(const std::vector<std::string>& lines) {
    std::string text;
    for (const std::string& line : lines) text += line + "\n";
    return text;
}

}  // namespace detail

namespace strategies {

class neurons : public fixed_strategy<permutation::neurons> {
public:
    status prepare(const strategy_context& context, torch::storage_keys&) {
        found_ = &context.found;
        inverse_ = context.way == direction::restore;
        auto plan = inverse_ ? parse_plan(detail::plan_text_of(context.plan_lines))
                             : context.plan_text.empty() ? infer_plan(context.found) : parse_plan(context.plan_text);
        if (!plan) return detail::plan_error(plan.err());
        auto moves = detail::resolve_plan(*plan, context.found, context.key, context.salt);
        if (!moves) return detail::plan_error(moves.err());
        moves_ = std::move(*moves);
        if (!inverse_) context.plan_lines = detail::plan_lines_of(format_plan(*plan));
        return {};
    }

    [[nodiscard]] bool changes_bytes() const noexcept { return true; }
    [[nodiscard]] bool whole_storage() const noexcept { return true; }

    status transform(std::size_t j, std::vector<std::uint8_t>& data, std::vector<std::uint8_t>& scratch) {
        if (j >= moves_.by_storage.size()) return {};
        const std::size_t item = torch::info(found_->storages[j].type).item_size;
        const std::vector<detail::neuron_moves::move>& moves = moves_.by_storage[j];
        for (std::size_t k = 0; k < moves.size(); ++k) {
            const detail::neuron_moves::move& m = moves[inverse_ ? moves.size() - 1 - k : k];
            BRINE_TRY(permute_axis(mutable_byte_view(data.data(), data.size()), found_->tensors[m.tensor].sizes, item,
                                   m.axis, m.block, moves_.perms[m.hidden], inverse_, scratch));
        }
        return {};
    }

private:
    const torch::checkpoint* found_ = nullptr;
    bool inverse_ = false;
    detail::neuron_moves moves_;
};

}  // namespace strategies
}  // namespace mtd
BRINE_NAMESPACE_END
