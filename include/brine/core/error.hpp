// SPDX-License-Identifier: MIT
//
// Errors. brine never throws and never allocates to report a failure: an error is a code, the
// byte offset where the input stopped making sense, the archive entry it happened in (if any), and
// a static sentence saying what was expected there.
#pragma once

#include <brine/config.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

BRINE_NAMESPACE_BEGIN

// One code per distinct way an input can be refused; tests and the CLI's JSON rely on the names.
// New codes are appended within their group; the numeric values are not part of the contract.
enum class errc : std::uint16_t {
    ok = 0,

    // Input/output and resources
    io_open_failed,
    io_read_failed,
    io_write_failed,
    io_rename_failed,
    invalid_argument,
    limit_exceeded,

    // DEFLATE (RFC 1951)
    deflate_truncated,            // the stream ended before its final block did
    deflate_bad_block_type,       // BTYPE 11
    deflate_stored_length,        // LEN and NLEN of a stored block disagree
    deflate_bad_code_lengths,     // a Huffman code is over-subscribed, incomplete or malformed
    deflate_bad_symbol,           // a literal/length 286/287 or distance 30/31
    deflate_distance_too_far,     // a match reaches before the start of the output
    deflate_output_limit,         // the output would pass the caller's limit
    deflate_size_mismatch,        // the output size differs from the exact size required
    deflate_trailing_data,        // bytes after the final block where none were allowed

    // Zip container (THREATS.md Z rows)
    zip_no_end_record,             // no end-of-central-directory record in the last 64 KiB
    zip_multiple_end_records,      // more than one end-of-central-directory record could be the real one
    zip_trailing_data,             // bytes after the end record that its comment length does not cover
    zip_zip64_inconsistent,        // ZIP64 locator or record missing, misplaced, or disagreeing with the end record
    zip_multi_disk,                // a disk number other than 0 (split archives)
    zip_central_directory_bounds,  // central directory outside the file or not exactly filling its declared size
    zip_entry_count_mismatch,      // number of central headers differs from the end record's count
    zip_bad_signature,             // a local or central header without its signature
    zip_leading_data,              // bytes before the first local header (e.g. a pickle prefix: polyglot)
    zip_unaccounted_bytes,         // bytes between entries that no header accounts for
    zip_bad_extra_field,           // an extra field that overruns its header or a malformed ZIP64 extra
    zip_header_mismatch,           // local header disagrees with the central header (name, method, sizes, CRC, flags)
    zip_encrypted,                 // encryption flag bits (0x1, 0x40) set
    zip_patch_data,                // patch-data flag bit (0x20) set
    zip_unsupported_method,        // compression method other than stored (0) or deflate (8)
    zip_overlap,                   // entries overlapping each other or the central directory
    zip_out_of_range,              // an offset or size pointing outside the file
    zip_duplicate_name,            // two entries whose names are equal ignoring ASCII case
    zip_bad_name,                  // name with .., an absolute path, a backslash, NUL, or invalid UTF-8
    zip_multiple_roots,            // entries not all under one top-level folder
    zip_bad_data_descriptor,       // data descriptor missing or disagreeing with the central header
    zip_crc_mismatch,              // entry data whose CRC-32 differs from the header's
    zip_size_mismatch,             // entry data whose (inflated) size differs from the header's
    zip_not_found,                 // no entry with that name
    zip_directory_with_data,       // a directory (name ending in '/', MS-DOS bit 0x10, Unix S_IFDIR) holding data
    zip_special_file,              // attributes of a link, device, FIFO or socket (Unix), or an MS-DOS volume label
    zip_unsupported_version,       // a version needed to extract above 6.3 (Python's zipfile refuses the archive)
    zip_unicode_path,              // an Info-ZIP Unicode Path extra field (0x7075): a second name zipfile would use

