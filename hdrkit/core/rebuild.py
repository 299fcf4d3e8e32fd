"""The gain-map rebuild, compiled: linear HDR from an SDR base and a gain map in one pass.

:func:`rebuild_fast` is the compiled form of :func:`hdrkit.core.gainmap.rebuild_reference`
(the maths and its references are in :mod:`hdrkit.core.gainmap`): the same float64
arithmetic in the same order, so the tests require identical output. One fused,
row-parallel numba kernel per sampling case: no map (:func:`_base_kernel`, the SDR
fallback), an integer map scale (:func:`_integer_scale_kernel`, Shepard weights from
tables) and any other scale (:func:`_any_scale_kernel`, weights from distances). Each
takes the planes (:class:`YccPlanes`), one record of per-image constants
(:class:`RebuildConstants`) and, for integer scales, the sampling tables
(:class:`ShepardRows`). Steps 1-2 come from per-code tables (R from (Y, Cr), B from
(Y, Cb), G from Y and the (Cb, Cr) term) evaluated with the reference's expressions.
The two map kernels run one inlined row function, :func:`rebuild_row`, which the streamed
SDR export (:func:`hdrkit.core.kernels.render_sdr_rebuilt`) and :func:`rebuild_sampled` (a
regular grid of pixels alone, the peak estimate's sample) call too, so every path holds the
same values.

References
----------
- ISO 21496-1:2025 clause 5; google/libultrahdr v2.0 ``lib/src/jpegr.cpp`` (applyGainMap)
  and ``lib/src/gainmapmath.cpp`` (ShepardsIDW, sampleMap, applyGainLUT).
"""

# no "from __future__ import annotations": the NamedTuple records' field types must be real
# objects for tools that read them (pdoc, typing.get_type_hints)
import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numba.core import types
from numba.extending import overload

from ..errors import OptionError
from .gainmap import (LINEAR_MAX, SRGB_LUT_SIZE, BasePlanes, GainMapParams, display_weight, gain_luts, gain_matrix,
                      jpeg_ycc_coefficients, prepare_map, rebuild_reference, shepard_tables, srgb_decode_lut)
from .jit import njit, prange

__all__ = ["REBUILD_METHODS", "YccPlanes", "RebuildConstants", "ShepardRows", "MapInputs", "base_kernel_inputs",
           "RowScratch", "base_pixel", "shepard_weights_at", "map_inputs", "map_input_kinds", "rebuild_row",
           "row_scratch", "rebuild_sampled", "rebuild_inputs", "rebuild_fast", "rebuild"]

REBUILD_METHODS = ("fast", "reference")


#: Chunks of rows the map kernels share among their threads, each with one :class:`RowScratch`
#: (a fixed number: the values do not depend on it).
_ROW_CHUNKS = 64


class YccPlanes(NamedTuple):
    """The base planes as the kernels read them: read-only, C-contiguous uint8 arrays of samples
    interleaved or not, and which channel of each holds the plane.

    A decoder that writes Y, Cb and Cr interleaved (libjpeg's 4:4:4 output, its half-size chroma
    of 4:2:0) hands that buffer over as it is: the three planes are channels of one array and
    nothing is copied. A plane of its own is an array with one channel. Every decoder's planes
    thus have one type, and the kernels one compiled form.
    """

    y: np.ndarray  #: (H, W, n): Y is channel ``yc``
    cb: np.ndarray  #: (Hc, Wc, m): Cb is channel ``cbc``; ``y`` itself for a gray base
    cr: np.ndarray  #: (Hc, Wc, m'): Cr is channel ``crc``
    yc: int
    cbc: int
    crc: int
    ccol: np.ndarray  #: int64 (W,): chroma column of each image column
    fy: int  #: vertical chroma subsampling factor
    gray: bool


