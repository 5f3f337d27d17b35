// SPDX-License-Identifier: MIT
//
// The strategy "blocks": architecture as a moving target. Blocks of a container that are
// structurally identical (layer1.0 and layer1.1 of a ResNet, the layers of a transformer) trade
// places under a keyed permutation: the tensors named layer1.0.* load the bytes of some other
// block of layer1, so the sealed model runs its blocks in a wrong, keyed order until restored.
//
// What is a block. A tensor named A.I.S, where I is the first dotted component that is a decimal
// number (no sign, no leading zero) and A (possibly empty) what precedes it, belongs to block I
// of container A; S is its suffix. Two blocks of one container are structurally identical when
// they hold the same suffixes with the same dtype, shape, strides, storage offset, parameter and
// requires_grad flags, and storages of the same dtype and size. A block takes part only if each
// of its tensors is strided and alone on its storage, which no other persistent id names, and
// no suffix holds a newline: then
// redirecting the storage references moves exactly that block. Nested containers move with the
// block that holds them.
//
// How. No byte moves: each persistent id is renamed to "<i>" for the i-th storage in order of
// first reference (as torch.save names them), and each record is written under the name of the
// reference that now loads it, in that order. The sealed file therefore looks like torch.save's
// output for a model whose blocks were in that order. The manifest's plan lists each class of
// identical blocks ("COUNT I1 ... IN CONTAINER"), never the permutation (derived from the key,
// "blocks/<class index>").
//
// Hides: the order of identical blocks, at most log2(prod(class size!)) bits: 1 bit for a
// ResNet-18 (only layer1's two blocks are identical), 28.8 bits for 12 transformer layers. A
// class of two is swapped or not; an attacker with a validation set tries every arrangement of a
// small model. Does not hide: the weights, the blocks themselves, anything outside the classes.
// Refused (errc::mtd_unsupported) when the checkpoint has no two identical blocks.
#pragma once

#include <brine/config.hpp>
#include <brine/core/result.hpp>
#include <brine/mtd/derive.hpp>
#include <brine/mtd/describe.hpp>
#include <brine/mtd/keyed_stream.hpp>
#include <brine/torch/storage_keys.hpp>
#include <brine/mtd/strategy.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace mtd {
namespace detail {

struct block_name {
    std::string_view container, suffix;
    std::uint64_t index = 0;
};

// A tensor name split at its first decimal component, or false when it has none.
[[nodiscard]] inline bool split_block_name(std::string_view name, block_name& out) noexcept {
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t end = name.find('.', start);
        if (end == std::string_view::npos) end = name.size();
        const std::string_view part = name.substr(start, end - start);
        const bool decimal = !part.empty() && part.size() <= 9 && (part.size() == 1 || part[0] != '0') &&
                             std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (decimal) {
            out.container = name.substr(0, start == 0 ? 0 : start - 1);
            out.suffix = end == name.size() ? std::string_view() : name.substr(end + 1);
            out.index = 0;
            for (const char c : part) out.index = out.index * 10 + static_cast<std::uint64_t>(c - '0');
            return true;
        }
        start = end + 1;
    }
    return false;
}

// The blocks of a checkpoint: container -> index -> the tensors in it (in checkpoint order),
// with whether the block can move, and its structure as text to compare blocks by.
struct block_map {
    struct block {
        std::vector<std::size_t> tensors;
        std::vector<std::string_view> suffixes;
        bool movable = true;
        std::string structure;  // sorted "suffix dtype sizes strides offset flags storage" lines
    };
    std::map<std::string, std::map<std::uint64_t, block>, std::less<>> containers;
};

