"""Compiled frame kernels of the video SDR render: decoded Y'CbCr planes -> 8-bit BT.709
Y'CbCr 4:2:0, and the frame measurement for peak detection.

``render_lut_kernel``
    One fused pass over the decoded planes: chroma upsampling and Y'CbCr -> R'G'B'
    (:mod:`hdrkit.core.signal`), a tetrahedral lookup in a 3D LUT baked from the core
    (:func:`hdrkit.core.lut3d.tetra_row`), then BT.709 Y'CbCr and quantisation; the frame
    measurement is taken in the same pass.
``display_to_yuv420_kernel``
    Display-linear BT.709 [0, 1] -> transfer encoding (a table sampled from
    :func:`hdrkit.core.pipeline.encode_transfer`, :func:`encode_table`) -> the same
    quantisation.
``measure_kernel``
    The measurement alone, optionally writing the linear light of a sampled grid.

Quantisation: ``code = floor(v * scale + offset + 0.5 + d)`` clipped to [0, 255], the
formula of :func:`hdrkit.core.dither.quantize` with its dither tile ``d`` (anchored at pixel
(0, 0) of each plane), applied once, to the Y'CbCr the encoder receives (dithering R'G'B' to
8 bits and converting would quantise twice). Y'CbCr: BT.709 matrix
(:func:`hdrkit.core.ycbcr.rgb_to_ycbcr_matrix`), limited range
(:func:`hdrkit.core.ycbcr.range_scale`); chroma 4:2:0 left-sited (H.273 location type 0,
what x264 signals by default): mean of the two rows, ``[1, 2, 1] / 4`` around each even
column.

Measurement: on the pixels of a regular grid (every ``mstep``-th row and column), ``v =
PQ(max(R, G, B) in cd/m^2)`` (ST 2084 inverse EOTF) goes into a histogram of
``hist.shape[1]`` bins over [0, 1]; the sum and count of ``v >= black`` and the count of
sampled pixels come with it. For PQ sources ``v`` is simply the largest of the three
signal values.

Constants arrive as typed records: :class:`hdrkit.core.signal.SignalConsts` (input),
:class:`LutConsts`, :class:`OutputConsts` and :class:`MeasureConsts`.

References
----------
- ITU-R BT.709-6 items 3.2-3.3, 4.6 (matrix, 8-bit limited range); ITU-T H.273 chroma
  sample location type 0; SMPTE ST 2084 (measurement domain).
"""

# no "from __future__ import annotations": the NamedTuple records' field types must be real
# objects for tools that read them (pdoc, typing.get_type_hints)

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .dither import get_dither
from .jit import njit, prange
from .lut3d import tetra_row
from .pipeline import encode_transfer
from .signal import chroma_row, chroma_row_site, linear_row, signal_row, signal_row_strided, table_lerp
from .transfer import eotf_inverse_st2084
from .ycbcr import range_scale, rgb_to_ycbcr_matrix

__all__ = ["OutputConsts", "MeasureConsts", "LutConsts", "output_consts", "pq_table", "encode_table",
           "ENCODE_TABLE_SIZE", "tiled_dither_rows", "render_lut_kernel", "display_to_yuv420_kernel",
           "measure_kernel"]

#: Entries of :func:`encode_table`. The still path's table (:func:`hdrkit.core.kernels.encode_lut`)
#: has 8192 with the same square-root spacing; video outputs are pinned to this one.
ENCODE_TABLE_SIZE = 16384


@lru_cache(maxsize=1)
def pq_table(size: int = 4096) -> np.ndarray:
    """PQ signal of ``L = 10000 q^4`` cd/m^2, q = i / (size - 1) (ST 2084 inverse EOTF), read-only float32."""
    q = np.linspace(0.0, 1.0, size)
    t = np.ascontiguousarray(eotf_inverse_st2084(10000.0 * q**4), np.float32)
    t.setflags(write=False)
    return t


@lru_cache(maxsize=4)
def encode_table(transfer: str = "bt1886", size: int = ENCODE_TABLE_SIZE) -> np.ndarray:
    """Encoded signal of display light ``x = q^2``, q = i / (size - 1), from
    :func:`hdrkit.core.pipeline.encode_transfer`; read-only float64 (the exact video path's table)."""
    q = np.linspace(0.0, 1.0, size)
    t = np.ascontiguousarray(encode_transfer(q * q, transfer), np.float64)
    t.setflags(write=False)
    return t


