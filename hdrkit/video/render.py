"""Per-frame SDR rendering of video: HDR planes -> 8-bit BT.709 Y'CbCr 4:2:0, and the frame
measurement. Buffers, grids and constants here; the compiled kernels are
:mod:`hdrkit.core.yuv420` (their quantisation and chroma siting are described there).

Two paths give the same picture, both from :mod:`hdrkit.core`:

``lut`` (default, fast)
    One fused compiled pass over the decoded planes (:func:`render_lut_yuv420`): chroma
    upsampling and Y'CbCr -> R'G'B' (:mod:`hdrkit.core.signal`), a tetrahedral lookup in a
    3D LUT baked from :func:`hdrkit.core.pipeline.render_linear` +
    :func:`~hdrkit.core.pipeline.encode_transfer` (:mod:`hdrkit.video.lut3d`), then BT.709
    Y'CbCr and quantisation; the frame measurement for peak detection (below) is taken in
    the same pass.
``exact``
    :func:`hdrkit.core.pipeline.render_linear` on the decoded linear frame, then
    :func:`yuv420_from_display`: the transfer encoding (a table sampled from
    :func:`~hdrkit.core.pipeline.encode_transfer`) and the same quantisation.

Odd picture sizes lose their last row / column (4:2:0 needs even sizes).

Measurement (for :mod:`hdrkit.video.analysis`): on the pixels of a regular grid (every
:func:`measure_step`-th row and column, at most about 2^18 pixels), ``v = PQ(max(R, G, B)
in cd/m^2)`` (ST 2084 inverse EOTF) goes into a histogram of :data:`HIST_BINS` bins over
[0, 1]; the sum and count of ``v >= BLACK_CUTOFF_PQ`` and the count of sampled pixels come
with it. For PQ sources ``v`` is simply the largest of the three signal values.

References
----------
- SMPTE ST 2084 (measurement domain); libplacebo ``pl_peak_detect_params`` (black cutoff).
"""

from __future__ import annotations

import numpy as np

from ..core.signal import signal_consts
from ..core.yuv420 import (LutConsts, MeasureConsts, display_to_yuv420_kernel, encode_table, measure_kernel,
                           output_consts, pq_table, render_lut_kernel)
from ..errors import OptionError
from .tags import ColourInfo

__all__ = ["HIST_BINS", "BLACK_CUTOFF_PQ", "MEASURE_SAMPLES", "Measurement", "measure_step", "render_lut_yuv420",
           "even_size", "yuv420_buffer",
           "yuv420_from_display", "measure_planes", "sample_linear"]

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


def _measure_consts(colour: ColourInfo, H: int, W: int) -> MeasureConsts:
    return MeasureConsts(colour.transfer == "pq", pq_table(), BLACK_CUTOFF_PQ, measure_step(H, W))


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
    render_lut_kernel(y, u, v, signal_consts(colour), LutConsts(cube.reshape(-1), cube.shape[0]),
                      output_consts(dither, planes[0].shape[1]), _measure_consts(colour, H, W), bool(measure),
                      *planes, *bufs)
    return planes, (_measurement(*bufs) if measure else None)


def yuv420_from_display(display_linear: np.ndarray, dither: str = "blue64", transfer: str = "bt1886",
                        out=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Display-linear BT.709 [0, 1] (H, W, 3) -> ``transfer``-encoded 8-bit limited Y'CbCr 4:2:0 planes."""
    lin = np.ascontiguousarray(display_linear, dtype=np.float32)
    planes = out if out is not None else _even_planes(lin.shape[0], lin.shape[1])
    display_to_yuv420_kernel(lin, encode_table(transfer), output_consts(dither, planes[0].shape[1]), *planes)
    return planes


def measure_planes(y, u, v, colour: ColourInfo) -> Measurement:
    """The measurement alone (no rendering); the same numbers as :func:`render_lut_yuv420`'s."""
    H, W = y.shape
    bufs = _measure_buffers()
    mc = _measure_consts(colour, H, W)
    measure_kernel(y, u, v, signal_consts(colour), mc, *bufs, np.empty((0, 0, 3), np.float32), mc.mstep, False)
    return _measurement(*bufs)


def sample_linear(y, u, v, colour: ColourInfo, step: int = 2, out: np.ndarray | None = None,
                  chroma: str = "bilinear") -> tuple[np.ndarray, Measurement]:
    """Linear light at every ``step``-th row and column (float32, hdrkit units, source primaries)
    and the measurement, in one pass. ``step`` is 1 (full frame) or a power of two. ``out``: a
    float32 array of the sampled shape to write into (a clip reuses one: no fresh pages per frame).
    ``chroma``: how the sampled frame gets its chroma, ``"bilinear"`` (as rendered) or ``"site"``
    (each pixel its own chroma site, :func:`hdrkit.core.signal.chroma_row_site`); the
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
    measure_kernel(y, u, v, signal_consts(colour), _measure_consts(colour, H, W), *bufs, lin, step, chroma == "site")
    return lin, _measurement(*bufs)
