// SPDX-License-Identifier: MIT
//
// Sealing, verifying and restoring checkpoints (DESIGN.md §4, THREATS.md S2-S4).
//
// A seal is a reconstruction (the disarm pipeline with the `sealer` as its Mtd policy) that also
//   - draws a fresh salt, and derives every key it needs from the secret key, the salt and a
//     label (HKDF-SHA-256, info "brine/v1/<label>"): nothing derived is ever stored;
//   - applies the permutation strategy:
//       records   storages get keyed opaque record names and a keyed order (the file still loads
//                 in torch.load(weights_only=True), bit-identical, without the key);
//       elements  each storage's elements are shuffled (Fisher-Yates over a ChaCha20 stream keyed
//                 by "elements/<storage>"): the weights are useless until restored;
//       neurons   hidden units are permuted along a layer plan (mtd/neuron_plan.hpp): the model
//                 computes the same function, yet every sealed copy holds different weights;
//       none;
//   - optionally scrubs the N low mantissa bits of float storages (mtd/scrub.hpp);
//   - hashes every record in 1 MiB chunks as it is written, on `jobs` threads, and writes the
//     manifest (mtd/manifest.hpp) as the record <prefix>/.brine/manifest or beside the file.
//
// Storages are identified by their index in order of first reference in the pickle, which the
// reconstruction keeps: a sealed file's pickle numbers its storages as the original did.
//
// Memory: `records` and `none` stream (the chunk buffers of the hasher only); `elements`,
// `neurons` and scrubbing hold one storage (twice for elements, plus 4 bytes per element).
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/os_random.hpp>
#include <brine/core/result.hpp>
#include <brine/crypto/detail/secure_wipe.hpp>
#include <brine/crypto/hkdf.hpp>
#include <brine/mtd/digest.hpp>
#include <brine/mtd/key.hpp>
#include <brine/mtd/keyed_stream.hpp>
#include <brine/mtd/manifest.hpp>
#include <brine/mtd/neuron_plan.hpp>
#include <brine/mtd/scrub.hpp>
#include <brine/pickle/value.hpp>
#include <brine/policy/graph_queries.hpp>
#include <brine/torch/dtype.hpp>
#include <brine/torch/tensors.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace mtd {

// The manifest's record inside a sealed archive, under the archive's folder.
inline constexpr std::string_view manifest_record_name = ".brine/manifest";

struct seal_options {
    permutation permute = permutation::records;
    hash_kind hash = hash_kind::hmac_sha256;
    unsigned scrub_lsb = 0;                           // 0: no scrubbing
    std::uint64_t chunk_size = std::uint64_t{1} << 20;
    unsigned jobs = 1;                                // hashing threads
    std::string plan;                                 // neurons: plan text; empty: inferred
    bool detached = false;                            // the manifest is not added to the archive
    std::string label;                                // bound into the manifest (check_label); empty: none
};

// What a seal did, for the report.
struct seal_summary {
    std::string manifest_text;
    digest root{};
    std::string plan;          // neurons: the plan applied
    scrub_change scrubbed;     // scrub: the largest change made
    std::size_t records = 0;   // in the manifest
    std::size_t tensors = 0;
};

