// Unit tests for numpy::{parse_npy, scan_npy, rebuild_npy, scan_npz, rebuild_npz}: files written by
// real numpy read as numpy reads them (every expected value in tests/fixtures/numpy/*/expected.tsv
// was computed by numpy, see tests/fixtures/gen/numpy_files.py), rebuilds are byte for byte what
// np.save writes for the loaded array, object arrays (THREATS.md F5) are evaluated, never trusted,
// and every hand-corrupted file is refused with its error code and offset.
#include <brine/brine.hpp>
#include <doctest/doctest.h>

#include "pickle_testing.hpp"
#include "sha_testing.hpp"
#include "test_files.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace brine;
using bytes = std::vector<std::uint8_t>;

namespace {

const std::string benign_dir = "tests/fixtures/numpy/benign";
const std::string hostile_dir = "tests/fixtures/numpy/hostile";

bytes fixture(const std::string& dir, const std::string& name) {
    return brine_test::read_file(brine_test::source_path(dir + "/" + name));
}

byte_view view(const bytes& data) { return byte_view(data.data(), data.size()); }

std::string sha_hex(byte_view data) { return sha_testing::hex_of(crypto::sha256::hash(data)); }

std::string describe(const error& e) {
    std::string text(to_string(e.code));
    text += " at " + std::to_string(e.offset);
    if (!e.entry.empty()) text += " in " + std::string(e.entry.view());
    return text + ": " + e.detail;
}

// As the generator writes a descr into the TSV: bytes >= 0x80 as \xNN, long text as its SHA-256.
std::string tsv_text(const std::string& text) {
    std::string out;
    for (const char c : text) {
        const auto b = static_cast<std::uint8_t>(c);
        if (b < 0x80) {
            out += c;
        } else {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", b);
            out += hex;
        }
    }
    if (out.size() > 1000) return "sha256:" + sha_hex(as_bytes(out));
    return out;
}

std::string python_shape(const std::vector<std::uint64_t>& shape) {
    std::string out = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
    return out + (shape.size() == 1 ? ",)" : ")");
}

std::string hex_of(const std::string& text) {
    std::string out;
    for (const char c : text) {
        char hex[3];
        std::snprintf(hex, sizeof hex, "%02x", static_cast<std::uint8_t>(c));
        out += hex;
    }
    return out;
}

// The generator's `fields` column: path@offset+size of every non-padding field, nested structs
// (not sub-arrays of them) with absolute offsets.
void list_fields(const numpy::dtype& type, std::uint32_t node, const std::string& prefix, std::uint64_t base,
                 std::vector<std::string>& out) {
    const numpy::type_node& n = type.nodes[node];
    if (n.kind != numpy::type_kind::structured) return;
    for (std::uint32_t i = n.first_field; i < n.first_field + n.field_count; ++i) {
        const numpy::field& f = type.fields[i];
        if (f.padding) continue;
        const std::string path = prefix + hex_of(f.name);
        out.push_back(path + "@" + std::to_string(base + f.offset) + "+" + std::to_string(f.size));
        if (f.dim_count == 0) list_fields(type, f.type, path + "/", base + f.offset, out);
    }
}

std::string fields_column(const numpy::dtype& type) {
    std::vector<std::string> fields;
    list_fields(type, 0, "", 0, fields);
    std::string out;
    for (const auto& f : fields) out += (out.empty() ? "" : ";") + f;
    if (out.empty()) return "-";
    return out.size() > 1000 ? "sha256:" + sha_hex(as_bytes(out)) : out;
}

// One benign row against a parsed header and its data.
void check_row(const std::vector<std::string>& row, const numpy::npy_header& header, byte_view data) {
    REQUIRE(row.size() == 13);
    CHECK(std::to_string(header.major) + "." + std::to_string(header.minor) == row[2]);
    CHECK(tsv_text(header.type.descr()) == row[3]);
    CHECK(python_shape(header.shape) == row[4]);
    CHECK((header.fortran_order ? "True" : "False") == row[5]);
    CHECK(std::to_string(header.type.itemsize()) == row[6]);
    CHECK(std::to_string(header.count) == row[7]);
    CHECK(std::to_string(header.data_offset) == row[8]);
    CHECK(std::to_string(header.data_size) == row[9]);
    CHECK(fields_column(header.type) == row[10]);
    CHECK(sha_hex(data) == row[11]);
    CHECK_FALSE(header.has_objects());
}

// A rebuilt file parses to the same description and data, and rebuilding it changes nothing.
void check_rebuild_stable(const bytes& rebuilt, const numpy::npy_view& original) {
    auto again = numpy::parse_npy(view(rebuilt));
    REQUIRE_MESSAGE(again, describe(again.err()));
    CHECK(again->header.type.descr() == original.header.type.descr());
    CHECK(again->header.shape == original.header.shape);
    CHECK(again->header.effective_fortran_order() == original.header.effective_fortran_order());
    CHECK(again->header.data_offset % 64 == 0);
    CHECK(std::equal(again->data.begin(), again->data.end(), original.data.begin(), original.data.end()));
    bytes twice;
    REQUIRE(numpy::rebuild_npy(view(rebuilt), twice));
    CHECK(twice == rebuilt);
}

// Members of an npz, for tests: read with the same reader numpy::scan_npz uses.
std::map<std::string, bytes> npz_members(const bytes& archive) {
    std::map<std::string, bytes> out;
    memory_source source(view(archive));
    auto reader = zip::reader<memory_source>::open(source, numpy::npz_zip_limits());
    REQUIRE_MESSAGE(reader, describe(reader.err()));
    for (const zip::entry& item : reader->entries()) {
        bytes content;
        vector_sink sink(content);
        REQUIRE(reader->extract(item, sink));
        out[std::string(item.name)] = content;
    }
    return out;
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (;;) {
        const std::size_t end = text.find(separator, start);
        parts.push_back(text.substr(start, end - start));
        if (end == std::string::npos) return parts;
        start = end + 1;
    }
}

// Every global of `expected` (module.name|module.name...) is among the findings.
void check_globals(const std::vector<pickle::finding>& findings, const std::string& expected) {
    if (expected == "-") return;
    for (const std::string& global : split(expected, '|')) {
        CAPTURE(global);
        const bool found = std::any_of(findings.begin(), findings.end(), [&](const pickle::finding& f) {
            return std::string(f.module) + "." + std::string(f.name) == global;
        });
        CHECK(found);
    }
}

// Allows everything: how a user who trusts numpy's reconstruction globals would configure brine.
struct allow_all {
    policy::verdict allow_global(const policy::qualified_name&) const noexcept { return policy::allowed; }
    policy::verdict allow_call(const pickle::graph&, pickle::node_id, pickle::call_form) const noexcept {
        return policy::allowed;
    }
    policy::verdict allow_build(const pickle::graph&, pickle::node_id) const noexcept { return policy::allowed; }
    policy::verdict allow_setitem(const pickle::graph&, pickle::node_id) const noexcept { return policy::allowed; }
    policy::verdict allow_append(const pickle::graph&, pickle::node_id, pickle::opcode) const noexcept {
        return policy::allowed;
    }
    policy::verdict allow_persistent_id(const pickle::graph&, pickle::node_id, pickle::opcode) const noexcept {
        return policy::allowed;
    }
};

bytes npy_bytes(const std::string& text, const bytes& data, std::size_t align = 64) {
    bytes out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
    std::string header = text;
    while ((10 + header.size() + 1) % align != 0) header += ' ';
    header += '\n';
    out[8] = static_cast<std::uint8_t>(header.size() & 0xFF);
    out[9] = static_cast<std::uint8_t>(header.size() >> 8);
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

}  // namespace

TEST_CASE("npy files numpy wrote read as numpy reads them, and rebuild as np.save writes them") {
    const auto rows = brine_test::read_tsv(brine_test::source_path(benign_dir + "/expected.tsv"));
    std::size_t files = 0;
    for (const auto& row : rows) {
        if (row[1] != "-") continue;
        CAPTURE(row[0]);
        ++files;
        const bytes data = fixture(benign_dir, row[0]);
        auto parsed = numpy::parse_npy(view(data));
        REQUIRE_MESSAGE(parsed, describe(parsed.err()));
        check_row(row, parsed->header, parsed->data);

        bytes rebuilt;
        auto stats = numpy::rebuild_npy(view(data), rebuilt);
        REQUIRE_MESSAGE(stats, describe(stats.err()));
        CHECK_FALSE(stats->object_array);
        CHECK(stats->bytes_written == rebuilt.size());
        CHECK(sha_hex(view(rebuilt)) == row[12]);
        check_rebuild_stable(rebuilt, *parsed);
    }
    CHECK(files >= 60);
}

TEST_CASE("npz archives numpy wrote: every member read and rebuilt as numpy writes it") {
    const auto rows = brine_test::read_tsv(brine_test::source_path(benign_dir + "/expected.tsv"));
    std::map<std::string, std::vector<std::vector<std::string>>> by_file;
    for (const auto& row : rows)
        if (row[1] != "-") by_file[row[0]].push_back(row);
    std::vector<std::string> archives;
    for (const auto& entry : std::filesystem::directory_iterator(brine_test::source_path(benign_dir)))
        if (entry.path().extension() == ".npz") archives.push_back(entry.path().filename().string());
    std::sort(archives.begin(), archives.end());
    REQUIRE(archives.size() == 4);

    for (const std::string& name : archives) {
        CAPTURE(name);
        const bytes data = fixture(benign_dir, name);
        CHECK(numpy::detect(view(data)) == numpy::file_format::npz);
        const auto& expected = by_file[name];
        auto scan = numpy::scan_npz(view(data));
        REQUIRE_MESSAGE(scan, describe(scan.err()));
        REQUIRE(scan->members.size() == expected.size());
        CHECK(scan->clean());
        const auto originals = npz_members(data);
        for (std::size_t i = 0; i < expected.size(); ++i) {
            const numpy::npz_member& member = scan->members[i];
            CAPTURE(member.name);
            CHECK(member.name == expected[i][1]);
            const bytes& original = originals.at(member.name);
            check_row(expected[i], member.header, view(original).subview(member.header.data_offset));
        }

        bytes rebuilt;
        auto stats = numpy::rebuild_npz(view(data), rebuilt);
        REQUIRE_MESSAGE(stats, describe(stats.err()));
        CHECK(stats->members_written == expected.size());
        CHECK(stats->dropped.empty());
        CHECK(stats->bytes_written == rebuilt.size());
        const auto members = npz_members(rebuilt);
        REQUIRE(members.size() == expected.size());
        for (const auto& row : expected) {
            CAPTURE(row[1]);
            CHECK(sha_hex(view(members.at(row[1]))) == row[12]);
        }
        // The rebuilt archive rebuilds to itself.
        bytes twice;
        REQUIRE(numpy::rebuild_npz(view(rebuilt), twice));
        CHECK(twice == rebuilt);
    }
}

TEST_CASE("hostile npy and npz files: refused with their error, or their objects reported") {
    const auto rows = brine_test::read_tsv(brine_test::source_path(hostile_dir + "/expected.tsv"));
    REQUIRE(rows.size() >= 70);
    std::map<std::string, std::vector<std::vector<std::string>>> archives;
    std::size_t errors = 0, findings = 0;
    for (const auto& row : rows) {
        REQUIRE(row.size() == 8);
        CAPTURE(row[0]);
        CAPTURE(row[7]);
        const bytes data = fixture(hostile_dir, row[0]);
        const bool npz = row[0].size() > 4 && row[0].substr(row[0].size() - 4) == ".npz";
        if (npz) {
            archives[row[0]].push_back(row);
            if (row[2] != "error") continue;
            ++errors;
            auto scan = numpy::scan_npz(view(data));
            REQUIRE_FALSE(scan);
            CHECK(to_string(scan.err().code) == row[3]);
            if (row[1] != "-") CHECK(scan.err().entry.view() == row[1]);
            if (row[4] != "-") CHECK(std::to_string(scan.err().offset) == row[4]);
            bytes out = {1, 2, 3};
            CHECK_FALSE(numpy::rebuild_npz(view(data), out));
            CHECK(out == bytes{1, 2, 3});
            continue;
        }
        CHECK(numpy::detect(view(data)) != numpy::file_format::npz);
        auto scan = numpy::scan_npy(view(data));
        bytes out = {1, 2, 3};
        auto rebuilt = numpy::rebuild_npy(view(data), out);
        if (row[2] == "error") {
            ++errors;
            REQUIRE_FALSE(scan);
            CHECK(to_string(scan.err().code) == row[3]);
            CHECK(std::to_string(scan.err().offset) == row[4]);
            CHECK_FALSE(rebuilt);
            CHECK(out == bytes{1, 2, 3});
        } else if (row[2] == "findings") {
            ++findings;
            REQUIRE_MESSAGE(scan, describe(scan.err()));
            CHECK(scan->has_objects());
            CHECK_FALSE(scan->clean());
            check_globals(scan->findings(), row[6]);
            REQUIRE_FALSE(rebuilt);
            CHECK(rebuilt.err().code == errc::numpy_object_refused);
            CHECK(rebuilt.err().offset >= scan->array.header.data_offset);
            CHECK(out == bytes{1, 2, 3});
        } else {
            REQUIRE(row[2] == "ok");
            REQUIRE_MESSAGE(scan, describe(scan.err()));
            CHECK_FALSE(scan->has_objects());
            CHECK(rebuilt);
        }
    }
    CHECK(errors >= 55);
    CHECK(findings >= 6);

    // Archives whose members are fine or hostile: hostile object members are reported, and a
    // rebuild keeps the others and drops them (or refuses, when asked to).
    for (const auto& archive : archives) {
        const std::string& name = archive.first;  // not a structured binding: CAPTURE is a lambda
        const auto& members = archive.second;
        if (members.front()[2] == "error") continue;
        CAPTURE(name);
        const bytes data = fixture(hostile_dir, name);
        auto scan = numpy::scan_npz(view(data));
        REQUIRE_MESSAGE(scan, describe(scan.err()));
        REQUIRE(scan->members.size() == members.size());
        CHECK_FALSE(scan->clean());
        std::set<std::string> kept, dropped;
        for (const auto& row : members) {
            const auto it = std::find_if(scan->members.begin(), scan->members.end(),
                                         [&](const numpy::npz_member& m) { return m.name == row[1]; });
            REQUIRE(it != scan->members.end());
            if (row[2] == "findings") {
                CHECK(it->has_objects());
                CHECK_FALSE(it->clean());
                check_globals(it->findings(), row[6]);
                dropped.insert(row[1]);
            } else {
                CHECK(it->clean());
                kept.insert(row[1]);
            }
        }
        bytes rebuilt;
        auto stats = numpy::rebuild_npz(view(data), rebuilt);
        REQUIRE_MESSAGE(stats, describe(stats.err()));
        CHECK(stats->members_written == kept.size());
        std::set<std::string> dropped_names;
        for (const auto& m : stats->dropped) {
            dropped_names.insert(m.name);
            CHECK_FALSE(m.findings().empty());
        }
        CHECK(dropped_names == dropped);
        std::set<std::string> written;
        for (const auto& [member, content] : npz_members(rebuilt)) {
            written.insert(member);
            auto parsed = numpy::parse_npy(view(content));
            REQUIRE(parsed);
            CHECK_FALSE(parsed->header.has_objects());
        }
        CHECK(written == kept);

        numpy::npz_options strict;
        strict.drop_refused_objects = false;
        bytes refused;
        auto refusal = numpy::rebuild_npz(view(data), refused, policy::torch_weights_only{}, strict);
        REQUIRE_FALSE(refusal);
        CHECK(refusal.err().code == errc::numpy_object_refused);
        CHECK(dropped.count(std::string(refusal.err().entry.view())) == 1);
        CHECK(refused.empty());
    }
}

TEST_CASE("object arrays are rebuilt only when the policy accepts their pickle in full") {
    const bytes data = fixture(hostile_dir, "obj_array.npy");
    // Under torch_weights_only, numpy's reconstruction globals are refused: findings, no rebuild.
    auto refused = numpy::scan_npy(view(data));
    REQUIRE(refused);
    CHECK(refused->findings().size() >= 3);
    CHECK(refused->findings().front().module == "numpy.core.multiarray");
    CHECK(refused->findings().front().name == "_reconstruct");

    // A policy that trusts them gets the pickle written anew, structurally the same.
    const allow_all rules;
    auto scan = numpy::scan_npy(view(data), rules);
    REQUIRE_MESSAGE(scan, describe(scan.err()));
    CHECK(scan->clean());
    bytes rebuilt;
    auto stats = numpy::rebuild_npy(view(data), rebuilt, rules);
    REQUIRE_MESSAGE(stats, describe(stats.err()));
    CHECK(stats->object_array);
    CHECK(stats->pickle_protocol >= 2);
    auto again = numpy::scan_npy(view(rebuilt), rules);
    REQUIRE_MESSAGE(again, describe(again.err()));
    CHECK(again->array.header.type.descr() == "'|O'");
    CHECK(again->array.header.shape == std::vector<std::uint64_t>{3});
    CHECK(brine_test::describe(again->objects) == brine_test::describe(scan->objects));

    // Bytes after the pickle's STOP are noted, so even a permissive policy refuses the rebuild.
    auto trailing = numpy::rebuild_npy(view(fixture(hostile_dir, "obj_trailing.npy")), rebuilt, rules);
    REQUIRE_FALSE(trailing);
    CHECK(trailing.err().code == errc::numpy_object_refused);

    // The payload is refused whatever the order of evaluation.
    auto payload = numpy::scan_npy(view(fixture(hostile_dir, "obj_payload.npy")));
    REQUIRE(payload);
    check_globals(payload->findings(), "builtins.open");

    // A malformed pickle is an error with the offset in the file, never a clean scan.
    bytes broken = npy_bytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", {0x80, 0x02, 'K'});
    auto bad = numpy::scan_npy(view(broken));
    REQUIRE_FALSE(bad);
    CHECK(bad.err().offset >= 64);
    CHECK(bad.err().code == errc::pickle_truncated);
}

TEST_CASE("header details: byte orders, quotes, alignment, limits") {
    SUBCASE("'=' stays native; one-byte types are written with '|', as dtype.str does") {
        const bytes data = npy_bytes("{'descr': [('a', '=f4'), ('b', '<i1'), ('c', '>S2'), ('d', '=O')], "
                                     "'fortran_order': False, 'shape': (1,), }",
                                     {});
        auto parsed = numpy::parse_npy_header(view(data));
        REQUIRE_MESSAGE(parsed, describe(parsed.err()));
        CHECK(parsed->type.descr() == "[('a', '=f4'), ('b', '|i1'), ('c', '|S2'), ('d', '|O')]");
        CHECK(parsed->has_objects());
        CHECK(parsed->type.itemsize() == 15);
    }
    SUBCASE("datetime units and multipliers") {
        for (const char* descr : {"'<M8'", "'<M8[Y]'", "'>m8[25ns]'", "'<M8[as]'", "'<m8[W]'"}) {
            CAPTURE(descr);
            const bytes data = npy_bytes(std::string("{'descr': ") + descr + ", 'fortran_order': False, 'shape': (), }",
                                         bytes(8, 0));
            auto parsed = numpy::parse_npy(view(data));
            REQUIRE_MESSAGE(parsed, describe(parsed.err()));
            CHECK(parsed->header.type.descr() == descr);
        }
        const bytes one = npy_bytes("{'descr': '<M8[1s]', 'fortran_order': False, 'shape': (), }", bytes(8, 0));
        auto parsed = numpy::parse_npy(view(one));
        REQUIRE(parsed);
        CHECK(parsed->header.type.descr() == "'<M8[s]'");
        for (const char* descr : {"'<M8[μs]'", "'<M8[s/2]'", "'<M8[]'", "'<M4'", "'<M8[010s]'"}) {
            CAPTURE(descr);
            const bytes bad = npy_bytes(std::string("{'descr': ") + descr + ", 'fortran_order': False, 'shape': (), }",
                                        bytes(8, 0));
            CHECK(numpy::parse_npy(view(bad)).err().code == errc::numpy_bad_descr);
        }
    }
    SUBCASE("field names are written back as Python's repr writes them") {
        const bytes data = npy_bytes(
            "{'descr': [('\\x00\\x7f\\xa0\\xad\\xff', '<f4'), (\"it's\", '<f4'), ('\\u20ac\\U0001F600', '<f4')], "
            "'fortran_order': False, 'shape': (), }",
            bytes(12, 0));
        auto parsed = numpy::parse_npy(view(data));
        REQUIRE_MESSAGE(parsed, describe(parsed.err()));
        CHECK(parsed->header.type.fields[0].name == std::string("\0\x7f\xc2\xa0\xc2\xad\xc3\xbf", 8));
        CHECK(parsed->header.type.descr() ==
              "[('\\x00\\x7f\\xa0\\xad\xff', '<f4'), (\"it's\", '<f4'), ('\\u20ac\\U0001f600', '<f4')]");
    }
    SUBCASE("16-byte alignment is accepted, 8 is not") {
        const std::string text = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }";
        const bytes sixteen = npy_bytes(text, bytes(4, 0), 16);
        REQUIRE(sixteen.size() % 16 == 4);
        CHECK(numpy::parse_npy(view(sixteen)));
        const bytes eight = npy_bytes(text + std::string(8, ' '), bytes(4, 0), 16);
        REQUIRE(eight.size() % 16 == 4);
        bytes unaligned(eight.begin(), eight.end() - 4 - 8);  // drop 8 spaces of the padding
        unaligned[8] = static_cast<std::uint8_t>(unaligned[8] - 8);
        unaligned.back() = '\n';
        unaligned.insert(unaligned.end(), 4, 0);
        CHECK(numpy::parse_npy(view(unaligned)).err().code == errc::numpy_bad_alignment);
    }
    SUBCASE("limits") {
        const bytes data = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1), }", bytes(4, 0));
        numpy::npy_limits small;
        small.max_dims = 2;
        CHECK(numpy::parse_npy(view(data), small).err().code == errc::numpy_bad_shape);
        small = {};
        small.max_header_size = 32;
        auto refused = numpy::parse_npy(view(data), small);
        CHECK(refused.err().code == errc::limit_exceeded);
        CHECK(refused.err().offset == 8);
        small = {};
        small.max_nesting = 1;
        CHECK(numpy::parse_npy(view(data), small).err().code == errc::limit_exceeded);
    }
    SUBCASE("write_npy refuses object arrays and data of the wrong size") {
        const bytes data = fixture(benign_dir, "num_le_f4.npy");
        auto parsed = numpy::parse_npy(view(data));
        REQUIRE(parsed);
        bytes out;
        vector_sink sink(out);
        CHECK(numpy::write_npy(parsed->header, parsed->data, sink));
        CHECK(out == data);
        CHECK(numpy::write_npy(parsed->header, parsed->data.first(4), sink).err().code == errc::invalid_argument);
        auto objects = numpy::parse_npy_header(view(fixture(hostile_dir, "obj_array.npy")).first(128));
        REQUIRE(objects);
        CHECK(numpy::write_npy(*objects, byte_view(), sink).err().code == errc::invalid_argument);
    }
    SUBCASE("a sink that fills up fails the rebuild") {
        const bytes data = fixture(benign_dir, "num_le_f8.npy");
        std::uint8_t small[100];
        buffer_sink sink(mutable_byte_view(small, sizeof small));
        CHECK(numpy::rebuild_npy(view(data), sink).err().code == errc::limit_exceeded);
    }
    SUBCASE("detect decides as np.load does") {
        CHECK(numpy::detect(view(fixture(benign_dir, "scalar_0d.npy"))) == numpy::file_format::npy);
        CHECK(numpy::detect(view(fixture(benign_dir, "empty.npz"))) == numpy::file_format::npz);
        CHECK(numpy::detect(as_bytes("\x80\x02]q\x00.")) == numpy::file_format::other);
        CHECK(numpy::detect(as_bytes("\x93NUM")) == numpy::file_format::other);
    }
}

