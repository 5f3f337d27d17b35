#!/usr/bin/python3
"""Check an archive that brine rewrote against the original, with independent readers.

    check_zip_roundtrip.py [--zipfile-only] [--same-entries] [--trusted-original] ORIGINAL REWRITTEN

Checks on REWRITTEN:
  1. Python's zipfile opens it and testzip() finds no bad CRC.
  2. Every `<root>/data/*` record's data starts at a 64-byte aligned file offset (computed from
     its local header: offset + 30 + name length + extra length). Applies to torch archives,
     i.e. when a `<root>/data.pkl` record exists.
  3. (unless --zipfile-only) torch.load(REWRITTEN, weights_only=True) succeeds and equals
     torch.load(ORIGINAL, weights_only=True) structurally: same container types, keys and order,
     equal scalars (floats bit for bit), and tensors with the same type, dtype, shape, stride,
     storage offset, requires_grad and storage bytes; tensors that share a storage (or are the same
     object) in ORIGINAL do so in REWRITTEN and vice versa.
Options:
  --zipfile-only     skip torch (non-torch archives)
  --same-entries     also require the same entry names (in order) and contents as ORIGINAL
  --trusted-original load ORIGINAL with weights_only=False if the weights-only loader refuses it
                     (only for trusted fixtures, e.g. ones using opcodes torch 1.13's weights-only
                     unpickler lacks); REWRITTEN is always loaded with weights_only=True

Prints one line per failure. Exit status: 0 all checks pass, 1 a check failed, 2 usage error.
Standard library only, plus torch unless --zipfile-only. Run with Debian's /usr/bin/python3.
"""

import argparse
import os
import struct
import sys
import warnings
import zipfile

ALIGNMENT = 64


class Failures:
    def __init__(self):
        self.lines = []

    def __call__(self, message):
        self.lines.append(message)
        print("FAIL: " + message)

    def __bool__(self):
        return bool(self.lines)


# -- zip checks --------------------------------------------------------------------------------

def check_zip(path, fail):
    try:
        with open(path, "rb") as f:
            raw = f.read()
        z = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile, ValueError, UnicodeDecodeError) as e:
        fail("%s: zipfile cannot open it: %s: %s" % (path, type(e).__name__, e))
        return
    with z:
        try:
            bad = z.testzip()
        except Exception as e:  # noqa: BLE001 - any reader error is a failure line
            fail("%s: zipfile testzip raised %s: %s" % (path, type(e).__name__, e))
        else:
            if bad is not None:
                fail("%s: zipfile testzip: bad CRC or header in entry %r" % (path, bad))
        # Alignment applies to torch archives: ones with a <root>/data.pkl record.
        torch_roots = {n.partition("/")[0] for n in z.namelist()
                       if n.partition("/")[2].lower() == "data.pkl"}
        for info in z.infolist():
            root, _, rest = info.filename.partition("/")
            if root not in torch_roots:
                continue
            if not rest.startswith("data/"):
                continue
            off = info.header_offset
            if raw[off:off + 4] != b"PK\x03\x04" or off + 30 > len(raw):
                fail("%s: entry %r: no local header at offset %d" % (path, info.filename, off))
                continue
            name_len, extra_len = struct.unpack_from("<HH", raw, off + 26)
            data_off = off + 30 + name_len + extra_len
            if data_off % ALIGNMENT:
                fail("%s: entry %r: data at offset %d is not %d-byte aligned (off by %d)"
                     % (path, info.filename, data_off, ALIGNMENT, data_off % ALIGNMENT))


def check_same_entries(original, rewritten, fail):
    try:
        with zipfile.ZipFile(original) as z:
            a = [(i.filename, z.read(i)) for i in z.infolist()]
    except Exception as e:  # noqa: BLE001
        fail("%s: zipfile cannot read ORIGINAL: %s: %s" % (original, type(e).__name__, e))
        return
    try:
        with zipfile.ZipFile(rewritten) as z:
            b = [(i.filename, z.read(i)) for i in z.infolist()]
    except Exception as e:  # noqa: BLE001
        fail("%s: zipfile cannot read REWRITTEN: %s: %s" % (rewritten, type(e).__name__, e))
        return
    if [n for n, _ in a] != [n for n, _ in b]:
        fail("entry names differ: ORIGINAL %r, REWRITTEN %r" % ([n for n, _ in a],
                                                                [n for n, _ in b]))
        return
    for (name, da), (_, db) in zip(a, b):
        if da != db:
            fail("entry %r: contents differ (%d vs %d bytes)" % (name, len(da), len(db)))


# -- torch comparison ----------------------------------------------------------------------------

def _load(torch, path, trusted, fail, label):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return True, torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001
            if not trusted:
                last = (str(e).strip().splitlines() or [""])[-1]
                fail("%s: torch.load(weights_only=True) of %s failed: %s: %s"
                     % (path, label, type(e).__name__, last))
                return False, None
        try:
            return True, torch.load(path, map_location="cpu", weights_only=False)
        except Exception as e:  # noqa: BLE001
            fail("%s: torch.load of trusted %s failed: %s: %s" % (path, label, type(e).__name__, e))
            return False, None


def _untyped(torch, t):
    if hasattr(t, "untyped_storage"):
        return t.untyped_storage()
    s = t.storage()
    return s.untyped() if hasattr(s, "untyped") else s._untyped()


