// SPDX-License-Identifier: MIT
//
// one_of<S...>: a strategy that is one of S... chosen at run time, by the strategy named in the
// seal's options or in the manifest of the file to restore. It is how a command line maps its
// --permute option onto types without erasing them: one instantiation of the sealer, every
// member compiled in, no virtual call. A restorer built on one_of<S...> restores only files
// sealed with one of S... (the others are refused before anything is written).
#pragma once

#include <brine/config.hpp>
#include <brine/core/result.hpp>
#include <brine/mtd/strategy.hpp>

#include <cstddef>
#include <tuple>
#include <utility>

BRINE_NAMESPACE_BEGIN
namespace mtd {
namespace strategies {

template <class... Strategies>
class one_of {
    static_assert(sizeof...(Strategies) > 0, "brine one_of: name at least one strategy");
    static_assert((check_strategy<Strategies>() && ...));

public:
    // The first member of that name.
    [[nodiscard]] bool select(std::string_view name) {
        bool found = false;
        std::size_t i = 0;
        const auto try_member = [&](auto& member) {
            if (!found && member.select(name)) {
                found = true;
                chosen_ = i;
            }
            ++i;
        };
        std::apply([&](auto&... member) { (try_member(member), ...); }, members_);
        return found;
    }
    [[nodiscard]] std::string_view name() const {
        return call([](const auto& s) { return s.name(); });
    }
    status prepare(const strategy_context& context, pickle::graph& values) {
        return call([&](auto& s) { return s.prepare(context, values); });
    }
    [[nodiscard]] std::size_t order(std::size_t i) const {
        return call([&](const auto& s) { return s.order(i); });
    }
    [[nodiscard]] std::string_view record_key(const torch::checkpoint& found, std::size_t j) const {
        return call([&](const auto& s) { return s.record_key(found, j); });
    }
    [[nodiscard]] std::size_t reads_as(std::size_t j) const {
        return call([&](const auto& s) { return s.reads_as(j); });
    }
    [[nodiscard]] bool changes_bytes() const {
        return call([](const auto& s) { return s.changes_bytes(); });
    }
    [[nodiscard]] bool whole_storage() const {
        return call([](const auto& s) { return s.whole_storage(); });
    }
    status transform(std::size_t j, std::vector<std::uint8_t>& data, std::vector<std::uint8_t>& scratch) {
        return call([&](auto& s) { return s.transform(j, data, scratch); });
    }
    void transform_piece(std::size_t j, std::uint64_t at, mutable_byte_view bytes) {
        (void)call([&](auto& s) {
            s.transform_piece(j, at, bytes);
            return true;
        });
    }

private:
    // f applied to the chosen member (all members return the same type).
    template <class F>
    auto call(F&& f) const {
        return call_at(f, members_, std::index_sequence_for<Strategies...>{});
    }
    template <class F>
    auto call(F&& f) {
        return call_at(f, members_, std::index_sequence_for<Strategies...>{});
    }
    template <class F, class Tuple, std::size_t... I>
    auto call_at(F& f, Tuple& members, std::index_sequence<I...>) const {
        decltype(f(std::get<0>(members))) out{};
        ((chosen_ == I ? (void)(out = f(std::get<I>(members))) : (void)0), ...);
        return out;
    }

    std::tuple<Strategies...> members_;
    std::size_t chosen_ = 0;  // before select: the first member
};

}  // namespace strategies
}  // namespace mtd
BRINE_NAMESPACE_END
