#!/usr/bin/env python3
"""Writes the resource-exhaustion inputs of check_resources.sh into a directory (standard
library only; nothing here is a model, so no torch is needed):

  bomb_pickle_1g.pt     a torch zip whose data.pkl inflates to 1 GiB (a BINBYTES8 of zeros):
                        1 MiB on disk; brine must stop at the memory it may use, not be killed
  bomb_pickle_lies.pt   the same data.pkl declaring 4 KiB: the inflater must stop at 4 KiB
  bomb_storage_lies.pt  a small valid data.pkl whose storage record declares 1 KiB and inflates
                        to 1 GiB
  interrupt_1g.pt       a valid checkpoint whose one storage is 1 GiB of zeros (1 MiB on disk):
                        its disarm runs long enough to be interrupted while writing
  nested_lists.pkl      200 000 nested lists (EMPTY_LIST x N, APPEND x N-1): deep, no MARK
  nested_dicts.pkl      200 000 nested dicts (EMPTY_DICT, key, ... SETITEM x N)
  nested_marks.pkl      200 000 open MARKs (THREATS.md R1)
  nested_tuples.pkl     200 000 nested 1-tuples (TUPLE1 on TUPLE1 ...)
  nested_tuples_2m.pkl  2 000 000 of them: work quadratic in the depth would not end in the
                        timeout (building every dotted name on the way once took 5 s at 200 000)
"""
import os
import struct
import sys
import zipfile
import zlib

GIB = 1 << 30
DEPTH = 200_000


def deflate_zeros(count, chunk=1 << 20):
    """Raw DEFLATE of `count` zero bytes, streamed (never 1 GiB in memory)."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = []
    zeros = bytes(chunk)
    left = count
    while left:
        n = min(chunk, left)
        out.append(z.compress(zeros[:n]))
        left -= n
    out.append(z.flush())
    return b"".join(out)


def lying_zip(path, members):
    """A zip of deflated members whose headers may declare other sizes and CRCs than the data
    has: members are (name, raw_deflate, declared_size, crc)."""
    body = bytearray()
    central = bytearray()
    for name, data, size, crc in members:
        name_b = name.encode()
        offset = len(body)
        fields = (20, 0, 8, 0, 0x21, crc, len(data), size, len(name_b), 0)
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields) + name_b + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0, 0, offset) + name_b
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(body), 0)
    with open(path, "wb") as f:
        f.write(bytes(body) + bytes(central) + end)


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    # data.pkl = PROTO 4, BINBYTES8 of 1 GiB of zeros, STOP.
    head = b"\x80\x04\x8e" + struct.pack("<Q", GIB)
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    crc = zlib.crc32(head)
    parts = [z.compress(head)]
    zeros = bytes(1 << 20)
    for _ in range(GIB >> 20):
        parts.append(z.compress(zeros))
        crc = zlib.crc32(zeros, crc)
    parts.append(z.compress(b"."))
    crc = zlib.crc32(b".", crc)
    parts.append(z.flush())
    bomb = b"".join(parts)
    version = zlib.compress(b"3\n")[2:-4]
    lying_zip(os.path.join(out_dir, "bomb_pickle_1g.pt"),
              [("archive/data.pkl", bomb, len(head) + GIB + 1, crc),
               ("archive/version", version, 2, zlib.crc32(b"3\n"))])
    lying_zip(os.path.join(out_dir, "bomb_pickle_lies.pt"),
              [("archive/data.pkl", bomb, 4096, crc),
               ("archive/version", version, 2, zlib.crc32(b"3\n"))])

    # A state dict {'w': FloatStorage of 256 elements} as torch.save's protocol-2 pickle would
    # hold it, with a storage record declaring its 1 KiB but inflating to 1 GiB.
    pickle = (b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02("
              b"(X\x07\x00\x00\x00storageq\x03ctorch\nFloatStorage\nq\x04X\x01\x00\x00\x000q\x05"
              b"X\x03\x00\x00\x00cpuq\x06M\x00\x01tq\x07QK\x00M\x00\x01\x85q\x08K\x01\x85q\t\x89"
              b"ccollections\nOrderedDict\nq\n)Rq\x0btq\x0cRq\r" b"s.")
    zeros_1g = deflate_zeros(GIB)
    lying_zip(os.path.join(out_dir, "bomb_storage_lies.pt"),
              [("archive/data.pkl", zlib.compress(pickle)[2:-4], len(pickle), zlib.crc32(pickle)),
               ("archive/version", version, 2, zlib.crc32(b"3\n")),
               ("archive/data/0", zeros_1g, 1024, zlib.crc32(bytes(1024)))])

    # The same state dict with 2^28 floats (BININT instead of BININT2 for the storage size and
    # the shape), and a record that truthfully holds them.
    floats = struct.pack("<i", GIB // 4)
    big = pickle.replace(b"M\x00\x01t", b"J" + floats + b"t").replace(b"M\x00\x01\x85", b"J" + floats + b"\x85")
    assert big.count(b"J" + floats) == 2
    crc_1g = 0
    zeros = bytes(1 << 20)
    for _ in range(GIB >> 20):
        crc_1g = zlib.crc32(zeros, crc_1g)
    lying_zip(os.path.join(out_dir, "interrupt_1g.pt"),
              [("archive/data.pkl", zlib.compress(big)[2:-4], len(big), zlib.crc32(big)),
               ("archive/version", version, 2, zlib.crc32(b"3\n")),
               ("archive/data/0", zeros_1g, GIB, crc_1g)])

    with open(os.path.join(out_dir, "nested_lists.pkl"), "wb") as f:
        f.write(b"\x80\x02" + b"]" * DEPTH + b"a" * (DEPTH - 1) + b".")
    with open(os.path.join(out_dir, "nested_dicts.pkl"), "wb") as f:
        f.write(b"\x80\x02" + b"}K\x01" * DEPTH + b"}" + b"s" * DEPTH + b".")
    with open(os.path.join(out_dir, "nested_marks.pkl"), "wb") as f:
        f.write(b"\x80\x02" + b"(" * DEPTH + b"N" + b"t" * DEPTH + b".")
    with open(os.path.join(out_dir, "nested_tuples.pkl"), "wb") as f:
        f.write(b"\x80\x02N" + b"\x85" * DEPTH + b".")
    with open(os.path.join(out_dir, "nested_tuples_2m.pkl"), "wb") as f:
        f.write(b"\x80\x02N" + b"\x85" * (10 * DEPTH) + b".")


if __name__ == "__main__":
    main(sys.argv[1])
