"""Stills from HDR videos: every key frame, or one frame every N seconds, as SDR JPEGs.

Each chosen frame is decoded to linear light (:meth:`hdrkit.video.reader.VideoReader.to_linear`),
turned upright when the stream carries a display-matrix rotation, and handed to
:func:`hdrkit.still.export.export_array`: exactly the still export rules (peak estimate,
tone and gamut map, dither, sRGB ICC, EXIF with thumbnail, hdrkit XMP), so the same linear
pixels give the same bytes whether they come from a photo or a video. The XMP also records
where the frame came from: ``hdrkit:source`` (file name), ``hdrkit:source_time`` (seconds),
``hdrkit:source_frame`` (frame index; for key frames, which are decoded alone, computed from
the timestamp and the frame rate)
and ``hdrkit:source_pts`` (presentation timestamp in the stream's time base).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from ..core.pipeline import RenderParams
from ..errors import OptionError
from ..io.progress import track
from ..still.export import export_array
from .reader import DecodedFrame, VideoReader

__all__ = ["Keyframe", "export_keyframes", "export_frame", "frame_xmp", "upright"]

DEFAULT_PATTERN = "{stem}_{time_ms:08d}ms.jpg"


@dataclass
class Keyframe:
    """One exported frame."""

    path: Path
    index: int
    time: float
    pts: int | None
    key_frame: bool
    src_peak: float
    width: int
    height: int

    def to_dict(self) -> dict:
        return {"path": str(self.path), "index": self.index, "time": self.time, "pts": self.pts,
                "key_frame": self.key_frame, "src_peak": self.src_peak, "width": self.width, "height": self.height}


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """Apply a display-matrix rotation (degrees counter-clockwise, multiples of 90) to an image."""
    k = (int(rotation) // 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb


def frame_xmp(src: Path, f: DecodedFrame) -> dict:
    """The XMP fields recording where a frame came from."""
    return {"source": src.name, "source_time": f"{f.time:.6f}", "source_frame": f.index,
            "source_pts": "" if f.pts is None else f.pts}


def _exporter(gainmap):
    """:func:`hdrkit.still.export.export_array`, or its Ultra HDR form with ``gainmap`` options."""
    if gainmap is None:
        return export_array
    # lazy: the gain-map encoder's compiled pass loads numba, which `hdrkit keyframes --help` must not
    from ..still.ultrahdr import export_ultrahdr_array

    return partial(export_ultrahdr_array, gainmap=gainmap)  # same arguments, HDR kept


def _export_one(export, r: VideoReader, f: DecodedFrame, src: Path, dst: Path, **kw) -> Keyframe:
    """One decoded frame, upright, through the still export rules."""
    lin = upright(r.to_linear(f), r.rotation)
    res = export(lin, r.colour.primaries, dst, xmp_extra=frame_xmp(src, f), **kw)
    return Keyframe(dst, f.index, f.time, f.pts, f.key_frame, res.src_peak, res.width, res.height)


def export_keyframes(src, out_dir, *, every: float | None = None, params: RenderParams | None = None,
                     quality: int = 90, subsampling: str = "auto", height: int | None = None,
                     pattern: str = DEFAULT_PATTERN, assume_transfer: str | None = None,
                     assume_primaries: str | None = None, assume_matrix: str | None = None,
                     assume_range: str | None = None, allow_sdr: bool = False, progress: bool = False,
                     limit: int | None = None, gainmap=None) -> tuple[list[Keyframe], object]:
    """Export key frames (``every=None``) or the first frame at or after each multiple of
    ``every`` seconds into ``out_dir``; returns (exports, decode damage).

    ``pattern`` names the files: fields ``stem``, ``index``, ``time_ms``, ``pts``.
    ``gainmap`` (:class:`hdrkit.still.ultrahdr.GainMapOptions`): write Ultra HDR JPEGs whose
    base image is the SDR keyframe and whose gain map restores the frame's linear HDR.
    """
    export = _exporter(gainmap)
    src, out_dir = Path(src), Path(out_dir)
    if every is not None and not (every > 0 and np.isfinite(every)):
        raise OptionError(f"--every must be a positive number of seconds, not {every}")
    params = params or RenderParams()
    done: list[Keyframe] = []
    with VideoReader(src, assume_transfer=assume_transfer, assume_primaries=assume_primaries,
                     assume_matrix=assume_matrix, assume_range=assume_range, allow_sdr=allow_sdr, height=height,
                     keyframes_only=every is None) as r:
        frames = track(r.frames(), progress, total=r.frame_count or None, unit="frame", desc="keyframes", leave=False)
        next_t = r.start_time
        for f in frames:
            if every is None:
                if not f.key_frame:
                    continue
            else:
                if f.time + 1e-6 < next_t:
                    continue
                while next_t <= f.time + 1e-6:
                    next_t += every
            name = pattern.format(stem=src.stem, index=f.index, time_ms=int(round(f.time * 1000)),
                                  pts=f.pts if f.pts is not None else f.index)
            dst = out_dir / name
            if dst.resolve() == src.resolve():
                raise OptionError(f"keyframe name {name!r} would overwrite the input")
            out_dir.mkdir(parents=True, exist_ok=True)  # only once there is a frame to write
            done.append(_export_one(export, r, f, src, dst, params=params, quality=quality, subsampling=subsampling))
            if limit is not None and len(done) >= limit:
                break
        damage = r.damage
    return done, damage


def export_frame(src, dst, time: float, *, params: RenderParams | None = None, quality: int = 90,
                 subsampling: str = "auto", height: int | None = None, assume_transfer: str | None = None,
                 assume_primaries: str | None = None, assume_matrix: str | None = None,
                 assume_range: str | None = None, allow_sdr: bool = False, gainmap=None) -> Keyframe:
    """Export the frame displayed at ``time`` seconds (the last one presented at or before it) to ``dst``.

    The same export as :func:`export_keyframes` (still rules, XMP naming the source frame;
    ``gainmap``: Ultra HDR). Frames are decoded from the start of the stream up to ``time``.

    Raises
    ------
    OptionError
        ``time`` is negative, not a number, or past the end of the video.
    """
    src, dst = Path(src), Path(dst)
    if not (np.isfinite(time) and time >= 0):
        raise OptionError(f"--time must be a number of seconds >= 0, not {time}")
    with VideoReader(src, assume_transfer=assume_transfer, assume_primaries=assume_primaries,
                     assume_matrix=assume_matrix, assume_range=assume_range, allow_sdr=allow_sdr, height=height) as r:
        t = r.start_time + time
        shown = None
        for f in r.frames():
            if f.time > t + 1e-6:
                break
            shown = f
        else:
            if shown is None or time > r.duration + 1e-6:
                raise OptionError(f"--time {time:g} s is past the end of {src.name} ({r.duration:.3f} s)")
        if shown is None:
            raise OptionError(f"no frame of {src.name} is displayed at {time:g} s")
        return _export_one(_exporter(gainmap), r, shown, src, dst, params=params or RenderParams(), quality=quality,
                           subsampling=subsampling)
