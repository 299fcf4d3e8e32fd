"""Gain-map JPEGs (Ultra HDR / JPEG_R, Adobe, Apple): find the parts, read the metadata,
decode, and rebuild the HDR rendition.

- :class:`GainMapMetadata`: the metadata in libultrahdr's float terms (linear boosts and
  capacities, per channel), validated on construction.
- :func:`parse_container`: locate the primary image and the gain-map JPEG (MPF offsets
  first, trusting offsets over sizes; then the GContainer directory; then the next JPEG
  after the primary's EOI) and read the metadata, without decoding pixels.
- :func:`read_gainmap`: decode both images with PyAV and return a :class:`GainMapImage`,
  whose :meth:`GainMapImage.render` rebuilds linear HDR (1.0 = SDR white = 203 cd/m^2).

Metadata priority (libultrahdr ``parseGainMapMetadata``): the ISO 21496-1 record in the
gain-map JPEG, then its ``hdrgm`` XMP (attribute or rdf:Seq form), then Apple's gain-map
XMP, then Apple's MakerNote headroom in the primary's EXIF.

Gamuts: the base gamut comes from the primary's ICC profile, the HDR gamut from the
gain-map JPEG's ICC profile (else the base's); unknown or missing profiles mean BT.709.
The gain is applied in the base gamut when ``use_base_colour_space`` is set (always for
XMP and Apple metadata), else in the HDR gamut after converting the base into it.

References
----------
- Google, "Ultra HDR Image Format" v1.1; Adobe "Gain Map Specification" 1.0 draft 15;
  ISO 21496-1:2025; CIPA DC-007 (MPF).
- google/libultrahdr v2.0 ``lib/src/jpegr.cpp`` (decodeJPEGR, applyGainMap,
  parseGainMapMetadata), ``lib/src/jpegrutils.cpp`` (XMP and Apple metadata),
  ``lib/src/ultrahdr_api.cpp`` (uhdr_validate_gainmap_metadata_descriptor).
- Apple, "Applying Apple HDR effect to your photos" (MakerNote tags 33 and 48).
"""

from __future__ import annotations

import math
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ..core.gainmap import DEFAULT_OFFSET, BasePlanes
from ..core.primaries import rgb_to_rgb_matrix
from ..core.ycbcr import ycbcr_to_rgb
from ..errors import (ContainerError, DecodeError, HdrkitError, InputFileError, LimitError, MetadataError, OptionError,
                      require_file)
from .decode import check_pixel_limit, decode_jpeg
from .icc import IccInfo, parse_icc
from .iso21496 import ChannelFractions, Iso21496Record, parse_iso21496, parse_iso21496_version, to_fraction
from .jpeg import DEFAULT_MAX_SEGMENTS, JpegStructure, is_jpeg, scan_jpeg
from .mpf import MpfIndex, parse_mpf
from .xmp import (AppleGainMapXmp, ContainerItem, HdrgmFields, XmpRefusedError, parse_xmp, read_apple,
                  read_container, read_hdrgm)

__all__ = [
    "planes_of_decoded",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_BYTES",
    "GainMapMetadata",
    "GainMapContainer",
    "GainMapImage",
    "GainMapUnavailableError",
    "parse_container",
    "read_gainmap",
]

DEFAULT_MAX_PIXELS = 100_000_000
#: Largest file read_gainmap reads.
DEFAULT_MAX_BYTES = 1 << 30
SOURCES = ("iso", "xmp", "apple")
_DEFAULT_GAMUT = "bt709"


class GainMapUnavailableError(MetadataError):
    """The base image is fine but the file has no usable gain map (missing, truncated,
    unreadable metadata). ``read_gainmap(..., fallback="base")`` returns the base instead."""


def resolve_display_boost(display_boost: float | None, headroom: float | None) -> float | None:
    """The display boost given under its name or its former name ``headroom`` (kept).

    Raises
    ------
    OptionError
        Both are given, with different values.
    """
    if headroom is None:
        return display_boost
    if display_boost is not None and display_boost != headroom:
        raise OptionError("give display_boost or its former name headroom, not both")
    return headroom


def _exp2(v: float, what: str) -> float:
    """2 ** v for a log2 metadata value, refusing values a float cannot hold."""
    if not -1000.0 <= v <= 1000.0:
        raise MetadataError(f"gain-map {what} = {v:g} (log2) is out of range")
    return 2.0 ** v


def _triple(v, name: str) -> tuple[float, float, float]:
    if isinstance(v, (int, float, np.floating)):
        v = (v,)
    t = tuple(float(x) for x in v)
    if len(t) == 1:
        t = t * 3
    if len(t) != 3:
        raise MetadataError(f"gain-map {name} needs 1 or 3 values, not {len(t)}")
    return t


