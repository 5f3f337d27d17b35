#!/usr/bin/python3
"""Check a pickle that brine reconstructed, with CPython as the independent reader.

    check_pickle_roundtrip.py [options] ORIGINAL RECONSTRUCTED
    check_pickle_roundtrip.py --scan-only [options] RECONSTRUCTED

Round-trip mode (ORIGINAL must be a benign fixture, see "Safety"):
  1. Both files are scanned: a symbolic stack walk over pickletools.genops lists every GLOBAL / INST
     / STACK_GLOBAL (operands followed through the stack and memo; CPython's Python 2 name mapping
     applied while the current PROTO is < 3). RECONSTRUCTED may only use globals that ORIGINAL uses
     or that --allow names.
  2. Both are loaded with a restricted Unpickler (find_class answers only for those globals) inside
     a scratch working directory; no brine_marker_* file may appear.
  3. The two values are compared structurally: exact types (bool vs int, str vs bytes, bytearray,
     list vs tuple, set vs frozenset, dict vs OrderedDict), floats bit for bit (NaN payloads, -0.0),
     dict key order, instance __dict__ (OrderedDict attributes), and sharing: an object referenced
     twice in ORIGINAL must be one object in RECONSTRUCTED and vice versa (cycles included).

Scan-only mode (for brine's output from hostile inputs):
  1. The scan above, RECONSTRUCTED only: every global must be in --allow; a STACK_GLOBAL whose
     operands are not literal strings, EXT1/2/4, out-of-band buffers, a PROTO that is not first,
     bytes after the first STOP, and container opcodes on the wrong target (SETITEM(S) on anything
     but a dict or an OrderedDict call, APPEND(S) on anything but a list, BUILD on anything but the
     result of a call of a named global, any of them on a global object or a persistent id) are
     failures. The same target rules apply to RECONSTRUCTED in round-trip mode.
  2. Only if the scan passes: a restricted load (find_class returns only --allow names; persistent
     ids become inert placeholders) inside a scratch directory; no brine_marker_* file may appear.

Options:
  --allow a.b[,c.d]   extra allowed globals, module.name (repeatable). A dotted qualname is written
                      module:qual.name; module.name also matches it when unambiguous.
  --sharing all|mutable
                      which objects the sharing check covers: all (default; every object except
                      ints, floats, bools, None, complex and CPython's cached singletons: empty
                      str/bytes/tuple/frozenset, 1-character str and 1-byte bytes) or mutable only
                      (list, dict, set, bytearray and other objects with a __dict__).
  --max-protocol N    also fail if RECONSTRUCTED uses an opcode from a protocol above N.
  --trusted-original  accept an ORIGINAL outside tests/fixtures/pickle/benign (never one under a
                      directory named `hostile`).
  --load-errors-ok    scan-only: a restricted load that raises is not a failure (e.g. torch
                      rebuild calls on placeholder storages); markers are still checked.

Safety: ORIGINAL is never loaded if any directory in its real path is named `hostile`; without
--trusted-original it must be inside tests/fixtures/pickle/benign. RECONSTRUCTED is only loaded
after its scan passed, and only with the restricted Unpickler.

Prints one line per difference. Exit status: 0 match, 1 mismatch / failure, 2 usage error (bad
arguments, unreadable file, ORIGINAL refused or unloadable). Standard library only; run with
Debian's /usr/bin/python3.
"""

import argparse
import importlib
import io
import os
import pickle
import pickletools
import shutil
import struct
import sys
import tempfile

import _compat_pickle

HERE = os.path.dirname(os.path.abspath(__file__))
BENIGN_DIR = os.path.realpath(os.path.join(HERE, "..", "fixtures", "pickle", "benign"))
MARKER_PREFIX = "brine_marker_"


class UsageError(Exception):
    pass


# -- scan ---------------------------------------------------------------------------------------

_MARK = object()
_OPAQUE = ("opaque",)
_STRING_OPS = {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE",
               "SHORT_BINUNICODE", "BINUNICODE8"}
_NEW_CONTAINER = {"EMPTY_DICT": ("dict",), "DICT": ("dict",), "EMPTY_LIST": ("list",), "LIST": ("list",),
                  "EMPTY_SET": ("set",)}
