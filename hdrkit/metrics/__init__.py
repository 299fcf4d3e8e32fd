"""Image-quality metrics of SDR exports (pure numpy, channels last).

- :mod:`.color`: CIELAB, CIEDE2000, ICtCp, ΔE_ITP (BT.2124), hue errors;
- :mod:`.tone`: preview-vs-export MAD and highlight ΔY, patch levels, highlight retention, EOTF RMSE;
- :mod:`.artifacts`: banding (false contours) and halo (edge rims) scores.
"""

from . import artifacts, color, tone

__all__ = ["artifacts", "color", "tone"]
