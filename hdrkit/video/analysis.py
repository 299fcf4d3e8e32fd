"""Clip analysis: per-frame light statistics, peak detection with temporal smoothing, scene
cuts, and a flicker metric for the SDR output.

:func:`analyze` decodes a clip once and returns a :class:`ClipAnalysis`:

``frames``
    :class:`hdrkit.core.stats.FrameStats` per frame (linear BT.2020 light in cd/m^2, active
    picture; letterbox bars found by :func:`hdrkit.core.stats.detect_active_area` and merged
    over the frames seen so far), measured on every ``step``-th row and column of the
    decoded frame (``step`` 1 = every pixel; the default picks the measuring grid below),
    each pixel with the chroma of its own 4:2:0 site (``cll_mode``, :mod:`hdrkit.metadata.cll`).
``measures``
    :class:`FrameMeasure` per frame: the libplacebo-style peak detection input.
``smoothed``
    :class:`CurveState` per frame: the source peak / average the tone curve actually uses
    after temporal smoothing, and the curve and its parameters.
``cuts``
    frame indices that start a scene (always 0, then every hard cut).
``sdr_luma`` / ``flicker``
    predicted mean SDR luma per frame and the flicker metric on it (below).

Peak detection (per frame, :func:`frame_measure`)
    On a regular grid of the frame (every :func:`hdrkit.video.render.measure_step`-th row
    and column, at most about 2^18 pixels) ``v = PQ(max(R, G, B))`` (ST 2084 inverse EOTF
    of cd/m^2) is histogrammed (4096 bins). ``peak_pq`` = the bin top holding the 99.99th
    percentile (the same percentile as the still path's
    :func:`hdrkit.core.pipeline.estimate_peak`), at least PQ(203 cd/m^2) (libplacebo's
    ``minimum_peak`` 1.0); ``avg_pq`` = mean v of the pixels at or above the black cutoff
    (1 % PQ); ``active`` = their share of the grid.

Temporal smoothing (:class:`PeakSmoother`, libplacebo ``update_peak_buf``)
    In PQ units: ``s += c (x - s)`` for the average and the peak with
    ``c = 1 - exp(-1 / period)``, period 20 frames; then scene-change hysteresis:
    ``delta = active * |avg_pq - s_avg|`` (after the IIR step),
    ``mix = smoothstep(low, high, delta)`` with low = 1 %, high = 3 % PQ, and both
    smoothed values move to the frame's own by ``mix``. ``mix = 1`` is a hard cut: the
    state resets to the new frame at once; fades (small steps per frame) never trigger it.
    The first frame initialises the state. ``CurveState.peak`` / ``avg`` are the smoothed
    values back in hdrkit linear units (1.0 = 203 cd/m^2).

Flicker metric (:func:`flicker_metric`)
    ``Y_t`` = mean luma of SDR frame t, in normalised BT.709 Y' (0 = code 16, 1 = code 235
    for 8-bit limited video). Within each scene (cuts split the series; a segment never
    straddles a cut), ``L_t`` = centred moving average of ``Y`` over up to ``2k + 1``
    frames (k = 4), the half-width shrinking symmetrically near the segment ends so that
    a linear trend (a fade) passes unchanged; ``r_t = Y_t - L_t``; the windowed RMSE
    ``F_t = sqrt(mean(r^2))`` over the same window. The score is ``max_t F_t``; a clip
    passes when it is below :data:`FLICKER_THRESHOLD` (0.02 Y', about 4.4 8-bit codes).
    :func:`analyze` predicts ``Y_t`` by rendering a regular grid of about 8192 pixels of
    each frame with the frame's curve state through the core; :func:`video_flicker` measures it on a real
    SDR video (the Y planes of a proxy), for the whole frame and optionally for regions
    (grey card, skin, sky: the same low-pass RMSE <= 0.02 per region). Sensitivity: a flicker alternating frame by frame scores about half
    its peak-to-peak amplitude (0.05 Y' peak-to-peak -> 0.025).

References
----------
- libplacebo ``src/shaders/colorspace.c`` (``update_peak_buf``, ``pl_peak_detect_params``:
  smoothing_period 20, scene_threshold_low 1.0 / high 3.0, percentile, minimum_peak,
  black_cutoff 1.0); mpv-player/mpv#5960 and #6405 (flicker and brightness jumps).
- SMPTE ST 2084 (PQ); ITU-R BT.2408 (203 cd/m^2 reference white); ITU-R BT.709-6 item 4.6
  (8-bit limited range luma codes 16-235).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..core.pipeline import RenderParams, encode_transfer, render_linear
from ..core.primaries import luminance_weights, rgb_to_rgb_matrix
from ..core.stats import FrameStats, detect_active_area, frame_stats, merge_active_areas
from ..core.transfer import SDR_WHITE_NITS, eotf_inverse_st2084, eotf_st2084
from ..errors import HdrkitError, OptionError
from ..io.atomic import atomic_write_bytes, save_png
from ..io.progress import track
from .damage import Damage
from .reader import VideoReader
from .render import BLACK_CUTOFF_PQ, HIST_BINS, Measurement, measure_step, sample_linear
from .threads import prefetch

__all__ = ["static_peak_nits", "FrameMeasure", "frame_measure", "measure_linear", "CurveState", "PeakSmoother",
           "ClipAnalysis", "FlickerReport", "analyze", "flicker_metric", "video_flicker", "plot_analysis", "FLICKER_THRESHOLD",
           "PERCENTILE", "CLL_MODES", "SMOOTHING_PERIOD", "SCENE_THRESHOLD_LOW", "SCENE_THRESHOLD_HIGH", "SCHEMA"]

#: Percentile of max(R, G, B) taken as the frame peak.
PERCENTILE = 99.99
#: IIR smoothing period in frames (libplacebo default).
SMOOTHING_PERIOD = 20.0
#: Scene-change hysteresis thresholds, in percent of the PQ range (libplacebo defaults).
SCENE_THRESHOLD_LOW = 1.0
SCENE_THRESHOLD_HIGH = 3.0
#: Flicker score above which a clip fails (normalised Y').
FLICKER_THRESHOLD = 0.02
#: Half-width (frames) of the flicker low-pass and RMSE window.
FLICKER_HALF_WIDTH = 4
#: Identifier of the JSON layout written by :meth:`ClipAnalysis.to_dict`.
SCHEMA = "hdrkit.clip-analysis/1"
_MIN_PEAK_PQ = float(eotf_inverse_st2084(SDR_WHITE_NITS))
_LUMA_SAMPLES = 8192  # pixels per frame rendered to predict the SDR mean luma
#: Chroma rules of the light-level statistics: ``site`` (each pixel's own chroma site, the
#: default) and ``raw`` (bilinear, as rendered); see :mod:`hdrkit.metadata.cll`.
CLL_MODES = ("site", "raw")


def _pq_to_rel(pq: float) -> float:
    v = float(eotf_st2084(min(max(pq, 0.0), 1.0))) / SDR_WHITE_NITS
    return 1.0 if abs(v - 1.0) < 1e-9 else v  # PQ(203) round trip: exactly SDR white, not 1 + 2e-16


# ------------------------------------------------------------------ measurement
@dataclass(frozen=True)
class FrameMeasure:
    """Peak-detection input of one frame (PQ signal units, [0, 1])."""

    peak_pq: float
    avg_pq: float
    active: float

    @property
    def peak(self) -> float:
        """Frame peak in hdrkit linear units (1.0 = 203 cd/m^2)."""
        return _pq_to_rel(self.peak_pq)


def frame_measure(m: Measurement, percentile: float = PERCENTILE) -> FrameMeasure:
    """Histogram measurement -> :class:`FrameMeasure` (see the module docstring)."""
    hist = np.asarray(m.hist)
    n = int(hist.sum())
    if n == 0:
        return FrameMeasure(_MIN_PEAK_PQ, 0.0, 0.0)
    need = math.ceil(percentile / 100.0 * n)
    k = int(np.searchsorted(np.cumsum(hist), max(need, 1)))
    peak = max((k + 1) / hist.size, _MIN_PEAK_PQ)
    avg = m.active_sum / m.active if m.active else 0.0
    return FrameMeasure(float(peak), float(avg), m.active / max(m.total, 1))


def measure_linear(rgb, step: int, percentile: float = PERCENTILE) -> FrameMeasure:
    """Plain numpy reference of the measurement on a full linear frame (hdrkit units).

    Takes every ``step``-th row and column (``step`` from :func:`hdrkit.video.render.measure_step`),
    ``v = eotf_inverse_st2084(203 max(R, G, B))``, the same histogram and statistics.
    """
    a = np.asarray(rgb, dtype=np.float64)[::step, ::step]
    v = eotf_inverse_st2084(np.clip(a.max(axis=-1) * SDR_WHITE_NITS, 0.0, 10000.0)).ravel()
    hist = np.bincount(np.minimum((v * HIST_BINS).astype(np.int64), HIST_BINS - 1), minlength=HIST_BINS)
    act = v >= BLACK_CUTOFF_PQ
    return frame_measure(Measurement(hist, v[act].sum(), int(act.sum()), v.size), percentile)


# -------------------------------------------------------------------- smoothing
@dataclass(frozen=True)
class CurveState:
    """What the tone curve uses for one frame.

    ``peak`` / ``avg``: smoothed source peak and average, hdrkit linear (1.0 = 203 cd/m^2);
    the curve takes ``peak`` (with the tone target of its render parameters); ``avg`` drives
    the scene-cut hysteresis and is reported, no registered curve reads it;
    ``peak_pq`` / ``avg_pq``: the same in PQ; ``frame_peak_pq`` / ``frame_avg_pq``: the
    frame's own measurement; ``scene_mix``: the hysteresis blend (1 = hard cut);
    ``curve`` (``name@version``) and ``curve_params``: the curve it feeds.
    """

    frame: int
    time: float
    peak: float
    avg: float
    peak_pq: float
    avg_pq: float
    frame_peak_pq: float
    frame_avg_pq: float
    scene_mix: float
    curve: str = ""
    curve_params: dict = field(default_factory=dict)

    @property
    def peak_nits(self) -> float:
        return self.peak * SDR_WHITE_NITS

    @property
    def avg_nits(self) -> float:
        return self.avg * SDR_WHITE_NITS


def _smoothstep(lo: float, hi: float, x: float) -> float:
    t = min(max((x - lo) / (hi - lo), 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


class PeakSmoother:
    """libplacebo's peak / average smoothing with scene-change hysteresis (module docstring)."""

    def __init__(self, period: float = SMOOTHING_PERIOD, low: float = SCENE_THRESHOLD_LOW,
                 high: float = SCENE_THRESHOLD_HIGH, params: RenderParams | None = None):
        if period < 0 or not (0 <= low < high):
            raise OptionError(f"bad smoothing settings: period {period}, thresholds {low}/{high}")
        self.coeff = 1.0 - math.exp(-1.0 / period) if period > 0 else 1.0
        self.low, self.high = low * 0.01, high * 0.01
        self.avg = self.peak = None
        params = params or RenderParams()
        curve, cp = params.tone()
        self.curve, self.curve_params = curve.tag, dict(cp)
        self.frame = 0

    def update(self, m: FrameMeasure, t: float = 0.0) -> CurveState:
        if self.avg is None:
            self.avg, self.peak = m.avg_pq, m.peak_pq
        self.avg += self.coeff * (m.avg_pq - self.avg)
        self.peak += self.coeff * (m.peak_pq - self.peak)
        delta = m.active * abs(m.avg_pq - self.avg)
        mix = _smoothstep(self.low, self.high, delta)
        self.avg += mix * (m.avg_pq - self.avg)
        self.peak += mix * (m.peak_pq - self.peak)
        st = CurveState(self.frame, float(t), _pq_to_rel(self.peak), _pq_to_rel(self.avg), float(self.peak),
                        float(self.avg), m.peak_pq, m.avg_pq, float(mix if self.frame else 1.0), self.curve,
                        self.curve_params)
        self.frame += 1
        return st


