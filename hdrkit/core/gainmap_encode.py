"""Gain-map encoding: from an SDR base and an HDR rendition to 8-bit map codes and metadata.

The gain function is the decoder's (ISO 21496-1 clause 5; libultrahdr ``applyGain``), one
definition in :mod:`hdrkit.core.gainmap` that the rebuild applies::

    gain = 2 ** (log2_min * (1 - g') + log2_max * g'),   g' = g ** (1 / gamma)
    HDR  = (SDR + offset_sdr) * gain - offset_hdr

(:func:`~hdrkit.core.gainmap.log2_gain_of`, :func:`~hdrkit.core.gainmap.gain_function` and
:func:`~hdrkit.core.gainmap.apply_gain`, re-exported here); the encoder inverts them:

1. :func:`texel_means`: the map is computed at its own resolution (``1 / scale`` of the
   base size). Each texel takes the means of the base and of the HDR target over the base
   pixels nearest to its sampling position (the decoder samples texel ``i`` exactly at base
   pixel ``i * W / W_map``, no half-pixel offset), weighted by each pixel's HDR magnitude
   ``|HDR + offset_hdr|`` so that a texel straddling a highlight's edge keeps the
   highlight's gain: one compiled pass over the full-resolution pixels and the base's coded
   planes (:func:`texel_means_reference` is its numpy form);
2. :func:`log2_gain` of those means: ``log2((HDR + offset_hdr) / (SDR + offset_sdr))``, per
   channel (3-channel map) or one value per texel (1-channel map, see below).
   (:func:`downscale_log2_gain` averages per-pixel log gains instead; kept for analysis);
3. :func:`choose_range` and :func:`choose_gamma`: ``log2_min``, ``log2_max`` (per channel)
   from the texels, the gamma that puts the median texel at code 128;
4. :func:`quantise`: ``code = round(255 * t ** gamma)``, ``t = (L - log2_min) / (log2_max - log2_min)``.

A 1-channel map holds one gain for R, G and B. ``mono="lsq"`` (default) stores the gain
that minimises the pixel's squared linear-light error ``sum_c ((SDR_c + k_s) G - (HDR_c + k_h))^2``,
``G = <s, h> / <s, s>``; ``mono="luminance"`` stores the ratio of luminances (libultrahdr's
choice). One gain per pixel cannot undo hue or gamut changes between the two renditions;
a 3-channel map can.

Units: linear light, 1.0 = SDR white (203 cd/m^2); gains and ranges in log2 (stops).
Everything here is numpy on channels-last arrays, no I/O.

References
----------
- ISO 21496-1:2025 "Gain map metadata for image conversion", clause 5 (gain map
  application, weight) and clause 6 (gain_map_min/max, gamma, base/alternate offsets,
  base/alternate HDR headroom).
- Adobe, "Gain Map Specification" 1.0 draft 15 (Feb 2024), "Generating a gain map".
- google/libultrahdr ``lib/src/jpegr.cpp`` (``JpegR::generateGainMap``),
  ``lib/src/gainmapmath.cpp`` (``computeGain``, ``affineMapGain``, ``applyGain``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from .gainmap import DEFAULT_OFFSET, BasePlanes, apply_gain, gain_function, log2_gain_of, rebuild_reference
from .rebuild import _base_pixel, base_kernel_inputs

__all__ = [
    "DEFAULT_OFFSET",
    "MONO_MODES",
    "GainMapEncoding",
    "log2_gain_of",
    "gain_function",
    "apply_gain",
    "log2_gain",
    "map_size",
    "downscale_log2_gain",
    "texel_means",
    "texel_means_reference",
    "choose_range",
    "choose_gamma",
    "quantise",
    "encode_gain_map",
]

MONO_MODES = ("lsq", "luminance")
#: Smallest log2 range a channel is given (a flat channel still needs max > min to quantise).
_MIN_RANGE = 1.0 / 64.0
_GAMMA_LIMITS = (0.5, 2.0)


def log2_gain(sdr, hdr, *, channels: int = 1, offset_sdr: float = DEFAULT_OFFSET,
              offset_hdr: float = DEFAULT_OFFSET, mono: str = "lsq", weights=None) -> np.ndarray:
    """Per-pixel log2 gain that turns ``sdr`` into ``hdr`` through :func:`apply_gain`.

    Parameters
    ----------
    sdr, hdr : numpy.ndarray
        (H, W, 3) linear light in the same gamut, 1.0 = SDR white; ``hdr`` >= 0.
    channels : {1, 3}
        3: ``log2((hdr_c + k_h) / (sdr_c + k_s))`` per channel. 1: one gain per pixel.
    offset_sdr, offset_hdr : float
        ``k_s`` and ``k_h`` (linear, > 0).
    mono : {'lsq', 'luminance'}
        1-channel gain: the least-squares gain ``<s, h> / <s, s>`` of the offset RGB
        vectors, or ``(Y_h + k_h) / (Y_s + k_s)`` with luminance ``weights``.
    weights : array_like, optional
        Luminance weights of the gamut (for ``mono='luminance'``), default BT.709.

    Returns
    -------
    numpy.ndarray
        float32 (H, W, channels), stops.

    References
    ----------
    libultrahdr ``gainmapmath.cpp`` (``computeGain``: ``log2((hdr + offset) / (sdr + offset))``);
    ISO 21496-1:2025 clause 5 (the inverse of the gain application).
    """
    if channels not in (1, 3):
        raise ValueError(f"a gain map has 1 or 3 channels, not {channels}")
    s = np.asarray(sdr, np.float32) + np.float32(offset_sdr)
    h = np.maximum(np.asarray(hdr, np.float32), 0) + np.float32(offset_hdr)
    if channels == 3:
        return np.log2(h / s)
    if mono == "lsq":
        ratio = _dot(s, h) / _dot(s, s)
    elif mono == "luminance":
        w = np.asarray((0.2126, 0.7152, 0.0722) if weights is None else weights, np.float32)
        ratio = (h @ w) / (s @ w)
    else:
        raise ValueError(f"unknown 1-channel gain {mono!r}; choose from {', '.join(MONO_MODES)}")
    return np.log2(np.maximum(ratio, np.float32(1e-30)))[..., None]


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel dot product of two (..., 3) arrays (plain products: faster than einsum here)."""
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def map_size(width: int, height: int, scale: int) -> tuple[int, int]:
    """(map width, map height) for a ``width x height`` base at ``1 / scale``: ceil of each.

    The decoder's sampling factor is ``width / map_width`` on both axes (libultrahdr
    ``sampleMap``).
    """
    return max(1, math.ceil(width / scale)), max(1, math.ceil(height / scale))


