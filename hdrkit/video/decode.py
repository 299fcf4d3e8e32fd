"""HDR video decoding: colour tags, input policy, and Y'CbCr planes -> linear light.

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

Frames come out as their native planes (``yuv420p10le`` gives uint16 Y (H, W) and
Cb, Cr (H/2, W/2)); :func:`yuv_to_linear` turns them into hdrkit linear light in one
fused, compiled pass, and :func:`yuv_to_linear_reference` is the plain numpy version
built from :mod:`hdrkit.core` that the tests hold it to. Per pixel:

1. chroma upsampling, bilinear at the H.273 ``chroma_sample_loc_type`` 0 positions
   ("left": horizontally co-sited with even luma columns, vertically between rows), the
   default of H.264 / H.265 and what phones and x265 write;
2. code values -> Y', Cb, Cr with the range of :func:`hdrkit.core.ycbcr.range_scale`;
3. Y'CbCr -> R'G'B' with :func:`hdrkit.core.ycbcr.ycbcr_to_rgb_matrix` (BT.2020 NCL,
   BT.709 or BT.601), clamped to the signal range [0, 1] (BT.2100 Table 9 footroom and
   headroom codes carry no picture information);
4. the transfer's decoding function on each channel, from a 16384-entry table sampled
   from :mod:`hdrkit.core.transfer` with linear interpolation: PQ EOTF (ST 2084) / 203;
   HLG inverse OETF (BT.2100 Table 5) followed by the OOTF of a 1000 cd/m^2 display
   (gamma 1.2, ``F_D = 1000 Y_S^0.2 E``) / 203; SDR BT.1886 (``L_W`` = 1 = SDR white)
   or sRGB;
5. output float32 (H, W, 3), linear in the source primaries, 1.0 = 203 cd/m^2
   (BT.2408 reference white).

``height`` scales the planes (area filter of libswscale, through PyAV ``reformat``)
before any colour work.

References
----------
- ITU-T H.273 (07/2021): ColourPrimaries, TransferCharacteristics, MatrixCoefficients,
  VideoFullRangeFlag code points; chroma sample location types (Figure 1 / Table 4).
- ITU-R BT.2100-2 Tables 4, 5, 6, 9; ITU-R BT.2020-2; ITU-R BT.709-6; ITU-R BT.1886.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
from numba import njit, prange

from ..core.kernels import lerp_rows
from ..core.primaries import luminance_weights
from ..core.transfer import (HLG_REFERENCE_PEAK_NITS, SDR_WHITE_NITS, eotf_bt1886, eotf_srgb, eotf_st2084,
                             hlg_system_gamma, oetf_inverse_hlg, ootf_hlg)
from ..core.ycbcr import range_scale, ycbcr_to_rgb, ycbcr_to_rgb_matrix
from ..errors import ContainerError, DecodeError, OptionError

__all__ = [
    "ColourInfo",
    "DecodedFrame",
    "Damage",
    "VideoReader",
    "TRANSFERS",
    "HDR_TRANSFERS",
    "transfer_table",
    "signal_to_linear",
    "yuv_to_linear",
    "yuv_to_linear_reference",
    "upsample_chroma_reference",
    "kernel_args",
    "linear_row",
    "prefetch",
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

#: Transfers a source may have (``--assume-transfer`` choices).
TRANSFERS = ("pq", "hlg", "bt1886", "srgb")
#: Transfers that are HDR (everything else needs ``allow_sdr``).
HDR_TRANSFERS = ("pq", "hlg")
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
        raise OptionError(f"the input does not say its colour {'/'.join(f[9:] for f in missing)}; hdrkit does not "
                          f"guess: pass {' '.join(f + ' ...' for f in missing)}")
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

        self.path = Path(path)
        if not self.path.is_file():
            raise ContainerError(f"no such file: {self.path}")
        try:
            self.container = av.open(str(self.path), metadata_errors="replace")  # tags need not be UTF-8
        except (av.FFmpegError, OSError) as e:
            raise ContainerError(f"cannot read {self.path.name} as a video: {e}") from e
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
        """Frames the container announces (0 if unknown)."""
        return int(self.stream.frames or 0)

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
        sent: dict[int, float] = {}  # pts -> duration (s) of every video packet demuxed
        got: set[int] = set()
        prev_end = None
        for packet in self._packets():
            if packet.size and packet.pts is not None:
                sent[packet.pts] = float(packet.duration or 0) * tb or nominal
            try:
                frames = packet.decode()
            except av.FFmpegError as e:
                t = float(packet.pts * packet.time_base) if packet.pts is not None else None
                self.damage.errors.append(f"{'t=%.3f s: ' % t if t is not None else ''}{e}")
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
                    self.damage.gaps.append((round(prev_end, 6), round(df.time, 6)))
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
        # a stream that ends before the duration its container announces (truncated file)
        dur = self.duration
        if dur and nominal and self.start_time + dur - prev_end > 0.5 * nominal:
            self._add_gap(prev_end, self.start_time + dur)

    def _add_gap(self, t0: float, t1: float) -> None:
        """Record a missing time range, merging it with an adjacent or overlapping one."""
        t0, t1 = round(t0, 6), round(t1, 6)
        gaps = self.damage.gaps
        for k, (a, b) in enumerate(gaps):
            if t0 <= b + 1e-6 and t1 >= a - 1e-6:
                gaps[k] = (min(a, t0), max(b, t1))
                return
        gaps.append((t0, t1))
        gaps.sort()

    def _scale(self, f):
        return f.reformat(width=self.width, height=self.height, interpolation="AREA")

    def frames(self) -> Iterator[DecodedFrame]:
        """Decoded frames in presentation order, scaled to (``width``, ``height``).

        Packets that fail to decode are skipped and recorded in :attr:`damage`: decoder
        errors, packets that were read but gave no frame (their time ranges), jumps of more
        than three nominal frame durations between frames, and a stream that ends before
        the duration its container announces. Variable frame rates are not mistaken for gaps.
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
    def kernel_args(self):
        return kernel_args(self.colour)

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


