#!/usr/bin/python3
"""Differential test of `brine disarm` against real PyTorch (issue 8; THREATS.md rows Z and P).

    differential_torch.py BRINE [SCRATCH] [--jobs N] [--only TEXT ...] [--keep] [--verbose]

Builds a few small checkpoints with real torch.save (state dicts whose tensors hold distinct
values), then derives several hundred variants from them by editing bytes: the zip container
(THREATS.md Z rows: CRCs, local/central disagreement, flag bits, duplicate and case-folded names,
two top-level folders, entry order, leading/trailing bytes, two end records, ZIP64 records,
compression methods, descriptors, path tricks) and the data.pkl pickle (P rows: pickles back to
back, memo tricks for STACK_GLOBAL operands, protocols 0-5, FRAME lies, PROTO duplication, text
opcodes with escapes, broken streams after a valid prefix, EXT codes, Python 2 names) -- and
semantic edits of the checkpoint itself (storage types, locations, sizes, offsets, shared
objects). Every payload is BENIGN: competing copies differ only in tensor values or dict keys, so
the result tells which entry or which pickle a reader used. Nothing here ever loads a file with
weights_only=False.

For each variant (in one process, torch imported once; brine runs in a pool of --jobs threads):
  torch:  torch.load(variant, weights_only=True) -> an object or an exception
  brine:  brine disarm --json variant out.pt -> exit 0/1 (out.pt written) or 2 (no output);
          out.pt is then read with torch.load(out.pt, weights_only=True), or, where torch 1.13's
          weights-only unpickler cannot read what brine wrote (PROTO 3 bytes, sets, BINFLOAT,
          complex...: brine's policy follows current torch releases too), with the REFERENCE
          loader described below
Categories:
  agree-load            torch loaded; brine wrote an output that loads to an EQUAL object: same
                        types (dict/OrderedDict, Tensor/Parameter, tuple/list/Size), keys and
                        order, OrderedDict attributes, tensors with the same dtype, shape, strides,
                        storage offset, requires_grad, bit-identical view and storage bytes, and
                        the same sharing of objects and storages
  agree-refuse          torch raised; brine refused (exit 2, or exit 1 with findings and an output
                        that loads)
  brine-refuses-torch-loads
                        torch loaded; brine exit 2 (or exit 1 and an output that is not equal:
                        something was refused and removed). Allowed: brine is stricter.
  torch-refuses-brine-loads
                        torch raised; brine wrote an output. Torch 1.13's weights-only unpickler
                        is much smaller than the loader torch.save targets (no FRAME, MEMOIZE,
                        STACK_GLOBAL, text opcodes, BINFLOAT, DUP, POP...), so each such variant
                        is also read by a REFERENCE loader: torch's own zip reader
                        (torch._C.PyTorchFileReader, as torch.load uses it) and torch's storage
                        loading, with CPython's C unpickler (what torch.load(weights_only=False)
                        uses) restricted to exactly the globals weights_only allows (resolved as
                        the C unpickler resolves them: Python 2 mapping while PROTO < 3, dotted
                        names only from protocol 4, torch's Storage-name and torch.tensor
                        hooks; no import ever happens). Sub-categories:
                          justified    the reference loader reads an object equal to brine's
                                       output (torch failed only on a weights-only opcode limit,
                                       or on a global current torch releases allow: set,
                                       bytearray, complex, _codecs.encode, Counter, device, dtypes)
                          unexplained  the reference loader refuses too (brine accepts what no
                                       torch loads); printed for investigation
  mismatch              FAILURE: torch loaded and brine exit 0 wrote something not equal; or
                        the reference loader read an object that differs from brine's exit-0
                        output; or torch (or the reference loader) read the variant and brine wrote
                        an output (exit 0 or 1) that neither loader reads; or brine's exit code and
                        output file disagree (exit 2 with an output, exit 0/1 without).
Every variant's line is printed with --verbose; the summary lists every variant outside agree-load /
agree-refuse, then per-family and total counts.
Exit status: 0 when there is no mismatch, 1 otherwise, 2 on a usage error.
"""

import argparse
import bz2
import collections
import concurrent.futures
import io
import json
import os
import pickle
import pickletools
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import warnings

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fixtures"))

from gen import ziplib  # noqa: E402  (tests/fixtures/gen: the fixture generator's zip builder)
from gen.ziplib import DEFLATED, FLAG_DESCRIPTOR, FLAG_UTF8, STORED, Entry  # noqa: E402
from gen.pickle_benign import map_py2  # noqa: E402

import torch  # noqa: E402

warnings.filterwarnings("ignore")

# ----------------------------------------------------------------------------------------------
# Base checkpoints (real torch.save)
# ----------------------------------------------------------------------------------------------


def make_bases(tmp):
    """name -> (bytes of torch.save output). Archive folder = file stem (torch 1.13 names it so)."""
    torch.manual_seed(0)
    objs = {}
    objs["sda"] = collections.OrderedDict(
        w=torch.arange(6, dtype=torch.float32).reshape(2, 3) + 0.5,
        b=torch.tensor([1.25, -2.0], dtype=torch.float64))
    # same shapes and dtypes as sda (records interchangeable), other keys and values
    objs["sdb"] = collections.OrderedDict(
        wB=-torch.arange(6, dtype=torch.float32).reshape(2, 3) - 100.0,
        bB=torch.tensor([7.0, 9.5], dtype=torch.float64))
    x = torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.25
    lin = torch.nn.Sequential(torch.nn.Linear(3, 2))
    with torch.no_grad():
        lin[0].weight.copy_(torch.arange(6, dtype=torch.float32).reshape(2, 3) / 8)
        lin[0].bias.copy_(torch.tensor([0.125, -0.5]))
    objs["sdc"] = collections.OrderedDict(
        x=x, xt=x.t(), row=x[1], i=torch.tensor([1, -2, 3], dtype=torch.int64),
        h=torch.tensor([0.5, 1.5], dtype=torch.float16), flag=torch.tensor([True, False]),
        p=torch.nn.Parameter(torch.tensor([2.0, 4.0])), model=lin.state_dict(),
        meta={"epoch": 3, "name": "brine", "steps": [1, 2, 3], "pair": (4, "x"), "ok": True,
              "none": None},
        empty=torch.zeros(0))
    objs["tens"] = torch.arange(4, dtype=torch.int32) * 3
    out = {}
    for name, obj in objs.items():
        path = os.path.join(tmp, name + ".pt")
        torch.save(obj, path)
        with open(path, "rb") as f:
            out[name] = f.read()
    for p in range(6):
        for base in ("sda", "sdc"):
            name = "%s_p%d" % (base, p)
            path = os.path.join(tmp, name + ".pt")
            torch.save(objs[base], path, pickle_protocol=p)
            with open(path, "rb") as f:
                out[name] = f.read()
    return out


class Base:
    def __init__(self, data):
        self.data = data
        self.entries, self.info = ziplib.parse(data)
        self.prefix = self.entries[0].name.split(b"/")[0]

    def fresh(self):
        return [e.copy() for e in self.entries]

    def find(self, suffix):
        for i, e in enumerate(self.entries):
            if e.name == self.prefix + b"/" + suffix:
                return i
        raise KeyError(suffix)

    @property
    def pkl(self):
        return self.entries[self.find(b"data.pkl")].content


def with_pickle(base, pkl, *, method=None, entries=None):
    es = base.fresh() if entries is None else entries
    i = base.find(b"data.pkl")
    es[i] = es[i].with_content(pkl, method=method)
    return ziplib.build(es, zip64=True)


def renamed(e, name):
    return e.copy(name=name)


# ----------------------------------------------------------------------------------------------
# Pickle token editing
# ----------------------------------------------------------------------------------------------

def tokens(data):
    """[(opname, arg, raw bytes)] of a well-formed pickle (up to and including STOP)."""
    ops = list(pickletools.genops(io.BytesIO(data)))
    out = []
    for k, (op, arg, pos) in enumerate(ops):
        end = ops[k + 1][2] if k + 1 < len(ops) else pos + 1
        out.append((op.name, arg, data[pos:end]))
    return out


def join(toks):
    return b"".join(t[2] for t in toks)


def tok(raw):
    return ("RAW", None, raw)


def U(s):
    b = s.encode("utf-8")
    return b"X" + struct.pack("<I", len(b)) + b


def SBU(s):
    b = s.encode("utf-8")
    return b"\x8c" + bytes([len(b)]) + b


def binint_any(n):
    if 0 <= n < 256:
        return b"K" + bytes([n])
    if 0 <= n < 65536:
        return b"M" + struct.pack("<H", n)
    return b"J" + struct.pack("<i", n)


STRING_OPS = ("BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8", "UNICODE", "STRING", "BINSTRING",
              "SHORT_BINSTRING")


def map_strings(toks, fn):
    return [tok(fn(a)) if n in STRING_OPS and isinstance(a, str) else (n, a, r) for n, a, r in toks]


def map_ints(toks, fn):
    return [tok(fn(a)) if n in ("BININT1", "BININT2", "BININT") else (n, a, r) for n, a, r in toks]


def map_globals(toks, fn):
    out = []
    for n, a, r in toks:
        if n == "GLOBAL":
            m, _, q = a.partition(" ")
            out.append(tok(fn(m, q)))
        else:
            out.append((n, a, r))
    return out


def memo_renumber(toks, put_style, get_style):
    """Rewrite every memo store/load. put_style(new_index) / get_style(new_index) -> bytes; new
    indices are assigned 0, 1, 2... in order of the stores (as MEMOIZE would)."""
    remap, nxt, out = {}, 0, []
    for n, a, r in toks:
        if n in ("BINPUT", "LONG_BINPUT", "PUT"):
            remap[a] = nxt
            out.append(tok(put_style(nxt)))
            nxt += 1
        elif n == "MEMOIZE":
            remap[len(remap)] = nxt
            out.append(tok(put_style(nxt)))
            nxt += 1
        elif n in ("BINGET", "LONG_BINGET", "GET"):
            out.append(tok(get_style(remap[a])))
        else:
            out.append((n, a, r))
    return out


def strip_proto(toks):
    return [t for t in toks if t[0] != "PROTO"]


def body(toks):
    """Opcodes between PROTO and STOP."""
    return [t for t in toks if t[0] not in ("PROTO", "STOP")]


def index_last(toks, name):
    for i in range(len(toks) - 1, -1, -1):
        if toks[i][0] == name:
            return i
    raise KeyError(name)


def add_items(toks, *kv_raw):
    """Insert key/value opcodes into the root dict's last SETITEMS (before its 'u')."""
    i = index_last(toks, "SETITEMS")
    return toks[:i] + [tok(b"".join(kv_raw))] + toks[i:]


# ----------------------------------------------------------------------------------------------
# Variant generation
# ----------------------------------------------------------------------------------------------

