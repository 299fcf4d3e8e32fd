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

A downscaled map is then fitted (:func:`fit_map`): the decoder does not read texel ``i``
alone but blends the 4 nearest texels at every pixel (Shepard weights, in code space), so
near a jump in gain (the edge of a highlight) the blend of the means misses on both sides.
Starting from the means (gamma 1, the range widened), Gauss-Newton steps minimise the
pixels' linear-light error through that blend, on the texels near a jump
(:func:`free_texels`); the fitted log gains are then re-expressed in the tightest range
and rounded. The fit reads each pixel's weight and ideal gain (:func:`fit_targets`) from
the base's coded planes and the HDR in the map cells it visits, as the means pass does, once
for all its steps (when they fit in 2^21 values; content with jumps everywhere has them
re-read at each step, in runs of cells); the cells' sums run in parallel and are added in
raster order, so the result depends neither on the number of threads nor on the runs.

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
  ``lib/src/gainmapmath.cpp`` (``computeGain``, ``affineMapGain``, ``applyGain``,
  ``ShepardsIDW``, ``sampleMap``).
- Nocedal, J. and Wright, S. J. (2006), *Numerical Optimization*, 2nd ed., Springer, §10.3
  (Gauss-Newton) and §5.1 (preconditioned conjugate gradients).