# -------------------------------------------------------------- colour maths
TABLE_SIZE = 16384


@lru_cache(maxsize=8)
def transfer_table(transfer: str, size: int = TABLE_SIZE) -> np.ndarray:
    """Per-channel decoding of signal ``E' = i / (size - 1)``, float32 (64 KiB: stays in the L1/L2
    cache), read-only.

    PQ: ``eotf_st2084(E') / 203`` (display light, hdrkit units); HLG: ``oetf_inverse_hlg(E')``
    (scene light [0, 1], the OOTF follows per pixel); 'bt1886': ``eotf_bt1886(E')`` and
    'srgb': ``eotf_srgb(E')`` (display light, 1.0 = SDR white = hdrkit 1.0).
    """
    e = np.linspace(0.0, 1.0, size)
    if transfer == "pq":
        t = eotf_st2084(e) / SDR_WHITE_NITS
    elif transfer == "hlg":
        t = oetf_inverse_hlg(e)
    elif transfer == "bt1886":
        t = eotf_bt1886(e)
    elif transfer == "srgb":
        t = eotf_srgb(e)
    else:
        raise OptionError(f"unknown transfer {transfer!r}")
    t = np.ascontiguousarray(t, dtype=np.float32)
    t.setflags(write=False)
    return t


@lru_cache(maxsize=1)
def hlg_gain_table(size: int = 4096) -> np.ndarray:
    """HLG OOTF gain ``alpha Y_S^(gamma - 1) / 203`` at ``Y_S = q^4``, q = i / (size - 1) (BT.2100 Table 5,
    1000 cd/m^2 display, gamma 1.2), hdrkit units; read-only float32."""
    q = np.linspace(0.0, 1.0, size)
    ys = q**4
    g = float(hlg_system_gamma(HLG_REFERENCE_PEAK_NITS)) - 1.0
    t = HLG_REFERENCE_PEAK_NITS / SDR_WHITE_NITS * np.power(ys, g, where=ys > 0, out=np.zeros_like(ys))
    t = t.astype(np.float32)
    t.setflags(write=False)
    return t