DICT_LIKE = {("collections", "OrderedDict")}


def map_py2(module, name):
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    if module in _compat_pickle.IMPORT_MAPPING:
        return _compat_pickle.IMPORT_MAPPING[module], name
    return module, name


def gname(pair):
    module, name = pair
    return "%s%s%s" % (module, ":" if "." in name else ".", name)


class Scan:
    def __init__(self):
        self.globals = []     # [(as_written, resolved)]
        self.problems = []    # strings
        self.max_proto = 0    # highest opcode protocol used


def _pop_mark(stack):
    items = []
    while True:
        item = stack.pop()
        if item is _MARK:
            return items[::-1]
        items.append(item)


def _target_problem(opname, target):
    """Container opcodes only on fitting targets (pickle/writer.hpp: SETITEM(S) on dicts, APPEND(S) on lists,
    BUILD on objects made by an allowed call; never on a global object or a persistent id)."""
    kind = target[0] if isinstance(target, tuple) else "str"
    if kind in ("global", "persid"):
        return "%s applied to %s" % (opname, "a global object " + gname(target[1]) if kind == "global"
                                     else "a persistent-id object")
    if opname in ("SETITEM", "SETITEMS"):
        ok = kind == "dict" or (kind == "call" and target[1] in DICT_LIKE)
    elif opname in ("APPEND", "APPENDS"):
        ok = kind == "list"
    elif opname == "ADDITEMS":
        ok = kind == "set"
    else:  # BUILD
        ok = kind == "call" and target[1] is not None
    return None if ok else "%s applied to %s" % (opname, "a call of " + gname(target[1]) if kind == "call"
                                                 and target[1] else "a " + kind)


def scan(data):
    """Symbolic walk to the first STOP. Never executes anything."""
    result = Scan()
    stack, memo, proto_now = [], {}, 0
    stopped = False
    end = 0
    try:
        for index, (op, arg, pos) in enumerate(pickletools.genops(io.BytesIO(data))):
            name = op.name
            result.max_proto = max(result.max_proto, op.proto)
            if name == "PROTO":
                if index != 0:
                    result.problems.append("PROTO %d at offset %d is not the first opcode" % (arg, pos))
                proto_now = arg
            elif name in ("EXT1", "EXT2", "EXT4", "NEXT_BUFFER", "READONLY_BUFFER"):
                result.problems.append("%s at offset %d" % (name, pos))
            if name in ("GLOBAL", "INST"):
                end1 = data.index(b"\n", pos + 1)
                end2 = data.index(b"\n", end1 + 1)
                written = (data[pos + 1:end1].decode("utf-8"), data[end1 + 1:end2].decode("utf-8"))
                resolved = map_py2(*written) if proto_now < 3 else written
                result.globals.append((written, resolved))
                if name == "INST":
                    _pop_mark(stack)
                    stack.append(("call", resolved))
                else:
                    stack.append(("global", resolved))
            elif name == "STACK_GLOBAL":
                gn, gm = stack.pop(), stack.pop()
                if not (isinstance(gm, str) and isinstance(gn, str)):
                    result.problems.append("STACK_GLOBAL at offset %d: operands are not literal str" % pos)
                    gm, gn = "?", "?"
                written = (gm, gn)
                resolved = map_py2(*written) if proto_now < 3 else written
                result.globals.append((written, resolved))
                stack.append(("global", resolved))
            elif name in _STRING_OPS:
                stack.append(arg)
            elif name in _NEW_CONTAINER:
                if name in ("DICT", "LIST"):
                    _pop_mark(stack)
                stack.append(_NEW_CONTAINER[name])
            elif name == "MARK":
                stack.append(_MARK)
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                if arg not in memo:
                    raise ValueError("%s of unset memo key %r" % (name, arg))
                stack.append(memo[arg])
            elif name == "DUP":
                stack.append(stack[-1])
            elif name == "POP":
                stack.pop()
            elif name == "POP_MARK":
                _pop_mark(stack)
            elif name == "STOP":
                stopped = True
                end = pos + 1
            elif name in ("REDUCE", "NEWOBJ", "NEWOBJ_EX", "OBJ"):
                if name == "OBJ":
                    items = _pop_mark(stack)
                    func = items[0] if items else _OPAQUE
                else:
                    for _ in range(2 if name == "NEWOBJ_EX" else 1):
                        stack.pop()
                    func = stack.pop()
                callee = func[1] if isinstance(func, tuple) and func[0] == "global" else None
                stack.append(("call", callee))
            elif name in ("BINPERSID", "PERSID"):
                if name == "BINPERSID":
                    stack.pop()
                stack.append(("persid",))
            elif name in ("SETITEM", "SETITEMS", "APPEND", "APPENDS", "ADDITEMS", "BUILD"):
                if name in ("SETITEMS", "APPENDS", "ADDITEMS"):
                    _pop_mark(stack)
                else:
                    for _ in range(2 if name == "SETITEM" else 1):
                        stack.pop()
                problem = _target_problem(name, stack[-1])
                if problem:
                    result.problems.append("%s at offset %d" % (problem, pos))
            elif name not in ("PROTO", "FRAME"):
                before = op.stack_before
                if pickletools.markobject in before:
                    _pop_mark(stack)
                    count = before.index(pickletools.markobject)
                else:
                    count = len(before)
                for _ in range(count):
                    stack.pop()
                stack.extend(_OPAQUE for _ in op.stack_after)
    except (ValueError, IndexError, UnicodeDecodeError) as e:
        result.problems.append("cannot walk the stream: %s: %s" % (type(e).__name__, e))
        return result
    if not stopped:
        result.problems.append("no STOP")
    elif end != len(data):
        result.problems.append("%d bytes after the first STOP" % (len(data) - end))
    return result


