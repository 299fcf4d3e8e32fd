"""Gain-map maths (ISO 21496-1, Ultra HDR): placeholder header."""

from __future__ import annotations

import numpy as np

from .ycbcr import ycbcr_to_rgb_matrix

__all__ = ["jfif_ycc_to_rgb"]


def _ycc_coefficients() -> tuple[float, float, float, float]:
    """(Cr->R, Cb->G, Cr->G, Cb->B) of the BT.601 matrix (T.871), from the core."""
    m = ycbcr_to_rgb_matrix("bt601")
    return float(m[0, 2]), float(m[1, 1]), float(m[1, 2]), float(m[2, 1])


def jfif_ycc_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """8-bit full-range Y'CbCr (same-size planes) -> 8-bit R'G'B', as libjpeg does it.

    T.871 §7 equations in IJG ``jdcolor.c`` fixed point: 16 fractional bits, the
    coefficients rounded to 5 decimals as libjpeg writes them, round-half-up, clamped.
    Used for 3-channel gain-map JPEGs, whose samples libultrahdr reads as RGB.
    """
    cr_r, cb_g, cr_g, cb_b = (round(c, 5) for c in _ycc_coefficients())

    def fix(x: float) -> int:
        return int(x * 65536 + 0.5) if x >= 0 else -int(-x * 65536 + 0.5)

    x = np.arange(256, dtype=np.int64) - 128
    half = 1 << 15
    t_r = (fix(cr_r) * x + half) >> 16
    t_b = (fix(cb_b) * x + half) >> 16
    t_g = fix(cb_g) * x[:, None] + fix(cr_g) * x[None, :] + half  # [cb, cr]
    yi = y.astype(np.int64)
    r = yi + t_r[cr]
    g = yi + (t_g[cb, cr] >> 16)
    b = yi + t_b[cb]
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)
