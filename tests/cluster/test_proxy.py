"""Chunked proxies on a two-worker LocalCluster against the single-process proxy: the same
rendered frames (before encoding), the same frame count, timestamps, duration, tags, rotation
and audio; temporary chunks cleaned up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hdrkit.video.decode import VideoReader
from hdrkit.video.proxy import (chunk_sdr_frames, iter_sdr_frames, lut_prime_peaks, make_proxy, measure_chunk,
                                plan_chunks, smooth_states)

from .clip import make_cut_clip
from .conftest import hdrkit_cli, kill_worker_when_running

CUT = 22  # the scene cut, two frames before the first one-second chunk boundary (frame 24)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_cut_clip(tmp_path_factory.mktemp("clip") / "cut.mp4", cut=CUT)


@pytest.fixture(scope="module")
def single(clip, tmp_path_factory):
    """The single-process proxy, lossless (crf 0) so decoded frames are the rendered ones."""
    dst = tmp_path_factory.mktemp("single") / "cut.mp4"
    return make_proxy(clip, dst, crf=0)


def _decoded(path):
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = [(f.pts, f.to_ndarray(format="yuv420p")) for f in c.decode(s)]
        return frames, s.time_base, c.duration, dict(c.metadata), dict(s.metadata)


def _packets(path, kind):
    import av

    with av.open(str(path)) as c:
        s = getattr(c.streams, kind)[0]
        return [(p.pts, p.dts, bytes(p)) for p in c.demux(s) if p.size]


def test_plan_splits_at_key_frames(clip):
    chunks = plan_chunks(clip, 1.0)
    assert [c.start_time for c in chunks] == [0.0, 1.0, 2.0]
    assert chunks[0].start_pts is None and chunks[-1].end_pts is None
    assert [c.end_pts for c in chunks[:-1]] == [c.start_pts for c in chunks[1:]]
    assert [len(c.keys) for c in chunks] == [2, 2, 2] and chunks[1].keys[0] == chunks[1].start_pts
    assert len(plan_chunks(clip, 30.0)) == 1


def test_chunks_render_the_single_pass_frames(clip, single):
    """Before encoding: every chunk's buffers equal the single pass's, the smoothing states too."""
    chunks = plan_chunks(clip, 1.0)
    measured = [measure_chunk(clip, c) for c in chunks]
    pts = [p for m in measured for p in m["pts"]]
    states = smooth_states([x for m in measured for x in m["measures"]], [t for m in measured for t in m["time"]])
    assert states == single.states  # the temporal smoothing did not see the chunk boundaries
    assert states[CUT].scene_mix == 1.0 and states[CUT + 2].peak < states[CUT - 1].peak  # a cut, still settling
    starts = np.cumsum([0] + [len(m["pts"]) for m in measured[:-1]]).tolist()
    primes = lut_prime_peaks(states, starts)
    with VideoReader(clip) as r:
        whole = [(f.pts, buf.copy()) for f, buf, _ in iter_sdr_frames(r)]
    got = []
    for c, a, b, prime in zip(chunks, starts, starts[1:] + [len(pts)], primes):
        with VideoReader(clip) as r:
            got += [(f.pts, buf.copy()) for f, buf in chunk_sdr_frames(r, c, pts[a:b], states[a:b], prime_peak=prime)]
    assert [p for p, _ in got] == [p for p, _ in whole]
    for (p, a), (_, b) in zip(got, whole):
        assert np.array_equal(a, b), f"frame at pts {p} differs"


def test_chunked_proxy_matches_single_process(client, clip, single, tmp_path):
    dst = tmp_path / "cut.mp4"
    res = make_proxy(clip, dst, crf=0, client=client, chunk_seconds=1.0)
    assert res.frames_out == single.frames_out == 72 and res.complete
    assert res.states == single.states
    a, b = _decoded(single.dst), _decoded(dst)
    assert [p for p, _ in a[0]] == [p for p, _ in b[0]]  # frame count and timestamps
    assert a[1:] == b[1:]  # time base, duration, container and stream tags
    for (p, fa), (_, fb) in zip(a[0], b[0]):  # lossless: the decoded frames are the rendered ones
        assert np.array_equal(fa, fb), f"frame at pts {p} differs"
    assert _packets(dst, "audio") == _packets(single.dst, "audio")  # audio copied once, untouched
    from tests.video.conftest import ffmpeg_stream_text

    ta, tb = ffmpeg_stream_text(single.dst), ffmpeg_stream_text(dst)
    assert "rotation of 90.00 degrees" in ta and "rotation of 90.00 degrees" in tb and "bt709" in tb
    for hdr in ("Mastering Display", "Content Light", "HDR10+", "smpte2084", "bt2020"):
        assert hdr.lower() not in tb.lower()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.mp4"]  # no chunk left behind


def _psnr(a, b) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def test_chunked_proxy_matches_single_process_at_default_crf(client, clip, tmp_path):
    """At the default crf the encoder is lossy: the single-process proxy and the chunked one
    (the scene cut two frames before a chunk boundary) have the same frames and timestamps,
    and every decoded frame is within 50 dB PSNR of the other's. One libx264 thread: its
    threaded encoding is not repeatable from run to run, not even in one process."""
    one = make_proxy(clip, tmp_path / "one.mp4", chunk_seconds=1.0, x264_threads=1)
    many = make_proxy(clip, tmp_path / "many.mp4", client=client, chunk_seconds=1.0, x264_threads=1)
    assert one.frames_out == many.frames_out == 72
    a, b = _decoded(one.dst), _decoded(many.dst)
    assert [p for p, _ in a[0]] == [p for p, _ in b[0]]
    assert a[1:] == b[1:]
    worst = min((_psnr(fa, fb), p) for (p, fa), (_, fb) in zip(a[0], b[0]))
    assert worst[0] >= 50, f"frame at pts {worst[1]}: {worst[0]:.1f} dB"


def test_chunk_tasks_ask_for_memory(client, clip, tmp_path):
    """Every measuring and rendering task asks for the chunk memory rule's MEMORY_MB (the
    scheduler's record of each task's resource restrictions)."""
    from distributed.diagnostics.plugin import SchedulerPlugin

    from hdrkit.cluster import MEMORY_RESOURCE, chunk_memory_mb

    class Record(SchedulerPlugin):
        name = "hdrkit-test-resources"

        async def start(self, scheduler):
            self.scheduler, self.seen = scheduler, {}

        def transition(self, key, start, finish, *args, **kwargs):
            ts = self.scheduler.tasks.get(key)
            if finish == "processing" and str(key).startswith("hdrkit-") and ts is not None:
                self.seen[str(key)] = dict(ts.resource_restrictions or {})

    client.register_plugin(Record())
    try:
        make_proxy(clip, tmp_path / "m.mp4", client=client, chunk_seconds=1.0)
        seen = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.plugins["hdrkit-test-resources"].seen)
    finally:
        client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.remove_plugin("hdrkit-test-resources"))
    assert chunk_memory_mb(320 * 180) == 82
    assert sorted(k.split("-")[1] for k in seen) == ["measure"] * 3 + ["render"] * 3
    assert all(r == {MEMORY_RESOURCE: 82} for r in seen.values()), seen


def test_failed_chunk_leaves_nothing(client, clip, tmp_path):
    """A chunk that fails on its worker (here: a LUT size the baker refuses, found when the first
    LUT is baked) stops the run with that error and leaves nothing behind."""
    from hdrkit.errors import OptionError

    dst = tmp_path / "bad.mp4"
    with pytest.raises(OptionError, match="LUT size"):
        make_proxy(clip, dst, lut_size=1, client=client, chunk_seconds=1.0)
    assert list(tmp_path.iterdir()) == []  # no output, no temporary output, no chunk folder


def _slow_render_chunk(*args, marker: str, **kw):
    """render_chunk, after saying which process runs it and waiting to be killed (first attempt only)."""
    import os
    import time

    from hdrkit.video.proxy import render_chunk

    m = Path(marker)
    if not m.exists():
        m.write_text(str(os.getpid()))
        time.sleep(30)
    return render_chunk(*args, **kw)


def test_killed_worker_loses_no_chunk(client, clip, single, tmp_path, monkeypatch):
    """kill -9 of the worker rendering a chunk: the chunk runs again on another worker, the
    proxy is complete and the same."""
    import hdrkit.video.proxy as vp

    marker = tmp_path / "running.pid"
    monkeypatch.setattr(vp, "render_chunk", lambda *a, **kw: _slow_render_chunk(*a, marker=str(marker), **kw))
    killer = kill_worker_when_running(client, marker)
    out = tmp_path / "out"
    out.mkdir()
    res = make_proxy(clip, out / "cut.mp4", crf=0, client=client, chunk_seconds=1.0)
    killer.join()
    assert killer.killed  # a worker died mid-chunk
    assert res.frames_out == 72
    a, b = _decoded(single.dst), _decoded(out / "cut.mp4")
    assert [p for p, _ in a[0]] == [p for p, _ in b[0]]
    assert all(np.array_equal(fa, fb) for (_, fa), (_, fb) in zip(a[0], b[0]))
    assert sorted(p.name for p in out.iterdir()) == ["cut.mp4"]
    client.wait_for_workers(2, timeout=60)


def test_current_client_is_used(client, clip, single, tmp_path):
    from hdrkit.cluster import current_client

    assert current_client() is None  # the module's cluster is not the default client
    from distributed import get_task_stream

    with client.as_current(), get_task_stream(client=client) as ts:
        assert current_client() is client
        res = make_proxy(clip, tmp_path / "cur.mp4", crf=0, chunk_seconds=1.0)
    assert res.states == single.states and res.frames_out == 72
    assert sum(str(t["key"]).startswith("hdrkit-render-") for t in ts.data) == 3  # three chunks on the cluster


def test_cli_chunked_proxy(clip, single, tmp_path):
    p = hdrkit_cli("proxy", clip, "-o", tmp_path / "c.mp4", "--crf", "0", "--cluster", "local:2",
                   "--chunk-seconds", "1", "--no-progress")
    assert p.returncode == 0, p.stderr
    assert p.stderr.strip() == f"hdrkit: {tmp_path / 'c.mp4'}: 72 frames 320x180, " + \
        p.stderr.strip().split(", ", 1)[1]  # one line: no Dask chatter
    a, b = _decoded(single.dst), _decoded(tmp_path / "c.mp4")
    assert [p for p, _ in a[0]] == [p for p, _ in b[0]]
    q = hdrkit_cli("proxy", clip, "-o", tmp_path / "d.mp4", "--chunk-seconds", "1")
    assert q.returncode == 2 and "--chunk-seconds needs --cluster" in q.stderr