@dataclass(frozen=True)
class GainMapMetadata:
    """Gain-map metadata in libultrahdr's float terms (``uhdr_gainmap_metadata_ext_t``).

    ========================== ===================================================
    min/max_content_boost      linear gain at map value 0 / 1, per channel (R,G,B)
    gamma                      map encoding exponent, per channel
    offset_sdr / offset_hdr    linear offsets (1.0 = SDR white), per channel
    hdr_capacity_min / _max    linear display headroom where the map starts / is
                               fully applied
    use_base_colour_space      gain applied in the base gamut (else the HDR gamut)
    source                     'iso' | 'xmp' | 'apple'
    ========================== ===================================================

    Validation (libultrahdr ``uhdr_validate_gainmap_metadata_descriptor``): all finite,
    ``0 < min <= max``, ``gamma > 0``, offsets >= 0, ``1 <= capacity_min < capacity_max``.
    """

    min_content_boost: tuple[float, float, float]
    max_content_boost: tuple[float, float, float]
    gamma: tuple[float, float, float] = (1.0, 1.0, 1.0)
    offset_sdr: tuple[float, float, float] = (0.0, 0.0, 0.0)
    offset_hdr: tuple[float, float, float] = (0.0, 0.0, 0.0)
    hdr_capacity_min: float = 1.0
    hdr_capacity_max: float = 1.0
    use_base_colour_space: bool = True
    source: str = "iso"

    def __post_init__(self):
        for name in ("min_content_boost", "max_content_boost", "gamma", "offset_sdr", "offset_hdr"):
            object.__setattr__(self, name, _triple(getattr(self, name), name))
        object.__setattr__(self, "hdr_capacity_min", float(self.hdr_capacity_min))
        object.__setattr__(self, "hdr_capacity_max", float(self.hdr_capacity_max))
        if self.source not in SOURCES:
            raise MetadataError(f"unknown gain-map metadata source {self.source!r}")
        vals = (*self.min_content_boost, *self.max_content_boost, *self.gamma, *self.offset_sdr, *self.offset_hdr,
                self.hdr_capacity_min, self.hdr_capacity_max)
        if not all(math.isfinite(v) for v in vals):
            raise MetadataError(f"gain-map metadata has NaN or infinite values: {self.to_dict()}")
        for c in range(3):
            lo, hi = self.min_content_boost[c], self.max_content_boost[c]
            if lo <= 0:
                raise MetadataError(f"gain-map min content boost {lo} must be > 0")
            if hi < lo:
                raise MetadataError(f"gain-map max content boost {hi} is below the min {lo}")
            if self.gamma[c] <= 0:
                raise MetadataError(f"gain-map gamma {self.gamma[c]} must be > 0")
            if self.offset_sdr[c] < 0 or self.offset_hdr[c] < 0:
                raise MetadataError(f"gain-map offsets must be >= 0 (sdr {self.offset_sdr[c]}, hdr {self.offset_hdr[c]})")
        if self.hdr_capacity_min < 1.0:
            raise MetadataError(f"gain-map HDR capacity min {self.hdr_capacity_min} must be >= 1")
        if self.hdr_capacity_max <= self.hdr_capacity_min:
            raise MetadataError(f"gain-map HDR capacity max {self.hdr_capacity_max} must exceed the min "
                                f"{self.hdr_capacity_min}")

    @property
    def channels_identical(self) -> bool:
        return all(len(set(getattr(self, n))) == 1
                   for n in ("min_content_boost", "max_content_boost", "gamma", "offset_sdr", "offset_hdr"))

    def to_dict(self) -> dict:
        d = {n: list(getattr(self, n)) for n in ("min_content_boost", "max_content_boost", "gamma", "offset_sdr",
                                                  "offset_hdr")}
        d.update(hdr_capacity_min=self.hdr_capacity_min, hdr_capacity_max=self.hdr_capacity_max,
                 use_base_colour_space=self.use_base_colour_space, source=self.source)
        try:
            d["gain_map_min_log2"] = [math.log2(v) for v in self.min_content_boost]
            d["gain_map_max_log2"] = [math.log2(v) for v in self.max_content_boost]
            d["hdr_capacity_log2"] = [math.log2(self.hdr_capacity_min), math.log2(self.hdr_capacity_max)]
        except ValueError:
            pass
        return d

    @classmethod
    def from_iso(cls, record: Iso21496Record) -> "GainMapMetadata":
        """From an ISO 21496-1 record (``gainmapMetadataFractionToFloat``)."""
        f = record.to_floats()
        return cls(f["min_content_boost"], f["max_content_boost"], f["gamma"], f["offset_sdr"], f["offset_hdr"],
                   f["hdr_capacity_min"], f["hdr_capacity_max"], f["use_base_colour_space"], "iso")

    def to_iso(self, channel_count: int | None = None) -> Iso21496Record:
        """The ISO 21496-1 record of this metadata (the inverse of :meth:`from_iso`).

        log2 of the boosts and capacities, every value as a 32-bit fraction
        (:func:`hdrkit.still.iso21496.to_fraction`); minimum and writer version 0.
        ``channel_count`` defaults to 1 when the channels are identical, else 3.
        """
        n = channel_count or (1 if self.channels_identical else 3)
        chans = tuple(ChannelFractions(to_fraction(math.log2(self.min_content_boost[c])),
                                       to_fraction(math.log2(self.max_content_boost[c])),
                                       to_fraction(self.gamma[c], signed=False),
                                       to_fraction(self.offset_sdr[c]), to_fraction(self.offset_hdr[c]))
                      for c in range(3))
        if n == 1:
            chans = (chans[0],) * 3
        return Iso21496Record(0, 0, self.use_base_colour_space, to_fraction(math.log2(self.hdr_capacity_min), False),
                              to_fraction(math.log2(self.hdr_capacity_max), False), chans, n)

    def to_hdrgm(self, channel_count: int | None = None) -> HdrgmFields:
        """The ``hdrgm`` XMP properties of this metadata (the inverse of :meth:`from_hdrgm`):
        log2 boosts and capacities, one value per property, or three when ``channel_count``
        is 3 (default: 1 when the channels are identical)."""
        n = channel_count or (1 if self.channels_identical else 3)
        values = {"GainMapMin": tuple(math.log2(v) for v in self.min_content_boost[:n]),
                  "GainMapMax": tuple(math.log2(v) for v in self.max_content_boost[:n]),
                  "Gamma": self.gamma[:n], "OffsetSDR": self.offset_sdr[:n], "OffsetHDR": self.offset_hdr[:n],
                  "HDRCapacityMin": (math.log2(self.hdr_capacity_min),),
                  "HDRCapacityMax": (math.log2(self.hdr_capacity_max),)}
        return HdrgmFields("1.0", values, False)

    @classmethod
    def from_hdrgm(cls, fields: HdrgmFields) -> "GainMapMetadata":
        """From Adobe ``hdrgm`` XMP (log2 values; defaults of the Adobe/Google specs).

        Version and GainMapMax and HDRCapacityMax are required; GainMapMin and
        HDRCapacityMin default to 0 (log2), Gamma to 1, offsets to 1/64. An HDR base
        (BaseRenditionIsHDR = True) is refused. Per-channel (3-value) properties are kept.
        """
        if fields.version is None:
            raise MetadataError("hdrgm XMP has no hdrgm:Version")
        for req in ("GainMapMax", "HDRCapacityMax"):
            if req not in fields.values:
                raise MetadataError(f"hdrgm XMP has no hdrgm:{req}")
        if fields.base_rendition_is_hdr:
            raise MetadataError("hdrgm:BaseRenditionIsHDR is True (HDR base rendition); not supported")
        v = fields.values

        def get(name, default):
            return v.get(name, (default,))

        cap_min, cap_max = get("HDRCapacityMin", 0.0), get("HDRCapacityMax", None)
        if len(cap_min) != 1 or len(cap_max) != 1:
            raise MetadataError("hdrgm:HDRCapacityMin/Max take one value")
        return cls(tuple(_exp2(x, "GainMapMin") for x in get("GainMapMin", 0.0)),
                   tuple(_exp2(x, "GainMapMax") for x in v["GainMapMax"]),
                   get("Gamma", 1.0), get("OffsetSDR", DEFAULT_OFFSET), get("OffsetHDR", DEFAULT_OFFSET),
                   _exp2(cap_min[0], "HDRCapacityMin"), _exp2(cap_max[0], "HDRCapacityMax"), True, "xmp")

    @classmethod
    def from_apple(cls, headroom: float) -> "GainMapMetadata":
        """From Apple's headroom as libultrahdr reads it: ``max_content_boost =
        hdr_capacity_max = 2 ** headroom``, min boost 1, gamma 1, offsets 0, capacity min 1."""
        boost = _exp2(float(headroom), "Apple headroom")
        return cls(1.0, boost, 1.0, 0.0, 0.0, 1.0, boost, True, "apple")


