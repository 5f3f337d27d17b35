// SPDX-License-Identifier: MIT
//
// The strategy "records": every storage's record gets an opaque name (the first 8 bytes, in hex,
// of HMAC-SHA-256 under a key derived for "record-names", of the storage's index) and the records
// are written in a keyed order ("record-order"). The file still loads with
// torch.load(weights_only=True), bit-identical, without the key.
//
// Hides: which record holds which tensor's bytes, to a reader of the zip directory alone.
// Does not hide: anything the pickle says (it names each tensor's record), the weights.
// Restore names the records "0", "1"... in order of first reference, as torch.save does.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/crypto/hmac.hpp>
#include <brine/mtd/derive.hpp>
#include <brine/torch/storage_keys.hpp>
#include <brine/mtd/strategy.hpp>

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace mtd {
namespace strategies {

class records : public fixed_strategy<permutation::records> {
public:
    status prepare(const strategy_context& context, torch::storage_keys& keys) {
        const torch::checkpoint& found = context.found;
        if (found.storages.size() > UINT32_MAX) return error{errc::mtd_unsupported, 0, "fewer storages"};
        keys_.clear();
        order_.clear();
        if (context.way == direction::restore) {
            for (std::size_t j = 0; j < found.storages.size(); ++j) keys_.push_back(std::to_string(j));
            return name_records(keys);
        }
        const digest names_key = detail::derive(context.key, context.salt, "record-names");
        for (std::size_t j = 0; j < found.storages.size(); ++j) {
            std::uint8_t index[8];
            for (int b = 0; b < 8; ++b) index[b] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(j) >> (8 * b));
            const digest name = crypto::hmac_sha256::mac(byte_view(names_key.data(), names_key.size()), byte_view(index, 8));
            keys_.push_back(to_hex(byte_view(name.data(), 8)));
        }
        std::unordered_set<std::string_view> distinct(keys_.begin(), keys_.end());
        if (distinct.size() != keys_.size())
            return error{errc::mtd_unsupported, 0, "distinct record names (a 64-bit collision: seal again)"};
        keyed_stream order_stream = detail::stream_for(context.key, context.salt, "record-order");
        order_ = keyed_permutation(static_cast<std::uint32_t>(found.storages.size()), order_stream);
        return name_records(keys);
    }

    [[nodiscard]] std::size_t order(std::size_t i) const noexcept { return order_.empty() ? i : order_[i]; }
    [[nodiscard]] std::string_view record_key(const torch::checkpoint&, std::size_t j) const noexcept { return keys_[j]; }

private:
    status name_records(torch::storage_keys& keys) const {
        for (std::size_t j = 0; j < keys_.size(); ++j) keys.rename(j, keys_[j]);
        return {};
    }

    std::vector<std::string> keys_;
    std::vector<std::uint32_t> order_;  // seal only: restore writes in order of first reference
};

}  // namespace strategies
}  // namespace mtd
BRINE_NAMESPACE_END
