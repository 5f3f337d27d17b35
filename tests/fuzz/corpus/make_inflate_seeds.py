#!/usr/bin/env python3
"""Writes the seed corpus of the inflate fuzz harness into tests/fuzz/corpus/inflate/.

Each seed is one control byte (see tests/fuzz/inflate.cpp: bit 0 allows trailing input, bit 1
picks the small output limit, bits 2..6 the read chunk, bit 7 the small streaming window)
followed by a raw DEFLATE stream: zlib's output at several levels and strategies, hand-built
edge cases, and a few broken streams. Uses only the standard library; deterministic.
"""
import os
import random
import zlib

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "inflate")


def raw_deflate(data, level=6, strategy=zlib.Z_DEFAULT_STRATEGY, mem_level=8, flush_every=0):
    z = zlib.compressobj(level, zlib.DEFLATED, -15, mem_level, strategy)
    if not flush_every:
        return z.compress(data) + z.flush()
    out = b""
    for i in range(0, len(data), flush_every):
        out += z.compress(data[i:i + flush_every]) + z.flush(zlib.Z_FULL_FLUSH)
    return out + z.flush()


class Bits:
    """A DEFLATE bit writer: fields least significant bit first, Huffman codes most significant first."""

    def __init__(self):
        self.out = bytearray()
        self.used = 0

    def bit(self, b):
        if self.used % 8 == 0:
            self.out.append(0)
        self.out[-1] |= b << (self.used % 8)
        self.used += 1

    def bits(self, value, count):
        for i in range(count):
            self.bit((value >> i) & 1)

    def code(self, codeword, length):
        for i in reversed(range(length)):
            self.bit((codeword >> i) & 1)


def fixed_literal(w, byte):
    if byte < 144:
        w.code(0x30 + byte, 8)
    else:
        w.code(0x190 + byte - 144, 9)


def text(n, seed):
    rng = random.Random(seed)
    words = ["tensor", "weights", "the", "layer", "of", "bias", "storage", "a", "zip", "norm"]
    s = ""
    while len(s) < n:
        s += rng.choice(words) + rng.choice("   .\n,")
    return s[:n].encode()


def seeds():
    rng = random.Random(1951)
    sample = text(1500, 1)
    yield "text_level6", 0x00, raw_deflate(sample)
    yield "text_level1_chunked", 0x84, raw_deflate(sample, 1)
    yield "text_level9_small_window", 0x80 | (3 << 2), raw_deflate(text(3000, 2), 9)
    yield "stored", 0x04, raw_deflate(bytes(rng.getrandbits(8) for _ in range(300)), 0)
    yield "fixed_codes", 0x08, raw_deflate(sample, 6, zlib.Z_FIXED)
    yield "huffman_only", 0x00, raw_deflate(sample, 6, zlib.Z_HUFFMAN_ONLY)
    yield "rle", 0x0C, raw_deflate(bytes([0, 0, 0, 1, 1, 2] * 200), 6, zlib.Z_RLE)
    yield "filtered_floats", 0x40, raw_deflate(
        b"".join(int(rng.gauss(0, 300)).to_bytes(4, "little", signed=True) for _ in range(200)), 6, zlib.Z_FILTERED)
    yield "many_blocks", 0x10, raw_deflate(text(2000, 3), 6, flush_every=300)
    yield "empty_fixed", 0x00, bytes([0x03, 0x00])
    yield "empty_stored", 0x00, bytes([0x01, 0x00, 0x00, 0xFF, 0xFF])
    yield "bomb_small_limit", 0x02, raw_deflate(bytes(1 << 20), 9)

    # A dynamic block whose distance code is one 1-bit code (zlib allows this incomplete code):
    # literal/length code {'q': 2, 256: 2, 257: 1}, then 'q', a match (3, 1), end of block.
    w = Bits()
    w.bits(1, 1)
    w.bits(2, 2)
    w.bits(258 - 257, 5)
    w.bits(1 - 1, 5)
    w.bits(19 - 4, 4)
    order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
    pre = [4] * 13 + [5] * 6  # complete: 13/16 + 6/32
    for s in order:
        w.bits(pre[s], 3)
    pre_codes, code = {}, 0
    for length in (4, 5):
        for s in range(19):
            if pre[s] == length:
                pre_codes[s] = code
                code += 1
        code <<= 1
    lengths = [0] * 259
    lengths[ord("q")], lengths[256], lengths[257], lengths[258] = 2, 2, 1, 1
    for l in lengths:
        w.code(pre_codes[l], pre[l])
    w.code(0b10, 2)   # 'q'
    w.code(0b0, 1)    # 257: length 3
    w.code(0b0, 1)    # distance 1
    w.code(0b11, 2)   # end of block
    yield "single_distance_code", 0x00, bytes(w.out)

    # Fixed block: one literal then length 258 at distance 1 (code 285, distance code 0).
    w = Bits()
    w.bits(1, 1)
    w.bits(1, 2)
    fixed_literal(w, ord("z"))
    w.code(0xC5, 8)
    w.code(0, 5)
    w.code(0, 7)
    yield "length_258", 0x00, bytes(w.out)

    good = raw_deflate(text(800, 4))
    yield "truncated", 0x00, good[: len(good) // 2]
    flipped = bytearray(good)
    flipped[len(flipped) // 3] ^= 0x10
    yield "bit_flipped", 0x00, bytes(flipped)
    yield "trailing_allowed", 0x01, good + b"\x00junk"
    yield "trailing_refused", 0x00, good + b"\x00"
    yield "bad_block_type", 0x00, bytes([0x07, 0x00])
    yield "stored_length_mismatch", 0x00, bytes([0x01, 0x03, 0x00, 0xFB, 0xFF, 0x61, 0x62, 0x63])

    w = Bits()  # fixed block: 'a', then a match reaching 2 bytes back
    w.bits(1, 1)
    w.bits(1, 2)
    fixed_literal(w, ord("a"))
    w.code(1, 7)  # 257: length 3
    w.code(1, 5)  # distance 2
    w.code(0, 7)
    yield "distance_too_far", 0x00, bytes(w.out)


def main():
    os.makedirs(HERE, exist_ok=True)
    for name, control, stream in seeds():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(bytes([control]) + stream)


if __name__ == "__main__":
    main()