class RebuildConstants(NamedTuple):
    """Per-image constants of the rebuild kernels (steps 1-3 and 5-7 of the module docstring)."""

    r_tab: np.ndarray  #: (256, 256) linear R from (Y, Cr)
    b_tab: np.ndarray  #: (256, 256) linear B from (Y, Cb)
    y_tab: np.ndarray  #: (256,) Y / 255
    guv_tab: np.ndarray  #: (256, 256) the chroma part of G' from (Cb, Cr)
    gray_tab: np.ndarray  #: (256,) linear gray
    srgb_lut: np.ndarray  #: (SRGB_LUT_SIZE,) sRGB decoding table
    mat: np.ndarray  #: (3, 3) base-gamut -> gain-gamut matrix
    use_mat: bool  #: whether to apply ``mat``
    luts: np.ndarray  #: (3, GAIN_LUT_SIZE) gain factors per channel
    off_sdr: np.ndarray  #: (3,)
    off_hdr: np.ndarray  #: (3,)
    lo: float  #: output clamp
    hi: float
    clamp: bool


class ShepardRows(NamedTuple):
    """Sampling tables of an integer map scale ``s`` (step 4)."""

    weights: np.ndarray  #: (2, s, W, 4): Shepard weights by (no-bottom flag, row offset, column)
    xl: np.ndarray  #: int64 (W,): left map column of each image column
    xu: np.ndarray  #: right map column (edge-clamped)
    yl: np.ndarray  #: int64 (H,): upper map row of each image row
    yu: np.ndarray  #: lower map row (edge-clamped)
    oy: np.ndarray  #: row offset inside the map cell
    ty: np.ndarray  #: 1 where the lower row is clamped (no bottom neighbour)


class RowScratch(NamedTuple):
    """Working rows of :func:`rebuild_row` for up to ``n`` output pixels (one per lane or chunk of rows)."""

    lin: np.ndarray  #: float64 (6, n): the base's linear R, G, B, then the map's gains for channels 0-2
    idx: np.ndarray  #: int64 (3, n): the gain tables' index for channels 0-2


@njit(cache=True)
def row_scratch(n):
    """A :class:`RowScratch` for rows of ``n`` output pixels."""
    return RowScratch(np.empty((6, n), np.float64), np.empty((3, n), np.int64))


@lru_cache(maxsize=1)
def _tables(sdr_lut_n: int = SRGB_LUT_SIZE):
    """Per-code tables for the kernel, computed with the reference's own expressions.

    ``r_tab[Y, V]`` and ``b_tab[Y, U]``: linear R and B (clamp, LUT index, sRGB table);
    ``y_tab[Y]`` = Y / 255; ``guv_tab[U, V]`` = the chroma part of G'; ``gray_tab[Y]``.
    """
    cr_r, cb_g, cr_g, cb_b = jpeg_ycc_coefficients()
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


# ----------------------------------------------------------------------- fused kernels
def _apply_gamma(inv_gamma, g0, g1, g2, ch1, ch2):
    """``g ** (1 / gamma)`` per channel (step 5), inside the kernels only."""


@overload(_apply_gamma, inline="always")
def _apply_gamma_impl(inv_gamma, g0, g1, g2, ch1, ch2):
    # inv_gamma is None when every gamma is 1: the kernel is then compiled without the power
    # (whose mere presence in the loop stops LLVM vectorising it)
    if isinstance(inv_gamma, (types.NoneType, types.Omitted)):
        return lambda inv_gamma, g0, g1, g2, ch1, ch2: (g0, g1, g2)

    def impl(inv_gamma, g0, g1, g2, ch1, ch2):
        if inv_gamma[0] != 1.0:
            g0 = g0 ** inv_gamma[0]
        if inv_gamma[ch1] != 1.0:
            g1 = g1 ** inv_gamma[ch1]
        if inv_gamma[ch2] != 1.0:
            g2 = g2 ** inv_gamma[ch2]
        return g0, g1, g2

    return impl


