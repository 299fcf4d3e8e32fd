"""One PQ master, every version: HDR10, HDR10+, HLG, an SDR proxy and keyframes, checked.

:func:`deliver` runs the job end to end in ``out_dir``:

1. **One analysis pass** of the master (:func:`hdrkit.video.analysis.analyze`, every pixel)
   feeds every version: MaxCLL / MaxFALL, the generated HDR10+ and the per-frame peaks the
   SDR curve uses come from the same measurements. It is kept as ``analysis.json``.
2. **Versions**, each through the library function that makes it alone:
   ``hdr10`` and ``hdr10plus`` (:func:`hdrkit.video.encode.encode_video`: measured CLL,
   the master's mastering display; HDR10+ the master's own frame by frame if it has one,
   else generated from the analysis, and saved as hdr10plus_tool JSON beside the video;
   when both are made in one run, HDR10 is the HDR10+ file with its ST 2094-40 SEI
   messages removed by :func:`hdrkit.metadata.hdr10plus_stream.remove_hdr10plus`, every
   slice byte for byte: x265 codes the same pictures either way, so the second encode,
   about a quarter of the job, is saved),
   ``hlg`` (the same encoder converting through :mod:`hdrkit.core.pq_hlg`, rolled off from
   the measured peak), ``sdr`` (:func:`hdrkit.video.proxy.make_proxy`) and ``keyframes``
   (:func:`hdrkit.video.keyframes.export_keyframes`, the still rules).
3. **Read back**: each file's signalling as the written bitstream and container state
   it (:func:`hdrkit.video.info.video_info`,
   :func:`hdrkit.metadata.hdr10plus_stream.extract_hdr10plus`), not as intended.
4. **QC** (:mod:`hdrkit.video.qc`): ``qc.json``, ``qc.html`` and its pictures in ``qc/``.
5. ``manifest.json``: the master, every file with its signalling, the key of its inputs
   and parameters, its SHA-256, and the QC verdict.

A re-run skips a version whose key (master SHA-256 + the version's parameters + hdrkit
version) is unchanged and whose file still has the recorded SHA-256; the analysis is
reused on the same condition. Every final path is written atomically (videos, JSON,
PNGs; the keyframe folder is built aside and swapped in), so an interruption leaves each
file either as it was or complete.
"""

from __future__ import annotations

# PyAV, Pillow, matplotlib and the numba kernels are imported in the functions that use them, so
# "import hdrkit" and "hdrkit --help" start without them.
import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import __version__
from ..core.pipeline import RenderParams
from ..errors import HdrkitError, OptionError
from ..io.atomic import atomic_write_bytes, check_not_input
from ..metadata.cll import measure_cll
from ..metadata.hdr10plus import Hdr10PlusMetadata
from ..metadata.hdr10plus_stream import extract_hdr10plus
from ..metadata.sidedata import count_hdr10plus_frames
from ..metadata.st2086 import parse_master_display
from . import keyframes  # by module: export_keyframes is looked up at call time
from .encode import encode_video, probe_input
from .info import H273_MATRIX, H273_PRIMARIES, H273_RANGE, H273_TRANSFER, video_info
from .qc import run_qc, write_report

__all__ = ["VERSIONS", "DeliverResult", "deliver", "parse_versions", "read_signalling", "file_sha256",
           "MANIFEST_SCHEMA"]

log = logging.getLogger("hdrkit.deliver")

VERSIONS = ("hdr10", "hdr10plus", "hlg", "sdr", "keyframes")
VIDEO_VERSIONS = ("hdr10", "hdr10plus", "hlg", "sdr")
MANIFEST_SCHEMA = "hdrkit.delivery/1"


@dataclass
class DeliverResult:
    """What :func:`deliver` made, skipped and found."""

    out_dir: Path
    manifest: dict
    qc: object | None  # QcReport
    made: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.qc is None or self.qc.passed


