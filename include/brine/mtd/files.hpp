// SPDX-License-Identifier: MIT
//
// Seal, verify and restore on files, as the CLI runs them. Outputs are written through temporary
// files renamed into place only on success; a restore runs only on a file that verifies intact.
#pragma once

#include <brine/config.hpp>
#include <brine/core/file.hpp>
#include <brine/core/result.hpp>
#include <brine/mtd/seal.hpp>
#include <brine/mtd/verify.hpp>
#include <brine/pickle/reader.hpp>
#include <brine/policy/torch_weights_only.hpp>
#include <brine/torch/disarm.hpp>
#include <brine/writer/torch_zip.hpp>

#include <cstdio>
#include <string>
#include <utility>

BRINE_NAMESPACE_BEGIN
namespace mtd {

#if BRINE_HAS_POSIX_FILES

template <class Allowlist = policy::torch_weights_only>
using sealing_disarmer =
    torch::basic_disarmer<pickle::reader<pickle::limits::standard>, Allowlist, writer::torch_zip, sealer>;
template <class Allowlist = policy::torch_weights_only>
using restoring_disarmer =
    torch::basic_disarmer<pickle::reader<pickle::limits::standard>, Allowlist, writer::torch_zip, restorer>;

struct seal_result {
    torch::report reconstruction;  // what the reconstruction found and removed, as for disarm
    seal_summary summary;
};

// Seals `in_path` into `out_path` (and the manifest into `manifest_path` when given: required
// for raw pickles, whose format has no room for it). `progress` as for the disarmer.
template <class Allowlist = policy::torch_weights_only>
[[nodiscard]] result<seal_result> seal_file(const char* in_path, const char* out_path, const secret_key& key,
                                            seal_options options, const char* manifest_path = nullptr,
                                            Allowlist allowlist = {}, bool durable = false,
                                            void (*progress)(void*, std::uint64_t, std::uint64_t) = nullptr,
                                            void* progress_context = nullptr) {
    options.detached = manifest_path != nullptr;
    sealing_disarmer<Allowlist> sealing(std::move(allowlist), writer::torch_zip{}, sealer(key, std::move(options)));
    sealing.on_progress(progress, progress_context);
    auto input = hybrid_file_source::open(in_path);
    BRINE_TRY(input);
    auto output = atomic_file_sink::create(out_path);
    BRINE_TRY(output);
    auto done = sealing.disarm(input->mapping(), *input, *output);
    BRINE_TRY(done);
    const seal_summary& summary = sealing.mtd().summary();
    if (summary.manifest_text.empty())
        return error{errc::mtd_unsupported, 0, "a torch checkpoint or pickle to seal"};
    const bool raw = done->format == "pickle";
    if (raw && !manifest_path)
        return error{errc::mtd_unsupported, 0, "--manifest PATH for a raw pickle (it has no room for its manifest)"};
    if (manifest_path) {
        auto manifest_out = atomic_file_sink::create(manifest_path);
        BRINE_TRY(manifest_out);
        BRINE_TRY(manifest_out->write(as_bytes(std::string_view(summary.manifest_text))));
        BRINE_TRY(output->commit(durable));
        const status saved = manifest_out->commit(durable);
        if (!saved) {
            std::remove(out_path);  // a sealed file without its manifest could never verify
            return saved.err();
        }
    } else {
        BRINE_TRY(output->commit(durable));
    }
    done->written = true;
    return seal_result{std::move(*done), summary};
}

// Restores a sealed file: verified first (an error mtd_tampered if it is not intact), then
// rebuilt with the permutation undone and checked against the digests taken before sealing.
template <class Allowlist = policy::torch_weights_only>
[[nodiscard]] result<torch::report> restore_file(const char* in_path, const char* out_path, const secret_key& key,
                                                 const verify_options& options = {}, Allowlist allowlist = {},
                                                 bool durable = false) {
    auto checked = verify_file(in_path, key, options, allowlist);
    BRINE_TRY(checked);
    if (!checked->intact())
        return error{errc::mtd_tampered, 0, "an intact sealed file (brine verify names what changed)",
                     checked->problems.front().where};
    restoring_disarmer<Allowlist> restoring(std::move(allowlist), writer::torch_zip{}, restorer(key, checked->sealed));
    auto done = restoring.disarm_file(in_path, out_path, durable);
    BRINE_TRY(done);
    // The manifest is the one record a restore leaves out on purpose.
    auto& findings = done->findings;
    for (std::size_t i = 0; i < findings.size();) {
        const std::string& part = findings[i].part;
        const bool manifest_finding = !findings[i].in_pickle && part.size() >= manifest_record_name.size() &&
                                      part.compare(part.size() - manifest_record_name.size(), manifest_record_name.size(),
                                                   manifest_record_name.data(), manifest_record_name.size()) == 0;
        if (manifest_finding) findings.erase(findings.begin() + static_cast<std::ptrdiff_t>(i));
        else ++i;
    }
    return done;
}

#endif

}  // namespace mtd
BRINE_NAMESPACE_END
