"""Multi-Picture Format (MPF) index: the APP2 ``MPF\\0`` segment of the first image.

Layout (CIPA DC-007-2009 §5.2, TIFF-style IFD, either byte order)::

    'MPF\\0' | 'MM\\0*' or 'II*\\0' (origin of every offset) | u32 offset of first IFD
    IFD: u16 count, count x (u16 tag, u16 type, u32 count, u32 value-or-offset), u32 next IFD
      B000 MPFVersion     UNDEFINED x4  "0100"
      B001 NumberOfImages LONG x1
      B002 MPEntry        UNDEFINED x16*N -> N entries of
           u32 attribute, u32 size, u32 offset, u16 dependent image 1, u16 dependent image 2

An entry's offset counts from the endian field, except the first image's, which is 0.
Real files carry wrong sizes (tens to hundreds of bytes either way), so consumers must
trust offsets, not sizes; every offset here is bounds-checked against the file.

References
----------
- CIPA DC-007-2009 "Multi-Picture Format" (rev. 2021 translation), §5.2.3 (MP Index IFD),
  Table 3 (MP Entry), Figure 6 (individual image attribute bits).
- TIFF 6.0 §2 (IFD structure, field types).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ..errors import ContainerError, LimitError

__all__ = ["MAX_IMAGES", "MpEntry", "MpfIndex", "parse_mpf", "build_mpf", "MP_TYPES"]

#: Images an MP index may list before it is refused as implausible (LimitError).
MAX_IMAGES = 64
_MAX_IFD_ENTRIES = 256

#: MP type codes (attribute bits 0-23), CIPA DC-007 Table 4.
MP_TYPES = {
    0x030000: "baseline MP primary image",
    0x010001: "large thumbnail (VGA)",
    0x010002: "large thumbnail (full HD)",
    0x020001: "multi-frame panorama",
    0x020002: "multi-frame disparity",
    0x020003: "multi-frame multi-angle",
    0x000000: "undefined",
}


@dataclass(frozen=True)
class MpEntry:
    """One MP entry. ``offset`` is as written (relative); ``absolute_offset`` is in the file."""

    index: int
    attribute: int
    size: int
    offset: int
    dependent1: int
    dependent2: int
    absolute_offset: int

    @property
    def type_code(self) -> int:
        return self.attribute & 0xFFFFFF

    @property
    def type_name(self) -> str:
        return MP_TYPES.get(self.type_code, f"0x{self.type_code:06X}")

    @property
    def image_format(self) -> int:
        """Bits 24-26: 0 = JPEG."""
        return (self.attribute >> 24) & 7

    @property
    def representative(self) -> bool:
        return bool(self.attribute & (1 << 29))

    def to_dict(self) -> dict:
        return {"index": self.index, "attribute": f"0x{self.attribute:08X}", "type": self.type_name,
                "size": self.size, "offset": self.offset, "absolute_offset": self.absolute_offset,
                "dependent_images": [self.dependent1, self.dependent2]}


@dataclass(frozen=True)
class MpfIndex:
    """The parsed MP Index IFD. ``base_offset`` is the absolute offset of the endian field."""

    byte_order: str
    version: str | None
    number_of_images: int
    entries: tuple[MpEntry, ...]
    base_offset: int
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        return {"byte_order": self.byte_order, "version": self.version, "number_of_images": self.number_of_images,
                "base_offset": self.base_offset, "entries": [e.to_dict() for e in self.entries],
                "warnings": list(self.warnings)}


def parse_mpf(body: bytes, base_offset: int, file_size: int, *, max_images: int = MAX_IMAGES) -> MpfIndex:
    """Parse the MP Index from an APP2 MPF payload after ``'MPF\\0'``.

    ``base_offset`` is the absolute offset of ``body[0]`` in the file and ``file_size``
    the size of the whole file; entries whose offsets point outside the file are kept
    but reported in ``warnings`` (callers decide whether that is fatal).
    Raises :class:`ContainerError` for a malformed index, :class:`LimitError` for an
    implausible image count.
    """
    try:
        return _parse(body, base_offset, file_size, max_images)
    except (struct.error, IndexError) as e:
        raise ContainerError(f"malformed MPF index: {e}") from e


def _parse(body: bytes, base_offset: int, file_size: int, max_images: int) -> MpfIndex:
    if body[:4] == b"MM\x00*":
        bo, e = "big", ">"
    elif body[:4] == b"II*\x00":
        bo, e = "little", "<"
    else:
        raise ContainerError(f"malformed MPF index: unknown byte order mark {body[:4]!r}")
    warnings: list[str] = []
    (ifd,) = struct.unpack_from(e + "I", body, 4)
    if ifd < 8 or ifd + 2 > len(body):
        raise ContainerError(f"malformed MPF index: first IFD offset {ifd} outside the {len(body)}-byte segment")
    (count,) = struct.unpack_from(e + "H", body, ifd)
    if count > _MAX_IFD_ENTRIES or ifd + 2 + 12 * count > len(body):
        raise ContainerError(f"malformed MPF index: {count} IFD entries do not fit the segment")
    version = None
    n_images = None
    entry_blob = None
    for i in range(count):
        tag, typ, cnt, value = struct.unpack_from(e + "HHII", body, ifd + 2 + 12 * i)
        raw_value = body[ifd + 6 + 12 * i + 4:ifd + 6 + 12 * i + 8]
        if tag == 0xB000:
            version = raw_value.decode("ascii", "replace") if cnt == 4 else None
        elif tag == 0xB001:
            n_images = value
        elif tag == 0xB002:
            if cnt <= 4:
                raise ContainerError(f"malformed MPF index: MP entry field of {cnt} bytes")
            if value + cnt > len(body):
                raise ContainerError(f"malformed MPF index: MP entries ({cnt} bytes at {value}) run past the segment")
            entry_blob = body[value:value + cnt]
    if n_images is None:
        raise ContainerError("malformed MPF index: NumberOfImages (B001) missing")
    if n_images > max_images:
        raise LimitError(f"MPF index lists {n_images} images; more than {max_images} is refused")
    if entry_blob is None:
        raise ContainerError("malformed MPF index: MP entries (B002) missing")
    if len(entry_blob) != 16 * n_images:
        warnings.append(f"MP entry field is {len(entry_blob)} bytes, not 16 x {n_images}")
    n = min(n_images, len(entry_blob) // 16)
    entries = []
    for i in range(n):
        attr, size, off, d1, d2 = struct.unpack_from(e + "IIIHH", entry_blob, 16 * i)
        absolute = 0 if (i == 0 and off == 0) else base_offset + off
        if i > 0 and off == 0:
            warnings.append(f"MP entry {i} has offset 0")
        if absolute >= file_size:
            warnings.append(f"MP entry {i} offset {off} (absolute {absolute}) is past the end of the {file_size}-byte file")
        elif absolute + size > file_size:
            warnings.append(f"MP entry {i} size {size} runs past the end of the file")
        entries.append(MpEntry(i, attr, size, off, d1, d2, absolute))
    return MpfIndex(bo, version, n_images, tuple(entries), base_offset, tuple(warnings))


def build_mpf(images: list[tuple[int, int, int]], byte_order: str = "big") -> bytes:
    """Serialise an APP2 MPF payload (``'MPF\\0'`` included) for ``(attribute, size, offset)`` images.

    Offsets are relative to the endian field (0 for the first image), as written in files.
    Writes the three mandatory tags B000, B001, B002 and a zero next-IFD pointer.
    """
    e = ">" if byte_order == "big" else "<"
    mark = b"MM\x00*" if byte_order == "big" else b"II*\x00"
    n = len(images)
    ifd_off = 8
    entries_off = ifd_off + 2 + 3 * 12 + 4
    out = bytearray(mark + struct.pack(e + "I", ifd_off))
    out += struct.pack(e + "H", 3)
    out += struct.pack(e + "HHI", 0xB000, 7, 4) + b"0100"
    out += struct.pack(e + "HHII", 0xB001, 4, 1, n)
    out += struct.pack(e + "HHII", 0xB002, 7, 16 * n, entries_off)
    out += struct.pack(e + "I", 0)
    for attr, size, off in images:
        out += struct.pack(e + "IIIHH", attr, size, off, 0, 0)
    return b"MPF\x00" + bytes(out)
