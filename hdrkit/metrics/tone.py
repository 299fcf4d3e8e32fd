"""Tone metrics: preview-vs-export consistency, reference levels, highlight retention, EOTF RMSE.

Conventions
-----------
- *encoded*: sRGB-encoded R'G'B' in [0, 1] (float) or 8-bit codes (uint8), channels last.
  Any integer array is read as 8-bit codes (``/ 255``).
- *display-linear*: the decoded light of the SDR display, [0, 1], 1.0 = display white
  (IEC 61966-2-1 decoding, :func:`hdrkit.core.transfer.eotf_srgb`).
- *Y*: relative luminance of display-linear BT.709 RGB, weights from the core
  (:func:`hdrkit.core.primaries.luminance_weights`, 0.2126 / 0.7152 / 0.0722).
- Source light is hdrkit linear (1.0 = SDR white = 203 cd/m^2, BT.2408).

Definitions
-----------
``mad_8bit(preview, export)``
    Mean over all pixels and channels of ``|255 preview - 255 export|``: the mean absolute
    error in 8-bit code units ("0.5" means 0.5/255).
``highlight_mask(preview)``
    Pixels whose preview luminance is above its 90th percentile (``Y > t90``);
    when ties at the top leave that empty (a clipped sky), ``Y >= t90``.
``highlight_delta_y(preview, export)``
    Mean and 95th percentile of ``|Y_export - Y_preview|`` (display-linear) over the
    highlight mask (``ΔY_export-preview``).
``encoded_level(img, mask)``
    sRGB encoding of the mean display-linear luminance over a mask (the level a patch
    reads at, e.g. the reference-white or mid-grey patch of a chart).
``highlight_retention(export, source, mask)``
    ``P95(maxRGB(export)) / P95(min(maxRGB(source in BT.709), D) / D)`` over the highlight
    ROI: how much of what the SDR display *could* show of the highlights is shown (the P95
    of the highlight ROI against the reference; hdrkit's gate asks >= 0.9). ``D`` is the display
    peak (target headroom, 1.0 for SDR).
``eotf_rmse(export, source, mask, curve, params, src_peak)``
    RMS difference, in encoded [0, 1] units, between the export's encoded luminance and the
    curve's intent ``sRGB(curve(source))`` over a grey-ramp ROI. Neither side is normalised
    by its maximum: that would hide a level error.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ..core.primaries import luminance_weights, rgb_to_rgb_matrix
from ..core.transfer import eotf_inverse_srgb, eotf_srgb

__all__ = [
    "as_encoded",
    "display_linear",
    "luminance",
    "mad_8bit",
    "highlight_mask",
    "highlight_delta_y",
    "encoded_level",
    "highlight_retention",
    "eotf_rmse",
    "HIGHLIGHT_PERCENTILE",
]

#: Percentile of preview luminance above which a pixel is a highlight.
HIGHLIGHT_PERCENTILE = 90.0


def as_encoded(img) -> np.ndarray:
    """Encoded image as float64 in [0, 1]: integer arrays are 8-bit codes, floats pass through."""
    a = np.asarray(img)
    if np.issubdtype(a.dtype, np.integer):
        return a.astype(np.float64) / 255.0
    return a.astype(np.float64)


def display_linear(img) -> np.ndarray:
    """sRGB-encoded image (float [0, 1] or 8-bit) -> display-linear [0, 1] (IEC 61966-2-1)."""
    return eotf_srgb(np.clip(as_encoded(img), 0.0, 1.0))


def luminance(linear_rgb, primaries: str = "bt709") -> np.ndarray:
    """Relative luminance Y of linear RGB (the NPM's Y row of ``primaries``)."""
    return np.asarray(linear_rgb, dtype=np.float64) @ luminance_weights(primaries)


def mad_8bit(preview, export, mask=None) -> float:
    """Mean absolute difference in 8-bit code units between two encoded images.

    ====== ==================== =========================
    in     preview, export      encoded, float [0,1] or uint8, (H, W, 3)
    out    MAD                  code units (0.5 = 0.5/255)
    ====== ==================== =========================
    """
    d = np.abs(as_encoded(preview) - as_encoded(export)) * 255.0
    if mask is not None:
        d = d[np.asarray(mask, bool)]
    return float(d.mean()) if d.size else 0.0


def highlight_mask(preview, percentile: float = HIGHLIGHT_PERCENTILE) -> np.ndarray:
    """Boolean (H, W): preview luminance above its ``percentile`` (>= when ties empty the strict set)."""
    Y = luminance(display_linear(preview))
    t = np.percentile(Y, percentile)
    m = Y > t
    return m if m.any() else Y >= t


def highlight_delta_y(preview, export, mask=None) -> tuple[float, float]:
    """(mean, P95) of ``|Y_export - Y_preview|`` over the highlight mask, display-linear units."""
    if mask is None:
        mask = highlight_mask(preview)
    mask = np.asarray(mask, bool)
    if not mask.any():
        return 0.0, 0.0
    d = np.abs(luminance(display_linear(export))[mask] - luminance(display_linear(preview))[mask])
    return float(d.mean()), float(np.percentile(d, 95))


def encoded_level(img, mask) -> float:
    """sRGB-encoded mean luminance of ``img`` (encoded) over ``mask``: what a patch reads at, [0, 1]."""
    mask = np.asarray(mask, bool)
    if not mask.any():
        return float("nan")
    return float(eotf_inverse_srgb(np.array(luminance(display_linear(img))[mask].mean())))


def highlight_retention(export, source_linear, mask, source_primaries: str = "bt709", display_peak: float = 1.0,
                        percentile: float = 95.0) -> float:
    """Share of the displayable highlight level that the export keeps (hdrkit's gate: >= 0.9).

    ====== ================== ===========================================
    in     export             encoded SDR (float [0,1] or uint8)
    in     source_linear      hdrkit linear (1.0 = 203 cd/m^2) in ``source_primaries``
    in     mask               highlight ROI (bool, H x W)
    out    retention          ratio, 1.0 = highlights as bright as the display allows
    ====== ================== ===========================================

    Both sides use max(R, G, B), so saturated highlights (neon, LEDs) count by their
    strongest channel, not by their (low) luminance.
    """
    mask = np.asarray(mask, bool)
    if not mask.any():
        return float("nan")
    src = np.asarray(source_linear, dtype=np.float64)[mask]
    if source_primaries != "bt709":
        src = src @ rgb_to_rgb_matrix(source_primaries, "bt709").T
    target = np.minimum(np.clip(src, 0, None).max(axis=-1), display_peak) / display_peak
    got = display_linear(export)[mask].max(axis=-1)
    t = np.percentile(target, percentile)
    return float(np.percentile(got, percentile) / t) if t > 0 else float("nan")


def eotf_rmse(export, source_linear, mask, curve, params: Mapping[str, float], src_peak: float,
              display_peak: float = 1.0, tone=None) -> float:
    """RMS error (encoded units) of the export against the tone curve's own intent on a grey ROI.

    ====== ================== ===========================================
    in     export             encoded SDR (float [0,1] or uint8)
    in     source_linear      hdrkit linear grey values (R = G = B), any primaries
    in     curve, params      a :class:`hdrkit.core.tonemap.ToneCurve` and its parameters
    out    RMSE               encoded [0, 1] units (0.01 ~ 2.6 codes)
    ====== ================== ===========================================

    Intent: ``eotf_inverse_srgb(curve.apply(maxRGB(source), src_peak, D) / D)``, or with
    ``tone`` (a function of max(R, G, B) giving display light 0..D, e.g. the render's anchored
    curve) ``tone(maxRGB(source)) / D``; measured: ``eotf_inverse_srgb(Y(display_linear(export)))``.
    """
    mask = np.asarray(mask, bool)
    if not mask.any():
        return float("nan")
    m = np.clip(np.asarray(source_linear, dtype=np.float64)[mask], 0, None).max(axis=-1)
    y = curve.apply(m, src_peak, display_peak, **dict(params)) if tone is None else tone(m)
    intent = eotf_inverse_srgb(np.clip(y / display_peak, 0, 1))
    got = eotf_inverse_srgb(np.clip(luminance(display_linear(export)[mask]), 0, 1))
    return float(np.sqrt(np.mean((got - intent) ** 2)))
