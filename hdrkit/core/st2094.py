"""SMPTE ST 2094-40 (HDR10+) tone curve: linear knee + Bezier, as libplacebo renders it.

Pure numpy, no I/O. The curve works in absolute light (cd/m^2). With HDR10+ profile B
metadata (knee point, Bezier anchors, targeted display luminance) it is the curve the
content provider asks for; without anchors it falls back to libplacebo's brightness
matching knee (``st2094_pick_knee``).

Normalised coordinates (libplacebo ``src/tone_mapping.c`` ``st2094_40``): ``x`` over
[src_min, src_peak] and ``y`` over [dst_min, dst_peak] through a BT.1886 OETF/EOTF pair
(black offset; with zero blacks this is plain ``x / src_peak``). With knee ``(Kx, Ky)``
and control points ``P[0] = 0, P[1..N-1] = anchors, P[N] = 1``::

    y = x Ky / Kx                                   for x <= Kx (Kx > 0)
    y = Ky + (1 - Ky) sum_p C(N, p) t^p (1 - t)^(N - p) P[p],  t = (x - Kx) / (1 - Kx)

Display adaptation when the actual display peak ``D`` differs from the metadata's
targeted luminance ``T`` (libplacebo): for ``D < T`` the knee shrinks towards a clip and
the anchors move towards 1; for ``D > T`` the curve blends towards linear with weight
``w = (1 - (D - T)/(src_peak - T))^1.4``. ``intercept(N, Kx, Ky) = min(slope / N, 1)``
matches the Bezier start slope to the linear part.

References
----------
- SMPTE ST 2094-40:2016 Annex B (Bezier curve tone mapping); Samsung, "User data
  registered ITU-T T.35 SEI message for ST 2094-40" v1.1.
- libplacebo ``src/tone_mapping.c`` (``st2094_40``, ``st2094_intercept``,
  ``st2094_pick_knee``, ``PL_TONE_MAP_CONSTANTS``), ``pl_tone_map_params_infer``
  (input peak raised to at least min(output peak, 100 cd/m^2)).
- ITU-R BT.1886 Annex 1 (the black-offset normalisation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .transfer import SDR_WHITE_NITS, eotf_inverse_st2084, eotf_st2084
from ..errors import OptionError

__all__ = [
    "HDR10PLUS_DISTRIBUTION_INDEX",
    "nits_to_hdr10plus_units",
    "KneeConstants",
    "ST2094Curve",
    "bernstein",
    "st2094_40_params",
    "st2094_40_curve",
    "st2094_40_relative",
    "pick_knee",
]

_MAX_ANCHORS = 15

#: ST 2094-40 distribution index list x265 and hdr10plus_tool accept (what each slot holds:
#: :mod:`hdrkit.core.stats`).
HDR10PLUS_DISTRIBUTION_INDEX = (1, 5, 10, 25, 50, 75, 90, 95, 99)


def nits_to_hdr10plus_units(nits) -> int:
    """cd/m^2 -> ST 2094-40 / HDR10+ JSON integer in 0.1 cd/m^2 (0..100000), rounded."""
    v = float(nits)
    if not math.isfinite(v) or v <= 0:
        return 0
    return int(min(100000, math.floor(v * 10.0 + 0.5)))


@dataclass(frozen=True)
class KneeConstants:
    """libplacebo ``PL_TONE_MAP_CONSTANTS`` used by the knee picker (no-metadata mode)."""

    knee_adaptation: float = 0.4
    knee_minimum: float = 0.1
    knee_maximum: float = 0.8
    knee_default: float = 0.4


@dataclass(frozen=True)
class ST2094Curve:
    """Resolved curve parameters: knee (Kx, Ky) and control points ``P[0..N]`` (normalised)."""

    knee_x: float
    knee_y: float
    points: tuple[float, ...]
    src_min: float
    src_peak: float
    dst_min: float
    dst_peak: float

    def __call__(self, x_nits) -> np.ndarray:
        return _evaluate(self, x_nits)


def bernstein(t, points: Sequence[float]) -> np.ndarray:
    """Bezier curve ``sum_p C(N, p) t^p (1 - t)^(N - p) P[p]`` for ``t`` in [0, 1]."""
    t = np.asarray(t, dtype=np.float64)
    P = np.asarray(points, dtype=np.float64)
    N = P.size - 1
    out = np.zeros_like(t)
    for p in range(N + 1):
        out += math.comb(N, p) * t**p * (1 - t) ** (N - p) * P[p]
    return out


def _smoothstep(e0: float, e1: float, x: float) -> float:
    if e0 == e1:
        return 0.0 if x < e0 else 1.0
    t = min(max((x - e0) / (e1 - e0), 0.0), 1.0)
    return t * t * (3 - 2 * t)


def _mix(a: float, b: float, t: float) -> float:
    return a * (1 - t) + b * t


def _pq(nits: float) -> float:
    return float(eotf_inverse_st2084(max(nits, 0.0)))


def _nits(pq: float) -> float:
    return float(eotf_st2084(pq))


def pick_knee(src_min: float, src_peak: float, dst_min: float, dst_peak: float, src_avg: float | None = None,
              constants: KneeConstants = KneeConstants()) -> tuple[float, float]:
    """libplacebo ``st2094_pick_knee``: (source knee, target knee) in cd/m^2.

    In the PQ domain: source knee = scene average (or ``knee_default`` of the range),
    clamped to [knee_minimum, knee_maximum] of the source range; target knee moves from
    the source knee towards the linearly rescaled point by ``knee_adaptation`` (towards
    1 near the range extremes and where the knee is below the display's floor).
    """
    c = constants
    s0, s1 = _pq(src_min), _pq(src_peak)
    d0, d1 = _pq(dst_min), _pq(dst_peak)
    sk_lo, sk_hi = _mix(s0, s1, c.knee_minimum), _mix(s0, s1, c.knee_maximum)
    dk_lo, dk_hi = _mix(d0, d1, c.knee_minimum), _mix(d0, d1, c.knee_maximum)
    sk = _pq(src_avg) if src_avg else _mix(s0, s1, c.knee_default)
    sk = min(max(sk, sk_lo), sk_hi)
    target = (sk - s0) / (s1 - s0)
    adapted = _mix(d0, d1, target)
    tuning = 1.0 - _smoothstep(c.knee_maximum, c.knee_default, target) * _smoothstep(c.knee_minimum, c.knee_default, target)
    adaptation = _mix(c.knee_adaptation, 1.0, tuning)
    adaptation = _mix(1.0, adaptation, _smoothstep(d0, dk_lo, sk))
    dk = min(max(_mix(sk, adapted, adaptation), dk_lo), dk_hi)
    return _nits(sk), _nits(dk)


def _intercept(N: int, Kx: float, Ky: float) -> float:
    if Kx <= 0 or Ky >= 1:
        return 1.0 / N
    slope = Ky / Kx * (1 - Kx) / (1 - Ky)
    return min(slope / N, 1.0)


def st2094_40_params(src_peak_nits: float, dst_peak_nits: float, knee_x: float | None = None,
                     knee_y: float | None = None, anchors: Sequence[float] | None = None,
                     target_luma: float | None = None, *, src_min_nits: float = 0.0, dst_min_nits: float = 0.0,
                     src_avg_nits: float | None = None, constants: KneeConstants = KneeConstants()) -> ST2094Curve:
    """Resolve the curve for a display: metadata knee/anchors (normalised floats, e.g.
    ``KneePointX / 4095`` and ``Anchors[i] / 1023``) and ``target_luma`` (cd/m^2), adapted
    to ``dst_peak_nits``; with no anchors, libplacebo's brightness-matching knee."""
    in_min, out_min = float(src_min_nits), float(dst_min_nits)
    out_max = float(dst_peak_nits)
    if not (math.isfinite(src_peak_nits) and math.isfinite(out_max) and src_peak_nits > 0 and out_max > 0):
        raise OptionError(f"peaks must be finite and positive (src {src_peak_nits}, dst {dst_peak_nits})")
    # pl_tone_map_params_infer: input peak >= min(output peak, 100 nits); no inverse mapping
    in_max = max(float(src_peak_nits), min(out_max, 100.0))
    out_max = min(out_max, in_max)
    D = out_max
    anchors = list(anchors or [])
    if len(anchors) > _MAX_ANCHORS:
        raise OptionError(f"at most {_MAX_ANCHORS} Bezier anchors, got {len(anchors)}")
    if anchors:
        Kx = min(max(float(knee_x or 0.0), 0.0), 1.0)
        Ky = min(max(float(knee_y or 0.0), 0.0), 1.0)
        T = min(max(float(target_luma if target_luma else D), in_min), in_max)
        N = len(anchors) + 1
        P = [0.0] + [float(a) for a in anchors] + [1.0]
    else:
        sk, dk = pick_knee(in_min, in_max, out_min, out_max, src_avg_nits, constants)
        Kx, Ky = sk / in_max, dk / out_max
        slope = Ky / Kx * (1 - Kx) / (1 - Ky) if Kx > 0 and Ky < 1 else 1.0
        N = int(min(max(math.ceil(slope), 2), 16))
        P = [0.0, _intercept(N, Kx, Ky)] + [1.0] * (N - 1)
        T = D
    if D < T:
        u = max(0.0, D / T)
        Kx *= u
        Ky *= u
        beta = N * Kx / (1 - Kx)
        Kxy = min(Kx * in_max / D, beta / (beta + 1))
        Ky = _mix(Kxy, Ky, u)
        for p in range(2, N + 1):
            P[p] = _mix(1.0, P[p], u)
        P[1] = _mix(_intercept(N, Kx, Ky), P[1], u)
    elif D > T:
        w = (1 - (D - T) / (in_max - T)) ** 1.4
        Ky *= T / D
        Kxy = Kx * D / in_max
        Ky = _mix(Kxy, Ky, w)
        for p in range(2, N):
            P[p] = _mix(p / N, P[p], w)
        P[1] = _mix(_intercept(N, Kx, Ky), P[1], w)
    return ST2094Curve(knee_x=Kx, knee_y=Ky, points=tuple(P), src_min=in_min, src_peak=in_max, dst_min=out_min,
                       dst_peak=out_max)


def _bt1886_oetf(x, lo, hi):
    lb, lw = lo ** (1 / 2.4), hi ** (1 / 2.4)
    return (np.maximum(x, 0) ** (1 / 2.4) - lb) / (lw - lb)


def _bt1886_eotf(x, lo, hi):
    lb, lw = lo ** (1 / 2.4), hi ** (1 / 2.4)
    return np.maximum((lw - lb) * x + lb, 0) ** 2.4


def _evaluate(c: ST2094Curve, x_nits) -> np.ndarray:
    x = np.clip(np.asarray(x_nits, dtype=np.float64), c.src_min, c.src_peak)
    xn = _bt1886_eotf(_bt1886_oetf(x, c.src_min, c.src_peak), 0.0, 1.0)
    Kx, Ky = c.knee_x, c.knee_y
    t = np.clip((xn - Kx) / (1 - Kx), 0, 1) if Kx < 1 else np.zeros_like(xn)
    bez = Ky + (1 - Ky) * bernstein(t, c.points)
    lin = xn * (Ky / Kx) if Kx > 0 else bez
    yn = np.where((xn <= Kx) & (Kx > 0), lin, bez)
    y = _bt1886_eotf(_bt1886_oetf(yn, 0.0, 1.0), c.dst_min, c.dst_peak)
    return np.clip(y, c.dst_min, c.dst_peak)


def st2094_40_curve(x_nits, src_peak_nits: float, dst_peak_nits: float, knee_x: float | None = None,
                    knee_y: float | None = None, anchors: Sequence[float] | None = None,
                    target_luma: float | None = None, **kw) -> np.ndarray:
    """ST 2094-40 tone curve: light ``x_nits`` (cd/m^2, any shape) -> display light (cd/m^2).

    ``knee_x``, ``knee_y`` in [0, 1] (HDR10+ JSON ``KneePointX / 4095``), ``anchors`` in
    [0, 1] (``Anchors[i] / 1023``), ``target_luma`` = ``TargetedSystemDisplayMaximumLuminance``
    in cd/m^2. Without anchors libplacebo's brightness-matching knee is used (pass
    ``src_avg_nits`` for the scene average). Keyword options: ``src_min_nits``,
    ``dst_min_nits``, ``src_avg_nits``, ``constants`` (:class:`KneeConstants`).
    """
    return st2094_40_params(src_peak_nits, dst_peak_nits, knee_x, knee_y, anchors, target_luma, **kw)(x_nits)


def st2094_40_relative(x, src_peak: float, dst_peak: float, knee_adaptation: float = 0.4, knee_minimum: float = 0.1,
                       knee_maximum: float = 0.8, knee_default: float = 0.4) -> np.ndarray:
    """The metadata-free ST 2094-40 curve in hdrkit's relative units (1.0 = 203 cd/m^2).

    Signature of a :class:`hdrkit.core.tonemap.ToneCurve` ``fn``: ``x`` and both peaks
    linear relative; blacks at 0; knee from libplacebo's brightness matching with the
    scene average unknown (``knee_default`` of the PQ range).
    """
    k = KneeConstants(knee_adaptation, knee_minimum, knee_maximum, knee_default)
    y = st2094_40_curve(np.asarray(x, dtype=np.float64) * SDR_WHITE_NITS, src_peak * SDR_WHITE_NITS,
                        dst_peak * SDR_WHITE_NITS, constants=k)
    return y / SDR_WHITE_NITS
