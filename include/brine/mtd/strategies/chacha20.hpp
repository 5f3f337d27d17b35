// SPDX-License-Identifier: MIT
//
// The strategy "chacha20": confidentiality at rest. Every storage's bytes are XORed with a
// ChaCha20 keystream (RFC 8439) under a key derived for "chacha20/<storage index>" and the nonce
// 0, so no two storages or seals share a keystream (each seal has its own salt). The seal's
// chunk digests cover the ciphertext; the record's ORIGINAL digest covers the plaintext, and
// restore checks both.
//
// Hides: the weights and their value sets (a stolen file holds uniformly random bytes where the
// weights were: rank-matching against a close model finds nothing to match). Does not hide: the
// architecture (names, shapes, dtypes, the pickle), the storages' sizes, and sparse index
// structures (COO indices, CSR row pointers and column indices), which stay in clear because
// torch validates them on load. Not an AEAD by itself: the seal's MAC is what authenticates.
//
// The file still loads in torch.load(weights_only=True), with noise for weights. Streams: no
// storage is held in memory. At most 2^32 ChaCha20 blocks (256 GiB) per storage.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/crypto/chacha20.hpp>
#include <brine/crypto/detail/secure_wipe.hpp>
#include <brine/mtd/derive.hpp>
#include <brine/mtd/describe.hpp>
#include <brine/mtd/strategy.hpp>

#include <cstdint>
#include <optional>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace mtd {
namespace strategies {

class chacha20 : public fixed_strategy<permutation::chacha20> {
public:
    static constexpr std::uint64_t max_storage_bytes = (std::uint64_t{1} << 32) * crypto::chacha20::block_size;

    status prepare(const strategy_context& context, torch::storage_keys&) {
        key_ = &context.key;
        salt_ = context.salt;
        kept_ = detail::index_storages(context.found);
        cipher_.reset();
        for (const torch::storage_ref& s : context.found.storages)
            if (s.byte_size() > max_storage_bytes)
                return error{errc::mtd_unsupported, 0, "storages of at most 256 GiB to encrypt", s.key};
        return {};
    }

    [[nodiscard]] bool changes_bytes() const noexcept { return true; }

    // The same XOR seals and restores. Pieces come in order: one cipher per storage, moved on.
    void transform_piece(std::size_t j, std::uint64_t at, mutable_byte_view bytes) {
        if (j < kept_.size() && kept_[j]) return;
        if (!cipher_ || j != storage_ || at != next_) start(j, at);
        cipher_->apply(bytes);
        next_ = at + bytes.size();
    }

private:
    void start(std::size_t j, std::uint64_t at) {
        digest key = detail::derive(*key_, salt_, detail::indexed("chacha20", j));
        crypto::chacha20::key_type k{};
        for (std::size_t i = 0; i < k.size(); ++i) k[i] = key[i];
        cipher_.emplace(k, crypto::chacha20::nonce_type{}, static_cast<std::uint32_t>(at / crypto::chacha20::block_size));
        crypto::detail::secure_wipe(key);
        crypto::detail::secure_wipe(k);
        std::uint8_t skip[crypto::chacha20::block_size];
        cipher_->keystream(mutable_byte_view(skip, static_cast<std::size_t>(at % crypto::chacha20::block_size)));
        crypto::detail::secure_wipe(skip);
        storage_ = j;
    }

    const secret_key* key_ = nullptr;
    digest salt_{};
    std::vector<bool> kept_;
    std::optional<crypto::chacha20> cipher_;
    std::size_t storage_ = 0;
    std::uint64_t next_ = 0;
};

}  // namespace strategies
}  // namespace mtd
BRINE_NAMESPACE_END