# ---------------------------------------------------------------------- flicker
@dataclass
class FlickerReport:
    """Flicker of a luma series: per-frame low-pass, residual, windowed RMSE; the max score."""

    luma: list[float]
    lowpass: list[float]
    rmse: list[float]
    score: float
    threshold: float = FLICKER_THRESHOLD
    half_width: int = FLICKER_HALF_WIDTH
    regions: dict = field(default_factory=dict)

    @property
    def worst(self) -> float:
        """The largest score of the whole frame and of every region."""
        return max([self.score, *(r.score for r in self.regions.values())])

    @property
    def passed(self) -> bool:
        return self.worst < self.threshold

    def to_dict(self) -> dict:
        d = {"luma": self.luma, "lowpass": self.lowpass, "rmse": self.rmse, "score": self.score,
             "threshold": self.threshold, "half_width": self.half_width, "passed": self.passed}
        if self.regions:
            d["regions"] = {k: r.to_dict() for k, r in self.regions.items()}
        return d


def flicker_metric(luma, cuts=(), half_width: int = FLICKER_HALF_WIDTH,
                   threshold: float = FLICKER_THRESHOLD) -> FlickerReport:
    """Flicker score of a per-frame mean-luma series (module docstring); ``cuts`` start scenes."""
    y = np.asarray(luma, dtype=np.float64)
    n = y.size
    lp = np.zeros(n)
    res = np.zeros(n)
    rms = np.zeros(n)
    bounds = sorted({0, n, *(int(c) for c in cuts if 0 < int(c) < n)})
    for a, b in zip(bounds[:-1], bounds[1:]):
        for t in range(a, b):
            h = min(half_width, t - a, b - 1 - t)
            lp[t] = y[t - h:t + h + 1].mean()
        res[a:b] = y[a:b] - lp[a:b]
        for t in range(a, b):
            lo, hi = max(a, t - half_width), min(b, t + half_width + 1)
            rms[t] = math.sqrt(float(np.mean(res[lo:hi] ** 2)))
    return FlickerReport(y.tolist(), lp.tolist(), rms.tolist(), float(rms.max()) if n else 0.0, threshold, half_width)


