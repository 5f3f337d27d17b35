// libFuzzer harness for the DEFLATE decoder. The first byte chooses the options and the streaming
// geometry; the rest is the raw stream. It is decoded one-shot into a bounded buffer and streamed
// through small chunks and a small window: both must succeed or fail alike (same error code and
// offset), with the same output, and never exceed the output limit.
#include <brine/zip/inflate.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {

using namespace brine;

constexpr std::size_t large_limit = 256 * 1024;
constexpr std::size_t small_limit = 1000;

// Exactly sized heap buffers, so that ASan sees a write past their end.
std::uint8_t* const one_shot_output = new std::uint8_t[large_limit];
std::uint8_t* const streamed_output = new std::uint8_t[large_limit];

class chunked_source {
public:
    chunked_source(byte_view data, std::size_t chunk) noexcept : data_(data), chunk_(chunk) {}
    result<std::size_t> read(std::uint8_t* dst, std::size_t max) noexcept {
        std::size_t n = data_.size() - pos_;
        if (n > max) n = max;
        if (n > chunk_) n = chunk_;
        if (n != 0) std::memcpy(dst, data_.data() + pos_, n);
        pos_ += n;
        return n;
    }

private:
    byte_view data_;
    std::size_t chunk_;
    std::size_t pos_ = 0;
};

class bounded_sink {
public:
    bounded_sink(std::uint8_t* buffer, std::size_t capacity) noexcept : buffer_(buffer), capacity_(capacity) {}
    status write(byte_view bytes) noexcept {
        if (bytes.size() > capacity_ - size_) std::abort();  // the decoder let output pass its limit
        std::memcpy(buffer_ + size_, bytes.data(), bytes.size());
        size_ += bytes.size();
        return {};
    }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

private:
    std::uint8_t* buffer_;
    std::size_t capacity_;
    std::size_t size_ = 0;
};

template <class Decoder>
result<zip::inflate_stats> stream_through(Decoder& decoder, byte_view stream, std::size_t chunk, std::size_t limit,
                                          const zip::inflate_options& options, bounded_sink& sink) {
    chunked_source source(stream, chunk);
    zip::inflate_options bounded = options;
    bounded.max_output = limit;
    return decoder.inflate(source, sink, bounded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const unsigned control = data[0];
    const byte_view stream(data + 1, size - 1);

    zip::inflate_options options;
    options.allow_trailing_input = (control & 1u) != 0;
    const std::size_t limit = (control & 2u) ? small_limit : large_limit;
    const std::size_t chunk = 1 + ((control >> 2) & 0x1Fu) * ((control & 0x40u) ? 97 : 1);

    static zip::inflater one_shot_decoder;
    auto one_shot = one_shot_decoder.inflate(stream, mutable_byte_view(one_shot_output, limit), options);

    bounded_sink sink(streamed_output, limit);
    result<zip::inflate_stats> streamed = error{};
    if (control & 0x80u) {
        static auto* small = new zip::basic_stream_inflater<300, 7>;
        streamed = stream_through(*small, stream, chunk, limit, options, sink);
    } else {
        static auto* standard = new zip::stream_inflater;
        streamed = stream_through(*standard, stream, chunk, limit, options, sink);
    }

    if (one_shot.has_value() != streamed.has_value()) std::abort();
    if (one_shot) {
        if (one_shot->produced != streamed->produced || one_shot->consumed != streamed->consumed) std::abort();
        if (one_shot->produced > limit || one_shot->consumed > stream.size()) std::abort();
        if (sink.size() != one_shot->produced) std::abort();
        if (std::memcmp(one_shot_output, streamed_output, sink.size()) != 0) std::abort();
        if (!options.allow_trailing_input && one_shot->consumed != stream.size()) std::abort();
    } else {
        if (one_shot.err().code != streamed.err().code || one_shot.err().offset != streamed.err().offset) std::abort();
        if (one_shot.err().offset > stream.size()) std::abort();
    }
    return 0;
}
