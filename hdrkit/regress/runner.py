"""Run the golden set through the export with a parameter pack, measure, and judge.

For every still the runner decodes the golden (:func:`hdrkit.still.export.load_linear`),
renders the float preview (:func:`hdrkit.still.export.render_preview`), writes the real
export (:func:`hdrkit.still.export.export_array`, JPEG with ICC, EXIF thumbnail, XMP), decodes
it again (Pillow) and measures (:func:`measure_still`):

=====================  ==========================================================================
metric                 meaning (units)
=====================  ==========================================================================
mad_8bit               preview vs export, mean |Δ| over pixels and channels (8-bit codes)
dy_mean, dy_p95        preview vs export, |ΔY| over the preview's highlight mask (display-linear)
skin_de00_mean / _p95  export vs colorimetric reference, skin ROI, CIEDE2000 of 8x8-block means
skin_dh_p95            same blocks, |Δh_ab| (deg) where both C*ab >= 10
signage_de00_mean      export vs colorimetric reference, signage ROI, CIEDE2000 of 8x8-block means
de_itp_mean / _p95     export vs colorimetric reference, whole picture, ΔE_ITP (BT.2124, 1.0 = 203 cd/m^2)
banding                false-contour share of smooth gradients, export vs artefact reference (0-1)
halo                   mean rim height at strong edges / edge contrast, export vs artefact reference
ref_white, mid_grey    sRGB-encoded level of the 1.0 and 0.18 patches (0-1)
highlight_retention    P95 of the highlight ROI vs what the display can show (ratio)
eotf_rmse              grey ramp vs the curve's own intent (encoded units)
thumb_de00_mean        EXIF thumbnail vs the export, both at 64 px long edge (CIEDE2000)
thumb_dl_mean          same, mean |ΔL*|
size_mb                file size (MB); bits_per_pixel counts the coded picture only (no APPn / COM)
export_ms(_per_mp)     :func:`export_array` wall time (render, JPEG, thumbnail, tags, write)
flicker                clips: max windowed RMSE of per-frame SDR luma vs its in-scene low-pass
hue_2020/p3_mean/_max  probes: IPT hue error of BT.2020 / P3 primaries and secondaries, 100-1000 cd/m^2 (deg)
highlight_levels       probes: distinct 8-bit codes above 203 cd/m^2 on a ramp to 4000 (source peak 4000)
highlight_4000_1000    probes: code of 4000 minus code of 1000 cd/m^2 on that ramp
card_swing             probes: 203 cd/m^2 card, codes moved when a 2000 cd/m^2 light sets the frame peak
=====================  ==========================================================================

Besides the golden cases every run measures the synthetic probes of :mod:`hdrkit.regress.probes`
(exact charts made in memory, kind ``probe``).

The *colorimetric reference* is the source tone-mapped by the pack's curve and nothing else
(:func:`hdrkit.core.pipeline.tone_map_reference`, no gamut map, no quantisation): what the export
would show on a display with the source's gamut. Colour metrics therefore measure gamut
mapping, dither, chroma subsampling and JPEG, not the curve's choice of brightness (that is
the tone metrics' job). The *artefact reference* is the core's exact numpy render
(:func:`hdrkit.core.pipeline.render_linear_reference`) of the same pack, so banding and halos
from the fast kernels, the dither, the subsampling or the JPEG all count.

Judging (:func:`judge`): every case's metrics against the thresholds' one-vote vetoes, and
the set's means against the stored baseline's (regressions). Clips go through
:func:`hdrkit.video.analysis.analyze` (peak detection, smoothing, cuts, predicted SDR luma).
"""

from __future__ import annotations

import io
import json
import logging
import math
import tempfile
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.pipeline import encode_transfer, estimate_peak, render_linear_reference, tone_map_reference
from ..errors import HdrkitError, OptionError
from ..metrics import artifacts, color, tone
from .probes import PROBES
from .goldens import GoldenCase, GoldenSet, load_rois
from .packs import ParameterPack

__all__ = ["CaseResult", "RegressResult", "Thresholds", "load_thresholds", "load_baseline", "baseline_entry",
           "measure_still", "run_case", "run", "judge", "read_thumbnail", "decode_jpeg_rgb", "DEFAULT_THRESHOLDS"]