# ------------------------------------------------------------------- Apple MakerNote
def _apple_makernote_stops(exif: bytes) -> float | None:
    """Headroom in stops from Apple MakerNote tags 33 and 48, or None when absent.

    Apple's published fit (libultrahdr jpegrutils.cpp uses the same):
    ``m33 < 1``: ``-20 m48 + 1.8`` if ``m48 <= 0.01`` else ``-0.101 m48 + 1.601``;
    ``m33 >= 1``: ``-70 m48 + 3.0`` if ``m48 <= 0.01`` else ``-0.303 m48 + 2.303``.
    The EXIF TIFF structure is walked IFD0 -> Exif IFD (0x8769) -> MakerNote (0x927C),
    whose ``Apple iOS`` IFD is big-endian with offsets from the MakerNote start.
    """
    try:
        return _apple_makernote(exif)
    except (struct.error, IndexError, KeyError, ValueError, ZeroDivisionError):
        return None


def _ifd_entries(buf: bytes, off: int, e: str):
    (n,) = struct.unpack_from(e + "H", buf, off)
    if n > 512:
        raise ValueError("too many IFD entries")
    for i in range(n):
        yield struct.unpack_from(e + "HHII", buf, off + 2 + 12 * i)


def _apple_makernote(exif: bytes) -> float | None:
    e = {b"MM": ">", b"II": "<"}[exif[:2]]
    (ifd0,) = struct.unpack_from(e + "I", exif, 4)
    exif_ifd = next((v for tag, _t, _c, v in _ifd_entries(exif, ifd0, e) if tag == 0x8769), None)
    if exif_ifd is None:
        return None
    mk = next(((c, v) for tag, _t, c, v in _ifd_entries(exif, exif_ifd, e) if tag == 0x927C), None)
    if mk is None:
        return None
    count, off = mk
    note = exif[off:off + count]
    if not note.startswith(b"Apple iOS\x00") or note[12:14] != b"MM":
        return None
    vals = {}
    for tag, typ, cnt, v in _ifd_entries(note, 14, ">"):
        if tag in (33, 48) and typ in (5, 10) and cnt == 1:
            n, d = struct.unpack_from(">ii" if typ == 10 else ">II", note, v)
            vals[tag] = n / d
    if 33 not in vals or 48 not in vals:
        return None
    m33, m48 = vals[33], vals[48]
    if m33 < 1.0:
        return -20.0 * m48 + 1.8 if m48 <= 0.01 else -0.101 * m48 + 1.601
    return -70.0 * m48 + 3.0 if m48 <= 0.01 else -0.303 * m48 + 2.303


