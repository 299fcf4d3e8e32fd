"""Colour primaries as data, and every matrix derived from them.

Primaries are chromaticities (CIE 1931 xy) of R, G, B and the white point. The
RGB -> XYZ "normalised primary matrix" is computed from them (SMPTE RP 177-1993 §3.3),
its inverse by ``numpy.linalg.inv``, RGB -> RGB matrices by composition (with a Bradford
adaptation when white points differ), and luminance weights are its Y row. No rounded
matrix is pasted in.

References
----------
- ITU-R BT.709-6 (06/2015) Part 2 item 1.3-1.4 (primaries, D65).
- ITU-R BT.2020-2 (10/2015) Table 3; BT.2100-2 Table 2.
- SMPTE EG 432-1:2010 / Apple Display P3: DCI-P3 primaries with the D65 white point.
- IEC 61966-2-1:1999 (sRGB uses the BT.709 primaries and D65).
- SMPTE RP 177-1993 §3.3, derivation of the normalised primary matrix.
- Lam (1985) / Hunt, The Reproduction of Colour 6e, Bradford chromatic adaptation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import OptionError

__all__ = [
    "Primaries",
    "PRIMARIES",
    "get_primaries",
    "rgb_to_xyz_matrix",
    "xyz_to_rgb_matrix",
    "rgb_to_rgb_matrix",
    "luminance_weights",
    "BT709_LUMA_WEIGHTS",
    "xy_to_XYZ",
    "WHITE_D65",
    "chromatic_adaptation_matrix",
    "H273_PRIMARIES",
    "H273_PRIMARY_CODES",
]

#: CIE D65 as specified in BT.709 / BT.2020 / sRGB (4 decimals, as the standards write it).
WHITE_D65 = (0.3127, 0.3290)


@dataclass(frozen=True)
class Primaries:
    """A set of RGB primaries: xy of red, green, blue and the white point."""

    name: str
    description: str
    red: tuple[float, float]
    green: tuple[float, float]
    blue: tuple[float, float]
    white: tuple[float, float]

    def as_array(self) -> np.ndarray:
        """xy of R, G, B as a (3, 2) array."""
        return np.array([self.red, self.green, self.blue], dtype=np.float64)


#: The gamuts hdrkit works in, keyed by the names used across the package.
PRIMARIES: dict[str, Primaries] = {
    p.name: p
    for p in (
        Primaries("bt709", "ITU-R BT.709 / sRGB", (0.640, 0.330), (0.300, 0.600), (0.150, 0.060), WHITE_D65),
        Primaries("p3", "Display P3 (DCI-P3 primaries, D65 white)", (0.680, 0.320), (0.265, 0.690), (0.150, 0.060), WHITE_D65),
        Primaries("bt2020", "ITU-R BT.2020 / BT.2100", (0.708, 0.292), (0.170, 0.797), (0.131, 0.046), WHITE_D65),
    )
}

_ALIASES = {"srgb": "bt709", "rec709": "bt709", "display-p3": "p3", "displayp3": "p3", "p3-d65": "p3",
            "rec2020": "bt2020", "bt2100": "bt2020"}


def get_primaries(name: str | Primaries) -> Primaries:
    """Look a gamut up by name ('bt709' | 'p3' | 'bt2020', or a common alias)."""
    if isinstance(name, Primaries):
        return name
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    try:
        return PRIMARIES[key]
    except KeyError:
        raise OptionError(f"unknown primaries {name!r}; choose from {', '.join(PRIMARIES)}") from None


def xy_to_XYZ(xy, Y: float = 1.0) -> np.ndarray:
    """CIE xy chromaticity -> XYZ tristimulus with luminance ``Y``."""
    x, y = float(xy[0]), float(xy[1])
    return np.array([x / y * Y, Y, (1 - x - y) / y * Y])


@lru_cache(maxsize=None)
def _npm(name: str) -> np.ndarray:
    p = PRIMARIES[name]
    xyz = np.stack([xy_to_XYZ(c) for c in (p.red, p.green, p.blue)], axis=1)  # columns = primaries
    S = np.linalg.solve(xyz, xy_to_XYZ(p.white))
    m = xyz * S[None, :]
    m.setflags(write=False)
    return m


def rgb_to_xyz_matrix(primaries: str | Primaries) -> np.ndarray:
    """Normalised primary matrix (SMPTE RP 177 §3.3): linear RGB -> CIE XYZ, white Y = 1.

    Use as ``XYZ = rgb @ M.T`` for channels-last arrays.
    """
    return _npm(get_primaries(primaries).name)


def xyz_to_rgb_matrix(primaries: str | Primaries) -> np.ndarray:
    """Inverse of :func:`rgb_to_xyz_matrix`: CIE XYZ -> linear RGB."""
    return np.linalg.inv(rgb_to_xyz_matrix(primaries))


_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])


def chromatic_adaptation_matrix(src_white, dst_white) -> np.ndarray:
    """Bradford von Kries adaptation, XYZ under ``src_white`` -> XYZ under ``dst_white`` (xy pairs)."""
    s = _BRADFORD @ xy_to_XYZ(src_white)
    d = _BRADFORD @ xy_to_XYZ(dst_white)
    return np.linalg.inv(_BRADFORD) @ np.diag(d / s) @ _BRADFORD


@lru_cache(maxsize=None)
def _rgb2rgb(src: str, dst: str) -> np.ndarray:
    ps, pd = PRIMARIES[src], PRIMARIES[dst]
    m = xyz_to_rgb_matrix(dst)
    if ps.white != pd.white:
        m = m @ chromatic_adaptation_matrix(ps.white, pd.white)
    m = m @ rgb_to_xyz_matrix(src)
    m.setflags(write=False)
    return m


def rgb_to_rgb_matrix(src: str | Primaries, dst: str | Primaries) -> np.ndarray:
    """Linear RGB in ``src`` primaries -> linear RGB in ``dst`` primaries (3x3).

    ``M = XYZ->RGB(dst) @ [Bradford(src white -> dst white)] @ RGB->XYZ(src)``.
    Use as ``out = rgb @ M.T`` for channels-last arrays.
    """
    return _rgb2rgb(get_primaries(src).name, get_primaries(dst).name)


#: BT.709's luma weights as ITU-R BT.709-6 item 3.2 prints them (four decimals): for weighting
#: encoded R'G'B' codes (luma, Y') where a measure or a written file is defined by exactly these
#: numbers. :func:`luminance_weights` derives any gamut's weights at full precision.
BT709_LUMA_WEIGHTS = (0.2126, 0.7152, 0.0722)


def luminance_weights(primaries: str | Primaries) -> np.ndarray:
    """Relative luminance weights (the Y row of the NPM) of a gamut: ``Y = rgb @ w``.

    BT.709 gives 0.2126/0.7152/0.0722 and BT.2020 0.2627/0.6780/0.0593 to four
    decimals, as those standards print them; Display P3 has its own weights
    (0.2290/0.6917/0.0793), not BT.2020's.
    """
    return rgb_to_xyz_matrix(primaries)[1].copy()


#: ITU-T H.273 ColourPrimaries -> :data:`PRIMARIES` key (12 = SMPTE EG 432 P3-D65). Video tags
#: and the PNG cICP chunk use the same code points.
H273_PRIMARIES = {1: "bt709", 9: "bt2020", 12: "p3"}
#: The code point hdrkit writes for each primaries name (the inverse of :data:`H273_PRIMARIES`).
H273_PRIMARY_CODES = {name: code for code, name in H273_PRIMARIES.items()}
