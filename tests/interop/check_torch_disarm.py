#!/usr/bin/python3
"""Check the `brine` CLI's scan and disarm against real PyTorch, NumPy and pickle, over the
committed checkpoint corpus (tests/fixtures/torch/benign and tests/fixtures/torch/hostile).

    check_torch_disarm.py --brine PATH/TO/brine --fixtures tests/fixtures/torch --scratch DIR
                          [--large DIR] [--python /usr/bin/python3] [--only TEXT ...]
                          [--timeout SECONDS] [--no-finding-names]

CLI contract (README, "The brine command"): `brine scan FILE` exits 0 clean, 1 findings, 2 error;
`brine disarm IN OUT` exits 0 (nothing removed), 1 (output written, something removed) or 2
(error, no output file).

Benign files (benign/expected.tsv; with --large also the full-size checkpoints that
gen/torch_checkpoints.py writes into DIR at test time):
  expected_brine clean:   scan IN exits 0 (no false positive); disarm IN OUT exits 0 and writes
                          OUT; scan OUT exits 0; OUT loads to the same objects as IN:
                            torch files: torch.load(OUT, weights_only=True) against the full
                              torch.load(IN) (IN is trusted). Where torch 1.13's weights-only
                              unpickler cannot express the content (weights_only_loadable_in_1_13
                              = no: BINFLOAT, quantized rebuilds, sets...), OUT may instead be
                              loaded with the full loader, only because scan OUT was clean; the
                              line says which loader was used.
                            raw pickles: pickle.load (OUT through an allowlisting unpickler);
                            npy/npz: numpy.load(allow_pickle=False).
                          Same means: same types (dict vs OrderedDict, Tensor vs Parameter,
                          tuple vs list vs torch.Size, bool vs int), keys and order, instance
                          attributes (an OrderedDict's _metadata), equal scalars with floats and
                          complex numbers bit for bit (NaN payloads, -0.0), tensors with the same
                          dtype, layout, shape, stride, storage offset, requires_grad, quantizer
                          parameters, sparse indices/values, and bit-identical storage bytes;
                          tensors (and lists/dicts) that are one object in IN are one object in
                          OUT and vice versa; tensors sharing a storage in IN share one in OUT and
                          vice versa.
  refused:                scan IN exits 1; disarm exits 1 or 2 (with 1, scan OUT exits 0 and OUT
                          loads with the weights-only loader).
  refused|error:          as refused, but scan may also exit 2.
Hostile files (hostile/expected.tsv):
  scan IN exits as expected_scan says (findings 1, error 2, findings|error either) and never 0;
  with exit 1 the scan output names the finding (a listed global or opcode; --no-finding-names
  skips this); disarm IN OUT exits 1 or 2 (2 when scan said error); with 2 no OUT exists; with 1,
  scan OUT exits 0 and OUT is loaded with the FULL loader of its container (torch.load
  weights_only=False, pickle.load, numpy.load(allow_pickle=True)) in a fresh empty working
  directory that must still be empty afterwards (no brine_marker_* file: the payload is gone).
An ORIGINAL hostile file is never loaded by any real loader. Every load runs in a child process
with a timeout, in its own fresh empty scratch directory: a fork of a server process (this script
with --worker-server) that imported torch and numpy once, so each load starts from a pristine
interpreter (--no-fork: a fresh interpreter per load). Files are checked in parallel (--jobs).

Prints one line per check (PASS/FAIL, file, check, detail) and a summary; exit status 0 when
every check passes, 1 when one fails, 2 on a usage error. Run with Debian's /usr/bin/python3
(torch 1.13, numpy); --python selects the interpreter used for the loading workers.
"""

import argparse
import concurrent.futures
import itertools
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import time

TORCH_FORMATS = ("zip", "legacy", "torchscript", "module_pickle")
SCAN_EXPECT = {"findings": (1,), "error": (2,), "findings|error": (1, 2)}
BENIGN_SCAN = {"clean": (0,), "refused": (1,), "refused|error": (1, 2)}
LOADER_OF_CONTAINER = {"zip": "torch", "legacy": "torch", "tar": "torch", "torchscript": "torch",
                       "module_pickle": "torch", "raw_pickle": "pickle", "npy": "numpy",
                       "npz": "numpy"}


