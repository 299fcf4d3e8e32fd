"""Colour differences: CIELAB, CIEDE2000, ICtCp, ΔE_ITP and hue errors.

Inputs are linear RGB, channels last, in hdrkit's convention 1.0 = SDR white =
203 cd/m^2 (BT.2408) in the named primaries (all D65). Every function takes any shape
``(..., 3)`` and returns float64.

Functions
---------
- :func:`xyz_to_lab`, :func:`rgb_to_lab`: CIE 1976 L*a*b* (CIE 15:2004 §8.2.1), from the
  core (:mod:`hdrkit.core.cielab`): white = the primaries' white at Y = 1 (SDR white is L* = 100).
- :func:`delta_e_ciede2000`: CIEDE2000 (CIE 142-2001), implemented as in Sharma, Wu &
  Dalal (2005), including their hue-mean rule for |h1 - h2| > 180 deg.
- :func:`rgb_to_ictcp`: ICtCp (ITU-R BT.2100-2 Table 7, PQ variant) from linear RGB,
  placed at 1.0 = 203 cd/m^2.
- :func:`delta_e_itp`: ΔE_ITP = 720 sqrt(ΔI^2 + (0.5 ΔCt)^2 + ΔCp^2) (ITU-R BT.2124-0 §3).
  One unit is about one just-noticeable difference.
- :func:`hue_difference`: signed CIELAB hue-angle difference Δh_ab in degrees.
- :func:`hue_error_ictcp`: absolute ICtCp hue-angle difference in degrees
  (hue = atan2(Cp, Ct)), NaN where either colour is too close to neutral.

References
----------
- CIE 15:2004 Colorimetry, 3rd ed., §8.2.1 (CIELAB).
- G. Sharma, W. Wu, E. N. Dalal, "The CIEDE2000 color-difference formula: implementation
  notes, supplementary test data, and mathematical observations", Color Res. Appl. 30(1)
  (2005) 21-30.
- ITU-R BT.2100-2 (2018) Table 7 (ICtCp), Table 4 (PQ).
- ITU-R BT.2124-0 (2019) "Objective metric for the assessment of the potential visibility
  of colour differences in television" (ΔE_ITP).
"""

from __future__ import annotations

import numpy as np

from ..core.cielab import rgb_to_lab, xyz_to_lab
from ..core.primaries import rgb_to_rgb_matrix
from ..core.transfer import SDR_WHITE_NITS, eotf_inverse_st2084

__all__ = [
    "xyz_to_lab",
    "rgb_to_lab",
    "delta_e_ciede2000",
    "rgb_to_ictcp",
    "delta_e_itp",
    "hue_angle",
    "hue_difference",
    "hue_error_ictcp",
    "LMS_FROM_BT2020",
    "ICTCP_FROM_LMS_PQ",
]

#: BT.2100-2 Table 7: linear BT.2020 RGB -> LMS (integers / 4096, as the standard prints them).
LMS_FROM_BT2020 = np.array([[1688, 2146, 262], [683, 2951, 462], [99, 309, 3688]], dtype=np.float64) / 4096
#: BT.2100-2 Table 7: PQ-encoded L'M'S' -> ICtCp.
ICTCP_FROM_LMS_PQ = np.array([[2048, 2048, 0], [6610, -13613, 7003], [17933, -17390, -543]], dtype=np.float64) / 4096

def _f64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def delta_e_ciede2000(lab1, lab2, kL: float = 1.0, kC: float = 1.0, kH: float = 1.0) -> np.ndarray:
    """CIEDE2000 colour difference (CIE 142-2001; Sharma et al. 2005 eq. 1-22).

    ====== ================ ============
    in     L*a*b* pairs     CIELAB
    out    ΔE00             unitless (>= 0)
    ====== ================ ============

    Hue mean per Sharma et al. eq. 14: when ``C'1 C'2 = 0`` the mean is the sum; when
    ``|h'1 - h'2| > 180`` the sum is shifted by +360 (sum < 360) or -360 (sum >= 360) before halving.
    """
    lab1, lab2 = _f64(lab1), _f64(lab2)
    L1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    L2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    C1 = np.hypot(a1, b1)
    C2 = np.hypot(a2, b2)
    Cb7 = ((C1 + C2) / 2.0) ** 7
    G = 0.5 * (1.0 - np.sqrt(Cb7 / (Cb7 + 25.0**7)))
    a1p, a2p = (1.0 + G) * a1, (1.0 + G) * a2
    C1p, C2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.where((a1p == 0) & (b1 == 0), 0.0, np.degrees(np.arctan2(b1, a1p)) % 360.0)
    h2p = np.where((a2p == 0) & (b2 == 0), 0.0, np.degrees(np.arctan2(b2, a2p)) % 360.0)

    dLp = L2 - L1
    dCp = C2p - C1p
    prod = C1p * C2p
    dh = h2p - h1p
    dhp = np.where(prod == 0, 0.0, np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh)))
    dHp = 2.0 * np.sqrt(prod) * np.sin(np.radians(dhp) / 2.0)

    Lbp = (L1 + L2) / 2.0
    Cbp = (C1p + C2p) / 2.0
    hsum = h1p + h2p
    hbp = np.where(prod == 0, hsum,
                   np.where(np.abs(h1p - h2p) <= 180, hsum / 2.0,
                            np.where(hsum < 360, (hsum + 360) / 2.0, (hsum - 360) / 2.0)))
    T = (1 - 0.17 * np.cos(np.radians(hbp - 30)) + 0.24 * np.cos(np.radians(2 * hbp))
         + 0.32 * np.cos(np.radians(3 * hbp + 6)) - 0.20 * np.cos(np.radians(4 * hbp - 63)))
    dtheta = 30.0 * np.exp(-(((hbp - 275.0) / 25.0) ** 2))
    Cbp7 = Cbp**7
    RC = 2.0 * np.sqrt(Cbp7 / (Cbp7 + 25.0**7))
    SL = 1 + 0.015 * (Lbp - 50) ** 2 / np.sqrt(20 + (Lbp - 50) ** 2)
    SC = 1 + 0.045 * Cbp
    SH = 1 + 0.015 * Cbp * T
    RT = -np.sin(np.radians(2 * dtheta)) * RC
    tL, tC, tH = dLp / (kL * SL), dCp / (kC * SC), dHp / (kH * SH)
    return np.sqrt(np.maximum(tL * tL + tC * tC + tH * tH + RT * tC * tH, 0.0))