def _window_starts(n: int, n_map: int, factor: float) -> np.ndarray:
    """Start of each texel's window: base pixels nearer to texel i's sample i * factor
    than to its neighbours', i.e. [ceil((i - 1/2) * factor), ceil((i + 1/2) * factor))."""
    starts = np.ceil((np.arange(n_map) - 0.5) * factor).astype(np.int64)
    starts[0] = 0
    return np.minimum(starts, n - 1)


def downscale_log2_gain(log_gain: np.ndarray, map_width: int, map_height: int, weights=None) -> np.ndarray:
    """Mean (or weighted mean) log2 gain around each texel's sampling position.

    Texel ``(i, j)`` is sampled by the decoder at base pixel ``(i * f, j * f)`` with
    ``f = W / map_width`` on both axes (no half-pixel offset; libultrahdr ``sampleMap``).
    Its value is the mean over the base pixels in ``[(i - 1/2) f, (i + 1/2) f)`` on each
    axis (the last window runs to the edge).

    Parameters
    ----------
    log_gain : numpy.ndarray
        (H, W, C) stops.
    map_width, map_height : int
        Map size (see :func:`map_size`).
    weights : numpy.ndarray, optional
        (H, W) positive weight of each pixel; None = plain mean.

    Returns
    -------
    numpy.ndarray
        float64 (map_height, map_width, C).
    """
    h, w = log_gain.shape[:2]
    if (map_width, map_height) == (w, h):
        return log_gain.astype(np.float64)
    xs, ys = _windows(w, h, map_width, map_height)
    return _window_means(log_gain, None if weights is None else np.asarray(weights, np.float32), xs, ys)