    // Pickle stream (THREATS.md P and R rows)
    pickle_end_of_input,    // the input ended at an opcode boundary (no STOP was read)
    pickle_truncated,       // an opcode's argument or text line is cut short by the end of the input
    pickle_unknown_opcode,  // a byte that is no opcode of protocols 0-5
    pickle_bad_protocol,    // PROTO with a version above 5
    pickle_bad_frame,       // FRAME past the input, a read straddling a frame's end, or a frame inside a frame
    pickle_bad_length,      // a negative length (BINSTRING, LONG4)
    pickle_bad_integer,     // an INT, LONG, GET or PUT line that is not a plain decimal integer
    pickle_bad_float,       // a FLOAT line that is not a plain decimal or inf/nan literal, or overflows
    pickle_bad_quotes,      // a STRING argument without matching quotes at both ends
    pickle_bad_escape,      // a STRING or UNICODE escape Python does not define, or one brine refuses
    pickle_invalid_utf8,    // text that is not strict UTF-8 (overlong, surrogate, above U+10FFFF)
    pickle_not_ascii,       // a PERSID or INST line with a non-ASCII byte
    pickle_stack_underflow, // an opcode needing more values than the stack holds above its MARK
    pickle_mark_missing,   // an opcode needing a MARK where there is none
    pickle_memo_missing,   // GET of a memo index nothing was stored at
    pickle_odd_items,      // DICT or SETITEMS with an odd number of items
    pickle_bad_argument,   // an operand of the wrong type (REDUCE args not a tuple, STACK_GLOBAL non-str...)
    pickle_refused_opcode, // EXT1/2/4 or out-of-band buffers: they reach outside the stream
    pickle_bad_opcode,     // an opcode the machine cannot evaluate
    pickle_root_blocked,   // the top-level object itself is refused: nothing is left to reconstruct
    pickle_unwritable,     // a graph the writer cannot express without running code (a cycle through a tuple)

    // PyTorch checkpoints (THREATS.md F and W rows)
    torch_not_a_checkpoint,  // a file that is none of the formats torch.load or pickle.load reads
    torch_no_data_pkl,       // a zip archive without the data.pkl record torch.load looks for
    torch_torchscript,       // a TorchScript archive (constants.pkl): refused, as torch.load(weights_only=True) does
    torch_legacy_tar,        // the pre-1.0 tar checkpoint format: not supported
    torch_bad_legacy,        // a legacy stream whose magic number, protocol, storage keys or storages are malformed
    torch_bad_storage,       // a persistent id that is not ('storage', storage class, key, location, numel[, view])
    torch_unknown_dtype,     // a storage class with no known dtype
    torch_bad_key,           // a storage key that is not a plain record name
    torch_missing_record,    // a storage whose data/<key> record is missing
    torch_record_size,       // a record whose length is not numel x item size (CVE-2026-24747; hidden bytes)
    torch_dtype_conflict,    // one storage used with two different dtypes
    torch_bad_shape,         // negative sizes or strides, or sizes and strides of different lengths
    torch_overflow,          // a size, stride or offset computation that overflows 64 bits
    torch_out_of_storage,    // storage_offset + extent of a tensor beyond its storage
    torch_big_endian,        // a byteorder record saying big-endian: refused, not byte-swapped
    torch_bad_sparse,        // sparse tensor parts of the wrong shape or indices out of range
    torch_bad_tensor,        // a tensor rebuild call with arguments of the wrong kind
    torch_not_clean,         // content the policy refuses, where only a clean checkpoint will do (views)
    torch_bad_version,       // a zip without the version record torch requires, or one torch cannot parse or read
    torch_ambiguous,         // bytes that two loaders read as two different formats (tar and pickle, zip and pickle...)
    torch_polyglot_output,   // an output that some loader would read other than as written: refused, never renamed into place
    torch_tensor_state,      // state set on a tensor after its rebuild call (BUILD, a rebuild's state argument): W6
    // NumPy .npy / .npz (THREATS.md F5)
    numpy_bad_magic,          // no "\x93NUMPY" at the start of an .npy file
    numpy_bad_version,        // a format version other than 1.0, 2.0 and 3.0
    numpy_truncated_header,   // the file ends inside the magic, version, header length or header
    numpy_bad_alignment,      // magic, header length and header not a multiple of 16 bytes long
    numpy_bad_header,         // header text other than the strict dict literal numpy writes (syntax, encoding, padding)
    numpy_duplicate_key,      // a header key given twice (Python keeps the last one; brine refuses)
    numpy_unknown_key,        // a header key other than 'descr', 'fortran_order' and 'shape'
    numpy_missing_key,        // one of the three header keys absent
    numpy_bad_descr,          // a dtype description numpy would refuse, or read other than as written
    numpy_bad_shape,          // a shape that is not a tuple of non-negative ints, or has too many dimensions
    numpy_bad_fortran_order,  // fortran_order other than True or False
    numpy_size_overflow,      // an item size or byte count beyond what numpy can hold (C int, intp)
    numpy_truncated_data,     // fewer data bytes than shape x item size
    numpy_trailing_data,      // bytes after the array data
    numpy_not_npy,            // an .npz member that is not an .npy file
    numpy_object_refused,     // an object array whose pickle the policy refuses: nothing is rebuilt from it
    // Moving Target Defense and integrity seals (mtd/)
    mtd_bad_key,              // a key file that is not 64 hexadecimal digits
    mtd_bad_manifest,         // manifest text other than the format manifest.hpp defines
    mtd_no_manifest,          // a file without the manifest of a seal (not sealed, or the manifest removed)
    mtd_unsupported,          // a format or tensor the chosen strategy cannot seal (said in the detail)
    mtd_bad_plan,             // a neuron plan that does not fit the checkpoint, or none can be inferred
    mtd_tampered,             // the file differs from what its seal says (restore refuses to undo it)
    mtd_wrong_key,            // a key other than the one the file was sealed with (the manifest's key check differs)
};

