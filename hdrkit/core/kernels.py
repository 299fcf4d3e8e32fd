"""Fused, compiled per-pixel kernels of the rendering path (numba, cached on disk).

One pass per row does tone curve (a gain table sampled from the registered curve),
matrix to BT.709, the gamut map of :mod:`hdrkit.core.gamut` (same maths, scalar form),
and for SDR output the transfer (table), blue-noise dither and rounding. Rows run in
parallel on all cores: bands of a few rows dealt round-robin to one lane per thread, each lane
with one set of row buffers (:func:`_lanes`). A gain-map
still can skip its float picture: :func:`render_sdr_rebuilt` rebuilds each row from the base
and map (:func:`hdrkit.core.rebuild.rebuild_row`) just before rendering it.

Speed layout of a row (float32):

1. a branch-free loop (LLVM vectorises it: AVX2 / AVX-512 where present) clamps, turns
   NaN / inf into black and computes each pixel's position in the tone table;
2. a separate scalar loop reads the table (LLVM does not vectorise gathers here, and one
   in a loop would keep the whole loop scalar);
3. a branch-free loop applies the gain, the matrix, the gamut boundary test and the neon
   knee, and flags the pixels whose chroma passes the compression knee (the ``hue`` map has
   a loop of its own without the neon knee);
4. the flagged pixels (a few per cent to a sixth of a photograph; they need the CIELAB skin
   test and the roll-off) are packed, their skin weights found one by one (cube roots and
   atan2, only in the skin hue quadrant), and the roll-off runs on them in one more
   branch-free loop, in float64 (:func:`_row_slow`); for the ``hue`` map every step after the
   packing runs over the packed pixels in vectorised loops, IPT's powers and the hue angle
   included (:mod:`hdrkit.core.vecmath`, :func:`_row_slow_hue`);
5. for SDR, per channel: vectorised square root and table read; then one loop adds the
   dither, floors and writes the three (RGBX: four) codes of each pixel into the row.

Everything here mirrors a numpy reference: ``pipeline.render_linear_reference`` (tests
compare the two: display light within 3e-4, codes within 1 on under 1 % of pixels), and
the tables are built from the core's own functions, so no maths lives only here.

The compiled code is cached next to this file (``cache=True``): the first run on a machine
compiles for several seconds of CPU (the SDR kernel about 5 s; the commands spread it over
two processes, :mod:`hdrkit.io.warmup`), later runs load it in a fraction of a second.
Helpers are separate compiled functions rather than inlined into the parallel loops, which
keeps that first compile short.
"""

# no "from __future__ import annotations": the NamedTuple records' field types must be real
# objects for the API reference (pdoc resolves them in the class's own namespace)
import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..errors import OptionError
from .dither import get_dither
from .gamut import SKIN_HUE, SKIN_SAT, get_gamut_map
from .ipt import IPT_EXPONENT, IPT_FROM_LMS, NEUTRAL, chroma_boundary, ipt_matrices
from .jit import get_num_threads, njit, prange
from .output import OUTPUT_PRIMARIES, TRANSFER_ENCODERS
from .primaries import BT709_LUMA_WEIGHTS, luminance_weights, rgb_to_rgb_matrix, rgb_to_xyz_matrix
from .rebuild import rebuild_row, row_scratch
from .tonemap import curve_lut
from .vecmath import atan2_rows, spow_rows

__all__ = ["RenderConstants", "CodeConstants", "render_constants", "has_kernel", "render_linear_fast",
           "render_sdr_fast", "render_sdr_rebuilt", "encode_lut", "box_mean", "subsampling_stats", "lerp_rows",
           "TONE_LUT_SIZE", "ENCODE_LUT_SIZE"]

TONE_LUT_SIZE = 4096
ENCODE_LUT_SIZE = 8192
_MODES = {"clip": 0, "compress": 1, "perceptual": 2, "hue": 3}
#: Mode 3 (``hue``) flags pixels whose constant-Y chroma ratio in linear BT.709 passes
#: ``HUE_GATE * knee`` for the IPT map; below it the IPT chroma ratio stays under the knee, so
#: the map is the identity there (measured on random colours: nothing changes below 0.41 at
#: knee 0.7, 0.52 at 0.8; the tests check the gate against the reference).
HUE_GATE = 0.5
#: LLVM fast-math flags that keep NaN / inf semantics (so bad pixels still turn black).
_FM = {"nsz", "arcp", "contract", "afn", "reassoc"}


class RenderConstants(NamedTuple):
    """The per-picture constants of the render kernels (tone curve, matrices, gamut map), made once
    by :func:`render_constants` and handed to every row as one record.

    Light is linear relative (1.0 = SDR reference white) throughout.

    Attributes
    ----------
    peak : float
        ``P``, the span of the tone tables: the source peak or, when larger, the display peak
        ``D`` (linear relative). A pixel whose max(R, G, B) reaches it lands on ``D``.
    tone : numpy.ndarray
        (:data:`TONE_LUT_SIZE`,) float32 gain table ``f(m) / m`` of the tone curve at
        ``m = peak * (i / (n - 1))**2`` (:func:`hdrkit.core.tonemap.curve_lut` in the context of
        :meth:`hdrkit.core.pipeline.RenderParams.tone_context`); the vectorised common case reads it.
    tone64 : numpy.ndarray
        The same table in float64 (the pixels past the gamut knee read it).
    M : numpy.ndarray
        (3, 3) float64, linear source primaries -> linear BT.709
        (:func:`hdrkit.core.primaries.rgb_to_rgb_matrix`, Bradford adaptation between whites).
    Minv : numpy.ndarray
        (3, 3) float64, BT.709 -> source primaries (the source gamut boundary of the roll-off).
    w : numpy.ndarray
        (3,) float64 BT.709 luminance weights (the Y row of its RP 177 matrix,
        :func:`hdrkit.core.primaries.luminance_weights`): the constant-Y axis of the gamut map.
    XYZ : numpy.ndarray
        (3, 3) float64, BT.709 -> CIE XYZ (white Y = 1), for the CIELAB skin test.
    wn : numpy.ndarray
        (3,) float64 XYZ of the BT.709 white (the row sums of ``XYZ``), CIELAB's reference white.
    skin : numpy.ndarray
        (5,) float64: the CIELAB hue window of skin in degrees, low, high and feather
        (:data:`hdrkit.core.gamut.SKIN_HUE`), then the C*/L* limits, full and zero weight
        (:data:`hdrkit.core.gamut.SKIN_SAT`).
    D : float
        Display peak (``RenderParams.target_headroom``, linear relative): the output's top.
    mode : int
        Gamut map: 0 ``clip``, 1 ``compress``, 2 ``perceptual``, 3 ``hue``.
    knee : float
        Chroma ratio (to the BT.709 boundary at constant Y, or IPT chroma for ``hue``) where the
        compression starts (the map's ``knee`` parameter, 0-1).
    skin_knee : float
        The knee for skin colours (``perceptual``'s ``skin_knee``, 0-1).
    neon_knee : float
        Channel level, as a fraction of ``D``, where the shoulder of saturated colours starts
        (``perceptual``'s ``neon_knee``; 1 = off).
    neon_roll : float
        The shoulder's roll, a fraction of ``D`` (``perceptual``'s ``neon_roll``).
    hm : numpy.ndarray
        (4, 3, 3) float64, for ``hue`` (zeros otherwise): LMS from BT.709, BT.709 from LMS,
        IPT from L'M'S', L'M'S' from IPT (:func:`hdrkit.core.ipt.ipt_matrices`).
    neut : numpy.ndarray
        (3,) float64 IPT of white (:data:`hdrkit.core.ipt.NEUTRAL`), for ``hue``.
    tabs : numpy.ndarray
        (2, ni, nh) float64 largest IPT chroma by (lightness, hue) of BT.709 and of the source
        gamut (:func:`hdrkit.core.ipt.chroma_boundary`), for ``hue``.

    References
    ----------
    - SMPTE RP 177-1993 (normalised primary matrices); ITU-R BT.709-6 (output primaries).
    - CIE 15:2004 (CIELAB); F. Ebner, M. D. Fairchild, IS&T/SID 6th Color Imaging Conference
      (1998) 8-13 (IPT).
    """

    peak: float
    tone: np.ndarray
    tone64: np.ndarray
    M: np.ndarray
    Minv: np.ndarray
    w: np.ndarray
    XYZ: np.ndarray
    wn: np.ndarray
    skin: np.ndarray
    D: float
    mode: int
    knee: float
    skin_knee: float
    neon_knee: float
    neon_roll: float
    hm: np.ndarray
    neut: np.ndarray
    tabs: np.ndarray


