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

On a Dask cluster (``make_proxy(..., client=...)`` or ``cluster=...``) the pyav engine runs in
chunks split at key frames (:func:`plan_chunks`, :func:`measure_chunk`, :func:`smooth_states`,
:func:`render_chunk`, :func:`join_chunks`; the orchestration is :func:`proxy_chunks`):
the same rendered frames, each chunk encoded on its own, joined without re-encoding. The
single-process pyav engine starts a new encoder at the same key frames (the chunks of
``chunk_seconds``, default 30 s), so both give the same encoded frames, up to what libx264's
threads make non-repeatable from run to run.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..cluster import (TASK_RETRIES, check_visible, chunk_memory_mb, gather_as_completed, memory_requests,
                       path_on_workers, run_task)
from ..core.pipeline import RenderParams, render_linear
from ..core.runtime import kernel_threads
from ..core.transfer import SDR_WHITE_NITS, eotf_inverse_st2084
from ..errors import EncodeError, OptionError
from ..io.atomic import atomic_path, check_not_input
from ..io.progress import reporter
from .analysis import (SCENE_THRESHOLD_HIGH, SCENE_THRESHOLD_LOW, SMOOTHING_PERIOD, CurveState, FrameMeasure,
                       PeakSmoother, frame_measure, static_peak_nits)
from .damage import Damage
from .lut3d import LutCache, bake_lut, write_cube
from .reader import VideoReader
from .render import even_size, measure_planes, render_lut_yuv420, yuv420_buffer, yuv420_from_display
from .tags import ColourInfo
from .threads import apply, prefetch, prefetch_mapped, queue_depth

__all__ = ["ProxyResult", "FrameStamp", "make_proxy", "iter_sdr_frames", "Chunk", "plan_chunks", "measure_chunk",
           "smooth_states", "lut_prime_peaks", "chunk_frames", "chunk_sdr_frames", "render_chunk", "join_chunks",
           "ENGINES", "MODES", "HDR_SIDE_DATA", "static_peak_nits"]

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


#: Decoded pictures above this size (bytes; 2160p 10-bit 4:2:0 holds 25 MB) are rendered by the
#: thread that decodes them, with no queue between the two (see :func:`_rendered`).
SHARED_THREAD_BYTES = 16 << 20


def _rendered(reader: VideoReader, ren, stages: int = 2):
    """(FrameStamp, yuv420p buffer) pairs in order, each queue a few frames deep (fewer for large
    frames: memory stays flat in clip length).

    ``stages=2``: decoding in one thread, all colour work in another (the proxy's layout:
    libx264 in the consumer's thread takes the rest of the cores). ``stages=3``: the
    measurement, the peak smoothing and the LUT bakes (:meth:`_Renderer.prepare`, their
    kernels on one core) in a third thread, so that a bake's serial part (the curve's tables,
    in Python) runs beside the previous frame's render instead of before this frame's. For a
    consumer that leaves the cores idle (:func:`iter_sdr_frames`) that fills them: 48 frames of
    1080p PQ, 28 bakes, 5-6 % more frames a second, HLG the same, within 1 % (its CPU time, not
    idle cores, bounds it). Beside libx264 the third thread only adds switches: a 1080p proxy
    loses 6 % (``scripts/bench.py``'s clips, alternated runs).

    Pictures above :data:`SHARED_THREAD_BYTES` are decoded and rendered in one thread: a queue
    kept up to three more decoded pictures alive (queued, waiting to be queued, being
    rendered), and the decoder's own frame threads keep decoding while a picture is rendered.
    A 2160p proxy peaks 50-60 MB lower, with the same CPU time (``scripts/bench.py --only
    memory``)."""
    frame_bytes = reader.height * reader.width * 3  # 10-16 bit 4:2:0: 3 bytes per pixel
    depth = queue_depth(frame_bytes)
    if frame_bytes > SHARED_THREAD_BYTES:
        return prefetch(lambda: apply(reader.frames(), ren), depth)
    if stages == 3:
        return prefetch_mapped(reader.frames, ren.prepare, ren.finish, depth=depth,
                               setups=(lambda: kernel_threads(1), None))
    return prefetch_mapped(reader.frames, ren, depth=depth)