[[nodiscard]] constexpr std::string_view to_string(errc code) noexcept {
    switch (code) {
        case errc::ok: return "ok";
        case errc::io_open_failed: return "io.open_failed";
        case errc::io_read_failed: return "io.read_failed";
        case errc::io_write_failed: return "io.write_failed";
        case errc::io_rename_failed: return "io.rename_failed";
        case errc::invalid_argument: return "invalid_argument";
        case errc::limit_exceeded: return "limit_exceeded";
        case errc::deflate_truncated: return "deflate.truncated";
        case errc::deflate_bad_block_type: return "deflate.bad_block_type";
        case errc::deflate_stored_length: return "deflate.stored_length";
        case errc::deflate_bad_code_lengths: return "deflate.bad_code_lengths";
        case errc::deflate_bad_symbol: return "deflate.bad_symbol";
        case errc::deflate_distance_too_far: return "deflate.distance_too_far";
        case errc::deflate_output_limit: return "deflate.output_limit";
        case errc::deflate_size_mismatch: return "deflate.size_mismatch";
        case errc::deflate_trailing_data: return "deflate.trailing_data";
        case errc::zip_no_end_record: return "zip.no_end_record";
        case errc::zip_multiple_end_records: return "zip.multiple_end_records";
        case errc::zip_trailing_data: return "zip.trailing_data";
        case errc::zip_zip64_inconsistent: return "zip.zip64_inconsistent";
        case errc::zip_multi_disk: return "zip.multi_disk";
        case errc::zip_central_directory_bounds: return "zip.central_directory_bounds";
        case errc::zip_entry_count_mismatch: return "zip.entry_count_mismatch";
        case errc::zip_bad_signature: return "zip.bad_signature";
        case errc::zip_leading_data: return "zip.leading_data";
        case errc::zip_unaccounted_bytes: return "zip.unaccounted_bytes";
        case errc::zip_bad_extra_field: return "zip.bad_extra_field";
        case errc::zip_header_mismatch: return "zip.header_mismatch";
        case errc::zip_encrypted: return "zip.encrypted";
        case errc::zip_patch_data: return "zip.patch_data";
        case errc::zip_unsupported_method: return "zip.unsupported_method";
        case errc::zip_overlap: return "zip.overlap";
        case errc::zip_out_of_range: return "zip.out_of_range";
        case errc::zip_duplicate_name: return "zip.duplicate_name";
        case errc::zip_bad_name: return "zip.bad_name";
        case errc::zip_multiple_roots: return "zip.multiple_roots";
        case errc::zip_bad_data_descriptor: return "zip.bad_data_descriptor";
        case errc::zip_crc_mismatch: return "zip.crc_mismatch";
        case errc::zip_size_mismatch: return "zip.size_mismatch";
        case errc::zip_not_found: return "zip.not_found";
        case errc::zip_directory_with_data: return "zip.directory_with_data";
        case errc::zip_special_file: return "zip.special_file";
        case errc::zip_unsupported_version: return "zip.unsupported_version";
        case errc::zip_unicode_path: return "zip.unicode_path";
        case errc::pickle_end_of_input: return "pickle.end_of_input";
        case errc::pickle_truncated: return "pickle.truncated";
        case errc::pickle_unknown_opcode: return "pickle.unknown_opcode";
        case errc::pickle_bad_protocol: return "pickle.bad_protocol";
        case errc::pickle_bad_frame: return "pickle.bad_frame";
        case errc::pickle_bad_length: return "pickle.bad_length";
        case errc::pickle_bad_integer: return "pickle.bad_integer";
        case errc::pickle_bad_float: return "pickle.bad_float";
        case errc::pickle_bad_quotes: return "pickle.bad_quotes";
        case errc::pickle_bad_escape: return "pickle.bad_escape";
        case errc::pickle_invalid_utf8: return "pickle.invalid_utf8";
        case errc::pickle_not_ascii: return "pickle.not_ascii";
        case errc::pickle_stack_underflow: return "pickle.stack_underflow";
        case errc::pickle_mark_missing: return "pickle.mark_missing";
        case errc::pickle_memo_missing: return "pickle.memo_missing";
        case errc::pickle_odd_items: return "pickle.odd_items";
        case errc::pickle_bad_argument: return "pickle.bad_argument";
        case errc::pickle_refused_opcode: return "pickle.refused_opcode";
        case errc::pickle_bad_opcode: return "pickle.bad_opcode";
        case errc::pickle_root_blocked: return "pickle.root_blocked";
        case errc::pickle_unwritable: return "pickle.unwritable";
        case errc::torch_not_a_checkpoint: return "torch.not_a_checkpoint";
        case errc::torch_no_data_pkl: return "torch.no_data_pkl";
        case errc::torch_torchscript: return "torch.torchscript";
        case errc::torch_legacy_tar: return "torch.legacy_tar";
        case errc::torch_bad_legacy: return "torch.bad_legacy";
        case errc::torch_bad_storage: return "torch.bad_storage";
        case errc::torch_unknown_dtype: return "torch.unknown_dtype";
        case errc::torch_bad_key: return "torch.bad_key";
        case errc::torch_missing_record: return "torch.missing_record";
        case errc::torch_record_size: return "torch.record_size";
        case errc::torch_dtype_conflict: return "torch.dtype_conflict";
        case errc::torch_bad_shape: return "torch.bad_shape";
        case errc::torch_overflow: return "torch.overflow";
        case errc::torch_out_of_storage: return "torch.out_of_storage";
        case errc::torch_big_endian: return "torch.big_endian";
        case errc::torch_bad_sparse: return "torch.bad_sparse";
        case errc::torch_bad_tensor: return "torch.bad_tensor";
        case errc::torch_not_clean: return "torch.not_clean";
        case errc::torch_bad_version: return "torch.bad_version";
        case errc::torch_ambiguous: return "torch.ambiguous";
        case errc::torch_polyglot_output: return "torch.polyglot_output";
        case errc::torch_tensor_state: return "torch.tensor_state";
        case errc::numpy_bad_magic: return "numpy.bad_magic";
        case errc::numpy_bad_version: return "numpy.bad_version";
        case errc::numpy_truncated_header: return "numpy.truncated_header";
        case errc::numpy_bad_alignment: return "numpy.bad_alignment";
        case errc::numpy_bad_header: return "numpy.bad_header";
        case errc::numpy_duplicate_key: return "numpy.duplicate_key";
        case errc::numpy_unknown_key: return "numpy.unknown_key";
        case errc::numpy_missing_key: return "numpy.missing_key";
        case errc::numpy_bad_descr: return "numpy.bad_descr";
        case errc::numpy_bad_shape: return "numpy.bad_shape";
        case errc::numpy_bad_fortran_order: return "numpy.bad_fortran_order";
        case errc::numpy_size_overflow: return "numpy.size_overflow";
        case errc::numpy_truncated_data: return "numpy.truncated_data";
        case errc::numpy_trailing_data: return "numpy.trailing_data";
        case errc::numpy_not_npy: return "numpy.not_npy";
        case errc::numpy_object_refused: return "numpy.object_refused";
        case errc::mtd_bad_key: return "mtd.bad_key";
        case errc::mtd_bad_manifest: return "mtd.bad_manifest";
        case errc::mtd_no_manifest: return "mtd.no_manifest";
        case errc::mtd_unsupported: return "mtd.unsupported";
        case errc::mtd_bad_plan: return "mtd.bad_plan";
        case errc::mtd_tampered: return "mtd.tampered";
        case errc::mtd_wrong_key: return "mtd.wrong_key";
    }
    return "unknown";
}