[[nodiscard]] inline block_map map_blocks(const torch::checkpoint& found, const torch::storage_keys& references) {
    std::vector<std::uint32_t> users(found.storages.size(), 0);
    for (const torch::tensor_ref& t : found.tensors)
        if (has_storage(t) && t.storage < users.size()) ++users[t.storage];
    block_map out;
    for (std::size_t i = 0; i < found.tensors.size(); ++i) {
        const torch::tensor_ref& t = found.tensors[i];
        block_name name;
        if (!split_block_name(std::string_view(t.name.data(), t.name.size()), name)) continue;
        block_map::block& b = out.containers[std::string(name.container)][name.index];
        b.tensors.push_back(i);
        b.suffixes.push_back(name.suffix);
        if (t.kind != torch::layout::strided || t.storage >= users.size() || users[t.storage] != 1 ||
            references.references(t.storage) != 1 || name.suffix.find('\n') != std::string_view::npos)
            b.movable = false;
    }
    for (auto& container : out.containers)
        for (auto& entry : container.second) {
            block_map::block& b = entry.second;
            if (!b.movable) continue;
            std::vector<std::string> lines;
            for (std::size_t k = 0; k < b.tensors.size(); ++k) {
                const torch::tensor_ref& t = found.tensors[b.tensors[k]];
                const torch::storage_ref& s = found.storages[t.storage];
                std::string line(b.suffixes[k]);
                line += '\n';  // movable suffixes hold no newline: the fields after it cannot be forged...
                line += std::to_string(static_cast<int>(t.type)) + ' ';
                for (const std::int64_t v : t.sizes) line += std::to_string(v) + ',';
                line += ' ';
                for (const std::int64_t v : t.strides) line += std::to_string(v) + ',';
                line += ' ' + std::to_string(t.storage_offset) + (t.parameter ? " p" : " -") + (t.requires_grad ? "g " : "- ");
                line += std::to_string(static_cast<int>(s.type)) + ' ' + std::to_string(s.numel);
                lines.push_back(std::move(line));
            }
            std::sort(lines.begin(), lines.end());
            // ...and two equal suffixes in one block cannot pair up: such a block stays.
            for (std::size_t k = 1; k < lines.size(); ++k)
                if (lines[k].compare(0, lines[k].find('\n'), lines[k - 1], 0, lines[k - 1].find('\n')) == 0) b.movable = false;
            for (const std::string& line : lines) b.structure += std::to_string(line.size()) + ':' + line;
        }
    return out;
}

// One class of identical blocks, as the manifest lists it.
struct block_class {
    std::string container;
    std::vector<std::uint64_t> indices;  // ascending
};

// The classes of two or more identical movable blocks, container by container, each class in the
// order of its first block.
[[nodiscard]] inline std::vector<block_class> identical_classes(const block_map& map) {
    std::vector<block_class> out;
    for (const auto& container : map.containers) {
        std::vector<block_class> classes;
        std::vector<const std::string*> structures;  // of classes[c]
        for (const auto& entry : container.second) {
            if (!entry.second.movable) continue;
            std::size_t c = 0;
            while (c < classes.size() && *structures[c] != entry.second.structure) ++c;
            if (c == classes.size()) {
                classes.push_back({container.first, {}});
                structures.push_back(&entry.second.structure);
            }
            classes[c].indices.push_back(entry.first);
        }
        for (block_class& c : classes)
            if (c.indices.size() >= 2) out.push_back(std::move(c));
    }
    return out;
}

[[nodiscard]] inline std::string format_block_class(const block_class& c) {
    std::string line = std::to_string(c.indices.size());
    for (const std::uint64_t i : c.indices) line += ' ' + std::to_string(i);
    return line + ' ' + c.container;
}

[[nodiscard]] inline bool canonical_decimal(std::string_view text, std::uint64_t max, std::uint64_t& out) noexcept {
    if (text.empty() || text.size() > 19 || (text.size() > 1 && text[0] == '0')) return false;
    out = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return out <= max;
}

[[nodiscard]] inline bool parse_block_class(std::string_view line, block_class& out) {
    std::size_t space = line.find(' ');
    std::uint64_t count = 0;
    if (space == std::string_view::npos || !canonical_decimal(line.substr(0, space), 1000000, count) || count < 2) return false;
    out.indices.clear();
    std::size_t at = space + 1;
    for (std::uint64_t k = 0; k < count; ++k) {
        space = line.find(' ', at);
        std::uint64_t index = 0;
        if (space == std::string_view::npos || !canonical_decimal(line.substr(at, space - at), 999999999, index)) return false;
        if (!out.indices.empty() && index <= out.indices.back()) return false;
        out.indices.push_back(index);
        at = space + 1;
    }
    out.container = std::string(line.substr(at));
    return true;
}

}  // namespace detail