"""

# no "from __future__ import annotations": the NamedTuple records' field types must be real
# objects for the API reference (pdoc resolves them in the class's own namespace)

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .gainmap import DEFAULT_OFFSET, BasePlanes, apply_gain, gain_function, log2_gain_of, rebuild_reference
from .jit import njit, prange
from .primaries import BT709_LUMA_WEIGHTS  # the default weights of mono='luminance' (written maps keep their bytes)
from .rebuild import base_kernel_inputs, base_pixel, shepard_weights_at

__all__ = [
    "DEFAULT_OFFSET",
    "MONO_MODES",
    "PixelConstants",
    "MapGrid",
    "CellRun",
    "GainCurve",
    "pixel_constants",
    "GainMapEncoding",
    "log2_gain_of",
    "gain_function",
    "apply_gain",
    "log2_gain",
    "map_size",
    "downscale_log2_gain",
    "texel_means",
    "texel_means_reference",
    "clipped_target",
    "FitSource",
    "FIT_ITERATIONS",
    "FIT_THRESHOLD",
    "fit_targets",
    "shepard_weights",
    "fit_map",
    "fit_map_reference",
    "free_texels",
    "free_texels_reference",
    "choose_range",
    "choose_gamma",
    "quantise",
    "encode_gain_map",
]

MONO_MODES = ("lsq", "luminance")
#: Smallest log2 range a channel is given (a flat channel still needs max > min to quantise).
_MIN_RANGE = 1.0 / 64.0
_GAMMA_LIMITS = (0.5, 2.0)
#: Gauss-Newton steps of the map fit (:func:`fit_map`) and conjugate-gradient steps in each.
FIT_ITERATIONS = 2
CG_ITERATIONS = 5
_LN2 = math.log(2.0)
_G_FLOOR = 1e-6  # smallest blended map value in the fit (the derivative of g ** (1 / gamma) at 0)
_DAMPING = 1e-6  # relative damping of the normal equations' diagonal
_EXP_TABLE = 4096  # intervals of the fit's gain table
#: Log2-gain difference (stops) between neighbouring texel means above which the fit moves texels.
FIT_THRESHOLD = 0.1
_FIT_WIDEN = 0.5  # the fit's starting range: the means' range widened by this fraction each side
_FIT_VALUES = 1 << 21  # per-pixel values the fit holds at once (48 MB)


class PixelConstants(NamedTuple):
    """The per-encode constants with which the kernels read each pixel's HDR target and, in the
    fit, its weight and ideal gain: made once by :func:`pixel_constants` and handed to the means
    pass (:func:`texel_means`) and the fit (:func:`fit_map`) on the base's coded planes as one
    record.

    Light is linear relative (1.0 = SDR white) throughout.

    Attributes
    ----------
    mat : numpy.ndarray
        float64 (3, 3): the linear-light matrix taking the HDR's RGB to the gain gamut (the
        base's), ``hdr_to_gain`` of :func:`encode_gain_map` (e.g.
        :func:`hdrkit.core.primaries.rgb_to_rgb_matrix`); the identity when there is none.
    use_mat : bool
        Whether ``mat`` is applied (False: the HDR is already in the gain gamut).
    top : float
        Upper clip of the target (linear): the HDR rendition's headroom (``headroom`` of
        :func:`encode_gain_map`), ``inf`` for none.
    offset_sdr, offset_hdr : float
        ``k_s`` and ``k_h`` of the gain function (linear, > 0; ISO 21496-1 base and
        alternate offsets). ``offset_hdr`` also offsets the means' pixel weight
        ``|target + k_h|``.
    mode : int
        The fit's per-pixel values (:func:`fit_targets`): 0 ``mono='lsq'`` and 1
        ``mono='luminance'`` (1-channel map), 2 per channel (3-channel map).
    lum : numpy.ndarray
        float64 (3,): luminance weights of the gain gamut for mode 1 (``weights`` of
        :func:`log2_gain`; default BT.709's, ITU-R BT.709-6 item 3.2).
    channels : int
        Map channels, 1 or 3.

    References
    ----------
    ISO 21496-1:2025 clause 5 (gain application, offsets) and clause 6 (metadata).
    """

    mat: np.ndarray
    use_mat: bool
    top: float
    offset_sdr: float
    offset_hdr: float
    mode: int
    lum: np.ndarray
    channels: int


def pixel_constants(hdr_to_gain=None, headroom: float | None = None, offset_sdr: float = DEFAULT_OFFSET,
                    offset_hdr: float = DEFAULT_OFFSET, mono: str = "lsq", weights=None,
                    channels: int = 1) -> PixelConstants:
    """The :class:`PixelConstants` of one encode, with the field types the kernels are compiled for.

    Parameters
    ----------
    hdr_to_gain : array_like, optional
        3x3 linear-light matrix from the HDR's gamut to the gain gamut; None: the same gamut.
    headroom : float, optional
        Upper clip of the target (linear, 1.0 = SDR white); None: no clip.
    offset_sdr, offset_hdr : float
        Offsets of the gain function (linear, > 0).
    mono : {'lsq', 'luminance'}
        1-channel gain (see :func:`log2_gain`).
    weights : array_like, optional
        Luminance weights of the gain gamut (for ``mono='luminance'``), default BT.709's.
    channels : {1, 3}
        Map channels.

    Returns
    -------
    PixelConstants

    Raises
    ------
    ValueError
        ``mono`` is not one of :data:`MONO_MODES` (1-channel map).
    """
    mat = np.ascontiguousarray(np.eye(3) if hdr_to_gain is None else np.asarray(hdr_to_gain, np.float64))
    lum = np.ascontiguousarray(BT709_LUMA_WEIGHTS if weights is None else weights, np.float64)
    mode = 2 if channels == 3 else MONO_MODES.index(mono)
    return PixelConstants(mat, hdr_to_gain is not None, np.inf if headroom is None else float(headroom),
                          float(offset_sdr), float(offset_hdr), mode, lum, int(channels))


class MapGrid(NamedTuple):
    """Where the map's cells lie on the picture and how the decoder weights their four texels:
    the geometry of one fit (:func:`fit_map`), made once for all its steps.

    Pixel ``(x, y)`` sits at map position ``(x / f, y / f)``; the cell of texel ``(j, i)`` holds
    the pixels with ``floor(y / f) = j`` and ``floor(x / f) = i`` (edge-clamped), over which the
    decoder blends texels ``(j, i)``, ``(j + 1, i)``, ``(j, i + 1)``, ``(j + 1, i + 1)``.

    Attributes
    ----------
    band : numpy.ndarray
        int64 (Hm + 1,): first picture row of each map row's cells, then H.
    cols : numpy.ndarray
        int64 (Wm + 1,): first picture column of each map column's cells, then W.
    scale : float
        ``f = W / Wm``, the decoder's sampling factor on both axes (libultrahdr ``sampleMap``).
    s_int : int
        ``f`` when it is a whole number (the decoder then reads its weight tables), else 0.
    tab : numpy.ndarray
        float64 (4, s_int ** 2, 4): the Shepard weights by edge clamping and offset in the cell
        (:func:`hdrkit.core.gainmap.shepard_tables`); zeros (4, 1, 4) when ``s_int`` is 0 (the
        weights are then computed per pixel, :func:`hdrkit.core.rebuild.shepard_weights_at`).

    References
    ----------
    google/libultrahdr ``lib/src/gainmapmath.cpp`` (``ShepardsIDW``, ``sampleMap``).
    """

    band: np.ndarray
    cols: np.ndarray
    scale: float
    s_int: int
    tab: np.ndarray


class CellRun(NamedTuple):
    """A run of the map cells the fit visits (:func:`_fit_cells`), in raster order.

    Attributes
    ----------
    cy, cx : numpy.ndarray
        int64 (n,): map row and column of each cell (its upper-left texel, see :class:`MapGrid`).
    off : numpy.ndarray
        int64 (n + 1,): where each cell's per-pixel values start in the run's value array
        (``channels`` runs of its pixels, one per channel, each in raster order), then their total.
    """

    cy: np.ndarray
    cx: np.ndarray
    off: np.ndarray


class GainCurve(NamedTuple):
    """The decoder's gain ``G(g) = 2 ** (log2_min + (log2_max - log2_min) g ** (1 / gamma))`` per
    channel, at the metadata a fit encodes for (:func:`fit_map`), made once per fit.

    Attributes
    ----------
    lo, hi : numpy.ndarray
        float64 (C,): ``log2_min`` and ``log2_max`` (stops).
    inv_gamma : numpy.ndarray
        float64 (C,): ``1 / gamma``.
    exp_tab : numpy.ndarray
        float64 (C, 4097): ``2 ** (lo + (hi - lo) q)`` at ``q = i / 4096``, read with linear
        interpolation (within 2e-7 relative of the exact power for ranges up to 8 stops).

    References
    ----------
    ISO 21496-1:2025 clause 5; libultrahdr ``gainmapmath.cpp`` (``applyGain``).
    """

    lo: np.ndarray
    hi: np.ndarray
    inv_gamma: np.ndarray
    exp_tab: np.ndarray


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
        w = np.asarray(BT709_LUMA_WEIGHTS if weights is None else weights, np.float32)
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


# The helpers work a row (or a cell's part of it) at a time and read the records' fields once
# per row: read inside the pixel loop, the records' array fields are not held through it
# (measured: the means pass took 1.6 times as long).
@njit(cache=True, inline="always", error_model="numpy")
def _row_base(p, k, y, x0, x1, sb):
    """The base's pixels ``x0:x1`` of row ``y`` as rebuild() returns them (clamped to [0, 1],
    float32, held as float64) into ``sb[0:3, 0:x1 - x0]``; ``p``, ``k``: the base's planes and
    constants (:func:`hdrkit.core.rebuild.base_kernel_inputs`)."""
    r_tab, b_tab, y_tab, guv_tab, gray_tab, srgb_lut, use_bmat, bmat = (k.r_tab, k.b_tab, k.y_tab, k.guv_tab,
                                                                        k.gray_tab, k.srgb_lut, k.use_mat, k.mat)
    yrow, cbrow, crrow, ccol, gray = p.y[y], p.cb[y // p.fy], p.cr[y // p.fy], p.ccol, p.gray
    yc, cbc, crc = p.yc, p.cbc, p.crc
    for x in range(x0, x1):
        cc = ccol[x]
        r, g, b = base_pixel(yrow[x, yc], cbrow[cc, cbc], crrow[cc, crc], gray, r_tab, b_tab, y_tab, guv_tab,
                             gray_tab, srgb_lut, use_bmat, bmat)
        sb[0, x - x0] = np.float64(np.float32(min(max(r, 0.0), 1.0)))
        sb[1, x - x0] = np.float64(np.float32(min(max(g, 0.0), 1.0)))
        sb[2, x - x0] = np.float64(np.float32(min(max(b, 0.0), 1.0)))


@njit(cache=True, inline="always", error_model="numpy")
def _row_targets(hrow, pc, tb):
    """Targets of the pixels of ``hrow`` (n, 3): the HDR in the gain gamut (``pc.mat``), clipped to
    [0, ``pc.top``] (``tb[0:3]``), and their weights ``|target + k_h|`` (``tb[3]``) into ``tb``
    (float64 (4, >= n)); ``pc``: the :class:`PixelConstants`. The channels are copied apart
    first, so the per-pixel maths compiles to vector instructions (no strided loads): the same
    operations, the same values."""
    k_h, use_mat, top, m = pc.offset_hdr, pc.use_mat, pc.top, pc.mat
    # the matrix entries read once per row: in registers through the vectorised loop
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = (m[0, 0], m[0, 1], m[0, 2], m[1, 0], m[1, 1], m[1, 2], m[2, 0],
                                                   m[2, 1], m[2, 2])
    n = hrow.shape[0]
    for x in range(n):
        tb[0, x] = hrow[x, 0]
        tb[1, x] = hrow[x, 1]
        tb[2, x] = hrow[x, 2]
    for x in range(n):
        t0, t1, t2 = tb[0, x], tb[1, x], tb[2, x]
        if use_mat:
            t0, t1, t2 = (m00 * t0 + m01 * t1 + m02 * t2, m10 * t0 + m11 * t1 + m12 * t2,
                          m20 * t0 + m21 * t1 + m22 * t2)
        t0, t1, t2 = min(max(t0, 0.0), top), min(max(t1, 0.0), top), min(max(t2, 0.0), top)
        u0, u1, u2 = t0 + k_h, t1 + k_h, t2 + k_h
        tb[0, x] = t0
        tb[1, x] = t1
        tb[2, x] = t2
        tb[3, x] = np.sqrt(u0 * u0 + u1 * u1 + u2 * u2)


@njit(cache=True, inline="always", error_model="numpy")
def _fit_values(c, s0, s1, s2, t0, t1, t2, mode, k_s, k_h, lum):
    """Channel ``c``'s weight and ideal gain of one pixel (:func:`fit_targets`): ``mode`` 0
    'lsq', 1 'luminance', 2 per channel; ``s``: the base, ``t``: the clipped target (no offsets);
    ``mode``, ``k_s``, ``k_h``, ``lum``: the :class:`PixelConstants` fields, read once per row."""
    s0, s1, s2 = s0 + k_s, s1 + k_s, s2 + k_s
    t0, t1, t2 = t0 + k_h, t1 + k_h, t2 + k_h
    if mode == 2:
        if c == 0:
            return s0 * s0, t0 / s0
        if c == 1:
            return s1 * s1, t1 / s1
        return s2 * s2, t2 / s2
    if mode == 0:
        ss = s0 * s0 + s1 * s1 + s2 * s2
        return ss, (s0 * t0 + s1 * t1 + s2 * t2) / ss
    ys = lum[0] * s0 + lum[1] * s1 + lum[2] * s2
    return ys * ys, (lum[0] * t0 + lum[1] * t1 + lum[2] * t2) / ys


# The base comes as its coded planes, linearised a row at a time by the rebuild's own steps
# (_row_base): no full-resolution linear copy of it is written and read again. Each row's
# targets and weights are computed first, in vector code (_row_targets).
@njit(cache=True, parallel=True, nogil=True, error_model="numpy")
def _texel_means_kernel(p, k, hdr, pc, xs, ys, sm, hm, peaks):  # pragma: no cover
    """``p``, ``k``: the base's planes and constants (:func:`hdrkit.core.rebuild.base_kernel_inputs`);
    ``pc``: :class:`PixelConstants`; ``xs``, ``ys``: the texels' window starts; writes the means
    ``sm``, ``hm`` and each map row's peak target ``peaks``."""
    H, W = hdr.shape[0], hdr.shape[1]
    mh, mw = ys.shape[0], xs.shape[0]
    for j in prange(mh):
        r1 = ys[j + 1] if j + 1 < mh else H
        acc = np.zeros((mw, 7))
        sb = np.empty((3, W))
        tb = np.empty((4, W))
        pk = 0.0
        for y in range(ys[j], r1):
            _row_targets(hdr[y], pc, tb)
            _row_base(p, k, y, 0, W, sb)
            i = 0
            nxt = xs[1] if mw > 1 else W
            for x in range(W):
                if x >= nxt:
                    i += 1
                    nxt = xs[i + 1] if i + 1 < mw else W
                s0, s1, s2 = sb[0, x], sb[1, x], sb[2, x]
                wt, t0, t1, t2 = tb[3, x], tb[0, x], tb[1, x], tb[2, x]
                acc[i, 0] += wt
                acc[i, 1] += wt * s0
                acc[i, 2] += wt * s1
                acc[i, 3] += wt * s2
                acc[i, 4] += wt * t0
                acc[i, 5] += wt * t1
                acc[i, 6] += wt * t2
                pk = max(pk, t0, t1, t2)
        for i in range(mw):
            inv = 1.0 / acc[i, 0]
            for ch in range(3):
                sm[j, i, ch] = acc[i, 1 + ch] * inv
                hm[j, i, ch] = acc[i, 4 + ch] * inv
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
    pc = pixel_constants(hdr_to_gain, headroom, offset_hdr=offset_hdr)
    sm = np.empty((map_height, map_width, 3), np.float32)
    hm = np.empty_like(sm)
    peaks = np.empty(map_height)
    _texel_means_kernel(*base_kernel_inputs(sdr), hdr, pc, xs, ys, sm, hm, peaks)
    return sm, hm, float(peaks.max())