def signal_to_linear(signal, transfer: str) -> np.ndarray:
    """Reference: non-linear R'G'B' [0, 1] (..., 3) -> hdrkit linear (1.0 = 203 cd/m^2), float64.

    Straight from :mod:`hdrkit.core.transfer`: PQ ``eotf_st2084 / 203``; HLG
    ``ootf_hlg(oetf_inverse_hlg(E'), 1000) / 203``; SDR ``eotf_bt1886`` / ``eotf_srgb``.
    The signal is clamped to [0, 1] first.
    """
    e = np.clip(np.asarray(signal, dtype=np.float64), 0.0, 1.0)
    if transfer == "pq":
        return eotf_st2084(e) / SDR_WHITE_NITS
    if transfer == "hlg":
        return ootf_hlg(oetf_inverse_hlg(e), HLG_REFERENCE_PEAK_NITS) / SDR_WHITE_NITS
    if transfer == "bt1886":
        return eotf_bt1886(e)
    if transfer == "srgb":
        return eotf_srgb(e)
    raise OptionError(f"unknown transfer {transfer!r}")


def kernel_args(colour: ColourInfo) -> tuple:
    """Constants the compiled kernels take: (chroma shift x, y), range, matrix, tables, HLG flag, Y_S weights."""
    yo, ys, co, cs = range_scale(colour.bit_depth, colour.full_range)
    m = ycbcr_to_rgb_matrix(colour.matrix)
    w = luminance_weights("bt2020")  # the HLG OOTF's Y_S is defined on BT.2100 RGB
    f = np.float32
    return (colour.chroma_shift[0], colour.chroma_shift[1], f(yo), f(1.0 / ys), f(co), f(1.0 / cs),
            f(m[0, 2]), f(m[1, 1]), f(m[1, 2]), f(m[2, 1]),
            transfer_table(colour.transfer), colour.transfer == "hlg", f(w[0]), f(w[1]), f(w[2]), hlg_gain_table())


# Row kernels. Each fills a row buffer in a loop simple enough for LLVM to vectorise; the
# frame kernels call them row by row (rows in parallel).
@njit(cache=True, error_model="numpy", boundscheck=False)
def chroma_row(U, V, i, shx, shy, W, cuv, cvv, cu, cv):
    """Chroma of luma row ``i`` at every luma column, bilinear at H.273 location type 0.

    Vertically, chroma row k of 4:2:0 sits at luma y = 2k + 0.5: luma row 2k takes 0.75 of
    row k and 0.25 of row k - 1, row 2k + 1 0.75 of row k and 0.25 of row k + 1 (edges
    repeat). Horizontally, chroma column x sits on luma column 2x; odd columns take the mean
    of their two neighbours. ``cuv``, ``cvv``: scratch of a chroma row + 1; ``cu``, ``cv``: out (W).
    """
    h, w = U.shape
    ii = np.int64(i)  # a prange index may be unsigned
    if shy == 0:
        k = ii
        k2 = ii
    else:
        k = min(ii >> 1, h - 1)
        k2 = min(max((ii >> 1) - 1 if (ii & 1) == 0 else (ii >> 1) + 1, 0), h - 1)
    for x in range(w):
        cuv[x] = np.float32(0.75) * U[k, x] + np.float32(0.25) * U[k2, x]
        cvv[x] = np.float32(0.75) * V[k, x] + np.float32(0.25) * V[k2, x]
    cuv[w] = cuv[w - 1]
    cvv[w] = cvv[w - 1]
    if shx == 0:
        for j in range(W):
            cu[j] = cuv[j]
            cv[j] = cvv[j]
        return
    for x in range(W >> 1):
        cu[2 * x] = cuv[x]
        cu[2 * x + 1] = np.float32(0.5) * (cuv[x] + cuv[x + 1])
        cv[2 * x] = cvv[x]
        cv[2 * x + 1] = np.float32(0.5) * (cvv[x] + cvv[x + 1])
    if W & 1:
        cu[W - 1] = cuv[(W - 1) >> 1]
        cv[W - 1] = cvv[(W - 1) >> 1]


