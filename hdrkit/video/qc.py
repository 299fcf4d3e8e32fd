"""Quality control of a delivery: every version of one master checked against the core.

:func:`run_qc` reads the written files back (decoded pixels, tags and side data) and
compares them with what the colour core says they should be, on a few frames sampled
evenly over the clip. Each check is a :class:`Check` with its measured value and the
bound from ``hdrkit/data/deliver_thresholds.json`` (where every number gives its reason).

Per version
-----------
``signalling``
    The tags (container and bitstream VUI) and metadata read back (:func:`hdrkit.video.info.video_info`,
    :func:`hdrkit.metadata.hdr10plus_stream.extract_hdr10plus`): HDR10 / HDR10+ = BT.2020,
    PQ, BT.2020 NCL, mastering display and content light level in-band and in the
    container; HDR10+ also one ST 2094-40 SEI per frame, HDR10 none; HLG = BT.2020, HLG,
    no HDR10 metadata; SDR = BT.709 / BT.709 / BT.709, 8 bits, no HDR metadata.
``eotf_tracking_rmse`` (HDR versions)
    RMS, in PQ signal units over every pixel and channel, of the decoded display light of
    the version against the core's intent: the master for HDR10 / HDR10+; for HLG the
    master through :func:`hdrkit.core.pq_hlg.pq_tone_map_to_hlg_peak` (what the 1000 cd/m^2
    reference display shows of the conversion).
``tone_tracking_rmse``, ``delta_e00_p95``, ``skin_dh_p95``, ``banding``, ``highlight_retention``, ``flicker`` (SDR)
    The proxy against the core's render of the master
    (:func:`hdrkit.core.pipeline.render_linear` with the analysis' smoothed peak of the
    frame): :func:`hdrkit.metrics.tone.eotf_rmse` on the master's neutral pixels;
    CIEDE2000 P95 and the CIELAB hue-angle error P95 on uniform skin-coloured blocks, both
    on 8 x 8 block means (per-pixel 4:2:0 chroma noise is no colour error);
    :func:`hdrkit.metrics.artifacts.banding_score`;
    :func:`hdrkit.metrics.tone.highlight_retention` (worst frame) on the master's highlights
    (maxRGB at least half the frame's smoothed peak and above SDR white); and
    :func:`hdrkit.video.analysis.video_flicker` with the analysis' scene cuts.

Across versions
---------------
``content_light_consistent``, ``frame_timing``, ``hdr10plus_aligned``, ``keyframes_match_sdr``
    Same MaxCLL / MaxFALL everywhere (and equal to the measurement), same frame count and
    presentation times, HDR10+ equal to what was meant for it frame by frame, keyframes
    close to the proxy frame of the same index.
``metadata_response_peak``, ``metadata_response_monotone``
    Three HDR10+ variants of the brightest sampled frame for the delivery's targeted display,
    made by the delivery's generator with the tone curve set for 0.5x, 1x and 2x the frame's
    smoothed peak (weak / medium / strong roll-off), each rendered through the ST 2094-40
    curve (:func:`hdrkit.core.st2094.st2094_40_curve`) on the display it targets, from the
    source peak a player derives from their MaxScl: each brings the highlight ROI's peak
    within 10 % of that display's peak, and the share of ROI pixels at the peak falls with
    the roll-off's strength.

Pictures (PNG, written atomically with :func:`hdrkit.io.atomic.save_png`): a frame strip per
version, the tracking plots (PQ error per frame, proxy luma against the analysis'
prediction) and the metadata response curves. :func:`write_report` writes ``qc.json`` and
``qc.html`` (failing checks first).

References
----------
- CIE 142-2001 (CIEDE2000); CIE 15:2004 §8.2.1 (CIELAB hue angle).
- SMPTE ST 2084 / ITU-R BT.2100-2 Table 4 (PQ, the unit of the HDR tracking error).
- ITU-R BT.2408-7 §6 (PQ <-> HLG conversion); SMPTE ST 2094-40 Annex B (the HDR10+ curve).
"""

from __future__ import annotations

# PyAV, Pillow, matplotlib and the numba kernels are imported in the functions that use them, so
# "import hdrkit" and "hdrkit --help" start without them.
import html
import json
import math
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from ..core.pipeline import RenderParams, encode_transfer, render_linear
from ..core.pq_hlg import pq_tone_map_to_hlg_peak
from ..core.primaries import rgb_to_rgb_matrix
from ..core import st2094  # by module: the curve is looked up at call time
from ..core.transfer import SDR_WHITE_NITS, eotf_inverse_st2084, eotf_srgb
from ..errors import HdrkitError
from ..io.atomic import atomic_write_bytes, save_png
from ..metadata import hdr10plus  # by module: its functions are looked up at call time
from ..metadata.cll import measure_cll
from ..metadata.hdr10plus_stream import extract_hdr10plus
from ..metrics.artifacts import banding_score
from ..metrics.color import delta_e_ciede2000, hue_angle, hue_difference, rgb_to_lab
from ..metrics.tone import eotf_rmse, highlight_retention
from .reader import VideoReader

__all__ = ["Check", "QcReport", "load_thresholds", "run_qc", "write_report", "sample_indices", "HDR_VERSIONS",
           "RESPONSE_VARIANTS"]