def texel_means_reference(sdr, hdr, map_width: int, map_height: int, *, hdr_to_gain=None,
                          headroom: float | None = None,
                          offset_hdr: float = DEFAULT_OFFSET) -> tuple[np.ndarray, np.ndarray, float]:
    """Numpy form of :func:`texel_means` (float64 throughout), for the tests."""
    if isinstance(sdr, BasePlanes):
        sdr = rebuild_reference(sdr, None)
    t = clipped_target(hdr, hdr_to_gain, headroom)
    u = t + offset_hdr
    wt = np.sqrt(_dot(u, u))
    h, w = t.shape[:2]
    xs, ys = _texel_windows(w, h, map_width, map_height)
    sm = _window_means(np.asarray(sdr, np.float64), wt, xs, ys)
    hm = _window_means(t, wt, xs, ys)
    return sm.astype(np.float32), hm.astype(np.float32), float(t.max())


def clipped_target(hdr, hdr_to_gain=None, headroom: float | None = None) -> np.ndarray:
    """``clip(hdr_to_gain @ hdr, 0, headroom)`` per pixel, float64 (the HDR a map restores)."""
    t = np.asarray(hdr, np.float64)
    if hdr_to_gain is not None:
        t = t @ np.asarray(hdr_to_gain, np.float64).T
    return np.clip(t, 0.0, np.inf if headroom is None else float(headroom))


@dataclass(frozen=True)
class FitSource:
    """The per-pixel inputs of :func:`fit_map` read from the base's coded planes and the HDR:
    weight and ideal gain (:func:`fit_targets`) recomputed in the map cells the fit visits,
    with no full-resolution copy (the arguments as :func:`encode_gain_map`'s)."""

    base: BasePlanes
    hdr: np.ndarray
    hdr_to_gain: np.ndarray | None = None
    headroom: float | None = None
    offset_sdr: float = DEFAULT_OFFSET
    offset_hdr: float = DEFAULT_OFFSET
    mono: str = "lsq"
    weights: tuple | None = None


