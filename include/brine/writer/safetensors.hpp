// SPDX-License-Identifier: MIT
//
// Writing safetensors files (format in safetensors/format.hpp), at three levels:
//
//   safetensors::write(tensors, metadata, sink)
//       contiguous tensors already in memory, laid out in the order given.
//   writer::write_safetensors(checkpoint, storage_bytes, sink, options)
//       the tensors of a validated torch checkpoint. Each tensor is written on its own, in C
//       order: a view of a shared storage becomes its own copy of the elements it sees, a
//       strided view (transpose, slice, expand, overlapping windows) is gathered element run by
//       element run. Tensors the format cannot hold (quantized, sparse, meta, complex) are
//       skipped and reported, or refused with options.strict.
//   writer::safetensors, a Writer policy for torch::basic_disarmer (`brine convert`).
//
// The Writer policy takes the tensors from the parts the disarmer gives it (writer/concept.hpp):
// the tensors of the judged reconstruction, never a second evaluation of brine's own pickle. It
// pulls each storage once through copy_storage and writes the tensors that view it. Data is laid
// out by item size (largest first: every tensor then starts at a multiple of its item size, as the
// data area starts 8-byte aligned) and, within one item size, storage by storage, so memory holds
// one storage at a time, never the model.
//
// Layout written: 8-byte N, the JSON header without whitespace, padded with spaces so the data
// area starts at a multiple of 8 and N's low byte is no pickle opcode (so no pickle loader reads
// past byte 0), then the tensors back to back. "__metadata__" comes first when
// there is any.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/error.hpp>
#include <brine/core/hex.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/core/utf8.hpp>
#include <brine/pickle/opcodes.hpp>
#include <brine/safetensors/format.hpp>
#include <brine/torch/dtype.hpp>
#include <brine/torch/checkpoint.hpp>
#include <brine/torch/reconstruction.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace safetensors {

// One tensor to write: its header entry and, for safetensors::write, its bytes in C order.
struct tensor_to_write {
    std::string_view name;
    dtype type = dtype::f32;
    std::vector<std::uint64_t> shape;
    byte_view data;                    // exactly product(shape) x item size bytes (write only)
    std::uint64_t source_offset = 0;   // reported as the offset of errors about this tensor
};

// The 8-byte length and the padded JSON header for `tensors` laid out in the order given.
struct encoded_header {
    std::vector<std::uint8_t> bytes;     // 8 + N bytes: what precedes the data area
    std::vector<std::uint64_t> sizes;    // each tensor's byte size, in the order given
    std::uint64_t data_size = 0;         // the data area's size
};

namespace detail {

// Appends `text` as a JSON string. The text has been checked: valid UTF-8, no NUL.
inline void append_json_string(std::string& out, std::string_view text) {
    out += '"';
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20) {
            out += "\\u00";
            append_hex_byte(out, c);
        } else {
            out += ch;
        }
    }
    out += '"';
}

// Text every reader can take back unchanged: strict UTF-8 (what JSON is) without NUL (which
// brine's reader refuses, as C consumers would cut the text there).
[[nodiscard]] inline bool writable_text(std::string_view text) noexcept {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data());
    return text.find('\0') == std::string_view::npos &&
           brine::detail::first_invalid_utf8(bytes, text.size()) == text.size();
}

}  // namespace detail

