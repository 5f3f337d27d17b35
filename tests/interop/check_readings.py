#!/usr/bin/python3
"""Files with two readings against the real loaders and the brine CLI (THREATS.md F6-F8).

    check_readings.py --brine PATH/TO/brine --scratch DIR [--python PY ...] [--blocks N]

1. The variants of readings_variants.py (tar by checksum inside pickles, legacy streams, .npy and
   safetensors files; FRAME past STOP in legacy streams) are written into DIR. Each is loaded
   with torch.load(weights_only=False) under every --python interpreter (default: Debian's
   /usr/bin/python3 with torch 1.13), each load in a fresh empty working directory: the payload
   must fire in at least one of them (so the case is real), and the line says where it fired.
   Then `brine scan` must not call it clean, and `brine disarm` must either refuse it (exit 2,
   no output) or write an output on which no loader (torch.load with and without weights_only,
   pickle.load, numpy.load with allow_pickle) under any interpreter fires anything.
2. Block 0 as Python's tarfile reads it: N seeded blocks (header fields spelt in every way
   int(text, 8) accepts or refuses, random bytes, signed and unsigned sums) are each written as a
   file's first 512 bytes; `brine scan` must say torch.ambiguous (or torch.legacy_tar, with the
   "ustar" magic) exactly when tarfile.TarInfo.frombuf accepts the block.

Prints PASS/FAIL lines and 'N passed, N failed'; exits 1 when a check fails.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

LOADERS_FULL = ["torch_full"]
LOADERS_ALL = ["torch_full", "torch_weights_only", "pickle", "numpy"]

# Runs inside each interpreter: loads every (path, loader) pair in its own empty directory and
# prints which markers appeared. Only this script's own generated files are ever loaded.
WORKER = r"""
import json, os, pickle, sys, tempfile, warnings
warnings.simplefilter("ignore")
import torch, numpy
jobs = json.load(sys.stdin)
results = []
for path, loader in jobs:
    work = tempfile.mkdtemp(prefix="brine_load_")
    here = os.getcwd()
    os.chdir(work)
    error = ""
    try:
        if loader == "torch_full":
            torch.load(path, map_location="cpu", weights_only=False)
        elif loader == "torch_weights_only":
            torch.load(path, map_location="cpu", weights_only=True)
        elif loader == "pickle":
            with open(path, "rb") as f:
                pickle.load(f)
        elif loader == "numpy":
            numpy.load(path, allow_pickle=True)
    except BaseException as e:
        error = type(e).__name__
    finally:
        os.chdir(here)
    fired = sorted(n for n in os.listdir(work) if n.startswith("brine_marker_"))
    for n in os.listdir(work):
        os.remove(os.path.join(work, n))
    os.rmdir(work)
    results.append({"path": path, "loader": loader, "fired": fired, "error": error})
