"""The regression report: JSON, per-case images, curve plots, ``index.html``, repro bundles.

Layout of ``OUT/`` (every file written atomically, :mod:`hdrkit.io.atomic`):

``export_consistency_report.json``
    :meth:`hdrkit.regress.runner.RegressResult.to_dict` (per-case metrics, failures, the
    regression checks against the baseline, the packs' tags) plus the report's file names.
``index.html``
    One page: verdict, packs, regression checks, then every case, failing ones first, with
    its metrics (failing values marked) and images; curve plots at the end.
``cases/<case>/compare.png``
    preview | export | |preview - export| heatmap (max over channels, 0-8 codes) | artefact
    overlay (banding in magenta, halo rims in cyan, highlight mask in yellow).
``cases/<case>/before_after.png`` (with a compare pack, or an earlier report to compare with)
    this export | the other pack's export, or the earlier report's (``exports/<case>.export.jpg``:
    before vs after a code change) | |Δ| heatmap (0-16 codes).
``cases/<case>/thumbnail.png``
    EXIF thumbnail | main export scaled to the thumbnail's size | |Δ| heatmap.
``cases/<case>/flicker.png`` (clips)
    per-frame SDR luma, its in-scene low-pass, the windowed RMSE and the threshold.
``curves/curves.png``, ``curves/pack_curves.png``
    every registered curve and preset (:func:`hdrkit.io.plots.plot_curves`); the
    pack's curve (and the compare pack's) at three source peaks.
``exports/<case>.export.jpg``
    every export as written (``<case>.compare.jpg`` for a compare pack); a later run's
    ``--compare-report OUT`` diffs against these.
``repro/<case>/`` (failing cases)
    ``source`` (the golden, copied), ``export.jpg``, ``export_meta.json`` (export result, pack,
    metrics, failures, the command that reproduces it), ``preview.png`` and ``diff.png`` at
    full size.

Images in ``cases/`` are scaled so a panel is at most :data:`PANEL_EDGE` pixels on its
long side (nearest-neighbour below, area average above).
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_path, atomic_write_bytes, save_png
from .goldens import GoldenCase
from .runner import CaseArrays, CaseResult, RegressResult

__all__ = ["ReportWriter", "heatmap", "PANEL_EDGE", "REPORT_JSON"]

PANEL_EDGE = 512
REPORT_JSON = "export_consistency_report.json"
#: Metrics shown as columns in index.html (name, header, format).
COLUMNS = [
    ("mad_8bit", "MAD", "{:.2f}"), ("dy_mean", "ΔY mean", "{:.4f}"), ("dy_p95", "ΔY P95", "{:.4f}"),
    ("skin_de00_mean", "skin ΔE00", "{:.2f}"), ("skin_dh_p95", "skin Δh P95", "{:.2f}"),
    ("signage_de00_mean", "sign ΔE00", "{:.2f}"), ("de_itp_mean", "ΔE_ITP", "{:.2f}"),
    ("banding", "banding", "{:.3f}"), ("halo", "halo", "{:.3f}"), ("mid_grey", "mid grey", "{:.3f}"),
    ("ref_white", "ref white", "{:.3f}"), ("highlight_retention", "HL ret.", "{:.3f}"),
    ("eotf_rmse", "EOTF RMSE", "{:.4f}"), ("thumb_de00_mean", "thumb ΔE00", "{:.2f}"),
    ("bits_per_pixel", "bpp", "{:.2f}"), ("export_ms", "ms", "{:.0f}"), ("flicker", "flicker", "{:.4f}"),
    ("hue_2020_max", "hue 2020 max", "{:.2f}"), ("hue_p3_max", "hue P3 max", "{:.2f}"),
    ("highlight_4000_1000", "Y'4000-1000", "{:.0f}"), ("card_swing", "card swing", "{:.1f}"),
]


# ------------------------------------------------------------------ images
def heatmap(diff: np.ndarray, vmax: float, cmap: str = "inferno") -> np.ndarray:
    """(H, W) non-negative values -> RGB uint8 through a matplotlib colour map, 0..vmax."""
    from matplotlib import colormaps

    t = np.clip(np.asarray(diff, np.float64) / vmax, 0.0, 1.0)
    lut = (colormaps[cmap](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)
    return lut[np.round(t * 255).astype(np.int32)]


def _to_u8(img) -> np.ndarray:
    a = np.asarray(img)
    if a.dtype == np.uint8:
        return a
    return np.clip(np.round(np.asarray(a, np.float64) * 255), 0, 255).astype(np.uint8)


def _fit(a: np.ndarray, edge: int = PANEL_EDGE) -> np.ndarray:
    from PIL import Image

    h, w = a.shape[:2]
    s = edge / max(h, w)
    if s >= 1:
        return a
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(Image.fromarray(a).resize(size, Image.Resampling.BOX))


def _panels(panels: list[tuple[str, np.ndarray]], edge: int = PANEL_EDGE) -> np.ndarray:
    """Side-by-side panels with a caption strip above each (PIL's default font)."""
    from PIL import Image, ImageDraw

    imgs = [(t, _fit(_to_u8(a), edge)) for t, a in panels]
    h = max(a.shape[0] for _, a in imgs)
    cap = 16
    out = Image.new("RGB", (sum(a.shape[1] for _, a in imgs) + 4 * (len(imgs) - 1), h + cap), (24, 24, 24))
    d = ImageDraw.Draw(out)
    x = 0
    for t, a in imgs:
        out.paste(Image.fromarray(a), (x, cap))
        d.text((x + 3, 2), t, fill=(235, 235, 235))
        x += a.shape[1] + 4
    return np.asarray(out)


def _write_png(path: Path, rgb: np.ndarray) -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(_to_u8(rgb)).save(buf, "PNG", optimize=False, compress_level=6)
    atomic_write_bytes(path, buf.getvalue())


def _overlay(export: np.ndarray, maps: dict) -> np.ndarray:
    base = (np.asarray(export, np.float64) * 0.55).astype(np.uint8) if export.dtype == np.uint8 else _to_u8(export)
    o = base.copy()
    if "highlight" in maps:
        o[maps["highlight"]] = (o[maps["highlight"]] * 0.5 + np.array([120, 110, 0])).astype(np.uint8)
    if "banding" in maps:
        o[maps["banding"]] = (255, 0, 255)
    if "halo" in maps:
        o[maps["halo"] > 0] = (0, 255, 255)
    return o


def _abs_diff(a, b) -> np.ndarray:
    a = np.asarray(a, np.float64) * (1 if np.asarray(a).dtype == np.uint8 else 255)
    b = np.asarray(b, np.float64) * (1 if np.asarray(b).dtype == np.uint8 else 255)
    return np.abs(a - b).max(axis=-1)


# ------------------------------------------------------------------ writer
class ReportWriter:
    """Writes the report under ``out`` while a run goes (:meth:`on_case`), then :meth:`finish`."""

    def __init__(self, out: Path, command: str = "hdrkit regress", before: Path | None = None):
        self.out = Path(out)
        self.command = command
        self.before = None if before is None else Path(before)
        self.before_cases = _load_before(self.before) if before is not None else {}
        (self.out / "cases").mkdir(parents=True, exist_ok=True)
        self.files: dict[str, dict] = {}
        self.bundled: set[str] = set()

    # per case, while the run goes -----------------------------------------------------
    def on_case(self, case: GoldenCase, r: CaseResult, arrays: CaseArrays | None) -> None:
        d = self.out / "cases" / case.name
        d.mkdir(parents=True, exist_ok=True)
        files = {}
        if arrays is not None and self.before is not None and r.compare is None:
            self._attach_before(case, r, arrays)
        if arrays is not None:
            diff = _abs_diff(arrays.preview, arrays.export)
            _write_png(d / "compare.png", _panels([
                ("preview (float, before dither/JPEG)", arrays.preview), ("export (decoded JPEG)", arrays.export),
                ("|preview - export|, 0-8 codes", heatmap(diff, 8.0)),
                ("banding (magenta) halo (cyan) highlights (yellow)", _overlay(arrays.export, arrays.maps))]))
            files["compare"] = f"cases/{case.name}/compare.png"
            if arrays.thumb is not None:
                from PIL import Image

                th, tw = arrays.thumb.shape[:2]
                small = np.asarray(Image.fromarray(arrays.export).resize((tw, th), Image.Resampling.BOX))
                _write_png(d / "thumbnail.png", _panels([
                    ("EXIF thumbnail", arrays.thumb), ("main export, scaled", small),
                    ("|thumbnail - main|, 0-16 codes", heatmap(_abs_diff(arrays.thumb, small), 16.0))]))
                files["thumbnail"] = f"cases/{case.name}/thumbnail.png"
            if arrays.compare_export is not None and r.compare is not None:
                _write_png(d / "before_after.png", _panels([
                    ("this run", arrays.export), (str(r.compare["pack"]), arrays.compare_export),
                    ("|this - other|, 0-16 codes", heatmap(_abs_diff(arrays.export, arrays.compare_export), 16.0))]))
                files["before_after"] = f"cases/{case.name}/before_after.png"
        series = r.files.get("flicker_series") if r.kind == "clip" else None
        if series:
            self._flicker_plot(d / "flicker.png", series, r.name)
            files["flicker"] = f"cases/{case.name}/flicker.png"
        if r.status in ("fail", "error") and arrays is not None:
            files["repro"] = self.bundle(case, r, arrays)
        self.files[case.name] = files
        r.files = {k: v for k, v in r.files.items() if k != "flicker_series"} | files

    def _attach_before(self, case: GoldenCase, r: CaseResult, arrays: CaseArrays) -> None:
        """The earlier report's export of this case as the 'before' side (if it has one, same size)."""
        from .runner import decode_jpeg_rgb

        f = self.before / "exports" / f"{case.name}.export.jpg"
        if not f.is_file():
            return
        old = decode_jpeg_rgb(f.read_bytes())
        if old.shape != arrays.export.shape:
            r.notes.append(f"before: {f} has another size; not compared")
            return
        from ..metrics.tone import mad_8bit

        arrays.compare_export = old
        r.compare = {"pack": f"before ({self.before.name})",
                     "metrics": self.before_cases.get(case.name, {}).get("metrics", {}),
                     "export_mad_8bit": round(mad_8bit(arrays.export, old), 4)}

    def _flicker_plot(self, path: Path, s: dict, title: str) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 3))
        t = np.arange(len(s["luma"]))
        ax.plot(t, s["luma"], ".-", label="mean SDR luma Y'")
        ax.plot(t, s["lowpass"], "-", label="in-scene low-pass")
        ax2 = ax.twinx()
        ax2.plot(t, s["rmse"], "r-", lw=1, label="windowed RMSE")
        ax2.axhline(0.02, color="r", ls=":", lw=1)
        for c in s.get("cuts", []):
            ax.axvline(c, color="grey", lw=0.5)
        ax.set(xlabel="frame", ylabel="Y'", title=title)
        ax2.set_ylabel("RMSE (threshold dotted)")
        ax.legend(fontsize=7, loc="upper right")
        fig.tight_layout()
        save_png(fig, path, dpi=90)

    def bundle(self, case: GoldenCase, r: CaseResult, arrays: CaseArrays) -> str:
        """Minimal repro for a failing case: source, export, export_meta.json, preview.png, diff.png."""
        d = self.out / "repro" / case.name
        d.mkdir(parents=True, exist_ok=True)
        src_name = "source" + case.path.suffix
        with atomic_path(d / src_name) as tmp:
            shutil.copyfile(case.path, tmp)
        atomic_write_bytes(d / "export.jpg", arrays.export_bytes)
        meta = {**arrays.export_meta, "status": r.status, "failures": r.failures, "notes": r.notes,
                "reproduce": f"{self.command} --case {case.name}",
                "export_again": f"hdrkit still {src_name} -o export.jpg " + _still_args(arrays.export_meta.get("pack", {}))}
        atomic_write_bytes(d / "export_meta.json", (json.dumps(meta, indent=1, default=str) + "\n").encode())
        _write_png(d / "preview.png", arrays.preview)
        _write_png(d / "diff.png", heatmap(_abs_diff(arrays.preview, arrays.export), 8.0))
        self.bundled.add(case.name)
        return f"repro/{case.name}/"

    # at the end -------------------------------------------------------------------------
    def finish(self, result: RegressResult, rerun=None) -> Path:
        """Bundles for cases behind a failed regression (via ``rerun(name) -> (CaseResult, CaseArrays)``),
        curve plots, the JSON and ``index.html``. Returns the index path."""
        by_name = {c.name: c for c in result.cases}
        if rerun is not None:
            for reg in result.regression_failures:
                for name, inc in reg["largest_increases"]:
                    if inc > 0 and name not in self.bundled and name in by_name:
                        case, r, arrays = rerun(name)
                        if arrays is not None:
                            by_name[name].files["repro"] = self.bundle(case, by_name[name], arrays)
        curves = self._curves(result)
        data = result.to_dict()
        data["report_files"] = {"index": "index.html", "curves": curves}
        atomic_write_bytes(self.out / REPORT_JSON, (json.dumps(data, indent=1, default=str) + "\n").encode())
        index = self.out / "index.html"
        atomic_write_bytes(index, _html(result, curves).encode("utf-8"))
        return index

    def _curves(self, result: RegressResult) -> list[str]:
        from ..io.plots import plot_curves

        d = self.out / "curves"
        d.mkdir(parents=True, exist_ok=True)
        plot_curves(d / "curves.png", 1000 / 203)
        _plot_pack_curves(d / "pack_curves.png", result)
        return ["curves/curves.png", "curves/pack_curves.png"]


