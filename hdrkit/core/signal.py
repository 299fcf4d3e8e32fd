"""H.273 signal -> linear light: the decoding of Y'CbCr code values into hdrkit linear light.

Per pixel (:func:`yuv_to_linear`, one fused compiled pass; :func:`yuv_to_linear_reference`
is the plain numpy version the tests hold it to):

1. chroma upsampling, bilinear at the H.273 ``chroma_sample_loc_type`` 0 positions
   ("left": horizontally co-sited with even luma columns, vertically between rows), the
   default of H.264 / H.265 and what phones and x265 write (:func:`chroma_row`); the
   light-level statistics take each pixel's own chroma site instead (:func:`chroma_row_site`);
2. code values -> Y', Cb, Cr with the range of :func:`hdrkit.core.ycbcr.range_scale`;
3. Y'CbCr -> R'G'B' with :func:`hdrkit.core.ycbcr.ycbcr_to_rgb_matrix` (BT.2020 NCL,
   BT.709 or BT.601), clamped to the signal range [0, 1] (BT.2100 Table 9 footroom and
   headroom codes carry no picture information) (:func:`signal_row`);
4. the transfer's decoding function on each channel, from a :data:`TABLE_SIZE`-entry table
   sampled from :mod:`hdrkit.core.transfer` with linear interpolation: PQ EOTF (ST 2084) / 203;
   HLG inverse OETF (BT.2100 Table 5) followed by the OOTF of a 1000 cd/m^2 display
   (gamma 1.2, ``F_D = 1000 Y_S^0.2 E``) / 203; SDR BT.1886 (``L_W`` = 1 = SDR white)
   or sRGB (:func:`linear_row`);
5. output float32 (H, W, 3), linear in the source primaries, 1.0 = 203 cd/m^2
   (BT.2408 reference white).

The compiled kernels take their constants as one :class:`SignalConsts` record
(:func:`signal_consts`). ``colour`` arguments are any object with the attributes
``transfer``, ``matrix``, ``bit_depth``, ``full_range`` and ``chroma_shift`` (log2
subsampling x, y), e.g. :class:`hdrkit.video.tags.ColourInfo`.

References
----------
- ITU-T H.273 (07/2021): TransferCharacteristics, MatrixCoefficients, VideoFullRangeFlag
  code points; chroma sample location types (Figure 1 / Table 4).
- ITU-R BT.2100-2 Tables 4, 5, 6, 9; ITU-R BT.2020-2; ITU-R BT.709-6; ITU-R BT.1886;
  ITU-R BT.2408 (203 cd/m^2 reference white).
"""

# no "from __future__ import annotations": the NamedTuple records' field types must be real
# objects for tools that read them (pdoc, typing.get_type_hints)

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..errors import DecodeError, OptionError
from .jit import njit, prange
from .kernels import lerp_rows
from .primaries import luminance_weights
from .transfer import (HDR_TRANSFERS, HLG_REFERENCE_PEAK_NITS, SDR_WHITE_NITS, TRANSFERS, hlg_system_gamma,
                       oetf_inverse_hlg, ootf_hlg)
from .ycbcr import range_scale, ycbcr_to_rgb, ycbcr_to_rgb_matrix

__all__ = ["TRANSFERS", "HDR_TRANSFERS", "TABLE_SIZE", "SignalConsts", "signal_consts", "transfer_table",
           "hlg_gain_table", "signal_to_linear", "codes_to_linear", "chroma_row", "chroma_row_site", "signal_row",
           "signal_row_strided", "table_lerp", "linear_row", "yuv_to_linear", "upsample_chroma_reference",
           "yuv_to_linear_reference"]


# TRANSFERS (the source transfer registry) and HDR_TRANSFERS live in :mod:`hdrkit.core.transfer`,
# which the tag policy and the command line read without loading the kernels.


TABLE_SIZE = 16384


