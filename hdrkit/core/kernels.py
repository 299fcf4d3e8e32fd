"""Fused, compiled per-pixel kernels of the rendering path (numba, cached on disk).

One pass per pixel does tone curve (a gain table sampled from the registered curve),
matrix to BT.709, the gamut map of :mod:`hdrkit.core.gamut` (same maths, scalar form),
and for SDR output the transfer (table), blue-noise dither and rounding. Rows run in
parallel on all cores. Everything here mirrors a numpy reference:
``pipeline.render_linear_reference`` (tests compare the two), and the tables are built
from the core's own functions, so no maths lives only here.

The compiled code is cached next to this file (``cache=True``): the first run on a
machine compiles for a few seconds, later runs load in well under a second.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numba import njit, prange

from ..errors import OptionError
from .dither import get_dither
from .gamut import SKIN_HUE, SKIN_SAT, get_gamut_map
from .primaries import luminance_weights, rgb_to_rgb_matrix, rgb_to_xyz_matrix
from .tonemap import curve_lut

__all__ = ["render_linear_fast", "render_sdr_fast", "encode_lut", "TONE_LUT_SIZE", "ENCODE_LUT_SIZE"]

TONE_LUT_SIZE = 4096
ENCODE_LUT_SIZE = 8192
_MODES = {"clip": 0, "compress": 1, "perceptual": 2}
#: LLVM fast-math flags that keep NaN / inf semantics (so bad pixels still turn black).
_FM = {"nsz", "arcp", "contract", "afn", "reassoc"}


@lru_cache(maxsize=8)
def encode_lut(transfer: str) -> np.ndarray:
    """Encoded value at display-linear ``x = (i / (n - 1))**2`` (square-root spacing), float64."""
    from .pipeline import TRANSFER_ENCODERS

    u = np.linspace(0.0, 1.0, ENCODE_LUT_SIZE)
    t = np.asarray(TRANSFER_ENCODERS[transfer](u * u), dtype=np.float64)
    t.setflags(write=False)
    return t


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _limit(Y, c, D):
    if c > 0:
        return (D - Y) / c
    if c < 0:
        return Y / -c
    return np.inf


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _boundary(Y, c0, c1, c2, D):
    return max(min(_limit(Y, c0, D), min(_limit(Y, c1, D), _limit(Y, c2, D))), 0.0)


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _lab_f(t):
    d = 6.0 / 29.0
    if t > d * d * d:
        return np.cbrt(t)
    return t / (3 * d * d) + 4.0 / 29.0


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _pixel(r, g, b, P, tone, M, Minv, w, XYZ, wn, skin, D, mode, knee, skin_knee, neon_knee, neon_roll):
    r = max(r, 0.0)
    g = max(g, 0.0)
    b = max(b, 0.0)
    if not (r < np.inf and g < np.inf and b < np.inf):  # NaN or inf -> black
        return 0.0, 0.0, 0.0
    m = max(r, max(g, b))
    if m > 0:
        n1 = tone.shape[0] - 1
        u = math.sqrt(m / P) * n1
        if u >= n1:
            gain = D / m
        else:
            i = int(u)
            f = u - i
            gain = tone[i] * (1 - f) + tone[i + 1] * f
        r *= gain
        g *= gain
        b *= gain
    v0 = M[0, 0] * r + M[0, 1] * g + M[0, 2] * b
    v1 = M[1, 0] * r + M[1, 1] * g + M[1, 2] * b
    v2 = M[2, 0] * r + M[2, 1] * g + M[2, 2] * b
    if mode == 0:
        return min(max(v0, 0.0), D), min(max(v1, 0.0), D), min(max(v2, 0.0), D)
    Y = min(max(w[0] * v0 + w[1] * v1 + w[2] * v2, 0.0), D)
    c0, c1, c2 = v0 - Y, v1 - Y, v2 - Y
    s_dst = _boundary(Y, c0, c1, c2, D)
    wskin = 0.0
    if s_dst > 0 and s_dst < np.inf:
        rr = 1.0 / s_dst
        if rr > knee:
            s0 = Minv[0, 0] * c0 + Minv[0, 1] * c1 + Minv[0, 2] * c2
            s1 = Minv[1, 0] * c0 + Minv[1, 1] * c1 + Minv[1, 2] * c2
            s2 = Minv[2, 0] * c0 + Minv[2, 1] * c1 + Minv[2, 2] * c2
            rmax = max(_boundary(Y, s0, s1, s2, D) / s_dst, rr)
            k = knee
            if mode == 2:
                p0, p1, p2 = max(v0, 0.0), max(v1, 0.0), max(v2, 0.0)
                X = (XYZ[0, 0] * p0 + XYZ[0, 1] * p1 + XYZ[0, 2] * p2) / wn[0]
                Yl = (XYZ[1, 0] * p0 + XYZ[1, 1] * p1 + XYZ[1, 2] * p2) / wn[1]
                Z = (XYZ[2, 0] * p0 + XYZ[2, 1] * p1 + XYZ[2, 2] * p2) / wn[2]
                fx, fy, fz = _lab_f(X), _lab_f(Yl), _lab_f(Z)
                la, lb = 500 * (fx - fy), 200 * (fy - fz)
                h = math.degrees(math.atan2(lb, la)) % 360.0
                sat = math.sqrt(la * la + lb * lb) / max(116 * fy - 16, 1e-6)
                wh = min(max(min(h - (skin[0] - skin[2]), (skin[1] + skin[2]) - h) / skin[2], 0.0), 1.0)
                wskin = wh * min(max((skin[4] - sat) / (skin[4] - skin[3]), 0.0), 1.0)
                k = knee + (skin_knee - knee) * wskin
            if rr > k and rmax > 1.0:
                span = max(rmax - k, 1e-12)
                t = min(max((rr - k) / span, 0.0), 1.0)
                a = max(span / (1 - k), 1.0)
                y = (t * t + a * t * (1 - t)) / (1 + (a + 1 / a - 2) * t * (1 - t))
                sc = (k + (1 - k) * y) / rr
                c0 *= sc
                c1 *= sc
                c2 *= sc
    o0 = min(max(Y + c0, 0.0), D)
    o1 = min(max(Y + c1, 0.0), D)
    o2 = min(max(Y + c2, 0.0), D)
    if mode == 2 and neon_knee < 1.0:
        mx = max(o0, max(o1, o2))
        mn = min(o0, min(o1, o2))
        if mx > 0:
            sat = (mx - mn) / mx
            wn_ = min(max((sat - 0.5) / 0.5, 0.0), 1.0)
            wn_ = wn_ * wn_ * (1 - wskin)
            if wn_ > 0:
                kk = neon_knee * D
                rl = neon_roll * D
                if o0 > kk:
                    o0 += wn_ * (kk + (o0 - kk) / (1 + (o0 - kk) / rl) - o0)
                if o1 > kk:
                    o1 += wn_ * (kk + (o1 - kk) / (1 + (o1 - kk) / rl) - o1)
                if o2 > kk:
                    o2 += wn_ * (kk + (o2 - kk) / (1 + (o2 - kk) / rl) - o2)
    return o0, o1, o2


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _render_linear(rgb, P, tone, M, Minv, w, XYZ, wn, skin, D, mode, knee, skin_knee, neon_knee, neon_roll, out):
    H, W = rgb.shape[0], rgb.shape[1]
    for i in prange(H):
        for j in range(W):
            o0, o1, o2 = _pixel(rgb[i, j, 0], rgb[i, j, 1], rgb[i, j, 2], P, tone, M, Minv, w, XYZ, wn, skin, D, mode,
                                knee, skin_knee, neon_knee, neon_roll)
            out[i, j, 0] = o0 / D
            out[i, j, 1] = o1 / D
            out[i, j, 2] = o2 / D


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _encode(x, enc):
    n1 = enc.shape[0] - 1
    if x <= 0:
        return enc[0]
    u = math.sqrt(min(x, 1.0)) * n1
    i = int(u)
    if i >= n1:
        return enc[n1]
    f = u - i
    return enc[i] * (1 - f) + enc[i + 1] * f


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FM)
def _render_sdr(rgb, P, tone, M, Minv, w, XYZ, wn, skin, D, mode, knee, skin_knee, neon_knee, neon_roll, enc, dith,
                top, out):
    H, W = rgb.shape[0], rgb.shape[1]
    th, tw = dith.shape
    for i in prange(H):
        for j in range(W):
            o0, o1, o2 = _pixel(rgb[i, j, 0], rgb[i, j, 1], rgb[i, j, 2], P, tone, M, Minv, w, XYZ, wn, skin, D, mode,
                                knee, skin_knee, neon_knee, neon_roll)
            d = 0.5 + dith[i % th, j % tw]
            out[i, j, 0] = min(max(math.floor(_encode(o0 / D, enc) * top + d), 0.0), top)
            out[i, j, 1] = min(max(math.floor(_encode(o1 / D, enc) * top + d), 0.0), top)
            out[i, j, 2] = min(max(math.floor(_encode(o2 / D, enc) * top + d), 0.0), top)


def _args(rgb, primaries, params, src_peak):
    from .pipeline import OUTPUT_PRIMARIES

    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] != 3:
        raise OptionError(f"expected an (H, W, 3) image, got shape {a.shape}")
    if a.dtype != np.float32:
        a = a.astype(np.float32)
    P = float(src_peak)
    if not (np.isfinite(P) and P > 0):
        raise OptionError(f"source peak must be finite and positive, not {src_peak}")
    curve, cp = params.tone()
    D = float(params.target_headroom)
    Peff = max(P, D)
    tone = curve_lut(curve, cp, Peff, D, TONE_LUT_SIZE).astype(np.float64)
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
    return (a, Peff, tone, M, Minv, w, XYZ, wn, skin, D, _MODES[g.name], gp.get("knee", 0.8), gp.get("skin_knee", 0.8),
            gp.get("neon_knee", 1.0), gp.get("neon_roll", 0.08))


def render_linear_fast(rgb, primaries, params, src_peak) -> np.ndarray:
    """Compiled :func:`hdrkit.core.pipeline.render_linear`: display-linear BT.709 [0, 1] float32."""
    args = _args(rgb, primaries, params, src_peak)
    out = np.empty(args[0].shape, np.float32)
    _render_linear(*args, out)
    return out


def render_sdr_fast(rgb, primaries, params, src_peak, transfer: str = "srgb", bits: int = 8) -> np.ndarray:
    """Compiled render + transfer + dither + rounding: (H, W, 3) uint8 (bits <= 8) or uint16."""
    if transfer not in ("srgb", "bt1886"):
        raise OptionError(f"unknown output transfer {transfer!r}")
    if not 1 <= bits <= 16:
        raise OptionError(f"bits must be 1-16, not {bits}")
    args = _args(rgb, primaries, params, src_peak)
    out = np.empty(args[0].shape, np.uint8 if bits <= 8 else np.uint16)
    dith = np.ascontiguousarray(get_dither(params.dither).tile(), dtype=np.float64)
    _render_sdr(*args, encode_lut(transfer), dith, float(2**bits - 1), out)
    return out
