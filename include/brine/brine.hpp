// brine — safe loading of pickle and PyTorch model files, without executing them.
// SPDX-License-Identifier: MIT
//
// The umbrella header: everything brine offers. Include the fine-grained headers instead to pay
// (in compile time) only for what you use.
#pragma once

#include <brine/config.hpp>

#include <brine/core/bytes.hpp>
#include <brine/core/checked_arithmetic.hpp>
#include <brine/core/detect.hpp>
#include <brine/core/cpu.hpp>
#include <brine/core/error.hpp>
#include <brine/core/file.hpp>
#include <brine/core/hex.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/memory.hpp>
#include <brine/core/os_random.hpp>
#include <brine/core/result.hpp>
#include <brine/core/stream.hpp>
#include <brine/core/utf8.hpp>

#include <brine/crypto/chacha20.hpp>
#include <brine/crypto/hkdf.hpp>
#include <brine/crypto/hmac.hpp>
#include <brine/crypto/sha256.hpp>

#include <brine/zip/crc32.hpp>
#include <brine/zip/entry_stream.hpp>
#include <brine/zip/inflate.hpp>
#include <brine/zip/reader.hpp>
#include <brine/zip/writer.hpp>

// pickle stream: opcodes, limits, tokenizer, disassembler
#include <brine/pickle/disassemble.hpp>
#include <brine/pickle/limits.hpp>
#include <brine/pickle/opcodes.hpp>
#include <brine/pickle/reader.hpp>
#include <brine/pickle/token.hpp>

// pickle engine: symbolic evaluation, reconstruction
#include <brine/pickle/machine.hpp>
#include <brine/pickle/names.hpp>
#include <brine/pickle/value.hpp>
#include <brine/pickle/writer.hpp>

// what the engine asks an allowlist, and what it counts for it
#include <brine/pickle/allowlist_concept.hpp>
#include <brine/pickle/amplification.hpp>
#include <brine/pickle/graph_queries.hpp>
#include <brine/pickle/judge_reachable.hpp>
#include <brine/pickle/name_table.hpp>
#include <brine/pickle/verdict.hpp>

// allowlist policies
#include <brine/policy/extend.hpp>
#include <brine/policy/strict.hpp>
#include <brine/policy/torch_weights_only.hpp>

// NumPy .npy / .npz: strict parsing, object arrays evaluated, fresh files written
#include <brine/numpy/default_allowlist.hpp>
#include <brine/numpy/dtype.hpp>
#include <brine/numpy/npy.hpp>
#include <brine/numpy/npy_parse.hpp>
#include <brine/numpy/npy_write.hpp>
#include <brine/numpy/npz.hpp>
#include <brine/numpy/npz_scan.hpp>
#include <brine/numpy/npz_write.hpp>

// every reading of the bytes: what tarfile makes of block 0, the output check before a rename
#include <brine/readings/output_check.hpp>
#include <brine/readings/tar_block.hpp>

// PyTorch checkpoints: formats, tensors, the one reading of every torch input
#include <brine/torch/archive.hpp>
#include <brine/torch/checkpoint.hpp>
#include <brine/torch/detect.hpp>
#include <brine/torch/dtype.hpp>
#include <brine/torch/find_tensors.hpp>
#include <brine/torch/legacy.hpp>
#include <brine/torch/load_rules.hpp>
#include <brine/torch/read_checkpoint.hpp>
#include <brine/torch/reconstruction.hpp>
#include <brine/torch/report.hpp>
#include <brine/torch/storage_keys.hpp>
#include <brine/torch/view.hpp>
#include <brine/writer/concept.hpp>
#include <brine/writer/torch_zip.hpp>

// safetensors: a strict reader, and conversion of checkpoints
#include <brine/safetensors/detect.hpp>
#include <brine/safetensors/format.hpp>
#include <brine/safetensors/reader.hpp>
#include <brine/writer/safetensors.hpp>

// The disarm pipeline: one reading, the Mtd policy, the Writer
#include <brine/pipeline/disarm.hpp>
#include <brine/pipeline/mtd_hooks.hpp>

// Moving Target Defense and integrity seals (README: "Seal, verify, restore")
#include <brine/mtd/derive.hpp>
#include <brine/mtd/describe.hpp>
#include <brine/mtd/digest.hpp>
#include <brine/mtd/files.hpp>
#include <brine/mtd/hash.hpp>
#include <brine/mtd/hashes/bundled.hpp>
#include <brine/mtd/hashes/hmac_sha256.hpp>
#include <brine/mtd/hashes/one_of.hpp>
#include <brine/mtd/hashes/sha256.hpp>
#include <brine/mtd/key.hpp>
#include <brine/mtd/keyed_stream.hpp>
#include <brine/mtd/layout.hpp>
#include <brine/mtd/manifest.hpp>
#include <brine/mtd/neuron_plan.hpp>
#include <brine/mtd/restore.hpp>
#include <brine/mtd/scrub.hpp>
#include <brine/mtd/seal.hpp>
#include <brine/mtd/strategies/blocks.hpp>
#include <brine/mtd/strategies/bundled.hpp>
#include <brine/mtd/strategies/chacha20.hpp>
#include <brine/mtd/strategies/elements.hpp>
#include <brine/mtd/strategies/neurons.hpp>
#include <brine/mtd/strategies/none.hpp>
#include <brine/mtd/strategies/one_of.hpp>
#include <brine/mtd/strategies/records.hpp>
#include <brine/mtd/strategy.hpp>
#include <brine/mtd/verify.hpp>
