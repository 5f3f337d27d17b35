// SPDX-License-Identifier: MIT
//
// The legacy torch.save stream (before 1.6, or _use_new_zipfile_serialization=False), read as
// torch/serialization.py's _legacy_load reads it, without running any of its five pickles:
//   1. the magic number 0x1950a86a20f9469cfc6c   2. the protocol version 1001
//   3. sys_info (a dict)                          4. the object, whose persistent ids are
//      ('storage', storage class, key, location, numel, view_metadata)
//   5. the list of storage keys, then for each key in that order: an 8-byte little-endian
//      element count and the storage's bytes.
// Every pickle goes through the policy (THREATS.md F1). Where _legacy_load would fail (a wrong
// magic number or protocol, a key listed twice or never defined, sizes that disagree) or would
// leave a storage uninitialised (a key defined but not listed), brine refuses the file.
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/pickle/graph_queries.hpp>
#include <brine/pickle/machine.hpp>
#include <brine/torch/find_tensors.hpp>
#include <brine/torch/report.hpp>

#include <cstdint>
#include <string_view>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace torch {

// Torch's legacy magic number as LONG1 stores it: little-endian two's complement, minimal.
inline constexpr std::uint8_t legacy_magic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
inline constexpr std::int64_t legacy_protocol_version = 1001;

// Whether an evaluated pickle is exactly torch's magic number (a plain int, not computed).
[[nodiscard]] inline bool is_legacy_magic(const pickle::evaluation& e) noexcept {
    const pickle::graph& g = e.values;
    if (g.root() == pickle::no_node) return false;
    const pickle::node& n = g[g.root()];
    if (n.kind != pickle::node_kind::big_integer) return false;
    const std::string_view bytes = n.text();
    return bytes.size() == sizeof legacy_magic && std::memcmp(bytes.data(), legacy_magic, sizeof legacy_magic) == 0;
}

struct legacy_storage_data {
    std::uint64_t offset = 0;  // first byte of the storage's data in the file
};

// The parts of a legacy stream after the magic number: the main pickle's graph and, for each
// storage of its checkpoint, where its bytes are.
struct legacy_stream {
    pickle::evaluation main;
    std::uint64_t main_offset = 0;
    checkpoint found;
    alloc::vector<legacy_storage_data> data;  // parallel to found.storages
    std::uint64_t end = 0;                  // one past the last storage's bytes
};

