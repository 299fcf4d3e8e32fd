"""Gamut mapping from a wide gamut (Display P3, BT.2020) into a smaller one (BT.709 / sRGB).

All maps work in linear light on display-referred RGB whose peak is ``peak`` (1.0 for
SDR), after tone mapping. Registry :data:`GAMUT_MAPS`:

``perceptual``
    1. Linear-light matrix to the target primaries (derived in :mod:`.primaries`).
    2. Soft compression toward the achromatic axis at constant luminance
       Y (target luminance weights): the chroma vector ``c = v - Y`` is scaled by a
       factor that leaves colours inside ``knee`` of the way to the target boundary
       untouched and maps the span from ``knee`` to the *source* gamut boundary (along
       the same direction) onto ``knee``..1 with a C1 monotone rational curve, so every
       colour of the source gamut lands inside the target and nothing clips.
    3. Skin guard: for skin-like colours (:data:`SKIN_HUE`, :data:`SKIN_SAT`) the
       knee moves to ``skin_knee`` (0.95), so skin is not desaturated unless it would
       leave the gamut (rather than a boundary widened for skin: the guard moves only the knee).
    4. Neon knee: for saturated non-skin colours whose largest channel exceeds ``neon_knee``
       (0.92), that channel gets a soft shoulder ``k + (c - k) / (1 + (c - k) / roll)``
       (a Reinhard-style rational roll-off), weighted by saturation, so red signs keep gradation instead of a
       flat 255 plateau.
``compress``: steps 1-2 only. ``clip``: step 1 then a hard clip (the naive chain).
``hue`` (default)
    Chroma compression along lines of constant lightness and hue in IPT
    (:mod:`hdrkit.core.ipt`): the colour's IPT lightness ``I`` and hue ``h`` stay, its chroma
    ``C`` (distance from the achromatic axis) is compared with the largest chroma the target
    (``C_dst``) and the source gamut (``C_src``) hold at that ``(I, h)`` (tables of the unit
    cube, exact up to bilinear reads), and ``C / C_dst`` goes through the same knee and
    rational roll-off as above with ``C_src / C_dst`` as its end, so the source boundary lands
    on the target boundary. A colour the table reads put a little outside is pulled toward
    the grey of its lightness in linear light, not clipped per channel. Tone mapping on
    max(R, G, B) scales linear light, which leaves IPT hue unchanged, so the rendered hue is
    the source's.

    Why IPT: its hue angle was fitted to constant-hue data (Hung & Berns 1995), blue
    included, where constant-Y scaling in linear RGB and CIELAB bend hue most; measured on
    BT.2020 / P3 primaries and secondaries at 100-1000 cd/m^2 through the video proxy, the
    ``hue`` map leaves 0.1 / 0.3 deg (BT.2020, mean / max) and 0.4 / 1.6 deg (P3) of IPT hue
    error against 6.8 / 15.7 and 4.0 / 17.8 for ``perceptual`` (``scripts/quality_charts.py``).
    Skin needs no guard (saturated P3 skin keeps within dE00 1.4, the guarded ``perceptual``
    map 1.6) and saturated ramps keep their lightness steps (no neon knee).

Scaling the chroma vector at constant Y (``perceptual``, ``compress``) keeps the dominant
wavelength in linear RGB, which is not constant perceived hue: measured, BT.2020 red moves
-14 to -16 deg in IPT, green +9, blue +12.5.

References
----------
- ACES Reference Gamut Compression (ACES TB-2021-1): distance-based compression with a
  threshold, parametrised so the source boundary maps to the target boundary.
- ITU-R BT.2407 (2017) Annex 2 (gamut mapping BT.2020 -> BT.709 at constant luminance).
- F. Ebner, M. D. Fairchild, "Development and testing of a color space (IPT) with improved hue
  uniformity", Proc. IS&T/SID 6th Color Imaging Conference (1998) 8-13.
- CIE 15:2004 (CIELAB hue angle, used by the skin-hue window).
- E. Reinhard, M. Stark, P. Shirley, J. Ferwerda, "Photographic tone reproduction for digital
  images", ACM SIGGRAPH 2002 (the rational shoulder ``x / (1 + x)`` of the neon knee).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from ..errors import OptionError
from .cielab import rgb_to_lab
from .ipt import IPT_EXPONENT, chroma_boundary, from_ich, ipt_to_rgb, lookup_boundary, rgb_to_ipt, to_ich
from .primaries import luminance_weights, rgb_to_rgb_matrix
from .tonemap import Param

__all__ = ["GamutMap", "GAMUT_MAPS", "DEFAULT_GAMUT_MAP", "get_gamut_map", "register_gamut_map", "skin_weight",
           "boundary_factor", "lab_hue_sat", "SKIN_HUE", "SKIN_SAT"]


@dataclass(frozen=True)
class GamutMap:
    """A registered gamut map: ``fn(rgb_src, src, dst, peak, **params) -> rgb_dst``."""

    name: str
    description: str
    version: str
    fn: Callable[..., np.ndarray]
    params: tuple[Param, ...] = ()

    def check_params(self, params: Mapping[str, float] | None) -> dict[str, float]:
        out = {p.name: p.default for p in self.params}
        known = {p.name: p for p in self.params}
        for k, v in (params or {}).items():
            if k not in known:
                raise OptionError(f"gamut map {self.name!r} has no parameter {k!r}")
            if not (known[k].lo <= float(v) <= known[k].hi):
                raise OptionError(f"gamut map {self.name!r} parameter {k}={v} outside [{known[k].lo}, {known[k].hi}]")
            out[k] = float(v)
        return out

    def apply(self, rgb, src: str, dst: str = "bt709", peak: float = 1.0, **params) -> np.ndarray:
        p = self.check_params(params)
        return self.fn(np.asarray(rgb, dtype=np.float64), src, dst, float(peak), **p)

    @property
    def tag(self) -> str:
        return f"{self.name}@{self.version}"


def boundary_factor(Y, c, peak: float) -> np.ndarray:
    """Largest s >= 0 with ``Y + s c`` inside [0, peak]^3 (inf where c = 0). Shapes (...), (..., 3)."""
    Y3 = Y[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(c > 0, (peak - Y3) / c, np.inf)
        dn = np.where(c < 0, Y3 / -c, np.inf)
    return np.maximum(np.minimum(up, dn).min(axis=-1), 0.0)


def lab_hue_sat(rgb_linear, primaries: str) -> tuple[np.ndarray, np.ndarray]:
    """CIELAB hue h_ab (deg) and saturation C*_ab / L* of linear RGB (CIE 15:2004 §8.2.1, D65)."""
    lab = rgb_to_lab(rgb_linear, primaries)
    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    return np.degrees(np.arctan2(b, a)) % 360, np.hypot(a, b) / np.maximum(L, 1e-6)


#: Skin window: CIELAB hue 30-80 deg (feathered 10 deg) and saturation C*/L* up to 1.2
#: (feathered to 0 at 1.6). Measured skin-chart colours span h_ab 50-78 deg and C*/L*
#: 0.3-1.15; a "25-65 deg" window (no colour space named) would miss light skin
#: (78 deg), and a hue window alone would take in saturated reds (h 40, C*/L* 1.9).
SKIN_HUE = (30.0, 80.0, 10.0)
SKIN_SAT = (1.2, 1.6)


def skin_weight(rgb_linear, primaries: str) -> np.ndarray:
    """1 for skin-like colours (:data:`SKIN_HUE`, :data:`SKIN_SAT`), 0 far from them, linear feathers."""
    h, s = lab_hue_sat(rgb_linear, primaries)
    lo, hi, fe = SKIN_HUE
    wh = np.clip(np.minimum(h - (lo - fe), (hi + fe) - h) / fe, 0.0, 1.0)
    ws = np.clip((SKIN_SAT[1] - s) / (SKIN_SAT[1] - SKIN_SAT[0]), 0.0, 1.0)
    return wh * ws


def _compress_ratio(r, r_max, knee):
    """Map chroma ratio r in [knee, r_max] onto [knee, 1]: C1 at the knee (slope 1), monotone,
    r_max -> 1 (Gregory-Delbourgo rational with end slopes a and 1/a, a = (r_max - knee)/(1 - knee)),
    so it tends to the identity as r_max -> 1 (continuous in r_max). Identity where r <= knee
    or r_max <= 1."""
    span = np.maximum(r_max - knee, 1e-12)
    t = np.clip((r - knee) / span, 0.0, 1.0)
    a = np.maximum(span / (1 - knee), 1.0)  # slope at t = 0 in normalised units (>= 1 when r_max >= 1)
    y = (t * t + a * t * (1 - t)) / (1 + (a + 1 / a - 2) * t * (1 - t))
    out = knee + (1 - knee) * y
    return np.where((r <= knee) | (r_max <= 1.0), r, out)


def _to_target(rgb, src, dst):
    return rgb @ rgb_to_rgb_matrix(src, dst).T if src != dst else rgb.copy()


def _compress(rgb, src, dst, peak, knee, skin_knee=None):
    v = _to_target(rgb, src, dst)
    w = luminance_weights(dst)
    Y = np.clip(v @ w, 0.0, peak)
    c = v - Y[..., None]
    s_dst = boundary_factor(Y, c, peak)
    # the same direction expressed in source RGB reaches the source boundary at s_src
    c_src = c @ rgb_to_rgb_matrix(dst, src).T if src != dst else c
    s_src = boundary_factor(Y, c_src, peak)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(np.isfinite(s_dst) & (s_dst > 0), 1.0 / s_dst, 0.0)
        r_max = np.where(np.isfinite(s_dst) & (s_dst > 0), s_src / s_dst, 1.0)
    r_max = np.maximum(r_max, r)
    k = knee
    wskin = None
    if skin_knee is not None:
        wskin = np.zeros(Y.shape)
        cand = r > knee  # only pixels the compression would touch need the hue test
        if cand.any():
            wskin[cand] = skin_weight(np.clip(v[cand], 0, None), dst)
        k = knee + (skin_knee - knee) * wskin
    r2 = _compress_ratio(r, r_max, k)
    scale = np.divide(r2, r, out=np.ones_like(r), where=r > 0)
    out = Y[..., None] + c * scale[..., None]
    return np.clip(out, 0.0, peak), wskin


def _perceptual(rgb, src, dst, peak, knee, skin_knee, neon_knee, neon_roll):
    out, wskin = _compress(rgb, src, dst, peak, knee, skin_knee)
    if neon_knee < 1.0:
        mx = out.max(axis=-1)
        mn = out.min(axis=-1)
        sat = np.divide(mx - mn, mx, out=np.zeros_like(mx), where=mx > 0)
        wn = np.clip((sat - 0.5) / 0.5, 0, 1) ** 2 * (1 - wskin)
        kk, rr = neon_knee * peak, neon_roll * peak
        over = np.maximum(out - kk, 0)
        soft = np.minimum(out, kk) + over / (1 + over / rr)
        out = out + wn[..., None] * (soft - out)
    return out


def _compress_only(rgb, src, dst, peak, knee):
    return _compress(rgb, src, dst, peak, knee)[0]


def _hue_map(rgb, src, dst, peak, knee):
    """Constant-hue chroma compression in IPT (see the module docstring, ``hue``)."""
    u = np.clip(np.asarray(rgb, np.float64), 0.0, None) / peak
    I, C, h, P, T = to_ich(rgb_to_ipt(u, src))
    c_dst = lookup_boundary(chroma_boundary(dst), I, h)
    c_src = lookup_boundary(chroma_boundary(src), I, h)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(C > 0, C / c_dst, 0.0)  # inf where the target has no chroma left at this lightness
        r_max = np.maximum(c_src / c_dst, r)
    fin = np.isfinite(r) & np.isfinite(r_max)
    r2 = _compress_ratio(np.where(fin, r, 0.0), np.where(fin, r_max, 1.0), knee)
    scale = np.where(fin, np.divide(r2, r, out=np.ones_like(r), where=r > 0), 0.0)
    out = ipt_to_rgb(from_ich(I, P * scale, T * scale), dst)
    # The boundary tables are read bilinearly, so a colour mapped onto the boundary may
    # overshoot it by a little; pull it toward the grey of its lightness (RGB ``In^(1/0.43)``)
    # along a straight line in linear light, just far enough, rather than clipping channels.
    g = np.clip(I, 0.0, 1.0) ** (1.0 / IPT_EXPONENT)
    c = out - g[..., None]
    t = np.minimum(boundary_factor(g, c, 1.0), 1.0)
    return np.clip(g[..., None] + c * t[..., None], 0.0, 1.0) * peak


def _clip(rgb, src, dst, peak):
    return np.clip(_to_target(rgb, src, dst), 0.0, peak)


GAMUT_MAPS: dict[str, GamutMap] = {}


def register_gamut_map(gm: GamutMap) -> GamutMap:
    """Add a gamut map to :data:`GAMUT_MAPS` (the one place a new map is declared)."""
    if gm.name in GAMUT_MAPS:
        raise ValueError(f"gamut map {gm.name!r} already registered")
    GAMUT_MAPS[gm.name] = gm
    return gm


_KNEE = Param("knee", 0.80, 0.5, 0.98, "fraction of the way to the target boundary left untouched")
register_gamut_map(GamutMap(
    "perceptual", "Soft chroma compression at constant Y, skin guard, neon channel knee", "1",
    _perceptual,
    (_KNEE,
     Param("skin_knee", 0.95, 0.5, 0.99, "knee used for skin hues (CIELAB h 30-80 deg, C*/L* <= 1.2: SKIN_HUE, SKIN_SAT)"),
     Param("neon_knee", 0.92, 0.8, 1.0, "channel level where the saturated-colour shoulder starts (1 = off)"),
     Param("neon_roll", 0.08, 0.01, 0.5, "shoulder roll of the neon knee"))))
register_gamut_map(GamutMap("compress", "Soft chroma compression at constant Y only", "1",
                            _compress_only, (_KNEE,)))
register_gamut_map(GamutMap("hue", "Chroma compression along lines of constant IPT lightness and hue", "1",
                            _hue_map, (Param("knee", 0.80, 0.7, 0.98, "fraction of the way to the target boundary "
                                             "(IPT chroma at the same lightness and hue) left untouched"),)))
register_gamut_map(GamutMap("clip", "Matrix to the target primaries, then clip each channel", "1", _clip))

DEFAULT_GAMUT_MAP = "hue"


def get_gamut_map(name: str) -> GamutMap:
    try:
        return GAMUT_MAPS[name]
    except KeyError:
        raise OptionError(f"unknown gamut map {name!r}; choose from {', '.join(GAMUT_MAPS)}") from None
