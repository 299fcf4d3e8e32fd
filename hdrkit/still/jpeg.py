"""JPEG marker scanner: segments with absolute offsets, frame header, APPn payloads.

The scanner is driven by :data:`MARKERS` (marker code -> name, description, kind) and
:data:`APP_SIGNATURES` (APPn marker + payload prefix -> payload kind). It never decodes
entropy-coded data; it skips it to find the next marker, so it also finds the end (EOI)
of an image and the start of the next one. Every read is bounds-checked and the number
of segments is limited.

Payloads recognised by signature: JFIF, Exif (APP1 ``Exif\\0\\0``), XMP (APP1
``http://ns.adobe.com/xap/1.0/\\0``), extended XMP (APP1
``http://ns.adobe.com/xmp/extension/\\0`` + GUID + full length + offset), ICC profile (APP2
``ICC_PROFILE\\0`` + sequence number + count, reassembled), MPF (APP2 ``MPF\\0``), ISO 21496-1
(APP2 ``urn:iso:std:iso:ts:21496:-1\\0``), Photoshop IRB (APP13) and Adobe (APP14).

References
----------
- ITU-T T.81 | ISO/IEC 10918-1 (1992), Annex B (marker codes, B.1.1.2-B.1.1.5 segment
  syntax, B.2.2 frame header, B.1.1.2 fill bytes, F.1.2.3 byte stuffing).
- ITU-T T.871 | ISO/IEC 10918-5 (2011), JFIF (APP0).
- CIPA DC-008-2019 (Exif 2.32) §4.7.2 (APP1 Exif); CIPA DC-007 (MPF, APP2).
- ICC.1:2022 Annex B.4 (embedding ICC profiles in JPEG, APP2 chunks).
- Adobe XMP Specification Part 3 (2020) §1.1.3 (standard and extended XMP in JPEG).
- ISO 21496-1:2025 (gain-map metadata APP2 signature).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

from ..errors import ContainerError, LimitError

__all__ = [
    "MARKERS",
    "APP_SIGNATURES",
    "DEFAULT_MAX_SEGMENTS",
    "Segment",
    "Component",
    "FrameHeader",
    "JpegStructure",
    "is_jpeg",
    "scan_jpeg",
    "app_segment",
    "insert_segments",
]

#: Most segments a scan accepts before refusing the file (LimitError).
DEFAULT_MAX_SEGMENTS = 4096

# kinds: "standalone" (no length), "segment" (length-prefixed), "sos", "eoi", "soi"
MARKERS: dict[int, tuple[str, str, str]] = {
    0x01: ("TEM", "temporary private use", "standalone"),
    0xC4: ("DHT", "define Huffman tables", "segment"),
    0xC8: ("JPG", "reserved for JPEG extensions", "segment"),
    0xCC: ("DAC", "define arithmetic coding conditioning", "segment"),
    0xD8: ("SOI", "start of image", "soi"),
    0xD9: ("EOI", "end of image", "eoi"),
    0xDA: ("SOS", "start of scan", "sos"),
    0xDB: ("DQT", "define quantization tables", "segment"),
    0xDC: ("DNL", "define number of lines", "segment"),
    0xDD: ("DRI", "define restart interval", "segment"),
    0xDE: ("DHP", "define hierarchical progression", "segment"),
    0xDF: ("EXP", "expand reference components", "segment"),
    0xFE: ("COM", "comment", "segment"),
}
_SOF_PROCESS = {
    0xC0: "baseline DCT", 0xC1: "extended sequential DCT", 0xC2: "progressive DCT", 0xC3: "lossless",
    0xC5: "differential sequential DCT", 0xC6: "differential progressive DCT", 0xC7: "differential lossless",
    0xC9: "extended sequential DCT, arithmetic", 0xCA: "progressive DCT, arithmetic",
    0xCB: "lossless, arithmetic", 0xCD: "differential sequential DCT, arithmetic",
    0xCE: "differential progressive DCT, arithmetic", 0xCF: "differential lossless, arithmetic",
}
for _code, _desc in _SOF_PROCESS.items():
    MARKERS[_code] = (f"SOF{_code - 0xC0}", f"start of frame ({_desc})", "segment")
for _n in range(8):
    MARKERS[0xD0 + _n] = (f"RST{_n}", "restart", "standalone")
for _n in range(16):
    MARKERS[0xE0 + _n] = (f"APP{_n}", "application segment", "segment")
for _n in range(14):
    MARKERS[0xF0 + _n] = (f"JPG{_n}", "reserved for JPEG extensions", "segment")

#: (APPn marker, payload prefix) -> payload kind; the first match wins.
APP_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0xE0, b"JFIF\x00", "jfif"),
    (0xE0, b"JFXX\x00", "jfxx"),
    (0xE1, b"Exif\x00\x00", "exif"),
    (0xE1, b"http://ns.adobe.com/xap/1.0/\x00", "xmp"),
    (0xE1, b"http://ns.adobe.com/xmp/extension/\x00", "xmp_extended"),
    (0xE2, b"ICC_PROFILE\x00", "icc"),
    (0xE2, b"MPF\x00", "mpf"),
    (0xE2, b"urn:iso:std:iso:ts:21496:-1\x00", "iso21496"),
    (0xED, b"Photoshop 3.0\x00", "photoshop"),
    (0xEE, b"Adobe", "adobe"),
)
_PREFIX = {kind: prefix for _, prefix, kind in APP_SIGNATURES}

# A marker inside entropy-coded data: FF followed by anything but 00 (stuffing),
# D0-D7 (restart) or FF (fill).
_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


@dataclass(frozen=True)
class Segment:
    """One marker segment. Offsets are absolute in the scanned buffer.

    ``offset`` is the position of the 0xFF byte; ``length`` the segment length field
    (0 for standalone markers); ``payload`` the bytes after the length field.
    """

    marker: int
    name: str
    offset: int
    length: int
    payload: bytes = b""
    kind: str | None = None

    @property
    def payload_offset(self) -> int:
        return self.offset + (4 if self.length else 2)

    @property
    def end(self) -> int:
        return self.offset + 2 + self.length

    def body(self) -> bytes:
        """Payload after its signature prefix (for recognised kinds)."""
        return self.payload[len(_PREFIX.get(self.kind, b"")):]


@dataclass(frozen=True)
class Component:
    """One frame component (T.81 B.2.2): id, horizontal/vertical sampling, quant table."""

    id: int
    h: int
    v: int
    tq: int


@dataclass(frozen=True)
class FrameHeader:
    """SOFn fields (T.81 B.2.2). ``width``/``height`` in pixels."""

    marker: int
    process: str
    precision: int
    height: int
    width: int
    components: tuple[Component, ...]

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def sampling(self) -> str:
        """Chroma subsampling as 'gray', '4:4:4', '4:2:2', '4:2:0', '4:4:0', '4:1:1' or 'HxV,...'."""
        c = self.components
        if len(c) == 1:
            return "gray"
        if len(c) == 3 and c[1].h == c[2].h == 1 and c[1].v == c[2].v == 1:
            return {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (1, 2): "4:4:0", (4, 1): "4:1:1"}.get(
                (c[0].h, c[0].v), ",".join(f"{x.h}x{x.v}" for x in c))
        return ",".join(f"{x.h}x{x.v}" for x in c)


@dataclass
class JpegStructure:
    """What :func:`scan_jpeg` found in one JPEG image.

    ``start`` is the offset of SOI; ``end`` the offset just past EOI, or ``None`` when the
    data ends first (``truncated``). Payload fields hold reassembled, prefix-stripped bytes.
    """

    start: int
    end: int | None
    segments: list[Segment]
    frame: FrameHeader | None
    exif: bytes | None = None
    xmp: bytes | None = None
    xmp_extended: bytes | None = None
    xmp_extended_guid: str | None = None
    icc: bytes | None = None
    mpf: Segment | None = None
    iso21496: bytes | None = None
    jfif: tuple[int, int] | None = None
    adobe_transform: int | None = None
    restart_interval: int = 0
    scans: int = 0
    truncated: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def mpf_base_offset(self) -> int | None:
        """Absolute offset of the MPF endian field (the origin of MP entry offsets)."""
        if self.mpf is None:
            return None
        return self.mpf.payload_offset + len(_PREFIX["mpf"])

    def segments_of(self, kind: str) -> list[Segment]:
        return [s for s in self.segments if s.kind == kind]


def is_jpeg(data: bytes, start: int = 0) -> bool:
    """True when ``data[start:]`` begins with SOI followed by another marker."""
    return data[start:start + 3] == b"\xff\xd8\xff"


def _u16(data: bytes, pos: int) -> int:
    return (data[pos] << 8) | data[pos + 1]


def _kind_of(marker: int, payload: bytes) -> str | None:
    for m, prefix, kind in APP_SIGNATURES:
        if m == marker and payload.startswith(prefix):
            return kind
    return None


def _parse_frame(seg: Segment) -> FrameHeader:
    p = seg.payload
    if len(p) < 6:
        raise ContainerError(f"JPEG {seg.name} at offset {seg.offset} is too short ({len(p)} bytes)")
    precision, height, width, n = p[0], _u16(p, 1), _u16(p, 3), p[5]
    if len(p) < 6 + 3 * n or n == 0:
        raise ContainerError(f"JPEG {seg.name} at offset {seg.offset} declares {n} components in {len(p)} bytes")
    comps = tuple(Component(p[6 + 3 * i], p[7 + 3 * i] >> 4, p[7 + 3 * i] & 15, p[8 + 3 * i]) for i in range(n))
    if any(not (1 <= c.h <= 4 and 1 <= c.v <= 4) for c in comps):
        raise ContainerError(f"JPEG {seg.name} at offset {seg.offset} has invalid sampling factors")
    if width == 0 or height == 0:
        raise ContainerError(f"JPEG {seg.name} at offset {seg.offset} has zero width or height (DNL is not supported)")
    return FrameHeader(seg.marker, _SOF_PROCESS[seg.marker], precision, height, width, comps)


def _assemble_icc(segs: list[Segment], warnings: list[str]) -> bytes | None:
    """ICC.1 Annex B.4: chunks carry a 1-based sequence number and the chunk count."""
    if not segs:
        return None
    chunks: dict[int, bytes] = {}
    counts = set()
    for s in segs:
        body = s.body()
        if len(body) < 2:
            warnings.append(f"ICC chunk at offset {s.offset} is empty; ICC profile ignored")
            return None
        seq, count = body[0], body[1]
        counts.add(count)
        if seq == 0 or seq > count or seq in chunks:
            warnings.append(f"ICC chunk at offset {s.offset} has bad sequence number {seq}/{count}; ICC profile ignored")
            return None
        chunks[seq] = body[2:]
    if len(counts) != 1 or len(chunks) != counts.pop():
        warnings.append("ICC profile chunks are missing or inconsistent; ICC profile ignored")
        return None
    return b"".join(chunks[i] for i in sorted(chunks))


def _assemble_extended_xmp(segs: list[Segment], warnings: list[str], max_bytes: int):
    """XMP Part 3 §1.1.3.1: GUID (32 hex chars), full length u32, offset u32, data.

    Only chunks with the first GUID are used; every byte must be covered exactly once.
    """
    if not segs:
        return None, None
    guid = None
    full = None
    buf = None
    seen = None
    for s in segs:
        body = s.body()
        if len(body) < 40:
            warnings.append(f"extended XMP chunk at offset {s.offset} is too short; extended XMP ignored")
            return None, None
        g = body[:32].decode("ascii", "replace")
        length, off = struct.unpack(">II", body[32:40])
        data = body[40:]
        if guid is None:
            guid, full = g, length
            if full > max_bytes:
                raise LimitError(f"extended XMP declares {full} bytes, more than the {max_bytes}-byte limit")
            buf = bytearray(full)
            seen = bytearray(full)
        if g != guid:
            warnings.append(f"extended XMP chunk with another GUID ({g}) ignored")
            continue
        if length != full or off + len(data) > full or any(seen[off:off + len(data)]):
            warnings.append(f"extended XMP chunk at offset {s.offset} is inconsistent; extended XMP ignored")
            return None, guid
        buf[off:off + len(data)] = data
        seen[off:off + len(data)] = b"\x01" * len(data)
    if not all(seen):
        warnings.append("extended XMP is incomplete; ignored")
        return None, guid
    return bytes(buf), guid


def scan_jpeg(data: bytes, start: int = 0, *, max_segments: int = DEFAULT_MAX_SEGMENTS,
              max_xmp_bytes: int = 16 << 20) -> JpegStructure:
    """Scan one JPEG image starting at ``data[start]`` (its SOI).

    Walks every marker segment through the last scan to EOI, skipping entropy-coded
    data. Raises :class:`ContainerError` when the data is not a JPEG or a header is
    malformed or cut, :class:`LimitError` past ``max_segments``. Entropy data that runs to
    the end of the buffer without EOI gives ``truncated=True`` and ``end=None`` (a warning,
    not an error: callers decide).
    """
    data = bytes(data) if not isinstance(data, bytes) else data
    n = len(data)
    if not is_jpeg(data, start):
        raise ContainerError(f"not a JPEG at offset {start} (no SOI marker)")
    segments: list[Segment] = [Segment(0xD8, "SOI", start, 0)]
    warnings: list[str] = []
    frame: FrameHeader | None = None
    restart = 0
    scans = 0
    pos = start + 2
    end: int | None = None
    while True:
        if len(segments) > max_segments:
            raise LimitError(f"JPEG at offset {start} has more than {max_segments} segments")
        if pos >= n:
            break
        if data[pos] != 0xFF:
            nxt = data.find(b"\xff", pos)
            if nxt < 0:
                break
            warnings.append(f"{nxt - pos} extraneous bytes before marker at offset {nxt}")
            pos = nxt
        while pos + 1 < n and data[pos + 1] == 0xFF:  # fill bytes (T.81 B.1.1.2)
            pos += 1
        if pos + 1 >= n:
            break
        code = data[pos + 1]
        name, _desc, kind = MARKERS.get(code, (f"0x{code:02X}", "unknown", "segment"))
        if code == 0x00:
            raise ContainerError(f"JPEG at offset {start}: stray 0xFF00 at offset {pos} outside a scan")
        if kind == "eoi":
            segments.append(Segment(code, name, pos, 0))
            end = pos + 2
            break
        if kind == "soi":
            raise ContainerError(f"JPEG at offset {start}: second SOI at offset {pos} before EOI")
        if kind == "standalone":
            segments.append(Segment(code, name, pos, 0))
            pos += 2
            continue
        if pos + 4 > n:
            raise ContainerError(f"JPEG at offset {start}: {name} marker at offset {pos} is cut off by the end of the file")
        length = _u16(data, pos + 2)
        if length < 2:
            raise ContainerError(f"JPEG at offset {start}: {name} at offset {pos} has invalid length {length}")
        if pos + 2 + length > n:
            raise ContainerError(f"JPEG at offset {start}: {name} at offset {pos} ({length} bytes) runs past the end of the file")
        payload = data[pos + 4:pos + 2 + length]
        seg_kind = _kind_of(code, payload) if 0xE0 <= code <= 0xEF else None
        seg = Segment(code, name, pos, length, payload, seg_kind)
        segments.append(seg)
        pos += 2 + length
        if code in _SOF_PROCESS:
            if frame is not None:
                raise ContainerError(f"JPEG at offset {start}: second frame header at offset {seg.offset}")
            frame = _parse_frame(seg)
        elif code == 0xDD:
            if length != 4:
                raise ContainerError(f"JPEG at offset {start}: DRI at offset {seg.offset} has length {length}, not 4")
            restart = _u16(payload, 0)
        elif kind == "sos":
            if frame is None:
                raise ContainerError(f"JPEG at offset {start}: scan at offset {seg.offset} before any frame header")
            scans += 1
            m = _MARKER_IN_SCAN.search(data, pos)
            if m is None:
                pos = n
                break
            pos = m.start()
    truncated = end is None
    if truncated:
        warnings.append("image is truncated: the data ends before EOI")
    if frame is None:
        raise ContainerError(f"JPEG at offset {start} has no frame header (SOF)"
                             + (": the data ends first" if truncated else ""))
    s = JpegStructure(start=start, end=end, segments=segments, frame=frame, restart_interval=restart,
                      scans=scans, truncated=truncated, warnings=warnings)
    for seg in segments:
        if seg.kind == "exif" and s.exif is None:
            s.exif = seg.body()
        elif seg.kind == "xmp" and s.xmp is None:
            s.xmp = seg.body()
        elif seg.kind == "mpf" and s.mpf is None:
            s.mpf = seg
        elif seg.kind == "iso21496" and s.iso21496 is None:
            s.iso21496 = seg.body()
        elif seg.kind == "jfif" and s.jfif is None and len(seg.payload) >= 7:
            s.jfif = (seg.payload[5], seg.payload[6])
        elif seg.kind == "adobe" and s.adobe_transform is None and len(seg.payload) >= 12:
            s.adobe_transform = seg.payload[11]
    s.icc = _assemble_icc(s.segments_of("icc"), warnings)
    s.xmp_extended, s.xmp_extended_guid = _assemble_extended_xmp(s.segments_of("xmp_extended"), warnings, max_xmp_bytes)
    return s


def app_segment(marker: int, payload: bytes) -> bytes:
    """Serialise one APPn (or other length-prefixed) segment: FF, marker, u16 length, payload."""
    if len(payload) > 0xFFFF - 2:
        raise ContainerError(f"segment payload of {len(payload)} bytes does not fit a JPEG segment (max 65533)")
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def insert_segments(jpeg: bytes, segments: list[bytes], after_app0: bool = True) -> bytes:
    """Insert serialised segments after SOI (and after a leading APP0 JFIF when ``after_app0``)."""
    s = scan_jpeg(jpeg)
    pos = s.start + 2
    if after_app0 and len(s.segments) > 1 and s.segments[1].marker == 0xE0:
        pos = s.segments[1].end
    return jpeg[:pos] + b"".join(segments) + jpeg[pos:]