@njit(cache=True, fastmath=False, inline="always")
def base_pixel(yv, u, v, gray, r_tab, b_tab, y_tab, guv_tab, gray_tab, srgb_lut, use_mat, mat):
    """Steps 1-3 for one pixel: linear (R, G, B) in the gain gamut."""
    nl = srgb_lut.shape[0] - 1
    if gray:
        r = gray_tab[yv]
        g = r
        b = r
    else:
        r = r_tab[yv, v]
        b = b_tab[yv, u]
        t = y_tab[yv] + guv_tab[u, v]
        if t < 0.0:
            t = 0.0
        elif t > 1.0:
            t = 1.0
        kk = int(t * nl + 0.5)
        if kk > nl:
            kk = nl
        g = srgb_lut[kk]
    if use_mat:
        r0 = mat[0, 0] * r + mat[0, 1] * g + mat[0, 2] * b
        r1 = mat[1, 0] * r + mat[1, 1] * g + mat[1, 2] * b
        r2 = mat[2, 0] * r + mat[2, 1] * g + mat[2, 2] * b
        r, g, b = r0, r1, r2
    return r, g, b


@njit(cache=True, fastmath=False, inline="always")
def shepard_weights_at(xm, ym, xl, xu, yl, yu, one_ch):
    """Weights of the four texels around map point (``xm``, ``ym``) at a non-integer map scale,
    as libultrahdr's ``sampleMap`` computes them: texels (xl, yl), (xl, yu), (xu, yl), (xu, yu),
    inverse distances normalised; a texel hit exactly takes all the weight, checked in that
    order (its one-channel path answers a hit on the fourth texel with the second)."""
    dx1 = xm - xl
    dx3 = xm - xu
    dy1 = ym - yl
    dy2 = ym - yu
    d1 = math.sqrt(dx1 * dx1 + dy1 * dy1)
    d2 = math.sqrt(dx1 * dx1 + dy2 * dy2)
    d3 = math.sqrt(dx3 * dx3 + dy1 * dy1)
    d4 = math.sqrt(dx3 * dx3 + dy2 * dy2)
    if d1 == 0.0:
        return 1.0, 0.0, 0.0, 0.0
    if d2 == 0.0:
        return 0.0, 1.0, 0.0, 0.0
    if d3 == 0.0:
        return 0.0, 0.0, 1.0, 0.0
    if d4 == 0.0:
        if one_ch:
            return 0.0, 1.0, 0.0, 0.0
        return 0.0, 0.0, 0.0, 1.0
    a1 = 1.0 / d1
    a2 = 1.0 / d2
    a3 = 1.0 / d3
    a4 = 1.0 / d4
    tot = a1 + a2 + a3 + a4
    return a1 / tot, a2 / tot, a3 / tot, a4 / tot


@njit(cache=True, fastmath=False, inline="always")
def _gain_index(gc, ng):
    """Step 5's table index of the map value ``gc`` (after its gamma) in a table of ``ng + 1`` entries."""
    kk = int(gc * ng + 0.5)
    if kk < 0:
        kk = 0
    elif kk > ng:
        kk = ng
    return kk


@njit(cache=True, fastmath=False, inline="always")
def _gained(lv, gain, off_s, off_h, lo, hi, do_clamp):
    """Steps 6-7 for one channel: the linear base value ``lv`` times the table's ``gain``, offsets, clamp."""
    t = (lv + off_s) * gain - off_h
    if do_clamp:
        t = min(max(t, lo), hi)
    return t


@njit(cache=True, fastmath=False, inline="always")
def _apply(lv, gc, off_s, off_h, lut, ng, lo, hi, do_clamp):
    """Steps 5 (table) to 7 for one channel."""
    return _gained(lv, lut[_gain_index(gc, ng)], off_s, off_h, lo, hi, do_clamp)


# The kernels take records but read every field into a local before the parallel loop, and
# pass plain locals to the inline helpers: a record field (or an array handed to a helper)
# read per pixel costs a reference-count update of its array each time. Measured for 12 MP
# on one core: the no-map kernel 89 ms reading fields per pixel, 62 ms with locals; the
# integer-scale kernel 185 -> 145 ms. The two map row functions therefore repeat the same
# unpacking lines (a helper returning them as a tuple trips numba's parfor analysis), once
# per row.