namespace detail {

// The key for one purpose: HKDF-SHA-256 of the secret key, salted with the seal's salt.
[[nodiscard]] inline digest derive(const secret_key& key, const digest& salt, std::string_view label) {
    std::string info = "brine/v1/";
    info += label;
    digest out{};
    // 32 bytes of output are always within HKDF's 255 x 32 limit.
    (void)crypto::hkdf_sha256(byte_view(salt.data(), salt.size()), byte_view(key.bytes.data(), key.bytes.size()),
                        as_bytes(std::string_view(info)), mutable_byte_view(out.data(), out.size()));
    return out;
}

// The key check stored in the manifest, so that a wrong key is told apart from tampering: the
// first 8 bytes of an HKDF output under the key and the seal's salt. It lets anyone holding a
// sealed file test a guessed key, but no faster than computing the tag would: with a 256-bit
// random key, guessing is out of reach either way, so 64 bits (a false match once in 2^64 wrong
// keys) is enough. Salted, so that files sealed under one key do not show it by a shared value.
[[nodiscard]] inline key_check key_check_of(const secret_key& key, const digest& salt) {
    digest full = derive(key, salt, "key-check");
    key_check out{};
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = full[i];
    crypto::detail::secure_wipe(full);
    return out;
}

[[nodiscard]] inline keyed_stream stream_for(const secret_key& key, const digest& salt, std::string_view label) {
    digest k = derive(key, salt, label);
    keyed_stream stream(k);
    crypto::detail::secure_wipe(k);
    return stream;
}

[[nodiscard]] inline std::string indexed(std::string_view label, std::size_t i) {
    return std::string(label) + "/" + std::to_string(i);
}

[[nodiscard]] constexpr std::string_view layout_name(torch::layout kind) noexcept {
    switch (kind) {
        case torch::layout::strided: return "strided";
        case torch::layout::quantized: return "quantized";
        case torch::layout::sparse_coo: return "sparse_coo";
        case torch::layout::sparse_compressed: return "sparse_compressed";
        case torch::layout::meta: return "meta";
    }
    return "strided";
}

[[nodiscard]] inline bool has_storage(const torch::tensor_ref& t) noexcept {
    return t.kind == torch::layout::strided || t.kind == torch::layout::quantized;
}

[[nodiscard]] inline manifest_tensor describe(const torch::tensor_ref& t, std::int64_t record) {
    manifest_tensor out;
    out.name = t.name;
    out.type = std::string(torch::info(t.type).name);
    out.layout = std::string(layout_name(t.kind));
    out.sizes.assign(t.sizes.begin(), t.sizes.end());
    out.strides.assign(t.strides.begin(), t.strides.end());
    out.offset = t.storage_offset;
    out.record = has_storage(t) ? record : -1;
    out.parameter = t.parameter;
    out.requires_grad = t.requires_grad;
    return out;
}

// The globals a reconstruction writes, in order of first appearance in the graph.
[[nodiscard]] inline std::vector<manifest_global> globals_of(const pickle::graph& g) {
    std::vector<manifest_global> out;
    std::unordered_set<std::string> seen;  // "module\nname": a set, not a scan of `out` per global
    for (pickle::node_id id = pickle::graph::shared_constants; id < g.size(); ++id) {
        if (g[id].kind != pickle::node_kind::global || pickle::left_out(g, id)) continue;
        const pickle::global_name name = g.global(id);
        std::string key(name.module);
        key += '\n';
        key += name.name;
        if (seen.insert(std::move(key)).second) out.push_back({std::string(name.module), std::string(name.name)});
    }
    return out;
}

[[nodiscard]] inline bool dtype_named(std::string_view name, torch::dtype& out) noexcept {
    for (const torch::dtype_info& d : torch::detail::dtype_table)
        if (d.name == name) {
            out = d.type;
            return true;
        }
    return false;
}

// The chunks [first, end) of its record that hold a tensor's bytes. Permuted elements may be
// anywhere in the record: then all of them.
inline void tensor_chunks(const manifest_tensor& t, const manifest& m, std::uint64_t& first, std::uint64_t& end) {
    first = end = 0;
    if (t.record < 0 || static_cast<std::size_t>(t.record) >= m.records.size()) return;
    const manifest_record& r = m.records[static_cast<std::size_t>(t.record)];
    const std::uint64_t all = chunk_count(r.size, m.chunk_size);
    torch::dtype type = torch::dtype::uint8;
    if (m.permute == permutation::elements || !dtype_named(t.type, type) || t.sizes.size() != t.strides.size()) {
        end = all;
        return;
    }
    std::uint64_t last = 0;  // element index of the last element, relative to the offset
    for (std::size_t i = 0; i < t.sizes.size(); ++i) {
        if (t.sizes[i] <= 0) return;  // empty: no bytes
        if (t.strides[i] < 0) {
            end = all;
            return;
        }
        last += static_cast<std::uint64_t>(t.sizes[i] - 1) * static_cast<std::uint64_t>(t.strides[i]);
    }
    const torch::dtype_info& d = torch::info(type);
    const std::uint64_t from = static_cast<std::uint64_t>(t.offset) / d.per_byte * d.item_size;
    const std::uint64_t to = (static_cast<std::uint64_t>(t.offset) + last) / d.per_byte * d.item_size + d.item_size;
    first = from / m.chunk_size;
    end = (to - 1) / m.chunk_size + 1;
    if (end > all) end = all;  // a tensor past its record: validated elsewhere; cover what exists
    if (first > end) first = end;
}

[[nodiscard]] inline digest tensor_digest(digester& d, const manifest_tensor& t, const manifest& m,
                                          const std::vector<digest>& record_chunks) {
    std::uint64_t first = 0, end = 0;
    tensor_chunks(t, m, first, end);
    d.update(std::string_view("brine/tensor"));
    d.update_field(t.describe());
    d.update_u64(first);
    d.update_u64(end);
    for (std::uint64_t c = first; c < end; ++c)
        if (c < record_chunks.size()) d.update(record_chunks[static_cast<std::size_t>(c)]);
    return d.finish();
}

[[nodiscard]] inline digest record_digest(digester& d, std::size_t index, const manifest_record& r) {
    d.update(std::string_view("brine/record"));
    d.update_u64(index);
    d.update_field(r.name);
    d.update_u64(r.size);
    d.update_u64(r.chunks.size());
    for (const digest& c : r.chunks) d.update(c);
    return d.finish();
}

[[nodiscard]] inline digest original_digest(digester& d, std::size_t index, byte_view bytes) {
    d.update(std::string_view("brine/original"));
    d.update_u64(index);
    d.update_u64(bytes.size());
    d.update(bytes);
    return d.finish();
}

// Points every persistent id of storage j at a new key: one new string node per storage, put in
// the tuple's key slot (a string the input shared with other values is left alone, and a key
// used by several persistent ids is still written once and memoized, as torch.save writes it).
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

// Storages holding a sparse tensor's index structure (COO indices, CSR row pointers and column
// indices). Elements there are not shuffled: every loader validates them (torch refuses row
// pointers out of order), and a sealed file must still load.
[[nodiscard]] inline std::vector<bool> index_storages(const torch::checkpoint& found) {
    std::vector<bool> out(found.storages.size(), false);
    for (const torch::tensor_ref& t : found.tensors) {
        const std::size_t parts = t.kind == torch::layout::sparse_coo ? 1 : t.kind == torch::layout::sparse_compressed ? 2 : 0;
        for (std::size_t p = 0; p < parts && t.first_part + p < found.tensors.size(); ++p) {
            const torch::tensor_ref& part = found.tensors[t.first_part + p];
            if (has_storage(part) && part.storage < out.size()) out[part.storage] = true;
        }
    }
    return out;
}

// Moves `data` (storage j) as the strategy says, or back (`inverse`).
// `kept`: index_storages() of the checkpoint.
inline status transform_storage(permutation permute, bool inverse, std::size_t j, const torch::storage_ref& storage,
                                const torch::checkpoint& found, const std::vector<bool>& kept, const neuron_moves& neurons,
                                const secret_key& key, const digest& salt, std::vector<std::uint8_t>& data,
                                std::vector<std::uint8_t>& scratch) {
    const std::size_t item = torch::info(storage.type).item_size;
    if (permute == permutation::elements && !kept[j]) {
        const std::uint64_t count = data.size() / item;
        if (count > UINT32_MAX)
            return error{errc::mtd_unsupported, 0, "storages of at most 2^32 - 1 elements to permute", storage.key};
        keyed_stream stream = stream_for(key, salt, indexed("elements", j));
        const std::vector<std::uint32_t> p = keyed_permutation(static_cast<std::uint32_t>(count), stream);
        scratch.resize(data.size());
        const byte_view in(data.data(), data.size());
        const mutable_byte_view out(scratch.data(), scratch.size());
        if (inverse) unpermute_items(in, out, item, p);
        else permute_items(in, out, item, p);
        data.swap(scratch);
    } else if (permute == permutation::neurons && j < neurons.by_storage.size()) {
        const std::vector<neuron_moves::move>& moves = neurons.by_storage[j];
        for (std::size_t k = 0; k < moves.size(); ++k) {
            const neuron_moves::move& m = moves[inverse ? moves.size() - 1 - k : k];
            BRINE_TRY(permute_axis(mutable_byte_view(data.data(), data.size()), found.tensors[m.tensor].sizes, item, m.axis,
                                   m.block, neurons.perms[m.hidden], inverse, scratch));
        }
    }
    return {};
}

// Collects one storage's bytes for a transformation that needs all of them.
struct storage_buffer {
    std::vector<std::uint8_t> bytes;
    std::uint64_t expected = 0;
    status write(byte_view more) {
        if (more.size() > expected - bytes.size())
            return error{errc::invalid_argument, bytes.size(), "no more storage bytes than numel x item size"};
        bytes.insert(bytes.end(), more.begin(), more.end());
        return {};
    }
};

template <class Sink>
inline status write_in_pieces(byte_view bytes, Sink& next) {
    constexpr std::size_t piece = std::size_t{256} << 10;
    for (std::size_t at = 0; at < bytes.size(); at += piece)
        BRINE_TRY(next.write(bytes.subview(at, bytes.size() - at < piece ? bytes.size() - at : piece)));
    return {};
}

// Recomputes one sealed record's chunk digests from its bytes as they stream past, and compares
// each with the manifest's as soon as the chunk is complete. Bytes that changed after verify (a
// writer with the file open) are caught while they are copied; the last chunk closes when the
// record's last byte arrives, so the change is named here rather than by the archive's CRC check.
class chunk_check {
public:
    chunk_check(const digest& mac_key, const manifest& sealed, std::size_t position) noexcept
        : d_(sealed.hash, mac_key), record_(&sealed.records[position]), chunk_size_(sealed.chunk_size),
          position_(position) {
        begin_chunk(d_, position_, 0);
    }