log = logging.getLogger("hdrkit.regress")

#: Largest number of pixels the whole-picture colour metrics sample (regular grid).
_COLOUR_SAMPLES = 1 << 20
#: Long edge (px) at which the EXIF thumbnail and the main picture are compared: the look, not the detail.
THUMB_COMPARE_EDGE = 64


# ---------------------------------------------------------------- thresholds
@dataclass(frozen=True)
class Thresholds:
    """The gate: per-case vetoes ``{metric: {max|min, why}}`` and set-mean regressions
    ``{metric: {max_increase, why}}``, with the file's version."""

    version: str
    vetoes: dict
    regressions: dict
    warnings: dict
    path: str

    def veto_failures(self, metrics: dict, category: str = "") -> list[str]:
        return _check(self.vetoes, metrics, category)

    def warning_notes(self, metrics: dict, category: str = "") -> list[str]:
        return _check(self.warnings, metrics, category)


def _check(rules: dict, metrics: dict, category: str) -> list[str]:
    out = []
    for name, rule in rules.items():
        cats = rule.get("categories")
        if cats and category not in cats:
            continue
        v = metrics.get(name)
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            continue
        if "max" in rule and v > rule["max"]:
            out.append(f"{name} {v:.4g} > {rule['max']:g}")
        if "min" in rule and v < rule["min"]:
            out.append(f"{name} {v:.4g} < {rule['min']:g}")
    return out


def DEFAULT_THRESHOLDS():  # noqa: N802 - a resource handle, named like the constant it stands for
    return resources.files("hdrkit.data").joinpath("regress_thresholds.json")


def load_thresholds(path: str | Path | None = None) -> Thresholds:
    """The thresholds file (default: the one shipped in ``hdrkit/data``)."""
    src = DEFAULT_THRESHOLDS() if path is None else Path(path)
    try:
        d = json.loads(src.read_text())
        return Thresholds(str(d["thresholds_version"]), dict(d["vetoes"]), dict(d.get("regressions", {})),
                          dict(d.get("warnings", {})), str(src))
    except OSError as e:
        raise OptionError(f"cannot read thresholds {src}: {e.strerror or e}") from None
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise OptionError(f"{src}: malformed thresholds file ({type(e).__name__}: {e})") from None


def load_baseline(path: str | Path) -> dict | None:
    """The stored baseline JSON, or None when the file does not exist."""
    p = Path(path)
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise OptionError(f"{p}: malformed baseline ({e.msg} at line {e.lineno})") from None


def baseline_entry(baseline: dict | None, set_name: str) -> dict | None:
    return (baseline or {}).get("sets", {}).get(set_name)


# ------------------------------------------------------------------- results
@dataclass
class CaseResult:
    name: str
    kind: str
    category: str
    status: str = "pass"  # pass | fail | error | skip
    metrics: dict = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    compare: dict | None = None
    export_tags: dict = field(default_factory=dict)
    source: str = ""
    files: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class RegressResult:
    set_name: str
    pack: dict
    compare_pack: dict | None
    thresholds_version: str
    cases: list[CaseResult]
    summary: dict = field(default_factory=dict)
    regressions: list[dict] = field(default_factory=list)
    baseline: dict | None = None
    missing: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed_cases(self) -> list[CaseResult]:
        return [c for c in self.cases if c.status in ("fail", "error")]

    @property
    def regression_failures(self) -> list[dict]:
        return [r for r in self.regressions if r["failed"]]

    @property
    def passed(self) -> bool:
        return not self.failed_cases and not self.regression_failures

    def to_dict(self) -> dict:
        return {
            "set": self.set_name, "passed": self.passed, "pack": self.pack, "compare_pack": self.compare_pack,
            "thresholds_version": self.thresholds_version, "summary": self.summary,
            "regressions": self.regressions,
            "baseline": None if self.baseline is None else {k: v for k, v in self.baseline.items() if k != "cases"},
            "missing_cases": self.missing, "seconds": round(self.seconds, 2),
            "cases": [c.to_dict() for c in sorted(self.cases, key=_fail_first)],
        }