@njit(cache=True, error_model="numpy", boundscheck=False)
def chroma_row_site(U, V, i, shx, shy, W, cu, cv):
    """Chroma of luma row ``i`` at every luma column, each pixel taking the sample of its own
    site (no interpolation across sites): luma (i, j) reads chroma (i >> shy, j >> shx).
    ``cu``, ``cv``: out (W). The light-level statistics use this (:mod:`hdrkit.metadata.cll`)."""
    h = U.shape[0]
    k = min(np.int64(i) >> shy, h - 1)
    for j in range(W):
        cu[j] = np.float32(U[k, j >> shx])
        cv[j] = np.float32(V[k, j >> shx])


@njit(cache=True, fastmath=True, error_model="numpy", boundscheck=False)
def signal_row(Y, i, W, cu, cv, yo, yk, co, ck, m02, m11, m12, m21, rr, gg, bb):
    """Code values of row ``i`` -> R'G'B' signal clamped to [0, 1] (float32 rows)."""
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for j in range(W):
        yy = (np.float32(Y[i, j]) - yo) * yk
        b_ = (cu[j] - co) * ck
        r_ = (cv[j] - co) * ck
        rr[j] = min(max(yy + m02 * r_, zero), one)
        gg[j] = min(max(yy + m11 * b_ + m12 * r_, zero), one)
        bb[j] = min(max(yy + m21 * b_, zero), one)