# --------------------------------------------------------------------- pyav
class _PicturePool:
    """libx264's input pictures, rendered into in place and reused once encoded.

    Rendering into a numpy buffer that ``VideoFrame.from_ndarray`` then copies costs a fresh
    picture and a copy per frame (12 MB at 2160p), and glibc keeps freed ones resident;
    libavcodec holds no reference to a frame once ``encode`` returns (libx264 copies the
    picture in), so a few pictures serve the whole clip. ``limit`` pictures at most: the
    renderer then waits for the encoder to hand one back (None: as many as are in flight).
    Only for sizes whose planes FFmpeg lays out without row padding (the kernels are compiled
    for contiguous planes): :meth:`take` returns None otherwise.
    """

    def __init__(self, H: int, W: int, limit: int | None = None):
        import av

        self.H, self.W, self.limit = H, W, limit
        self._free: list = []
        self._made = 0
        self._closed = False
        self._cv = threading.Condition()
        probe = av.VideoFrame(W, H, "yuv420p")
        self.usable = all(p.line_size == p.width for p in probe.planes)
        if self.usable:
            self._free.append(probe)
            self._made = 1

    @property
    def made(self) -> int:
        """Pictures allocated so far."""
        return self._made

    def take(self):
        """(VideoFrame, (Y, U, V) writable uint8 views of its planes), or None for padded planes.

        Raises
        ------
        EncodeError
            The pool was closed (the encoder stopped) while waiting for a picture.
        """
        import av

        if not self.usable:
            return None
        with self._cv:
            while not self._free and self.limit is not None and self._made >= self.limit and not self._closed:
                self._cv.wait(0.1)
            if self._closed:
                raise EncodeError("the encoder stopped")
            if self._free:
                frame = self._free.pop()
            else:
                frame = av.VideoFrame(self.W, self.H, "yuv420p")
                self._made += 1
        frame.make_writable()  # a no-op unless something still holds the picture: then a fresh copy
        return frame, tuple(np.frombuffer(p, np.uint8).reshape(p.height, p.width) for p in frame.planes)

    def give(self, frame) -> None:
        """``frame`` is encoded: render the next picture into it."""
        with self._cv:
            self._free.append(frame)
            self._cv.notify()

    def close(self) -> None:
        """Wake and stop a renderer waiting in :meth:`take`."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()


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
        self.pool: _PicturePool | None = None  # set: render into reused libx264 input pictures

    def measure(self, f) -> FrameMeasure:
        """The peak-detection input of frame ``f`` (the fixed peak replaces the measured one)."""
        fm = frame_measure(measure_planes(f.y, f.u, f.v, self.colour))
        if self.static is not None:
            fm = FrameMeasure(self.static, fm.avg_pq, fm.active)
        return fm

    def lut(self, state: CurveState):
        """The 3D LUT of ``state`` (None in ``exact`` mode), baked or blended now if need be."""
        return self.cache.get(state.peak) if self.cache is not None else None

    def render(self, f, state: CurveState, lut=None):
        """(FrameStamp, yuv420p buffer) of frame ``f`` rendered for ``state``, with ``lut`` (:meth:`lut`'s
        for ``state``) when given; the buffer is a ``VideoFrame`` of :attr:`pool` when one is set and usable."""
        taken = self.pool.take() if self.pool is not None else None
        buf, planes = taken if taken is not None else yuv420_buffer(self.H, self.W)
        if self.mode == "lut":
            render_lut_yuv420(f.y, f.u, f.v, self.colour, self.lut(state) if lut is None else lut, self.params.dither,
                              out=planes, measure=False)
        else:
            lin = self.reader.to_linear(f)[:self.H, :self.W]
            disp = render_linear(lin, self.colour.primaries, self.params, state.peak, self.anchor)
            yuv420_from_display(disp, self.params.dither, out=planes)
        stamp = FrameStamp(f.index, f.pts, f.time, getattr(f.av_frame, "duration", None) or None)
        return stamp, buf

    def prepare(self, f):
        """(frame, curve state, LUT) of frame ``f``: its measurement, the peak smoothing and any LUT
        bake, none of which waits for an earlier frame's render (see :func:`_rendered`)."""
        state = self.smoother.update(self.measure(f), f.time)
        self.states.append(state)
        return f, state, self.lut(state)

    def finish(self, prepared):
        """:meth:`render` of what :meth:`prepare` returned."""
        return self.render(*prepared)

    def __call__(self, f):
        return self.finish(self.prepare(f))


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


class _Output:
    """The proxy's output file: container and stream tags, rotation, the video stream ``add_video(out)``
    makes, the source's audio streams copied packet for packet and interleaved by time with the
    video packets given to :meth:`mux_video`."""

    def __init__(self, src: Path, tmp: Path, reader: VideoReader, add_video):
        import av

        self.stop = threading.Event()
        a_streams, self._a_iter, self._a_container = _audio_packets(src, self.stop,
                                                                    keep_discarded=tmp.suffix.lower() != ".mkv")
        self.out = av.open(str(tmp), "w")
        try:
            _copy_metadata(self.out.metadata, reader.container.metadata)
            self.ost = add_video(self.out)
            _copy_metadata(self.ost.metadata, reader.stream.metadata,
                           {"language", "handler_name", "creation_time", "title"})
            if reader.rotation:
                self.ost.set_display_rotation(reader.rotation)
            self._a_map = {}
            for s in a_streams:
                o = self.out.add_stream_from_template(s)
                _copy_metadata(o.metadata, s.metadata, {"language", "handler_name", "creation_time", "title"})
                self._a_map[s.index] = o
            self._pending = next(self._a_iter, None)
        except BaseException:
            self.close()
            raise

    def mux_audio_until(self, t: float | None) -> None:
        """Mux the audio packets up to ``t`` seconds (all with None)."""
        while self._pending is not None and (t is None or float(self._pending.dts * self._pending.time_base) <= t):
            self._pending.stream = self._a_map[self._pending.stream.index]
            self.out.mux(self._pending)
            self._pending = next(self._a_iter, None)

    def mux_video(self, packet) -> None:
        self.mux_audio_until(float(packet.dts * packet.time_base) if packet.dts is not None else None)
        self.out.mux(packet)

    def close(self) -> None:
        self.stop.set()
        self.out.close()
        self._a_container.close()