def _fail_first(c: CaseResult):
    return ({"error": 0, "fail": 1, "pass": 2, "skip": 3}.get(c.status, 4), c.name)


# ------------------------------------------------------------------ metrics
def decode_jpeg_rgb(data: bytes) -> np.ndarray:
    """A JPEG's pixels as (H, W, 3) uint8 RGB, decoded by Pillow (libjpeg-turbo)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def read_thumbnail(data: bytes) -> np.ndarray | None:
    """The IFD1 JPEG thumbnail of an export's EXIF, decoded to RGB uint8, or None."""
    from PIL import ExifTags, Image

    with Image.open(io.BytesIO(data)) as im:
        ifd1 = im.getexif().get_ifd(ExifTags.IFD.IFD1)
    if 0x0201 not in ifd1 or 0x0202 not in ifd1:
        return None
    i = data.find(b"Exif\x00\x00")
    if i < 0:
        return None
    start = i + 6 + int(ifd1[0x0201])
    try:
        return decode_jpeg_rgb(data[start:start + int(ifd1[0x0202])])
    except OSError:
        return None


def _area_resize(linear: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Box-filter (area average) a linear float image to ``size`` = (w, h)."""
    from PIL import Image

    if linear.shape[1::-1] == tuple(size):
        return linear
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(linear[..., c], np.float32), "F")
                                .resize(size, Image.Resampling.BOX)) for c in range(3)], -1)


def _block_means(a: np.ndarray, mask: np.ndarray | None = None, b: int = 8, min_fill: float = 0.25) -> np.ndarray:
    """Means over the b x b blocks of ``a`` (H, W, 3) of the pixels inside ``mask``, for the
    blocks with at least ``min_fill`` of their pixels inside: (N, 3) float64, row-major order."""
    h, w = (a.shape[0] // b) * b, (a.shape[1] // b) * b
    x = np.asarray(a[:h, :w], dtype=np.float64)
    if mask is None:
        return x.reshape(h // b, b, w // b, b, 3).mean(axis=(1, 3)).reshape(-1, 3)
    mk = np.asarray(mask[:h, :w], bool)
    n = mk.reshape(h // b, b, w // b, b).sum(axis=(1, 3))
    sums = (x * mk[..., None]).reshape(h // b, b, w // b, b, 3).sum(axis=(1, 3))
    keep = n >= max(1, min_fill * b * b)
    return sums[keep] / n[keep][:, None]


def _pct(a, q) -> float:
    return float(np.percentile(a, q)) if np.size(a) else float("nan")


def colour_reference(source_linear, pack: ParameterPack, src_peak: float, rows: int = 512) -> np.ndarray:
    """The colorimetric reference, per pixel: the source tone-mapped by the pack's curve on
    max(R, G, B) and divided by the target headroom, still in the source's primaries (no
    gamut map). float32, computed in bands of ``rows`` rows to bound memory."""
    D = pack.params.target_headroom
    src = np.asarray(source_linear)
    out = np.empty(src.shape, np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(0, src.shape[0], rows):
            out[i:i + rows] = tone_map_reference(src[i:i + rows], pack.params, src_peak) / D
    return out


def artefact_reference(source_linear, primaries: str, pack: ParameterPack, src_peak: float) -> np.ndarray:
    """The exact render the artefact scores compare against: the core's numpy reference
    (:func:`hdrkit.core.pipeline.render_linear_reference`, exact curve, float64), sRGB-encoded."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lin = render_linear_reference(source_linear, primaries, pack.params, src_peak)
    return encode_transfer(lin, "srgb")