def _storage_bytes(torch, u):
    n = u.nbytes()
    if n == 0:
        return b""
    view = torch.tensor([], dtype=torch.uint8).set_(u, 0, (n,), (1,))
    return view.numpy().tobytes()


class Comparer:
    def __init__(self, torch, fail):
        self.torch = torch
        self.fail = fail
        self.storage_map = {}   # original storage key -> rewritten storage key
        self.storage_rev = {}
        self.object_map = {}    # id(original tensor) -> id(rewritten tensor)
        self.object_rev = {}
        self.keep = []          # keep compared objects alive so ids stay unique

    def _pair(self, fwd, rev, a, b, what, path):
        if a in fwd or b in rev:
            if fwd.get(a) != b or rev.get(b) != a:
                self.fail("%s: %s sharing differs (shared in one file, not in the other)"
                          % (path, what))
                return
        fwd[a] = b
        rev[b] = a

    def compare(self, a, b, path="root"):
        torch = self.torch
        if type(a) is not type(b):
            self.fail("%s: type %s vs %s" % (path, type(a).__name__, type(b).__name__))
            return
        if isinstance(a, torch.jit.ScriptModule):
            if a.code != b.code:
                self.fail("%s: TorchScript code differs" % path)
            self.compare(a.state_dict(), b.state_dict(), path + ".state_dict()")
            return
        if isinstance(a, torch.Tensor):
            self._tensor(a, b, path)
            return
        if isinstance(a, dict):
            ka, kb = list(a.keys()), list(b.keys())
            if ka != kb:
                self.fail("%s: keys differ: %r vs %r" % (path, ka, kb))
                return
            for k in ka:
                self.compare(a[k], b[k], "%s[%r]" % (path, k))
            return
        if isinstance(a, (list, tuple)):
            if len(a) != len(b):
                self.fail("%s: length %d vs %d" % (path, len(a), len(b)))
                return
            for i, (x, y) in enumerate(zip(a, b)):
                self.compare(x, y, "%s[%d]" % (path, i))
            return
        if isinstance(a, float):
            if struct.pack("<d", a) != struct.pack("<d", b):
                self.fail("%s: float %r vs %r" % (path, a, b))
            return
        try:
            equal = a == b
            equal = bool(equal)
        except Exception as e:  # noqa: BLE001
            self.fail("%s: cannot compare %s: %s" % (path, type(a).__name__, e))
            return
        if not equal:
            self.fail("%s: %r vs %r" % (path, a, b))

    def _tensor(self, a, b, path):
        torch = self.torch
        self.keep += [a, b]
        self._pair(self.object_map, self.object_rev, id(a), id(b), "tensor object", path)
        for what, x, y in [("dtype", a.dtype, b.dtype), ("shape", tuple(a.shape), tuple(b.shape)),
                           ("stride", a.stride(), b.stride()),
                           ("storage offset", a.storage_offset(), b.storage_offset()),
                           ("requires_grad", a.requires_grad, b.requires_grad),
                           ("layout", a.layout, b.layout)]:
            if x != y:
                self.fail("%s: %s %r vs %r" % (path, what, x, y))
                return
        ua, ub = _untyped(torch, a), _untyped(torch, b)
        ba, bb = _storage_bytes(torch, ua), _storage_bytes(torch, ub)
        if ba != bb:
            first = next((i for i, (x, y) in enumerate(zip(ba, bb)) if x != y),
                         min(len(ba), len(bb)))
            self.fail("%s: storage bytes differ (%d vs %d bytes, first difference at byte %d)"
                      % (path, len(ba), len(bb), first))
            return
        if ua.nbytes():
            self._pair(self.storage_map, self.storage_rev, ua.data_ptr(), ub.data_ptr(),
                       "storage", path)


def check_torch(original, rewritten, trusted, fail):
    try:
        import torch
    except ImportError as e:
        fail("torch is not importable (use /usr/bin/python3 or --zipfile-only): %s" % e)
        return
    ok_a, a = _load(torch, original, trusted, fail, "ORIGINAL")
    ok_b, b = _load(torch, rewritten, False, fail, "REWRITTEN")
    if ok_a and ok_b:
        Comparer(torch, fail).compare(a, b)


def main(argv):
    ap = argparse.ArgumentParser(
        description="Check a brine-rewritten archive against the original.",
        epilog="exit status: 0 pass, 1 a check failed, 2 usage error")
    ap.add_argument("original")
    ap.add_argument("rewritten")
    ap.add_argument("--zipfile-only", action="store_true", help="skip the torch.load comparison")
    ap.add_argument("--same-entries", action="store_true",
                    help="require the same entry names and contents as ORIGINAL")
    ap.add_argument("--trusted-original", action="store_true",
                    help="fall back to weights_only=False for ORIGINAL (trusted fixtures only)")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    for p in (args.original, args.rewritten):
        if not os.path.isfile(p):
            print("usage error: no such file: %s" % p, file=sys.stderr)
            return 2
    fail = Failures()
    check_zip(args.rewritten, fail)
    if args.same_entries:
        check_same_entries(args.original, args.rewritten, fail)
    if not args.zipfile_only:
        check_torch(args.original, args.rewritten, args.trusted_original, fail)
    if fail:
        print("%d check(s) failed for %s" % (len(fail.lines), args.rewritten))
        return 1
    print("OK: %s matches %s" % (args.rewritten, args.original))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
