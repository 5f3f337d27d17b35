// brine CLI: printing reports as text or as JSON (one object per file; README: "The brine command"). Every string
// that comes from a file (names, keys, globals) is escaped: a hostile file must not be able to
// write control sequences to the user's terminal or break the JSON.
#pragma once

#include <brine/brine.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace brine_cli {

constexpr int exit_ok = 0;
constexpr int exit_findings = 1;
constexpr int exit_error = 2;
constexpr int exit_tampered = 3;

// Printable ASCII stays, everything else becomes \xNN (text output).
inline std::string escaped(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7F && c != '\\') {
            out += c;
        } else {
            out += "\\x";
            brine::append_hex_byte(out, byte);
        }
    }
    return out;
}

// A JSON string literal. Bytes that are not valid UTF-8 (names in a hostile file may be anything)
// become U+FFFD, so the output is always valid JSON.
inline std::string json_string(std::string_view text) {
    std::string out = "\"";
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data());
    std::size_t i = 0;
    while (i < text.size()) {
        const std::uint8_t c = bytes[i];
        if (c < 0x80) {
            if (c == '"' || c == '\\') {
                out += '\\';
                out += static_cast<char>(c);
            } else if (c < 0x20 || c == 0x7F) {
                out += "\\u00";
                brine::append_hex_byte(out, c);
            } else {
                out += static_cast<char>(c);
            }
            ++i;
            continue;
        }
        const std::size_t valid = brine::detail::first_invalid_utf8(bytes + i, text.size() - i);
        if (valid == 0) {
            out += "\xef\xbf\xbd";
            ++i;
        } else {
            // Copy the valid run up to the next ASCII byte (handled above) or invalid byte.
            std::size_t run = 0;
            while (run < valid && bytes[i + run] >= 0x80) ++run;
            if (run == 0) run = 1;
            out.append(text.data() + i, run);
            i += run;
        }
    }
    out += '"';
    return out;
}

// A JSON number in the shortest form that reads back as the same double (std::to_chars), so a
// figure such as 1.19e-07 keeps its digits instead of printing as 0.000000. JSON has no NaN or
// infinity: those print as null.
inline std::string json_number(double value) {
    if (!std::isfinite(value)) return "null";
    char text[32];  // the shortest round trip of a double takes at most 24 characters
    const std::to_chars_result done = std::to_chars(text, text + sizeof text, value);
    return std::string(text, done.ptr);
}

inline std::string error_text(const brine::error& e) {
    std::string out(brine::to_string(e.code));
    out += " at offset " + std::to_string(e.offset);
    if (!e.entry.empty()) out += " in '" + escaped(e.entry.view()) + "'";
    if (e.detail != nullptr && *e.detail != '\0') out += " (expected " + std::string(e.detail) + ")";
    return out;
}

inline std::string error_json(const brine::error& e) {
    std::string out = "{\"code\":" + json_string(brine::to_string(e.code)) + ",\"offset\":" + std::to_string(e.offset);
    if (!e.entry.empty()) out += ",\"entry\":" + json_string(e.entry.view());
    out += ",\"expected\":" + json_string(e.detail != nullptr ? e.detail : "") + "}";
    return out;
}

inline std::string finding_text(const brine::torch::finding_entry& f) {
    std::string out = "  " + escaped(f.part) + " @" + std::to_string(f.offset);
    if (f.in_pickle) out += " " + std::string(brine::pickle::opcode_name(f.op));
    if (!f.module.empty() || !f.name.empty()) out += " " + escaped(f.module) + "." + escaped(f.name);
    out += ": " + f.reason + "\n";
    return out;
}

inline std::string findings_json(const brine::torch::report& r) {
    std::string out = "[";
    for (std::size_t i = 0; i < r.findings.size(); ++i) {
        const auto& f = r.findings[i];
        if (i) out += ",";
        out += "{\"part\":" + json_string(f.part) + ",\"offset\":" + std::to_string(f.offset) +
               ",\"opcode\":" + (f.in_pickle ? json_string(brine::pickle::opcode_name(f.op)) : std::string("null")) +
               ",\"module\":" + json_string(f.module) +
               ",\"name\":" + json_string(f.name) + ",\"reason\":" + json_string(f.reason) + "}";
    }
    return out + "]";
}

inline std::string shape_text(const std::vector<std::int64_t>& values) {
    std::string out = "[";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) out += ", ";
        out += std::to_string(values[i]);
    }
    return out + "]";
}

inline std::string_view layout_name(brine::torch::layout kind) {
    switch (kind) {
        case brine::torch::layout::strided: return "strided";
        case brine::torch::layout::quantized: return "quantized";
        case brine::torch::layout::sparse_coo: return "sparse_coo";
        case brine::torch::layout::sparse_compressed: return "sparse_compressed";
        case brine::torch::layout::meta: return "meta";
    }
    return "?";
}

inline std::string tensors_json(const brine::torch::report& r) {
    std::string out = "[";
    for (std::size_t i = 0; i < r.tensors.size(); ++i) {
        const auto& t = r.tensors[i];
        if (i) out += ",";
        out += "{\"name\":" + json_string(t.name) + ",\"dtype\":" + json_string(brine::torch::info(t.type).name) +
               ",\"layout\":" + json_string(layout_name(t.kind)) + ",\"shape\":" + shape_text(t.sizes) +
               ",\"stride\":" + shape_text(t.strides) + ",\"storage_offset\":" + std::to_string(t.storage_offset) +
               ",\"storage\":" + json_string(t.storage_key) + ",\"parameter\":" + (t.parameter ? "true" : "false") +
               ",\"requires_grad\":" + (t.requires_grad ? "true" : "false") + "}";
    }
    return out + "]";
}

inline void print_line(std::FILE* out, const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), out);
}

}  // namespace brine_cli
