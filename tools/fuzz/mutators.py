"""Mutations for the fuzzer: generic byte operations plus format-aware ones.

A :class:`Mutator` turns one seed into one test input with a stack of 1-8 operations
drawn from its family:

- ``bytes``: bit flips, "interesting" 8/16/32-bit values (both byte orders), inserts,
  deletes, duplicated / swapped / spliced chunks, truncation, appended garbage;
- ``jpeg``: a lenient segment splitter (independent of hdrkit's scanner) drives segment
  length changes, dropped / duplicated / swapped / inserted segments, payload mutations
  by kind (SOF dimensions and sampling, MPF counts / offsets / sizes, XMP text, ISO
  21496-1 fields, ICC chunk numbers, EXIF IFDs), markers planted in entropy data, cuts at
  and around segment boundaries, and the same on the MPF secondary image;
- ``ifd``: TIFF-style IFDs (EXIF, MPF): entry counts, types, counts, value offsets;
- ``struct16`` / ``struct32``: fixed binary records: aligned fields set to edge values;
- ``xmp``: XML text: DOCTYPE / ENTITY / external entities / billion laughs, odd numbers,
  huge attribute counts, deep nesting, duplicated elements, encodings;
- ``text``: x265-style option strings: numbers, labels, separators, repetition;
- ``json``: structural changes on the parsed document (types, deletions, huge arrays,
  deep nesting, NaN / huge numbers), then optionally bytes;
- ``video``: ISO BMFF boxes (sizes, types, ``colr`` values, sample tables) and HEVC
  Annex B NAL units (dropped, duplicated, reordered, bit-flipped, cut), and truncation.

All randomness comes from the ``random.Random`` given, so a (seed, rng state) pair
reproduces an input exactly.
"""

from __future__ import annotations

import json
import random
import re
import struct


__all__ = ["Mutator", "FAMILIES", "split_jpeg", "split_boxes", "split_nals", "HOSTILE_XMP"]

#: Hostile XMP packets (the robustness tests use them too): name -> bytes.
HOSTILE_XMP: dict[str, bytes] = {
    "doctype": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&a;</x:xmpmeta>',
    "external_file": (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                      b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&e;</x:xmpmeta>'),
    "external_http": (b'<!DOCTYPE x [<!ENTITY e SYSTEM "http://127.0.0.1:9/xmp">]>'
                      b'<x:xmpmeta xmlns:x="adobe:ns:meta/">&e;</x:xmpmeta>'),
    "parameter_entity": (b'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/dtd"> %p;]>'
                         b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'),
    "billion_laughs": (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                       + b"".join(b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10 if i > 1 else b"&lol;" * 10)
                                  for i in range(1, 10))
                       + b']><x:xmpmeta xmlns:x="adobe:ns:meta/">&lol9;</x:xmpmeta>'),
    "lowercase_doctype": b'<!doctype x [<!entity a "b">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&a;</x:xmpmeta>',
}

I8 = (0, 1, 0x7F, 0x80, 0xFE, 0xFF, 0x10, 0x20, 0x40, 3, 4)
I16 = (0, 1, 2, 3, 4, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x3FFF, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF, 1000, 4096, 60000, 65533,
       65534)
I32 = (0, 1, 2, 4, 8, 12, 16, 0x7F, 0xFF, 0x100, 0xFFFF, 0x10000, 1 << 20, 1 << 24, 1 << 30, 0x7FFFFFFF, 0x80000000,
       0xFFFFFFFE, 0xFFFFFFFF, 1000000, 60000 * 60000 & 0xFFFFFFFF)
WEIRD_NUMBERS = ("", "nan", "NaN", "inf", "-inf", "Infinity", "1e308", "-1e308", "1e999", "1e-320", "0", "-0", "-1",
                 "1,2", "0x10", "\u0661", " 1 ", "99999999999999999999999999", "1.5", "+3", "--1", "1e", ".", "5e-324",
                 "4294967296", "2147483648", "-2147483649", "65536", "1_000")


def _u16(b, i):
    return (b[i] << 8) | b[i + 1]


# ------------------------------------------------------------------- structure
def split_jpeg(data: bytes) -> tuple[list[tuple[int, int, int]], int]:
    """Lenient JPEG split: [(marker, start, end)] up to EOI, and the end offset of the scan.

    Never raises; stops at the first thing it cannot follow. SOS spans its header and the
    entropy-coded data that follows (to the next non-RST marker).
    """
    segs: list[tuple[int, int, int]] = []
    n = len(data)
    pos = 0
    if data[:2] != b"\xff\xd8":
        return segs, 0
    segs.append((0xD8, 0, 2))
    pos = 2
    while pos + 1 < n and len(segs) < 2000:
        if data[pos] != 0xFF:
            nxt = data.find(b"\xff", pos)
            if nxt < 0:
                break
            pos = nxt
            continue
        m = data[pos + 1]
        if m == 0xFF:
            pos += 1
            continue
        if m == 0xD9:
            segs.append((m, pos, pos + 2))
            return segs, pos + 2
        if m in (0xD8, 0x01) or 0xD0 <= m <= 0xD7:
            segs.append((m, pos, pos + 2))
            pos += 2
            continue
        if pos + 4 > n:
            break
        end = pos + 2 + _u16(data, pos + 2)
        if end > n or end < pos + 4:
            break
        if m == 0xDA:
            j = end
            while True:
                j = data.find(b"\xff", j)
                if j < 0 or j + 1 >= n:
                    j = n
                    break
                if data[j + 1] == 0 or 0xD0 <= data[j + 1] <= 0xD7 or data[j + 1] == 0xFF:
                    j += 2 if data[j + 1] != 0xFF else 1
                    continue
                break
            end = j
        segs.append((m, pos, end))
        pos = end
    return segs, pos


_CONTAINER_BOXES = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"udta", b"mvex", b"moof", b"traf",
                    b"sinf", b"schi"}