# -------------------------------------------------------------------------- container
@dataclass
class GainMapContainer:
    """Where the parts of a gain-map JPEG are and what its metadata says (no pixels).

    ``problem`` is None when a gain map and valid metadata were found, else the reason
    (``error`` holds the exception to raise for it).
    """

    size: int
    primary: JpegStructure
    primary_end: int | None
    mpf: MpfIndex | None = None
    gcontainer: list[ContainerItem] = field(default_factory=list)
    hdrgm_version: str | None = None
    primary_xmp: bytes | None = None
    gainmap_offset: int | None = None
    gainmap_end: int | None = None
    gainmap_locator: str | None = None
    gainmap: JpegStructure | None = None
    metadata: GainMapMetadata | None = None
    iso: Iso21496Record | None = None
    iso_stub_version: tuple[int, int] | None = None
    hdrgm: HdrgmFields | None = None
    apple: AppleGainMapXmp | None = None
    base_icc: IccInfo | None = None
    gainmap_icc: IccInfo | None = None
    problem: str | None = None
    error: HdrkitError | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def base_primaries(self) -> str:
        return (self.base_icc.primaries if self.base_icc else None) or _DEFAULT_GAMUT

    @property
    def gainmap_primaries(self) -> str:
        """The HDR rendition's gamut: the gain-map ICC's, else the base's."""
        return (self.gainmap_icc.primaries if self.gainmap_icc else None) or self.base_primaries

    @property
    def gain_primaries(self) -> str:
        """The gamut the gain is applied (and the HDR rebuilt) in."""
        if self.metadata is None or self.metadata.use_base_colour_space:
            return self.base_primaries
        return self.gainmap_primaries

    @property
    def kind(self) -> str:
        if self.metadata is not None:
            return {"iso": "gain-map JPEG (ISO 21496-1)", "xmp": "gain-map JPEG (Ultra HDR / Adobe hdrgm XMP)",
                    "apple": "gain-map JPEG (Apple HDR gain map)"}[self.metadata.source]
        if self.hdrgm_version or self.mpf or self.gcontainer or self.iso_stub_version:
            return "JPEG with gain-map signalling but no usable gain map"
        return "JPEG (no gain map)"

    def to_dict(self) -> dict:
        f = self.primary.frame
        d: dict = {"type": self.kind, "size": self.size}
        if f is not None:
            d["primary"] = {"width": f.width, "height": f.height, "sampling": f.sampling, "process": f.process,
                            "offset": self.primary.start, "end": self.primary_end, "truncated": self.primary.truncated,
                            "icc": self.base_icc.to_dict() if self.base_icc else None,
                            "gamut": self.base_primaries, "exif_bytes": len(self.primary.exif or b""),
                            "xmp_bytes": len(self.primary_xmp or b"")}
        if self.mpf is not None:
            d["mpf"] = self.mpf.to_dict()
        if self.gcontainer:
            d["gcontainer"] = [i.to_dict() for i in self.gcontainer]
        if self.hdrgm_version:
            d["hdrgm_version"] = self.hdrgm_version
        if self.iso_stub_version:
            d["iso21496_primary_version"] = list(self.iso_stub_version)
        if self.gainmap is not None and self.gainmap.frame is not None:
            g = self.gainmap.frame
            d["gainmap"] = {"offset": self.gainmap_offset, "size": (self.gainmap_end - self.gainmap_offset)
                            if self.gainmap_end else None, "located_by": self.gainmap_locator,
                            "width": g.width, "height": g.height, "channels": 1 if len(g.components) == 1 else 3,
                            "sampling": g.sampling,
                            "icc": self.gainmap_icc.to_dict() if self.gainmap_icc else None,
                            "hdr_gamut": self.gainmap_primaries}
        if self.metadata is not None:
            d["metadata"] = self.metadata.to_dict()
            d["gain_gamut"] = self.gain_primaries
        if self.iso is not None:
            d["iso21496"] = {"minimum_version": self.iso.minimum_version, "writer_version": self.iso.writer_version,
                             "flags": f"0x{self.iso.flags:02X}", "channels": self.iso.channel_count,
                             "layout": self.iso.layout}
        if self.hdrgm is not None:
            d["hdrgm_xmp"] = {"version": self.hdrgm.version, "forms": self.hdrgm.forms}
        if self.apple is not None:
            d["apple"] = {"version": self.apple.version, "headroom": self.apple.headroom,
                          "auxiliary_type": self.apple.auxiliary_type}
        if self.problem:
            d["problem"] = self.problem
        d["warnings"] = list(self.warnings)
        return d