def parse_allow(values):
    allowed = set()
    for value in values or []:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            if ":" in item:
                module, _, name = item.partition(":")
            elif "." in item:
                module, _, name = item.rpartition(".")
            else:
                raise UsageError("--allow %r: expected module.name" % item)
            allowed.add((module, name))
    return allowed


def is_allowed(pair, allowed):
    if pair in allowed:
        return True
    # module.name written for a dotted qualname: accept any split of the same dotted string
    return any("%s.%s" % pair == "%s.%s" % a for a in allowed)


# -- restricted loading -------------------------------------------------------------------------

class PersistentRef:
    def __init__(self, pid):
        self.pid = pid

    def __repr__(self):
        return "PersistentRef(%r)" % (self.pid,)


def resolve(pair):
    module, qualname = pair
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def restricted_load(data, allowed_resolved, persistent_ok):
    """Load with find_class limited to allowed_resolved ({(module, name) after mapping})."""

    class Restricted(pickle.Unpickler):
        def find_class(self, module, name):
            for pair in ((module, name), map_py2(module, name)):
                if pair in allowed_resolved:
                    return resolve(pair)
            raise pickle.UnpicklingError("global %s.%s is not allowed" % (module, name))

        def persistent_load(self, pid):
            if persistent_ok:
                return PersistentRef(pid)
            raise pickle.UnpicklingError("persistent id %r" % (pid,))

    return Restricted(io.BytesIO(data)).load()


def markers_in(directory):
    try:
        return sorted(n for n in os.listdir(directory) if n.startswith(MARKER_PREFIX))
    except OSError:
        return []


def load_in_scratch(data, allowed_resolved, persistent_ok, fail, label):
    """(ok, value). Loads inside a fresh temporary cwd and checks for marker files."""
    cwd = os.getcwd()
    before = markers_in(cwd)
    scratch = tempfile.mkdtemp(prefix="brine_pickle_check_")
    try:
        os.chdir(scratch)
        try:
            value = restricted_load(data, allowed_resolved, persistent_ok)
            ok = True
        except Exception as e:  # noqa: BLE001 - any failure of the real unpickler is reported
            value, ok = "%s: %s" % (type(e).__name__, e), False
        finally:
            os.chdir(cwd)
        created = markers_in(scratch) + [m for m in markers_in(cwd) if m not in before]
        if created:
            fail("%s: loading created marker files %s" % (label, ", ".join(created)))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return ok, value


# -- structural comparison ----------------------------------------------------------------------

_SCALARS = (bool, int, float, complex, type(None))


