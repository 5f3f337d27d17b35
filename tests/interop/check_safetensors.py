#!/usr/bin/python3
"""Checks a .safetensors file brine wrote against the checkpoint it was converted from.

    check_safetensors.py [--trusted-original] ORIGINAL CONVERTED.safetensors

The converted file is read here from the format description alone (the standard library and
torch only; no safetensors package): an 8-byte little-endian header length, a JSON header, the
data area. Every rule of the format is checked (header inside the file and starting with '{',
padding of spaces only, unique keys, integers only, a dtype the format defines, end - begin equal
to the element count times the item size, tensors covering the data area without overlap, gap or
trailing bytes), plus what brine's writer promises on top (data area 8-byte aligned, each tensor
at a multiple of its item size).

The original is loaded with torch.load(weights_only=True) and its tensors are named the way brine
names them: dotted paths from the root through dict keys (str keys as they are, int keys in
decimal, any other key as '?') and list/tuple indices; an object reached twice keeps its first
name. Every dense tensor of a dtype the format can hold must be in the converted file under that
name, with the same dtype and shape and bit-identical bytes (C order); nothing else may be. The
others (sparse, quantized, meta, complex) must be absent. A "source_sha256" metadata value must be
the SHA-256 of the original.

torch 1.13's weights-only unpickler cannot read some valid checkpoints (protocol 4 and 5 framing,
Python floats, quantized tensors). --trusted-original then loads the original with the full
unpickler instead: only for files known to be harmless, such as brine's own benign fixtures.

Exit status: 0 when everything agrees, 1 on a mismatch (each printed), 2 on a usage error or an
original that cannot be loaded.
"""

import hashlib
import json
import pickle
import struct
import sys

import torch

# name -> (item size, torch dtype or None when torch 1.13 has no such dtype)
DTYPES = {
    "F64": (8, torch.float64),
    "F32": (4, torch.float32),
    "F16": (2, torch.float16),
    "BF16": (2, torch.bfloat16),
    "I64": (8, torch.int64),
    "I32": (4, torch.int32),
    "I16": (2, torch.int16),
    "I8": (1, torch.int8),
    "U8": (1, torch.uint8),
    "BOOL": (1, torch.bool),
    "U64": (8, None),
    "U32": (4, None),
    "U16": (2, None),
    "F8_E5M2": (1, None),
    "F8_E4M3": (1, None),
}
NAME_OF_TORCH_DTYPE = {dt: name for name, (_, dt) in DTYPES.items() if dt is not None}
MAX_HEADER = 100_000_000


class Refused(Exception):
    pass