def fit_targets(sdr, target, *, channels: int = 1, offset_sdr: float = DEFAULT_OFFSET,
                offset_hdr: float = DEFAULT_OFFSET, mono: str = "lsq", weights=None) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel weight and ideal gain of the map fit: ``sum_c (s_c G - t_c)^2 = w (G - G*)^2 + const``.

    With ``s = sdr + offset_sdr`` and ``t = target + offset_hdr`` (the HDR the decoder must
    produce plus its offset): 1 channel, ``mono='lsq'``: ``w = <s, s>``, ``G* = <s, t> / <s, s>``;
    ``mono='luminance'``: ``w = Y(s)^2``, ``G* = Y(t) / Y(s)`` (the luminance error);
    3 channels: per channel ``w_c = s_c^2``, ``G*_c = t_c / s_c``.

    Parameters
    ----------
    sdr, target : numpy.ndarray
        (H, W, 3) linear light, 1.0 = SDR white; ``target`` already clipped to [0, headroom].
    channels, offset_sdr, offset_hdr, mono, weights
        As :func:`log2_gain`.

    Returns
    -------
    (w, G*)
        float32 (H, W, channels) each: weight (linear^2) and linear gain.
    """
    s = np.asarray(sdr, np.float64) + offset_sdr
    t = np.asarray(target, np.float64) + offset_hdr
    if channels == 3:
        w, g = s * s, t / s
    elif mono == "lsq":
        w = _dot(s, s)
        g = _dot(s, t) / w
        w, g = w[..., None], g[..., None]
    else:
        lw = np.asarray(BT709_LUMA_WEIGHTS if weights is None else weights, np.float64)
        ys = s @ lw
        w, g = (ys * ys)[..., None], ((t @ lw) / ys)[..., None]
    return w.astype(np.float32), g.astype(np.float32)


def shepard_weights(width: int, height: int, map_width: int, map_height: int) -> tuple[np.ndarray, np.ndarray]:
    """Texels and weights with which the decoder samples the map at every base pixel.

    Pixel ``(x, y)`` sits at map position ``(x / f, y / f)``, ``f = width / map_width``; its
    value is the Shepard inverse-distance blend of texels ``(yl, xl)``, ``(yu, xl)``,
    ``(yl, xu)``, ``(yu, xu)`` (floor and floor + 1, edge-clamped); an exact hit takes that
    texel alone (libultrahdr ``ShepardsIDW`` tables for an integer ``f``, ``sampleMap``
    otherwise; :func:`hdrkit.core.gainmap.shepard_tables`).

    Returns
    -------
    (index, weight)
        int64 (H, W, 4) flat texel indices (``row * map_width + column``) and float64
        (H, W, 4) weights summing to 1.
    """
    from .gainmap import shepard_tables

    f = width / map_width
    xm, ym = np.arange(width) / f, np.arange(height) / f
    xl = np.minimum(np.floor(xm).astype(np.int64), map_width - 1)
    yl = np.minimum(np.floor(ym).astype(np.int64), map_height - 1)
    xu, yu = np.minimum(xl + 1, map_width - 1), np.minimum(yl + 1, map_height - 1)
    if f == math.floor(f):
        s = int(f)
        sel = (xl == xu)[None, :] * 1 + (yl == yu)[:, None] * 2
        off = (np.arange(height) % s)[:, None] * s + (np.arange(width) % s)[None, :]
        wt = shepard_tables(s)[sel, off]
    else:
        dx1, dx3 = (xm - xl)[None, :], (xm - xu)[None, :]
        dy1, dy2 = (ym - yl)[:, None], (ym - yu)[:, None]
        d = np.stack(np.broadcast_arrays(np.hypot(dx1, dy1), np.hypot(dx1, dy2), np.hypot(dx3, dy1),
                                         np.hypot(dx3, dy2)), axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):  # exact hits: replaced below
            inv = 1.0 / d
            wt = inv / inv.sum(-1, keepdims=True)
        hit = d == 0
        first = np.argmax(hit, axis=-1)
        wt = np.where(hit.any(-1, keepdims=True), np.arange(4) == first[..., None], wt).astype(np.float64)
    rows = np.stack(np.broadcast_arrays(yl[:, None], yu[:, None], yl[:, None], yu[:, None]), axis=-1)
    cols = np.stack(np.broadcast_arrays(xl[None, :], xl[None, :], xu[None, :], xu[None, :]), axis=-1)
    return rows * map_width + cols, wt


def _pcg_reference(hmat: np.ndarray, b: np.ndarray, iterations: int) -> np.ndarray:
    """``iterations`` Jacobi-preconditioned conjugate-gradient steps on ``hmat x = b`` from 0."""
    dinv = 1.0 / np.diag(hmat)
    x = np.zeros_like(b)
    r = b.copy()
    z = dinv * r
    p = z.copy()
    rz = r @ z
    for _ in range(iterations):
        if rz <= 0:
            break
        ap = hmat @ p
        a = rz / (p @ ap)
        x += a * p
        r -= a * ap
        z = dinv * r
        rz_new = r @ z
        p = z + (rz_new / rz) * p
        rz = rz_new
    return x


def fit_map_reference(g, w, gstar, log2_min, log2_max, gamma, *, free=None, iterations: int = FIT_ITERATIONS,
                      cg_iterations: int = CG_ITERATIONS) -> np.ndarray:
    """Numpy form of :func:`fit_map` (dense normal equations: small maps only, for the tests)."""
    g = np.array(g, np.float64)
    hm_, wm_, nc = g.shape
    h, wd = w.shape[:2]
    idx, wt = shepard_weights(wd, h, wm_, hm_)
    idx, wt = idx.reshape(-1, 4), wt.reshape(-1, 4)
    n = hm_ * wm_
    sub = np.flatnonzero(np.ones(n, bool) if free is None else np.asarray(free, bool).ravel())
    before, err_before = g.copy(), np.full(nc, np.inf)
    for it in range(iterations + 1):
        err, steps = np.zeros(nc), []
        for c in range(nc):
            lo, hi, ig = float(log2_min[c]), float(log2_max[c]), 1.0 / float(gamma[c])
            om = w[..., c].astype(np.float64).ravel()
            gs = gstar[..., c].astype(np.float64).ravel()
            gc = g[..., c].ravel()
            gp = np.clip((gc[idx] * wt).sum(-1), _G_FLOOR, 1.0)
            q = gp ** ig
            gain = np.exp2(lo + (hi - lo) * q)
            # over all pixels: those of cells without a free texel add the same each time
            err[c] = (om * (gain - gs) ** 2).sum()
            jac = gain * _LN2 * (hi - lo) * ig * q / gp
            a = om * jac * jac
            hmat = np.zeros((n, n))
            for i in range(4):
                for k in range(4):
                    np.add.at(hmat, (idx[:, i], idx[:, k]), a * wt[:, i] * wt[:, k])
            b = np.zeros(n)
            for i in range(4):
                np.add.at(b, idx[:, i], om * jac * (gain - gs) * wt[:, i])
            hmat[np.diag_indices(n)] += _DAMPING * hmat.diagonal()[sub].mean() + 1e-30
            step = np.zeros(n)
            step[sub] = _pcg_reference(hmat[np.ix_(sub, sub)], -b[sub], cg_iterations)
            steps.append(np.clip(gc + step, 0.0, 1.0).reshape(hm_, wm_))
        for c in range(nc):
            if err[c] <= err_before[c]:
                before[..., c], err_before[c] = g[..., c], err[c]
                if it < iterations:
                    g[..., c] = steps[c]
            elif it < iterations:
                g[..., c] = (before[..., c] + g[..., c]) / 2
            else:
                g[..., c] = before[..., c]
    return g


@njit(cache=True, inline="always", error_model="numpy")
def _pixel_weights(x, y, ox, oy, grid, sel, xl, xu, yl, yu, one_ch):
    """Shepard weights (current, below, right, below-right) of pixel (x, y) at offset (ox, oy)
    in its map cell, as the decoder takes them: from the integer-scale table ``grid.tab``
    (``sel`` its edge clamping, see shepard_weights), else
    :func:`hdrkit.core.rebuild.shepard_weights_at`; ``grid``: the :class:`MapGrid`."""
    s_int = grid.s_int
    if s_int > 0:
        tab = grid.tab
        o = oy * s_int + ox
        return tab[sel, o, 0], tab[sel, o, 1], tab[sel, o, 2], tab[sel, o, 3]
    f = grid.scale
    return shepard_weights_at(x / f, y / f, xl, xu, yl, yu, one_ch)


def _fit_cells(free: np.ndarray, band: np.ndarray, cols: np.ndarray, nc: int):
    """The map cells the fit visits (a free texel among the four that blend over them), in raster
    order, as (rows, columns, offsets): cell ``n``'s per-pixel values start at ``offsets[n]``
    (``nc`` runs of its pixels, one per channel, each in raster order)."""
    near = free.copy()
    near[:-1] |= free[1:]
    cells = near.copy()
    cells[:, :-1] |= near[:, 1:]
    cy, cx = np.nonzero(cells)
    npx = np.diff(band)[cy] * np.diff(cols)[cx] * nc
    off = np.zeros(cy.size + 1, np.int64)
    np.cumsum(npx, out=off[1:])
    return cy.astype(np.int64), cx.astype(np.int64), off


# The per-pixel weight and ideal gain of the fit (``vals[i] = (w, G*)``, cell by cell as
# :func:`_fit_cells` lays them out) do not change between Gauss-Newton steps: they are read
# once, from the base's planes and the HDR as in the means pass (cells in parallel), or from
# the arrays ``w``, ``gstar``.
@njit(cache=True, parallel=True, nogil=True, error_model="numpy")
def _fit_values_planes_kernel(p, k, hdr, pc, grid, run, vals):  # pragma: no cover
    """``p``, ``k``: the base's planes and constants (:func:`hdrkit.core.rebuild.base_kernel_inputs`);
    ``pc``: :class:`PixelConstants`; ``grid``: :class:`MapGrid`; ``run``: :class:`CellRun`."""
    band, cols = grid.band, grid.cols
    cy, cx, off = run.cy, run.cx, run.off
    for n in prange(cy.shape[0]):
        y0, y1, x0, x1 = band[cy[n]], band[cy[n] + 1], cols[cx[n]], cols[cx[n] + 1]
        npx = (y1 - y0) * (x1 - x0)
        sb = np.empty((3, x1 - x0))
        tb = np.empty((4, x1 - x0))
        j = off[n]
        for y in range(y0, y1):
            _row_base(p, k, y, x0, x1, sb)
            _row_targets(hdr[y, x0:x1], pc, tb)
            nc, mode, k_s, k_h, lum = pc.channels, pc.mode, pc.offset_sdr, pc.offset_hdr, pc.lum
            for x in range(x1 - x0):
                for c in range(nc):
                    om, gs = _fit_values(c, sb[0, x], sb[1, x], sb[2, x], tb[0, x], tb[1, x], tb[2, x], mode, k_s,
                                         k_h, lum)
                    vals[j + c * npx, 0] = om
                    vals[j + c * npx, 1] = gs
                j += 1


@njit(cache=True, nogil=True)
def _fit_values_arrays_kernel(w, gstar, grid, run, vals):  # pragma: no cover
    band, cols = grid.band, grid.cols
    cy, cx, off = run.cy, run.cx, run.off
    for n in range(cy.shape[0]):
        j = off[n]
        for c in range(w.shape[2]):
            for y in range(band[cy[n]], band[cy[n] + 1]):
                for x in range(cols[cx[n]], cols[cx[n] + 1]):
                    vals[j, 0] = w[y, x, c]
                    vals[j, 1] = gstar[y, x, c]
                    j += 1


# Normal equations of one Gauss-Newton step, per channel: coef[c, 0..4] = diagonal, coupling
# with the right, lower, lower-right texel, and of (r, c+1) with (r+1, c); rhs[c] = minus the
# gradient. The pixels of one map cell (same four texels) are summed in locals, cells in
# parallel (``sums``: 14 per cell and channel; each pixel's term of the objective in
# ``terms``); :func:`_scatter_kernel` then adds them to the stencil and the objective in
# raster order, so the sums are those of one serial pass, bit for bit, with any number of threads.
@njit(cache=True, parallel=True, nogil=True, error_model="numpy")
def _normal_kernel(g, vals, curve, grid, run, sums, terms):  # pragma: no cover
    """Per visited cell of ``run`` (:class:`CellRun`) and channel, the 10 stencil and 4 gradient
    sums into ``sums``; each pixel's term ``w (G - G*)^2`` of the objective into ``terms`` (laid
    out as ``vals``). ``curve``: :class:`GainCurve`; ``grid``: :class:`MapGrid`."""
    lo, hi, inv_gamma, exp_tab = curve.lo, curve.hi, curve.inv_gamma, curve.exp_tab
    band, cols = grid.band, grid.cols
    cy, cx, off = run.cy, run.cx, run.off
    hm_, wm_, nc = g.shape
    n_exp = exp_tab.shape[1] - 1
    for n in prange(cy.shape[0]):
        yl, xl = cy[n], cx[n]
        yu = min(yl + 1, hm_ - 1)
        xu = min(xl + 1, wm_ - 1)
        sel = (1 if xl == xu else 0) + (2 if yl == yu else 0)
        y0 = band[yl]
        x0 = cols[xl]
        idx = off[n]
        for c in range(nc):
            e1, e2, e3, e4 = g[yl, xl, c], g[yu, xl, c], g[yl, xu, c], g[yu, xu, c]
            ig = inv_gamma[c]
            lo_c = lo[c]
            jac_scale = _LN2 * (hi[c] - lo_c)
            h11 = h22 = h33 = h44 = h13 = h24 = h12 = h34 = h14 = h32 = 0.0
            b1 = b2 = b3 = b4 = 0.0
            for y in range(y0, band[yl + 1]):
                for x in range(x0, cols[xl + 1]):
                    w1, w2, w3, w4 = _pixel_weights(x, y, x - x0, y - y0, grid, sel, xl, xu, yl, yu, nc == 1)
                    if xu == xl:  # an edge-clamped neighbour is the same texel
                        w1, w2, w3, w4 = w1 + w3, w2 + w4, 0.0, 0.0
                    if yu == yl:
                        w1, w2, w3, w4 = w1 + w2, 0.0, w3 + w4, 0.0
                    om = vals[idx, 0]
                    gs = vals[idx, 1]
                    gp = min(max(w1 * e1 + w2 * e2 + w3 * e3 + w4 * e4, _G_FLOOR), 1.0)
                    q = gp if ig == 1.0 else gp ** ig
                    u = q * n_exp
                    ki = min(int(u), n_exp - 1)
                    gain = exp_tab[c, ki] + (u - ki) * (exp_tab[c, ki + 1] - exp_tab[c, ki])
                    jac = gain * jac_scale
                    if ig != 1.0:
                        jac *= ig * q / gp
                    a = om * jac * jac
                    bb = om * jac * (gain - gs)
                    terms[idx] = om * (gain - gs) * (gain - gs)
                    idx += 1
                    h11 += a * w1 * w1
                    h22 += a * w2 * w2
                    h33 += a * w3 * w3
                    h44 += a * w4 * w4
                    h13 += a * w1 * w3
                    h24 += a * w2 * w4
                    h12 += a * w1 * w2
                    h34 += a * w3 * w4
                    h14 += a * w1 * w4
                    h32 += a * w3 * w2
                    b1 += bb * w1
                    b2 += bb * w2
                    b3 += bb * w3
                    b4 += bb * w4
            sums[n, c, 0] = h11
            sums[n, c, 1] = h22
            sums[n, c, 2] = h33
            sums[n, c, 3] = h44
            sums[n, c, 4] = h13
            sums[n, c, 5] = h24
            sums[n, c, 6] = h12
            sums[n, c, 7] = h34
            sums[n, c, 8] = h14
            sums[n, c, 9] = h32
            sums[n, c, 10] = b1
            sums[n, c, 11] = b2
            sums[n, c, 12] = b3
            sums[n, c, 13] = b4


@njit(cache=True, nogil=True)
def _clear_cells_kernel(run, coef, rhs):  # pragma: no cover
    """Zeroes the entries of ``coef`` and ``rhs`` that :func:`_scatter_kernel` adds the cells of ``run`` to."""
    cy, cx = run.cy, run.cx
    nc, hm_, wm_ = rhs.shape
    for n in range(cy.shape[0]):
        yl, xl = cy[n], cx[n]
        yu = min(yl + 1, hm_ - 1)
        xu = min(xl + 1, wm_ - 1)
        for c in range(nc):
            for yy in (yl, yu):
                for xx in (xl, xu):
                    rhs[c, yy, xx] = 0.0
                    for t in range(5):
                        coef[c, t, yy, xx] = 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def _scatter_kernel(sums, terms, run, coef, rhs, total):  # pragma: no cover
    """Adds the sums of the cells of ``run`` (:func:`_normal_kernel`) to ``coef``, ``rhs`` in raster
    order, and their pixels' terms of the objective ``sum w (G - G*)^2`` to ``total`` (per channel)."""
    cy, cx, off = run.cy, run.cx, run.off
    nc, hm_, wm_ = rhs.shape
    for n in range(cy.shape[0]):
        yl, xl = cy[n], cx[n]
        yu = min(yl + 1, hm_ - 1)
        xu = min(xl + 1, wm_ - 1)
        npx = (off[n + 1] - off[n]) // nc
        for c in range(nc):
            coef[c, 0, yl, xl] += sums[n, c, 0]
            coef[c, 0, yu, xl] += sums[n, c, 1]
            coef[c, 0, yl, xu] += sums[n, c, 2]
            coef[c, 0, yu, xu] += sums[n, c, 3]
            coef[c, 1, yl, xl] += sums[n, c, 4]
            coef[c, 1, yu, xl] += sums[n, c, 5]
            coef[c, 2, yl, xl] += sums[n, c, 6]
            coef[c, 2, yl, xu] += sums[n, c, 7]
            coef[c, 3, yl, xl] += sums[n, c, 8]
            coef[c, 4, yl, xl] += sums[n, c, 9]
            rhs[c, yl, xl] -= sums[n, c, 10]
            rhs[c, yu, xl] -= sums[n, c, 11]
            rhs[c, yl, xu] -= sums[n, c, 12]
            rhs[c, yu, xu] -= sums[n, c, 13]
            t = total[c]
            for i in range(off[n] + c * npx, off[n] + (c + 1) * npx):
                t += terms[i]
            total[c] = t


