// SPDX-License-Identifier: MIT
//
// Keyed randomness for Moving Target Defense: a deterministic stream of random bytes and integers
// from a 32-byte key, the keyed permutation built from it, and applying and undoing such a
// permutation on an array of fixed-size items (tensor elements, storage records).
//
// Everything here is a file-format contract. A sealed file records no permutation, only what its
// key is derived from; restoring it regenerates the permutation with this code. So the keystream,
// the way integers are read from it, the rejection rule of below() and the order of the shuffle
// must stay exactly as written, or files sealed today would no longer restore tomorrow. The unit
// tests pin known outputs for that reason.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/crypto/chacha20.hpp>
#include <brine/crypto/detail/secure_wipe.hpp>

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace mtd {

// The ChaCha20 keystream of `key` with the all-zero nonce, starting at block 0, read front to
// back. Every method consumes the next bytes of that one keystream:
//   fill(out)    the next out.size() bytes
//   next_u32()   the next 4 bytes as a little-endian integer
//   next_u64()   the next 8 bytes as a little-endian integer
//   below(n)     one or more next_u32() (or next_u64()) draws, see there
// The internal buffer only saves calls into ChaCha20; it never changes which bytes a call gets, so
// any sequence of calls yields the same values whatever the buffer size.
//
// One key must serve one purpose: callers derive a distinct key per use (HKDF from the secret
// key, the seal's salt and the tensor's name), never reuse a stream's key for another stream.
class keyed_stream {
public:
    using key_type = std::array<std::uint8_t, 32>;
    static constexpr std::size_t buffer_size = 256;  // four ChaCha20 blocks, generated together

    explicit keyed_stream(const key_type& key) noexcept : cipher_(key, crypto::chacha20::nonce_type{}, 0) {}

    // A copy continues from the same position with the same values.
    keyed_stream(const keyed_stream&) noexcept = default;
    keyed_stream& operator=(const keyed_stream&) noexcept = default;
    ~keyed_stream() { crypto::detail::secure_wipe(buffer_); }

    void fill(mutable_byte_view out) noexcept {
        std::uint8_t* dst = out.data();
        std::size_t count = out.size();
        while (count != 0) {
            if (used_ == buffer_size) {
                // Empty buffer: large requests go straight from the cipher, small ones refill it.
                if (count >= buffer_size) {
                    cipher_.keystream(mutable_byte_view(dst, count));
                    return;
                }
                refill();
            }
            const std::size_t available = buffer_size - used_;
            const std::size_t take = count < available ? count : available;
            std::memcpy(dst, buffer_.data() + used_, take);
            used_ += take;
            dst += take;
            count -= take;
        }
    }

    [[nodiscard]] std::uint32_t next_u32() noexcept {
        if (BRINE_LIKELY(buffer_size - used_ >= 4)) {
            const std::uint32_t value = load_le32(buffer_.data() + used_);
            used_ += 4;
            return value;
        }
        std::uint8_t bytes[4];
        fill(mutable_byte_view(bytes, sizeof bytes));
        return load_le32(bytes);
    }

    [[nodiscard]] std::uint64_t next_u64() noexcept {
        if (BRINE_LIKELY(buffer_size - used_ >= 8)) {
            const std::uint64_t value = load_le64(buffer_.data() + used_);
            used_ += 8;
            return value;
        }
        std::uint8_t bytes[8];
        fill(mutable_byte_view(bytes, sizeof bytes));
        return load_le64(bytes);
    }

    // A uniformly distributed integer in [0, bound), without modulo bias (Lemire, "Fast Random
    // Integer Generation in an Interval", 2019). Precondition: bound >= 1 (0 returns 0 and draws
    // nothing). The exact rule, part of the format:
    //
    //   bound <= 2^32 - 1:  x = next_u32(); m = x * bound (64-bit product); while the low 32 bits
    //                       of m are below (2^32 - bound) mod bound, draw x again and recompute m;
    //                       the result is m >> 32. (At least one draw, also for bound 1.)
    //   bound == 2^32:      next_u32().
    //   bound >  2^32:      the same rule as the first with next_u64(), a 128-bit product,
    //                       threshold (2^64 - bound) mod bound, result m >> 64.
    //
    // Rejection is rare: the probability of another draw is below bound / 2^32 (or / 2^64).
    [[nodiscard]] std::uint64_t below(std::uint64_t bound) noexcept {
        if (bound == 0) return 0;
        constexpr std::uint64_t two_32 = std::uint64_t{1} << 32;
        if (bound < two_32) return below32(static_cast<std::uint32_t>(bound));
        if (bound == two_32) return next_u32();
        return below64(bound);
    }

private:
    void refill() noexcept {
        cipher_.keystream(mutable_byte_view(buffer_.data(), buffer_.size()));
        used_ = 0;
    }

    std::uint32_t below32(std::uint32_t bound) noexcept {
        std::uint64_t product = std::uint64_t{next_u32()} * bound;
        std::uint32_t low = static_cast<std::uint32_t>(product);
        if (low < bound) {
            const std::uint32_t threshold = static_cast<std::uint32_t>(0u - bound) % bound;
            while (low < threshold) {
                product = std::uint64_t{next_u32()} * bound;
                low = static_cast<std::uint32_t>(product);
            }
        }
        return static_cast<std::uint32_t>(product >> 32);
    }

    // The full 128-bit product of two 64-bit numbers as (high, low), in portable arithmetic on
    // 32-bit halves (this path only serves bounds above 2^32, where speed hardly matters).
    static void multiply_64(std::uint64_t a, std::uint64_t b, std::uint64_t& high, std::uint64_t& low) noexcept {
        const std::uint64_t mask = 0xFFFFFFFFu;
        const std::uint64_t a_lo = a & mask, a_hi = a >> 32;
        const std::uint64_t b_lo = b & mask, b_hi = b >> 32;
        const std::uint64_t lo_lo = a_lo * b_lo;
        const std::uint64_t hi_lo = a_hi * b_lo;
        const std::uint64_t lo_hi = a_lo * b_hi;
        const std::uint64_t hi_hi = a_hi * b_hi;
        const std::uint64_t middle = (lo_lo >> 32) + (hi_lo & mask) + (lo_hi & mask);
        low = (middle << 32) | (lo_lo & mask);
        high = hi_hi + (hi_lo >> 32) + (lo_hi >> 32) + (middle >> 32);
    }

    std::uint64_t below64(std::uint64_t bound) noexcept {
        std::uint64_t high = 0, low = 0;
        multiply_64(next_u64(), bound, high, low);
        if (low < bound) {
            const std::uint64_t threshold = (0u - bound) % bound;
            while (low < threshold) multiply_64(next_u64(), bound, high, low);
        }
        return high;
    }

    crypto::chacha20 cipher_;
    std::array<std::uint8_t, buffer_size> buffer_{};
    std::size_t used_ = buffer_size;  // bytes of buffer_ already consumed
};

// The keyed permutation of {0, ..., n-1}, as the vector p (p[k] is the element placed at k by
// permute_items). The exact algorithm, part of the format (Fisher–Yates, Durstenfeld's order):
//
//   p[k] = k for every k
//   for i = n-1, n-2, ..., 1:
//       j = stream.below(i + 1)       (so 0 <= j <= i; one or more 32-bit draws, see below())
//       swap p[i] and p[j]
//
// n = 0 and n = 1 draw nothing. Every permutation is equally likely (given uniform draws). The
// stream is left positioned after the last draw, so a caller may go on using it; the usual
// caller dedicates a fresh stream to each permutation.
[[nodiscard]] inline std::vector<std::uint32_t> keyed_permutation(std::uint32_t n, keyed_stream& stream) {
    std::vector<std::uint32_t> p(n);
    for (std::uint32_t k = 0; k < n; ++k) p[k] = k;
    for (std::uint32_t i = n < 2 ? 0 : n - 1; i >= 1; --i) {
        const auto j = static_cast<std::uint32_t>(stream.below(std::uint64_t{i} + 1));
        std::swap(p[i], p[j]);
    }
    return p;
}

namespace detail {

// out item k = in item p[k]; a fixed item size lets memcpy become one or two moves.
template <std::size_t Size>
void gather_items(const std::uint8_t* in, std::uint8_t* out, const std::uint32_t* p, std::size_t count) noexcept {
    for (std::size_t k = 0; k < count; ++k) std::memcpy(out + k * Size, in + std::size_t{p[k]} * Size, Size);
}
inline void gather_items(const std::uint8_t* in, std::uint8_t* out, const std::uint32_t* p, std::size_t count,
                         std::size_t size) noexcept {
    for (std::size_t k = 0; k < count; ++k) std::memcpy(out + k * size, in + std::size_t{p[k]} * size, size);
}

// out item p[k] = in item k.
template <std::size_t Size>
void scatter_items(const std::uint8_t* in, std::uint8_t* out, const std::uint32_t* p, std::size_t count) noexcept {
    for (std::size_t k = 0; k < count; ++k) std::memcpy(out + std::size_t{p[k]} * Size, in + k * Size, Size);
}
inline void scatter_items(const std::uint8_t* in, std::uint8_t* out, const std::uint32_t* p, std::size_t count,
                          std::size_t size) noexcept {
    for (std::size_t k = 0; k < count; ++k) std::memcpy(out + std::size_t{p[k]} * size, in + k * size, size);
}

// Whether the sizes agree: in and out hold exactly p.size() items of item_size bytes each.
[[nodiscard]] inline bool items_fit(byte_view in, mutable_byte_view out, std::size_t item_size,
                                    std::size_t count) noexcept {
    if (in.size() != out.size()) return false;
    if (item_size == 0) return in.size() == 0;
    return in.size() % item_size == 0 && in.size() / item_size == count;
}

}  // namespace detail

// Applies permutation `p` to an array of items: out item k = in item p[k], for every k.
// Preconditions (asserted in debug builds): p is a permutation of {0, ..., p.size()-1} (as
// keyed_permutation returns), in.size() == out.size() == p.size() * item_size, and in and out
// do not overlap. With sizes that disagree nothing is written.
inline void permute_items(byte_view in, mutable_byte_view out, std::size_t item_size,
                          const std::vector<std::uint32_t>& p) noexcept {
    const bool fits = detail::items_fit(in, out, item_size, p.size());
    assert(fits && "permute_items: in and out must hold p.size() items each");
    if (!fits || p.empty()) return;
    const std::uint8_t* src = in.data();
    std::uint8_t* dst = out.data();
    switch (item_size) {
        case 1: detail::gather_items<1>(src, dst, p.data(), p.size()); break;
        case 2: detail::gather_items<2>(src, dst, p.data(), p.size()); break;
        case 4: detail::gather_items<4>(src, dst, p.data(), p.size()); break;
        case 8: detail::gather_items<8>(src, dst, p.data(), p.size()); break;
        case 16: detail::gather_items<16>(src, dst, p.data(), p.size()); break;
        default: detail::gather_items(src, dst, p.data(), p.size(), item_size); break;
    }
}

// Undoes permute_items with the same `p`: out item p[k] = in item k, for every k. Same
// preconditions.
inline void unpermute_items(byte_view in, mutable_byte_view out, std::size_t item_size,
                            const std::vector<std::uint32_t>& p) noexcept {
    const bool fits = detail::items_fit(in, out, item_size, p.size());
    assert(fits && "unpermute_items: in and out must hold p.size() items each");
    if (!fits || p.empty()) return;
    const std::uint8_t* src = in.data();
    std::uint8_t* dst = out.data();
    switch (item_size) {
        case 1: detail::scatter_items<1>(src, dst, p.data(), p.size()); break;
        case 2: detail::scatter_items<2>(src, dst, p.data(), p.size()); break;
        case 4: detail::scatter_items<4>(src, dst, p.data(), p.size()); break;
        case 8: detail::scatter_items<8>(src, dst, p.data(), p.size()); break;
        case 16: detail::scatter_items<16>(src, dst, p.data(), p.size()); break;
        default: detail::scatter_items(src, dst, p.data(), p.size(), item_size); break;
    }
}

}  // namespace mtd
BRINE_NAMESPACE_END
