// SPDX-License-Identifier: MIT
//
// DEFLATE decompression (RFC 1951 raw streams, as zip's method 8 stores them), bounded for
// hostile input: the output never passes the caller's limit, every malformed stream is an error
// naming the compressed byte where it was detected, and nothing is allocated.
//
//   zip::inflate(in, out, options)            one-shot, into a caller buffer (~12 KiB of stack)
//   zip::inflater                             the same, with its tables in an object you place
//   zip::inflate_stream(source, sink, options) Source -> Sink in fixed memory (~85 KiB of stack)
//   zip::stream_inflater                      the same, in an object you place (~125 KiB)
//
// Decoding accepts exactly what zlib's inflate accepts (incl. its rules on incomplete codes) and
// produces the same bytes.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/error.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/zip/detail/inflate_decoder.hpp>
#include <brine/zip/detail/inflate_input.hpp>
#include <brine/zip/detail/inflate_output.hpp>
#include <brine/zip/detail/inflate_tables.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

BRINE_NAMESPACE_BEGIN
namespace zip {

struct inflate_options {
    // The most bytes the stream may inflate to; more is errc::deflate_output_limit. One-shot
    // decoding is also bounded by the size of its output buffer.
    std::uint64_t max_output = UINT64_MAX;
    // The exact size the output must have (a zip entry's declared size): more or less is
    // errc::deflate_size_mismatch. A size above the output bound fails before decoding.
    std::optional<std::uint64_t> exact_size;
    // Whether input may follow the final block. When refused (the default: zip knows the
    // compressed size exactly), any byte after it is errc::deflate_trailing_data.
    bool allow_trailing_input = false;
};

struct inflate_stats {
    std::uint64_t consumed = 0;  // compressed bytes, up to and including the final block's last bit
    std::uint64_t produced = 0;  // output bytes
};

namespace detail {

// Applies the exact-size option to an output bound, or refuses a declared size that cannot fit.
[[nodiscard]] inline result<output_bound_error> resolve_output_bound(std::uint64_t& limit,
                                                                    const inflate_options& options) noexcept {
    if (!options.exact_size) return output_bound_error{errc::deflate_output_limit, "output within the caller's limit"};
    if (*options.exact_size > limit)
        return error{errc::deflate_output_limit, 0, "a declared output size within the caller's limit"};
    limit = *options.exact_size;
    return output_bound_error{errc::deflate_size_mismatch, "no more output than the declared size"};
}

template <class Input, class Output>
[[nodiscard]] result<inflate_stats> run_inflate(inflate_tables& tables, Input& input, Output& output,
                                                output_bound_error bound, const inflate_options& options) noexcept {
    inflate_decoder<Input, Output> decoder(tables, input, output, bound);
    BRINE_TRY(decoder.decode());
    const inflate_stats stats{decoder.consumed(), decoder.produced()};
    if (!options.allow_trailing_input) {
        result<bool> follows = decoder.input_follows();
        if (!follows) return follows.err();
        if (*follows) return error{errc::deflate_trailing_data, stats.consumed, "the end of the input after the final block"};
    }
    if (options.exact_size && stats.produced != *options.exact_size)
        return error{errc::deflate_size_mismatch, stats.consumed, "as much output as the declared size"};
    BRINE_TRY(decoder.finish_output());
    return stats;
}

}  // namespace detail

// One-shot decoding with reusable tables. `in` and `out` must not overlap. Bytes of `out` past the
// produced size may have been overwritten (the fast path copies whole words), but never past
// out.size() or max_output.
class inflater {
public:
    [[nodiscard]] result<inflate_stats> inflate(byte_view in, mutable_byte_view out,
                                                const inflate_options& options = {}) noexcept {
        std::uint64_t limit = out.size() < options.max_output ? out.size() : options.max_output;
        result<detail::output_bound_error> bound = detail::resolve_output_bound(limit, options);
        if (!bound) return bound.err();
        detail::span_input input(in);
        detail::span_output output(out.data(), static_cast<std::size_t>(limit));
        return detail::run_inflate(tables_, input, output, *bound, options);
    }

private:
    detail::inflate_tables tables_;
};

[[nodiscard]] inline result<inflate_stats> inflate(byte_view in, mutable_byte_view out,
                                                   const inflate_options& options = {}) noexcept {
    inflater decoder;
    return decoder.inflate(in, out, options);
}

// Streaming decoding in fixed memory: compressed bytes are pulled from a Source into an input
// buffer of InputBytes; output collects in a window of 32 KiB history plus FlushBytes and goes to
// the Sink whenever the window fills (and at the end). On error, the sink may already have
// received part of the output. With allow_trailing_input, the source may have been read past the
// stream (stats.consumed says where it ended).
template <std::size_t FlushBytes = 64 * 1024, std::size_t InputBytes = 16 * 1024>
class basic_stream_inflater {
    static_assert(FlushBytes >= 1 && InputBytes >= 1, "the flush area and the input buffer need room");

public:
    template <class Source, class Sink>
    [[nodiscard]] result<inflate_stats> inflate(Source& source, Sink& sink, const inflate_options& options = {}) noexcept {
        static_assert(is_source_v<Source>, "Source needs result<std::size_t> read(std::uint8_t*, std::size_t)");
        static_assert(is_sink_v<Sink>, "Sink needs status write(byte_view)");
        std::uint64_t limit = options.max_output;
        result<detail::output_bound_error> bound = detail::resolve_output_bound(limit, options);
        if (!bound) return bound.err();
        detail::source_input<Source> input(source, input_, InputBytes);
        detail::window_output<Sink> output(sink, window_, sizeof window_, limit);
        return detail::run_inflate(tables_, input, output, *bound, options);
    }

private:
    detail::inflate_tables tables_;
    std::uint8_t window_[detail::deflate_window_size + FlushBytes];
    std::uint8_t input_[InputBytes];
};

using stream_inflater = basic_stream_inflater<>;

// Streaming decoding with its memory on the stack: a smaller window than stream_inflater's, so
// that the stack cost stays moderate (use a stream_inflater object where stacks are small).
template <class Source, class Sink>
[[nodiscard]] result<inflate_stats> inflate_stream(Source& source, Sink& sink,
                                                   const inflate_options& options = {}) noexcept {
    basic_stream_inflater<32 * 1024, 8 * 1024> decoder;
    return decoder.inflate(source, sink, options);
}

}  // namespace zip
BRINE_NAMESPACE_END