@njit(cache=True, nogil=True, error_model="numpy")
def _stencil_apply(k, pos, rr, cc, x, out):  # pragma: no cover
    """``out = H x`` over the free texels (``rr``, ``cc``; ``pos``: their index or -1) for the
    9-point symmetric stencil ``k`` (5, Hm, Wm) of :func:`_normal_kernel`."""
    hm_, wm_ = pos.shape
    for n in range(rr.shape[0]):
        r = rr[n]
        c = cc[n]
        v = k[0, r, c] * x[n]
        if c + 1 < wm_ and pos[r, c + 1] >= 0:
            v += k[1, r, c] * x[pos[r, c + 1]]
        if c > 0 and pos[r, c - 1] >= 0:
            v += k[1, r, c - 1] * x[pos[r, c - 1]]
        if r + 1 < hm_:
            if pos[r + 1, c] >= 0:
                v += k[2, r, c] * x[pos[r + 1, c]]
            if c + 1 < wm_ and pos[r + 1, c + 1] >= 0:
                v += k[3, r, c] * x[pos[r + 1, c + 1]]
            if c > 0 and pos[r + 1, c - 1] >= 0:
                v += k[4, r, c - 1] * x[pos[r + 1, c - 1]]
        if r > 0:
            if pos[r - 1, c] >= 0:
                v += k[2, r - 1, c] * x[pos[r - 1, c]]
            if c > 0 and pos[r - 1, c - 1] >= 0:
                v += k[3, r - 1, c - 1] * x[pos[r - 1, c - 1]]
            if c + 1 < wm_ and pos[r - 1, c + 1] >= 0:
                v += k[4, r - 1, c] * x[pos[r - 1, c + 1]]
        out[n] = v


