"""Write Ultra HDR (JPEG_R) files: hdrkit's SDR export as the base, a gain map restoring the HDR.

:func:`export_ultrahdr_array` takes linear HDR (1.0 = SDR white = 203 cd/m^2) and writes
one JPEG file holding two images:

1. the primary: exactly the SDR JPEG :func:`hdrkit.still.export.export_array` writes for
   the same pixels and options (same tone and gamut map, dither, sRGB ICC, EXIF with
   thumbnail, hdrkit XMP; the entropy-coded data is byte-identical), with these segments
   added before its first non-APP marker: a second ``rdf:Description`` in its XMP packet
   (``hdrgm:Version`` and the GContainer directory naming the gain map and its length), the
   4-byte ISO 21496-1 version block, and the MPF index (APP2, big-endian) listing both
   images with their sizes and offsets;
2. the gain map: a gray (1 channel) or 4:4:4 (3 channels) JPEG with the ``hdrgm`` XMP
   properties and the full ISO 21496-1 record (APP2).

The gain is computed in the base's gamut (BT.709 primaries, ``use_base_colour_space``,
libultrahdr's default) against the base *as decoders see it* (the JPEG decoded the way
libultrahdr decodes it: BT.601 full-range matrix, nearest chroma, sRGB table; see
:mod:`hdrkit.core.rebuild`), so the JPEG error of the base is corrected by the map too. The
HDR target is the input converted to BT.709 and clipped to [0, headroom]: colours outside
the sRGB primaries are clipped in the HDR rendition, as libultrahdr does.

The encoding maths is :mod:`hdrkit.core.gainmap_encode`: the map is computed at its own
resolution from weighted means of the base and the HDR around each texel, in one compiled
pass that linearises the base from its decoded planes on the fly (no full-resolution float
copy of the base, no per-pixel logarithm); a downscaled map is then fitted through the
decoder's upsampling near jumps in gain. The base JPEG is made in memory
(:func:`hdrkit.still.export.export_jpeg_parts`) and decoded once; its tags (thumbnail, EXIF,
XMP) are made on a second thread meanwhile. The file appears atomically.

References
----------
- Google, "Ultra HDR Image Format" v1.1 (GContainer XMP, MPF, ISO 21496-1 in JPEG).
- ISO 21496-1:2025 (gain-map metadata); Adobe "Gain Map Specification" 1.0 draft 15.
- CIPA DC-007-2009 "Multi-Picture Format" §5.2 (MP Index IFD, MP Entry).
- google/libultrahdr ``lib/src/jpegr.cpp`` (``appendGainMap``: segment order, the version-only
  ISO block in the primary), ``lib/src/multipictureformat.cpp``.
"""

from __future__ import annotations

import io
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.gainmap import LINEAR_MAX
from ..core.gainmap_encode import DEFAULT_OFFSET, GainMapEncoding, encode_gain_map
from ..core.pipeline import RenderParams, estimate_peak
from ..errors import OptionError, require_file
from ..io.atomic import atomic_path, check_not_input
from .exif import strip_location as strip_exif_location
from .export import ExportResult, check_display_boost, export_jpeg_parts, load_linear, render_params_from
from .gainmap import GainMapMetadata
from .iso21496 import URN, write_iso21496
from .jpeg import APP_SIGNATURES, app_segment, insert_segments, scan_jpeg
from .mpf import build_mpf
from .xmp import ContainerItem, add_descriptions, write_container, write_hdrgm, xmp_packet

__all__ = ["GainMapOptions", "DEFAULT_GAINMAP_QUALITY", "gainmap_metadata", "gainmap_jpeg", "assemble",
           "base_planes", "base_linear", "export_ultrahdr_array", "export_ultrahdr"]

#: JPEG quality of the gain-map image (libultrahdr's default for the map).
DEFAULT_GAINMAP_QUALITY = 95
#: MP entry attributes (CIPA DC-007 §5.2.3.3.1): baseline primary image; dependent image.
MP_ATTR_PRIMARY = 0x00030000
MP_ATTR_GAINMAP = 0x00000000
_XMP_PREFIX = next(p for m, p, k in APP_SIGNATURES if k == "xmp")


