"""3D LUTs baked from the colour core: HDR signal cube -> SDR signal, .cube files, a cache.

A LUT here is a float32 array ``(N, N, N, 3)`` indexed ``[r, g, b]``. Entry ``(i, j, k)``
holds the output for the input signal ``(i, j, k) / (N - 1)``:

1. input R'G'B' signal (PQ, HLG, ...; BT.2020 or the source primaries) ->
   :func:`hdrkit.core.signal.signal_to_linear` (the core's EOTF / inverse OETF + OOTF);
2. :func:`hdrkit.core.pipeline.render_linear` with the given
   :class:`~hdrkit.core.pipeline.RenderParams` and source peak (tone map + gamut map to
   BT.709, display light [0, 1]);
3. :func:`hdrkit.core.pipeline.encode_transfer` ('bt1886' for video).

No colour maths lives here: the LUT is the core, sampled; its interpolation is
:mod:`hdrkit.core.lut3d`.

``.cube`` files follow the Adobe / Resolve format: ``LUT_3D_SIZE N``, then ``N^3`` lines
``R G B`` with red changing fastest (:func:`write_cube`, :func:`read_cube`).

References
----------
- Adobe, "Cube LUT Specification" v1.0 (2013).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..core.lut3d import grid_signal
from ..core.pipeline import RenderParams, encode_transfer, render_linear
from ..core.signal import signal_to_linear
from ..core.transfer import SDR_WHITE_NITS, eotf_inverse_st2084, eotf_st2084
from ..errors import OptionError
from ..io.atomic import atomic_write_bytes

__all__ = ["bake_lut", "write_cube", "read_cube", "LutCache", "PEAK_STEP_PQ"]


@lru_cache(maxsize=8)
def _grid_linear(transfer: str, size: int) -> np.ndarray:
    """:func:`grid_signal` decoded to hdrkit linear light, (N, N*N, 3) float32, read-only (the same
    for every LUT of a transfer and size).

    N rows of N*N points: the render kernels' cost per row (scratch, loop set-up, the gamut map's
    packing) then falls on 33 rows instead of 1089, and each point's value is the same, since
    every point is rendered on its own (33^3 bake, two cores: 2.16 -> 1.77 ms, CPU 3.5 -> 2.8 ms)."""
    lin = signal_to_linear(grid_signal(size), transfer).astype(np.float32).reshape(size, size * size, 3)
    lin.setflags(write=False)
    return lin


def bake_lut(transfer: str, params: RenderParams, src_peak: float, size: int = 65, *,
             primaries: str = "bt2020", out_transfer: str = "bt1886", anchor_peak: float | None = None) -> np.ndarray:
    """Sample the core on an ``size^3`` grid of ``transfer`` signal in ``primaries``.

    ``src_peak``, ``anchor_peak``: linear relative (1.0 = 203 cd/m^2), as
    :func:`hdrkit.core.pipeline.render_linear` takes them. Returns float32 (N, N, N, 3),
    ``out_transfer``-encoded BT.709 R'G'B' in [0, 1].
    """
    if not 2 <= size <= 129:
        raise OptionError(f"LUT size must be within 2-129, not {size}")
    # a writable copy: a read-only array would make numba compile another specialisation of the core kernel
    disp = render_linear(_grid_linear(transfer, size).copy(), primaries, params, float(src_peak), anchor_peak)
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
    a peak change of 1/4096 PQ alone moves those points by 1.4 codes. With ``anchor_peak``
    (the proxy's static peak) only the highlights above reference white differ between the
    LUTs; the shoulder's corner at the peak makes the blend's worst grid points larger when
    the frame peak is far below the anchor (anchor 1000 cd/m^2: max 1.4 codes; anchor 4000,
    frame peak 350 or 1400: max 6-7 codes at a handful of entries, 99.9 % under 0.4).
    """

    def __init__(self, transfer: str, params: RenderParams, size: int = 65, primaries: str = "bt2020",
                 keep: int = 16, step: float = PEAK_STEP_PQ, anchor_peak: float | None = None):
        self.transfer, self.params, self.size, self.primaries = transfer, params, size, primaries
        self.anchor_peak = anchor_peak  # the static peak fixing reference white and below (None: each LUT's own)
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
        lut = bake_lut(self.transfer, self.params, max(peak, 1e-6), self.size, primaries=self.primaries,
                       anchor_peak=self.anchor_peak)
        self.bakes += 1
        self._baked[k] = lut
        while len(self._baked) > self.keep:
            self._baked.popitem(last=False)
        return lut

    @staticmethod
    def key(src_peak: float) -> int:
        """:meth:`get` returns the same LUT for consecutive peaks of one key (1/4096 PQ steps)."""
        return round(float(eotf_inverse_st2084(max(src_peak, 0.0) * SDR_WHITE_NITS)) * 4096)

    def get(self, src_peak: float) -> np.ndarray:
        """The LUT for ``src_peak`` (linear relative, 1.0 = 203 cd/m^2)."""
        pq = float(eotf_inverse_st2084(max(src_peak, 0.0) * SDR_WHITE_NITS))
        key = self.key(src_peak)
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
