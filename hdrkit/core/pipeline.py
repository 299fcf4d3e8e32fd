"""The one HDR -> SDR rendering path shared by stills, keyframes and video.

``linear (1.0 = 203 cd/m^2, source primaries)`` -> tone curve on max(R, G, B) ->
gamut map to BT.709 -> display-linear [0, 1] -> transfer (sRGB for stills, BT.1886 for
video) -> blue-noise dither -> N-bit codes.

:func:`render_linear_reference` is the plain numpy reference (exact curve). The fast
path (:mod:`hdrkit.core.kernels`, fused and compiled) is checked against it by the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..errors import OptionError
from .dither import DEFAULT_DITHER, get_dither, quantize
from .gamut import DEFAULT_GAMUT_MAP, get_gamut_map
from .tonemap import SHOULDER_END_SLOPE, ToneContext, ToneCurve, anchored_context, apply_maxrgb, resolve_curve
from .output import OUTPUT_PRIMARIES, TRANSFER_ENCODERS

__all__ = ["RenderParams", "estimate_peak", "peak_sample_step", "tone_map_reference", "render_linear",
           "render_linear_reference", "encode_transfer", "quantize", "render_sdr", "OUTPUT_PRIMARIES",
           "TRANSFER_ENCODERS"]


@dataclass(frozen=True)
class RenderParams:
    """Everything that decides how HDR becomes SDR (the versioned "parameter pack").

    ``target_headroom`` is the tone target: the peak of the display the curve maps to,
    relative to SDR white (1.0 = SDR), the curves' ``dst_peak``; the encoded output is display
    light divided by it. (Not the display boost a gain-map still is rebuilt for, which
    weights the gain map before any tone mapping.)
    """

    curve: str | None = None
    curve_params: Mapping[str, float] = field(default_factory=dict)
    preset: str | None = None
    target_headroom: float = 1.0
    gamut_map: str = DEFAULT_GAMUT_MAP
    gamut_params: Mapping[str, float] = field(default_factory=dict)
    dither: str = DEFAULT_DITHER
    #: anchor reference white and below at the static peak, with the rational highlight shoulder
    #: (:func:`hdrkit.core.tonemap.apply_anchored`); False: the curve as it is at the frame peak
    white_anchor: bool = True
    #: end slope of that shoulder, a multiple of its mean slope in PQ (0 = flat at the peak)
    shoulder_end_slope: float = SHOULDER_END_SLOPE

    def __post_init__(self):
        if not (np.isfinite(self.target_headroom) and 1.0 <= self.target_headroom <= 100.0):
            raise OptionError(f"target headroom must be within [1, 100], not {self.target_headroom}")
        if not (np.isfinite(self.shoulder_end_slope) and 0.0 <= self.shoulder_end_slope <= 5.0):
            raise OptionError(f"shoulder end slope must be within [0, 5], not {self.shoulder_end_slope}")
        self.tone()  # validate names and ranges early
        get_gamut_map(self.gamut_map).check_params(self.gamut_params)
        get_dither(self.dither)

    def tone(self) -> tuple[ToneCurve, dict]:
        return resolve_curve(self.curve, self.preset, self.curve_params)

    def tone_context(self, src_peak: float, anchor_peak: float | None = None) -> ToneContext:
        """The curve's context for a picture whose source peak is ``src_peak`` (a still's measured
        peak, a video frame's smoothed one) and whose source description says ``anchor_peak``
        (``None``: ``src_peak``, as for a still); linear relative, 1.0 = 203 cd/m^2.

        Raises
        ------
        OptionError
            When a peak is not finite and positive.
        """
        P = float(src_peak)
        if not (np.isfinite(P) and P > 0):
            raise OptionError(f"source peak must be finite and positive, not {src_peak}")
        D = float(self.target_headroom)
        if not self.white_anchor:
            return ToneContext(P, D)
        curve, cp = self.tone()
        return anchored_context(curve, cp, P, D, anchor_peak, self.shoulder_end_slope)

    def tags(self) -> dict[str, str]:
        """Version strings recorded in outputs: tonemap_v, gamut_v, dither."""
        c, p = self.tone()
        g = get_gamut_map(self.gamut_map)
        gp = g.check_params(self.gamut_params)
        fmt = lambda d: ",".join(f"{k}={v:g}" for k, v in sorted(d.items()))  # noqa: E731
        return {
            "tonemap_v": f"{c.tag}({fmt(p)})" + (f";preset={self.preset}" if self.preset else "")
            + (f";anchor=white,end={self.shoulder_end_slope:g}" if self.white_anchor else ""),
            "gamut_v": f"{g.tag}({fmt(gp)})",
            "dither": self.dither,
            "target_headroom": f"{self.target_headroom:g}",
        }


def estimate_peak(rgb, percentile: float = 99.99, floor: float = 1.0, max_samples: int = 1 << 20) -> float:
    """Source peak for the tone curve: a high percentile of max(R, G, B), at least ``floor``.

    A percentile instead of the maximum ignores a few hot pixels (libplacebo uses
    99.995 % for the same reason). Large images are sampled on a regular grid (stride
    chosen from the size, deterministic) so the cost stays bounded. Linear relative units.
    """
    a = np.asarray(rgb)
    step = peak_sample_step(*a.shape[:2], max_samples)
    g = a[::step, ::step]
    # per-channel maximum: the same values as g.max(axis=-1), which is ~8x slower on a strided view;
    # selected in the input's own type (widening is exact and keeps the order: the same value, and
    # half the memory to partition for float32), and copied without non-finite values only if any
    m = np.maximum(np.maximum(g[..., 0], g[..., 1]), g[..., 2]).ravel()
    finite = np.isfinite(m)
    if not finite.all():
        m = m[finite]
    if m.size == 0:
        return float(floor)
    k = min(m.size - 1, int(np.floor(percentile / 100.0 * (m.size - 1))))
    return float(max(np.partition(m, k)[k], floor))


def peak_sample_step(height: int, width: int, max_samples: int = 1 << 20) -> int:
    """The grid stride at which :func:`estimate_peak` samples a ``height`` x ``width`` picture
    (rows and columns ``0, step, 2 step, ...``): at most about ``max_samples`` pixels."""
    return max(1, int(np.ceil(np.sqrt(height * width / max_samples))))


def tone_map_reference(rgb, params: RenderParams, src_peak: float, anchor_peak: float | None = None) -> np.ndarray:
    """The tone step of :func:`render_linear_reference` alone: display light (0..target
    headroom) in the source primaries, float64 (exact curve, the render's anchoring)."""
    curve, cp = params.tone()
    return apply_maxrgb(rgb, curve, cp, params.tone_context(src_peak, anchor_peak))


def render_linear_reference(rgb, primaries: str, params: RenderParams, src_peak: float,
                            anchor_peak: float | None = None) -> np.ndarray:
    """Plain numpy reference of :func:`render_linear` (exact curve, float64 inside)."""
    D = params.target_headroom
    t = tone_map_reference(rgb, params, src_peak, anchor_peak)
    g = get_gamut_map(params.gamut_map)
    out = g.apply(t, primaries, OUTPUT_PRIMARIES, D, **g.check_params(params.gamut_params))
    return (out / D).astype(np.float32)


def render_linear(rgb, primaries: str, params: RenderParams, src_peak: float,
                  anchor_peak: float | None = None) -> np.ndarray:
    """Tone map + gamut map: linear relative ``rgb`` (H, W, 3) in ``primaries`` -> display-linear
    BT.709 in [0, 1], float32.

    The curve's per-frame context (:class:`hdrkit.core.tonemap.ToneContext`, made by
    :meth:`RenderParams.tone_context`) comes from ``src_peak``, the source peak (linear
    relative), e.g. from :func:`estimate_peak` or smoothed per video frame, the tone target
    ``params.target_headroom`` (libplacebo ``pl_tone_map_params`` ``input_max`` /
    ``output_max``), and ``anchor_peak``, the static peak of the source description that fixes
    everything up to reference white (``None``: ``src_peak``, as for a still; see
    :func:`hdrkit.core.tonemap.apply_anchored`). No registered curve reads the scene average,
    so none is passed: the video analysis measures and smooths it for reports only
    (:class:`hdrkit.video.analysis.CurveState`).
    """
    from . import kernels

    if not kernels.has_kernel(params):  # a registered map without a compiled form: the exact path
        return render_linear_reference(rgb, primaries, params, src_peak, anchor_peak)
    return kernels.render_linear_fast(rgb, primaries, params, src_peak, anchor_peak)


def encode_transfer(display_linear, transfer: str = "srgb") -> np.ndarray:
    """Display-linear [0, 1] -> encoded [0, 1] with the named transfer ('srgb' | 'bt1886')."""
    try:
        enc = TRANSFER_ENCODERS[transfer]
    except KeyError:
        raise OptionError(f"unknown output transfer {transfer!r}") from None
    return np.asarray(enc(np.clip(display_linear, 0, 1)), dtype=np.float32)


def render_sdr(rgb, primaries: str, params: RenderParams, src_peak: float, transfer: str = "srgb",
               bits: int = 8, anchor_peak: float | None = None) -> np.ndarray:
    """The whole path: linear HDR -> N-bit SDR codes (H, W, 3), deterministic.

    Gamut maps with a compiled form (:func:`hdrkit.core.kernels.has_kernel`) run fused;
    any other registered map runs the numpy reference, so registering one is enough.
    """
    from . import kernels

    if not kernels.has_kernel(params):
        lin = render_linear_reference(rgb, primaries, params, src_peak, anchor_peak)
        return quantize(encode_transfer(lin, transfer), bits, params.dither)
    return kernels.render_sdr_fast(rgb, primaries, params, src_peak, transfer=transfer, bits=bits,
                                   anchor_peak=anchor_peak)