class CodeConstants(NamedTuple):
    """The SDR kernels' encoding constants: display light -> transfer -> dither -> integer code.

    Attributes
    ----------
    enc : numpy.ndarray
        (:data:`ENCODE_LUT_SIZE`,) float32 code values (encoded signal times ``top``) at
        display light ``x = (i / (n - 1))**2`` of ``D`` (:func:`encode_lut` of the output transfer).
    dtile : numpy.ndarray
        (th, W) float32 rows of the dither tile (:func:`hdrkit.core.dither.get_dither`, in code
        steps) plus 0.5 (round half up), repeated along x to the picture's width W.
    top : float
        The largest code, ``2**bits - 1``.
    """

    enc: np.ndarray
    dtile: np.ndarray
    top: float


@lru_cache(maxsize=8)
def encode_lut(transfer: str) -> np.ndarray:
    """Encoded value at display-linear ``x = (i / (n - 1))**2`` (square-root spacing), float64."""
    u = np.linspace(0.0, 1.0, ENCODE_LUT_SIZE)
    t = np.asarray(TRANSFER_ENCODERS[transfer](u * u), dtype=np.float64)
    t.setflags(write=False)
    return t


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _lab_f(t):
    d = 6.0 / 29.0
    if t > d * d * d:
        return np.cbrt(t)
    return t / (3 * d * d) + 4.0 / 29.0


_ROWS_PER_TASK = 8


@njit(cache=True)
def _lanes(ntask, threads):
    """How many lanes the render kernels run their ``ntask`` bands in: one per thread (``threads``, numba's
    ``get_num_threads()`` at the call, which compiled code cannot read and still be cached), at most one per band.

    Lane ``q`` takes bands ``q, q + n, q + 2n, ...`` (``n`` lanes). numba's ``prange`` gives each
    thread one contiguous block of its iterations, so a loop over the bands themselves gives
    one thread the top of the picture and the other the bottom; a photograph's costly pixels
    (past the gamut knee, which take the slow path) gather in one part of it, the sky or a
    lit object, and one thread then waits for the other. Measured on the 12 MP bench picture
    (two cores): 0.258 s for the one-pass export render with contiguous blocks, 0.216 s with
    the bands dealt round-robin, the same CPU time (0.43 s) and the same bytes. Every band is
    computed as before, so the output does not depend on the number of lanes.
    """
    return max(1, min(threads, ntask))