@lru_cache(maxsize=8)
def transfer_table(transfer: str, size: int = TABLE_SIZE) -> np.ndarray:
    """Per-channel decoding of signal ``E' = i / (size - 1)`` from :data:`TRANSFERS`.

    PQ: ``eotf_st2084(E') / 203`` (display light, hdrkit units); HLG: ``oetf_inverse_hlg(E')``
    (scene light [0, 1], the OOTF follows per pixel); 'bt1886': ``eotf_bt1886(E')`` and
    'srgb': ``eotf_srgb(E')`` (display light, 1.0 = SDR white = hdrkit 1.0).

    Parameters
    ----------
    transfer : str
        A key of :data:`TRANSFERS`.
    size : int
        Entries (default :data:`TABLE_SIZE`: 64 KiB of float32, stays in the L1/L2 cache).

    Returns
    -------
    numpy.ndarray
        (size,) float32, read-only.

    Raises
    ------
    OptionError
        For an unknown transfer.

    References
    ----------
    SMPTE ST 2084; ITU-R BT.2100-2 Table 5; ITU-R BT.1886; IEC 61966-2-1.
    """
    try:
        dec = TRANSFERS[transfer]
    except KeyError:
        raise OptionError(f"unknown transfer {transfer!r}") from None
    t = dec(np.linspace(0.0, 1.0, size))
    t = np.ascontiguousarray(t, dtype=np.float32)
    t.setflags(write=False)
    return t


@lru_cache(maxsize=1)
def hlg_gain_table(size: int = 4096) -> np.ndarray:
    """HLG OOTF gain ``alpha Y_S^(gamma - 1) / 203`` at ``Y_S = q^4``, q = i / (size - 1) (BT.2100 Table 5,
    1000 cd/m^2 display, gamma 1.2), hdrkit units; read-only float32."""
    q = np.linspace(0.0, 1.0, size)
    ys = q**4
    g = float(hlg_system_gamma(HLG_REFERENCE_PEAK_NITS)) - 1.0
    t = HLG_REFERENCE_PEAK_NITS / SDR_WHITE_NITS * np.power(ys, g, where=ys > 0, out=np.zeros_like(ys))
    t = t.astype(np.float32)
    t.setflags(write=False)
    return t


def signal_to_linear(signal, transfer: str) -> np.ndarray:
    """Reference: non-linear R'G'B' -> hdrkit linear light.

    Straight from :mod:`hdrkit.core.transfer`: PQ ``eotf_st2084 / 203``; HLG
    ``ootf_hlg(oetf_inverse_hlg(E'), 1000) / 203``; SDR ``eotf_bt1886`` / ``eotf_srgb``.

    Parameters
    ----------
    signal : array_like
        R'G'B' signal (..., 3), [0, 1]; clamped to [0, 1] first.
    transfer : str
        A key of :data:`TRANSFERS`.

    Returns
    -------
    numpy.ndarray
        Linear light (..., 3), float64, 1.0 = 203 cd/m^2 (display light; HLG on the 1000 cd/m^2
        reference display).

    Raises
    ------
    OptionError
        For an unknown transfer.

    References
    ----------
    SMPTE ST 2084; ITU-R BT.2100-2 Table 5; ITU-R BT.2408 (203 cd/m^2).
    """
    e = np.clip(np.asarray(signal, dtype=np.float64), 0.0, 1.0)
    if transfer == "hlg":
        return ootf_hlg(oetf_inverse_hlg(e), HLG_REFERENCE_PEAK_NITS) / SDR_WHITE_NITS
    try:
        return TRANSFERS[transfer](e)
    except KeyError:
        raise OptionError(f"unknown transfer {transfer!r}") from None