namespace strategies {

class blocks : public fixed_strategy<permutation::blocks> {
public:
    status prepare(const strategy_context& context, torch::storage_keys& keys) {
        const torch::checkpoint& found = context.found;
        const std::size_t n = found.storages.size();
        const detail::block_map map = detail::map_blocks(found, keys);
        std::vector<detail::block_class> classes;
        if (context.way == direction::seal) {
            classes = detail::identical_classes(map);
            if (classes.empty())
                return error{errc::mtd_unsupported, 0,
                             "two structurally identical blocks (CONTAINER.N.* tensors, each alone on its storage) to "
                             "permute: this checkpoint has none"};
            context.plan_lines.clear();
            for (const detail::block_class& c : classes) context.plan_lines.push_back(detail::format_block_class(c));
        } else {
            for (std::size_t l = 0; l < context.plan_lines.size(); ++l) {
                detail::block_class c;
                if (!detail::parse_block_class(context.plan_lines[l], c))
                    return error{errc::mtd_bad_plan, l, "a blocks plan line \"COUNT I1 ... IN CONTAINER\""};
                classes.push_back(std::move(c));
            }
        }

        // reads_[a]: the storage whose bytes the reference to storage a loads after this step.
        reads_.resize(n);
        for (std::size_t j = 0; j < n; ++j) reads_[j] = j;
        for (std::size_t c = 0; c < classes.size(); ++c) {
            const detail::block_class& cls = classes[c];
            std::vector<const detail::block_map::block*> members;
            const auto container = map.containers.find(cls.container);
            for (const std::uint64_t index : cls.indices) {
                const detail::block_map::block* b = nullptr;
                if (container != map.containers.end()) {
                    const auto it = container->second.find(index);
                    if (it != container->second.end()) b = &it->second;
                }
                if (!b || !b->movable || (!members.empty() && b->structure != members[0]->structure))
                    return error{errc::mtd_bad_plan, c, "the blocks of the plan, structurally identical and movable",
                                 cls.container};
                members.push_back(b);
            }
            keyed_stream stream = detail::stream_for(context.key, context.salt, detail::indexed("blocks", c));
            const std::vector<std::uint32_t> perm = keyed_permutation(static_cast<std::uint32_t>(members.size()), stream);
            // Sealing: block p reads block perm[p]. Restoring undoes it: block perm[p] reads block p.
            for (std::size_t p = 0; p < members.size(); ++p) {
                const detail::block_map::block& to = *members[context.way == direction::seal ? p : perm[p]];
                const detail::block_map::block& from = *members[context.way == direction::seal ? perm[p] : p];
                for (std::size_t k = 0; k < to.tensors.size(); ++k) {
                    const std::size_t m = static_cast<std::size_t>(
                        std::find(from.suffixes.begin(), from.suffixes.end(), to.suffixes[k]) - from.suffixes.begin());
                    if (m == from.suffixes.size())  // equal structures hold equal suffixes: never, but never read past
                        return error{errc::mtd_bad_plan, c, "blocks with the same tensor names", cls.container};
                    reads_[found.tensors[to.tensors[k]].storage] = found.tensors[from.tensors[m]].storage;
                }
            }
        }
        keys_.clear();
        name_of_.assign(n, 0);
        for (std::size_t i = 0; i < n; ++i) {
            keys_.push_back(std::to_string(i));
            name_of_[reads_[i]] = i;
        }
        for (std::size_t j = 0; j < n; ++j) keys.rename(j, keys_[j]);
        return {};
    }

    [[nodiscard]] std::size_t order(std::size_t i) const noexcept { return reads_[i]; }
    [[nodiscard]] std::string_view record_key(const torch::checkpoint&, std::size_t j) const noexcept {
        return keys_[name_of_[j]];
    }
    [[nodiscard]] std::size_t reads_as(std::size_t j) const noexcept { return reads_[j]; }

private:
    std::vector<std::size_t> reads_;    // a bijection on storage indices
    std::vector<std::size_t> name_of_;  // its inverse: storage j's record is named keys_[name_of_[j]]
    std::vector<std::string> keys_;     // "0", "1"...
};

}  // namespace strategies
}  // namespace mtd
BRINE_NAMESPACE_END