def split_boxes(data: bytes, start: int = 0, end: int | None = None, depth: int = 0) -> list[tuple[bytes, int, int]]:
    """ISO BMFF boxes (type, start, end), recursing into the usual containers and sample entries."""
    end = len(data) if end is None else end
    out = []
    pos = start
    while pos + 8 <= end and len(out) < 4000:
        size = struct.unpack_from(">I", data, pos)[0]
        typ = bytes(data[pos + 4:pos + 8])
        hdr = 8
        if size == 1 and pos + 16 <= end:
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            hdr = 16
        elif size == 0:
            size = end - pos
        if size < hdr or pos + size > end:
            break
        out.append((typ, pos, pos + size))
        if depth < 8:
            if typ in _CONTAINER_BOXES:
                out += split_boxes(data, pos + hdr, pos + size, depth + 1)
            elif typ == b"stsd" and size > 16:
                out += split_boxes(data, pos + 16, pos + size, depth + 1)
            elif typ in (b"hvc1", b"hev1", b"avc1", b"mp4a") and size > hdr + 78:
                out += split_boxes(data, pos + hdr + 78, pos + size, depth + 1)
        pos += size
    return out


_START = re.compile(b"\x00\x00\x01")


def split_nals(data: bytes) -> list[tuple[int, int]]:
    """Annex B NAL units as (payload start, end) pairs (start codes excluded)."""
    starts = [m.end() for m in _START.finditer(data)]
    out = []
    for i, s in enumerate(starts):
        e = starts[i + 1] - 3 if i + 1 < len(starts) else len(data)
        if e > s:
            out.append((s, e))
    return out


