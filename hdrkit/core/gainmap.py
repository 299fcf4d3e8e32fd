"""The gain-map rebuild: linear HDR from an SDR base image and a gain map.

One definition of the ISO 21496-1 / Ultra HDR gain function for every hdrkit path:
:func:`log2_gain_of`, :func:`gain_function` and :func:`apply_gain` here are what the rebuild
applies and what the encoder (:mod:`hdrkit.core.gainmap_encode`) inverts. Per pixel, in this order (libultrahdr
``JpegR::applyGainMap``, LINEAR output):

1. base Y'CbCr -> R'G'B' with the BT.601 full-range matrix whatever the gamut (JFIF,
   ITU-T T.871; chroma taken nearest-neighbour, as libultrahdr's ``getYuv4abPixel``),
   each channel clamped to [0, 1];
2. sRGB decoding (IEC 61966-2-1) through a 1024-entry table indexed by
   ``int(v * 1023 + 0.5)``; result display-linear, 1.0 = SDR white;
3. optionally a linear-light matrix from the base gamut to the gain gamut (ISO 21496-1
   ``use_base_colour_space = 0``);
4. gain-map sample ``g`` in [0, 1] at ``(x / s, y / s)`` with ``s = W_base / W_map``
   (the same factor on both axes, no half-pixel offset), Shepard inverse-distance
   weighting of the 4 neighbours; integer ``s`` through precomputed weight tables, other
   ``s`` through the float path; maps whose aspect ratio differs by more than 1 % are
   first resized to the base size (:func:`resize_map`, libultrahdr's resampler);
5. ``g' = g ** (1 / gamma)``, then a 1024-entry table
   ``2 ** ((log2 min * (1 - g') + log2 max * g') * weight)`` (per channel; a one-channel
   map uses channel 0's parameters for R, G and B);
6. ``HDR = (SDR + offset_sdr) * gain - offset_hdr``;
7. optionally clamp to [0, 10000 / 203] (libultrahdr's linear half-float range).

The display weight (libultrahdr): ``boost = min(display_boost, hdr_capacity_max)``;
``weight = 1`` when ``boost == hdr_capacity_max`` (and for ``display_boost=None``), else
``clamp((log2 boost - log2 cap_min) / (log2 cap_max - log2 cap_min), 0, 1)``.

Output: float32 (H, W, 3), linear, 1.0 = SDR white = 203 cd/m^2, in the gain gamut.

This module holds the maths in numpy: tables, display weight, map resampling and the
reference rebuild :func:`rebuild_reference`. :mod:`hdrkit.core.rebuild` holds its compiled
form (the same arithmetic in the same order, identical output) and :func:`~hdrkit.core.rebuild.rebuild`,
which picks one. All tables come from the core functions
(:func:`hdrkit.core.transfer.eotf_srgb`, :func:`hdrkit.core.ycbcr.ycbcr_to_rgb_matrix`).

References
----------
- ISO 21496-1:2025 clause 5 (gain application, weight); Adobe Gain Map Specification 1.0
  draft 15 (the same formula in the XMP form).
- google/libultrahdr v2.0 ``lib/src/jpegr.cpp`` (applyGainMap), ``lib/src/gainmapmath.cpp``
  (ShepardsIDW, sampleMap, sampleMap3Channel, applyGainLUT), ``gainmapmath.h`` (GainLUT,
  kSrgbInvOETFNumEntries = kGainFactorNumEntries = 1024), ``editorhelper.cpp``
  (resize_image).
- ITU-T T.871 (JFIF) §7 and IJG libjpeg ``jdcolor.c`` (integer Y'CbCr -> RGB used for
  3-channel gain-map JPEGs).
- Shepard, D. (1968), "A two-dimensional interpolation function for irregularly-spaced data",
  Proc. 23rd ACM National Conference, 517-524.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, Sequence

import numpy as np

from ..errors import OptionError
from .transfer import PQ_PEAK_NITS, SDR_WHITE_NITS, eotf_srgb
from .ycbcr import ycbcr_to_rgb_matrix

__all__ = [
    "gain_matrix",
    "jpeg_ycc_coefficients",
    "SRGB_LUT_SIZE",
    "GAIN_LUT_SIZE",
    "LINEAR_MAX",
    "ASPECT_TOLERANCE",
    "DEFAULT_OFFSET",
    "BasePlanes",
    "GainMapParams",
    "log2_gain_of",
    "gain_function",
    "apply_gain",
    "srgb_decode_lut",
    "display_weight",
    "gain_luts",
    "shepard_tables",
    "jfif_ycc_to_rgb",
    "resize_map",
    "prepare_map",
    "rebuild_reference",
]

SRGB_LUT_SIZE = 1024
GAIN_LUT_SIZE = 1024
#: Upper clamp of the linear output: 10000 cd/m^2 relative to 203 cd/m^2 (libultrahdr).
LINEAR_MAX = PQ_PEAK_NITS / SDR_WHITE_NITS
#: Offset added to both renditions (Adobe's default and libultrahdr's, 1/64 of SDR white):
#: it bounds the gain of near-black pixels so the map's range is spent on real content.
DEFAULT_OFFSET = 1.0 / 64.0
#: Aspect-ratio difference above which the map is resized to the base first (libultrahdr).
ASPECT_TOLERANCE = 0.01


@dataclass(frozen=True)
class BasePlanes:
    """Base image as coded: Y (H, W) and, unless gray, Cb/Cr at their coded size (uint8).

    ``chroma_factors`` = (horizontal, vertical) subsampling factors.
    """

    y: np.ndarray
    cb: np.ndarray | None = None
    cr: np.ndarray | None = None
    chroma_factors: tuple[int, int] = (1, 1)

    @property
    def height(self) -> int:
        return self.y.shape[0]

    @property
    def width(self) -> int:
        return self.y.shape[1]

    @property
    def is_gray(self) -> bool:
        return self.cb is None


class GainMapParams(Protocol):
    """The gain-map metadata the rebuild reads (ISO 21496-1 clause 5 in libultrahdr's
    float form; :class:`hdrkit.still.gainmap.GainMapMetadata` is one)."""

    min_content_boost: Sequence[float]  #: linear gain at map value 0, per channel
    max_content_boost: Sequence[float]  #: linear gain at map value 1, per channel
    gamma: Sequence[float]  #: map encoding exponent, per channel
    offset_sdr: Sequence[float]  #: linear offsets, 1.0 = SDR white, per channel
    offset_hdr: Sequence[float]
    hdr_capacity_min: float  #: linear display headroom where the map starts to apply
    hdr_capacity_max: float  #: ... and where it is fully applied


# -------------------------------------------------------------------- the gain function
def log2_gain_of(g, log2_min, log2_max, gamma=1.0) -> np.ndarray:
    """Log2 gain stored by map values ``g``: ``log2_min (1 - g') + log2_max g'``, ``g' = g ** (1 / gamma)``.

    Parameters
    ----------
    g : array_like
        Map values in [0, 1] (code / 255), shape (..., C).
    log2_min, log2_max, gamma : array_like
        Per-channel metadata (C values or scalars): stops, stops, exponent.

    Returns
    -------
    numpy.ndarray
        float64, stops.

    References
    ----------
    ISO 21496-1:2025 clause 5; libultrahdr ``gainmapmath.cpp`` (``applyGain``, ``affineMapGain``).
    """
    gp = np.power(np.asarray(g, np.float64), 1.0 / np.asarray(gamma, np.float64))
    return np.asarray(log2_min) * (1.0 - gp) + np.asarray(log2_max) * gp


def gain_function(g, log2_min, log2_max, gamma=1.0, weight: float = 1.0) -> np.ndarray:
    """Linear gain for map values ``g`` in [0, 1]: ``2 ** (log2_gain_of(g, ...) * weight)``.

    Parameters
    ----------
    g : array_like
        Map values, code / 255, shape (..., C).
    log2_min, log2_max, gamma : array_like
        Per-channel metadata (C values), stops / stops / exponent.
    weight : float
        Display weight in [0, 1] (1 = full HDR, :func:`display_weight`).

    Returns
    -------
    numpy.ndarray
        float64 linear gain.

    References
    ----------
    ISO 21496-1:2025 clause 5; libultrahdr ``gainmapmath.cpp`` (``applyGain``).
    """
    return np.exp2(log2_gain_of(g, log2_min, log2_max, gamma) * weight)


def apply_gain(sdr, gain, offset_sdr=DEFAULT_OFFSET, offset_hdr=DEFAULT_OFFSET) -> np.ndarray:
    """``HDR = (SDR + offset_sdr) * gain - offset_hdr`` (linear, 1.0 = SDR white), float64.

    References
    ----------
    ISO 21496-1:2025 clause 5; libultrahdr ``gainmapmath.cpp`` (``applyGain``).
    """
    return (np.asarray(sdr, np.float64) + offset_sdr) * gain - offset_hdr


# ----------------------------------------------------------------------------- tables

@lru_cache(maxsize=4)
def srgb_decode_lut(n: int = SRGB_LUT_SIZE) -> np.ndarray:
    """sRGB-encoded ``i / (n - 1)`` -> linear (IEC 61966-2-1), float64, read-only."""
    lut = eotf_srgb(np.arange(n, dtype=np.float64) / (n - 1))
    lut.setflags(write=False)
    return lut


def jpeg_ycc_coefficients() -> tuple[float, float, float, float]:
    """(Cr->R, Cb->G, Cr->G, Cb->B) of the BT.601 matrix (T.871), from the core."""
    m = ycbcr_to_rgb_matrix("bt601")
    return float(m[0, 2]), float(m[1, 1]), float(m[1, 2]), float(m[2, 1])


def display_weight(metadata: GainMapParams, display_boost: float | None) -> float:
    """Weight of the gain map for a display of peak ``display_boost``.

    Parameters
    ----------
    metadata : GainMapParams
        ``hdr_capacity_min`` / ``hdr_capacity_max`` (linear headrooms) are read.
    display_boost : float or None
        Display peak relative to SDR white, linear, >= 1 (libultrahdr's
        ``max_display_boost``); None applies the full map.

    Returns
    -------
    float
        Weight in [0, 1]: 1 when ``min(display_boost, hdr_capacity_max)`` reaches the
        capacity maximum, else ``clamp((log2 boost - log2 cap_min) / (log2 cap_max - log2 cap_min), 0, 1)``.

    Raises
    ------
    OptionError
        ``display_boost`` is not a finite number >= 1.

    References
    ----------
    ISO 21496-1:2025 clause 5 (weighting factor); libultrahdr ``applyGainMap``.
    """
    if display_boost is None:
        return 1.0
    display_boost = float(display_boost)
    if not (math.isfinite(display_boost) and display_boost >= 1.0):
        raise OptionError(f"display headroom must be a finite number >= 1, not {display_boost}")
    cap_min, cap_max = metadata.hdr_capacity_min, metadata.hdr_capacity_max
    boost = min(display_boost, cap_max)
    if boost == cap_max:
        return 1.0
    w = (math.log2(boost) - math.log2(cap_min)) / (math.log2(cap_max) - math.log2(cap_min))
    return min(max(w, 0.0), 1.0)


def gain_luts(metadata, weight: float, n: int = GAIN_LUT_SIZE) -> np.ndarray:
    """(3, n) gain factors :func:`gain_function` of ``g' = i / (n - 1)`` (the map value after
    its gamma), ``2 ** (lerp(log2 min, log2 max, i / (n - 1)) * weight)``."""
    v = np.arange(n, dtype=np.float64) / (n - 1)
    out = np.empty((3, n), np.float64)
    for c in range(3):
        lo, hi = math.log2(metadata.min_content_boost[c]), math.log2(metadata.max_content_boost[c])
        out[c] = gain_function(v, lo, hi, 1.0, weight)
    return out


@lru_cache(maxsize=16)
def shepard_tables(scale: int) -> np.ndarray:
    """Inverse-distance weights for an integer map scale, shape (4, scale * scale, 4).

    Table order: both neighbours, no right neighbour, no bottom neighbour, neither
    (libultrahdr mWeights, mWeightsNR, mWeightsNB, mWeightsC). Weight order per entry:
    current, below, right, below-right. Entry ``oy * scale + ox`` is for the pixel at
    offset (ox, oy) inside its map cell; an exact hit is (1, 0, 0, 0).
    """
    s = int(scale)
    out = np.zeros((4, s * s, 4), np.float64)
    for t, (inc_r, inc_b) in enumerate(((1, 1), (0, 1), (1, 0), (0, 0))):
        for oy in range(s):
            for ox in range(s):
                px, py = ox / s, oy / s
                d1 = math.hypot(px, py)
                if d1 == 0:
                    out[t, oy * s + ox] = (1.0, 0.0, 0.0, 0.0)
                    continue
                w = np.array([1 / d1, 1 / math.hypot(px, py - inc_b), 1 / math.hypot(px - inc_r, py),
                              1 / math.hypot(px - inc_r, py - inc_b)])
                out[t, oy * s + ox] = w / w.sum()
    out.setflags(write=False)
    return out


def jfif_ycc_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """8-bit full-range Y'CbCr (same-size planes) -> 8-bit R'G'B', as libjpeg does it.

    T.871 §7 equations in IJG ``jdcolor.c`` fixed point: 16 fractional bits, the
    coefficients rounded to 5 decimals as libjpeg writes them, round-half-up, clamped.
    Used for 3-channel gain-map JPEGs, whose samples libultrahdr reads as RGB.
    """
    cr_r, cb_g, cr_g, cb_b = (round(c, 5) for c in jpeg_ycc_coefficients())

    def fix(x: float) -> int:
        return int(x * 65536 + 0.5) if x >= 0 else -int(-x * 65536 + 0.5)

    x = np.arange(256, dtype=np.int64) - 128
    half = 1 << 15
    t_r = (fix(cr_r) * x + half) >> 16
    t_b = (fix(cb_b) * x + half) >> 16
    t_g = fix(cb_g) * x[:, None] + fix(cr_g) * x[None, :] + half  # [cb, cr]
    yi = y.astype(np.int64)
    r = yi + t_r[cr]
    g = yi + (t_g[cb, cr] >> 16)
    b = yi + t_b[cb]
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)


def resize_map(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize a uint8 (H, W[, C]) gain map to ``width x height`` the way libultrahdr does.

    libultrahdr ``resize_image`` (editorhelper.cpp): source position ``(x * sw / dw,
    y * sh / dh)``, neighbours p0 = (x0, y0), p1 = (x0 + 1, y0), p2 = (x0, y0 + 1),
    p3 = (x0 + 1, y0 + 1) (edge-clamped), blended with the cubic Bernstein weights
    ``(1-t)^3, 3t(1-t)^2, 3t^2(1-t), t^3`` of the *horizontal* fraction ``t`` only;
    values in [0, 1], written back as ``int(v * 255 + 0.5)`` clamped.
    """
    src_h, src_w = img.shape[:2]
    ox = np.arange(width, dtype=np.float64) * (src_w / width)
    oy = np.arange(height, dtype=np.float64) * (src_h / height)
    x0 = np.clip(np.floor(ox).astype(np.int64), 0, src_w - 1)
    y0 = np.clip(np.floor(oy).astype(np.int64), 0, src_h - 1)
    x1, y1 = np.minimum(x0 + 1, src_w - 1), np.minimum(y0 + 1, src_h - 1)
    t = ox - x0
    w = np.stack([(1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t ** 3])  # (4, W)
    a = img.astype(np.float64) / 255.0
    if a.ndim == 2:
        a = a[..., None]
    out = np.empty((height, width, a.shape[2]), np.uint8)
    # blocks of output rows keep each float64 temporary at ~8 MB whatever the base size
    step = max(1, (1 << 20) // max(1, width * a.shape[2]))
    for r in range(0, height, step):
        ya, yb = y0[r:r + step], y1[r:r + step]
        v = (a[ya][:, x0] * w[0][None, :, None] + a[ya][:, x1] * w[1][None, :, None]
             + a[yb][:, x0] * w[2][None, :, None] + a[yb][:, x1] * w[3][None, :, None])
        v = v.astype(np.float32).astype(np.float64)
        out[r:r + step] = np.clip(np.floor(v * 255.0 + 0.5), 0, 255)
    return out if img.ndim == 3 else out[..., 0]


def prepare_map(gainmap: np.ndarray, width: int, height: int) -> tuple[np.ndarray, float]:
    """(map as (Hm, Wm, C) uint8, scale factor) ready for sampling a ``width x height`` base."""
    m = gainmap if gainmap.ndim == 3 else gainmap[..., None]
    if m.shape[2] not in (1, 3):
        raise OptionError(f"a gain map has 1 or 3 channels, not {m.shape[2]}")
    hm, wm = m.shape[:2]
    if abs(width / height - wm / hm) / (width / height) > ASPECT_TOLERANCE:
        m = resize_map(m, width, height)
        wm = width
    return np.ascontiguousarray(m), width / wm


def gain_matrix(m) -> np.ndarray | None:
    """The SDR -> gain-gamut matrix as float64, or None for none or the identity (no matrix step)."""
    if m is None:
        return None
    m = np.asarray(m, np.float64)
    return None if np.array_equal(m, np.eye(3)) else m


# ------------------------------------------------------------------- numpy reference
def _base_linear_reference(base: BasePlanes, sdr_to_gain) -> np.ndarray:
    cr_r, cb_g, cr_g, cb_b = jpeg_ycc_coefficients()
    y = base.y.astype(np.float64) * (1 / 255.0)
    if base.is_gray:
        rgb = np.repeat(y[..., None], 3, axis=-1)
    else:
        fx, fy = base.chroma_factors
        rows = np.arange(base.height) // fy
        cols = np.arange(base.width) // fx
        u = (base.cb[rows][:, cols].astype(np.float64) - 128) * (1 / 255.0)
        v = (base.cr[rows][:, cols].astype(np.float64) - 128) * (1 / 255.0)
        rgb = np.stack([y + cr_r * v, y + (cb_g * u + cr_g * v), y + cb_b * u], axis=-1)
    rgb = np.clip(rgb, 0.0, 1.0)
    idx = (rgb * (SRGB_LUT_SIZE - 1) + 0.5).astype(np.int64)
    lin = srgb_decode_lut()[np.clip(idx, 0, SRGB_LUT_SIZE - 1)]
    m = gain_matrix(sdr_to_gain)
    if m is not None:
        lin = lin @ m.T
    return lin


def _sample_reference(mp: np.ndarray, scale: float, width: int, height: int) -> np.ndarray:
    """Gain-map samples g in [0, 1] at every base pixel, (H, W, C) float64."""
    hm, wm, nc = mp.shape
    data = mp.astype(np.float64) / 255.0
    if scale == math.floor(scale):
        s = int(scale)
        xs, ys = np.arange(width), np.arange(height)
        xl, yl = np.minimum(xs // s, wm - 1), np.minimum(ys // s, hm - 1)
        xu, yu = np.minimum(xs // s + 1, wm - 1), np.minimum(ys // s + 1, hm - 1)
        sel = (xl == xu)[None, :] * 1 + (yl == yu)[:, None] * 2  # 0 both, 1 no right, 2 no bottom, 3 neither
        off = (ys % s)[:, None] * s + (xs % s)[None, :]
        w = shepard_tables(s)[sel, off]  # (H, W, 4)
        e1, e2 = data[yl][:, xl], data[yu][:, xl]
        e3, e4 = data[yl][:, xu], data[yu][:, xu]
        return e1 * w[..., 0:1] + e2 * w[..., 1:2] + e3 * w[..., 2:3] + e4 * w[..., 3:4]
    xm = np.arange(width, dtype=np.float64) / scale
    ym = np.arange(height, dtype=np.float64) / scale
    xl = np.minimum(np.floor(xm).astype(np.int64), wm - 1)
    yl = np.minimum(np.floor(ym).astype(np.int64), hm - 1)
    xu, yu = np.minimum(xl + 1, wm - 1), np.minimum(yl + 1, hm - 1)
    dx1, dx3 = (xm - xl)[None, :], (xm - xu)[None, :]
    dy1, dy2 = (ym - yl)[:, None], (ym - yu)[:, None]
    d1 = np.sqrt(dx1 ** 2 + dy1 ** 2)
    d2 = np.sqrt(dx1 ** 2 + dy2 ** 2)
    d3 = np.sqrt(dx3 ** 2 + dy1 ** 2)
    d4 = np.sqrt(dx3 ** 2 + dy2 ** 2)
    e1, e2 = data[yl][:, xl], data[yu][:, xl]
    e3, e4 = data[yl][:, xu], data[yu][:, xu]
    with np.errstate(divide="ignore", invalid="ignore"):
        w1, w2, w3, w4 = 1 / d1, 1 / d2, 1 / d3, 1 / d4
        tot = w1 + w2 + w3 + w4
        g = (e1 * (w1 / tot)[..., None] + e2 * (w2 / tot)[..., None] + e3 * (w3 / tot)[..., None]
             + e4 * (w4 / tot)[..., None])
    # exact hits, checked in libultrahdr's order; its one-channel path returns e2 for d4 == 0
    g = np.where((d4 == 0)[..., None], e2 if nc == 1 else e4, g)
    g = np.where((d3 == 0)[..., None], e3, g)
    g = np.where((d2 == 0)[..., None], e2, g)
    g = np.where((d1 == 0)[..., None], e1, g)
    return g


def rebuild_reference(base: BasePlanes, gainmap: np.ndarray | None, metadata: GainMapParams | None = None, *,
                      display_boost: float | None = None, sdr_to_gain=None, clamp: bool = True) -> np.ndarray:
    """Numpy reference of the rebuild (steps 1-7 of the module docstring).

    Parameters
    ----------
    base : BasePlanes
        The base image's coded 8-bit Y'CbCr (or gray) planes.
    gainmap : ndarray or None
        uint8 gain map (Hm, Wm) or (Hm, Wm, 3); None gives the linearised base only (the
        SDR fallback, clamped to [0, 1]).
    metadata : GainMapParams
        Gain-map metadata (required with a map).
    display_boost : float or None
        Display peak relative to SDR white (see :func:`display_weight`); None = full map.
    sdr_to_gain : (3, 3) array_like or None
        Linear base-gamut -> gain-gamut matrix (ISO 21496-1 ``use_base_colour_space = 0``).
    clamp : bool
        Clamp to [0, :data:`LINEAR_MAX`] as libultrahdr's linear output.

    Returns
    -------
    ndarray
        float32 (H, W, 3), linear, 1.0 = SDR white = 203 cd/m^2, in the gain gamut.

    Raises
    ------
    OptionError
        Bad ``display_boost`` or a map with other than 1 or 3 channels.
    """
    lin = _base_linear_reference(base, sdr_to_gain)
    if gainmap is None:
        out = lin
        hi = 1.0
    else:
        mp, scale = prepare_map(gainmap, base.width, base.height)
        g = _sample_reference(mp, scale, base.width, base.height)
        luts = gain_luts(metadata, display_weight(metadata, display_boost))
        inv_gamma = [1.0 / gm for gm in metadata.gamma]
        n = GAIN_LUT_SIZE - 1
        out = np.empty_like(lin)
        for c in range(3):
            ch = 0 if g.shape[2] == 1 else c
            gc = g[..., 0 if g.shape[2] == 1 else c]
            if inv_gamma[ch] != 1.0:
                gc = gc ** inv_gamma[ch]
            idx = np.clip((gc * n + 0.5).astype(np.int64), 0, n)
            out[..., c] = apply_gain(lin[..., c], luts[ch][idx], metadata.offset_sdr[ch], metadata.offset_hdr[ch])
        hi = LINEAR_MAX
    if clamp:
        out = np.clip(out, 0.0, hi)
    return out.astype(np.float32)