def _x264_stream(out, reader: VideoReader, *, crf: float, x264_preset: str, x264_threads: int | None = None):
    """The libx264 stream of a proxy: even size, yuv420p, the source's time base, tagged BT.709."""
    H, W = even_size(reader.height, reader.width)
    tb = reader.stream.time_base or Fraction(1, 90000)
    ost = out.add_stream("libx264", rate=reader.fps if reader.fps else Fraction(25))
    ost.width, ost.height, ost.pix_fmt = W, H, "yuv420p"
    ost.time_base = tb
    cc = ost.codec_context
    cc.time_base = tb
    for k, v in _BT709.items():
        setattr(cc, k, v)
    ost.options = _x264_options(crf, x264_preset, x264_threads)
    return ost


def _x264_options(crf: float, x264_preset: str, x264_threads: int | None = None) -> dict:
    """libx264's options; ``x264_threads`` None: as many threads as libx264 chooses."""
    opts = {"crf": f"{crf:g}", "preset": x264_preset}
    if x264_threads:
        opts["threads"] = str(int(x264_threads))
    return opts


def _fresh_encoder(ost, options: dict):
    """A new libx264 encoder set up as ``ost``'s (size, time base, tags, header flags), with
    ``options`` (those of ``ost``: FFmpeg consumes a codec's options when it opens it)."""
    import av

    cc, enc = ost.codec_context, av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = cc.width, cc.height, cc.pix_fmt
    enc.framerate, enc.time_base, enc.flags = cc.framerate, cc.time_base, cc.flags
    enc.thread_type, enc.thread_count = cc.thread_type, cc.thread_count
    for k in _BT709:
        setattr(enc, k, getattr(cc, k))
    enc.options = dict(options)
    return enc


def _encode(ost, rendered, tb, mux, bar=None, restarts=(), options: dict | None = None,
            pool: _PicturePool | None = None) -> int:
    """Encode the (FrameStamp, yuv420p buffer or VideoFrame) pairs of ``rendered`` on ``ost`` at
    their own timestamps (in ``tb``), give every packet to ``mux``; the number of frames.
    VideoFrames go back to ``pool`` once encoded.

    At the first frame at or after each timestamp of ``restarts`` (increasing) the encoder is
    flushed and a new one with ``options`` (the x264 options ``ost`` was opened with) takes
    over: the frames from there on are encoded as a chunk encoded on its own would be (an IDR
    frame first, no rate-control or look-ahead state carried over)."""
    import av

    restarts = list(restarts)
    encode = ost.encode  # the stream's own encoder first
    frames_out = 0
    last_pts = None

    def out(packets):
        for packet in packets:
            if packet.stream is not ost:  # a later encoder's packet, in its (the source's) time base
                packet.stream, packet.time_base = ost, tb
            mux(packet)

    for f, buf in rendered:
        pooled = isinstance(buf, av.VideoFrame)
        frame = buf if pooled else av.VideoFrame.from_ndarray(buf, format="yuv420p")
        pts = f.pts if f.pts is not None else int(round(f.time / float(tb)))
        if last_pts is not None and pts <= last_pts:  # never feed the muxer non-increasing timestamps
            pts = last_pts + 1
        last_pts = pts
        if restarts and pts >= restarts[0]:
            while restarts and pts >= restarts[0]:
                restarts.pop(0)
            if frames_out:
                out(encode(None))
                encode = _fresh_encoder(ost, options or {}).encode
        frame.pts = pts
        frame.time_base = tb
        if f.duration_ticks:
            frame.duration = f.duration_ticks
        for k, v in _BT709.items():
            setattr(frame, k, v)
        out(encode(frame))
        if pooled:  # libx264 has copied it in
            pool.give(frame)
        del frame, buf  # neither is held while the next picture is awaited
        frames_out += 1
        if bar is not None:
            bar.update(1)
    out(encode(None))
    return frames_out