HDR_VERSIONS = ("hdr10", "hdr10plus", "hlg")
#: Roll-off strengths of the metadata response test: the source peak the fitted tone curve is
#: set for, as a multiple of the frame's smoothed peak (the delivery's own curve is 1.0).
RESPONSE_VARIANTS = (("weak", 0.5), ("medium", 1.0), ("strong", 2.0))
_SAMPLE_FRAMES = 6
#: Highlight ROI of the retention check: master pixels whose maxRGB is at least this share of
#: the frame's smoothed peak (and above SDR white).
HIGHLIGHT_FRACTION = 0.5


def load_thresholds() -> dict:
    """``hdrkit/data/deliver_thresholds.json`` as a dict (``checks``: name -> bound and ``why``)."""
    return json.loads(resources.files("hdrkit.data").joinpath("deliver_thresholds.json").read_text("utf-8"))


@dataclass
class Check:
    """One QC check of one version (or ``"all"`` for checks across versions)."""

    version: str
    name: str
    passed: bool
    value: float | None = None
    limit: float | None = None
    op: str = ""  # '<=' | '>=' | '' (exact)
    detail: str = ""
    skipped: bool = False

    def line(self) -> str:
        """One line, e.g. ``FAIL hdr10 signalling: VUI transfer bt709 read back, smpte2084 expected``."""
        state = "skip" if self.skipped else ("ok" if self.passed else "FAIL")
        val = ""
        if self.value is not None and math.isfinite(self.value):
            val = f" = {self.value:.4g}" + (f" (limit {self.op} {self.limit:g})" if self.limit is not None else "")
        return f"{state:4} {self.version} {self.name}{val}" + (f": {self.detail}" if self.detail else "")


@dataclass
class QcReport:
    checks: list[Check] = field(default_factory=list)
    pictures: dict[str, str] = field(default_factory=dict)
    frames: list[int] = field(default_factory=list)
    thresholds_version: str = ""
    files: dict[str, str] = field(default_factory=dict)  # version -> file name

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def ordered(self) -> list[Check]:
        """Failing checks first, then the rest, each group in run order."""
        return self.failures + [c for c in self.checks if c.passed]

    def to_dict(self) -> dict:
        return {"passed": self.passed, "thresholds_version": self.thresholds_version, "frames": self.frames,
                "files": self.files,
                "failures": [c.line() for c in self.failures],
                "checks": [_json_safe(asdict(c)) for c in self.ordered()], "pictures": self.pictures}


