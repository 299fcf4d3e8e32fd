"""HDR video decoding: colour tags, input policy, the frame reader.

:class:`VideoReader` opens a file with PyAV (frame threads, ``thread_type="AUTO"``), reads
the colour description (H.273 code points on the stream, else on the first frame) and
refuses to guess: a missing transfer, primaries, matrix or range tag is an
:class:`~hdrkit.errors.OptionError` naming the ``--assume-*`` option that supplies it; SDR
input is refused unless ``allow_sdr`` (it is then passed through the same path with a
peak of 1.0, which every tone curve leaves unchanged); Dolby Vision profile 5 is refused
(its base layer is IPTPQc2, not Y'CbCr) and 8.x is decoded as its HDR10 / HLG / SDR base
layer with a warning (policy and detection: :mod:`hdrkit.metadata.dovi`). Decoding survives
damaged packets: :meth:`VideoReader.frames` yields what decodes and records every gap in
:attr:`VideoReader.damage`.

Completeness is judged on the timeline the container presents. An MP4 / MOV edit list
(phone captures, stream-copied cuts) can start the presentation after the first packets:
FFmpeg's demuxer keeps those packets, since later frames reference them, flags them
``AV_PKT_FLAG_DISCARD`` (PyAV ``Packet.is_discard``), and libavcodec drops the frames
decoded from them. Such packets are not expected to give a frame, and the frame count is
the container's sample count less its discarded samples (:func:`presented_frames`), the
count ``ffmpeg -i IN -map 0:v -f null -`` decodes.

Frames come out as their native planes (``yuv420p10le`` gives uint16 Y (H, W) and
Cb, Cr (H/2, W/2)); :meth:`VideoReader.to_linear` turns them into hdrkit linear light with
:func:`hdrkit.core.signal.yuv_to_linear` (the colour maths lives in :mod:`hdrkit.core.signal`).

``height`` scales the planes (area filter of libswscale, through PyAV ``reformat``)
before any colour work.

References
----------
- ITU-T H.273 (07/2021): ColourPrimaries, TransferCharacteristics, MatrixCoefficients,
  VideoFullRangeFlag code points.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Iterable, Iterator

import numpy as np

from ..core.signal import HDR_TRANSFERS, TRANSFERS, yuv_to_linear
from ..errors import ContainerError, DecodeError, OptionError, reason, require_file

__all__ = [
    "ColourInfo",
    "DecodedFrame",
    "Damage",
    "VideoReader",
    "TRANSFERS",
    "HDR_TRANSFERS",
    "prefetch",
    "presented_frames",
    "queue_depth",
    "usable_cores",
]

log = logging.getLogger("hdrkit.video")

#: H.273 TransferCharacteristics -> hdrkit transfer name. BT.709, BT.601 (6), BT.2020 10/12
#: bit (14, 15) share one curve: SDR, displayed with the BT.1886 EOTF.
_TRC = {16: "pq", 18: "hlg", 1: "bt1886", 6: "bt1886", 14: "bt1886", 15: "bt1886", 13: "srgb"}
#: H.273 ColourPrimaries -> :data:`hdrkit.core.primaries.PRIMARIES` key (12 = SMPTE EG 432 P3-D65).
_PRIM = {1: "bt709", 9: "bt2020", 12: "p3"}
#: H.273 MatrixCoefficients -> :func:`hdrkit.core.ycbcr.ycbcr_weights` key.
_MATRIX = {9: "bt2020", 1: "bt709", 5: "bt601", 6: "bt601"}
_UNSPECIFIED = 2  # H.273 "unspecified" for primaries, transfer and matrix
_TRC_CODE = {"pq": 16, "hlg": 18, "bt1886": 1, "srgb": 13}
_PRIM_CODE = {"bt709": 1, "bt2020": 9, "p3": 12}
_MATRIX_CODE = {"bt2020": 9, "bt709": 1, "bt601": 6}

# TRANSFERS (the source transfers, ``--assume-transfer`` choices) and HDR_TRANSFERS (everything
# else needs ``allow_sdr``) come from the core registry, :mod:`hdrkit.core.signal`.
_RANGES = {"limited": False, "tv": False, "mpeg": False, "full": True, "pc": True, "jpeg": True}
_PIXFMT = re.compile(r"^yuvj?(420|422|444)p(?:(9|10|12|14|16)le)?$")


# ------------------------------------------------------------------ tags and policy
@dataclass(frozen=True)
class ColourInfo:
    """The colour description hdrkit decodes with (after tags and ``--assume-*``).

    ``transfer``: 'pq' | 'hlg' | 'bt1886' | 'srgb'; ``primaries``: 'bt2020' | 'p3' | 'bt709';
    ``matrix``: 'bt2020' (NCL) | 'bt709' | 'bt601'; ``full_range``; ``bit_depth``;
    ``chroma_shift`` (log2 subsampling x, y); ``assumed``: names of fields that came from
    ``--assume-*`` instead of a tag.
    """

    transfer: str
    primaries: str
    matrix: str
    full_range: bool
    bit_depth: int
    chroma_shift: tuple[int, int]
    pix_fmt: str
    assumed: tuple[str, ...] = ()

    @property
    def is_hdr(self) -> bool:
        return self.transfer in HDR_TRANSFERS

    def h273(self) -> dict[str, int]:
        """The description as H.273 code points (primaries, transfer, matrix, range: 1 tv / 2 pc)."""
        return {"color_primaries": _PRIM_CODE[self.primaries], "color_trc": _TRC_CODE[self.transfer],
                "colorspace": _MATRIX_CODE[self.matrix], "color_range": 2 if self.full_range else 1}

    def ffmpeg_names(self) -> dict[str, str]:
        """The description as FFmpeg option values (``setparams`` / ``-color_*``)."""
        trc = {"pq": "smpte2084", "hlg": "arib-std-b67", "bt1886": "bt709", "srgb": "iec61966-2-1"}[self.transfer]
        prim = {"bt2020": "bt2020", "p3": "smpte432", "bt709": "bt709"}[self.primaries]
        mat = {"bt2020": "bt2020nc", "bt709": "bt709", "bt601": "smpte170m"}[self.matrix]
        return {"color_primaries": prim, "color_trc": trc, "colorspace": mat,
                "range": "pc" if self.full_range else "tv"}


def _enum_int(v) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return _UNSPECIFIED


def _untagged_message(missing: list[str], trc: str | None, bits: int, full: bool | None) -> str:
    """Name the missing tags and suggest values: 8-bit untagged video is almost always SDR
    BT.709 (ITU-R BT.1886 display); 10-bit or more HDR in BT.2020 (PQ or HLG, which only the
    source can tell)."""
    sdr = trc in ("bt1886", "srgb") or (trc is None and bits <= 8)
    guess = {"--assume-transfer": "bt1886" if sdr else "pq|hlg", "--assume-primaries": "bt709" if sdr else "bt2020",
             "--assume-matrix": "bt709" if sdr else "bt2020", "--assume-range": "full" if full else "limited"}
    flags = " ".join(f"{f} {guess[f]}" for f in missing) + (" --allow-sdr" if sdr else "")
    kind = "most likely SDR BT.709" if sdr else "most likely HDR BT.2020; the transfer only the source can tell"
    return (f"the input does not say its colour {'/'.join(f[9:] for f in missing)}; hdrkit does not guess: check "
            f"with the source and pass e.g. {flags} ({bits}-bit, {kind})")


def resolve_colour(tags: dict[str, int], pix_fmt: str, *, assume_transfer=None, assume_primaries=None,
                   assume_matrix=None, assume_range=None) -> ColourInfo:
    """Tags (H.273 ints: color_primaries, color_trc, colorspace, color_range) -> :class:`ColourInfo`.

    A tag wins over an ``assume_*`` value; a missing tag without one raises OptionError.
    """
    m = _PIXFMT.match(pix_fmt or "")
    if not m:
        raise DecodeError(f"unsupported pixel format {pix_fmt!r}: hdrkit reads planar Y'CbCr 4:2:0 / 4:2:2 / 4:4:4")
    sub = {"420": (1, 1), "422": (1, 0), "444": (0, 0)}[m.group(1)]
    bits = int(m.group(2) or 8)
    assumed = []
    missing = []

    def pick(code, table, assume, what, flag, choices):
        if code in table:
            if assume and assume != table[code]:
                log.info("%s is tagged %s; ignoring %s %s", what, table[code], flag, assume)
            return table[code]
        if code not in (_UNSPECIFIED, 0) or (what == "matrix" and code == 0):
            raise DecodeError(f"unsupported {what} (H.273 code {code}); hdrkit handles {', '.join(choices)}")
        if assume:
            if assume not in choices:
                raise OptionError(f"{flag} must be one of {', '.join(choices)}, not {assume!r}")
            assumed.append(what)
            return assume
        missing.append(flag)
        return None

    trc = pick(tags.get("color_trc", 2), _TRC, assume_transfer, "transfer", "--assume-transfer", TRANSFERS)
    prim = pick(tags.get("color_primaries", 2), _PRIM, assume_primaries, "primaries", "--assume-primaries",
                ("bt2020", "p3", "bt709"))
    mat = pick(tags.get("colorspace", 2), _MATRIX, assume_matrix, "matrix", "--assume-matrix",
               ("bt2020", "bt709", "bt601"))
    rng = tags.get("color_range", 0)
    full = None
    if pix_fmt.startswith("yuvj"):
        full = True
    elif rng in (1, 2):
        full = rng == 2
    elif assume_range:
        if assume_range.lower() not in _RANGES:
            raise OptionError(f"--assume-range must be limited or full, not {assume_range!r}")
        full = _RANGES[assume_range.lower()]
        assumed.append("range")
    else:
        missing.append("--assume-range")
    if missing:
        raise OptionError(_untagged_message(missing, trc, bits, full))
    return ColourInfo(trc, prim, mat, bool(full), bits, sub, pix_fmt, tuple(assumed))


# ------------------------------------------------------------------------- frames
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


@dataclass
class Damage:
    """What did not decode: decoder errors and missing time ranges (seconds)."""

    errors: list[str] = field(default_factory=list)
    gaps: list[tuple[float, float]] = field(default_factory=list)
    corrupt_frames: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.errors or self.gaps or self.corrupt_frames)

    def summary(self) -> str:
        parts = []
        if self.gaps:
            parts.append("missing " + ", ".join(f"{a:.3f}-{b:.3f} s" for a, b in self.gaps))
        if self.errors:
            parts.append(f"{len(self.errors)} decoder error(s)")
        if self.corrupt_frames:
            parts.append(f"{len(self.corrupt_frames)} frame(s) flagged corrupt")
        return "; ".join(parts) or "none"

    def to_dict(self) -> dict:
        return {"errors": list(self.errors), "gaps": [list(g) for g in self.gaps],
                "corrupt_frames": list(self.corrupt_frames)}


def presented_frames(stream) -> int:
    """Frames a video stream presents: the samples its container lists, less those an edit list
    discards; 0 if the container does not say.

    FFmpeg's MP4 / MOV demuxer indexes every sample and flags those outside the edit list
    (``AVINDEX_DISCARD_FRAME``; PyAV ``IndexEntry.is_discard``): their packets are decoded as
    references only and give no frame. Containers without a full index (Matroska cues, a
    fragmented MP4) give the stream's announced frame count.

    Parameters
    ----------
    stream : av.video.stream.VideoStream
        An opened input stream (nothing is read from the file).

    Returns
    -------
    int
        Frame count, or 0 when unknown.

    References
    ----------
    - ISO/IEC 14496-12 (ISOBMFF) 8.6.6, Edit List Box.
    - FFmpeg ``libavformat/mov.c`` ``mov_fix_index`` (discarded samples) and
      ``libavcodec/decode.c`` (frames of ``AV_PKT_FLAG_DISCARD`` packets are dropped).
    """
    n = int(stream.frames or 0)
    try:
        entries = stream.index_entries
        if n and len(entries) == n:
            return sum(1 for e in entries if not e.is_discard)
    except AttributeError:  # pragma: no cover - PyAV without index entries
        pass
    return n


def _planes(frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dt = np.uint16 if frame.format.components[0].bits > 8 else np.uint8
    out = []
    for p in frame.planes[:3]:
        a = np.frombuffer(p, dtype=dt)
        a = a.reshape(p.height, p.line_size // a.itemsize)[:, :p.width]
        out.append(a)
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
        tags = {k: _enum_int(getattr(cc, k)) for k in ("color_primaries", "color_trc", "colorspace", "color_range")}
        pix_fmt = cc.pix_fmt
        if any(tags[k] in (0, _UNSPECIFIED) for k in ("color_primaries", "color_trc", "colorspace")) \
                or tags["color_range"] == 0 or not pix_fmt:
            first = self._peek()
            if first is not None:
                f = first.av_frame
                for k in tags:
                    v = _enum_int(getattr(f, k, None))
                    if tags[k] in (0, _UNSPECIFIED) and v not in (0, _UNSPECIFIED):
                        tags[k] = v
                pix_fmt = f.format.name
        self.tags = tags
        self.colour = resolve_colour(tags, pix_fmt, assume_transfer=assume_transfer,
                                     assume_primaries=assume_primaries, assume_matrix=assume_matrix,
                                     assume_range=assume_range)
        if not self.colour.is_hdr and not allow_sdr:
            raise OptionError(f"the input is SDR ({self.colour.transfer} transfer): there is nothing to tone map; "
                              "pass --allow-sdr to convert it anyway")
        self.dolby_vision = None
        if probe_dv:
            from ..metadata.dovi import check_dovi, detect_dovi

            cfg = detect_dovi(self.path)
            if cfg is None and self._has_dovi_side_data():
                from ..metadata.dovi import DoviConfig

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
        self.container.close()

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

        it = self.container.demux(self.stream)
        while True:
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
        tb = float(self.stream.time_base or 0)
        sent: dict[int, float] = {}  # pts -> duration (s) of every presented video packet demuxed
        got: set[int] = set()
        prev_end = None
        for packet in self._packets():
            # outside the edit list: decoded as a reference only, its frame dropped by libavcodec
            discard = packet.is_discard
            if packet.size and packet.pts is not None and not discard:
                sent[packet.pts] = float(packet.duration or 0) * tb or nominal
            try:
                frames = packet.decode()
            except av.FFmpegError as e:
                t = float(packet.pts * packet.time_base) if packet.pts is not None else None
                msg = f"{'t=%.3f s: ' % t if t is not None else ''}{e}"
                if discard:  # a frame nobody sees; a presented frame that needed it goes missing itself
                    log.debug("%s: discarded packet does not decode: %s", self.path.name, msg)
                else:
                    self.damage.errors.append(msg)
                continue
            for f in frames:
                if f.pts is not None:
                    got.add(f.pts)
                if self._scaled:
                    f = self._scale(f)
                df = self._wrap(f, index)
                # a jump of more than 3 nominal frame durations with no packet to explain it
                if (not self.keyframes_only and prev_end is not None and nominal
                        and df.time - prev_end > 3 * nominal):
                    self._add_gap(prev_end, df.time)
                if df.corrupt:
                    self.damage.corrupt_frames.append(index)
                prev_end = df.time + df.duration
                index += 1
                yield df
        if self.keyframes_only:
            return
        if prev_end is None:
            self.damage.errors.append("no frame decoded")
            return
        # packets that were read but gave no frame (decoder dropped or refused them)
        lost = sorted(p for p in sent if p not in got)
        for p in lost:
            t0 = p * tb
            self._add_gap(t0, t0 + sent[p])
        # a stream that ends before the duration its container announces (truncated file); an edit
        # list may end up to a frame after the last presented frame (it starts inside a dropped
        # one), so a count that matches the container's presented frames is whole
        dur = self.duration
        whole = self._presented and index >= self._presented
        if dur and nominal and not whole and self.start_time + dur - prev_end > 0.5 * nominal:
            self._add_gap(prev_end, self.start_time + dur)

    def _add_gap(self, t0: float, t1: float) -> None:
        """Record a missing time range, merged with every adjacent or overlapping one (sorted)."""
        t0, t1 = round(t0, 6), round(t1, 6)
        keep = []
        for a, b in self.damage.gaps:
            if t0 <= b + 1e-6 and t1 >= a - 1e-6:
                t0, t1 = min(a, t0), max(b, t1)
            else:
                keep.append((a, b))
        self.damage.gaps[:] = sorted(keep + [(t0, t1)])

    def seek(self, pts: int) -> None:
        """Make :meth:`frames` start again from the key frame at or before ``pts`` (in the video
        stream's time base). Frame indices then count from that key frame; the end-of-stream
        damage checks see only what follows it."""
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
        yield from self._gen

    # -------------------------------------------------------------- colour work
    def to_linear(self, frame: DecodedFrame, out: np.ndarray | None = None) -> np.ndarray:
        """Linear light, float32 (H, W, 3), source primaries, 1.0 = 203 cd/m^2."""
        return yuv_to_linear(frame.y, frame.u, frame.v, self.colour, out=out)


# ------------------------------------------------------------------ threading
_END = object()


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def queue_depth(frame_bytes: int, budget: int = 64 << 20, lo: int = 2, hi: int = 4) -> int:
    """How many decoded pictures of ``frame_bytes`` a prefetch queue holds: ``hi`` for small
    frames, fewer for large ones (a 2160p 10-bit picture is 25 MB), never under ``lo``."""
    return int(min(hi, max(lo, budget // max(int(frame_bytes), 1))))


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def prefetch(source: Callable[[], Iterable], depth: int = 4) -> Iterator:
    """Iterate ``source()`` in a background thread, ``depth`` items ahead of the consumer.

    Exceptions raised by the source are re-raised in the consumer; when the consumer stops
    early (break, exception, garbage collection) the thread is told to stop. Decoding
    (PyAV), the compiled kernels (``nogil``) and encoding release the GIL, so chained
    prefetches overlap them on different cores.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run():
        try:
            for item in source():
                if not put(item):
                    return
            put(_END)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, re-raised there
            put(_Failure(e))

    t = threading.Thread(target=run, daemon=True, name="hdrkit-prefetch")
    t.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        t.join(timeout=5)
