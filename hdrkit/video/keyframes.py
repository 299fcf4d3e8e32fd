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

On a Dask cluster (``client=`` / ``cluster=``) the key frames are exported per chunk of key
frames (:func:`hdrkit.video.proxy.plan_chunks`, the proxy's chunking), one task each
(:func:`export_chunk_keyframes`): every key frame decodes alone, so each file is the one the
in-process run writes, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np

from ..core.pipeline import RenderParams
from ..errors import OptionError
from ..io.progress import track
from ..still.export import export_array
from .reader import DecodedFrame, VideoReader

__all__ = ["Keyframe", "export_keyframes", "export_chunk_keyframes", "export_frame", "frame_xmp", "upright"]

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


def _target(src: Path, out_dir: Path, pattern: str, f: DecodedFrame) -> Path:
    """Where frame ``f`` goes (``out_dir`` made once there is a frame to write)."""
    name = pattern.format(stem=src.stem, index=f.index, time_ms=int(round(f.time * 1000)),
                          pts=f.pts if f.pts is not None else f.index)
    dst = out_dir / name
    if dst.resolve() == src.resolve():
        raise OptionError(f"keyframe name {name!r} would overwrite the input")
    out_dir.mkdir(parents=True, exist_ok=True)
    return dst


def export_keyframes(src, out_dir, *, every: float | None = None, params: RenderParams | None = None,
                     quality: int = 90, subsampling: str = "auto", height: int | None = None,
                     pattern: str = DEFAULT_PATTERN, assume_transfer: str | None = None,
                     assume_primaries: str | None = None, assume_matrix: str | None = None,
                     assume_range: str | None = None, allow_sdr: bool = False, progress: bool = False,
                     limit: int | None = None, gainmap=None, client=None, cluster: str | None = None,
                     chunk_seconds: float | None = None) -> tuple[list[Keyframe], object]:
    """Export key frames (``every=None``) or the first frame at or after each multiple of
    ``every`` seconds into ``out_dir``; returns (exports, decode damage).

    ``pattern`` names the files: fields ``stem``, ``index``, ``time_ms``, ``pts``.
    ``gainmap`` (:class:`hdrkit.still.ultrahdr.GainMapOptions`): write Ultra HDR JPEGs whose
    base image is the SDR keyframe and whose gain map restores the frame's linear HDR.
    ``client`` (a Dask client), ``cluster`` (``"local[:N]"`` or a scheduler address) or a
    current Dask client: key frames are exported on the cluster's workers, one task per chunk
    of about ``chunk_seconds`` (default 30; the proxy's chunks), the same files.

    Raises
    ------
    OptionError
        A bad ``every``, ``every`` together with a cluster (one frame every N seconds needs
        every frame decoded in order), or a file name that would overwrite the input.
    """
    src, out_dir = Path(src), Path(out_dir)
    if every is not None and not (every > 0 and np.isfinite(every)):
        raise OptionError(f"--every must be a positive number of seconds, not {every}")
    if chunk_seconds is not None and not (chunk_seconds > 0):
        raise OptionError(f"--chunk-seconds must be positive, not {chunk_seconds}")
    params = params or RenderParams()
    reader_kwargs = dict(assume_transfer=assume_transfer, assume_primaries=assume_primaries,
                         assume_matrix=assume_matrix, assume_range=assume_range, allow_sdr=allow_sdr, height=height)
    options = dict(params=params, quality=quality, subsampling=subsampling, pattern=pattern, gainmap=gainmap)
    from ..cluster import cluster_client

    if every is not None and (client is not None or cluster is not None):
        raise OptionError("--every decodes every frame in order: run it without --cluster (key frames scale out)")
    with cluster_client(None if every is not None else cluster, client) as client:
        if client is not None and every is None:
            return _keyframes_on_cluster(client, src, out_dir, chunk_seconds, limit, progress, reader_kwargs,
                                         options)
        return _keyframes_here(src, out_dir, every, limit, progress, reader_kwargs, **options)


def _keyframes_here(src: Path, out_dir: Path, every, limit, progress, reader_kwargs, *, params, quality, subsampling,
                    pattern, gainmap):
    export = _exporter(gainmap)
    done: list[Keyframe] = []
    with VideoReader(src, **reader_kwargs, keyframes_only=every is None) as r:
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
            dst = _target(src, out_dir, pattern, f)
            done.append(_export_one(export, r, f, src, dst, params=params, quality=quality, subsampling=subsampling))
            if limit is not None and len(done) >= limit:
                break
        damage = r.damage
    return done, damage


def export_chunk_keyframes(src, out_dir, chunk, *, until_pts: int | None = None, limit: int | None = None,
                           reader_kwargs: dict | None = None,
                           params: RenderParams | None = None, quality: int = 90, subsampling: str = "auto",
                           pattern: str = DEFAULT_PATTERN, gainmap=None) -> dict:
    """Export the key frames of ``chunk`` (a :class:`hdrkit.video.proxy.Chunk`), those up to
    ``until_pts`` and at most ``limit`` when given, as :func:`export_keyframes` does (a task on
    a worker).

    Returns ``{"done": [Keyframe], "errors": [str]}`` (``errors``: what the decoder reported).
    """
    from .proxy import chunk_frames

    src, out_dir = Path(src), Path(out_dir)
    export = _exporter(gainmap)
    done: list[Keyframe] = []
    with VideoReader(src, **(reader_kwargs or {}), keyframes_only=True) as r:
        for f in chunk_frames(r, chunk):
            if (until_pts is not None and f.pts > until_pts) or (limit is not None and len(done) >= limit):
                break
            if f.key_frame:
                done.append(_export_one(export, r, f, src, _target(src, out_dir, pattern, f), params=params,
                                        quality=quality, subsampling=subsampling))
        errors = list(r.damage.errors)
    return {"done": done, "errors": errors}


def _keyframes_on_cluster(client, src: Path, out_dir: Path, chunk_seconds, limit, progress, reader_kwargs,
                          options) -> tuple[list[Keyframe], object]:
    """One :func:`export_chunk_keyframes` task per chunk of key frames; exports in time order."""
    import uuid

    from ..cluster import (TASK_RETRIES, check_visible, gather_as_completed, keyframe_memory_mb, memory_requests,
                           path_on_workers, run_task)
    from ..io.progress import reporter
    from .damage import Damage
    from .proxy import DEFAULT_CHUNK_SECONDS, plan_chunks

    chunks = plan_chunks(src, chunk_seconds or DEFAULT_CHUNK_SECONDS)
    until = None
    if limit is not None:  # the first `limit` key frames: the chunks that hold them, up to the last one
        keys = [k for c in chunks for k in c.keys]
        if len(keys) > limit:
            until = keys[limit - 1]
            chunks = [c for c in chunks if c.start_pts is None or c.start_pts <= until]
    with VideoReader(src, **reader_kwargs) as r:
        need = memory_requests(client, [keyframe_memory_mb(r.height * r.width)])[0]
    check_visible(client, [src])
    made = next(p for p in (out_dir.absolute(), *out_dir.absolute().parents) if p.is_dir())
    check_visible(client, [made], "output folder")  # or the folder it will be made in
    run = uuid.uuid4().hex[:8]
    bar = reporter(progress, total=len(chunks), unit="chunk", desc="keyframes")
    try:
        got = gather_as_completed(client, {
            client.submit(run_task, export_chunk_keyframes, path_on_workers(src), path_on_workers(out_dir), c,
                          until_pts=until, limit=limit, reader_kwargs=reader_kwargs, **options, pure=False,
                          key=f"hdrkit-keyframes-{run}-{c.index}", retries=TASK_RETRIES, resources=need): c.index
            for c in chunks}, bar)
    finally:
        bar.close()
    damage = Damage()
    done: list[Keyframe] = []
    for i in sorted(got):
        damage.errors.extend(e for e in got[i]["errors"] if e not in damage.errors)
        done += [replace(k, path=out_dir / k.path.name) for k in got[i]["done"]]  # the path as the caller gave it
    if limit is not None:
        done = done[:limit]
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