def _json_safe(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


class _Bounds:
    def __init__(self, table: dict):
        self.t = table["checks"]

    def check(self, version: str, name: str, value: float, detail: str = "") -> Check:
        b = self.t[name]
        v = float(value)
        if "max" in b:
            ok, lim, op = bool(v <= b["max"]), float(b["max"]), "<="
        else:
            ok, lim, op = bool(v >= b["min"]), float(b["min"]), ">="
        if not math.isfinite(v):
            ok = False
        return Check(version, name, ok, v, lim, op, detail)


# --------------------------------------------------------------------- reading
def sample_indices(n: int, k: int = _SAMPLE_FRAMES) -> list[int]:
    """``k`` frame indices spread evenly over ``n`` frames (first and last included)."""
    if n <= 0:
        return []
    return sorted({int(round(x)) for x in np.linspace(0, n - 1, min(n, k))})


def _decode(path, indices, allow_sdr: bool = False) -> tuple[dict[int, np.ndarray], str]:
    """Linear light (1.0 = 203 cd/m^2; SDR: display light, 1.0 = white) of the frames ``indices``."""
    want = set(indices)
    out: dict[int, np.ndarray] = {}
    with VideoReader(path, allow_sdr=allow_sdr) as r:
        prim = r.colour.primaries
        for f in r.frames():
            if f.index in want:
                out[f.index] = np.array(r.to_linear(f), dtype=np.float32)
                if len(out) == len(want):
                    break
    return out, prim


def _frame_times(path) -> tuple[int, list[float] | None]:
    """(frames, presentation times in s from the first, sorted) of the video packets, demuxed
    not decoded; times None for a stream without timestamps (raw Annex B HEVC)."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        tb = float(s.time_base)
        pkts = [p.pts for p in c.demux(s) if p.size]
    if not pkts or any(p is None for p in pkts):
        return len(pkts), None
    pts = sorted(pkts)
    return len(pts), [(p - pts[0]) * tb for p in pts]


def _pq(rel) -> np.ndarray:
    return eotf_inverse_st2084(np.clip(rel, 0, None) * SDR_WHITE_NITS)


def _to_bt2020(lin: np.ndarray, primaries: str) -> np.ndarray:
    if primaries == "bt2020":
        return lin

    return lin @ rgb_to_rgb_matrix(primaries, "bt2020").T.astype(lin.dtype)


# -------------------------------------------------------------------- signalling
def _signalling(version: str, sig: dict, n_frames: int, cll) -> Check:
    """Compare the read-back signalling of one version with what it must carry."""
    problems = []
    if version == "sdr":
        want = {"primaries": "bt709", "transfer": "bt709", "matrix": "bt709"}
    else:
        want = {"primaries": "bt2020", "transfer": "arib-std-b67" if version == "hlg" else "smpte2084",
                "matrix": "bt2020nc"}
    for where, label in (("color", "container"), ("vui", "VUI")):
        col = sig.get(where) or {}
        for k, v in want.items():
            if col.get(k) != v:
                problems.append(f"{label} {k} {col.get(k)} read back, {v} expected")
    if version == "sdr" and sig.get("bit_depth") != 8:
        problems.append(f"bit depth {sig.get('bit_depth')} read back, 8 expected")
    if version in ("hdr10", "hdr10plus"):
        for where in ("in_band", "container"):
            if not sig.get("mastering_display", {}).get(where):
                problems.append(f"no mastering display {where.replace('_', '-')}")
            c = sig.get("content_light", {}).get(where)
            if not c:
                problems.append(f"no content light level {where.replace('_', '-')}")
            elif cll is not None and (c["max_cll"], c["max_fall"]) != (cll.max_cll, cll.max_fall):
                problems.append(f"content light level {where.replace('_', '-')} {c['max_cll']},{c['max_fall']}, "
                                f"measured {cll.max_cll},{cll.max_fall}")
    elif sig.get("mastering_display") or sig.get("content_light"):
        problems.append("HDR10 static metadata present; this version must carry none")
    h = sig.get("hdr10plus_frames", 0)
    if version == "hdr10plus" and h != n_frames:
        problems.append(f"HDR10+ on {h} of {n_frames} frames")
    if version != "hdr10plus" and h:
        problems.append(f"HDR10+ on {h} frames; this version must carry none")
    return Check(version, "signalling", not problems, detail="; ".join(problems) or "as required")


# ------------------------------------------------------------------------ checks
#: Colour errors are taken on block means of this many pixels square (linear light): 8-bit
#: 4:2:0 coding alone moves single pixels by 4-6 deg of hue and 3-4 CIEDE2000.
BLOCK = 8


def _blocks(lin: np.ndarray, k: int = BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """(CIELAB of the k x k block means of display-linear BT.709 ``lin``, per-block spread of a*, b*)."""
    h, w = lin.shape[0] // k * k, lin.shape[1] // k * k
    b = lin[:h, :w].reshape(h // k, k, w // k, k, 3)
    lab_px = rgb_to_lab(b)
    spread = np.hypot(lab_px[..., 1].std(axis=(1, 3)), lab_px[..., 2].std(axis=(1, 3)))
    return rgb_to_lab(b.mean(axis=(1, 3))), spread


def _skin_mask(lab: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Skin-coloured, uniform blocks: hue 20-75 deg, C*ab 15-60, L* 35-90, a*/b* spread below 4
    (a block across an edge is no skin sample, whatever its mean; dark, nearly grey warm areas
    are not skin and their hue angle is noise)."""
    C = np.hypot(lab[..., 1], lab[..., 2])
    h = hue_angle(lab)
    return ((C >= 15) & (C <= 60) & (h >= 20) & (h <= 75) & (lab[..., 0] >= 35) & (lab[..., 0] <= 90)
            & (spread < 4.0))


def _sdr_checks(B: _Bounds, master: dict, prim: str, proxy: dict, analysis, params: RenderParams, flicker,
                refs: dict, de_maps: dict | None = None) -> list[Check]:
    curve, cp = params.tone()
    de, dh, band, ret, rm = [], [], [], [], []
    for i, lin in master.items():
        if i not in proxy:
            continue
        st = analysis.smoothed[i]
        ref = refs[i]
        got = np.clip(proxy[i], 0, 1)
        (lab_r, spread), (lab_g, _) = _blocks(ref), _blocks(got)
        de_map = delta_e_ciede2000(lab_r, lab_g)
        de.append(de_map.ravel())
        if de_maps is not None:
            de_maps[i] = de_map
        sk = _skin_mask(lab_r, spread)
        if sk.any():
            dh.append(np.abs(hue_difference(lab_r[sk], lab_g[sk])))
        enc_g, enc_r = encode_transfer(got, "srgb"), encode_transfer(ref, "srgb")
        band.append(banding_score(enc_g, enc_r))
        m = lin.max(axis=-1)
        hi = m >= max(HIGHLIGHT_FRACTION * st.peak, 1.0)
        if hi.sum() >= 16:
            ret.append(highlight_retention(enc_g, lin, hi, source_primaries=prim))
        neutral = (m > 1e-3) & (lin.min(axis=-1) >= 0.98 * m)
        k = int(neutral.sum())
        if k >= 16:  # (sum of squares, pixels): pooled over the frames below
            rm.append((eotf_rmse(enc_g, lin, neutral, curve, cp, st.peak) ** 2 * k, k))
    out = []
    if rm:
        sse, cnt = (sum(x) for x in zip(*rm))
        out.append(B.check("sdr", "tone_tracking_rmse", math.sqrt(sse / cnt),
                           f"proxy luminance vs {curve.tag} on the master's neutral pixels"))
    else:
        out.append(Check("sdr", "tone_tracking_rmse", True, detail="no neutral pixels in the sampled frames",
                         skipped=True))
    out.append(B.check("sdr", "delta_e00_p95", float(np.percentile(np.concatenate(de), 95)),
                       f"proxy vs the core's render of the master, {BLOCK}x{BLOCK} block means"))
    if dh:
        out.append(B.check("sdr", "skin_dh_p95", float(np.percentile(np.concatenate(dh), 95)),
                           f"{sum(len(x) for x in dh)} skin-coloured {BLOCK}x{BLOCK} blocks"))
    else:
        out.append(Check("sdr", "skin_dh_p95", True, detail="no skin-coloured pixels in the sampled frames",
                         skipped=True))
    out.append(B.check("sdr", "banding", max(band), "worst sampled frame"))
    rv = [r for r in ret if math.isfinite(r)]
    if rv:
        out.append(B.check("sdr", "highlight_retention", min(rv), f"worst of {len(rv)} frames with highlights"))
    else:
        out.append(Check("sdr", "highlight_retention", True, detail="no highlights in the sampled frames",
                         skipped=True))
    out.append(B.check("sdr", "flicker", flicker.worst,
                       f"{len(flicker.luma)} frames, {len(analysis.cuts)} scene cut(s)"))
    return out


def _hdr_expected(version: str, lin: np.ndarray, conv_peak: float) -> np.ndarray:
    if version != "hlg":
        return lin

    return pq_tone_map_to_hlg_peak(lin.astype(np.float64) * SDR_WHITE_NITS, conv_peak) / SDR_WHITE_NITS


def _response(B: _Bounds, frame_lin: np.ndarray, i: int, analysis, params, target: float, mastering):
    """The metadata response test on one frame; returns (checks, curves for the plot).

    Three HDR10+ profile B variants for the same targeted display ``target`` (cd/m^2), made
    by the generator the delivery uses (:func:`hdrkit.metadata.hdr10plus.hdr10plus_from_stats`:
    knee + Bezier anchors fitted to the tone curve of ``params``) from the frame's measured
    statistics; they differ only in the source peak the fitted curve is set for, the
    analysis' smoothed peak times the factors of :data:`RESPONSE_VARIANTS`. Each is rendered
    through the ST 2094-40 curve on the display it targets, from the source peak a player
    derives from its MaxScl. Every registered tone curve maps the peak it is set for to the
    display peak, so one set for a lower peak comes within ``at_peak`` (thresholds) of the
    display peak at a lower source level (weak roll-off: a hard shoulder, the top of the
    picture clips) and one set for a higher peak at a higher level (strong roll-off: the
    shoulder starts lower and keeps the highlights apart). A renderer that follows the
    metadata therefore shows a share of highlight-ROI pixels at the peak that falls weak ->
    medium -> strong, and puts each variant's ROI peak on the display's peak (the Bezier
    ends at 1 at the source peak).
    """
    m = frame_lin.max(axis=-1).astype(np.float64) * SDR_WHITE_NITS
    thr = max(float(np.percentile(m, 99.0)), SDR_WHITE_NITS)
    roi = m >= thr
    skip = None
    if roi.sum() < 4:
        skip = "no highlights above 203 cd/m^2 in the sampled frames"
    elif analysis.frames[i].max_nits <= target:
        skip = (f"the brightest sampled frame peaks at {analysis.frames[i].max_nits:.0f} cd/m^2, not above the "
                f"targeted display {target:g}: no roll-off to compare")
    if skip:
        return [Check("all", "metadata_response_peak", True, detail=skip, skipped=True),
                Check("all", "metadata_response_monotone", True, detail=skip, skipped=True)], {}
    x = m[roi]
    at_peak = float(B.t["metadata_response_monotone"]["at_peak"])
    peak_nits = analysis.smoothed[i].peak_nits
    errs, shares, variants, peaks = [], [], {}, []
    for name, k in RESPONSE_VARIANTS:
        md = hdr10plus.hdr10plus_from_stats([analysis.frames[i]], profile="B", target_nits=target, params=params,
                                            peaks_nits=[peak_nits * k], mastering=mastering)
        fr = md.frames[0]
        kx, ky, anchors = fr.bezier.normalised()
        src = hdr10plus.consumer_peak_nits(fr.maxscl_nits, mastering)
        asked = float(fr.target_nits)  # the display the metadata targets, and the one it is shown on

        def render(v, _kx=kx, _ky=ky, _a=anchors, _src=src, _T=asked):
            return st2094.st2094_40_curve(v, _src, _T, _kx, _ky, _a, target_luma=_T)

        y = render(x)
        errs.append(abs(float(y.max()) / asked - 1.0))
        shares.append(float(np.mean(y >= at_peak * asked)))
        grid = np.linspace(0, src, 256)
        variants[name] = (asked, grid, render(grid), f"{name}: curve for {peak_nits * k:.0f} cd/m^2, "
                          f"{shares[-1]:.0%} of the ROI at the peak")
        peaks.append(f"{name} (curve for {peak_nits * k:.0f} cd/m^2): ROI peak {float(y.max()):.0f}")
    mono = all(a >= b for a, b in zip(shares, shares[1:])) and shares[0] > shares[-1]
    curves = {"variants": variants, "roi": (float(x.min()), float(x.max())), "at_peak": at_peak, "frame": i}
    shown = f"on the {target:g} cd/m^2 display they target"
    return [B.check("all", "metadata_response_peak", max(errs), f"frame {i} {shown}: " + "; ".join(peaks)),
            Check("all", "metadata_response_monotone", mono,
                  detail=f"frame {i} {shown}, share of ROI pixels at >= {at_peak:.0%} of its peak: "
                  + ", ".join(f"{n} {s:.3f}" for (n, _), s in zip(RESPONSE_VARIANTS, shares))
                  + ("" if mono else " (must fall from weak to strong)"))], curves


def _keyframe_checks(B: _Bounds, keyframes: list[dict], proxy_path) -> Check:
    from PIL import Image

    if not keyframes:
        return Check("all", "keyframes_match_sdr", True, detail="no keyframes", skipped=True)
    idx = [int(k["index"]) for k in keyframes]
    sdr, _ = _decode(proxy_path, idx, allow_sdr=True)
    worst, where = 0.0, None
    for k in keyframes:
        i = int(k["index"])
        if i not in sdr:
            return Check("all", "keyframes_match_sdr", False, detail=f"the proxy has no frame {i}")
        with Image.open(k["path"]) as im:
            jpg = eotf_srgb(np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0)
        prox = np.clip(sdr[i], 0, 1)
        if jpg.shape != prox.shape:
            return Check("all", "keyframes_match_sdr", False,
                         detail=f"keyframe {Path(k['path']).name} is {jpg.shape[1]}x{jpg.shape[0]}, the proxy "
                         f"{prox.shape[1]}x{prox.shape[0]}")
        v = float(np.percentile(delta_e_ciede2000(_blocks(jpg)[0], _blocks(prox)[0]), 95))
        if v >= worst:
            worst, where = v, Path(k["path"]).name
    return B.check("all", "keyframes_match_sdr", worst, f"worst: {where}")


# ------------------------------------------------------------------------ the run
def run_qc(master, files: dict, signalling: dict, analysis, *, params: RenderParams | None = None,
           hdr10plus_expected=None, hdr10plus_target: float = 400.0, mastering=None, conversion_peak_nits=None,
           keyframes: list[dict] | None = None, picture_dir=None, thresholds: dict | None = None) -> QcReport:
    """Check a delivery (see the module docstring).

    Parameters
    ----------
    master : path-like
        The PQ master.
    files : dict
        version -> path of each video version present (``hdr10``, ``hdr10plus``, ``hlg``, ``sdr``).
    signalling : dict
        version -> read-back signalling (the manifest's ``signalling`` entries).
    analysis : ClipAnalysis
        The one analysis of the master (per-frame stats, smoothed states, scene cuts).
    params : RenderParams, optional
        The render parameters of the SDR versions.
    hdr10plus_expected : Hdr10PlusMetadata, optional
        What the HDR10+ version was meant to carry.
    hdr10plus_target : float
        Targeted display peak (cd/m^2) of the delivery's HDR10+ (the response test's "medium").
    mastering : MasteringDisplay, optional
        The HDR10 mastering display (its primaries weight MaxScl into a source peak).
    conversion_peak_nits : float, optional
        Content peak the PQ -> HLG roll-off started from (default: the measured MaxCLL).
    keyframes : list of dict, optional
        ``path`` and ``index`` of each keyframe JPEG.
    picture_dir : path-like, optional
        Where the PNGs go (not drawn when None).
    thresholds : dict, optional
        Instead of :func:`load_thresholds`.

    Returns
    -------
    QcReport
    """
    params = params or RenderParams()
    table = thresholds or load_thresholds()
    B = _Bounds(table)
    rep = QcReport(thresholds_version=str(table.get("thresholds_version", "")))
    n = len(analysis.frames)
    idx = sample_indices(n)
    rep.frames = idx
    cll = measure_cll(analysis.frames)
    conv_peak = float(conversion_peak_nits or max(f.max_nits for f in analysis.frames))
    master_lin, prim = _decode(master, idx)
    master_lin = {i: _to_bt2020(v, prim) for i, v in master_lin.items()}
    refs = {i: render_linear(v, "bt2020", params, analysis.smoothed[i].peak)
            for i, v in master_lin.items()}
    rep.files = {v: Path(p).name for v, p in files.items()}
    decoded: dict[str, dict] = {}
    tracking: dict[str, list] = {}
    de_maps: dict[int, np.ndarray] = {}
    flicker = None
    # ---- per version
    for version, path in files.items():
        rep.checks.append(_signalling(version, signalling.get(version, {}), n, cll))
        try:
            frames, vprim = _decode(path, idx, allow_sdr=(version == "sdr"))
        except HdrkitError as e:
            rep.checks.append(Check(version, "decode", False, detail=str(e)))
            continue
        decoded[version] = frames
        if version in HDR_VERSIONS:
            per = []
            for i in idx:
                if i not in frames or i not in master_lin:
                    continue
                got = _to_bt2020(frames[i], vprim)
                want = _hdr_expected(version, master_lin[i], conv_peak)
                per.append(float(np.sqrt(np.mean((_pq(got) - _pq(want)) ** 2))))
            tracking[version] = per
            rms = math.sqrt(float(np.mean(np.square(per)))) if per else float("nan")
            what = "the master" if version != "hlg" else "the master via BT.2408 PQ -> HLG on the 1000 cd/m^2 display"
            rep.checks.append(B.check(version, "eotf_tracking_rmse", rms, f"decoded display light vs {what}"))
        elif version == "sdr":
            from .analysis import video_flicker

            flicker = video_flicker(path, cuts=analysis.cuts)
            rep.checks.extend(_sdr_checks(B, master_lin, "bt2020", frames, analysis, params, flicker, refs,
                                          de_maps))
    # ---- across versions
    h10 = [v for v in ("hdr10", "hdr10plus") if v in files]
    if h10:
        seen = set()
        for v in h10:
            for where in ("in_band", "container"):
                c = signalling.get(v, {}).get("content_light", {}).get(where)
                seen.add((c["max_cll"], c["max_fall"]) if c else None)
        ok = seen == {(cll.max_cll, cll.max_fall)}
        rep.checks.append(Check("all", "content_light_consistent", ok,
                                detail=f"measured {cll.max_cll},{cll.max_fall}; read back "
                                + ", ".join(sorted("none" if s is None else f"{s[0]},{s[1]}" for s in seen))))
    n_m, times_m = _frame_times(master)
    worst_t, bad = 0.0, []
    for v, p in files.items():
        n_v, t = _frame_times(p)
        if n_v != n_m:
            bad.append(f"{v} has {n_v} frames, the master {n_m}")
        elif times_m is not None and t is not None:
            worst_t = max(worst_t, max((abs(a - b) for a, b in zip(t, times_m)), default=0.0))
    c = B.check("all", "frame_timing", worst_t, "; ".join(bad) or f"{n_m} frames in every version" + (
        "" if times_m is not None else " (the master has no timestamps: frame counts only)"))
    if bad:
        c.passed = False
    rep.checks.append(c)
    if "hdr10plus" in files:
        rep.checks.append(_hdr10plus_aligned(files["hdr10plus"], hdr10plus_expected))
    if keyframes is not None and "sdr" in files:
        rep.checks.append(_keyframe_checks(B, keyframes, files["sdr"]))
    curves = {}
    src_frames = decoded.get("hdr10plus") or {}  # the response test is the HDR10+ version's
    bright = max(idx, key=lambda i: analysis.frames[i].max_nits)
    if bright in src_frames:
        checks, curves = _response(B, _to_bt2020(src_frames[bright], "bt2020"), bright, analysis, params,
                                   float(hdr10plus_target), mastering)
        rep.checks.extend(checks)
    if picture_dir is not None:
        rep.pictures = _pictures(Path(picture_dir), idx, refs, decoded, tracking, analysis, params, curves,
                                 float(table["checks"]["eotf_tracking_rmse"]["max"]),
                                 None if flicker is None else flicker.luma, de_maps,
                                 float(table["checks"]["delta_e00_p95"]["max"]))
    return rep


def _hdr10plus_aligned(path, expected) -> Check:
    try:
        got = extract_hdr10plus(path)
    except HdrkitError as e:
        return Check("all", "hdr10plus_aligned", False, detail=f"no HDR10+ read back: {e}")
    if expected is None:
        return Check("all", "hdr10plus_aligned", len(got) > 0, detail=f"{len(got)} frames read back")
    if len(got) != len(expected):
        return Check("all", "hdr10plus_aligned", False,
                     detail=f"{len(got)} HDR10+ frames read back, {len(expected)} meant")
    diff = [i for i, (a, b) in enumerate(zip(got.frames, expected.frames)) if a.signal() != b.signal()]
    return Check("all", "hdr10plus_aligned", not diff,
                 detail=f"frames {diff[:5]} differ from the metadata meant for them" if diff
                 else f"{len(got)} frames equal, display order")


# ---------------------------------------------------------------------- pictures
def _axes(ax, xlabel: str, ylabel: str, title: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7)


#: Width (pixels) the frame strip's thumbnails are reduced to at most.
THUMB_WIDTH = 480


def _thumb(lin: np.ndarray, width: int = THUMB_WIDTH) -> np.ndarray:
    """``lin`` (linear light, H x W x 3) box-filtered by the integer factor that brings it to
    at most about ``width`` pixels wide (itself when already that small)."""
    k = lin.shape[1] // width
    if k <= 1:
        return lin
    h, w = lin.shape[0] // k * k, lin.shape[1] // k * k
    return lin[:h, :w].reshape(h // k, k, w // k, k, lin.shape[2]).mean(axis=(1, 3), dtype=np.float32)


def _pictures(d: Path, idx, refs, decoded, tracking, analysis, params, curves, eotf_limit: float,
              proxy_luma: list[float] | None, de_maps: dict | None = None, de_limit: float = 3.0) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d.mkdir(parents=True, exist_ok=True)
    out = {}
    # frame strip: the core's render of the master, then each version as an SDR display would show it
    # (thumbnails: box-filtered in linear light to the strip's size before rendering)
    rows = [("master\n(core render)", {i: _thumb(refs[i]) for i in idx if i in refs})]
    for v in ("sdr", "hdr10", "hdr10plus", "hlg"):
        if v not in decoded:
            continue
        fr = decoded[v]
        if v == "sdr":
            rows.append(("sdr proxy\n(as decoded)", {i: _thumb(np.clip(fr[i], 0, 1)) for i in fr}))
        else:
            rows.append((f"{v}\n(core render)", {i: render_linear(_thumb(fr[i]), "bt2020", params,
                                                                   analysis.smoothed[i].peak) for i in fr}))
    fig, axes = plt.subplots(len(rows), len(idx), figsize=(1.2 + 2.0 * len(idx), 1.25 * len(rows) + 0.3),
                             squeeze=False)
    for r, (name, frames) in enumerate(rows):
        for c, i in enumerate(idx):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if i in frames:
                ax.imshow(encode_transfer(frames[i], "srgb"))
            if c == 0:
                ax.set_ylabel(name, fontsize=9, rotation=0, ha="right", va="center", labelpad=6)
            if r == 0:
                ax.set_title(f"frame {i}", fontsize=9)
    fig.tight_layout()
    out["frames"] = str(save_png(fig, d / "frames.png").name)
    # where the proxy's colour differs from the core's render
    if de_maps:
        keys = [i for i in idx if i in de_maps]
        fig, axes = plt.subplots(1, len(keys), figsize=(1.2 + 2.0 * len(keys), 1.9), squeeze=False)
        im = None
        for c, i in enumerate(keys):
            ax = axes[0][c]
            im = ax.imshow(de_maps[i], cmap="magma", vmin=0, vmax=2 * de_limit, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"frame {i}: P95 {np.percentile(de_maps[i], 95):.2f}", fontsize=9)
        cb = fig.colorbar(im, ax=list(axes[0]), fraction=0.02, pad=0.01)
        cb.set_label("CIEDE2000", fontsize=8)
        cb.ax.axhline(de_limit, color="c", lw=2)
        out["sdr_difference"] = str(save_png(fig, d / "sdr_difference.png").name)
    # tracking
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.2))
    for v, per in tracking.items():
        a1.plot(idx[:len(per)], per, marker="o", label=v)
    a1.axhline(eotf_limit, color="r", ls="--", lw=1, label="limit")
    a1.set_ylim(0, max([eotf_limit * 1.15] + [max(p) * 1.1 for p in tracking.values() if p]))
    _axes(a1, "frame", "RMS error (PQ)", "HDR versions vs the core's intent")
    if proxy_luma:
        a2.plot(proxy_luma, label="proxy (decoded)")
    a2.plot(analysis.sdr_luma, ls="--", label="core render (analysis)")
    for k, c in enumerate(analysis.cuts):
        a2.axvline(c, color="0.6", lw=0.8, label="scene cut" if k == 0 else None)
    _axes(a2, "frame", "mean luma Y'", "SDR proxy: mean luma per frame")
    fig.tight_layout()
    out["tracking"] = str(save_png(fig, d / "tracking.png").name)
    if curves:
        fig, ax = plt.subplots(figsize=(6.5, 3.4))
        lo, hi = curves["roi"]
        ax.axvspan(lo, hi, color="0.88", label="highlight ROI (source levels)")
        T = None
        for name, (T, x, y, label) in curves["variants"].items():
            ax.plot(x, y, label=label)
        if T is not None:
            ax.axhline(curves["at_peak"] * T, color="0.4", ls=":", lw=1,
                       label=f"{curves['at_peak']:.0%} of the {T:g} cd/m^2 display peak")
        _axes(ax, "source maxRGB (cd/m^2)", "display (cd/m^2)",
              f"HDR10+ roll-off variants through st2094-40, frame {curves['frame']}")
        fig.tight_layout()
        out["response"] = str(save_png(fig, d / "response.png").name)
    return {k: f"{d.name}/{v}" for k, v in out.items()}


