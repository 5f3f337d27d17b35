"""Hostile files with two readings (THREATS.md F6, F7), generated at test time.

    variants(out_dir) -> [Variant]

Every file carries the harmless payload of tests/fixtures/gen/payload.py (it would create
brine_marker_<id> in the working directory) where only the *other* reading finds it:

F6  tar by checksum. Block 0 is a tar header to Python's tarfile (a checksum field holding the
    block's sum, no "ustar" magic), and the archive has a member `storages` whose content is the
    payload pickle. torch.load(weights_only=False) hands every non-zip file to tarfile first and
    unpickles `storages`. The host is another format that brine reads: a raw pickle (the tar
    inside a BINBYTES or BINUNICODE argument), a legacy torch.save stream (inside sys_info), an
    .npy (block 0 inside a structured dtype's field name, the rest in the array data) or a
    safetensors file (block 0 inside __metadata__, the rest in the tensor data). Block 0 is a
    member header of four kinds: a junk regular member before `storages`, a GNU long name (L),
    a PAX extended header (x) or a PAX global header (g) naming the member; its checksum is
    spelt as tar writes it or as int(text, 8) also accepts it (spaces, sign, 0o, underscores,
    base-256, the signed sum).
F7  FRAME past STOP. In a legacy stream, one of the five pickles opens a FRAME longer than a
    file's read buffer (8 KiB) that goes on past its STOP: _pickle.c reads the frame with one
    read(), so torch.load's next pickle.load starts at the frame's end, where the payload is,
    while a reader that resumes after STOP finds a benign stream inside the frame.
"""

import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
from gen.payload import marker_name, marker_pickle  # noqa: E402

BLOCK = 512
LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."  # torch's magic number, LONG1
LEGACY_PROTOCOL = b"\x80\x02M\xe9\x03."  # 1001


class Variant:
    def __init__(self, name, threat, path, marker, fires_in):
        self.name = name
        self.threat = threat
        self.path = path
        self.marker = marker
        self.fires_in = fires_in  # the loaders that must find the payload: the case is real


def ascii_marker_pickle(marker_id):
    """The same payload as marker_pickle, in protocol 0: ASCII, for hosts that hold only text."""
    return b"cbuiltins\nopen\n(V" + marker_name(marker_id).encode() + b"\nVw\ntR."


# ---- tar headers -------------------------------------------------------------------------------

def _octal_field(value, width, text_safe):
    """A numeric field as tar writes it: octal digits, then NUL (or a space where NUL can't be)."""
    digits = b"%0*o" % (width - 1, value)
    return digits + (b" " if text_safe else b"\0")


def _header(name, size, typeflag, text_safe):
    """A header block with every field set and the checksum field left as 8 spaces."""
    pad = b" " if text_safe else b"\0"
    block = bytearray(pad * BLOCK)
    block[0:len(name)] = name
    block[100:108] = _octal_field(0o644, 8, text_safe)
    block[108:116] = _octal_field(0, 8, text_safe)
    block[116:124] = _octal_field(0, 8, text_safe)
    block[124:136] = _octal_field(size, 12, text_safe)
    block[136:148] = _octal_field(0, 12, text_safe)
    block[148:156] = b" " * 8
    block[156:157] = typeflag
    return block


def _sums(block):
    rest = bytes(block[:148]) + bytes(block[156:BLOCK])
    unsigned = 256 + sum(rest)
    signed = 256 + sum(b - 256 if b > 127 else b for b in rest)
    return unsigned, signed


CHECKSUM_SPELLINGS_TEXT = ["spaces", "plus", "prefix", "underscore"]
CHECKSUM_SPELLINGS_BINARY = ["nul", "spaces", "plus", "prefix", "underscore", "base256", "signed"]


