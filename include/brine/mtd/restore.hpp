// SPDX-License-Identifier: MIT
//
// Restoring a sealed file whose manifest verified: the strategy undone, every byte written
// checked against the seal's digests as it passes, no manifest in the output. Scrubbed bits are
// not restored (they are gone).
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/detect.hpp>
#include <brine/core/result.hpp>
#include <brine/mtd/derive.hpp>
#include <brine/mtd/describe.hpp>
#include <brine/mtd/digest.hpp>
#include <brine/mtd/hash.hpp>
#include <brine/mtd/hashes/bundled.hpp>
#include <brine/mtd/key.hpp>
#include <brine/mtd/manifest.hpp>
#include <brine/mtd/strategies/bundled.hpp>
#include <brine/mtd/strategy.hpp>
#include <brine/pickle/value.hpp>
#include <brine/torch/checkpoint.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace mtd {
namespace detail {

// Recomputes one sealed record's chunk digests from its bytes as they stream past, and compares
// each with the manifest's as soon as the chunk is complete. Bytes that changed after verify (a
// writer with the file open) are caught while they are copied; the last chunk closes when the
// record's last byte arrives, so the change is named here rather than by the archive's CRC check.
template <class Hash>
class chunk_check {
public:
    chunk_check(const Hash& chosen, const digest& digest_key, const manifest& sealed, std::size_t position)
        : d_(chosen, digest_key), record_(&sealed.records[position]), chunk_size_(sealed.chunk_size),
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

    basic_digester<Hash> d_;
    const manifest_record* record_;
    std::uint64_t chunk_size_;
    std::uint64_t position_;
    std::uint64_t chunk_ = 0, filled_ = 0, seen_ = 0;
};
}  // namespace detail

// The Mtd policy that restores, with the permutation strategy Strategy and the hash Hash: a file
// sealed with a strategy or a hash they do not select is refused before anything is written.
template <class Strategy, class Hash = hashes::bundled>
class basic_restorer {
    static_assert((check_strategy<Strategy>(), true));  // one error per failed requirement, no more
    static_assert((check_hash<Hash>(), true));

public:
    static constexpr bool seals = true;
    using strategy_type = std::conditional_t<is_strategy_v<Strategy>, Strategy, strategies::none>;
    using hash_type = std::conditional_t<is_hash_v<Hash>, Hash, hashes::sha256>;
    using digester = basic_digester<hash_type>;

    basic_restorer(const secret_key& key, manifest sealed, Strategy strategy = {}, Hash hash = {})
        : key_(key), manifest_(std::move(sealed)), strategy_(gated<strategy_type>(std::move(strategy))),
          hash_(gated<hash_type>(std::move(hash))) {}

    [[nodiscard]] bool changes_bytes() const { return strategy_.changes_bytes(); }

    status prepare(const pickle::graph& values, const torch::checkpoint& found, torch::storage_keys& keys) {
        if (!strategy_.select(manifest_.permute))
            return error{errc::mtd_unsupported, 0, "a file sealed with a strategy this restorer was built with",
                         manifest_.permute};
        if (!hash_.select(manifest_.hash))
            return error{errc::mtd_unsupported, 0, "a file sealed with a hash this restorer was built with", manifest_.hash};
        found_ = &found;
        digest_key_ = detail::derive(key_, manifest_.salt, "digest");
        position_.assign(found.storages.size(), 0);
        const std::string prefix = manifest_.records.empty() ? std::string() : detail::folder_of(manifest_.records[0].name);
        std::unordered_map<std::string_view, std::size_t> sealed;
        for (std::size_t i = 0; i < manifest_.records.size(); ++i) sealed.emplace(manifest_.records[i].name, i);
        for (std::size_t j = 0; j < found.storages.size(); ++j) {
            const std::string name = prefix + "/data/" + std::string(found.storages[j].key);
            const auto it = sealed.find(name);
            if (it == sealed.end()) return error{errc::mtd_tampered, 0, "every storage's record listed in the manifest", name};
            position_[j] = it->second;
        }
        const strategy_context context{key_, manifest_.salt, found, direction::restore, std::string_view(), manifest_.plan};
        (void)values;
        return strategy_.prepare(context, keys);
    }

