#!/usr/bin/python3
"""Property test of the pickle engine against CPython (THREATS.md R6): for every input brine
accepts clean, CPython loading brine's reconstruction equals CPython loading the input.

    check_pickle_property.py REWRITE_TOOL SCRATCH [--count N] [--seed S]

Random pickle programs are generated opcode by opcode, valid by construction: literals,
containers built with MARK/APPENDS/SETITEMS and their one-item forms, tuples, the memo (BINPUT,
MEMOIZE, BINGET, reuse of an index), POP and DUP, and calls of what torch's weights-only
allowlist allows (collections.OrderedDict, builtins.set, collections.Counter, builtins.complex,
builtins.bytearray, _codecs.encode) with arguments taken fresh or from the memo, including lists
that are filled *after* the call through the memo, call results that are popped, and BUILD on an
OrderedDict. The generator does not steer towards any outcome.

For each program: CPython loads it with an Unpickler that resolves only those globals (a program
CPython refuses is no test). pickle_rewrite (REWRITE_TOOL, policy torch_weights_only) then either
refuses it (exit 2), reports something removed (exit 1: a finding, which is allowed), or writes a
clean reconstruction (exit 0), which CPython must load to an equal value: exact types, floats bit
for bit, key order, instance attributes, and the same sharing (check_pickle_roundtrip.py).

Prints one line per failure and 'N passed, N failed'; exit 1 when one fails.
"""

import argparse
import io
import os
import pickle
import random
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import check_pickle_roundtrip as roundtrip  # noqa: E402

CALLABLES = {
    ("collections", "OrderedDict"): "OrderedDict",
    ("builtins", "set"): "set",
    ("collections", "Counter"): "Counter",
    ("builtins", "complex"): "complex",
    ("builtins", "bytearray"): "bytearray",
    ("_codecs", "encode"): "encode",
}


def resolve(module, name):
    if (module, name) not in CALLABLES:
        raise pickle.UnpicklingError("global %s.%s not allowed" % (module, name))
    return getattr(__import__(module), name)


class Restricted(pickle.Unpickler):
    def find_class(self, module, name):
        return resolve(module, name)


def load(data):
    return Restricted(io.BytesIO(data)).load()


class Item:
    """What the generator knows of a stack slot: its kind, and whether it can be a key."""

    def __init__(self, kind, hashable=False, memo=None):
        self.kind = kind
        self.hashable = hashable
        self.memo = memo


class Program:
    def __init__(self, rng):
        self.rng = rng
        self.out = bytearray(b"\x80\x02")
        self.stack = []  # Items and "MARK"
        self.memo = {}  # index -> Item
        self.next_index = 0

    # -- emitting ---------------------------------------------------------------------------
    def emit(self, data):
        self.out += data

    def push(self, item):
        self.stack.append(item)

    def top_items(self):
        """Items above the topmost MARK (or the whole stack)."""
        items = []
        for x in reversed(self.stack):
            if x == "MARK":
                break
            items.append(x)
        return list(reversed(items))

    def literal(self):
        r = self.rng.randrange(6)
        if r == 0:
            value = self.rng.randrange(256)
            self.emit(b"K" + bytes([value]))
            self.push(Item("int", True))
        elif r == 1:
            text = self.rng.choice(["a", "b", "key", "weight", "x" * self.rng.randrange(1, 5)]).encode()
            self.emit(b"X" + struct.pack("<I", len(text)) + text)
            self.push(Item("str", True))
        elif r == 2:
            self.emit(b"N")
            self.push(Item("none", True))
        elif r == 3:
            self.emit(b"G" + struct.pack(">d", self.rng.choice([0.5, -0.0, 1e300, 3.25])))
            self.push(Item("float", True))
        elif r == 4:
            self.emit(b"]")
            self.push(Item("list"))
        else:
            self.emit(b"}")
            self.push(Item("dict"))

    def put(self):
        if not self.stack or self.stack[-1] == "MARK":
            return
        if self.rng.random() < 0.5:
            index = self.next_index
            self.next_index += 1
        else:
            index = self.rng.randrange(self.next_index + 1)
            self.next_index = max(self.next_index, index + 1)
        self.emit(b"q" + bytes([index]))
        self.memo[index] = self.stack[-1]

    def get(self):
        if not self.memo:
            return
        index = self.rng.choice(sorted(self.memo))
        self.emit(b"h" + bytes([index]))
        self.push(self.memo[index])

    def append_one(self):
        # list below the top item
        if len(self.stack) >= 2 and self.stack[-1] != "MARK" and self.stack[-2] != "MARK" and self.stack[-2].kind == "list":
            self.emit(b"a")
            self.stack.pop()

    def setitem_one(self):
        s = self.stack
        if (len(s) >= 3 and "MARK" not in s[-3:] and s[-3].kind in ("dict", "OrderedDict", "Counter")
                and s[-2].kind in ("int", "str")):
            self.emit(b"s")
            s.pop()
            s.pop()

    def mark(self):
        self.emit(b"(")
        self.push("MARK")

    def close_mark(self):
        if "MARK" not in self.stack:
            return
        items = self.top_items()
        below_index = len(self.stack) - len(items) - 2
        below = self.stack[below_index] if below_index >= 0 else None
        choice = self.rng.randrange(4)
        if choice == 0 and below not in (None, "MARK") and below.kind == "list":
            self.emit(b"e")
            del self.stack[len(self.stack) - len(items) - 1:]
        elif (choice == 1 and below not in (None, "MARK") and below.kind in ("dict", "OrderedDict", "Counter")
              and len(items) % 2 == 0 and all(k.kind in ("int", "str") for k in items[0::2])):
            self.emit(b"u")
            del self.stack[len(self.stack) - len(items) - 1:]
        elif choice == 2:
            self.emit(b"l")
            del self.stack[len(self.stack) - len(items) - 1:]
            self.push(Item("list"))
        else:
            self.emit(b"t")
            del self.stack[len(self.stack) - len(items) - 1:]
            self.push(Item("tuple", all(i.hashable for i in items)))

    def tuple_n(self):
        items = self.top_items()
        n = self.rng.randrange(1, 4)
        if len(items) >= n:
            self.emit(bytes([0x84 + n]))
            taken = self.stack[-n:]
            del self.stack[-n:]
            self.push(Item("tuple", all(i.hashable for i in taken)))

    def pop(self):
        if self.stack and self.stack[-1] != "MARK":
            self.emit(b"0")
            self.stack.pop()

    def dup(self):
        if self.stack and self.stack[-1] != "MARK":
            self.emit(b"2")
            self.push(self.stack[-1])

    def call(self):
        module, name = self.rng.choice(sorted(CALLABLES))
        kind = CALLABLES[(module, name)]
        self.emit(b"c" + module.encode() + b"\n" + name.encode() + b"\n")
        # The argument: built fresh, or a list from the memo (possibly filled later).
        if kind in ("OrderedDict", "set", "Counter"):
            lists = [i for i, item in self.memo.items() if item.kind == "list"]
            if lists and self.rng.random() < 0.6:
                self.emit(b"h" + bytes([self.rng.choice(lists)]))
            elif kind == "OrderedDict" and self.rng.random() < 0.3:
                self.emit(b")")  # OrderedDict()
                self.emit(b"R")
                self.push(Item("OrderedDict"))
                return
            else:
                self.emit(b"(")
                for _ in range(self.rng.randrange(3)):
                    if kind == "OrderedDict":
                        self.emit(b"X\x01\x00\x00\x00" + bytes([self.rng.choice(b"abc")]) + b"K" + bytes([self.rng.randrange(9)]) + b"\x86")
                    else:
                        self.emit(b"K" + bytes([self.rng.randrange(9)]))
                self.emit(b"l")
            self.emit(b"\x85R")
        elif kind == "complex":
            self.emit(b"G" + struct.pack(">d", 1.5) + b"G" + struct.pack(">d", -2.0) + b"\x86R")
        elif kind == "bytearray":
            self.emit(b"C\x03abc\x85R")
        else:  # encode
            self.emit(b"X\x02\x00\x00\x00hi" + b"X\x06\x00\x00\x00latin1\x86R")
        self.push(Item(kind, kind == "complex"))

    def build_state(self):
        s = self.stack
        if s and s[-1] != "MARK" and s[-1].kind == "OrderedDict":
            self.emit(b"}X\x09\x00\x00\x00_metadataK\x01sb")

    def fill_memo_list(self):
        # GET a memoized list and append to it: a list a call may have seen before.
        lists = [i for i, item in self.memo.items() if item.kind == "list"]
        if lists:
            self.emit(b"h" + bytes([self.rng.choice(lists)]) + b"K" + bytes([self.rng.randrange(9)]) + b"a0")

    def finish(self):
        while "MARK" in self.stack:
            items = self.top_items()
            self.emit(b"t")
            del self.stack[len(self.stack) - len(items) - 1:]
            self.push(Item("tuple"))
        self.emit(b".")
        return bytes(self.out)