// The header for `tensors` and `meta`, with the checks that make it one brine's reader accepts:
// names non-empty, unique, not "__metadata__", UTF-8 without NUL; metadata keys unique; sizes
// without overflow; the header within the limit.
[[nodiscard]] inline result<encoded_header> encode_header(const std::vector<tensor_to_write>& tensors,
                                                          const metadata& meta, const limits& lim = {}) noexcept {
    encoded_header out;
    std::string json = "{";
    if (!meta.empty()) {
        std::unordered_set<std::string_view> keys;
        json += "\"__metadata__\":{";
        for (std::size_t i = 0; i < meta.size(); ++i) {
            const auto& [key, value] = meta[i];
            if (!detail::writable_text(key) || !detail::writable_text(value))
                return error{errc::invalid_argument, 0, "metadata keys and values in UTF-8 without NUL", key};
            if (!keys.insert(key).second) return error{errc::invalid_argument, 0, "each metadata key once", key};
            if (i != 0) json += ',';
            detail::append_json_string(json, key);
            json += ':';
            detail::append_json_string(json, value);
        }
        json += '}';
    }
    std::unordered_set<std::string_view> names;
    std::uint64_t offset = 0;
    for (const tensor_to_write& t : tensors) {
        const std::uint64_t at = t.source_offset;
        if (t.name.empty())
            return error{errc::invalid_argument, at,
                         "a non-empty tensor name (safetensors names every tensor; a root tensor has none)"};
        if (t.name == metadata_key)
            return error{errc::invalid_argument, at, "a tensor name other than __metadata__", t.name};
        if (!detail::writable_text(t.name))
            return error{errc::invalid_argument, at, "a tensor name in UTF-8 without NUL", t.name};
        if (!names.insert(t.name).second)
            return error{errc::invalid_argument, at, "unique tensor names (two tensors have this name)", t.name};
        if (t.shape.size() > lim.max_rank)
            return error{errc::limit_exceeded, at, "a shape of at most limits::max_rank dimensions", t.name};
        std::uint64_t bytes = info(t.type).item_size;
        for (const std::uint64_t dim : t.shape) {
            if (dim != 0 && bytes > UINT64_MAX / dim)
                return error{errc::limit_exceeded, at, "a shape whose byte size fits in 64 bits", t.name};
            bytes *= dim;
        }
        if (bytes > UINT64_MAX - offset)
            return error{errc::limit_exceeded, at, "a data area whose size fits in 64 bits", t.name};
        if (json.size() > 1) json += ',';
        detail::append_json_string(json, t.name);
        json += ":{\"dtype\":\"";
        json += info(t.type).name;
        json += "\",\"shape\":[";
        for (std::size_t d = 0; d < t.shape.size(); ++d) {
            if (d != 0) json += ',';
            json += std::to_string(t.shape[d]);
        }
        json += "],\"data_offsets\":[";
        json += std::to_string(offset);
        json += ',';
        offset += bytes;
        json += std::to_string(offset);
        json += "]}";
        out.sizes.push_back(bytes);
    }
    json += '}';
    // Spaces up to a multiple of 8 for 8 + N: every tensor's data can then be aligned. Then 8
    // more at a time while N's low byte, the file's first byte, is a pickle opcode: a pickle
    // loader handed the file (torch.load, pickle.load) then stops at byte 0, before reading
    // anything, however the tensor data reads as opcodes (safetensors/detect.hpp). A multiple of
    // 8 that is no opcode is at most a few steps away (0x00, 0x08, ..., 0x20, 0x38, 0x40, ...).
    while (json.size() % 8 != 0) json += ' ';
    while (pickle::is_opcode(static_cast<std::uint8_t>(json.size() & 0xff))) json.append(8, ' ');
    if (json.size() > lim.max_header_size)
        return error{errc::limit_exceeded, 0, "a header within limits::max_header_size (fewer or shorter names)"};
    out.bytes.resize(8 + json.size());
    store_le64(out.bytes.data(), json.size());
    std::copy(json.begin(), json.end(), out.bytes.begin() + 8);
    out.data_size = offset;
    return out;
}

// Writes a safetensors file of contiguous tensors in memory, laid out in the order given.
// Returns the number of bytes written.
template <class Sink>
[[nodiscard]] result<std::uint64_t> write(const std::vector<tensor_to_write>& tensors, const metadata& meta, Sink& out,
                                          const limits& lim = {}) noexcept {
    auto head = encode_header(tensors, meta, lim);
    BRINE_TRY(head);
    for (std::size_t i = 0; i < tensors.size(); ++i)
        if (tensors[i].data.size() != head->sizes[i])
            return error{errc::invalid_argument, tensors[i].source_offset,
                         "tensor data of exactly product(shape) x item size bytes", tensors[i].name};
    BRINE_TRY(out.write(byte_view(head->bytes.data(), head->bytes.size())));
    for (const tensor_to_write& t : tensors)
        if (!t.data.empty()) BRINE_TRY(out.write(t.data));
    return static_cast<std::uint64_t>(head->bytes.size()) + head->data_size;
}

}  // namespace safetensors

