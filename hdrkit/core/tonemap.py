"""Tone curves: one registry, each curve a record with its parameters as data.

A curve maps linear relative light ``x`` (1.0 = 203 cd/m^2, BT.2408) of a source whose
peak is ``src_peak`` to display light ``y`` on a display whose peak is ``dst_peak``
(1.0 for SDR). Every registered curve satisfies, and the tests check over the whole
registry and parameter ranges:

- finite, monotone non-decreasing, continuous (C1 where the record says ``c1=True``);
- black -> black: ``f(0) = 0``;
- highlight anchor: ``f(src_peak) = dst_peak`` and ``f(x) = dst_peak`` above it;
- no expansion: when ``src_peak <= dst_peak`` the curve is the identity (clipped);
- mid-grey anchor: at the default parameters and source peaks 2-10 (406-2030 cd/m^2),
  18 % grey (x = 0.18) encodes to sRGB 0.46-0.52 (see ``MID_GREY_ANCHOR``).

The mid-grey anchor is chosen between the two numbers in play: BT.2408 keeps graphics
white at 203 cd/m^2, so a curve that leaves mid-tones untouched maps 0.18 -> 0.18, which
sRGB encodes as 0.461; a slightly lifted grey reads 0.50 (the PWL defaults, knee 0.25 ->
0.30, give exactly 0.502). Both are accepted; everything darker crushes faces, brighter
flattens contrast. Fixed highlight anchors such as "0.95 -> 0.85" would contradict the
PWL defaults (0.95 -> 0.993 there); the exact peak anchor above replaces them, and every
curve meets it by construction.

Curves are applied to a norm of the pixel (max(R, G, B), see :func:`apply_maxrgb`) so that
RGB ratios, and with them hue and saturation in linear light, are preserved.

References
----------
- ITU-R BT.2390-11 (2023) §5.4.1, EETF (Hermite spline knee in the PQ domain).
- ITU-R BT.2408-7 (2023) §2.1, HDR reference white 203 cd/m^2.
- J. Hable, "Uncharted 2: HDR Lighting", GDC 2010 (filmic curve, exposure bias).
- J. A. Gregory, R. Delbourgo, "Piecewise rational quadratic interpolation to monotonic
  data", IMA J. Numer. Anal. 2 (1982) 123-130 (C1 monotone rational segment).
- libplacebo ``src/tone_mapping.c`` (curve records, PQ-domain driver, ``knee_offset``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Mapping, NamedTuple

import numpy as np

from ..errors import OptionError
from .transfer import SDR_WHITE_NITS, eotf_inverse_srgb, eotf_inverse_st2084, eotf_st2084

__all__ = [
    "Param",
    "ToneCurve",
    "TONE_CURVES",
    "PRESETS",
    "DEFAULT_CURVE",
    "MID_GREY_ANCHOR",
    "get_curve",
    "resolve_curve",
    "register_curve",
    "curve_lut",
    "apply_maxrgb",
    "rational_quadratic",
]

#: Accepted sRGB-encoded output of 18 % grey at default parameters (see module docstring).
MID_GREY_ANCHOR = (0.46, 0.52)


@dataclass(frozen=True)
class Param:
    """One tunable parameter: name, default and legal range [lo, hi], with units."""

    name: str
    default: float
    lo: float
    hi: float
    description: str


@dataclass(frozen=True)
class ToneCurve:
    """A registered tone curve.

    ``fn(x, src_peak, dst_peak, **params)`` is only called with ``src_peak > dst_peak``
    and ``0 <= x <= src_peak``; :meth:`apply` handles the rest (identity, clamping,
    parameter defaults and range checks).
    """

    name: str
    description: str
    version: str
    fn: Callable[..., np.ndarray]
    params: tuple[Param, ...] = ()
    c1: bool = True
    reference: str = ""
    #: whether the curve is held to :data:`MID_GREY_ANCHOR` (curves that reproduce another
    #: system's rendering, like ST 2094-40, keep that system's mid-tones instead)
    mid_grey_anchored: bool = True

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.params}

    def check_params(self, params: Mapping[str, float]) -> dict[str, float]:
        """Defaults filled in; unknown names and out-of-range values raise OptionError."""
        out = self.defaults()
        known = {p.name: p for p in self.params}
        for k, v in params.items():
            if k not in known:
                raise OptionError(f"curve {self.name!r} has no parameter {k!r}; it has {', '.join(known) or 'none'}")
            p = known[k]
            v = float(v)
            if not (p.lo <= v <= p.hi):
                raise OptionError(f"curve {self.name!r} parameter {k}={v} outside [{p.lo}, {p.hi}]")
            out[k] = v
        return out

    def apply(self, x, src_peak: float, dst_peak: float = 1.0, **params) -> np.ndarray:
        """Evaluate the curve on linear relative ``x`` (any shape), float64 out."""
        p = self.check_params(params)
        x = np.clip(np.asarray(x, dtype=np.float64), 0.0, None)
        if not (np.isfinite(src_peak) and np.isfinite(dst_peak) and src_peak > 0 and dst_peak > 0):
            raise OptionError(f"peaks must be finite and positive (src {src_peak}, dst {dst_peak})")
        if src_peak <= dst_peak:
            return np.minimum(x, dst_peak)
        xc = np.minimum(x, src_peak)
        y = self.fn(xc, float(src_peak), float(dst_peak), **p)
        return np.clip(np.where(x >= src_peak, dst_peak, y), 0.0, dst_peak)

    @property
    def tag(self) -> str:
        """``name@version`` as recorded in export metadata."""
        return f"{self.name}@{self.version}"


# ----------------------------------------------------------------- shared pieces
def rational_quadratic(t, y0: float, y1: float, d0: float, d1: float, h: float) -> np.ndarray:
    """Gregory-Delbourgo C1 rational quadratic Hermite segment on ``t`` in [0, 1].

    Joins (0, y0) with slope ``d0`` to (1, y1) with slope ``d1``, slopes in y per unit
    of the original abscissa whose interval length is ``h``. Monotone whenever
    ``y1 > y0`` and ``d0, d1 >= 0`` (Gregory & Delbourgo 1982, eq. 2.4).
    """
    delta = (y1 - y0) / h
    if delta <= 0:
        return np.full_like(np.asarray(t, dtype=np.float64), y0)
    tt = np.asarray(t, dtype=np.float64)
    w = tt * (1 - tt)
    num = delta * tt * tt + d0 * w
    den = delta + (d0 + d1 - 2 * delta) * w
    return y0 + (y1 - y0) * num / den


def _pq(nits):
    return eotf_inverse_st2084(nits)


# --------------------------------------------------------------------- BT.2390
def _bt2390(x, P, D, knee_offset):
    """BT.2390-11 §5.4.1 EETF with black levels 0: Hermite knee in normalised PQ.

    ``E1 = PQ(x)/PQ(P)``, ``maxLum = PQ(D)/PQ(P)``, ``KS = (1 + k) maxLum - k`` (k = 0.5 in
    the Report; libplacebo uses 1.0), above KS ``P(T) = (2T^3 - 3T^2 + 1) KS +
    (T^3 - 2T^2 + T)(1 - KS) + (-2T^3 + 3T^2) maxLum``, ``T = (E1 - KS)/(1 - KS)``.
    With black at 0 the ``minLum`` terms vanish. Monotone for k >= 0.5 (Fritsch-Carlson
    alpha = (1 + k)/k <= 3).
    """
    pq_src = _pq(P * SDR_WHITE_NITS)
    e1 = _pq(x * SDR_WHITE_NITS) / pq_src
    max_lum = _pq(D * SDR_WHITE_NITS) / pq_src
    ks = max((1 + knee_offset) * max_lum - knee_offset, 0.0)
    if 1.0 - ks < 1e-9:  # source peak within rounding of the target: nothing to compress
        return np.minimum(x, D)
    t = np.clip((e1 - ks) / (1 - ks), 0, 1)
    t2, t3 = t * t, t * t * t
    p = (2 * t3 - 3 * t2 + 1) * ks + (t3 - 2 * t2 + t) * (1 - ks) + (-2 * t3 + 3 * t2) * max_lum
    e2 = np.where(e1 < ks, e1, p)
    return eotf_st2084(e2 * pq_src) / SDR_WHITE_NITS


# ------------------------------------------------------------------------- PWL
def _pwl(x, P, D, knee_in, knee_out, shoulder_in, shoulder_out, shoulder_width):
    """Three-part curve (linear toe, rational mid-section, exponential shoulder), C1 and monotone.

    Linear toe ``y = (knee_out/knee_in) x`` up to ``knee_in`` (relative units, so the
    mid-grey anchor does not move with the peak); an exponential shoulder from
    ``xs = shoulder_in * P`` to ``P`` rising from ``ys = shoulder_out * D`` to exactly ``D``
    (time constant ``shoulder_width * P``); between them a Gregory-Delbourgo rational
    quadratic with the toe's and the shoulder's slopes at its ends (a cubic with zero slope
    at both ends would not be C1: kinks at the knee and shoulder).
    """
    ki, ko = knee_in, knee_out * 1.0
    xs, ys = max(shoulder_in * P, ki * 1.0001), max(shoulder_out * D, ko * 1.0001)
    lam = shoulder_width * P
    span = P - xs
    norm = -math.expm1(-span / lam)
    a = ko / ki
    d_sh = (D - ys) / (lam * norm)
    mid = rational_quadratic((x - ki) / (xs - ki), ko, ys, a, d_sh, xs - ki)
    sh = ys + (D - ys) * (-np.expm1(-(x - xs) / lam)) / norm
    return np.where(x <= ki, a * x, np.where(x < xs, mid, sh))


# ----------------------------------------------------------------------- Hable
_HABLE = dict(A=0.22, B=0.30, C=0.10, D=0.20, E=0.01, F=0.30)


def _hable_raw(z):
    A, B, C, Dd, E, F = (_HABLE[k] for k in "ABCDEF")
    return (z * (A * z + C * B) + Dd * E) / (z * (A * z + B) + Dd * F) - E / F


def _hable(x, P, D, exposure):
    """Hable filmic curve with the constants of Hable (GDC 2010) (A..F = 0.22, 0.30, 0.10, 0.20, 0.01,
    0.30), exposure-scaled and normalised so the source peak lands on ``D``:
    ``y = D * H(e x) / H(e P)``."""
    return D * _hable_raw(exposure * x) / _hable_raw(exposure * P)


# -------------------------------------------------------------------- Knee-Exp
def _solve_u(r: float) -> float:
    """Solve ``u / (1 - exp(-u)) = r`` for u (r > 0); u = 0 at r = 1."""
    if abs(r - 1) < 1e-12:
        return 0.0

    def g(u):
        return u / -math.expm1(-u) if abs(u) > 1e-9 else 1 + u / 2

    lo, hi = (0.0, 1.0) if r > 1 else (-1.0, 0.0)
    if r > 1:
        while g(hi) < r:
            hi *= 2
    else:
        while g(lo) > r:
            lo *= 2
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if g(mid) < r:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _knee_exp(x, P, D, knee, gain):
    """Linear knee + exponential shoulder, C1 and anchored at the source peak.

    ``y = g x`` up to ``t``; above, ``y = g t + (D - g t) (1 - e^{-(x-t)/k}) / (1 - e^{-(P-t)/k})``
    with ``k`` solved so the slope at ``t`` equals ``g`` (a fixed k = 0.10 would give a
    slope of 7.25 against 1.1: a kink). When ``g P <= D`` the shoulder bends upwards
    (``k < 0``) and stays monotone.
    """
    t, g = knee, gain
    if g * t >= D:  # toe alone reaches the display peak: linear to D (clipped by caller)
        return np.minimum(g * x, D)
    r = g * (P - t) / (D - g * t)
    u = _solve_u(r)
    if abs(u) < 1e-9:
        sh = g * t + (D - g * t) * (x - t) / (P - t)
    else:
        k = (P - t) / u
        sh = g * t + (D - g * t) * (-np.expm1(-(x - t) / k)) / (-math.expm1(-(P - t) / k))
    return np.where(x <= t, g * x, sh)


# --------------------------------------------------------------------- registry
TONE_CURVES: dict[str, ToneCurve] = {}


def register_curve(curve: ToneCurve) -> ToneCurve:
    """Add a curve to :data:`TONE_CURVES` (the one place a new curve is declared)."""
    if curve.name in TONE_CURVES:
        raise ValueError(f"tone curve {curve.name!r} already registered")
    TONE_CURVES[curve.name] = curve
    return curve


register_curve(ToneCurve(
    "bt2390", "ITU-R BT.2390 EETF: identity below a knee, Hermite roll-off to the display peak in PQ",
    "1", _bt2390,
    (Param("knee_offset", 0.5, 0.5, 2.0, "KS = (1 + k) maxLum - k; 0.5 per BT.2390, 1.0 as libplacebo"),),
    reference="ITU-R BT.2390-11 §5.4.1"))
register_curve(ToneCurve(
    "pwl", "Linear toe, C1 rational mid-section, exponential shoulder",
    "1", _pwl,
    (Param("knee_in", 0.25, 0.05, 0.8, "end of the linear toe, linear relative (1.0 = 203 cd/m^2)"),
     Param("knee_out", 0.30, 0.05, 0.9, "output at the knee, linear relative to SDR white"),
     Param("shoulder_in", 0.85, 0.3, 0.98, "start of the shoulder as a fraction of the source peak"),
     Param("shoulder_out", 0.98, 0.7, 0.995, "output at the shoulder start as a fraction of the display peak"),
     Param("shoulder_width", 0.10, 0.02, 1.0, "shoulder time constant as a fraction of the source peak")),
    reference="Gregory & Delbourgo, IMA J. Numer. Anal. 2 (1982) 123-130 (C1 monotone rational segment)"))
register_curve(ToneCurve(
    "hable", "Hable filmic (Uncharted 2) with exposure, normalised to the source peak",
    "1", _hable,
    (Param("exposure", 1.85, 0.5, 6.0, "exposure bias before the curve; 1.85 meets the mid-grey anchor for "
           "peaks 2-10 (Hable's own 2.0 gives 0.53 at peak 2)"),),
    reference="J. Hable, \"Uncharted 2: HDR Lighting\", GDC 2010 (curve constants)"))
register_curve(ToneCurve(
    "knee-exp", "Linear toe with gain, C1 exponential shoulder anchored at the source peak",
    "1", _knee_exp,
    (Param("knee", 0.25, 0.05, 0.8, "end of the linear toe, linear relative"),
     Param("gain", 1.1, 0.8, 1.5, "toe gain (slope below the knee)")),
    reference="hdrkit (exponential shoulder, constant solved for C1 at the knee)"))

def _st2094_40(x, P, D, **params):
    from .st2094 import st2094_40_relative

    return st2094_40_relative(x, P, D, **params)


register_curve(ToneCurve(
    "st2094-40", "SMPTE ST 2094-40 Annex B knee + Bezier as libplacebo renders it (knee matched, no metadata)",
    "1", _st2094_40,
    (Param("knee_adaptation", 0.4, 0.0, 1.0, "how far the knee follows the display (libplacebo knee_adaptation)"),
     Param("knee_minimum", 0.1, 1e-6, 0.5, "lowest knee, fraction of the PQ source range"),
     Param("knee_maximum", 0.8, 0.5, 1.0, "highest knee, fraction of the PQ source range"),
     Param("knee_default", 0.4, 0.1, 0.8, "knee without a scene average, fraction of the PQ source range")),
    c1=False, mid_grey_anchored=False, reference="SMPTE ST 2094-40 Annex B; libplacebo src/tone_mapping.c"))

#: The default curve. BT.2390 is a published standard, leaves everything below its knee
#: untouched (mid-tones and skin keep the grade: 0.18 -> 0.18), rolls off in the
#: perceptually uniform PQ domain, is C1 and monotone, and tracks the source peak without
#: extra parameters, so stills and per-frame video use it unchanged.
DEFAULT_CURVE = "bt2390"

#: Named looks: (curve, parameters). Portrait locks mid-grey and keeps a gentle
#: shoulder (the PWL curve, whose toe is linear through the skin range); landscape keeps highlight separation (Hable,
#: more shoulder); night keeps dark areas dark and lamps/neon separated (knee-exp, no
#: toe gain, so shadows are not lifted).
PRESETS: dict[str, tuple[str, dict[str, float]]] = {
    "portrait": ("pwl", {"knee_in": 0.25, "knee_out": 0.30, "shoulder_in": 0.80, "shoulder_out": 0.97,
                         "shoulder_width": 0.15}),
    "landscape": ("hable", {"exposure": 2.0}),
    "night": ("knee-exp", {"knee": 0.20, "gain": 1.0}),
}


def get_curve(name: str) -> ToneCurve:
    try:
        return TONE_CURVES[name]
    except KeyError:
        raise OptionError(f"unknown tone curve {name!r}; choose from {', '.join(TONE_CURVES)}") from None


def resolve_curve(curve: str | None, preset: str | None, params: Mapping[str, float] | None) -> tuple[ToneCurve, dict]:
    """Pick the curve and its checked parameters from a curve name, a preset and overrides.

    A preset supplies a curve and parameters; an explicit ``curve`` different from the
    preset's is an error; ``params`` override the preset's values.
    """
    params = dict(params or {})
    if preset:
        if preset not in PRESETS:
            raise OptionError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
        pc, pp = PRESETS[preset]
        if curve and curve != pc:
            raise OptionError(f"preset {preset!r} uses curve {pc!r}, not {curve!r}")
        curve, params = pc, {**pp, **params}
    c = get_curve(curve or DEFAULT_CURVE)
    return c, c.check_params(params)


# ------------------------------------------------------------------ evaluation
def curve_lut(curve: ToneCurve, params: Mapping[str, float], ctx: ToneContext, size: int = 4096) -> np.ndarray:
    """Gain table ``f(m)/m`` of :func:`tone` in context ``ctx``, sampled at
    ``m = ctx.src_peak * (i/(size-1))**2`` (square-root spacing).

    Index with ``u = sqrt(m / src_peak) * (size - 1)`` and interpolate linearly. The
    square-root spacing gives fine steps in the shadows where the gain changes fastest
    in relative terms. Entry 0 holds the limit of f(m)/m at 0 (the toe slope). An anchored
    context comes from :func:`anchored_context` (the curve reaches the display peak at its
    ``src_peak``).
    """
    u = np.linspace(0.0, 1.0, size)
    m = ctx.src_peak * u * u
    m[0] = ctx.src_peak * (0.25 / (size - 1)) ** 2  # slope at 0 from a tiny positive sample
    return (tone(curve, params, m, ctx) / m).astype(np.float32)


def apply_maxrgb(rgb, curve: ToneCurve, params: Mapping[str, float], ctx: ToneContext) -> np.ndarray:
    """Reference tone mapping: ``rgb * f(m)/m`` with ``m = max(R, G, B)`` and ``f`` the exact
    :func:`tone` in context ``ctx`` (no LUT).

    ``rgb``: linear relative (..., 3), negatives clamped to 0. Keeps RGB ratios, so hue
    and saturation in linear light are unchanged; a pixel at the source peak lands on
    the display peak.
    """
    rgb = np.clip(np.asarray(rgb, dtype=np.float64), 0, None)
    m = rgb.max(axis=-1)
    y = tone(curve, params, m, ctx)
    gain = np.divide(y, m, out=np.zeros_like(m), where=m > 0)
    return rgb * gain[..., None]


def encoded_mid_grey(curve: ToneCurve, params: Mapping[str, float], src_peak: float) -> float:
    """sRGB-encoded SDR output of 18 % grey: the quantity :data:`MID_GREY_ANCHOR` bounds."""
    return float(eotf_inverse_srgb(curve.apply(np.array([0.18]), src_peak, 1.0, **params))[0])


__all__.append("encoded_mid_grey")



# ------------------------------------------------------- reference-white anchor
#: End slope of the highlight shoulder of :func:`apply_anchored`, as a multiple of the
#: shoulder's mean slope in PQ: above zero so the brightest highlights keep distinct levels
#: (the BT.2390 Hermite ends flat: 1000 and 4000 cd/m^2 4 codes apart at a 4000 cd/m^2 peak;
#: 2.5 gives 18, 1.0 gives 12.7 BT.1886 8-bit codes).
SHOULDER_END_SLOPE = 2.5


class ToneContext(NamedTuple):
    """The per-picture context a tone curve is evaluated in, linear relative (1.0 = 203 cd/m^2).

    The counterpart of libplacebo's ``pl_tone_map_params`` (``input_max``, ``output_max``):
    everything about the picture and the display that the curve's shape depends on, beside the
    curve's own parameters. One record travels from the render call (a still's measured peak,
    a video frame's smoothed one) to the curve, so the still and the video paths cannot pass
    it differently.

    Attributes
    ----------
    src_peak : float
        Source peak the curve maps onto ``dst_peak`` (for an anchored context the one
        :func:`anchored_peak` gives).
    dst_peak : float
        Tone target: the display peak relative to SDR white (1.0 = SDR).
    anchor_peak : float or None
        Static peak of the source description that fixes reference white and everything
        below it (:func:`apply_anchored`); ``None``: the curve as it is at ``src_peak``.
    end_slope : float
        End slope of the anchored highlight shoulder, a multiple of its mean slope in PQ.

    Notes
    -----
    No scene average: no registered curve reads one (libplacebo's ``input_avg`` serves its
    ST 2094 knee, which hdrkit takes from the metadata, :mod:`hdrkit.core.st2094`).
    """

    src_peak: float
    dst_peak: float = 1.0
    anchor_peak: float | None = None
    end_slope: float = SHOULDER_END_SLOPE


def _pq_rel(x):
    return eotf_inverse_st2084(np.asarray(x, np.float64) * SDR_WHITE_NITS)


def _anchor(curve: ToneCurve, params: Mapping[str, float], dst_peak: float, anchor_peak: float):
    """(PQ of white's output, slope at white in PQ in / PQ out) of the curve at ``anchor_peak``,
    or None when the curve leaves reference white at or above the display peak (nothing to anchor)."""
    if anchor_peak <= dst_peak or not curve.mid_grey_anchored:
        return None
    key = (curve, tuple(sorted(params.items())), float(dst_peak), float(anchor_peak))
    try:
        hash(key)
    except TypeError:  # a curve registered with unhashable fields: computed, not kept
        return _anchor_at.__wrapped__(*key)
    return _anchor_at(*key)


@lru_cache(maxsize=64)
def _anchor_at(curve: ToneCurve, items: tuple, dst_peak: float, anchor_peak: float):
    """:func:`_anchor` for ``dict(items)``, kept: a clip's every frame and LUT has the same anchor
    (three evaluations of the curve per LUT otherwise, a third of a LUT's constants)."""
    params = dict(items)
    d = 1e-4
    y = curve.apply(np.array([1.0 - d, 1.0, 1.0 + d]), anchor_peak, dst_peak, **params)
    if y[1] >= dst_peak * (1 - 1e-6):
        return None
    q = _pq_rel(y)
    e = _pq_rel(np.array([1.0 - d, 1.0 + d]))
    return float(q[1]), float(max((q[2] - q[0]) / (e[1] - e[0]), 1e-6))


def anchored_peak(curve: ToneCurve, params: Mapping[str, float], src_peak: float, dst_peak: float,
                  anchor_peak: float) -> float:
    """The source peak :func:`apply_anchored` maps onto ``dst_peak``: ``src_peak``, raised where
    needed so the highlight shoulder never expands PQ (its mean slope in PQ stays at most 1:
    a frame whose highlights barely pass reference white is not stretched to the display peak)."""
    a = _anchor(curve, params, dst_peak, anchor_peak)
    if a is None:
        return float(src_peak)
    q_w, _ = a
    e_w = float(_pq_rel(1.0))
    e_min = e_w + (float(_pq_rel(dst_peak)) - q_w)
    if float(_pq_rel(src_peak)) >= e_min:
        return float(src_peak)
    return float(eotf_st2084(min(e_min, 1.0)) / SDR_WHITE_NITS)


def apply_anchored(curve: ToneCurve, params: Mapping[str, float], x, ctx: ToneContext) -> np.ndarray:
    """The curve with reference white anchored: everything up to reference white (x <= 1,
    203 cd/m^2) follows the curve at the static ``ctx.anchor_peak`` (the source description:
    MaxCLL, mastering peak, or for a still its measured peak), and only the highlights above
    it follow the (per-frame, smoothed) ``ctx.src_peak``.

    Above white, in the PQ domain (in and out), a Gregory-Delbourgo rational segment
    (:func:`rational_quadratic`) runs from white's output with the curve's own slope there
    (C1) to the display peak at :func:`anchored_peak` with ``ctx.end_slope`` times its mean
    slope: monotone, and distinct levels up to the peak. When the highlights alone change,
    reference white, grey and skin do not move (no pumping). Curves that reproduce another
    system (``mid_grey_anchored=False``) and curves that leave white at the display peak are
    used as they are, at ``src_peak``.

    References
    ----------
    - ITU-R BT.2408-7 §2.1 (reference white 203 cd/m^2); ITU-R BT.2100-2 Table 4 (PQ).
    - Gregory & Delbourgo (1982) (monotone C1 rational segment).
    """
    src_peak, dst_peak = ctx.src_peak, ctx.dst_peak
    A = src_peak if ctx.anchor_peak is None else float(ctx.anchor_peak)
    a = _anchor(curve, params, dst_peak, A)
    if a is None:
        return curve.apply(x, src_peak, dst_peak, **params)
    q_w, d0 = a
    P = anchored_peak(curve, params, src_peak, dst_peak, A)
    x = np.clip(np.asarray(x, np.float64), 0.0, None)
    base = curve.apply(np.minimum(x, 1.0), A, dst_peak, **params)
    e_w, e_p, q_d = float(_pq_rel(1.0)), float(_pq_rel(P)), float(_pq_rel(dst_peak))
    h = e_p - e_w
    t = np.clip((_pq_rel(np.clip(x, 1.0, P)) - e_w) / h, 0.0, 1.0)
    k = float(ctx.end_slope)
    q = rational_quadratic(t, q_w, q_d, d0, k * (q_d - q_w) / h, h)
    hi = eotf_st2084(q) / SDR_WHITE_NITS
    return np.clip(np.where(x <= 1.0, base, np.where(x >= P, dst_peak, hi)), 0.0, dst_peak)


def anchored_context(curve: ToneCurve, params: Mapping[str, float], src_peak: float, dst_peak: float = 1.0,
                     anchor_peak: float | None = None, end_slope: float = SHOULDER_END_SLOPE) -> ToneContext:
    """The context of an anchored render (:func:`apply_anchored`): the anchor is ``anchor_peak``
    or, for a still, ``src_peak`` itself; the context's ``src_peak`` is :func:`anchored_peak`'s.

    Raises
    ------
    OptionError
        When the anchor peak is not finite and positive.
    """
    A = float(src_peak if anchor_peak is None else anchor_peak)
    if not (np.isfinite(A) and A > 0):
        raise OptionError(f"anchor peak must be finite and positive, not {anchor_peak}")
    return ToneContext(anchored_peak(curve, params, float(src_peak), dst_peak, A), float(dst_peak), A,
                       float(end_slope))


def tone(curve: ToneCurve, params: Mapping[str, float], x, ctx: ToneContext) -> np.ndarray:
    """Display light of linear relative ``x`` (any shape, float64 out) in context ``ctx``: the
    anchored curve (:func:`apply_anchored`) when the context has an anchor, else the curve as
    it is at ``ctx.src_peak``."""
    if ctx.anchor_peak is None:
        return curve.apply(x, ctx.src_peak, ctx.dst_peak, **params)
    return apply_anchored(curve, params, x, ctx)


__all__ += ["SHOULDER_END_SLOPE", "ToneContext", "anchored_peak", "apply_anchored", "anchored_context", "tone"]