def _parse_xmp_soft(raw: bytes, what: str, warnings: list[str]):
    """Parse XMP; hostile packets (refused, over limits) raise, malformed ones only warn."""
    try:
        return parse_xmp(raw)
    except (XmpRefusedError, LimitError):
        raise
    except MetadataError as e:
        warnings.append(f"{what} XMP ignored: {e}")
        return None


def _icc_soft(raw: bytes | None, what: str, warnings: list[str]) -> IccInfo | None:
    if not raw:
        return None
    try:
        info = parse_icc(raw)
    except MetadataError as e:
        warnings.append(f"{what} ICC profile ignored: {e}")
        return None
    if info.primaries is None:
        warnings.append(f"{what} ICC profile {info.description or ''!r} is not recognised as BT.709, Display P3 "
                        f"or BT.2020; BT.709 assumed")
    return info


def parse_container(data: bytes, *, max_segments: int = DEFAULT_MAX_SEGMENTS) -> GainMapContainer:
    """Locate the primary image and the gain map and read all metadata (no pixel decode).

    Raises :class:`ContainerError` when ``data`` is not a readable JPEG, and
    :class:`LimitError` / :class:`MetadataError` for refused (hostile) content. A missing
    or unusable gain map is not raised here: see ``problem`` and ``error``.
    """
    if not is_jpeg(data):
        raise ContainerError("not a JPEG file (no SOI marker)")
    primary = scan_jpeg(data, 0, max_segments=max_segments)
    c = GainMapContainer(size=len(data), primary=primary, primary_end=primary.end)
    w = c.warnings
    w.extend(f"primary: {m}" for m in primary.warnings)
    c.base_icc = _icc_soft(primary.icc, "primary", w)
    if primary.iso21496 is not None:
        try:
            c.iso_stub_version = parse_iso21496_version(primary.iso21496)
        except MetadataError as e:
            w.append(f"primary ISO 21496-1 block ignored: {e}")
    xmp_root = None
    if primary.xmp is not None:
        c.primary_xmp = primary.xmp
        xmp_root = _parse_xmp_soft(primary.xmp, "primary", w)
    if xmp_root is not None:
        try:
            c.gcontainer = read_container(xmp_root)
        except MetadataError as e:
            w.append(f"GContainer directory ignored: {e}")
        h = read_hdrgm(xmp_root)
        c.hdrgm_version = h.version if h else None
    if primary.mpf is not None:
        try:
            c.mpf = parse_mpf(primary.mpf.body(), primary.mpf_base_offset, len(data))
            w.extend(f"MPF: {m}" for m in c.mpf.warnings)
        except ContainerError as e:
            w.append(f"MPF index ignored: {e}")

    def fail(reason: str, error: HdrkitError | None = None):
        c.problem = reason
        c.error = error or GainMapUnavailableError(f"no usable gain map: {reason}")
        return c

    if primary.truncated:
        return fail("the primary image is truncated (its data ends before EOI)",
                    ContainerError("the primary image is truncated: its data ends before the end-of-image marker"))

    # candidate gain-map offsets, most trusted first
    candidates: list[tuple[int, str]] = []
    if c.mpf is not None:
        for e in c.mpf.entries[1:]:
            if e.absolute_offset >= len(data) or not is_jpeg(data, e.absolute_offset):
                w.append(f"MPF entry {e.index} offset {e.offset} (absolute {e.absolute_offset}) does not point at a "
                         f"JPEG in the {len(data)}-byte file")
                continue
            candidates.append((e.absolute_offset, f"MPF entry {e.index}"))
    if c.gcontainer and primary.end is not None:
        pos = primary.end
        for item in c.gcontainer[1:]:
            pos += item.padding or 0
            if item.semantic == "GainMap":
                candidates.append((pos, "GContainer"))
                break
            pos += item.length or 0
    nxt = data.find(b"\xff\xd8\xff", primary.end)
    if nxt >= 0:
        candidates.append((nxt, "next image"))

    problems = []
    seen = set()
    for off, how in candidates:
        if off in seen:
            continue
        seen.add(off)
        try:
            g = scan_jpeg(data, off, max_segments=max_segments)
        except ContainerError as e:
            problems.append(f"{how}: {e}")
            continue
        if g.truncated:
            problems.append(f"{how}: gain-map JPEG at offset {off} is truncated")
            continue
        c.gainmap, c.gainmap_offset, c.gainmap_end, c.gainmap_locator = g, off, g.end, how
        break
    if c.gainmap is None:
        if not candidates:
            return fail("no second image: no MPF entry, GContainer item or JPEG after the primary")
        return fail("; ".join(problems) or "no gain-map JPEG found")
    g = c.gainmap
    w.extend(f"gain map: {m}" for m in g.warnings)
    if c.gainmap_locator != "MPF entry 1" and c.mpf is not None:
        w.append(f"gain map located by {c.gainmap_locator}, not by the MPF index")
    if c.mpf is not None and len(c.mpf.entries) >= 2:
        e0 = c.mpf.entries[0]
        if e0.size != primary.end:
            w.append(f"MPF primary size {e0.size} differs from the actual {primary.end} bytes (offsets trusted)")
        gm_entry = next((e for e in c.mpf.entries[1:] if e.absolute_offset == c.gainmap_offset), None)
        if gm_entry is not None and gm_entry.size != g.end - g.start:
            w.append(f"MPF gain-map size {gm_entry.size} differs from the actual {g.end - g.start} bytes")
    if primary.end > c.gainmap_offset:
        c.primary_end = c.gainmap_offset
    c.gainmap_icc = _icc_soft(g.icc, "gain-map", w)

    # metadata: ISO, then hdrgm XMP, then Apple
    try:
        if g.iso21496 is not None:
            c.iso = parse_iso21496(g.iso21496)
            c.metadata = GainMapMetadata.from_iso(c.iso)
        else:
            roots = []
            for raw, what in ((g.xmp, "gain-map"), (g.xmp_extended, "gain-map extended")):
                if raw is not None:
                    r = _parse_xmp_soft(raw, what, w)
                    if r is not None:
                        roots.append(r)
            for r in roots:
                c.hdrgm = c.hdrgm or read_hdrgm(r)
                c.apple = c.apple or read_apple(r)
            if c.hdrgm is not None and c.hdrgm.values:
                c.metadata = GainMapMetadata.from_hdrgm(c.hdrgm)
            elif c.apple is not None:
                stops = c.apple.headroom
                if stops is None and primary.exif:
                    stops = _apple_makernote_stops(primary.exif)
                    if stops is not None:
                        w.append("Apple headroom taken from the MakerNote (tags 33/48)")
                if stops is None:
                    return fail("Apple gain map without a headroom (no HDRGainMapHeadroom, no MakerNote tags 33/48)")
                c.metadata = GainMapMetadata.from_apple(stops)
            else:
                return fail("the second image carries no gain-map metadata (ISO 21496-1, hdrgm XMP or Apple)")
    except (XmpRefusedError, LimitError):
        raise
    except MetadataError as e:
        return fail(str(e), e)
    return c


