#!/usr/bin/python3
"""Restore from what was verified (issue 20): `brine restore` racing a file that changes.

    check_restore_race.py BRINE PROJECT_DIR SCRATCH

A small model is written with torch.save (Debian's python3-torch), sealed with each of the
records, none and elements strategies, and a tampered copy is made: one byte of the largest
storage flipped, and one character of a state-dict key in data.pkl changed, with the CRC-32s
fixed (a valid archive: only the seal can tell). Then `brine restore` runs again and again while
another thread
  - swaps the file by rename() between the sealed and the tampered copy, or
  - overwrites the differing bytes in place, back and forth (a writer with the file open), and
    again with only five storage bytes that leave the record's CRC-32 as it was.
Every run must end in exit 0 with an output bit-identical to the restore of the untouched file,
or exit 3 with no output at all; never exit 0 with other bytes, nor any other exit.
Prints 'N passed, N failed' and exits 1 on failure.
"""

import os
import shutil
import struct
import subprocess
import sys
import threading
import zipfile
import zlib

import torch

BRINE, PROJECT, SCRATCH = sys.argv[1], sys.argv[2], sys.argv[3]
RUNS = int(os.environ.get("BRINE_RACE_RUNS", "40"))
# A fresh scratch directory each run: keygen never overwrites a key file.
shutil.rmtree(SCRATCH, ignore_errors=True)
os.makedirs(SCRATCH)
passed = 0
failures = []


def check(ok, label):
    global passed
    if ok:
        passed += 1
    else:
        failures.append(label)
        print("FAIL", label, flush=True)


def path(name):
    return os.path.join(SCRATCH, name)


def brine(*args):
    return subprocess.run([BRINE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)


def read(p):
    with open(p, "rb") as f:
        return f.read()


def tampered_copy(data):
    """The sealed archive with a storage byte and a data.pkl key changed, CRC-32s made right."""
    out = bytearray(data)
    with zipfile.ZipFile(path("sealed.pt")) as z:
        infos = z.infolist()
        start_dir = z.start_dir

    def data_offset(info):
        name_len, extra_len = struct.unpack("<HH", out[info.header_offset + 26:info.header_offset + 30])
        return info.header_offset + 30 + name_len + extra_len

    def fix_crc(info):
        at = data_offset(info)
        new = zlib.crc32(out[at:at + info.compress_size]) & 0xFFFFFFFF
        old = struct.pack("<I", info.CRC)
        out[info.header_offset + 14:info.header_offset + 18] = struct.pack("<I", new)
        cd = out.index(info.filename.encode(), start_dir) - 46  # this entry's central header
        assert out[cd + 16:cd + 20] == old
        out[cd + 16:cd + 20] = struct.pack("<I", new)

    storage = max((i for i in infos if "/data/" in i.filename), key=lambda i: i.compress_size)
    at = data_offset(storage) + storage.compress_size // 2
    out[at] ^= 0x01
    fix_crc(storage)
    pickle_info = next(i for i in infos if i.filename.endswith("/data.pkl"))
    at = data_offset(pickle_info)
    key = out.index(b"fc1.weight", at, at + pickle_info.compress_size)
    out[key:key + 3] = b"fc2"  # another layer's name, same length: the pickle still reads
    fix_crc(pickle_info)
    return bytes(out)


def crc_neutral_copy(data):
    """The sealed archive with five storage bytes changed so that its CRC-32 stays the same (the
    XOR pattern is the CRC polynomial in zlib's bit order): only the seal's digests can tell."""
    out = bytearray(data)
    with zipfile.ZipFile(path("sealed.pt")) as z:
        storage = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.compress_size)
    name_len, extra_len = struct.unpack("<HH", out[storage.header_offset + 26:storage.header_offset + 30])
    at = storage.header_offset + 30 + name_len + extra_len + storage.compress_size // 3
    for i, b in enumerate((0x41, 0x06, 0x71, 0xDB, 0x01)):
        out[at + i] ^= b
    return bytes(out)


