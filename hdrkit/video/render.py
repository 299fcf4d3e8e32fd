"""Per-frame SDR rendering kernels for video: HDR planes -> 8-bit BT.709 Y'CbCr 4:2:0.

Two paths give the same picture, both from :mod:`hdrkit.core`:

``lut`` (default, fast)
    One fused compiled pass over the decoded planes: chroma upsampling and Y'CbCr ->
    R'G'B' as in :mod:`hdrkit.video.decode`, a tetrahedral lookup in a 3D LUT baked from
    :func:`hdrkit.core.pipeline.render_linear` + :func:`~hdrkit.core.pipeline.encode_transfer`
    (:mod:`hdrkit.video.lut3d`), then BT.709 Y'CbCr and quantisation; the frame
    measurement for peak detection (below) is taken in the same pass.
``exact``
    :func:`hdrkit.core.pipeline.render_linear` on the decoded linear frame, then
    :func:`yuv420_from_display`: the transfer encoding (a table sampled from
    :func:`~hdrkit.core.pipeline.encode_transfer`) and the same quantisation.

Quantisation: ``code = floor(v * scale + offset + 0.5 + d)`` clipped to [0, 255], the
formula of :func:`hdrkit.core.dither.quantize` with its blue-noise tile ``d`` (anchored at
pixel (0, 0) of each plane), applied once, to the Y'CbCr the encoder receives (dithering
R'G'B' to 8 bits and converting would quantise twice). Y'CbCr: BT.709 matrix
(:func:`hdrkit.core.ycbcr.rgb_to_ycbcr_matrix`), limited range
(:func:`hdrkit.core.ycbcr.range_scale`); chroma 4:2:0 left-sited (H.273 location type 0,
what x264 signals by default): mean of the two rows, ``[1, 2, 1] / 4`` around each even
column. Odd picture sizes lose their last row / column (4:2:0 needs even sizes).

Measurement (for :mod:`hdrkit.video.analysis`): on the pixels of a regular grid (every
:func:`measure_step`-th row and column, at most about 2^18 pixels), ``v = PQ(max(R, G, B)
in cd/m^2)`` (ST 2084 inverse EOTF) goes into a histogram of :data:`HIST_BINS` bins over
[0, 1]; the sum and count of ``v >= BLACK_CUTOFF_PQ`` and the count of sampled pixels come
with it. For PQ sources ``v`` is simply the largest of the three signal values.

References
----------
- ITU-R BT.709-6 items 3.2-3.3, 4.6 (matrix, 8-bit limited range); ITU-T H.273 chroma
  sample location type 0; SMPTE ST 2084 (measurement domain).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit, prange

from ..core.dither import get_dither
from ..core.pipeline import encode_transfer
from ..core.transfer import eotf_inverse_st2084
from ..core.ycbcr import range_scale, rgb_to_ycbcr_matrix
from ..errors import OptionError
from .decode import ColourInfo, _table, chroma_row, chroma_row_site, kernel_args, linear_row, signal_row, signal_row_strided

__all__ = ["HIST_BINS", "BLACK_CUTOFF_PQ", "MEASURE_SAMPLES", "Measurement", "measure_step", "render_lut_yuv420",
           "even_size", "yuv420_buffer",
           "yuv420_from_display", "measure_planes", "sample_linear", "output_args", "pq_table", "encode_table"]

#: Bins of the PQ histogram of max(R, G, B) (about 0.3-1 % steps in cd/m^2 above 100 cd/m^2).
HIST_BINS = 4096
#: Pixels below this PQ value do not count towards the frame average (libplacebo's black cutoff).
BLACK_CUTOFF_PQ = 0.01
#: The measuring grid holds at most about this many pixels.
MEASURE_SAMPLES = 1 << 18
_CHUNKS = 16


def measure_step(height: int, width: int) -> int:
    """Grid step of the measurement: the smallest power of two >= 2 leaving <= :data:`MEASURE_SAMPLES` pixels."""
    s = 2
    while -(-height // s) * -(-width // s) > MEASURE_SAMPLES:
        s *= 2
    return s


class Measurement:
    """Raw frame measurement: histogram (int64, :data:`HIST_BINS`), sum of active v, active and total counts."""

    __slots__ = ("hist", "active_sum", "active", "total")

    def __init__(self, hist, active_sum, active, total):
        self.hist, self.active_sum, self.active, self.total = hist, float(active_sum), int(active), int(total)


@lru_cache(maxsize=1)
def pq_table(size: int = 4096) -> np.ndarray:
    """PQ signal of ``L = 10000 q^4`` cd/m^2, q = i / (size - 1) (ST 2084 inverse EOTF), read-only float32."""
    q = np.linspace(0.0, 1.0, size)
    t = np.ascontiguousarray(eotf_inverse_st2084(10000.0 * q**4), np.float32)
    t.setflags(write=False)
    return t


@lru_cache(maxsize=4)
def encode_table(transfer: str = "bt1886", size: int = 16384) -> np.ndarray:
    """Encoded signal of display light ``x = q^2``, q = i / (size - 1), from
    :func:`hdrkit.core.pipeline.encode_transfer`; read-only float64."""
    q = np.linspace(0.0, 1.0, size)
    t = np.ascontiguousarray(encode_transfer(q * q, transfer), np.float64)
    t.setflags(write=False)
    return t


@lru_cache(maxsize=8)
def _dither_rows(dither: str, width: int) -> np.ndarray:
    """The dither tile repeated across ``width`` columns: (tile height, width) float32, read-only
    (a row read in order vectorises; indexing the tile by ``j % 64`` does not)."""
    tile = np.asarray(get_dither(dither).tile(), dtype=np.float32)
    th, tw = tile.shape
    rows = np.ascontiguousarray(np.tile(tile, (1, -(-width // tw)))[:, :width])
    rows.setflags(write=False)
    return rows


def output_args(dither: str = "blue64", width: int = 1) -> tuple:
    """BT.709 limited 8-bit output constants for pictures ``width`` wide: matrix, range (y offset,
    scale, c offset, scale), dither rows for luma and for chroma (tile anchored at (0, 0) of each plane)."""
    m = rgb_to_ycbcr_matrix("bt709")
    yo, ys, co, cs = range_scale(8, False)
    f = np.float32
    return (np.ascontiguousarray(m, dtype=np.float32), f(yo + 0.5), f(ys), f(co + 0.5), f(cs),
            _dither_rows(dither, max(width, 1)), _dither_rows(dither, max(width // 2, 1)))


# ----------------------------------------------------------------- row kernels
@njit(cache=True, fastmath=True, error_model="numpy", boundscheck=False)
def _tetra_row(rr, gg, bb, W, flat, n, base, o1, o2, w0, w1, w2, w3, er, eg, eb):
    """Tetrahedral interpolation of a row of signal (float32 [0, 1]) in the flat LUT ``flat``
    (``[r, g, b, channel]`` order, size ``n``), branch-free: the tetrahedron is chosen by sorting
    the three fractions with integer masks. Same maths as :func:`hdrkit.video.lut3d.apply_reference`."""
    n1 = np.float32(n - 1)
    top = np.float32(n - 2)
    sb = np.int32(3)
    sg = np.int32(3 * n)
    sr = np.int32(3 * n * n)
    o3 = sr + sg + sb
    for j in range(W):  # indices, corner offsets and weights: branch-free, vectorises
        x = rr[j] * n1
        y = gg[j] * n1
        z = bb[j] * n1
        a = min(np.floor(x), top)
        b = min(np.floor(y), top)
        c = min(np.floor(z), top)
        fr = x - a
        fg = y - b
        fb = z - c
        base[j] = np.int32(a) * sr + np.int32(b) * sg + np.int32(c) * sb
        rg = np.int32(fr > fg)
        gb = np.int32(fg > fb)
        rb = np.int32(fr > fb)
        r_max = rg & rb  # red has the largest fraction
        b_min = rb & gb  # blue has the smallest
        o1[j] = r_max * sr + (1 - r_max) * (gb * sg + (1 - gb) * sb)  # corner along the largest fraction
        o2[j] = o3 - (b_min * sb + (1 - b_min) * (rg * sg + (1 - rg) * sr))  # all but the smallest
        f1 = max(fr, max(fg, fb))
        f3 = min(fr, min(fg, fb))
        f2 = fr + fg + fb - f1 - f3
        w0[j] = np.float32(1.0) - f1
        w1[j] = f1 - f2
        w2[j] = f2 - f3
        w3[j] = f3
    u1 = np.uint32(1)
    u2 = np.uint32(2)
    uo3 = np.uint32(o3)
    for j in range(W):  # gather: unsigned indices spare numba's negative-index wrap-around code
        p0 = np.uint32(base[j])
        p1 = p0 + np.uint32(o1[j])
        p2 = p0 + np.uint32(o2[j])
        p3 = p0 + uo3
        a0 = w0[j]
        a1 = w1[j]
        a2 = w2[j]
        a3 = w3[j]
        er[j] = a0 * flat[p0] + a1 * flat[p1] + a2 * flat[p2] + a3 * flat[p3]
        eg[j] = a0 * flat[p0 + u1] + a1 * flat[p1 + u1] + a2 * flat[p2 + u1] + a3 * flat[p3 + u1]
        eb[j] = a0 * flat[p0 + u2] + a1 * flat[p1 + u2] + a2 * flat[p2 + u2] + a3 * flat[p3 + u2]


@njit(cache=True, inline="always", fastmath=True, error_model="numpy", boundscheck=False)
def _q8(v):
    # clamp first, then truncate: for v >= 0 truncation is floor
    return np.uint8(np.int32(min(max(v, np.float32(0.0)), np.float32(255.0))))


@njit(cache=True, fastmath=True, error_model="numpy", boundscheck=False)
def _emit_row(i, W, er, eg, eb, M, yo, ys, dy, Yp, cb, cr):
    """Y codes of row ``i`` from encoded R'G'B' rows; Cb, Cr (float, centred) into ``cb``, ``cr``."""
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
def _emit_chroma(p, W, cb0, cr0, cb1, cr1, co, cs, dc, Up, Vp):
    """Chroma row ``p`` from the Cb, Cr of luma rows 2p, 2p + 1: [1, 2, 1] / 4 at even columns, row mean."""
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
    return _table(pqt, np.sqrt(np.sqrt(min(max(mx * (203.0 / 10000.0), 0.0), 1.0))))