@njit(cache=True, error_model="numpy", fastmath=_FM)
def lerp_rows(u, table):
    """``u[j] <- table`` linearly interpolated at fractional index ``u[j]`` (0 <= u <= len - 1), in place.

    Kept apart from the arithmetic loops: LLVM does not vectorise table reads (gathers)
    here, and a loop holding one would stay scalar as a whole.
    """
    n2 = np.uint32(table.shape[0] - 2)
    one = np.float32(1.0)
    for j in range(u.shape[0]):
        x = u[j]
        k = min(np.uint32(x), n2)  # unsigned: no negative-index wraparound code in the loop
        f = x - np.float32(k)
        u[j] = table[k] * (one - f) + table[k + np.uint32(1)] * f


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _constant_y_test(r, g, b, gtab, invP, Df, mm, ww, kn):
    """Tone gain (the table's ``gtab``, beyond it onto the peak ``Df``), matrix ``mm`` (9 entries),
    luminance Y (weights ``ww``), chroma vector ``c = v - Y`` and whether its ratio to the
    target boundary passes ``kn`` (float32; the gamut maps' common test)."""
    zero = np.float32(0.0)
    one = np.float32(1.0)
    inf = np.float32(np.inf)
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = mm
    w0, w1, w2 = ww
    m = max(r, max(g, b))
    gain = Df / m if m * invP >= one else gtab
    r *= gain
    g *= gain
    b *= gain
    v0 = m00 * r + m01 * g + m02 * b
    v1 = m10 * r + m11 * g + m12 * b
    v2 = m20 * r + m21 * g + m22 * b
    Y = min(max(w0 * v0 + w1 * v1 + w2 * v2, zero), Df)
    c0 = v0 - Y
    c1 = v1 - Y
    c2 = v2 - Y
    l0 = (Df - Y) / c0 if c0 > zero else (Y / -c0 if c0 < zero else inf)
    l1 = (Df - Y) / c1 if c1 > zero else (Y / -c1 if c1 < zero else inf)
    l2 = (Df - Y) / c2 if c2 > zero else (Y / -c2 if c2 < zero else inf)
    s = max(min(l0, min(l1, l2)), zero)
    return Y, c0, c1, c2, (s > zero) & (s < inf) & (one > kn * s)


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _row_fast(src, rc, o, gbuf, slow):
    """The common case of the gamut map for one row, in branch-free loops LLVM vectorises (float32).

    ``src`` (W, 3) float32; ``rc`` the :class:`RenderConstants`; writes display light (0..D)
    to ``o`` (3, W) and sets ``slow[j]`` where :func:`_row_slow` (:func:`_row_slow_hue`) must
    finish the pixel: chroma past the gamut-compression knee (for the ``hue`` map
    :data:`HUE_GATE` times the knee), where the skin test and the roll-off apply. Elsewhere
    the result is final. Returns the number of slow pixels.
    """
    P, tone, M, w, D, mode = rc.peak, rc.tone, rc.M, rc.w, rc.D, rc.mode
    knee = HUE_GATE * rc.knee if mode == 3 else rc.knee
    neon_knee, neon_roll = rc.neon_knee, rc.neon_roll
    W = src.shape[0]
    fn1 = np.float32(tone.shape[0] - 1)
    invP = np.float32(1.0 / P)
    Df = np.float32(D)
    zero = np.float32(0.0)
    one = np.float32(1.0)
    inf = np.float32(np.inf)
    m00, m01, m02 = np.float32(M[0, 0]), np.float32(M[0, 1]), np.float32(M[0, 2])
    m10, m11, m12 = np.float32(M[1, 0]), np.float32(M[1, 1]), np.float32(M[1, 2])
    m20, m21, m22 = np.float32(M[2, 0]), np.float32(M[2, 1]), np.float32(M[2, 2])
    mm = (m00, m01, m02, m10, m11, m12, m20, m21, m22)
    ww = (np.float32(w[0]), np.float32(w[1]), np.float32(w[2]))
    kn = np.float32(knee)
    kk = np.float32(neon_knee * D)
    rl = np.float32(neon_roll * D)
    half = np.float32(0.5)
    o0r, o1r, o2r = o[0], o[1], o[2]
    # 1. clamp, NaN/inf -> black, table position of max(R, G, B)
    for j in range(W):
        r = src[j, 0]
        g = src[j, 1]
        b = src[j, 2]
        ok = (r < inf) & (g < inf) & (b < inf) & (r == r) & (g == g) & (b == b)
        r = max(r, zero) if ok else zero
        g = max(g, zero) if ok else zero
        b = max(b, zero) if ok else zero
        o0r[j] = r
        o1r[j] = g
        o2r[j] = b
        gbuf[j] = min(math.sqrt(max(r, max(g, b)) * invP) * fn1, fn1)
    # 2. gain table
    lerp_rows(gbuf, tone)
    # 3. gain (beyond the table: onto the peak), matrix, gamut boundary, neon knee; one loop
    # per mode so that each stays free of branches
    nslow = 0
    if mode == 0:
        for j in range(W):
            r = o0r[j]
            g = o1r[j]
            b = o2r[j]
            m = max(r, max(g, b))
            gain = Df / m if m * invP >= one else gbuf[j]
            r *= gain
            g *= gain
            b *= gain
            o0r[j] = min(max(m00 * r + m01 * g + m02 * b, zero), Df)
            o1r[j] = min(max(m10 * r + m11 * g + m12 * b, zero), Df)
            o2r[j] = min(max(m20 * r + m21 * g + m22 * b, zero), Df)
            slow[j] = False
        return 0
    if mode == 3:  # hue: the test alone (it has no neon knee); unflagged pixels keep the matrixed colour
        for j in range(W):
            Y, c0, c1, c2, sl = _constant_y_test(o0r[j], o1r[j], o2r[j], gbuf[j], invP, Df, mm, ww, kn)
            o0r[j] = min(max(Y + c0, zero), Df)
            o1r[j] = min(max(Y + c1, zero), Df)
            o2r[j] = min(max(Y + c2, zero), Df)
            slow[j] = sl
            nslow += np.int32(sl)
        return nslow
    neon = np.float32(1.0 if (mode == 2 and kk < Df) else 0.0)
    for j in range(W):
        Y, c0, c1, c2, sl = _constant_y_test(o0r[j], o1r[j], o2r[j], gbuf[j], invP, Df, mm, ww, kn)
        o0 = min(max(Y + c0, zero), Df)
        o1 = min(max(Y + c1, zero), Df)
        o2 = min(max(Y + c2, zero), Df)
        # neon knee (perceptual only; ``neon`` = 0 turns it off): saturation-weighted channel roll-off
        mx = max(o0, max(o1, o2))
        mn = min(o0, min(o1, o2))
        sat = (mx - mn) / mx if mx > zero else zero
        wn_ = min(max((sat - half) / half, zero), one)
        wn_ = wn_ * wn_ * neon
        o0 = o0 + wn_ * (kk + (o0 - kk) / (one + (o0 - kk) / rl) - o0) if o0 > kk else o0
        o1 = o1 + wn_ * (kk + (o1 - kk) / (one + (o1 - kk) / rl) - o1) if o1 > kk else o1
        o2 = o2 + wn_ * (kk + (o2 - kk) / (one + (o2 - kk) / rl) - o2) if o2 > kk else o2
        o0r[j] = o0
        o1r[j] = o1
        o2r[j] = o2
        slow[j] = sl
        nslow += np.int32(sl)
    return nslow


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _skin_weight(v0, v1, v2, XYZ, wn, skin):
    """Skin weight of a BT.709 value (float64): CIELAB hue within the feathered window ``skin[0:3]``
    times saturation (C*/L*) below the feathered limit ``skin[3:5]``, as :mod:`hdrkit.core.gamut`."""
    p0, p1, p2 = max(v0, 0.0), max(v1, 0.0), max(v2, 0.0)
    X = (XYZ[0, 0] * p0 + XYZ[0, 1] * p1 + XYZ[0, 2] * p2) / wn[0]
    Yl = (XYZ[1, 0] * p0 + XYZ[1, 1] * p1 + XYZ[1, 2] * p2) / wn[1]
    Z = (XYZ[2, 0] * p0 + XYZ[2, 1] * p1 + XYZ[2, 2] * p2) / wn[2]
    # CIELAB a* > 0 and b* > 0 exactly when X/Xn > Y/Yn > Z/Zn (f increases); when the skin hue
    # window (SKIN_HUE with its feather) lies within 0-90 degrees, the weight is 0 outside that
    # quadrant, so the cube roots and atan2 are skipped there.
    if not ((X > Yl and Yl > Z) or not (skin[0] - skin[2] >= 0.0 and skin[1] + skin[2] <= 90.0)):
        return 0.0
    fx, fy, fz = _lab_f(X), _lab_f(Yl), _lab_f(Z)
    la, lb = 500 * (fx - fy), 200 * (fy - fz)
    h = math.degrees(math.atan2(lb, la)) % 360.0
    sat = math.sqrt(la * la + lb * lb) / max(116 * fy - 16, 1e-6)
    wh = min(max(min(h - (skin[0] - skin[2]), (skin[1] + skin[2]) - h) / skin[2], 0.0), 1.0)
    return wh * min(max((skin[4] - sat) / (skin[4] - skin[3]), 0.0), 1.0)


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _pack(src, rc, scale, slow, s0, s1, s2, t, idx):
    """Pack the flagged pixels of a row: tone curve (gain times ``scale``) and matrix ``M`` of the
    :class:`RenderConstants` ``rc`` in float64 into ``s0``-``s2``, their columns into ``idx``
    (``t``: scratch of the same length). Returns how many.

    Per pixel: clamped at 0 in float64, the gain ``f(m)/m`` (m = max(R, G, B) > 0) read from
    the float64 gain table at ``sqrt(m / peak)`` (beyond it: onto the display peak ``D``). The
    steps run in loops of their own over the row: the columns, the pixels read (gathers), the
    table positions (vectorised), the table reads (gathers), the gain and matrix (vectorised).
    12 MP export, one pass: 0.211 -> 0.206 s (CPU 0.416 -> 0.406 s), the same values."""
    P, tone64, M, D = rc.peak, rc.tone64, rc.M, rc.D
    n = 0
    for j in range(src.shape[0]):
        if slow[j]:
            idx[n] = j
            n += 1
    for k in range(n):
        j = idx[k]
        s0[k] = max(np.float64(src[j, 0]), 0.0)
        s1[k] = max(np.float64(src[j, 1]), 0.0)
        s2[k] = max(np.float64(src[j, 2]), 0.0)
    n1 = tone64.shape[0] - 1
    for k in range(n):  # m > 0: a black pixel is never flagged
        t[k] = math.sqrt(max(s0[k], max(s1[k], s2[k])) / P) * n1
    for k in range(n):
        u = t[k]
        if u >= n1:
            t[k] = D / max(s0[k], max(s1[k], s2[k]))
        else:
            i = int(u)
            f = u - i
            t[k] = tone64[i] * (1 - f) + tone64[i + 1] * f
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = _m33(M)
    for k in range(n):
        gain = t[k] * scale
        r = s0[k] * gain
        g = s1[k] * gain
        b = s2[k] * gain
        s0[k] = m00 * r + m01 * g + m02 * b
        s1[k] = m10 * r + m11 * g + m12 * b
        s2[k] = m20 * r + m21 * g + m22 * b
    return n


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _row_slow(src, rc, slow, o, sb, idx):
    """Finish the pixels :func:`_row_fast` flagged: the gamut roll-off of :mod:`hdrkit.core.gamut`
    (constants: the :class:`RenderConstants` ``rc``).

    Float64 from the source pixel on (flagged pixels are the saturated ones, whose channels
    the roll-off brings near zero, where float32 cancellation would show through a steep
    output transfer). The flagged pixels are packed (``idx``; tone mapped BT.709 values in
    ``sb`` (4, W) float64), their skin weights found one by one (cube roots and atan2, only
    for the perceptual map and only in the skin hue quadrant), then the roll-off and the neon
    knee run in one branch-free loop LLVM vectorises, and the results go back into ``o``.
    The destination boundary ``1 / rr`` is the smallest of ``(D - Y) / c`` (c > 0) and
    ``Y / -c`` (c < 0) over the channels, computed as the largest of ``c / (D - Y)`` and
    ``-c / Y`` (two divisions, no branches); the source boundary likewise.
    """
    Minv, w, XYZ, wn, skin, D, mode = rc.Minv, rc.w, rc.XYZ, rc.wn, rc.skin, rc.D, rc.mode
    knee, skin_knee, neon_knee, neon_roll = rc.knee, rc.skin_knee, rc.neon_knee, rc.neon_roll
    s0, s1, s2, wsk = sb[0], sb[1], sb[2], sb[3]
    n = _pack(src, rc, 1.0, slow, s0, s1, s2, sb[4], idx)
    for k in range(n):
        wsk[k] = _skin_weight(s0[k], s1[k], s2[k], XYZ, wn, skin) if mode == 2 else 0.0
    w0, w1, w2 = w[0], w[1], w[2]
    i00, i01, i02 = Minv[0, 0], Minv[0, 1], Minv[0, 2]
    i10, i11, i12 = Minv[1, 0], Minv[1, 1], Minv[1, 2]
    i20, i21, i22 = Minv[2, 0], Minv[2, 1], Minv[2, 2]
    dk = skin_knee - knee
    kk = neon_knee * D
    rl = neon_roll * D
    neon = 1.0 if (mode == 2 and neon_knee < 1.0) else 0.0
    inf = np.inf
    for k in range(n):
        v0 = s0[k]
        v1 = s1[k]
        v2 = s2[k]
        Y = min(max(w0 * v0 + w1 * v1 + w2 * v2, 0.0), D)
        c0 = v0 - Y
        c1 = v1 - Y
        c2 = v2 - Y
        ihi = 1.0 / (D - Y)
        ilo = 1.0 / Y
        rr = max(max(c0 * ihi if c0 > 0.0 else (-c0 * ilo if c0 < 0.0 else 0.0),
                     c1 * ihi if c1 > 0.0 else (-c1 * ilo if c1 < 0.0 else 0.0)),
                 c2 * ihi if c2 > 0.0 else (-c2 * ilo if c2 < 0.0 else 0.0))
        act = (rr > knee) & (rr < inf)  # the destination boundary is finite, positive and inside the knee
        t0 = i00 * c0 + i01 * c1 + i02 * c2
        t1 = i10 * c0 + i11 * c1 + i12 * c2
        t2 = i20 * c0 + i21 * c1 + i22 * c2
        rs = max(max(t0 * ihi if t0 > 0.0 else (-t0 * ilo if t0 < 0.0 else 0.0),
                     t1 * ihi if t1 > 0.0 else (-t1 * ilo if t1 < 0.0 else 0.0)),
                 t2 * ihi if t2 > 0.0 else (-t2 * ilo if t2 < 0.0 else 0.0))
        rmax = max(rr / rs, rr)  # source boundary / destination boundary, at least rr
        ws = wsk[k] if act else 0.0
        ke = knee + dk * ws
        span = max(rmax - ke, 1e-12)
        t = min(max((rr - ke) / span, 0.0), 1.0)
        a = max(span / (1.0 - ke), 1.0)
        tt = t * (1.0 - t)
        y = (t * t + a * tt) / (1.0 + (a + 1.0 / a - 2.0) * tt)
        roll = act & (rr > ke) & (rmax > 1.0) & (rmax < inf)
        sc = (ke + (1.0 - ke) * y) / rr if roll else 1.0
        o0 = min(max(Y + c0 * sc, 0.0), D)
        o1 = min(max(Y + c1 * sc, 0.0), D)
        o2 = min(max(Y + c2 * sc, 0.0), D)
        mx = max(o0, max(o1, o2))
        mn = min(o0, min(o1, o2))
        sat = (mx - mn) / mx if mx > 0.0 else 0.0
        wn_ = min(max((sat - 0.5) / 0.5, 0.0), 1.0)
        wn_ = wn_ * wn_ * (1.0 - ws) * neon
        o0 = o0 + wn_ * (kk + (o0 - kk) / (1.0 + (o0 - kk) / rl) - o0) if o0 > kk else o0
        o1 = o1 + wn_ * (kk + (o1 - kk) / (1.0 + (o1 - kk) / rl) - o1) if o1 > kk else o1
        o2 = o2 + wn_ * (kk + (o2 - kk) / (1.0 + (o2 - kk) / rl) - o2) if o2 > kk else o2
        s0[k] = o0
        s1[k] = o1
        s2[k] = o2
    o0r, o1r, o2r = o[0], o[1], o[2]
    for k in range(n):  # unpack
        j = idx[k]
        o0r[j] = s0[k]
        o1r[j] = s1[k]
        o2r[j] = s2[k]


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _bilinear(tab, u, v):
    """``tab`` (ni, nh) read at fractional row ``u`` and column ``v`` (clamped to the table)."""
    ni, nh = tab.shape[0], tab.shape[1]
    u = min(max(u, 0.0), ni - 1.0)
    v = min(max(v, 0.0), nh - 1.0)
    i = min(int(u), ni - 2)
    j = min(int(v), nh - 2)
    fu = u - i
    fv = v - j
    a = tab[i, j] * (1.0 - fv) + tab[i, j + 1] * fv
    b = tab[i + 1, j] * (1.0 - fv) + tab[i + 1, j + 1] * fv
    return a * (1.0 - fu) + b * fu