# ------------------------------------------------------------------------------ image
def planes_of_decoded(dec) -> BasePlanes:
    """The coded planes of a JPEG decoded by :func:`hdrkit.still.decode.decode_jpeg`, as the rebuild takes them."""
    if dec.is_gray:
        return BasePlanes(dec.planes[0])
    return BasePlanes(*dec.planes, chroma_factors=dec.chroma_factors)


@dataclass(eq=False)
class GainMapImage:
    """A decoded gain-map JPEG.

    ``base`` holds the primary image's coded samples (:class:`~hdrkit.still.decode.BasePlanes`:
    uint8 Y, Cb, Cr planes at coded size, full range, BT.601 matrix; ``base_rgb()`` gives
    sRGB-encoded RGB). ``gainmap`` is the map, uint8 (Hm, Wm) or (Hm, Wm, 3) RGB.
    ``primaries`` is the gamut :meth:`render` returns ('bt709' | 'p3' | 'bt2020').
    ``fallback_reason`` is set (and ``gainmap``/``metadata`` are None) when the map was
    unusable and ``read_gainmap(..., fallback="base")`` returned the SDR base instead.
    """

    base: BasePlanes
    gainmap: np.ndarray | None
    metadata: GainMapMetadata | None
    primaries: str
    base_primaries: str
    base_icc: bytes | None
    gainmap_icc: bytes | None
    exif: bytes | None
    xmp: str | None
    mpf: MpfIndex | None
    container: GainMapContainer
    fallback_reason: str | None = None

    @property
    def width(self) -> int:
        return self.base.width

    @property
    def height(self) -> int:
        return self.base.height

    @property
    def is_fallback(self) -> bool:
        return self.fallback_reason is not None

    def __repr__(self) -> str:  # one line: sizes and metadata, never the pixel arrays
        gm = "none" if self.gainmap is None else "x".join(map(str, self.gainmap.shape[1::-1])) + (
            "x3" if self.gainmap.ndim == 3 else "")
        meta = self.metadata
        extra = f", fallback_reason={self.fallback_reason!r}" if self.fallback_reason else ""
        head = (f"GainMapImage({self.width}x{self.height}, gainmap={gm}, primaries={self.primaries!r}, "
                f"base_primaries={self.base_primaries!r}")
        if meta is not None and hasattr(meta, "hdr_capacity_max"):
            head += f", hdr_capacity_max={meta.hdr_capacity_max:.4g}"
        return head + f"{extra})"

    @property
    def warnings(self) -> list[str]:
        return self.container.warnings

    def sdr_to_gain_matrix(self) -> np.ndarray | None:
        """Linear base-gamut -> gain-gamut matrix (ISO ``use_base_colour_space = 0``), or None."""
        if self.primaries == self.base_primaries:
            return None

        return rgb_to_rgb_matrix(self.base_primaries, self.primaries)

    def render(self, display_boost: float | None = None, *, clamp: bool = True, method: str = "fast",
               headroom: float | None = None) -> np.ndarray:
        """Rebuild linear HDR from the base and the gain map (:func:`hdrkit.core.rebuild.rebuild`).

        Parameters
        ----------
        display_boost : float, optional
            The display's peak relative to SDR white, >= 1 (libultrahdr's
            ``max_display_boost``); None applies the full map.
        clamp : bool
            Limit to [0, 10000/203] like libultrahdr's linear output (a fallback base to [0, 1]).
        method : {'fast', 'reference'}
            Compiled kernel or numpy reference (identical results).
        headroom : float, optional
            Former name of ``display_boost``, kept.

        Returns
        -------
        ndarray
            float32 (H, W, 3), linear, 1.0 = SDR white (203 cd/m^2), in :attr:`primaries`.

        Raises
        ------
        OptionError
            ``display_boost`` is not a finite number >= 1, or an unknown ``method``.

        References
        ----------
        ISO 21496-1:2025 clause 5; google/libultrahdr ``JpegR::applyGainMap``.
        """
        from ..core.rebuild import rebuild  # lazy: numba loads only once a picture is rebuilt (start-up time)

        display_boost = resolve_display_boost(display_boost, headroom)
        if display_boost is not None and self.metadata is None and not (math.isfinite(display_boost)
                                                                        and display_boost >= 1):
            raise OptionError(f"display headroom must be a finite number >= 1, not {display_boost}")
        return rebuild(self.base, self.gainmap, self.metadata, display_boost=display_boost,
                       sdr_to_gain=None if self.gainmap is None else self.sdr_to_gain_matrix(), clamp=clamp,
                       method=method)

    def map_inputs(self, display_boost: float | None = None):
        """What the compiled rebuild reads to make :meth:`render`'s picture (clamped, ``method="fast"``)
        row by row: :class:`hdrkit.core.rebuild.MapInputs`. Only for an image with a gain map."""
        from ..core.rebuild import map_inputs

        return map_inputs(self.base, self.gainmap, self.metadata, display_boost=display_boost,
                          sdr_to_gain=self.sdr_to_gain_matrix())

    def base_rgb(self) -> np.ndarray:
        """The base as sRGB-encoded uint8 RGB (H, W, 3) in :attr:`base_primaries` (BT.601
        full-range matrix from :mod:`hdrkit.core.ycbcr`, nearest chroma, rounded)."""
        b = self.base
        if b.is_gray:
            return np.repeat(b.y[..., None], 3, axis=-1)
        fx, fy = b.chroma_factors
        rows, cols = np.arange(b.height) // fy, np.arange(b.width) // fx
        rgb = ycbcr_to_rgb(b.y, b.cb[rows][:, cols], b.cr[rows][:, cols], "bt601", 8, True)
        return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)


