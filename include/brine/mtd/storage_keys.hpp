// SPDX-License-Identifier: MIT
//
// Renaming the storage keys a pickle's persistent ids name. Strategies that hide where a
// storage's bytes live (records, blocks) give every persistent id a new key and write the
// storage records under keys of their choosing.
#pragma once

#include <brine/config.hpp>
#include <brine/core/result.hpp>
#include <brine/pickle/graph_queries.hpp>
#include <brine/pickle/value.hpp>
#include <brine/torch/checkpoint.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace mtd {
namespace detail {

// Points every persistent id of storage j at the key keys[j]: one new string node per storage,
// put in the tuple's key slot (a string the input shared with other values is left alone, and a
// key used by several persistent ids is still written once and memoized, as torch.save writes it).
inline status rename_storages(pickle::graph& g, const torch::checkpoint& found, const std::vector<std::string>& keys) {
    std::vector<bool> done(g.size(), false);
    std::vector<pickle::node_id> renamed(found.storages.size(), pickle::no_node);
    const std::size_t before = g.size();
    for (pickle::node_id id = pickle::graph::shared_constants; id < before; ++id) {
        if (g[id].kind != pickle::node_kind::persistent_id || pickle::left_out(g, id)) continue;
        const pickle::node_ids pid = g.children(id);
        if (pid.size() != 1 || done[pid[0]]) continue;
        const pickle::node_id tuple = pid[0];
        done[tuple] = true;
        const pickle::node_ids parts = g.children(tuple);
        std::string_view key;
        if (parts.size() != 5 || !policy::ascii_text(g, parts[2], key)) continue;
        const std::size_t j = found.find_storage(key);
        if (j == found.storages.size()) continue;
        const std::uint64_t offset = g[parts[2]].offset;
        if (renamed[j] == pickle::no_node)
            renamed[j] = g.add_text(pickle::node_kind::string, pickle::opcode::BINUNICODE, offset, g.keep(as_bytes(keys[j])));
        const pickle::node_id tail[3] = {renamed[j], parts[3], parts[4]};
        g.truncate_children(tuple, 2);
        if (!g.append_children(tuple, tail, 3))
            return error{errc::limit_exceeded, offset, "room in the value graph to rename storages"};
    }
    return {};
}

// How many distinct persistent ids name each storage (a memoized id counts once).
[[nodiscard]] inline std::vector<std::uint32_t> storage_references(const pickle::graph& g, const torch::checkpoint& found) {
    std::vector<std::uint32_t> out(found.storages.size(), 0);
    std::vector<bool> seen(g.size(), false);
    for (pickle::node_id id = pickle::graph::shared_constants; id < g.size(); ++id) {
        if (g[id].kind != pickle::node_kind::persistent_id || pickle::left_out(g, id)) continue;
        const pickle::node_ids pid = g.children(id);
        if (pid.size() != 1 || seen[pid[0]]) continue;
        seen[pid[0]] = true;
        const pickle::node_ids parts = g.children(pid[0]);
        std::string_view key;
        if (parts.size() != 5 || !policy::ascii_text(g, parts[2], key)) continue;
        const std::size_t j = found.find_storage(key);
        if (j < out.size() && out[j] < UINT32_MAX) ++out[j];
    }
    return out;
}

}  // namespace detail
}  // namespace mtd
BRINE_NAMESPACE_END