@njit(cache=True, inline="always")
def _m33(A):
    """The nine entries of a 3 x 3 matrix, row by row (locals for a vectorised loop)."""
    return A[0, 0], A[0, 1], A[0, 2], A[1, 0], A[1, 1], A[1, 2], A[2, 0], A[2, 1], A[2, 2]


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _row_slow_hue(src, rc, slow, o, sb, idx2):
    """Finish the pixels :func:`_row_fast` flagged with the ``hue`` map of :mod:`hdrkit.core.gamut`
    (constant IPT lightness and hue, :mod:`hdrkit.core.ipt`), float64 from the source pixel on.

    Constants from the :class:`RenderConstants` ``rc``: the tables ``hm``, ``neut`` and ``tabs``,
    the display peak ``D`` and the ``knee``. ``sb`` (12, W) float64 scratch.

    The flagged pixels are packed (tone curve and matrix, one by one; their columns in
    ``idx2[0]``), then every step runs over the packed arrays in loops LLVM vectorises: the
    powers and the arc tangent are the array forms of :mod:`hdrkit.core.vecmath`, the
    boundary tables are read in a loop of their own (gathers), and the roll-off factor is
    computed for every packed pixel. A colour inside the knee keeps its tone-mapped value;
    only those rolled off are packed once more (their places in ``idx2[1]``) and taken back
    through the powers to BT.709. Each value is the one it had when every flagged pixel went
    both ways and one was selected. On the 12 MP benchmark picture 31 % of the flagged pixels
    stay inside; the export's one pass went from 0.219 to 0.211 s (0.43 to 0.416 s of CPU).
    """
    hm, neut, tabs, D, knee = rc.hm, rc.neut, rc.tabs, rc.D, rc.knee
    ni, nh = tabs.shape[1], tabs.shape[2]
    e = IPT_EXPONENT
    ie = 1.0 / e
    tw = 1.0 / (2.0 * math.pi) * (nh - 1)
    v0s, v1s, v2s, q0, q1, q2 = sb[0], sb[1], sb[2], sb[3], sb[4], sb[5]
    ins, dps, dts, hs, cds, css = sb[6], sb[7], sb[8], sb[9], sb[10], sb[11]
    idx, rolled = idx2[0], idx2[1]
    n = _pack(src, rc, 1.0 / D, slow, v0s, v1s, v2s, q0, idx)
    if n == 0:
        return
    a00, a01, a02, a10, a11, a12, a20, a21, a22 = _m33(hm[0])
    for k in range(n):  # LMS
        x0, x1, x2 = v0s[k], v1s[k], v2s[k]
        q0[k] = a00 * x0 + a01 * x1 + a02 * x2
        q1[k] = a10 * x0 + a11 * x1 + a12 * x2
        q2[k] = a20 * x0 + a21 * x1 + a22 * x2
    spow_rows(q0, e, n)
    spow_rows(q1, e, n)
    spow_rows(q2, e, n)
    b00, b01, b02, b10, b11, b12, b20, b21, b22 = _m33(hm[2])
    n0, n1, n2 = neut[0], neut[1], neut[2]
    for k in range(n):  # IPT; lightness and chroma vector about the achromatic axis
        l0, l1, l2 = q0[k], q1[k], q2[k]
        In = (b00 * l0 + b01 * l1 + b02 * l2) / n0
        ins[k] = In
        dps[k] = (b10 * l0 + b11 * l1 + b12 * l2) - In * n1
        dts[k] = (b20 * l0 + b21 * l1 + b22 * l2) - In * n2
    atan2_rows(dts, dps, hs, n)
    td, ts = tabs[0], tabs[1]
    for k in range(n):  # boundary chroma of the target and the source at (I, h)
        uu = min(max(ins[k], 0.0), 1.0) * (ni - 1)
        vv = (hs[k] + math.pi) * tw
        cds[k] = _bilinear(td, uu, vv)
        css[k] = _bilinear(ts, uu, vv)
    c00, c01, c02, c10, c11, c12, c20, c21, c22 = _m33(hm[3])
    for k in range(n):  # roll-off factor sc, and the L'M'S' of the compressed colour
        In = ins[k]
        dP = dps[k]
        dT = dts[k]
        C = math.sqrt(dP * dP + dT * dT)
        cd = cds[k]
        pos = cd > 0.0
        rr = C / cd if pos else 0.0
        rmax = max(css[k] / cd, rr) if pos else 0.0
        span = max(rmax - knee, 1e-12)
        t = min(max((rr - knee) / span, 0.0), 1.0)
        a = max(span / (1.0 - knee), 1.0)
        tt = t * (1.0 - t)
        y = (t * t + a * tt) / (1.0 + (a + 1.0 / a - 2.0) * tt)
        roll = (knee + (1.0 - knee) * y) / rr if (rr > knee) & (rmax > 1.0) else 1.0
        sc = (roll if pos else 0.0) if C > 0.0 else 1.0
        hs[k] = sc
        dP *= sc
        dT *= sc
        i0 = In * n0
        i1 = dP + In * n1
        i2 = dT + In * n2
        q0[k] = c00 * i0 + c01 * i1 + c02 * i2
        q1[k] = c10 * i0 + c11 * i1 + c12 * i2
        q2[k] = c20 * i0 + c21 * i1 + c22 * i2
        cds[k] = min(max(In, 0.0), 1.0)
        # inside the knee (sc == 1): the colour as it is (the reference's round trip gives it back)
        v0s[k] = min(max(v0s[k], 0.0), 1.0) * D
        v1s[k] = min(max(v1s[k], 0.0), 1.0) * D
        v2s[k] = min(max(v2s[k], 0.0), 1.0) * D
    m = 0
    for k in range(n):  # the colours rolled off, packed again: only they go back through the powers
        if hs[k] != 1.0:
            q0[m] = q0[k]
            q1[m] = q1[k]
            q2[m] = q2[k]
            cds[m] = cds[k]
            rolled[m] = k
            m += 1
    spow_rows(q0, ie, m)
    spow_rows(q1, ie, m)
    spow_rows(q2, ie, m)
    spow_rows(cds, ie, m)  # the grey of the same lightness
    d00, d01, d02, d10, d11, d12, d20, d21, d22 = _m33(hm[1])
    for k in range(m):  # back to BT.709; pull an overshoot back along the line to the grey
        l0, l1, l2 = q0[k], q1[k], q2[k]
        gy = cds[k]
        c0 = (d00 * l0 + d01 * l1 + d02 * l2) - gy
        c1 = (d10 * l0 + d11 * l1 + d12 * l2) - gy
        c2 = (d20 * l0 + d21 * l1 + d22 * l2) - gy
        t = 1.0
        t = min(t, (1.0 - gy) / c0) if c0 > 0.0 else (min(t, gy / -c0) if c0 < 0.0 else t)
        t = min(t, (1.0 - gy) / c1) if c1 > 0.0 else (min(t, gy / -c1) if c1 < 0.0 else t)
        t = min(t, (1.0 - gy) / c2) if c2 > 0.0 else (min(t, gy / -c2) if c2 < 0.0 else t)
        t = max(t, 0.0)
        q0[k] = min(max(gy + c0 * t, 0.0), 1.0) * D
        q1[k] = min(max(gy + c1 * t, 0.0), 1.0) * D
        q2[k] = min(max(gy + c2 * t, 0.0), 1.0) * D
    for k in range(m):
        r = rolled[k]
        v0s[r] = q0[k]
        v1s[r] = q1[k]
        v2s[r] = q2[k]
    for k in range(n):  # unpack
        j = idx[k]
        o[0, j] = v0s[k]
        o[1, j] = v1s[k]
        o[2, j] = v2s[k]


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _row(src, rc, o, gbuf, slow, sb, idx):
    """One row of display light into ``o`` (3, W) with the :class:`RenderConstants` ``rc``: vectorised
    common case, then the flagged pixels.
    Scratch: ``gbuf`` (W,) float32, ``slow`` (W,) bool, ``sb`` (12, W) float64, ``idx`` (2, W) int32."""
    if _row_fast(src, rc, o, gbuf, slow) > 0:
        if rc.mode == 3:
            _row_slow_hue(src, rc, slow, o, sb, idx)
        else:
            _row_slow(src, rc, slow, o, sb, idx[0])