def _load_before(d: Path) -> dict:
    from ..errors import OptionError

    f = d / REPORT_JSON
    if not (d / "exports").is_dir():
        raise OptionError(f"{d} is not an hdrkit regress report with exports (no {d / 'exports'})")
    try:
        return {c["name"]: c for c in json.loads(f.read_text()).get("cases", [])} if f.is_file() else {}
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise OptionError(f"{f}: unreadable report ({e})") from None


def _still_args(pack: dict) -> str:
    r, j = pack.get("render", {}), pack.get("jpeg", {})
    args = [f"--curve {r['curve']}"] if r.get("curve") else []
    args += [f"--param {k}={v:g}" for k, v in (r.get("curve_params") or {}).items()]
    if r.get("gamut_map"):
        args.append(f"--gamut-map {r['gamut_map']}")
    if r.get("dither"):
        args.append(f"--dither {r['dither']}")
    if j:
        args += [f"-q {j.get('quality', 90)}", f"--subsampling {j.get('subsampling', 'auto')}"]
    return " ".join(args)


def _plot_pack_curves(path: Path, result: RegressResult) -> None:
    """The pack's tone curve (solid) and the compare pack's (dashed) at source peaks 2, 4.93 and 10."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..core.tonemap import resolve_curve
    from ..core.transfer import eotf_inverse_srgb

    fig, ax = plt.subplots(figsize=(7, 4.5))
    packs = [(result.pack, "-")] + ([(result.compare_pack, "--")] if result.compare_pack else [])
    for pk, ls in packs:
        r = pk["render"]
        c, p = resolve_curve(r.get("curve"), r.get("preset"), r.get("curve_params"))
        D = float(r.get("target_headroom", 1.0))
        for peak in (2.0, 1000 / 203, 10.0):
            x = np.geomspace(1e-3, peak, 400)
            y = c.apply(x, peak, D, **p) / D
            ax.semilogx(x * 203, eotf_inverse_srgb(y), ls, label=f"{pk['pack']}: {c.name}, peak {peak * 203:.0f} cd/m²")
    ax.axvline(0.18 * 203, color="grey", lw=0.5)
    ax.axvline(203, color="grey", lw=0.5)
    ax.set(xlabel="source, cd/m² (1.0 = 203)", ylabel="export, sRGB encoded", title="parameter pack tone curves")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_png(fig, path, dpi=90)


# ------------------------------------------------------------------------ html
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}
h1 .pass{color:#16794a} h1 .fail{color:#b3261e}
table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#eee} td.name{text-align:left} td.bad{background:#f9d3d0;font-weight:bold}
tr.fail td.name,tr.error td.name{color:#b3261e;font-weight:bold} .case{border-top:2px solid #ccc;margin-top:1em}
.case img{max-width:100%;border:1px solid #999;margin:2px 0} code{background:#eee;padding:0 3px}
.small{color:#666;font-size:12px}
"""