def read_rows(path):
    """(columns, rows as dicts) of an expected.tsv whose header line starts with '# '."""
    columns, rows = None, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            if line.startswith("#"):
                if columns is None:
                    columns = line.lstrip("#").strip().split("\t")
                continue
            fields = line.split("\t")
            if columns is None or len(fields) != len(columns):
                raise ValueError("%s: malformed row %r" % (path, line[:80]))
            rows.append(dict(zip(columns, fields)))
    return columns, rows


# =============================================================================================
# Workers: run in a child process, in a fresh working directory; print one JSON line last.
# =============================================================================================

def _last_line(e):
    text = str(e).strip().splitlines()
    return "%s: %s" % (type(e).__name__, text[-1][:300] if text else "")


class Comparer:
    """Structural comparison of two loaded objects (see the module docstring)."""

    def __init__(self, torch, limit=40):
        self.torch = torch
        self.failures = []
        self.limit = limit
        self.objects = {}       # id(original object) -> id(output object)
        self.objects_rev = {}
        self.storages = {}      # original storage identity -> output storage identity
        self.storages_rev = {}
        self.visiting = set()
        self.keep = []          # keep compared objects alive so that ids stay unique
        self.tensors = 0

    def fail(self, message):
        if len(self.failures) < self.limit:
            self.failures.append(message)

    def _pair(self, fwd, rev, a, b, what, path):
        if (a in fwd and fwd[a] != b) or (b in rev and rev[b] != a):
            self.fail("%s: %s sharing differs (one object in one file, distinct in the other)"
                      % (path, what))
            return False
        fwd[a] = b
        rev[b] = a
        return True

    def value(self, a, b, path="root"):
        torch = self.torch
        if type(a) is not type(b):
            self.fail("%s: type %s vs %s" % (path, type(a).__name__, type(b).__name__))
            return
        if isinstance(a, torch.Tensor):
            self.tensor(a, b, path)
            return
        if isinstance(a, (dict, list, set, bytearray)):
            self.keep += [a, b]
            if not self._pair(self.objects, self.objects_rev, id(a), id(b), type(a).__name__, path):
                return
        if isinstance(a, (dict, list, tuple)):
            key = (id(a), id(b))
            if key in self.visiting:
                return
            self.visiting.add(key)
            self.keep += [a, b]
        if isinstance(a, dict):
            ka, kb = list(a.keys()), list(b.keys())
            if len(ka) != len(kb) or any(type(x) is not type(y) or x != y for x, y in zip(ka, kb)):
                self.fail("%s: keys differ: %r vs %r" % (path, ka[:20], kb[:20]))
                return
            for k in ka:
                self.value(a[k], b[k], "%s[%r]" % (path, k))
            if type(a) is not dict:
                self.value(dict(getattr(a, "__dict__", {})), dict(getattr(b, "__dict__", {})),
                           path + ".__dict__")
            return
        if isinstance(a, (list, tuple)):  # also torch.Size (a tuple subclass; types compared)
            if len(a) != len(b):
                self.fail("%s: length %d vs %d" % (path, len(a), len(b)))
                return
            for i, (x, y) in enumerate(zip(a, b)):
                self.value(x, y, "%s[%d]" % (path, i))
            return
        if isinstance(a, float):
            if struct.pack("<d", a) != struct.pack("<d", b):
                self.fail("%s: float %r vs %r (bits %s vs %s)" % (
                    path, a, b, struct.pack(">d", a).hex(), struct.pack(">d", b).hex()))
            return
        if isinstance(a, complex):
            if struct.pack("<dd", a.real, a.imag) != struct.pack("<dd", b.real, b.imag):
                self.fail("%s: complex %r vs %r" % (path, a, b))
            return
        try:
            equal = bool(a == b)
        except Exception as e:  # noqa: BLE001
            self.fail("%s: cannot compare %s: %s" % (path, type(a).__name__, _last_line(e)))
            return
        if not equal:
            self.fail("%s: %r vs %r" % (path, a, b))

    # -- tensors -------------------------------------------------------------------------------

    def _storage_bytes(self, untyped):
        torch = self.torch
        n = untyped.nbytes()
        if n == 0:
            return b""
        view = torch.tensor([], dtype=torch.uint8).set_(untyped, 0, (n,), (1,))
        return view.numpy().tobytes()

    @staticmethod
    def _untyped(t):
        s = t.storage()
        if hasattr(s, "untyped"):
            return s.untyped()
        return s._untyped() if hasattr(s, "_untyped") else s

    def _dense(self, a, b, path, track=True):
        """Strided tensors (quantized included): stride, offset, storage bytes and sharing."""
        for what, x, y in (("stride", a.stride(), b.stride()),
                           ("storage offset", a.storage_offset(), b.storage_offset())):
            if x != y:
                self.fail("%s: %s %r vs %r" % (path, what, x, y))
                return
        ua, ub = self._untyped(a), self._untyped(b)
        if ua.nbytes() != ub.nbytes():
            self.fail("%s: storage size %d vs %d bytes" % (path, ua.nbytes(), ub.nbytes()))
            return
        ba, bb = self._storage_bytes(ua), self._storage_bytes(ub)
        if ba != bb:
            first = next(i for i, (x, y) in enumerate(zip(ba, bb)) if x != y)
            self.fail("%s: storage bytes differ (first difference at byte %d of %d)"
                      % (path, first, len(ba)))
            return
        if track:
            self.keep += [ua, ub]
            self._pair(self.storages, self.storages_rev, ua._cdata, ub._cdata, "storage", path)

    def _plain(self, a, b, path):
        """A component tensor (sparse indices/values, quantizer parameters): compared by value."""
        torch = self.torch
        if type(a) is not type(b) or a.dtype != b.dtype or tuple(a.shape) != tuple(b.shape):
            self.fail("%s: %s %s%s vs %s %s%s" % (path, type(a).__name__, a.dtype, tuple(a.shape),
                                                 type(b).__name__, b.dtype, tuple(b.shape)))
            return
        if a.layout != torch.strided or b.layout != torch.strided:
            self.fail("%s: component tensor is not strided" % path)
            return
        self._dense(a, b, path, track=False)

    def tensor(self, a, b, path):
        torch = self.torch
        self.tensors += 1
        self.keep += [a, b]
        if not self._pair(self.objects, self.objects_rev, id(a), id(b), "tensor", path):
            return
        for what, x, y in (("dtype", a.dtype, b.dtype), ("layout", a.layout, b.layout),
                           ("device", a.device.type, b.device.type),
                           ("shape", tuple(a.shape), tuple(b.shape)),
                           ("requires_grad", a.requires_grad, b.requires_grad),
                           ("quantized", a.is_quantized, b.is_quantized)):
            if x != y:
                self.fail("%s: %s %r vs %r" % (path, what, x, y))
                return
        self.value(dict(getattr(a, "__dict__", {})), dict(getattr(b, "__dict__", {})),
                   path + ".__dict__")
        if a.device.type == "meta":
            if a.layout == torch.strided and a.stride() != b.stride():
                self.fail("%s: stride %r vs %r" % (path, a.stride(), b.stride()))
            return
        if a.is_quantized:
            scheme = a.qscheme()
            if scheme != b.qscheme():
                self.fail("%s: qscheme %s vs %s" % (path, scheme, b.qscheme()))
                return
            if scheme in (torch.per_tensor_affine, torch.per_tensor_symmetric):
                self.value(float(a.q_scale()), float(b.q_scale()), path + ".q_scale")
                self.value(int(a.q_zero_point()), int(b.q_zero_point()), path + ".q_zero_point")
            else:
                self.value(a.q_per_channel_axis(), b.q_per_channel_axis(), path + ".axis")
                self._plain(a.q_per_channel_scales(), b.q_per_channel_scales(), path + ".scales")
                self._plain(a.q_per_channel_zero_points(), b.q_per_channel_zero_points(),
                            path + ".zero_points")
            self._dense(a, b, path)
            return
        if a.layout == torch.strided:
            self._dense(a, b, path)
        elif a.layout == torch.sparse_coo:
            for what, x, y in (("coalesced", a.is_coalesced(), b.is_coalesced()),
                               ("sparse_dim", a.sparse_dim(), b.sparse_dim()),
                               ("dense_dim", a.dense_dim(), b.dense_dim())):
                if x != y:
                    self.fail("%s: %s %r vs %r" % (path, what, x, y))
                    return
            self._plain(a._indices(), b._indices(), path + "._indices()")
            self._plain(a._values(), b._values(), path + "._values()")
        elif a.layout == torch.sparse_csr:
            self._plain(a.crow_indices(), b.crow_indices(), path + ".crow_indices()")
            self._plain(a.col_indices(), b.col_indices(), path + ".col_indices()")
            self._plain(a.values(), b.values(), path + ".values()")
        else:
            self.fail("%s: layout %s is not compared by this checker" % (path, a.layout))


