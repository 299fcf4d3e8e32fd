"""The video reader: open a file with PyAV, check its colour description, yield its frames.

:class:`VideoReader` opens a file with PyAV (frame threads, ``thread_type="AUTO"``, one
thread per usable core), reads the colour description (H.273 code points on the stream,
else on the first frame) and resolves it with :func:`hdrkit.video.tags.resolve_colour`,
which refuses to guess; SDR input is refused unless ``allow_sdr`` (it is then passed
through the same path with a peak of 1.0, which every tone curve leaves unchanged); Dolby
Vision profile 5 is refused (its base layer is IPTPQc2, not Y'CbCr) and 8.x is decoded as
its HDR10 / HLG / SDR base layer with a warning (policy and detection:
:mod:`hdrkit.metadata.dovi`). Decoding survives damaged packets: :meth:`VideoReader.frames`
yields what decodes and records every gap in :attr:`VideoReader.damage`
(:mod:`hdrkit.video.damage`), judged on the timeline the container presents
(:mod:`hdrkit.video.timeline`).

Frames come out as their native planes (``yuv420p10le`` gives uint16 Y (H, W) and
Cb, Cr (H/2, W/2)); :meth:`VideoReader.to_linear` turns them into hdrkit linear light with
:func:`hdrkit.core.signal.yuv_to_linear` (the colour maths lives in :mod:`hdrkit.core.signal`).

``height`` scales the planes (area filter of libswscale, through PyAV ``reformat``)
before any colour work.
"""

from __future__ import annotations

# PyAV, Pillow, matplotlib and the numba kernels are imported in the functions that use them, so
# "import hdrkit" and "hdrkit --help" start without them.
import logging
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterator

import numpy as np

from ..errors import ContainerError, DecodeError, OptionError, reason, require_file
from ..metadata.dovi import DoviConfig, check_dovi, detect_dovi
from .damage import Damage, GapTracker
from .tags import fill_unspecified, has_unspecified, read_tags, resolve_colour
from .threads import usable_cores
from .timeline import presented_frames

__all__ = ["DecodedFrame", "VideoReader"]

log = logging.getLogger("hdrkit.video")


@dataclass
class DecodedFrame:
    """One decoded picture: planes as numpy views (keep the frame alive while using them)."""

    index: int
    pts: int | None
    time: float
    duration: float
    key_frame: bool
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    av_frame: object = field(repr=False, default=None)
    corrupt: bool = False


