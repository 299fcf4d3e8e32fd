"""Colour probes of the gate: synthetic charts rendered through the core with the pack, measured.

They need no golden file (the charts are exact linear values made here) and cover what the
photographic goldens cannot pin down:

``probe-hue``
    BT.2020 and Display P3 primaries and secondaries (R G B C M Y) whose largest channel is
    100, 250, 500 and 1000 cd/m^2, with a 4000 cd/m^2 white (the peak), rendered as a still
    (BT.1886 8-bit, the pack's dither), 16x16 patch means decoded back to linear BT.709.
    ``hue_2020_mean`` / ``_max``, ``hue_p3_mean`` / ``_max``: |IPT hue angle of the output -
    that of the source| in degrees (IPT, Ebner & Fairchild 1998, :mod:`hdrkit.core.ipt`).
``probe-ramp``
    A neutral ramp, log-spaced 203-4000 cd/m^2 over 1024 columns (16 rows, averaged), source
    peak 4000. ``highlight_levels``: distinct 8-bit codes above 203 cd/m^2;
    ``highlight_4000_1000``: code of 4000 minus code of 1000 cd/m^2 (full range BT.1886).
``probe-pumping``
    A 203 cd/m^2 grey card rendered as the video proxy renders a frame: static peak 4000
    (MaxCLL), frame peak 203 (light off) and 2000 cd/m^2 (a small light on).
    ``card_swing``: |code(light on) - code(light off)| of the card (8-bit codes).
"""

from __future__ import annotations

import numpy as np

from ..core.ipt import rgb_to_ipt, to_ich
from ..core.pipeline import RenderParams, estimate_peak, render_sdr
from ..core.primaries import rgb_to_rgb_matrix
from ..core.transfer import SDR_WHITE_NITS, eotf_bt1886

__all__ = ["PROBES", "hue_probe", "ramp_probe", "pumping_probe"]

_BASE = np.array([(1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 0)], np.float64)
_LEVELS = (100.0, 250.0, 500.0, 1000.0)
_PATCH = 16


def _codes(img_nits, params: RenderParams, peak_nits: float | None = None, anchor_nits: float | None = None):
    rel = (np.asarray(img_nits, np.float64) / SDR_WHITE_NITS).astype(np.float32)
    peak = estimate_peak(rel) if peak_nits is None else peak_nits / SDR_WHITE_NITS
    anchor = None if anchor_nits is None else anchor_nits / SDR_WHITE_NITS
    return render_sdr(rel, "bt2020", params, peak, "bt1886", 8, anchor_peak=anchor)


def hue_probe(params: RenderParams) -> dict:
    colours = {"2020": [b * L for L in _LEVELS for b in _BASE]}
    p3 = rgb_to_rgb_matrix("p3", "bt2020")
    colours["p3"] = [(b * L) @ p3.T for L in _LEVELS for b in _BASE]
    cells = colours["2020"] + colours["p3"] + [np.full(3, 4000.0)]
    img = np.concatenate([np.broadcast_to(c, (_PATCH, _PATCH, 3)) for c in cells], axis=1)
    codes = _codes(img, params).astype(np.float64)
    means = codes.reshape(_PATCH, len(cells), _PATCH, 3).mean(axis=(0, 2))
    out_lin = eotf_bt1886(means / 255.0)
    h_out = to_ich(rgb_to_ipt(out_lin, "bt709"))[2]
    h_src = to_ich(rgb_to_ipt(np.array(cells), "bt2020"))[2]
    d = np.degrees(np.abs((h_out - h_src + np.pi) % (2 * np.pi) - np.pi))
    n = len(colours["2020"])
    m = {}
    for k, sl in (("2020", slice(0, n)), ("p3", slice(n, 2 * n))):
        m[f"hue_{k}_mean"] = round(float(d[sl].mean()), 3)
        m[f"hue_{k}_max"] = round(float(d[sl].max()), 3)
    return m


def ramp_probe(params: RenderParams) -> dict:
    nits = np.geomspace(SDR_WHITE_NITS, 4000.0, 1024)
    img = np.broadcast_to(nits[None, :, None], (16, nits.size, 3))
    code = np.rint(_codes(img, params, 4000.0)[..., 1].mean(axis=0))
    i1000 = int(np.argmin(np.abs(nits - 1000.0)))
    return {"highlight_levels": int(np.unique(code[1:]).size),
            "highlight_4000_1000": float(code[-1] - code[i1000])}


def pumping_probe(params: RenderParams) -> dict:
    card = np.full((16, 16, 3), SDR_WHITE_NITS)
    off = _codes(card, params, SDR_WHITE_NITS, 4000.0)[..., 1].mean()
    on = _codes(card, params, 2000.0, 4000.0)[..., 1].mean()
    return {"card_swing": round(float(abs(on - off)), 3), "card_code": round(float(off), 2)}


#: Probe name -> measuring function of the render parameters.
PROBES = {"probe-hue": hue_probe, "probe-ramp": ramp_probe, "probe-pumping": pumping_probe}