@njit(cache=True, nogil=True)
def _free_index(free):  # pragma: no cover
    """Rows, columns and (Hm, Wm) position (-1 elsewhere) of the free texels, in raster order."""
    hm_, wm_ = free.shape
    pos = np.empty((hm_, wm_), np.int64)
    n = 0
    for r in range(hm_):
        for c in range(wm_):
            if free[r, c]:
                pos[r, c] = n
                n += 1
            else:
                pos[r, c] = -1
    rr = np.empty(n, np.int64)
    cc = np.empty(n, np.int64)
    for r in range(hm_):
        for c in range(wm_):
            if pos[r, c] >= 0:
                rr[pos[r, c]] = r
                cc[pos[r, c]] = c
    return rr, cc, pos


# Serial and small (the free texels only): threads would cost more than they save here.
@njit(cache=True, nogil=True, error_model="numpy")
def _pcg_stencil_kernel(k, b, pos, rr, cc, iterations, damping, step):  # pragma: no cover
    n = rr.shape[0]
    dinv = np.empty(n)
    x = np.zeros(n)
    r = np.empty(n)
    z = np.empty(n)
    p = np.empty(n)
    ap = np.empty(n)
    mean_diag = 0.0
    for i in range(n):
        mean_diag += k[0, rr[i], cc[i]]
    add = damping * mean_diag / n + 1e-30
    for i in range(n):
        k[0, rr[i], cc[i]] += add
    rz = 0.0
    for i in range(n):
        dinv[i] = 1.0 / k[0, rr[i], cc[i]]
        r[i] = b[rr[i], cc[i]]
        z[i] = dinv[i] * r[i]
        p[i] = z[i]
        rz += r[i] * z[i]
    for _ in range(iterations):
        if rz <= 0.0:
            break
        _stencil_apply(k, pos, rr, cc, p, ap)
        pap = 0.0
        for i in range(n):
            pap += p[i] * ap[i]
        a = rz / pap
        rz_new = 0.0
        for i in range(n):
            x[i] += a * p[i]
            r[i] -= a * ap[i]
            z[i] = dinv[i] * r[i]
            rz_new += r[i] * z[i]
        beta = rz_new / rz
        for i in range(n):
            p[i] = z[i] + beta * p[i]
        rz = rz_new
    for i in range(n):
        step[rr[i], cc[i]] = x[i]


