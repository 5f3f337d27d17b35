// zip_rewrite IN OUT: copies every entry of a zip archive through brine's strict reader and
// aligned writer (entries in central-directory order, stored, 64-byte aligned). Used by the
// interop tests, which then check OUT with Python's zipfile and real torch.load.
#include <brine/brine.hpp>

#include <cstdio>

namespace {

int fail(const char* what, const brine::error& e) {
    std::fprintf(stderr, "zip_rewrite: %s: %s at offset %llu%s%.*s: expected %s\n", what,
                 brine::to_string(e.code).data(), static_cast<unsigned long long>(e.offset),
                 e.entry.empty() ? "" : " in ", static_cast<int>(e.entry.view().size()), e.entry.view().data(),
                 e.detail);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fputs("usage: zip_rewrite IN OUT\n", stderr);
        return 2;
    }
    auto input = brine::file_source::open(argv[1]);
    if (!input) return fail(argv[1], input.err());
    auto archive = brine::zip::reader<brine::file_source>::open(*input);
    if (!archive) return fail(argv[1], archive.err());
    auto output = brine::atomic_file_sink::create(argv[2]);
    if (!output) return fail(argv[2], output.err());
    brine::zip::writer<brine::atomic_file_sink> rewritten(*output);
    for (const brine::zip::entry& item : archive->entries()) {
        // Streams straight from the input into the output: bounded memory whatever the size.
        if (auto opened = rewritten.open_entry(item.name, item.uncompressed_size); !opened)
            return fail(argv[2], opened.err());
        if (auto copied = archive->extract(item, rewritten); !copied) return fail(argv[1], copied.err());
        if (auto closed = rewritten.close_entry(); !closed) return fail(argv[2], closed.err());
    }
    if (auto done = rewritten.finish(); !done) return fail(argv[2], done.err());
    if (auto committed = output->commit(); !committed) return fail(argv[2], committed.err());
    return 0;
}