# ------------------------------------------------------------------------ report
#: Plain words for each check on the QC page (the names stay the machine-readable key).
CHECK_TEXT = {
    "signalling": "tags and HDR metadata read back from the file",
    "decode": "the file decodes",
    "eotf_tracking_rmse": "decoded light vs the master",
    "tone_tracking_rmse": "proxy brightness vs the tone curve",
    "delta_e00_p95": "proxy colour vs the core's render",
    "skin_dh_p95": "skin hue vs the core's render",
    "banding": "contours in smooth gradients",
    "highlight_retention": "highlights kept bright",
    "flicker": "brightness pumping from frame to frame",
    "content_light_consistent": "one MaxCLL / MaxFALL in every HDR10 version",
    "frame_timing": "the master's frames and times in every version",
    "hdr10plus_aligned": "HDR10+ frame by frame as meant",
    "keyframes_match_sdr": "keyframes look like the proxy",
    "metadata_response_peak": "HDR10+ variants put the highlights at the display peak",
    "metadata_response_monotone": "stronger HDR10+ roll-off, fewer pixels at the peak",
}
#: The picture that shows each check, and what each picture shows.
_PICTURE_OF = {"eotf_tracking_rmse": "tracking", "tone_tracking_rmse": "tracking", "flicker": "tracking",
               "delta_e00_p95": "sdr_difference", "skin_dh_p95": "sdr_difference", "banding": "frames",
               "highlight_retention": "frames", "keyframes_match_sdr": "frames", "metadata_response_peak": "response",
               "metadata_response_monotone": "response"}