def _proxy_pyav(src: Path, tmp: Path, reader: VideoReader, params: RenderParams, *, crf: float, x264_preset: str,
                mode: str, lut_size: int, peak_nits: float | None, smoothing, show_progress: bool,
                chunk_seconds: float, x264_threads: int | None = None) -> dict:
    import av

    # a new encoder where a cluster's chunk would start: the same encoded frames either way
    restarts = [c.start_pts for c in plan_chunks(src, chunk_seconds)[1:]]
    ren = _Renderer(reader, params, mode, lut_size, peak_nits, smoothing)
    # large pictures: one being encoded and one being rendered (a third, queued, cost 12 MB at
    # 2160p and no speed: the colour work is the slower side)
    ren.pool = _PicturePool(ren.H, ren.W, limit=2 if ren.H * ren.W * 3 > SHARED_THREAD_BYTES else None)
    tb = reader.stream.time_base or Fraction(1, 90000)
    o = _Output(src, tmp, reader, lambda out: _x264_stream(out, reader, crf=crf, x264_preset=x264_preset,
                                                            x264_threads=x264_threads))
    try:
        bar = reporter(show_progress, total=reader.frame_count or None, unit="frame", desc="proxy")
        try:
            frames = _rendered(reader, ren)
            try:
                frames_out = _encode(o.ost, frames, tb, o.mux_video, bar, restarts,
                                     _x264_options(crf, x264_preset, x264_threads), ren.pool)
            finally:
                ren.pool.close()  # a renderer waiting for a picture stops
                frames.close()  # stop the decoding threads before the reader's file closes
            o.mux_audio_until(None)
        finally:
            bar.close()
            o.stop.set()
    except av.FFmpegError as e:
        raise EncodeError(f"libx264 / muxer failed: {e}") from e
    finally:
        o.close()
    return {"frames_out": frames_out, "lut_bakes": ren.cache.bakes if ren.cache else 0, "states": ren.states}


# ------------------------------------------------------------------- chunks
@dataclass(frozen=True)
class Chunk:
    """A run of frames between two key frames: presentation timestamps ``start_pts`` (None: the
    start of the stream) up to ``end_pts`` (excluded; None: the end), in the video stream's time base."""

    index: int
    start_pts: int | None
    end_pts: int | None
    start_time: float
    #: timestamps of its key frames, in order (empty when the plan could not read them)
    keys: tuple[int, ...] = ()


def plan_chunks(src, seconds: float) -> list[Chunk]:
    """Split ``src`` at key frames into chunks of at least ``seconds`` (the last may be shorter).

    Reads packets only (no decoding). A stream with a packet lacking a timestamp, or
    timestamps that do not increase from key frame to key frame, is one chunk.
    """
    import av

    if not (seconds > 0):
        raise OptionError(f"--chunk-seconds must be positive, not {seconds}")
    with av.open(str(src), metadata_errors="replace") as c:
        vs = c.streams.video[0]
        tb = float(vs.time_base or Fraction(1, 90000))
        keys = []
        try:
            for p in c.demux(vs):
                if not p.size or p.is_discard:
                    continue
                if p.pts is None:
                    return [Chunk(0, None, None, 0.0)]
                if p.is_keyframe:
                    keys.append(p.pts)
        except av.FFmpegError:  # damage: one process copes with it as it always has
            return [Chunk(0, None, None, 0.0)]
    if any(b <= a for a, b in zip(keys, keys[1:])):
        return [Chunk(0, None, None, 0.0)]
    starts = [None]
    t0 = keys[0] * tb if keys else 0.0
    for k in keys[1:]:
        if k * tb - t0 >= seconds:
            starts.append(k)
            t0 = k * tb
    return [Chunk(i, a, b, (a or 0) * tb, tuple(k for k in keys if (a is None or k >= a) and (b is None or k < b)))
            for i, (a, b) in enumerate(zip(starts, starts[1:] + [None]))]


def chunk_frames(reader: VideoReader, chunk: Chunk):
    """The decoded frames of ``chunk``: from its key frame, those whose timestamps fall inside it."""
    if chunk.start_pts is not None:
        reader.seek(chunk.start_pts)
    for f in reader.frames():
        if f.pts is None:
            raise EncodeError(f"frame at {f.time:.3f} s has no timestamp: this clip cannot be split into chunks")
        if chunk.start_pts is not None and f.pts < chunk.start_pts:
            continue  # a leading picture of the previous chunk
        if chunk.end_pts is not None and f.pts >= chunk.end_pts:
            return
        yield f