def codes_to_linear(codes, bit_depth: int, transfer: str) -> np.ndarray:
    """Full-range R'G'B' integer codes (a PNG or TIFF picture) -> hdrkit linear light.

    The same decoding as :func:`signal_to_linear` of ``E' = code / (2^bit_depth - 1)``,
    looked up per code in a ``2^bit_depth``-entry :func:`transfer_table` (exact at every
    code, no interpolation); HLG then goes through the OOTF of the 1000 cd/m^2 reference
    display (:func:`hdrkit.core.transfer.ootf_hlg`, gamma 1.2), as the video path does.

    Parameters
    ----------
    codes : array_like of unsigned int
        (..., 3) code values in [0, 2^bit_depth - 1] (full range, ITU-T H.273 VideoFullRangeFlag 1).
    bit_depth : int
        1-16 bits per sample.
    transfer : str
        A key of :data:`TRANSFERS`.

    Returns
    -------
    numpy.ndarray
        (..., 3) float32 linear light, 1.0 = 203 cd/m^2 (display light; HLG on the 1000 cd/m^2
        reference display).

    Raises
    ------
    OptionError
        For an unknown transfer or bit depth.

    References
    ----------
    SMPTE ST 2084; ITU-R BT.2100-2 Tables 4, 5 and 9 (full-range code values); ITU-R BT.2408.
    """
    if not 1 <= int(bit_depth) <= 16:
        raise OptionError(f"bit depth must be 1-16, not {bit_depth}")
    codes = np.asarray(codes)
    top = (1 << int(bit_depth)) - 1
    lut = transfer_table(transfer, top + 1)
    wide = codes.dtype.kind not in "ui" or np.iinfo(codes.dtype).max > top or np.iinfo(codes.dtype).min < 0
    lin = lut[np.clip(codes, 0, top).astype(np.intp) if wide else codes]
    if transfer == "hlg":
        lin = ootf_hlg(lin, HLG_REFERENCE_PEAK_NITS) * np.float32(1.0 / SDR_WHITE_NITS)
    return np.ascontiguousarray(lin, dtype=np.float32)


class SignalConsts(NamedTuple):
    """Constants of the signal -> linear kernels for one colour description (:func:`signal_consts`).

    ``shx``, ``shy``: log2 chroma subsampling; ``yo``, ``yk``, ``co``, ``ck``: luma offset and
    1 / scale, chroma offset and 1 / scale in code values (:func:`hdrkit.core.ycbcr.range_scale`);
    ``m02``, ``m11``, ``m12``, ``m21``: the non-trivial entries of the Y'CbCr -> R'G'B' matrix
    (:func:`hdrkit.core.ycbcr.ycbcr_to_rgb_matrix`); ``lut``: :func:`transfer_table`; ``hlg``:
    apply the HLG OOTF; ``wr``, ``wg``, ``wb``: BT.2100 luminance weights of its ``Y_S``;
    ``gtab``: :func:`hlg_gain_table`. Scalars are float32, as the kernels compute.
    """

    shx: int
    shy: int
    yo: np.float32
    yk: np.float32
    co: np.float32
    ck: np.float32
    m02: np.float32
    m11: np.float32
    m12: np.float32
    m21: np.float32
    lut: np.ndarray
    hlg: bool
    wr: np.float32
    wg: np.float32
    wb: np.float32
    gtab: np.ndarray


def signal_consts(colour) -> SignalConsts:
    """The constants of the signal -> linear kernels for one colour description.

    Parameters
    ----------
    colour : object
        With ``transfer`` (a key of :data:`TRANSFERS`), ``matrix`` ('bt2020' | 'bt709' |
        'bt601'), ``bit_depth``, ``full_range`` and ``chroma_shift`` (log2 subsampling x, y),
        e.g. :class:`hdrkit.video.tags.ColourInfo`.

    Returns
    -------
    SignalConsts

    References
    ----------
    ITU-T H.273 (MatrixCoefficients, VideoFullRangeFlag); ITU-R BT.2100-2 Tables 5, 6, 9.
    """
    yo, ys, co, cs = range_scale(colour.bit_depth, colour.full_range)
    m = ycbcr_to_rgb_matrix(colour.matrix)
    w = luminance_weights("bt2020")  # the HLG OOTF's Y_S is defined on BT.2100 RGB
    f = np.float32
    return SignalConsts(int(colour.chroma_shift[0]), int(colour.chroma_shift[1]), f(yo), f(1.0 / ys), f(co),
                        f(1.0 / cs), f(m[0, 2]), f(m[1, 1]), f(m[1, 2]), f(m[2, 1]), transfer_table(colour.transfer),
                        colour.transfer == "hlg", f(w[0]), f(w[1]), f(w[2]), hlg_gain_table())