@dataclass(frozen=True)
class GainMapOptions:
    """How the gain map is made.

    ``channels``: 1 (one gain per pixel, default) or 3; ``scale``: map downscale per axis
    (4 = quarter resolution, default); ``quality``: JPEG quality of the map;
    ``headroom``: the HDR rendition's peak relative to SDR white (linear; None = chosen
    from the content); ``mono``: 1-channel gain ('lsq' or 'luminance').
    """

    channels: int = 1
    scale: int = 4
    quality: int = DEFAULT_GAINMAP_QUALITY
    headroom: float | None = None
    mono: str = "lsq"

    def __post_init__(self):
        if self.channels not in (1, 3):
            raise OptionError(f"gain-map channels must be 1 or 3, not {self.channels}")
        if int(self.scale) != self.scale or not 1 <= self.scale <= 128:
            raise OptionError(f"gain-map scale must be a whole number 1-128, not {self.scale}")
        if not 1 <= int(self.quality) <= 100:
            raise OptionError(f"gain-map quality must be 1-100, not {self.quality}")
        if self.headroom is not None and not (math.isfinite(self.headroom) and self.headroom > 1.0):
            raise OptionError(f"gain-map headroom must be a number > 1, not {self.headroom}")
        if self.mono not in ("lsq", "luminance"):
            raise OptionError(f"1-channel gain must be 'lsq' or 'luminance', not {self.mono!r}")


def gainmap_metadata(enc: GainMapEncoding) -> GainMapMetadata:
    """The encoding's values in libultrahdr's float terms (gain applied in the base gamut)."""
    return GainMapMetadata(tuple(2.0 ** v for v in enc.log2_min), tuple(2.0 ** v for v in enc.log2_max), enc.gamma,
                           enc.offset_sdr, enc.offset_hdr, 2.0 ** enc.hdr_capacity_min, 2.0 ** enc.hdr_capacity_max,
                           True, "iso")


def gainmap_jpeg(enc: GainMapEncoding, quality: int = DEFAULT_GAINMAP_QUALITY) -> bytes:
    """The gain-map JPEG: codes as gray or 4:4:4 JPEG, then ``hdrgm`` XMP and the ISO 21496-1 record.

    Both metadata forms hold the same values (readers of Ultra HDR v1.0 use the XMP,
    v1.1 and ISO readers the record).
    """
    from PIL import Image

    codes = enc.codes
    buf = io.BytesIO()
    if enc.channels == 1:
        Image.fromarray(np.ascontiguousarray(codes[..., 0]), "L").save(buf, "JPEG", quality=int(quality))
    else:
        Image.fromarray(np.ascontiguousarray(codes), "RGB").save(buf, "JPEG", quality=int(quality), subsampling=0)
    meta = gainmap_metadata(enc)
    xmp = xmp_packet([write_hdrgm(meta.to_hdrgm(enc.channels))])
    iso = write_iso21496(meta.to_iso(enc.channels), enc.channels)
    return insert_segments(buf.getvalue(), [app_segment(0xE1, _XMP_PREFIX + xmp), app_segment(0xE2, URN + iso)])


