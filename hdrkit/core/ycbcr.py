"""Y'CbCr <-> R'G'B' (non-constant luminance) and code-value ranges.

``Y' = Kr R' + (1 - Kr - Kb) G' + Kb B'``, ``Cb = (B' - Y') / (2 (1 - Kb))``,
``Cr = (R' - Y') / (2 (1 - Kr))``. Kr and Kb are the luminance weights of the gamut
(derived from chromaticities in :mod:`hdrkit.core.primaries`) except BT.601, whose
0.299 / 0.114 are defined numbers (BT.601-7 §2.5.1), used by JPEG/JFIF.

Ranges (BT.2100-2 Table 9, BT.709-6 item 4.6): limited ("tv") ``D = round((219 Y' + 16) 2^(n-8))``,
``(224 C + 128) 2^(n-8)``; full ("pc") ``(2^n - 1) Y'`` and ``(2^n - 1) C + 2^(n-1)``
(JFIF / BT.2100 full range).

References
----------
- ITU-R BT.601-7 (03/2011) §2.5; ITU-R BT.709-6 items 3.2-3.3, 4.6;
  ITU-R BT.2020-2 Table 4-5; ITU-R BT.2100-2 Tables 6 and 9; JFIF 1.02 §7.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import OptionError
from .primaries import luminance_weights

__all__ = ["ycbcr_weights", "ycbcr_to_rgb_matrix", "rgb_to_ycbcr_matrix", "range_scale", "ycbcr_to_rgb", "rgb_to_ycbcr",
           "H273_MATRICES", "H273_MATRIX_CODES"]

#: ITU-T H.273 MatrixCoefficients -> :func:`ycbcr_weights` key (9 = BT.2020 non-constant
#: luminance, 1 = BT.709, 5 and 6 = BT.601 625 and 525 lines, which share their weights).
H273_MATRICES = {9: "bt2020", 1: "bt709", 5: "bt601", 6: "bt601"}
#: The code point hdrkit writes for each matrix.
H273_MATRIX_CODES = {"bt2020": 9, "bt709": 1, "bt601": 6}


@lru_cache(maxsize=None)
def ycbcr_weights(matrix: str) -> tuple[float, float]:
    """(Kr, Kb) for 'bt601' | 'bt709' | 'bt2020' (BT.2020 non-constant luminance)."""
    m = matrix.lower()
    if m in ("bt601", "bt470bg", "smpte170m", "jpeg"):
        return 0.299, 0.114
    if m in ("bt709", "bt2020", "bt2020nc"):
        w = luminance_weights("bt2020" if m.startswith("bt2020") else "bt709")
        return float(w[0]), float(w[2])
    raise OptionError(f"unknown Y'CbCr matrix {matrix!r}")


@lru_cache(maxsize=None)
def ycbcr_to_rgb_matrix(matrix: str) -> np.ndarray:
    """3x3 matrix taking (Y', Cb, Cr) with Cb, Cr centred on 0 to (R', G', B')."""
    kr, kb = ycbcr_weights(matrix)
    kg = 1 - kr - kb
    m = np.array([
        [1.0, 0.0, 2 * (1 - kr)],
        [1.0, -2 * (1 - kb) * kb / kg, -2 * (1 - kr) * kr / kg],
        [1.0, 2 * (1 - kb), 0.0],
    ])
    m.setflags(write=False)
    return m


@lru_cache(maxsize=None)
def rgb_to_ycbcr_matrix(matrix: str) -> np.ndarray:
    """Inverse of :func:`ycbcr_to_rgb_matrix`."""
    m = np.linalg.inv(ycbcr_to_rgb_matrix(matrix))
    m.setflags(write=False)
    return m


def range_scale(bit_depth: int, full_range: bool) -> tuple[float, float, float, float]:
    """(y_offset, y_scale, c_offset, c_scale) such that ``Y' = (D - y_offset) / y_scale``."""
    n = bit_depth
    if full_range:
        return 0.0, float(2**n - 1), float(2 ** (n - 1)), float(2**n - 1)
    s = 2.0 ** (n - 8)
    return 16 * s, 219 * s, 128 * s, 224 * s


def ycbcr_to_rgb(y, cb, cr, matrix: str, bit_depth: int, full_range: bool) -> np.ndarray:
    """Code values (equal-size planes) -> R'G'B' float32 (..., 3), nominally [0, 1], not clipped."""
    yo, ys, co, cs = range_scale(bit_depth, full_range)
    Y = (np.asarray(y, np.float32) - yo) / ys
    Cb = (np.asarray(cb, np.float32) - co) / cs
    Cr = (np.asarray(cr, np.float32) - co) / cs
    m = ycbcr_to_rgb_matrix(matrix).astype(np.float32)
    return np.stack([Y + m[0, 2] * Cr, Y + m[1, 1] * Cb + m[1, 2] * Cr, Y + m[2, 1] * Cb], axis=-1)


def rgb_to_ycbcr(rgb, matrix: str, bit_depth: int, full_range: bool) -> np.ndarray:
    """R'G'B' float (..., 3) -> code values float (..., 3) (Y, Cb, Cr), not rounded."""
    yo, ys, co, cs = range_scale(bit_depth, full_range)
    ycc = np.asarray(rgb, np.float64) @ rgb_to_ycbcr_matrix(matrix).T
    return np.stack([ycc[..., 0] * ys + yo, ycc[..., 1] * cs + co, ycc[..., 2] * cs + co], axis=-1)
