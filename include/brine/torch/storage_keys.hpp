// SPDX-License-Identifier: MIT
//
// The storage keys of a reconstruction's output: the one thing an Mtd policy may change in the
// judged value. A policy names the key each storage's persistent ids give in the output pickle
// (rename); the disarmer applies those names when it rebuilds the pickle (apply_storage_keys), in
// one place, so no policy ever edits the value graph itself. references() tells a policy how many
// distinct persistent ids name each storage (blocks of a model move only when each tensor is alone
// on its storage).
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/pickle/graph_queries.hpp>
#include <brine/pickle/value.hpp>
#include <brine/torch/checkpoint.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

BRINE_NAMESPACE_BEGIN
namespace torch {

namespace detail {

// Calls f(tuple, key_slot, j) once per distinct persistent id tuple that names storage j of `found`.
template <class F>
void for_each_storage_reference(const pickle::graph& g, const checkpoint& found, F&& f) {
    alloc::vector<std::uint8_t> seen(g.size(), 0);
    const std::size_t before = g.size();
    for (pickle::node_id id = pickle::graph::shared_constants; id < before; ++id) {
        if (g[id].kind != pickle::node_kind::persistent_id || pickle::left_out(g, id)) continue;
        const pickle::node_ids pid = g.children(id);
        if (pid.size() != 1 || seen[pid[0]]) continue;
        seen[pid[0]] = 1;
        const pickle::node_ids parts = g.children(pid[0]);
        std::string_view key;
        if (parts.size() != 5 || !policy::ascii_text(g, parts[2], key)) continue;
        const std::size_t j = found.find_storage(key);
        if (j < found.storages.size()) f(pid[0], parts, j);
    }
}

}  // namespace detail

class storage_keys {
public:
    storage_keys(const pickle::graph& values, const checkpoint& found) : values_(&values), found_(&found) {}

    [[nodiscard]] std::size_t size() const noexcept { return found_->storages.size(); }

    // How many distinct persistent ids name storage j (a memoized id counts once).
    [[nodiscard]] std::uint32_t references(std::size_t j) const {
        if (references_.empty()) {
            references_.assign(size(), 0);
            detail::for_each_storage_reference(*values_, *found_, [&](pickle::node_id, pickle::node_ids, std::size_t k) {
                if (references_[k] < UINT32_MAX) ++references_[k];
            });
        }
        return references_[j];
    }

    // The output's persistent ids of storage j name `key` (its record is the policy's to name).
    void rename(std::size_t j, std::string_view key) {
        if (keys_.empty()) keys_.resize(size());
        keys_[j] = alloc::string(key);
        renamed_ = true;
    }
    [[nodiscard]] bool renamed() const noexcept { return renamed_; }
    // The key storage j's persistent ids give in the output.
    [[nodiscard]] std::string_view key(std::size_t j) const noexcept {
        return renamed_ ? std::string_view(keys_[j]) : found_->storages[j].key;
    }

private:
    const pickle::graph* values_;
    const checkpoint* found_;
    mutable alloc::vector<std::uint32_t> references_;
    alloc::vector<alloc::string> keys_;
    bool renamed_ = false;
};

// Points every persistent id of each storage at the key `keys` gives it: one new string node per
// storage, put in the id tuple's key slot (a string the input shared with other values is left
// alone, and a key named by several persistent ids is still written once and memoized, as
// torch.save writes it). The one edit of a judged graph after reading: the disarmer's, just before
// it rebuilds the pickle.
inline status apply_storage_keys(pickle::graph& g, const checkpoint& found, const storage_keys& keys) {
    if (!keys.renamed()) return {};
    alloc::vector<pickle::node_id> renamed(found.storages.size(), pickle::no_node);
    alloc::vector<std::pair<pickle::node_id, std::size_t>> targets;
    detail::for_each_storage_reference(g, found, [&](pickle::node_id tuple, pickle::node_ids, std::size_t j) {
        targets.emplace_back(tuple, j);
    });
    for (const auto& [tuple, j] : targets) {
        const pickle::node_ids parts = g.children(tuple);
        const std::uint64_t offset = g[parts[2]].offset;
        if (renamed[j] == pickle::no_node)
            renamed[j] = g.add_text(pickle::node_kind::string, pickle::opcode::BINUNICODE, offset, g.keep(as_bytes(keys.key(j))));
        const pickle::node_id tail[3] = {renamed[j], parts[3], parts[4]};
        g.truncate_children(tuple, 2);
        if (!g.append_children(tuple, tail, 3))
            return error{errc::limit_exceeded, offset, "room in the value graph to rename storages"};
    }
    return {};
}

}  // namespace torch
BRINE_NAMESPACE_END