    status write(byte_view bytes) {
        while (!bytes.empty()) {
            if (seen_ == record_->size)
                return error{errc::mtd_tampered, seen_, "no more bytes than the record held when verified", record_->name};
            std::uint64_t room = chunk_size_ - filled_;
            if (room > record_->size - seen_) room = record_->size - seen_;
            const std::size_t take = bytes.size() < room ? bytes.size() : static_cast<std::size_t>(room);
            d_.update(bytes.subview(0, take));
            filled_ += take;
            seen_ += take;
            bytes = bytes.subview(take);
            if (filled_ == chunk_size_ || seen_ == record_->size) BRINE_TRY(close_chunk());
        }
        return {};
    }

    status finish() {
        if (seen_ != record_->size)
            return error{errc::mtd_tampered, seen_, "as many bytes as the record held when verified", record_->name};
        if (record_->size == 0 && chunk_ == 0) BRINE_TRY(close_chunk());  // an empty record's one empty chunk
        return {};
    }

private:
    status close_chunk() {
        const std::uint64_t start = seen_ - filled_;
        const bool same = chunk_ < record_->chunks.size() && d_.finish() == record_->chunks[static_cast<std::size_t>(chunk_)];
        if (!same)
            return error{errc::mtd_tampered, start, "bytes with the chunk digest verified (they changed while read)",
                         record_->name};
        ++chunk_;
        filled_ = 0;
        begin_chunk(d_, position_, chunk_);
        return {};
    }