def measure_still(source_linear, primaries: str, preview, export, pack: ParameterPack, src_peak: float,
                  rois: dict | None = None, thumb=None, reference=None) -> tuple[dict, dict]:
    """All per-case metrics of one still (table in the module docstring) and the maps behind them.

    ``source_linear``: decoded golden (hdrkit linear, ``primaries``); ``preview``: float
    encoded [0, 1] (what the app shows before export); ``export``: decoded export, uint8;
    ``thumb``: decoded EXIF thumbnail or None; ``reference``: :func:`artefact_reference`
    (computed when None). Colour metrics compare 8 x 8-pixel block means in linear light over
    the ROI's pixels (blocks at least a quarter inside the ROI): viewing-scale colour, not pixel
    noise, which MAD and the artefact scores cover. Returns (metrics, maps) with maps = ``banding`` (bool),
    ``gradient`` (bool), ``halo`` (float rim heights), ``edges`` (bool), ``highlight`` (bool).
    """
    rois = rois or {}
    m: dict = {}
    curve, cp = pack.params.tone()
    D = pack.params.target_headroom
    m["mad_8bit"] = tone.mad_8bit(preview, export)
    hmask = tone.highlight_mask(preview)
    m["dy_mean"], m["dy_p95"] = tone.highlight_delta_y(preview, export, hmask)

    exp_lin = tone.display_linear(export)
    src = np.asarray(source_linear)
    ref_lin = colour_reference(src, pack, src_peak)

    def blocks(mask):
        return (color.rgb_to_lab(_block_means(ref_lin, mask), primaries),
                color.rgb_to_lab(_block_means(exp_lin, mask), "bt709"))

    if "skin" in rois:
        lab_ref, lab_exp = blocks(rois["skin"])
        if len(lab_ref):
            d = color.delta_e_ciede2000(lab_ref, lab_exp)
            m["skin_de00_mean"], m["skin_de00_p95"] = float(d.mean()), _pct(d, 95)
            ok = (np.hypot(lab_ref[:, 1], lab_ref[:, 2]) >= 10) & (np.hypot(lab_exp[:, 1], lab_exp[:, 2]) >= 10)
            m["skin_dh_p95"] = _pct(np.abs(color.hue_difference(lab_ref[ok], lab_exp[ok])), 95)
    if "signage" in rois:
        lab_ref, lab_exp = blocks(rois["signage"])
        if len(lab_ref):
            m["signage_de00_mean"] = float(color.delta_e_ciede2000(lab_ref, lab_exp).mean())
    b = 8 * int(math.ceil(math.sqrt(src.shape[0] * src.shape[1] / 64 / _COLOUR_SAMPLES)))
    itp = color.delta_e_itp(color.rgb_to_ictcp(_block_means(ref_lin, None, b), primaries),
                            color.rgb_to_ictcp(_block_means(exp_lin, None, b), "bt709"))
    m["de_itp_mean"], m["de_itp_p95"] = float(itp.mean()), _pct(itp, 95)

    if reference is None:
        reference = artefact_reference(src, primaries, pack, src_peak)
    banded, grad = artifacts.banding_map(export, reference)
    m["banding"] = float(banded.sum() / grad.sum()) if grad.sum() >= artifacts.BANDING_DEFAULTS["min_pixels"] else 0.0
    rim, edges = artifacts.halo_map(export, reference)
    m["halo"] = float(rim[edges].mean()) if edges.any() else 0.0

    if "refwhite" in rois:
        m["ref_white"] = tone.encoded_level(export, rois["refwhite"])
    if "midgrey" in rois:
        m["mid_grey"] = tone.encoded_level(export, rois["midgrey"])
    if "highlight" in rois:
        m["highlight_retention"] = tone.highlight_retention(export, src, rois["highlight"], primaries, D)
    if "ramp" in rois:
        grey = lambda v: tone_map_reference(np.repeat(v[:, None], 3, axis=1), pack.params, src_peak)[:, 0]  # noqa: E731
        m["eotf_rmse"] = tone.eotf_rmse(export, src, rois["ramp"], curve, cp, src_peak, D, tone=grey)
    if thumb is not None:
        th, tw = thumb.shape[:2]
        s = min(1.0, THUMB_COMPARE_EDGE / max(th, tw))
        size = (max(1, round(tw * s)), max(1, round(th * s)))
        lt = color.rgb_to_lab(_area_resize(tone.display_linear(thumb).astype(np.float32), size), "bt709")
        lm = color.rgb_to_lab(_area_resize(exp_lin.astype(np.float32), size), "bt709")
        m["thumb_de00_mean"] = float(color.delta_e_ciede2000(lm, lt).mean())
        m["thumb_dl_mean"] = float(np.abs(lt[..., 0] - lm[..., 0]).mean())
    maps = {"banding": banded, "gradient": grad, "halo": rim, "edges": edges, "highlight": hmask}
    return {k: (round(v, 6) if isinstance(v, float) and math.isfinite(v) else v) for k, v in m.items()}, maps


