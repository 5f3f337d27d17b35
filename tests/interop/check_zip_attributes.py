#!/usr/bin/python3
"""Z13 against the real readers: the zip fields miniz (inside torch.load) and Python's zipfile give
a meaning to (tests/fixtures/zip/z13, made by tests/fixtures/gen/zip_attributes.py).

    check_zip_attributes.py BRINE FIXTURE_DIR     (run by each Python with torch to check)

For every payload-free fixture, what torch.load(weights_only=True) and zipfile make of it is
printed beside the benign archive's tensors and records. The cases are checked to be real: the
MS-DOS directory bit makes this torch return other tensor bytes than zipfile reads (miniz extracts
nothing for a directory and torch keeps its uninitialised buffer), version 6.4 makes zipfile
refuse what torch reads, disk 0xFFFF makes torch refuse what zipfile reads. And brine gives every
fixture the verdict expected.tsv names (an errc name, or accept). Files holding the marker payload
are never given to torch or zipfile. 'N passed, N failed'; exit 1 when a check fails.
"""

import os
import sys
import zipfile

import torch

import json
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = os.path.join(HERE, "..", "fixtures", "torch", "mlp_state_dict.pt")

# fixture -> (what torch does, what zipfile does): the disagreement that makes the case real.
REAL = {
    "z13_dos_directory_storage.pt": ("LOADS OTHER TENSORS", "same bytes"),
    "z13_version_needed_64.pt": ("same tensors", "refused"),
    "z13_disk_ffff_zip64.pt": ("refused", "same bytes"),
}


def torch_verdict(path, expected):
    try:
        loaded = torch.load(path, weights_only=True)
    except Exception as e:  # noqa: BLE001 - any refusal is the answer
        return "refused (%s)" % str(e).splitlines()[0][:70]
    differ = [k for k in expected if not torch.equal(loaded[k], expected[k])]
    if differ:
        return "LOADS OTHER TENSORS: %s = %s" % (differ[0], loaded[differ[0]].flatten()[:4].tolist())
    return "same tensors"


def zipfile_verdict(path, base_records):
    try:
        with zipfile.ZipFile(path) as z:
            records = {i.filename: z.read(i) for i in z.infolist()}
    except Exception as e:  # noqa: BLE001
        return "refused (%s: %s)" % (type(e).__name__, str(e)[:50])
    differ = [k for k, v in base_records.items() if records.get(k) != v]
    return "reads other bytes for %s" % differ if differ else "same bytes"


def main(argv):
    brine, here = argv[1], argv[2]
    expected = torch.load(BASE, weights_only=True)
    with zipfile.ZipFile(BASE) as z:
        base_records = {i.filename: z.read(i) for i in z.infolist()}
    print("torch", torch.__version__, "python", sys.version.split()[0])
    verdicts = {}
    with open(os.path.join(here, "expected.tsv")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                cells = line.rstrip("\n").split("\t")
                verdicts[cells[0]] = cells[2]
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        passed, failed = passed + bool(ok), failed + (not ok)
        print("%s %s" % ("PASS" if ok else "FAIL", what))

    for name in sorted(verdicts):
        path = os.path.join(here, name)
        if not name.endswith(".pt"):
            continue  # a plain zip: the zip reader's verdict, which the unit tests check
        done = subprocess.run([brine, "scan", "--json", path], capture_output=True, text=True)
        said = json.loads(done.stdout.strip().splitlines()[-1]).get("error", {}).get("code", "accept")
        check(said == verdicts[name] and (done.returncode == 2) == (said != "accept"),
              "%s: brine %s (exit %d), expected %s" % (name, said, done.returncode, verdicts[name]))
        with open(path, "rb") as f:
            if b"brine_marker_" in f.read():
                continue  # never loaded
        by_torch = torch_verdict(path, expected)
        by_zipfile = zipfile_verdict(path, base_records)
        print("     %-36s torch: %s; zipfile: %s" % (name, by_torch, by_zipfile))
        if name in REAL:
            want_torch, want_zipfile = REAL[name]
            check(by_torch.startswith(want_torch) and by_zipfile.startswith(want_zipfile),
                  "%s: real in torch %s (torch %s, zipfile %s)" % (name, torch.__version__, want_torch, want_zipfile))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