# Row kernels. Each fills a row buffer in a loop simple enough for LLVM to vectorise; the
# frame kernels call them row by row (rows in parallel).
@njit(cache=True, error_model="numpy", boundscheck=False)
def chroma_row(U, V, i, sc, W, cuv, cvv, cu, cv):
    """Chroma of luma row ``i`` at every luma column, bilinear at H.273 location type 0.

    Vertically, chroma row k of 4:2:0 sits at luma y = 2k + 0.5: luma row 2k takes 0.75 of
    row k and 0.25 of row k - 1, row 2k + 1 0.75 of row k and 0.25 of row k + 1 (edges
    repeat). Horizontally, chroma column x sits on luma column 2x; odd columns take the mean
    of their two neighbours. ``sc``: :class:`SignalConsts`; ``cuv``, ``cvv``: scratch of a chroma
    row + 1; ``cu``, ``cv``: out (W).
    """
    shx = sc.shx
    shy = sc.shy
    h, w = U.shape
    ii = np.int64(i)  # a prange index may be unsigned
    if shy == 0:
        k = ii
        k2 = ii
    else:
        k = min(ii >> 1, h - 1)
        k2 = min(max((ii >> 1) - 1 if (ii & 1) == 0 else (ii >> 1) + 1, 0), h - 1)
    for x in range(w):
        cuv[x] = np.float32(0.75) * U[k, x] + np.float32(0.25) * U[k2, x]
        cvv[x] = np.float32(0.75) * V[k, x] + np.float32(0.25) * V[k2, x]
    cuv[w] = cuv[w - 1]
    cvv[w] = cvv[w - 1]
    if shx == 0:
        for j in range(W):
            cu[j] = cuv[j]
            cv[j] = cvv[j]
        return
    for x in range(W >> 1):
        cu[2 * x] = cuv[x]
        cu[2 * x + 1] = np.float32(0.5) * (cuv[x] + cuv[x + 1])
        cv[2 * x] = cvv[x]
        cv[2 * x + 1] = np.float32(0.5) * (cvv[x] + cvv[x + 1])
    if W & 1:
        cu[W - 1] = cuv[(W - 1) >> 1]
        cv[W - 1] = cvv[(W - 1) >> 1]


@njit(cache=True, error_model="numpy", boundscheck=False)
def chroma_row_site(U, V, i, sc, W, cu, cv):
    """Chroma of luma row ``i`` at every luma column, each pixel taking the sample of its own
    site (no interpolation across sites): luma (i, j) reads chroma (i >> shy, j >> shx).
    ``cu``, ``cv``: out (W). The light-level statistics use this (:mod:`hdrkit.metadata.cll`)."""
    shx = sc.shx
    h = U.shape[0]
    k = min(np.int64(i) >> sc.shy, h - 1)
    for j in range(W):
        cu[j] = np.float32(U[k, j >> shx])
        cv[j] = np.float32(V[k, j >> shx])


@njit(cache=True, fastmath=True, error_model="numpy", boundscheck=False)
def signal_row(Y, i, W, cu, cv, sc, rr, gg, bb):
    """Code values of row ``i`` -> R'G'B' signal clamped to [0, 1] (float32 rows); ``sc``: :class:`SignalConsts`."""
    yo, yk, co, ck = sc.yo, sc.yk, sc.co, sc.ck
    m02, m11, m12, m21 = sc.m02, sc.m11, sc.m12, sc.m21
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for j in range(W):
        yy = (np.float32(Y[i, j]) - yo) * yk
        b_ = (cu[j] - co) * ck
        r_ = (cv[j] - co) * ck
        rr[j] = min(max(yy + m02 * r_, zero), one)
        gg[j] = min(max(yy + m11 * b_ + m12 * r_, zero), one)
        bb[j] = min(max(yy + m21 * b_, zero), one)