def assemble(primary: bytes, gainmap: bytes) -> bytes:
    """One Ultra HDR file from an SDR JPEG and a gain-map JPEG.

    The primary's XMP packet gains an ``rdf:Description`` with ``hdrgm:Version`` and the
    GContainer directory (or a new packet is added); the ISO 21496-1 version block
    (``minimum_version = writer_version = 0``) and the MPF index are inserted after the
    last APPn segment, before the tables and the scan. MP entry offsets count from the
    MPF endian field; the first image's offset is 0 (CIPA DC-007 §5.2.3.3.3).
    """
    s = scan_jpeg(primary)
    directory = write_container([ContainerItem("Primary", "image/jpeg", None, None),
                                 ContainerItem("GainMap", "image/jpeg", len(gainmap), None)])
    xmp_seg = next((g for g in s.segments if g.kind == "xmp"), None)
    app_end = max((g.end for g in s.segments if 0xE0 <= g.marker <= 0xEF), default=s.start + 2)
    if xmp_seg is not None:
        packet = add_descriptions(xmp_seg.body(), [directory])
        new_xmp = app_segment(0xE1, _XMP_PREFIX + packet)
        head = primary[:xmp_seg.offset] + new_xmp + primary[xmp_seg.end:app_end]
    else:
        head = primary[:app_end] + app_segment(0xE1, _XMP_PREFIX + xmp_packet([directory]))
    tail = primary[app_end:]
    iso_stub = app_segment(0xE2, URN + b"\x00\x00\x00\x00")
    mpf_len = len(app_segment(0xE2, build_mpf([(0, 0, 0), (0, 0, 0)])))
    mpf_at = len(head) + len(iso_stub)
    total = mpf_at + mpf_len + len(tail)
    endian_at = mpf_at + 4 + 4  # FF E2 + length, then 'MPF\0'
    mpf = app_segment(0xE2, build_mpf([(MP_ATTR_PRIMARY, total, 0),
                                        (MP_ATTR_GAINMAP, len(gainmap), total - endian_at)]))
    out = head + iso_stub + mpf + tail
    assert len(out) == total
    return out + gainmap


def base_planes(base_jpeg: bytes):
    """The base JPEG's coded planes (:class:`hdrkit.core.gainmap.BasePlanes`), decoded by libjpeg."""
    from .decode import decode_jpeg
    from .gainmap import planes_of_decoded

    return planes_of_decoded(decode_jpeg(base_jpeg, what="base image"))


def base_linear(base_jpeg: bytes) -> np.ndarray:
    """The base JPEG as Ultra HDR decoders see it: linear float32 (H, W, 3), 1.0 = SDR white.

    libjpeg's planes, BT.601 full-range matrix, nearest chroma, the sRGB table
    (:func:`hdrkit.core.rebuild.rebuild` without a map).
    """
    from ..core.rebuild import rebuild

    return rebuild(base_planes(base_jpeg), None)


def export_ultrahdr_array(rgb, primaries: str, dst, *, gainmap: GainMapOptions | None = None,
                          src_peak: float | None = None, params: RenderParams | None = None, quality: int = 90,
                          subsampling: str = "auto", progressive: bool = False, exif: bytes | None = None,
                          xmp_extra: dict | None = None, warnings: list[str] | None = None) -> ExportResult:
    """Write linear ``rgb`` (H, W, 3; 1.0 = SDR white; in ``primaries``) as an Ultra HDR JPEG.

    The base is :func:`hdrkit.still.export.export_array` of the same arguments; the gain
    map restores ``rgb`` converted to BT.709 and clipped to [0, headroom], where headroom
    is ``gainmap.headroom`` or else the source peak used for tone mapping (a 99.99th
    percentile, :func:`hdrkit.core.pipeline.estimate_peak`), at most 10000/203.

    Returns the export's :class:`~hdrkit.still.export.ExportResult` with the whole file's
    size and the gain-map fields (``gainmap_*``) added to ``tags`` and to the XMP.
    """
    from ..core.primaries import rgb_to_rgb_matrix

    t0 = time.perf_counter()
    opt = gainmap or GainMapOptions()
    rgb = np.ascontiguousarray(rgb, dtype=np.float32)
    peak = estimate_peak(rgb) if src_peak is None else float(src_peak)
    headroom = min(opt.headroom if opt.headroom is not None else max(peak, 1.0 + 1 / 64), LINEAR_MAX)
    warnings = list(warnings or [])
    if opt.headroom is None and peak <= 1.0:
        warnings.append("the picture has no light above SDR white: its gain map restores nothing")
    extra = {**(xmp_extra or {}), "ultrahdr": "true", "gainmap_channels": opt.channels,
             "gainmap_scale": opt.scale, "gainmap_q": int(opt.quality), "gainmap_headroom": f"{headroom:.4g}"}
    # the base's tags (thumbnail, EXIF, XMP) are made on a second thread while the base's
    # pixels are encoded and the map is computed from them (its decode and the fit's serial
    # steps leave a core free)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pixels, finish = export_jpeg_parts(rgb, primaries, None, src_peak=peak, params=params, quality=quality,
                                           subsampling=subsampling, progressive=progressive, exif=exif,
                                           xmp_extra=extra, warnings=warnings, pool=pool)
        to_base = None if primaries == "bt709" else rgb_to_rgb_matrix(primaries, "bt709")
        enc = encode_gain_map(base_planes(pixels), rgb, channels=opt.channels, scale=opt.scale,
                              offset_sdr=DEFAULT_OFFSET, offset_hdr=DEFAULT_OFFSET, mono=opt.mono, headroom=headroom,
                              hdr_to_gain=to_base)
        gm = gainmap_jpeg(enc, opt.quality)
        base, res = finish()
    data = assemble(base, gm)
    dst = Path(dst)
    with atomic_path(dst) as tmp_dst:
        tmp_dst.write_bytes(data)
    res.dst = dst
    res.size_bytes = len(data)
    res.tags.update({k: str(v) for k, v in extra.items() if k.startswith("gainmap_") or k == "ultrahdr"})
    res.tags["gainmap_capacity_log2"] = f"{enc.hdr_capacity_max:.4g}"
    res.seconds = time.perf_counter() - t0
    return res


