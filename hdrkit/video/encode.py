"""HDR10 / HDR10+ / HLG HEVC encoding with correct signalling, through x265 in a subprocess.

:func:`encode_video` re-encodes an HDR video (PQ for HDR10 / HDR10+, HLG for ``hlg``) to
10-bit HEVC Main10 with libx265 of the imageio-ffmpeg FFmpeg binary (its x265 is built
with HDR10_PLUS; PyAV's is not), the command built with ffmpeg-python:

- VUI: BT.2020 primaries, PQ (``smpte2084``) or HLG (``arib-std-b67``), BT.2020 NCL
  matrix, the input's range; set on the frames (``setparams``) and in x265's VUI;
- HDR10: ST 2086 mastering display and CTA-861.3 content light level **in-band** (x265
  ``master-display`` / ``max-cll`` SEIs, repeated with the parameter sets) **and in the
  container** (FFmpeg 9's ``-mastering_display`` / ``-content_light`` *input* options,
  which become stream side data, MP4 ``mdcv``/``clli`` / Matroska MasteringMetadata);
- HDR10+: one ST 2094-40 SEI per frame from a JSON file x265 reads (``dhdr10-info``),
  entry i for the i-th decoded frame (display order, every decoded frame encoded once:
  ``-fps_mode passthrough``). By default the input's own HDR10+ is kept: every decoded
  frame's side data, a frame without an SEI inheriting the last
  (:func:`hdrkit.metadata.sidedata.read_hdr10plus_frames`), written back with the same
  integers. ``auto`` analyses the input and generates it (:mod:`hdrkit.metadata.hdr10plus`), a
  given file is validated first (x265 aborts or crashes on malformed JSON) and rewritten
  normalised into a temporary file; ``drop`` writes none. FFmpeg's own HDR10+ frame side
  data is removed before the encoder, so the JSON is the only route;
- dynamic metadata of the input not carried into the output (HDR10+ dropped or replaced,
  a Dolby Vision RPU: x265 here writes none) is listed in
  :attr:`EncodeResult.dropped_metadata` and noted on the ``hdrkit`` logger
  (:mod:`hdrkit.metadata.carry`);
- HLG: no HDR10 keys at all (no ``hdr10``, mastering display, CLL or HDR10+);
- transfer conversion: a PQ input encoded ``hlg`` or an HLG input encoded ``hdr10`` goes
  through :mod:`hdrkit.core.pq_hlg` (BT.2408 §6, the 1000 cd/m^2 reference display; PQ
  above 1000 cd/m^2 rolled off by the BT.2390 EETF) in the same FFmpeg command: ``zscale``
  to full-range 16-bit R'G'B' -> ``lut3d`` with a .cube sampled from the core ->
  ``zscale`` back to the input's Y'CbCr range; the tags then describe the output;
- audio streams copied; progress from ``-progress pipe:1``; output written atomically
  (temporary file beside it, renamed when the encode *and its verification* succeed).

Verification: the written bitstream is parsed (:func:`hdrkit.metadata.sidedata.scan_hevc_sei`)
and must carry the mastering display and CLL that were asked for and one HDR10+ SEI per
frame; x265 builds without HDR10+ only print a warning, so this is the only reliable check.
"""

from __future__ import annotations

# PyAV, Pillow, matplotlib and the numba kernels are imported in the functions that use them, so
# "import hdrkit" and "hdrkit --help" start without them.
import collections
import dataclasses
import logging
import math
import shutil
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.pq_hlg import hlg_to_pq, pq_to_hlg
from ..errors import DecodeError, EncodeError, HdrkitError, MetadataError, OptionError
from ..io.atomic import atomic_path, atomic_write_bytes, check_not_input
from ..io.ffmpeg import ffmpeg_exe
from ..metadata.carry import DOLBY_VISION_RPU, HDR10PLUS, dropped, note_dropped
from ..metadata.cll import ContentLightLevel, measure_cll, parse_max_cll
from ..metadata.dovi import check_dovi, detect_dovi
from ..metadata.hdr10plus import Hdr10PlusFrame, Hdr10PlusMetadata, hdr10plus_from_analysis, read_json, validate_json
from ..metadata.sidedata import (collect_frame_side_data, count_hdr10plus_frames, ffmpeg_stream_side_data,
                                 mp4_sample_entry_boxes, read_hdr10plus_frames, scan_hevc_sei)
