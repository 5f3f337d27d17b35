#!/usr/bin/python3
"""`brine convert` against an independent reader: every clean torch checkpoint among the fixtures
is converted to safetensors by the CLI, and check_safetensors.py (standard library and torch only)
reads the result by the format description and compares every tensor with torch.load of the
original, bit for bit.

    run_safetensors.py BRINE FIXTURES_DIR SCRATCH
"""

import contextlib
import glob
import io
import os
import subprocess
import sys

BRINE, FIXTURES, SCRATCH = sys.argv[1:4]
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_safetensors  # noqa: E402
os.makedirs(SCRATCH, exist_ok=True)
# Not convertible: a root tensor has no name; TorchScript and pickled modules need
# --extract-weights; protocol 0 holds no tensor record torch 1.13 reads with weights_only.
SKIP = {"root_tensor", "scripted_module", "scripted_tiny_net", "module_sequential", "module_sequential_legacy",
        "sequential", "sequential_legacy", "protocol0"}
# Benign fixtures torch 1.13's weights-only unpickler cannot read (framing, Python floats,
# quantized rebuilds): loaded with the full unpickler, as they are our own harmless files.
TRUSTED = {"protocol1", "protocol4", "protocol5", "python_values", "python_scalars", "optimizer_adam", "checkpoint",
           "legacy_checkpoint_protocol4", "legacy_protocol1", "quantized", "quantized_packed"}

inputs = [p for p in sorted(glob.glob(os.path.join(FIXTURES, "*.pt")) + glob.glob(os.path.join(FIXTURES, "*", "*")))
          if os.path.isfile(p) and not p.endswith((".tsv", ".npy", ".npz", ".pkl"))]
failures, checked = [], 0
for original in inputs:
    stem = os.path.basename(original).split(".")[0]
    if stem in SKIP or "/hostile/" in original:
        continue
    scanned = subprocess.run([BRINE, "scan", "--quiet", original], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if scanned.returncode != 0:
        continue  # only clean checkpoints are converted here (disarm's tests cover the rest)
    out = os.path.join(SCRATCH, stem + ".safetensors")
    done = subprocess.run([BRINE, "convert", original, out], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if done.returncode not in (0, 1) or not os.path.exists(out):
        failures.append(f"{original}: convert exit {done.returncode}: {done.stderr.strip()}")
        continue
    # In this process: importing torch once, not once per file, keeps the test short.
    args = ["check_safetensors.py"] + (["--trusted-original"] if stem in TRUSTED else []) + [original, out]
    said = io.StringIO()
    with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
        status = check_safetensors.main(args)
    checked += 1
    if status != 0:
        failures.append(f"{original}: {said.getvalue().strip()[:500]}")
for f in failures:
    print("FAIL", f)
print(f"{checked - len([f for f in failures if 'convert exit' not in f])} of {checked} conversions agree with torch")
sys.exit(1 if failures or checked < 20 else 0)
