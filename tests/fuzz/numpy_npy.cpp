// libFuzzer harness: the .npy parser and writer (and, for inputs that start like a zip, the .npz
// path), dispatched as np.load dispatches. Properties: a rebuilt file re-parses to the same
// description (dtype text, shape, effective order) and the same data; rebuilding it again gives the
// same bytes; an object array is rebuilt only when its pickle was clean, and then re-evaluates to
// the same graph with nothing refused.
#include <brine/numpy/npy.hpp>
#include <brine/numpy/npz.hpp>
#include <brine/policy/torch_weights_only.hpp>

#include "pickle_testing.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

struct small_limits : brine::pickle::limits::standard {
    static constexpr std::uint64_t max_nodes = 1 << 16;
    static constexpr std::uint64_t max_mark_depth = 512;
};

using rules_type = brine::policy::torch_weights_only;

brine::byte_view view(const std::vector<std::uint8_t>& bytes) { return {bytes.data(), bytes.size()}; }

bool same_description(const brine::numpy::npy_header& a, const brine::numpy::npy_header& b) {
    return a.type.descr() == b.type.descr() && a.shape == b.shape &&
           a.effective_fortran_order() == b.effective_fortran_order() && a.type.itemsize() == b.type.itemsize() &&
           a.count == b.count && a.has_objects() == b.has_objects();
}

void check_npy(brine::byte_view input) {
    const rules_type rules;
    auto scan = brine::numpy::scan_npy<rules_type, small_limits>(input, rules);
    // The header alone parses the same way, from its own bytes.
    auto size = brine::numpy::npy_preamble_size(input.first(12));
    if (scan) {
        if (!size || *size != scan->array.header.data_offset) std::abort();
        auto header = brine::numpy::parse_npy_header(input.first(static_cast<std::size_t>(*size)));
        if (!header || !same_description(*header, scan->array.header)) std::abort();
    }
    std::vector<std::uint8_t> out;
    auto rebuilt = brine::numpy::rebuild_npy<rules_type, small_limits>(input, out, rules);
    if (!scan) {
        if (rebuilt || !out.empty()) std::abort();  // a file that does not parse is never rebuilt
        return;
    }
    if (scan->has_objects() && !scan->clean()) {
        if (rebuilt || !out.empty()) std::abort();  // refused objects never reach the output
        return;
    }
    if (!rebuilt) {
        // Only a pickle the writer cannot express (a cycle through a tuple) may fail here.
        if (!scan->has_objects()) std::abort();
        return;
    }
    if (rebuilt->bytes_written != out.size()) std::abort();

    auto again = brine::numpy::scan_npy<rules_type, small_limits>(view(out), rules);
    if (!again) std::abort();
    if (!same_description(again->array.header, scan->array.header)) std::abort();
    if (again->array.header.data_offset % 64 != 0) std::abort();
    if (!scan->has_objects()) {
        if (!std::equal(again->array.data.begin(), again->array.data.end(), scan->array.data.begin(),
                        scan->array.data.end()))
            std::abort();
    } else {
        if (!again->clean()) std::abort();
        if (brine_test::describe(again->objects) != brine_test::describe(scan->objects)) std::abort();
    }
    std::vector<std::uint8_t> twice;
    if (!brine::numpy::rebuild_npy<rules_type, small_limits>(view(out), twice, rules)) std::abort();
    if (twice != out) std::abort();  // not canonical
}

void check_npz(brine::byte_view input) {
    const rules_type rules;
    brine::numpy::npz_options options;
    options.limits.zip.max_entries = 64;
    options.limits.zip.max_total_size = std::uint64_t{1} << 24;
    options.limits.zip.max_entry_size = std::uint64_t{1} << 24;
    auto scan = brine::numpy::scan_npz<rules_type, small_limits>(input, rules, options.limits);
    std::vector<std::uint8_t> out;
    auto rebuilt = brine::numpy::rebuild_npz<rules_type, small_limits>(input, out, rules, options);
    if (!scan) {
        if (rebuilt || !out.empty()) std::abort();
        return;
    }
    if (!rebuilt) return;  // an object member the pickle writer cannot express
    auto again = brine::numpy::scan_npz<rules_type, small_limits>(view(out), rules, options.limits);
    if (!again || !again->clean()) std::abort();
    if (again->members.size() != rebuilt->members_written) std::abort();
    if (rebuilt->members_written + rebuilt->dropped.size() != scan->members.size()) std::abort();
    std::size_t next = 0;
    for (const auto& member : scan->members) {
        if (member.has_objects() && !member.clean()) continue;  // dropped
        if (next >= again->members.size()) std::abort();
        const auto& copy = again->members[next++];
        if (copy.name != member.name || !same_description(copy.header, member.header)) std::abort();
    }
    std::vector<std::uint8_t> twice;
    if (!brine::numpy::rebuild_npz<rules_type, small_limits>(view(out), twice, rules, options)) std::abort();
    if (twice != out) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const brine::byte_view input(data, size);
    if (brine::numpy::detect(input) == brine::numpy::file_format::npz) check_npz(input);
    else check_npy(input);
    return 0;
}