def diff_ranges(a, b):
    """(offset, a bytes, b bytes) for each run of differing bytes."""
    out, i = [], 0
    while i < len(a):
        if a[i] == b[i]:
            i += 1
            continue
        j = i
        while j < len(a) and a[j] != b[j]:
            j += 1
        out.append((i, a[i:j], b[i:j]))
        i = j
    return out


def race(strategy, mode, sealed_bytes, tampered_bytes, expected):
    target = path(f"race-{strategy}-{mode}.pt")
    out = path(f"race-{strategy}-{mode}.restored.pt")
    good, bad = path(f"good-{strategy}.pt"), path(f"bad-{strategy}.pt")
    with open(good, "wb") as f:
        f.write(sealed_bytes)
    with open(bad, "wb") as f:
        f.write(tampered_bytes)
    shutil.copyfile(good, target)
    stop = threading.Event()

    def swap():
        tmp = target + ".tmp"
        while not stop.is_set():
            for source in (bad, good):
                shutil.copyfile(source, tmp)
                os.replace(tmp, target)

    def overwrite():
        ranges = diff_ranges(sealed_bytes, tampered_bytes)
        with open(target, "r+b") as f:
            while not stop.is_set():
                for side in (2, 1):
                    for r in ranges:
                        f.seek(r[0])
                        f.write(r[side])
                        f.flush()

    writer = threading.Thread(target=swap if mode == "rename" else overwrite, daemon=True)  # in-place*: overwrite
    writer.start()
    outcomes = {0: 0, 3: 0}
    try:
        for run in range(RUNS):
            if os.path.exists(out):
                os.remove(out)
            result = brine("restore", target, out, "--key", path("key"))
            label = f"{strategy} {mode} run {run}"
            if result.returncode == 0:
                check(os.path.exists(out) and read(out) == expected, label + ": exit 0 with the untampered output")
            elif result.returncode == 3:
                check(not os.path.exists(out), label + ": exit 3 with no output")
            else:
                check(False, f"{label}: exit {result.returncode} (0 or 3 expected): {result.stderr.strip()}")
            if result.returncode in outcomes:
                outcomes[result.returncode] += 1
    finally:
        stop.set()
        writer.join()
    print(f"{strategy} {mode}: {outcomes[0]} restored intact, {outcomes[3]} refused as tampered", flush=True)


torch.manual_seed(20)
model = torch.nn.Sequential()
model.add_module("fc1", torch.nn.Linear(256, 512))
model.add_module("fc2", torch.nn.Linear(512, 10))
torch.save(model.state_dict(), path("model.pt"))
check(brine("keygen", path("key")).returncode == 0, "keygen")

for strategy in ("records", "none", "elements"):
    sealed = path("sealed.pt")
    if os.path.exists(sealed):
        os.remove(sealed)
    done = brine("seal", path("model.pt"), sealed, "--key", path("key"), "--permute", strategy, "--quiet")
    check(done.returncode == 0, f"{strategy}: seal ({done.stderr.strip()})")
    if done.returncode != 0:
        continue
    reference = path(f"reference-{strategy}.pt")
    back = brine("restore", sealed, reference, "--key", path("key"))
    check(back.returncode == 0, f"{strategy}: restore of the untouched file ({back.stderr.strip()})")
    if back.returncode != 0:
        continue
    sealed_bytes = read(sealed)
    tampered_bytes = tampered_copy(sealed_bytes)
    with open(path("tampered.pt"), "wb") as f:
        f.write(tampered_bytes)
    refused = brine("restore", path("tampered.pt"), path("tampered.restored.pt"), "--key", path("key"))
    check(refused.returncode == 3 and not os.path.exists(path("tampered.restored.pt")),
          f"{strategy}: the tampered copy alone is refused (exit {refused.returncode})")
    expected = read(reference)
    for mode in ("rename", "in-place"):
        race(strategy, mode, sealed_bytes, tampered_bytes, expected)
    # In place, with a change the archive's CRC-32 cannot see.
    race(strategy, "in-place-crc-neutral", sealed_bytes, crc_neutral_copy(sealed_bytes), expected)

print(f"{passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