def _flicker_from_dict(d: dict) -> FlickerReport:
    return FlickerReport(d["luma"], d["lowpass"], d["rmse"], d["score"], d["threshold"], d["half_width"],
                         {k: _flicker_from_dict(v) for k, v in (d.get("regions") or {}).items()})


def video_flicker(path, cuts=(), half_width: int = FLICKER_HALF_WIDTH, regions: dict | None = None) -> FlickerReport:
    """Flicker of an SDR video file: per-frame mean of the decoded Y plane, normalised BT.709 Y'.

    Limited-range (16-235 for 8-bit) or full-range luma per the stream's tag. ``regions``:
    name -> (top, bottom, left, right) luma-plane boxes (e.g. a grey card, skin, sky) measured
    as well; :attr:`FlickerReport.passed` then needs every one below the threshold.
    """
    import av

    ys = []
    rs: dict[str, list[float]] = {k: [] for k in (regions or {})}
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for f in c.decode(s):
            p = f.planes[0]
            bits = f.format.components[0].bits
            dt = np.uint16 if bits > 8 else np.uint8
            a = np.frombuffer(p, dt).reshape(p.height, p.line_size // np.dtype(dt).itemsize)[:, :p.width]
            full = int(f.color_range or 0) == 2
            lo, span = (0.0, 2**bits - 1.0) if full else (16.0 * 2 ** (bits - 8), 219.0 * 2 ** (bits - 8))
            ys.append((float(a.mean()) - lo) / span)
            for k, (t, b, le, ri) in (regions or {}).items():
                rs[k].append((float(a[t:b, le:ri].mean()) - lo) / span)
    rep = flicker_metric(ys, cuts, half_width)
    rep.regions = {k: flicker_metric(v, cuts, half_width) for k, v in rs.items()}
    return rep


# ---------------------------------------------------------------- clip analysis
@dataclass
class ClipAnalysis:
    """Everything :func:`analyze` measured; JSON-safe through :meth:`to_dict` / :meth:`from_dict`.

    JSON layout (``schema`` = :data:`SCHEMA`)::

        {"schema", "source", "width", "height", "fps", "frame_count", "duration", "transfer",
         "primaries", "step", "cll_mode", "render": {curve, gamut, ... tags}, "cuts": [int],
         "times": [s], "frames": [FrameStats.to_dict()], "measures": [{peak_pq, avg_pq, active}],
         "smoothed": [{frame, time, peak, avg, peak_pq, avg_pq, frame_peak_pq, frame_avg_pq,
                       scene_mix, curve, curve_params}],
         "sdr_luma": [Y'], "flicker": {luma, lowpass, rmse, score, threshold, half_width, passed},
         "damage": {errors, gaps, corrupt_frames}, "elapsed": s}

    Light values: FrameStats in cd/m^2; ``peak`` / ``avg`` hdrkit linear (1.0 = 203 cd/m^2);
    ``*_pq`` PQ signal [0, 1]; ``sdr_luma`` normalised BT.709 Y'. ``cll_mode``: the chroma
    rule of the light-level statistics (``frames``), one of :data:`CLL_MODES`.
    """

    source: str
    width: int
    height: int
    fps: float
    transfer: str
    primaries: str
    step: int
    frames: list[FrameStats] = field(default_factory=list)
    measures: list[FrameMeasure] = field(default_factory=list)
    smoothed: list[CurveState] = field(default_factory=list)
    cuts: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    sdr_luma: list[float] = field(default_factory=list)
    flicker: FlickerReport | None = None
    render: dict = field(default_factory=dict)
    damage: Damage = field(default_factory=Damage)
    frame_count: int = 0
    duration: float = 0.0
    elapsed: float = 0.0
    cll_mode: str = "site"

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA, "source": self.source, "width": self.width, "height": self.height, "fps": self.fps,
            "frame_count": self.frame_count, "duration": self.duration, "transfer": self.transfer,
            "primaries": self.primaries, "step": self.step, "cll_mode": self.cll_mode, "render": dict(self.render),
            "cuts": list(self.cuts),
            "times": list(self.times), "frames": [f.to_dict() for f in self.frames],
            "measures": [asdict(m) for m in self.measures], "smoothed": [asdict(s) for s in self.smoothed],
            "sdr_luma": list(self.sdr_luma), "flicker": self.flicker.to_dict() if self.flicker else None,
            "damage": self.damage.to_dict(), "elapsed": self.elapsed,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "ClipAnalysis":
        if d.get("schema") != SCHEMA:
            raise OptionError(f"not an hdrkit clip analysis (schema {d.get('schema')!r}, want {SCHEMA})")
        fl = d.get("flicker")
        dm = d.get("damage") or {}
        return cls(
            source=d["source"], width=int(d["width"]), height=int(d["height"]), fps=float(d["fps"]),
            transfer=d["transfer"], primaries=d["primaries"], step=int(d["step"]),
            frames=[FrameStats.from_dict(f) for f in d["frames"]],
            measures=[FrameMeasure(**m) for m in d["measures"]],
            smoothed=[CurveState(**s) for s in d["smoothed"]], cuts=[int(c) for c in d["cuts"]],
            times=[float(t) for t in d["times"]], sdr_luma=[float(v) for v in d["sdr_luma"]],
            flicker=None if fl is None else _flicker_from_dict(fl),
            render=dict(d.get("render") or {}),
            damage=Damage(list(dm.get("errors", [])), [tuple(g) for g in dm.get("gaps", [])],
                          list(dm.get("corrupt_frames", []))),
            frame_count=int(d.get("frame_count", 0)), duration=float(d.get("duration", 0.0)),
            elapsed=float(d.get("elapsed", 0.0)), cll_mode=str(d.get("cll_mode", "raw")))

    def write_json(self, path) -> Path:
        """Write :meth:`to_dict` as JSON, atomically."""
        path = Path(path)
        atomic_write_bytes(path, json.dumps(self.to_dict(), indent=1).encode("utf-8"))
        return path

    @classmethod
    def read_json(cls, path) -> "ClipAnalysis":
        return cls.from_dict(json.loads(Path(path).read_text()))


def static_peak_nits(reader: VideoReader, peak_nits: float | None = None) -> float:
    """The one source peak (cd/m^2) of a static tone map, and the anchor of the dynamic one
    (:func:`hdrkit.core.tonemap.apply_anchored`): ``peak_nits``, else MaxCLL (when within
    203-10000; the container's, else the in-band HEVC SEI), else 1000 (HLG: its 1000 cd/m^2
    reference display; SDR: 203)."""
    if peak_nits is not None:
        if not (np.isfinite(peak_nits) and 1.0 <= peak_nits <= 10000.0):
            raise OptionError(f"--peak must be within 1-10000 cd/m^2, not {peak_nits}")
        return float(peak_nits)
    if reader.colour.transfer == "hlg":
        return 1000.0
    if reader.colour.transfer != "pq":
        return SDR_WHITE_NITS
    try:
        from ..metadata.sidedata import container_cll

        cll = container_cll(reader.path)
    except HdrkitError:
        cll = None
    if not (cll and SDR_WHITE_NITS <= cll[0] <= 10000):
        cll = _in_band_cll(reader.path)
    if cll and SDR_WHITE_NITS <= cll[0] <= 10000:
        return float(cll[0])
    return 1000.0


def _in_band_cll(path) -> tuple[int, int] | None:
    """(MaxCLL, MaxFALL) of the first content light level SEI of an HEVC stream (what
    ``hdrkit info`` reports as in-band), or None."""
    from ..metadata.sidedata import scan_hevc_sei

    try:
        return scan_hevc_sei(path, max_packets=8).first_cll()
    except HdrkitError:
        return None


def _sdr_luma(lin_rel, primaries: str, params: RenderParams, state: CurveState, anchor_peak: float) -> float:
    """Mean normalised BT.709 Y' of the SDR render of ``lin_rel`` at ``state`` (through the core, with
    the proxy's anchor: the static peak of the source description, linear relative)."""
    disp = render_linear(lin_rel, primaries, params, state.peak, anchor_peak)
    enc = encode_transfer(disp, "bt1886")
    return float(np.mean(enc @ luminance_weights("bt709").astype(np.float32)))


def analyze(path, *, params: RenderParams | None = None, step: int | None = None, progress: bool = False,
            assume_transfer: str | None = None, assume_primaries: str | None = None,
            assume_matrix: str | None = None, assume_range: str | None = None, allow_sdr: bool = False,
            height: int | None = None, smoothing_period: float = SMOOTHING_PERIOD,
            scene_threshold_low: float = SCENE_THRESHOLD_LOW,
            scene_threshold_high: float = SCENE_THRESHOLD_HIGH, cll_mode: str = "site") -> ClipAnalysis:
    """Analyse a clip in one decoding pass (see the module docstring).

    ``step``: statistics on every ``step``-th row and column (1 = every pixel, exact MaxCLL;
    ``None`` = the measuring grid, at most about 2^18 pixels, e.g. 4 at 1080p). ``params``:
    the render parameters whose curve the states feed and the SDR luma prediction uses.
    ``cll_mode``: the chroma of the light-level statistics (``frames``, hence MaxCLL,
    MaxFALL and HDR10+ MaxSCL / percentiles): ``"site"`` (default) takes each pixel's chroma
    from its own site, ``"raw"`` from the bilinear upsampling the renderer uses
    (:data:`CLL_MODES`; the rule and its reasons: :mod:`hdrkit.metadata.cll`).
    """
    if cll_mode not in CLL_MODES:
        raise OptionError(f"cll mode must be one of {', '.join(CLL_MODES)}, not {cll_mode!r}")
    t0 = time.perf_counter()
    params = params or RenderParams()
    with VideoReader(path, assume_transfer=assume_transfer, assume_primaries=assume_primaries,
                     assume_matrix=assume_matrix, assume_range=assume_range, allow_sdr=allow_sdr,
                     height=height) as r:
        col = r.colour
        st = measure_step(r.height, r.width) if step is None else int(step)
        if st < 1 or st & (st - 1):
            raise OptionError(f"step must be 1 or a power of two, not {step}")
        a = ClipAnalysis(source=str(path), width=r.width, height=r.height, fps=float(r.fps or 0.0),
                         transfer=col.transfer, primaries=col.primaries, step=st, render=params.tags(),
                         frame_count=r.frame_count, duration=r.duration, cll_mode=cll_mode)
        smoother = PeakSmoother(smoothing_period, scene_threshold_low, scene_threshold_high, params)
        anchor = static_peak_nits(r) / SDR_WHITE_NITS
        to2020 = None if col.primaries == "bt2020" else rgb_to_rgb_matrix(col.primaries, "bt2020").astype(np.float32)
        area = None
        chroma = "site" if cll_mode == "site" else "bilinear"
        buf, frame_shape = None, None  # the sampled frame, reused from frame to frame
        frames = prefetch(r.frames)  # decode the next frames while this one is measured
        frames = track(frames, progress, total=r.frame_count or None, unit="frame", desc="analyse", leave=False)
        for f in frames:
            if f.y.shape != frame_shape:  # a new picture size: a new buffer
                buf, frame_shape = None, f.y.shape
            lin, m = sample_linear(f.y, f.u, f.v, col, st, out=buf, chroma=chroma)
            buf = lin
            k = max(1, math.ceil(math.sqrt(lin.shape[0] * lin.shape[1] / _LUMA_SAMPLES)))
            luma_in = lin[::k, ::k].copy()  # a copy even at k = 1: lin is scaled in place below
            nits = lin
            nits *= np.float32(SDR_WHITE_NITS)  # in place: a full frame at step 1 is 25 MB
            if to2020 is not None:
                nits = nits @ to2020.T
            det = detect_active_area(nits)
            area = det if area is None else merge_active_areas([area, det])
            a.frames.append(frame_stats(nits, active=area))
            fm = frame_measure(m)
            a.measures.append(fm)
            state = smoother.update(fm, f.time)
            a.smoothed.append(state)
            a.times.append(f.time)
            if state.scene_mix >= 1.0:
                a.cuts.append(f.index)
            a.sdr_luma.append(_sdr_luma(luma_in, col.primaries, params, state, anchor))
        a.damage = r.damage
    a.flicker = flicker_metric(a.sdr_luma, a.cuts)
    a.elapsed = time.perf_counter() - t0
    return a


# ------------------------------------------------------------------------- plot
def plot_analysis(analysis: ClipAnalysis, dst, title: str | None = None) -> Path:
    """PNG: measured and smoothed peak / average (cd/m^2, log scale) with the cuts, and the
    SDR luma with its low-pass and the windowed flicker RMSE against the threshold. Atomic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(analysis.smoothed)
    x = np.arange(n)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True, constrained_layout=True)
    nits = lambda pq: np.asarray(eotf_st2084(np.asarray(pq, dtype=np.float64)))  # noqa: E731
    ax1.semilogy(x, nits([m.peak_pq for m in analysis.measures]), ".", color="tab:red", ms=3, label="frame peak")
    ax1.semilogy(x, [s.peak_nits for s in analysis.smoothed], "-", color="tab:red", label="smoothed peak")
    ax1.semilogy(x, nits([m.avg_pq for m in analysis.measures]), ".", color="tab:blue", ms=3, label="frame average")
    ax1.semilogy(x, [s.avg_nits for s in analysis.smoothed], "-", color="tab:blue", label="smoothed average")
    if analysis.frames:
        ax1.semilogy(x, [f.max_nits for f in analysis.frames], ":", color="grey", lw=1, label="max(R,G,B) max")
    for c in analysis.cuts[1:]:
        ax1.axvline(c, color="k", lw=0.8, ls="--")
        ax2.axvline(c, color="k", lw=0.8, ls="--")
    ax1.set_ylabel("cd/m²")
    ax1.legend(fontsize=7, ncol=3, loc="best", framealpha=0.6)
    ax1.grid(True, which="both", alpha=0.3)
    ax1.set_title(title or Path(analysis.source).name)
    fl = analysis.flicker
    if fl is not None and n:
        ax2.plot(x, fl.luma, "-", color="tab:green", label="SDR mean Y'")
        ax2.plot(x, fl.lowpass, "--", color="tab:olive", label="low-pass")
        ax2.set_ylabel("normalised Y'")
        ax3 = ax2.twinx()
        ax3.plot(x, fl.rmse, "-", color="tab:purple", label=f"flicker RMSE (max {fl.score:.4f})")
        ax3.axhline(fl.threshold, color="tab:purple", ls=":", lw=1)
        ax3.set_ylabel("flicker RMSE")
        ax3.set_ylim(0, max(fl.threshold * 2, fl.score * 1.2))
        h1, l1 = ax2.get_legend_handles_labels()
        h2, l2 = ax3.get_legend_handles_labels()
        ax2.legend(h1 + h2, l1 + l2, fontsize=7, loc="best", framealpha=0.6)
    ax2.set_xlabel("frame")
    ax2.grid(True, alpha=0.3)
    return save_png(fig, dst, dpi=100)
