// SPDX-License-Identifier: MIT
//
// one_of<S...>: a strategy that is one of S... chosen at run time, by the strategy named in the
// seal's options or in the manifest of the file to restore. It is how a command line maps its
// --permute option onto types without erasing them: one instantiation of the sealer, every
// member compiled in, no virtual call. A restorer or verifier built on one_of<S...> accepts only
// files sealed with one of S... (the others are refused before anything is written).
#pragma once

#include <brine/config.hpp>
#include <brine/core/result.hpp>
#include <brine/mtd/choice.hpp>
#include <brine/mtd/strategy.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace mtd {
namespace strategies {

template <class... Strategies>
class one_of {
    static_assert((check_strategy<Strategies>() && ...));

public:
    [[nodiscard]] bool select(std::string_view name) { return members_.select(name); }
    [[nodiscard]] std::string_view name() const {
        return members_.call([](const auto& s) { return s.name(); });
    }
    status prepare(const strategy_context& context, torch::storage_keys& keys) {
        return members_.call([&](auto& s) { return s.prepare(context, keys); });
    }
    [[nodiscard]] std::size_t order(std::size_t i) const {
        return members_.call([&](const auto& s) { return s.order(i); });
    }
    [[nodiscard]] std::string_view record_key(const torch::checkpoint& found, std::size_t j) const {
        return members_.call([&](const auto& s) { return s.record_key(found, j); });
    }
    [[nodiscard]] std::size_t reads_as(std::size_t j) const {
        return members_.call([&](const auto& s) { return s.reads_as(j); });
    }
    [[nodiscard]] bool changes_bytes() const {
        return members_.call([](const auto& s) { return s.changes_bytes(); });
    }
    [[nodiscard]] bool whole_storage() const {
        return members_.call([](const auto& s) { return s.whole_storage(); });
    }
    status transform(std::size_t j, std::vector<std::uint8_t>& data, std::vector<std::uint8_t>& scratch) {
        return members_.call([&](auto& s) { return s.transform(j, data, scratch); });
    }
    void transform_piece(std::size_t j, std::uint64_t at, mutable_byte_view bytes) {
        members_.call([&](auto& s) { s.transform_piece(j, at, bytes); });
    }

private:
    detail::choice<Strategies...> members_;
};

}  // namespace strategies
}  // namespace mtd
BRINE_NAMESPACE_END
