"""Which RGB primaries an ICC profile describes: 'bt709', 'p3' or 'bt2020'.

Recognition follows libultrahdr (``IccHelper::readIccColorGamut``): a ``cicp`` tag
(ITU-T H.273 ColourPrimaries 1 = BT.709, 9 = BT.2020, 12 = SMPTE EG 432-1 Display P3) wins;
otherwise the ``rXYZ``/``gXYZ``/``bXYZ`` colorants are compared, within
:data:`COLORANT_TOLERANCE`, with the colorants of each hdrkit gamut. Those reference
colorants are *derived* here: the columns of the gamut's RGB -> XYZ matrix
(:func:`hdrkit.core.primaries.rgb_to_xyz_matrix`, D65 white) Bradford-adapted to the ICC
profile connection space white D50 (X 0.9642, Y 1.0, Z 0.8249).

References
----------
- ICC.1:2022 (profile version 4.4): §7.2 header, §7.3 tag table, §9.2.41/§9.2.43/§9.2.44
  (red/green/blueMatrixColumnTag), §10.31 XYZType, §10.2 cicpType, §10.15 multiLocalizedUnicodeType,
  ICC.1:2001-04 §6.5.17 textDescriptionType; §7.2.16 PCS illuminant (D50).
- ITU-T H.273 (2021) Table 2, ColourPrimaries.
- ICC white paper "Chromatic adaptation" (Bradford, as used for v4 colorants).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..core.primaries import H273_PRIMARIES, PRIMARIES, chromatic_adaptation_matrix, rgb_to_xyz_matrix
from ..errors import MetadataError

__all__ = ["COLORANT_TOLERANCE", "D50_XYZ", "IccInfo", "parse_icc", "icc_primaries", "reference_colorants",
           "CICP_PRIMARIES"]

#: Largest absolute difference of any colorant component (XYZ, D50) still accepted as a match.
COLORANT_TOLERANCE = 1e-3
#: ICC profile connection space illuminant (ICC.1 §7.2.16), as XYZ with Y = 1.
D50_XYZ = (0.9642, 1.0, 0.8249)
#: H.273 ColourPrimaries code -> hdrkit primaries name.
CICP_PRIMARIES = H273_PRIMARIES
_MAX_TAGS = 1024


@lru_cache(maxsize=None)
def reference_colorants(name: str) -> np.ndarray:
    """(3, 3) D50 colorants of a gamut: rows are rXYZ, gXYZ, bXYZ (derived, not tabulated)."""
    x, y, z = D50_XYZ
    d50_xy = (x / (x + y + z), y / (x + y + z))
    m = chromatic_adaptation_matrix(PRIMARIES[name].white, d50_xy) @ rgb_to_xyz_matrix(name)
    out = m.T.copy()
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class IccInfo:
    """What hdrkit reads from an ICC profile."""

    size: int
    version: str
    device_class: str
    colour_space: str
    pcs: str
    description: str | None
    cicp: tuple[int, int, int, int] | None
    colorants: tuple[tuple[float, float, float], ...] | None
    primaries: str | None

    def to_dict(self) -> dict:
        return {"size": self.size, "version": self.version, "class": self.device_class,
                "colour_space": self.colour_space, "description": self.description,
                "cicp": list(self.cicp) if self.cicp else None, "primaries": self.primaries}


def _text(data: bytes, off: int, size: int) -> str | None:
    sig = data[off:off + 4]
    if sig == b"desc" and size >= 12:
        (n,) = struct.unpack_from(">I", data, off + 8)
        raw = data[off + 12:off + 12 + min(n, size - 12)]
        return raw.split(b"\x00", 1)[0].decode("latin-1").strip() or None
    if sig == b"mluc" and size >= 16:
        count, rec = struct.unpack_from(">II", data, off + 8)
        if count == 0 or rec < 12:
            return None
        length, start = struct.unpack_from(">II", data, off + 16 + 4)
        if start + length > size:
            return None
        return data[off + start:off + start + length].decode("utf-16-be", "replace").strip("\x00 ") or None
    return None


def parse_icc(data: bytes) -> IccInfo:
    """Parse the header and the tags hdrkit uses; raise :class:`MetadataError` if malformed."""
    try:
        return _parse(bytes(data))
    except (struct.error, IndexError, UnicodeDecodeError) as e:
        raise MetadataError(f"malformed ICC profile: {e}") from e


def _parse(data: bytes) -> IccInfo:
    if len(data) < 132 or data[36:40] != b"acsp":
        raise MetadataError("malformed ICC profile: no 'acsp' signature in a 128-byte header")
    (declared,) = struct.unpack_from(">I", data, 0)
    if declared > len(data):
        raise MetadataError(f"malformed ICC profile: header declares {declared} bytes, {len(data)} present")
    version = f"{data[8]}.{data[9] >> 4}.{data[9] & 15}"
    (count,) = struct.unpack_from(">I", data, 128)
    if count > _MAX_TAGS or 132 + 12 * count > len(data):
        raise MetadataError(f"malformed ICC profile: {count} tags do not fit")
    tags: dict[bytes, tuple[int, int]] = {}
    for i in range(count):
        sig, off, size = struct.unpack_from(">4sII", data, 132 + 12 * i)
        if off + size > len(data) or size < 8:
            raise MetadataError(f"malformed ICC profile: tag {sig!r} ({size} bytes at {off}) is out of bounds")
        tags.setdefault(sig, (off, size))
    cicp = None
    if b"cicp" in tags:
        off, size = tags[b"cicp"]
        if data[off:off + 4] == b"cicp" and size >= 12:
            cicp = tuple(data[off + 8:off + 12])
    colorants = None
    if all(t in tags for t in (b"rXYZ", b"gXYZ", b"bXYZ")):
        rows = []
        for t in (b"rXYZ", b"gXYZ", b"bXYZ"):
            off, size = tags[t]
            if data[off:off + 4] != b"XYZ " or size < 20:
                raise MetadataError(f"malformed ICC profile: {t.decode()} is not an XYZType")
            rows.append(tuple(v / 65536.0 for v in struct.unpack_from(">iii", data, off + 8)))
        colorants = tuple(rows)
    desc = _text(data, *tags[b"desc"]) if b"desc" in tags else None
    primaries = None
    if cicp is not None:
        primaries = CICP_PRIMARIES.get(cicp[0])
    elif colorants is not None:
        c = np.array(colorants)
        for name in ("bt709", "p3", "bt2020"):
            if np.max(np.abs(c - reference_colorants(name))) <= COLORANT_TOLERANCE:
                primaries = name
                break
    return IccInfo(len(data), version, data[12:16].decode("latin-1").strip(), data[16:20].decode("latin-1").strip(),
                   data[20:24].decode("latin-1").strip(), desc, cicp, colorants, primaries)


def icc_primaries(data: bytes | None) -> str | None:
    """'bt709' | 'p3' | 'bt2020' for a recognised profile, None for none or unknown."""
    if not data:
        return None
    return parse_icc(data).primaries