def coded_bytes(data: bytes) -> int:
    """Bytes of a JPEG without its APPn / COM segments (ICC, EXIF with thumbnail, XMP): the picture's cost."""
    i, n, meta = 2, len(data), 0
    while i + 4 <= n and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: the rest is entropy-coded data
            break
        seg = 2 + int.from_bytes(data[i + 2:i + 4], "big")
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            meta += seg
        i += seg
    return n - meta


# --------------------------------------------------------------------- cases
@dataclass
class CaseArrays:
    """What a report needs from one case (kept only while the case is written)."""

    preview: np.ndarray
    export: np.ndarray
    export_bytes: bytes
    export_meta: dict
    thumb: np.ndarray | None
    maps: dict
    compare_export: np.ndarray | None = None


def _export_once(img, case: GoldenCase, pack: ParameterPack, peak: float, dst: Path):
    from ..still.export import export_array, render_preview

    with np.errstate(divide="ignore", invalid="ignore"):  # the core's curves divide in branches np.where drops
        preview = render_preview(img.rgb, img.primaries, pack.params, peak)
        res = export_array(img.rgb, img.primaries, dst, src_peak=peak, params=pack.params, quality=pack.quality,
                           subsampling=pack.subsampling, exif=img.exif,
                           xmp_extra={"regress_case": case.name, "regress_pack": pack.name})
    data = dst.read_bytes()
    return preview, res, data


def _export_measured(img, case: GoldenCase, pack: ParameterPack, peak: float, dst: Path, rois):
    """Export with ``pack``, decode the JPEG back and measure it against its preview:
    (preview, ExportResult, bytes, decoded export, thumbnail, metrics incl. size, maps)."""
    preview, res, data = _export_once(img, case, pack, peak, dst)
    export = decode_jpeg_rgb(data)
    thumb = read_thumbnail(data)
    with np.errstate(divide="ignore", invalid="ignore"):
        metrics, maps = measure_still(img.rgb, img.primaries, preview, export, pack, peak, rois, thumb)
    h, w = export.shape[:2]
    metrics.update({"size_mb": round(len(data) / 1e6, 4), "bits_per_pixel": round(8 * coded_bytes(data) / (h * w), 4)})
    return preview, res, data, export, thumb, metrics, maps


def run_case(case: GoldenCase, pack: ParameterPack, workdir: Path, compare: ParameterPack | None = None
             ) -> tuple[CaseResult, CaseArrays | None]:
    """Export and measure one still with ``pack`` (and ``compare``); clips go to :func:`run_clip`."""
    from ..still.export import load_linear

    r = CaseResult(case.name, case.kind, case.category, source=str(case.path))
    if case.kind == "clip":
        return run_clip(case, pack, workdir, r), None
    t0 = time.perf_counter()
    img = load_linear(case.path)
    decode_s = time.perf_counter() - t0
    r.notes += img.warnings
    peak = estimate_peak(img.rgb)
    rois = load_rois(case, img.rgb.shape[:2])
    dst = workdir / f"{case.name}.export.jpg"
    preview, res, data, export, thumb, metrics, maps = _export_measured(img, case, pack, peak, dst, rois)
    h, w = export.shape[:2]
    mp = h * w / 1e6
    metrics.update({
        "export_ms": round(res.seconds * 1000, 1), "export_ms_per_mp": round(res.seconds * 1000 / mp, 1),
        "decode_ms": round(decode_s * 1000, 1), "src_peak": round(peak, 4), "width": w, "height": h,
    })
    r.metrics = metrics
    r.export_tags = dict(res.tags)
    r.notes += res.warnings
    arrays = CaseArrays(preview, export, data, {**res.to_dict(), "pack": pack.to_dict(), "case": case.name,
                                               "source": str(case.path), "metrics": metrics}, thumb, maps)
    if compare is not None:
        cdst = workdir / f"{case.name}.compare.jpg"
        _, _, _, cexp, _, cm, _ = _export_measured(img, case, compare, peak, cdst, rois)
        r.compare = {"pack": compare.name, "metrics": cm,
                     "export_mad_8bit": round(tone.mad_8bit(export, cexp), 4)}
        arrays.compare_export = cexp
    return r, arrays