    digester d_;
    const manifest_record* record_;
    std::uint64_t chunk_size_;
    std::uint64_t position_;
    std::uint64_t chunk_ = 0, filled_ = 0, seen_ = 0;
};

// A plan that does not fit is the plan's fault: one code for all of it, detail and entry kept.
[[nodiscard]] inline error plan_error(error e) noexcept {
    if (e.code != errc::mtd_unsupported) e.code = errc::mtd_bad_plan;
    return e;
}

[[nodiscard]] inline std::string folder_of(std::string_view record_name) {
    const std::size_t slash = record_name.find('/');
    return std::string(record_name.substr(0, slash == std::string_view::npos ? 0 : slash));
}

}  // namespace detail

// The Mtd policy that seals (see the top of this file and mtd/none.hpp for the hooks).
class sealer {
public:
    static constexpr bool seals = true;

    sealer(const secret_key& key, seal_options options) : key_(key), options_(std::move(options)) {}

    [[nodiscard]] bool changes_bytes() const noexcept {
        return options_.permute == permutation::elements || options_.permute == permutation::neurons ||
               options_.scrub_lsb != 0;
    }

    status prepare(pickle::graph& values, const torch::checkpoint& found) {
        BRINE_TRY(os_random(mutable_byte_view(salt_.data(), salt_.size())));
        found_ = &found;
        summary_ = {};
        manifest_ = {};
        manifest_.hash = options_.hash;
        manifest_.permute = options_.permute;
        manifest_.scrub_lsb = options_.scrub_lsb;
        manifest_.chunk_size = options_.chunk_size;
        manifest_.salt = salt_;
        BRINE_TRY(bind(manifest_));
        storage_record_.assign(found.storages.size(), -1);
        kept_ = detail::index_storages(found);
        order_.clear();
        keys_.clear();
        for (std::size_t j = 0; j < found.storages.size(); ++j) order_.push_back(static_cast<std::uint32_t>(j));
        hasher_.reset(new chunk_hasher(options_.hash, detail::derive(key_, salt_, "digest"), options_.chunk_size,
                                       options_.jobs));
        if (options_.scrub_lsb != 0) BRINE_TRY(check_scrub(found));

        if (options_.permute == permutation::records) {
            // Opaque names (a keyed function of the storage's index) in a keyed order.
            const digest names_key = detail::derive(key_, salt_, "record-names");
            for (std::size_t j = 0; j < found.storages.size(); ++j) {
                std::uint8_t index[8];
                for (int b = 0; b < 8; ++b) index[b] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(j) >> (8 * b));
                const digest name = crypto::hmac_sha256::mac(byte_view(names_key.data(), names_key.size()), byte_view(index, 8));
                keys_.push_back(to_hex(byte_view(name.data(), 8)));
            }
            std::unordered_set<std::string_view> distinct(keys_.begin(), keys_.end());
            if (distinct.size() != keys_.size())
                return error{errc::mtd_unsupported, 0, "distinct record names (a 64-bit collision: seal again)"};
            if (found.storages.size() > UINT32_MAX) return error{errc::mtd_unsupported, 0, "fewer storages"};
            keyed_stream order_stream = detail::stream_for(key_, salt_, "record-order");
            order_ = keyed_permutation(static_cast<std::uint32_t>(found.storages.size()), order_stream);
            BRINE_TRY(detail::rename_storages(values, found, keys_));
        } else if (options_.permute == permutation::neurons) {
            auto plan = options_.plan.empty() ? infer_plan(found) : parse_plan(options_.plan);
            if (!plan) return detail::plan_error(plan.err());
            auto moves = detail::resolve_plan(*plan, found, key_, salt_);
            if (!moves) return detail::plan_error(moves.err());
            neurons_ = std::move(*moves);
            summary_.plan = format_plan(*plan);
            std::size_t start = 0;
            const std::string& text = summary_.plan;
            while (start < text.size()) {
                const std::size_t end = text.find('\n', start);
                const std::size_t stop = end == std::string::npos ? text.size() : end;
                if (stop > start) manifest_.plan.push_back(text.substr(start, stop - start));
                start = stop + 1;
            }
        }
        manifest_.globals = detail::globals_of(values);
        return {};
    }

    [[nodiscard]] std::size_t order(std::size_t i) const noexcept { return order_[i]; }
    [[nodiscard]] std::string_view record_key(const torch::checkpoint& found, std::size_t j) const noexcept {
        return keys_.empty() ? found.storages[j].key : std::string_view(keys_[j]);
    }

    template <class Archive>
    status add_record(Archive& archive, std::string_view name, byte_view bytes) {
        if (prefix_.empty()) prefix_ = detail::folder_of(name);
        begin(name, bytes.size());
        hasher_->update(bytes);
        hasher_->end_record();
        return archive.add(name, bytes);
    }

    // Streams storage j to `next`, hashing what is written; a transformation collects it first.
    template <class Sink>
    class storage_sink {
    public:
        storage_sink(sealer& owner, std::size_t j, std::size_t position, Sink& next)
            : owner_(&owner), j_(j), position_(position), next_(&next) {
            if (owner.changes_bytes()) buffer_.expected = owner.found_->storages[j].byte_size();
        }
        status write(byte_view bytes) {
            if (owner_->changes_bytes()) return buffer_.write(bytes);
            owner_->hasher_->update(bytes);
            return next_->write(bytes);
        }
        status finish() {
            if (owner_->changes_bytes()) BRINE_TRY(owner_->seal_storage(j_, position_, buffer_.bytes, *next_));
            owner_->hasher_->end_record();
            return {};
        }

    private:
        sealer* owner_;
        std::size_t j_, position_;
        Sink* next_;
        detail::storage_buffer buffer_;
    };

    template <class Storage, class Sink>
    storage_sink<Sink> wrap(std::size_t j, std::string_view name, const Storage& storage, Sink& next) {
        const std::size_t position = manifest_.records.size();
        storage_record_[j] = static_cast<std::int64_t>(position);
        begin(name, storage.byte_size());
        return storage_sink<Sink>(*this, j, position, next);
    }

    template <class Archive>
    status finish_records(Archive& archive) {
        manifest_.format = "torch_zip";
        BRINE_TRY(complete());
        if (options_.detached) return {};
        std::string name = prefix_;
        name += '/';
        name += manifest_record_name;
        return archive.add(name, as_bytes(std::string_view(summary_.manifest_text)));
    }

    status raw_pickle(byte_view bytes) {
        manifest_.format = "pickle";
        begin("pickle", bytes.size());
        hasher_->update(bytes);
        hasher_->end_record();
        return complete();
    }

    [[nodiscard]] const seal_summary& summary() const noexcept { return summary_; }
    [[nodiscard]] const seal_options& options() const noexcept { return options_; }

