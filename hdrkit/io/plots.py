"""Plots of the colour core's registries (matplotlib, Agg backend, written atomically)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.tonemap import DEFAULT_CURVE, PRESETS, TONE_CURVES, resolve_curve
from ..core.transfer import eotf_inverse_srgb
from .atomic import save_png

__all__ = ["plot_curves"]


def plot_curves(path: Path, peak: float) -> None:
    """Write a PNG of every registered tone curve and preset.

    Parameters
    ----------
    path : path-like
        Output PNG (written atomically).
    peak : float
        Source peak, linear relative (1.0 = 203 cd/m^2).

    Notes
    -----
    Left: linear in and out; right: input in cd/m^2 (log axis) against sRGB-encoded output
    (IEC 61966-2-1), mid-grey and reference white (ITU-R BT.2408) marked.
    """
    import matplotlib  # lazy: matplotlib takes about a second to import

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.linspace(0, peak, 2000)
    fig, ax = plt.subplots(1, 2, figsize=(12, 5))
    rows = [(n, None) for n in TONE_CURVES] + [(None, p) for p in PRESETS]
    for name, preset in rows:
        c, p = resolve_curve(name, preset, None)
        y = c.apply(x, peak, 1.0, **p)
        label = preset and f"preset {preset} ({c.name})" or f"{c.name}" + (" (default)" if c.name == DEFAULT_CURVE else "")
        ls = "--" if preset else "-"
        ax[0].plot(x, y, ls, label=label)
        ax[1].semilogx(x[1:] * 203, eotf_inverse_srgb(y[1:]), ls, label=label)
    ax[0].set(xlabel="input, linear relative (1.0 = 203 cd/m²)", ylabel="output, linear (1.0 = SDR white)",
              title=f"tone curves, source peak {peak:.2f} ({peak * 203:.0f} cd/m²)")
    ax[1].axvline(0.18 * 203, color="grey", lw=0.5)
    ax[1].axvline(203, color="grey", lw=0.5)
    ax[1].set(xlabel="input, cd/m² (log)", ylabel="output, sRGB encoded", title="encoded (mid-grey and reference white marked)")
    for a in ax:
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    fig.tight_layout()
    save_png(fig, path, dpi=100)