class _AllowlistUnpickler:
    """pickle.Unpickler for disarmed raw pickles: only the globals plain data needs."""

    ALLOWED = {("collections", "OrderedDict"), ("collections", "Counter"), ("builtins", "set"),
               ("builtins", "frozenset"), ("builtins", "bytearray"), ("builtins", "complex"),
               ("_codecs", "encode")}

    @classmethod
    def load(cls, path):
        import pickle

        class Restricted(pickle.Unpickler):
            def find_class(self, module, name):
                if (module, name) in cls.ALLOWED:
                    return super().find_class(module, name)
                raise pickle.UnpicklingError("global %s.%s is not allowed" % (module, name))

        with open(path, "rb") as f:
            return Restricted(f).load()


def _numpy_same(np, a, b, path, fail):
    if type(a) is not type(b):
        fail("%s: type %s vs %s" % (path, type(a).__name__, type(b).__name__))
        return
    if a.dtype != b.dtype or a.shape != b.shape:
        fail("%s: %s%s vs %s%s" % (path, a.dtype.str, a.shape, b.dtype.str, b.shape))
        return
    fa = a.flags.f_contiguous and not a.flags.c_contiguous
    fb = b.flags.f_contiguous and not b.flags.c_contiguous
    if fa != fb:
        fail("%s: Fortran order %s vs %s" % (path, fa, fb))
    if a.tobytes(order="A") != b.tobytes(order="A"):
        fail("%s: array bytes differ" % path)


