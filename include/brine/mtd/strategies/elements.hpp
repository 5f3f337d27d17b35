// SPDX-License-Identifier: MIT
//
// The strategy "elements": each storage's elements are shuffled by a Fisher-Yates permutation
// drawn from a ChaCha20 stream keyed for "elements/<storage index>". The file loads, but every
// tensor holds its values in an order only the key undoes.
//
// Hides: which value sits where. Does not hide: the multiset of each storage's values, so an
// attacker holding a close model (the base of a fine-tune) recovers a working model by matching
// ranks, storage by storage; use chacha20 when that matters. Sparse index structures (COO
// indices, CSR row pointers and column indices) stay in place: torch validates them on load.
//
// Memory: one storage, twice, plus 4 bytes per element for the permutation.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/mtd/derive.hpp>
#include <brine/mtd/describe.hpp>
#include <brine/mtd/keyed_stream.hpp>
#include <brine/mtd/strategy.hpp>
#include <brine/torch/dtype.hpp>

#include <cstdint>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace mtd {
namespace strategies {

class elements : public fixed_strategy<permutation::elements> {
public:
    status prepare(const strategy_context& context, torch::storage_keys&) {
        key_ = &context.key;
        salt_ = context.salt;
        found_ = &context.found;
        inverse_ = context.way == direction::restore;
        kept_ = detail::index_storages(context.found);
        return {};
    }

    [[nodiscard]] bool changes_bytes() const noexcept { return true; }
    [[nodiscard]] bool whole_storage() const noexcept { return true; }

    status transform(std::size_t j, std::vector<std::uint8_t>& data, std::vector<std::uint8_t>& scratch) {
        if (kept_[j]) return {};
        const torch::storage_ref& storage = found_->storages[j];
        const std::size_t item = torch::info(storage.type).item_size;
        const std::uint64_t count = data.size() / item;
        if (count > UINT32_MAX)
            return error{errc::mtd_unsupported, 0, "storages of at most 2^32 - 1 elements to permute", storage.key};
        keyed_stream stream = detail::stream_for(*key_, salt_, detail::indexed("elements", j));
        const std::vector<std::uint32_t> p = keyed_permutation(static_cast<std::uint32_t>(count), stream);
        scratch.resize(data.size());
        const byte_view in(data.data(), data.size());
        const mutable_byte_view out(scratch.data(), scratch.size());
        if (inverse_) unpermute_items(in, out, item, p);
        else permute_items(in, out, item, p);
        data.swap(scratch);
        return {};
    }

private:
    const secret_key* key_ = nullptr;
    digest salt_{};
    const torch::checkpoint* found_ = nullptr;
    bool inverse_ = false;
    std::vector<bool> kept_;
};

}  // namespace strategies
}  // namespace mtd
BRINE_NAMESPACE_END