print(json.dumps({"torch": torch.__version__, "results": results}))
"""


def run_loads(python, jobs):
    done = subprocess.run([python, "-c", WORKER], input=json.dumps(jobs), capture_output=True, text=True,
                          timeout=1800)
    if done.returncode != 0:
        raise RuntimeError("loader worker %s failed: %s" % (python, done.stderr[-2000:]))
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return out["torch"], {(r["path"], r["loader"]): r for r in out["results"]}


def brine(exe, *args):
    done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, name, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print("%s %s%s" % ("PASS" if ok else "FAIL", name, (": " + detail) if detail else ""), flush=True)


def check_variants(args, tally):
    import readings_variants
    inputs = os.path.join(args.scratch, "variants")
    outputs = os.path.join(args.scratch, "outputs")
    for d in (inputs, outputs):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    variants = readings_variants.variants(inputs)

    # The case is real: the naive load fires, under at least one torch release.
    fired_in = {v.name: [] for v in variants}
    for python in args.python:
        version, results = run_loads(python, [(v.path, "torch_full") for v in variants])
        for v in variants:
            if v.marker in results[(v.path, "torch_full")]["fired"]:
                fired_in[v.name].append("torch " + version)

    written = []
    counts = {}
    for v in variants:
        tally.check(bool(fired_in[v.name]), "%s %s: real" % (v.threat, v.name),
                    "payload fires in " + ", ".join(fired_in[v.name]) if fired_in[v.name]
                    else "the naive load fired nothing: the variant tests nothing")
        code, out, _ = brine(args.brine, "scan", "--json", v.path)
        verdict = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
        error = verdict.get("error", {}).get("code", "")
        tally.check(code != 0, "%s %s: scan not clean" % (v.threat, v.name), "exit %d %s" % (code, error))
        target = os.path.join(outputs, v.name + ".out")
        code, out, _ = brine(args.brine, "disarm", "--json", v.path, target)
        if code == 2:
            tally.check(not os.path.exists(target), "%s %s: disarm refused, no output" % (v.threat, v.name), error)
            counts.setdefault((v.threat, "refused " + error), 0)
            counts[(v.threat, "refused " + error)] += 1
        else:
            ok = code in (0, 1) and os.path.exists(target)
            tally.check(ok, "%s %s: disarm wrote an output" % (v.threat, v.name), "exit %d" % code)
            if ok:
                written.append((v, target))
                counts.setdefault((v.threat, "disarmed"), 0)
                counts[(v.threat, "disarmed")] += 1
    # Outputs: nothing fires, under any loader of any release.
    for python in args.python:
        if not written:
            break
        version, results = run_loads(python, [(t, loader) for _, t in written for loader in LOADERS_ALL])
        for v, target in written:
            fired = sorted(set(m for loader in LOADERS_ALL for m in results[(target, loader)]["fired"]))
            tally.check(not fired, "%s %s: output fires nothing in torch %s" % (v.threat, v.name, version),
                        " ".join(fired))
    for (threat, what), n in sorted(counts.items()):
        print("summary %s: %d variants %s" % (threat, n, what))


# ---- block 0 against the real tarfile ----------------------------------------------------------

def _spell(rng, value):
    digits = "%o" % abs(value)
    sign = "-" if value < 0 else rng.choice(["", "", "+"])
    choice = rng.randrange(9)
    if choice == 0:
        text = "%s%s" % (sign, digits)
    elif choice == 1:
        text = " %s%s " % (sign, digits)
    elif choice == 2:
        text = "%s0o%s" % (sign, digits)
    elif choice == 3:
        text = "%s0O_%s" % (sign, digits)
    elif choice == 4:
        cut = rng.randrange(1, len(digits) + 1)
        text = sign + digits[:cut] + "_" + digits[cut:]  # trailing underscore when cut == len
    elif choice == 5:
        text = sign + digits[:1] + "__" + digits[1:]
    elif choice == 6:
        text = rng.choice(["\x1c", "\x0b", "\t", "\r", "\n", "\x1f"]) + sign + digits + rng.choice(["\x1e", " ", "\f"])
    elif choice == 7:
        text = sign + digits + rng.choice(["8", "9", "x", "\xe9"])
    else:
        text = sign + " " + digits
    raw = text.encode("latin-1")
    if len(raw) > 8:
        raw = raw[:8]
    return raw.ljust(8, rng.choice([b"\0", b" "]))


def _block(rng):
    block = bytearray(rng.choice([b"\0", b" ", b"a"]) * 512)
    for _ in range(rng.randrange(0, 40)):
        block[rng.randrange(512)] = rng.randrange(256)
    for start, width in ((100, 8), (108, 8), (116, 8), (124, 12), (136, 12), (329, 8), (337, 8)):
        if rng.random() < 0.08:
            block[start:start + width] = _spell(rng, rng.randrange(-64, 4096)).ljust(width, b"\0")[:width]
        elif rng.random() < 0.05:
            block[start] = rng.choice([0x80, 0xff])
    rest = bytes(block[:148]) + bytes(block[156:])
    unsigned = 256 + sum(rest)
    signed = 256 + sum(b - 256 if b > 127 else b for b in rest)
    pick = rng.random()
    if pick < 0.4:
        block[148:156] = _spell(rng, unsigned)
    elif pick < 0.6:
        block[148:156] = _spell(rng, signed)
    elif pick < 0.7:
        v = unsigned if rng.random() < 0.5 else signed
        block[148:156] = (b"\x80" + v.to_bytes(7, "big")) if v >= 0 else (b"\xff" + (v + 256 ** 7).to_bytes(7, "big"))
    else:
        block[148:156] = _spell(rng, unsigned + rng.choice([-1, 1, 8]))
    if rng.random() < 0.05:
        block[257:262] = b"ustar"
    return bytes(block)


def tarfile_accepts(block):
    try:
        tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        return True
    except tarfile.HeaderError:
        return False


def check_tar_blocks(args, tally):
    rng = random.Random(20261207)
    folder = os.path.join(args.scratch, "blocks")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    expected = {}
    for i in range(args.blocks):
        block = _block(rng)
        path = os.path.join(folder, "block_%05d.bin" % i)
        with open(path, "wb") as f:
            f.write(block + b"N.")
        expected[path] = tarfile_accepts(block)
    code, out, err = brine(args.brine, "scan", "--json", folder)
    seen = {}
    for line in out.splitlines():
        verdict = json.loads(line)
        seen[os.path.abspath(verdict["file"])] = verdict.get("error", {}).get("code", "")
    agree = 0
    accepted = sum(expected.values())
    for path, accepts in expected.items():
        said_tar = seen.get(os.path.abspath(path)) in ("torch.ambiguous", "torch.legacy_tar")
        with open(path, "rb") as f:
            ustar = f.read(512)[257:262] == b"ustar"
        # The "ustar" magic is refused as the pre-1.0 format even where tarfile would reject the
        # block (other tar readers may not check the sum): a refusal on the safe side.
        if said_tar == accepts or (ustar and said_tar):
            agree += 1
        else:
            tally.check(False, "tar block0 %s" % os.path.basename(path),
                        "tarfile %s, brine %s" % ("accepts" if accepts else "refuses", seen.get(os.path.abspath(path))))
    tally.check(agree == len(expected), "tar block0: brine and tarfile agree on %d of %d blocks (%d are headers)"
                % (agree, len(expected), accepted))
    tally.check(accepted >= len(expected) // 10 and accepted <= len(expected) * 9 // 10,
                "tar block0: the generator makes both headers and non-headers", "%d headers" % accepted)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brine", required=True)
    ap.add_argument("--scratch", required=True)
    ap.add_argument("--python", action="append", help="an interpreter with torch and numpy (repeatable)")
    ap.add_argument("--blocks", type=int, default=3000)
    args = ap.parse_args(argv)
    args.python = args.python or ["/usr/bin/python3"]
    args.brine = os.path.abspath(args.brine)
    args.scratch = os.path.abspath(args.scratch)
    os.makedirs(args.scratch, exist_ok=True)
    tally = Tally()
    check_tar_blocks(args, tally)
    check_variants(args, tally)
    print("%d passed, %d failed" % (tally.passed, tally.failed))
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
