"""Artefact scores of an SDR export against its reference rendering: banding and halo.

Both scores compare the *export* (the 8-bit picture a viewer gets, e.g. a decoded JPEG)
with a *reference* of the same picture without the artefact in question (``hdrkit
regress`` uses the core's exact float render of the same parameters, before dither and
JPEG). Images are sRGB-encoded, float [0, 1] or 8-bit codes, (H, W, 3); all thresholds
are in 8-bit code units.

Banding (false contours)
------------------------
A false contour is a plateau in the export where the reference keeps moving: the export
holds one code value over a run of pixels across which the reference changes by more than
any correct rounding could hide. Precisely, for each channel and for rows and columns
separately:

1. *Smooth region* ``S``: pixels where a least-squares plane fitted to the reference over a
   9 x 9 window leaves an RMS residual below ``smooth_tol`` = 0.6 codes (every channel) and
   the plane's slope is at most ``max_slope`` = 4 codes/px. Noise, texture and real edges in
   the reference fail this test, so they never count; an 8-bit staircase (residual 0.29)
   passes, so a reference that is itself quantised still counts as smooth.
2. *Runs*: maximal runs of neighbouring pixels inside ``S`` whose export codes are equal
   (|Δ| < 0.5 code).
3. *Span* of a run: ``max r - min r`` of the reference over the run (codes).
4. A pixel is *banded* if it lies in a run of span >= ``min_span`` = 2 codes along rows or
   columns, in any channel. Rounding keeps a plateau's span below 1 code, rounding after a
   dither of amplitude +-0.5 below 2: a span of 2 or more means the export lost a level the
   reference has (6-bit quantisation: spans near 4; JPEG blocking of shallow gradients:
   2-3).
5. ``banding_score`` = banded fraction of the *gradient* pixels: ``S`` with slope
   >= ``min_slope`` = 0.002 codes/px (flat areas cannot show a contour). 0 when the image
   has fewer than ``min_pixels`` = 256 such pixels.

A whole-picture second difference ``mean |d2x| + mean |d2y|`` rises with noise and texture (a
noisy gradient scores far higher than a banded one), so it cannot serve as a banding score;
the plane-fit residual above plays its part of telling smooth areas from busy ones.

Halo (rims at high-contrast edges)
----------------------------------
A halo is a bright or dark rim along a strong edge that the reference does not have:
ringing (JPEG, Lanczos resampling), sharpening, contrast recovery. Precisely, on luma
``Y' = 0.2126 R' + 0.7152 G' + 0.0722 B'`` (BT.709 weights on encoded values, codes):

1. *Strong edges* ``E``: pixels where the reference's 3 x 3 range is >= ``edge_contrast``
   (32 codes).
2. *Envelope*: ``lo``/``hi`` = min/max of the reference over the (4 radius + 1)^2 window
   (``radius`` = 4 px), so a pixel up to ``radius`` away from an edge still sees both sides;
   local contrast ``C = max(hi - lo, edge_contrast)``.
3. *Overshoot* of the export, 3 x 3 box-averaged (removes dither and noise but keeps rims a
   few pixels wide): ``o = max(Y'e - hi - tol, lo - Y'e - tol, 0)``, ``tol`` = 2 codes
   (rounding plus dither).
4. *Rim height* at an edge pixel: the largest ``o / C`` within ``radius`` of it.
5. ``halo_score`` = mean rim height over ``E``: the average rim as a fraction of the edge's
   contrast (0 = the export never leaves the reference's local range). A softened (blurred)
   edge stays inside the envelope and scores 0; so does noise below the tolerance.

A rim that stays inside the local range (the "glow" of local tone operators) is not an
overshoot; it shows up in the colour and MAD metrics instead.

References
----------
- Z. Tu, J. Lin, Y. Wang, B. Birkbeck, B. Adsumilli, A. C. Bovik, "BBAND index: a
  no-reference banding artifact predictor", ICASSP 2020 (banding as flat regions bounded by
  small steps in otherwise smooth areas; here made full-reference).
- "flat" = an output step under 20 % of a visible input step: measured on FFmpeg's
  ``tonemap=hable`` chain and libplacebo's bt.2390 output of the same PQ ramp.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..core.primaries import BT709_LUMA_WEIGHTS
from .tone import as_encoded

__all__ = ["banding_map", "banding_score", "halo_map", "halo_score", "smooth_mask", "luma_codes",
           "BANDING_DEFAULTS", "HALO_DEFAULTS"]

BANDING_DEFAULTS = dict(smooth_tol=0.6, min_span=2.0, max_slope=4.0, min_slope=0.002, window=9, min_pixels=256)
HALO_DEFAULTS = dict(edge_contrast=32.0, radius=4, tol=2.0)

_LUMA709 = np.array(BT709_LUMA_WEIGHTS)


# --------------------------------------------------------------- small filters
def _box_sum_valid(a: np.ndarray, n: int) -> np.ndarray:
    """Sums over every full n x n window (no padding): shape (H - n + 1, W - n + 1, ...)."""
    c = np.cumsum(a, axis=0)
    c = np.concatenate([np.zeros_like(c[:1]), c], axis=0)
    p = c[n:] - c[:-n]
    c = np.cumsum(p, axis=1)
    c = np.concatenate([np.zeros_like(c[:, :1]), c], axis=1)
    return c[:, n:] - c[:, :-n]


def _box_mean(a: np.ndarray, r: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, edges replicated; (H, W) or (H, W, C)."""
    if r <= 0:
        return a.astype(np.float64)
    pad = [(r, r), (r, r)] + [(0, 0)] * (a.ndim - 2)
    n = 2 * r + 1
    return _box_sum_valid(np.pad(a.astype(np.float64), pad, mode="edge"), n) / (n * n)