from ..metadata.st2086 import MasteringDisplay, parse_master_display, sanitize
from .timeline import presented_frames

__all__ = ["EncodeResult", "encode_video", "x265_params", "probe_input", "analyze_for_metadata", "PRESETS_X265"]

log = logging.getLogger("hdrkit.encode")

PRESETS_X265 = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                "placebo")
_RAW_HEVC = {".hevc", ".h265", ".265", ".bin"}
_MP4_LIKE = {".mp4", ".m4v", ".mov"}
_TRC_NAME = {16: "pq", 18: "hlg", 1: "sdr", 6: "sdr", 13: "sdr", 14: "sdr", 15: "sdr"}


@dataclass
class EncodeResult:
    """What :func:`encode_video` wrote and checked."""

    output: Path
    frames: int
    mode: str  # 'hdr10' | 'hlg'
    x265_params: str
    command: list[str]
    mastering_display: object | None = None
    content_light: object | None = None
    hdr10plus: object | None = None
    hdr10plus_json: Path | None = None
    verified: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    hdr10plus_source: str | None = None  # 'input' | 'auto' | 'file' | None
    dropped_metadata: list[dict] = field(default_factory=list)
    conversion: str | None = None  # 'pq->hlg' | 'hlg->pq' | None
    conversion_peak_nits: float | None = None  # the content peak the PQ -> HLG EETF starts from


# --------------------------------------------------------------------- probing
@dataclass
class _Input:
    transfer: str  # pq | hlg | sdr | unknown
    full_range: bool
    frames: int
    fps: float
    audio: int
    width: int
    height: int


def probe_input(path) -> _Input:
    """Transfer, range, frame count, frame rate and audio streams of the input (PyAV)."""
    import av

    try:
        c = av.open(str(path))
    except (av.FFmpegError, OSError) as e:
        raise DecodeError(f"cannot read {path}: {e}") from None
    try:
        if not c.streams.video:
            raise DecodeError(f"{path} has no video stream")
        v = c.streams.video[0]
        cc = v.codec_context
        trc = int(cc.color_trc or 2)
        rng = int(cc.color_range or 0)
        if trc == 2 or rng == 0:  # untagged stream header: look at the first frame
            try:
                fr = next(c.decode(v))
                trc = int(getattr(fr, "color_trc", trc) or trc) if trc == 2 else trc
                rng = int(getattr(fr, "color_range", rng) or rng) if rng == 0 else rng
            except (StopIteration, av.FFmpegError):
                pass
        frames = presented_frames(v)  # edit lists honoured
        rate = v.average_rate or v.guessed_rate or v.base_rate
        info = _Input(transfer=_TRC_NAME.get(trc, "unknown"), full_range=(rng == 2), frames=frames,
                      fps=float(rate) if rate else 0.0, audio=len(c.streams.audio), width=cc.width, height=cc.height)
    finally:
        c.close()
    if not info.frames:
        with av.open(str(path)) as c2:
            info.frames = sum(1 for p in c2.demux(c2.streams.video[0]) if p.size and not p.is_discard)
    return info


# -------------------------------------------------------------------- analysis
def analyze_for_metadata(path, *, progress: bool = False, cll_mode: str = "site"):
    """Clip analysis for MaxCLL / HDR10+: :func:`hdrkit.video.analysis.analyze` on every
    pixel (``step=1``: MaxCLL and MaxScl must not come from a subsampled grid), giving
    per-frame :class:`hdrkit.core.stats.FrameStats`, scene cuts and smoothed peaks."""
    from .analysis import analyze

    return analyze(path, step=1, progress=progress, cll_mode=cll_mode)


