// libFuzzer harness: the pickle opcode reader and the disassembler on arbitrary bytes. Reading
// must end in STOP or an error without crashing, and every token must keep the reader's promises:
// offsets increase, raw views lie inside the input, text is strict UTF-8, big integers are minimal
// and outside int64. The disassembler must list the same bytes without failing. Small limits keep
// every run fast.
#include <brine/core/stream.hpp>
#include <brine/core/utf8.hpp>
#include <brine/pickle/disassemble.hpp>
#include <brine/pickle/reader.hpp>

#include <cstdint>
#include <cstdlib>

namespace {

struct fuzz_limits : brine::pickle::limits::embedded {
    static constexpr std::uint64_t max_mark_depth = 64;
    static constexpr std::uint64_t max_memo_size = 256;
};

void check(bool condition) {
    if (!condition) std::abort();
}

bool inside(brine::byte_view part, const std::uint8_t* data, std::size_t size) {
    return part.empty() || (part.data() >= data && part.size() <= size && part.data() - data <= static_cast<std::ptrdiff_t>(size - part.size()));
}

void check_token(const brine::pickle::token& t, const std::uint8_t* data, std::size_t size) {
    using brine::pickle::arg_kind;
    using brine::pickle::opcode;
    check(t.offset < size);
    check(data[t.offset] == static_cast<std::uint8_t>(t.op));
    switch (t.kind) {
        case arg_kind::big_integer: {
            const auto& d = t.data;
            check(d.size() > 8);
            const std::uint8_t top = d[d.size() - 1];
            const bool next_negative = (d[d.size() - 2] & 0x80) != 0;
            check(!((top == 0x00 && !next_negative) || (top == 0xff && next_negative)));
            break;
        }
        case arg_kind::text:
            check(brine::detail::first_invalid_utf8(t.data.data(), t.data.size()) == t.data.size());
            if (t.op != opcode::UNICODE) check(inside(t.data, data, size));
            break;
        case arg_kind::bytes:
            if (t.op != opcode::STRING) check(inside(t.data, data, size));
            break;
        case arg_kind::global:
            check(inside(brine::as_bytes(t.module), data, size));
            check(inside(brine::as_bytes(t.name), data, size));
            break;
        case arg_kind::integer:
            if (t.op == opcode::PROTO) check(t.integer >= 0 && t.integer <= 5);
            if (t.op == opcode::FRAME) check(t.integer >= 0 && static_cast<std::uint64_t>(t.integer) <= size);
            break;
        default: break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const brine::byte_view input(data, size);
    brine::pickle::reader<fuzz_limits> tokens(input);
    std::uint64_t last_offset = 0;
    bool first = true;
    std::size_t stops = 0;
    while (true) {
        auto t = tokens.next();
        if (!t) {
            check(t.err().offset <= size);
            // Errors are sticky.
            auto again = tokens.next();
            check(!again && again.err().code == t.err().code && again.err().offset == t.err().offset);
            break;
        }
        check(first || t->offset > last_offset);
        first = false;
        last_offset = t->offset;
        check(tokens.position() > t->offset && tokens.position() <= size);
        check_token(*t, data, size);
        if (t->op == brine::pickle::opcode::STOP && ++stops == 2) break;
    }

    brine::counting_sink sink;
    auto listed = brine::pickle::disassemble<fuzz_limits>(input, sink);
    check(listed.has_value());
    check(sink.count() > 0);
    return 0;
}