    [[nodiscard]] std::size_t order(std::size_t i) const { return strategy_.order(i); }
    [[nodiscard]] std::string_view record_key(const torch::checkpoint& found, std::size_t j) const {
        return strategy_.record_key(found, j);
    }
    template <class Archive>
    status add_record(Archive& archive, std::string_view name, byte_view bytes) {
        return archive.add(name, bytes);
    }

    // Storage j on its way out. Sealed bytes are checked against the sealed chunk digests as they
    // pass; bytes transformed back are checked against the digest taken before sealing (it covers
    // every byte) once the storage is complete. Either way every byte written is one the seal
    // vouches for, however the file changed after verify.
    template <class Sink>
    class storage_sink {
    public:
        storage_sink(basic_restorer& owner, std::size_t j, Sink& next)
            : owner_(&owner), j_(j), next_(&next), check_(owner.hash_, owner.digest_key_, owner.manifest_, owner.position_[j]),
              original_(owner.hash_, owner.digest_key_) {
            const std::uint64_t size = owner.found_->storages[j].byte_size();
            if (owner.strategy_.whole_storage()) buffer_.expected = size;
            else if (owner.strategy_.changes_bytes()) detail::begin_original(original_, owner.position_[j], size);
        }
        status write(byte_view bytes) {
            if (owner_->strategy_.whole_storage()) return buffer_.write(bytes);
            BRINE_TRY(check_.write(bytes));
            if (!owner_->strategy_.changes_bytes()) return next_->write(bytes);
            piece_.assign(bytes.begin(), bytes.end());
            owner_->strategy_.transform_piece(j_, at_, mutable_byte_view(piece_.data(), piece_.size()));
            at_ += bytes.size();
            original_.update(byte_view(piece_.data(), piece_.size()));
            return next_->write(byte_view(piece_.data(), piece_.size()));
        }
        status finish() {
            if (owner_->strategy_.whole_storage()) return owner_->restore_storage(j_, buffer_.bytes, *next_);
            BRINE_TRY(check_.finish());
            if (owner_->strategy_.changes_bytes()) return owner_->check_original(j_, original_.finish());
            return {};
        }

    private:
        basic_restorer* owner_;
        std::size_t j_;
        Sink* next_;
        detail::chunk_check<hash_type> check_;
        digester original_;
        std::uint64_t at_ = 0;
        std::vector<std::uint8_t> piece_;
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
    [[nodiscard]] const strategy_type& strategy() const noexcept { return strategy_; }
    [[nodiscard]] const hash_type& hash() const noexcept { return hash_; }

private:
    status check_original(std::size_t j, const digest& restored) const {
        const manifest_record& record = manifest_.records[position_[j]];
        if (restored != record.original)
            return error{errc::mtd_tampered, 0, "restored bytes equal to the bytes before sealing", record.name};
        return {};
    }

    // Undoes the transformation and checks the result against the digest taken before sealing.
    template <class Sink>
    status restore_storage(std::size_t j, std::vector<std::uint8_t>& data, Sink& next) {
        const torch::storage_ref& storage = found_->storages[j];
        if (data.size() != storage.byte_size())
            return error{errc::torch_record_size, data.size(), "numel x item size storage bytes", storage.key};
        BRINE_TRY(strategy_.transform(j, data, scratch_));
        digester d(hash_, digest_key_);
        BRINE_TRY(check_original(j, detail::original_digest(d, position_[j], byte_view(data.data(), data.size()))));
        return detail::write_in_pieces(byte_view(data.data(), data.size()), next);
    }

    secret_key key_;
    manifest manifest_;
    strategy_type strategy_;
    hash_type hash_;
    digest digest_key_{};  // the key of every digest in the manifest
    const torch::checkpoint* found_ = nullptr;
    std::vector<std::size_t> position_;
    std::vector<std::uint8_t> scratch_;
};

// The restorer of the command line and restore_file: every bundled strategy and hash.
using restorer = basic_restorer<strategies::bundled, hashes::bundled>;

}  // namespace mtd
BRINE_NAMESPACE_END
