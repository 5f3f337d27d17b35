#!/usr/bin/python3
"""What real torch builds when a checkpoint sets state on a tensor after its rebuild call
(THREATS.md W6), checked against what brine claims (include/brine/torch/find_tensors.hpp).

    check_tensor_state.py [--brine PATH/TO/brine] [--keep DIR]

Each variant is a torch zip checkpoint {'t': <tensor>} written here, by hand, into a fresh
temporary directory: its pickle calls only torch's own rebuild functions on two float32 storages,
'0' = [1, 2, 3, 4] (the tensor the rebuild call describes: shape (4,), stride (1,)) and
'1' = [9, 8] (another tensor a state can put in its place). Only these files are ever loaded, each
with torch.load(weights_only=True) and torch.load(weights_only=False), and the script prints
what torch built (or the exception it raised).

brine's claim for each variant is either
  same     brine reports the tensor of the rebuild call; torch must build exactly that tensor
           (type, dtype, shape, stride, offset, values, requires_grad, backward hooks) in every
           mode that loads the file at all;
  refused  brine refuses the file (with --brine: `brine scan` exits 1, a finding, or 2, an
           error); some torch (1.13 or 2.x), in some mode, must build a tensor other than the one
           the rebuild call describes, or every torch must refuse the file in every mode.
What torch 1.13 and 2.x build is recorded with each variant (VARIANTS); the running torch's
outcomes are checked against its record, and each claim against both records.
With --brine the CLI's verdict is checked too: for `same`, `brine scan` exits 0 and `brine info`
reports exactly the rebuild call's tensor; for `refused`, `brine scan` exits 1 or 2.

Torch's behaviour (torch 1.13 and 2.x, torch/_tensor.py, torch/_utils.py,
torch/_weights_only_unpickler.py):
  BUILD on a tensor: the full unpickler calls Tensor.__setstate__(state): a 4-sequence is
    set_(*state) (another storage, offset, shape, stride), a 5-sequence sets .data = state[0]
    (the legacy Variable form) and then requires_grad, a 3-sequence sets requires_grad and
    _backward_hooks. The weights-only unpickler calls inst.set_(*state) on a plain Tensor
    whatever the state's length (an empty dict: set_() empties the tensor; a 1-tuple
    (other,): the tensor becomes a view of other's storage), and __setstate__ on a Parameter.
  _rebuild_from_type_v2(func, new_type, args, state): 1.13 ignores the state when new_type is
    torch.Tensor, else sets every attribute of it; 2.x always does (_set_obj_state: a dict, or a
    (dict, slots) pair, each entry setattr'd: 'data' replaces the tensor's data). torch 1.13's
    weights-only unpickler refuses the function.
  _rebuild_parameter_with_state(data, requires_grad, hooks, state): torch >= 2.0 only, the same
    _set_obj_state; torch.save writes it only when the Parameter has attributes.
Exit status 0 when every claim holds, 1 otherwise. Run with Debian's /usr/bin/python3 (torch
1.13); it also runs under torch 2.x.
"""

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile

import torch

# ---- pickle opcodes (protocol 2), written by hand ----------------------------------------------


def text(s):
    data = s.encode("utf-8")
    return b"X" + struct.pack("<I", len(data)) + data


def integer(v):
    return b"J" + struct.pack("<i", v)


def ints(values):
    return b"(" + b"".join(integer(v) for v in values) + b"t"