class Variants:
    def __init__(self):
        self.items = []  # (family, name, bytes)
        self.names = set()

    def add(self, family, name, data):
        name = "%s.%s" % (family, name)
        if name in self.names:
            raise AssertionError("duplicate variant name " + name)
        self.names.add(name)
        self.items.append((family, name, bytes(data)))


def zip_variants(V, bases):
    A, B, C = bases["sda"], bases["sdb"], bases["sdc"]
    pa = A.prefix

    # -- Z1 CRC ---------------------------------------------------------------------------------
    for base_name, base in (("a", A), ("c", C)):
        for target in (b"data.pkl", b"data/0", b"data/1", b"version"):
            i = base.find(target)
            t = target.decode().replace("/", "")
            es = base.fresh()
            es[i] = es[i].copy(crc=es[i].crc ^ 1)
            V.add("z1_crc", "%s_%s_both" % (base_name, t), ziplib.build(es))
            es = base.fresh()
            es[i] = es[i].copy(central=dict(crc=es[i].crc ^ 0x80000000))
            V.add("z1_crc", "%s_%s_central_only" % (base_name, t), ziplib.build(es))
            es = base.fresh()
            es[i] = es[i].copy(dd=dict(crc=es[i].crc ^ 0x10))
            V.add("z1_crc", "%s_%s_descriptor_only" % (base_name, t), ziplib.build(es))
            es = base.fresh()
            e = es[i].copy(descriptor=None, flags=es[i].flags & ~FLAG_DESCRIPTOR, local_sizes=True)
            es[i] = e.copy(local=dict(crc=e.crc ^ 2))
            V.add("z1_crc", "%s_%s_local_only_nodd" % (base_name, t), ziplib.build(es))
        es = base.fresh()
        es = [e.copy(crc=0) for e in es]
        V.add("z1_crc", "%s_all_zero" % base_name, ziplib.build(es))

    # -- Z2 local/central name ----------------------------------------------------------------
    for target in (b"data.pkl", b"data/0", b"version"):
        t = target.decode().replace("/", "")
        i = A.find(target)
        for label, lname in (("other_prefix", b"zz/" + target),
                             ("case", (pa + b"/" + target).upper()),
                             ("same_len", (pa + b"/" + target)[:-1] + b"x"),
                             ("longer", pa + b"/" + target + b"x"),
                             ("sdb_prefix", B.prefix + b"/" + target)):
            es = A.fresh()
            es[i] = es[i].copy(local=dict(name=lname))
            V.add("z2_namediff", "%s_%s" % (t, label), ziplib.build(es))
    # local name says data.pkl for the B pickle's entry while the central names differ
    es = A.fresh()
    j = A.find(b"data.pkl")
    other = es[j].with_content(B.pkl).copy(name=pa + b"/other.pkl")
    es.insert(0, other.copy(local=dict(name=pa + b"/data.pkl")))
    V.add("z2_namediff", "b_pickle_local_named_data_pkl", ziplib.build(es))

    # -- Z3 flags --------------------------------------------------------------------------------
    for target in (b"data.pkl", b"data/0"):
        t = target.decode().replace("/", "")
        i = A.find(target)
        for bit in (0x1, 0x20, 0x40, 0x2, 0x4, 0x10, 0x80, 0x1000, 0x2000, 0x4000):
            for where in ("local", "central", "both"):
                es = A.fresh()
                e = es[i]
                if where == "both":
                    es[i] = e.copy(flags=e.flags | bit)
                elif where == "local":
                    es[i] = e.copy(local=dict(flags=e.flags | bit))
                else:
                    es[i] = e.copy(central=dict(flags=e.flags | bit))
                V.add("z3_flags", "%s_%#x_%s" % (t, bit, where), ziplib.build(es))
        for where in ("local", "central", "both"):
            es = A.fresh()
            e = es[i]
            f = e.flags & ~FLAG_UTF8
            es[i] = e.copy(flags=f) if where == "both" else e.copy(**{where: dict(flags=f)})
            V.add("z3_flags", "%s_no_utf8_%s" % (t, where), ziplib.build(es))

    # -- Z4 duplicates ------------------------------------------------------------------------
    ia, i0 = A.find(b"data.pkl"), A.find(b"data/0")
    bp = A.entries[ia].with_content(B.pkl)
    v0 = A.entries[i0].with_content(struct.pack("<6f", *[9.0 + k for k in range(6)]))
    for label, extra, at in (("pkl_b_first", bp, 0), ("pkl_b_last", bp, None),
                             ("pkl_b_after_pkl", bp, ia + 1),
                             ("data0_other_first", v0, 0), ("data0_other_last", v0, None),
                             ("pkl_same_twice", A.entries[ia].copy(), None),
                             ("version_2_last", A.entries[A.find(b"version")].with_content(b"2\n"),
                              None),
                             ("version_99_first", A.entries[A.find(b"version")].with_content(b"99\n"),
                              0)):
        es = A.fresh()
        if at is None:
            es.append(extra)
        else:
            es.insert(at, extra)
        V.add("z4_dup", label, ziplib.build(es))
        # central directory lists only one copy (the other is an orphan local header)
        w_es = es
        data = ziplib.build(w_es, central=[e for e in w_es if e is not extra])
        V.add("z4_dup", label + "_orphan_local", data)
    # two central headers for one local header
    es = A.fresh()
    data = ziplib.build(es, central=es + [es[ia]])
    V.add("z4_dup", "central_twice_same_local", data)
    # central order reversed relative to local order
    es = A.fresh()
    V.add("z4_dup", "central_order_reversed", ziplib.build(es, central=list(reversed(es))))

    # -- Z5 case ------------------------------------------------------------------------------
    for label, old, new in (("DATA.PKL", b"data.pkl", b"DATA.PKL"), ("Data.Pkl", b"data.pkl", b"Data.Pkl"),
                            ("DATA_0", b"data/0", b"DATA/0"), ("VERSION", b"version", b"VERSION")):
        es = A.fresh()
        i = A.find(old)
        es[i] = renamed(es[i], pa + b"/" + new)
        V.add("z5_case", label + "_alone", ziplib.build(es))
    for order in ("upper_first", "upper_last"):
        es = A.fresh()
        up = renamed(A.entries[ia].with_content(B.pkl), pa + b"/DATA.PKL")
        if order == "upper_first":
            es.insert(0, up)
        else:
            es.append(up)
        V.add("z5_case", "DATA.PKL_b_and_data.pkl_" + order, ziplib.build(es))
        es = A.fresh()
        up0 = renamed(v0, pa + b"/DATA/0")
        es.insert(0 if order == "upper_first" else len(es), up0)
        V.add("z5_case", "DATA_0_other_and_data_0_" + order, ziplib.build(es))
    es = [renamed(e, pa.upper() + e.name[len(pa):]) if k else e for k, e in enumerate(A.fresh())]
    V.add("z5_case", "prefix_case_differs_after_first", ziplib.build(es))
    es = [renamed(e, pa.upper() + e.name[len(pa):]) for e in A.fresh()]
    V.add("z5_case", "prefix_upper_everywhere", ziplib.build(es))

    # -- Z6 extension/other entries ------------------------------------------------------------
    es = A.fresh()
    es.insert(1, Entry(pa + b"/extra.pkl", B.pkl, descriptor="sig", align=64))
    V.add("z6_extra", "extra_pkl_entry", ziplib.build(es))
    es = A.fresh()
    es[ia] = renamed(es[ia], pa + b"/data.pickle")
    V.add("z6_extra", "data_pickle_extension_only", ziplib.build(es))
    es = A.fresh()
    es.append(Entry(pa + b"/byteorder", b"little", descriptor="sig", align=64))
    V.add("z6_extra", "byteorder_little", ziplib.build(es))
    es = A.fresh()
    es.append(Entry(pa + b"/byteorder", b"big", descriptor="sig", align=64))
    V.add("z6_extra", "byteorder_big", ziplib.build(es))
    es = A.fresh()
    es.append(Entry(pa + b"/data/7", b"\x01" * 40, descriptor="sig", align=64))
    V.add("z6_extra", "unreferenced_record", ziplib.build(es))
    es = A.fresh()
    es.append(Entry(pa + b"/.data/version", b"3\n", descriptor="sig", align=64))
    V.add("z6_extra", "dot_data_version", ziplib.build(es))
    for vtext in (b"1\n", b"2\n", b"3", b"4\n", b"9\n", b"03\n", b" 3\n", b"3\r\n", b"x\n", b"",
                  b"-1\n", b"18446744073709551619\n"):
        es = A.fresh()
        iv = A.find(b"version")
        es[iv] = es[iv].with_content(vtext)
        V.add("z6_version", "version_%s" % vtext.hex(), ziplib.build(es))
    es = A.fresh()
    del es[A.find(b"version")]
    V.add("z6_version", "version_missing", ziplib.build(es))
    es = A.fresh()
    del es[A.find(b"data/1")]
    V.add("z6_extra", "record_missing", ziplib.build(es))
    es = A.fresh()
    i1 = A.find(b"data/1")
    es[i1] = es[i1].with_content(es[i1].content[:-1])
    V.add("z6_extra", "record_short", ziplib.build(es))
    es = A.fresh()
    es[i1] = es[i1].with_content(es[i1].content + b"\x00" * 8)
    V.add("z6_extra", "record_long", ziplib.build(es))

    # -- Z9 folders and order -------------------------------------------------------------------
    def under(es, prefix):
        return [renamed(e, prefix + e.name[len(pa):]) for e in es]
    es = A.fresh()
    bp_other = renamed(A.entries[ia].with_content(B.pkl), b"other/data.pkl")
    V.add("z9_folders", "other_folder_pickle_first", ziplib.build([bp_other] + es))
    V.add("z9_folders", "other_folder_pickle_last", ziplib.build(es + [bp_other]))
    V.add("z9_folders", "other_folder_pickle_second", ziplib.build(es[:1] + [bp_other] + es[1:]))
    full_b = under(A.fresh(), b"other")
    full_b[ia] = full_b[ia].with_content(B.pkl)
    V.add("z9_folders", "two_full_archives_a_first", ziplib.build(A.fresh() + full_b))
    V.add("z9_folders", "two_full_archives_b_first", ziplib.build(full_b + A.fresh()))
    V.add("z9_folders", "two_full_archives_interleaved",
          ziplib.build([x for pair in zip(full_b, A.fresh()) for x in pair]))
    es = A.fresh()
    V.add("z9_folders", "top_level_entry_first",
          ziplib.build([Entry(b"README", b"hi", descriptor="sig", align=64)] + es))
    V.add("z9_folders", "top_level_entry_last",
          ziplib.build(es + [Entry(b"README", b"hi", descriptor="sig", align=64)]))
    V.add("z9_folders", "directory_entry_first",
          ziplib.build([Entry(pa + b"/", b"")] + A.fresh()))
    V.add("z9_folders", "no_folder", ziplib.build([renamed(e, e.name[len(pa) + 1:]) for e in A.fresh()]))
    V.add("z9_folders", "nested_folder", ziplib.build(under(A.fresh(), pa + b"/inner")))
    V.add("z9_folders", "two_level_prefix", ziplib.build(under(A.fresh(), b"x/" + pa)))
    for label, perm in (("pkl_last", lambda es: es[1:] + es[:1]),
                        ("reversed", lambda es: list(reversed(es))),
                        ("version_first", lambda es: es[-1:] + es[:-1]),
                        ("data0_first", lambda es: [es[i0]] + es[:i0] + es[i0 + 1:])):
        V.add("z9_order", label, ziplib.build(perm(A.fresh())))
        V.add("z9_order", "c_" + label, ziplib.build(perm(C.fresh())))

    # -- Z8 leading/trailing/end records/ZIP64 ---------------------------------------------------
    es = A.fresh()
    plain = ziplib.build(es)
    for n in (1, 4, 64):
        V.add("z8_lead", "junk_%d" % n, b"\x00" * n + plain)
        V.add("z8_lead", "junk_%d_adjusted" % n, ziplib.build(A.fresh(), prefix=b"\x00" * n))
    fake = Entry(b"fake/x", b"junk", descriptor=None)
    w = ziplib.Writer()
    w.entry(fake)
    V.add("z8_lead", "orphan_local_header_first_adjusted", ziplib.build(A.fresh(), prefix=w.getvalue()))
    V.add("z8_lead", "pk_magic_then_junk", b"PK\x03\x04" + b"\x00" * 60 + plain)
    V.add("z8_lead", "pk_magic_then_junk_adjusted",
          ziplib.build(A.fresh(), prefix=b"PK\x03\x04" + b"\x00" * 60))
    for n in (1, 22, 100):
        V.add("z8_trail", "trailing_%d" % n, plain + b"\x00" * n)
    V.add("z8_trail", "comment", ziplib.build(A.fresh(), comment=b"a comment"))
    V.add("z8_trail", "comment_len_short", ziplib.build(A.fresh(), comment=b"a comment",
                                                        eocd=dict(comment_len=4)))
    V.add("z8_trail", "comment_len_long", ziplib.build(A.fresh(), comment=b"abc",
                                                       eocd=dict(comment_len=9)))
    V.add("z8_trail", "second_archive_appended", plain + with_pickle(A, B.pkl))
    # a second end record, after the first, pointing at a central directory listing B's pickle
    es = A.fresh()
    w = ziplib.Writer()
    for e in es:
        w.entry(e)
    bpe = A.entries[ia].with_content(B.pkl)
    w.entry(bpe)
    cd1, s1 = w.central(es)
    w.eocd(len(es), s1, cd1)
    refs2 = [bpe] + [e for e in es if e.name != es[ia].name]
    cd2, s2 = w.central(refs2)
    w.eocd(len(refs2), s2, cd2)
    V.add("z8_eocd", "two_end_records_second_lists_b", w.getvalue())
    es = A.fresh()
    w = ziplib.Writer()
    for e in es:
        w.entry(e)
    cd1, s1 = w.central(es)
    w.eocd(len(es), s1, cd1)
    w.eocd(len(es), s1, cd1)
    V.add("z8_eocd", "two_identical_end_records", w.getvalue())
    V.add("z8_zip64", "no_zip64_records", ziplib.build(A.fresh(), zip64=False))
    V.add("z8_zip64", "zip64_central_extra", ziplib.build([e.copy(zip64_central=True) for e in A.fresh()]))
    V.add("z8_zip64", "zip64_local_extra_nodd",
          ziplib.build([e.copy(zip64_local=True, descriptor=None, flags=e.flags & ~FLAG_DESCRIPTOR,
                               local_sizes=True) for e in A.fresh()]))
    V.add("z8_zip64", "zip64_both_extra", ziplib.build([e.copy(zip64_central=True, zip64_local=True)
                                                        for e in A.fresh()]))
    n = len(A.entries)
    for label, kw in (("count_lies", dict(zip64_record=dict(count=n + 1))),
                      ("count_lies_low", dict(zip64_record=dict(count=n - 1))),
                      ("cd_offset_lies", dict(zip64_record=dict(cd_offset=3))),
                      ("cd_size_lies", dict(zip64_record=dict(cd_size=10))),
                      ("locator_offset_lies", dict(locator=dict(offset=5))),
                      ("eocd_ffff", dict(eocd=dict(count=0xFFFF, cd_size=0xFFFFFFFF,
                                                   cd_offset=0xFFFFFFFF))),
                      ("eocd_count_lies", dict(eocd=dict(count=n + 1))),
                      ("eocd_cd_offset_lies_zip64_truthful", dict(eocd=dict(cd_offset=7))),
                      ("record_size_lies", dict(zip64_record=dict(record_size=60))),
                      ("total_disks_2", dict(locator=dict(total_disks=2))),
                      ("eocd_disk_1", dict(eocd=dict(disk=1)))):
        V.add("z8_zip64", label, ziplib.build(A.fresh(), **kw))
    V.add("z8_zip64", "no_zip64_count_lies", ziplib.build(A.fresh(), zip64=False, eocd=dict(count=n + 1)))
    V.add("z8_zip64", "no_zip64_count_low", ziplib.build(A.fresh(), zip64=False, eocd=dict(count=n - 1)))

    # -- Z10 compression methods ------------------------------------------------------------------
    for target in (b"data.pkl", b"data/0", b"version"):
        t = target.decode().replace("/", "")
        i = A.find(target)
        for level in (0, 1, 9):
            es = A.fresh()
            es[i] = es[i].with_content(es[i].content, method=DEFLATED, level=level)
            V.add("z10_method", "%s_deflate_l%d" % (t, level), ziplib.build(es))
        for method, label, comp in ((12, "bzip2", None), (14, "lzma", None), (93, "zstd", None),
                                    (1, "shrunk", None), (99, "aes", None)):
            es = A.fresh()
            e = es[i]
            if method == 12:
                data = bz2.compress(e.content)
            else:
                data = e.content  # bytes are not really compressed: the method alone differs
            es[i] = e.copy(method=method, data=data, csize=len(data))
            V.add("z10_method", "%s_%s" % (t, label), ziplib.build(es))
        es = A.fresh()
        e = es[i]
        es[i] = e.copy(method=STORED, data=ziplib.deflate_raw(e.content), csize=len(ziplib.deflate_raw(e.content)),
                       usize=len(ziplib.deflate_raw(e.content)))
        V.add("z10_method", "%s_deflated_bytes_declared_stored" % t, ziplib.build(es))
        es = A.fresh()
        e = es[i].with_content(es[i].content, method=DEFLATED)
        es[i] = e.copy(method=STORED, local=dict(method=DEFLATED))
        V.add("z10_method", "%s_method_local_deflate_central_stored" % t, ziplib.build(es))
        es = A.fresh()
        e = es[i].with_content(es[i].content, method=DEFLATED)
        es[i] = e.copy(usize=e.usize + 1)
        V.add("z10_method", "%s_deflate_usize_plus1" % t, ziplib.build(es))
        es = A.fresh()
        e = es[i].with_content(es[i].content, method=DEFLATED)
        es[i] = e.copy(data=e.data + b"\x00\x01\x02", csize=e.csize + 3)
        V.add("z10_method", "%s_deflate_trailing_in_entry" % t, ziplib.build(es))
    es = [e.with_content(e.content, method=DEFLATED) for e in A.fresh()]
    V.add("z10_method", "all_deflated", ziplib.build(es))
    es = [e.with_content(e.content, method=DEFLATED) for e in C.fresh()]
    V.add("z10_method", "c_all_deflated", ziplib.build(es))
    # nested archive as the data.pkl entry
    es = A.fresh()
    es[ia] = es[ia].with_content(A.data)
    V.add("z10_method", "zip_inside_data_pkl", ziplib.build(es))

    # -- descriptors --------------------------------------------------------------------------
    for kind in ("nosig", "sig64", "nosig64"):
        V.add("z_descriptor", kind, ziplib.build([e.copy(descriptor=kind) for e in A.fresh()]))
    V.add("z_descriptor", "none", ziplib.build([e.copy(descriptor=None, flags=e.flags & ~FLAG_DESCRIPTOR,
                                                        local_sizes=True) for e in A.fresh()]))
    V.add("z_descriptor", "local_sizes_and_descriptor",
          ziplib.build([e.copy(local_sizes=True) for e in A.fresh()]))
    for field, delta in (("csize", 1), ("usize", 1), ("csize", -1)):
        es = A.fresh()
        es[ia] = es[ia].copy(dd={field: getattr(es[ia], field) + delta})
        V.add("z_descriptor", "dd_%s_%+d" % (field, delta), ziplib.build(es))
    for field, delta in (("csize", 1), ("usize", 1), ("csize", -1), ("usize", -1)):
        es = A.fresh()
        es[ia] = es[ia].copy(central={field: getattr(es[ia], field) + delta})
        V.add("z_descriptor", "central_%s_%+d" % (field, delta), ziplib.build(es))
        es = A.fresh()
        e = es[ia].copy(descriptor=None, flags=es[ia].flags & ~FLAG_DESCRIPTOR, local_sizes=True)
        es[ia] = e.copy(local={field: getattr(e, field) + delta})
        V.add("z_descriptor", "local_%s_%+d_nodd" % (field, delta), ziplib.build(es))
    for label, kw in (("no_align", dict(align=None)), ("align_1", dict(align=None, local_extra=b"")),
                      ("unknown_extra", dict(local_extra=b"\x99\x99\x02\x00ab")),
                      ("central_extra", dict(central_extra=b"\x99\x99\x02\x00ab")),
                      ("entry_comment", dict(comment=b"hello")),
                      ("truncated_extra", dict(local_extra=b"\x99\x99\x09\x00ab"))):
        V.add("z_extra", label, ziplib.build([e.copy(**kw) for e in A.fresh()]))
    es = A.fresh()
    es[ia] = es[ia].copy(local=dict(version_needed=63))
    V.add("z_extra", "version_needed_63_local", ziplib.build(es))
    es = A.fresh()
    V.add("z_extra", "gap_between_entries", ziplib.build(es, gaps={0: b"\x00" * 16}))
    # overlapping: data/1 central offset points at data/0's local header
    es2 = A.fresh()
    w = ziplib.Writer()
    for e in es2:
        w.entry(e)
    refs = [(e, {"offset": es2[i0].offset}) if e.name.endswith(b"data/1") else e for e in es2]
    cd, sz = w.central(refs)
    w.eocd(len(refs), sz, cd)
    V.add("z12_overlap", "data1_points_at_data0_local", w.getvalue())
    refs = [(e, {"csize": e.csize + 200, "usize": e.usize + 200}) if e.name.endswith(b"data/0") else e
            for e in es2]
    w2 = ziplib.Writer()
    for e in es2:
        w2.entry(e)
    cd, sz = w2.central(refs)
    w2.eocd(len(refs), sz, cd)
    V.add("z12_overlap", "data0_sizes_run_into_next", w2.getvalue())

    # -- Z11 path tricks (consistent renaming of the whole archive) ------------------------------
    for label, prefix in (("dotdot", b"../" + pa), ("abs", b"/" + pa), ("dot", b"./" + pa),
                          ("backslash", pa + b"\\sub"), ("nul", pa + b"\x00x"),
                          ("latin1_noflag", b"caf\xe9"), ("utf8", "café".encode()),
                          ("colon", b"c:" + pa), ("space", b"my model"), ("empty", b""),
                          ("double_slash", pa + b"/")):
        es = [renamed(e, prefix + e.name[len(pa):]) for e in A.fresh()]
        if label == "latin1_noflag":
            es = [e.copy(flags=e.flags & ~FLAG_UTF8) for e in es]
        V.add("z11_path", label, ziplib.build(es))
    es = A.fresh()
    es[ia] = renamed(es[ia], pa + b"/x/../data.pkl")
    V.add("z11_path", "dotdot_inside", ziplib.build(es))
    es = A.fresh()
    es[ia] = renamed(es[ia], pa + b"/./data.pkl")
    V.add("z11_path", "dot_inside", ziplib.build(es))
    es = A.fresh()
    es[ia] = renamed(es[ia], pa + b"\\data.pkl")
    V.add("z11_path", "backslash_data_pkl", ziplib.build(es))
    es = A.fresh()
    es.append(renamed(A.entries[ia].with_content(B.pkl), pa + b"/data.pkl\x00evil"))
    V.add("z11_path", "nul_suffix_duplicate", ziplib.build(es))