def unique_pairs(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise Refused("duplicate JSON key %r" % key)
        out[key] = value
    return out


def no_floats(text):
    raise Refused("a non-integer number in the header: %s" % text)


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def read_safetensors(path):
    """The header (name -> entry), the metadata, and name -> raw bytes, or Refused."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise Refused("shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or n > len(data) - 8:
        raise Refused("header length %d beyond the limit or the file" % n)
    raw = data[8:8 + n]
    if not raw.startswith(b"{"):
        raise Refused("header does not start with '{'")
    body = raw.rstrip(b" ")
    if not body.endswith(b"}"):
        raise Refused("header padding other than spaces, or trailing bytes after the JSON object")
    header = json.loads(body.decode("utf-8", errors="strict"), object_pairs_hook=unique_pairs,
                        parse_float=no_floats, parse_constant=no_floats)
    if not isinstance(header, dict):
        raise Refused("header is not a JSON object")
    data_start = 8 + n
    data_size = len(data) - data_start
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise Refused("__metadata__ is not an object of strings")
    spans = []
    tensors = {}
    for name, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise Refused("entry %r is not {dtype, shape, data_offsets}" % name)
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in DTYPES:
            raise Refused("entry %r: unknown dtype %r" % (name, dtype))
        if not isinstance(shape, list) or not all(is_int(d) and d >= 0 for d in shape):
            raise Refused("entry %r: shape is not a list of non-negative integers" % name)
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(is_int(o) and o >= 0 for o in offsets)):
            raise Refused("entry %r: data_offsets is not two non-negative integers" % name)
        begin, end = offsets
        count = 1
        for d in shape:
            count *= d
        item = DTYPES[dtype][0]
        if begin > end or end > data_size or end - begin != count * item:
            raise Refused("entry %r: data_offsets %r disagree with the shape or the file" % (name, offsets))
        # What brine's writer promises beyond the format.
        if begin % item != 0:
            raise Refused("entry %r: data not aligned to its item size" % name)
        spans.append((begin, end, name))
        tensors[name] = (dtype, shape, data[data_start + begin:data_start + end])
    covered = 0
    for begin, end, name in sorted(spans):
        if begin != covered:
            raise Refused("data of %r starts at %d, not where the previous tensor ended (%d)" % (name, begin, covered))
        covered = end
    if covered != data_size:
        raise Refused("%d bytes after the last tensor's data" % (data_size - covered))
    if data_start % 8 != 0:
        raise Refused("data area at %d, not 8-byte aligned" % data_start)
    return tensors, metadata


def key_text(key):
    if isinstance(key, str):
        return key
    if is_int(key):
        return str(key)
    return "?"


def named_tensors(root):
    """(name, tensor) in brine's order and naming; an object reached twice keeps its first name."""
    out = []
    seen = set()

    def join(prefix, part):
        return part if prefix == "" else prefix + "." + part

    def walk(obj, name):
        if isinstance(obj, (torch.Tensor, dict, list, tuple)):
            if id(obj) in seen:
                return
            seen.add(id(obj))
        if isinstance(obj, torch.Tensor):
            out.append((name, obj))
        elif isinstance(obj, dict):
            for key, value in obj.items():
                walk(value, join(name, key_text(key)))
        elif isinstance(obj, (list, tuple)):
            for i, value in enumerate(obj):
                walk(value, join(name, str(i)))

    walk(root, "")
    return out


def why_not_writable(t):
    if t.layout != torch.strided:
        return "sparse"
    if t.is_quantized:
        return "quantized"
    if t.device.type == "meta":
        return "meta"
    if t.is_complex():
        return "complex"
    return None


def c_order_bytes(t):
    flat = t.detach().contiguous().reshape(-1)
    if flat.dtype != torch.uint8:
        flat = flat.view(torch.uint8)
    return flat.numpy().tobytes()


def main(argv):
    args = argv[1:]
    trusted = "--trusted-original" in args
    args = [a for a in args if a != "--trusted-original"]
    if len(args) != 2:
        print("usage: " + __doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    original, converted = args
    problems = []
    try:
        tensors, metadata = read_safetensors(converted)
    except (Refused, ValueError, UnicodeDecodeError) as e:  # json errors are ValueErrors
        print("%s: not a valid safetensors file: %s" % (converted, e))
        return 1
    with open(original, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if "source_sha256" in metadata and metadata["source_sha256"] != digest:
        problems.append("source_sha256 %s is not the original's %s" % (metadata["source_sha256"], digest))

    try:
        loaded = torch.load(original, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if not trusted:
            print("%s: torch.load(weights_only=True) cannot read it (%s); pass --trusted-original for a "
                  "file known to be harmless" % (original, str(e).splitlines()[-1]), file=sys.stderr)
            return 2
        try:
            loaded = torch.load(original, map_location="cpu", weights_only=False)
        except Exception as e:  # torch itself cannot read it: nothing to compare against
            print("%s: torch.load cannot read it (%s: %s)" % (original, type(e).__name__, e), file=sys.stderr)
            return 2
    expected = {}
    skipped = {}
    for name, t in named_tensors(loaded):
        reason = why_not_writable(t)
        if reason:
            skipped[name] = reason
        else:
            expected[name] = t

    for name, t in expected.items():
        if name not in tensors:
            problems.append("%r (%s, %s) is missing" % (name, t.dtype, list(t.shape)))
            continue
        dtype, shape, raw = tensors[name]
        if NAME_OF_TORCH_DTYPE.get(t.dtype) != dtype:
            problems.append("%r: dtype %s, torch has %s" % (name, dtype, t.dtype))
        if shape != list(t.shape):
            problems.append("%r: shape %r, torch has %r" % (name, shape, list(t.shape)))
        elif raw != c_order_bytes(t):
            problems.append("%r: bytes differ from torch's" % name)
    for name in tensors:
        if name not in expected:
            what = "a %s tensor, which the format cannot hold" % skipped[name] if name in skipped else "not in the original"
            problems.append("%r is in the converted file but is %s" % (name, what))

    for p in problems:
        print("%s: %s" % (converted, p))
    if problems:
        return 1
    print("%s: %d tensors bit-identical to %s (%d left out: %s)" % (
        converted, len(expected), original, len(skipped),
        ", ".join(sorted(set(skipped.values()))) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