def run_clip(case: GoldenCase, pack: ParameterPack, workdir: Path, r: CaseResult) -> CaseResult:
    """Clips: per-frame flicker of the predicted SDR output (:func:`hdrkit.video.analysis.analyze`:
    peak detection, temporal smoothing and scene cuts as the video path does them)."""
    from ..video.analysis import analyze

    t0 = time.perf_counter()
    with np.errstate(divide="ignore", invalid="ignore"):
        a = analyze(case.path, params=pack.params)
    peaks = [s.peak for s in a.smoothed]
    r.metrics = {"flicker": round(float(a.flicker.score), 6), "frames": len(a.sdr_luma), "cuts": len(a.cuts),
                 "src_peak": round(max(peaks), 4) if peaks else None, "analyse_ms": round((time.perf_counter() - t0) * 1000, 1),
                 "width": a.width, "height": a.height}
    r.export_tags = dict(a.render)
    if a.damage.errors:
        r.notes += [f"decode: {e}" for e in a.damage.errors[:3]]
    r.files["flicker_series"] = {"luma": [round(v, 5) for v in a.flicker.luma],
                                 "lowpass": [round(v, 5) for v in a.flicker.lowpass],
                                 "rmse": [round(v, 5) for v in a.flicker.rmse], "cuts": list(a.cuts)}
    return r


def run_probes(pack: ParameterPack, compare: ParameterPack | None = None) -> list[tuple[GoldenCase, CaseResult]]:
    """The synthetic colour probes (:mod:`hdrkit.regress.probes`: hue chart, highlight ramp,
    pumping card) measured with ``pack`` (and ``compare``), as cases of kind ``probe``."""
    out = []
    for name, fn in PROBES.items():
        case = GoldenCase(name, "probe", Path(name), category="probe", description=(fn.__doc__ or "").strip())
        r = CaseResult(name, "probe", "probe", source="hdrkit.regress.probes")
        t0 = time.perf_counter()
        r.metrics = {**fn(pack.params), "probe_ms": round((time.perf_counter() - t0) * 1000, 1)}
        r.export_tags = pack.tags()
        if compare is not None:
            r.compare = {"pack": compare.name, "metrics": fn(compare.params)}
        out.append((case, r))
    return out


# -------------------------------------------------------------------- judging
def _mean(values) -> float | None:
    v = [x for x in values if isinstance(x, (int, float)) and math.isfinite(x)]
    return float(np.mean(v)) if v else None


def summarise(cases: list[CaseResult]) -> dict:
    """Set means of every numeric metric over the cases that have it (``<metric>_mean_over_cases``)."""
    names = sorted({k for c in cases for k, v in c.metrics.items() if isinstance(v, (int, float))})
    out = {}
    for n in names:
        mv = _mean(c.metrics.get(n) for c in cases if c.status in ("pass", "fail"))
        if mv is not None:
            out[n] = round(mv, 6)
    out["cases"] = len(cases)
    out["failed"] = sum(c.status in ("fail", "error") for c in cases)
    return out


def apply_vetoes(c: CaseResult, thresholds: Thresholds) -> CaseResult:
    """Set ``failures``, ``warnings`` and ``status`` of a measured case from the thresholds (in place)."""
    if c.status not in ("error", "skip"):
        c.failures = thresholds.veto_failures(c.metrics, c.category)
        c.warnings = thresholds.warning_notes(c.metrics, c.category)
        c.status = "fail" if c.failures else "pass"
    return c