# ------------------------------------------------------------------ parameters
def x265_params(mode: str, *, full_range: bool = False, mastering=None, cll=None, hdr10plus_json=None) -> str:
    """The ``-x265-params`` string: VUI, and for HDR10 the static metadata and HDR10+ file.

    ``mode`` 'hdr10': ``hdr10=1:repeat-headers=1:colorprim=bt2020:transfer=smpte2084:
    colormatrix=bt2020nc:range=...:master-display=...:max-cll=...[:dhdr10-info=FILE]``;
    'hlg': the VUI with ``transfer=arib-std-b67`` and nothing else HDR10.
    """
    rng = "full" if full_range else "limited"
    if mode == "hlg":
        return f"repeat-headers=1:colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc:range={rng}"
    if mode != "hdr10":
        raise OptionError(f"unknown encode mode {mode!r}")
    parts = ["hdr10=1", "repeat-headers=1", "colorprim=bt2020", "transfer=smpte2084", "colormatrix=bt2020nc",
             f"range={rng}"]
    if mastering is not None:
        parts.append(f"master-display={mastering.to_x265()}")
    if cll is not None:
        parts.append(f"max-cll={cll.to_x265()}")
    if hdr10plus_json is not None:
        p = str(Path(hdr10plus_json).resolve())
        if ":" in p or "=" in p:
            raise OptionError(f"the HDR10+ JSON path {p!r} contains ':' or '=', which -x265-params cannot carry")
        parts.append(f"dhdr10-info={p}")
    return ":".join(parts)


def _input_hdr10(path):
    """(MasteringDisplay or None, ContentLightLevel or None) usable from the input's first frame."""
    md = cl = None
    try:
        fr = collect_frame_side_data(path, 1)
    except HdrkitError:
        return None, None
    if fr and fr[0].mdcv:
        raw = fr[0].mdcv
        if raw["has_primaries"] and raw["has_luminance"]:
            cand = MasteringDisplay(red=raw["primaries"][0], green=raw["primaries"][1], blue=raw["primaries"][2],
                                    white=raw["white"], max_luminance=raw["max_luminance"],
                                    min_luminance=raw["min_luminance"])
            res = sanitize(cand)
            if res.problems:
                log.warning("input mastering display not reused: %s", "; ".join(res.problems))
            else:
                md = cand
    if fr and fr[0].cll:
        try:
            c = ContentLightLevel(*fr[0].cll)
            if not c.problems() and c.max_cll > 0:
                cl = c
        except MetadataError as e:
            log.warning("input content light level not reused: %s", e)
    return md, cl


def _input_hdr10plus(path, warnings: list[str]):
    """The input's own HDR10+ as :class:`Hdr10PlusMetadata`, one entry per decoded frame
    (display order), or None when no frame carries any.

    Fields the ``dhdr10-info`` route cannot write (processing windows 2-3, actual peak
    luminance tables, fraction_bright_pixels, colour saturation weight) are reported in
    ``warnings``; leading frames without metadata get the first frame's, with a warning.
    Metadata that fails hdr10plus_tool's validation is carried as it is, with a warning;
    MetadataError only when x265 could not take it (:func:`validate_json` ``strict=False``).
    """
    per = read_hdr10plus_frames(path)
    lead = next((i for i, d in enumerate(per) if d is not None), None)
    if lead is None:
        return None
    if lead:
        msg = f"the input's frames 0-{lead - 1} carry no HDR10+: they get frame {lead}'s"
        log.warning("%s", msg)
        warnings.append(msg)
    lost: set[str] = set()
    frames = []
    for i, d in enumerate(per):
        d = d if d is not None else per[lead]
        if d["num_windows"] > 1:
            lost.add("processing windows 2-3")
        if d["targeted_system_display_actual_peak_luminance_flag"] or d["mastering_display_actual_peak_luminance_flag"]:
            lost.add("actual peak luminance tables")
        if d["fraction_bright_pixels"]:
            lost.add("fraction_bright_pixels")
        if d["color_saturation_mapping_flag"]:
            lost.add("colour saturation weight")
        f = Hdr10PlusFrame.from_side_data_dict(d, i)
        frames.append(dataclasses.replace(f, num_windows=1, scene_frame_index=i))
    if lost:
        msg = f"the input's HDR10+ {', '.join(sorted(lost))} cannot be written by x265 and are not carried"
        log.warning("%s", msg)
        warnings.append(msg)
    md = Hdr10PlusMetadata(frames=frames)
    try:
        validate_json(md.to_json_dict(), max_report=1)
    except MetadataError as e:
        try:
            validate_json(md.to_json_dict(), strict=False, max_report=1)
        except MetadataError as e2:
            raise MetadataError(f"the input's HDR10+ cannot be re-encoded ({e2}); choose --hdr10plus drop, auto or "
                                "a JSON file") from None
        msg = f"the input's HDR10+ is carried as it is, though it fails hdr10plus_tool's validation: {e}"
        log.warning("%s", msg)
        warnings.append(msg)
    return md


