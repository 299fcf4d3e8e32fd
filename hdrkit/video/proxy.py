"""SDR proxies of HDR videos: H.264, BT.709, limited range, no HDR side data.

Two engines, both rendering with :mod:`hdrkit.core`:

``pyav`` (default)
    Decode (PyAV, frame threads) -> per-frame measurement and temporal smoothing of the
    source peak (:class:`hdrkit.video.analysis.PeakSmoother`, the same states
    :func:`hdrkit.video.analysis.analyze` reports) -> render -> 8-bit BT.709 Y'CbCr 4:2:0
    (:mod:`hdrkit.video.render`) -> libx264 through PyAV. ``mode="lut"`` renders through a
    3D LUT baked from :func:`hdrkit.core.pipeline.render_linear` for the frame's smoothed
    peak (:class:`hdrkit.video.lut3d.LutCache`); ``mode="exact"`` calls ``render_linear``
    on every pixel (several times slower). Decoding, colour work and encoding run in
    three threads connected by short queues.

``ffmpeg``
    One FFmpeg command (built with ffmpeg-python, run with the imageio-ffmpeg binary):
    ``setparams`` (the validated source colour description) -> ``zscale`` to full-range
    16-bit R'G'B' (still PQ / HLG) -> ``lut3d`` with a .cube baked from the core for one
    static source peak -> ``setparams`` BT.709 -> ``zscale`` to limited BT.709 Y'CbCr, 8-bit
    with zscale's ordered dither -> ``format=yuv420p`` -> ``sidedata=delete`` of every HDR
    side-data type -> libx264. The static peak: ``peak_nits`` if given, else the stream's
    MaxCLL (container, else in-band HEVC SEI; when plausible), else 1000 cd/m^2 (HLG: the
    1000 cd/m^2 reference display).

Both: the frame count, timestamps (variable frame rate included) and duration of the
source are kept, audio streams are copied packet for packet, container metadata
(``creation_time`` ...) and the display-matrix rotation are kept, the output is tagged
BT.709 / BT.709 / BT.709 / limited and carries no mastering display, content light level,
HDR10+, Dolby Vision or ambient viewing side data (FFmpeg's naive chain copies MDCV and
CLL from a PQ source into the H.264 output). The output is written atomically: a failure
leaves nothing at the final path. A source that decodes only in part (truncated, damaged)
still gives a proxy of what decodes; :attr:`ProxyResult.damage` says what is missing.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from ..core.pipeline import RenderParams, render_linear
from ..core.transfer import SDR_WHITE_NITS, eotf_inverse_st2084
from ..errors import EncodeError, OptionError
from ..io.atomic import atomic_path, check_not_input
from ..io.progress import reporter
from .analysis import (SCENE_THRESHOLD_HIGH, SCENE_THRESHOLD_LOW, SMOOTHING_PERIOD, CurveState, FrameMeasure,
                       PeakSmoother, frame_measure, static_peak_nits)
from .decode import Damage, VideoReader, prefetch, queue_depth
from .lut3d import LutCache, bake_lut, write_cube
from .render import even_size, measure_planes, render_lut_yuv420, yuv420_buffer, yuv420_from_display

__all__ = ["ProxyResult", "FrameStamp", "make_proxy", "iter_sdr_frames", "ENGINES", "MODES", "HDR_SIDE_DATA", "static_peak_nits"]

log = logging.getLogger("hdrkit.video")

ENGINES = ("pyav", "ffmpeg")
MODES = ("lut", "exact")
#: FFmpeg frame side-data types removed from proxies.
HDR_SIDE_DATA = ("MASTERING_DISPLAY_METADATA", "CONTENT_LIGHT_LEVEL", "DYNAMIC_HDR_PLUS", "DYNAMIC_HDR_VIVID",
                 "DOVI_RPU_BUFFER", "DOVI_METADATA", "AMBIENT_VIEWING_ENVIRONMENT")
_SKIP_META = {"major_brand", "minor_version", "compatible_brands", "encoder"}
_BT709 = {"color_primaries": 1, "color_trc": 1, "colorspace": 1, "color_range": 1}  # H.273; range 1 = limited


@dataclass
class ProxyResult:
    """What :func:`make_proxy` wrote and measured."""

    src: Path
    dst: Path
    engine: str
    mode: str
    width: int
    height: int
    frames_in: int
    frames_out: int
    duration_in: float
    elapsed: float
    lut_size: int
    lut_bakes: int = 0
    static_peak_nits: float | None = None
    damage: Damage = field(default_factory=Damage)
    states: list[CurveState] = field(default_factory=list, repr=False)
    dropped_metadata: list[dict] = field(default_factory=list)

    @property
    def fps(self) -> float:
        """Frames processed per second of wall time."""
        return self.frames_out / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def complete(self) -> bool:
        """True when the whole source decoded (no gap, no decoder error)."""
        return not self.damage

    def to_dict(self) -> dict:
        return {"src": str(self.src), "dst": str(self.dst), "engine": self.engine, "mode": self.mode,
                "width": self.width, "height": self.height, "frames_in": self.frames_in,
                "frames_out": self.frames_out, "duration_in": self.duration_in, "elapsed": round(self.elapsed, 3),
                "fps": round(self.fps, 2), "lut_size": self.lut_size, "lut_bakes": self.lut_bakes,
                "static_peak_nits": self.static_peak_nits, "complete": self.complete,
                "damage": self.damage.to_dict(), "dropped_metadata": self.dropped_metadata}


@dataclass(frozen=True)
class FrameStamp:
    """When a rendered frame is shown: what the encoder needs of the decoded picture, which is
    released as soon as its colour work is done (a 2160p picture holds 25 MB)."""

    index: int
    pts: int | None
    time: float
    duration_ticks: int | None


def _rendered(reader: VideoReader, ren):
    """(FrameStamp, yuv420p buffer) pairs in order: decoding in one thread, colour work in another,
    each queue a few frames deep (fewer for large frames: memory stays flat in clip length)."""
    depth = queue_depth(reader.height * reader.width * 3)  # 10-16 bit 4:2:0: 3 bytes per pixel
    return prefetch(lambda: (ren(f) for f in prefetch(reader.frames, depth)), depth)


# --------------------------------------------------------------------- pyav
class _Renderer:
    """Per-frame colour work of the pyav engine: measure, smooth, render into a yuv420p buffer."""

    def __init__(self, reader: VideoReader, params: RenderParams, mode: str, lut_size: int,
                 peak_nits: float | None, smoothing: tuple[float, float, float]):
        self.reader, self.params, self.mode = reader, params, mode
        self.colour = reader.colour
        self.H, self.W = even_size(reader.height, reader.width)
        self.static = None if peak_nits is None else float(eotf_inverse_st2084(peak_nits))
        if self.static is not None:
            smoothing = (0.0, *smoothing[1:])  # a fixed peak: no smoothing to do
        self.smoother = PeakSmoother(*smoothing, params=params)
        # the source description's peak fixes reference white and below; the smoothed frame
        # peak moves only the highlights above it (no pumping when a light switches on)
        self.anchor = static_peak_nits(reader, peak_nits) / SDR_WHITE_NITS
        self.cache = (LutCache(self.colour.transfer, params, lut_size, self.colour.primaries, anchor_peak=self.anchor)
                      if mode == "lut" else None)
        self.states: list[CurveState] = []

    def __call__(self, f):
        fm = frame_measure(measure_planes(f.y, f.u, f.v, self.colour))
        if self.static is not None:
            fm = FrameMeasure(self.static, fm.avg_pq, fm.active)
        state = self.smoother.update(fm, f.time)
        self.states.append(state)
        buf, planes = yuv420_buffer(self.H, self.W)
        if self.mode == "lut":
            render_lut_yuv420(f.y, f.u, f.v, self.colour, self.cache.get(state.peak), self.params.dither,
                              out=planes, measure=False)
        else:
            lin = self.reader.to_linear(f)[:self.H, :self.W]
            disp = render_linear(lin, self.colour.primaries, self.params, state.peak, self.anchor)
            yuv420_from_display(disp, self.params.dither, out=planes)
        stamp = FrameStamp(f.index, f.pts, f.time, getattr(f.av_frame, "duration", None) or None)
        return stamp, buf


def _audio_packets(src, stop: threading.Event, keep_discarded: bool = True):
    """(input audio streams, iterator over their packets in file order) from a second demuxer.

    Packets an edit list discards (before its start: AAC priming, the part of a cut that is
    not presented) are kept when ``keep_discarded``: the MP4 / MOV muxer turns their negative
    timestamps back into an edit list, so the decoder keeps its pre-roll. Matroska has no such
    list and would play them: they are left out there."""
    import av

    c = av.open(str(src), metadata_errors="replace")  # tags need not be UTF-8
    streams = [s for s in c.streams.audio if s.codec_context is not None]  # skip codecs FFmpeg does not know

    def it():
        try:
            if not streams:
                return
            for p in c.demux(*streams):
                if stop.is_set():
                    return
                if p.size == 0 or p.dts is None or (p.is_discard and not keep_discarded):
                    continue
                yield p
        except av.FFmpegError as e:  # damage the demuxer cannot read past: the rest of the audio is lost
            log.warning("%s: audio stops early: %s", src, e)
        finally:
            c.close()

    return streams, it(), c


def _copy_metadata(dst: dict, src: dict, keys=None):
    for k, v in src.items():
        if k in _SKIP_META or (keys is not None and k not in keys):
            continue
        dst[k] = v


def _proxy_pyav(src: Path, tmp: Path, reader: VideoReader, params: RenderParams, *, crf: float, x264_preset: str,
                mode: str, lut_size: int, peak_nits: float | None, smoothing, show_progress: bool) -> dict:
    import av

    ren = _Renderer(reader, params, mode, lut_size, peak_nits, smoothing)
    H, W = ren.H, ren.W
    vin = reader.stream
    tb = vin.time_base or Fraction(1, 90000)
    rate = reader.fps if reader.fps else Fraction(25)
    stop = threading.Event()
    a_streams, a_iter, a_container = _audio_packets(src, stop, keep_discarded=tmp.suffix.lower() != ".mkv")
    out = av.open(str(tmp), "w")
    frames_out = 0
    try:
        _copy_metadata(out.metadata, reader.container.metadata)
        ost = out.add_stream("libx264", rate=rate)
        ost.width, ost.height, ost.pix_fmt = W, H, "yuv420p"
        ost.time_base = tb
        cc = ost.codec_context
        cc.time_base = tb
        for k, v in _BT709.items():
            setattr(cc, k, v)
        ost.options = {"crf": f"{crf:g}", "preset": x264_preset}
        _copy_metadata(ost.metadata, vin.metadata, {"language", "handler_name", "creation_time", "title"})
        if reader.rotation:
            ost.set_display_rotation(reader.rotation)
        a_map = {}
        for s in a_streams:
            o = out.add_stream_from_template(s)
            _copy_metadata(o.metadata, s.metadata, {"language", "handler_name", "creation_time", "title"})
            a_map[s.index] = o
        pending = next(a_iter, None)

        def mux_audio_until(t: float | None):
            nonlocal pending
            while pending is not None and (t is None or float(pending.dts * pending.time_base) <= t):
                pending.stream = a_map[pending.stream.index]
                out.mux(pending)
                pending = next(a_iter, None)

        bar = reporter(show_progress, total=reader.frame_count or None, unit="frame", desc="proxy")
        try:
            last_pts = None
            for f, buf in _rendered(reader, ren):
                frame = av.VideoFrame.from_ndarray(buf, format="yuv420p")
                pts = f.pts if f.pts is not None else int(round(f.time / float(tb)))
                if last_pts is not None and pts <= last_pts:  # never feed the muxer non-increasing timestamps
                    pts = last_pts + 1
                last_pts = pts
                frame.pts = pts
                frame.time_base = tb
                if f.duration_ticks:
                    frame.duration = f.duration_ticks
                for k, v in _BT709.items():
                    setattr(frame, k, v)
                for packet in ost.encode(frame):
                    mux_audio_until(float(packet.dts * packet.time_base) if packet.dts is not None else None)
                    out.mux(packet)
                frames_out += 1
                bar.update(1)
            for packet in ost.encode(None):
                out.mux(packet)
            mux_audio_until(None)
        finally:
            bar.close()
            stop.set()
    except av.FFmpegError as e:
        raise EncodeError(f"libx264 / muxer failed: {e}") from e
    finally:
        out.close()
        a_container.close()
    return {"frames_out": frames_out, "lut_bakes": ren.cache.bakes if ren.cache else 0, "states": ren.states}


# ------------------------------------------------------------------- ffmpeg
def _ffmpeg_command(src: Path, tmp: Path, cube: Path, reader: VideoReader, *, crf: float, x264_preset: str,
                    has_audio: bool) -> list[str]:
    import ffmpeg

    col = reader.colour.ffmpeg_names()
    inp = ffmpeg.input(str(src), noautorotate=None)
    v = inp["v:0"].filter("setparams", **col)
    H, W = even_size(reader.height, reader.width)
    v = v.filter("zscale", w=W, h=H, r="full", filter="bilinear")
    v = v.filter("format", "gbrp16le")
    v = v.filter("lut3d", file=str(cube), interp="tetrahedral")
    v = v.filter("setparams", color_primaries="bt709", color_trc="bt709", colorspace="bt709", range="pc")
    # 16-bit to 8-bit in zscale with an ordered (fixed-pattern, so temporally stable) dither:
    # rounding alone writes an 8-bit staircase on smooth gradients
    v = v.filter("zscale", m="bt709", r="limited", dither="ordered")
    v = v.filter("format", "yuv420p")
    for t in HDR_SIDE_DATA:
        v = v.filter("sidedata", mode="delete", type=t)
    streams = [v] + ([inp["a"]] if has_audio else [])
    kw = {"c:v": "libx264", "crf": f"{crf:g}", "preset": x264_preset, "pix_fmt": "yuv420p",
          "color_primaries": "bt709", "color_trc": "bt709", "colorspace": "bt709", "color_range": "tv",
          "fps_mode": "passthrough", "enc_time_base": "demux", "map_metadata": "0"}  # keep every timestamp
    if has_audio:
        kw["c:a"] = "copy"
    args = ffmpeg.output(*streams, str(tmp), **kw).global_args("-loglevel", "error", "-y").compile(cmd="ffmpeg")
    return args[1:]


def _proxy_ffmpeg(src: Path, tmp: Path, reader: VideoReader, params: RenderParams, *, crf: float, x264_preset: str,
                  lut_size: int, peak_nits: float | None) -> dict:
    import tempfile

    from ..io.ffmpeg import run_ffmpeg

    peak = static_peak_nits(reader, peak_nits)
    col = reader.colour
    cube = bake_lut(col.transfer, params, peak / SDR_WHITE_NITS, lut_size, primaries=col.primaries)
    with tempfile.TemporaryDirectory(prefix="hdrkit-lut-") as d:
        cpath = Path(d) / "proxy.cube"
        write_cube(cpath, cube, title=f"hdrkit {col.transfer} {peak:g} cd/m2 -> BT.709 BT.1886",
                   comments=tuple(f"{k}: {v}" for k, v in params.tags().items()))
        args = _ffmpeg_command(src, tmp, cpath, reader, crf=crf, x264_preset=x264_preset,
                               has_audio=bool(reader.container.streams.audio))
        proc = run_ffmpeg(args)
    errors = [ln for ln in (proc.stderr or b"").decode("utf-8", "replace").splitlines() if ln.strip()]
    return {"static_peak_nits": peak, "errors": errors}


def _dynamic_metadata_dropped(src: Path, dst: Path, dovi) -> list[dict]:
    """HDR10+ and Dolby Vision RPU of ``src``, which an SDR proxy never carries: noted, and listed
    (:mod:`hdrkit.metadata.carry`)."""
    from ..metadata.carry import DOLBY_VISION_RPU, HDR10PLUS, dropped, note_dropped
    from ..metadata.sidedata import count_hdr10plus_frames

    why = "an SDR proxy carries no dynamic HDR metadata"
    out = []
    n = count_hdr10plus_frames(src)
    if n != 0:
        out.append(dropped(HDR10PLUS, src, dst, why, frames=n))
    if dovi is not None:
        out.append(dropped(DOLBY_VISION_RPU, src, dst, why, detail=f"profile {dovi.name}"))
    return note_dropped(out)


def _count_frames(path: Path) -> int:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return sum(1 for p in c.demux(s) if p.size)


# ---------------------------------------------------------------------- API
def iter_sdr_frames(reader: VideoReader, params: RenderParams | None = None, *, mode: str = "lut",
                    lut_size: int = 33, peak_nits: float | None = None,
                    smoothing: tuple[float, float, float] = (SMOOTHING_PERIOD, SCENE_THRESHOLD_LOW,
                                                             SCENE_THRESHOLD_HIGH)):
    """The pyav engine without the encoder: (FrameStamp, (1.5 H, W) uint8 yuv420p buffer, CurveState)
    per frame, decoding and colour work in two threads (what ``make_proxy`` encodes)."""
    if mode not in MODES:
        raise OptionError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    ren = _Renderer(reader, params or RenderParams(), mode, lut_size, peak_nits, smoothing)
    for i, (f, buf) in enumerate(_rendered(reader, ren)):
        yield f, buf, ren.states[i]



def make_proxy(src, dst, *, engine: str = "pyav", params: RenderParams | None = None, crf: float = 20,
               x264_preset: str = "medium", height: int | None = None, mode: str = "lut", lut_size: int | None = None,
               peak_nits: float | None = None, assume_transfer: str | None = None,
               assume_primaries: str | None = None, assume_matrix: str | None = None, assume_range: str | None = None,
               allow_sdr: bool = False, force: bool = False, progress: bool = False,
               smoothing_period: float = SMOOTHING_PERIOD, scene_threshold_low: float = SCENE_THRESHOLD_LOW,
               scene_threshold_high: float = SCENE_THRESHOLD_HIGH) -> ProxyResult:
    """Write an SDR H.264 proxy of ``src`` at ``dst`` (see the module docstring).

    ``crf`` / ``x264_preset``: libx264 settings. ``height``: scale before the colour work.
    ``lut_size``: 33 for ``pyav`` (per-peak LUTs), 65 for ``ffmpeg`` by default.
    ``peak_nits``: a fixed source peak (no peak detection). ``assume_*`` / ``allow_sdr``: see
    :class:`hdrkit.video.decode.VideoReader`.
    """
    t0 = time.perf_counter()
    src, dst = Path(src), Path(dst)
    if engine not in ENGINES:
        raise OptionError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    if mode not in MODES:
        raise OptionError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    if engine == "ffmpeg" and mode != "lut":
        raise OptionError("the ffmpeg engine renders through a 3D LUT only (mode 'lut')")
    if not (0 <= float(crf) <= 51):
        raise OptionError(f"--crf must be within 0-51, not {crf}")
    lut_size = int(lut_size or (33 if engine == "pyav" else 65))
    params = params or RenderParams()
    check_not_input(src, dst, force)
    if dst.suffix.lower() not in (".mp4", ".mov", ".mkv", ".m4v"):
        raise OptionError(f"output must be .mp4, .mov, .m4v or .mkv, not {dst.name!r}")
    with VideoReader(src, assume_transfer=assume_transfer, assume_primaries=assume_primaries,
                     assume_matrix=assume_matrix, assume_range=assume_range, allow_sdr=allow_sdr,
                     height=height) as reader:
        H, W = even_size(reader.height, reader.width)
        if peak_nits is not None:
            peak_nits = static_peak_nits(reader, peak_nits)  # range check
        info = {}
        with atomic_path(dst) as tmp:
            if engine == "pyav":
                info = _proxy_pyav(src, tmp, reader, params, crf=crf, x264_preset=x264_preset, mode=mode,
                                   lut_size=lut_size, peak_nits=peak_nits,
                                   smoothing=(smoothing_period, scene_threshold_low, scene_threshold_high),
                                   show_progress=progress)
            else:
                info = _proxy_ffmpeg(src, tmp, reader, params, crf=crf, x264_preset=x264_preset, lut_size=lut_size,
                                     peak_nits=peak_nits)
                info["frames_out"] = _count_frames(tmp)
                reader.damage.errors.extend(info["errors"])
                if reader.frame_count and info["frames_out"] < reader.frame_count:
                    reader.damage.errors.append(f"{reader.frame_count - info['frames_out']} of {reader.frame_count} "
                                                "frames did not decode")
            if info["frames_out"] == 0:
                raise EncodeError(f"no frame of {src.name} could be decoded; nothing written")
        damage = reader.damage
        frames_in = reader.frame_count
        duration = reader.duration
        dropped = _dynamic_metadata_dropped(src, dst, reader.dolby_vision)
    res = ProxyResult(src, dst, engine, mode, W, H, frames_in, info["frames_out"], duration,
                      time.perf_counter() - t0, lut_size, info.get("lut_bakes", 0), info.get("static_peak_nits",
                                                                                           peak_nits),
                      damage, info.get("states", []), dropped)
    if damage:
        log.warning("%s decoded only in part: %s", src.name, damage.summary())
    return res
