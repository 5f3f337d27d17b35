// SPDX-License-Identifier: MIT
//
// Entry-name rules: which names are unambiguous, and how PyTorch compares them. Extractors and
// loaders disagree about `..`, absolute paths, backslashes, NUL and legacy code pages, so any of
// those makes an archive ambiguous and it is refused.
#pragma once

#include <brine/config.hpp>
#include <brine/core/utf8.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

BRINE_NAMESPACE_BEGIN
namespace zip::detail {

// Why a name is refused, or nullptr when it is acceptable.
[[nodiscard]] inline const char* name_problem(std::string_view name, bool utf8_flag) noexcept {
    if (name.empty()) return "a non-empty entry name";
    if (name.front() == '/') return "a relative entry name (this one is absolute)";
    bool ascii = true;
    for (const char c : name) {
        if (c == '\0') return "an entry name without NUL bytes";
        if (c == '\\') return "an entry name without backslashes";
        if (c == ':') return "an entry name without ':' (drive letters, alternate streams)";
        if (static_cast<std::uint8_t>(c) >= 0x80) ascii = false;
    }
    if (!ascii && !utf8_flag) return "an ASCII entry name, or the UTF-8 flag (bit 11) for a non-ASCII one";
    if (!ascii && ::brine::detail::first_invalid_utf8(reinterpret_cast<const std::uint8_t*>(name.data()), name.size()) !=
                      name.size())
        return "an entry name in valid UTF-8";
    // Components: none empty, none "." or "..". One trailing '/' marks a directory entry.
    std::string_view path = name;
    if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    std::size_t start = 0;
    for (;;) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        const std::string_view part = path.substr(start, end - start);
        if (part.empty()) return "an entry name without empty path components";
        if (part == "..") return "an entry name without '..' components";
        if (part == ".") return "an entry name without '.' components";
        if (end == path.size()) break;
        start = end + 1;
    }
    return nullptr;
}

// ASCII case folding, as PyTorch's (miniz's) record lookup compares names.
[[nodiscard]] constexpr char fold_case(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

[[nodiscard]] constexpr int compare_folded(std::string_view a, std::string_view b) noexcept {
    const std::size_t n = a.size() < b.size() ? a.size() : b.size();
    for (std::size_t i = 0; i < n; ++i) {
        const auto x = static_cast<unsigned char>(fold_case(a[i]));
        const auto y = static_cast<unsigned char>(fold_case(b[i]));
        if (x != y) return x < y ? -1 : 1;
    }
    if (a.size() == b.size()) return 0;
    return a.size() < b.size() ? -1 : 1;
}

// The top-level folder of a name ("archive" of "archive/data.pkl"); empty when there is none.
[[nodiscard]] constexpr std::string_view top_level_folder(std::string_view name) noexcept {
    const std::size_t slash = name.find('/');
    return slash == std::string_view::npos ? std::string_view{} : name.substr(0, slash);
}

}  // namespace zip::detail
BRINE_NAMESPACE_END
