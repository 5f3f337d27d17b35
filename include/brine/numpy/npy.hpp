// SPDX-License-Identifier: MIT
//
// NumPy .npy files (THREATS.md F5), the entry point: scan_npy parses a file and evaluates an
// object array's pickle symbolically (never run), rebuild_npy writes a fresh file from the scan.
// The parts: numpy/dtype.hpp (dtypes and their descr), numpy/npy_parse.hpp (the strict header
// parser, and where brine is stricter than numpy), numpy/npy_write.hpp (numeric arrays written as
// numpy's format.py writes them), numpy/default_allowlist.hpp (what object arrays are judged by).
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/numpy/default_allowlist.hpp>
#include <brine/numpy/dtype.hpp>
#include <brine/numpy/npy_parse.hpp>
#include <brine/numpy/npy_write.hpp>
#include <brine/pickle/limits.hpp>
#include <brine/pickle/machine.hpp>
#include <brine/pickle/value.hpp>
#include <brine/pickle/writer.hpp>

#include <cstdint>
#include <type_traits>
#include <utility>

BRINE_NAMESPACE_BEGIN
namespace numpy {

// A parsed file, and for object arrays the symbolic evaluation of its pickle. numpy's own pickle
// of an object array calls numpy.core.multiarray._reconstruct, numpy.ndarray and numpy.dtype:
// default_allowlist (torch's weights_only) allows none of them, so every object array numpy writes
// has findings under it, and rebuild_npy refuses it. A policy that allows those globals gets the
// pickle re-emitted structurally (pickle::writer), nothing else added.
struct npy_scan {
    npy_view array;
    // Object arrays: the pickle's value graph; offsets in it count from header.data_offset. The
    // graph may point into the scanned bytes: keep them alive as long as this.
    pickle::evaluation objects;