def _planes(frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The frame's planes as C-contiguous arrays: views of the decoder's buffers, or copies where
    it pads its rows (e.g. 720 pixels wide). The compiled kernels are specialised by array
    layout, and the install compiles them for contiguous planes (the usual widths, 1920 or 3840,
    have no padding); a strided view would compile them again, seconds before the first frame."""
    dt = np.uint16 if frame.format.components[0].bits > 8 else np.uint8
    out = []
    for p in frame.planes[:3]:
        a = np.frombuffer(p, dtype=dt)
        a = a.reshape(p.height, p.line_size // a.itemsize)[:, :p.width]
        out.append(a if a.flags.c_contiguous else np.ascontiguousarray(a))
    return out[0], out[1], out[2]


class VideoReader:
    """Open an HDR video for decoding (PyAV), validate its colour description, iterate frames.

    ``height`` scales the picture (area filter) before any colour work; the width follows
    the display aspect ratio, rounded to an even number. ``keyframes_only`` asks the decoder
    for key frames alone (much faster when only those are wanted; no gap tracking then; frame
    indices then come from the timestamps and the frame rate).
    Use as a context manager.
    """

    def __init__(self, path, *, assume_transfer: str | None = None, assume_primaries: str | None = None,
                 assume_matrix: str | None = None, assume_range: str | None = None, allow_sdr: bool = False,
                 height: int | None = None, probe_dolby_vision: bool = True, keyframes_only: bool = False):
        import av

        self.path = require_file(path, "video file")
        # the container is read by whichever thread iterates frames() (often a prefetch thread)
        # and closed by its owner: one lock around every use, and a closed reader is never read
        self._io = threading.Lock()
        self._closed = False
        try:
            self.container = av.open(str(self.path), metadata_errors="replace")  # tags need not be UTF-8
        except (av.FFmpegError, OSError) as e:
            raise ContainerError(f"not a video FFmpeg can read ({reason(e)})", path=self.path) from e
        self.keyframes_only = keyframes_only
        try:
            self._setup(assume_transfer, assume_primaries, assume_matrix, assume_range, allow_sdr, height,
                        probe_dolby_vision)
        except BaseException:
            self.container.close()
            raise

    def _setup(self, assume_transfer, assume_primaries, assume_matrix, assume_range, allow_sdr, height, probe_dv):
        if not self.container.streams.video:
            raise ContainerError(f"{self.path.name} has no video stream")
        self.stream = self.container.streams.video[0]
        if self.stream.codec_context is None:  # FFmpeg has no decoder for this codec
            raise DecodeError(f"{self.path.name}: FFmpeg has no decoder for this file's video codec")
        self.stream.thread_type = "AUTO"
        # one decoder thread per usable core: FFmpeg's automatic count is cores + 1, and each
        # frame thread holds its own reference pictures (45 MB more at 2160p, no faster)
        self.stream.codec_context.thread_count = usable_cores()
        if self.keyframes_only:
            self.stream.codec_context.skip_frame = "NONKEY"
        cc = self.stream.codec_context
        self.damage = Damage()
        self._presented = presented_frames(self.stream)
        self._first = None
        self._scaled = False
        tags = read_tags(cc)
        pix_fmt = cc.pix_fmt
        if has_unspecified(tags) or not pix_fmt:
            first = self._peek()
            if first is not None:
                fill_unspecified(tags, read_tags(first.av_frame))
                pix_fmt = first.av_frame.format.name
        self.tags = tags
        self.colour = resolve_colour(tags, pix_fmt, assume_transfer=assume_transfer,
                                     assume_primaries=assume_primaries, assume_matrix=assume_matrix,
                                     assume_range=assume_range)
        if not self.colour.is_hdr and not allow_sdr:
            raise OptionError(f"the input is SDR ({self.colour.transfer} transfer): there is nothing to tone map; "
                              "pass --allow-sdr to convert it anyway")
        self.dolby_vision = None
        if probe_dv:
            cfg = detect_dovi(self.path)
            if cfg is None and self._has_dovi_side_data():
                cfg = DoviConfig(profile=0, source="rpu")
            check_dovi(cfg)  # refuses profile 5 / non backward-compatible; warns otherwise
            self.dolby_vision = cfg
        self.src_width, self.src_height = cc.width, cc.height
        self.width, self.height = self.src_width, self.src_height
        if height:
            height = int(height)
            if height < 16 or height > self.src_height:
                raise OptionError(f"--height must be within 16-{self.src_height} (the source height), not {height}")
            sar = self.stream.sample_aspect_ratio or Fraction(1)
            w = self.src_width * float(sar) * height / self.src_height
            self.width, self.height = max(2, int(round(w / 2)) * 2), height + (height & 1)
            self._scaled = (self.width, self.height) != (self.src_width, self.src_height)
        self.rotation = 0
        first = self._peek()
        if first is not None:
            self.rotation = int(round(getattr(first.av_frame, "rotation", 0) or 0)) % 360

    def _has_dovi_side_data(self) -> bool:
        first = self._peek()
        if first is None:
            return False
        names = {str(getattr(sd.type, "name", sd.type)) for sd in first.av_frame.side_data}
        return bool(names & {"DOVI_METADATA", "DOVI_RPU_BUFFER"})

    # ----------------------------------------------------------------- properties
    @property
    def fps(self) -> Fraction:
        r = self.stream.average_rate or self.stream.guessed_rate or self.stream.base_rate
        return Fraction(r) if r else Fraction(0)

    @property
    def time_base(self) -> Fraction:
        return Fraction(self.stream.time_base)

    @property
    def frame_count(self) -> int:
        """Frames the container presents (edit lists honoured, see :func:`presented_frames`; 0 if unknown)."""
        return self._presented

    @property
    def duration(self) -> float:
        """Stream duration in seconds (container duration if the stream has none; 0 if unknown)."""
        if self.stream.duration:
            return float(self.stream.duration * self.stream.time_base)
        if self.container.duration:
            return self.container.duration / 1e6
        return 0.0

    @property
    def start_time(self) -> float:
        st = self.stream.start_time
        return float(st * self.stream.time_base) if st is not None else 0.0

    def close(self) -> None:
        """Close the file. A thread still decoding from this reader (a prefetch whose consumer
        stopped without closing it) finishes the packet it holds first, then stops with a
        :class:`~hdrkit.errors.ContainerError` instead of reading freed memory."""
        with self._io:
            self._closed = True
            self.container.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ContainerError("the reader was closed while its frames were still being read", path=self.path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------- decoding
    def _peek(self) -> DecodedFrame | None:
        if self._first is None:
            self._gen = self._decode()
            try:
                self._first = next(self._gen)
            except StopIteration:
                self._first = False
        return self._first or None

    def _wrap(self, f, index: int) -> DecodedFrame:
        y, u, v = _planes(f)
        tb = f.time_base or self.stream.time_base
        t = float(f.pts * tb) if f.pts is not None else index / float(self.fps or 1)
        dur = float(f.duration * tb) if f.duration else (1 / float(self.fps) if self.fps else 0.0)
        if self.keyframes_only and f.pts is not None and self.fps:  # skipped frames: index from the timestamp
            index = int(round((t - self.start_time) * float(self.fps)))
        return DecodedFrame(index, f.pts, t, dur, bool(f.key_frame), y, u, v, f, bool(getattr(f, "is_corrupt", False)))

    def _packets(self):
        """Demuxed video packets; a demuxer error (damage it cannot read past, such as a chunk
        offset beyond the end of the file) ends the stream and is recorded in :attr:`damage`."""
        import av

        with self._io:
            self._check_open()
            it = self.container.demux(self.stream)
        while True:
            with self._io:
                self._check_open()
                try:
                    packet = next(it)
                except StopIteration:
                    return
                except av.FFmpegError as e:
                    self.damage.errors.append(f"demuxing stopped: {e}")
                    return
            yield packet

    def _decode(self) -> Iterator[DecodedFrame]:
        """Decode in presentation order and account for what is missing (see :meth:`frames`)."""
        import av

        index = 0
        nominal = 1.0 / float(self.fps) if self.fps else 0.0
        track = GapTracker(self.damage, nominal, float(self.stream.time_base or 0))
        for packet in self._packets():
            # outside the edit list: decoded as a reference only, its frame dropped by libavcodec
            discard = packet.is_discard
            if packet.size and packet.pts is not None and not discard:
                track.packet(packet.pts, packet.duration)
            try:
                with self._io:
                    self._check_open()
                    frames = packet.decode()
            except av.FFmpegError as e:
                t = float(packet.pts * packet.time_base) if packet.pts is not None else None
                msg = f"{'t=%.3f s: ' % t if t is not None else ''}{e}"
                if discard:  # a frame nobody sees; a presented frame that needed it goes missing itself
                    log.debug("%s: discarded packet does not decode: %s", self.path.name, msg)
                else:
                    self.damage.errors.append(msg)
                continue
            # no local keeps a picture while it is out with the consumer: each holds one of the
            # decoder's buffers (25 MB at 2160p), and one held there makes the decoder allocate another
            frames.reverse()
            while frames:
                f = frames.pop()
                track.received(f.pts)
                if self._scaled:
                    f = self._scale(f)
                out = [self._wrap(f, index)]
                del f
                df = out[0]
                # key frames alone have jumps by design
                track.frame(index, df.time, df.duration, df.corrupt, jumps=not self.keyframes_only)
                del df
                index += 1
                yield out.pop()
        if not self.keyframes_only:
            track.finish(index, self._presented, self.start_time, self.duration)

    def seek(self, pts: int) -> None:
        """Make :meth:`frames` start again from the key frame at or before ``pts`` (in the video
        stream's time base). Frame indices then count from that key frame; the end-of-stream
        damage checks see only what follows it."""
        with self._io:
            self._check_open()
            self.container.seek(int(pts), stream=self.stream, backward=True, any_frame=False)
        self._first, self._gen = None, None

    def _scale(self, f):
        return f.reformat(width=self.width, height=self.height, interpolation="AREA")

    def frames(self) -> Iterator[DecodedFrame]:
        """Decoded frames in presentation order, scaled to (``width``, ``height``).

        Packets that fail to decode are skipped and recorded in :attr:`damage`: decoder
        errors, packets that were read but gave no frame (their time ranges), jumps of more
        than three nominal frame durations between frames, and a stream that ends before
        the duration its container announces. Variable frame rates are not mistaken for gaps,
        nor packets an edit list discards (they are not presented; see :func:`presented_frames`).
        """
        first = self._peek()
        if first is None:
            return
        if first.y.shape != (self.height, self.width):  # scaling was set up after the peek
            first = self._wrap(self._scale(first.av_frame), 0)
        self._first = False
        yield first
        first = None  # noqa: F841 - the consumer has moved on: its picture is not held here any more
        yield from self._gen

    # -------------------------------------------------------------- colour work
    def to_linear(self, frame: DecodedFrame, out: np.ndarray | None = None) -> np.ndarray:
        """Linear light, float32 (H, W, 3), source primaries, 1.0 = 203 cd/m^2."""
        from ..core.signal import yuv_to_linear  # lazy: numba loads at the first conversion (CLI start-up)

        return yuv_to_linear(frame.y, frame.u, frame.v, self.colour, out=out)