def _exempt_from_sharing(x, mode):
    if isinstance(x, _SCALARS):
        return True
    if mode == "mutable":
        return not (isinstance(x, (list, dict, set, bytearray)) or hasattr(x, "__dict__"))
    if isinstance(x, (str, bytes)) and len(x) <= 1:
        return True
    if isinstance(x, (tuple, frozenset)) and len(x) == 0:
        return True
    return False


def _float_bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def _canon(x, depth=0):
    """A hashable, type-exact key for set elements."""
    if depth > 50:
        return ("deep",)
    t = type(x)
    if t is float:
        return (t.__name__, _float_bits(x))
    if t is complex:
        return (t.__name__, _float_bits(x.real), _float_bits(x.imag))
    if t is tuple:
        return (t.__name__,) + tuple(_canon(i, depth + 1) for i in x)
    if t is frozenset:
        return (t.__name__, frozenset(_canon(i, depth + 1) for i in x))
    return (t.__module__ + "." + t.__qualname__, x)


class Comparer:
    def __init__(self, sharing, fail):
        self.sharing = sharing
        self.fail = fail
        self.fwd = {}
        self.rev = {}
        self.keep = []  # keep compared objects alive so ids stay unique

    def same(self, a, b, path):
        ta, tb = type(a), type(b)
        if ta is not tb:
            self.fail("%s: type %s != %s" % (path, _tname(ta), _tname(tb)))
            return
        if not _exempt_from_sharing(a, self.sharing):
            self.keep.append((a, b))
            ia, ib = id(a), id(b)
            seen_a, seen_b = ia in self.fwd, ib in self.rev
            if seen_a or seen_b:
                if self.fwd.get(ia) != ib or self.rev.get(ib) != ia:
                    self.fail("%s: sharing differs (the %s is %s in ORIGINAL but %s in RECONSTRUCTED)"
                              % (path, _tname(ta), "shared" if seen_a else "not shared",
                                 "shared" if seen_b else "not shared"))
                return  # already compared (this also ends cycles)
            self.fwd[ia], self.rev[ib] = ib, ia
        if ta is float:
            if _float_bits(a) != _float_bits(b):
                self.fail("%s: float %r (0x%016x) != %r (0x%016x)" % (path, a, _float_bits(a), b, _float_bits(b)))
        elif ta is complex:
            if (_float_bits(a.real), _float_bits(a.imag)) != (_float_bits(b.real), _float_bits(b.imag)):
                self.fail("%s: complex %r != %r" % (path, a, b))
        elif isinstance(a, (bool, int, str, bytes, bytearray, type(None))):
            if a != b:
                self.fail("%s: %s != %s" % (path, _short(a), _short(b)))
        elif isinstance(a, (list, tuple)):
            if len(a) != len(b):
                self.fail("%s: %s of %d items != %d items" % (path, _tname(ta), len(a), len(b)))
            for i, (x, y) in enumerate(zip(a, b)):
                self.same(x, y, "%s[%d]" % (path, i))
        elif isinstance(a, dict):
            ka, kb = list(a), list(b)
            if len(ka) != len(kb):
                self.fail("%s: %s of %d keys != %d keys" % (path, _tname(ta), len(ka), len(kb)))
            for i, (x, y) in enumerate(zip(ka, kb)):
                self.same(x, y, "%s.keys()[%d]" % (path, i))
                self.same(a[x], b[y], "%s[%s]" % (path, _short(x)))
            self._same_attrs(a, b, path)
        elif isinstance(a, (set, frozenset)):
            ca = {_canon(x): x for x in a}
            cb = {_canon(y): y for y in b}
            for key in ca.keys() - cb.keys():
                self.fail("%s: element %s missing from RECONSTRUCTED" % (path, _short(ca[key])))
            for key in cb.keys() - ca.keys():
                self.fail("%s: element %s not in ORIGINAL" % (path, _short(cb[key])))
            for key in ca.keys() & cb.keys():
                self.same(ca[key], cb[key], "%s{%s}" % (path, _short(ca[key])))
        elif isinstance(a, PersistentRef):
            self.same(a.pid, b.pid, path + ".pid")
        else:
            if hasattr(a, "__dict__") or hasattr(b, "__dict__"):
                self._same_attrs(a, b, path)
            elif a != b:
                self.fail("%s: %s != %s" % (path, _short(a), _short(b)))

    def _same_attrs(self, a, b, path):
        da = dict(vars(a)) if hasattr(a, "__dict__") else {}
        db = dict(vars(b)) if hasattr(b, "__dict__") else {}
        if da or db:
            if list(da) != list(db):
                self.fail("%s: attributes %s != %s" % (path, sorted(da), sorted(db)))
            for k in da:
                if k in db:
                    self.same(da[k], db[k], "%s.%s" % (path, k))


