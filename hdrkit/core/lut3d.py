"""3D LUT interpolation: tetrahedral (and trilinear) lookup in an ``(N, N, N, 3)`` table.

A LUT is a float32 array ``(N, N, N, 3)`` indexed ``[r, g, b]``; entry ``(i, j, k)`` holds
the output for the input signal ``(i, j, k) / (N - 1)`` (:func:`grid_signal`). Between grid
points :func:`apply_reference` (numpy, float64), the compiled scalar :func:`tetra` and the
compiled row kernel :func:`tetra_row` interpolate tetrahedrally (the interpolation of
FFmpeg ``lut3d=interp=tetrahedral`` and of most graders). Baking LUTs from the colour core
and ``.cube`` files: :mod:`hdrkit.video.lut3d`.

References
----------
- J. Kasson, S. Nin, W. Plouffe, J. Hafner, "Performing color space conversions with
  three-dimensional linear interpolation", J. Electronic Imaging 4(3) (1995) 226-250
  (tetrahedral interpolation).
"""

from __future__ import annotations

import numpy as np

from ..errors import OptionError
from .jit import njit

__all__ = ["grid_signal", "apply_reference", "tetra", "tetra_row"]


def grid_signal(size: int) -> np.ndarray:
    """The input signal at every grid point, (N, N, N, 3) float64, ``[r, g, b]`` order."""
    v = np.linspace(0.0, 1.0, size)
    r, g, b = np.meshgrid(v, v, v, indexing="ij")
    return np.stack([r, g, b], axis=-1)


def apply_reference(lut: np.ndarray, rgb, method: str = "tetrahedral") -> np.ndarray:
    """Interpolate ``lut`` at signal ``rgb`` (..., 3) in [0, 1] (clamped); numpy, float64."""
    lut = np.asarray(lut, np.float64)
    n1 = lut.shape[0] - 1
    x = np.clip(np.asarray(rgb, np.float64), 0.0, 1.0) * n1
    i = np.minimum(np.floor(x).astype(int), n1 - 1)
    f = x - i
    ir, ig, ib = i[..., 0], i[..., 1], i[..., 2]
    fr, fg, fb = f[..., 0:1], f[..., 1:2], f[..., 2:3]

    def c(dr, dg, db):
        return lut[ir + dr, ig + dg, ib + db]

    if method == "trilinear":
        c00 = c(0, 0, 0) * (1 - fr) + c(1, 0, 0) * fr
        c01 = c(0, 0, 1) * (1 - fr) + c(1, 0, 1) * fr
        c10 = c(0, 1, 0) * (1 - fr) + c(1, 1, 0) * fr
        c11 = c(0, 1, 1) * (1 - fr) + c(1, 1, 1) * fr
        return (c00 * (1 - fg) + c10 * fg) * (1 - fb) + (c01 * (1 - fg) + c11 * fg) * fb
    if method != "tetrahedral":
        raise OptionError(f"unknown interpolation {method!r}")
    c000, c111 = c(0, 0, 0), c(1, 1, 1)
    cases = [
        ((fr > fg) & (fg > fb), lambda: (1 - fr) * c000 + (fr - fg) * c(1, 0, 0) + (fg - fb) * c(1, 1, 0) + fb * c111),
        ((fr > fg) & (fg <= fb) & (fr > fb),
         lambda: (1 - fr) * c000 + (fr - fb) * c(1, 0, 0) + (fb - fg) * c(1, 0, 1) + fg * c111),
        ((fr > fg) & (fr <= fb), lambda: (1 - fb) * c000 + (fb - fr) * c(0, 0, 1) + (fr - fg) * c(1, 0, 1) + fg * c111),
        ((fr <= fg) & (fb > fg), lambda: (1 - fb) * c000 + (fb - fg) * c(0, 0, 1) + (fg - fr) * c(0, 1, 1) + fr * c111),
        ((fr <= fg) & (fb <= fg) & (fb > fr),
         lambda: (1 - fg) * c000 + (fg - fb) * c(0, 1, 0) + (fb - fr) * c(0, 1, 1) + fr * c111),
        ((fr <= fg) & (fb <= fg) & (fb <= fr),
         lambda: (1 - fg) * c000 + (fg - fr) * c(0, 1, 0) + (fr - fb) * c(1, 1, 0) + fb * c111),
    ]
    out = np.zeros(x.shape)
    for mask, fn in cases:
        out = np.where(mask, fn(), out)
    return out


@njit(cache=True, inline="always", error_model="numpy")
def tetra(lut, r, g, b):
    """Compiled tetrahedral interpolation of ``lut`` at signal (r, g, b) in [0, 1] (same maths as
    :func:`apply_reference`)."""
    n1 = lut.shape[0] - 1
    x = r * n1
    y = g * n1
    z = b * n1
    i = min(int(x), n1 - 1)
    j = min(int(y), n1 - 1)
    k = min(int(z), n1 - 1)
    fr = x - i
    fg = y - j
    fb = z - k
    o0 = 0.0
    o1 = 0.0
    o2 = 0.0
    if fr > fg:
        if fg > fb:
            a, bb, c, d = 1 - fr, fr - fg, fg - fb, fb
            p1, p2 = lut[i + 1, j, k], lut[i + 1, j + 1, k]
        elif fr > fb:
            a, bb, c, d = 1 - fr, fr - fb, fb - fg, fg
            p1, p2 = lut[i + 1, j, k], lut[i + 1, j, k + 1]
        else:
            a, bb, c, d = 1 - fb, fb - fr, fr - fg, fg
            p1, p2 = lut[i, j, k + 1], lut[i + 1, j, k + 1]
    else:
        if fb > fg:
            a, bb, c, d = 1 - fb, fb - fg, fg - fr, fr
            p1, p2 = lut[i, j, k + 1], lut[i, j + 1, k + 1]
        elif fb > fr:
            a, bb, c, d = 1 - fg, fg - fb, fb - fr, fr
            p1, p2 = lut[i, j + 1, k], lut[i, j + 1, k + 1]
        else:
            a, bb, c, d = 1 - fg, fg - fr, fr - fb, fb
            p1, p2 = lut[i, j + 1, k], lut[i + 1, j + 1, k]
    p0 = lut[i, j, k]
    p3 = lut[i + 1, j + 1, k + 1]
    o0 = a * p0[0] + bb * p1[0] + c * p2[0] + d * p3[0]
    o1 = a * p0[1] + bb * p1[1] + c * p2[1] + d * p3[1]
    o2 = a * p0[2] + bb * p1[2] + c * p2[2] + d * p3[2]
    return o0, o1, o2



@njit(cache=True, fastmath=True, error_model="numpy", boundscheck=False)
def tetra_row(rr, gg, bb, W, flat, n, base, o1, o2, w0, w1, w2, w3, er, eg, eb):
    """Tetrahedral interpolation of a row of signal (float32 [0, 1]) in the flat LUT ``flat``
    (``[r, g, b, channel]`` order, size ``n``), branch-free: the tetrahedron is chosen by sorting
    the three fractions with integer masks. Same maths as :func:`apply_reference`."""
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
