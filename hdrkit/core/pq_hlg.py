"""Conversion between PQ and HLG (ITU-R BT.2100) through a 1000 cd/m^2 reference display.

PQ is display-referred (the signal encodes absolute display light), HLG scene-referred
(the signal encodes relative scene light; the display applies the OOTF). BT.2408 §6.2
converts between them through the reference condition at which both give the same
display light: an HLG display of nominal peak ``L_W`` = 1000 cd/m^2 (system gamma 1.2,
black 0). Then HDR Reference White, 203 cd/m^2 on the PQ display, is 75 % HLG signal
(BT.2408 §2.1), and the round trip is exact up to rounding.

- :func:`pq_to_hlg_display` / :func:`hlg_to_pq_display`: display light (cd/m^2) <-> HLG
  signal, the conversion proper;
- :func:`pq_to_hlg` / :func:`hlg_to_pq`: the same from signal to signal (what a LUT
  between the two encodings samples);
- :func:`pq_tone_map_to_hlg_peak`: PQ display light above ``L_W`` is first tone mapped to
  ``L_W`` with the core's BT.2390 EETF (BT.2408 §6.4), on max(R, G, B) so that RGB ratios
  (hue and saturation in linear light) are kept.

All functions take RGB on the last axis (BT.2020 primaries on both sides: neither
transfer changes the primaries), any leading shape, and return float64 unless given
float32. The maths is the core's: :mod:`hdrkit.core.transfer` (EOTF, OETF, OOTF and
their inverses) and :mod:`hdrkit.core.tonemap` (the EETF); this module only composes it.

References
----------
- ITU-R BT.2100-2 (07/2018), Image parameter values for high dynamic range television,
  Table 4 (PQ EOTF) and Table 5 (HLG OETF, OOTF, system gamma).
- ITU-R BT.2408-7 (2023), Guidance for operational practices in HDR television
  production, §2.1 (HDR Reference White 203 cd/m^2 = 75 % HLG), §6.2 (conversion
  concepts using a reference condition at 1 000 cd/m^2), §6.4 (PQ signals with a peak
  above 1 000 cd/m^2).
- ITU-R BT.2390-11 (2023), High dynamic range television for production and
  international programme exchange, §5.4.1 (EETF) and §7 (transcoding between PQ and HLG).
"""

from __future__ import annotations

import numpy as np

from .tonemap import ToneContext, apply_maxrgb, get_curve
from .transfer import (HLG_REFERENCE_PEAK_NITS, SDR_WHITE_NITS, eotf_inverse_st2084, eotf_st2084, oetf_hlg,
                       oetf_inverse_hlg, ootf_hlg, ootf_inverse_hlg)

__all__ = [
    "EETF_CURVE",
    "pq_tone_map_to_hlg_peak",
    "pq_to_hlg_display",
    "hlg_to_pq_display",
    "pq_to_hlg",
    "hlg_to_pq",
]

#: The tone curve applied to PQ content brighter than the HLG reference display (BT.2408
#: §6.4 names the BT.2390 EETF), with its parameters at their BT.2390 defaults.
EETF_CURVE = "bt2390"


def _rgb(x) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    if a.ndim == 0 or a.shape[-1] != 3:
        raise ValueError(f"expected RGB on the last axis, got shape {a.shape}")
    return a


def pq_tone_map_to_hlg_peak(F_D, src_peak_nits: float | None = None,
                            L_W: float = HLG_REFERENCE_PEAK_NITS) -> np.ndarray:
    """Tone map PQ display light to the HLG reference display's peak with the BT.2390 EETF.

    The core's ``bt2390`` curve (:data:`hdrkit.core.tonemap.TONE_CURVES`, knee offset 0.5 as
    in BT.2390) is applied to ``max(R, G, B)`` from ``src_peak_nits`` to ``L_W``, and the
    pixel scaled by the same gain. When ``src_peak_nits <= L_W`` nothing is compressed:
    values are only clipped to ``[0, L_W]``.

    Parameters
    ----------
    F_D : array_like, shape (..., 3)
        PQ display light, linear BT.2020 RGB in cd/m^2 ([0, 10000]).
    src_peak_nits : float, optional
        Peak of the content in cd/m^2 (mastering display peak or MaxCLL). Default: the
        largest value of ``F_D`` (at least ``L_W``).
    L_W : float
        Nominal peak of the HLG display, cd/m^2 (1000 in the BT.2408 reference condition).

    Returns
    -------
    ndarray, shape (..., 3)
        Display light in cd/m^2, within ``[0, L_W]``.

    Raises
    ------
    hdrkit.errors.OptionError
        A peak that is not finite and positive.

    References
    ----------
    ITU-R BT.2408-7 §6.4; ITU-R BT.2390-11 §5.4.1.
    """
    F = _rgb(F_D)
    dtype = F.dtype
    Fc = np.clip(np.nan_to_num(F.astype(np.float64), nan=0.0, posinf=L_W), 0.0, None)
    if src_peak_nits is None:
        src_peak_nits = max(float(Fc.max(initial=0.0)), L_W)
    curve = get_curve(EETF_CURVE)
    rel = apply_maxrgb(Fc / SDR_WHITE_NITS, curve, curve.defaults(),
                       ToneContext(src_peak_nits / SDR_WHITE_NITS, L_W / SDR_WHITE_NITS))
    return np.clip(rel * SDR_WHITE_NITS, 0.0, L_W).astype(dtype, copy=False)