namespace writer {

// Why a tensor of a checkpoint was not written.
enum class skip_reason : std::uint8_t {
    quantized,                // scale and zero point have no place in the format
    quantization_parameters,  // the scales / zero points tensor of a skipped quantized tensor
    sparse,                   // the format holds dense tensors only
    sparse_part,              // the indices or values of a skipped sparse tensor
    meta,                     // no data at all
    complex,                  // the format defines no complex dtype
};

[[nodiscard]] constexpr std::string_view to_string(skip_reason reason) noexcept {
    switch (reason) {
        case skip_reason::quantized: return "quantized: no safetensors dtype holds a scale and zero point";
        case skip_reason::quantization_parameters: return "the scales or zero points of a skipped quantized tensor";
        case skip_reason::sparse: return "sparse: safetensors holds dense tensors only";
        case skip_reason::sparse_part: return "the indices or values of a skipped sparse tensor";
        case skip_reason::meta: return "meta: a meta tensor has no data";
        case skip_reason::complex: return "complex: safetensors defines no complex dtype";
    }
    return "unknown";
}

struct skipped_tensor {
    std::string name;
    skip_reason reason = skip_reason::meta;
    // Of the opcode that made the tensor, in its pickle: through the Writer policy, the
    // reconstructed data.pkl the policy reads (as for the offsets of its errors).
    std::uint64_t offset = 0;
};

struct safetensors_options {
    // "__metadata__": {"format": ..., "source_sha256": ...} plus `extra`; empty values are left
    // out. Hugging Face transformers loads a file only if "format" is "pt" (or tf, flax, mlx):
    // keep the default for files meant for it, and name the source format in `extra`.
    std::string format = "pt";
    std::string source_sha256;  // hex digest of the input file, if the caller has one
    ::brine::safetensors::metadata extra;
    // Fail instead of skipping a tensor the format cannot hold.
    bool strict = false;
    // The most data the output may hold: a view that repeats elements (expand, stride 0) is
    // written out in full, so a tiny hostile checkpoint could ask for terabytes. 0: 16 times the
    // bytes of the storages the written tensors view, and at least 1 GiB.
    std::uint64_t max_data_bytes = 0;
    ::brine::safetensors::limits header_limits;
};

// What write_safetensors wrote and what it left out.
struct safetensors_summary {
    std::size_t tensors_written = 0;
    std::uint64_t header_size = 0;  // 8 + N
    std::uint64_t data_size = 0;
    std::vector<skipped_tensor> skipped;  // in checkpoint order
};

namespace detail {

[[nodiscard]] constexpr const char* strict_refusal(skip_reason reason) noexcept {
    switch (reason) {
        case skip_reason::quantized: return "only tensors safetensors can hold (strict): not a quantized tensor";
        case skip_reason::quantization_parameters:
            return "only tensors safetensors can hold (strict): not quantization parameters";
        case skip_reason::sparse: return "only tensors safetensors can hold (strict): not a sparse tensor";
        case skip_reason::sparse_part: return "only tensors safetensors can hold (strict): not part of a sparse tensor";
        case skip_reason::meta: return "only tensors safetensors can hold (strict): not a meta tensor";
        case skip_reason::complex: return "only tensors safetensors can hold (strict): not a complex tensor";
    }
    return "only tensors safetensors can hold (strict)";
}

// A tensor planned for the output.
struct planned {
    std::size_t tensor;        // index in checkpoint::tensors
    ::brine::safetensors::dtype type;
    std::uint64_t bytes;
};

// Writes the elements `t` sees in `storage`, in C order. Runs of elements that are contiguous in
// the storage (the innermost dimensions whose strides are row-major) are copied whole; a
// contiguous tensor is one run, written straight from the storage.
template <class Sink>
[[nodiscard]] status gather(const torch::tensor_ref& t, byte_view storage, Sink& out,
                            std::vector<std::uint8_t>& buffer) {
    const std::uint64_t item = torch::info(t.type).item_size;
    std::uint64_t numel = 1;
    for (const std::int64_t size : t.sizes) numel *= static_cast<std::uint64_t>(size);  // checked by the caller
    if (numel == 0) return {};
    std::size_t outer = t.sizes.size();
    std::uint64_t run = 1;  // elements per contiguous run
    while (outer > 0 && (t.sizes[outer - 1] == 1 || static_cast<std::uint64_t>(t.strides[outer - 1]) == run)) {
        run *= static_cast<std::uint64_t>(t.sizes[outer - 1]);
        --outer;
    }
    const std::uint64_t run_bytes = run * item;
    const std::size_t capacity = buffer.size();
    std::size_t filled = 0;
    std::vector<std::uint64_t> index(outer, 0);
    std::uint64_t position = static_cast<std::uint64_t>(t.storage_offset);  // in elements
    for (;;) {
        // find_tensors checked every element against the storage's numel; the bytes handed in
        // are checked here, once per run.
        if (position > storage.size() / item || run_bytes > storage.size() - position * item)
            return error{errc::torch_out_of_storage, t.offset, "storage bytes for every element of the view", t.name};
        const std::uint8_t* from = storage.data() + position * item;
        if (run_bytes >= capacity) {
            if (filled != 0) BRINE_TRY(out.write(byte_view(buffer.data(), filled)));
            filled = 0;
            BRINE_TRY(out.write(byte_view(from, static_cast<std::size_t>(run_bytes))));
        } else {
            if (capacity - filled < run_bytes) {
                BRINE_TRY(out.write(byte_view(buffer.data(), filled)));
                filled = 0;
            }
            std::copy(from, from + run_bytes, buffer.data() + filled);
            filled += static_cast<std::size_t>(run_bytes);
        }
        // The next index of the outer dimensions, last one fastest.
        std::size_t d = outer;
        while (d > 0) {
            --d;
            const auto stride = static_cast<std::uint64_t>(t.strides[d]);
            ++index[d];
            position += stride;
            if (index[d] < static_cast<std::uint64_t>(t.sizes[d])) break;
            position -= stride * index[d];
            index[d] = 0;
            if (d == 0) {
                if (filled != 0) BRINE_TRY(out.write(byte_view(buffer.data(), filled)));
                return {};
            }
        }
        if (outer == 0) {
            if (filled != 0) BRINE_TRY(out.write(byte_view(buffer.data(), filled)));
            return {};
        }
    }
}

}  // namespace detail

// Writes the tensors of `found` as a safetensors file to `out` (a Sink: the header is complete
// before any data, nothing is patched). Tensor names are the dotted names of the checkpoint
// (tensor_ref::name), which must be non-empty and unique. `storage_bytes` gives a storage's bytes:
//     result<byte_view> storage_bytes(std::uint32_t storage, std::vector<std::uint8_t>& scratch)
// returning a view of at least checkpoint::storages[storage].byte_size() bytes, either in place
// (a mapped file) or after filling `scratch`; the view must stay valid until the next call. It is
// called once per storage that a written tensor views.
template <class StorageBytes, class Sink>
[[nodiscard]] result<safetensors_summary> write_safetensors(const torch::checkpoint& found,
                                                           StorageBytes&& storage_bytes, Sink& out,
                                                           const safetensors_options& options = {}) {
    namespace st = ::brine::safetensors;
    safetensors_summary summary;
    const std::vector<torch::tensor_ref>& tensors = found.tensors;

    // What the format cannot hold. Sparse tensors and quantized ones bring their parts (indices
    // and values; scales and zero points) as tensors of their own, which go with them.
    constexpr int keep = -1;
    std::vector<int> reason(tensors.size(), keep);
    const auto mark = [&](std::size_t i, skip_reason why) {
        if (reason[i] == keep) reason[i] = static_cast<int>(why);
    };
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const torch::tensor_ref& t = tensors[i];
        switch (t.kind) {
            case torch::layout::strided: break;
            case torch::layout::meta: mark(i, skip_reason::meta); break;
            case torch::layout::sparse_coo:
            case torch::layout::sparse_compressed: {
                mark(i, skip_reason::sparse);
                const std::size_t parts = t.kind == torch::layout::sparse_coo ? 2 : 3;
                for (std::size_t p = t.first_part; p < t.first_part + parts && p < tensors.size(); ++p)
                    mark(p, skip_reason::sparse_part);
                break;
            }
            case torch::layout::quantized: {
                // find_tensors lists a quantizer's tensors (named <name>.quantizer.<i>) just
                // before the quantized tensor itself.
                mark(i, skip_reason::quantized);
                const std::string prefix = t.name + ".quantizer.";
                for (std::size_t p = i; p-- > 0 && tensors[p].name.compare(0, prefix.size(), prefix) == 0;)
                    mark(p, skip_reason::quantization_parameters);
                break;
            }
        }
    }
    std::vector<detail::planned> plan;
    std::vector<std::uint8_t> used(found.storages.size(), 0);
    std::uint64_t storage_total = 0;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const torch::tensor_ref& t = tensors[i];
        st::dtype type = st::dtype::f32;
        if (reason[i] == keep && !st::from_torch(t.type, type)) reason[i] = static_cast<int>(skip_reason::complex);
        if (reason[i] != keep) {
            const auto why = static_cast<skip_reason>(reason[i]);
            if (options.strict) return error{errc::invalid_argument, t.offset, detail::strict_refusal(why), t.name};
            summary.skipped.push_back(skipped_tensor{t.name, why, t.offset});
            continue;
        }
        std::uint64_t bytes = torch::info(t.type).item_size;
        for (const std::int64_t size : t.sizes) {
            const auto dim = static_cast<std::uint64_t>(size);
            if (dim != 0 && bytes > UINT64_MAX / dim)
                return error{errc::torch_overflow, t.offset, "a tensor whose byte size fits in 64 bits", t.name};
            bytes *= dim;
        }
        if (t.storage >= found.storages.size())
            return error{errc::torch_bad_storage, t.offset, "a tensor of a known storage", t.name};
        if (!used[t.storage]) {
            used[t.storage] = 1;
            storage_total += found.storages[t.storage].byte_size();
        }
        plan.push_back(detail::planned{i, type, bytes});
    }

    // Largest items first, then storage by storage (each storage is fetched once), then in
    // checkpoint order.
    std::stable_sort(plan.begin(), plan.end(), [&](const detail::planned& a, const detail::planned& b) {
        const auto ia = st::info(a.type).item_size, ib = st::info(b.type).item_size;
        if (ia != ib) return ia > ib;
        return tensors[a.tensor].storage < tensors[b.tensor].storage;
    });

    std::uint64_t limit = options.max_data_bytes;
    if (limit == 0) {
        constexpr std::uint64_t floor = std::uint64_t{1} << 30;
        limit = storage_total > UINT64_MAX / 16 ? UINT64_MAX : storage_total * 16;
        if (limit < floor) limit = floor;
    }
    std::vector<st::tensor_to_write> entries;
    entries.reserve(plan.size());
    std::uint64_t data_size = 0;
    for (const detail::planned& p : plan) {
        const torch::tensor_ref& t = tensors[p.tensor];
        if (p.bytes > limit - data_size)
            return error{errc::limit_exceeded, t.offset,
                         "a data area within safetensors_options::max_data_bytes (views that repeat elements are "
                         "written out in full)",
                         t.name};
        data_size += p.bytes;
        st::tensor_to_write entry;
        entry.name = t.name;
        entry.type = p.type;
        entry.shape.reserve(t.sizes.size());
        for (const std::int64_t size : t.sizes) entry.shape.push_back(static_cast<std::uint64_t>(size));
        entry.source_offset = t.offset;
        entries.push_back(std::move(entry));
    }

    st::metadata meta;
    if (!options.format.empty()) meta.emplace_back("format", options.format);
    if (!options.source_sha256.empty()) meta.emplace_back("source_sha256", options.source_sha256);
    for (const auto& pair : options.extra) meta.push_back(pair);
    auto head = st::encode_header(entries, meta, options.header_limits);
    BRINE_TRY(head);
    BRINE_TRY(out.write(byte_view(head->bytes.data(), head->bytes.size())));

    std::vector<std::uint8_t> scratch;
    std::vector<std::uint8_t> buffer(std::size_t{256} << 10);
    std::uint32_t current = UINT32_MAX;
    byte_view storage;
    for (const detail::planned& p : plan) {
        const torch::tensor_ref& t = tensors[p.tensor];
        if (t.storage != current) {
            result<byte_view> fetched = storage_bytes(t.storage, scratch);
            BRINE_TRY(fetched);
            storage = *fetched;
            current = t.storage;
            if (storage.size() < found.storages[current].byte_size())
                return error{errc::torch_record_size, t.offset, "a storage of numel x item size bytes",
                             found.storages[current].key};
        }
        BRINE_TRY(detail::gather(t, storage, out, buffer));
    }
    summary.tensors_written = plan.size();
    summary.header_size = head->bytes.size();
    summary.data_size = head->data_size;
    return summary;
}

