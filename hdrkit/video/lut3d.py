"""3D LUTs baked from the colour core: HDR signal cube -> SDR signal, .cube files, interpolation.

A LUT here is a float32 array ``(N, N, N, 3)`` indexed ``[r, g, b]``. Entry ``(i, j, k)``
holds the output for the input signal ``(i, j, k) / (N - 1)``:

1. input R'G'B' signal (PQ, HLG, ...; BT.2020 or the source primaries) ->
   :func:`hdrkit.video.decode.signal_to_linear` (the core's EOTF / inverse OETF + OOTF);
2. :func:`hdrkit.core.pipeline.render_linear` with the given
   :class:`~hdrkit.core.pipeline.RenderParams` and source peak (tone map + gamut map to
   BT.709, display light [0, 1]);
3. :func:`hdrkit.core.pipeline.encode_transfer` ('bt1886' for video).

No colour maths lives here: the LUT is the core, sampled. Between grid points
:func:`apply_reference` (numpy) and the compiled :func:`tetra` interpolate tetrahedrally
(the interpolation of FFmpeg ``lut3d=interp=tetrahedral`` and of most graders), or
trilinearly.

``.cube`` files follow the Adobe / Resolve format: ``LUT_3D_SIZE N``, then ``N^3`` lines
``R G B`` with red changing fastest (:func:`write_cube`, :func:`read_cube`).

References
----------
- Adobe, "Cube LUT Specification" v1.0 (2013).
- J. Kasson, S. Nin, W. Plouffe, J. Hafner, "Performing color space conversions with
  three-dimensional linear interpolation", J. Electronic Imaging 4(3) (1995) 226-250
  (tetrahedral interpolation).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np
from numba import njit

from ..core.pipeline import RenderParams, encode_transfer, render_linear
from ..core.transfer import SDR_WHITE_NITS, eotf_inverse_st2084, eotf_st2084
from ..errors import OptionError
from ..io.atomic import atomic_write_bytes
from .decode import signal_to_linear

__all__ = ["bake_lut", "grid_signal", "write_cube", "read_cube", "apply_reference", "tetra", "LutCache",
           "PEAK_STEP_PQ"]


def grid_signal(size: int) -> np.ndarray:
    """The input signal at every grid point, (N, N, N, 3) float64, ``[r, g, b]`` order."""
    v = np.linspace(0.0, 1.0, size)
    r, g, b = np.meshgrid(v, v, v, indexing="ij")
    return np.stack([r, g, b], axis=-1)


@lru_cache(maxsize=8)
def _grid_linear(transfer: str, size: int) -> np.ndarray:
    """:func:`grid_signal` decoded to hdrkit linear light, (N*N, N, 3) float32, read-only (the same
    for every LUT of a transfer and size)."""
    lin = signal_to_linear(grid_signal(size), transfer).astype(np.float32).reshape(size * size, size, 3)
    lin.setflags(write=False)
    return lin


def bake_lut(transfer: str, params: RenderParams, src_peak: float, size: int = 65, *, src_avg: float | None = None,
             primaries: str = "bt2020", out_transfer: str = "bt1886") -> np.ndarray:
    """Sample the core on an ``size^3`` grid of ``transfer`` signal in ``primaries``.

    ``src_peak`` / ``src_avg``: linear relative (1.0 = 203 cd/m^2), as
    :func:`hdrkit.core.pipeline.render_linear` takes them. Returns float32 (N, N, N, 3),
    ``out_transfer``-encoded BT.709 R'G'B' in [0, 1].
    """
    if not 2 <= size <= 129:
        raise OptionError(f"LUT size must be within 2-129, not {size}")
    # a writable copy: a read-only array would make numba compile another specialisation of the core kernel
    disp = render_linear(_grid_linear(transfer, size).copy(), primaries, params, float(src_peak), src_avg)
    out = encode_transfer(disp, out_transfer).reshape(size, size, size, 3)
    return np.ascontiguousarray(out, dtype=np.float32)


def write_cube(path, lut: np.ndarray, title: str = "hdrkit", comments: tuple[str, ...] = ()) -> None:
    """Write ``lut`` (N, N, N, 3) ``[r, g, b]`` as an Adobe .cube file, atomically."""
    lut = np.asarray(lut, dtype=np.float64)
    n = lut.shape[0]
    if lut.shape != (n, n, n, 3):
        raise OptionError(f"a 3D LUT must be (N, N, N, 3), not {lut.shape}")
    rows = lut.transpose(2, 1, 0, 3).reshape(-1, 3)  # red fastest
    head = [f"# {c}" for c in comments] + [f'TITLE "{title}"', f"LUT_3D_SIZE {n}", "DOMAIN_MIN 0.0 0.0 0.0",
                                           "DOMAIN_MAX 1.0 1.0 1.0"]
    body = "\n".join(f"{r:.7f} {g:.7f} {b:.7f}" for r, g, b in rows)
    atomic_write_bytes(path, ("\n".join(head) + "\n" + body + "\n").encode("ascii"))


def read_cube(path) -> np.ndarray:
    """Read an Adobe .cube 3D LUT (domain [0, 1]) into (N, N, N, 3) float32, ``[r, g, b]``."""
    n = None
    vals = []
    for line in Path(path).read_text().splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        key = s.split()[0].upper()
        if key == "LUT_3D_SIZE":
            n = int(s.split()[1])
        elif key in ("TITLE", "DOMAIN_MIN", "DOMAIN_MAX", "LUT_1D_SIZE", "LUT_3D_INPUT_RANGE"):
            if key == "LUT_1D_SIZE":
                raise OptionError(f"{path}: 1D LUTs are not supported")
            continue
        else:
            vals.append([float(x) for x in s.split()[:3]])
    if n is None or len(vals) != n**3:
        raise OptionError(f"{path}: not a complete 3D .cube LUT")
    return np.asarray(vals, np.float32).reshape(n, n, n, 3).transpose(2, 1, 0, 3).copy()


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


#: Source-peak grid of :class:`LutCache`, in PQ signal units.
PEAK_STEP_PQ = 1.0 / 1024.0


class LutCache:
    """LUTs for a changing (smoothed) source peak, without baking one per frame.

    LUTs are baked at source peaks on a grid of :data:`PEAK_STEP_PQ` in PQ (about 0.9 %
    apart in cd/m^2 near 600 cd/m^2) and kept (least recently used, ``keep``); the LUT for
    a peak in between is the linear blend of its two neighbours (an array operation of well
    under a millisecond at 33^3), redone only when the peak moves by more than ``1/4096``
    PQ, so the LUT follows the smoothed peak continuously. The blend differs from a LUT
    baked at the exact peak by at most about 1.7 8-bit codes (99.9 % of entries: < 0.01),
    at the few grid points whose input is near the peak (measured 250-4000 cd/m^2, 33^3);
    a peak change of 1/4096 PQ alone moves those points by 1.4 codes.
    """

    def __init__(self, transfer: str, params: RenderParams, size: int = 65, primaries: str = "bt2020",
                 keep: int = 16, step: float = PEAK_STEP_PQ):
        self.transfer, self.params, self.size, self.primaries = transfer, params, size, primaries
        self.keep, self.step = keep, step
        self._baked: OrderedDict[int, np.ndarray] = OrderedDict()
        self._last_key = None
        self._last = None
        self.bakes = 0

    def _grid(self, k: int) -> np.ndarray:
        if k in self._baked:
            self._baked.move_to_end(k)
            return self._baked[k]
        peak = float(eotf_st2084(min(k * self.step, 1.0))) / SDR_WHITE_NITS
        lut = bake_lut(self.transfer, self.params, max(peak, 1e-6), self.size, primaries=self.primaries)
        self.bakes += 1
        self._baked[k] = lut
        while len(self._baked) > self.keep:
            self._baked.popitem(last=False)
        return lut

    def get(self, src_peak: float) -> np.ndarray:
        """The LUT for ``src_peak`` (linear relative, 1.0 = 203 cd/m^2)."""
        pq = float(eotf_inverse_st2084(max(src_peak, 0.0) * SDR_WHITE_NITS))
        key = round(pq * 4096)
        if key == self._last_key:
            return self._last
        u = pq / self.step
        k = min(int(math.floor(u)), int(round(1.0 / self.step)) - 1)
        t = u - k
        lo = self._grid(k)
        if t <= 1e-9:
            lut = lo
        else:
            hi = self._grid(k + 1)
            lut = (lo + (hi - lo) * np.float32(t)).astype(np.float32)
        self._last_key, self._last = key, lut
        return lut
