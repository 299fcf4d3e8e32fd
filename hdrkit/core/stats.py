"""Per-frame light statistics of HDR pictures: MaxRGB peak and mean, percentiles, HDR10+ slots.

Input is linear display light in cd/m^2 ("nits"), float (H, W, 3), BT.2020 RGB, channels
last. Everything is measured on the *active* picture only (letterbox / pillarbox bars
excluded, see :func:`detect_active_area`), as CTA-861.3 light levels are (Tektronix and
Telestream ``llan`` both exclude black bars).

Definitions
-----------
- ``maxRGB = max(R, G, B)`` per pixel of linear light with negative components clamped
  to 0 (CTA-861.3 / HEVC D.3.35 define MaxCLL and MaxFALL on it; ST 2094-40 defines
  MaxScl, average_maxrgb and the percentile distribution on the same quantity).
- ``max_nits`` = max of maxRGB; ``mean_nits`` = mean of maxRGB in **linear light** (the
  frame-average light level; averaging PQ code values underestimates it by ~30 %).
- ``maxscl`` = per-channel maxima (R, G, B) in nits (ST 2094-40 ``maxscl[0..2]``).
- ``apl`` = average picture level, the mean of PQ-encoded luminance
  ``PQ(0.2627 R + 0.6780 G + 0.0593 B)`` in [0, 1] (the quantity libplacebo's peak
  detection averages, BT.2100 PQ inverse EOTF).
- percentiles use numpy's default ("linear") definition on the sorted maxRGB values:
  ``v(r)`` with ``r = p/100 (N - 1)`` interpolated between neighbours.

HDR10+ distribution (:data:`HDR10PLUS_DISTRIBUTION_INDEX`, values in 0.1 cd/m^2 as the
HDR10+ JSON ``DistributionValues`` and the ST 2094-40 bitstream want them): slot 1 = P1,
25/50/75/90/95 = those percentiles, slot "99" = **P99.98** (the index list is the fixed
``[1,5,10,25,50,75,90,95,99]`` that hdr10plus_tool validates, but the last slot tracks
the near-peak, as in awsmfunc ``Hdr10PlusHistogram.to_hdr10plus_distribution``). The two
vendor-defined slots follow awsmfunc (``src/awsmfunc/types/misc.py``): slot "5" = P99.99
(libplacebo notes it "in practice appears to track the brightest pixel") and slot "10"
= the percentage (0-100, integer) of active pixels whose maxRGB is <= 100 cd/m^2.

Speed: :func:`frame_stats` makes one compiled pass (numba, rows split across cores) that
bins maxRGB and luminance into fine log2-spaced histograms (256 sub-bins per octave,
taken straight from the float32 exponent and mantissa bits), tracking each bin's count,
min and max; percentiles are then read from the histogram and interpolated between the
bin's own min and max, so they are exact whenever a bin holds one value and within a
fraction of a bin (<0.4 %) otherwise. :func:`frame_stats_reference` is the plain numpy
version (full sort) that the tests compare against.

References
----------
- CTA-861.3-A (2015) §6.9 / ITU-T H.265 (2019) D.3.35: MaxCLL, MaxFALL on max(R, G, B).
- SMPTE ST 2094-40:2016 §5.3 (maxscl, average_maxrgb, distribution_maxrgb).
- awsmfunc ``src/awsmfunc/types/misc.py`` (HDR10+ slots 5 and 10).
- libplacebo ``src/shaders/colorspace.c`` (PQ-domain average, black cutoff).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import OptionError
from .jit import njit
from .primaries import luminance_weights
from .st2094 import HDR10PLUS_DISTRIBUTION_INDEX, nits_to_hdr10plus_units
from .transfer import eotf_inverse_st2084

__all__ = [
    "FrameStats",
    "frame_stats",
    "frame_stats_reference",
    "detect_active_area",
    "merge_active_areas",
    "HDR10PLUS_DISTRIBUTION_INDEX",
    "GENERAL_PERCENTILES",
    "HISTOGRAM_BINS",
    "BLACK_THRESHOLD_NITS",
    "nits_to_hdr10plus_units",
    "hdr10plus_distribution_from",
]

#: Percentiles of maxRGB reported in :attr:`FrameStats.percentiles` (percent).
GENERAL_PERCENTILES = (1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 98.0, 99.0, 99.5, 99.9, 99.98, 99.99, 99.995)
#: Number of equal-width PQ bins of the coarse histogram summary.
HISTOGRAM_BINS = 16
#: A row or column whose brightest maxRGB is at or below this (cd/m^2) is a black bar.
#: 0.05 cd/m^2 is PQ 0.06 (about 50 10-bit codes above black): far above coding noise in a
#: black bar, and a picture row that dark contributes nothing to light levels anyway.
BLACK_THRESHOLD_NITS = 0.05

# Fine histogram: the float32 bit pattern of a non-negative value, shifted right by
# (23 - _SUB), is its log2 octave followed by the top _SUB mantissa bits: 2^_SUB linear
# sub-bins per octave, over [2^_EMIN, 2^_EMAX) cd/m^2. Bin 0 also takes everything below
# (black), the last bin everything above.
_SUB = 8
_NSUB = 1 << _SUB
_EMIN, _EMAX = -14, 15
_BIAS = (127 + _EMIN) << _SUB
_NBINS = (_EMAX - _EMIN) << _SUB
_CLAMP_NITS = 1.0e6  # channel values are clamped to [0, 1e6] cd/m^2 (NaN -> 0)
_LE_NITS = 100.0  # HDR10+ slot "10": share of pixels at or below this
_SDR_NITS = 203.0
_PARALLEL_MIN_PIXELS = 1 << 16

@dataclass(frozen=True)
class FrameStats:
    """Light statistics of one frame's active area (all light values in cd/m^2).

    ``active`` is the crop ``(top, bottom, left, right)``: the active picture is
    ``rgb[top:bottom, left:right]`` (half-open). ``percentiles`` holds
    ``(percent, nits)`` pairs for :data:`GENERAL_PERCENTILES`; read them with
    :meth:`percentile`. ``hdr10plus_distribution`` holds the nine integer
    ``DistributionValues`` for :data:`HDR10PLUS_DISTRIBUTION_INDEX` (0.1 cd/m^2 units,
    except slot "10": a percentage). ``histogram`` gives the share of active pixels in
    each of :data:`HISTOGRAM_BINS` equal PQ intervals of maxRGB over [0, 10000] cd/m^2.
    """

    width: int
    height: int
    active: tuple[int, int, int, int]
    pixels: int
    max_nits: float
    mean_nits: float
    maxscl: tuple[float, float, float]
    mean_luma_nits: float
    apl: float
    percentiles: tuple[tuple[float, float], ...]
    hdr10plus_distribution: tuple[int, ...]
    histogram: tuple[float, ...]
    frac_le_100: float = 0.0
    frac_above_sdr: float = 0.0
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def percentile(self, p: float) -> float:
        """maxRGB (cd/m^2) at percentile ``p`` (one of :data:`GENERAL_PERCENTILES`)."""
        for q, v in self.percentiles:
            if abs(q - p) < 1e-9:
                return v
        raise OptionError(f"percentile {p} not measured; have {', '.join(f'{q:g}' for q, _ in self.percentiles)}")

    def to_dict(self) -> dict:
        """Plain JSON-able dict (tuples become lists)."""
        d = asdict(self)
        d["percentiles"] = [list(x) for x in self.percentiles]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "FrameStats":
        d = dict(d)
        d["active"] = tuple(d["active"])
        d["maxscl"] = tuple(d["maxscl"])
        d["percentiles"] = tuple(tuple(x) for x in d["percentiles"])
        d["hdr10plus_distribution"] = tuple(d["hdr10plus_distribution"])
        d["histogram"] = tuple(d["histogram"])
        return cls(**d)


# ----------------------------------------------------------------- unit helpers
def hdr10plus_distribution_from(percentile_fn, frac_le_100: float) -> tuple[int, ...]:
    """The nine HDR10+ ``DistributionValues`` from a percentile function (percent -> nits).

    Slots: 1 -> P1, 5 -> P99.99, 10 -> percentage of pixels <= 100 cd/m^2, 25..95 ->
    those percentiles, 99 -> P99.98 (see the module docstring).
    """
    u = nits_to_hdr10plus_units
    return (
        u(percentile_fn(1.0)),
        u(percentile_fn(99.99)),
        int(min(100, max(0, math.floor(100.0 * frac_le_100 + 0.5)))),
        u(percentile_fn(25.0)),
        u(percentile_fn(50.0)),
        u(percentile_fn(75.0)),
        u(percentile_fn(90.0)),
        u(percentile_fn(95.0)),
        u(percentile_fn(99.98)),
    )


# ------------------------------------------------------------------ threading
_POOL = None


def _pool():
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, 8)), thread_name_prefix="hdrkit-stats")
    return _POOL


def _split_rows(t: int, b: int, npix: int) -> list[tuple[int, int]]:
    n = 1 if npix < _PARALLEL_MIN_PIXELS else min(max(1, min(os.cpu_count() or 1, 8)), b - t)
    return [(t + (b - t) * j // n, t + (b - t) * (j + 1) // n) for j in range(n)]


def _run(fn, jobs):
    """Run ``fn(*job)`` for each job: the compiled kernels release the GIL, so a thread per
    row band uses every core (numba ``prange`` was several times slower on these loops)."""
    if len(jobs) == 1:
        fn(*jobs[0])
        return
    for f in [_pool().submit(fn, *j) for j in jobs]:
        f.result()


# ------------------------------------------------------------------ active area
@njit(cache=True, nogil=True)
def _row_col_max_kernel(a, W, C, y0, y1, rows, cols):
    """Brightest component of each row and column of rows ``y0:y1`` (NaN counts as 0)."""
    zero = np.float32(0.0)
    m = np.empty(W, np.float32)
    mbits = m.view(np.int32)  # m >= 0: its bits order as the values do, an integer max vectorises
    rbits = np.empty(1, np.int32)
    rval = rbits.view(np.float32)
    for y in range(y0, y1):
        base = y * W * C
        if C == 3:  # RGB: selects instead of branches, so LLVM vectorises the loop
            for x in range(W):
                p = base + 3 * x
                r = a[p]
                g = a[p + 1]
                b = a[p + 2]
                v = r if r > zero else zero  # NaN compares False
                v = g if g > v else v
                m[x] = b if b > v else v
        else:
            for x in range(W):
                v = zero
                for k in range(C):
                    t = a[base + x * C + k]
                    if t > v:
                        v = t
                m[x] = v
        rb = np.int32(0)
        for x in range(W):
            rb = max(rb, mbits[x])
            cols[x] = m[x] if m[x] > cols[x] else cols[x]
        rbits[0] = rb
        rows[y] = rval[0]


def _row_col_max(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w, c = a.shape
    flat = np.ascontiguousarray(a, dtype=np.float32).reshape(-1)
    bands = _split_rows(0, h, h * w)
    rows = np.zeros(h, np.float32)
    cols = np.zeros((len(bands), w), np.float32)
    _run(_row_col_max_kernel, [(flat, w, c, y0, y1, rows, cols[j]) for j, (y0, y1) in enumerate(bands)])
    return rows, cols.max(axis=0)


def detect_active_area(img, threshold_nits: float = BLACK_THRESHOLD_NITS) -> tuple[int, int, int, int]:
    """Letterbox / pillarbox detection: the crop ``(top, bottom, left, right)`` of the picture.

    ``img`` is linear light in cd/m^2, (H, W, 3) RGB or (H, W) luminance. Rows (columns)
    are bars while, walking in from each edge, their brightest value stays at or below
    ``threshold_nits``; the picture is ``img[top:bottom, left:right]`` (half-open). A
    frame that is black everywhere returns the full frame. One frame of a dark scene
    can look letterboxed: for a clip, combine several frames with
    :func:`merge_active_areas`.
    """
    a = np.asarray(img)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[0] == 0 or a.shape[1] == 0:
        raise OptionError(f"expected an (H, W) or (H, W, C) image, got shape {np.shape(img)}")
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float32)
    rows, cols = _row_col_max(a)
    h, w = a.shape[:2]
    r = np.flatnonzero(rows > threshold_nits)
    c = np.flatnonzero(cols > threshold_nits)
    if r.size == 0 or c.size == 0:
        return 0, h, 0, w
    return int(r[0]), int(r[-1]) + 1, int(c[0]), int(c[-1]) + 1


def merge_active_areas(areas) -> tuple[int, int, int, int]:
    """Smallest crop that contains every given crop (the union), e.g. over a clip's frames."""
    areas = list(areas)
    if not areas:
        raise OptionError("no active areas to merge")
    return (min(a[0] for a in areas), max(a[1] for a in areas), min(a[2] for a in areas), max(a[3] for a in areas))