def free_texels(log_gain: np.ndarray, threshold: float = FIT_THRESHOLD) -> np.ndarray:
    """Texels the fit moves: those within one texel of a jump in the map's log gain.

    A texel is on a jump when its log2 gain (any channel) differs from one of its 8
    neighbours' by more than ``threshold`` stops. Where the gain varies less, the
    decoder's blend of the texel means is already the pixels' gain; where it jumps (the
    edge of a highlight), the blend of the means misses on both sides.

    Parameters
    ----------
    log_gain : numpy.ndarray
        (Hm, Wm, C) texel log2 gains (stops).
    threshold : float
        Stops.

    Returns
    -------
    numpy.ndarray
        bool (Hm, Wm): one compiled pass (:func:`free_texels_reference` is its numpy form).
    """
    lg = np.ascontiguousarray(log_gain, np.float64)
    out = np.empty(lg.shape[:2], bool)
    _free_texels_kernel(lg, float(threshold), np.zeros(lg.shape[:2], np.bool_), out)
    return out


@njit(cache=True, inline="always", error_model="numpy")
def _differs(lg, y, x, y2, x2, threshold):
    """Whether texels (y, x) and (y2, x2) differ by more than ``threshold`` in any channel."""
    for c in range(lg.shape[2]):
        if abs(lg[y, x, c] - lg[y2, x2, c]) > threshold:
            return True
    return False


@njit(cache=True, nogil=True, error_model="numpy")
def _free_texels_kernel(lg, threshold, jump, out):  # pragma: no cover
    H, W = lg.shape[0], lg.shape[1]
    for y in range(H):  # each neighbour pair once (right, down, down-right, down-left), marking both texels
        for x in range(W):
            if x + 1 < W and _differs(lg, y, x, y, x + 1, threshold):
                jump[y, x] = jump[y, x + 1] = True
            if y + 1 < H:
                if _differs(lg, y, x, y + 1, x, threshold):
                    jump[y, x] = jump[y + 1, x] = True
                if x + 1 < W and _differs(lg, y, x, y + 1, x + 1, threshold):
                    jump[y, x] = jump[y + 1, x + 1] = True
                if x >= 1 and _differs(lg, y, x, y + 1, x - 1, threshold):
                    jump[y, x] = jump[y + 1, x - 1] = True
    rows = np.empty((H, W), np.bool_)  # then every texel within one texel of a jump (3 x 3, separable)
    for y in range(H):
        for x in range(W):
            rows[y, x] = jump[y, x] or (x >= 1 and jump[y, x - 1]) or (x + 1 < W and jump[y, x + 1])
    for y in range(H):
        for x in range(W):
            out[y, x] = rows[y, x] or (y >= 1 and rows[y - 1, x]) or (y + 1 < H and rows[y + 1, x])


def free_texels_reference(log_gain: np.ndarray, threshold: float = FIT_THRESHOLD) -> np.ndarray:
    """Numpy form of :func:`free_texels`, for the tests."""
    lg = np.asarray(log_gain, np.float64)
    jump = np.zeros(lg.shape[:2], bool)
    # each neighbour pair once (right, down, down-right, down-left), marking both texels
    for a, b in (((slice(None), slice(None, -1)), (slice(None), slice(1, None))),
                 ((slice(None, -1), slice(None)), (slice(1, None), slice(None))),
                 ((slice(None, -1), slice(None, -1)), (slice(1, None), slice(1, None))),
                 ((slice(None, -1), slice(1, None)), (slice(1, None), slice(None, -1)))):
        d = (np.abs(lg[a] - lg[b]) > threshold).any(-1)
        jump[a] |= d
        jump[b] |= d
    out = jump.copy()  # then every texel within one texel of a jump (3 x 3, separable)
    out[:, 1:] |= jump[:, :-1]
    out[:, :-1] |= jump[:, 1:]
    rows = out.copy()
    out[1:] |= rows[:-1]
    out[:-1] |= rows[1:]
    return out