@njit(cache=True)
def _row_buffers(W):
    """Row scratch of :func:`_row` for rows ``W`` wide."""
    return (np.empty((3, W), np.float32), np.empty(W, np.float32), np.empty(W, np.bool_),
            np.empty((12, W), np.float64), np.empty((2, W), np.int32))


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _render_linear(rgb, rc, out, threads):
    """Render (:class:`RenderConstants` ``rc``): ``out`` (H, W, 3) float32 display light over ``D``, in
    one lane per thread of ``threads`` (:func:`_lanes`)."""
    H, W = rgb.shape[0], rgb.shape[1]
    invD = np.float32(1.0 / rc.D)
    ntask = (H + _ROWS_PER_TASK - 1) // _ROWS_PER_TASK
    nl = _lanes(ntask, threads)
    for q in prange(nl):
        o, gbuf, slow, sb, idx = _row_buffers(W)
        for t in range(q, ntask, nl):
            for i in range(t * _ROWS_PER_TASK, min(H, (t + 1) * _ROWS_PER_TASK)):
                _row(rgb[i], rc, o, gbuf, slow, sb, idx)
                dst = out[i]
                for j in range(W):
                    dst[j, 0] = o[0, j] * invD
                    dst[j, 1] = o[1, j] * invD
                    dst[j, 2] = o[2, j] * invD


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _render_sdr(rgb, rc, cc, out, threads):
    """Render (:class:`RenderConstants` ``rc``) + encode + dither + round (:class:`CodeConstants`
    ``cc``) into ``out`` (H, W, 3) or (H, W, 4) (RGBX), in one lane per thread of ``threads``."""
    H, W = rgb.shape[0], rgb.shape[1]
    dtile = cc.dtile
    th = dtile.shape[0]
    ntask = (H + _ROWS_PER_TASK - 1) // _ROWS_PER_TASK
    nl = _lanes(ntask, threads)
    for q in prange(nl):
        o, gbuf, slow, sb, idx = _row_buffers(W)
        for t in range(q, ntask, nl):
            for i in range(t * _ROWS_PER_TASK, min(H, (t + 1) * _ROWS_PER_TASK)):
                _row(rgb[i], rc, o, gbuf, slow, sb, idx)
                _encode_row(o, dtile[i % th], cc, rc.D, out[i])


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _encode_row(o, drow, cc, D, dst):
    """Display light ``o`` (3, W) (0..D, overwritten) -> code table ``cc.enc``, dither row ``drow``
    (a row of ``cc.dtile``), floor, clamp to ``cc.top``, into ``dst`` (W, 3) or (W, 4) (RGBX)."""
    enc, top = cc.enc, cc.top
    W = dst.shape[0]
    nc = dst.shape[1]
    fn1 = np.float32(enc.shape[0] - 1)
    invD = np.float32(1.0 / D)
    zero = np.float32(0.0)
    one = np.float32(1.0)
    ftop = np.float32(top)
    for c in range(3):
        oc = o[c]
        for j in range(W):
            oc[j] = math.sqrt(min(max(oc[j] * invD, zero), one)) * fn1
        lerp_rows(oc, enc)
    # dither, floor and clamp straight into the interleaved row, every byte of a pixel in one loop
    # (no code planes and no interleaving pass; one channel per loop, written with a stride, would
    # keep the loop scalar)
    o0, o1, o2 = o[0], o[1], o[2]
    if nc == 4:  # RGBX: the fourth byte at the top code
        for j in range(W):
            d = drow[j]
            dst[j, 0] = min(max(math.floor(o0[j] + d), zero), ftop)
            dst[j, 1] = min(max(math.floor(o1[j] + d), zero), ftop)
            dst[j, 2] = min(max(math.floor(o2[j] + d), zero), ftop)
            dst[j, 3] = ftop
    else:
        for j in range(W):
            d = drow[j]
            dst[j, 0] = min(max(math.floor(o0[j] + d), zero), ftop)
            dst[j, 1] = min(max(math.floor(o1[j] + d), zero), ftop)
            dst[j, 2] = min(max(math.floor(o2[j] + d), zero), ftop)