def _windows(w: int, h: int, map_width: int, map_height: int) -> tuple[np.ndarray, np.ndarray]:
    """Window starts of every texel column and row (the factor ``w / map_width`` on both axes)."""
    f = w / map_width
    xs, ys = _window_starts(w, map_width, f), _window_starts(h, map_height, f)
    if np.any(np.diff(xs) <= 0) or np.any(np.diff(ys) <= 0):
        raise ValueError(f"map {map_width}x{map_height} does not fit a {w}x{h} base")
    return xs, ys


def _window_means(values: np.ndarray, weights: np.ndarray | None, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """(Weighted) means of ``values`` (R, W, C) over the windows starting at ``xs`` and ``ys``
    (row starts relative to ``values``; each window runs to the next start or the edge)."""
    def sums(a):
        return np.add.reduceat(np.add.reduceat(a, xs, axis=1, dtype=np.float64), ys, axis=0)

    if weights is None:
        cx = np.diff(np.append(xs, values.shape[1]))
        cy = np.diff(np.append(ys, values.shape[0]))
        return sums(values) / (cy[:, None, None] * cx[None, :, None])
    wt = weights[..., None]
    return sums(values * wt) / sums(wt)


@njit(cache=True, inline="always", error_model="numpy")
def _add_pixel(acc, i, s0, s1, s2, a, b, c, use_mat, m00, m01, m02, m10, m11, m12, m20, m21, m22, top, k_h, pk):
    """One pixel into texel ``i``'s sums: the clipped target, its weight; returns the running peak."""
    if use_mat:
        t0 = m00 * a + m01 * b + m02 * c
        t1 = m10 * a + m11 * b + m12 * c
        t2 = m20 * a + m21 * b + m22 * c
    else:
        t0, t1, t2 = a, b, c
    t0 = min(max(t0, 0.0), top)
    t1 = min(max(t1, 0.0), top)
    t2 = min(max(t2, 0.0), top)
    u0, u1, u2 = t0 + k_h, t1 + k_h, t2 + k_h
    wt = np.sqrt(u0 * u0 + u1 * u1 + u2 * u2)
    acc[i, 0] += wt
    acc[i, 1] += wt * s0
    acc[i, 2] += wt * s1
    acc[i, 3] += wt * s2
    acc[i, 4] += wt * t0
    acc[i, 5] += wt * t1
    acc[i, 6] += wt * t2
    return max(pk, t0, t1, t2)


@njit(cache=True, inline="always", error_model="numpy")
def _store_means(acc, j, sm, hm):
    for i in range(acc.shape[0]):
        inv = 1.0 / acc[i, 0]
        for ch in range(3):
            sm[j, i, ch] = acc[i, 1 + ch] * inv
            hm[j, i, ch] = acc[i, 4 + ch] * inv


# The base comes as its coded planes, linearised per pixel by the rebuild's own steps: no
# full-resolution linear copy of it is written and read again. Matrix entries and record
# fields are read into locals before the loop.
@njit(cache=True, parallel=True, nogil=True, error_model="numpy")
def _texel_means_planes_kernel(p, k, hdr, mat, use_mat, top, k_h, xs, ys, sm, hm, peaks):  # pragma: no cover
    H, W = hdr.shape[0], hdr.shape[1]
    mh, mw = ys.shape[0], xs.shape[0]
    m00, m01, m02 = mat[0, 0], mat[0, 1], mat[0, 2]
    m10, m11, m12 = mat[1, 0], mat[1, 1], mat[1, 2]
    m20, m21, m22 = mat[2, 0], mat[2, 1], mat[2, 2]
    y_, cb, cr, ccol, fy, gray = p.y, p.cb, p.cr, p.ccol, p.fy, p.gray
    r_tab, b_tab, y_tab, guv_tab, gray_tab = k.r_tab, k.b_tab, k.y_tab, k.guv_tab, k.gray_tab
    srgb_lut, bmat, use_bmat = k.srgb_lut, k.mat, k.use_mat
    for j in prange(mh):
        r1 = ys[j + 1] if j + 1 < mh else H
        acc = np.zeros((mw, 7))
        pk = 0.0
        for y in range(ys[j], r1):
            yrow, cbrow, crrow = y_[y], cb[y // fy], cr[y // fy]
            i = 0
            nxt = xs[1] if mw > 1 else W
            for x in range(W):
                if x >= nxt:
                    i += 1
                    nxt = xs[i + 1] if i + 1 < mw else W
                cc = ccol[x]
                r, g, b = _base_pixel(yrow[x], cbrow[cc], crrow[cc], gray, r_tab, b_tab, y_tab, guv_tab, gray_tab,
                                      srgb_lut, use_bmat, bmat)
                # the base as rebuild() returns it: clamped to [0, 1], float32
                r = np.float64(np.float32(min(max(r, 0.0), 1.0)))
                g = np.float64(np.float32(min(max(g, 0.0), 1.0)))
                b = np.float64(np.float32(min(max(b, 0.0), 1.0)))
                pk = _add_pixel(acc, i, r, g, b, np.float64(hdr[y, x, 0]), np.float64(hdr[y, x, 1]),
                                np.float64(hdr[y, x, 2]), use_mat, m00, m01, m02, m10, m11, m12, m20, m21, m22, top,
                                k_h, pk)
        _store_means(acc, j, sm, hm)
        peaks[j] = pk


def _texel_windows(w: int, h: int, map_width: int, map_height: int) -> tuple[np.ndarray, np.ndarray]:
    if (map_width, map_height) == (w, h):
        return np.arange(w, dtype=np.int64), np.arange(h, dtype=np.int64)
    return _windows(w, h, map_width, map_height)


def texel_means(sdr, hdr, map_width: int, map_height: int, *, hdr_to_gain=None, headroom: float | None = None,
                offset_hdr: float = DEFAULT_OFFSET) -> tuple[np.ndarray, np.ndarray, float]:
    """Weighted means of the base and of the HDR target around every texel.

    From the base's coded planes: one compiled pass over the pixels; from a linear base
    array: :func:`texel_means_reference`.

    The target is ``clip(hdr_to_gain @ hdr, 0, headroom)`` per pixel; each texel's window is
    that of :func:`downscale_log2_gain`, each pixel weighted by ``|target + offset_hdr|``
    (Euclidean norm of the RGB vector).

    Parameters
    ----------
    sdr : numpy.ndarray or BasePlanes
        (H, W, 3) linear base in the gain gamut, 1.0 = SDR white; or the base's coded planes,
        linearised on the fly exactly as :func:`hdrkit.core.rebuild.rebuild` without a map
        does (BT.601 full-range matrix, nearest chroma, sRGB table, clamped to [0, 1]).
    hdr : numpy.ndarray
        (H, W, 3) linear HDR, 1.0 = SDR white.
    map_width, map_height : int
        Map size (:func:`map_size`); the base size gives one pixel per texel.
    hdr_to_gain : array_like, optional
        3x3 linear matrix from the gamut of ``hdr`` to the gain gamut.
    headroom : float, optional
        Upper clip of the target (linear); None = no upper clip.
    offset_hdr : float
        The weight's offset (linear).

    Returns
    -------
    (sdr_means, hdr_means, peak)
        float32 (map_height, map_width, 3) each, linear; ``peak``: the target's largest value.

    References
    ----------
    ISO 21496-1:2025 clause 5 (the gain the means feed); libultrahdr ``sampleMap`` (the
    decoder's texel positions).
    """
    if not isinstance(sdr, BasePlanes):
        return texel_means_reference(sdr, hdr, map_width, map_height, hdr_to_gain=hdr_to_gain, headroom=headroom,
                                     offset_hdr=offset_hdr)
    hdr = np.ascontiguousarray(hdr, dtype=np.float32)
    h, w = hdr.shape[:2]
    xs, ys = _texel_windows(w, h, map_width, map_height)
    mat = np.eye(3) if hdr_to_gain is None else np.asarray(hdr_to_gain, np.float64)
    sm = np.empty((map_height, map_width, 3), np.float32)
    hm = np.empty_like(sm)
    peaks = np.empty(map_height)
    _texel_means_planes_kernel(*base_kernel_inputs(sdr), hdr, mat, hdr_to_gain is not None,
                               np.inf if headroom is None else float(headroom), float(offset_hdr), xs, ys, sm, hm,
                               peaks)
    return sm, hm, float(peaks.max())


def texel_means_reference(sdr, hdr, map_width: int, map_height: int, *, hdr_to_gain=None,
                          headroom: float | None = None,
                          offset_hdr: float = DEFAULT_OFFSET) -> tuple[np.ndarray, np.ndarray, float]:
    """Numpy form of :func:`texel_means` (float64 throughout), for the tests."""
    if isinstance(sdr, BasePlanes):
        sdr = rebuild_reference(sdr, None)
    t = np.asarray(hdr, np.float64)
    if hdr_to_gain is not None:
        t = t @ np.asarray(hdr_to_gain, np.float64).T
    t = np.clip(t, 0.0, np.inf if headroom is None else float(headroom))
    u = t + offset_hdr
    wt = np.sqrt(_dot(u, u))
    h, w = t.shape[:2]
    xs, ys = _texel_windows(w, h, map_width, map_height)
    sm = _window_means(np.asarray(sdr, np.float64), wt, xs, ys)
    hm = _window_means(t, wt, xs, ys)
    return sm.astype(np.float32), hm.astype(np.float32), float(t.max())


def choose_range(texels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log2_min, log2_max) per channel: the texels' extremes, at least 1/64 stop apart.

    The range is the content's own (0 stops is not forced into it), so all 256 codes go to
    gains that occur.
    """
    flat = texels.reshape(-1, texels.shape[-1])
    lo, hi = flat.min(axis=0), flat.max(axis=0)
    short = hi - lo < _MIN_RANGE
    mid = (hi + lo) / 2
    lo = np.where(short, mid - _MIN_RANGE / 2, lo)
    hi = np.where(short, mid + _MIN_RANGE / 2, hi)
    return lo, hi


def choose_gamma(t: np.ndarray) -> np.ndarray:
    """Per-channel encoding gamma that stores the median normalised gain at code 128.

    ``code = 255 * t ** gamma``: with the median ``m`` of ``t`` in (0, 1),
    ``gamma = log(1/2) / log(m)``, clamped to [1/2, 2] and rounded to 1/64 (an exact
    ISO 21496-1 fraction). More codes go where most pixels are, so their quantisation step
    in stops is smaller. A median at 0 or 1 gives gamma 1.
    """
    flat = t.reshape(-1, t.shape[-1])
    med = np.median(flat, axis=0)
    out = np.ones(flat.shape[1])
    ok = (med > 1e-3) & (med < 1 - 1e-3)
    out[ok] = np.log(0.5) / np.log(med[ok])
    out = np.clip(out, *_GAMMA_LIMITS)
    return np.round(out * 64) / 64


def quantise(texels: np.ndarray, log2_min, log2_max, gamma) -> np.ndarray:
    """8-bit map codes ``round(255 * t ** gamma)``, ``t = clip((L - min) / (max - min), 0, 1)``.

    The inverse of the decoder's :func:`~hdrkit.core.gainmap.log2_gain_of` of ``g = code / 255``
    (libultrahdr ``affineMapGain``).
    """
    lo, hi = np.asarray(log2_min, np.float64), np.asarray(log2_max, np.float64)
    t = np.clip((texels - lo) / (hi - lo), 0.0, 1.0)
    return np.rint(255.0 * np.power(t, np.asarray(gamma, np.float64))).astype(np.uint8)


@dataclass(frozen=True)
class GainMapEncoding:
    """An encoded gain map and its metadata (log2 units as ISO 21496-1 stores them).

    ``codes``: uint8 (Hm, Wm, C). Per channel (C values): ``log2_min``, ``log2_max``
    (stops), ``gamma``. ``offset_sdr``/``offset_hdr`` (linear). ``hdr_capacity_min/max``
    (stops): the display headroom where the map starts to apply / applies fully
    (ISO base_hdr_headroom / alternate_hdr_headroom).
    """

    codes: np.ndarray
    log2_min: tuple[float, ...]
    log2_max: tuple[float, ...]
    gamma: tuple[float, ...]
    offset_sdr: float
    offset_hdr: float
    hdr_capacity_min: float
    hdr_capacity_max: float

    @property
    def channels(self) -> int:
        return self.codes.shape[2]


def encode_gain_map(sdr, hdr, *, channels: int = 1, scale: int = 4, offset_sdr: float = DEFAULT_OFFSET,
                    offset_hdr: float = DEFAULT_OFFSET, mono: str = "lsq", weights=None,
                    gamma: float | None = None, headroom: float | None = None,
                    hdr_to_gain=None) -> GainMapEncoding:
    """Encode the gain map that turns ``sdr`` into ``hdr``.

    Parameters
    ----------
    sdr : numpy.ndarray or BasePlanes
        (H, W, 3) linear SDR as the decoder will see the base (after JPEG coding), 1.0 =
        SDR white, in the gamut the gain is applied in; or the base's coded planes (see
        :func:`texel_means`).
    hdr : numpy.ndarray
        (H, W, 3) linear HDR target, in the same gamut unless ``hdr_to_gain`` is given;
        clipped to [0, headroom] here when ``headroom`` is given.
    channels : {1, 3}
        Map channels.
    scale : int
        Map downscale factor per axis (1 = full resolution).
    offset_sdr, offset_hdr : float
        Offsets of the gain function (linear, > 0).
    mono, weights
        1-channel gain (see :func:`log2_gain`).
    gamma : float, optional
        Encoding gamma; None chooses it from the content (:func:`choose_gamma`).
    headroom : float, optional
        The HDR rendition's headroom (linear, > 1); None = ``hdr``'s peak (no clipping).
    hdr_to_gain : array_like, optional
        3x3 linear-light matrix taking ``hdr`` to the gamut of ``sdr`` (applied before
        the clipping, per pixel; see :func:`texel_means`).

    Returns
    -------
    GainMapEncoding
        ``hdr_capacity_min`` = 0 stops (an SDR display shows the base);
        ``hdr_capacity_max`` = log2 of the headroom (where the full map applies).

    Raises
    ------
    ValueError
        Shapes differ, ``scale`` < 1, or offsets not positive.

    References
    ----------
    ISO 21496-1:2025 clauses 5-6; libultrahdr ``JpegR::generateGainMap`` (jpegr.cpp) and
    ``computeGain`` / ``affineMapGain`` (gainmapmath.cpp).
    """
    hdr = np.asarray(hdr)
    if isinstance(sdr, BasePlanes):
        shape = (sdr.height, sdr.width, 3)
    else:
        sdr = np.asarray(sdr)
        shape = sdr.shape
    if shape != hdr.shape or hdr.ndim != 3 or hdr.shape[2] != 3:
        raise ValueError(f"SDR {shape} and HDR {hdr.shape} must both be (H, W, 3)")
    if int(scale) != scale or scale < 1:
        raise ValueError(f"gain-map scale must be a whole number >= 1, not {scale}")
    if not (offset_sdr > 0 and offset_hdr > 0):
        raise ValueError("gain-map offsets must be > 0")
    h, w = hdr.shape[:2]
    mw, mh = map_size(w, h, int(scale))
    sm, hm, peak = texel_means(sdr, hdr, mw, mh, hdr_to_gain=hdr_to_gain, headroom=headroom, offset_hdr=offset_hdr)
    texels = log2_gain(sm, hm, channels=channels, offset_sdr=offset_sdr, offset_hdr=offset_hdr, mono=mono,
                       weights=weights).astype(np.float64)
    lo, hi = choose_range(texels)
    t = np.clip((texels - lo) / (hi - lo), 0.0, 1.0)
    gam = choose_gamma(t) if gamma is None else np.full(channels, float(gamma))
    codes = quantise(texels, lo, hi, gam)
    peak = peak if headroom is None else float(headroom)
    cap_max = math.log2(max(peak, 1.0 + 1.0 / 64))
    return GainMapEncoding(codes, tuple(map(float, lo)), tuple(map(float, hi)), tuple(map(float, gam)),
                           float(offset_sdr), float(offset_hdr), 0.0, cap_max)