private:
    void begin(std::string_view name, std::uint64_t size) {
        manifest_record r;
        r.name = std::string(name);
        r.size = size;
        hasher_->begin_record(size, manifest_.records.size());
        manifest_.records.push_back(std::move(r));
    }

    // The key check, and the label after checking it (invalid_argument at its offset in the label).
    status bind(manifest& m) const {
        m.check = detail::key_check_of(key_, salt_);
        if (options_.label.empty()) return {};
        const label_fault fault = check_label(options_.label);
        if (fault.expected) return error{errc::invalid_argument, fault.offset, fault.expected};
        m.label = options_.label;
        return {};
    }

    // Scrubbing applies to float storages; N must fit each one's mantissa.
    status check_scrub(const torch::checkpoint& found) const {
        for (const torch::storage_ref& s : found.storages) {
            const unsigned bits = mantissa_bits(s.type);
            if (bits != 0 && options_.scrub_lsb > bits)
                return error{errc::mtd_unsupported, 0, "--scrub-lsb no larger than the mantissa of every float storage",
                             torch::info(s.type).name};
        }
        if (options_.scrub_lsb > 52) return error{errc::mtd_unsupported, 0, "--scrub-lsb of at most 52 bits"};
        return {};
    }

    template <class Sink>
    status seal_storage(std::size_t j, std::size_t position, std::vector<std::uint8_t>& data, Sink& next) {
        const torch::storage_ref& storage = found_->storages[j];
        if (data.size() != storage.byte_size())
            return error{errc::torch_record_size, data.size(), "numel x item size storage bytes", storage.key};
        if (options_.scrub_lsb != 0 && mantissa_bits(storage.type) != 0) {
            keyed_stream stream = detail::stream_for(key_, salt_, detail::indexed("scrub", j));
            BRINE_TRY(scrub_lsb(storage.type, mutable_byte_view(data.data(), data.size()), options_.scrub_lsb, stream,
                                summary_.scrubbed));
        }
        digester d(options_.hash, detail::derive(key_, salt_, "digest"));
        manifest_.records[position].original = detail::original_digest(d, position, byte_view(data.data(), data.size()));
        BRINE_TRY(detail::transform_storage(options_.permute, false, j, storage, *found_, kept_, neurons_, key_, salt_, data,
                                            scratch_));
        const byte_view sealed(data.data(), data.size());
        for (std::size_t at = 0; at < sealed.size(); at += std::size_t{256} << 10) {
            const byte_view piece = sealed.subview(at, std::min<std::size_t>(sealed.size() - at, std::size_t{256} << 10));
            hasher_->update(piece);
            BRINE_TRY(next.write(piece));
        }
        return {};
    }

    // Chunk digests in, then every digest above them, the manifest text and its tag.
    status complete() {
        const std::vector<std::vector<digest>>& chunks = hasher_->finish();
        digester d(options_.hash, detail::derive(key_, salt_, "digest"));
        std::vector<bool> storage_position(manifest_.records.size(), false);
        for (const std::int64_t r : storage_record_)
            if (r >= 0) storage_position[static_cast<std::size_t>(r)] = true;
        for (std::size_t i = 0; i < manifest_.records.size(); ++i) {
            manifest_record& r = manifest_.records[i];
            r.chunks = chunks[i];
            r.sealed = detail::record_digest(d, i, r);
            if (!changes_bytes() || !storage_position[i]) r.original = r.sealed;
        }
        for (const torch::tensor_ref& t : found_->tensors) {
            const std::int64_t record = detail::has_storage(t) ? storage_record_[t.storage] : -1;
            manifest_tensor described = detail::describe(t, record);
            const std::vector<digest> none;
            described.value = detail::tensor_digest(
                d, described, manifest_, record < 0 ? none : manifest_.records[static_cast<std::size_t>(record)].chunks);
            manifest_.tensors.push_back(std::move(described));
        }
        manifest_.architecture = architecture_digest(d, manifest_.tensors, manifest_.globals);
        manifest_.root = root_digest(d, manifest_prefix(manifest_));
        summary_.manifest_text = write_manifest(manifest_, detail::derive(key_, salt_, "manifest"));
        summary_.root = manifest_.root;
        summary_.records = manifest_.records.size();
        summary_.tensors = manifest_.tensors.size();
        return {};
    }

    secret_key key_;
    seal_options options_;
    digest salt_{};
    const torch::checkpoint* found_ = nullptr;
    manifest manifest_;
    seal_summary summary_;
    std::unique_ptr<chunk_hasher> hasher_;
    std::vector<std::uint32_t> order_;
    std::vector<std::string> keys_;
    std::vector<std::int64_t> storage_record_;
    std::string prefix_;
    std::vector<bool> kept_;  // storages whose elements stay in place (sparse index structure)
    detail::neuron_moves neurons_;
    std::vector<std::uint8_t> scratch_;
};