@njit(cache=True, fastmath=True, error_model="numpy", boundscheck=False)
def signal_row_strided(Y, i, W, g, cu, cv, yo, yk, co, ck, m02, m11, m12, m21, rr, gg, bb):
    """:func:`signal_row` at columns 0, g, 2g, ... only, packed into ``rr[j // g]`` ..."""
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for k in range((W + g - 1) // g):
        j = k * g
        yy = (np.float32(Y[i, j]) - yo) * yk
        b_ = (cu[j] - co) * ck
        r_ = (cv[j] - co) * ck
        rr[k] = min(max(yy + m02 * r_, zero), one)
        gg[k] = min(max(yy + m11 * b_ + m12 * r_, zero), one)
        bb[k] = min(max(yy + m21 * b_, zero), one)


@njit(cache=True, inline="always", error_model="numpy", boundscheck=False)
def _table(t, x):
    """Linear interpolation in table ``t`` sampled uniformly over [0, 1]; ``x`` in [0, 1]."""
    n1 = t.shape[0] - 1
    u = x * n1
    k = np.uint32(min(np.int64(u), n1 - 1))  # unsigned: no negative-index wrap-around code
    f = u - k
    return t[k] * (1.0 - f) + t[k + np.uint32(1)] * f


@njit(cache=True, error_model="numpy", boundscheck=False)
def linear_row(rr, gg, bb, n, lut, hlg, wr, wg, wb, gtab, s):
    """Signal -> hdrkit linear for the first ``n`` entries of the rows ``rr``, ``gg``, ``bb``, in
    place (float32): the transfer table per channel; for HLG then the OOTF ``alpha Y_S^(gamma-1) E``.

    ``gtab`` holds ``alpha * Y_S^(gamma-1) / 203`` sampled at ``Y_S = q^4`` (q uniform in
    [0, 1]), a spacing fine where the power is steep; ``s`` is scratch (>= n). Table positions
    and the OOTF are branch-free loops LLVM vectorises; the table reads are
    :func:`hdrkit.core.kernels.lerp_rows`. Every caller runs this one compiled function, so
    the same signal gives the same light on every path (frame, sampled grid, measurement).
    """
    zero = np.float32(0.0)
    one = np.float32(1.0)
    n1 = np.float32(lut.shape[0] - 1)
    for q in range(n):
        rr[q] = min(max(rr[q], zero), one) * n1
        gg[q] = min(max(gg[q], zero), one) * n1
        bb[q] = min(max(bb[q], zero), one) * n1
    lerp_rows(rr[:n], lut)
    lerp_rows(gg[:n], lut)
    lerp_rows(bb[:n], lut)
    if hlg:
        g1 = np.float32(gtab.shape[0] - 1)
        for q in range(n):
            s[q] = np.sqrt(np.sqrt(min(max(wr * rr[q] + wg * gg[q] + wb * bb[q], zero), one))) * g1
        lerp_rows(s[:n], gtab)
        for q in range(n):
            rr[q] *= s[q]
            gg[q] *= s[q]
            bb[q] *= s[q]


@njit(cache=True, parallel=True, nogil=True, error_model="numpy", boundscheck=False)
def _yuv_to_linear(Y, U, V, shx, shy, yo, yk, co, ck, m02, m11, m12, m21, lut, hlg, wr, wg, wb, gtab, out):
    H, W = Y.shape
    cw = U.shape[1]
    for i in prange(H):
        cuv = np.empty(cw + 1, np.float32)
        cvv = np.empty(cw + 1, np.float32)
        cu = np.empty(W, np.float32)
        cv = np.empty(W, np.float32)
        rr = np.empty(W, np.float32)
        gg = np.empty(W, np.float32)
        bb = np.empty(W, np.float32)
        chroma_row(U, V, i, shx, shy, W, cuv, cvv, cu, cv)
        signal_row(Y, i, W, cu, cv, yo, yk, co, ck, m02, m11, m12, m21, rr, gg, bb)
        linear_row(rr, gg, bb, W, lut, hlg, wr, wg, wb, gtab, cu)  # cu is free again: scratch
        orow = out[i]
        for j in range(W):
            orow[j, 0] = rr[j]
            orow[j, 1] = gg[j]
            orow[j, 2] = bb[j]


def _check_planes(y, u, v, colour: ColourInfo):
    H, W = y.shape
    shx, shy = colour.chroma_shift
    want = (-(-H // (1 << shy)), -(-W // (1 << shx)))
    if u.shape != want or v.shape != want:
        raise DecodeError(f"chroma planes {u.shape}/{v.shape} do not match luma {y.shape} for {colour.pix_fmt}")


def yuv_to_linear(y, u, v, colour: ColourInfo, out: np.ndarray | None = None) -> np.ndarray:
    """Compiled: code-value planes -> linear light float32 (H, W, 3), source primaries, 1.0 = 203 cd/m^2."""
    _check_planes(y, u, v, colour)
    if out is None:
        out = np.empty((*y.shape, 3), np.float32)
    _yuv_to_linear(y, u, v, *kernel_args(colour), out)
    return out


def upsample_chroma_reference(c: np.ndarray, shape: tuple[int, int], shift: tuple[int, int],
                              chroma: str = "bilinear") -> np.ndarray:
    """Reference chroma upsampling to luma ``shape`` (float64): ``"bilinear"`` at H.273 location
    type 0, or ``"site"`` (each luma pixel takes the sample of its own site, :func:`chroma_row_site`)."""
    c = np.asarray(c, dtype=np.float64)
    H, W = shape
    shx, shy = shift
    h, w = c.shape
    if chroma == "site":
        return c[np.minimum(np.arange(H) >> shy, h - 1)][:, np.arange(W) >> shx]
    fx = np.arange(W) / (1 << shx)
    fy = (np.arange(H) + 0.5) / (1 << shy) - 0.5 if shy else np.arange(H, dtype=np.float64)
    x0 = np.floor(fx).astype(int)
    y0 = np.floor(fy).astype(int)
    tx = (fx - x0)[None, :]
    ty = (fy - y0)[:, None]
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    x0, y0 = np.clip(x0, 0, w - 1), np.clip(y0, 0, h - 1)
    top = c[y0][:, x0] * (1 - tx) + c[y0][:, x1] * tx
    bot = c[y1][:, x0] * (1 - tx) + c[y1][:, x1] * tx
    return top * (1 - ty) + bot * ty


def yuv_to_linear_reference(y, u, v, colour: ColourInfo, chroma: str = "bilinear") -> np.ndarray:
    """Plain numpy reference of :func:`yuv_to_linear` from :mod:`hdrkit.core` (float64, exact transfers);
    ``chroma``: the upsampling of :func:`upsample_chroma_reference`."""
    shape = np.asarray(y).shape
    ub = upsample_chroma_reference(u, shape, colour.chroma_shift, chroma)
    vb = upsample_chroma_reference(v, shape, colour.chroma_shift, chroma)
    rgb = ycbcr_to_rgb(np.asarray(y, np.float64), ub, vb, colour.matrix, colour.bit_depth, colour.full_range)
    return signal_to_linear(rgb, colour.transfer)
