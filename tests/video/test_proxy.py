"""SDR proxies, both engines: they play, are tagged BT.709, keep frames / timestamps / audio /
metadata, carry no HDR side data (PyAV and FFmpeg's own listing as oracles), put reference
white where the curve says, do not flicker, and fail cleanly on damaged input."""

from __future__ import annotations

import os
import subprocess
import sys

import av
import numpy as np
import pytest

from hdrkit.core.pipeline import RenderParams, encode_transfer, render_linear
from hdrkit.core.primaries import luminance_weights
from hdrkit.errors import EncodeError, OptionError
from hdrkit.video.analysis import FLICKER_THRESHOLD, analyze, video_flicker
from hdrkit.video.proxy import make_proxy

from .conftest import ffmpeg_stream_text

HDR_TYPES = {"MASTERING_DISPLAY_METADATA", "CONTENT_LIGHT_LEVEL", "DYNAMIC_HDR_PLUS", "DOVI_RPU_BUFFER",
             "DOVI_METADATA", "DYNAMIC_HDR_VIVID"}


def probe(path) -> dict:
    """What a player sees: tags, frames, timestamps, side data, audio packets, metadata (PyAV)."""
    out = {"pts": [], "durations": [], "side": set(), "frame_tags": set(), "y": []}
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        cc = v.codec_context
        out["tags"] = (int(cc.color_primaries), int(cc.color_trc), int(cc.colorspace), int(cc.color_range))
        out["codec"], out["pix_fmt"], out["size"] = cc.name, cc.pix_fmt, (v.width, v.height)
        out["time_base"] = v.time_base
        out["meta"] = dict(c.metadata)
        out["audio"] = [(s.codec_context.name, s.sample_rate, s.channels) for s in c.streams.audio]
        for f in c.decode(v):
            out["pts"].append(f.pts)
            out["durations"].append(f.duration)
            out["side"] |= {str(sd.type.name) for sd in f.side_data}
            out["frame_tags"].add((int(f.color_primaries), int(f.color_trc), int(f.colorspace), int(f.color_range)))
            out["y"].append(f.to_ndarray()[:f.height].copy())
            out["rotation"] = f.rotation
    with av.open(str(path)) as c:
        out["audio_packets"] = [sum(1 for p in c.demux(s) if p.size) for s in c.streams.audio]
    return out


@pytest.fixture(scope="module")
def phone_proxy(phone, tmp_path_factory):
    dst = tmp_path_factory.mktemp("phone") / "proxy.mp4"
    return make_proxy(phone, dst, x264_preset="veryfast"), dst


def test_phone_proxy_plays_and_keeps_everything(phone, phone_proxy):
    res, dst = phone_proxy
    src, out = probe(phone), probe(dst)
    assert res.complete and res.frames_out == 9
    assert out["codec"] == "h264" and out["pix_fmt"] == "yuv420p" and out["size"] == (1920, 1080)
    assert out["tags"] == (1, 1, 1, 1)  # BT.709 primaries, transfer, matrix; limited range
    assert out["frame_tags"] == {(1, 1, 1, 1)}
    assert len(out["pts"]) == 9
    # timestamps identical in seconds; total duration within a frame
    s_t = [p * src["time_base"] for p in src["pts"]]
    o_t = [p * out["time_base"] for p in out["pts"]]
    assert s_t == o_t
    end = lambda d: float(d["pts"][-1] * d["time_base"] + (d["durations"][-1] or 0) * d["time_base"])  # noqa: E731
    assert abs(end(out) - end(src)) <= 1 / 29.97
    assert out["audio"] == src["audio"] and out["audio_packets"] == src["audio_packets"]
    assert out["meta"].get("creation_time") == src["meta"]["creation_time"]
    assert not (out["side"] & HDR_TYPES)
    text = ffmpeg_stream_text(dst)
    assert "Mastering display" not in text and "Content light" not in text and "DOVI" not in text
    assert "bt709" in text and "Audio: aac" in text


