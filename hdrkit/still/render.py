"""Rebuild HDR linear light from an SDR base image and a gain map.

Per pixel, in this order (libultrahdr ``JpegR::applyGainMap``, LINEAR output):

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

The display weight (libultrahdr): ``boost = min(max_display_boost, hdr_capacity_max)``;
``weight = 1`` when ``boost == hdr_capacity_max`` (and for ``headroom=None``), else
``clamp((log2 boost - log2 cap_min) / (log2 cap_max - log2 cap_min), 0, 1)``.

Output: float32 (H, W, 3), linear, 1.0 = SDR white = 203 cd/m^2, in the gain gamut.

:func:`rebuild_reference` is plain numpy; :func:`rebuild_fast` is one fused, row-parallel
numba kernel doing the same arithmetic in the same order (the tests require identical
output): steps 1-2 come from per-code tables (R from (Y, Cr), B from (Y, Cb), G from Y
and the (Cb, Cr) term) evaluated with the reference's expressions. All tables come from
the core functions (:func:`hdrkit.core.transfer.eotf_srgb`,
:func:`hdrkit.core.ycbcr.ycbcr_to_rgb_matrix`).

References
----------
- ISO 21496-1:2025 clause 5 (gain application, weight); Adobe Gain Map Specification 1.0
  draft 15 (the same formula in the XMP form).
- google/libultrahdr v2.0 ``lib/src/jpegr.cpp`` (applyGainMap), ``lib/src/gainmapmath.cpp``
  (ShepardsIDW, sampleMap, sampleMap3Channel, applyGainLUT), ``gainmapmath.h`` (GainLUT,
  kSrgbInvOETFNumEntries = kGainFactorNumEntries = 1024).
- ITU-T T.871 (JFIF) §7 and IJG libjpeg ``jdcolor.c`` (integer Y'CbCr -> RGB used for
  3-channel gain-map JPEGs).
- Shepard, D. (1968), "A two-dimensional interpolation function for irregularly-spaced data".
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numba import njit, prange

from ..core.transfer import PQ_PEAK_NITS, SDR_WHITE_NITS, eotf_srgb
from ..core.gainmap import _ycc_coefficients, jfif_ycc_to_rgb
from ..errors import OptionError
from .decode import BasePlanes

__all__ = [
    "SRGB_LUT_SIZE",
    "GAIN_LUT_SIZE",
    "LINEAR_MAX",
    "BasePlanes",
    "srgb_decode_lut",
    "display_weight",
    "gain_luts",
    "shepard_tables",
    "jfif_ycc_to_rgb",
    "resize_map",
    "prepare_map",
    "rebuild_reference",
    "rebuild_fast",
    "rebuild",
]

SRGB_LUT_SIZE = 1024
GAIN_LUT_SIZE = 1024
#: Upper clamp of the linear output: 10000 cd/m^2 relative to 203 cd/m^2 (libultrahdr).
LINEAR_MAX = PQ_PEAK_NITS / SDR_WHITE_NITS
#: Aspect-ratio difference above which the map is resized to the base first (libultrahdr).
ASPECT_TOLERANCE = 0.01


# ----------------------------------------------------------------------------- tables
@lru_cache(maxsize=4)
def srgb_decode_lut(n: int = SRGB_LUT_SIZE) -> np.ndarray:
    """sRGB-encoded ``i / (n - 1)`` -> linear (IEC 61966-2-1), float64, read-only."""
    lut = eotf_srgb(np.arange(n, dtype=np.float64) / (n - 1))
    lut.setflags(write=False)
    return lut


def display_weight(metadata, headroom: float | None) -> float:
    """Gain-map weight for a display of ``headroom`` (linear, >= 1; None = full HDR)."""
    if headroom is None:
        return 1.0
    headroom = float(headroom)
    if not (math.isfinite(headroom) and headroom >= 1.0):
        raise OptionError(f"display headroom must be a finite number >= 1, not {headroom}")
    cap_min, cap_max = metadata.hdr_capacity_min, metadata.hdr_capacity_max
    boost = min(headroom, cap_max)
    if boost == cap_max:
        return 1.0
    w = (math.log2(boost) - math.log2(cap_min)) / (math.log2(cap_max) - math.log2(cap_min))
    return min(max(w, 0.0), 1.0)


def gain_luts(metadata, weight: float, n: int = GAIN_LUT_SIZE) -> np.ndarray:
    """(3, n) gain factors ``2 ** (lerp(log2 min, log2 max, i / (n - 1)) * weight)``."""
    v = np.arange(n, dtype=np.float64) / (n - 1)
    out = np.empty((3, n), np.float64)
    for c in range(3):
        lo, hi = math.log2(metadata.min_content_boost[c]), math.log2(metadata.max_content_boost[c])
        out[c] = np.exp2((lo * (1.0 - v) + hi * v) * weight)
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


def _as_matrix(m) -> np.ndarray | None:
    if m is None:
        return None
    m = np.asarray(m, np.float64)
    return None if np.array_equal(m, np.eye(3)) else m


# ------------------------------------------------------------------- numpy reference
def _base_linear_reference(base: BasePlanes, sdr_to_gain) -> np.ndarray:
    cr_r, cb_g, cr_g, cb_b = _ycc_coefficients()
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
    m = _as_matrix(sdr_to_gain)
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


def rebuild_reference(base: BasePlanes, gainmap: np.ndarray | None, metadata=None, *, headroom: float | None = None,
                      sdr_to_gain=None, clamp: bool = True) -> np.ndarray:
    """Numpy reference of the rebuild (see the module docstring). ``gainmap=None`` gives
    the linearised base only (the SDR fallback). Returns float32 (H, W, 3)."""
    lin = _base_linear_reference(base, sdr_to_gain)
    if gainmap is None:
        out = lin
        hi = 1.0
    else:
        mp, scale = prepare_map(gainmap, base.width, base.height)
        g = _sample_reference(mp, scale, base.width, base.height)
        luts = gain_luts(metadata, display_weight(metadata, headroom))
        inv_gamma = [1.0 / gm for gm in metadata.gamma]
        n = GAIN_LUT_SIZE - 1
        out = np.empty_like(lin)
        for c in range(3):
            ch = 0 if g.shape[2] == 1 else c
            gc = g[..., 0 if g.shape[2] == 1 else c]
            if inv_gamma[ch] != 1.0:
                gc = gc ** inv_gamma[ch]
            idx = np.clip((gc * n + 0.5).astype(np.int64), 0, n)
            out[..., c] = (lin[..., c] + metadata.offset_sdr[ch]) * luts[ch][idx] - metadata.offset_hdr[ch]
        hi = LINEAR_MAX
    if clamp:
        out = np.clip(out, 0.0, hi)
    return out.astype(np.float32)


# ----------------------------------------------------------------------- fused kernel
@lru_cache(maxsize=1)
def _tables(sdr_lut_n: int = SRGB_LUT_SIZE):
    """Per-code tables for the kernel, computed with the reference's own expressions.

    ``r_tab[Y, V]`` and ``b_tab[Y, U]``: linear R and B (clamp, LUT index, sRGB table);
    ``y_tab[Y]`` = Y / 255; ``guv_tab[U, V]`` = the chroma part of G'; ``gray_tab[Y]``.
    """
    cr_r, cb_g, cr_g, cb_b = _ycc_coefficients()
    lut = srgb_decode_lut(sdr_lut_n)
    n = sdr_lut_n - 1
    y = np.arange(256, dtype=np.float64) * (1 / 255.0)
    c = (np.arange(256, dtype=np.float64) - 128) * (1 / 255.0)

    def lin(t):
        idx = (np.clip(t, 0.0, 1.0) * n + 0.5).astype(np.int64)
        return lut[np.clip(idx, 0, n)]

    r_tab = lin(y[:, None] + cr_r * c[None, :])
    b_tab = lin(y[:, None] + cb_b * c[None, :])
    guv_tab = cb_g * c[:, None] + cr_g * c[None, :]
    return r_tab, b_tab, y, guv_tab, lin(y)


@njit(cache=True, fastmath=False, inline="always")
def _apply(lv, gc, off_s, off_h, lut, ng, lo, hi, do_clamp):
    k = int(gc * ng + 0.5)
    if k < 0:
        k = 0
    elif k > ng:
        k = ng
    t = (lv + off_s) * lut[k] - off_h
    if do_clamp:
        t = min(max(t, lo), hi)
    return t


@njit(cache=True, parallel=True, fastmath=False)
def _rebuild_kernel(y, cb, cr, ccol, fy, gray, r_tab, b_tab, y_tab, guv_tab, gray_tab, srgb_lut, mat, use_mat, mp,
                    mode, s_float, wrows, xl_a, xu_a, yl_a, yu_a, oy_a, ty_a, luts, inv_gamma, off_sdr, off_hdr, lo, hi,
                    do_clamp, out):
    """``inv_gamma`` is None when every gamma is 1: numba then compiles a version without
    the power (whose mere presence in the loop stops LLVM vectorising it)."""
    h, w = y.shape
    hm, wm, nc = mp.shape
    nl = srgb_lut.shape[0] - 1
    ng = luts.shape[1] - 1
    one_ch = nc == 1
    ch1 = 0 if one_ch else 1
    ch2 = 0 if one_ch else 2
    lut0, lut1, lut2 = luts[0], luts[ch1], luts[ch2]
    os0, os1, os2 = off_sdr[0], off_sdr[ch1], off_sdr[ch2]
    oh0, oh1, oh2 = off_hdr[0], off_hdr[ch1], off_hdr[ch2]
    for row in prange(h):
        yrow = y[row]
        crow = row // fy
        cbrow = cb[crow]
        crrow = cr[crow]
        orow = out[row]
        m_lo = mp[0]
        m_hi = mp[0]
        wr = wrows[0, 0]
        if mode == 1:
            m_lo = mp[yl_a[row]]
            m_hi = mp[yu_a[row]]
            wr = wrows[ty_a[row], oy_a[row]]
        for col in range(w):
            yv = yrow[col]
            if gray:
                r = gray_tab[yv]
                g = r
                b = r
            else:
                cc = ccol[col]
                u = cbrow[cc]
                v = crrow[cc]
                r = r_tab[yv, v]
                b = b_tab[yv, u]
                t = y_tab[yv] + guv_tab[u, v]
                if t < 0.0:
                    t = 0.0
                elif t > 1.0:
                    t = 1.0
                k = int(t * nl + 0.5)
                if k > nl:
                    k = nl
                g = srgb_lut[k]
            if use_mat:
                r0 = mat[0, 0] * r + mat[0, 1] * g + mat[0, 2] * b
                r1 = mat[1, 0] * r + mat[1, 1] * g + mat[1, 2] * b
                r2 = mat[2, 0] * r + mat[2, 1] * g + mat[2, 2] * b
                r, g, b = r0, r1, r2
            if mode == 0:
                if do_clamp:
                    r = min(max(r, lo), hi)
                    g = min(max(g, lo), hi)
                    b = min(max(b, lo), hi)
                orow[col, 0] = r
                orow[col, 1] = g
                orow[col, 2] = b
                continue
            if mode == 1:
                xlo = xl_a[col]
                xhi = xu_a[col]
                w1 = wr[col, 0]
                w2 = wr[col, 1]
                w3 = wr[col, 2]
                w4 = wr[col, 3]
                g0 = m_lo[xlo, 0] * w1 + m_hi[xlo, 0] * w2 + m_lo[xhi, 0] * w3 + m_hi[xhi, 0] * w4
                if one_ch:
                    g1 = g0
                    g2 = g0
                else:
                    g1 = m_lo[xlo, 1] * w1 + m_hi[xlo, 1] * w2 + m_lo[xhi, 1] * w3 + m_hi[xhi, 1] * w4
                    g2 = m_lo[xlo, 2] * w1 + m_hi[xlo, 2] * w2 + m_lo[xhi, 2] * w3 + m_hi[xhi, 2] * w4
            else:
                g0 = 0.0
                g1 = 0.0
                g2 = 0.0
                xm = col / s_float
                ym = row / s_float
                xlo = min(int(math.floor(xm)), wm - 1)
                ylo = min(int(math.floor(ym)), hm - 1)
                xhi = min(xlo + 1, wm - 1)
                yhi = min(ylo + 1, hm - 1)
                dx1 = xm - xlo
                dx3 = xm - xhi
                dy1 = ym - ylo
                dy2 = ym - yhi
                d1 = math.sqrt(dx1 * dx1 + dy1 * dy1)
                d2 = math.sqrt(dx1 * dx1 + dy2 * dy2)
                d3 = math.sqrt(dx3 * dx3 + dy1 * dy1)
                d4 = math.sqrt(dx3 * dx3 + dy2 * dy2)
                for c in range(nc):
                    e1 = mp[ylo, xlo, c]
                    e2 = mp[yhi, xlo, c]
                    e3 = mp[ylo, xhi, c]
                    e4 = mp[yhi, xhi, c]
                    if d1 == 0.0:
                        gg = e1
                    elif d2 == 0.0:
                        gg = e2
                    elif d3 == 0.0:
                        gg = e3
                    elif d4 == 0.0:
                        gg = e2 if one_ch else e4
                    else:
                        a1 = 1.0 / d1
                        a2 = 1.0 / d2
                        a3 = 1.0 / d3
                        a4 = 1.0 / d4
                        tot = a1 + a2 + a3 + a4
                        gg = e1 * (a1 / tot) + e2 * (a2 / tot) + e3 * (a3 / tot) + e4 * (a4 / tot)
                    if c == 0:
                        g0 = gg
                    elif c == 1:
                        g1 = gg
                    else:
                        g2 = gg
                if one_ch:
                    g1 = g0
                    g2 = g0
            if inv_gamma is not None:
                if inv_gamma[0] != 1.0:
                    g0 = g0 ** inv_gamma[0]
                if inv_gamma[ch1] != 1.0:
                    g1 = g1 ** inv_gamma[ch1]
                if inv_gamma[ch2] != 1.0:
                    g2 = g2 ** inv_gamma[ch2]
            orow[col, 0] = _apply(r, g0, os0, oh0, lut0, ng, lo, hi, do_clamp)
            orow[col, 1] = _apply(g, g1, os1, oh1, lut1, ng, lo, hi, do_clamp)
            orow[col, 2] = _apply(b, g2, os2, oh2, lut2, ng, lo, hi, do_clamp)


def _read_only(a: np.ndarray) -> np.ndarray:
    """A read-only C-contiguous view (or copy) of ``a``: the planes' one type for the kernel."""
    v = np.ascontiguousarray(a).view()
    v.flags.writeable = False
    return v