@njit(cache=True, error_model="numpy", boundscheck=False)
def _linear_samples(rr, gg, bb, m, stride, lut, hlg, wr, wg, wb, gtab, lr, lg, lb, s):
    """Linear light of signal rows at entries 0, ``stride``, 2 ``stride`` ... (``m`` of them) into
    ``lr``, ``lg``, ``lb`` (:func:`hdrkit.video.decode.linear_row`; ``s`` scratch)."""
    for q in range(m):
        lr[q] = rr[q * stride]
        lg[q] = gg[q * stride]
        lb[q] = bb[q * stride]
    linear_row(lr, lg, lb, m, lut, hlg, wr, wg, wb, gtab, s)


@njit(cache=True, error_model="numpy", boundscheck=False)
def _measure_row(n, step, rr, gg, bb, pq_in, lut, hlg, wr, wg, wb, gtab, pqt, black, hist, c, lr, lg, lb, s):
    """Histogram every ``step``-th of the first ``n`` entries of signal rows; returns (sum of active
    v, active count, count). ``lr``, ``lg``, ``lb``, ``s``: scratch for the linear light of the samples."""
    nb = hist.shape[1]
    m = (n + step - 1) // step
    if not pq_in:
        _linear_samples(rr, gg, bb, m, step, lut, hlg, wr, wg, wb, gtab, lr, lg, lb, s)
    sm = 0.0
    na = 0
    nt = 0
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
def _render_lut(Y, U, V, shx, shy, yo_i, yk, co_i, ck, m02, m11, m12, m21, lut, hlg, wr, wg, wb, gtab,
                pq_in, pqt, flat, n, M, yo, ys, co, cs, dy, dc, black, mstep, measure, Yp, Up, Vp, hist, asum, acnt,
                tcnt):
    H2 = Yp.shape[0] >> 1
    W = Yp.shape[1]
    cw = U.shape[1]
    nch = hist.shape[0]
    for c in prange(nch):
        cuv = np.empty(cw + 1, np.float32)
        cvv = np.empty(cw + 1, np.float32)
        cu = np.empty(W, np.float32)
        cv = np.empty(W, np.float32)
        rr = np.empty(W, np.float32)
        gg = np.empty(W, np.float32)
        bb = np.empty(W, np.float32)
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
                chroma_row(U, V, i, shx, shy, W, cuv, cvv, cu, cv)
                signal_row(Y, i, W, cu, cv, yo_i, yk, co_i, ck, m02, m11, m12, m21, rr, gg, bb)
                if measure and i % mstep == 0:
                    a, b_, t = _measure_row(W, mstep, rr, gg, bb, pq_in, lut, hlg, wr, wg, wb, gtab, pqt, black,
                                            hist, c, lin[0], lin[1], lin[2], lin[3])
                    s += a
                    na += b_
                    nt += t
                _tetra_row(rr, gg, bb, W, flat, n, base, o1, o2, w0, w1, w2, w3, er, eg, eb)
                _emit_row(i, W, er, eg, eb, M, yo, ys, dy, Yp, cb[k], cr[k])
            _emit_chroma(p, W, cb[0], cr[0], cb[1], cr[1], co, cs, dc, Up, Vp)
        asum[c] = s
        acnt[c] = na
        tcnt[c] = nt