// A short name held inline (no heap), truncated if longer: the archive entry an error occurred in.
class entry_name {
public:
    static constexpr std::size_t capacity = 95;

    constexpr entry_name() noexcept = default;
    constexpr entry_name(std::string_view name) noexcept { assign(name); }  // NOLINT: implicit on purpose

    constexpr void assign(std::string_view name) noexcept {
        size_ = name.size() < capacity ? name.size() : capacity;
        for (std::size_t i = 0; i < size_; ++i) text_[i] = name[i];
        text_[size_] = '\0';
    }
    [[nodiscard]] constexpr std::string_view view() const noexcept { return {text_, size_}; }
    [[nodiscard]] constexpr bool empty() const noexcept { return size_ == 0; }

private:
    char text_[capacity + 1] = {};
    std::size_t size_ = 0;
};

// What went wrong, where, and what was expected instead.
struct error {
    errc code = errc::ok;
    std::uint64_t offset = 0;      // byte offset in the input (or in the entry, when entry is set)
    entry_name entry;              // archive entry, empty for whole-file inputs
    const char* detail = "";       // static text: what was expected at that offset

    constexpr error() noexcept = default;
    constexpr error(errc c, std::uint64_t off, const char* what) noexcept : code(c), offset(off), detail(what) {}
    constexpr error(errc c, std::uint64_t off, const char* what, std::string_view in_entry) noexcept
        : code(c), offset(off), entry(in_entry), detail(what) {}
};

BRINE_NAMESPACE_END
