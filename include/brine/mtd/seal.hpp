// SPDX-License-Identifier: MIT
//
// Sealing a checkpoint. A seal is a reconstruction (the disarm pipeline with a basic_sealer as
// its Mtd policy) that also
//   - draws a fresh salt, and derives every key it needs from the secret key, the salt and a
//     label (mtd/derive.hpp): nothing derived is ever stored;
//   - makes every digest with its Hash (mtd/hash.hpp; the bundled ones in mtd/hashes/: sha256,
//     hmac_sha256);
//   - applies its permutation strategy (mtd/strategy.hpp; the bundled ones in mtd/strategies/:
//     records, elements, neurons, blocks, chacha20, none, each stating what it hides);
//   - optionally scrubs the N low mantissa bits of float storages (mtd/scrub.hpp);
//   - hashes every record in chunks as it is written, on `jobs` threads, and writes the manifest
//     (mtd/manifest.hpp) as the record <prefix>/.brine/manifest or beside the file.
//
// Storages are identified by their index in order of first reference in the pickle, which the
// reconstruction keeps: a sealed file's pickle numbers its storages as the original did.
//
// Memory: strategies that leave bytes alone or transform them piece by piece stream (the chunk
// buffers of the hasher only); those that need a whole storage, and scrubbing, hold one storage
// (twice, with the strategy's scratch).
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/detect.hpp>
#include <brine/core/os_random.hpp>
#include <brine/core/result.hpp>
#include <brine/mtd/derive.hpp>
#include <brine/mtd/describe.hpp>
#include <brine/mtd/digest.hpp>
#include <brine/mtd/hash.hpp>
#include <brine/mtd/hashes/bundled.hpp>
#include <brine/mtd/key.hpp>
#include <brine/mtd/manifest.hpp>
#include <brine/mtd/scrub.hpp>
#include <brine/mtd/strategies/bundled.hpp>
#include <brine/mtd/strategy.hpp>
#include <brine/pickle/value.hpp>
#include <brine/torch/checkpoint.hpp>
#include <brine/torch/dtype.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace mtd {

struct seal_options {
    std::string permute;                              // the strategy's name; empty: the strategy's own
                                                      // (one_of: its first)
    std::string hash;                                 // the hash's name; empty: the Hash's own
                                                      // (one_of: its first)
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
    std::string plan;          // neurons, blocks: the plan applied, one line each
    scrub_change scrubbed;     // scrub: the largest change made
    std::size_t records = 0;   // in the manifest
    std::size_t tensors = 0;
};

// The Mtd policy that seals (pipeline/mtd_hooks.hpp lists the hooks a disarmer calls), with the
// permutation strategy Strategy and the hash Hash.
template <class Strategy, class Hash = hashes::bundled>
class basic_sealer {
    static_assert((check_strategy<Strategy>(), true));  // one error per failed requirement, no more
    static_assert((check_hash<Hash>(), true));

public:
    static constexpr bool seals = true;
    using strategy_type = std::conditional_t<is_strategy_v<Strategy>, Strategy, strategies::none>;
    using hash_type = std::conditional_t<is_hash_v<Hash>, Hash, hashes::sha256>;
    using digester = basic_digester<hash_type>;

    basic_sealer(const secret_key& key, seal_options options, Strategy strategy = {}, Hash hash = {})
        : key_(key), options_(std::move(options)), strategy_(gated<strategy_type>(std::move(strategy))),
          hash_(gated<hash_type>(std::move(hash))) {}

    [[nodiscard]] bool changes_bytes() const { return strategy_.changes_bytes() || options_.scrub_lsb != 0; }

    status prepare(const pickle::graph& values, const torch::checkpoint& found, torch::storage_keys& keys) {
        if (!options_.permute.empty() && !strategy_.select(options_.permute))
            return error{errc::mtd_unsupported, 0, "a strategy this sealer was built with", options_.permute};
        if (!strategy_name_ok(strategy_.name()))
            return error{errc::mtd_unsupported, 0, "a strategy named by 1 to 32 bytes of a-z, 0-9 and '_'", strategy_.name()};
        if (!options_.hash.empty() && !hash_.select(options_.hash))
            return error{errc::mtd_unsupported, 0, "a hash this sealer was built with", options_.hash};
        if (!strategy_name_ok(hash_.name()))
            return error{errc::mtd_unsupported, 0, "a hash named by 1 to 32 bytes of a-z, 0-9 and '_'", hash_.name()};
        BRINE_TRY(os_random(mutable_byte_view(salt_.data(), salt_.size())));
        found_ = &found;
        summary_ = {};
        manifest_ = {};
        manifest_.hash = std::string(hash_.name());
        manifest_.permute = std::string(strategy_.name());
        manifest_.scrub_lsb = options_.scrub_lsb;
        manifest_.chunk_size = options_.chunk_size;
        manifest_.salt = salt_;
        BRINE_TRY(bind(manifest_));
        storage_record_.assign(found.storages.size(), -1);
        digest_key_ = detail::derive(key_, salt_, "digest");
        hasher_.reset(new chunk_hasher<hash_type>(hash_, digest_key_, options_.chunk_size, options_.jobs));
        if (options_.scrub_lsb != 0) BRINE_TRY(check_scrub(found));
        const strategy_context context{key_, salt_, found, direction::seal, options_.plan, manifest_.plan};
        BRINE_TRY(strategy_.prepare(context, keys));
        summary_.plan = detail::plan_text_of(manifest_.plan);
        manifest_.globals = detail::globals_of(values);
        return {};
    }