def _tname(t):
    return t.__name__ if t.__module__ == "builtins" else "%s.%s" % (t.__module__, t.__qualname__)


def _short(x):
    r = repr(x)
    return r if len(r) <= 60 else r[:57] + "..."


# -- main ---------------------------------------------------------------------------------------

def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise UsageError("cannot read %s: %s" % (path, e))


def check_original_path(path, trusted):
    real = os.path.realpath(path)
    parts = real.split(os.sep)
    if "hostile" in parts:
        raise UsageError("refusing to unpickle %s: it is under a 'hostile' directory "
                         "(use --scan-only on brine's output instead)" % path)
    if not trusted and os.path.dirname(real) != BENIGN_DIR:
        raise UsageError("refusing to unpickle %s: ORIGINAL must be a file in %s "
                         "(or pass --trusted-original)" % (path, BENIGN_DIR))


def check_scan(label, result, allowed, fail, max_protocol):
    for problem in result.problems:
        fail("%s: %s" % (label, problem))
    for written, resolved in result.globals:
        if not is_allowed(resolved, allowed):
            shown = gname(written) + ("" if resolved == written else "→" + gname(resolved))
            fail("%s: global %s is not allowed" % (label, shown))
    if max_protocol is not None and result.max_proto > max_protocol:
        fail("%s: uses an opcode of protocol %d (> %d)" % (label, result.max_proto, max_protocol))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], add_help=True)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--scan-only", action="store_true")
    ap.add_argument("--allow", action="append")
    ap.add_argument("--sharing", choices=["all", "mutable"], default="all")
    ap.add_argument("--max-protocol", type=int)
    ap.add_argument("--trusted-original", action="store_true")
    ap.add_argument("--load-errors-ok", action="store_true")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0

    lines = []

    def fail(message):
        lines.append(message)
        print("FAIL: " + message)

    try:
        allowed = parse_allow(args.allow)
        if args.scan_only:
            if len(args.files) != 1:
                raise UsageError("--scan-only takes exactly one file (RECONSTRUCTED)")
            rec = read(args.files[0])
            result = scan(rec)
            check_scan("RECONSTRUCTED", result, allowed, fail, args.max_protocol)
            if lines:
                return 1
            ok, value = load_in_scratch(rec, {r for _, r in result.globals}, True, fail, "RECONSTRUCTED")
            if not ok and not args.load_errors_ok:
                fail("RECONSTRUCTED: restricted load failed: %s" % value)
            return 1 if lines else 0

        if len(args.files) != 2:
            raise UsageError("expected ORIGINAL RECONSTRUCTED")
        orig_path, rec_path = args.files
        check_original_path(orig_path, args.trusted_original)
        orig, rec = read(orig_path), read(rec_path)
        orig_scan = scan(orig)
        bad = [p for p in orig_scan.problems if not p.startswith(("PROTO", "EXT", "NEXT", "READONLY"))]
        if bad:
            raise UsageError("ORIGINAL %s cannot be scanned: %s" % (orig_path, "; ".join(bad)))
        orig_globals = {r for _, r in orig_scan.globals}
        rec_scan = scan(rec)
        check_scan("RECONSTRUCTED", rec_scan, allowed | orig_globals, fail, args.max_protocol)
        if lines:
            return 1
        ok, original = load_in_scratch(orig, orig_globals | allowed, False, fail, "ORIGINAL")
        if not ok:
            raise UsageError("ORIGINAL %s does not load: %s" % (orig_path, original))
        ok, rebuilt = load_in_scratch(rec, {r for _, r in rec_scan.globals}, False, fail, "RECONSTRUCTED")
        if not ok:
            fail("RECONSTRUCTED: restricted load failed: %s" % rebuilt)
            return 1
        Comparer(args.sharing, fail).same(original, rebuilt, "root")
        return 1 if lines else 0
    except UsageError as e:
        print("usage error: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
