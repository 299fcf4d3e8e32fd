"""ISO 21496-1 gain-map metadata: the binary record after the APP2 URN, both directions.

Record (big-endian), as libultrahdr, libavif and FFmpeg read it::

    u16 minimum_version (0) | u16 writer_version | u8 flags
      flags bit 7: is_multichannel (3 value sets, else 1 copied to G and B)
      flags bit 6: use_base_colour_space
      flags bits 0-5: reserved in the final standard; in the pre-publication draft
                      bit 2 (0x04) meant "backward direction" and bit 3 (0x08) "common
                      denominator" (the compact layout below)
    separate fractions (final layout):
      u32 base_hdr_headroom N, u32 D | u32 alternate_hdr_headroom N, u32 D
      per channel: s32 gain_map_min N, u32 D | s32 gain_map_max N, u32 D | u32 gamma N, u32 D
                   s32 base_offset N, u32 D | s32 alternate_offset N, u32 D
    compact draft layout (flags & 0x08):
      u32 D | u32 base_hdr_headroom N | u32 alternate_hdr_headroom N
      per channel: s32 min N | s32 max N | u32 gamma N | s32 base_offset N | s32 alternate_offset N

Units: headrooms and gain_map_min/max are log2 (stops); gamma is a plain exponent;
offsets are linear, added to base (SDR) and alternate (HDR) light, 1.0 = SDR white.

References
----------
- ISO 21496-1:2025 "Gain map metadata for image conversion", clause 6 (binary syntax).
- libultrahdr ``lib/src/gainmapmetadata.cpp`` (decodeGainmapMetadata,
  gainmapMetadataFractionToFloat); FFmpeg ``libavcodec/gain_map.c``; libavif ``src/gainmap.c``.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from fractions import Fraction

from ..errors import MetadataError

__all__ = [
    "URN",
    "ChannelFractions",
    "Iso21496Record",
    "parse_iso21496",
    "parse_iso21496_version",
    "write_iso21496",
    "to_fraction",
]

#: APP2 signature of an ISO 21496-1 block in JPEG (28 bytes including the NUL).
URN = b"urn:iso:std:iso:ts:21496:-1\x00"

FLAG_MULTICHANNEL = 0x80
FLAG_BASE_COLOUR_SPACE = 0x40
FLAG_DRAFT_BACKWARD = 0x04
FLAG_DRAFT_COMMON_DENOMINATOR = 0x08
_RESERVED = 0x3F & ~(FLAG_DRAFT_BACKWARD | FLAG_DRAFT_COMMON_DENOMINATOR)

Frac = tuple[int, int]


@dataclass(frozen=True)
class ChannelFractions:
    """Per-channel values as (numerator, denominator) pairs."""

    gain_map_min: Frac
    gain_map_max: Frac
    gamma: Frac
    base_offset: Frac
    alternate_offset: Frac


@dataclass(frozen=True)
class Iso21496Record:
    """One ISO 21496-1 record in its written (fraction) form.

    ``channels`` always has 3 entries (a 1-channel record is copied to G and B, as
    libultrahdr does); ``channel_count`` is what the record declared.
    """

    minimum_version: int
    writer_version: int
    use_base_colour_space: bool
    base_hdr_headroom: Frac
    alternate_hdr_headroom: Frac
    channels: tuple[ChannelFractions, ChannelFractions, ChannelFractions]
    channel_count: int = 1
    layout: str = "fractions"  # or "common-denominator"
    backward_direction: bool = False
    flags: int = 0
    extra_bytes: int = field(default=0, compare=False)

    def to_floats(self) -> dict:
        """Float view in libultrahdr terms (``gainmapMetadataFractionToFloat``).

        ``min/max_content_boost = 2^(min/max)``, ``gamma = N/D``, ``offset_sdr/hdr`` =
        base/alternate offset, ``hdr_capacity_min/max = 2^(base/alternate headroom)``.
        Raises :class:`MetadataError` on a zero denominator or HDR-base (backward) records.
        """
        def f(fr: Frac, what: str) -> float:
            n, d = fr
            if d == 0:
                raise MetadataError(f"ISO 21496-1 {what} has a zero denominator")
            return n / d

        def exp2(v: float, what: str) -> float:
            if not -1000.0 <= v <= 1000.0:  # 2 ** v would overflow or vanish in a float
                raise MetadataError(f"ISO 21496-1 {what} = {v:g} (log2) is out of range")
            return 2.0 ** v

        base_h = f(self.base_hdr_headroom, "base_hdr_headroom")
        alt_h = f(self.alternate_hdr_headroom, "alternate_hdr_headroom")
        if self.backward_direction or alt_h < base_h:
            raise MetadataError("ISO 21496-1 record has an HDR base rendition (backward direction); not supported")
        out: dict[str, list[float]] = {k: [] for k in ("min_content_boost", "max_content_boost", "gamma",
                                                        "offset_sdr", "offset_hdr")}
        for c in self.channels:
            out["min_content_boost"].append(exp2(f(c.gain_map_min, "gain_map_min"), "gain_map_min"))
            out["max_content_boost"].append(exp2(f(c.gain_map_max, "gain_map_max"), "gain_map_max"))
            out["gamma"].append(f(c.gamma, "gamma"))
            out["offset_sdr"].append(f(c.base_offset, "base_offset"))
            out["offset_hdr"].append(f(c.alternate_offset, "alternate_offset"))
        res = {k: tuple(v) for k, v in out.items()}
        res["hdr_capacity_min"] = exp2(base_h, "base_hdr_headroom")
        res["hdr_capacity_max"] = exp2(alt_h, "alternate_hdr_headroom")
        res["use_base_colour_space"] = self.use_base_colour_space
        return res


def parse_iso21496_version(body: bytes) -> tuple[int, int]:
    """(minimum_version, writer_version) of a record or of the 4-byte primary-image stub."""
    if len(body) < 4:
        raise MetadataError(f"ISO 21496-1 block of {len(body)} bytes is too short for its version")
    return struct.unpack_from(">HH", body, 0)


def parse_iso21496(body: bytes) -> Iso21496Record:
    """Parse a record (the APP2 payload after :data:`URN`).

    Raises :class:`MetadataError` for a short record, a non-zero minimum_version,
    reserved flag bits, a zero denominator or an HDR-base (backward) record.
    """
    try:
        return _parse(body)
    except struct.error as e:
        raise MetadataError(f"ISO 21496-1 record is truncated ({len(body)} bytes)") from e


def _parse(body: bytes) -> Iso21496Record:
    min_v, writer_v = parse_iso21496_version(body)
    if min_v != 0:
        raise MetadataError(f"ISO 21496-1 minimum_version {min_v} is not supported (expected 0)")
    if len(body) < 5:
        raise MetadataError("ISO 21496-1 record has no flags byte (a primary-image stub, not a record)")
    flags = body[4]
    if flags & _RESERVED:
        raise MetadataError(f"ISO 21496-1 flags 0x{flags:02X} set reserved bits")
    if flags & FLAG_DRAFT_BACKWARD:
        raise MetadataError("ISO 21496-1 record has the backward-direction flag (HDR base); not supported")
    nch = 3 if flags & FLAG_MULTICHANNEL else 1
    pos = 5
    chans = []
    if flags & FLAG_DRAFT_COMMON_DENOMINATOR:
        layout = "common-denominator"
        d, base_n, alt_n = struct.unpack_from(">III", body, pos)
        pos += 12
        base, alt = (base_n, d), (alt_n, d)
        for _ in range(nch):
            mn, mx, g, bo, ao = struct.unpack_from(">iiIii", body, pos)
            pos += 20
            chans.append(ChannelFractions((mn, d), (mx, d), (g, d), (bo, d), (ao, d)))
    else:
        layout = "fractions"
        bn, bd, an, ad = struct.unpack_from(">IIII", body, pos)
        pos += 16
        base, alt = (bn, bd), (an, ad)
        for _ in range(nch):
            v = struct.unpack_from(">iIiIIIiIiI", body, pos)
            pos += 40
            chans.append(ChannelFractions((v[0], v[1]), (v[2], v[3]), (v[4], v[5]), (v[6], v[7]), (v[8], v[9])))
    while len(chans) < 3:
        chans.append(chans[0])
    rec = Iso21496Record(min_v, writer_v, bool(flags & FLAG_BASE_COLOUR_SPACE), base, alt, tuple(chans), nch,
                         layout, False, flags, len(body) - pos)
    for what, (n, d) in [("base_hdr_headroom", base), ("alternate_hdr_headroom", alt)] + [
            (f"{name}[{i}]", getattr(c, name)) for i, c in enumerate(chans[:nch])
            for name in ("gain_map_min", "gain_map_max", "gamma", "base_offset", "alternate_offset")]:
        if d == 0:
            raise MetadataError(f"ISO 21496-1 {what} has a zero denominator")
    if base[0] / base[1] > alt[0] / alt[1]:
        raise MetadataError("ISO 21496-1 alternate headroom is below the base headroom (HDR base); not supported")
    return rec


def to_fraction(value: float, signed: bool = True, max_den: int = 1 << 24) -> Frac:
    """Best rational approximation of ``value`` that fits s32/u32 fields."""
    if not math.isfinite(value):
        raise MetadataError(f"cannot write a non-finite value {value} as a fraction")
    if not signed and value < 0:
        raise MetadataError(f"cannot write the negative value {value} as an unsigned fraction")
    fr = Fraction(value).limit_denominator(max_den)
    lim = (1 << 31) - 1 if signed else (1 << 32) - 1
    while abs(fr.numerator) > lim:
        max_den //= 2
        if max_den < 1:
            raise MetadataError(f"value {value} does not fit a 32-bit fraction")
        fr = Fraction(value).limit_denominator(max_den)
    return fr.numerator, fr.denominator


def write_iso21496(rec: Iso21496Record, channel_count: int | None = None) -> bytes:
    """Serialise ``rec`` in the final separate-fraction layout (payload after :data:`URN`).

    ``channel_count`` defaults to 3 when the channels differ, else 1.
    """
    if channel_count is None:
        channel_count = 1 if rec.channels[0] == rec.channels[1] == rec.channels[2] else 3
    if channel_count not in (1, 3):
        raise MetadataError(f"ISO 21496-1 records hold 1 or 3 channels, not {channel_count}")
    flags = (FLAG_MULTICHANNEL if channel_count == 3 else 0) | (FLAG_BASE_COLOUR_SPACE if rec.use_base_colour_space else 0)
    out = bytearray(struct.pack(">HHB", rec.minimum_version, rec.writer_version, flags))
    out += struct.pack(">IIII", *rec.base_hdr_headroom, *rec.alternate_hdr_headroom)
    for c in rec.channels[:channel_count]:
        out += struct.pack(">iIiIIIiIiI", *c.gain_map_min, *c.gain_map_max, *c.gamma, *c.base_offset,
                           *c.alternate_offset)
    return bytes(out)