// The Mtd policy that restores a sealed file whose manifest verified: permutations undone, records
// named "0", "1"... in order of first reference (as torch.save names them), no manifest.
// Scrubbed bits are not restored (they are gone).
class restorer {
public:
    static constexpr bool seals = true;

    restorer(const secret_key& key, manifest sealed) : key_(key), manifest_(std::move(sealed)) {}

    [[nodiscard]] bool changes_bytes() const noexcept {
        return manifest_.permute == permutation::elements || manifest_.permute == permutation::neurons;
    }

    status prepare(pickle::graph& values, const torch::checkpoint& found) {
        found_ = &found;
        digest_key_ = detail::derive(key_, manifest_.salt, "digest");
        kept_ = detail::index_storages(found);
        position_.assign(found.storages.size(), 0);
        keys_.clear();
        const std::string prefix = manifest_.records.empty() ? std::string() : detail::folder_of(manifest_.records[0].name);
        std::unordered_map<std::string_view, std::size_t> sealed;
        for (std::size_t i = 0; i < manifest_.records.size(); ++i) sealed.emplace(manifest_.records[i].name, i);
        for (std::size_t j = 0; j < found.storages.size(); ++j) {
            const std::string name = prefix + "/data/" + std::string(found.storages[j].key);
            const auto it = sealed.find(name);
            if (it == sealed.end()) return error{errc::mtd_tampered, 0, "every storage's record listed in the manifest", name};
            position_[j] = it->second;
        }
        if (manifest_.permute == permutation::records) {
            for (std::size_t j = 0; j < found.storages.size(); ++j) keys_.push_back(std::to_string(j));
            BRINE_TRY(detail::rename_storages(values, found, keys_));
        } else if (manifest_.permute == permutation::neurons) {
            std::string text;
            for (const std::string& line : manifest_.plan) text += line + "\n";
            auto plan = parse_plan(text);
            if (!plan) return detail::plan_error(plan.err());
            auto moves = detail::resolve_plan(*plan, found, key_, manifest_.salt);
            if (!moves) return detail::plan_error(moves.err());
            neurons_ = std::move(*moves);
        }
        return {};
    }