namespace detail {

[[nodiscard]] inline error legacy_error(std::uint64_t at, const char* what) noexcept {
    return error{errc::torch_bad_legacy, at, what};
}

// A legacy persistent id is ('storage', class, key, location, numel, view_metadata): views of
// storages (view_metadata set) were written only by torch before 1.0 and are refused; the rest
// is rewritten in place to the zip format's 5-tuple, which the tensor analysis then checks.
inline status normalize_legacy_persistent_ids(pickle::graph& g) {
    for (pickle::node_id id = pickle::graph::shared_constants; id < g.size(); ++id) {
        if (g[id].kind != pickle::node_kind::persistent_id || pickle::left_out(g, id)) continue;
        const pickle::node_ids pid = g.children(id);
        if (pid.size() != 1 || g[pid[0]].kind != pickle::node_kind::tuple) continue;  // checked later
        const pickle::node_ids parts = g.children(pid[0]);
        if (parts.size() != 6) continue;  // not a legacy id: the analysis refuses it
        if (parts[5] != pickle::graph::none_id)
            return error{errc::torch_bad_storage, g[id].offset, "a storage without view metadata (views predate torch 1.0)"};
        g.truncate_children(pid[0], 5);
    }
    return {};
}

// sys_info's little_endian entry is False: the storages were written big-endian, and torch
// would read them byte-swapped (THREATS.md W5). Refused rather than swapped.
[[nodiscard]] inline bool says_big_endian(const pickle::graph& g) noexcept {
    if (g.root() == pickle::no_node || g[g.root()].kind != pickle::node_kind::dict) return false;
    const pickle::node_ids entries = g.children(g.root());
    for (std::size_t i = 0; i + 1 < entries.size(); i += 2) {
        std::string_view key;
        if (policy::ascii_text(g, entries[i], key) && key == "little_endian")
            return g[entries[i + 1]].kind == pickle::node_kind::boolean && !g[entries[i + 1]].boolean();
    }
    return false;
}

// The size of a storage that only left-out values use, from any persistent id naming its key.
[[nodiscard]] inline bool left_out_storage_size(const pickle::graph& g, std::string_view key, std::uint64_t& numel,
                                                std::uint64_t& bytes) noexcept {
    for (pickle::node_id id = pickle::graph::shared_constants; id < g.size(); ++id) {
        const pickle::node& n = g[id];
        if (n.kind != pickle::node_kind::tuple) continue;
        const pickle::node_ids parts = g.children(id);
        std::string_view tag, named;
        if (parts.size() < 5 || !policy::ascii_text(g, parts[0], tag) || tag != "storage" ||
            !storage_key_text(g, parts[2], named) || named != key || g[parts[1]].kind != pickle::node_kind::global ||
            g[parts[4]].kind != pickle::node_kind::integer || g[parts[4]].integer() < 0)
            continue;
        const pickle::global_name cls = g.global(parts[1]);
        dtype type = dtype::float32;
        if (!dtype_of_storage(cls.module, cls.name, type)) return false;
        numel = static_cast<std::uint64_t>(g[parts[4]].integer());
        return mul_fits(numel, info(type).item_size, bytes);
    }
    return false;
}

}  // namespace detail