def _rank_filter(a: np.ndarray, r: int, fn) -> np.ndarray:
    """Separable max / min over a (2r+1)^2 window, edges replicated; (H, W)."""
    if r <= 0:
        return a.copy()
    p = np.pad(a, r, mode="edge")
    p = fn(sliding_window_view(p, 2 * r + 1, axis=0), axis=-1)
    return fn(sliding_window_view(p, 2 * r + 1, axis=1), axis=-1)


def _codes(img) -> np.ndarray:
    a = as_encoded(img) * 255.0
    if a.ndim == 2:
        a = a[..., None]
    return a


def luma_codes(img) -> np.ndarray:
    """BT.709-weighted luma of encoded R'G'B' in 8-bit code units (float), (H, W)."""
    a = _codes(img)
    return a[..., 0] if a.shape[-1] == 1 else a @ _LUMA709


# ------------------------------------------------------------------- banding
def _plane_fit(r: np.ndarray, rad: int) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares plane per channel over each (2 rad + 1)^2 window: (RMS residual, slope).

    With window coordinates u, v centred on the pixel (uncorrelated over a full square
    window, variance ``(n^2 - 1) / 12`` each): ``slope_u = cov(u, r) / var(u)`` and
    ``var_res = var(r) - cov(u, r)^2 / var(u) - cov(v, r)^2 / var(v)``, all from box sums.
    Slope is ``max(|slope_u|, |slope_v|)`` in codes / px. Both (H, W, C); pixels closer than
    ``rad`` to the border get residual = inf (no full window).
    """
    h, w = r.shape[:2]
    n = 2 * rad + 1
    res = np.full(r.shape, np.inf)
    slope = np.zeros(r.shape)
    if h < n or w < n:
        return res, slope
    u = np.arange(-rad, rad + 1, dtype=np.float64)
    var_u = (n * n - 1) / 12.0
    m = _box_sum_valid(r, n) / (n * n)
    var = _box_sum_valid(r * r, n) / (n * n) - m * m
    # cov(u, r) = mean over the window of u * r: correlate with the ramp u along x, box-sum along y
    ur = sum(u[k] * r[:, k:w - n + 1 + k] for k in range(n))  # (H, W - n + 1, C)
    c = np.concatenate([np.zeros_like(ur[:1]), np.cumsum(ur, axis=0)], axis=0)
    cu = (c[n:] - c[:-n]) / (n * n)
    vr = sum(u[k] * r[k:h - n + 1 + k] for k in range(n))  # (H - n + 1, W, C)
    c = np.concatenate([np.zeros_like(vr[:, :1]), np.cumsum(vr, axis=1)], axis=1)
    cv = (c[:, n:] - c[:, :-n]) / (n * n)
    inner = (slice(rad, h - rad), slice(rad, w - rad))
    res[inner] = np.sqrt(np.maximum(var - (cu * cu + cv * cv) / var_u, 0.0))
    slope[inner] = np.maximum(np.abs(cu), np.abs(cv)) / var_u
    return res, slope


def _smooth_and_slope(reference, smooth_tol: float, max_slope: float, window: int) -> tuple[np.ndarray, np.ndarray]:
    res, slope = _plane_fit(_codes(reference), window // 2)
    slope = slope.max(axis=-1)
    return (res.max(axis=-1) < smooth_tol) & (slope <= max_slope), slope


def smooth_mask(reference, smooth_tol: float = 0.6, max_slope: float = 4.0, window: int = 9) -> np.ndarray:
    """Bool (H, W): the reference is locally smooth (see the module docstring, step 1)."""
    return _smooth_and_slope(reference, smooth_tol, max_slope, window)[0]


def _run_spans(e: np.ndarray, r: np.ndarray, S: np.ndarray) -> np.ndarray:
    """Per pixel: span (max r - min r) of the equal-code run along axis 1 that contains it; 0 outside S."""
    h, w = e.shape
    eq = (np.abs(np.diff(e, axis=1)) < 0.5) & S[:, 1:] & S[:, :-1]
    start = np.ones((h, w), bool)
    start[:, 1:] = ~eq
    first = np.flatnonzero(start.ravel())
    rf = r.ravel()
    span = np.maximum.reduceat(rf, first) - np.minimum.reduceat(rf, first)
    run_id = np.cumsum(start.ravel()) - 1
    return np.where(S, span[run_id].reshape(h, w), 0.0)


def banding_map(export, reference, *, smooth_tol: float = 0.6, min_span: float = 2.0, max_slope: float = 4.0,
                min_slope: float = 0.002, window: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """(banded, gradient): bool (H, W) maps of false-contour pixels and of the smooth-gradient
    pixels they are counted against (module docstring, steps 1-5)."""
    e, r = _codes(export), _codes(reference)
    if e.shape != r.shape:
        raise ValueError(f"export {e.shape} and reference {r.shape} differ in shape")
    res, slope_c = _plane_fit(r, window // 2)
    slope = slope_c.max(axis=-1)
    S = (res.max(axis=-1) < smooth_tol) & (slope <= max_slope)
    grad = S & (slope >= min_slope)
    banded = np.zeros(S.shape, bool)
    for c in range(e.shape[-1]):
        ec, rc = e[..., c], r[..., c]
        banded |= _run_spans(ec, rc, S) >= min_span
        banded |= (_run_spans(ec.T, rc.T, S.T) >= min_span).T
    return banded & grad, grad


def banding_score(export, reference, *, min_pixels: int = 256, **kw) -> float:
    """Banded fraction of the smooth-gradient pixels, [0, 1] (module docstring). 0 if < ``min_pixels`` gradient pixels."""
    banded, grad = banding_map(export, reference, **kw)
    n = int(grad.sum())
    return float(banded.sum() / n) if n >= min_pixels else 0.0


# ---------------------------------------------------------------------- halo
def halo_map(export, reference, *, edge_contrast: float = 32.0, radius: int = 4, tol: float = 2.0
             ) -> tuple[np.ndarray, np.ndarray]:
    """(rim height per strong-edge pixel as float (H, W), strong edges as bool (H, W)).

    Rim height at an edge pixel = the largest relative overshoot ``o / C`` within ``radius``
    of it (module docstring, steps 1-5); 0 away from edges.
    """
    ye, yr = luma_codes(export), luma_codes(reference)
    if ye.shape != yr.shape:
        raise ValueError(f"export {ye.shape} and reference {yr.shape} differ in shape")
    edges = (_rank_filter(yr, 1, np.max) - _rank_filter(yr, 1, np.min)) >= edge_contrast
    if not edges.any():
        return np.zeros(yr.shape), edges
    hi = _rank_filter(yr, 2 * radius, np.max)
    lo = _rank_filter(yr, 2 * radius, np.min)
    ys = _box_mean(ye, 1)
    over = np.maximum(np.maximum(ys - hi - tol, lo - ys - tol), 0.0)
    rel = over / np.maximum(hi - lo, edge_contrast)
    return np.where(edges, _rank_filter(rel, radius, np.max), 0.0), edges


def halo_score(export, reference, **kw) -> float:
    """Mean rim height over the strong-edge pixels, as a fraction of the local edge contrast (0 = no halo)."""
    rim, edges = halo_map(export, reference, **kw)
    return float(rim[edges].mean()) if edges.any() else 0.0
