// SPDX-License-Identifier: MIT
//
// The hash strategy of a seal: a policy type that makes every digest of the manifest (chunks,
// records, tensors, the architecture, the root). basic_sealer, basic_restorer and basic_verifier
// take one as a template parameter; the bundled ones are in mtd/hashes/ (sha256, hmac_sha256),
// and hashes::one_of<...> picks one of several at run time by the name in the options or the
// manifest.
//
// A Hash H is default-constructible and copyable (each hashing thread works on its own copy),
// and has:
//
//   bool select(std::string_view name)  true when H is (or, for one_of, holds) the hash of that
//                                       name, which then applies; called before key() when the
//                                       options or the manifest name a hash
//   std::string_view name() const       the name written in the manifest: 1 to 32 bytes of a-z,
//                                       0-9, '_'
//   void key(const digest& k)           once, before the first message: the seal's digest key, 32
//                                       bytes derived from the secret key and the salt (a hash
//                                       that is not keyed ignores it)
//   void update(byte_view bytes)        more of the message
//   digest finish()                     the 32-byte digest of the message since key() or the
//                                       previous finish(); the next message starts empty
//
// The manifest's tag is not the Hash's: it is always HMAC-SHA-256 under its own derived key, so
// that a verifier authenticates the manifest, the hash name included, before it trusts anything
// the manifest says (a verifier only runs the hashes its Hash holds; see verify.hpp).
//
// check_hash<H>() states each requirement in its own static_assert; classes built on a Hash go on
// with hashes::sha256 in place of one that fails, so the failed requirement is the one error.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/detect.hpp>
#include <brine/crypto/sha256.hpp>

#include <cstdint>
#include <string_view>
#include <type_traits>

BRINE_NAMESPACE_BEGIN
namespace mtd {

using digest = crypto::sha256_digest;

namespace detail {

template <class H>
using hash_select_op = decltype(std::declval<H&>().select(std::string_view()));
template <class H>
using hash_name_op = decltype(std::declval<const H&>().name());
template <class H>
using hash_key_op = decltype(std::declval<H&>().key(std::declval<const digest&>()));
template <class H>
using hash_update_op = decltype(std::declval<H&>().update(std::declval<byte_view>()));
template <class H>
using hash_finish_op = decltype(std::declval<H&>().finish());

template <class H>
inline constexpr bool hash_has_select = is_detected_exact_v<bool, hash_select_op, H>;
template <class H>
inline constexpr bool hash_has_name = is_detected_exact_v<std::string_view, hash_name_op, H>;
template <class H>
inline constexpr bool hash_has_key = is_detected_v<hash_key_op, H>;
template <class H>
inline constexpr bool hash_has_update = is_detected_v<hash_update_op, H>;
template <class H>
inline constexpr bool hash_has_finish = is_detected_exact_v<digest, hash_finish_op, H>;

}  // namespace detail

// Whether H has every member of a Hash.
template <class H>
inline constexpr bool is_hash_v = std::is_default_constructible_v<H> && std::is_copy_constructible_v<H> &&
                                  detail::hash_has_select<H> && detail::hash_has_name<H> && detail::hash_has_key<H> &&
                                  detail::hash_has_update<H> && detail::hash_has_finish<H>;

// One static_assert per requirement: the first one that fails is the one the compiler reports.
template <class H>
constexpr bool check_hash() {
    static_assert(std::is_default_constructible_v<H>, "brine Hash: must be default-constructible");
    static_assert(std::is_copy_constructible_v<H>, "brine Hash: must be copyable (each hashing thread has a copy)");
    static_assert(detail::hash_has_select<H>, "brine Hash: needs bool select(std::string_view name)");
    static_assert(detail::hash_has_name<H>, "brine Hash: needs std::string_view name() const");
    static_assert(detail::hash_has_key<H>, "brine Hash: needs void key(const mtd::digest&)");
    static_assert(detail::hash_has_update<H>, "brine Hash: needs void update(byte_view)");
    static_assert(detail::hash_has_finish<H>, "brine Hash: needs mtd::digest finish()");
    return is_hash_v<H>;
}

// A hash that is always the one Derived::spelling names.
template <class Derived>
struct named_hash {
    [[nodiscard]] bool select(std::string_view name) const noexcept { return name == Derived::spelling; }
    [[nodiscard]] std::string_view name() const noexcept { return Derived::spelling; }
};

// One digest after another under a Hash, keyed once, with the framing every manifest digest
// uses: numbers as 8 little-endian bytes, strings prefixed with their length.
template <class Hash>
class basic_digester {
public:
    basic_digester(const Hash& chosen, const digest& digest_key) : hash_(chosen) { hash_.key(digest_key); }

    void update(byte_view bytes) { hash_.update(bytes); }
    void update(std::string_view text) { update(as_bytes(text)); }
    void update(const digest& d) { update(byte_view(d.data(), d.size())); }
    void update_u64(std::uint64_t value) {
        std::uint8_t le[8];
        for (int i = 0; i < 8; ++i) le[i] = static_cast<std::uint8_t>(value >> (8 * i));
        update(byte_view(le, 8));
    }
    // A length-prefixed string: "ab"+"c" and "a"+"bc" must not hash alike.
    void update_field(std::string_view text) {
        update_u64(text.size());
        update(text);
    }

    [[nodiscard]] digest finish() { return hash_.finish(); }

private:
    Hash hash_;
};

}  // namespace mtd
BRINE_NAMESPACE_END