def _checksum_field(block, spelling):
    unsigned, signed = _sums(block)
    digits = b"%o" % unsigned
    if spelling == "nul":
        return b"%06o\0 " % unsigned
    if spelling == "spaces":
        return (b" " + digits).ljust(8)
    if spelling == "plus":
        return (b"+" + digits).ljust(8)
    if spelling == "prefix":
        return (b"0o" + digits).ljust(8)
    if spelling == "underscore":
        return (digits[:1] + b"_" + digits[1:]).ljust(8)
    if spelling == "base256":
        return b"\x80" + unsigned.to_bytes(7, "big")
    if spelling == "signed":
        assert signed != unsigned, "the signed variant needs bytes above 0x7f in the block"
        text = (b"-%o" % -signed) if signed < 0 else (b"%o" % signed)
        return text.ljust(8)
    raise ValueError(spelling)


def _seal(data, offset, spelling="nul"):
    block = data[offset:offset + BLOCK]
    data[offset + 148:offset + 156] = _checksum_field(block, spelling)


def tar_tail(kind, payload, end_blocks):
    """The blocks after block 0 (from offset 512): what names `storages`, its header and data."""
    out = bytearray()
    if kind == "L":
        out += b"storages\0".ljust(BLOCK, b"\0")
    elif kind in ("x", "g"):
        record = b"path=storages\n"
        length = len(record) + 3
        out += (b"%d " % length + record).ljust(BLOCK, b"\0")
    name = b"storages" if kind == "0" else b"ignored"
    header_at = len(out)
    out += _header(name, len(payload), b"0", False)
    out += payload.ljust((len(payload) + BLOCK - 1) // BLOCK * BLOCK, b"\0")
    out += b"\0" * (BLOCK * end_blocks)
    return out, [BLOCK + header_at]


def tar_block0_fields(kind, text_safe, spelling):
    """Block 0's fields from offset 100 on (the host owns the name field, 0-99)."""
    size = {"0": 0, "L": len(b"storages\0")}.get(kind)
    if size is None:
        size = len(b"%d path=storages\n" % (len(b"path=storages\n") + 3))
    block = _header(b"", size, kind.encode(), text_safe)
    if spelling == "signed":
        block[345:500] = b"\xff" * 155  # the prefix field: bytes that make the two sums differ
    return bytes(block[100:BLOCK])


# ---- hosts -------------------------------------------------------------------------------------
# Each host builds a complete file whose bytes 100..511 are `fields` and whose bytes from 512 on
# are `tail`; the checksums are set afterwards on the finished bytes.

def host_pickle_bytes(fields, tail):
    body_after_opcode = 7  # \x80\x03 B <len4>
    content = bytearray(b"\0" * (100 - body_after_opcode)) + fields + tail
    data = bytearray(b"\x80\x03B" + struct.pack("<I", len(content))) + content + b"."
    return data


def host_pickle_text(fields, tail):
    content = bytearray(b" " * (100 - 7)) + fields + tail
    return bytearray(b"\x80\x02X" + struct.pack("<I", len(content))) + content + b"."


def host_legacy(fields, tail):
    head = LEGACY_MAGIC + LEGACY_PROTOCOL + b"\x80\x02}X\x08\x00\x00\x00sys_infoB"
    start = len(head) + 4
    content = bytearray(b"\0" * (100 - start)) + fields + tail
    data = bytearray(head + struct.pack("<I", len(content))) + content + b"s."
    data += b"\x80\x02}."  # the object: an empty dict
    data += b"\x80\x02]."  # no storage keys
    return data


def host_npy(fields, tail):
    # Header text: {'descr': [('<name>', '|u1')], 'fortran_order': False, 'shape': (N,), }
    # ending exactly at offset 512, so that the array data is the tar's tail.
    lead = b"{'descr': [('"
    name = b"n" * (100 - 10 - len(lead)) + fields[:345 - 100]
    rest = b"', '|u1')], 'fortran_order': False, 'shape': (%d,), }" % len(tail)
    header = lead + name + rest
    header = header.ljust(BLOCK - 10 - 1) + b"\n"
    assert len(header) == BLOCK - 10, len(header)
    data = bytearray(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header) + tail
    return data


def host_safetensors(fields, tail):
    # {"__metadata__":{"k":"<text>"},"t":{"dtype":"U8","shape":[N],"data_offsets":[0,N]}}
    # padded with spaces to end at offset 512.
    lead = b'{"__metadata__":{"k":"'
    text = b"n" * (100 - 8 - len(lead)) + fields[:345 - 100]
    rest = b'"},"t":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}' % (len(tail), len(tail))
    header = (lead + text + rest).ljust(BLOCK - 8)
    assert len(header) == BLOCK - 8
    return bytearray(struct.pack("<Q", len(header)) + header) + tail


F6_HOSTS = {
    # name: (builder, text_safe)
    "pickle_binbytes": (host_pickle_bytes, False),
    "pickle_binunicode": (host_pickle_text, True),
    "legacy_sys_info": (host_legacy, False),
    "npy_field_name": (host_npy, True),
    "safetensors_metadata": (host_safetensors, True),
}


def f6_variants(out_dir):
    out = []
    for host, (build, text_safe) in F6_HOSTS.items():
        spellings = CHECKSUM_SPELLINGS_TEXT if text_safe else CHECKSUM_SPELLINGS_BINARY
        for kind in ("0", "L", "x", "g"):
            for spelling in spellings:
                for end_blocks in (0, 2):
                    name = "f6_%s_%s_%s_end%d" % (host, kind, spelling, end_blocks)
                    marker = name
                    payload = ascii_marker_pickle(marker) if text_safe else marker_pickle(marker)
                    tail, headers = tar_tail(kind, payload, end_blocks)
                    fields = tar_block0_fields(kind, text_safe, spelling)
                    data = build(bytearray(fields), bytearray(tail))
                    for at in headers:
                        _seal(data, at)
                    _seal(data, 0, spelling)
                    path = os.path.join(out_dir, name + (".npy" if host.startswith("npy") else
                                                         ".safetensors" if host.startswith("safe") else ".pt"))
                    with open(path, "wb") as f:
                        f.write(data)
                    out.append(Variant(name, "F6", path, marker_name(marker), ["torch_full"]))
    return out


# ---- F7: FRAME past STOP -----------------------------------------------------------------------

def _framed(body, frame_size):
    """PROTO 4, then one FRAME of frame_size bytes holding `body` (which ends with STOP) and
    padding after it: the frame goes on past STOP."""
    assert len(body) <= frame_size
    frame = body + b"\0" * (frame_size - len(body))
    return b"\x80\x04\x95" + struct.pack("<Q", frame_size) + frame


def f7_variants(out_dir):
    out = []
    benign = [LEGACY_MAGIC, LEGACY_PROTOCOL, b"\x80\x02}.", b"\x80\x02}.", b"\x80\x02]."]
    positions = ["magic", "protocol", "sys_info", "object", "storage_keys"]
    for index, position in enumerate(positions[:-1]):
        for frame_size in (8193, 10000, 65536, 200000):
            for decoy in ("legacy_rest", "padding"):
                name = "f7_frame_in_%s_%d_%s" % (position, frame_size, decoy)
                marker = name
                # What brine reads after STOP (inside the frame): the rest of a benign stream.
                body = benign[index][2:]  # the pickle without its PROTO 2: the frame's PROTO 4 leads
                if decoy == "legacy_rest":
                    body += b"".join(benign[index + 1:])
                framed = _framed(body, frame_size)
                # What torch reads at the frame's end: the payload in the next pickle's place,
                # then the rest of the stream.
                after = marker_pickle(marker) + b"".join(benign[index + 2:])
                data = b"".join(benign[:index]) + framed + after
                path = os.path.join(out_dir, name + ".pt")
                with open(path, "wb") as f:
                    f.write(data)
                out.append(Variant(name, "F7", path, marker_name(marker), ["torch_full"]))
    return out


def variants(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    return f6_variants(out_dir) + f7_variants(out_dir)


if __name__ == "__main__":
    for v in variants(sys.argv[1]):
        print(v.threat, v.name, v.path)