def measure_chunk(src, chunk: Chunk, *, peak_nits: float | None = None, reader_kwargs: dict | None = None) -> dict:
    """The peak-detection inputs of the frames of ``chunk``, as a single-process proxy measures them.

    Returns ``{"pts": [int], "time": [s], "measures": [FrameMeasure], "errors": [str]}`` in
    presentation order (``errors``: what the decoder reported).
    """
    with VideoReader(src, **(reader_kwargs or {})) as reader:
        ren = _Renderer(reader, RenderParams(), "exact", 2, peak_nits, (SMOOTHING_PERIOD, SCENE_THRESHOLD_LOW,
                                                                         SCENE_THRESHOLD_HIGH))
        out = {"pts": [], "time": [], "measures": []}
        for f, fm in prefetch(lambda: ((f, ren.measure(f)) for f in chunk_frames(reader, chunk)),
                              queue_depth(reader.height * reader.width * 3)):
            out["pts"].append(int(f.pts))
            out["time"].append(f.time)
            out["measures"].append(fm)
        out["errors"] = list(reader.damage.errors)
    return out


def smooth_states(measures: list[FrameMeasure], times: list[float], params: RenderParams | None = None, *,
                  peak_nits: float | None = None,
                  smoothing: tuple[float, float, float] = (SMOOTHING_PERIOD, SCENE_THRESHOLD_LOW,
                                                           SCENE_THRESHOLD_HIGH)) -> list[CurveState]:
    """The per-frame curve states of a whole clip from its frame measures, as the pyav proxy's
    single pass smooths them (a fixed ``peak_nits`` turns the smoothing off, as there)."""
    if peak_nits is not None:
        smoothing = (0.0, *smoothing[1:])
    sm = PeakSmoother(*smoothing, params=params or RenderParams())
    return [sm.update(m, t) for m, t in zip(measures, times)]


def lut_prime_peaks(states: list[CurveState], starts: list[int]) -> list[float | None]:
    """For each chunk starting at frame ``starts[i]``: the peak whose LUT a single pass would still
    be using there (:meth:`hdrkit.video.lut3d.LutCache.get` keeps the LUT while the peak stays
    within one key), so a chunk renders its first frames with the very same LUT."""
    keys = [LutCache.key(s.peak) for s in states]
    out = []
    for i in starts:
        if i <= 0 or i >= len(states):
            out.append(None)
            continue
        j = i
        while j > 0 and keys[j - 1] == keys[i]:
            j -= 1
        out.append(states[j].peak if j < i else None)
    return out


def chunk_sdr_frames(reader: VideoReader, chunk: Chunk, pts: list[int], states: list[CurveState], *,
                     prime_peak: float | None, params: RenderParams | None = None, mode: str = "lut",
                     lut_size: int = 33):
    """(FrameStamp, (1.5 H, W) uint8 yuv420p buffer) of every frame of ``chunk``, rendered with the
    whole clip's ``states`` (timestamps ``pts``) and a LUT cache primed at ``prime_peak``
    (:func:`lut_prime_peaks`): the buffers a single pass renders for these frames.

    Raises
    ------
    EncodeError
        The chunk decodes other frames than the whole-clip pass measured.
    """
    ren = _Renderer(reader, params or RenderParams(), mode, lut_size, None,
                    (SMOOTHING_PERIOD, SCENE_THRESHOLD_LOW, SCENE_THRESHOLD_HIGH))
    if ren.cache is not None and prime_peak is not None:
        ren.cache.get(prime_peak)
    want = iter(zip(pts, states))

    def one(f):
        p, st = next(want, (None, None))
        if p != f.pts:
            raise EncodeError(f"chunk {chunk.index} decoded the frame at pts {f.pts}, the whole-clip pass had {p} "
                              "there")
        return ren.render(f, st)

    depth = queue_depth(reader.height * reader.width * 3)
    return prefetch_mapped(lambda: chunk_frames(reader, chunk), one, depth=depth)


def render_chunk(src, dst, chunk: Chunk, pts: list[int], states: list[CurveState], *, prime_peak: float | None,
                 params: RenderParams | None = None, mode: str = "lut", lut_size: int = 33, crf: float = 20,
                 x264_preset: str = "medium", reader_kwargs: dict | None = None,
                 x264_threads: int | None = None) -> dict:
    """Render and encode the frames of ``chunk`` with the given per-frame ``states`` (whose
    timestamps are ``pts``; :func:`chunk_sdr_frames`) into ``dst`` (NUT, H.264 only), atomically.

    The encoder starts afresh, so the chunk is a closed run of pictures starting with an IDR
    frame. Returns ``{"frames": n, "errors": [str], "timing": [(pts, dts, duration)]}``: every
    packet's timestamps in the source's time base as the encoder gave them, in file order
    (the container may shift them; :func:`join_chunks` puts these back).

    Raises
    ------
    EncodeError
        The chunk decoded other frames than the whole-clip pass measured, or libx264 failed.
    """
    import av

    with VideoReader(src, **(reader_kwargs or {})) as reader:
        rendered = chunk_sdr_frames(reader, chunk, pts, states, prime_peak=prime_peak, params=params, mode=mode,
                                    lut_size=lut_size)
        tb = reader.stream.time_base or Fraction(1, 90000)
        timing = []

        def mux(packet):
            timing.append((packet.pts, packet.dts, packet.duration))
            out.mux(packet)

        with atomic_path(Path(dst)) as tmp:
            out = av.open(str(tmp), "w", format="nut")
            try:
                ost = _x264_stream(out, reader, crf=crf, x264_preset=x264_preset, x264_threads=x264_threads)
                n = _encode(ost, rendered, tb, mux)
            except av.FFmpegError as e:
                raise EncodeError(f"libx264 / muxer failed: {e}") from e
            finally:
                rendered.close()  # the decoding and colour threads end before the reader closes
                out.close()
        if n != len(pts):
            raise EncodeError(f"chunk {chunk.index} decoded {n} frames, the whole-clip pass {len(pts)}")
        return {"frames": n, "errors": list(reader.damage.errors), "timing": timing}