def export_ultrahdr(src, dst, *, gainmap: GainMapOptions | None = None, params: RenderParams | None = None,
                    display_boost: float | None = None, quality: int = 90, subsampling: str = "auto",
                    progressive: bool = False, force: bool = False, fallback: bool = True,
                    max_pixels: int | None = None, curve: str | None = None, preset: str | None = None,
                    curve_params: dict | None = None, gamut_map: str | None = None, dither: str | None = None,
                    headroom: float | None = None, strip_location: bool = False,
                    assume_transfer: str | None = None, assume_primaries: str | None = None) -> ExportResult:
    """Export one still (path or bytes) as Ultra HDR at ``dst``.

    Options as :func:`hdrkit.still.export.export_sdr`, whose output is the base image here,
    pixel for pixel; ``gainmap`` (:class:`GainMapOptions`) shapes the gain map. For a
    gain-map JPEG input without ``gainmap.headroom``, the new map is made for the input's
    own HDR capacity (its ``hdr_capacity_max``, at most ``display_boost``), so a re-export
    keeps the headroom.
    """
    from .gainmap import parse_container

    display_boost = check_display_boost(display_boost, headroom)
    params = render_params_from(params, curve=curve, preset=preset, curve_params=curve_params, gamut_map=gamut_map,
                                dither=dither)
    opt = gainmap or GainMapOptions()
    if not isinstance(src, (bytes, bytearray, memoryview)):
        require_file(src)
        check_not_input(src, dst, force)
    img = load_linear(src, display_boost=display_boost, fallback=fallback, max_pixels=max_pixels,
                      assume_transfer=assume_transfer, assume_primaries=assume_primaries)
    if opt.headroom is None and img.kind == "gainmap":
        data = bytes(src) if isinstance(src, (bytes, bytearray, memoryview)) else Path(src).read_bytes()
        meta = parse_container(data).metadata
        if meta is not None:
            cap = meta.hdr_capacity_max if display_boost is None else min(display_boost, meta.hdr_capacity_max)
            if cap > 1.0:
                opt = GainMapOptions(opt.channels, opt.scale, opt.quality, cap, opt.mono)
    extra = {"source_kind": img.kind}
    if display_boost is not None:
        extra["headroom"] = f"{display_boost:g}"  # the XMP field's name, as export_sdr writes it
    res = export_ultrahdr_array(img.rgb, img.primaries, dst, gainmap=opt, params=params, quality=quality,
                                subsampling=subsampling, progressive=progressive,
                                exif=strip_exif_location(img.exif) if strip_location else img.exif, xmp_extra=extra,
                                warnings=img.warnings)
    res.fallback = img.fallback
    return res