@lru_cache(maxsize=8)
def tiled_dither_rows(dither: str, width: int) -> np.ndarray:
    """The dither tile as it is, repeated across ``width`` columns: (tile height, width) float32,
    read-only (a row read in order vectorises; indexing the tile by ``j % 64`` does not). The
    rounding half is in :class:`OutputConsts` offsets, not here."""
    tile = np.asarray(get_dither(dither).tile(), dtype=np.float32)
    th, tw = tile.shape
    rows = np.ascontiguousarray(np.tile(tile, (1, -(-width // tw)))[:, :width])
    rows.setflags(write=False)
    return rows


class OutputConsts(NamedTuple):
    """BT.709 limited 8-bit Y'CbCr output: ``M`` (3, 3) float32 R'G'B' -> Y'CbCr matrix; ``yo``,
    ``ys``, ``co``, ``cs``: luma offset + 0.5, luma scale, chroma offset + 0.5, chroma scale
    (float32); ``dy``, ``dc``: dither rows for the luma and the chroma planes."""

    M: np.ndarray
    yo: np.float32
    ys: np.float32
    co: np.float32
    cs: np.float32
    dy: np.ndarray
    dc: np.ndarray


class MeasureConsts(NamedTuple):
    """The frame measurement: ``pq_in`` (the signal is PQ: measure it directly), ``pqt``
    (:func:`pq_table`), ``black`` (PQ cutoff of the average), ``mstep`` (grid step)."""

    pq_in: bool
    pqt: np.ndarray
    black: float
    mstep: int


class LutConsts(NamedTuple):
    """A 3D LUT for :func:`hdrkit.core.lut3d.tetra_row`: ``flat`` (N^3 * 3 float32, ``[r, g, b,
    channel]``) and its size ``n``."""

    flat: np.ndarray
    n: int


def output_consts(dither: str = "blue64", width: int = 1) -> OutputConsts:
    """BT.709 limited 8-bit output constants for pictures ``width`` wide (dither tile anchored at
    (0, 0) of each plane)."""
    m = rgb_to_ycbcr_matrix("bt709")
    yo, ys, co, cs = range_scale(8, False)
    f = np.float32
    return OutputConsts(np.ascontiguousarray(m, dtype=np.float32), f(yo + 0.5), f(ys), f(co + 0.5), f(cs),
                        tiled_dither_rows(dither, max(width, 1)), tiled_dither_rows(dither, max(width // 2, 1)))


# ----------------------------------------------------------------- row kernels
@njit(cache=True, inline="always", fastmath=True, error_model="numpy", boundscheck=False)
def _q8(v):
    # clamp first, then truncate: for v >= 0 truncation is floor
    return np.uint8(np.int32(min(max(v, np.float32(0.0)), np.float32(255.0))))


@njit(cache=True, fastmath=True, error_model="numpy", boundscheck=False)
def _emit_row(i, W, er, eg, eb, oc, Yp, cb, cr):
    """Y codes of row ``i`` from encoded R'G'B' rows; Cb, Cr (float, centred) into ``cb``, ``cr``."""
    M = oc.M
    yo = oc.yo
    ys = oc.ys
    dy = oc.dy
    trow = dy[i % dy.shape[0]]
    m00, m01, m02 = M[0, 0] * ys, M[0, 1] * ys, M[0, 2] * ys  # locals: no reload after each store
    m10, m11, m12 = M[1, 0], M[1, 1], M[1, 2]
    m20, m21, m22 = M[2, 0], M[2, 1], M[2, 2]
    yrow = Yp[i]
    for j in range(W):
        r = er[j]
        g = eg[j]
        b = eb[j]
        cb[j] = m10 * r + m11 * g + m12 * b
        cr[j] = m20 * r + m21 * g + m22 * b
        yrow[j] = _q8(m00 * r + m01 * g + m02 * b + yo + trow[j])


@njit(cache=True, fastmath=True, error_model="numpy", boundscheck=False)
def _emit_chroma(p, W, cb0, cr0, cb1, cr1, oc, Up, Vp):
    """Chroma row ``p`` from the Cb, Cr of luma rows 2p, 2p + 1: [1, 2, 1] / 4 at even columns, row mean."""
    co = oc.co
    cs = oc.cs
    dc = oc.dc
    trow = dc[p % dc.shape[0]]
    q = np.float32(0.125) * cs
    urow = Up[p]
    vrow = Vp[p]
    d = trow[0]
    urow[0] = _q8(q * (3 * cb0[0] + cb0[1] + 3 * cb1[0] + cb1[1]) + co + d)
    vrow[0] = _q8(q * (3 * cr0[0] + cr0[1] + 3 * cr1[0] + cr1[1]) + co + d)
    for x in range(1, W >> 1):
        j = 2 * x
        d = trow[x] + co
        u = cb0[j - 1] + 2 * cb0[j] + cb0[j + 1] + cb1[j - 1] + 2 * cb1[j] + cb1[j + 1]
        v = cr0[j - 1] + 2 * cr0[j] + cr0[j + 1] + cr1[j - 1] + 2 * cr1[j] + cr1[j + 1]
        urow[x] = _q8(q * u + d)
        vrow[x] = _q8(q * v + d)


@njit(cache=True, inline="always", error_model="numpy", boundscheck=False)
def _pq_of_peak(mx, pqt):
    """ST 2084 value of a pixel's largest linear component ``mx`` (hdrkit units), through ``pqt``."""
    return table_lerp(pqt, np.sqrt(np.sqrt(min(max(mx * (203.0 / 10000.0), 0.0), 1.0))))


@njit(cache=True, error_model="numpy", boundscheck=False)
def _linear_samples(rr, gg, bb, m, stride, sc, lr, lg, lb, s):
    """Linear light of signal rows at entries 0, ``stride``, 2 ``stride`` ... (``m`` of them) into
    ``lr``, ``lg``, ``lb`` (:func:`hdrkit.core.signal.linear_row`; ``s`` scratch)."""
    for q in range(m):
        lr[q] = rr[q * stride]
        lg[q] = gg[q * stride]
        lb[q] = bb[q * stride]
    linear_row(lr, lg, lb, m, sc, s)


@njit(cache=True, error_model="numpy", boundscheck=False)
def _measure_row(n, step, rr, gg, bb, sc, mc, hist, c, lr, lg, lb, s, have_linear, sm, na, nt):
    """Histogram every ``step``-th of the first ``n`` entries of signal rows; returns the running
    (sum of active v, active count, count) continued from ``sm``, ``na``, ``nt``. ``lr``, ``lg``,
    ``lb``, ``s``: the linear light of the samples, computed here unless ``have_linear``."""
    pq_in = mc.pq_in
    pqt = mc.pqt
    black = mc.black
    nb = hist.shape[1]
    m = (n + step - 1) // step
    if not pq_in and not have_linear:
        _linear_samples(rr, gg, bb, m, step, sc, lr, lg, lb, s)
    for q in range(m):
        if pq_in:
            j = q * step
            v = max(rr[j], max(gg[j], bb[j]))
        else:
            v = _pq_of_peak(max(lr[q], max(lg[q], lb[q])), pqt)
        hist[c, min(np.int64(v * nb), nb - 1)] += 1
        nt += 1
        if v >= black:
            sm += v
            na += 1
    return sm, na, nt


# --------------------------------------------------------------- frame kernels
@njit(cache=True, parallel=True, nogil=True, error_model="numpy", boundscheck=False)
def render_lut_kernel(Y, U, V, sc, lc, oc, mc, measure, Yp, Up, Vp, hist, asum, acnt, tcnt):
    """Planes -> LUT -> 8-bit Y'CbCr 4:2:0 into ``Yp``, ``Up``, ``Vp`` (even size); with ``measure``
    the measurement per chunk of rows (``hist`` (chunks, bins), ``asum``, ``acnt``, ``tcnt``)."""
    flat = lc.flat
    n = lc.n
    mstep = mc.mstep
    H2 = Yp.shape[0] >> 1
    W = Yp.shape[1]
    cw = U.shape[1]
    nch = hist.shape[0]
    for c in prange(nch):
        cs = np.empty((2, cw + 1), np.float32)  # Cb, Cr upsampled vertically, at the chroma sites
        rs = np.empty((5, W), np.float32)  # per pixel: Cb, Cr, then R', G', B'
        cuv, cvv, cu, cv, rr, gg, bb = cs[0], cs[1], rs[0], rs[1], rs[2], rs[3], rs[4]
        base = np.empty(W, np.int32)
        o1 = np.empty(W, np.int32)
        o2 = np.empty(W, np.int32)
        w0 = np.empty(W, np.float32)
        w1 = np.empty(W, np.float32)
        w2 = np.empty(W, np.float32)
        w3 = np.empty(W, np.float32)
        er = np.empty(W, np.float32)
        eg = np.empty(W, np.float32)
        eb = np.empty(W, np.float32)
        cb = np.empty((2, W), np.float32)
        cr = np.empty((2, W), np.float32)
        lin = np.empty((4, W), np.float32)
        s = 0.0
        na = 0
        nt = 0
        for p in range(c * H2 // nch, (c + 1) * H2 // nch):
            for k in range(2):
                i = 2 * p + k
                chroma_row(U, V, i, sc, W, cuv, cvv, cu, cv)
                signal_row(Y, i, W, cu, cv, sc, rr, gg, bb)
                if measure and i % mstep == 0:
                    a, b_, t = _measure_row(W, mstep, rr, gg, bb, sc, mc, hist, c, lin[0], lin[1], lin[2], lin[3],
                                            False, 0.0, 0, 0)
                    s += a
                    na += b_
                    nt += t
                tetra_row(rr, gg, bb, W, flat, n, base, o1, o2, w0, w1, w2, w3, er, eg, eb)
                _emit_row(i, W, er, eg, eb, oc, Yp, cb[k], cr[k])
            _emit_chroma(p, W, cb[0], cr[0], cb[1], cr[1], oc, Up, Vp)
        asum[c] = s
        acnt[c] = na
        tcnt[c] = nt


@njit(cache=True, parallel=True, nogil=True, error_model="numpy", boundscheck=False)
def display_to_yuv420_kernel(lin, enc, oc, Yp, Up, Vp):
    """Display-linear (H, W, 3) float32 -> ``enc`` (:func:`encode_table`) -> 8-bit Y'CbCr 4:2:0."""
    H2 = Yp.shape[0] >> 1
    W = Yp.shape[1]
    for p in prange(H2):
        er = np.empty(W, np.float32)
        eg = np.empty(W, np.float32)
        eb = np.empty(W, np.float32)
        cb = np.empty((2, W), np.float32)
        cr = np.empty((2, W), np.float32)
        for k in range(2):
            i = 2 * p + k
            for j in range(W):
                er[j] = table_lerp(enc, np.sqrt(min(max(lin[i, j, 0], 0.0), 1.0)))
                eg[j] = table_lerp(enc, np.sqrt(min(max(lin[i, j, 1], 0.0), 1.0)))
                eb[j] = table_lerp(enc, np.sqrt(min(max(lin[i, j, 2], 0.0), 1.0)))
            _emit_row(i, W, er, eg, eb, oc, Yp, cb[k], cr[k])
        _emit_chroma(p, W, cb[0], cr[0], cb[1], cr[1], oc, Up, Vp)


@njit(cache=True, parallel=True, nogil=True, error_model="numpy", boundscheck=False)
def measure_kernel(Y, U, V, sc, mc, hist, asum, acnt, tcnt, lin_out, step, site):
    """The measurement of the planes; with a non-empty ``lin_out`` also the linear light at every
    ``step``-th row and column (``site``: each pixel's own chroma site, else bilinear; the
    measurement always sees the bilinear picture)."""
    mstep = mc.mstep
    H, W = Y.shape
    cw = U.shape[1]
    nch = hist.shape[0]
    g = min(step, mstep)  # both steps are powers of two (or 1): visit every row either grid needs
    hs = (H + g - 1) // g
    for c in prange(nch):
        cs = np.empty((2, cw + 1), np.float32)  # Cb, Cr upsampled vertically, at the chroma sites
        rs = np.empty((5, W), np.float32)  # per pixel: Cb, Cr, then R', G', B'
        cuv, cvv, cu, cv, rr, gg, bb = cs[0], cs[1], rs[0], rs[1], rs[2], rs[3], rs[4]
        lin = np.empty((4, W), np.float32)
        lr, lg, lb = lin[0], lin[1], lin[2]
        sig = np.empty((5, W if site else 0), np.float32)  # site chroma and its signal rows
        s = 0.0
        na = 0
        nt = 0
        nc = (W + g - 1) // g
        for si in range(c * hs // nch, (c + 1) * hs // nch):
            i = si * g
            chroma_row(U, V, i, sc, W, cuv, cvv, cu, cv)
            if g == 1:  # the contiguous form vectorises; the strided one gives the same values
                signal_row(Y, i, W, cu, cv, sc, rr, gg, bb)
            else:
                signal_row_strided(Y, i, W, g, cu, cv, sc, rr, gg, bb)
            if lin_out.shape[0] > 0 and i % step == 0:
                ls = step // g
                orow = lin_out[i // step]
                no = orow.shape[0]
                if site:  # the sampled frame with each pixel's own chroma site; the measurement keeps bilinear
                    chroma_row_site(U, V, i, sc, W, sig[0], sig[1])
                    signal_row_strided(Y, i, W, step, sig[0], sig[1], sc, sig[2], sig[3], sig[4])
                    _linear_samples(sig[2], sig[3], sig[4], no, 1, sc, lr, lg, lb, lin[3])
                else:
                    _linear_samples(rr, gg, bb, no, ls, sc, lr, lg, lb, lin[3])
                for q in range(no):
                    orow[q, 0] = lr[q]
                    orow[q, 1] = lg[q]
                    orow[q, 2] = lb[q]
                if step == mstep and not site:  # every sampled pixel is measured: one linear conversion for both
                    s, na, nt = _measure_row(no, 1, rr, gg, bb, sc, mc, hist, c, lr, lg, lb, lin[3], True, s, na, nt)
                    continue
            if i % mstep == 0:
                a, b_, t = _measure_row(nc, mstep // g, rr, gg, bb, sc, mc, hist, c, lr, lg, lb, lin[3], False,
                                        0.0, 0, 0)
                s += a
                na += b_
                nt += t
        asum[c] = s
        acnt[c] = na
        tcnt[c] = nt
