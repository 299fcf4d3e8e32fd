"""EXIF (TIFF structure) reading and writing for exports: keep the source's tags, set what
the export changes, and carry a thumbnail in IFD1.

Only raw entries are copied (tag, type, count, value bytes in the source byte order), so
values survive untouched without interpreting every tag type. Pointer tags that would
dangle after a rewrite (MakerNote, which may hold Apple's gain-map headroom, and the
Interoperability IFD) are dropped.

References
----------
- CIPA DC-008-2023 (Exif 3.0) §4.6 (IFD structure, types), §4.6.5 (Exif IFD tags:
  ColorSpace 0xA001, PixelXDimension 0xA002, PixelYDimension 0xA003), §4.5.5 (IFD1 JPEG
  thumbnail: Compression 6, JPEGInterchangeFormat 0x0201, ...Length 0x0202).
- TIFF 6.0 §2 (header, IFD entry layout, word alignment).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import MetadataError

__all__ = ["ExifEntry", "parse_exif", "build_exif", "strip_location", "TAG"]

_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
_MAX_ENTRIES = 1000

#: Tag numbers used by the export.
TAG = {
    "ProcessingSoftware": 0x000B, "Orientation": 0x0112, "Software": 0x0131, "XResolution": 0x011A,
    "YResolution": 0x011B, "ResolutionUnit": 0x0128, "ExifIFD": 0x8769, "GPSIFD": 0x8825, "InteropIFD": 0xA005,
    "MakerNote": 0x927C, "ColorSpace": 0xA001, "PixelXDimension": 0xA002, "PixelYDimension": 0xA003,
    "Compression": 0x0103, "JPEGInterchangeFormat": 0x0201, "JPEGInterchangeFormatLength": 0x0202,
}
_POINTERS = {TAG["ExifIFD"], TAG["GPSIFD"], TAG["InteropIFD"], TAG["JPEGInterchangeFormat"],
             TAG["JPEGInterchangeFormatLength"], 0x0111, 0x0117, 0x0144, 0x0145, 0x014A}


@dataclass(frozen=True)
class ExifEntry:
    """One IFD entry: the value bytes are in the byte order of the structure they came from."""

    tag: int
    type: int
    count: int
    data: bytes


def _strip_header(buf: bytes) -> bytes:
    return buf[6:] if buf[:6] == b"Exif\x00\x00" else buf


def _read_ifd(t: bytes, off: int, e: str) -> tuple[dict[int, ExifEntry], int]:
    if off < 8 or off + 2 > len(t):
        raise MetadataError(f"EXIF IFD offset {off} outside the block")
    n = struct.unpack_from(e + "H", t, off)[0]
    if n > _MAX_ENTRIES or off + 2 + 12 * n + 4 > len(t):
        raise MetadataError(f"EXIF IFD with {n} entries does not fit the block")
    out = {}
    for i in range(n):
        tag, typ, count, val = struct.unpack_from(e + "HHI4s", t, off + 2 + 12 * i)
        size = _TYPE_SIZE.get(typ)
        if size is None:
            continue  # unknown type: skip the entry, keep the rest
        nbytes = size * count
        if nbytes <= 4:
            data = val[:nbytes]
        else:
            p = struct.unpack(e + "I", val)[0]
            if p + nbytes > len(t):
                raise MetadataError(f"EXIF tag 0x{tag:04X} value outside the block")
            data = t[p:p + nbytes]
        out[tag] = ExifEntry(tag, typ, count, bytes(data))
    nxt = struct.unpack_from(e + "I", t, off + 2 + 12 * n)[0]
    return out, nxt


def parse_exif(buf: bytes | None) -> tuple[str, dict[str, dict[int, ExifEntry]]]:
    """Parse an EXIF block (with or without the ``Exif\\0\\0`` prefix).

    Returns ``(endian, {"0": ifd0, "exif": exif_ifd, "gps": gps_ifd})`` with ``endian`` '>' or '<'.
    An empty or missing block gives empty IFDs in big-endian. Malformed blocks raise
    :class:`MetadataError`.
    """
    if not buf:
        return ">", {"0": {}, "exif": {}, "gps": {}}
    t = _strip_header(bytes(buf))
    if len(t) < 8 or t[:4] not in (b"MM\x00*", b"II*\x00"):
        raise MetadataError("EXIF block has no TIFF header")
    e = ">" if t[:2] == b"MM" else "<"
    ifd0, _ = _read_ifd(t, struct.unpack_from(e + "I", t, 4)[0], e)
    sub = {}
    for name, tag in (("exif", TAG["ExifIFD"]), ("gps", TAG["GPSIFD"])):
        ent = ifd0.get(tag)
        sub[name] = _read_ifd(t, struct.unpack(e + "I", ent.data)[0], e)[0] if ent and len(ent.data) == 4 else {}
    return e, {"0": ifd0, **sub}


def short(e: str, tag: int, v: int) -> ExifEntry:
    return ExifEntry(tag, 3, 1, struct.pack(e + "H", v))


def long_(e: str, tag: int, v: int) -> ExifEntry:
    return ExifEntry(tag, 4, 1, struct.pack(e + "I", v))


def ascii_(tag: int, s: str) -> ExifEntry:
    b = s.encode("ascii", "replace") + b"\x00"
    return ExifEntry(tag, 2, len(b), b)


def _ifd_size(entries: list[ExifEntry]) -> int:
    data = sum((len(x.data) + 1) & ~1 for x in entries if len(x.data) > 4)
    return 2 + 12 * len(entries) + 4 + data


def _write_ifd(e: str, entries: list[ExifEntry], base: int, next_off: int) -> bytes:
    entries = sorted(entries, key=lambda x: x.tag)
    head = bytearray(struct.pack(e + "H", len(entries)))
    data = bytearray()
    data_off = base + 2 + 12 * len(entries) + 4
    for x in entries:
        if len(x.data) <= 4:
            head += struct.pack(e + "HHI", x.tag, x.type, x.count) + x.data.ljust(4, b"\x00")
        else:
            head += struct.pack(e + "HHII", x.tag, x.type, x.count, data_off + len(data))
            data += x.data + (b"\x00" if len(x.data) & 1 else b"")
    head += struct.pack(e + "I", next_off)
    return bytes(head + data)


def build_exif(endian: str, ifds: dict[str, dict[int, ExifEntry]], *, width: int, height: int, software: str,
               thumbnail: bytes | None = None) -> bytes:
    """Serialise an EXIF block (``Exif\\0\\0`` + TIFF) for an SDR export.

    Keeps the given IFD0 / Exif / GPS entries (pointer tags are rebuilt, MakerNote and the
    interoperability pointer dropped), sets ProcessingSoftware and Software, ColorSpace = 1
    (sRGB), PixelX/YDimension, and writes ``thumbnail`` (a JPEG) through IFD1.
    """
    e = endian
    ifd0 = {t: x for t, x in ifds.get("0", {}).items() if t not in _POINTERS}
    ifd0[TAG["ProcessingSoftware"]] = ascii_(TAG["ProcessingSoftware"], software)
    ifd0[TAG["Software"]] = ascii_(TAG["Software"], software)
    exif = {t: x for t, x in ifds.get("exif", {}).items() if t not in _POINTERS and t != TAG["MakerNote"]}
    exif[TAG["ColorSpace"]] = short(e, TAG["ColorSpace"], 1)
    exif[TAG["PixelXDimension"]] = long_(e, TAG["PixelXDimension"], width)
    exif[TAG["PixelYDimension"]] = long_(e, TAG["PixelYDimension"], height)
    gps = dict(ifds.get("gps", {}))

    # placeholders so sizes are right, then fill the offsets
    ifd0[TAG["ExifIFD"]] = long_(e, TAG["ExifIFD"], 0)
    if gps:
        ifd0[TAG["GPSIFD"]] = long_(e, TAG["GPSIFD"], 0)
    ifd1 = None
    if thumbnail:
        ifd1 = {TAG["Compression"]: short(e, TAG["Compression"], 6),
                TAG["JPEGInterchangeFormat"]: long_(e, TAG["JPEGInterchangeFormat"], 0),
                TAG["JPEGInterchangeFormatLength"]: long_(e, TAG["JPEGInterchangeFormatLength"], len(thumbnail))}
    o0 = 8
    o_exif = o0 + _ifd_size(list(ifd0.values()))
    o_gps = o_exif + _ifd_size(list(exif.values()))
    o_ifd1 = o_gps + (_ifd_size(list(gps.values())) if gps else 0)
    o_thumb = o_ifd1 + (_ifd_size(list(ifd1.values())) if ifd1 else 0)
    ifd0[TAG["ExifIFD"]] = long_(e, TAG["ExifIFD"], o_exif)
    if gps:
        ifd0[TAG["GPSIFD"]] = long_(e, TAG["GPSIFD"], o_gps)
    if ifd1:
        ifd1[TAG["JPEGInterchangeFormat"]] = long_(e, TAG["JPEGInterchangeFormat"], o_thumb)
    out = bytearray(b"MM\x00*" if e == ">" else b"II*\x00")
    out += struct.pack(e + "I", o0)
    out += _write_ifd(e, list(ifd0.values()), o0, o_ifd1 if ifd1 else 0)
    out += _write_ifd(e, list(exif.values()), o_exif, 0)
    if gps:
        out += _write_ifd(e, list(gps.values()), o_gps, 0)
    if ifd1:
        out += _write_ifd(e, list(ifd1.values()), o_ifd1, 0)
        out += thumbnail
    assert len(out) == (o_thumb + len(thumbnail) if ifd1 else o_ifd1)
    return b"Exif\x00\x00" + bytes(out)


def strip_location(buf: bytes | None) -> bytes | None:
    """The EXIF block without location: the GPS IFD (tag 0x8825 and every GPS tag) removed.

    The other IFD0 and Exif IFD entries are kept as :func:`build_exif` keeps them (the
    export rebuilds the block again with its own size, software and thumbnail). A block that
    does not parse is dropped whole (None): no location can then leak through it.

    Parameters
    ----------
    buf : bytes or None
        An EXIF block, with or without the ``Exif\\0\\0`` prefix.

    Returns
    -------
    bytes or None
        ``Exif\\0\\0`` + TIFF without a GPS IFD, or None for no or unreadable EXIF.

    References
    ----------
    CIPA DC-008-2023 (Exif 3.0) §4.6.6 (GPS Info IFD, pointer tag 0x8825).
    """
    if not buf:
        return None
    try:
        endian, ifds = parse_exif(buf)
    except MetadataError:
        return None
    e = endian
    exif = ifds["exif"]

    def dim(tag: int) -> int:
        x = exif.get(tag)
        if x is None or len(x.data) not in (2, 4):
            return 0
        return struct.unpack(e + ("H" if len(x.data) == 2 else "I"), x.data)[0]

    software = ifds["0"].get(TAG["Software"])
    name = software.data.rstrip(b"\x00").decode("ascii", "replace") if software else ""
    return build_exif(endian, {"0": ifds["0"], "exif": exif, "gps": {}}, width=dim(TAG["PixelXDimension"]),
                      height=dim(TAG["PixelYDimension"]), software=name)
