// SPDX-License-Identifier: MIT
//
// The permutation strategy of a seal: a policy type that decides where each storage's bytes go
// and what they look like in the sealed file, and undoes it on restore. basic_sealer and
// basic_restorer (seal.hpp, restore.hpp) take one as their template parameter; the bundled ones
// are in mtd/strategies/, and one_of<...> (strategies/one_of.hpp) picks one of several at run
// time by the name in the options or the manifest.
//
// A Strategy S is default-constructible and has:
//
//   bool select(std::string_view name)  true when S is (or, for one_of, holds) the strategy of that
//                                       name, which then applies; called before prepare when the
//                                       options or the manifest name a strategy
//   std::string_view name() const       the name of the strategy that applies, written in the
//                                       manifest: 1 to 32 bytes of a-z, 0-9, '_' (the bundled
//                                       strategies' names are to_string(permutation))
//   status prepare(const strategy_context&, torch::storage_keys& keys)
//                                       before anything is written, once per file: may name the
//                                       key each storage's persistent ids give in the output
//                                       (keys.rename; the disarmer applies it, the judged value
//                                       is never the strategy's to edit), may read (restore) or
//                                       write (seal) the plan lines of the manifest
//   std::size_t order(std::size_t i) const
//                                       the storage written i-th
//   std::string_view record_key(const torch::checkpoint&, std::size_t j) const
//                                       the key of storage j's record in the output
//   std::size_t reads_as(std::size_t j) const
//                                       the storage whose bytes a reference to storage j loads
//                                       in the output (j unless references were redirected)
//   bool changes_bytes() const          whether storage bytes are transformed
//   bool whole_storage() const          whether the transformation needs a storage's bytes at
//                                       once (transform); else it goes piece by piece
//                                       (transform_piece), streaming
//   status transform(std::size_t j, std::vector<std::uint8_t>& data, std::vector<std::uint8_t>& scratch)
//                                       storage j's bytes, transformed in place (seal) or back
//                                       (restore), as prepare's context said
//   void transform_piece(std::size_t j, std::uint64_t at, mutable_byte_view bytes)
//                                       the bytes of storage j from offset `at`, transformed in
//                                       place; pieces come in order
//
// strategy_base supplies the identity for every member but name/select, so a strategy states only
// what it changes. check_strategy<S>() states each requirement in its own static_assert; classes
// built on a strategy go on with strategies::none in place of one that fails, so that the failed
// requirement is the one error reported.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/detect.hpp>
#include <brine/core/result.hpp>
#include <brine/mtd/derive.hpp>
#include <brine/mtd/digest.hpp>
#include <brine/mtd/key.hpp>
#include <brine/mtd/manifest.hpp>
#include <brine/pickle/value.hpp>
#include <brine/torch/checkpoint.hpp>
#include <brine/torch/storage_keys.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace mtd {

enum class direction : std::uint8_t { seal, restore };

// What a strategy's prepare() sees. Every reference is valid until the file is written.
struct strategy_context {
    const secret_key& key;
    const digest& salt;
    const torch::checkpoint& found;        // seal: the input's storages and tensors; restore: the sealed file's
    direction way;
    std::string_view plan_text;            // seal: the plan the user gave (neurons); may be empty
    std::vector<std::string>& plan_lines;  // seal: written to the manifest; restore: as the manifest has them
};

// The key for one purpose of the strategy, derived from the secret key and the seal's salt
// (HKDF-SHA-256, mtd/derive.hpp): give each purpose its own label, e.g. "xor/" + storage index.
[[nodiscard]] inline digest derive_key(const strategy_context& context, std::string_view label) {
    return detail::derive(context.key, context.salt, label);
}

// The identity in every respect: a strategy derives from it and hides what it changes.
struct strategy_base {
    [[nodiscard]] std::size_t order(std::size_t i) const noexcept { return i; }
    [[nodiscard]] std::string_view record_key(const torch::checkpoint& found, std::size_t j) const noexcept {
        return found.storages[j].key;
    }
    [[nodiscard]] std::size_t reads_as(std::size_t j) const noexcept { return j; }
    [[nodiscard]] bool changes_bytes() const noexcept { return false; }
    [[nodiscard]] bool whole_storage() const noexcept { return false; }
    status transform(std::size_t, std::vector<std::uint8_t>&, std::vector<std::uint8_t>&) { return {}; }
    void transform_piece(std::size_t, std::uint64_t, mutable_byte_view) noexcept {}
};