def judge(cases: list[CaseResult], thresholds: Thresholds, base: dict | None) -> list[dict]:
    """Apply vetoes to each case (in place) and return the regression checks against ``base``.

    A regression compares the mean over the cases present in both runs, so adding or
    dropping a case does not by itself move the mean.
    """
    for c in cases:
        apply_vetoes(c, thresholds)
    out = []
    if not base:
        return out
    bcases = base.get("cases", {})
    for metric, rule in thresholds.regressions.items():
        pairs = [(c.metrics.get(metric), bcases[c.name].get(metric)) for c in cases
                 if c.name in bcases and c.status in ("pass", "fail")]
        pairs = [(a, b) for a, b in pairs if isinstance(a, (int, float)) and isinstance(b, (int, float))]
        if not pairs:
            continue
        now, then = float(np.mean([a for a, _ in pairs])), float(np.mean([b for _, b in pairs]))
        inc = now - then
        failed = inc > float(rule["max_increase"])
        worst = sorted(((c.name, c.metrics[metric] - bcases[c.name][metric]) for c in cases
                        if c.name in bcases and isinstance(c.metrics.get(metric), (int, float))
                        and isinstance(bcases[c.name].get(metric), (int, float))), key=lambda t: -t[1])[:5]
        out.append({"metric": metric, "baseline_mean": round(then, 6), "mean": round(now, 6),
                    "increase": round(inc, 6), "max_increase": rule["max_increase"], "cases": len(pairs),
                    "failed": bool(failed), "largest_increases": [[n, round(d, 6)] for n, d in worst]})
    return out


# ------------------------------------------------------------------------ run
def run(gset: GoldenSet, pack: ParameterPack, thresholds: Thresholds, *, baseline: dict | None = None,
        compare: ParameterPack | None = None, workdir: Path | None = None,
        on_case: Callable[[GoldenCase, CaseResult, CaseArrays | None], None] | None = None,
        progress: Callable | None = None) -> RegressResult:
    """Run every case of ``gset``; ``on_case`` sees each case's arrays (for the report) as it finishes.

    A case whose export raises is recorded as ``error`` with the message (a gate failure: a
    golden must always export) and the run goes on; ``-vv`` logs the traceback.
    """
    t0 = time.perf_counter()
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="hdrkit-regress-")
        workdir = Path(tmp.name)
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        it = progress(gset.cases) if progress else gset.cases
        for case in it:
            try:
                r, arrays = run_case(case, pack, workdir, compare)
            except Exception as e:  # noqa: BLE001 - a golden that breaks the pipeline is a gate failure, not a crash
                r = CaseResult(case.name, case.kind, case.category, status="error", source=str(case.path))
                what = str(e) if isinstance(e, HdrkitError) else f"{type(e).__name__}: {e}"
                r.failures = [f"export failed: {what}"]
                log.debug("case %s failed", case.name, exc_info=True)
                arrays = None
            apply_vetoes(r, thresholds)
            results.append(r)
            if on_case is not None:
                on_case(case, r, arrays)
        for case, r in run_probes(pack, compare):
            apply_vetoes(r, thresholds)
            results.append(r)
            if on_case is not None:
                on_case(case, r, None)
    finally:
        if tmp is not None:
            tmp.cleanup()
    base = baseline_entry(baseline, gset.name)
    regressions = judge(results, thresholds, base)
    res = RegressResult(gset.name, pack.to_dict() | {"tags": pack.tags()},
                        None if compare is None else compare.to_dict() | {"tags": compare.tags()},
                        thresholds.version, results, summarise(results), regressions, base, gset.missing,
                        time.perf_counter() - t0)
    return res


def baseline_from(result: RegressResult, metrics: list[str] | None = None) -> dict:
    """A baseline entry for ``result``'s set: per-case metrics (all numeric ones unless
    ``metrics`` is given) and the pack that produced them. Timing is left out (not reproducible)."""
    skip = {"export_ms", "export_ms_per_mp", "decode_ms", "analyse_ms"}
    cases = {}
    for c in result.cases:
        if c.status not in ("pass", "fail"):
            continue
        cases[c.name] = {k: v for k, v in c.metrics.items()
                         if isinstance(v, (int, float)) and k not in skip and (metrics is None or k in metrics)}
    return {"pack": result.pack.get("pack"), "pack_tags": result.pack.get("tags"),
            "thresholds_version": result.thresholds_version,
            "recorded": time.strftime("%Y-%m-%d", time.gmtime()), "cases": cases}


__all__ += ["CaseArrays", "summarise", "baseline_from", "run_clip", "apply_vetoes"]
