"""Test helper: add a child box to the video sample entry of an MP4 written by FFmpeg.

Only for files whose ``moov`` follows ``mdat`` (FFmpeg's default), so chunk offsets stay
valid. Used to make Dolby Vision-tagged files (``dvcC``/``dvvC``) that FFmpeg itself then
reads back as the oracle.
"""

from __future__ import annotations

import struct
from pathlib import Path

_PATH = (b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd")


def _boxes(buf, start, end):
    i = start
    while i + 8 <= end:
        size, typ = struct.unpack(">I4s", buf[i:i + 8])
        yield typ, i, i + size
        i += size


def add_sample_entry_box(src, dst, box_type: bytes, body: bytes) -> None:
    data = bytearray(Path(src).read_bytes())
    top = list(_boxes(data, 0, len(data)))
    names = [t for t, _, _ in top]
    assert names.index(b"moov") > names.index(b"mdat"), "moov must come after mdat"
    parents = []  # (offset) of every box whose size grows
    start, end = 0, len(data)
    for want in _PATH:
        found = None
        for typ, s, e in _boxes(data, start, end):
            if typ == want:
                if want == b"trak":
                    hdlr = data.find(b"vide", s, e)
                    if hdlr < 0:
                        continue
                found = (s, e)
                break
        assert found, want
        parents.append(found[0])
        hdr = 8 + (8 if want == b"stsd" else 0)  # stsd: full box header + entry_count
        start, end = found[0] + hdr, found[1]
    entry_s, entry_e = next((s, e) for _, s, e in _boxes(data, start, end))
    parents.append(entry_s)
    new = struct.pack(">I4s", 8 + len(body), box_type) + body
    data[entry_e:entry_e] = new
    for off in parents:
        size = struct.unpack(">I", data[off:off + 4])[0]
        data[off:off + 4] = struct.pack(">I", size + len(new))
    Path(dst).write_bytes(bytes(data))