def _read_source(src, max_bytes: int) -> tuple[bytes, str]:
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
        name = "<bytes>"
    else:
        p = require_file(src)
        try:
            size = p.stat().st_size
            if size > max_bytes:
                raise LimitError(f"{p}: {size} bytes is over the {max_bytes}-byte limit")
            data = p.read_bytes()
        except OSError as e:
            raise InputFileError(f"cannot read it: {(e.strerror or str(e)).lower()}", path=p) from e
        name = str(p)
    if len(data) > max_bytes:
        raise LimitError(f"{name}: {len(data)} bytes is over the {max_bytes}-byte limit")
    return data, name


def read_gainmap(src, *, max_pixels: int = DEFAULT_MAX_PIXELS, fallback: str | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES, decoder: str = "libjpeg") -> GainMapImage:
    """Read a gain-map JPEG and decode its base image and gain map.

    Parameters
    ----------
    src : path-like or bytes
        An Ultra HDR / ISO 21496-1 / Adobe hdrgm / Apple gain-map JPEG.
    max_pixels : int
        Largest base or map (width x height), checked from the frame headers before decoding.
    fallback : {None, 'base'}
        With ``'base'``, a file without a usable gain map gives the SDR base with
        ``fallback_reason`` set instead of raising.
    max_bytes : int
        Largest file read.
    decoder : {'libjpeg', 'pyav'}
        JPEG decoder (:data:`hdrkit.still.decode.BACKENDS`): libjpeg-turbo is bit-exact
        with libultrahdr; FFmpeg's differs by one code on a few per cent of samples.

    Returns
    -------
    GainMapImage
        Base planes, gain map, metadata and gamuts; :meth:`GainMapImage.render` rebuilds HDR.

    Raises
    ------
    LimitError
        An image or the file is over its limit.
    GainMapUnavailableError
        No usable gain map (a :class:`~hdrkit.errors.MetadataError`), unless ``fallback='base'``.
    ContainerError, DecodeError
        The primary image is truncated or does not decode (always, whatever ``fallback``).
    OptionError
        Unknown ``fallback`` or ``decoder``.

    References
    ----------
    ISO 21496-1:2025; Google Ultra HDR Image Format v1.1; Adobe Gain Map Specification 1.0;
    CIPA DC-007 (MPF); ITU-T T.81 (JPEG).
    """
    if fallback not in (None, "base"):
        raise OptionError(f"fallback must be None or 'base', not {fallback!r}")
    data, name = _read_source(src, max_bytes)
    try:
        c = parse_container(data)
    except HdrkitError as e:
        raise type(e)(f"{name}: {e}") from e
    if c.primary.truncated:
        raise ContainerError(f"{name}: {c.error}") from c.error
    check_pixel_limit(c.primary, max_pixels, f"{name}: primary image")

    def decode_map():
        check_pixel_limit(c.gainmap, max_pixels, f"{name}: gain map")
        return decode_jpeg(data[c.gainmap_offset:c.gainmap_end], max_pixels=max_pixels, what=f"{name}: gain map",
                           backend=decoder, output="samples")

    # the decoders run without the GIL: the map decodes on a second thread beside the base;
    # the base's errors come first, as when they ran one after the other
    with ThreadPoolExecutor(max_workers=1) as pool:
        gm_job = pool.submit(decode_map) if c.problem is None else None
        base_dec = decode_jpeg(data[:c.primary_end], max_pixels=max_pixels, structure=c.primary,
                               what=f"{name}: primary image", backend=decoder)
        base = planes_of_decoded(base_dec)
        gm_error = gm_job.exception() if gm_job is not None else None
    xmp = c.primary_xmp.decode("utf-8", "replace") if c.primary_xmp is not None else None

    def image(gm, meta, primaries, reason):
        return GainMapImage(base=base, gainmap=gm, metadata=meta, primaries=primaries,
                            base_primaries=c.base_primaries, base_icc=c.primary.icc,
                            gainmap_icc=c.gainmap.icc if c.gainmap else None, exif=c.primary.exif, xmp=xmp,
                            mpf=c.mpf, container=c, fallback_reason=reason)

    def unusable(reason: str, err: HdrkitError):
        if fallback == "base":
            c.warnings.append(f"SDR base fallback: {reason}")
            return image(None, None, c.base_primaries, reason)
        if isinstance(err, GainMapUnavailableError):
            raise GainMapUnavailableError(f"{name}: {err}") from err
        raise GainMapUnavailableError(f"{name}: no usable gain map: {err}") from err

    if c.problem is not None:
        return unusable(c.problem, c.error)
    if isinstance(gm_error, (DecodeError, ContainerError)):  # a LimitError is raised by result()
        return unusable(f"the gain-map JPEG does not decode ({gm_error})", gm_error)
    gm_dec = gm_job.result()
    gm = gm_dec.planes[0]
    if gm.ndim == 3 and gm_dec.backend == "pyav" and gm_dec.chroma_factors != (1, 1):
        c.warnings.append(f"gain-map chroma is subsampled {gm_dec.chroma_factors}; upsampled nearest-neighbour")
    return image(gm, c.metadata, c.gain_primaries, None)
