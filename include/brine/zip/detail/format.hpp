// SPDX-License-Identifier: MIT
//
// The zip format's fixed parts (PKWARE APPNOTE 6.3): signatures, header sizes, field offsets and
// flag bits, shared by the reader and the writer. All fields are little-endian.
#pragma once

#include <brine/config.hpp>

#include <cstddef>
#include <cstdint>

BRINE_NAMESPACE_BEGIN
namespace zip::detail {

inline constexpr std::uint32_t local_header_signature = 0x04034b50;       // "PK\3\4"
inline constexpr std::uint32_t central_header_signature = 0x02014b50;     // "PK\1\2"
inline constexpr std::uint32_t end_record_signature = 0x06054b50;         // "PK\5\6"
inline constexpr std::uint32_t zip64_end_record_signature = 0x06064b50;   // "PK\6\6"
inline constexpr std::uint32_t zip64_locator_signature = 0x07064b50;      // "PK\6\7"
inline constexpr std::uint32_t data_descriptor_signature = 0x08074b50;    // "PK\7\8"

inline constexpr std::size_t local_header_size = 30;
inline constexpr std::size_t central_header_size = 46;
inline constexpr std::size_t end_record_size = 22;
inline constexpr std::size_t zip64_end_record_size = 56;  // without its extensible data
inline constexpr std::size_t zip64_locator_size = 20;
inline constexpr std::size_t max_comment_size = 0xFFFF;

// General-purpose flag bits.
inline constexpr std::uint16_t flag_encrypted = 0x0001;
inline constexpr std::uint16_t flag_data_descriptor = 0x0008;
inline constexpr std::uint16_t flag_patch_data = 0x0020;
inline constexpr std::uint16_t flag_strong_encryption = 0x0040;
inline constexpr std::uint16_t flag_utf8 = 0x0800;
inline constexpr std::uint16_t flag_masked_local_headers = 0x2000;  // central directory encryption

inline constexpr std::uint16_t method_stored = 0;
inline constexpr std::uint16_t method_deflate = 8;

// Python's zipfile (MAX_EXTRACT_VERSION) refuses to open an archive with a central header that
// needs a later version to extract; miniz never reads the field.
inline constexpr std::uint16_t max_version_needed = 63;  // 6.3

inline constexpr std::uint16_t zip64_extra_id = 0x0001;
// Info-ZIP Unicode Path: a second name for the entry, which newer Python zipfiles use instead of
// the header's name when the field's CRC-32 matches that name.
inline constexpr std::uint16_t unicode_path_extra_id = 0x7075;
// PyTorch pads local headers with an extra field 'FB' (0x4246) so record data starts 64-aligned.
inline constexpr std::uint16_t torch_padding_extra_id = 0x4246;
inline constexpr std::size_t torch_alignment = 64;

// External attributes (central header only): MS-DOS attributes in the low byte, and a Unix
// st_mode in the high 16 bits when the producer wrote one (Python's zipfile always does). brine
// reads the mode whatever the host system in "version made by": some extractors do too (7-Zip
// with its own flag), and no producer writes anything there but a mode or zeros.
inline constexpr std::uint32_t dos_volume_label = 0x08;
inline constexpr std::uint32_t dos_directory = 0x10;
inline constexpr std::uint32_t unix_file_type_mask = 0170000u << 16;
inline constexpr std::uint32_t unix_regular_file = 0100000u << 16;
inline constexpr std::uint32_t unix_directory = 0040000u << 16;

// miniz (mz_zip_reader_is_file_a_directory) takes the MS-DOS bit whatever the host system.
[[nodiscard]] constexpr bool dos_marks_directory(std::uint32_t attributes) noexcept {
    return (attributes & dos_directory) != 0;
}
[[nodiscard]] constexpr bool unix_marks_directory(std::uint32_t attributes) noexcept {
    return (attributes & unix_file_type_mask) == unix_directory;
}
// A Unix type other than "none given", regular file or directory: link, device, FIFO, socket.
[[nodiscard]] constexpr bool unix_marks_special_file(std::uint32_t attributes) noexcept {
    const std::uint32_t type = attributes & unix_file_type_mask;
    return type != 0 && type != unix_regular_file && type != unix_directory;
}

inline constexpr std::uint16_t u16_max = 0xFFFF;
inline constexpr std::uint32_t u32_max = 0xFFFFFFFF;

// Field offsets inside the local header.
namespace local {
inline constexpr std::size_t version_needed = 4, flags = 6, method = 8, time = 10, date = 12, crc32 = 14,
                             compressed_size = 18, uncompressed_size = 22, name_length = 26, extra_length = 28;
}
// Field offsets inside the central header.
namespace central {
inline constexpr std::size_t version_made_by = 4, version_needed = 6, flags = 8, method = 10, time = 12,
                             date = 14, crc32 = 16, compressed_size = 20, uncompressed_size = 24,
                             name_length = 28, extra_length = 30, comment_length = 32, disk_start = 34,
                             internal_attributes = 36, external_attributes = 38, local_header_offset = 42;
}
// Field offsets inside the end-of-central-directory record.
namespace end_record {
inline constexpr std::size_t disk = 4, directory_disk = 6, entries_on_disk = 8, entries = 10,
                             directory_size = 12, directory_offset = 16, comment_length = 20;
}
// Field offsets inside the ZIP64 end record and locator.
namespace zip64_end {
inline constexpr std::size_t record_size = 4, version_made_by = 12, version_needed = 14, disk = 16,
                             directory_disk = 20, entries_on_disk = 24, entries = 32, directory_size = 40,
                             directory_offset = 48;
}
namespace zip64_locator {
inline constexpr std::size_t record_disk = 4, record_offset = 8, disk_count = 16;
}

}  // namespace zip::detail
BRINE_NAMESPACE_END
