// SPDX-License-Identifier: MIT
//
// One of several policy types, picked at run time by name: what strategies::one_of and
// hashes::one_of are made of. Every member is compiled in and called directly (no virtual call):
// a command line maps its options onto types without erasing them.
#pragma once

#include <brine/config.hpp>

#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

BRINE_NAMESPACE_BEGIN
namespace mtd {
namespace detail {

template <class... Members>
class choice {
    static_assert(sizeof...(Members) > 0, "brine one_of: name at least one member");

public:
    // Picks the first member that selects `name`; false (and the choice unchanged) when none does.
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

    // f applied to the chosen member (before any select: the first). Every member's f must
    // return the same type.
    template <class F>
    decltype(auto) call(F&& f) const {
        return call_at(f, members_, std::index_sequence_for<Members...>{});
    }
    template <class F>
    decltype(auto) call(F&& f) {
        return call_at(f, members_, std::index_sequence_for<Members...>{});
    }

private:
    template <class F, class Tuple, std::size_t... I>
    auto call_at(F& f, Tuple& members, std::index_sequence<I...>) const {
        using out_type = decltype(f(std::get<0>(members)));
        if constexpr (std::is_void_v<out_type>) {
            ((chosen_ == I ? f(std::get<I>(members)) : void()), ...);
        } else {
            out_type out{};
            ((chosen_ == I ? (void)(out = f(std::get<I>(members))) : void()), ...);
            return out;
        }
    }

    std::tuple<Members...> members_;
    std::size_t chosen_ = 0;
};

}  // namespace detail
}  // namespace mtd
BRINE_NAMESPACE_END
