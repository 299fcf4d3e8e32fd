"""Transfer functions: sRGB, BT.709 / BT.1886, PQ (ST 2084) and HLG (BT.2100).

Public functions, each with its inverse next to it:

- :func:`eotf_srgb`, :func:`eotf_inverse_srgb` (IEC 61966-2-1)
- :func:`oetf_bt709`, :func:`oetf_inverse_bt709` (ITU-R BT.709-6)
- :func:`eotf_bt1886`, :func:`eotf_inverse_bt1886` (ITU-R BT.1886)
- :func:`eotf_st2084`, :func:`eotf_inverse_st2084` (SMPTE ST 2084 / BT.2100 PQ)
- :func:`oetf_hlg`, :func:`oetf_inverse_hlg`, :func:`ootf_hlg`, :func:`ootf_inverse_hlg`,
  :func:`eotf_hlg`, :func:`eotf_inverse_hlg`, :func:`hlg_system_gamma` (ITU-R BT.2100-2 HLG)
- :func:`nits_to_relative`, :func:`relative_to_nits`: hdrkit's linear scale, where
  1.0 = HDR reference white = SDR white = 203 cd/m^2 (ITU-R BT.2408-7 §2.1).

Every function takes array-likes of any shape, works element-wise (the HLG OOTF works
on the last axis, RGB), never turns out-of-range input into NaN, and returns float64
unless given float32, which it keeps.

References
----------
- IEC 61966-2-1:1999, Multimedia systems and equipment - Colour measurement and
  management - Part 2-1: Default RGB colour space - sRGB.
- ITU-R BT.709-6 (06/2015), Parameter values for the HDTV standards, item 1.2.
- ITU-R BT.1886 (03/2011), Reference electro-optical transfer function for flat panel
  displays used in HDTV studio production, Annex 1.
- SMPTE ST 2084:2014, High Dynamic Range Electro-Optical Transfer Function of
  Mastering Reference Displays; ITU-R BT.2100-2 (07/2018) Table 4.
- ITU-R BT.2100-2 (07/2018), Image parameter values for high dynamic range television,
  Table 5 (HLG OETF, OOTF, EOTF) and note 5f (system gamma for other display peaks).
- ITU-R BT.2408-7 (2023), Guidance for operational practices in HDR television
  production, §2.1 (HDR Reference White = 203 cd/m^2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .primaries import luminance_weights

__all__ = [
    "SDR_WHITE_NITS",
    "PQ_PEAK_NITS",
    "HLG_REFERENCE_PEAK_NITS",
    "CONSTANTS_ST2084",
    "CONSTANTS_HLG",
    "spow",
    "nits_to_relative",
    "relative_to_nits",
    "eotf_srgb",
    "eotf_inverse_srgb",
    "oetf_bt709",
    "oetf_inverse_bt709",
    "eotf_bt1886",
    "eotf_inverse_bt1886",
    "eotf_st2084",
    "eotf_inverse_st2084",
    "oetf_hlg",
    "oetf_inverse_hlg",
    "hlg_system_gamma",
    "ootf_hlg",
    "ootf_inverse_hlg",
    "eotf_hlg",
    "eotf_inverse_hlg",
    "TRANSFERS",
    "HDR_TRANSFERS",
    "H273_TRANSFERS",
    "H273_TRANSFER_CODES",
]

#: HDR Reference White (BT.2408-7 §2.1): linear 1.0 in hdrkit, in cd/m^2.
SDR_WHITE_NITS = 203.0
#: Absolute peak of the PQ signal (ST 2084), cd/m^2.
PQ_PEAK_NITS = 10000.0
#: Nominal peak of the HLG reference display (BT.2100 Table 5), cd/m^2.
HLG_REFERENCE_PEAK_NITS = 1000.0


def _as_float(x) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype == np.float32 or a.dtype == np.float64:
        return a
    return a.astype(np.float64)


def spow(a, p) -> np.ndarray:
    """Sign-preserving power ``sign(a) * |a| ** p``; never NaN for negative ``a``."""
    a = _as_float(a)
    return np.sign(a) * np.abs(a) ** p


def nits_to_relative(L) -> np.ndarray:
    """Absolute luminance (cd/m^2) -> hdrkit linear (1.0 = 203 cd/m^2, BT.2408)."""
    return _as_float(L) / SDR_WHITE_NITS


def relative_to_nits(x) -> np.ndarray:
    """hdrkit linear (1.0 = 203 cd/m^2, BT.2408) -> absolute luminance (cd/m^2)."""
    return _as_float(x) * SDR_WHITE_NITS


# --------------------------------------------------------------------------- sRGB
def eotf_srgb(V) -> np.ndarray:
    """sRGB decoding, IEC 61966-2-1 §5.2 eq. (5)-(6).

    ====== ============ ==========
    in     V (encoded)  [0, 1]
    out    L (linear)   [0, 1], 1.0 = display white
    ====== ============ ==========

    Piecewise: ``V / 12.92`` for ``V <= 0.04045``, else ``((V + 0.055) / 1.055) ** 2.4``.
    Negative input is mirrored (extended sRGB).
    """
    V = _as_float(V)
    a = np.abs(V)
    L = np.where(a <= 0.04045, a / 12.92, ((a + 0.055) / 1.055) ** 2.4)
    return (np.sign(V) * L).astype(V.dtype, copy=False)


def eotf_inverse_srgb(L) -> np.ndarray:
    """sRGB encoding, IEC 61966-2-1 §5.3 eq. (7)-(8) (the inverse of :func:`eotf_srgb`).

    ====== ============ ==========
    in     L (linear)   [0, 1]
    out    V (encoded)  [0, 1]
    ====== ============ ==========

    ``12.92 L`` for ``L <= 0.0031308``, else ``1.055 L ** (1/2.4) - 0.055``.
    """
    L = _as_float(L)
    a = np.abs(L)
    V = np.where(a <= 0.0031308, a * 12.92, 1.055 * a ** (1 / 2.4) - 0.055)
    return (np.sign(L) * V).astype(L.dtype, copy=False)


# ---------------------------------------------------------------- BT.709 / BT.1886
def oetf_bt709(L) -> np.ndarray:
    """BT.709-6 item 1.2 camera OETF, scene linear [0, 1] -> signal V [0, 1].

    ``4.5 L`` for ``L < 0.018``, else ``1.099 L ** 0.45 - 0.099``.
    """
    L = _as_float(L)
    a = np.abs(L)
    V = np.where(a < 0.018, 4.5 * a, 1.099 * a**0.45 - 0.099)
    return (np.sign(L) * V).astype(L.dtype, copy=False)


def oetf_inverse_bt709(V) -> np.ndarray:
    """Inverse of :func:`oetf_bt709`: signal V [0, 1] -> scene linear [0, 1]."""
    V = _as_float(V)
    a = np.abs(V)
    # the two pieces of the OETF do not meet exactly at L = 0.018 (0.0810 vs 0.0812): split
    # the signal at the upper piece's value there so that inverse(oetf(L)) == L everywhere
    L = np.where(a < 1.099 * 0.018**0.45 - 0.099, a / 4.5, ((a + 0.099) / 1.099) ** (1 / 0.45))
    return (np.sign(V) * L).astype(V.dtype, copy=False)


def eotf_bt1886(V, L_W: float = 1.0, L_B: float = 0.0) -> np.ndarray:
    """BT.1886 Annex 1 reference EOTF: ``L = a * max(V + b, 0) ** 2.4``.

    ``a = (L_W^(1/2.4) - L_B^(1/2.4)) ** 2.4``, ``b = L_B^(1/2.4) / (L_W^(1/2.4) - L_B^(1/2.4))``.

    ====== ============ ===================================
    in     V (signal)   [0, 1]
    out    L            [L_B, L_W], units of L_W (1.0 default)
    ====== ============ ===================================
    """
    V = _as_float(V)
    g = 2.4
    n = L_W ** (1 / g) - L_B ** (1 / g)
    a = n**g
    b = L_B ** (1 / g) / n
    return (a * np.maximum(V + b, 0) ** g).astype(V.dtype, copy=False)


def eotf_inverse_bt1886(L, L_W: float = 1.0, L_B: float = 0.0) -> np.ndarray:
    """Inverse of :func:`eotf_bt1886`: luminance (units of L_W) -> signal V."""
    L = _as_float(L)
    g = 2.4
    n = L_W ** (1 / g) - L_B ** (1 / g)
    a = n**g
    b = L_B ** (1 / g) / n
    return (np.maximum(L, 0) / a) ** (1 / g) - b


# ------------------------------------------------------------------------- PQ
@dataclass(frozen=True)
class _ConstantsST2084:
    m_1: float = 2610 / 4096 * (1 / 4)
    m_2: float = 2523 / 4096 * 128
    c_1: float = 3424 / 4096
    c_2: float = 2413 / 4096 * 32
    c_3: float = 2392 / 4096 * 32


#: ST 2084 constants, written as the standard writes them.
CONSTANTS_ST2084 = _ConstantsST2084()


def eotf_st2084(N, L_p: float = PQ_PEAK_NITS, constants: _ConstantsST2084 = CONSTANTS_ST2084) -> np.ndarray:
    """PQ EOTF, SMPTE ST 2084 eq. (4.1) / BT.2100 Table 4.

    ``F_D = L_p * (max(E'^(1/m2) - c1, 0) / (c2 - c3 E'^(1/m2))) ** (1/m1)``

    ====== ============== =====================
    in     E' (signal)    [0, 1]
    out    F_D            [0, 10000] cd/m^2
    ====== ============== =====================
    """
    c = constants
    N = _as_float(N)
    Np = np.abs(N) ** (1 / c.m_2)
    num = np.maximum(Np - c.c_1, 0)
    den = c.c_2 - c.c_3 * Np
    return (L_p * (num / den) ** (1 / c.m_1)).astype(N.dtype, copy=False)


def eotf_inverse_st2084(C, L_p: float = PQ_PEAK_NITS, constants: _ConstantsST2084 = CONSTANTS_ST2084) -> np.ndarray:
    """PQ inverse EOTF, SMPTE ST 2084 eq. (5.2) / BT.2100 Table 4.

    ``E' = ((c1 + c2 Y^m1) / (1 + c3 Y^m1)) ** m2`` with ``Y = F_D / L_p``.

    ====== ============== =====================
    in     F_D            [0, 10000] cd/m^2
    out    E' (signal)    [0, 1]
    ====== ============== =====================
    """
    c = constants
    C = _as_float(C)
    Y = np.maximum(C / L_p, 0) ** c.m_1
    return (((c.c_1 + c.c_2 * Y) / (1 + c.c_3 * Y)) ** c.m_2).astype(C.dtype, copy=False)


# ------------------------------------------------------------------------ HLG
@dataclass(frozen=True)
class _ConstantsHLG:
    a: float = 0.17883277
    b: float = 0.28466892  # 1 - 4a
    c: float = 0.55991073  # 0.5 - a ln(4a)


#: BT.2100 Table 5 HLG constants.
CONSTANTS_HLG = _ConstantsHLG()


def oetf_hlg(E, constants: _ConstantsHLG = CONSTANTS_HLG) -> np.ndarray:
    """HLG OETF, BT.2100-2 Table 5.

    ``E' = sqrt(3 E)`` for ``E <= 1/12``, else ``a ln(12 E - b) + c``.

    ====== =================== ========
    in     E (scene linear)    [0, 1]
    out    E' (signal)         [0, 1]
    ====== =================== ========
    """
    k = constants
    E = _as_float(E)
    a = np.maximum(E, 0)
    hi = k.a * np.log(np.maximum(12 * a - k.b, 1e-12)) + k.c
    return np.where(a <= 1 / 12, np.sqrt(3 * a), hi).astype(E.dtype, copy=False)


def oetf_inverse_hlg(E_p, constants: _ConstantsHLG = CONSTANTS_HLG) -> np.ndarray:
    """Inverse HLG OETF, BT.2100-2 Table 5.

    ``E = E'^2 / 3`` for ``E' <= 1/2``, else ``(exp((E' - c) / a) + b) / 12``.

    ====== =================== ========
    in     E' (signal)         [0, 1]
    out    E (scene linear)    [0, 1]
    ====== =================== ========
    """
    k = constants
    E_p = _as_float(E_p)
    a = np.maximum(E_p, 0)
    hi = (np.exp((a - k.c) / k.a) + k.b) / 12
    return np.where(a <= 0.5, a * a / 3, hi).astype(E_p.dtype, copy=False)


def hlg_system_gamma(L_W: float = HLG_REFERENCE_PEAK_NITS) -> float:
    """HLG system gamma for a display of nominal peak ``L_W`` cd/m^2.

    BT.2100-2 Table 5 note 5f: ``gamma = 1.2 + 0.42 log10(L_W / 1000)``
    (valid for 400 <= L_W <= 2000 cd/m^2; 1.2 at 1000 cd/m^2).
    """
    return 1.2 + 0.42 * np.log10(L_W / 1000.0)


def _luma_2020(rgb: np.ndarray) -> np.ndarray:
    w = luminance_weights("bt2020").astype(rgb.dtype)
    return rgb @ w


def ootf_hlg(E, L_W: float = HLG_REFERENCE_PEAK_NITS, L_B: float = 0.0) -> np.ndarray:
    """HLG OOTF, BT.2100-2 Table 5: scene linear RGB -> display linear RGB.

    ``F_D = alpha * Y_S ** (gamma - 1) * E`` with ``alpha = L_W - L_B``,
    ``Y_S = 0.2627 R_S + 0.6780 G_S + 0.0593 B_S`` (the BT.2020 luminance row, derived in
    :mod:`hdrkit.core.primaries` from the BT.2020 chromaticities) and ``gamma`` from
    :func:`hlg_system_gamma`. Black lift ``L_B`` is added as ``+ L_B``.

    ====== ======================= ============================
    in     E (scene linear, RGB)   [0, 1], shape (..., 3)
    out    F_D (display linear)    [L_B, L_W] cd/m^2, (..., 3)
    ====== ======================= ============================
    """
    E = _as_float(E)
    gamma = hlg_system_gamma(L_W)
    Y_S = np.maximum(_luma_2020(E), 0)
    alpha = L_W - L_B
    scale = alpha * np.power(Y_S, gamma - 1, where=Y_S > 0, out=np.zeros_like(Y_S))
    return E * scale[..., None] + L_B


def ootf_inverse_hlg(F_D, L_W: float = HLG_REFERENCE_PEAK_NITS, L_B: float = 0.0) -> np.ndarray:
    """Inverse HLG OOTF, BT.2100-2 Table 5: display linear RGB (cd/m^2) -> scene linear RGB.

    ``E = (Y_D / alpha) ** ((1 - gamma) / gamma) * F_D / alpha`` with ``Y_D`` the BT.2020
    luminance of ``F_D - L_B``.

    ====== ======================= ============================
    in     F_D (display linear)    [L_B, L_W] cd/m^2, (..., 3)
    out    E (scene linear, RGB)   [0, 1], (..., 3)
    ====== ======================= ============================
    """
    F = _as_float(F_D) - L_B
    gamma = hlg_system_gamma(L_W)
    alpha = L_W - L_B
    Y_D = np.maximum(_luma_2020(F), 0)
    scale = np.power(Y_D / alpha, (1 - gamma) / gamma, where=Y_D > 0, out=np.zeros_like(Y_D))
    return F / alpha * scale[..., None]


def eotf_hlg(E_p, L_W: float = HLG_REFERENCE_PEAK_NITS, L_B: float = 0.0) -> np.ndarray:
    """HLG EOTF, BT.2100-2 Table 5: ``OOTF(OETF^-1(max(0, (1 - beta) E' + beta)))``.

    ``beta = sqrt(3 (L_B / L_W) ** (1 / gamma))`` (0 for ``L_B = 0``).

    ====== ======================= ============================
    in     E' (signal, RGB)        [0, 1], shape (..., 3)
    out    F_D (display linear)    cd/m^2, shape (..., 3)
    ====== ======================= ============================
    """
    E_p = _as_float(E_p)
    gamma = hlg_system_gamma(L_W)
    beta = np.sqrt(3 * (L_B / L_W) ** (1 / gamma))
    E = oetf_inverse_hlg(np.maximum((1 - beta) * E_p + beta, 0))
    return ootf_hlg(E, L_W, 0.0)


def eotf_inverse_hlg(F_D, L_W: float = HLG_REFERENCE_PEAK_NITS, L_B: float = 0.0) -> np.ndarray:
    """Inverse HLG EOTF (for ``L_B = 0``): display light cd/m^2 -> signal E' [0, 1]."""
    return oetf_hlg(ootf_inverse_hlg(F_D, L_W, L_B))


def _pq_relative(e):
    return eotf_st2084(e) / SDR_WHITE_NITS


#: The source transfers hdrkit decodes, by name: the per-channel decoding of signal E' [0, 1]
#: (PQ: display light in hdrkit units; HLG: scene light [0, 1], the OOTF follows per pixel;
#: SDR: display light, 1.0 = SDR white). H.273 TransferCharacteristics 16, 18, 1 / 6 / 14 / 15, 13.
TRANSFERS = {
    "pq": _pq_relative,
    "hlg": oetf_inverse_hlg,
    "bt1886": eotf_bt1886,
    "srgb": eotf_srgb,
}
#: Transfers that are HDR (everything else is SDR).
HDR_TRANSFERS = ("pq", "hlg")


#: ITU-T H.273 TransferCharacteristics -> hdrkit transfer name (the keys of ``TRANSFERS``).
#: BT.709 (1), BT.601 (6) and BT.2020 10/12-bit (14, 15) share one curve: SDR shown with the
#: BT.1886 EOTF. Video tags and the PNG cICP chunk use the same code points.
H273_TRANSFERS = {16: "pq", 18: "hlg", 1: "bt1886", 6: "bt1886", 14: "bt1886", 15: "bt1886", 13: "srgb"}
#: The code point hdrkit writes for each transfer: SDR video as BT.709 (1), the usual tag of
#: BT.1886-displayed content.
H273_TRANSFER_CODES = {"pq": 16, "hlg": 18, "bt1886": 1, "srgb": 13}