// Reads the stream after its magic-number pickle (which ends at `after_magic`), evaluating each
// pickle with `machine` (the object pickle with `main_machine`) and adding findings to `out`.
template <class Machine, class MainMachine>
[[nodiscard]] result<legacy_stream> read_legacy(byte_view file, std::uint64_t after_magic, Machine& machine,
                                                MainMachine& main_machine, report& out) {
    legacy_stream stream;
    std::uint64_t pos = after_magic;
    pickle::evaluation part;

    // Evaluates the pickle at `pos` into `into`, reports its findings, moves past it.
    const auto next_pickle = [&](auto& with, pickle::evaluation& into, const char* name) -> status {
        if (pos >= file.size()) return detail::legacy_error(pos, "the next pickle of the legacy stream");
        status evaluated = with.run(file.subview(static_cast<std::size_t>(pos)), into, true);
        if (evaluated) evaluated = check_python2_strings(into.values);  // _legacy_load: encoding='utf-8'
        if (!evaluated) {
            error e = evaluated.err();
            e.offset += pos;  // errors name file offsets, like the findings
            return e;
        }
        detail::add_findings(out, into.values, name, pos);
        pos += into.end_offset;
        return {};
    };

    BRINE_TRY(next_pickle(machine, part, "legacy protocol version pickle"));
    {
        const pickle::graph& g = part.values;
        if (g[g.root()].kind != pickle::node_kind::integer || g[g.root()].integer() != legacy_protocol_version)
            return detail::legacy_error(pos, "protocol version 1001 (a plain int) after the magic number");
    }
    BRINE_TRY(next_pickle(machine, part, "legacy sys_info pickle"));
    if (detail::says_big_endian(part.values))
        return error{errc::torch_big_endian, pos, "a stream written little-endian (sys_info little_endian=True)"};

    stream.main_offset = pos;
    BRINE_TRY(next_pickle(main_machine, stream.main, "legacy main pickle"));
    BRINE_TRY(detail::normalize_legacy_persistent_ids(stream.main.values));
    auto found = find_tensors(stream.main.values);
    if (!found) {
        error e = found.err();
        e.offset += stream.main_offset;
        return e;
    }
    stream.found = std::move(*found);

    const std::uint64_t keys_at = pos;
    BRINE_TRY(next_pickle(machine, part, "legacy storage keys pickle"));
    const pickle::graph& keys = part.values;
    if (keys[keys.root()].kind != pickle::node_kind::list)
        return detail::legacy_error(keys_at, "a list of storage keys");
    const pickle::node_ids listed = keys.children(keys.root());

    // Every storage the object uses is listed exactly once (the storages left out of the
    // reconstruction may be listed too: their bytes are skipped). Data follows in list order.
    stream.data.assign(stream.found.storages.size(), legacy_storage_data{});
    alloc::vector<std::uint8_t> seen(stream.found.storages.size(), 0);
    alloc::vector<std::string_view> listed_skipped;
    for (const pickle::node_id item : listed) {
        std::string_view key;
        // str keys only, as in the persistent ids: torch finds a key of this list with == in the
        // keys the persistent ids defined, and b'0' is not '0' (see storage_key_text).
        if (!storage_key_text(keys, item, key))
            return detail::legacy_error(keys_at, "storage keys that are str (not bytes)");
        std::uint8_t count_bytes[8];
        if (pos + 8 > file.size()) return detail::legacy_error(pos, "an 8-byte storage element count");
        std::memcpy(count_bytes, file.data() + pos, 8);
        const std::uint64_t count = load_le64(count_bytes);
        const std::size_t index = stream.found.find_storage(key);
        std::uint64_t bytes = 0;
        if (index == stream.found.storages.size()) {
            // Used only by what the reconstruction leaves out: skipped, but its size must still
            // be known from a persistent id, as torch needs one to read it.
            std::uint64_t numel = 0;
            if (!detail::left_out_storage_size(stream.main.values, key, numel, bytes))
                return detail::legacy_error(pos, "only storage keys that the object's persistent ids define");
            if (count != numel)
                return detail::legacy_error(pos, "a stored element count equal to the persistent id's numel");
            for (const std::string_view other : listed_skipped)
                if (other == key) return detail::legacy_error(keys_at, "each storage key listed once");
            listed_skipped.push_back(key);
        } else {
            const storage_ref& storage = stream.found.storages[index];
            if (seen[index]) return detail::legacy_error(keys_at, "each storage key listed once");
            seen[index] = 1;
            if (count != storage.numel)
                return detail::legacy_error(pos, "a stored element count equal to the persistent id's numel");
            bytes = storage.byte_size();
        }
        pos += 8;
        if (bytes > file.size() - pos) return detail::legacy_error(pos, "as many storage bytes as declared");
        if (index != stream.found.storages.size()) stream.data[index].offset = pos;
        pos += bytes;
    }
    for (std::size_t i = 0; i < seen.size(); ++i)
        if (!seen[i]) return error{errc::torch_missing_record, keys_at, "every storage key listed (torch would leave it uninitialised)"};
    stream.end = pos;
    if (pos < file.size()) {
        finding_entry trailing;
        trailing.part = "legacy stream";
        trailing.offset = pos;
        trailing.reason = "data after the last storage: not part of the checkpoint, ignored (never written)";
        out.findings.push_back(std::move(trailing));
    }
    return stream;
}

template <class Machine>
[[nodiscard]] result<legacy_stream> read_legacy(byte_view file, std::uint64_t after_magic, Machine& machine,
                                                report& out) {
    return read_legacy(file, after_magic, machine, machine, out);
}

// After the object's graph changed root (torch::extract_state_dict): the storages and tensors
// of the new root, with each storage's data found again by its key.
[[nodiscard]] inline status refind_tensors(legacy_stream& stream) {
    auto found = find_tensors(stream.main.values);
    BRINE_TRY(found);
    alloc::vector<legacy_storage_data> data;
    for (const storage_ref& storage : found->storages) {
        const std::size_t before = stream.found.find_storage(storage.key);
        data.push_back(before < stream.data.size() ? stream.data[before] : legacy_storage_data{});
    }
    stream.found = std::move(*found);
    stream.data = std::move(data);
    return {};
}

}  // namespace torch
BRINE_NAMESPACE_END