# ------------------------------------------------------------------- running
def _stderr_reader(pipe, tail: collections.deque, lines: list):
    for raw in iter(pipe.readline, b""):
        s = raw.decode("utf-8", "replace").rstrip()
        tail.append(s)
        lines.append(s)
    pipe.close()


def _run(cmd: list[str], total: int, progress: bool) -> str:
    log.debug("%s", " ".join(cmd))
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tail: collections.deque = collections.deque(maxlen=12)
    lines: list[str] = []
    t = threading.Thread(target=_stderr_reader, args=(proc.stderr, tail, lines), daemon=True)
    t.start()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total or None, unit="frame", desc="encode", leave=True)
    done = 0
    try:
        for raw in iter(proc.stdout.readline, b""):
            k, _, v = raw.decode("ascii", "replace").strip().partition("=")
            if k == "frame" and v.isdigit():
                n = int(v)
                if bar is not None and n > done:
                    bar.update(n - done)
                done = max(done, n)
        rc = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        if bar is not None:
            bar.close()
        t.join(timeout=5)
    text = "\n".join(lines)
    if rc < 0:
        try:
            sig = signal.Signals(-rc).name
        except ValueError:
            sig = f"signal {-rc}"
        raise EncodeError(f"the encoder crashed ({sig}): {' | '.join(list(tail)[-3:])}")
    if rc in (134, 139):  # shells report signals as 128 + n
        raise EncodeError(f"the encoder crashed (exit {rc}): {' | '.join(list(tail)[-3:])}")
    if rc != 0:
        last = [s for s in tail if s.strip()][-3:]
        raise EncodeError(f"ffmpeg/x265 failed (exit {rc}): {' | '.join(last)}")
    return text


def _verify(path, *, mode: str, frames: int, mastering, cll, hdr10plus, container: str | None) -> dict:
    scan = scan_hevc_sei(path)
    aus = scan.access_units
    got: dict = {"frames": len(aus), "hdr10plus_sei_frames": scan.frames_with_hdr10plus}
    if frames and len(aus) != frames:
        raise EncodeError(f"the encoded stream has {len(aus)} frames, the input {frames}")
    mdcv_payloads = {a.mdcv for a in aus if a.mdcv is not None}
    cll_payloads = {a.cll for a in aus if a.cll is not None}
    if mode == "hlg":
        if mdcv_payloads or cll_payloads or scan.frames_with_hdr10plus:
            raise EncodeError("the HLG encode carries HDR10 metadata; it must not")
        return got
    if mastering is not None:
        want = mastering.to_sei_payload()
        if mdcv_payloads != {want}:
            raise EncodeError("the encoded stream lacks the requested mastering display SEI "
                              f"(found {len(mdcv_payloads)} distinct)")
        got["mdcv_in_band"] = mastering.to_x265()
    if cll is not None:
        if cll_payloads != {(cll.max_cll, cll.max_fall)}:
            raise EncodeError(f"the encoded stream lacks the requested content light level SEI (found {cll_payloads})")
        got["cll_in_band"] = cll.to_x265()
    if hdr10plus is not None:
        n = min(len(hdr10plus), len(aus))
        if scan.frames_with_hdr10plus != n:
            raise EncodeError(f"{scan.frames_with_hdr10plus} of {len(aus)} frames carry an HDR10+ SEI, expected {n} "
                              "(is this x265 built with HDR10_PLUS?)")
    elif scan.frames_with_hdr10plus:
        raise EncodeError(f"{scan.frames_with_hdr10plus} frames carry an HDR10+ SEI though none was asked for")
    if container == "mp4":
        boxes = mp4_sample_entry_boxes(path) or {}
        if mastering is not None:
            if boxes.get("mdcv") != mastering.to_sei_payload():
                raise EncodeError("the MP4 lacks the requested mdcv box")
            got["mdcv_container"] = True
        if cll is not None:
            if boxes.get("clli") != cll.to_sei_payload():
                raise EncodeError("the MP4 lacks the requested clli box")
            got["cll_container"] = True
    elif container == "ffmpeg":  # other containers: FFmpeg's reading of the stream side data

        ff = ffmpeg_stream_side_data(path)
        if mastering is not None:
            m = ff.get("mdcv")
            ok = m is not None and abs(m["max_luminance"] - mastering.max_luminance) < 1e-3 and all(
                abs(a - b) < 6e-5 for p, q in zip(m["primaries"], (mastering.red, mastering.green, mastering.blue))
                for a, b in zip(p, q))
            if not ok:
                raise EncodeError("the container lacks the requested mastering display")
            got["mdcv_container"] = True
        if cll is not None:
            if ff.get("cll") != (cll.max_cll, cll.max_fall):
                raise EncodeError("the container lacks the requested content light level")
            got["cll_container"] = True
    return got