TEST_CASE("every prefix and every one-byte change of a header is handled") {
    const bytes data = fixture(benign_dir, "struct_nested.npy");
    auto whole = numpy::parse_npy(view(data));
    REQUIRE(whole);
    for (std::size_t n = 0; n < data.size(); ++n) {
        auto cut = numpy::parse_npy(view(data).first(n));
        REQUIRE_FALSE(cut);
        const errc code = cut.err().code;
        CHECK((code == errc::numpy_truncated_header || code == errc::numpy_truncated_data));
        CHECK(cut.err().offset <= n);
    }
    // Changed bytes either still parse (to something that rebuilds and re-parses) or fail cleanly.
    const std::uint8_t replacements[] = {0x00, ' ', '\'', '(', ')', ',', '[', ']', '{', '}', '1', 'L', '\\', 0xC3, 0xFF};
    for (std::size_t i = 0; i < whole->header.data_offset; ++i) {
        for (const std::uint8_t b : replacements) {
            bytes changed = data;
            changed[i] = b;
            auto parsed = numpy::parse_npy(view(changed));
            if (!parsed) {
                CHECK(parsed.err().offset <= changed.size());
                continue;
            }
            bytes rebuilt;
            if (parsed->header.has_objects()) continue;
            REQUIRE(numpy::rebuild_npy(view(changed), rebuilt));
            check_rebuild_stable(rebuilt, *parsed);
        }
    }
}