// A safetensors file rewritten from its parsed header: the same tensors and metadata, laid out
// anew (largest item size first, then in header order: every tensor then starts at a multiple of
// its item size, as the data area starts 8-byte aligned). Returns the bytes written.
template <class Sink>
[[nodiscard]] result<std::uint64_t> rewrite_safetensors(const ::brine::safetensors::header& parsed, Sink& sink) {
    namespace st = ::brine::safetensors;
    std::vector<st::tensor_to_write> tensors;
    tensors.reserve(parsed.tensors.size());
    for (const st::tensor_info& t : parsed.tensors) {
        st::tensor_to_write w;
        w.name = t.name;
        w.type = t.type;
        w.shape = t.shape;
        w.data = t.data;
        w.source_offset = t.entry_offset;
        tensors.push_back(std::move(w));
    }
    std::stable_sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) {
        return st::info(a.type).item_size > st::info(b.type).item_size;
    });
    return st::write(tensors, parsed.meta, sink);
}

// The Writer policy (writer/concept.hpp): the disarmer's reconstruction written as safetensors.
// The storages come through the Mtd policy's transformation; records, manifests and seals are a
// zip archive's business, so use this writer with mtd::none. When `summary` is set, it receives
// what was written and skipped. A safetensors input is rewritten from its parsed header. A bare
// pickle holds no tensor data to write, and NumPy inputs are rewritten as NumPy
// (writer::torch_zip): both refused, before anything is written.
struct safetensors {
    static constexpr std::string_view name = "safetensors";
    safetensors_options options{};
    safetensors_summary* summary = nullptr;