# fastmath=False: the rebuild is inlined here and keeps its exact arithmetic; the render runs in
# the helpers, compiled with their own flags as for the float picture
@njit(cache=True, parallel=True, error_model="numpy", fastmath=False)
def _render_sdr_rebuilt(p, kc, mp, sampling, inv_gamma, rc, cc, bk, box, out, threads):
    """:func:`_render_sdr` of the gain-map rebuild (:class:`hdrkit.core.rebuild.MapInputs`, the first
    five arguments), one row at a time: each row is rebuilt into a buffer of the lane
    (:func:`hdrkit.core.rebuild.rebuild_row`), added to the ``bk`` x ``bk`` block sums of ``box``
    (as :func:`_box_mean`) and rendered while it is in cache. Bands are whole block rows, dealt to
    lanes as :func:`_lanes` says."""
    H, W = out.shape[0], out.shape[1]
    dtile = cc.dtile
    th = dtile.shape[0]
    hb = box.shape[0]
    inv = 1.0 / (bk * bk)
    band = bk * ((_ROWS_PER_TASK + bk - 1) // bk)
    ntask = (H + band - 1) // band
    nl = _lanes(ntask, threads)
    for q in prange(nl):
        lin = np.empty((W, 3), np.float32)
        scratch = row_scratch(W)
        o, gbuf, slow, sb, idx = _row_buffers(W)
        acc = np.zeros((box.shape[1], 3), np.float64)  # back to zero at each block row's end
        for t in range(q, ntask, nl):
            for i in range(t * band, min(H, (t + 1) * band)):
                rebuild_row(p, kc, mp, sampling, inv_gamma, i, 0, 1, lin, scratch)
                if i // bk < hb:
                    _box_add_row(lin, bk, acc)
                    if i % bk == bk - 1:
                        _box_store(acc, inv, box[i // bk])
                _row(lin, rc, o, gbuf, slow, sb, idx)
                _encode_row(o, dtile[i % th], cc, rc.D, out[i])


def has_kernel(params) -> bool:
    """Whether the gamut map of ``params`` has a compiled form here (the built-in ones do)."""
    return get_gamut_map(params.gamut_map).name in _MODES


def _args(rgb, primaries, params, src_peak, anchor_peak=None):
    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] != 3:
        raise OptionError(f"expected an (H, W, 3) image, got shape {a.shape}")
    if a.dtype != np.float32:
        a = a.astype(np.float32)
    return a, render_constants(primaries, params, src_peak, anchor_peak)


def render_constants(primaries: str, params, src_peak: float, anchor_peak: float | None = None) -> RenderConstants:
    """The constants of the render kernels for one picture (or video frame), made once.

    Parameters
    ----------
    primaries : str
        The source picture's primaries (a name of :mod:`hdrkit.core.primaries`).
    params : hdrkit.core.pipeline.RenderParams
        Tone curve, target headroom and gamut map with their parameters.
    src_peak : float
        Source peak, linear relative (1.0 = SDR white).
    anchor_peak : float or None
        Static peak of the source description (as :func:`hdrkit.core.pipeline.render_linear`).

    Returns
    -------
    RenderConstants

    Raises
    ------
    OptionError
        If the gamut map has no compiled form (see :func:`has_kernel`).
    """
    ctx = params.tone_context(src_peak, anchor_peak)
    curve, cp = params.tone()
    D = ctx.dst_peak
    Peff = max(ctx.src_peak, D)
    tone = curve_lut(curve, cp, ctx._replace(src_peak=Peff), TONE_LUT_SIZE)
    tone = tone.astype(np.float64)
    g = get_gamut_map(params.gamut_map)
    gp = g.check_params(params.gamut_params)
    if g.name not in _MODES:
        raise OptionError(f"gamut map {g.name!r} has no compiled kernel")
    M = np.ascontiguousarray(rgb_to_rgb_matrix(primaries, OUTPUT_PRIMARIES))
    Minv = np.ascontiguousarray(rgb_to_rgb_matrix(OUTPUT_PRIMARIES, primaries))
    w = luminance_weights(OUTPUT_PRIMARIES)
    XYZ = np.ascontiguousarray(rgb_to_xyz_matrix(OUTPUT_PRIMARIES))
    wn = XYZ.sum(axis=1)
    skin = np.array([*SKIN_HUE, *SKIN_SAT], dtype=np.float64)
    hm, neut, tabs = _hue_tables(primaries) if g.name == "hue" else _NO_HUE
    return RenderConstants(float(Peff), tone.astype(np.float32), tone, M, Minv, w, XYZ, wn, skin, float(D),
                           _MODES[g.name], float(gp.get("knee", 0.8)), float(gp.get("skin_knee", 0.8)),
                           float(gp.get("neon_knee", 1.0)), float(gp.get("neon_roll", 0.08)), hm, neut, tabs)


_NO_HUE = (np.zeros((4, 3, 3)), np.zeros(3), np.zeros((2, 2, 2)))


@lru_cache(maxsize=8)
def _hue_tables(primaries: str):
    """Matrices, neutral and boundary tables of the ``hue`` map for a source gamut (see :func:`_row_slow_hue`)."""
    lms, ilms = ipt_matrices(OUTPUT_PRIMARIES)
    hm = np.ascontiguousarray(np.stack([lms, ilms, IPT_FROM_LMS, np.linalg.inv(IPT_FROM_LMS)]))
    tabs = np.ascontiguousarray(np.stack([chroma_boundary(OUTPUT_PRIMARIES), chroma_boundary(primaries)]))
    return hm, np.array(NEUTRAL, np.float64), tabs


def render_linear_fast(rgb, primaries, params, src_peak, anchor_peak=None) -> np.ndarray:
    """Compiled :func:`hdrkit.core.pipeline.render_linear`: display-linear BT.709 [0, 1] float32."""
    a, rc = _args(rgb, primaries, params, src_peak, anchor_peak)
    out = np.empty(a.shape, np.float32)
    _render_linear(a, rc, out, get_num_threads())
    return out


def render_sdr_fast(rgb, primaries, params, src_peak, transfer: str = "srgb", bits: int = 8,
                    anchor_peak=None, rgbx: bool = False) -> np.ndarray:
    """Compiled render + transfer + dither + rounding: (H, W, 3) uint8 (bits <= 8) or uint16.

    ``rgbx``: (H, W, 4), the fourth channel at the top code (a layout image libraries take
    without a copy, e.g. Pillow's ``RGBX``); the first three are the same codes.
    """
    a, rc = _args(rgb, primaries, params, src_peak, anchor_peak)
    out, cc = _sdr_output(a.shape[:2], params, transfer, bits, rgbx)
    _render_sdr(a, rc, cc, out, get_num_threads())
    return out


def render_sdr_rebuilt(inputs, primaries, params, src_peak, box_k: int, transfer: str = "srgb", bits: int = 8,
                       rgbx: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """:func:`render_sdr_fast` of the picture :func:`hdrkit.core.rebuild.rebuild_fast` would make from
    ``inputs`` (:class:`hdrkit.core.rebuild.MapInputs`), without making it, and its ``box_k``-block means.

    The rows are rebuilt and rendered one by one in cache, never stored whole.

    Returns
    -------
    (codes, box)
        The codes, as ``render_sdr_fast(rebuilt, ...)`` gives them, and float32
        ``box_mean(rebuilt, box_k)`` (linear, 1.0 = SDR white, in ``primaries``).
    """
    if box_k < 1:
        raise OptionError(f"box_k must be >= 1, not {box_k}")
    h, w = inputs.shape
    out, cc = _sdr_output((h, w), params, transfer, bits, rgbx)
    box = np.empty((h // box_k, w // box_k, 3), np.float32)
    _render_sdr_rebuilt(*inputs, render_constants(primaries, params, src_peak), cc, int(box_k), box, out,
                        get_num_threads())
    return out, box


def _sdr_output(shape, params, transfer: str, bits: int, rgbx: bool):
    """The SDR kernels' output array and their :class:`CodeConstants`."""
    if transfer not in ("srgb", "bt1886"):
        raise OptionError(f"unknown output transfer {transfer!r}")
    if not 1 <= bits <= 16:
        raise OptionError(f"bits must be 1-16, not {bits}")
    out = np.empty(tuple(shape) + (4 if rgbx else 3,), np.uint8 if bits <= 8 else np.uint16)
    top = float(2**bits - 1)
    return out, CodeConstants(_code_lut(transfer, top), _rounding_dither_rows(params.dither, shape[1]), top)


@lru_cache(maxsize=8)
def _code_lut(transfer: str, top: float) -> np.ndarray:
    """:func:`encode_lut` times the top code, float32 (the table the SDR kernel reads)."""
    return (encode_lut(transfer) * top).astype(np.float32)


@lru_cache(maxsize=8)
def _rounding_dither_rows(name: str, width: int) -> np.ndarray:
    """The dither tile plus 0.5 (round half up), repeated along x to ``width``: (th, width) float32."""
    t = np.asarray(get_dither(name).tile(), dtype=np.float64)
    reps = -(-width // t.shape[1])
    return np.ascontiguousarray(np.tile(t + 0.5, (1, reps))[:, :width], dtype=np.float32)


# ------------------------------------------------------------ export helpers
@njit(cache=True, error_model="numpy", fastmath=_FM)
def _box_add_row(row, k, acc):
    """Add the ``k``-pixel blocks of ``row`` (W, 3) float32 to the float64 sums ``acc`` (W // k, 3)."""
    for j in range(acc.shape[0]):
        for x in range(j * k, j * k + k):
            acc[j, 0] += row[x, 0]
            acc[j, 1] += row[x, 1]
            acc[j, 2] += row[x, 2]


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _box_store(acc, inv, orow):
    """``orow`` <- the sums ``acc`` times ``inv`` (float32), and ``acc`` back to zero for the next block row."""
    for j in range(acc.shape[0]):
        orow[j, 0] = acc[j, 0] * inv
        orow[j, 1] = acc[j, 1] * inv
        orow[j, 2] = acc[j, 2] * inv
        acc[j, 0] = 0.0
        acc[j, 1] = 0.0
        acc[j, 2] = 0.0


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _box_mean(rgb, k, out):
    H, W = out.shape[0], out.shape[1]
    inv = 1.0 / (k * k)
    for i in prange(H):
        acc = np.zeros((W, 3), np.float64)
        for y in range(i * k, i * k + k):
            _box_add_row(rgb[y], k, acc)
        _box_store(acc, inv, out[i])


def box_mean(rgb: np.ndarray, k: int) -> np.ndarray:
    """Mean of each ``k`` x ``k`` block of an (H, W, 3) image (rows/columns past a whole block dropped).

    Compiled form of ``rgb[:H//k*k, :W//k*k].reshape(H//k, k, W//k, k, 3).mean(axis=(1, 3))``
    (float64 sums, float32 out); one pass over the image, rows in parallel.
    """
    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] != 3 or k < 1:
        raise OptionError(f"expected an (H, W, 3) image and k >= 1, got shape {a.shape}, k={k}")
    if a.dtype != np.float32:
        a = a.astype(np.float32)
    out = np.empty((a.shape[0] // k, a.shape[1] // k, 3), np.float32)
    _box_mean(a, int(k), out)
    return out


#: Row chunks :func:`_subsampling_stats` runs in parallel (a fixed number: the result does not
#: depend on the thread count).
_STATS_CHUNKS = 16


@njit(cache=True, inline="always", error_model="numpy")
def _unit_rgb(row, j, c255):
    """Pixel ``j`` of an 8-bit row as float32 in [0, 1]."""
    return np.float32(row[j, 0]) / c255, np.float32(row[j, 1]) / c255, np.float32(row[j, 2]) / c255


@njit(cache=True, error_model="numpy")
def _subsampling_rows(img, step, wy, edge_thr, sat_thr, sat_floor, r0, r1):
    """The statistics of sampled rows ``r0`` to ``r1 - 1`` (rows ``0, step, 2 step ...`` of ``img``):
    saturation of their pixels, and the edges between each of them and the sampled row above it
    (``r0 - 1``'s luma is computed for the first). Returns (edges, count of saturation <=
    ``sat_thr``, the largest such, the smallest above it). Integer counts, minima and maxima: chunks
    of rows combine exactly, in any order."""
    W = img.shape[1]
    w = (W + step - 1) // step
    c255 = np.float32(255.0)
    w0, w1, w2 = np.float32(wy[0]), np.float32(wy[1]), np.float32(wy[2])
    prev = np.empty(w, np.float32)
    cur = np.empty(w, np.float32)
    edges = 0
    n_le = 0
    max_le = -1.0
    min_gt = 2.0
    if r0 > 0:
        row = img[(r0 - 1) * step]
        for jj in range(w):
            r, g, b = _unit_rgb(row, jj * step, c255)
            prev[jj] = r * w0 + g * w1 + b * w2
    for ii in range(r0, r1):
        row = img[ii * step]
        for jj in range(w):
            r, g, b = _unit_rgb(row, jj * step, c255)
            cur[jj] = r * w0 + g * w1 + b * w2
            mx = max(r, max(g, b))
            s = (mx - min(r, min(g, b))) / mx if mx > sat_floor else np.float32(0.0)
            if s <= sat_thr:
                n_le += 1
                max_le = max(max_le, s)
            else:
                min_gt = min(min_gt, s)
        if ii > 0:  # gy of the previous row, gx within it (last row and column excluded, as np.diff)
            for jj in range(w - 1):
                gx = abs(prev[jj + 1] - prev[jj])
                gy = abs(cur[jj] - prev[jj])
                if gx + gy > edge_thr:
                    edges += 1
        prev, cur = cur, prev
    return edges, n_le, max_le, min_gt


@njit(cache=True, parallel=True, error_model="numpy")
def _subsampling_stats(img, step, wy, edge_thr, sat_thr, sat_floor):
    """:func:`_subsampling_rows` of the whole sampled grid, in :data:`_STATS_CHUNKS` chunks of rows run in
    parallel and combined; returns its four values and the grid's (h, w)."""
    H, W = img.shape[0], img.shape[1]
    h = (H + step - 1) // step
    w = (W + step - 1) // step
    nch = min(_STATS_CHUNKS, h)
    edges = np.zeros(nch, np.int64)
    n_le = np.zeros(nch, np.int64)
    max_le = np.empty(nch, np.float64)
    min_gt = np.empty(nch, np.float64)
    for c in prange(nch):
        edges[c], n_le[c], max_le[c], min_gt[c] = _subsampling_rows(img, step, wy, edge_thr, sat_thr, sat_floor,
                                                                     c * h // nch, (c + 1) * h // nch)
    return edges.sum(), n_le.sum(), max_le.max(), min_gt.min(), h, w


def subsampling_stats(sdr8: np.ndarray, step: int, edge_thr: float = 0.1, sat_floor: float = 0.2,
                      sat_thr: float = 0.95, percentile: float = 99.9) -> tuple[float, bool]:
    """One-pass form of the chroma-subsampling statistics of :func:`hdrkit.still.export.choose_subsampling`.

    On ``sdr8[::step, ::step]`` (8-bit RGB, scaled to [0, 1]): the fraction of pixels whose
    |dY/dx| + |dY/dy| (BT.709 weights on the encoded values, forward differences) exceeds
    ``edge_thr``, and whether the ``percentile`` of HSV saturation (0 where max < ``sat_floor``)
    exceeds ``sat_thr``; the percentile decision is exact (numpy's linear interpolation)
    without sorting, from the count at or below the threshold and the two order statistics
    around it. Returns (edge density, saturated).
    """
    a = np.ascontiguousarray(sdr8, dtype=np.uint8)
    wy = np.array(BT709_LUMA_WEIGHTS, np.float32)
    edges, n_le, max_le, min_gt, h, w = _subsampling_stats(a, int(step), wy, np.float32(edge_thr),
                                                           np.float32(sat_thr), np.float32(sat_floor))
    n = h * w
    density = edges / ((h - 1) * (w - 1)) if h > 1 and w > 1 else 0.0
    q = (n - 1) * (percentile / 100.0)
    lo = int(np.floor(q))
    hi = min(lo + 1, n - 1)
    if lo >= n_le:
        sat = True
    elif hi < n_le or hi == lo:
        sat = False
    else:  # the percentile falls between the largest value <= sat_thr and the smallest above it
        v = np.percentile(np.array([max_le, min_gt], np.float32), 100.0 * (q - lo))
        sat = bool(v > sat_thr)
    return float(density), sat


def subsampling_stats_reference(sdr8: np.ndarray, step: int, edge_thr: float = 0.1, sat_floor: float = 0.2,
                                sat_thr: float = 0.95, percentile: float = 99.9) -> tuple[float, bool]:
    """Numpy reference of :func:`subsampling_stats` (the same arguments and result), from whole arrays."""
    a = sdr8[::step, ::step].astype(np.float32) / 255.0
    y = a[..., :3] @ np.array(BT709_LUMA_WEIGHTS, np.float32)
    gx = np.abs(np.diff(y, axis=1))[:-1]
    gy = np.abs(np.diff(y, axis=0))[:, :-1]
    density = float(((gx + gy) > edge_thr).mean()) if gx.size else 0.0
    mx = a[..., :3].max(axis=-1)
    sat = np.divide(mx - a[..., :3].min(axis=-1), mx, out=np.zeros_like(mx), where=mx > sat_floor)
    return density, bool(float(np.percentile(sat, percentile)) > sat_thr)