def program(rng):
    p = Program(rng)
    p.mark()
    steps = [p.literal] * 6 + [p.put] * 3 + [p.get] * 3 + [p.append_one, p.setitem_one] * 2 + \
            [p.mark, p.close_mark] * 2 + [p.tuple_n, p.pop, p.dup, p.build_state] + [p.call] * 3 + [p.fill_memo_list] * 2
    for _ in range(rng.randrange(4, 40)):
        rng.choice(steps)()
    return p.finish()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rewrite")
    ap.add_argument("scratch")
    ap.add_argument("--count", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=15)
    args = ap.parse_args(argv)
    os.makedirs(args.scratch, exist_ok=True)
    rng = random.Random(args.seed)
    passed = failed = 0
    tally = {"refused by CPython": 0, "brine exit 0, equal": 0, "brine exit 1": 0, "brine exit 2": 0}
    for i in range(args.count):
        data = program(rng)
        try:
            original = load(data)
        except Exception:
            tally["refused by CPython"] += 1
            continue
        src = os.path.join(args.scratch, "p%05d.pkl" % i)
        dst = src + ".out"
        with open(src, "wb") as f:
            f.write(data)
        if os.path.exists(dst):
            os.remove(dst)
        done = subprocess.run([args.rewrite, "--policy", "torch_weights_only", src, dst], capture_output=True, text=True)
        if done.returncode in (1, 2):
            tally["brine exit %d" % done.returncode] += 1
            passed += 1
            os.remove(src)
            continue
        if done.returncode != 0:
            failed += 1
            print("FAIL %s: pickle_rewrite exit %d %s" % (src, done.returncode, done.stderr.strip()))
            continue
        with open(dst, "rb") as f:
            rebuilt_bytes = f.read()
        try:
            rebuilt = load(rebuilt_bytes)
        except Exception as e:
            failed += 1
            print("FAIL %s: the reconstruction does not load: %s" % (src, e))
            continue
        problems = []
        roundtrip.Comparer("all", problems.append).same(original, rebuilt, "root")
        if problems:
            failed += 1
            print("FAIL %s: CPython loads %s from the input and %s from brine's clean reconstruction: %s"
                  % (src, roundtrip._short(original), roundtrip._short(rebuilt), problems[0]))
            continue
        tally["brine exit 0, equal"] += 1
        passed += 1
        os.remove(src)
        os.remove(dst)
    for what, n in tally.items():
        print("summary: %d programs %s" % (n, what))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