    template <class Parts, class SeekableSink>
    [[nodiscard]] status write(const Parts& parts, SeekableSink& out) const noexcept {
        if (parts.from() == torch::container::pickle)
            return error{errc::torch_not_a_checkpoint, 0, "a torch checkpoint (a bare pickle holds no tensor data)"};
        if (torch::is_numpy(parts.from()))
            return error{errc::torch_not_a_checkpoint, 0,
                         "a torch checkpoint (NumPy files are rewritten as NumPy by writer::torch_zip)"};
        if (parts.from() == torch::container::safetensors) return parts.write_safetensors(out);
        const torch::checkpoint& checkpoint = parts.tensors();
        // Which written storage holds each storage of the checkpoint.
        std::vector<std::size_t> written(checkpoint.storages.size(), parts.storage_count());
        for (std::size_t i = 0; i < parts.storage_count(); ++i) {
            const std::size_t j = parts.source_index(i);
            if (j < written.size()) written[j] = i;
        }
        const auto fetch = [&](std::uint32_t k, std::vector<std::uint8_t>& scratch) -> result<byte_view> {
            const torch::storage_ref& wanted = checkpoint.storages[k];
            if (k >= written.size() || written[k] == parts.storage_count())
                return error{errc::torch_missing_record, 0, "a storage written for every storage of the checkpoint",
                             wanted.key};
            const std::size_t i = written[k];
            std::string record = "data/";
            record += parts.storage(i).key;
            scratch.clear();
            scratch.reserve(static_cast<std::size_t>(wanted.byte_size()));
            vector_sink sink(scratch);
            BRINE_TRY(parts.copy_storage(i, record, sink));
            if (scratch.size() != wanted.byte_size())
                return error{errc::torch_record_size, 0, "a storage of numel x item size bytes", wanted.key};
            return byte_view(scratch.data(), scratch.size());
        };
        auto written_file = write_safetensors(checkpoint, fetch, out, options);
        BRINE_TRY(written_file);
        if (summary) *summary = std::move(*written_file);
        return {};
    }
};


}  // namespace writer
BRINE_NAMESPACE_END