def _check_active(active, h: int, w: int) -> tuple[int, int, int, int]:
    try:
        t, b, l, r = (int(v) for v in active)
    except (TypeError, ValueError):
        raise OptionError(f"active area must be (top, bottom, left, right), not {active!r}") from None
    if not (0 <= t < b <= h and 0 <= l < r <= w):
        raise OptionError(f"active area {active!r} is empty or outside the {w}x{h} frame")
    return t, b, l, r


# --------------------------------------------------------------- fast kernel
@njit(cache=True, nogil=True)
def _stats_kernel(a, W, y0, y1, l, r, wr, wg, wb, pq_lut, cnt, lo, hi, acc):
    """One band of rows of the active area: histogram of maxRGB (count, min, max per bin),
    PQ-of-luminance sum via a per-bin table, channel maxima and linear sums."""
    w = r - l
    mrow = np.empty(w, np.float32)
    lrow = np.empty(w, np.float32)
    mbits = mrow.view(np.int32)
    lbits = lrow.view(np.int32)
    zero = np.float32(0.0)
    cl = np.float32(_CLAMP_NITS)
    le = np.float32(_LE_NITS)
    sdr = np.float32(_SDR_NITS)
    mr = zero
    mg = zero
    mb = zero
    sm = 0.0
    sy = 0.0
    apl = 0.0
    nle = 0
    nsdr = 0
    for y in range(y0, y1):
        base = (y * W + l) * 3
        rs = np.float32(0.0)
        ys = np.float32(0.0)
        for i in range(w):
            R = a[base + 3 * i]
            G = a[base + 3 * i + 1]
            B = a[base + 3 * i + 2]
            R = min(R, cl) if R > zero else zero  # NaN -> 0
            G = min(G, cl) if G > zero else zero
            B = min(B, cl) if B > zero else zero
            mr = max(mr, R)
            mg = max(mg, G)
            mb = max(mb, B)
            m = max(R, max(G, B))
            mrow[i] = m
            rs += m
            lum = wr * R + wg * G + wb * B
            lrow[i] = lum
            ys += lum
        sm += rs
        sy += ys
        ap = 0.0
        for i in range(w):
            k = min(max((mbits[i] >> (23 - _SUB)) - _BIAS, 0), _NBINS - 1)
            m = mrow[i]
            cnt[k] += 1
            if m < lo[k]:
                lo[k] = m
            if m > hi[k]:
                hi[k] = m
            if m <= le:
                nle += 1
            if m > sdr:
                nsdr += 1
            k2 = min(max((lbits[i] >> (23 - _SUB)) - _BIAS, 0), _NBINS - 1)
            ap += pq_lut[k2]
        apl += ap
    acc[0] = mr
    acc[1] = mg
    acc[2] = mb
    acc[3] = sm
    acc[4] = sy
    acc[5] = nle
    acc[6] = nsdr
    acc[7] = apl