@njit(cache=True, parallel=True, fastmath=False)
def _base_kernel(p, k, out):
    """The linearised base only (no gain map: the SDR fallback)."""
    h, w = p.y.shape[0], p.y.shape[1]
    y, cb, cr, yc, cbc, crc, ccol, fy, gray = p.y, p.cb, p.cr, p.yc, p.cbc, p.crc, p.ccol, p.fy, p.gray
    r_tab, b_tab, y_tab, guv_tab, gray_tab = k.r_tab, k.b_tab, k.y_tab, k.guv_tab, k.gray_tab
    srgb_lut, mat, use_mat = k.srgb_lut, k.mat, k.use_mat
    lo, hi, do_clamp = k.lo, k.hi, k.clamp
    for row in prange(h):
        yrow, cbrow, crrow, orow = y[row], cb[row // fy], cr[row // fy], out[row]
        for col in range(w):
            cc = ccol[col]
            r, g, b = base_pixel(yrow[col, yc], cbrow[cc, cbc], crrow[cc, crc], gray, r_tab, b_tab, y_tab, guv_tab,
                                  gray_tab, srgb_lut, use_mat, mat)
            if do_clamp:
                r = min(max(r, lo), hi)
                g = min(max(g, lo), hi)
                b = min(max(b, lo), hi)
            orow[col, 0] = r
            orow[col, 1] = g
            orow[col, 2] = b


def rebuild_row(p, k, mp, sampling, inv_gamma, row, c0, cstep, orow, scratch):
    """Steps 1-7 for image row ``row`` at columns ``c0 + j * cstep`` into ``orow[j]`` (float32 (n, 3)),
    inside compiled code only (:class:`MapInputs` are its first five arguments; ``scratch`` a
    :class:`RowScratch` of at least ``n`` pixels, :func:`row_scratch`).

    ``sampling`` is the :class:`ShepardRows` of an integer map scale or the scale itself (a
    float): the integer case takes its Shepard weights from the tables, any other scale
    computes them from each pixel's distances. It is inlined: a caller compiled with
    ``fastmath=False`` gets the kernels' exact arithmetic (and a ``prange`` body their speed:
    numba marks its arrays as not aliased).
    """


@overload(rebuild_row, inline="always")
def rebuild_row_impl(p, k, mp, sampling, inv_gamma, row, c0, cstep, orow, scratch):
    if isinstance(sampling, types.Float):
        return _any_scale_row
    return _integer_scale_row


# The integer-scale row runs its steps as four loops over the row, through ``scratch``: the table
# and texel reads (gathers) keep a loop scalar, and the index arithmetic between them vectorises
# only in a loop of its own. Each pixel's operations are the same, in the same order, so the
# values are too. Measured for 12 MP on one core: 12.5 -> 10.7 ns a pixel (4:4:4 base, 3-channel
# map), 11.4 -> 8.1 (4:2:0, 1 channel).
def _integer_scale_row(p, k, mp, sampling, inv_gamma, row, c0, cstep, orow, scratch):
    s = sampling
    y, cb, cr, yc, cbc, crc, ccol, fy, gray = p.y, p.cb, p.cr, p.yc, p.cbc, p.crc, p.ccol, p.fy, p.gray
    r_tab, b_tab, y_tab, guv_tab, gray_tab = k.r_tab, k.b_tab, k.y_tab, k.guv_tab, k.gray_tab
    srgb_lut, mat, use_mat = k.srgb_lut, k.mat, k.use_mat
    xl, xu = s.xl, s.xu
    one_ch = mp.shape[2] == 1
    ch1 = 0 if one_ch else 1
    ch2 = 0 if one_ch else 2
    lut0, lut1, lut2 = k.luts[0], k.luts[ch1], k.luts[ch2]
    os0, os1, os2 = k.off_sdr[0], k.off_sdr[ch1], k.off_sdr[ch2]
    oh0, oh1, oh2 = k.off_hdr[0], k.off_hdr[ch1], k.off_hdr[ch2]
    lo, hi, do_clamp = k.lo, k.hi, k.clamp
    ng = lut0.shape[0] - 1
    yrow, cbrow, crrow = y[row], cb[row // fy], cr[row // fy]
    m_lo = mp[s.yl[row]]
    m_hi = mp[s.yu[row]]
    wr = s.weights[s.ty[row], s.oy[row]]
    n = orow.shape[0]
    br, bg, bb, g0s, g1s, g2s = scratch.lin[0], scratch.lin[1], scratch.lin[2], scratch.lin[3], scratch.lin[4], \
        scratch.lin[5]
    i0, i1, i2 = scratch.idx[0], scratch.idx[1], scratch.idx[2]
    for j in range(n):  # steps 1-3: the base, linear
        col = c0 + j * cstep
        cc = ccol[col]
        br[j], bg[j], bb[j] = base_pixel(yrow[col, yc], cbrow[cc, cbc], crrow[cc, crc], gray, r_tab, b_tab, y_tab,
                                         guv_tab, gray_tab, srgb_lut, use_mat, mat)
    for j in range(n):  # step 4: the map at the pixel, after its gamma
        col = c0 + j * cstep
        xlo = xl[col]
        xhi = xu[col]
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
        g0s[j], g1s[j], g2s[j] = _apply_gamma(inv_gamma, g0, g1, g2, ch1, ch2)
    for j in range(n):  # step 5's indices (one map channel: the same value, so the same index, for all three)
        i0[j] = _gain_index(g0s[j], ng)
    if one_ch:
        i1 = i0
        i2 = i0
    else:
        for j in range(n):
            i1[j] = _gain_index(g1s[j], ng)
        for j in range(n):
            i2[j] = _gain_index(g2s[j], ng)
    for j in range(n):  # steps 5-7
        orow[j, 0] = _gained(br[j], lut0[i0[j]], os0, oh0, lo, hi, do_clamp)
        orow[j, 1] = _gained(bg[j], lut1[i1[j]], os1, oh1, lo, hi, do_clamp)
        orow[j, 2] = _gained(bb[j], lut2[i2[j]], os2, oh2, lo, hi, do_clamp)


def _any_scale_row(p, k, mp, sampling, inv_gamma, row, c0, cstep, orow, scratch):
    scale = sampling
    y, cb, cr, yc, cbc, crc, ccol, fy, gray = p.y, p.cb, p.cr, p.yc, p.cbc, p.crc, p.ccol, p.fy, p.gray
    r_tab, b_tab, y_tab, guv_tab, gray_tab = k.r_tab, k.b_tab, k.y_tab, k.guv_tab, k.gray_tab
    srgb_lut, mat, use_mat = k.srgb_lut, k.mat, k.use_mat
    hm, wm, nc = mp.shape
    one_ch = nc == 1
    ch1 = 0 if one_ch else 1
    ch2 = 0 if one_ch else 2
    lut0, lut1, lut2 = k.luts[0], k.luts[ch1], k.luts[ch2]
    os0, os1, os2 = k.off_sdr[0], k.off_sdr[ch1], k.off_sdr[ch2]
    oh0, oh1, oh2 = k.off_hdr[0], k.off_hdr[ch1], k.off_hdr[ch2]
    lo, hi, do_clamp = k.lo, k.hi, k.clamp
    ng = lut0.shape[0] - 1
    yrow, cbrow, crrow = y[row], cb[row // fy], cr[row // fy]
    for j in range(orow.shape[0]):
        col = c0 + j * cstep
        cc = ccol[col]
        r, g, b = base_pixel(yrow[col, yc], cbrow[cc, cbc], crrow[cc, crc], gray, r_tab, b_tab, y_tab, guv_tab,
                              gray_tab, srgb_lut, use_mat, mat)
        g0 = 0.0
        g1 = 0.0
        g2 = 0.0
        xm = col / scale
        ym = row / scale
        xlo = min(int(math.floor(xm)), wm - 1)
        ylo = min(int(math.floor(ym)), hm - 1)
        xhi = min(xlo + 1, wm - 1)
        yhi = min(ylo + 1, hm - 1)
        w1, w2, w3, w4 = shepard_weights_at(xm, ym, xlo, xhi, ylo, yhi, one_ch)
        for c in range(nc):
            gg = mp[ylo, xlo, c] * w1 + mp[yhi, xlo, c] * w2 + mp[ylo, xhi, c] * w3 + mp[yhi, xhi, c] * w4
            if c == 0:
                g0 = gg
            elif c == 1:
                g1 = gg
            else:
                g2 = gg
        if one_ch:
            g1 = g0
            g2 = g0
        g0, g1, g2 = _apply_gamma(inv_gamma, g0, g1, g2, ch1, ch2)
        orow[j, 0] = _apply(r, g0, os0, oh0, lut0, ng, lo, hi, do_clamp)
        orow[j, 1] = _apply(g, g1, os1, oh1, lut1, ng, lo, hi, do_clamp)
        orow[j, 2] = _apply(b, g2, os2, oh2, lut2, ng, lo, hi, do_clamp)


@njit(cache=True, parallel=True, fastmath=False)
def _integer_scale_kernel(p, k, mp, s, inv_gamma, out):
    """Gain map at an integer scale: Shepard weights from the tables of ``s`` (:class:`ShepardRows`)."""
    h = out.shape[0]
    nch = min(h, _ROW_CHUNKS)
    for c in prange(nch):
        scratch = row_scratch(out.shape[1])
        for row in range(c * h // nch, (c + 1) * h // nch):
            rebuild_row(p, k, mp, s, inv_gamma, row, 0, 1, out[row], scratch)


@njit(cache=True, parallel=True, fastmath=False)
def _any_scale_kernel(p, k, mp, scale, inv_gamma, out):
    """Gain map at a non-integer scale: Shepard weights from the distances of each pixel."""
    scratch = row_scratch(0)  # its row function runs in one loop and needs none
    for row in prange(out.shape[0]):
        rebuild_row(p, k, mp, scale, inv_gamma, row, 0, 1, out[row], scratch)


@njit(cache=True, parallel=True, fastmath=False)
def _sample_kernel(p, k, mp, sampling, inv_gamma, step, out):
    """Every ``step``-th pixel of every ``step``-th row of the rebuilt picture."""
    h = out.shape[0]
    nch = min(h, _ROW_CHUNKS)
    for c in prange(nch):
        scratch = row_scratch(out.shape[1])
        for i in range(c * h // nch, (c + 1) * h // nch):
            rebuild_row(p, k, mp, sampling, inv_gamma, i * step, 0, step, out[i], scratch)


def _read_only(a: np.ndarray) -> np.ndarray:
    """A read-only C-contiguous view (or copy) of ``a``: the planes' one type for the kernel."""
    v = np.ascontiguousarray(a).view()
    v.flags.writeable = False
    return v


def _channel(plane: np.ndarray) -> tuple[np.ndarray, int]:
    """``plane`` (H, W) as the kernels read it: (read-only (H, W, n) array, channel).

    A plane that is one channel of a C-contiguous (H, W, n) array (as ``a[..., c]`` gives it) is
    handed over as that array and ``c``, without a copy; any other plane as one channel of its own.
    """
    p = np.asarray(plane)
    parent = p.base
    if (p.ndim == 2 and isinstance(parent, np.ndarray) and parent.ndim == 3 and parent.dtype == p.dtype
            and parent.flags.c_contiguous and parent.shape[:2] == p.shape and p.strides == parent.strides[:2]):
        c = (p.__array_interface__["data"][0] - parent.__array_interface__["data"][0]) // p.itemsize
        if 0 <= c < parent.shape[2]:
            return _read_only(parent), int(c)
    return _read_only(np.ascontiguousarray(p)[:, :, None]), 0


def _planes(base: BasePlanes) -> YccPlanes:
    gray = base.is_gray
    y, yc = _channel(base.y)  # one compiled form whichever decoder made the planes
    cb, cbc = (y, yc) if gray else _channel(base.cb)
    cr, crc = (y, yc) if gray else _channel(base.cr)
    fx, fy = base.chroma_factors
    return YccPlanes(y, cb, cr, yc, cbc, crc, np.arange(base.width, dtype=np.int64) // fx, int(fy), bool(gray))


def _shepard_rows(s_int: int, w: int, h: int, wm: int, hm: int) -> ShepardRows:
    xs, ys = np.arange(w), np.arange(h)
    xl, xu, ox = np.minimum(xs // s_int, wm - 1), np.minimum(xs // s_int + 1, wm - 1), xs % s_int
    yl, yu, oy = np.minimum(ys // s_int, hm - 1), np.minimum(ys // s_int + 1, hm - 1), ys % s_int
    ty = (yl == yu).astype(np.int64)
    # weights per (no-bottom flag, row offset, column): the Shepard table entry of each pixel
    tab = shepard_tables(s_int)
    tsel = (xl == xu).astype(np.int64)[None, :] + 2 * np.arange(2)[:, None]  # (2, W)
    weights = np.ascontiguousarray(tab[tsel[:, None, :], np.arange(s_int)[None, :, None] * s_int + ox[None, None, :]])
    return ShepardRows(weights, xl, xu, yl, yu, oy, ty)


def _gain_matrix(sdr_to_gain) -> tuple[np.ndarray, bool]:
    """(the base-to-map-gamut matrix, whether to apply it); a writable copy either way (numba
    specialises by writability: the shared matrices are read-only)."""
    m = gain_matrix(sdr_to_gain)
    return (np.eye(3), False) if m is None else (np.array(m, np.float64), True)


def base_kernel_inputs(base: BasePlanes, sdr_to_gain=None, clamp: bool = True) -> tuple[YccPlanes, RebuildConstants]:
    """The planes and constants with which the kernels linearise ``base`` (steps 1-3, no map)."""
    mat, use_mat = _gain_matrix(sdr_to_gain)
    r_tab, b_tab, y_tab, guv_tab, gray_tab = _tables()
    return _planes(base), RebuildConstants(r_tab, b_tab, y_tab, guv_tab, gray_tab, srgb_decode_lut(), mat, use_mat,
                                           np.ones((3, 2)), np.zeros(3), np.zeros(3), 0.0, 1.0, bool(clamp))


class MapInputs(NamedTuple):
    """Everything the map kernels read for one picture (:func:`map_inputs`), in their argument order."""

    planes: YccPlanes
    constants: RebuildConstants
    map: np.ndarray  #: float64 (Hm, Wm, C): the map's codes / 255
    sampling: object  #: :class:`ShepardRows` of an integer scale, else the scale (float)
    inv_gamma: object  #: float64 (3,) ``1 / gamma``, or None when every gamma is 1

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the rebuilt picture."""
        return self.planes.y.shape[:2]


def map_inputs(base: BasePlanes, gainmap: np.ndarray, metadata: GainMapParams, *, display_boost: float | None = None,
               sdr_to_gain=None, clamp: bool = True) -> MapInputs:
    """The kernels' inputs for rebuilding ``base`` with ``gainmap`` (arguments as :func:`rebuild_reference`)."""
    h, w = base.height, base.width
    r_tab, b_tab, y_tab, guv_tab, gray_tab = _tables()
    mat, use_mat = _gain_matrix(sdr_to_gain)
    mp, scale = prepare_map(gainmap, w, h)
    hm, wm = mp.shape[:2]
    k = RebuildConstants(r_tab, b_tab, y_tab, guv_tab, gray_tab, srgb_decode_lut(), mat, use_mat,
                         gain_luts(metadata, display_weight(metadata, display_boost)),
                         np.array(metadata.offset_sdr, np.float64), np.array(metadata.offset_hdr, np.float64),
                         0.0, LINEAR_MAX, bool(clamp))
    inv_gamma = np.array([1.0 / g for g in metadata.gamma])
    inv_gamma = inv_gamma if np.any(inv_gamma != 1.0) else None
    sampling = _shepard_rows(int(scale), w, h, wm, hm) if scale == math.floor(scale) else float(scale)
    return MapInputs(_planes(base), k, mp / 255.0, sampling, inv_gamma)


def map_input_kinds(inputs: MapInputs) -> tuple[MapInputs, ...]:
    """``inputs`` in each form the map kernels are compiled for separately, for compiling them ahead
    of a first picture.

    numba specialises a kernel by its arguments' types, and two of :class:`MapInputs` change type
    with the map: ``sampling`` (:class:`ShepardRows` of an integer scale, or a float scale) and
    ``inv_gamma`` (None when every gamma is 1, or an array). Returns the four combinations, each
    valid for ``inputs``'s picture and map (the same sizes; another scale or gamma).
    """
    h, w = inputs.shape
    hm, wm = inputs.map.shape[:2]
    if isinstance(inputs.sampling, float):
        whole, any_scale = _shepard_rows(max(1, round(inputs.sampling)), w, h, wm, hm), inputs.sampling
    else:
        whole, any_scale = inputs.sampling, w / wm + 0.5  # not an integer; the kernels clamp to the map's edge
    gamma = inputs.inv_gamma if inputs.inv_gamma is not None else np.full(3, 1 / 1.25)
    return tuple(inputs._replace(sampling=s, inv_gamma=g) for s in (whole, any_scale) for g in (None, gamma))


def rebuild_sampled(inputs: MapInputs, step: int) -> np.ndarray:
    """``rebuild_fast(...)[::step, ::step]`` of the picture of ``inputs``, rebuilding only those pixels.

    Returns
    -------
    ndarray
        float32 (ceil(H / step), ceil(W / step), 3), the same values as the whole picture's.
    """
    h, w = inputs.shape
    out = np.empty((-(-h // step), -(-w // step), 3), np.float32)
    _sample_kernel(*inputs, int(step), out)
    return out


def rebuild_fast(base: BasePlanes, gainmap: np.ndarray | None, metadata: GainMapParams | None = None, *,
                 display_boost: float | None = None, sdr_to_gain=None, clamp: bool = True,
                 out: np.ndarray | None = None) -> np.ndarray:
    """Compiled form of :func:`rebuild_reference`: same arguments, same result.

    ``out`` (float32 (H, W, 3), C-contiguous) receives the result when given.
    """
    h, w = base.height, base.width
    if out is None:
        out = np.empty((h, w, 3), np.float32)
    if gainmap is None:
        _base_kernel(*base_kernel_inputs(base, sdr_to_gain, clamp), out)
        return out
    return rebuild_inputs(map_inputs(base, gainmap, metadata, display_boost=display_boost, sdr_to_gain=sdr_to_gain,
                                     clamp=clamp), out)


def rebuild_inputs(inputs: MapInputs, out: np.ndarray | None = None) -> np.ndarray:
    """The whole picture of ``inputs`` (:func:`map_inputs`), as :func:`rebuild_fast` makes it.

    Returns
    -------
    ndarray
        float32 (H, W, 3) linear light (1.0 = SDR white); ``out`` when given.
    """
    if out is None:
        out = np.empty(inputs.shape + (3,), np.float32)
    kernel = _any_scale_kernel if isinstance(inputs.sampling, float) else _integer_scale_kernel
    kernel(*inputs, out)
    return out


def rebuild(base: BasePlanes, gainmap: np.ndarray | None, metadata: GainMapParams | None = None, *,
            display_boost: float | None = None, sdr_to_gain=None, clamp: bool = True,
            method: str = "fast") -> np.ndarray:
    """Rebuild linear HDR with :func:`rebuild_fast` (``method="fast"``) or :func:`rebuild_reference`.

    Parameters and result as :func:`rebuild_reference`.

    Raises
    ------
    OptionError
        Unknown ``method`` (see :data:`REBUILD_METHODS`), or as :func:`rebuild_reference`.
    """
    if method == "fast":
        return rebuild_fast(base, gainmap, metadata, display_boost=display_boost, sdr_to_gain=sdr_to_gain, clamp=clamp)
    if method == "reference":
        return rebuild_reference(base, gainmap, metadata, display_boost=display_boost, sdr_to_gain=sdr_to_gain,
                                 clamp=clamp)
    raise OptionError(f"unknown rebuild method {method!r}; choose 'fast' or 'reference'")