def _container_kind(dst: Path) -> str | None:
    ext = dst.suffix.lower()
    if ext in _MP4_LIKE:
        return "mp4"
    if ext in _RAW_HEVC or ext in {".ts", ".m2ts", ".mts"}:  # no HDR10 container fields
        return None
    return "ffmpeg"


# ------------------------------------------------------------ PQ <-> HLG
#: Grid of the conversion LUT. 65^3 with tetrahedral interpolation against the core on 200 000
#: random R'G'B' signals: mean error 1e-4, max 0.006 PQ -> HLG (saturated colours where HLG's
#: scene light clips at 1.0), 0.002 HLG -> PQ.
CONVERSION_LUT_SIZE = 65


def conversion_cube(path, conversion: str, src_peak_nits: float = 1000.0, size: int = CONVERSION_LUT_SIZE) -> Path:
    """Write the .cube FFmpeg's ``lut3d`` applies for ``conversion`` ('pq->hlg' | 'hlg->pq'):
    the core's :func:`hdrkit.core.pq_hlg.pq_to_hlg` / :func:`~hdrkit.core.pq_hlg.hlg_to_pq`
    sampled on a ``size^3`` grid of BT.2020 R'G'B' signal."""
    from .lut3d import grid_signal, write_cube

    grid = grid_signal(size)
    if conversion == "pq->hlg":
        lut = pq_to_hlg(grid, src_peak_nits=src_peak_nits)
        title = f"hdrkit PQ (peak {src_peak_nits:g} cd/m2) -> HLG, BT.2408 1000 cd/m2 reference display"
    elif conversion == "hlg->pq":
        lut = hlg_to_pq(grid)
        title = "hdrkit HLG -> PQ, BT.2408 1000 cd/m2 reference display"
    else:
        raise OptionError(f"unknown conversion {conversion!r}")
    write_cube(path, np.clip(lut, 0.0, 1.0).astype(np.float32), title=title)
    return Path(path)


def _conversion_peak(analysis, in_md, in_cll) -> float:
    """The PQ content peak the EETF rolls off from: measured, else MaxCLL, else the mastering
    peak, else 1000 cd/m^2 (then nothing is compressed, only clipped)."""
    if analysis is not None and analysis.frames:
        return float(max(1.0, max(f.max_nits for f in analysis.frames)))
    if in_cll is not None and in_cll.max_cll > 0:
        return float(in_cll.max_cll)
    if in_md is not None:
        return float(in_md.max_luminance)
    return 1000.0


