"""The PNG ``cICP`` chunk: how a PNG says it holds PQ or HLG (or another H.273 colour space).

``cICP`` (PNG Third Edition, the cICP chunk) carries four bytes, the ITU-T H.273 code points
ColourPrimaries, TransferCharacteristics, MatrixCoefficients (0: RGB, the only value PNG
allows) and VideoFullRangeFlag. When present it overrides ``iCCP``, ``sRGB``, ``gAMA`` and
``cHRM``. Pillow does not read it, so :func:`read_cicp` walks the chunk list itself (the
chunk precedes ``IDAT``); :func:`png_chunk` and :func:`add_cicp` write it (length, type,
data, CRC-32 over type and data: PNG §5.3).

References
----------
- W3C, Portable Network Graphics (PNG) Specification (Third Edition), §5.3 (chunk layout)
  and the cICP chunk (coding-independent code points).
- ITU-T H.273 (07/2021): ColourPrimaries (1 BT.709, 9 BT.2020, 12 SMPTE EG 432 P3-D65),
  TransferCharacteristics (16 PQ, 18 HLG, 13 sRGB, 1 / 6 / 14 / 15 BT.709 family).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from ..core.primaries import H273_PRIMARIES
from ..core.transfer import H273_TRANSFERS
from ..errors import DecodeError

__all__ = ["Cicp", "CICP_PRIMARIES", "CICP_TRANSFERS", "read_cicp", "png_chunk", "add_cicp"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: H.273 ColourPrimaries -> hdrkit primaries name.
CICP_PRIMARIES = H273_PRIMARIES
#: H.273 TransferCharacteristics -> hdrkit transfer name (:data:`hdrkit.core.signal.TRANSFERS`).
CICP_TRANSFERS = H273_TRANSFERS


@dataclass(frozen=True)
class Cicp:
    """The four H.273 code points of a ``cICP`` chunk."""

    primaries: int
    transfer: int
    matrix: int
    full_range: int

    def names(self) -> tuple[str, str]:
        """(hdrkit transfer, hdrkit primaries) for this description.

        Raises
        ------
        DecodeError
            For code points hdrkit does not decode (a Y'CbCr matrix, narrow range, other
            primaries or transfers).
        """
        if self.matrix != 0:
            raise DecodeError(f"PNG cICP matrix {self.matrix} is not RGB (0), which PNG requires")
        if self.full_range != 1:
            raise DecodeError("PNG cICP says narrow range; hdrkit reads full-range PNG only")
        if self.transfer not in CICP_TRANSFERS:
            raise DecodeError(f"PNG cICP transfer {self.transfer} (H.273) is not one hdrkit decodes "
                              "(16 PQ, 18 HLG, 13 sRGB, 1/6/14/15 BT.709)")
        if self.primaries not in CICP_PRIMARIES:
            raise DecodeError(f"PNG cICP primaries {self.primaries} (H.273) are not one hdrkit decodes "
                              "(1 BT.709, 9 BT.2020, 12 P3-D65)")
        return CICP_TRANSFERS[self.transfer], CICP_PRIMARIES[self.primaries]


def read_cicp(data: bytes) -> Cicp | None:
    """The ``cICP`` chunk of PNG ``data``, or None (not a PNG, no chunk, or one of the wrong size).

    Scans chunk headers up to the first ``IDAT`` without decoding anything.
    """
    if data[:8] != PNG_SIGNATURE:
        return None
    i = 8
    while i + 8 <= len(data):
        n, kind = struct.unpack(">I4s", data[i:i + 8])
        if kind in (b"IDAT", b"IEND"):
            return None
        if kind == b"cICP":
            body = data[i + 8:i + 8 + n]
            return Cicp(*body) if n == 4 and len(body) == 4 else None
        i += 12 + n
    return None


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk: length, type, data and the CRC-32 of type and data (PNG §5.3)."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def add_cicp(png: bytes, primaries: int, transfer: int) -> bytes:
    """``png`` with a ``cICP`` chunk (RGB, full range) right after ``IHDR``, replacing any other."""
    if png[:8] != PNG_SIGNATURE or png[12:16] != b"IHDR":
        raise DecodeError("not a PNG file")
    out, i = [png[:8]], 8
    while i + 8 <= len(png):
        n, kind = struct.unpack(">I4s", png[i:i + 8])
        if kind != b"cICP":
            out.append(png[i:i + 12 + n])
        if kind == b"IHDR":
            out.append(png_chunk(b"cICP", bytes((primaries, transfer, 0, 1))))
        i += 12 + n
    return b"".join(out)