def rgb_to_ictcp(rgb, primaries: str = "bt709", white_nits: float = SDR_WHITE_NITS) -> np.ndarray:
    """Linear RGB -> ICtCp (BT.2100-2 Table 7, PQ), with linear 1.0 placed at ``white_nits``.

    ====== ================ =============================================
    in     RGB              linear, 1.0 = ``white_nits`` cd/m^2 (203, BT.2408)
    out    I, Ct, Cp        I in [0, 1] (PQ), Ct / Cp about [-0.5, 0.5]
    ====== ================ =============================================

    ``RGB -> BT.2020 (core matrix) -> LMS -> PQ(LMS * white_nits) -> ICtCp``. Negative
    LMS (colours outside BT.2020) are clamped to 0 by the PQ encoding.
    """
    rgb = _f64(rgb)
    if primaries != "bt2020":
        rgb = rgb @ rgb_to_rgb_matrix(primaries, "bt2020").T
    lms = rgb @ LMS_FROM_BT2020.T
    lms_p = eotf_inverse_st2084(np.maximum(lms, 0.0) * float(white_nits))
    return lms_p @ ICTCP_FROM_LMS_PQ.T


def delta_e_itp(ictcp1, ictcp2) -> np.ndarray:
    """ΔE_ITP (ITU-R BT.2124-0 eq. 1): ``720 sqrt(ΔI^2 + ΔT^2 + ΔP^2)``, T = 0.5 Ct, P = Cp.

    ====== ================ ============================
    in     ICtCp pairs      from :func:`rgb_to_ictcp`
    out    ΔE_ITP           1.0 ~ one just-noticeable difference
    ====== ================ ============================
    """
    d = _f64(ictcp1) - _f64(ictcp2)
    return 720.0 * np.sqrt(d[..., 0] ** 2 + (0.5 * d[..., 1]) ** 2 + d[..., 2] ** 2)


def hue_angle(lab) -> np.ndarray:
    """CIELAB hue angle h_ab = atan2(b*, a*) in degrees [0, 360) (CIE 15:2004 §8.2.1)."""
    lab = _f64(lab)
    return np.degrees(np.arctan2(lab[..., 2], lab[..., 1])) % 360.0


def hue_difference(lab1, lab2) -> np.ndarray:
    """Signed hue-angle difference h_ab(2) - h_ab(1), wrapped to [-180, 180) degrees.

    This is the angle, not the CIEDE2000 metric hue difference ΔH*; it is only meaningful
    where both chromas are well above 0 (callers mask near-neutral colours).
    """
    return (hue_angle(lab2) - hue_angle(lab1) + 180.0) % 360.0 - 180.0


def hue_error_ictcp(rgb_a, rgb_b, primaries: str = "bt709", min_chroma: float = 0.005) -> np.ndarray:
    """Absolute hue-angle difference in ICtCp, degrees in [0, 180].

    Hue is ``atan2(Cp, Ct)`` of :func:`rgb_to_ictcp` (1.0 = 203 cd/m^2). NaN where either
    colour's chroma ``hypot(Ct, Cp)`` is below ``min_chroma`` (0.005 is about 1.8 ΔE_ITP
    of pure chroma: hue is noise below it).
    """
    a = rgb_to_ictcp(rgb_a, primaries)
    b = rgb_to_ictcp(rgb_b, primaries)
    ha = np.degrees(np.arctan2(a[..., 2], a[..., 1]))
    hb = np.degrees(np.arctan2(b[..., 2], b[..., 1]))
    dh = np.abs((hb - ha + 180.0) % 360.0 - 180.0)
    ok = (np.hypot(a[..., 1], a[..., 2]) >= min_chroma) & (np.hypot(b[..., 1], b[..., 2]) >= min_chroma)
    return np.where(ok, dh, np.nan)