def _fmt(v, f) -> str:
    if isinstance(v, (int, float)) and np.isfinite(v):
        return f.format(v)
    return "–"


def _html(result: RegressResult, curves: list[str]) -> str:
    e = html.escape
    verdict = "PASS" if result.passed else "FAIL"
    cases = sorted(result.cases, key=lambda c: ({"error": 0, "fail": 1, "pass": 2, "skip": 3}[c.status], c.name))
    bad_metric = {c.name: {f.split(" ")[0] for f in c.failures} for c in cases}
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>hdrkit regress: {verdict}</title>",
           f"<style>{_CSS}</style></head><body>",
           f"<h1>hdrkit regress — set <code>{e(result.set_name)}</code>: "
           f"<span class='{verdict.lower()}'>{verdict}</span></h1>",
           f"<p>{len(result.failed_cases)} of {len(result.cases)} cases fail their vetoes; "
           f"{len(result.regression_failures)} regression check(s) fail. Thresholds v{e(result.thresholds_version)}; "
           f"{result.seconds:.1f} s.</p>"]
    if result.missing:
        out.append(f"<p class='small'>Not run (file missing): {e(', '.join(result.missing))}</p>")
    out.append("<h2>Parameter packs</h2><table><tr><th>pack</th><th>tag</th><th>value</th></tr>")
    for pk in [result.pack] + ([result.compare_pack] if result.compare_pack else []):
        for k, v in pk.get("tags", {}).items():
            out.append(f"<tr><td class='name'>{e(str(pk['pack']))}</td><td class='name'>{e(k)}</td>"
                       f"<td class='name'>{e(str(v))}</td></tr>")
    out.append("</table>")
    out.append("<h2>Regressions against the baseline</h2>")
    if result.baseline is None:
        out.append("<p>No stored baseline for this set: regressions not checked "
                   "(<code>hdrkit regress --update-baseline</code> records one).</p>")
    else:
        b = result.baseline
        out.append(f"<p class='small'>baseline: pack {e(str(b.get('pack')))}, recorded {e(str(b.get('recorded')))}</p>")
        out.append("<table><tr><th>metric</th><th>baseline mean</th><th>mean</th><th>increase</th><th>allowed</th>"
                   "<th>largest increases</th></tr>")
        for r in result.regressions:
            cls = " class='bad'" if r["failed"] else ""
            worst = ", ".join(f"{e(n)} {d:+.4g}" for n, d in r["largest_increases"][:3])
            out.append(f"<tr><td class='name'>{e(r['metric'])}</td><td>{r['baseline_mean']:.4g}</td>"
                       f"<td>{r['mean']:.4g}</td><td{cls}>{r['increase']:+.4g}</td><td>{r['max_increase']:g}</td>"
                       f"<td class='name'>{worst}</td></tr>")
        out.append("</table>")
    out.append("<h2>Cases (failing first)</h2><table><tr><th>case</th><th>status</th>"
               + "".join(f"<th>{e(h)}</th>" for _, h, _ in COLUMNS) + "</tr>")
    for c in cases:
        cells = "".join(f"<td{' class=bad' if n in bad_metric[c.name] else ''}>{_fmt(c.metrics.get(n), f)}</td>"
                        for n, _, f in COLUMNS)
        out.append(f"<tr class='{c.status}'><td class='name'><a href='#{e(c.name)}'>{e(c.name)}</a></td>"
                   f"<td>{c.status}</td>{cells}</tr>")
    out.append("</table>")
    for c in cases:
        out.append(f"<div class='case' id='{e(c.name)}'><h3>{e(c.name)} — {c.status}"
                   f" <span class='small'>{e(c.category)} · {e(c.source)}</span></h3>")
        if c.failures:
            out.append("<p>Fails: " + "; ".join(f"<b>{e(f)}</b>" for f in c.failures) + "</p>")
        if c.warnings:
            out.append("<p>Warnings (not failing): " + "; ".join(e(w) for w in c.warnings) + "</p>")
        if c.notes:
            out.append("<p class='small'>" + "<br>".join(e(n) for n in c.notes) + "</p>")
        if c.compare:
            cm = c.compare["metrics"]
            rows = "".join(f"<tr><td class='name'>{e(h)}</td><td>{_fmt(c.metrics.get(n), f)}</td>"
                           f"<td>{_fmt(cm.get(n), f)}</td></tr>" for n, h, f in COLUMNS if n in cm)
            mad = c.compare.get("export_mad_8bit")  # probes have no export file to compare
            out.append(f"<table><tr><th>metric</th><th>this run</th><th>{e(str(c.compare['pack']))}</th></tr>{rows}</table>"
                       + ("" if mad is None
                          else f"<p class='small'>mean |Δ| between the two exports: {mad:.3f} codes</p>"))
        for key in ("compare", "before_after", "thumbnail", "flicker"):
            if key in c.files:
                out.append(f"<div><img src='{e(c.files[key])}' alt='{key}'></div>")
        if "repro" in c.files:
            out.append(f"<p>Repro bundle: <a href='{e(c.files['repro'])}'>{e(c.files['repro'])}</a></p>")
        out.append("</div>")
    out.append("<h2>Tone curves</h2>" + "".join(f"<div><img src='{e(p)}' alt='curves'></div>" for p in curves))
    out.append("</body></html>\n")
    return "\n".join(out)