_PICTURES = {
    "frames": ("Frames", "The sampled frames of every version as an SDR screen shows them (the HDR versions "
               "through the core's render): the rows should look alike."),
    "sdr_difference": ("Where the SDR proxy differs", "CIEDE2000 between the proxy and the core's render of the "
                       "master, 8x8-pixel blocks; the cyan mark on the scale is the limit for the 95th percentile."),
    "tracking": ("Tracking", "Left: each HDR version's error against the core's intent per sampled frame, with "
                 "the limit. Right: the proxy's mean luma per frame and the analysis' prediction; the two lines "
                 "should lie on each other."),
    "response": ("HDR10+ metadata response", "Three HDR10+ roll-offs for one display, each rendered through "
                 "st2094-40: weak reaches the display peak first, strong last. Grey: the source levels of the "
                 "frame's highlights."),
}


def write_report(rep: QcReport, out_dir, title: str = "hdrkit delivery QC") -> tuple[Path, Path]:
    """``qc.json`` and ``qc.html`` in ``out_dir`` (atomically).

    The page: the verdict, one line per version (file, checks passed, failing checks), the
    checks with failing ones first (each with plain words and a link to the picture that
    shows it), then the pictures with a caption saying what to look for.
    """
    out_dir = Path(out_dir)
    js = out_dir / "qc.json"
    atomic_write_bytes(js, (json.dumps(rep.to_dict(), indent=2) + "\n").encode("utf-8"))
    esc = html.escape
    versions = list(rep.files) + sorted({c.version for c in rep.checks} - set(rep.files) - {"all"}) + ["all"]
    summary = []
    for v in versions:
        cs = [c for c in rep.checks if c.version == v]
        if not cs:
            continue
        bad = [c.name for c in cs if not c.passed]
        ok = len([c for c in cs if c.passed and not c.skipped])
        state = "FAIL" if bad else "pass"
        summary.append(f"<tr class='{state.lower()}'><td>{state}</td><td>{esc(v if v != 'all' else 'across versions')}"
                       f"</td><td>{esc(rep.files.get(v, ''))}</td><td>{ok} of {len(cs)} passed"
                       + (f", {len(cs) - ok - len(bad)} skipped" if len(cs) - ok - len(bad) else "")
                       + f"</td><td>{esc(', '.join(bad))}</td></tr>")
    rows = []
    for c in rep.ordered():
        state = "skipped" if c.skipped else ("pass" if c.passed else "FAIL")
        val = "" if c.value is None or not math.isfinite(c.value) else f"{c.value:.3g}"
        lim = "" if c.limit is None else f"{esc(c.op)} {c.limit:g}"
        pic = _PICTURE_OF.get(c.name)
        link = f"<a href='#{pic}'>picture</a>" if pic in rep.pictures else ""
        rows.append(f"<tr class='{state.lower()}'><td>{state}</td><td>{esc(c.version)}</td>"
                    f"<td><b>{esc(CHECK_TEXT.get(c.name, c.name))}</b><br><code>{esc(c.name)}</code></td>"
                    f"<td class='n'>{val}</td><td class='n'>{lim}</td><td>{esc(c.detail)}</td><td>{link}</td></tr>")
    pics = []
    for k, v in rep.pictures.items():
        head, cap = _PICTURES.get(k, (k, ""))
        pics.append(f"<h2 id='{esc(k)}'>{esc(head)}</h2><p>{esc(cap)}</p><img src='{esc(v)}' alt='{esc(head)}'>")
    n_bad = len(rep.failures)
    verdict = "PASSED" if rep.passed else f"FAILED: {n_bad} check{'s' if n_bad != 1 else ''}"
    doc = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>body{{font-family:sans-serif;margin:1.5em;max-width:1400px}} table{{border-collapse:collapse;margin-bottom:1em}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left;vertical-align:top}}