# --------------------------------------------------------------------- mutator
class Mutator:
    """Mutate inputs of one family; ``pool`` supplies material for splicing."""

    def __init__(self, rng: random.Random, pool: list[bytes] | None = None):
        self.r = rng
        self.pool = pool or []
        self.max_len = 1 << 20

    def _reps(self, unit: int, *choices: int) -> int:
        """A repeat count from ``choices`` that keeps ``unit * count`` within the input size limit."""
        return max(1, min(self.r.choice(choices), self.max_len // max(unit, 1)))

    # ---------------------------------------------------------------- driver
    def mutate(self, data: bytes, family: str, max_len: int = 1 << 20) -> bytes:
        ops = FAMILIES[family]
        self.max_len = max_len
        n = self.r.choice((1, 1, 1, 2, 2, 3, 4, 6, 8))
        out = bytes(data)
        for _ in range(n):
            op = self.r.choices(ops[0], ops[1])[0]
            try:
                out = op(self, out)
            except (ValueError, IndexError, struct.error, OverflowError, RecursionError, TypeError, KeyError):
                out = self.byte_op(out)
            if len(out) > max_len:
                out = out[:max_len]
        return out

    # ---------------------------------------------------------- byte level
    def _pos(self, data, extra=0) -> int:
        return self.r.randrange(len(data) + extra) if data or extra else 0

    def flip_bits(self, d: bytes) -> bytes:
        if not d:
            return bytes([self.r.randrange(256)])
        b = bytearray(d)
        for _ in range(self.r.choice((1, 1, 2, 4, 8))):
            i = self.r.randrange(len(b))
            b[i] ^= 1 << self.r.randrange(8)
        return bytes(b)

    def set_interesting(self, d: bytes) -> bytes:
        if len(d) < 4:
            return self.flip_bits(d)
        b = bytearray(d)
        w = self.r.choice((1, 2, 4))
        i = self.r.randrange(len(b) - w + 1)
        e = self.r.choice("<>")
        if w == 1:
            b[i] = self.r.choice(I8)
        elif w == 2:
            b[i:i + 2] = struct.pack(e + "H", self.r.choice(I16))
        else:
            b[i:i + 4] = struct.pack(e + "I", self.r.choice(I32))
        return bytes(b)

    def arith(self, d: bytes) -> bytes:
        if len(d) < 2:
            return self.flip_bits(d)
        b = bytearray(d)
        i = self.r.randrange(len(b) - 1)
        e = self.r.choice("<>")
        v = (struct.unpack_from(e + "H", b, i)[0] + self.r.randint(-35, 35)) & 0xFFFF
        struct.pack_into(e + "H", b, i, v)
        return bytes(b)

    def insert_bytes(self, d: bytes) -> bytes:
        i = self._pos(d, 1)
        k = self.r.choice((1, 2, 4, 16, 128, 1024))
        if self.r.random() < 0.5:
            ins = bytes(self.r.randrange(256) for _ in range(min(k, 64))) * (k // 64 + 1)
        else:
            ins = bytes([self.r.choice(I8)]) * k
        return d[:i] + ins[:k] + d[i:]

    def delete_bytes(self, d: bytes) -> bytes:
        if len(d) < 2:
            return d
        i = self.r.randrange(len(d))
        k = min(len(d) - i, self.r.choice((1, 2, 4, 16, 128, 1024, 8192)))
        return d[:i] + d[i + k:]

    def dup_chunk(self, d: bytes) -> bytes:
        if len(d) < 2:
            return d + d
        i = self.r.randrange(len(d))
        k = min(len(d) - i, self.r.choice((1, 4, 16, 256, 4096)))
        j = self._pos(d, 1)
        return d[:j] + d[i:i + k] * self._reps(k, 1, 1, 2, 16) + d[j:]

    def swap_chunks(self, d: bytes) -> bytes:
        if len(d) < 8:
            return d
        k = self.r.randint(1, max(1, len(d) // 8))
        i = self.r.randrange(len(d) - k)
        j = self.r.randrange(len(d) - k)
        if i > j:
            i, j = j, i
        if i + k > j:
            return d
        return d[:i] + d[j:j + k] + d[i + k:j] + d[i:i + k] + d[j + k:]

    def splice(self, d: bytes) -> bytes:
        if not self.pool:
            return self.dup_chunk(d)
        o = self.r.choice(self.pool)
        if not o or not d:
            return d or o
        i = self.r.randrange(len(d))
        j = self.r.randrange(len(o))
        return d[:i] + o[j:j + self.r.choice((16, 256, 4096, len(o)))]

    def truncate(self, d: bytes) -> bytes:
        if not d:
            return d
        mode = self.r.random()
        if mode < 0.3:
            return d[: self.r.randrange(len(d))]
        if mode < 0.6:
            return d[: max(0, len(d) - self.r.choice((1, 2, 3, 4, 8, 64)))]
        return d[: self.r.randrange(min(len(d), 64) or 1)]

    def append(self, d: bytes) -> bytes:
        tail = self.r.choice((b"\x00" * 16, b"\xff" * 16, b"\xff\xd9", b"\xff\xd8\xff\xe0", bytes(range(256))))
        return d + tail * self.r.choice((1, 1, 4))

    def byte_op(self, d: bytes) -> bytes:
        return self.r.choice(_BYTE_OPS)(self, d)

    def _random_bytes(self, n: int) -> bytes:
        return bytes(self.r.randrange(256) for _ in range(n))

    # ------------------------------------------------------------------ JPEG
    def jpeg_op(self, d: bytes) -> bytes:
        segs, scan_end = split_jpeg(d)
        if len(segs) < 2:
            return self.byte_op(d)
        op = self.r.choices(
            ("length", "drop", "dup", "swap", "payload", "insert", "cut", "entropy", "secondary", "mpf", "sof"),
            (8, 4, 3, 2, 14, 5, 4, 4, 5, 6, 5))[0]
        return getattr(self, "_jpeg_" + op)(d, segs, scan_end)

    def _with_len(self, segs):
        return [s for s in segs if s[2] - s[1] >= 4 and s[0] not in (0xD8, 0xD9) and not 0xD0 <= s[0] <= 0xD7]

    def _jpeg_length(self, d, segs, _):
        cand = self._with_len(segs)
        if not cand:
            return self.byte_op(d)
        m, s, e = self.r.choice(cand)
        cur = _u16(d, s + 2)
        v = self.r.choice((0, 1, 2, 3, cur - 1, cur + 1, cur + 2, cur * 2, 0xFFFF, cur + self.r.randint(-40, 40)))
        return d[:s + 2] + struct.pack(">H", v & 0xFFFF) + d[s + 4:]

    def _jpeg_drop(self, d, segs, _):
        m, s, e = self.r.choice(segs[1:])
        return d[:s] + d[e:]

    def _jpeg_dup(self, d, segs, _):
        m, s, e = self.r.choice(segs[1:])
        k = self._reps(e - s, 1, 1, 2, 50)
        at = self.r.choice(segs)[1]
        return d[:at] + d[s:e] * k + d[at:]

    def _jpeg_swap(self, d, segs, _):
        if len(segs) < 3:
            return d
        a, b = sorted(self.r.sample(range(1, len(segs)), 2))
        (_, s1, e1), (_, s2, e2) = segs[a], segs[b]
        return d[:s1] + d[s2:e2] + d[e1:s2] + d[s1:e1] + d[e2:]

    def _rebuild(self, d, s, e, marker, payload, fix_len=True):
        n = len(payload) + 2
        if n > 0xFFFF:
            payload = payload[:0xFFFF - 2]
            n = 0xFFFF
        ln = n if fix_len or self.r.random() < 0.85 else self.r.randrange(0x10000)
        return d[:s] + bytes((0xFF, marker)) + struct.pack(">H", ln) + payload + d[e:]

    def _jpeg_payload(self, d, segs, _):
        cand = [x for x in self._with_len(segs) if x[0] != 0xDA]
        if not cand:
            return self.byte_op(d)
        m, s, e = self.r.choice(cand)
        ln = _u16(d, s + 2)
        payload = d[s + 4:s + 2 + ln]
        payload = self.mutate_payload(m, payload)
        return self._rebuild(d, s, s + 2 + ln, m, payload)

    def mutate_payload(self, marker: int, p: bytes) -> bytes:
        """Mutate a segment payload according to what it holds."""
        for prefix, fam in ((b"http://ns.adobe.com/xap/1.0/\x00", "xmp"), (b"http://ns.adobe.com/xmp/extension/\x00", "ext"),
                            (b"urn:iso:std:iso:ts:21496:-1\x00", "struct32"), (b"MPF\x00", "ifd"),
                            (b"Exif\x00\x00", "ifd"), (b"ICC_PROFILE\x00", "icc")):
            if p.startswith(prefix):
                body = p[len(prefix):]
                if fam == "xmp":
                    body = self.xmp_op(body)
                elif fam == "ext":
                    body = self._ext_xmp(body)
                elif fam == "icc":
                    body = self._icc_chunk(body)
                else:
                    body = self.mutate(body, fam, 1 << 16)
                return prefix + body
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return self._sof_payload(p)
        return self.byte_op(p)

    def _ext_xmp(self, body: bytes) -> bytes:
        if len(body) < 40 or self.r.random() < 0.3:
            return self.byte_op(body)
        full, off = struct.unpack(">II", body[32:40])
        full = self.r.choice((0, 1, full - 1, full + 1, 0xFFFFFFFF, 1 << 30, full))
        off = self.r.choice((0, off + 1, off - 1, full, 0xFFFFFFFF, off)) & 0xFFFFFFFF
        return body[:32] + struct.pack(">II", full & 0xFFFFFFFF, off) + body[40:]

    def _icc_chunk(self, body: bytes) -> bytes:
        if len(body) < 2 or self.r.random() < 0.4:
            return body[:2] + self.mutate(body[2:], "struct32", 1 << 16) if len(body) > 2 else self.byte_op(body)
        return bytes((self.r.choice((0, 1, 2, 255, body[0])), self.r.choice((0, 1, 2, 255, body[1])))) + body[2:]

    def _sof_payload(self, p: bytes) -> bytes:
        if len(p) < 6:
            return self.byte_op(p)
        b = bytearray(p)
        what = self.r.randrange(5)
        if what == 0:
            b[1:3] = struct.pack(">H", self.r.choice((0, 1, 2, 7, 60000, 0xFFFF, 16384)))
        elif what == 1:
            b[3:5] = struct.pack(">H", self.r.choice((0, 1, 3, 60000, 0xFFFF, 16384)))
        elif what == 2:
            b[5] = self.r.choice((0, 1, 2, 3, 4, 5, 255))
        elif what == 3:
            b[0] = self.r.choice((0, 1, 8, 12, 16, 255))
        elif len(b) > 7:
            i = 7 + 3 * self.r.randrange(max(1, (len(b) - 6) // 3))
            if i < len(b):
                b[i] = self.r.choice((0x00, 0x11, 0x22, 0x44, 0x41, 0x14, 0x55, 0xFF, 0x12, 0x21, 0x31))
        return bytes(b)

    def _jpeg_sof(self, d, segs, se):
        cand = [x for x in segs if 0xC0 <= x[0] <= 0xCF and x[0] not in (0xC4, 0xC8, 0xCC)]
        if not cand:
            return self._jpeg_payload(d, segs, se)
        m, s, e = self.r.choice(cand)
        ln = _u16(d, s + 2)
        if self.r.random() < 0.2:  # change the coding process
            return d[:s + 1] + bytes((self.r.choice((0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC9, 0xCB, 0xCF)),)) + d[s + 2:]
        return self._rebuild(d, s, s + 2 + ln, m, self._sof_payload(d[s + 4:s + 2 + ln]))

    def _jpeg_insert(self, d, segs, _):
        at = self.r.choice(segs[1:])[1] if len(segs) > 1 else 2
        kind = self.r.randrange(8)
        if kind == 0:
            seg_payload = b"MPF\x00" + self.r.choice((b"MM\x00*", b"II*\x00")) + self._random_bytes(40)
            marker = 0xE2
        elif kind == 1:
            seg_payload = b"urn:iso:std:iso:ts:21496:-1\x00" + self._random_bytes(self.r.choice((0, 4, 5, 60)))
            marker = 0xE2
        elif kind == 2:
            seg_payload = b"http://ns.adobe.com/xap/1.0/\x00" + self.r.choice(list(HOSTILE_XMP.values()))
            marker = 0xE1
        elif kind == 3:
            seg_payload = (b"http://ns.adobe.com/xmp/extension/\x00" + b"A" * 32
                           + struct.pack(">II", self.r.choice((10, 1 << 31, 0xFFFFFFFF, 1 << 24)), 0) + b"<x/>")
            marker = 0xE1
        elif kind == 4:
            seg_payload = b"ICC_PROFILE\x00" + bytes((self.r.randrange(4), self.r.randrange(4))) + b"\x00" * 40
            marker = 0xE2
        elif kind == 5:
            seg_payload = b"Exif\x00\x00" + self.r.choice((b"MM\x00*", b"II*\x00")) + self._random_bytes(30)
            marker = 0xE1
        elif kind == 6:  # a second SOF / SOS / DRI / DHT, or standalone markers
            marker = self.r.choice((0xC0, 0xC2, 0xDA, 0xDD, 0xC4, 0xDB, 0xD9, 0xD8, 0xD0, 0x01, 0xCC, 0xDC))
            if marker in (0xD9, 0xD8, 0xD0, 0x01):
                return d[:at] + bytes((0xFF, marker)) + d[at:]
            seg_payload = bytes(self.r.randrange(256) for _ in range(self.r.choice((0, 1, 2, 4, 6, 17))))
        else:
            marker = self.r.randrange(0xE0, 0xF0)
            seg_payload = bytes(self.r.randrange(256) for _ in range(self.r.choice((0, 1, 16, 300))))
        seg = bytes((0xFF, marker)) + struct.pack(">H", min(len(seg_payload) + 2, 0xFFFF)) + seg_payload
        return d[:at] + seg * self._reps(len(seg), 1, 1, 1, 3, 200) + d[at:]

    def _jpeg_cut(self, d, segs, _):
        m, s, e = self.r.choice(segs)
        at = self.r.choice((s, s + 1, s + 2, s + 3, s + 4, e - 1, e, (s + e) // 2))
        return d[:max(0, at)]

    def _jpeg_entropy(self, d, segs, _):
        sos = [x for x in segs if x[0] == 0xDA]
        if not sos:
            return self.byte_op(d)
        m, s, e = self.r.choice(sos)
        hdr_end = s + 2 + _u16(d, s + 2)
        if e - hdr_end < 4:
            return d
        i = self.r.randrange(hdr_end, e)
        what = self.r.randrange(4)
        if what == 0:
            return d[:i] + bytes((0xFF, self.r.choice((0xD9, 0xD8, 0xDA, 0xC0, 0xD3, 0xE1, 0xFE, 0x01)))) + d[i:]
        if what == 1:
            return d[:i] + d[e:]  # cut the scan short
        if what == 2:
            b = bytearray(d)
            for _ in range(self.r.choice((1, 8, 64))):
                b[self.r.randrange(hdr_end, e)] = self.r.randrange(256)
            return bytes(b)
        return d[:hdr_end] + bytes(self.r.randrange(256) for _ in range(16)) + d[e:]

    def _jpeg_secondary(self, d, segs, scan_end):
        if scan_end <= 0 or scan_end >= len(d):
            return self._jpeg_insert(d, segs, scan_end) if self.r.random() < 0.5 else self.append(d)
        head, tail = d[:scan_end], d[scan_end:]
        what = self.r.randrange(5)
        if what == 0:
            return head + self.jpeg_op(tail)
        if what == 1:
            return head + tail[: self.r.randrange(len(tail) + 1)]
        if what == 2:
            return head + self.r.choice((b"\x00" * self.r.randrange(1, 64), b"")) + tail
        if what == 3:
            return head
        return head + tail + tail  # a third image nobody points at

    def _jpeg_mpf(self, d, segs, se):
        cand = [x for x in segs if x[0] == 0xE2 and d[x[1] + 4:x[1] + 8] == b"MPF\x00"]
        if not cand:
            return self._jpeg_insert(d, segs, se)
        m, s, e = self.r.choice(cand)
        ln = _u16(d, s + 2)
        body = bytearray(d[s + 8:s + 2 + ln])
        if len(body) < 8:
            return d
        ee = ">" if body[:2] == b"MM" else "<"
        try:
            ifd = struct.unpack_from(ee + "I", body, 4)[0]
            cnt = struct.unpack_from(ee + "H", body, ifd)[0]
            for k in range(min(cnt, 32)):
                tag, typ, c, val = struct.unpack_from(ee + "HHII", body, ifd + 2 + 12 * k)
                if tag == 0xB001 and self.r.random() < 0.4:
                    struct.pack_into(ee + "I", body, ifd + 2 + 12 * k + 8,
                                     self.r.choice((0, 1, 3, 64, 65, 1000, 0xFFFF, 0xFFFFFFFF, 1 << 28)))
                elif tag == 0xB002:
                    if self.r.random() < 0.3:
                        struct.pack_into(ee + "I", body, ifd + 2 + 12 * k + 4,
                                         self.r.choice((0, 4, 16, 17, 48, 1 << 20, 0xFFFFFFFF)))
                    elif self.r.random() < 0.5 and val + 32 <= len(body):
                        which = self.r.randrange(2)
                        field = self.r.choice((4, 8))  # size or offset of that entry
                        v = self.r.choice((0, 1, 2, len(d), len(d) - 1, len(d) + 1, s, 0xFFFFFFFF, 0x7FFFFFFF,
                                           self.r.randrange(len(d) + 1)))
                        struct.pack_into(ee + "I", body, val + 16 * which + field, v & 0xFFFFFFFF)
                    else:
                        struct.pack_into(ee + "I", body, ifd + 2 + 12 * k + 8, self.r.choice((0, 8, len(body), 0xFFFFFFFF)))
            if self.r.random() < 0.2:
                struct.pack_into(ee + "H", body, ifd, self.r.choice((0, 1, 2, 255, 256, 0xFFFF)))
            if self.r.random() < 0.1:
                body[:4] = self.r.choice((b"MM\x00*", b"II*\x00", b"XX\x00*"))
        except struct.error:
            pass
        return self._rebuild(d, s, s + 2 + ln, m, b"MPF\x00" + bytes(body))

    # ------------------------------------------------------------------- IFD
    def ifd_op(self, d: bytes) -> bytes:
        if len(d) < 8 or d[:4] not in (b"MM\x00*", b"II*\x00", b"Exif"):
            return self.struct_op(d, 4)
        off0 = 6 if d[:4] == b"Exif" else 0
        e = ">" if d[off0:off0 + 2] == b"MM" else "<"
        b = bytearray(d)
        try:
            ifd = struct.unpack_from(e + "I", b, off0 + 4)[0] + off0
            cnt = struct.unpack_from(e + "H", b, ifd)[0]
            what = self.r.randrange(6)
            if what == 0:
                struct.pack_into(e + "H", b, ifd, self.r.choice((0, 1, cnt + 1, 500, 1001, 0xFFFF)))
            elif what == 1:
                struct.pack_into(e + "I", b, off0 + 4, self.r.choice((0, 1, 7, 8, len(b), len(b) - 2, 0xFFFFFFFF)))
            elif cnt:
                k = self.r.randrange(min(cnt, 256))
                at = ifd + 2 + 12 * k
                fld = self.r.choice(((0, "H", (0x8769, 0x8825, 0xA005, 0x0201, 0x0202, 0xB001, 0xB002, 0x927C, 0)),
                                     (2, "H", (0, 1, 2, 3, 4, 5, 7, 12, 13, 0xFFFF)),
                                     (4, "I", (0, 1, 4, 5, 0x10000, 0x3FFFFFFF, 0xFFFFFFFF, 1 << 28)),
                                     (8, "I", (0, 1, 8, len(b) - 1, len(b), 0xFFFFFFFF, ifd, off0 + 4))))
                struct.pack_into(e + fld[1], b, at + fld[0], self.r.choice(fld[2]))
            else:
                return self.struct_op(d, 4)
        except struct.error:
            return self.byte_op(d)
        return bytes(b)

    # ---------------------------------------------------------------- struct
    def struct_op(self, d: bytes, width: int = 4) -> bytes:
        if len(d) < width or self.r.random() < 0.15:
            return self.byte_op(d)
        b = bytearray(d)
        base = self.r.randrange(min(width, len(b)))
        slots = (len(b) - base) // width
        if slots <= 0:
            return self.byte_op(d)
        i = base + width * self.r.randrange(slots)
        e = self.r.choice(">>><")
        if width == 4:
            kind = self.r.randrange(3)
            if kind == 0:
                struct.pack_into(e + "I", b, i, self.r.choice(I32))
            elif kind == 1:
                v = struct.unpack_from(e + "i", b, i)[0]
                v = -v if self.r.random() < 0.5 else v + self.r.randint(-9, 9)
                struct.pack_into(e + "i", b, i, max(-(1 << 31), min((1 << 31) - 1, v)))
            else:
                struct.pack_into(e + "I", b, i, self.r.getrandbits(32))
        else:
            struct.pack_into(e + "H", b, i, self.r.choice(I16) if self.r.random() < 0.7 else self.r.getrandbits(16))
        if self.r.random() < 0.2 and len(b) > 4:
            b[4] = self.r.choice((0, 0x80, 0x40, 0xC0, 0x08, 0x88, 0x04, 0x01, 0xFF, 0x48))
        return bytes(b)

    def struct16_op(self, d):
        return self.struct_op(d, 2)

    # -------------------------------------------------------------------- XMP
    def xmp_op(self, d: bytes) -> bytes:
        try:
            t = d.decode("utf-8")
        except UnicodeDecodeError:
            return self.byte_op(d)
        what = self.r.choices(range(12), (10, 6, 3, 3, 3, 3, 3, 2, 2, 3, 2, 3))[0]
        if what == 0:  # a number somewhere -> something odd
            nums = list(re.finditer(r"-?\d+(\.\d+)?", t))
            if nums:
                m = self.r.choice(nums)
                t = t[:m.start()] + self.r.choice(WEIRD_NUMBERS) + t[m.end():]
        elif what == 1:  # attribute value -> odd text
            vals = list(re.finditer(r'="([^"]*)"', t))
            if vals:
                m = self.r.choice(vals)
                v = self.r.choice(WEIRD_NUMBERS + ("&amp;", "&lt;x", "&#0;", "&#x110000;", "\x00", '"', "<", "&undefined;",
                                                   "True", "false", "TRUE", "a" * 5000))
                t = t[:m.start(1)] + v + t[m.end(1):]
        elif what == 2:  # hostile declarations in front
            h = self.r.choice(list(HOSTILE_XMP.values())).decode()
            decl = h[:h.index("<x:xmpmeta")] if "<x:xmpmeta" in h else h
            t = decl + t
        elif what == 3:  # duplicate an element (searched in a 16 KB window: the regex backtracks)
            w0 = self.r.randrange(max(1, len(t) - (16 << 10)))
            win = t[w0:w0 + (16 << 10)]
            tags = list(re.finditer(r"<([A-Za-z][\w:.-]*)[^<>]*?(/>|>[^<]*</\1>)", win))
            if tags:
                m = self.r.choice(tags)
                e = w0 + m.end()
                t = t[:e] + m.group(0) * self._reps(len(m.group(0)), 1, 2, 2, 100, 100, 3000) + t[e:]
        elif what == 4:  # many attributes on one element
            k = self._reps(16, 10, 999, 1001, 1001, 5000) if self.r.random() < 0.95 else self._reps(16, 100_000)
            extra = "".join(f' hdrgm:a{i}="{i}"' for i in range(k))
            if "<rdf:Description " in t:
                t = t.replace("<rdf:Description ", "<rdf:Description " + extra + " ", 1)
            else:
                t = t + extra
        elif what == 5:  # deep nesting
            k = self._reps(7, 100, 5000, 60000)
            t = t.replace("</rdf:RDF>", "<a>" * k + "</a>" * k + "</rdf:RDF>", 1) if "</rdf:RDF>" in t else "<a>" * k + t
        elif what == 6:  # delete a random tag or range
            i = self.r.randrange(len(t) + 1)
            t = t[:i] + t[i + self.r.choice((1, 2, 10, 100)):]
        elif what == 7:  # change a namespace URI or prefix
            uris = list(re.finditer(r'xmlns:(\w+)="([^"]*)"', t))
            if uris:
                m = self.r.choice(uris)
                uri = self.r.choice(("", "http://ns.adobe.com/hdr-gain-map/1.0/", "x", m.group(2) + "x"))
                t = t[:m.start(2)] + uri + t[m.end(2):]
        elif what == 8:  # encodings
            return self.r.choice((t.encode("utf-16"), t.encode("utf-16-be"), b"\xfe\xff" + t.encode("utf-8"),
                                  t.encode("utf-8") + b"\x00" * 100, b"\xef\xbb\xbf" + t.encode(),
                                  t.encode("latin-1", "replace")))
        elif what == 9:  # rdf:Seq element count / container kind
            t = re.sub(r"<rdf:li>([^<]*)</rdf:li>", lambda m: m.group(0) * self.r.choice((0, 1, 2)), t, count=3)
            if self.r.random() < 0.5:
                t = t.replace("rdf:Seq", self.r.choice(("rdf:Bag", "rdf:Alt", "rdf:Seqx")))
        elif what == 10:  # CDATA, PIs, comments
            i = self.r.randrange(len(t) + 1)
            t = t[:i] + self.r.choice(("<![CDATA[<x>]]>", "<?pi x?>", "<!-- c -->", "<!ATTLIST a b CDATA #IMPLIED>")) + t[i:]
        else:
            return self.byte_op(t.encode())
        return t.encode("utf-8", "surrogatepass")

    # ------------------------------------------------------------------- text
    def text_op(self, d: bytes) -> bytes:
        t = d.decode("utf-8", "replace")
        toks = re.findall(r"\d+(?:\.\d+)?|[A-Za-z]+|\s+|.", t)
        if not toks:
            return self.byte_op(d)
        what = self.r.randrange(8)
        if what == 0:
            idx = [i for i, x in enumerate(toks) if x[:1].isdigit()]
            if idx:
                toks[self.r.choice(idx)] = self.r.choice(WEIRD_NUMBERS)
        elif what == 1:
            idx = [i for i, x in enumerate(toks) if x.isalpha()]
            if idx:
                toks[self.r.choice(idx)] = self.r.choice(("G", "B", "R", "WP", "L", "g", "wp", "X", "", "GG"))
        elif what == 2:
            i = self.r.randrange(len(toks))
            toks.insert(i, self.r.choice(("(", ")", ",", " ", "\t", "\n", ",,", "((", "))", "\u00a0", "\x00")))
        elif what == 3:
            del toks[self.r.randrange(len(toks))]
        elif what == 4:  # repeat a group
            groups = re.findall(r"[A-Za-z]+\([^()]*\)", t)
            if groups:
                g = self.r.choice(groups)
                return (t + g * self._reps(len(g), 1, 2, 100)).encode()
        elif what == 5:  # long runs (backtracking stress)
            i = self.r.randrange(len(toks) + 1)
            toks.insert(i, self.r.choice((" ", "(", "1", ",", "G(")) * self._reps(2, 100, 5000, 30000))
        elif what == 6:  # shuffle groups
            groups = re.findall(r"[A-Za-z]+\([^()]*\)", t)
            self.r.shuffle(groups)
            return "".join(groups).encode()
        else:
            return self.byte_op(d)
        return "".join(toks).encode("utf-8", "surrogatepass")

    # ------------------------------------------------------------------- JSON
    def json_op(self, d: bytes) -> bytes:
        try:
            doc = json.loads(d)
        except (ValueError, RecursionError):
            return self.byte_op(d)
        what = self.r.randrange(10)
        if what == 9:
            k = self._reps(2, 100, 2000, 100_000)
            return b"[" * k + d + b"]" * k
        nodes = []

        def walk(x, parent, key, depth):
            nodes.append((parent, key, x))
            if depth > 12 or len(nodes) > 5000:
                return
            if isinstance(x, dict):
                for k, v in list(x.items()):
                    walk(v, x, k, depth + 1)
            elif isinstance(x, list):
                for i, v in enumerate(x):
                    walk(v, x, i, depth + 1)

        walk(doc, None, None, 0)
        parent, key, node = self.r.choice(nodes)
        repl = self.r.choice((None, 0, -1, 1.5, 1e308, float("nan"), float("inf"), 2 ** 64, -(2 ** 63), 10 ** 400, "", "1",
                              "B", True, [], {}, [0] * 3, [1] * 20, {"a": 1}, "x" * 10000, [[[]]]))
        if what in (0, 1, 2, 3) and parent is not None:
            parent[key] = repl
        elif what == 4 and isinstance(parent, dict):
            del parent[key]
        elif what == 4 and isinstance(parent, list) and parent:
            parent.pop(key)
        elif what == 5 and isinstance(node, list):
            node.extend(node * self._reps(8 * len(node) + 1, 1, 10, 1000) if node else [0] * 100)
        elif what == 6 and isinstance(node, list):
            del node[self.r.randrange(len(node) + 1):]
        elif what == 7 and isinstance(node, dict) and node:
            k = self.r.choice(list(node))
            node[k + self.r.choice(("", "x", " "))] = node.pop(k)
        elif what == 8 and parent is not None:
            x = node
            for _ in range(self.r.choice((2, 50, 900))):
                x = [x]
            parent[key] = x
        try:
            out = json.dumps(doc, allow_nan=True)
        except (ValueError, RecursionError, OverflowError):
            return self.byte_op(d)
        return out.encode() if self.r.random() < 0.9 else self.byte_op(out.encode())

    # ------------------------------------------------------------------ video
    def video_op(self, d: bytes) -> bytes:
        if d[4:8] == b"ftyp":
            return self.r.choices((self._mp4_op, self.truncate, self.flip_bits, self._nal_in_mp4), (6, 3, 2, 3))[0](d)
        return self.r.choices((self._nal_op, self.truncate, self.flip_bits), (6, 3, 2))[0](d)

    def _mp4_op(self, d: bytes) -> bytes:
        boxes = split_boxes(d)
        if not boxes:
            return self.byte_op(d)
        typ, s, e = self.r.choice(boxes)
        what = self.r.randrange(7)
        b = bytearray(d)
        if what == 0:  # size field
            cur = e - s
            struct.pack_into(">I", b, s, self.r.choice((0, 1, 7, 8, cur - 1, cur + 1, cur * 2, 0xFFFFFFFF)) & 0xFFFFFFFF)
        elif what == 1:  # drop the box
            return d[:s] + d[e:]
        elif what == 2:  # type fourcc
            b[s + 4:s + 8] = self.r.choice((b"free", b"hev1", b"avc1", b"colr", b"mdat", b"moov", b"xxxx", b"uuid"))
        elif what == 3:  # colr nclx values (wrong tags)
            cands = [x for x in boxes if x[0] == b"colr"]
            if cands:
                _, cs, ce = self.r.choice(cands)
                if ce - cs >= 18:
                    k = self.r.randrange(3)
                    struct.pack_into(">H", b, cs + 12 + 2 * k, self.r.choice((0, 1, 2, 9, 16, 18, 14, 255, 0xFFFF)))
                    if self.r.random() < 0.3:
                        b[cs + 18] = self.r.choice((0, 0x80, 0xFF))
        elif what == 4:  # sample tables: entry counts and values
            cands = [x for x in boxes if x[0] in (b"stsz", b"stco", b"stsc", b"stts", b"ctts", b"stss", b"co64", b"elst")]
            if cands:
                _, cs, ce = self.r.choice(cands)
                if ce - cs >= 16:
                    i = cs + 12 + 4 * self.r.randrange(max(1, (ce - cs - 12) // 4))
                    if i + 4 <= ce:
                        struct.pack_into(">I", b, i, self.r.choice((0, 1, 2, 0x7FFFFFFF, 0xFFFFFFFF, 1 << 20, 8)))
        elif what == 5:  # mdat contents
            cands = [x for x in boxes if x[0] == b"mdat"]
            if cands:
                _, cs, ce = self.r.choice(cands)
                if ce - cs > 16:
                    i = self.r.randrange(cs + 8, ce)
                    k = self.r.choice((1, 16, 1024))
                    b[i:i + k] = bytes(self.r.randrange(256) for _ in range(min(k, ce - i)))
        else:  # cut inside / at the end of the box
            return d[: self.r.choice((s, s + 8, (s + e) // 2, e - 1))]
        return bytes(b)

    def _nal_in_mp4(self, d: bytes) -> bytes:
        boxes = [x for x in split_boxes(d) if x[0] in (b"hvcC", b"mdat")]
        if not boxes:
            return self.flip_bits(d)
        _, s, e = self.r.choice(boxes)
        if e - s <= 16:
            return d
        body = d[s + 8:e]
        b = bytearray(body)
        for _ in range(self.r.choice((1, 2, 4))):
            i = self.r.randrange(len(b))
            b[i] = self.r.choice((0, 0xFF, b[i] ^ (1 << self.r.randrange(8)), 0x40, 0x42, 0x44, 0x4E, 0x01))
        return d[:s + 8] + bytes(b) + d[e:]

    def _nal_op(self, d: bytes) -> bytes:
        nals = split_nals(d)
        if len(nals) < 2:
            return self.byte_op(d)
        units = [d[s:e] for s, e in nals]
        what = self.r.randrange(6)
        i = self.r.randrange(len(units))
        if what == 0:
            del units[i]
        elif what == 1:
            units.insert(self.r.randrange(len(units)), units[i])
        elif what == 2:
            j = self.r.randrange(len(units))
            units[i], units[j] = units[j], units[i]
        elif what == 3:
            u = bytearray(units[i])
            if u:
                k = self.r.randrange(min(len(u), 64))
                u[k] ^= 1 << self.r.randrange(8)
            units[i] = bytes(u)
        elif what == 4:
            units[i] = units[i][: self.r.randrange(len(units[i]) + 1)]
        else:  # NAL type byte
            u = bytearray(units[i])
            if u:
                u[0] = (self.r.choice((32, 33, 34, 35, 39, 40, 19, 1, 62, 63)) << 1) | (u[0] & 0x81)
            units[i] = bytes(u)
        return b"".join(b"\x00\x00\x00\x01" + u for u in units)


_BYTE_OPS = (Mutator.flip_bits, Mutator.flip_bits, Mutator.set_interesting, Mutator.set_interesting, Mutator.arith,
             Mutator.insert_bytes, Mutator.delete_bytes, Mutator.dup_chunk, Mutator.swap_chunks, Mutator.splice,
             Mutator.truncate, Mutator.append)


def _fam(*pairs):
    return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)


#: family -> (operations, weights)
FAMILIES = {
    "bytes": _fam((Mutator.byte_op, 1)),
    "jpeg": _fam((Mutator.jpeg_op, 7), (Mutator.byte_op, 3)),
    "ifd": _fam((Mutator.ifd_op, 6), (Mutator.struct_op, 2), (Mutator.byte_op, 2)),
    "struct32": _fam((Mutator.struct_op, 7), (Mutator.byte_op, 3)),
    "struct16": _fam((Mutator.struct16_op, 5), (Mutator.struct_op, 2), (Mutator.byte_op, 3)),
    "xmp": _fam((Mutator.xmp_op, 7), (Mutator.byte_op, 3)),
    "text": _fam((Mutator.text_op, 7), (Mutator.byte_op, 3)),
    "json": _fam((Mutator.json_op, 7), (Mutator.byte_op, 3)),
    "video": _fam((Mutator.video_op, 1)),
}