def fit_map(g, source, log2_min, log2_max, gamma, *, free=None, iterations: int = FIT_ITERATIONS,
            cg_iterations: int = CG_ITERATIONS) -> np.ndarray:
    """Refine map values so that the decoder's rebuild has the least linear-light error.

    Minimises ``sum_pixels sum_c w (G(g_p) - G*)^2`` (:func:`fit_targets`) over the texel
    values ``g`` in [0, 1], where ``g_p`` is the decoder's Shepard blend of the 4 nearest
    texels (:func:`shepard_weights`) and ``G(g) = 2 ** (log2_min + (log2_max - log2_min)
    g ** (1 / gamma))`` (:func:`~hdrkit.core.gainmap.gain_function`). Each Gauss-Newton
    step linearises ``G`` at the current values, accumulates the normal equations (a
    9-point stencil on the map) in one compiled pass over the pixels, takes
    ``cg_iterations`` Jacobi-preconditioned conjugate-gradient steps on them (plus a
    1e-6 relative damping of the diagonal) and clips the result to [0, 1]. Each pass also
    measures the error of the current values (one more pass measures the last step's): a
    step that raised a channel's error is halved, or undone after the last pass, so the fit
    never ends above its start.

    Parameters
    ----------
    g : numpy.ndarray
        (Hm, Wm, C) starting map values in [0, 1] (code / 255, unrounded).
    source : FitSource or (w, G*)
        The base's planes and the HDR (:class:`FitSource`), or the per-pixel weight and
        ideal linear gain as float32 (H, W, C) arrays (:func:`fit_targets`).
    log2_min, log2_max, gamma : sequence of float
        Per-channel map metadata (stops, stops, exponent) the codes will be written with.
    iterations, cg_iterations : int
        Gauss-Newton steps; conjugate-gradient steps per Gauss-Newton step.

    Returns
    -------
    numpy.ndarray
        float64 (Hm, Wm, C) map values in [0, 1].

    References
    ----------
    Nocedal, J. and Wright, S. J. (2006), *Numerical Optimization*, 2nd ed., Springer:
    §10.3 (Gauss-Newton), §5.1 (preconditioned conjugate gradients). libultrahdr
    ``gainmapmath.cpp`` (``ShepardsIDW``, ``sampleMap``: the decoder's upsampling).
    """
    from .gainmap import shepard_tables

    g = np.array(g, np.float64)
    hm_, wm_, nc = g.shape
    from_planes = isinstance(source, FitSource)
    if from_planes:
        hdr = np.ascontiguousarray(source.hdr, np.float32)
    else:
        w, gstar = (np.ascontiguousarray(a, np.float32) for a in source)
        hdr = w
    h, wd = hdr.shape[:2]
    f = wd / wm_
    s_int = int(f) if f == math.floor(f) else 0
    tab = shepard_tables(s_int) if s_int else np.zeros((4, 1, 4))
    xl = np.minimum(np.floor(np.arange(wd) / f).astype(np.int64), wm_ - 1)
    yl = np.minimum(np.floor(np.arange(h) / f).astype(np.int64), hm_ - 1)
    band = np.searchsorted(yl, np.arange(hm_ + 1)).astype(np.int64)
    cols = np.searchsorted(xl, np.arange(wm_ + 1)).astype(np.int64)
    lo = np.asarray(log2_min, np.float64)
    hi = np.asarray(log2_max, np.float64)
    inv_gamma = 1.0 / np.asarray(gamma, np.float64)
    free = np.ones((hm_, wm_), bool) if free is None else np.ascontiguousarray(free, bool)
    rr, cc, pos = _free_index(free)
    if rr.size == 0:
        return g
    cy, cx, off = _fit_cells(free, band, cols, nc)
    # the cells in runs of at most _FIT_VALUES per-pixel values (the memory they take, 24 bytes
    # each, stays bounded on content with jumps everywhere); one run: read once for all steps
    bounds = [0]
    while bounds[-1] < cy.size:
        a = bounds[-1]
        bounds.append(max(a + 1, int(np.searchsorted(off, off[a] + _FIT_VALUES, side="right")) - 1))
    runs = [CellRun(cy[a:b], cx[a:b], off[a:b + 1] - off[a]) for a, b in zip(bounds[:-1], bounds[1:])]
    grid = MapGrid(band, cols, f, s_int, tab)
    if from_planes:
        pc = pixel_constants(source.hdr_to_gain, source.headroom, source.offset_sdr, source.offset_hdr, source.mono,
                             source.weights, nc)
        p, k = base_kernel_inputs(source.base)

    def values(run):
        vals = np.empty((run.off[-1], 2))
        if from_planes:
            _fit_values_planes_kernel(p, k, hdr, pc, grid, run, vals)
        else:
            _fit_values_arrays_kernel(w, gstar, grid, run, vals)
        return vals

    once = values(runs[0]) if len(runs) == 1 else None
    # 2 ** (log2_min + range * q) on a fine grid of q, read with linear interpolation: within
    # 2e-7 relative of the exact power for ranges up to 8 stops, far below what a step needs
    u = np.linspace(0.0, 1.0, _EXP_TABLE + 1)
    curve = GainCurve(lo, hi, inv_gamma, np.exp2(lo[:, None] + (hi - lo)[:, None] * u[None, :]))
    # only the free texels change: the steps read and write them alone; the normal equations'
    # arrays are made once and only the entries the cells add to are cleared between steps
    before, err_before = g.copy(), np.full(nc, np.inf)
    coef = np.zeros((nc, 5, hm_, wm_))
    rhs = np.zeros((nc, hm_, wm_))
    step = np.zeros((hm_, wm_))
    for it in range(iterations + 1):
        if it:
            for run in runs:
                _clear_cells_kernel(run, coef, rhs)
        err = np.zeros(nc)
        for run in runs:
            vals = once if once is not None else values(run)
            sums = np.empty((run.cy.size, nc, 14))
            terms = np.empty(run.off[-1])
            _normal_kernel(g, vals, curve, grid, run, sums, terms)
            _scatter_kernel(sums, terms, run, coef, rhs, err)
        for c in range(nc):
            if err[c] <= err_before[c]:  # keep the step and take the next one from here
                before[rr, cc, c], err_before[c] = g[rr, cc, c], err[c]
                if it < iterations:
                    _pcg_stencil_kernel(coef[c], rhs[c], pos, rr, cc, int(cg_iterations), _DAMPING, step)
                    g[rr, cc, c] = np.clip(g[rr, cc, c] + step[rr, cc], 0.0, 1.0)
            elif it < iterations:  # the step raised the error: try half of it
                g[rr, cc, c] = (before[rr, cc, c] + g[rr, cc, c]) / 2
            else:  # the last step raised the error: undo it
                g[rr, cc, c] = before[rr, cc, c]
    return g


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


def _fitted_codes(texels, lo, hi, gamma, source, iterations):
    """(log2_min, log2_max, gamma, codes) of a downscaled map fitted by :func:`fit_map`.

    The fit starts from the texel means in a range widened by half its width on each
    side (the fit may push texels beyond the means' extremes to sharpen an edge). With
    gamma 1 the decoder's blend of codes is a blend of log gains, so the fitted values are
    then re-expressed exactly in the tightest range that holds them, which gives the 8-bit
    codes the smallest step. A given gamma other than 1 keeps the widened range.
    """
    wide = (hi - lo) * _FIT_WIDEN
    lo, hi = lo - wide, hi + wide
    gam = np.ones(texels.shape[-1]) if gamma is None else np.full(texels.shape[-1], float(gamma))
    t = np.clip((texels - lo) / (hi - lo), 0.0, 1.0)
    g = fit_map(t if np.all(gam == 1.0) else t ** gam, source, lo, hi, gam, free=free_texels(texels),
                iterations=iterations)
    if np.all(gam == 1.0):
        fitted = lo + (hi - lo) * g
        lo, hi = choose_range(fitted)
        g = np.clip((fitted - lo) / (hi - lo), 0.0, 1.0)
    return lo, hi, gam, np.rint(255.0 * g).astype(np.uint8)


def encode_gain_map(sdr, hdr, *, channels: int = 1, scale: int = 4, offset_sdr: float = DEFAULT_OFFSET,
                    offset_hdr: float = DEFAULT_OFFSET, mono: str = "lsq", weights=None,
                    gamma: float | None = None, headroom: float | None = None,
                    hdr_to_gain=None, fit_iterations: int = FIT_ITERATIONS) -> GainMapEncoding:
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
        Encoding gamma; None: 1 for a fitted map (see ``fit_iterations``), otherwise chosen
        from the content (:func:`choose_gamma`).
    headroom : float, optional
        The HDR rendition's headroom (linear, > 1); None = ``hdr``'s peak (no clipping).
    hdr_to_gain : array_like, optional
        3x3 linear-light matrix taking ``hdr`` to the gamut of ``sdr`` (applied before
        the clipping, per pixel; see :func:`texel_means`).
    fit_iterations : int
        Gauss-Newton steps of :func:`fit_map` on a downscaled map (0 keeps the texel means;
        a full-resolution map needs none: each texel is its pixel).

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
    if (mw, mh) != (w, h) and fit_iterations > 0:
        if isinstance(sdr, BasePlanes):
            source = FitSource(sdr, hdr, hdr_to_gain, headroom, offset_sdr, offset_hdr, mono, weights)
        else:
            source = fit_targets(sdr, clipped_target(hdr, hdr_to_gain, headroom), channels=channels,
                                 offset_sdr=offset_sdr, offset_hdr=offset_hdr, mono=mono, weights=weights)
        lo, hi, gam, codes = _fitted_codes(texels, lo, hi, gamma, source, fit_iterations)
    else:
        t = np.clip((texels - lo) / (hi - lo), 0.0, 1.0)
        gam = choose_gamma(t) if gamma is None else np.full(channels, float(gamma))
        codes = quantise(texels, lo, hi, gam)
    peak = peak if headroom is None else float(headroom)
    cap_max = math.log2(max(peak, 1.0 + 1.0 / 64))
    return GainMapEncoding(codes, tuple(map(float, lo)), tuple(map(float, hi)), tuple(map(float, gam)),
                           float(offset_sdr), float(offset_hdr), 0.0, cap_max)