def glob(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def call(callable_op, *args):
    return callable_op + b"(" + b"".join(args) + b"tR"


FALSE, TRUE, NONE, EMPTY_DICT, BUILD = b"\x89", b"\x88", b"N", b"}", b"b"
ORDERED_DICT = call(glob("collections", "OrderedDict"))
TENSOR_TYPE = glob("torch", "Tensor")
PARAMETER_TYPE = glob("torch.nn.parameter", "Parameter")


def storage(key, numel):
    return b"(" + text("storage") + glob("torch", "FloatStorage") + text(key) + text("cpu") + integer(numel) + b"tQ"


def v2_args(key, numel, size, requires_grad=FALSE):
    return storage(key, numel) + integer(0) + ints(size) + ints([1] * len(size)) + requires_grad + ORDERED_DICT


def rebuild_v2(key="0", numel=4, size=(4,)):
    return call(glob("torch._utils", "_rebuild_tensor_v2"), v2_args(key, numel, size))


T = rebuild_v2()                         # the tensor the rebuild call describes: [1, 2, 3, 4]
ANOTHER = rebuild_v2("1", 2, (2,))       # another tensor: [9, 8]


def dict_of(*pairs):
    return EMPTY_DICT + b"".join(text(k) + v + b"s" for k, v in pairs)


def parameter(tensor, requires_grad=FALSE):
    return call(glob("torch._utils", "_rebuild_parameter"), tensor, requires_grad, ORDERED_DICT)


def from_type(state, new_type=TENSOR_TYPE):
    return call(glob("torch._tensor", "_rebuild_from_type_v2"), glob("torch._utils", "_rebuild_tensor_v2"), new_type,
                b"(" + v2_args("0", 4, (4,)) + b"t", state)


def with_state(state):
    return call(glob("torch._utils", "_rebuild_parameter_with_state"), T, FALSE, ORDERED_DICT, state)


def build(target, state):
    return target + state + BUILD


# What torch builds in each mode (weights_only=True, weights_only=False), as observed with torch
# 1.13 (Debian's python3-torch) and 2.13: "same" the rebuild call's tensor, "other" another tensor
# (other storage, shape, values, requires_grad or hooks), "fails" nothing (torch raises).
SAME, OTHER, FAILS = "same", "other", "fails"
VARIABLE_STATE = b"(" + ANOTHER + NONE + ORDERED_DICT + FALSE + NONE + b"t"  # (data, _, hooks, requires_grad, _)

# (name, tensor pickle, is the rebuild call's tensor a Parameter, brine's claim,
#  torch 1.13's outcomes, torch 2.x's outcomes)
VARIANTS = [
    ("plain tensor (baseline)", T, False, "same", (SAME, SAME), (SAME, SAME)),
    ("plain Parameter (baseline)", parameter(T), True, "same", (SAME, SAME), (SAME, SAME)),
    # (a) BUILD on a tensor or Parameter: Tensor.__setstate__ (full unpickler) or set_(*state)
    ("BUILD 4-tuple (storage, offset, size, stride)",
     build(T, b"(" + storage("1", 2) + integer(0) + ints([2]) + ints([1]) + b"t"), False, "refused",
     (OTHER, OTHER), (OTHER, OTHER)),
    ("BUILD 5-tuple (data, _, hooks, requires_grad, _)", build(T, VARIABLE_STATE), False, "refused",
     (FAILS, OTHER), (FAILS, OTHER)),
    ("BUILD 5-tuple on a Parameter", build(parameter(T), VARIABLE_STATE), True, "refused",
     (OTHER, OTHER), (OTHER, OTHER)),
    ("BUILD 3-tuple (requires_grad, _, hooks) on a Parameter", build(parameter(T), b"(" + TRUE + NONE + ORDERED_DICT + b"t"),
     True, "refused", (OTHER, OTHER), (OTHER, OTHER)),
    ("BUILD 1-tuple (other tensor,)", build(T, b"(" + ANOTHER + b"t"), False, "refused", (OTHER, FAILS), (OTHER, FAILS)),
    ("BUILD {} (empty dict)", build(T, EMPTY_DICT), False, "refused", (OTHER, FAILS), (OTHER, FAILS)),
    ("BUILD {'data': other}", build(T, dict_of(("data", ANOTHER))), False, "refused", (FAILS, FAILS), (FAILS, FAILS)),
    # (b) _rebuild_from_type_v2 with a state (torch 1.13's weights-only unpickler refuses the function)
    ("from_type_v2 Tensor, state None", from_type(NONE), False, "same", (FAILS, SAME), (SAME, SAME)),
    ("from_type_v2 Tensor, state {}", from_type(EMPTY_DICT), False, "same", (FAILS, SAME), (SAME, SAME)),
    ("from_type_v2 Tensor, state OrderedDict()", from_type(ORDERED_DICT), False, "same", (FAILS, SAME), (SAME, SAME)),
    ("from_type_v2 Tensor, state (None, {})", from_type(b"(" + NONE + EMPTY_DICT + b"t"), False, "same",
     (FAILS, SAME), (SAME, SAME)),
    ("from_type_v2 Tensor, state {'data': other}", from_type(dict_of(("data", ANOTHER))), False, "refused",
     (FAILS, SAME), (OTHER, OTHER)),
    ("from_type_v2 Tensor, state (None, {'data': other})", from_type(b"(" + NONE + dict_of(("data", ANOTHER)) + b"t"),
     False, "refused", (FAILS, SAME), (OTHER, OTHER)),
    ("from_type_v2 Tensor, state {'requires_grad': True}", from_type(dict_of(("requires_grad", TRUE))), False, "refused",
     (FAILS, SAME), (OTHER, OTHER)),
    ("from_type_v2 Tensor, state {'_backward_hooks': {0: 1}}",
     from_type(dict_of(("_backward_hooks", EMPTY_DICT + integer(0) + integer(1) + b"s"))), False, "refused",
     (FAILS, SAME), (OTHER, OTHER)),
    ("from_type_v2 Parameter, state {}", from_type(EMPTY_DICT, PARAMETER_TYPE), True, "same", (FAILS, SAME), (SAME, SAME)),
    ("from_type_v2 Parameter, state {'data': other}", from_type(dict_of(("data", ANOTHER)), PARAMETER_TYPE), True,
     "refused", (FAILS, OTHER), (OTHER, OTHER)),
    # (c) _rebuild_parameter_with_state (torch >= 2.0; 1.13 has no such function)
    ("parameter_with_state, state {}", with_state(EMPTY_DICT), True, "same", (FAILS, FAILS), (SAME, SAME)),
    ("parameter_with_state, state None", with_state(NONE), True, "same", (FAILS, FAILS), (SAME, SAME)),
    ("parameter_with_state, state {'data': other}", with_state(dict_of(("data", ANOTHER))), True, "refused",
     (FAILS, FAILS), (OTHER, OTHER)),
    ("parameter_with_state, state {'requires_grad': True}", with_state(dict_of(("requires_grad", TRUE))), True,
     "refused", (FAILS, FAILS), (OTHER, OTHER)),
]


def claim_is_sound(claim, outcomes):
    """`same` only where no torch builds another tensor; `refused` only where some torch does, or
    where every torch fails (nothing loadable is lost)."""
    if claim == "same":
        return OTHER not in outcomes
    return OTHER in outcomes or all(o == FAILS for o in outcomes)


def checkpoint(path, tensor_pickle):
    """A torch zip checkpoint {'t': tensor} with storage '0' = [1, 2, 3, 4] and, when the pickle
    uses it, '1' = [9, 8] (a record nothing uses would be a finding of its own)."""
    pickle = b"\x80\x02" + EMPTY_DICT + text("t") + tensor_pickle + b"s."
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/data/0", struct.pack("<4f", 1, 2, 3, 4))
        if storage("1", 2) in tensor_pickle:
            z.writestr("archive/data/1", struct.pack("<2f", 9, 8))
        z.writestr("archive/version", "3\n")


def describe(t):
    """What brine would have to report of a tensor, and the backward hooks set on it."""
    if not isinstance(t, torch.Tensor):
        return ("not a tensor", type(t).__name__)
    return (type(t).__name__, str(t.dtype), tuple(t.shape), tuple(t.stride()), t.storage_offset(),
            [float(x) for x in t.detach().reshape(-1)], bool(t.requires_grad), len(t._backward_hooks or {}))


def rebuild_description(is_parameter):
    """The tensor every variant's rebuild call describes (requires_grad False, no hooks)."""
    return ("Parameter" if is_parameter else "Tensor", "torch.float32", (4,), (1,), 0, [1.0, 2.0, 3.0, 4.0], False, 0)


def load(path, weights_only, expected):
    """(outcome, detail): what torch.load builds of the file's 't'."""
    try:
        built = describe(torch.load(path, weights_only=weights_only)["t"])
    except Exception as e:  # torch refuses the file: nothing is built
        first_line = str(e).splitlines()[0][:90] if str(e) else ""
        return FAILS, f"{type(e).__name__}: {first_line}"
    return (SAME if built == expected else OTHER), built


def brine_scan(brine, path):
    return subprocess.run([brine, "scan", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          timeout=60).returncode


def brine_info(brine, path, is_parameter):
    """Problems with what `brine info` reports of 't' against the rebuild call's tensor."""
    run = subprocess.run([brine, "info", "--json", path], capture_output=True, text=True, timeout=60)
    if run.returncode != 0:
        return [f"brine info exits {run.returncode}"]
    tensors = json.loads(run.stdout)["tensors"]
    wanted = [{"name": "t", "dtype": "float32", "layout": "strided", "shape": [4], "stride": [1], "storage_offset": 0,
               "storage": "0", "parameter": is_parameter, "requires_grad": False}]
    return [] if tensors == wanted else [f"brine info reports {tensors}"]


def torch_series():
    version = torch.__version__
    if version.startswith("1.13"):
        return "1.13"
    return "2" if version.startswith("2.") else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brine", help="the brine CLI: its scan verdict is checked too")
    parser.add_argument("--keep", help="write the checkpoints into this directory and keep them")
    options = parser.parse_args()
    scratch = options.keep or tempfile.mkdtemp(prefix="brine_tensor_state_")
    os.makedirs(scratch, exist_ok=True)
    series = torch_series()
    print(f"torch {torch.__version__}: outcomes checked against the record for torch {series or '(none)'}")
    failures = 0
    try:
        for index, (name, tensor_pickle, is_parameter, claim, on_1_13, on_2) in enumerate(VARIANTS):
            path = os.path.join(scratch, f"state_{index:02d}.pt")
            checkpoint(path, tensor_pickle)
            expected = rebuild_description(is_parameter)
            loads = [load(path, mode, expected) for mode in (True, False)]
            observed = tuple(outcome for outcome, _ in loads)
            recorded = {"1.13": on_1_13, "2": on_2}.get(series, observed)
            problems = []
            if observed != recorded:
                problems.append(f"torch built {observed}, the record says {recorded}")
            if not claim_is_sound(claim, on_1_13 + on_2 + observed):
                problems.append(f"brine's claim '{claim}' contradicts what torch builds")
            verdict = ""
            if options.brine:
                code = brine_scan(options.brine, path)
                verdict = f", brine scan exits {code}"
                if (code == 0) != (claim == "same") or code not in (0, 1, 2):
                    problems.append(f"brine scan exit {code} is not the claim '{claim}'")
                elif claim == "same":
                    problems += brine_info(options.brine, path, is_parameter)
            failures += 1 if problems else 0
            print(f"{'FAIL' if problems else 'PASS'} {name}: brine {claim}{verdict}")
            for mode, (outcome, detail) in zip((True, False), loads):
                print(f"    weights_only={mode!s:5} {outcome:5} {detail}")
            for problem in problems:
                print(f"    ** {problem}")
    finally:
        if not options.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"{len(VARIANTS) - failures} of {len(VARIANTS)} variants pass")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