def pq_to_hlg_display(F_D, src_peak_nits: float | None = None, L_W: float = HLG_REFERENCE_PEAK_NITS) -> np.ndarray:
    """PQ display light -> HLG signal: EETF to ``L_W`` if needed, inverse OOTF, OETF.

    ``E = OOTF^-1(F_D')`` at nominal peak ``L_W`` (system gamma 1.2 at 1000 cd/m^2), then
    ``E' = OETF(E)``, where ``F_D'`` is :func:`pq_tone_map_to_hlg_peak` of ``F_D``.

    Parameters
    ----------
    F_D : array_like, shape (..., 3)
        Display light, linear BT.2020 RGB in cd/m^2 ([0, 10000]).
    src_peak_nits : float, optional
        Content peak in cd/m^2; see :func:`pq_tone_map_to_hlg_peak`.
    L_W : float
        Nominal peak of the HLG reference display, cd/m^2.

    Returns
    -------
    ndarray, shape (..., 3)
        HLG signal E' in [0, 1] (203 cd/m^2 grey -> 0.75 at ``L_W`` = 1000).

    References
    ----------
    ITU-R BT.2100-2 Table 5; ITU-R BT.2408-7 §2.1, §6.2, §6.4.
    """
    F = pq_tone_map_to_hlg_peak(F_D, src_peak_nits, L_W)
    E = np.clip(ootf_inverse_hlg(F, L_W=L_W), 0.0, 1.0)
    return oetf_hlg(E)


def hlg_to_pq_display(E_p, L_W: float = HLG_REFERENCE_PEAK_NITS) -> np.ndarray:
    """HLG signal -> display light of the HLG reference display: inverse OETF, then OOTF.

    Parameters
    ----------
    E_p : array_like, shape (..., 3)
        HLG signal E' in [0, 1] (values outside are clipped).
    L_W : float
        Nominal peak of the HLG reference display, cd/m^2.

    Returns
    -------
    ndarray, shape (..., 3)
        Display light, linear BT.2020 RGB in cd/m^2, within ``[0, L_W]``.

    References
    ----------
    ITU-R BT.2100-2 Table 5; ITU-R BT.2408-7 §6.2.
    """
    E_p = _rgb(E_p)
    E = oetf_inverse_hlg(np.clip(np.nan_to_num(E_p, nan=0.0), 0.0, 1.0))
    return ootf_hlg(E, L_W=L_W)


def pq_to_hlg(E_pq, src_peak_nits: float | None = None, L_W: float = HLG_REFERENCE_PEAK_NITS) -> np.ndarray:
    """PQ signal -> HLG signal (:func:`pq_to_hlg_display` after the PQ EOTF).

    Parameters
    ----------
    E_pq : array_like, shape (..., 3)
        PQ signal E' in [0, 1] (BT.2020 R'G'B').
    src_peak_nits : float, optional
        Content peak in cd/m^2. Default: the largest decoded value (at least ``L_W``);
        give it when converting in pieces (frames, LUT grids) so every piece gets the
        same curve.
    L_W : float
        Nominal peak of the HLG reference display, cd/m^2.

    Returns
    -------
    ndarray, shape (..., 3)
        HLG signal E' in [0, 1] (BT.2020 R'G'B').

    References
    ----------
    ITU-R BT.2100-2 Tables 4 and 5; ITU-R BT.2408-7 §6.2, §6.4; ITU-R BT.2390-11 §7.
    """
    E_pq = _rgb(E_pq)
    return pq_to_hlg_display(eotf_st2084(np.clip(np.nan_to_num(E_pq, nan=0.0), 0.0, 1.0)), src_peak_nits, L_W)


def hlg_to_pq(E_hlg, L_W: float = HLG_REFERENCE_PEAK_NITS) -> np.ndarray:
    """HLG signal -> PQ signal: the display light of the HLG reference display, PQ encoded.

    Parameters
    ----------
    E_hlg : array_like, shape (..., 3)
        HLG signal E' in [0, 1] (BT.2020 R'G'B').
    L_W : float
        Nominal peak of the HLG reference display, cd/m^2 (the PQ content's peak).

    Returns
    -------
    ndarray, shape (..., 3)
        PQ signal E' in [0, 1] (75 % HLG -> PQ 0.58, 203 cd/m^2, at ``L_W`` = 1000).

    References
    ----------
    ITU-R BT.2100-2 Tables 4 and 5; ITU-R BT.2408-7 §6.2; ITU-R BT.2390-11 §7.
    """
    return eotf_inverse_st2084(hlg_to_pq_display(E_hlg, L_W))