def rebuild_fast(base: BasePlanes, gainmap: np.ndarray | None, metadata=None, *, headroom: float | None = None,
                 sdr_to_gain=None, clamp: bool = True, out: np.ndarray | None = None) -> np.ndarray:
    """Fused numba kernel of :func:`rebuild_reference` (same arguments, same result)."""
    h, w = base.height, base.width
    if out is None:
        out = np.empty((h, w, 3), np.float32)
    m = _as_matrix(sdr_to_gain)
    mat = np.eye(3) if m is None else m
    r_tab, b_tab, y_tab, guv_tab, gray_tab = _tables()
    gray = base.is_gray
    y = _read_only(base.y)  # one compiled form whichever decoder made the planes
    cb = y if gray else _read_only(base.cb)
    cr = y if gray else _read_only(base.cr)
    fx, fy = base.chroma_factors
    ccol = np.arange(w, dtype=np.int64) // fx
    empty_i = np.zeros(1, np.int64)
    wrows = np.zeros((1, 1, 1, 4))
    xl = xu = yl = yu = oy = ty = empty_i
    if gainmap is None:
        mpf = np.zeros((1, 1, 1))
        mode, s_float = 0, 1.0
        luts = np.ones((3, 2))
        off_sdr, off_hdr, inv_gamma = np.zeros(3), np.zeros(3), np.ones(3)
        hi = 1.0
    else:
        mp, scale = prepare_map(gainmap, w, h)
        hm, wm = mp.shape[:2]
        mpf = mp / 255.0
        luts = gain_luts(metadata, display_weight(metadata, headroom))
        inv_gamma = np.array([1.0 / g for g in metadata.gamma])
        off_sdr = np.array(metadata.offset_sdr, np.float64)
        off_hdr = np.array(metadata.offset_hdr, np.float64)
        hi = LINEAR_MAX
        if scale == math.floor(scale):
            mode, s_int, s_float = 1, int(scale), scale
            xs, ys = np.arange(w), np.arange(h)
            xl, xu, ox = np.minimum(xs // s_int, wm - 1), np.minimum(xs // s_int + 1, wm - 1), xs % s_int
            yl, yu, oy = np.minimum(ys // s_int, hm - 1), np.minimum(ys // s_int + 1, hm - 1), ys % s_int
            ty = (yl == yu).astype(np.int64)
            # weights per (no-bottom flag, row offset, column): the Shepard table entry of each pixel
            tab = shepard_tables(s_int)
            tsel = (xl == xu).astype(np.int64)[None, :] + 2 * np.arange(2)[:, None]  # (2, W)
            wrows = np.ascontiguousarray(tab[tsel[:, None, :], np.arange(s_int)[None, :, None] * s_int + ox[None, None, :]])
        else:
            mode, s_float = 2, float(scale)
    _rebuild_kernel(y, cb, cr, ccol, fy, gray, r_tab, b_tab, y_tab, guv_tab, gray_tab, srgb_decode_lut(), mat,
                    m is not None, mpf, mode, s_float, wrows, xl, xu, yl, yu, oy, ty, luts,
                    inv_gamma if np.any(inv_gamma != 1.0) else None, off_sdr, off_hdr, 0.0, hi, clamp, out)
    return out


def rebuild(base: BasePlanes, gainmap: np.ndarray | None, metadata=None, *, headroom: float | None = None,
            sdr_to_gain=None, clamp: bool = True, method: str = "fast") -> np.ndarray:
    """Dispatch to :func:`rebuild_fast` (default) or :func:`rebuild_reference`."""
    if method == "fast":
        return rebuild_fast(base, gainmap, metadata, headroom=headroom, sdr_to_gain=sdr_to_gain, clamp=clamp)
    if method == "reference":
        return rebuild_reference(base, gainmap, metadata, headroom=headroom, sdr_to_gain=sdr_to_gain, clamp=clamp)
    raise OptionError(f"unknown rebuild method {method!r}; choose 'fast' or 'reference'")
