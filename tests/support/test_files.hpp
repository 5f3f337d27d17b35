// Helpers shared by unit tests: reading fixture files and making scratch directories.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace brine_test {

// A path under the source tree (fixtures, samples).
inline std::filesystem::path source_path(const std::string& relative) {
    return std::filesystem::path(BRINE_TEST_SOURCE_DIR) / relative;
}

inline std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Rows of a tab-separated fixture listing; blank lines and '#' comments are skipped.
inline void write_file(const std::filesystem::path& path, const std::vector<std::uint8_t>& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

inline bool exists(const std::filesystem::path& path) { return std::filesystem::exists(path); }

inline std::vector<std::vector<std::string>> read_tsv(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::vector<std::vector<std::string>> rows;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string> fields;
        std::stringstream split(line);
        std::string field;
        while (std::getline(split, field, '\t')) fields.push_back(field);
        rows.push_back(fields);
    }
    return rows;
}

// A fresh, empty directory removed again when the object goes out of scope.
class scratch_dir {
public:
    explicit scratch_dir(const std::string& name) {
        path_ = std::filesystem::temp_directory_path() /
                ("brine-test-" + name + "-" + std::to_string(std::rand()) + std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~scratch_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

}  // namespace brine_test