# ------------------------------------------------------------------- the API
def encode_video(src, dst, *, hdr10: bool = False, hlg: bool = False, hdr10plus: str | None = None,
                 master_display: str | None = None, max_cll: str | None = None, crf: float = 18.0,
                 preset: str = "medium", hdr10plus_profile: str = "B", hdr10plus_target: float = 400.0,
                 params=None, analysis=None, keep_json=None, force: bool = False, progress: bool = True,
                 verify: bool = True, cll_mode: str = "site") -> EncodeResult:
    """Encode ``src`` to HEVC Main10 at ``dst`` with HDR10 (+HDR10+) or HLG signalling.

    - ``hdr10`` / ``hlg``: the output transfer; exactly one (inferred from a tagged input
      when neither is given). A PQ input encoded ``hlg`` and an HLG input encoded ``hdr10``
      are converted (:mod:`hdrkit.core.pq_hlg`); PQ above 1000 cd/m^2 is rolled off from
      the measured peak (``analysis``), else the input's MaxCLL or mastering peak. The
      input's HDR10+ is not carried into HLG (listed in ``dropped_metadata``).
    - ``master_display``: preset name (:data:`hdrkit.metadata.st2086.MDCV_PRESETS`) or
      x265 string; default: the input's (if valid), else ``p3-d65-1000``.
    - ``max_cll``: ``"auto"`` (measured), ``"MaxCLL,MaxFALL"``, or None (the input's if
      valid, measured when an analysis is done anyway, else none: CLL 0,0 = unknown).
    - ``hdr10plus``: None or ``"keep"`` (default: the input's own HDR10+, if any, frame
      by frame), ``"drop"`` (none), ``"auto"`` (analyse and generate, profile
      ``hdr10plus_profile``, target ``hdr10plus_target`` cd/m^2, curve of ``params``) or a
      JSON file path. The input's HDR10+ or Dolby Vision RPU not carried into the output
      is listed in :attr:`EncodeResult.dropped_metadata` and noted (one log line each).
    - ``analysis``: a precomputed clip analysis (``.frames`` FrameStats) to reuse.
    - ``keep_json``: also write the HDR10+ JSON used there.
    - ``cll_mode``: chroma rule of the measured light levels (:func:`hdrkit.video.analysis.analyze`).
    Bad metadata raises :class:`MetadataError` before x265 runs; encoder failures raise
    :class:`EncodeError`; nothing is left at ``dst`` on failure.
    """
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise OptionError(f"no such input file: {src}")
    check_not_input(src, dst, force)
    if dst.suffix.lower() not in _RAW_HEVC | _MP4_LIKE | {".mkv", ".ts", ".m2ts", ".mts"}:
        raise OptionError(f"unsupported output extension {dst.suffix!r}: use .mp4, .mov, .mkv, .ts or .hevc")
    if preset not in PRESETS_X265:
        raise OptionError(f"unknown x265 preset {preset!r}; choose from {', '.join(PRESETS_X265)}")
    if not (math.isfinite(crf) and 0 <= crf <= 51):
        raise OptionError(f"--crf must be within 0-51, not {crf}")
    if hdr10 and hlg:
        raise OptionError("choose one of --hdr10 and --hlg")
    h10p_choice = "keep" if hdr10plus is None else str(hdr10plus)
    if h10p_choice not in ("keep", "drop"):  # auto / FILE
        if hlg:
            raise OptionError("HLG encodes carry no HDR10+ metadata; drop --hdr10plus or use --hdr10")
        hdr10 = True
    if hlg and (master_display is not None or max_cll is not None):
        raise OptionError("HLG encodes carry no HDR10 keys: --master-display and --max-cll need --hdr10")

    warnings: list[str] = []
    inp = probe_input(src)
    if not hdr10 and not hlg:
        if inp.transfer == "pq":
            hdr10 = True
        elif inp.transfer == "hlg":
            hlg = True
        else:
            raise OptionError(f"the input transfer is {inp.transfer}: choose --hdr10 (PQ input) or --hlg (HLG input)")
        log.info("input is %s: encoding as %s", inp.transfer.upper(), "HDR10" if hdr10 else "HLG")
    mode = "hdr10" if hdr10 else "hlg"
    want = "pq" if hdr10 else "hlg"
    if inp.transfer == "sdr":
        raise OptionError(f"the input is SDR but {('--hdr10' if hdr10 else '--hlg')} needs PQ or HLG input; "
                          "this command does not convert SDR to HDR")
    conversion = f"{inp.transfer}->{want}" if inp.transfer in ("pq", "hlg") and inp.transfer != want else None
    if conversion is not None:
        log.info("converting %s to %s (BT.2408, 1000 cd/m^2 reference display)", inp.transfer.upper(), want.upper())
    if inp.transfer == "unknown":
        msg = f"the input has no transfer tag; assuming it is {want.upper()}"
        log.warning("%s", msg)
        warnings.append(msg)
    dv_cfg = detect_dovi(src)
    dv = check_dovi(dv_cfg)
    if dv is not None:
        warnings.append(dv.warning)
    in_h10p = count_hdr10plus_frames(src)  # 0: none; None: present, not counted

    mastering = cll = None
    md_hdr10plus = None
    if hdr10:
        in_md, in_cll = _input_hdr10(src)
        if master_display is not None:
            mastering = parse_master_display(master_display)
        elif in_md is not None:
            mastering = in_md
            log.info("mastering display from the input: %s", mastering.describe())
        elif conversion is not None:  # HLG's reference display: BT.2020, 1000 cd/m^2 (BT.2408 §6.2)
            mastering = MasteringDisplay.preset("bt2020-1000")
            log.info("mastering display of the HLG reference display: %s", mastering.describe())
        else:
            mastering = MasteringDisplay.preset("p3-d65-1000")
            msg = "no mastering display given or usable in the input: using preset p3-d65-1000"
            log.warning("%s", msg)
            warnings.append(msg)
        need_analysis = max_cll == "auto" or hdr10plus == "auto"
        if need_analysis and analysis is None:  # HLG is measured as the 1000 cd/m^2 display shows it
            analysis = analyze_for_metadata(src, progress=progress, cll_mode=cll_mode)
        if max_cll == "auto" or (max_cll is None and in_cll is None and analysis is not None):
            cll = measure_cll(analysis.frames)
            log.info("measured MaxCLL %d cd/m^2, MaxFALL %d cd/m^2", cll.max_cll, cll.max_fall)
            msg = cll.above_mastering(mastering.max_luminance)
            if msg:
                log.warning("%s", msg)
                warnings.append(msg)
        elif max_cll is not None:
            cll = parse_max_cll(max_cll)
        else:
            cll = in_cll
        if h10p_choice == "auto":
            md_hdr10plus = hdr10plus_from_analysis(analysis, profile=hdr10plus_profile, target_nits=hdr10plus_target,
                                                   params=params, mastering=mastering)
        elif h10p_choice == "keep":
            if in_h10p != 0:
                md_hdr10plus = _input_hdr10plus(src, warnings)
        elif h10p_choice != "drop":
            md_hdr10plus = read_json(hdr10plus)
        if md_hdr10plus is not None and h10p_choice != "keep":  # kept: one entry per decoded frame already
            md_hdr10plus.validate()
            n = len(md_hdr10plus)
            if n < inp.frames:
                msg = (f"HDR10+ metadata has {n} entries for {inp.frames} frames: frames {n} to {inp.frames - 1} "
                       "get no HDR10+ SEI")
                log.warning("%s", msg)
                warnings.append(msg)
            elif n > inp.frames:
                msg = f"HDR10+ metadata has {n} entries for {inp.frames} frames: the extra entries are ignored"
                log.warning("%s", msg)
                warnings.append(msg)

    conv_peak = None
    if conversion == "pq->hlg":
        in_md, in_cll = _input_hdr10(src)
        conv_peak = _conversion_peak(analysis, in_md, in_cll)
        if analysis is None and in_cll is None and in_md is None:
            msg = "the PQ input states no peak (MaxCLL, mastering display): content above 1000 cd/m^2 is clipped"
            log.warning("%s", msg)
            warnings.append(msg)

    import ffmpeg  # ffmpeg-python: command construction only

    tmpdir = Path(tempfile.mkdtemp(prefix="hdrkit-encode-"))
    try:
        json_path = None
        if md_hdr10plus is not None:  # validated above (the input's own: as far as x265 needs)
            json_path = tmpdir / "hdr10plus.json"
            atomic_write_bytes(json_path, (md_hdr10plus.to_json() + "\n").encode("utf-8"))
            if keep_json is not None:
                shutil.copyfile(json_path, keep_json)
        xp = x265_params(mode, full_range=inp.full_range, mastering=mastering, cll=cll, hdr10plus_json=json_path)
        in_kw = {}
        if mastering is not None:
            in_kw["mastering_display"] = mastering.to_ffmpeg_option()
        if cll is not None:
            in_kw["content_light"] = cll.to_x265()
        stream = ffmpeg.input(str(src), **in_kw)
        trc = "smpte2084" if hdr10 else "arib-std-b67"
        rng = "pc" if inp.full_range else "tv"
        v = stream.video
        if conversion is not None:  # R'G'B' in the input's transfer -> the core's conversion -> Y'CbCr
            cube = conversion_cube(tmpdir / "conversion.cube", conversion, conv_peak or 1000.0)
            in_trc = "smpte2084" if inp.transfer == "pq" else "arib-std-b67"
            v = v.filter("setparams", color_primaries="bt2020", color_trc=in_trc, colorspace="bt2020nc", range=rng)
            v = v.filter("zscale", r="full", filter="bilinear").filter("format", "gbrp16le")
            v = v.filter("lut3d", file=str(cube), interp="tetrahedral")
            v = v.filter("setparams", color_primaries="bt2020", color_trc=trc, colorspace="bt2020nc", range="pc")
            v = v.filter("zscale", m="bt2020nc", r="full" if inp.full_range else "limited")
            v = v.filter("format", "yuv420p10le")
        v = v.filter("setparams", color_primaries="bt2020", color_trc=trc, colorspace="bt2020nc", range=rng)
        # HDR10+ reaches x265 only through dhdr10-info; HLG: no HDR10 side data at all
        for t in ("MASTERING_DISPLAY_METADATA", "CONTENT_LIGHT_LEVEL") if mode == "hlg" else ():
            v = v.filter("sidedata", mode="delete", type=t)
        v = v.filter("sidedata", mode="delete", type="DYNAMIC_HDR_PLUS")
        # one encoded frame per decoded frame: HDR10+ entry i belongs to decoded frame i
        out_kw = {"c:v": "libx265", "pix_fmt": "yuv420p10le", "profile:v": "main10", "crf": f"{crf:g}",
                  "preset": preset, "x265-params": xp, "dolbyvision": "0", "color_primaries": "bt2020",
                  "color_trc": trc, "colorspace": "bt2020nc", "color_range": rng, "fps_mode": "passthrough"}
        with atomic_path(dst) as tmp:
            if dst.suffix.lower() in _MP4_LIKE:
                out_kw["tag:v"] = "hvc1"
            elif dst.suffix.lower() in _RAW_HEVC:
                out_kw["f"] = "hevc"
            outs = [v]
            if inp.audio and dst.suffix.lower() not in _RAW_HEVC:
                outs.append(stream["a"])
                out_kw["c:a"] = "copy"
            node = ffmpeg.output(*outs, str(tmp), **out_kw)
            cmd = ffmpeg.compile(node, cmd=ffmpeg_exe(), overwrite_output=True)
            cmd[1:1] = ["-hide_banner", "-nostdin", "-nostats", "-progress", "pipe:1"]
            text = _run(cmd, inp.frames, progress)
            if "unable to parse mastering display" in text:
                raise EncodeError("x265 could not parse the mastering display string")
            if "dhdr10-info disabled" in text:
                raise EncodeError("this x265 build cannot write HDR10+ (dhdr10-info disabled)")
            verified = {}
            if verify:
                verified = _verify(tmp, mode=mode, frames=inp.frames, mastering=mastering, cll=cll,
                                   hdr10plus=md_hdr10plus,
                                   container=_container_kind(dst))
                if h10p_choice == "keep" and md_hdr10plus is not None and verified["frames"] != len(md_hdr10plus):
                    raise EncodeError(f"{verified['frames']} frames were encoded but {len(md_hdr10plus)} decoded "
                                      "with HDR10+: the metadata would not match its frames")
        if dst.suffix.lower() in _RAW_HEVC and mastering is not None:
            warnings.append("raw HEVC output: mastering display / CLL are in-band only (no container boxes)")
        source = None if md_hdr10plus is None else {"keep": "input", "auto": "auto"}.get(h10p_choice, "file")
        lost = []
        if in_h10p != 0 and source != "input":
            why = {"drop": "--hdr10plus drop", "auto": "replaced by --hdr10plus auto"}.get(
                h10p_choice, "HLG output carries no HDR10+" if mode == "hlg" else f"replaced by {h10p_choice}")
            lost.append(dropped(HDR10PLUS, src, dst, why, frames=in_h10p))
        if dv is not None:
            lost.append(dropped(DOLBY_VISION_RPU, src, dst, f"only the {dv.base_layer.upper()} base layer is "
                                "re-encoded; no RPU is written", detail=f"profile {dv_cfg.name}"))
        return EncodeResult(output=dst, frames=inp.frames, mode=mode, x265_params=xp, command=cmd,
                            mastering_display=mastering, content_light=cll, hdr10plus=md_hdr10plus,
                            hdr10plus_json=Path(keep_json) if keep_json is not None else None, verified=verified,
                            warnings=warnings, hdr10plus_source=source, dropped_metadata=note_dropped(lost),
                            conversion=conversion, conversion_peak_nits=conv_peak)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