def join_chunks(src, tmp: Path, chunks: list[Path], timings: list[list[tuple]], reader: VideoReader) -> int:
    """Join the encoded chunks into the proxy at ``tmp`` without re-encoding: video packets copied,
    with the timestamps the encoder gave them (``timings``, from :func:`render_chunk`), the
    source's audio, tags and rotation as :func:`make_proxy` writes them. Returns the number of
    video frames."""
    import av

    tb = reader.stream.time_base or Fraction(1, 90000)
    with av.open(str(chunks[0])) as first:
        template = first.streams.video[0]
        headers = template.codec_context.extradata

        def add_video(out):
            ost = out.add_stream_from_template(template)
            ost.time_base = tb
            ost.codec_context.framerate = reader.fps if reader.fps else Fraction(25)  # as the encoder's stream
            return ost

        o = _Output(Path(src), tmp, reader, add_video)
    n = 0
    try:
        for path, timing in zip(chunks, timings):
            with av.open(str(path)) as c:
                if c.streams.video[0].codec_context.extradata != headers:  # the stream keeps the first's SPS / PPS
                    raise EncodeError(f"chunk {path.name} was encoded with other H.264 parameter sets than the first "
                                      "(workers with another libx264 or other settings?)")
                packets = [p for p in c.demux(c.streams.video[0]) if p.size]
                if len(packets) != len(timing):
                    raise EncodeError(f"chunk {path.name} holds {len(packets)} packets, its encoder gave "
                                      f"{len(timing)}")
                for packet, (pts, dts, duration) in zip(packets, timing):
                    packet.stream = o.ost
                    packet.time_base = tb
                    packet.pts, packet.dts = pts, dts
                    packet.duration = duration or 0  # 0: the muxer derives it, as for the encoder's packets
                    o.mux_video(packet)
                    n += 1
        o.mux_audio_until(None)
    except av.FFmpegError as e:
        raise EncodeError(f"joining the chunks failed: {e}") from e
    finally:
        o.close()
    return n


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
    per frame, the frames ``make_proxy`` encodes. Decoding, the measurement with the LUTs, and
    the render run in three threads (:func:`_rendered`), pictures above 16 MB in one."""
    if mode not in MODES:
        raise OptionError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    ren = _Renderer(reader, params or RenderParams(), mode, lut_size, peak_nits, smoothing)
    for i, (f, buf) in enumerate(_rendered(reader, ren, stages=3)):
        yield f, buf, ren.states[i]



#: libx264's presets, fastest first (x264 ``common/base.c`` ``x264_preset_names``).
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                "placebo")
#: Default chunk length of a proxy on a cluster (seconds).
DEFAULT_CHUNK_SECONDS = 30.0


def proxy_chunks(src: Path, tmp: Path, reader, params, *, client, chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
                 crf: float, x264_preset: str, mode: str, lut_size: int, peak_nits: float | None, smoothing,
                 reader_kwargs: dict, show_progress: bool = False, x264_threads: int | None = None) -> dict:
    """The pyav proxy of ``src`` written at ``tmp`` through ``client``'s workers.

    1. :func:`plan_chunks` splits the clip at key frames into chunks of about
       ``chunk_seconds``.
    2. Every chunk's frames are measured on the workers (:func:`measure_chunk`); the temporal
       peak smoothing then runs once over the whole clip, here (:func:`smooth_states`; a few
       operations a frame), so it never sees a chunk boundary.
    3. Every chunk is rendered with the whole clip's per-frame curve states and encoded on its
       own (:func:`render_chunk`): the decoded SDR frames are those of a single-process
       proxy, only the encoder's GOPs differ.
    4. The chunks are joined here without re-encoding, with the source's audio, tags and
       rotation (:func:`join_chunks`).

    Every task asks for :func:`hdrkit.cluster.chunk_memory_mb` of the frame size as the
    ``MEMORY_MB`` worker resource (:func:`hdrkit.cluster.memory_requests`), so a worker never
    runs more chunks than fit. Chunk files live in a temporary folder beside the output
    (every worker writes there), removed on success and on failure. A task whose worker dies
    is run again on another worker; a chunk is written atomically, so a killed worker never
    leaves half a chunk.

    Returns what the single-process engine returns: ``frames_out``, ``lut_bakes`` (0: baked
    on the workers), ``states``.
    """
    chunks = plan_chunks(src, chunk_seconds)
    wsrc = path_on_workers(src)
    check_visible(client, [src])
    work = Path(tempfile.mkdtemp(prefix=f".{tmp.name}.chunks-", dir=tmp.parent))
    run = uuid.uuid4().hex[:8]
    H, W = even_size(reader.height, reader.width)
    need = memory_requests(client, [chunk_memory_mb(H * W)])[0]  # every chunk task, measuring or rendering
    try:
        check_visible(client, [work], "temporary folder beside the output")
        measured = gather_as_completed(client, {
            client.submit(run_task, measure_chunk, wsrc, c, peak_nits=peak_nits, reader_kwargs=reader_kwargs,
                          pure=False, key=f"hdrkit-measure-{run}-{c.index}", retries=TASK_RETRIES,
                          resources=need): c.index
            for c in chunks})
        pts, times, measures, starts = [], [], [], []
        for c in chunks:
            m = measured[c.index]
            starts.append(len(pts))
            pts += m["pts"]
            times += m["time"]
            measures += m["measures"]
            reader.damage.errors.extend(m["errors"])
        states = smooth_states(measures, times, params, peak_nits=peak_nits, smoothing=smoothing)
        primes = lut_prime_peaks(states, starts) if mode == "lut" else [None] * len(chunks)
        ends = starts[1:] + [len(pts)]
        paths = [work / f"chunk{c.index:05d}.nut" for c in chunks]
        bar = reporter(show_progress, total=len(pts) or None, unit="frame", desc="proxy")
        try:
            rendered = gather_as_completed(client, {
                client.submit(run_task, render_chunk, wsrc, path_on_workers(paths[c.index]), c, pts[a:b],
                              states[a:b], prime_peak=primes[c.index], params=params, mode=mode,
                              lut_size=lut_size, crf=crf, x264_preset=x264_preset, x264_threads=x264_threads,
                              reader_kwargs=reader_kwargs, pure=False, key=f"hdrkit-render-{run}-{c.index}",
                              retries=TASK_RETRIES, resources=need): c.index
                for c, a, b in zip(chunks, starts, ends) if b > a}, bar, lambda r: r["frames"])
        finally:
            bar.close()
        for i in sorted(rendered):
            reader.damage.errors.extend(e for e in rendered[i]["errors"] if e not in reader.damage.errors)
        done = sorted(rendered)
        frames = join_chunks(src, tmp, [paths[i] for i in done], [rendered[i]["timing"] for i in done],
                             reader) if done else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"frames_out": frames, "lut_bakes": 0, "states": states, "chunks": len(chunks)}


#: Set once this process has started :func:`_load_kernels_early`.
_KERNELS_STARTED = threading.Event()


def _load_kernels_early(params: RenderParams) -> None:
    """Load the pyav engine's compiled kernels (measurement, LUT bake, LUT render) from numba's
    cache in a background thread, once per process, by running them on a tiny 10-bit picture.

    A process's first call of each costs its load from the cache, and the first one numba's
    threading layer: 60-100 ms, which the colour thread otherwise pays before its first frame,
    after the file is open. Started before the file is opened, the loads overlap the opening
    (its first frames decode in FFmpeg's threads, without the GIL); the colour thread then
    finds them loaded (numba's compiler lock makes it wait for one still loading). Clips of
    other bit depths load their own types as before; a failure here changes nothing (each
    kernel then loads at its first call)."""
    if _KERNELS_STARTED.is_set():
        return
    _KERNELS_STARTED.set()

    def load():
        try:
            colour = ColourInfo(transfer="pq", primaries="bt2020", matrix="bt2020", full_range=False, bit_depth=10,
                                chroma_shift=(1, 1), pix_fmt="yuv420p10le")
            y = np.full((4, 8), 512, np.uint16)
            u = np.full((2, 4), 512, np.uint16)
            measure_planes(y, u, u, colour)
            render_lut_yuv420(y, u, u, colour, bake_lut("pq", params, 4.0, 2), params.dither, measure=False)
        except Exception as e:  # noqa: BLE001 - only a head start: the work loads what it needs itself
            log.debug("early kernel load failed: %s", e)

    threading.Thread(target=load, name="hdrkit-kernel-load", daemon=True).start()


def make_proxy(src, dst, *, engine: str = "pyav", params: RenderParams | None = None, crf: float = 20,
               x264_preset: str = "medium", height: int | None = None, mode: str = "lut", lut_size: int | None = None,
               peak_nits: float | None = None, assume_transfer: str | None = None,
               assume_primaries: str | None = None, assume_matrix: str | None = None, assume_range: str | None = None,
               allow_sdr: bool = False, force: bool = False, progress: bool = False,
               smoothing_period: float = SMOOTHING_PERIOD, scene_threshold_low: float = SCENE_THRESHOLD_LOW,
               scene_threshold_high: float = SCENE_THRESHOLD_HIGH, client=None, cluster: str | None = None,
               chunk_seconds: float | None = None, x264_threads: int | None = None) -> ProxyResult:
    """Write an SDR H.264 proxy of ``src`` at ``dst`` (see the module docstring).

    ``crf`` / ``x264_preset``: libx264 settings. ``height``: scale before the colour work.
    ``lut_size``: 33 for ``pyav`` (per-peak LUTs), 65 for ``ffmpeg`` by default.
    ``peak_nits``: a fixed source peak (no peak detection). ``assume_*`` / ``allow_sdr``: see
    :class:`hdrkit.video.reader.VideoReader`.
    ``client`` (a Dask client), ``cluster`` (``"local[:N]"`` or a scheduler address) or a
    current Dask client: the pyav engine renders chunks of about ``chunk_seconds`` (default
    30) on the cluster's workers (:func:`proxy_chunks`; the same decoded frames). In one
    process the pyav engine starts a new libx264 encoder where such a chunk would start,
    so the proxy is encoded as the chunked one is. ``x264_threads``: libx264's threads (None:
    its choice, by the cores). libx264's threaded encoding is not repeatable from run to run
    (nor, so, between a chunked and a single-process proxy); with ``x264_threads=1`` both are
    the same bytes every time, at the cost of encoding on one core.
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
    if x264_threads is not None and not (isinstance(x264_threads, int) and x264_threads >= 1):
        raise OptionError(f"x264_threads must be a positive whole number, not {x264_threads!r}")
    if x264_preset not in X264_PRESETS:
        raise OptionError(f"unknown x264 preset {x264_preset!r}; choose from {', '.join(X264_PRESETS)}")
    lut_size = int(lut_size or (33 if engine == "pyav" else 65))
    params = params or RenderParams()
    check_not_input(src, dst, force)
    if dst.suffix.lower() not in (".mp4", ".mov", ".mkv", ".m4v"):
        raise OptionError(f"output must be .mp4, .mov, .m4v or .mkv, not {dst.name!r}")
    if (client is not None or cluster is not None) and engine != "pyav":
        raise OptionError("the ffmpeg engine is one FFmpeg command: a cluster runs the pyav engine only")
    if chunk_seconds is not None and not (chunk_seconds > 0):
        raise OptionError(f"--chunk-seconds must be positive, not {chunk_seconds}")
    reader_kwargs = dict(assume_transfer=assume_transfer, assume_primaries=assume_primaries,
                         assume_matrix=assume_matrix, assume_range=assume_range, allow_sdr=allow_sdr, height=height)
    if engine == "pyav" and mode == "lut" and client is None and cluster is None:
        _load_kernels_early(params)
    with contextlib.ExitStack() as stack:
        if engine == "pyav":
            from ..cluster import cluster_client

            client = stack.enter_context(cluster_client(cluster, client))
        return _make_proxy(src, dst, engine, params, crf, x264_preset, mode, lut_size, peak_nits, reader_kwargs,
                           progress, (smoothing_period, scene_threshold_low, scene_threshold_high), client,
                           chunk_seconds, t0, x264_threads)


def _make_proxy(src, dst, engine, params, crf, x264_preset, mode, lut_size, peak_nits, reader_kwargs, progress,
                smoothing, client, chunk_seconds, t0, x264_threads) -> ProxyResult:
    with VideoReader(src, **reader_kwargs) as reader:
        H, W = even_size(reader.height, reader.width)
        if peak_nits is not None:
            peak_nits = static_peak_nits(reader, peak_nits)  # range check
        info = {}
        chunk_seconds = chunk_seconds or DEFAULT_CHUNK_SECONDS
        with atomic_path(dst) as tmp:
            if engine == "pyav" and client is not None:
                info = proxy_chunks(src, tmp, reader, params, client=client, chunk_seconds=chunk_seconds, crf=crf,
                                    x264_preset=x264_preset, mode=mode, lut_size=lut_size, peak_nits=peak_nits,
                                    smoothing=smoothing, reader_kwargs=reader_kwargs, show_progress=progress,
                                    x264_threads=x264_threads)
            elif engine == "pyav":
                info = _proxy_pyav(src, tmp, reader, params, crf=crf, x264_preset=x264_preset, mode=mode,
                                   lut_size=lut_size, peak_nits=peak_nits, smoothing=smoothing,
                                   show_progress=progress, chunk_seconds=chunk_seconds, x264_threads=x264_threads)
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
