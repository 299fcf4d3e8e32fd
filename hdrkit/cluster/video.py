"""Chunked proxies on a Dask cluster.

1. :func:`hdrkit.video.proxy.plan_chunks` splits the clip at key frames into chunks of
   about ``chunk_seconds``.
2. Every chunk's frames are measured on the workers (:func:`~hdrkit.video.proxy.measure_chunk`);
   the temporal peak smoothing then runs once over the whole clip, here
   (:func:`~hdrkit.video.proxy.smooth_states`; it is a few operations a frame), so it never
   sees a chunk boundary.
3. Every chunk is rendered with the whole clip's per-frame curve states and encoded on its
   own (:func:`~hdrkit.video.proxy.render_chunk`): the decoded SDR frames are those of a
   single-process proxy, only the encoder's GOPs differ.
4. The chunks are joined here without re-encoding, with the source's audio, tags and
   rotation (:func:`~hdrkit.video.proxy.join_chunks`).

Chunk files live in a temporary folder beside the output (every worker writes there), removed
on success and on failure. A task whose worker dies is run again on another worker; a chunk
is written atomically, so a killed worker never leaves half a chunk to join.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from pathlib import Path

from ..errors import HdrkitError
from ..io.progress import reporter
from . import (TASK_RETRIES, ClusterError, check_visible, is_lost_scheduler, lost_scheduler_error,
               path_on_workers, run_task)

__all__ = ["proxy_chunks", "DEFAULT_CHUNK_SECONDS"]

#: Default chunk length of a proxy on a cluster (seconds).
DEFAULT_CHUNK_SECONDS = 30.0


def _gather(client, futures: dict, bar=None, weight=None) -> dict:
    """Results of ``futures`` ({future: key}) by key, as they finish. The first failure cancels
    the rest and is raised: an hdrkit / OS error as the task returned it, a lost scheduler or a
    task whose workers kept dying as :class:`~hdrkit.cluster.ClusterError`."""
    from distributed import as_completed

    out = {}
    try:
        for f in as_completed(futures, loop=client.loop):
            if f.status == "cancelled":
                raise lost_scheduler_error(len(futures) - len(out))
            r = f.result()
            if isinstance(r, BaseException):
                raise r
            out[futures[f]] = r
            if bar is not None:
                bar.update(weight(r) if weight else 1)
    except BaseException as e:
        with contextlib.suppress(Exception):
            client.cancel(list(futures))
        if isinstance(e, (HdrkitError, OSError)) and not is_lost_scheduler(e):
            raise
        if isinstance(e, Exception):
            if is_lost_scheduler(e):
                raise lost_scheduler_error(len(futures) - len(out)) from None
            raise ClusterError(f"{type(e).__name__}: {e}") from None
        raise
    return out


def proxy_chunks(src: Path, tmp: Path, reader, params, *, client, chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
                 crf: float, x264_preset: str, mode: str, lut_size: int, peak_nits: float | None, smoothing,
                 reader_kwargs: dict, show_progress: bool = False) -> dict:
    """The pyav proxy of ``src`` written at ``tmp`` through ``client``'s workers (module docstring).

    Returns what the single-process engine returns: ``frames_out``, ``lut_bakes`` (0: baked
    on the workers), ``states``.
    """
    from ..video.proxy import join_chunks, lut_prime_peaks, measure_chunk, plan_chunks, render_chunk, smooth_states

    chunks = plan_chunks(src, chunk_seconds)
    wsrc = path_on_workers(src)
    check_visible(client, [src])
    work = Path(tempfile.mkdtemp(prefix=f".{tmp.name}.chunks-", dir=tmp.parent))
    run = uuid.uuid4().hex[:8]
    try:
        check_visible(client, [work], "temporary folder beside the output")
        measured = _gather(client, {
            client.submit(run_task, measure_chunk, wsrc, c, peak_nits=peak_nits, reader_kwargs=reader_kwargs,
                          pure=False, key=f"hdrkit-measure-{run}-{c.index}", retries=TASK_RETRIES): c.index
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
            rendered = _gather(client, {
                client.submit(run_task, render_chunk, wsrc, path_on_workers(paths[c.index]), c, pts[a:b],
                              states[a:b], prime_peak=primes[c.index], params=params, mode=mode,
                              lut_size=lut_size, crf=crf, x264_preset=x264_preset, reader_kwargs=reader_kwargs, pure=False,
                              key=f"hdrkit-render-{run}-{c.index}", retries=TASK_RETRIES): c.index
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