def worker_compare(fmt, wo, original, output, full_ok):
    """Load ORIGINAL (trusted benign fixture) and OUTPUT (brine's disarm output), compare."""
    import warnings
    warnings.simplefilter("ignore")
    result = {"ok": False, "failures": [], "loader": None}
    failures = result["failures"]
    if fmt in ("npy", "npz"):
        import numpy as np
        result["loader"] = "numpy.load(allow_pickle=False)"
        try:
            a = np.load(original, allow_pickle=False)
            b = np.load(output, allow_pickle=False)
        except Exception as e:  # noqa: BLE001
            failures.append("numpy.load failed: " + _last_line(e))
            return result
        if fmt == "npy":
            _numpy_same(np, a, b, "array", failures.append)
        else:
            with a, b:
                if list(a.files) != list(b.files):
                    failures.append("members %r vs %r" % (a.files, b.files))
                else:
                    for k in a.files:
                        _numpy_same(np, a[k], b[k], k, failures.append)
        result["ok"] = not failures
        return result
    if fmt == "raw_pickle":
        import pickle
        import torch  # for Comparer's tensor checks (no tensors expected in raw pickles)
        result["loader"] = "pickle.load (output through an allowlisting unpickler)"
        with open(original, "rb") as f:
            a = pickle.load(f)
        try:
            b = _AllowlistUnpickler.load(output)
        except Exception as e:  # noqa: BLE001
            failures.append("loading the output failed: " + _last_line(e))
            return result
        cmp = Comparer(torch)
        cmp.value(a, b)
        failures.extend(cmp.failures)
        result["ok"] = not failures
        return result
    import torch
    a = torch.load(original, map_location="cpu", weights_only=False)
    try:
        b = torch.load(output, map_location="cpu", weights_only=True)
        result["loader"] = "weights_only=True"
    except Exception as e:  # noqa: BLE001
        why = _last_line(e)
        if "WeightsUnpickler error:" in why:
            why = why.split("WeightsUnpickler error:", 1)[1].strip()
        if wo == "yes":
            failures.append("torch.load(output, weights_only=True) failed although torch 1.13 "
                            "loads the original that way: " + why)
            return result
        if not full_ok:
            failures.append("torch.load(output, weights_only=True) failed (%s) and brine scan of "
                            "the output was not clean, so the full loader is not used" % why)
            return result
        try:
            b = torch.load(output, map_location="cpu", weights_only=False)
            result["loader"] = "full loader (weights_only=True refused: %s)" % why[:120]
        except Exception as e2:  # noqa: BLE001
            failures.append("torch.load(output) failed: " + _last_line(e2))
            return result
    cmp = Comparer(torch)
    cmp.value(a, b)
    failures.extend(cmp.failures)
    result["tensors"] = cmp.tensors
    result["ok"] = not failures
    return result