def pickle_variants(V, bases):
    A, B, C, T = bases["sda"], bases["sdb"], bases["sdc"], bases["tens"]
    targets = (("a", A), ("c", C), ("t", T))

    # -- protocols written by real torch.save ---------------------------------------------------
    for p in range(6):
        for b in ("sda", "sdc"):
            V.add("p_protocol", "%s_p%d" % (b, p), bases["%s_p%d" % (b, p)].data)
            # the same pickle inside the sda/sdc archive but deflated
            base = bases["%s_p%d" % (b, p)]
            es = [e.with_content(e.content, method=DEFLATED) if e.name.endswith(b"data.pkl") else e
                  for e in base.fresh()]
            V.add("p_protocol", "%s_p%d_deflated" % (b, p), ziplib.build(es))

    for tn, base in targets:
        toks = tokens(base.pkl)
        raw = base.pkl

        def add(family, label, pkl, method=None):
            V.add(family, "%s_%s" % (tn, label), with_pickle(base, pkl, method=method))

        # -- memo forms ------------------------------------------------------------------------
        styles = {
            "long": (lambda i: b"r" + struct.pack("<I", i), lambda i: b"j" + struct.pack("<I", i)),
            "text": (lambda i: b"p%d\n" % i, lambda i: b"g%d\n" % i),
            "text_crlf": (lambda i: b"p%d\r\n" % i, lambda i: b"g%d\r\n" % i),
            "text_lead0": (lambda i: b"p0%d\n" % i, lambda i: b"g0%d\n" % i),
            "memoize": (lambda i: b"\x94", lambda i: b"j" + struct.pack("<I", i)),
            "memoize_binget": (lambda i: b"\x94", lambda i: b"h" + bytes([i]) if i < 256 else
                               b"j" + struct.pack("<I", i)),
            "offset_1000": (lambda i: b"r" + struct.pack("<I", i + 1000),
                            lambda i: b"j" + struct.pack("<I", i + 1000)),
        }
        for label, (ps, gs) in styles.items():
            add("p3_memo", "memo_" + label, join(memo_renumber(toks, ps, gs)))
        # every GET replaced by a fresh copy is not possible generally; drop unused PUTs instead
        used = {a for n, a, r in toks if n in ("BINGET", "LONG_BINGET")}
        add("p3_memo", "unused_puts_dropped",
            join([t for t in toks if not (t[0] in ("BINPUT", "LONG_BINPUT") and t[1] not in used)]))
        # overwrite: every PUT stores twice (same value) to the same index
        add("p3_memo", "put_twice", join([x for t in toks for x in ([t, t] if t[0] == "BINPUT" else [t])]))
        # DUP + POP no-ops, POP_MARK no-op, MARK-only junk
        add("p3_memo", "dup_pop_after_every_put",
            join([x for t in toks for x in ([t, tok(b"20")] if t[0] == "BINPUT" else [t])]))
        add("p3_memo", "mark_popmark_after_proto",
            join(toks[:1] + [tok(b"(" + U("junk") + b"1")] + toks[1:]))
        add("p3_memo", "value_below_root",
            join(toks[:1] + [tok(U("below"))] + toks[1:]))

        # -- STACK_GLOBAL operands -------------------------------------------------------------
        gl = sorted({a for n, a, r in toks if n == "GLOBAL"})

        def sg(build):
            return join(map_globals(toks, build))
        add("p3_stackglobal", "binunicode", sg(lambda m, q: U(m) + U(q) + b"\x93"))
        add("p3_stackglobal", "short_binunicode", sg(lambda m, q: SBU(m) + SBU(q) + b"\x93"))
        add("p3_stackglobal", "short_binstring", sg(
            lambda m, q: b"U" + bytes([len(m)]) + m.encode() + b"U" + bytes([len(q)]) + q.encode() + b"\x93"))
        add("p3_stackglobal", "string_text", sg(lambda m, q: b"S'%s'\n" % m.encode() + b"S'%s'\n" % q.encode() + b"\x93"))
        add("p3_stackglobal", "unicode_text", sg(lambda m, q: b"V%s\n" % m.encode() + b"V%s\n" % q.encode() + b"\x93"))
        add("p3_stackglobal", "dup_pop", sg(lambda m, q: U(m) + b"2" + b"0" + U(q) + b"\x93"))
        add("p3_stackglobal", "binbytes_operands", sg(lambda m, q: b"C" + bytes([len(m)]) + m.encode() + b"C"
                                                      + bytes([len(q)]) + q.encode() + b"\x93"))
        # operands defined once at the start (PUT at 5000+, POPped), fetched by GET
        pre = b"".join(U(m) + b"r" + struct.pack("<I", 5000 + 2 * k) + b"0" + U(q) + b"r"
                       + struct.pack("<I", 5001 + 2 * k) + b"0" for k, (m, _, q) in
                       enumerate(g.partition(" ") for g in gl))
        idx = {g: k for k, g in enumerate(gl)}
        memo_sg = map_globals(toks, lambda m, q: b"j" + struct.pack("<I", 5000 + 2 * idx[m + " " + q])
                              + b"j" + struct.pack("<I", 5001 + 2 * idx[m + " " + q]) + b"\x93")
        add("p3_stackglobal", "memo_operands_at_start", join(memo_sg[:1] + [tok(pre)] + memo_sg[1:]))
        add("p3_stackglobal", "memo_operands_before_proto", join([tok(pre)] + memo_sg))
        # operands left on the stack at the very start, picked up by the first STACK_GLOBAL
        first = gl and toks.index(next(t for t in toks if t[0] == "GLOBAL"))
        if gl:
            m, _, q = toks[first][1].partition(" ")
            sgl = toks[:1] + [tok(U(m) + U(q))] + toks[1:first] + [tok(b"\x93")] + toks[first + 1:]
            add("p3_stackglobal", "first_operands_at_start", join(sgl))
        # module and name swapped through memo (operands from GET of the wrong slots)
        add("p3_stackglobal", "operands_swapped", sg(lambda m, q: U(q) + U(m) + b"\x93"))
        # the module name as stored via DUP + MEMOIZE chains is left to memo_ styles above

        # -- GLOBAL spellings -------------------------------------------------------------------
        def split_alt(m, q):
            full = m + "." + q
            parts = full.split(".")
            if len(parts) < 3:
                return b"c%s\n%s\n" % (m.encode(), q.encode())
            return b"c%s\n%s\n" % (parts[0].encode(), ".".join(parts[1:]).encode())
        add("p11_names", "global_split_at_first_dot", join(map_globals(toks, split_alt)))
        add("p11_names", "global_split_at_first_dot_p4",
            join([tok(b"\x80\x04") if t[0] == "PROTO" else t for t in map_globals(toks, split_alt)]))
        def split_alt_sg(m, q):
            m2, q2 = split_alt(m, q)[1:].decode().split("\n")[:2]
            return U(m2) + U(q2) + b"\x93"
        add("p11_names", "stackglobal_split_at_first_dot_p4",
            join([tok(b"\x80\x04") if t[0] == "PROTO" else t for t in map_globals(toks, split_alt_sg)]))
        add("p11_names", "global_crlf", join(map_globals(toks, lambda m, q: b"c%s\r\n%s\r\n" % (m.encode(), q.encode()))))
        add("p11_names", "global_torch_tensor_module",
            join(map_globals(toks, lambda m, q: b"ctorch.tensor\n%s\n" % q.encode() if m == "torch._utils"
                             else b"c%s\n%s\n" % (m.encode(), q.encode()))))
        add("p11_names", "storage_via_torch_storage_module",
            join(map_globals(toks, lambda m, q: b"ctorch.storage\n%s\n" % q.encode() if q.endswith("Storage")
                             else b"c%s\n%s\n" % (m.encode(), q.encode()))))
        add("p11_names", "storage_via_os_module",
            join(map_globals(toks, lambda m, q: b"cos\n%s\n" % q.encode() if q.endswith("Storage")
                             else b"c%s\n%s\n" % (m.encode(), q.encode()))))
        add("p11_names", "storage_cuda_class",
            join(map_globals(toks, lambda m, q: b"ctorch.cuda\n%s\n" % q.encode() if q.endswith("Storage")
                             else b"c%s\n%s\n" % (m.encode(), q.encode()))))
        add("p11_names", "storage_untyped",
            join(map_globals(toks, lambda m, q: b"ctorch.storage\nUntypedStorage\n" if q.endswith("Storage")
                             else b"c%s\n%s\n" % (m.encode(), q.encode()))))
        add("p11_names", "storage_untyped_torch",
            join(map_globals(toks, lambda m, q: b"ctorch\nUntypedStorage\n" if q.endswith("Storage")
                             else b"c%s\n%s\n" % (m.encode(), q.encode()))))
        add("p11_names", "rebuild_tensor_v1_name",
            join(map_globals(toks, lambda m, q: b"ctorch._utils\n_rebuild_tensor\n" if q == "_rebuild_tensor_v2"
                             else b"c%s\n%s\n" % (m.encode(), q.encode()))))
        add("p11_names", "ordereddict_py2_proto0",
            join([tok(b"\x80\x00") if t[0] == "PROTO" else t for t in toks]))
        add("p11_names", "ordereddict_via_builtin_dict",
            join(map_globals(toks, lambda m, q: b"c__builtin__\ndict\n" if q == "OrderedDict"
                             else b"c%s\n%s\n" % (m.encode(), q.encode()))))
        add("p11_names", "ordereddict_via_builtins_dict_p3",
            join([tok(b"\x80\x03") if t[0] == "PROTO" else t for t in
                  map_globals(toks, lambda m, q: b"cbuiltins\ndict\n" if q == "OrderedDict"
                              else b"c%s\n%s\n" % (m.encode(), q.encode()))]))
        add("p11_names", "ordereddict_via_builtin_dict_p3",
            join([tok(b"\x80\x03") if t[0] == "PROTO" else t for t in
                  map_globals(toks, lambda m, q: b"c__builtin__\ndict\n" if q == "OrderedDict"
                              else b"c%s\n%s\n" % (m.encode(), q.encode()))]))

        # -- strings ----------------------------------------------------------------------------
        add("p10_text", "short_binunicode", join(map_strings(toks, SBU)))
        add("p10_text", "binunicode8", join(map_strings(toks, lambda s: b"\x8d" + struct.pack("<Q", len(s.encode())) + s.encode())))
        add("p10_text", "short_binstring", join(map_strings(toks, lambda s: b"U" + bytes([len(s)]) + s.encode())))
        add("p10_text", "binstring", join(map_strings(toks, lambda s: b"T" + struct.pack("<i", len(s)) + s.encode())))
        add("p10_text", "binbytes", join(map_strings(toks, lambda s: b"C" + bytes([len(s)]) + s.encode())))
        add("p10_text", "string_quoted", join(map_strings(toks, lambda s: b"S'%s'\n" % s.encode())))
        add("p10_text", "string_dquoted", join(map_strings(toks, lambda s: b'S"%s"\n' % s.encode())))
        add("p10_text", "string_hex_escapes", join(map_strings(
            toks, lambda s: b"S'" + b"".join(b"\\x%02x" % c for c in s.encode()) + b"'\n")))
        add("p10_text", "string_crlf", join(map_strings(toks, lambda s: b"S'%s'\r\n" % s.encode())))
        add("p10_text", "string_unquoted", join(map_strings(toks, lambda s: b"S%s\n" % s.encode())))
        add("p10_text", "unicode_plain", join(map_strings(toks, lambda s: b"V%s\n" % s.encode())))
        add("p10_text", "unicode_u_escapes", join(map_strings(
            toks, lambda s: b"V" + b"".join(b"\\u%04x" % ord(c) for c in s) + b"\n")))
        add("p10_text", "unicode_U_escapes", join(map_strings(
            toks, lambda s: b"V" + b"".join(b"\\U%08x" % ord(c) for c in s) + b"\n")))
        add("p10_text", "unicode_crlf", join(map_strings(toks, lambda s: b"V%s\r\n" % s.encode())))
        add("p10_text", "unicode_backslash_n", join(map_strings(toks, lambda s: b"V%s\\n\n" % s.encode())))
        # keys only (strings followed by BINPUT directly inside the root dict) become non-ASCII
        add("p10_text", "keys_string_utf8_bytes", join(map_strings(
            toks, lambda s: (b"S'" + b"".join(b"\\x%02x" % c for c in (s + "\u00e9").encode()) + b"'\n")
            if len(s) <= 2 and not s.isdigit() else U(s))))
        add("p10_text", "keys_string_invalid_utf8", join(map_strings(
            toks, lambda s: (b"S'" + s.encode() + b"\\xff'\n")
            if len(s) <= 2 and not s.isdigit() else U(s))))
        add("p10_text", "keys_binunicode_surrogate", join(map_strings(
            toks, lambda s: (b"X" + struct.pack("<I", len(s) + 3) + s.encode() + b"\xed\xa0\x80")
            if len(s) <= 2 and not s.isdigit() else U(s))))
        add("p10_text", "keys_binunicode_invalid_utf8", join(map_strings(
            toks, lambda s: (b"X" + struct.pack("<I", len(s) + 1) + s.encode() + b"\xff")
            if len(s) <= 2 and not s.isdigit() else U(s))))
        add("p10_text", "keys_unicode_latin1_raw", join(map_strings(
            toks, lambda s: (b"V" + s.encode() + b"\xe9\n") if len(s) <= 2 and not s.isdigit() else U(s))))

        # -- integers --------------------------------------------------------------------------
        add("p10_ints", "binint", join(map_ints(toks, lambda n: b"J" + struct.pack("<i", n))))
        add("p10_ints", "binint2", join(map_ints(toks, lambda n: b"M" + struct.pack("<H", n))))
        add("p10_ints", "long1", join(map_ints(toks, lambda n: b"\x8a" + bytes([len(pickle.encode_long(n))]) + pickle.encode_long(n))))
        add("p10_ints", "long1_padded", join(map_ints(toks, lambda n: b"\x8a\x03" + pickle.encode_long(n).ljust(3, b"\x00"))))
        add("p10_ints", "long4", join(map_ints(toks, lambda n: b"\x8b" + struct.pack("<i", len(pickle.encode_long(n))) + pickle.encode_long(n))))
        add("p10_ints", "int_text", join(map_ints(toks, lambda n: b"I%d\n" % n)))
        add("p10_ints", "int_text_lead0", join(map_ints(toks, lambda n: b"I0%d\n" % n)))
        add("p10_ints", "int_text_plus", join(map_ints(toks, lambda n: b"I+%d\n" % n)))
        add("p10_ints", "int_text_space", join(map_ints(toks, lambda n: b"I %d\n" % n)))
        add("p10_ints", "int_text_crlf", join(map_ints(toks, lambda n: b"I%d\r\n" % n)))
        add("p10_ints", "long_text_L", join(map_ints(toks, lambda n: b"L%dL\n" % n)))
        add("p10_ints", "long_text", join(map_ints(toks, lambda n: b"L%d\n" % n)))
        add("p10_ints", "zeros_as_int00", join(map_ints(toks, lambda n: b"I00\n" if n == 0 else binint_any(n))))
        add("p10_ints", "ones_as_int01", join(map_ints(toks, lambda n: b"I01\n" if n == 1 else binint_any(n))))
        add("p10_ints", "zeros_as_newfalse", join(map_ints(toks, lambda n: b"\x89" if n == 0 else binint_any(n))))
        add("p10_ints", "ones_as_newtrue", join(map_ints(toks, lambda n: b"\x88" if n == 1 else binint_any(n))))
        add("p10_ints", "floats_for_ints", join(map_ints(toks, lambda n: b"G" + struct.pack(">d", n))))

        # -- tuples -----------------------------------------------------------------------------
        add("p_tuples", "empty_tuple_as_mark_tuple",
            join([tok(b"(t") if t[0] == "EMPTY_TUPLE" else t for t in toks]))

        # -- PROTO -----------------------------------------------------------------------------
        add("p8_proto", "no_proto", join(strip_proto(toks)))
        add("p8_proto", "proto_twice", join(toks[:1] + toks))
        add("p8_proto", "proto_mid_stream", join(toks[:3] + [tok(b"\x80\x02")] + toks[3:]))
        add("p8_proto", "proto_before_stop", join(toks[:-1] + [tok(b"\x80\x02")] + toks[-1:]))
        for p in (0, 1, 3, 4, 5, 6, 255):
            add("p8_proto", "proto_%d" % p, join([tok(b"\x80" + bytes([p])) if t[0] == "PROTO" else t for t in toks]))
        add("p8_proto", "proto_2_then_5", join(toks[:1] + [tok(b"\x80\x05")] + toks[1:]))
        add("p8_proto", "proto_5_then_2_mid", join([tok(b"\x80\x05")] + toks[1:3] + [tok(b"\x80\x02")] + toks[3:]))

        # -- FRAME -----------------------------------------------------------------------------
        bd = join(body(toks)) + b"."
        pr = toks[0][2]

        def fr(n):
            return b"\x95" + struct.pack("<Q", n)
        add("p8_frame", "exact", pr + fr(len(bd)) + bd)
        add("p8_frame", "exact_p4", b"\x80\x04" + fr(len(bd)) + bd)
        add("p8_frame", "exact_without_stop", pr + fr(len(bd) - 1) + bd)
        add("p8_frame", "too_long_1", pr + fr(len(bd) + 1) + bd)
        add("p8_frame", "too_long_100", pr + fr(len(bd) + 100) + bd)
        add("p8_frame", "too_short_1", pr + fr(len(bd) - 2) + bd)
        add("p8_frame", "zero", pr + fr(0) + bd)
        cut = len(join(body(toks)[:len(body(toks)) // 2]))
        add("p8_frame", "two_frames_at_opcode", pr + fr(cut) + bd[:cut] + fr(len(bd) - cut) + bd[cut:])
        add("p8_frame", "two_frames_mid_opcode", pr + fr(cut + 2) + bd[:cut + 2] + fr(len(bd) - cut - 2) + bd[cut + 2:])
        add("p8_frame", "nested_frame", pr + fr(len(bd) + 9) + fr(len(bd)) + bd)
        add("p8_frame", "frame_after_partial", pr + bd[:cut] + fr(len(bd) - cut) + bd[cut:])
        add("p8_frame", "huge", pr + fr(1 << 40) + bd)

        # -- back to back / trailing / broken streams ----------------------------------------------
        other = B.pkl if base is not B else A.pkl
        add("p2_multi", "then_other_pickle", raw + other)
        add("p2_multi", "then_same_pickle", raw + raw)
        add("p2_multi", "then_junk", raw + b"\xff\xfe junk")
        add("p2_multi", "then_stop", raw + b".")
        add("p2_multi", "then_truncated_other", raw + other[:len(other) // 2])
        add("p2_multi", "no_stop_then_other", raw[:-1] + other)
        add("p2_multi", "no_stop_then_other_no_proto", raw[:-1] + join(strip_proto(tokens(other))))
        add("p2_multi", "other_after_stop_deflated", raw + other, method=DEFLATED)
        nb = len(body(toks))
        for k in sorted({1, 2, 5, nb // 4, nb // 2, (3 * nb) // 4, nb - 1, nb}):
            prefix = join(toks[:k + 1])
            add("p1_broken", "truncated_after_op%d" % k, prefix)
        for cut in (1, 3, len(raw) // 3 + 1, len(raw) - 2):
            add("p1_broken", "truncated_at_byte%d" % cut, raw[:cut])
        for k in sorted({2, nb // 2, nb}):
            for bad in (b"\xff", b"\x00", b"\x97", b"\x98"):
                add("p1_broken", "bad_opcode_%s_at_op%d" % (bad.hex(), k),
                    join(toks[:k + 1]) + bad + join(toks[k + 1:]))
        add("p1_broken", "length_past_end", join(toks[:-1]) + b"X\xff\xff\x00\x00ab.")
        add("p1_broken", "empty", b"")
        add("p1_broken", "stop_only", b".")
        add("p1_broken", "get_never_put", join(toks[:-2] + [tok(b"h\xc8")] + toks[-2:]))
        add("p1_broken", "stack_underflow_pop", join(toks[:1] + [tok(b"0")] + toks[1:]))
        add("p1_broken", "pop_mark_without_mark", join(toks[:1] + [tok(b"1")] + toks[1:]))

        # -- EXT codes -------------------------------------------------------------------------
        for label, code in (("ext1", b"\x82\x01"), ("ext2", b"\x83\x01\x00"), ("ext4", b"\x84\x01\x00\x00\x00")):
            add("p9_ext", label + "_for_first_global",
                join(map_globals(toks, lambda m, q, code=code, seen=[]: code if not seen and not seen.append(1)
                                 else b"c%s\n%s\n" % (m.encode(), q.encode()))))
        add("p9_ext", "next_buffer_value",
            join(toks[:-1] + [tok(b"\x97")] + toks[-1:]))

    # -- Python 2 names and benign values inside sda's root dict ---------------------------------
    toks = tokens(A.pkl)
    for label, proto_b, value in (
            ("set_builtin_p2", b"\x80\x02", b"c__builtin__\nset\n]K\x01aK\x02a\x85R"),
            ("set_builtin_p3", b"\x80\x03", b"c__builtin__\nset\n]K\x01aK\x02a\x85R"),
            ("set_builtins_p2", b"\x80\x02", b"cbuiltins\nset\n]K\x01aK\x02a\x85R"),
            ("empty_set_op", b"\x80\x04", b"\x8f"),
            ("frozenset_op", b"\x80\x04", b"(K\x01K\x02\x91"),
            ("copy_reg_reconstructor_p2", b"\x80\x02",
             b"ccopy_reg\n_reconstructor\nccollections\nOrderedDict\nc__builtin__\ndict\nN\x87R"),
            ("userdict_p2", b"\x80\x02", b"cUserDict\nUserDict\n)R"),
            ("ordereddict_value_p0", b"\x80\x00", b"ccollections\nOrderedDict\n)R"),
            ("ordereddict_value_from_pairs", b"\x80\x02",
             b"ccollections\nOrderedDict\n]](" + U("k") + b"K\x05ea\x85R"),
            ("torch_size_value", b"\x80\x02", b"ctorch\nSize\nK\x02K\x03\x86\x85R"),
            ("dtype_value", b"\x80\x02", b"ctorch\nfloat32\n"),
            ("bool_values", b"\x80\x02", b"\x88\x89\x86"),
            ("long1_big", b"\x80\x02", b"\x8a\x09" + (1 << 70).to_bytes(9, "little", signed=True)),
            ("binfloat", b"\x80\x02", b"G" + struct.pack(">d", 1.5)),
            ("bytes_value_p3", b"\x80\x03", b"C\x03abc"),
            ("bytearray8_p5", b"\x80\x05", b"\x96\x03\x00\x00\x00\x00\x00\x00\x00abc"),
            ("nested_list", b"\x80\x02", b"](K\x01](K\x02K\x03ee\x85"),
            ("dict_dup_keys", b"\x80\x02", b"}(" + U("x") + b"K\x01" + U("x") + b"K\x02u"),
            ("dict_int_keys", b"\x80\x02", b"}(K\x01K\x02K\x03K\x04u"),
            ("get_of_tensor", b"\x80\x02", b"h\x0d"),
            ("empty_string_key_tuple", b"\x80\x02", b")"),
            ("setitem_single", b"\x80\x02", b"}" + U("k") + b"K\x07s"),
            ("dict_op", b"\x80\x02", b"(" + U("k") + b"K\x07d"),
            ("list_op", b"\x80\x02", b"(K\x01K\x02l"),
            ("inst_ordereddict", b"\x80\x02", b"(icollections\nOrderedDict\n"),
            ("obj_ordereddict", b"\x80\x02", b"(ccollections\nOrderedDict\no"),
            ("newobj_ordereddict", b"\x80\x02", b"ccollections\nOrderedDict\n)\x81"),
            ("newobj_ex_ordereddict", b"\x80\x04", b"ccollections\nOrderedDict\n)}\x92")):
        t2 = [tok(proto_b) if t[0] == "PROTO" else t for t in toks]
        V.add("p11_values", label, with_pickle(A, join(add_items(t2, U("extra") + value))))
    # dict with the same key twice in the root SETITEMS: last value wins, first position
    V.add("p_dict", "root_dup_key_w", with_pickle(A, join(add_items(toks, U("w") + b"K\x07"))))
    V.add("p_dict", "root_dup_key_w_get_tensor", with_pickle(A, join(add_items(toks, U("b") + b"h\x0d"))))
    # SETITEMS split into SETITEM
    V.add("p_dict", "root_via_setitem_pairs", with_pickle(A, A.pkl.replace(b"q\x01(", b"q\x01", 1)
                                                       .replace(b"q\x0dX", b"q\x0dsX", 1)
                                                       .replace(b"q\x16u.", b"q\x16s.", 1)))

    # -- semantic edits of the checkpoint (storages, locations, sizes) --------------------------
    pk = A.pkl

    def sem(label, old, new, count=1):
        if pk.count(old) < 1:
            raise AssertionError("pattern not in base pickle: %r" % old)
        V.add("p_semantic", label, with_pickle(A, pk.replace(old, new, count)))
    sem("storage_float_to_int", b"ctorch\nFloatStorage\n", b"ctorch\nIntStorage\n")
    sem("storage_float_to_double", b"ctorch\nFloatStorage\n", b"ctorch\nDoubleStorage\n")
    sem("storage_float_to_half", b"ctorch\nFloatStorage\n", b"ctorch\nHalfStorage\n")
    sem("storage_float_to_byte", b"ctorch\nFloatStorage\n", b"ctorch\nByteStorage\n")
    sem("storage_float_to_bool", b"ctorch\nFloatStorage\n", b"ctorch\nBoolStorage\n")
    sem("storage_float_to_bfloat16", b"ctorch\nFloatStorage\n", b"ctorch\nBFloat16Storage\n")
    sem("storage_float_to_complex", b"ctorch\nFloatStorage\n", b"ctorch\nComplexFloatStorage\n")
    sem("storage_float_to_qint8", b"ctorch\nFloatStorage\n", b"ctorch\nQInt8Storage\n")
    sem("storage_typed_storage", b"ctorch\nFloatStorage\n", b"ctorch.storage\nTypedStorage\n")
    sem("location_CPU", U("cpu"), U("CPU"))
    # 'cuda' and 'cuda:0' stay torch-refuses-brine-loads/unexplained on a machine without CUDA,
    # by decision (see ENVIRONMENT_DEPENDENT below and torch::restorable_location).
    sem("location_cuda", U("cpu"), U("cuda"))
    sem("location_cuda0", U("cpu"), U("cuda:0"))
    # torch restores 'meta' (a storage without data); brine refuses it (brine-refuses-torch-loads).
    sem("location_meta", U("cpu"), U("meta"))
    sem("location_cpu0", U("cpu"), U("cpu:0"))
    sem("location_empty", U("cpu"), U(""))
    sem("typename_Storage", U("storage"), U("Storage"))
    sem("typename_bytes", U("storage"), b"C\x07storage")
    sem("key_0_to_1", b"X\x01\x00\x00\x000q\x06", b"X\x01\x00\x00\x001q\x06")
    sem("key_0_to_00", b"X\x01\x00\x00\x000q\x06", b"X\x02\x00\x00\x0000q\x06")
    sem("key_0_to_7_missing", b"X\x01\x00\x00\x000q\x06", b"X\x01\x00\x00\x007q\x06")
    sem("key_0_as_int", b"X\x01\x00\x00\x000q\x06", b"K\x00q\x06")
    sem("numel_5", b"q\x07K\x06t", b"q\x07K\x05t")
    sem("numel_7", b"q\x07K\x06t", b"q\x07K\x07t")
    sem("numel_0", b"q\x07K\x06t", b"q\x07K\x00t")
    sem("numel_huge", b"q\x07K\x06t", b"q\x07J\xff\xff\xff\x7ft")
    sem("numel_negative", b"q\x07K\x06t", b"q\x07J\xff\xff\xff\xfft")
    sem("offset_1_shape_2x2", b"QK\x00K\x02K\x03\x86q\tK\x03K\x01\x86", b"QK\x01K\x02K\x02\x86q\tK\x03K\x01\x86")
    sem("offset_3_overruns", b"QK\x00K\x02K\x03\x86", b"QK\x03K\x02K\x03\x86")
    sem("offset_negative", b"QK\x00K\x02K\x03\x86", b"QJ\xff\xff\xff\xffK\x02K\x03\x86")
    sem("stride_transposed", b"q\tK\x03K\x01\x86", b"q\tK\x01K\x02\x86")
    sem("stride_zero", b"q\tK\x03K\x01\x86", b"q\tK\x00K\x00\x86")
    sem("stride_negative", b"q\tK\x03K\x01\x86", b"q\tK\x03J\xff\xff\xff\xff\x86")
    sem("stride_overrun", b"q\tK\x03K\x01\x86", b"q\tK\x04K\x01\x86")
    sem("size_zero", b"QK\x00K\x02K\x03\x86", b"QK\x00K\x00K\x03\x86")
    sem("size_negative", b"QK\x00K\x02K\x03\x86", b"QK\x00J\xfe\xff\xff\xffK\x03\x86")
    sem("size_3d", b"QK\x00K\x02K\x03\x86q\tK\x03K\x01\x86", b"QK\x00K\x01K\x02K\x03\x87q\tK\x06K\x03K\x01\x87")
    sem("size_stride_rank_mismatch", b"q\tK\x03K\x01\x86", b"q\tK\x01\x85")
    sem("size_as_list", b"QK\x00K\x02K\x03\x86", b"QK\x00](K\x02K\x03e")
    sem("size_as_torch_size", b"QK\x00K\x02K\x03\x86", b"QK\x00ctorch\nSize\nK\x02K\x03\x86\x85R")
    sem("requires_grad_true", b"\x86q\n\x89", b"\x86q\n\x88")
    sem("requires_grad_int1", b"\x86q\n\x89", b"\x86q\nK\x01")
    sem("backward_hooks_none", b"\x89h\x00)Rq\x0b", b"\x89N")
    sem("backward_hooks_dict", b"\x89h\x00)Rq\x0b", b"\x89}")
    sem("rebuild_extra_arg", b"Rq\x0btq\x0c", b"Rq\x0bNtq\x0c")
    sem("rebuild_missing_hooks", b"\x89h\x00)Rq\x0btq\x0c", b"\x89tq\x0c")
    sem("rebuild_v1", b"torch._utils\n_rebuild_tensor_v2\n", b"torch._utils\n_rebuild_tensor\n")
    sem("second_tensor_shares_first_storage",
        b"(h\x04ctorch\nDoubleStorage\nq\x0fX\x01\x00\x00\x001q\x10h\x07K\x02tq\x11Q",
        b"h\x08Q")
    # the storage key in other string forms; torch formats the record name as f"data/{key}", so a
    # bytes key b'0' names the record data/b'0' (the _shadow variants hold such a record, with other
    # values than data/0)
    pk3 = b"\x80\x03" + pk[2:]
    shadow = Entry(A.prefix + b"/data/b'0'", struct.pack("<6f", *[42.0 + k for k in range(6)]),
                   descriptor="sig", align=64)
    for label, keyop in (("short_binbytes", b"C\x010"), ("binbytes", b"B\x01\x00\x00\x000"),
                         ("short_binstring", b"U\x010"), ("binstring", b"T\x01\x00\x00\x000"),
                         ("string", b"S'0'\n"), ("unicode", b"V0\n"),
                         ("binunicode8", b"\x8d\x01" + b"\x00" * 7 + b"0")):
        p3 = pk3.replace(b"X\x01\x00\x00\x000q\x06", keyop + b"q\x06", 1)
        V.add("p_storage_key", label, with_pickle(A, p3))
        es = A.fresh()
        es.insert(len(es) - 1, shadow.copy())
        V.add("p_storage_key", label + "_shadow_record", with_pickle(A, p3, entries=es))
    V.add("p_storage_key", "location_bytes", with_pickle(A, pk3.replace(U("cpu"), b"C\x03cpu", 1)))
    V.add("p_semantic", "parameter_wrapping_done",
          with_pickle(A, pk.replace(b"X\x01\x00\x00\x00wq\x02", b"X\x01\x00\x00\x00wq\x02ctorch._utils\n"
                                    b"_rebuild_parameter\nq\xc8", 1)
                      .replace(b"Rq\rX", b"Rq\r\x88h\x00)R\x87q\xc9RX", 1)))
    V.add("p_semantic", "parameter_via_newobj",
          with_pickle(A, pk.replace(b"X\x01\x00\x00\x00wq\x02", b"X\x01\x00\x00\x00wq\x02ctorch.nn.parameter\n"
                                    b"Parameter\nq\xc8", 1)
                      .replace(b"Rq\rX", b"Rq\r\x88\x86\x81X", 1)))
    V.add("p_semantic", "ordereddict_build_metadata",
          with_pickle(A, pk[:-1] + b"}" + U("_metadata") + b"}" + U("") + b"}" + U("version") + b"K\x01sssb."))
    V.add("p_semantic", "ordereddict_build_slotstate",
          with_pickle(A, pk[:-1] + b"N}" + U("x") + b"K\x01s\x86b."))
    V.add("p_semantic", "root_list",
          with_pickle(A, pk[:-1] + b"0" + b"](h\rh\x16e."))
    V.add("p_semantic", "root_tuple_shared",
          with_pickle(A, pk[:-1] + b"0" + b"(h\rh\x16h\rt."))
    V.add("p_semantic", "root_is_first_tensor",
          with_pickle(A, pk[:-1] + b"0h\r."))


# ----------------------------------------------------------------------------------------------
# Loading and comparing
# ----------------------------------------------------------------------------------------------

class RefUnavailable(Exception):
    pass


def _global_protos(data):
    """([(written (module, name) or None, PROTO in force)] for each GLOBAL / INST / STACK_GLOBAL in
    stream order, complete, last PROTO): as far as pickletools can read the stream (it refuses some
    forms the C unpickler reads, e.g. STRING with non-ASCII escapes)."""
    out, proto = [], 0
    try:
        for op, arg, pos in pickletools.genops(io.BytesIO(data)):
            if op.name == "PROTO":
                proto = arg
            elif op.name in ("GLOBAL", "INST"):
                end1 = data.index(b"\n", pos + 1)
                end2 = data.index(b"\n", end1 + 1)
                out.append(((data[pos + 1:end1].decode("utf-8", "replace"),
                             data[end1 + 1:end2].decode("utf-8", "replace")), proto))
            elif op.name == "STACK_GLOBAL":
                out.append((None, proto))
    except Exception:  # noqa: BLE001  (the C unpickler may still read further; desync is caught)
        return out, False, proto
    return out, True, proto


def _extra_allowed():
    """What current torch releases' weights_only also allows (and brine's torch_weights_only policy
    lists), as far as this torch has it: bytes/bytearray/set/complex helpers, Counter, device,
    every dtype and quantization scheme."""
    import _codecs
    extra = [_codecs.encode, bytearray, complex, set, collections.Counter, torch.device]
    for name in dir(torch):
        obj = getattr(torch, name, None)
        if isinstance(obj, (torch.dtype, torch.qscheme)):
            extra.append(obj)
    return extra


def reference_load(path):
    """torch.load's zip path with CPython's C unpickler restricted to the weights-only globals."""
    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":
            raise RefUnavailable("not a zip for torch.load (legacy path)")
    reader = torch._C.PyTorchFileReader(path)
    if "constants.pkl" in reader.get_all_records():
        raise RefUnavailable("TorchScript archive")
    data = reader.get_record("data.pkl")
    allowed = torch._weights_only_unpickler._get_allowed_globals()
    allowed_ids = {id(v) for v in allowed.values()} | {id(v) for v in _extra_allowed()}
    seq, complete, last_proto = _global_protos(data)
    loaded = {}

    class Ref(pickle.Unpickler):
        def find_class(self, module, name):
            if seq:
                written, proto = seq.pop(0)
            elif not complete:
                written, proto = None, last_proto
            else:
                raise RefUnavailable("global beyond what pickletools read")
            if written is not None and written != (module, name):
                raise RefUnavailable("global sequence out of step")
            # torch.serialization._load's UnpicklerWrapper
            if type(name) is str and "Storage" in name:
                try:
                    return torch.serialization.StorageType(name)
                except KeyError:
                    pass
            module = {"torch.tensor": "torch._tensor"}.get(module, module)
            # _pickle.Unpickler.find_class
            if proto < 3:
                module, name = map_py2(module, name)
            mod = sys.modules.get(module)
            if mod is None:
                raise pickle.UnpicklingError("ref: module %s not imported (refused)" % module)
            obj = mod
            for part in (name.split(".") if proto >= 4 else [name]):
                obj = getattr(obj, part)
            if id(obj) not in allowed_ids:
                raise pickle.UnpicklingError("ref: %s.%s not allowed" % (module, name))
            return obj

        def persistent_load(self, saved_id):
            assert isinstance(saved_id, tuple)
            typename = torch.serialization._maybe_decode_ascii(saved_id[0])
            assert typename == "storage"
            storage_type, key, location, numel = saved_id[1:]
            dtype = torch.uint8 if storage_type is torch.UntypedStorage else storage_type.dtype
            if key not in loaded:
                nbytes = numel * torch._utils._element_size(dtype)
                st = reader.get_storage_from_record("data/%s" % key, nbytes, torch.UntypedStorage)
                st = st.storage().untyped()
                loc = torch.serialization._maybe_decode_ascii(location)
                loaded[key] = torch.storage.TypedStorage(
                    wrap_storage=torch.serialization.default_restore_location(st, loc), dtype=dtype)
            return loaded[key]

    result = Ref(io.BytesIO(data), encoding="utf-8").load()
    torch._utils._validate_loaded_sparse_tensors()
    return result


def _bytes_of(t):
    if t.numel() == 0:
        return b""
    return bytes(t.detach().contiguous().reshape(-1).view(torch.uint8).numpy())


def _storage_bytes(t):
    u = t.storage().untyped()
    return bytes(torch.empty(0, dtype=torch.uint8).set_(u).numpy()) if u.nbytes() else b""


def compare(a, b):
    """[differences] between two loaded objects (empty when equal)."""
    diffs = []
    ids_a, ids_b, st_a, st_b = [], [], [], []

    def walk(x, y, path):
        if len(diffs) > 8:
            return
        if type(x) is not type(y):
            diffs.append("%s: type %s vs %s" % (path, type(x).__name__, type(y).__name__))
            return
        if isinstance(x, (torch.Tensor, list, dict, tuple)):
            ids_a.append(id(x))
            ids_b.append(id(y))
        if isinstance(x, torch.Tensor):
            for attr in ("dtype", "layout", "device", "requires_grad"):
                if getattr(x, attr) != getattr(y, attr):
                    diffs.append("%s: %s %s vs %s" % (path, attr, getattr(x, attr), getattr(y, attr)))
                    return
            if tuple(x.shape) != tuple(y.shape) or x.stride() != y.stride() \
                    or x.storage_offset() != y.storage_offset():
                diffs.append("%s: shape/stride/offset %s %s %d vs %s %s %d" % (
                    path, tuple(x.shape), x.stride(), x.storage_offset(), tuple(y.shape), y.stride(),
                    y.storage_offset()))
                return
            if x.device.type != "cpu":
                return
            if _bytes_of(x) != _bytes_of(y):
                diffs.append("%s: values differ" % path)
                return
            if x.dtype.is_floating_point or x.dtype == torch.bool:
                pass
            elif not torch.equal(x, y):
                diffs.append("%s: torch.equal false" % path)
            if _storage_bytes(x) != _storage_bytes(y):
                diffs.append("%s: storage bytes differ (%d vs %d bytes)" % (
                    path, x.storage().untyped().nbytes(), y.storage().untyped().nbytes()))
            st_a.append(x.storage().untyped().data_ptr())
            st_b.append(y.storage().untyped().data_ptr())
            return
        if isinstance(x, dict):
            if list(x.keys()) != list(y.keys()):
                diffs.append("%s: keys %r vs %r" % (path, list(x.keys())[:8], list(y.keys())[:8]))
                return
            for k in x:
                walk(x[k], y[k], "%s[%r]" % (path, k))
            if getattr(x, "__dict__", {}) != getattr(y, "__dict__", {}):
                da, db = getattr(x, "__dict__", {}), getattr(y, "__dict__", {})
                if set(da) != set(db):
                    diffs.append("%s: attributes %s vs %s" % (path, sorted(da), sorted(db)))
                else:
                    for k in da:
                        walk(da[k], db[k], "%s.%s" % (path, k))
            return
        if isinstance(x, (list, tuple)):
            if len(x) != len(y):
                diffs.append("%s: length %d vs %d" % (path, len(x), len(y)))
                return
            for k, (u, v) in enumerate(zip(x, y)):
                walk(u, v, "%s[%d]" % (path, k))
            return
        if isinstance(x, float):
            if struct.pack("<d", x) != struct.pack("<d", y):
                diffs.append("%s: %r vs %r" % (path, x, y))
            return
        if isinstance(x, (set, frozenset)):
            if x != y:
                diffs.append("%s: %r vs %r" % (path, x, y))
            return
        try:
            same = x == y
            same = bool(same)
        except Exception:  # noqa: BLE001
            same = repr(x) == repr(y)
        if not same:
            diffs.append("%s: %r vs %r" % (path, x, y))

    walk(a, b, "root")

    def partition(ids):
        first = {}
        return [first.setdefault(i, k) for k, i in enumerate(ids)]
    if not diffs and partition(ids_a) != partition(ids_b):
        diffs.append("object sharing differs")
    if not diffs and partition(st_a) != partition(st_b):
        diffs.append("storage sharing differs")
    return diffs


def ref_try(path):
    try:
        return True, reference_load(path)
    except Exception as e:  # noqa: BLE001
        return False, short_exc(e)


def short_exc(e):
    text = "%s: %s" % (type(e).__name__, e)
    text = text.replace("Weights only load failed. Re-running `torch.load` with `weights_only` set to "
                        "`False` will likely succeed, but it can result in arbitrary code execution."
                        "Do it only if you get the file from a trusted source. WeightsUnpickler error: ",
                        "weights-only: ")
    text = " ".join(text.split())
    return text if len(text) <= 160 else text[:157] + "..."


def torch_load(path):
    try:
        return True, torch.load(path, weights_only=True)
    except Exception as e:  # noqa: BLE001
        return False, short_exc(e)


# ----------------------------------------------------------------------------------------------
# Driver
# ----------------------------------------------------------------------------------------------

# Variants left in torch-refuses-brine-loads/unexplained on purpose, with the reason (printed
# with them). Each depends on the machine torch runs on, not on the file alone:
#   location_cuda, location_cuda0: a storage tagged 'cuda' / 'cuda:0'. torch 1.13's
#     _cuda_deserialize refuses it only because torch.cuda.is_available() is False here; with a
#     GPU (or any map_location) torch loads it. brine keeps the location in its output
#     (torch::restorable_location), so the disarmed file loads exactly where the original does,
#     with the same bytes; refusing would reject every checkpoint saved from a GPU.
ENVIRONMENT_DEPENDENT = {
    "p_semantic.location_cuda": "needs CUDA in torch (or map_location); brine keeps the location",
    "p_semantic.location_cuda0": "needs CUDA in torch (or map_location); brine keeps the location",
}

CATEGORIES = ("agree-load", "agree-refuse", "brine-refuses-torch-loads",
              "torch-refuses-brine-loads/justified", "torch-refuses-brine-loads/unexplained",
              "mismatch")


def run_brine(brine, src, out, timeout):
    try:
        run = subprocess.run([brine, "disarm", "--json", src, out], capture_output=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "timeout"
    text = run.stdout.decode("utf-8", "replace").strip()
    detail = text
    try:
        j = json.loads(text.splitlines()[-1])
        if j.get("status") == "error":
            err = j.get("error", {})
            detail = "%s @%s%s" % (err.get("code"), err.get("offset"),
                                   " entry %s" % err["entry"] if err.get("entry") else "")
        else:
            fs = j.get("findings", [])
            detail = "%s, %d findings%s" % (j.get("status"), len(fs), (": " + "; ".join(
                "%s %s.%s %s" % (f.get("opcode", ""), f.get("module", ""), f.get("name", ""),
                                 f.get("reason", "")) for f in fs[:3])) if fs else "")
    except (ValueError, IndexError):
        detail = (text or run.stderr.decode("utf-8", "replace")).strip()[-200:]
    return run.returncode, detail


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("brine", help="the brine executable")
    ap.add_argument("scratch", nargs="?", help="directory for the variants (default: a temp dir, "
                    "removed afterwards); recreated")
    ap.add_argument("--jobs", type=int, default=2, help="brine processes in parallel (default 2)")
    ap.add_argument("--only", nargs="+", metavar="TEXT", help="only variants whose name contains TEXT")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--verbose", "-v", action="store_true", help="one line per variant")
    ap.add_argument("--timeout", type=float, default=60)
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    if not (os.path.isfile(args.brine) and os.access(args.brine, os.X_OK)):
        print("usage error: not an executable: %s" % args.brine, file=sys.stderr)
        return 2
    start = time.time()
    if args.scratch:
        tmp = os.path.abspath(args.scratch)
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
    else:
        tmp = tempfile.mkdtemp(prefix="brine_differential_")
    try:
        return run(args, tmp, start)
    finally:
        if not args.scratch and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        elif args.keep:
            print("variants kept in " + tmp)


def run(args, tmp, start):
    basedir = os.path.join(tmp, "bases")
    os.makedirs(basedir)
    bases = {k: Base(v) for k, v in make_bases(basedir).items()}
    V = Variants()
    zip_variants(V, bases)
    pickle_variants(V, bases)
    items = [v for v in V.items if not args.only or any(t in v[1] for t in args.only)]
    vdir, odir = os.path.join(tmp, "in"), os.path.join(tmp, "out")
    os.makedirs(vdir)
    os.makedirs(odir)
    paths = []
    for family, name, data in items:
        p = os.path.join(vdir, name + ".pt")
        with open(p, "wb") as f:
            f.write(data)
        paths.append(p)
    print("%d variants in %d families (generated in %.1f s)" % (
        len(items), len({f for f, _, _ in items}), time.time() - start))

    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {pool.submit(run_brine, args.brine, p, os.path.join(odir, os.path.basename(p)),
                               args.timeout): k for k, p in enumerate(paths)}
        torch_results = [torch_load(p) for p in paths]   # in-process while brine runs
        for fut in concurrent.futures.as_completed(futures):
            results[futures[fut]] = fut.result()

    counts = collections.Counter()
    per_family = collections.defaultdict(collections.Counter)
    notes = collections.defaultdict(list)
    for k, (family, name, _) in enumerate(items):
        t_ok, t_val = torch_results[k]
        code, detail = results[k]
        out = os.path.join(odir, os.path.basename(paths[k]))
        exists = os.path.exists(out)
        line = None
        if code not in (0, 1, 2) or (code == 2 and exists) or (code in (0, 1) and not exists):
            cat = "mismatch"
            line = "brine exit %s, output %s: %s" % (code, "exists" if exists else "missing", detail)
        elif code == 2:
            if t_ok:
                cat = "brine-refuses-torch-loads"
                line = "brine: %s" % detail
            else:
                cat = "agree-refuse"
                line = "torch: %s | brine: %s" % (t_val, detail)
        else:
            o_ok, o_val = torch_load(out)
            o_how = "torch.load"
            if not o_ok:
                # torch 1.13's weights-only unpickler cannot read some forms brine writes (PROTO 3
                # bytes, sets, BINFLOAT...): read brine's output with the reference loader instead
                o_err = o_val
                o_ok, o_val = ref_try(out)
                o_how = "reference (torch.load: %s)" % o_err
            if t_ok:
                if not o_ok:
                    cat = "mismatch"
                    line = "torch loaded; brine exit %d wrote an output no loader reads: %s" % (code, o_how)
                else:
                    diffs = compare(t_val, o_val)
                    if not diffs:
                        cat = "agree-load"
                        line = "brine exit %d: %s" % (code, detail) if code == 1 else None
                    elif code == 1:
                        cat = "brine-refuses-torch-loads"
                        line = "brine exit 1 (%s); output differs: %s" % (detail, "; ".join(diffs[:3]))
                    else:
                        cat = "mismatch"
                        line = "torch and brine's output (via %s) differ: %s" % (o_how, "; ".join(diffs[:4]))
            else:
                r_ok, r_val = ref_try(paths[k])
                if code == 1 and r_ok and not o_ok:
                    cat = "mismatch"
                    line = "torch: %s | reference loaded; brine exit 1 (%s) wrote an output no loader reads: %s" % (
                        t_val, detail, o_how)
                elif code == 1:
                    cat = "agree-refuse"
                    if r_ok and o_ok:
                        diffs = compare(r_val, o_val)
                        ref = "reference equal" if not diffs else "reference differs: " + "; ".join(diffs[:3])
                    else:
                        ref = "reference: %s" % (r_val if not r_ok else "loaded; output not readable")
                    line = "torch: %s | brine exit 1 (%s) | %s" % (t_val, detail, ref)
                elif not r_ok:
                    cat = "torch-refuses-brine-loads/unexplained"
                    line = "torch: %s | reference: %s | brine's output %s" % (
                        t_val, r_val, "loads (%s)" % o_how.split(" (")[0] if o_ok else "does not load: " + o_how)
                    if name in ENVIRONMENT_DEPENDENT:
                        line = "JUSTIFIED (environment): %s | %s" % (ENVIRONMENT_DEPENDENT[name], line)
                elif not o_ok:
                    cat = "mismatch"
                    line = "torch: %s | reference loaded; brine's output does not load: %s" % (t_val, o_how)
                else:
                    diffs = compare(r_val, o_val)
                    if diffs:
                        cat = "mismatch"
                        line = "torch: %s | reference loaded; brine's output differs: %s" % (
                            t_val, "; ".join(diffs[:4]))
                    else:
                        cat = "torch-refuses-brine-loads/justified"
                        line = "torch: %s | reference equal%s" % (
                            t_val, "" if o_how == "torch.load" else " (output read by the reference)")
        counts[cat] += 1
        per_family[family][cat] += 1
        if line:
            notes[cat].append("%s: %s" % (name, line))
        if args.verbose:
            print("%-40s %-22s %s" % (cat, name, line or ""))

    print("\nvariants per family:")
    for family in sorted(per_family):
        c = per_family[family]
        print("  %-16s %4d   %s" % (family, sum(c.values()), ", ".join(
            "%s %d" % (k, c[k]) for k in CATEGORIES if c[k])))
    for cat in ("mismatch", "torch-refuses-brine-loads/unexplained",
                "torch-refuses-brine-loads/justified", "brine-refuses-torch-loads"):
        if notes[cat]:
            print("\n%s (%d):" % (cat, len(notes[cat])))
            for n in notes[cat]:
                print("  " + n)
    print("\ntotals (%d variants, %.1f s):" % (len(items), time.time() - start))
    for cat in CATEGORIES:
        print("  %-40s %4d" % (cat, counts[cat]))
    if counts["mismatch"]:
        print("FAILED: %d mismatches" % counts["mismatch"])
        return 1
    print("OK: no mismatch")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