    [[nodiscard]] std::size_t order(std::size_t i) const noexcept { return i; }
    [[nodiscard]] std::string_view record_key(const torch::checkpoint& found, std::size_t j) const noexcept {
        return keys_.empty() ? found.storages[j].key : std::string_view(keys_[j]);
    }
    template <class Archive>
    status add_record(Archive& archive, std::string_view name, byte_view bytes) {
        return archive.add(name, bytes);
    }

    // Storage j on its way out. Bytes a permutation moves are collected and checked once moved
    // back (against the digest before sealing: it covers every byte); bytes copied as they are
    // are checked against the sealed chunk digests as they pass. Either way every byte written
    // is one the seal vouches for, however the file changed after verify.
    template <class Sink>
    class storage_sink {
    public:
        storage_sink(restorer& owner, std::size_t j, Sink& next)
            : owner_(&owner), j_(j), next_(&next), check_(owner.digest_key_, owner.manifest_, owner.position_[j]) {
            if (owner.changes_bytes()) buffer_.expected = owner.found_->storages[j].byte_size();
        }
        status write(byte_view bytes) {
            if (owner_->changes_bytes()) return buffer_.write(bytes);
            BRINE_TRY(check_.write(bytes));
            return next_->write(bytes);
        }
        status finish() { return owner_->changes_bytes() ? owner_->restore_storage(j_, buffer_.bytes, *next_) : check_.finish(); }