def _bin_edges() -> np.ndarray:
    """Lower edges (cd/m^2) of the fine histogram bins (bin 0 starts at 0), plus the top."""
    k = np.arange(_NBINS + 1)
    e = 2.0 ** (_EMIN + k // _NSUB) * (1.0 + (k % _NSUB) / _NSUB)
    e[0] = 0.0
    return e


_EDGES = _bin_edges()
#: PQ (BT.2100) of each luminance bin's centre; bin 0 (black) gets PQ(0).
_PQ_LUT = np.asarray(eotf_inverse_st2084(0.5 * (_EDGES[:-1] + _EDGES[1:])), dtype=np.float64)
_PQ_LUT[0] = float(eotf_inverse_st2084(0.0))


def _hist_percentiles(cnt, bmin, bmax, ps) -> np.ndarray:
    """numpy-'linear' percentiles from a histogram holding each bin's count, min and max.

    The k-th smallest value (0-based) inside a bin that holds sorted ranks s..s+c-1 is
    estimated as ``min + (max - min) (k - s) / (c - 1)``: exact at every bin's ends, so
    exact for the extremes and for bins holding a single value.
    """
    n = int(cnt.sum())
    nz = np.flatnonzero(cnt)
    c = cnt[nz]
    lo = bmin[nz].astype(np.float64)
    hi = bmax[nz].astype(np.float64)
    start = np.concatenate([[0], np.cumsum(c)[:-1]])

    def value_at(k):
        i = np.searchsorted(start, k, side="right") - 1
        cc = c[i]
        frac = np.where(cc > 1, (k - start[i]) / np.maximum(cc - 1, 1), 0.0)
        return lo[i] + (hi[i] - lo[i]) * frac

    r = np.asarray(ps, dtype=np.float64) / 100.0 * (n - 1)
    k0 = np.floor(r).astype(np.int64)
    k1 = np.minimum(k0 + 1, n - 1)
    f = r - k0
    return value_at(k0) * (1 - f) + value_at(k1) * f


def _coarse_hist_from_fine(cnt, rep_nits) -> np.ndarray:
    pq = np.asarray(eotf_inverse_st2084(np.clip(rep_nits, 0, 10000.0)), dtype=np.float64)
    idx = np.minimum((pq * HISTOGRAM_BINS).astype(np.int64), HISTOGRAM_BINS - 1)
    out = np.bincount(idx, weights=cnt.astype(np.float64), minlength=HISTOGRAM_BINS)
    return out / max(cnt.sum(), 1)


def _as_image(rgb_nits) -> np.ndarray:
    a = np.asarray(rgb_nits)
    if a.ndim != 3 or a.shape[2] != 3:
        raise OptionError(f"expected linear RGB in cd/m^2 of shape (H, W, 3), got {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise OptionError("empty frame")
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float32)
    return a


def frame_stats(rgb_nits, active=None) -> FrameStats:
    """Measure one frame: ``rgb_nits`` float (H, W, 3) linear BT.2020 light in cd/m^2.

    ``active``: the crop ``(top, bottom, left, right)`` to measure; ``None`` detects it on
    this frame with :func:`detect_active_area` (for a clip, better detect once over
    several frames and pass the merged crop). Fast path (compiled histogram kernel);
    see :func:`frame_stats_reference` for the exact numpy definition.
    """
    a = _as_image(rgb_nits)
    h, w = a.shape[:2]
    act = detect_active_area(a) if active is None else _check_active(active, h, w)
    t, b, l, r = act
    flat = np.ascontiguousarray(a, dtype=np.float32).reshape(-1)
    wr, wg, wb = (np.float32(v) for v in luminance_weights("bt2020"))
    bands = _split_rows(t, b, (b - t) * (r - l))
    nb = len(bands)
    cnt3 = np.zeros((nb, _NBINS), np.int64)
    lo3 = np.full((nb, _NBINS), np.inf, np.float32)
    hi3 = np.zeros((nb, _NBINS), np.float32)
    acc = np.zeros((nb, 8), np.float64)
    _run(_stats_kernel, [(flat, w, y0, y1, l, r, wr, wg, wb, _PQ_LUT, cnt3[j], lo3[j], hi3[j], acc[j])
                         for j, (y0, y1) in enumerate(bands)])
    cnt = cnt3.sum(axis=0)
    bmin = lo3.min(axis=0)
    bmax = hi3.max(axis=0)
    n = int(cnt.sum())
    maxscl = (float(acc[:, 0].max()), float(acc[:, 1].max()), float(acc[:, 2].max()))
    mean_m = float(acc[:, 3].sum() / n)
    mean_y = float(acc[:, 4].sum() / n)
    frac_le = float(acc[:, 5].sum() / n)
    frac_sdr = float(acc[:, 6].sum() / n)
    apl = float(acc[:, 7].sum() / n)
    ps = np.array(GENERAL_PERCENTILES)
    pv = _hist_percentiles(cnt, bmin, bmax, ps)
    pmap = dict(zip(GENERAL_PERCENTILES, (float(v) for v in pv)))
    rep = np.where(cnt > 0, 0.5 * (bmin.astype(np.float64) + bmax), 0.0)
    hist = _coarse_hist_from_fine(cnt, rep)
    return FrameStats(
        width=w, height=h, active=act, pixels=n,
        max_nits=max(maxscl), mean_nits=mean_m, maxscl=maxscl,
        mean_luma_nits=mean_y, apl=apl,
        percentiles=tuple((p, pmap[p]) for p in GENERAL_PERCENTILES),
        hdr10plus_distribution=hdr10plus_distribution_from(lambda p: pmap[p], frac_le),
        histogram=tuple(float(x) for x in hist),
        frac_le_100=frac_le, frac_above_sdr=frac_sdr,
    )


def frame_stats_reference(rgb_nits, active=None) -> FrameStats:
    """Exact numpy reference of :func:`frame_stats` (full sort, float64 throughout)."""
    a = _as_image(rgb_nits)
    h, w = a.shape[:2]
    act = detect_active_area(a) if active is None else _check_active(active, h, w)
    t, b, l, r = act
    crop = np.nan_to_num(a[t:b, l:r].astype(np.float32).astype(np.float64), nan=0.0, posinf=_CLAMP_NITS)
    crop = np.clip(crop, 0, _CLAMP_NITS)
    m = crop.max(axis=-1).ravel()
    y = (crop @ luminance_weights("bt2020")).ravel()
    pv = np.percentile(m, GENERAL_PERCENTILES)
    pmap = dict(zip(GENERAL_PERCENTILES, (float(v) for v in pv)))
    frac_le = float(np.mean(m <= _LE_NITS))
    pq = np.asarray(eotf_inverse_st2084(np.clip(m, 0, 10000.0)), np.float64)
    idx = np.minimum((pq * HISTOGRAM_BINS).astype(np.int64), HISTOGRAM_BINS - 1)
    hist = np.bincount(idx, minlength=HISTOGRAM_BINS) / m.size
    return FrameStats(
        width=w, height=h, active=act, pixels=int(m.size),
        max_nits=float(m.max()), mean_nits=float(m.mean()),
        maxscl=tuple(float(v) for v in crop.reshape(-1, 3).max(axis=0)),
        mean_luma_nits=float(y.mean()),
        apl=float(np.mean(eotf_inverse_st2084(np.clip(y, 0, None)))),
        percentiles=tuple((p, pmap[p]) for p in GENERAL_PERCENTILES),
        hdr10plus_distribution=hdr10plus_distribution_from(lambda p: pmap[p], frac_le),
        histogram=tuple(float(x) for x in hist),
        frac_le_100=frac_le, frac_above_sdr=float(np.mean(m > _SDR_NITS)),
    )
