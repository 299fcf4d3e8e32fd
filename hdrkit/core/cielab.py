"""CIE 1976 L*a*b* from linear RGB (CIE 15:2004 §8.2.1), used by the gamut map's skin guard
and by the colour metrics.

====== ================ ==================================================
in     XYZ / RGB        relative, linear; 1.0 = SDR white (203 cd/m^2)
out    L*, a*, b*       L* = 100 at the white; HDR values above 1 give L* > 100
====== ================ ==================================================
"""

from __future__ import annotations

import numpy as np

from .primaries import rgb_to_xyz_matrix

__all__ = ["xyz_to_lab", "rgb_to_lab"]

_D = 6.0 / 29.0


def xyz_to_lab(xyz, white_xyz) -> np.ndarray:
    """CIE XYZ -> CIELAB (CIE 15:2004 §8.2.1), white ``white_xyz``.

    ``f(t) = t^(1/3)`` for ``t > (6/29)^3``, else ``t / (3 (6/29)^2) + 4/29``;
    ``L* = 116 f(Y/Yn) - 16``, ``a* = 500 (f(X/Xn) - f(Y/Yn))``, ``b* = 200 (f(Y/Yn) - f(Z/Zn))``.
    """
    t = np.asarray(xyz, dtype=np.float64) / np.asarray(white_xyz, dtype=np.float64)
    f = np.where(t > _D**3, np.cbrt(t), t / (3 * _D * _D) + 4.0 / 29.0)
    L = 116.0 * f[..., 1] - 16.0
    a = 500.0 * (f[..., 0] - f[..., 1])
    b = 200.0 * (f[..., 1] - f[..., 2])
    return np.stack([L, a, b], axis=-1)


def rgb_to_lab(rgb, primaries: str = "bt709") -> np.ndarray:
    """Linear RGB in ``primaries`` -> CIELAB, white = the gamut's white at Y = 1 (D65 for
    every gamut hdrkit knows), from the chromaticity-derived matrix of
    :func:`hdrkit.core.primaries.rgb_to_xyz_matrix`."""
    m = rgb_to_xyz_matrix(primaries)
    return xyz_to_lab(np.asarray(rgb, dtype=np.float64) @ m.T, m.sum(axis=1))