    private:
        restorer* owner_;
        std::size_t j_;
        Sink* next_;
        detail::chunk_check check_;
        detail::storage_buffer buffer_;
    };

    template <class Storage, class Sink>
    storage_sink<Sink> wrap(std::size_t j, std::string_view, const Storage&, Sink& next) {
        return storage_sink<Sink>(*this, j, next);
    }
    template <class Archive>
    status finish_records(Archive&) {
        return {};
    }
    status raw_pickle(byte_view) { return {}; }

private:
    // Undoes the permutation and checks the result against the digest taken before sealing.
    template <class Sink>
    status restore_storage(std::size_t j, std::vector<std::uint8_t>& data, Sink& next) {
        const torch::storage_ref& storage = found_->storages[j];
        if (data.size() != storage.byte_size())
            return error{errc::torch_record_size, data.size(), "numel x item size storage bytes", storage.key};
        BRINE_TRY(detail::transform_storage(manifest_.permute, true, j, storage, *found_, kept_, neurons_, key_,
                                            manifest_.salt, data, scratch_));
        const std::size_t position = position_[j];
        digester d(manifest_.hash, digest_key_);
        const digest restored = detail::original_digest(d, position, byte_view(data.data(), data.size()));
        if (restored != manifest_.records[position].original)
            return error{errc::mtd_tampered, 0, "restored bytes equal to the bytes before sealing",
                         manifest_.records[position].name};
        return detail::write_in_pieces(byte_view(data.data(), data.size()), next);
    }

    secret_key key_;
    manifest manifest_;
    digest digest_key_{};  // the key of every digest in the manifest
    const torch::checkpoint* found_ = nullptr;
    std::vector<std::size_t> position_;
    std::vector<std::string> keys_;
    std::vector<bool> kept_;
    detail::neuron_moves neurons_;
    std::vector<std::uint8_t> scratch_;
};

}  // namespace mtd
BRINE_NAMESPACE_END