def worker_load(loader, path, weights_only):
    """Load PATH with a real loader (hostile: the FULL loader) and report; the parent checks the
    working directory afterwards."""
    import warnings
    warnings.simplefilter("ignore")
    try:
        if loader == "pickle":
            import pickle
            with open(path, "rb") as f:
                pickle.load(f)
        elif loader == "numpy":
            import numpy as np
            r = np.load(path, allow_pickle=not weights_only)
            if hasattr(r, "files"):
                with r:
                    for k in r.files:
                        r[k]
        else:
            import torch
            torch.load(path, map_location="cpu", weights_only=weights_only)
        return {"loaded": True}
    except Exception as e:  # noqa: BLE001
        return {"loaded": False, "error": _last_line(e)}


def run_request(req):
    if req["op"] == "compare":
        return worker_compare(req["format"], req["wo"], req["original"], req["output"], req["full_ok"])
    return worker_load(req["loader"], req["path"], req["weights_only"])


def worker_main(argv):
    """One request given on the command line (--worker-once JSON), run in this process."""
    result = run_request(json.loads(argv[1]))
    sys.stdout.flush()
    print("\n" + json.dumps(result))
    return 0


def server_main():
    """A fork server: imports torch and numpy once, then for each request (one JSON line on stdin)
    forks a child that changes to the request's directory, silences its stdout/stderr (a payload
    must not write into the protocol), runs the request and sends the result through a pipe. Every
    load gets a pristine copy of the interpreter, so a payload that survived cannot affect the next
    load; a crash or a timeout only ends that child. One JSON line per request on stdout."""
    import select
    import signal
    import warnings
    warnings.simplefilter("ignore")
    import numpy  # noqa: F401  (imported once, before any fork)
    import torch  # noqa: F401
    proto_out = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    for line in sys.stdin:
        req = json.loads(line)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
                os.chdir(req["cwd"])
                signal.signal(signal.SIGALRM, signal.SIG_DFL)
                signal.alarm(max(1, int(req["timeout"])))
                result = run_request(req)
            except BaseException as e:  # noqa: BLE001
                result = {"ok": False, "loaded": False, "failures": ["worker: " + _last_line(e)],
                          "error": "worker: " + _last_line(e)}
            data = json.dumps(result).encode()
            while data:
                data = data[os.write(w, data):]
            os._exit(0)
        os.close(w)
        chunks, deadline = [], time.monotonic() + req["timeout"] + 5
        while True:
            left = deadline - time.monotonic()
            ready = select.select([r], [], [], max(0.0, left))[0] if left > 0 else []
            if not ready:
                os.kill(pid, signal.SIGKILL)
                break
            chunk = os.read(r, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(r)
        _, status = os.waitpid(pid, 0)
        try:
            result = json.loads(b"".join(chunks).decode())
        except ValueError:
            why = ("timed out after %ss" % req["timeout"] if time.monotonic() >= deadline else
                   "child ended with status %#x and no result" % status)
            result = {"ok": False, "loaded": False, "failures": ["worker: " + why],
                      "error": "worker: " + why}
        proto_out.write(json.dumps(result) + "\n")
        proto_out.flush()
    return 0


# =============================================================================================
# Driver
# =============================================================================================

class ForkServer:
    """The parent side of server_main: one per checking thread."""

    def __init__(self, python):
        self.proc = subprocess.Popen([python, os.path.abspath(__file__), "--worker-server"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)

    def request(self, req):
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the worker server exited (status %s)" % self.proc.poll())
        return json.loads(line)

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except Exception:  # noqa: BLE001
            self.proc.kill()


class Checker:
    def __init__(self, args):
        self.args = args
        self.passed = 0
        self.failed = []
        self.scratch = os.path.abspath(args.scratch)
        self.out_root = os.path.join(self.scratch, "out")
        self.cwd_root = os.path.join(self.scratch, "cwd")
        self.cwd_count = itertools.count(1)
        self.tls = threading.local()
        self.servers = []
        self.lock = threading.Lock()
        for d in (self.out_root, self.cwd_root):
            if os.path.isdir(d):
                shutil.rmtree(d)
            os.makedirs(d)
        self.brine_cwd = os.path.join(self.cwd_root, "brine")
        os.makedirs(self.brine_cwd)

    # -- reporting -----------------------------------------------------------------------------

    def check(self, ok, label, check, detail=""):
        line = "%s  %-60s %-16s %s" % ("PASS" if ok else "FAIL", label, check, detail)
        self.tls.records.append((ok, line.rstrip(), "%s %s: %s" % (label, check, detail)))
        return ok

    def task(self, fn, *args):
        """Run one file's checks (in a pool thread); returns its records."""
        self.tls.records = []
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - a checker bug must fail loudly, not hang the pool
            self.check(False, "checker", "exception", "%s while checking %r" % (_last_line(e), args[-1]))
        return self.tls.records

    def report(self, records):
        for ok, line, summary in records:
            print(line, flush=True)
            if ok:
                self.passed += 1
            else:
                self.failed.append(summary)

    # -- processes -----------------------------------------------------------------------------

    def brine(self, *argv, timeout=None):
        cmd = [self.args.brine] + list(argv)
        try:
            run = subprocess.run(cmd, capture_output=True, timeout=timeout or self.args.timeout,
                                 cwd=self.brine_cwd)
        except subprocess.TimeoutExpired:
            return None, "timed out after %ss" % (timeout or self.args.timeout)
        text = (run.stdout + run.stderr).decode("utf-8", "replace")
        return run.returncode, text

    def fresh_cwd(self):
        d = os.path.join(self.cwd_root, "%05d" % next(self.cwd_count))
        os.makedirs(d)
        return d

    def worker(self, req, timeout):
        """Run a load/compare request in a fresh empty directory, in a child process; returns
        (result dict or None, problem text, files left in the directory)."""
        cwd = self.fresh_cwd()
        req = dict(req, cwd=cwd, timeout=timeout)
        if self.args.no_fork:
            cmd = [self.args.python, os.path.abspath(__file__), "--worker-once", json.dumps(req)]
            try:
                run = subprocess.run(cmd, capture_output=True, timeout=timeout + 5, cwd=cwd)
            except subprocess.TimeoutExpired:
                return None, "worker timed out after %ss" % timeout, sorted(os.listdir(cwd))
            out = run.stdout.decode("utf-8", "replace").strip().splitlines()
            try:
                return json.loads(out[-1]), "", sorted(os.listdir(cwd))
            except (IndexError, ValueError):
                err = run.stderr.decode("utf-8", "replace").strip().splitlines()
                return None, "worker exit %d: %s" % (run.returncode, (err or out or ["no output"])[-1][:300]), \
                    sorted(os.listdir(cwd))
        server = getattr(self.tls, "server", None)
        if server is None:
            server = self.tls.server = ForkServer(self.args.python)
            with self.lock:
                self.servers.append(server)
        try:
            result = server.request(req)
        except (RuntimeError, OSError, ValueError) as e:
            self.tls.server = None
            return None, str(e), sorted(os.listdir(cwd))
        return result, "", sorted(os.listdir(cwd))

    # -- benign --------------------------------------------------------------------------------

    def benign(self, set_name, directory, row):
        name, fmt, wo, expected = (row["file"], row["format"], row["weights_only_loadable_in_1_13"],
                                   row["expected_brine"])
        label = "%s/%s" % (set_name, name)
        src = os.path.join(directory, name)
        out_dir = os.path.join(self.out_root, set_name)
        os.makedirs(out_dir, exist_ok=True)
        out = os.path.join(out_dir, name)
        timeout = self.args.timeout * (5 if set_name == "large" else 1)
        if expected not in BENIGN_SCAN:
            self.check(False, label, "expected.tsv", "unknown expected_brine %r" % expected)
            return

        code, text = self.brine("scan", src, timeout=timeout)
        self.check(code in BENIGN_SCAN[expected], label, "scan",
                   "exit %s, expected %s%s" % (code, "|".join(map(str, BENIGN_SCAN[expected])),
                                               "" if code in BENIGN_SCAN[expected] else ": " + _tail(text)))
        code, text = self.brine("disarm", src, out, timeout=timeout)
        exists = os.path.exists(out)
        if expected == "clean":
            if not self.check(code == 0 and exists, label, "disarm",
                              "exit %s, output %s (expected exit 0 with output)%s"
                              % (code, "written" if exists else "missing",
                                 "" if code == 0 else ": " + _tail(text))):
                return
            code, text = self.brine("scan", out, timeout=timeout)
            scan_clean = code == 0
            self.check(scan_clean, label, "scan output", "exit %s%s" % (code, "" if scan_clean else ": " + _tail(text)))
            result, problem, left = self.worker(
                {"op": "compare", "format": fmt, "wo": wo, "original": os.path.abspath(src),
                 "output": out, "full_ok": scan_clean}, timeout * 4)
            if result is None:
                self.check(False, label, "compare", problem)
                return
            detail = "%s%s" % (result.get("loader") or "not loaded",
                               ", %d tensors" % result["tensors"] if result.get("tensors") else "")
            if result["failures"]:
                detail += ": " + "; ".join(result["failures"][:5])
                if len(result["failures"]) > 5:
                    detail += "; ... (%d differences)" % len(result["failures"])
            self.check(result["ok"], label, "compare", detail)
            if left:
                self.check(False, label, "cwd after load", "files appeared: %s" % left)
            return
        # refused
        self.check(code in (1, 2), label, "disarm", "exit %s, expected 1|2" % code)
        if code == 2 or code not in (1, 2):
            self.check(not exists, label, "no output", "output %s" % ("exists" if exists else "absent"))
            return
        if not self.check(exists, label, "output", "disarm exit 1 must write the output"):
            return
        code, text = self.brine("scan", out, timeout=timeout)
        self.check(code == 0, label, "scan output", "exit %s%s" % (code, "" if code == 0 else ": " + _tail(text)))
        loader = "torch" if fmt in TORCH_FORMATS else LOADER_OF_CONTAINER.get(fmt, "torch")
        result, problem, left = self.worker({"op": "load", "loader": loader, "path": out,
                                             "weights_only": True}, timeout * 4)
        ok = result is not None and result.get("loaded")
        self.check(ok, label, "load output", problem or result.get("error", "weights-only load"))
        if left:
            self.check(False, label, "cwd after load", "files appeared: %s" % left)

    # -- hostile -------------------------------------------------------------------------------

    def finding_named(self, finding, text):
        """None when the row names nothing checkable; else whether the scan text names one of
        the alternatives (a global as module.name / module:name, or an opcode as a word)."""
        checkable, found = False, False
        for alt in finding.split("|"):
            if alt == "-" or not alt:
                continue
            if "." in alt or ":" in alt:
                checkable = True
                module, sep, name = alt.partition(":") if ":" in alt else alt.rpartition(".")
                forms = {"%s.%s" % (module, name), "%s:%s" % (module, name),
                         "%s %s" % (module, name)}
                found = found or any(f in text for f in forms)
            elif alt.isupper():
                checkable = True
                found = found or re.search(r"\b%s\b" % re.escape(alt), text) is not None
        return found if checkable else None

    def hostile(self, directory, row):
        name, container, expected = row["file"], row["container"], row["expected_scan"]
        label = "hostile/%s" % name
        src = os.path.join(directory, name)
        out_dir = os.path.join(self.out_root, "hostile")
        os.makedirs(out_dir, exist_ok=True)
        out = os.path.join(out_dir, name)
        if expected not in SCAN_EXPECT:
            self.check(False, label, "expected.tsv", "unknown expected_scan %r" % expected)
            return
        allowed = SCAN_EXPECT[expected]
        scan_code, text = self.brine("scan", src)
        self.check(scan_code in allowed, label, "scan",
                   "exit %s, expected %s (%s)%s" % (scan_code, "|".join(map(str, allowed)), row["threat_row"],
                                                    "" if scan_code in allowed else ": " + _tail(text)))
        if scan_code == 1 and not self.args.no_finding_names:
            named = self.finding_named(row["finding"], text.replace(src, ""))
            if named is not None:
                self.check(named, label, "finding named", "%s%s" % (
                    row["finding"], "" if named else " not in the scan output: " + _tail(text)))
        code, text = self.brine("disarm", src, out)
        exists = os.path.exists(out)
        ok = code in (1, 2) and not (scan_code == 2 and code != 2)
        self.check(ok, label, "disarm", "exit %s, expected %s%s" % (
            code, "2 (scan reported an error)" if scan_code == 2 else "1|2",
            "" if ok else ": " + _tail(text)))
        if code == 0 and exists:
            pass  # already a failure; still check below whether the payload survived
        elif code != 1:
            self.check(not exists, label, "no output", "output %s after exit %s"
                       % ("exists" if exists else "absent", code))
            return
        elif not self.check(exists, label, "output", "disarm exit 1 must write the output"):
            return
        code, text = self.brine("scan", out)
        self.check(code == 0, label, "scan output", "exit %s%s" % (code, "" if code == 0 else ": " + _tail(text)))
        loader = LOADER_OF_CONTAINER.get(container, "torch")
        result, problem, left = self.worker({"op": "load", "loader": loader, "path": out,
                                             "weights_only": False}, self.args.timeout * 4)
        markers = [f for f in left if f.startswith("brine_marker_")]
        self.check(not left, label, "no marker", "full %s load of the output in a fresh directory: %s"
                   % (loader, ("files appeared: %s" % left) if left else "nothing appeared"))
        loaded = result is not None and result.get("loaded")
        self.check(loaded, label, "load output", problem or result.get("error", "loaded with the full loader"))
        if markers and row["marker"] != "-" and row["marker"] not in markers:
            print("note: unexpected marker names %s (expected %s)" % (markers, row["marker"]))

    # -- run -----------------------------------------------------------------------------------

    def selected(self, name):
        return not self.args.only or any(t in name for t in self.args.only)

    def _generate_large(self, fixtures, large):
        gen = os.path.join(os.path.dirname(fixtures), "gen", "torch_checkpoints.py")
        try:
            run = subprocess.run([self.args.python, gen, "--large", large], capture_output=True,
                                 timeout=3600)
            ok = run.returncode == 0
            detail = large if ok else run.stderr.decode("utf-8", "replace").strip()[-300:]
        except subprocess.TimeoutExpired:
            ok, detail = False, "timed out"
        self.check(ok, "large", "generate", detail)

    def run(self):
        fixtures = os.path.abspath(self.args.fixtures)
        tasks = []
        for set_name in ("benign", "hostile"):
            directory = os.path.join(fixtures, set_name)
            _, rows = read_rows(os.path.join(directory, "expected.tsv"))
            for row in rows:
                if self.selected(row["file"]):
                    if set_name == "benign":
                        tasks.append((self.benign, "benign", directory, row))
                    else:
                        tasks.append((self.hostile, directory, row))
        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=self.args.jobs) as pool:
                for records in pool.map(lambda t: self.task(*t), tasks):
                    self.report(records)
                if self.args.large:
                    large = os.path.abspath(self.args.large)
                    os.makedirs(large, exist_ok=True)
                    records = self.task(self._generate_large, fixtures, large)
                    self.report(records)
                    if all(ok for ok, _, _ in records):
                        _, rows = read_rows(os.path.join(large, "expected.tsv"))
                        large_tasks = [(self.benign, "large", large, row) for row in rows
                                       if self.selected(row["file"])]
                        for records in pool.map(lambda t: self.task(*t), large_tasks):
                            self.report(records)
        finally:
            for server in self.servers:
                server.close()
        print("\n%d checks passed, %d failed" % (self.passed, len(self.failed)))
        for line in self.failed:
            print("  FAILED " + line)
        return 1 if self.failed else 0


def _tail(text, n=240):
    text = " ".join(text.strip().split())
    return text if len(text) <= n else "..." + text[-n:]


def main(argv):
    if argv and argv[0] == "--worker-once":
        return worker_main(argv)
    if argv and argv[0] == "--worker-server":
        return server_main()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 epilog="exit status: 0 all checks pass, 1 a check failed, 2 usage")
    ap.add_argument("--brine", required=True, help="the brine executable")
    ap.add_argument("--fixtures", required=True, help="tests/fixtures/torch")
    ap.add_argument("--scratch", required=True, help="a directory for outputs and loads "
                    "(its out/ and cwd/ subdirectories are recreated)")
    ap.add_argument("--large", metavar="DIR", help="also write and check the full-size checkpoints "
                    "in DIR (kept between runs)")
    ap.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                    else sys.executable, help="interpreter with torch for the loading workers")
    ap.add_argument("--only", nargs="+", metavar="TEXT", help="only files whose name contains TEXT")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per brine run (loads: 4x)")
    ap.add_argument("--jobs", type=int, default=max(1, min(8, os.cpu_count() or 1)),
                    help="files checked in parallel (default: CPUs, at most 8)")
    ap.add_argument("--no-fork", action="store_true", help="start a fresh interpreter for every "
                    "load instead of forking a pre-imported one (slower)")
    ap.add_argument("--no-finding-names", action="store_true",
                    help="do not require the scan output to name the expected global or opcode")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    if not (os.path.isfile(args.brine) and os.access(args.brine, os.X_OK)):
        print("usage error: not an executable: %s" % args.brine, file=sys.stderr)
        return 2
    for sub in ("benign", "hostile"):
        if not os.path.isfile(os.path.join(args.fixtures, sub, "expected.tsv")):
            print("usage error: no %s/expected.tsv under %s" % (sub, args.fixtures), file=sys.stderr)
            return 2
    os.makedirs(args.scratch, exist_ok=True)
    return Checker(args).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