    [[nodiscard]] bool has_objects() const noexcept { return array.header.has_objects(); }
    [[nodiscard]] const alloc::vector<pickle::finding>& findings() const noexcept { return objects.values.findings(); }
    // Nothing refused, nothing ignored: what rebuild_npy writes means what the input meant.
    [[nodiscard]] bool clean() const noexcept { return findings().empty(); }
};

struct npy_rebuild_stats {
    bool object_array = false;
    int pickle_protocol = 0;         // object arrays: the protocol the new pickle declares
    std::uint64_t bytes_written = 0;
};

namespace detail {
inline error shifted(error e, std::uint64_t by) noexcept {
    e.offset += by;
    return e;
}
}  // namespace detail

// Evaluates an object array's pickle, after parsing. A malformed pickle is an error (never clean),
// with offsets in the file. Reader: the machine's opcode reader (pickle/reader_concept.hpp).
template <class Policy = default_allowlist, class Limits = pickle::limits::standard,
          class Reader = pickle::reader<Limits>>
[[nodiscard]] status evaluate_objects(npy_scan& scan, const Policy& rules = Policy{}) noexcept {
    if (!scan.has_objects()) return {};
    pickle::machine<Policy, Limits, Reader> machine(rules);
    const status run = machine.run(scan.array.data, scan.objects);
    if (!run) return detail::shifted(run.err(), scan.array.header.data_offset);
    return {};
}

template <class Policy = default_allowlist, class Limits = pickle::limits::standard,
          class Reader = pickle::reader<Limits>>
[[nodiscard]] result<npy_scan> scan_npy(byte_view file, const Policy& rules = Policy{},
                                        const npy_limits& limits = {}) noexcept {
    auto view = parse_npy(file, limits);
    BRINE_TRY(view);
    npy_scan scan;
    scan.array = std::move(*view);
    BRINE_TRY((evaluate_objects<Policy, Limits, Reader>(scan, rules)));
    return scan;
}

// Writes a fresh file from the parts of a scan: `header`, a numeric array's `data`, an object
// array's evaluated pickle `objects` (an .npz member's, held by its npz_member, goes through here
// without a copy). Numeric arrays as write_npy; object arrays only when the evaluation is clean
// (errc::numpy_object_refused otherwise, at the first finding), with a pickle written anew from
// the value graph, within `bounds` (the limits the scan's machine had). Nothing reaches the sink
// before that decision.
template <class Sink>
[[nodiscard]] result<npy_rebuild_stats> write_rebuilt(const npy_header& header, byte_view data,
                                                      const pickle::evaluation& objects, Sink& sink,
                                                      pickle::writer_limits bounds = {}) noexcept {
    static_assert(is_sink_v<Sink>, "Sink must have: status write(byte_view) noexcept");
    npy_rebuild_stats stats;
    alloc::vector<std::uint8_t> preamble;
    BRINE_TRY(append_npy_preamble(header, preamble));
    if (!header.has_objects()) {
        if (data.size() != header.data_size)
            return error{errc::invalid_argument, header.data_offset, "data of exactly shape x itemsize bytes"};
        BRINE_TRY(sink.write(byte_view(preamble.data(), preamble.size())));
        BRINE_TRY(sink.write(data));
        stats.bytes_written = preamble.size() + header.data_size;
        return stats;
    }
    if (objects.values.root() == pickle::no_node)
        return error{errc::invalid_argument, header.data_offset, "a scan whose objects were evaluated (scan_npy)"};
    const auto& findings = objects.values.findings();
    if (!findings.empty())
        return error{errc::numpy_object_refused, header.data_offset + findings.front().offset,
                     "an object array whose pickle the policy accepts in full (scan_npy lists the findings)"};
    alloc::vector<std::uint8_t> pickled;
    auto written = pickle::writer(objects.values, bounds).write(pickled);
    if (!written) return detail::shifted(written.err(), header.data_offset);
    stats.object_array = true;
    stats.pickle_protocol = written->protocol;
    BRINE_TRY(sink.write(byte_view(preamble.data(), preamble.size())));
    BRINE_TRY(sink.write(byte_view(pickled.data(), pickled.size())));
    stats.bytes_written = preamble.size() + pickled.size();
    return stats;
}

// Writes a fresh file from a scan (see above).
template <class Sink>
[[nodiscard]] result<npy_rebuild_stats> write_rebuilt(const npy_scan& scan, Sink& sink,
                                                      pickle::writer_limits bounds = {}) noexcept {
    return write_rebuilt(scan.array.header, scan.array.data, scan.objects, sink, bounds);
}

// Parses, evaluates and rebuilds an .npy file into `sink` (see write_rebuilt).
template <class Policy = default_allowlist, class Limits = pickle::limits::standard, class Sink,
          class = std::enable_if_t<is_sink_v<Sink>>>
[[nodiscard]] result<npy_rebuild_stats> rebuild_npy(byte_view file, Sink& sink, const Policy& rules = Policy{},
                                                    const npy_limits& limits = {}) noexcept {
    auto scan = scan_npy<Policy, Limits>(file, rules, limits);
    BRINE_TRY(scan);
    return write_rebuilt(*scan, sink, pickle::writer_limits::of<Limits>());
}

// The same, appending to a vector (left as it was on failure).
template <class Policy = default_allowlist, class Limits = pickle::limits::standard>
[[nodiscard]] result<npy_rebuild_stats> rebuild_npy(byte_view file, alloc::vector<std::uint8_t>& out,
                                                    const Policy& rules = Policy{},
                                                    const npy_limits& limits = {}) noexcept {
    alloc::vector<std::uint8_t> fresh;
    vector_sink sink(fresh);
    auto stats = rebuild_npy<Policy, Limits>(file, sink, rules, limits);
    BRINE_TRY(stats);
    out.insert(out.end(), fresh.begin(), fresh.end());
    return stats;
}

}  // namespace numpy
BRINE_NAMESPACE_END