    [[nodiscard]] std::size_t order(std::size_t i) const { return strategy_.order(i); }
    [[nodiscard]] std::string_view record_key(const torch::checkpoint& found, std::size_t j) const {
        return strategy_.record_key(found, j);
    }

    template <class Archive>
    status add_record(Archive& archive, std::string_view name, byte_view bytes) {
        if (prefix_.empty()) prefix_ = detail::folder_of(name);
        begin(name, bytes.size());
        hasher_->update(bytes);
        hasher_->end_record();
        return archive.add(name, bytes);
    }

    // Streams storage j to `next`, hashing what is written: as it is, transformed piece by piece,
    // or collected first for a transformation (or scrubbing) that needs the whole storage.
    template <class Sink>
    class storage_sink {
    public:
        storage_sink(basic_sealer& owner, std::size_t j, std::size_t position, Sink& next)
            : owner_(&owner), j_(j), position_(position), next_(&next),
              original_(owner.hash_, owner.digest_key_) {
            if (owner.collects()) buffer_.expected = owner.found_->storages[j].byte_size();
            else if (owner.strategy_.changes_bytes())
                detail::begin_original(original_, position, owner.found_->storages[j].byte_size());
        }
        status write(byte_view bytes) {
            if (owner_->collects()) return buffer_.write(bytes);
            if (!owner_->strategy_.changes_bytes()) return owner_->emit(bytes, *next_);
            original_.update(bytes);
            piece_.assign(bytes.begin(), bytes.end());
            owner_->strategy_.transform_piece(j_, at_, mutable_byte_view(piece_.data(), piece_.size()));
            at_ += bytes.size();
            return owner_->emit(byte_view(piece_.data(), piece_.size()), *next_);
        }
        status finish() {
            if (owner_->collects()) BRINE_TRY(owner_->seal_storage(j_, position_, buffer_.bytes, *next_));
            else if (owner_->strategy_.changes_bytes()) owner_->manifest_.records[position_].original = original_.finish();
            owner_->hasher_->end_record();
            return {};
        }

    private:
        basic_sealer* owner_;
        std::size_t j_, position_;
        Sink* next_;
        digester original_;
        std::uint64_t at_ = 0;
        std::vector<std::uint8_t> piece_;
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
    [[nodiscard]] const strategy_type& strategy() const noexcept { return strategy_; }
    [[nodiscard]] const hash_type& hash() const noexcept { return hash_; }

private:
    // Whether a storage's bytes are collected before they are written.
    [[nodiscard]] bool collects() const { return options_.scrub_lsb != 0 || strategy_.whole_storage(); }

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
        digester d(hash_, digest_key_);
        manifest_.records[position].original = detail::original_digest(d, position, byte_view(data.data(), data.size()));
        if (strategy_.whole_storage()) BRINE_TRY(strategy_.transform(j, data, scratch_));
        else if (strategy_.changes_bytes()) strategy_.transform_piece(j, 0, mutable_byte_view(data.data(), data.size()));
        hashed_sink<Sink> out{this, &next};
        return detail::write_in_pieces(byte_view(data.data(), data.size()), out);
    }

    // Every storage byte written is hashed as written.
    template <class Sink>
    status emit(byte_view bytes, Sink& next) {
        hasher_->update(bytes);
        return next.write(bytes);
    }
    template <class Sink>
    struct hashed_sink {
        basic_sealer* owner;
        Sink* next;
        status write(byte_view bytes) { return owner->emit(bytes, *next); }
    };

    // Chunk digests in, then every digest above them, the manifest text and its tag.
    status complete() {
        const std::vector<std::vector<digest>>& chunks = hasher_->finish();
        digester d(hash_, digest_key_);
        std::vector<bool> storage_position(manifest_.records.size(), false);
        for (const std::int64_t r : storage_record_)
            if (r >= 0) storage_position[static_cast<std::size_t>(r)] = true;
        for (std::size_t i = 0; i < manifest_.records.size(); ++i) {
            manifest_record& r = manifest_.records[i];
            r.chunks = chunks[i];
            r.sealed = detail::record_digest(d, i, r);
            if (!changes_bytes() || !storage_position[i]) r.original = r.sealed;
        }
        // Each tensor as the sealed file reads it: its references may load another storage's record.
        for (const torch::tensor_ref& t : found_->tensors) {
            const std::int64_t record = detail::has_storage(t) ? storage_record_[strategy_.reads_as(t.storage)] : -1;
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
    strategy_type strategy_;
    hash_type hash_;
    digest salt_{};
    digest digest_key_{};  // the key of every digest in the manifest
    const torch::checkpoint* found_ = nullptr;
    manifest manifest_;
    seal_summary summary_;
    std::unique_ptr<chunk_hasher<hash_type>> hasher_;
    std::vector<std::int64_t> storage_record_;
    std::string prefix_;
    std::vector<std::uint8_t> scratch_;
};

// The sealer of the command line and seal_file: any bundled strategy and hash, chosen by the
// options.
using sealer = basic_sealer<strategies::bundled, hashes::bundled>;

}  // namespace mtd
BRINE_NAMESPACE_END