def parse_versions(text) -> tuple[str, ...]:
    """``"hdr10,hlg"`` (or a sequence) -> the versions in delivery order; unknown names raise OptionError."""
    items = [s.strip().lower() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    bad = [s for s in items if s not in VERSIONS]
    if bad or not items:
        raise OptionError(f"unknown version(s) {', '.join(bad) or '(none)'}; choose from {', '.join(VERSIONS)}")
    return tuple(v for v in VERSIONS if v in items)


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def read_signalling(path) -> dict:
    """What a written video states about itself, read back from the file.

    Stream and colour tags as the container states them (``color``) and as the decoder reads
    them from the bitstream's VUI on the first frame (``vui``); mastering display and content
    light level in-band (SEI) and in the container (:func:`hdrkit.video.info.video_info`); the
    HDR10+ frames the bitstream carries
    (:func:`hdrkit.metadata.hdr10plus_stream.extract_hdr10plus`).
    """
    import av

    info = video_info(path)
    v, h = info["video"], info["hdr"]

    def md(e):
        return None if not e else {k: e[k] for k in ("x265", "description", "max_luminance", "min_luminance",
                                                     "source") if k in e}

    def cl(e):
        return None if not e else {k: e[k] for k in ("max_cll", "max_fall", "source") if k in e}

    out = {k: v.get(k) for k in ("codec", "profile", "width", "height", "pix_fmt", "bit_depth", "fps",
                                 "frame_count")}
    out.update(container=info.get("container"), duration_s=info.get("duration_s"), color=dict(v.get("color") or {}),
               format=h.get("format") if h else None)
    out["vui"] = None
    try:
        with av.open(str(path)) as c:
            f = next(c.decode(video=0), None)
    except av.FFmpegError:
        f = None
    if f is not None:
        out["vui"] = {k: t.get(int(getattr(f, a) or 2), str(int(getattr(f, a) or 2))) for k, a, t in (
            ("primaries", "color_primaries", H273_PRIMARIES), ("transfer", "color_trc", H273_TRANSFER),
            ("matrix", "colorspace", H273_MATRIX), ("range", "color_range", H273_RANGE))}
    mdv = (h or {}).get("mastering_display") or {}
    clv = (h or {}).get("content_light") or {}
    out["mastering_display"] = {w: md(mdv.get(w)) for w in ("in_band", "container") if mdv.get(w)}
    out["content_light"] = {w: cl(clv.get(w)) for w in ("in_band", "container") if clv.get(w)}
    n, prof = 0, None
    if v.get("codec") == "hevc":
        try:
            m = extract_hdr10plus(path)
            n, prof = len(m), m.profile
        except HdrkitError:
            pass
    out["hdr10plus_frames"], out["hdr10plus_profile"] = n, prof
    return out


def _swap_dir(tmp: Path, dst: Path) -> None:
    """Put the finished folder ``tmp`` at ``dst`` (the old one, if any, removed after)."""
    old = None
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
        os.replace(dst, old)
    os.replace(tmp, dst)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _load_manifest(path: Path) -> dict:
    try:
        m = json.loads(path.read_text("utf-8"))
        return m if m.get("schema") == MANIFEST_SCHEMA else {}
    except (OSError, ValueError):
        return {}


def _unchanged(prev: dict | None, key: str, out_dir: Path) -> bool:
    if not prev or prev.get("key") != key:
        return False
    files = prev.get("files") or ([{"path": prev["file"], "sha256": prev.get("sha256")}] if prev.get("file") else [])
    if not files:
        return False
    for f in files:
        p = out_dir / f["path"]
        if not p.is_file() or file_sha256(p) != f.get("sha256"):
            return False
    return True


def deliver(master, out_dir, *, versions=VERSIONS, params: RenderParams | None = None, crf: float = 18.0,
            x265_preset: str = "medium", sdr_crf: float = 12.0, hdr10plus_target: float = 400.0,
            keyframe_every: float | None = None, qc: bool = True, qc_only: bool = False,
            on_stage: Callable[[str, int, int], None] | None = None) -> DeliverResult:
    """Make and check every version of the PQ ``master`` in ``out_dir`` (see the module docstring).

    Parameters
    ----------
    master : path-like
        A PQ (HDR10 or HDR10+) master.
    out_dir : path-like
        The delivery folder (created; the master may not be written over).
    versions : str or sequence of str
        Any of :data:`VERSIONS`.
    params : RenderParams, optional
        The SDR look (proxy, keyframes, the HDR10+ curve fit).
    crf, x265_preset : float, str
        x265 settings of the HDR versions.
    sdr_crf : float
        libx264 CRF of the SDR proxy (12: at 14 the first frame of a 1080p synthetic master
        already bands, at 18 the dark gradients of any picture do; the QC's banding check
        reports it).
    hdr10plus_target : float
        Targeted display peak (cd/m^2) of generated HDR10+ (profile B).
    keyframe_every : float, optional
        Keyframes every N seconds instead of the stream's key frames.
    qc : bool
        Run the QC.
    qc_only : bool
        Make nothing: check the files already in ``out_dir``.
    on_stage : callable, optional
        ``on_stage(name, index, total)`` before each stage (progress).

    Returns
    -------
    DeliverResult

    Raises
    ------
    OptionError
        A master that is not PQ, unknown versions, bad settings.
    hdrkit.errors.HdrkitError
        From the decoders and encoders (nothing partial is left at a final path).
    """
    from .analysis import ClipAnalysis, analyze

    t0 = time.perf_counter()
    master, out_dir = Path(master), Path(out_dir)
    if not master.is_file():
        raise OptionError(f"no such master: {master}")
    versions = parse_versions(versions)
    params = params or RenderParams()
    inp = probe_input(master)
    if inp.transfer != "pq":
        raise OptionError(f"the master must be PQ (HDR10 / HDR10+), not {inp.transfer.upper()}: convert it first "
                          "(hdrkit encode MASTER -o PQ.mp4 --hdr10)")
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = master.stem
    names = {v: f"{stem}_{v}.mp4" for v in VIDEO_VERSIONS}
    names["keyframes"] = "keyframes"
    for v in VIDEO_VERSIONS:
        check_not_input(master, out_dir / names[v])
    mpath = out_dir / "manifest.json"
    old = _load_manifest(mpath)
    old_versions = old.get("versions", {})

    stages = ["hash", "analyse"] + ([] if qc_only else list(versions)) + ["read back"] + (["qc"] if qc else [])
    k = 0

    def stage(name):
        nonlocal k
        if on_stage is not None:
            on_stage(name, k, len(stages))
        k += 1

    stage("hash")
    master_sha = file_sha256(master)
    render_tags = params.tags()
    akey = _key(master_sha, render_tags, __version__)
    stage("analyse")
    apath = out_dir / "analysis.json"
    analysis = None
    if old.get("analysis", {}).get("key") == akey and apath.is_file():
        try:
            analysis = ClipAnalysis.read_json(apath)
        except (HdrkitError, OSError, ValueError, KeyError, TypeError):
            analysis = None
    if analysis is None:
        analysis = analyze(master, params=params, step=1)
        analysis.write_json(apath)

    cll = measure_cll(analysis.frames)
    master_h10p = count_hdr10plus_frames(master)
    h10p_source = "input" if master_h10p != 0 else "auto"

    vparams = {
        "hdr10": {"crf": crf, "preset": x265_preset, "max_cll": "measured"},
        "hdr10plus": {"crf": crf, "preset": x265_preset, "max_cll": "measured", "source": h10p_source,
                      "target": hdr10plus_target if h10p_source == "auto" else None,
                      "render": render_tags if h10p_source == "auto" else None},
        "hlg": {"crf": crf, "preset": x265_preset, "conversion": "BT.2408 1000 cd/m^2", "render": None},
        "sdr": {"crf": sdr_crf, "engine": "pyav", "render": render_tags},
        "keyframes": {"every": keyframe_every, "render": render_tags},
    }
    entries: dict[str, dict] = {}
    made, skipped, notes = [], [], []
    said: set[str] = set()
    # HDR10+ before HDR10: when both are made, HDR10 is the HDR10+ file without its SEIs
    for v in sorted(versions, key=lambda x: x != "hdr10plus"):
        key = _key(master_sha, v, vparams[v], __version__)
        prev = old_versions.get(v)
        if qc_only or _unchanged(prev, key, out_dir):
            if prev:
                entries[v] = dict(prev)
                skipped.append(v)
                log.info("%s: %s", v, "checked as it is" if qc_only else "unchanged since the last run, kept")
            elif qc_only and v != "keyframes" and (out_dir / names[v]).is_file():
                entries[v] = {"file": names[v], "key": None, "params": vparams[v]}
                skipped.append(v)
            continue
        stage(v)
        entry = {"key": key, "params": vparams[v]}
        dst = out_dir / names[v]
        if v == "hdr10" and "hdr10plus" in made:
            from ..metadata.hdr10plus_stream import remove_hdr10plus

            remove_hdr10plus(out_dir / names["hdr10plus"], dst)
            hp = entries["hdr10plus"]
            entry.update(file=names[v], warnings=[w for w in hp["warnings"] if "HDR10+" not in w], dropped_metadata=[],
                         mastering_display=hp.get("mastering_display"),
                         made_from=f"{names['hdr10plus']} without its ST 2094-40 SEI messages")
        elif v in ("hdr10", "hdr10plus", "hlg"):
            res = encode_video(master, dst, hdr10=v != "hlg", hlg=v == "hlg",
                               hdr10plus={"hdr10": "drop", "hlg": None}.get(v, None if h10p_source == "input"
                                                                            else "auto"),
                               max_cll=None if v == "hlg" else cll.to_x265(), crf=crf, preset=x265_preset,
                               hdr10plus_target=hdr10plus_target, params=params, analysis=analysis, progress=False)
            entry.update(file=names[v], warnings=res.warnings, dropped_metadata=res.dropped_metadata)
            if res.mastering_display is not None:
                entry["mastering_display"] = res.mastering_display.to_x265()
                msg = cll.above_mastering(res.mastering_display.max_luminance)
                if msg:
                    entry["warnings"] = [*res.warnings, msg]
                    if msg not in said:  # once per run, not once per HDR10 version
                        log.warning("%s", msg)
                        said.add(msg)
            if res.conversion is not None:
                entry.update(conversion=res.conversion, conversion_peak_nits=res.conversion_peak_nits)
            if v == "hdr10plus" and res.hdr10plus is not None:
                jname = f"{stem}_hdr10plus.json"
                res.hdr10plus.write_json(out_dir / jname, validate=False)
                entry.update(hdr10plus_json=jname, hdr10plus_source=res.hdr10plus_source)
            notes += [d["note"] for d in res.dropped_metadata]
        elif v == "sdr":
            from .proxy import make_proxy

            res = make_proxy(master, dst, engine="pyav", params=params, crf=sdr_crf, progress=False)
            entry.update(file=names[v], frames=res.frames_out, dropped_metadata=res.dropped_metadata)
            notes += [d["note"] for d in res.dropped_metadata]
        else:
            kdir = out_dir / names[v]
            tmp = out_dir / f".{names[v]}.tmp-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                kfs, _ = keyframes.export_keyframes(master, tmp, every=keyframe_every, params=params)
                _swap_dir(tmp, kdir)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            entry.update(dir=names[v], files=[{"path": f"{names[v]}/{kf.path.name}", "index": kf.index,
                                               "time": kf.time, "src_peak": kf.src_peak} for kf in kfs])
        if "file" in entry:
            entry["sha256"] = file_sha256(out_dir / entry["file"])
        for f in entry.get("files", []):
            f["sha256"] = file_sha256(out_dir / f["path"])
        entries[v] = entry
        made.append(v)

    made = [v for v in versions if v in made]
    entries = {v: entries[v] for v in versions if v in entries}
    skipped = [v for v in versions if v in skipped]
    stage("read back")
    for v, e in entries.items():
        if "file" in e and (out_dir / e["file"]).is_file():
            e["signalling"] = read_signalling(out_dir / e["file"])
    files = {v: out_dir / e["file"] for v, e in entries.items() if "file" in e and (out_dir / e["file"]).is_file()}

    report = None
    if qc:
        stage("qc")

        expected = None
        e = entries.get("hdr10plus")
        if e and e.get("hdr10plus_json") and (out_dir / e["hdr10plus_json"]).is_file():
            expected = Hdr10PlusMetadata.read_json(out_dir / e["hdr10plus_json"], strict=False)
        mastering = None
        for v in ("hdr10plus", "hdr10"):
            x = entries.get(v, {}).get("mastering_display")
            if x:
                mastering = parse_master_display(x)
                break
        kf = entries.get("keyframes")
        report = run_qc(master, files, {v: e.get("signalling", {}) for v, e in entries.items()}, analysis,
                        params=params, hdr10plus_expected=expected, hdr10plus_target=hdr10plus_target,
                        mastering=mastering, conversion_peak_nits=entries.get("hlg", {}).get("conversion_peak_nits"),
                        keyframes=None if kf is None else [{"path": out_dir / f["path"], "index": f["index"]}
                                                           for f in kf.get("files", [])],
                        picture_dir=out_dir / "qc")
        write_report(report, out_dir, title=f"hdrkit delivery QC: {master.name}")

    manifest = {
        "schema": MANIFEST_SCHEMA,
        "hdrkit": __version__,
        "master": {"path": str(master), "sha256": master_sha, "size": master.stat().st_size,
                   "signalling": read_signalling(master), "hdr10plus_frames": master_h10p},
        "render": render_tags,
        "analysis": {"file": apath.name, "key": akey, "frames": len(analysis.frames), "cuts": list(analysis.cuts),
                     "max_cll": cll.max_cll, "max_fall": cll.max_fall},
        "versions": entries,
        "qc": None if report is None else {"passed": report.passed, "failures": [c.line() for c in report.failures],
                                           "json": "qc.json", "html": "qc.html"},
        "elapsed_s": round(time.perf_counter() - t0, 3),
    }
    atomic_write_bytes(mpath, (json.dumps(manifest, indent=2, default=str) + "\n").encode("utf-8"))
    return DeliverResult(out_dir, manifest, report, made, skipped, notes)
