"""IPT colour space (Ebner & Fairchild) and its gamut boundaries at constant lightness and hue.

IPT was fitted to constant-hue data (Hung & Berns 1995) so that its hue angle
``atan2(T, P)`` follows perceived hue along lines of changing chroma, blue included, which is
what a gamut map that moves colours toward the achromatic axis needs; libplacebo gamut-maps
in a PQ variant of the same space for the same reason.

Linear RGB -> XYZ (D65, white Y = 1) -> LMS (Hunt-Pointer-Estevez, D65-normalised) ->
``L' = sign(L) |L|^0.43`` -> IPT. Scaling linear light by ``k`` scales I, P and T by
``k^0.43``: hue is independent of the absolute level, and the boundary of the cube
``[0, D]^3`` is that of ``[0, 1]^3`` scaled by ``D^0.43``.

References
----------
- F. Ebner, M. D. Fairchild, "Development and testing of a color space (IPT) with improved
  hue uniformity", Proc. IS&T/SID 6th Color Imaging Conference (1998) 8-13 (matrices, exponent).
- P. Hung, R. S. Berns, "Determination of constant hue loci for a CRT gamut and their
  predictions using color appearance spaces", Color Res. Appl. 20 (1995) 285-295.
- libplacebo ``src/gamut_mapping.c`` (hue-constant mapping in IPT).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources

import numpy as np

from .primaries import rgb_to_xyz_matrix

__all__ = ["IPT_EXPONENT", "LMS_FROM_XYZ", "IPT_FROM_LMS", "rgb_to_ipt", "ipt_to_rgb", "ipt_matrices",
           "to_ich", "from_ich", "chroma_boundary", "bisect_boundary", "boundary_fingerprint", "lookup_boundary",
           "BOUNDARY_I", "BOUNDARY_H", "BOUNDARY_DATA", "NEUTRAL"]

#: Ebner & Fairchild (1998): XYZ (D65) -> LMS, and L'M'S' -> IPT.
LMS_FROM_XYZ = np.array([[0.4002, 0.7075, -0.0807], [-0.2280, 1.1500, 0.0612], [0.0, 0.0, 0.9184]])
IPT_FROM_LMS = np.array([[0.4000, 0.4000, 0.2000], [4.4550, -4.8510, 0.3960], [0.8056, 0.3572, -1.1628]])
IPT_EXPONENT = 0.43

#: Boundary table grid: lightness I in [0, 1] (white of the unit cube is I = 1) and hue in
#: [-pi, pi] (both ends stored, so the hue axis interpolates across the wrap).
BOUNDARY_I = 129
BOUNDARY_H = 361


@lru_cache(maxsize=8)
def ipt_matrices(primaries: str) -> tuple[np.ndarray, np.ndarray]:
    """(LMS from linear RGB, linear RGB from LMS) for the named primaries, float64 read-only."""
    fwd = LMS_FROM_XYZ @ rgb_to_xyz_matrix(primaries)
    inv = np.linalg.inv(fwd)
    for m in (fwd, inv):
        m.setflags(write=False)
    return fwd, inv


def rgb_to_ipt(rgb, primaries: str) -> np.ndarray:
    """Linear RGB (..., 3; 1.0 = white) -> IPT (..., 3). I of white is 1."""
    lms = np.asarray(rgb, np.float64) @ ipt_matrices(primaries)[0].T
    lp = np.sign(lms) * np.abs(lms) ** IPT_EXPONENT
    return lp @ IPT_FROM_LMS.T


_LMS_FROM_IPT = np.linalg.inv(IPT_FROM_LMS)


def ipt_to_rgb(ipt, primaries: str) -> np.ndarray:
    """IPT (..., 3) -> linear RGB in the named primaries (inverse of :func:`rgb_to_ipt`)."""
    lp = np.asarray(ipt, np.float64) @ _LMS_FROM_IPT.T
    lms = np.sign(lp) * np.abs(lp) ** (1.0 / IPT_EXPONENT)
    return lms @ ipt_matrices(primaries)[1].T


#: IPT of D65 white (Y = 1). The published matrices, rounded to four digits, put it at
#: (1.0000047, 1.2e-4, -1.1e-4), not exactly on the I axis; the achromatic axis is the line
#: through black and this point, and chroma is measured from it.
NEUTRAL = rgb_to_ipt(np.ones(3), "bt709")
NEUTRAL.setflags(write=False)


def to_ich(ipt) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """IPT -> (lightness ``In = I / I_white``, chroma ``C``, hue ``h`` in radians, chroma vector ``dP``, ``dT``)
    about the achromatic axis :data:`NEUTRAL` (greys have C = 0 exactly)."""
    ipt = np.asarray(ipt, np.float64)
    In = ipt[..., 0] / NEUTRAL[0]
    dP = ipt[..., 1] - In * NEUTRAL[1]
    dT = ipt[..., 2] - In * NEUTRAL[2]
    return In, np.hypot(dP, dT), np.arctan2(dT, dP), dP, dT


def from_ich(In, dP, dT) -> np.ndarray:
    """Inverse of :func:`to_ich` from the lightness and the chroma vector."""
    return np.stack([In * NEUTRAL[0], dP + In * NEUTRAL[1], dT + In * NEUTRAL[2]], -1)


#: Precomputed :func:`chroma_boundary` tables, one per named primaries (``scripts/make_boundary_tables.py``).
BOUNDARY_DATA = "ipt_boundary.npz"


@lru_cache(maxsize=8)
def chroma_boundary(primaries: str) -> np.ndarray:
    """Largest IPT chroma inside the unit RGB cube at each (I, hue) grid point: (BOUNDARY_I, BOUNDARY_H).

    Rows: lightness ``In = i / (BOUNDARY_I - 1)`` (of :func:`to_ich`); columns: hue
    ``h = -pi + 2 pi j / (BOUNDARY_H - 1)``. Found by bisection (:func:`bisect_boundary`).
    The package ships the result for the named primaries (:data:`BOUNDARY_DATA`, the same
    float64 values, read in about a millisecond instead of 0.1-0.2 s of CPU per table); it is
    used only while its fingerprint (:func:`boundary_fingerprint`) matches the numbers it was
    computed from, so a change to any of them computes the table again.
    """
    tab = _shipped_boundary(primaries)
    if tab is None:
        tab = bisect_boundary(primaries)
    tab.setflags(write=False)
    return tab


def bisect_boundary(primaries: str) -> np.ndarray:
    """:func:`chroma_boundary` computed: bisection (48 halvings) along each constant-(In, h) ray
    from the achromatic axis, which is inside for 0 <= In <= 1. Near black the boundary is a
    cone (the faces ``channel = 0`` pass through black), so the chroma there is proportional
    to I and linear interpolation in I is exact."""
    I = np.linspace(0.0, 1.0, BOUNDARY_I)[:, None]
    h = np.linspace(-np.pi, np.pi, BOUNDARY_H)[None, :]
    I, h = np.broadcast_arrays(I, h)
    cos, sin = np.cos(h), np.sin(h)
    lo = np.zeros(I.shape)
    hi = np.full(I.shape, 2.0)
    for _ in range(48):
        mid = 0.5 * (lo + hi)
        rgb = ipt_to_rgb(from_ich(I, mid * cos, mid * sin), primaries)
        inside = ((rgb >= -1e-9) & (rgb <= 1 + 1e-9)).all(-1)
        lo = np.where(inside, mid, lo)
        hi = np.where(inside, hi, mid)
    return lo


def boundary_fingerprint() -> str:
    """SHA-256 of every number the boundary tables are computed from (the IPT matrices and
    exponent, the neutral axis, the grid, and each named gamut's RGB -> LMS matrices): the key of
    the shipped tables. Edits that leave these numbers alone (documentation, code layout) keep
    the shipped tables; a change to the bisection itself is caught by the tests, which compare
    the shipped tables with a fresh one."""
    from .primaries import PRIMARIES

    h = hashlib.sha256()
    h.update(np.asarray([IPT_EXPONENT, BOUNDARY_I, BOUNDARY_H], np.float64).tobytes())
    for m in (_LMS_FROM_IPT, NEUTRAL):
        h.update(np.ascontiguousarray(m, np.float64).tobytes())
    for name in sorted(PRIMARIES):
        h.update(name.encode())
        for m in ipt_matrices(name):
            h.update(np.ascontiguousarray(m, np.float64).tobytes())
    return h.hexdigest()


def _shipped_boundary(primaries: str) -> np.ndarray | None:
    """The shipped table of ``primaries`` (an alias is resolved), or None when there is none or
    it was computed from other sources."""
    from .primaries import _ALIASES

    if not isinstance(primaries, str):
        return None
    name = _ALIASES.get(primaries.lower(), primaries.lower())
    try:
        with resources.files("hdrkit.data").joinpath(BOUNDARY_DATA).open("rb") as f, np.load(f) as data:
            if str(data["fingerprint"]) != boundary_fingerprint() or name not in data.files:
                return None
            tab = data[name]
    except (OSError, KeyError, ValueError):  # not shipped, or unreadable: compute
        return None
    return tab if tab.shape == (BOUNDARY_I, BOUNDARY_H) and tab.dtype == np.float64 else None


def lookup_boundary(table: np.ndarray, I, h) -> np.ndarray:
    """Bilinear read of a :func:`chroma_boundary` table at lightness ``I`` (clamped to [0, 1])
    and hue ``h`` (radians, [-pi, pi])."""
    ni, nh = table.shape
    u = np.clip(np.asarray(I, np.float64), 0.0, 1.0) * (ni - 1)
    v = (np.asarray(h, np.float64) + np.pi) / (2 * np.pi) * (nh - 1)
    v = np.clip(v, 0.0, nh - 1)
    i0 = np.minimum(u.astype(np.int64), ni - 2)
    j0 = np.minimum(v.astype(np.int64), nh - 2)
    fu, fv = u - i0, v - j0
    a = table[i0, j0] * (1 - fv) + table[i0, j0 + 1] * fv
    b = table[i0 + 1, j0] * (1 - fv) + table[i0 + 1, j0 + 1] * fv
    return a * (1 - fu) + b * fu