td.n{{white-space:nowrap;font-variant-numeric:tabular-nums}} code{{color:#555;font-size:11px}}
tr.fail td{{background:#fdd}} tr.pass td:first-child{{color:#080}} tr.fail td:first-child{{color:#b00;font-weight:bold}}
tr.skipped td{{color:#888}} img{{max-width:100%}}
.verdict{{padding:.4em .8em;border-radius:4px;color:#fff;background:{'#2a7' if rep.passed else '#c33'}}}</style></head>
<body><h1>{esc(title)} <span class="verdict">{verdict}</span></h1>
<table><tr><th>result</th><th>version</th><th>file</th><th>checks</th><th>failing</th></tr>
{"".join(summary)}</table>
<h2>Checks{" (failing first)" if not rep.passed else ""}</h2>
<p>On frames {", ".join(map(str, rep.frames))}. Thresholds version {esc(rep.thresholds_version)}
(hdrkit/data/deliver_thresholds.json gives the reason for each bound).</p>
<table><tr><th>result</th><th>version</th><th>check</th><th>value</th><th>limit</th><th>detail</th><th></th></tr>
{"".join(rows)}</table>
{"".join(pics)}
</body></html>
"""
    page = out_dir / "qc.html"
    atomic_write_bytes(page, doc.encode("utf-8"))
    return js, page