@njit(cache=True, fastmath=True, error_model="numpy", boundscheck=False)
def signal_row_strided(Y, i, W, g, cu, cv, sc, rr, gg, bb):
    """:func:`signal_row` at columns 0, g, 2g, ... only, packed into ``rr[j // g]`` ..."""
    yo, yk, co, ck = sc.yo, sc.yk, sc.co, sc.ck
    m02, m11, m12, m21 = sc.m02, sc.m11, sc.m12, sc.m21
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for k in range((W + g - 1) // g):
        j = k * g
        yy = (np.float32(Y[i, j]) - yo) * yk
        b_ = (cu[j] - co) * ck
        r_ = (cv[j] - co) * ck
        rr[k] = min(max(yy + m02 * r_, zero), one)
        gg[k] = min(max(yy + m11 * b_ + m12 * r_, zero), one)
        bb[k] = min(max(yy + m21 * b_, zero), one)


@njit(cache=True, inline="always", error_model="numpy", boundscheck=False)
def table_lerp(t, x):
    """Linear interpolation in table ``t`` sampled uniformly over [0, 1]; ``x`` in [0, 1]."""
    n1 = t.shape[0] - 1
    u = x * n1
    k = np.uint32(min(np.int64(u), n1 - 1))  # unsigned: no negative-index wrap-around code
    f = u - k
    return t[k] * (1.0 - f) + t[k + np.uint32(1)] * f


@njit(cache=True, error_model="numpy", boundscheck=False)
def linear_row(rr, gg, bb, n, sc, s):
    """Signal -> hdrkit linear for the first ``n`` entries of the rows ``rr``, ``gg``, ``bb``, in
    place (float32): the transfer table per channel; for HLG then the OOTF ``alpha Y_S^(gamma-1) E``.

    ``sc``: :class:`SignalConsts`; its ``gtab`` holds ``alpha * Y_S^(gamma-1) / 203`` sampled at
    ``Y_S = q^4`` (q uniform in [0, 1]), a spacing fine where the power is steep; ``s`` is
    scratch (>= n). Table positions and the OOTF are branch-free loops LLVM vectorises; the
    table reads are :func:`hdrkit.core.kernels.lerp_rows`. Every caller runs this one compiled
    function, so the same signal gives the same light on every path (frame, sampled grid,
    measurement).
    """
    lut = sc.lut
    zero = np.float32(0.0)
    one = np.float32(1.0)
    n1 = np.float32(lut.shape[0] - 1)
    for q in range(n):
        rr[q] = min(max(rr[q], zero), one) * n1
        gg[q] = min(max(gg[q], zero), one) * n1
        bb[q] = min(max(bb[q], zero), one) * n1
    lerp_rows(rr[:n], lut)
    lerp_rows(gg[:n], lut)
    lerp_rows(bb[:n], lut)
    if sc.hlg:
        wr, wg, wb, gtab = sc.wr, sc.wg, sc.wb, sc.gtab
        g1 = np.float32(gtab.shape[0] - 1)
        for q in range(n):
            s[q] = np.sqrt(np.sqrt(min(max(wr * rr[q] + wg * gg[q] + wb * bb[q], zero), one))) * g1
        lerp_rows(s[:n], gtab)
        for q in range(n):
            rr[q] *= s[q]
            gg[q] *= s[q]
            bb[q] *= s[q]


@njit(cache=True, parallel=True, nogil=True, error_model="numpy", boundscheck=False)
def _yuv_to_linear(Y, U, V, sc, out):
    H, W = Y.shape
    cw = U.shape[1]
    for i in prange(H):
        cs = np.empty((2, cw + 1), np.float32)  # Cb, Cr upsampled vertically, at the chroma sites
        rs = np.empty((5, W), np.float32)  # per pixel: Cb, Cr, then R', G', B'
        cuv, cvv, cu, cv, rr, gg, bb = cs[0], cs[1], rs[0], rs[1], rs[2], rs[3], rs[4]
        chroma_row(U, V, i, sc, W, cuv, cvv, cu, cv)
        signal_row(Y, i, W, cu, cv, sc, rr, gg, bb)
        linear_row(rr, gg, bb, W, sc, cu)  # cu is free again: scratch
        orow = out[i]
        for j in range(W):
            orow[j, 0] = rr[j]
            orow[j, 1] = gg[j]
            orow[j, 2] = bb[j]


def _check_planes(y, u, v, colour):
    H, W = y.shape
    shx, shy = colour.chroma_shift
    want = (-(-H // (1 << shy)), -(-W // (1 << shx)))
    if u.shape != want or v.shape != want:
        fmt = getattr(colour, "pix_fmt", "this pixel format")
        raise DecodeError(f"chroma planes {u.shape}/{v.shape} do not match luma {y.shape} for {fmt}")


def yuv_to_linear(y, u, v, colour, out: np.ndarray | None = None) -> np.ndarray:
    """Compiled: Y'CbCr code-value planes -> linear light (module docstring, steps 1-5).

    Parameters
    ----------
    y, u, v : numpy.ndarray
        Luma (H, W) and chroma planes of integer code values.
    colour : object
        The colour description (see :func:`signal_consts`).
    out : numpy.ndarray, optional
        (H, W, 3) float32 C-contiguous array to write into.

    Returns
    -------
    numpy.ndarray
        (H, W, 3) float32, linear in the source primaries, 1.0 = 203 cd/m^2.

    Raises
    ------
    DecodeError
        When the chroma planes do not match the luma plane for ``colour.chroma_shift``.

    References
    ----------
    ITU-T H.273 chroma sample location type 0; ITU-R BT.2100-2 Tables 5, 6, 9.
    """
    _check_planes(y, u, v, colour)
    if out is None:
        out = np.empty((*y.shape, 3), np.float32)
    _yuv_to_linear(y, u, v, signal_consts(colour), out)
    return out


def upsample_chroma_reference(c: np.ndarray, shape: tuple[int, int], shift: tuple[int, int],
                              chroma: str = "bilinear") -> np.ndarray:
    """Reference chroma upsampling to luma ``shape`` (float64): ``"bilinear"`` at H.273 location
    type 0, or ``"site"`` (each luma pixel takes the sample of its own site, :func:`chroma_row_site`)."""
    c = np.asarray(c, dtype=np.float64)
    H, W = shape
    shx, shy = shift
    h, w = c.shape
    if chroma == "site":
        return c[np.minimum(np.arange(H) >> shy, h - 1)][:, np.arange(W) >> shx]
    fx = np.arange(W) / (1 << shx)
    fy = (np.arange(H) + 0.5) / (1 << shy) - 0.5 if shy else np.arange(H, dtype=np.float64)
    x0 = np.floor(fx).astype(int)
    y0 = np.floor(fy).astype(int)
    tx = (fx - x0)[None, :]
    ty = (fy - y0)[:, None]
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    x0, y0 = np.clip(x0, 0, w - 1), np.clip(y0, 0, h - 1)
    top = c[y0][:, x0] * (1 - tx) + c[y0][:, x1] * tx
    bot = c[y1][:, x0] * (1 - tx) + c[y1][:, x1] * tx
    return top * (1 - ty) + bot * ty


def yuv_to_linear_reference(y, u, v, colour, chroma: str = "bilinear") -> np.ndarray:
    """Plain numpy reference of :func:`yuv_to_linear` from :mod:`hdrkit.core` (float64, exact transfers);
    ``chroma``: the upsampling of :func:`upsample_chroma_reference`."""
    shape = np.asarray(y).shape
    ub = upsample_chroma_reference(u, shape, colour.chroma_shift, chroma)
    vb = upsample_chroma_reference(v, shape, colour.chroma_shift, chroma)
    rgb = ycbcr_to_rgb(np.asarray(y, np.float64), ub, vb, colour.matrix, colour.bit_depth, colour.full_range)
    return signal_to_linear(rgb, colour.transfer)