@njit(cache=True, parallel=True, nogil=True, error_model="numpy", boundscheck=False)
def _display_to_yuv(lin, enc, M, yo, ys, co, cs, dy, dc, Yp, Up, Vp):
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
                er[j] = _table(enc, np.sqrt(min(max(lin[i, j, 0], 0.0), 1.0)))
                eg[j] = _table(enc, np.sqrt(min(max(lin[i, j, 1], 0.0), 1.0)))
                eb[j] = _table(enc, np.sqrt(min(max(lin[i, j, 2], 0.0), 1.0)))
            _emit_row(i, W, er, eg, eb, M, yo, ys, dy, Yp, cb[k], cr[k])
        _emit_chroma(p, W, cb[0], cr[0], cb[1], cr[1], co, cs, dc, Up, Vp)


@njit(cache=True, parallel=True, nogil=True, error_model="numpy", boundscheck=False)
def _measure(Y, U, V, shx, shy, yo_i, yk, co_i, ck, m02, m11, m12, m21, lut, hlg, wr, wg, wb, gtab, pq_in, pqt,
             black, mstep, hist, asum, acnt, tcnt, lin_out, step, site):
    H, W = Y.shape
    cw = U.shape[1]
    nch = hist.shape[0]
    nb = hist.shape[1]
    g = min(step, mstep)  # both steps are powers of two (or 1): visit every row either grid needs
    hs = (H + g - 1) // g
    for c in prange(nch):
        cuv = np.empty(cw + 1, np.float32)
        cvv = np.empty(cw + 1, np.float32)
        cu = np.empty(W, np.float32)
        cv = np.empty(W, np.float32)
        rr = np.empty(W, np.float32)
        gg = np.empty(W, np.float32)
        bb = np.empty(W, np.float32)
        lin = np.empty((4, W), np.float32)
        lr, lg, lb = lin[0], lin[1], lin[2]
        sig = np.empty((5, W if site else 0), np.float32)  # site chroma and its signal rows
        s = 0.0
        na = 0
        nt = 0
        nc = (W + g - 1) // g
        for si in range(c * hs // nch, (c + 1) * hs // nch):
            i = si * g
            chroma_row(U, V, i, shx, shy, W, cuv, cvv, cu, cv)
            if g == 1:  # the contiguous form vectorises; the strided one gives the same values
                signal_row(Y, i, W, cu, cv, yo_i, yk, co_i, ck, m02, m11, m12, m21, rr, gg, bb)
            else:
                signal_row_strided(Y, i, W, g, cu, cv, yo_i, yk, co_i, ck, m02, m11, m12, m21, rr, gg, bb)
            if lin_out.shape[0] > 0 and i % step == 0:
                ls = step // g
                orow = lin_out[i // step]
                no = orow.shape[0]
                if site:  # the sampled frame with each pixel's own chroma site; the measurement keeps bilinear
                    chroma_row_site(U, V, i, shx, shy, W, sig[0], sig[1])
                    signal_row_strided(Y, i, W, step, sig[0], sig[1], yo_i, yk, co_i, ck, m02, m11, m12, m21,
                                       sig[2], sig[3], sig[4])
                    _linear_samples(sig[2], sig[3], sig[4], no, 1, lut, hlg, wr, wg, wb, gtab, lr, lg, lb, lin[3])
                else:
                    _linear_samples(rr, gg, bb, no, ls, lut, hlg, wr, wg, wb, gtab, lr, lg, lb, lin[3])
                for q in range(no):
                    orow[q, 0] = lr[q]
                    orow[q, 1] = lg[q]
                    orow[q, 2] = lb[q]
                if step == mstep and not site:  # every sampled pixel is measured: one linear conversion for both
                    for q in range(no):  # ls == 1 here
                        if pq_in:
                            v = max(rr[q], max(gg[q], bb[q]))
                        else:
                            v = _pq_of_peak(max(lr[q], max(lg[q], lb[q])), pqt)
                        hist[c, min(np.int64(v * nb), nb - 1)] += 1
                        nt += 1
                        if v >= black:
                            s += v
                            na += 1
                    continue
            if i % mstep == 0:
                a, b_, t = _measure_row(nc, mstep // g, rr, gg, bb, pq_in, lut, hlg, wr, wg, wb, gtab, pqt, black,
                                        hist, c, lr, lg, lb, lin[3])
                s += a
                na += b_
                nt += t
        asum[c] = s
        acnt[c] = na
        tcnt[c] = nt


# ----------------------------------------------------------------- front ends
def even_size(H: int, W: int) -> tuple[int, int]:
    """The 4:2:0 output size of an H x W picture (odd sizes lose a row / column)."""
    return H & ~1, W & ~1


def yuv420_buffer(H: int, W: int):
    """One contiguous (1.5 H, W) uint8 buffer (the layout ``VideoFrame.from_ndarray(..., 'yuv420p')``
    takes) and (Y, U, V) views into it; H, W even."""
    buf = np.empty((H * 3 // 2, W), np.uint8)
    q = H * W // 4
    flat = buf.reshape(-1)
    return buf, (buf[:H], flat[H * W:H * W + q].reshape(H // 2, W // 2), flat[H * W + q:].reshape(H // 2, W // 2))


def _even_planes(H: int, W: int):
    H2, W2 = H & ~1, W & ~1
    if H2 < 2 or W2 < 4:
        raise OptionError(f"picture {W}x{H} is too small for 4:2:0 output")
    return (np.empty((H2, W2), np.uint8), np.empty((H2 // 2, W2 // 2), np.uint8),
            np.empty((H2 // 2, W2 // 2), np.uint8))


def _measure_buffers():
    return (np.zeros((_CHUNKS, HIST_BINS), np.int64), np.zeros(_CHUNKS), np.zeros(_CHUNKS, np.int64),
            np.zeros(_CHUNKS, np.int64))


def _measurement(hist, asum, acnt, tcnt) -> Measurement:
    return Measurement(hist.sum(axis=0), asum.sum(), acnt.sum(), tcnt.sum())


def render_lut_yuv420(y, u, v, colour: ColourInfo, cube: np.ndarray, dither: str = "blue64", out=None,
                      measure: bool = True) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], Measurement | None]:
    """Fused: decoded planes -> 3D LUT -> 8-bit BT.709 limited Y'CbCr 4:2:0 planes, plus the measurement
    (``None`` with ``measure=False``).

    ``cube``: (N, N, N, 3) float32 from :func:`hdrkit.video.lut3d.bake_lut` for ``colour``'s
    transfer and primaries, BT.1886-encoded output. ``out``: optional (Y, U, V) uint8 planes
    (views are fine) of the even-cropped size.
    """
    H, W = y.shape
    planes = out if out is not None else _even_planes(H, W)
    bufs = _measure_buffers()
    cube = np.ascontiguousarray(cube, dtype=np.float32)
    _render_lut(y, u, v, *kernel_args(colour), colour.transfer == "pq", pq_table(), cube.reshape(-1),
                cube.shape[0], *output_args(dither, planes[0].shape[1]), BLACK_CUTOFF_PQ, measure_step(H, W),
                bool(measure), *planes, *bufs)
    return planes, (_measurement(*bufs) if measure else None)


def yuv420_from_display(display_linear: np.ndarray, dither: str = "blue64", transfer: str = "bt1886",
                        out=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Display-linear BT.709 [0, 1] (H, W, 3) -> ``transfer``-encoded 8-bit limited Y'CbCr 4:2:0 planes."""
    lin = np.ascontiguousarray(display_linear, dtype=np.float32)
    planes = out if out is not None else _even_planes(lin.shape[0], lin.shape[1])
    _display_to_yuv(lin, encode_table(transfer), *output_args(dither, planes[0].shape[1]), *planes)
    return planes


def measure_planes(y, u, v, colour: ColourInfo) -> Measurement:
    """The measurement alone (no rendering); the same numbers as :func:`render_lut_yuv420`'s."""
    H, W = y.shape
    bufs = _measure_buffers()
    ms = measure_step(H, W)
    _measure(y, u, v, *kernel_args(colour), colour.transfer == "pq", pq_table(), BLACK_CUTOFF_PQ, ms, *bufs,
             np.empty((0, 0, 3), np.float32), ms, False)
    return _measurement(*bufs)


def sample_linear(y, u, v, colour: ColourInfo, step: int = 2, out: np.ndarray | None = None,
                  chroma: str = "bilinear") -> tuple[np.ndarray, Measurement]:
    """Linear light at every ``step``-th row and column (float32, hdrkit units, source primaries)
    and the measurement, in one pass. ``step`` is 1 (full frame) or a power of two. ``out``: a
    float32 array of the sampled shape to write into (a clip reuses one: no fresh pages per frame).
    ``chroma``: how the sampled frame gets its chroma, ``"bilinear"`` (as rendered) or ``"site"``
    (each pixel its own chroma site, :func:`hdrkit.video.decode.chroma_row_site`); the
    measurement always sees the bilinear picture, as the renderer does."""
    if step < 1 or step & (step - 1):
        raise OptionError(f"sampling step must be 1 or a power of two, not {step}")
    if chroma not in ("bilinear", "site"):
        raise OptionError(f"chroma must be 'bilinear' or 'site', not {chroma!r}")
    H, W = y.shape
    shape = ((H + step - 1) // step, (W + step - 1) // step, 3)
    if out is not None and (out.shape != shape or out.dtype != np.float32 or not out.flags.c_contiguous):
        raise OptionError(f"out must be a C-contiguous float32 array of shape {shape}")
    lin = np.empty(shape, np.float32) if out is None else out
    bufs = _measure_buffers()
    _measure(y, u, v, *kernel_args(colour), colour.transfer == "pq", pq_table(), BLACK_CUTOFF_PQ,
             measure_step(H, W), *bufs, lin, step, chroma == "site")
    return lin, _measurement(*bufs)