def test_pq_proxy_strips_hdr_side_data_both_engines(clips, tmp_path):
    src = clips["pq"]
    text = ffmpeg_stream_text(src)
    assert "Mastering display" in text and "Content light" in text  # the source has them (container + SEI)
    src_side = probe(src)["side"]
    assert {"MASTERING_DISPLAY_METADATA", "CONTENT_LIGHT_LEVEL"} <= src_side
    for engine in ("pyav", "ffmpeg"):
        dst = tmp_path / f"{engine}.mp4"
        res = make_proxy(src, dst, engine=engine, x264_preset="veryfast")
        assert res.complete and res.frames_out == 48
        out = probe(dst)
        assert not (out["side"] & HDR_TYPES), engine
        t = ffmpeg_stream_text(dst)
        assert "Mastering display" not in t and "Content light" not in t, engine
        assert out["tags"] == (1, 1, 1, 1) and out["frame_tags"] == {(1, 1, 1, 1)}, engine
        assert out["pts"] == probe(src)["pts"], engine
        assert out["audio_packets"] == probe(src)["audio_packets"], engine
        # and no SEI of them in the H.264 bitstream either (FFmpeg's trace of what was written)
        from hdrkit.io.ffmpeg import run_ffmpeg

        trace = run_ffmpeg(["-i", str(dst), "-map", "0:v", "-c", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"],
                           check=False).stderr.decode("utf-8", "replace")
        assert "mastering_display" not in trace.lower() and "content_light" not in trace.lower(), engine


def bt2390_spec(nits: float, peak: float, target: float = 203.0) -> float:
    """ITU-R BT.2390 EETF as the Report writes it (KS = 1.5 maxLum - 0.5, black 0), colour-science PQ:
    an oracle independent of hdrkit.core.tonemap. Returns display light relative to ``target``."""
    import colour

    pq, ipq = colour.models.eotf_ST2084, colour.models.eotf_inverse_ST2084
    e = ipq(nits) / ipq(peak)
    max_lum = ipq(target) / ipq(peak)
    ks = 1.5 * max_lum - 0.5
    if e >= ks:
        t = (e - ks) / (1 - ks)
        e = (2 * t**3 - 3 * t**2 + 1) * ks + (t**3 - 2 * t**2 + t) * (1 - ks) + (-2 * t**3 + 3 * t**2) * max_lum
    return float(pq(e * ipq(peak))) / target


def _patch_y(y_plane, box):
    x0, y0, x1, y1 = box
    return float(y_plane[y0 + 3:y1 - 3, x0 + 3:x1 - 3].mean())


@pytest.mark.parametrize("name", ["pq_flat", "hlg_flat"])
def test_reference_white_lands_where_the_curve_says(name, clips, tmp_path, make_clips_module):
    """The 203 cd/m^2 patch: its proxy luma equals the core's rendering of 1.0 at the frame's peak."""
    dst = tmp_path / "p.mp4"
    res = make_proxy(clips[name], dst, x264_preset="veryfast", crf=12)
    out = probe(dst)
    layout = make_clips_module.patch_layout(*out["size"])
    params = RenderParams()
    w709 = luminance_weights("bt709")
    for k in (0, 1):
        st = res.states[k]
        for x0, y0, x1, y1, rgb in layout["neutral"][2:5]:  # 26, 100, 203 cd/m^2
            lin = np.full((1, 1, 3), rgb[0] / 203.0, np.float32)
            enc = encode_transfer(render_linear(lin, "bt2020", params, st.peak), "bt1886")[0, 0]
            want = 16 + 219 * float(enc @ w709)
            got = _patch_y(out["y"][k], (x0, y0, x1, y1))
            assert abs(got - want) < 1.5, (name, rgb[0], got, want)
    # and the same from the Report's own formula (neutral: max(R,G,B) = the grey, no gamut mapping);
    # at a ~1000 cd/m^2 peak reference white sits above the knee (~88 cd/m^2) and lands near 78 % light
    import colour

    x0, y0, x1, y1, _ = layout["neutral"][4]
    rel = bt2390_spec(203.0, res.states[0].peak_nits)
    want = 16 + 219 * float(colour.models.eotf_inverse_BT1886(rel))
    assert abs(_patch_y(out["y"][0], (x0, y0, x1, y1)) - want) < 1.5
    assert 0.7 < rel < 0.85


def test_engines_agree_for_the_same_static_peak(clips, tmp_path):
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    make_proxy(clips["pq_flat"], a, x264_preset="veryfast", crf=10, peak_nits=1000)
    rb = make_proxy(clips["pq_flat"], b, engine="ffmpeg", x264_preset="veryfast", crf=10)
    assert rb.static_peak_nits == 1000  # the clip's MaxCLL
    ya, yb = probe(a)["y"], probe(b)["y"]
    d = np.abs(np.stack(ya).astype(float) - np.stack(yb))
    assert d.mean() < 1.0 and np.percentile(d, 99) < 4


def test_exact_mode_matches_lut_mode(clips, tmp_path):
    a, b = tmp_path / "lut.mp4", tmp_path / "exact.mp4"
    ra = make_proxy(clips["hlg_flat"], a, x264_preset="veryfast", crf=10)
    rb = make_proxy(clips["hlg_flat"], b, x264_preset="veryfast", crf=10, mode="exact")
    assert [s.peak for s in ra.states] == [s.peak for s in rb.states]
    d = np.abs(np.stack(probe(a)["y"]).astype(float) - np.stack(probe(b)["y"]))
    assert d.mean() < 0.5 and np.percentile(d, 99) < 3


def test_proxy_follows_analysis_and_does_not_flicker(clips, tmp_path):
    dst = tmp_path / "p.mp4"
    res = make_proxy(clips["pq"], dst, x264_preset="veryfast")
    a = analyze(clips["pq"])
    assert [round(s.peak_pq, 12) for s in res.states] == [round(s.peak_pq, 12) for s in a.smoothed]
    h, w = 180, 320
    regions = {"grey": (int(0.495 * h), int(0.555 * h), int(0.26 * w), int(0.28 * w)),
               "skin": (int(0.62 * h), int(0.69 * h), int(0.04 * w), int(0.08 * w)),
               "sky": (int(0.16 * h), int(0.5 * h), int(0.45 * w), int(0.6 * w))}
    fl = video_flicker(dst, cuts=a.cuts, regions=regions)
    assert fl.passed and fl.worst < FLICKER_THRESHOLD
    assert abs(np.mean(fl.luma) - np.mean(a.sdr_luma)) < 0.02  # the analysis predicted the proxy's luma


def test_flicker_metric_catches_injected_flicker(clips, tmp_path):
    """Brighten every other frame of a real proxy by 12 codes (0.055 Y' peak-to-peak) and re-encode:
    the metric must flag it."""
    src = tmp_path / "p.mp4"
    make_proxy(clips["pq"], src, x264_preset="veryfast")
    bad = tmp_path / "flicker.mp4"
    with av.open(str(src)) as i, av.open(str(bad), "w") as o:
        s = o.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = 320, 180, "yuv420p"
        s.options = {"crf": "12", "preset": "veryfast"}
        for n, f in enumerate(i.decode(video=0)):
            a = f.to_ndarray()
            if n % 2:
                a[:180] = np.clip(a[:180].astype(int) + 12, 0, 255).astype(np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(a, format="yuv420p")):
                o.mux(p)
        for p in s.encode(None):
            o.mux(p)
    cuts = [0, 24]
    assert video_flicker(src, cuts).passed
    fl = video_flicker(bad, cuts)
    assert not fl.passed and fl.score > FLICKER_THRESHOLD


def test_height_option(clips, tmp_path):
    res = make_proxy(clips["pq"], tmp_path / "s.mp4", height=90, x264_preset="veryfast")
    assert (res.width, res.height) == (160, 90)
    assert probe(tmp_path / "s.mp4")["size"] == (160, 90)


def test_rotation_kept(clips, tmp_path):
    for engine in ("pyav", "ffmpeg"):
        dst = tmp_path / f"r_{engine}.mp4"
        make_proxy(clips["pq_rot90"], dst, engine=engine, x264_preset="veryfast")
        out = probe(dst)
        assert out["size"] == (320, 180) and out["rotation"] == 90, engine
        assert "rotation of 90" in ffmpeg_stream_text(dst).replace("-90", "90"), engine


def test_sdr_passes_through_when_allowed(clips, tmp_path):
    dst = tmp_path / "sdr.mp4"
    make_proxy(clips["sdr"], dst, allow_sdr=True, x264_preset="veryfast", crf=8)
    a, b = np.stack(probe(clips["sdr"])["y"]).astype(float), np.stack(probe(dst)["y"])
    assert np.abs(a - b).mean() < 1.0


def _truncate(src, dst, frac=0.5):
    data = src.read_bytes()
    dst.write_bytes(data[:int(len(data) * frac)])


def _run_cli(*args):
    return subprocess.run([sys.executable, "-m", "hdrkit", *map(str, args)], capture_output=True, text=True)


def test_truncated_input_gives_partial_proxy_and_nonzero_exit(clips, tmp_path):
    """A Matroska file cut in half still demuxes up to the cut: proxy of those frames, the gap reported."""
    from hdrkit.io.ffmpeg import run_ffmpeg

    src = tmp_path / "half.mkv"
    full = tmp_path / "full.mkv"
    run_ffmpeg(["-i", str(clips["pq"]), "-c", "copy", str(full)])
    _truncate(full, src, 0.5)
    dst = tmp_path / "out.mp4"
    r = _run_cli("proxy", src, "-o", dst, "--x264-preset", "veryfast", "--no-progress")
    assert r.returncode == 1, r.stderr
    assert "decoded only in part" in r.stderr and "missing" in r.stderr
    n = len(probe(dst)["pts"])
    assert 5 < n < 48  # what decoded, and only that
    res = make_proxy(src, tmp_path / "out2.mp4", x264_preset="veryfast")
    assert not res.complete and res.damage.gaps and res.damage.gaps[-1][1] == pytest.approx(2.0, abs=0.05)


def test_truncated_mp4_without_index_is_refused(clips, tmp_path):
    """An MP4 cut in half loses its index (moov at the end): nothing decodes; one-line error, nothing written."""
    src = tmp_path / "half.mp4"
    _truncate(clips["pq"], src, 0.5)
    dst = tmp_path / "out.mp4"
    r = _run_cli("proxy", src, "-o", dst, "--no-progress")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "half.mp4" in r.stderr
    assert sorted(os.listdir(tmp_path)) == ["half.mp4"]


def test_damaged_bytes_reported(clips, tmp_path):
    data = bytearray(clips["pq"].read_bytes())
    rng = np.random.default_rng(9)
    start = len(data) // 3
    for i in rng.integers(start, start + len(data) // 3, 400):
        data[i] ^= 0xFF
    src = tmp_path / "flipped.mp4"
    src.write_bytes(bytes(data))
    dst = tmp_path / "out.mp4"
    r = _run_cli("proxy", src, "-o", dst, "--x264-preset", "veryfast", "--no-progress")
    assert r.returncode != 0, r.stderr
    if r.returncode == 1:  # proxy of what decoded
        assert dst.exists() and len(probe(dst)["pts"]) > 0
    else:  # refused outright: nothing written
        assert not dst.exists()


def test_failure_mid_encode_leaves_no_output(clips, tmp_path, monkeypatch):
    import hdrkit.video.proxy as P

    calls = {"n": 0}
    real = P.render_lut_yuv420

    def failing(*a, **k):
        calls["n"] += 1
        if calls["n"] == 10:
            raise RuntimeError("simulated failure in the colour stage")
        return real(*a, **k)

    monkeypatch.setattr(P, "render_lut_yuv420", failing)
    dst = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="simulated"):
        make_proxy(clips["pq"], dst, x264_preset="veryfast")
    assert calls["n"] == 10
    assert not dst.exists() and os.listdir(tmp_path) == []  # no final file, no temporary left


def test_bad_encoder_setting_leaves_no_output(clips, tmp_path):
    dst = tmp_path / "out.mp4"
    with pytest.raises(OptionError, match="x264 preset"):  # refused before decoding
        make_proxy(clips["pq_flat"], dst, x264_preset="no-such-preset")
    assert os.listdir(tmp_path) == []


def test_cli_refuses_untagged_and_overwriting_input(clips, tmp_path):
    r = _run_cli("proxy", clips["untagged"], "-o", tmp_path / "o.mp4", "--no-progress")
    assert r.returncode == 2 and "--assume-transfer" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = _run_cli("proxy", clips["untagged"], "-o", tmp_path / "o.mp4", "--no-progress", "--assume-transfer", "pq",
                 "--assume-primaries", "bt2020", "--assume-matrix", "bt2020", "--assume-range", "limited",
                 "--x264-preset", "veryfast")
    assert r.returncode == 0, r.stderr
    r = _run_cli("proxy", clips["pq_flat"], "-o", clips["pq_flat"], "--no-progress")
    assert r.returncode == 2 and "overwrite" in r.stderr


def test_variable_frame_rate_timestamps_kept(clips, tmp_path):
    """Frames 1/24 s ... 3/24 s apart: both engines keep every timestamp, and no gap is invented."""
    from hdrkit.io.ffmpeg import run_ffmpeg

    vfr = tmp_path / "vfr.mp4"
    run_ffmpeg(["-i", str(clips["pq_flat"]), "-vf", "setpts=(N*512+N*N*64)/12288/TB", "-fps_mode", "passthrough",
                "-enc_time_base", "1/12288", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                "log-level=error", "-pix_fmt", "yuv420p10le", str(vfr)])
    src_pts = probe(vfr)["pts"]
    assert np.diff(src_pts).tolist() == [576, 704, 832, 960, 1088]
    for engine in ("pyav", "ffmpeg"):
        dst = tmp_path / f"{engine}.mp4"
        res = make_proxy(vfr, dst, engine=engine, x264_preset="veryfast")
        out = probe(dst)
        assert res.complete, (engine, res.damage)
        assert [p * out["time_base"] for p in out["pts"]] == [p * probe(vfr)["time_base"] for p in src_pts], engine


def test_iter_sdr_frames_is_the_proxy_without_encoder(clips, tmp_path):
    from hdrkit.video.decode import VideoReader
    from hdrkit.video.proxy import iter_sdr_frames

    with VideoReader(clips["hlg_flat"]) as r:
        rows = list(iter_sdr_frames(r))
    res = make_proxy(clips["hlg_flat"], tmp_path / "p.mp4", x264_preset="veryfast", crf=0)
    assert [s.peak for _, _, s in rows] == [s.peak for s in res.states]
    assert all(buf.shape == (270, 320) and buf.dtype == np.uint8 for _, buf, _ in rows)
    # what travels with a rendered frame is its timing, not the decoded picture (memory)
    assert [f.index for f, _, _ in rows] == list(range(len(rows)))
    assert all(not hasattr(f, "y") for f, _, _ in rows)
    decoded = probe(res.dst)["y"]
    for (f, buf, _), y in zip(rows, decoded):  # CRF 0 here is lossless for the luma the encoder got
        assert np.abs(buf[:180].astype(int) - y).max() <= 1


def test_three_thread_pipeline_renders_the_two_thread_bytes(clips):
    """iter_sdr_frames measures and bakes LUTs in a thread of its own (one kernel thread) beside
    the render: the frames and curve states are those of the proxy's two-thread pipeline, on a
    clip whose peak moves (several bakes)."""
    import threading

    import numba

    import hdrkit.video.proxy as proxy
    from hdrkit.video.decode import VideoReader

    def run(stages):
        with VideoReader(clips["pq"]) as r:
            ren = proxy._Renderer(r, RenderParams(), "lut", 33, None, (proxy.SMOOTHING_PERIOD,
                                                                       proxy.SCENE_THRESHOLD_LOW,
                                                                       proxy.SCENE_THRESHOLD_HIGH))
            prepare, seen = ren.prepare, []

            def watched(f):
                seen.append((threading.get_ident(), numba.get_num_threads(),
                             sum(t.name == "hdrkit-prefetch" for t in threading.enumerate())))
                return prepare(f)

            ren.prepare = watched
            frames = [buf.copy() for _, buf in proxy._rendered(r, ren, stages=stages)]
            return frames, ren.states, ren.cache.bakes, seen

    two, two_states, bakes, seen2 = run(2)
    three, three_states, bakes3, seen3 = run(3)
    assert bakes == bakes3 > 2 and len(three) == len(two) > 2
    assert three_states == two_states
    assert all(np.array_equal(a, b) for a, b in zip(two, three))
    assert len({t for t, _, _ in seen3}) == 1 and {n for _, n, _ in seen3} == {1} and max(p for _, _, p in seen3) == 3
    assert max(p for _, _, p in seen2) == 2  # the two-thread layout calls prepare from its colour thread
    assert {n for _, n, _ in seen2} == {numba.get_num_threads()}


def test_queue_depth_shrinks_with_frame_size_within_bounds():
    from hdrkit.video.decode import queue_depth

    sizes = [320 * 180 * 3, 1920 * 1080 * 3, 3840 * 2160 * 3, 7680 * 4320 * 3]
    depths = [queue_depth(b) for b in sizes]
    assert depths == sorted(depths, reverse=True)  # larger pictures, shorter queues
    assert depths[0] == 4 and depths[-1] == 2
    assert all(d * b <= 64 << 20 for d, b in zip(depths[:-1], sizes[:-1]))  # within the budget until the floor


def test_failed_encode_stops_the_decoding_threads_before_the_file_closes(clips, tmp_path, monkeypatch):
    """An encoder that fails after the first frame must not leave the prefetch threads decoding
    from a container that is being closed (a libx264 that refused its options crashed the
    process that way). The failure is injected after one real decoded and rendered frame."""
    import threading

    import hdrkit.video.proxy as proxy

    def failing_encode(ost, frames, *args):
        next(iter(frames))
        raise EncodeError("injected encoder failure")

    at_close = []

    class Reader(proxy.VideoReader):
        def close(self):
            at_close.append([t for t in threading.enumerate() if t.name == "hdrkit-prefetch" and t.is_alive()])
            super().close()

    monkeypatch.setattr(proxy, "_encode", failing_encode)
    monkeypatch.setattr(proxy, "VideoReader", Reader)
    with pytest.raises(EncodeError, match="injected"):
        make_proxy(clips["pq"], tmp_path / "bad.mp4")
    assert at_close == [[]]
    assert not (tmp_path / "bad.mp4").exists()


def test_cli_refuses_an_unknown_x264_preset_before_decoding(clips, tmp_path):
    p = _run_cli("proxy", clips["pq"], "-o", tmp_path / "p.mp4", "--x264-preset", "nope")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "nope" in p.stderr and "veryfast" in p.stderr


def test_large_pictures_decode_and_render_in_one_thread_with_the_same_bytes(clips, tmp_path, monkeypatch):
    """Above SHARED_THREAD_BYTES (2160p) the decoded pictures are rendered by the decoding thread,
    with no queue of 25 MB pictures between them: the proxy's bytes are those of the two-thread
    pipeline. Here the limit is lowered so a small clip takes that path."""
    import threading

    import hdrkit.video.proxy as proxy

    two = make_proxy(clips["pq"], tmp_path / "two.mp4", x264_preset="ultrafast")
    pipeline_threads = []  # threads of the pipeline alive while a frame is rendered
    render = proxy._Renderer.__call__

    def counting(self, f):
        pipeline_threads.append(sum(t.name == "hdrkit-prefetch" for t in threading.enumerate()))
        return render(self, f)

    monkeypatch.setattr(proxy._Renderer, "__call__", counting)
    make_proxy(clips["pq"], tmp_path / "counted.mp4", x264_preset="ultrafast")
    assert max(pipeline_threads) == 2  # small pictures: decoding and colour work in two threads
    pipeline_threads.clear()
    monkeypatch.setattr(proxy, "SHARED_THREAD_BYTES", 0)
    one = make_proxy(clips["pq"], tmp_path / "one.mp4", x264_preset="ultrafast")
    assert set(pipeline_threads) == {1}
    assert (tmp_path / "one.mp4").read_bytes() == (tmp_path / "two.mp4").read_bytes()
    assert one.states == two.states and one.frames_out == two.frames_out > 0


def test_pictures_rendered_in_place_are_encoded_as_copied_ones(clips, tmp_path, monkeypatch):
    """The pyav engine renders into libx264's input pictures and reuses them once encoded (no
    copy of every rendered frame): the same bytes as rendering into numpy buffers that
    ``VideoFrame.from_ndarray`` copies, for both pipelines. Large pictures (the limit lowered
    here) use two pictures at most: one encoded while the next is rendered. One libx264
    thread: its threads are not repeatable from run to run."""
    import hdrkit.video.proxy as proxy

    pools = []

    class Pool(proxy._PicturePool):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            pools.append(self)

    class Copied(proxy._PicturePool):
        def take(self):
            return None

    monkeypatch.setattr(proxy, "_PicturePool", Copied)
    copied = make_proxy(clips["hlg"], tmp_path / "copied.mp4", x264_preset="ultrafast", x264_threads=1)
    monkeypatch.setattr(proxy, "_PicturePool", Pool)
    in_place = make_proxy(clips["hlg"], tmp_path / "in_place.mp4", x264_preset="ultrafast", x264_threads=1)
    monkeypatch.setattr(proxy, "SHARED_THREAD_BYTES", 0)
    large = make_proxy(clips["hlg"], tmp_path / "large.mp4", x264_preset="ultrafast", x264_threads=1)
    assert [p.usable for p in pools] == [True, True] and [p.limit for p in pools] == [None, 2]
    assert pools[1].made <= 2
    assert copied.frames_out == in_place.frames_out == large.frames_out > 2
    ref = (tmp_path / "copied.mp4").read_bytes()
    assert (tmp_path / "in_place.mp4").read_bytes() == ref and (tmp_path / "large.mp4").read_bytes() == ref


def test_picture_pool_refuses_padded_planes_and_stops_a_waiting_renderer():
    """Widths whose planes FFmpeg pads (chroma rows of 180 bytes are laid out 192 apart) render
    into numpy buffers as before; closing the pool wakes a renderer waiting for a picture."""
    import threading

    from hdrkit.video.proxy import _PicturePool

    assert _PicturePool(180, 360).take() is None
    pool = _PicturePool(180, 320, limit=1)
    frame, (y, u, v) = pool.take()
    assert y.shape == (180, 320) and u.shape == v.shape == (90, 160) and y.flags.writeable
    errors = []

    def waiting():
        try:
            pool.take()
        except EncodeError as e:
            errors.append(e)

    t = threading.Thread(target=waiting)
    t.start()
    pool.close()
    t.join(5)
    assert not t.is_alive() and len(errors) == 1


_EARLY_LOAD = """
import sys, threading
from hdrkit.video.proxy import make_proxy
from hdrkit.core.kernels import _render_linear
from hdrkit.core.yuv420 import measure_kernel, render_lut_kernel
res = make_proxy(sys.argv[1], sys.argv[2], x264_preset="ultrafast")
early = [t for t in threading.enumerate() if t.name == "hdrkit-kernel-load"]
print(res.frames_out, len(measure_kernel.overloads), len(render_lut_kernel.overloads), len(_render_linear.overloads),
      len(early))
"""


def test_kernels_loaded_early_are_the_ones_the_proxy_runs(clips, tmp_path):
    """make_proxy loads its kernels in a background thread while the clip opens, on a tiny
    10-bit picture: in a fresh process that must load exactly the specialisations the work then
    calls (one each; a type that differed would load a second one, and the head start would be
    wasted), and the thread is done by the end."""
    out = subprocess.run([sys.executable, "-c", _EARLY_LOAD, str(clips["pq"]), str(tmp_path / "p.mp4")],
                         capture_output=True, text=True, check=True).stdout.split()
    assert int(out[0]) > 2 and out[1:] == ["1", "1", "1", "0"]