// A strategy that is always the bundled strategy K.
template <permutation K>
struct fixed_strategy : strategy_base {
    [[nodiscard]] bool select(std::string_view name) const noexcept { return name == to_string(K); }
    [[nodiscard]] std::string_view name() const noexcept { return to_string(K); }
};

namespace detail {

template <class S>
using select_op = decltype(std::declval<S&>().select(std::string_view()));
template <class S>
using name_op = decltype(std::declval<const S&>().name());
template <class S>
using prepare_op = decltype(std::declval<S&>().prepare(std::declval<const strategy_context&>(), std::declval<torch::storage_keys&>()));
template <class S>
using order_op = decltype(std::declval<const S&>().order(std::size_t{}));
template <class S>
using record_key_op = decltype(std::declval<const S&>().record_key(std::declval<const torch::checkpoint&>(), std::size_t{}));
template <class S>
using reads_as_op = decltype(std::declval<const S&>().reads_as(std::size_t{}));
template <class S>
using changes_bytes_op = decltype(std::declval<const S&>().changes_bytes());
template <class S>
using whole_storage_op = decltype(std::declval<const S&>().whole_storage());
template <class S>
using transform_op = decltype(std::declval<S&>().transform(std::size_t{}, std::declval<std::vector<std::uint8_t>&>(),
                                                           std::declval<std::vector<std::uint8_t>&>()));
template <class S>
using transform_piece_op =
    decltype(std::declval<S&>().transform_piece(std::size_t{}, std::uint64_t{}, std::declval<mutable_byte_view>()));

template <class S>
inline constexpr bool has_select = is_detected_exact_v<bool, select_op, S>;
template <class S>
inline constexpr bool has_name = is_detected_exact_v<std::string_view, name_op, S>;
template <class S>
inline constexpr bool has_prepare = is_detected_exact_v<status, prepare_op, S>;
template <class S>
inline constexpr bool has_order = is_detected_exact_v<std::size_t, order_op, S>;
template <class S>
inline constexpr bool has_record_key = is_detected_exact_v<std::string_view, record_key_op, S>;
template <class S>
inline constexpr bool has_reads_as = is_detected_exact_v<std::size_t, reads_as_op, S>;
template <class S>
inline constexpr bool has_byte_flags =
    is_detected_exact_v<bool, changes_bytes_op, S> && is_detected_exact_v<bool, whole_storage_op, S>;
template <class S>
inline constexpr bool has_transform = is_detected_exact_v<status, transform_op, S>;
template <class S>
inline constexpr bool has_transform_piece = is_detected_v<transform_piece_op, S>;

}  // namespace detail

// Whether S has every member of a Strategy.
template <class S>
inline constexpr bool is_strategy_v =
    std::is_default_constructible_v<S> && detail::has_select<S> && detail::has_name<S> &&
    detail::has_prepare<S> && detail::has_order<S> && detail::has_record_key<S> &&
    detail::has_reads_as<S> && detail::has_byte_flags<S> && detail::has_transform<S> &&
    detail::has_transform_piece<S>;

// One static_assert per requirement: the first one that fails is the one the compiler reports.
template <class S>
constexpr bool check_strategy() {
    static_assert(std::is_default_constructible_v<S>, "brine Strategy: must be default-constructible");
    static_assert(detail::has_select<S>, "brine Strategy: needs bool select(std::string_view name)");
    static_assert(detail::has_name<S>, "brine Strategy: needs std::string_view name() const");
    static_assert(detail::has_prepare<S>,
                  "brine Strategy: needs status prepare(const mtd::strategy_context&, torch::storage_keys&)");
    static_assert(detail::has_order<S>, "brine Strategy: needs std::size_t order(std::size_t) const");
    static_assert(detail::has_record_key<S>,
                  "brine Strategy: needs std::string_view record_key(const torch::checkpoint&, std::size_t) const");
    static_assert(detail::has_reads_as<S>, "brine Strategy: needs std::size_t reads_as(std::size_t) const");
    static_assert(detail::has_byte_flags<S>,
                  "brine Strategy: needs bool changes_bytes() const and bool whole_storage() const");
    static_assert(detail::has_transform<S>,
                  "brine Strategy: needs status transform(std::size_t, std::vector<std::uint8_t>&, "
                  "std::vector<std::uint8_t>&)");
    static_assert(detail::has_transform_piece<S>,
                  "brine Strategy: needs void transform_piece(std::size_t, std::uint64_t, mutable_byte_view)");
    return is_strategy_v<S>;
}

}  // namespace mtd
BRINE_NAMESPACE_END
