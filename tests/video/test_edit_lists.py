"""Edit lists are not damage: MP4 / MOV files whose edit list drops the packets before its start
(phone captures, stream-copied cuts) are judged on the timeline the container presents.

FFmpeg is the oracle: the frames ``ffmpeg -i IN -map 0:v -f null -`` decodes, and the audio
samples it decodes. A real iPhone capture (HLG, Dolby Vision 8.4, rotation -90, AAC) and
clips cut with ``ffmpeg -ss T -i clip -c copy`` (scripts/make_clips.py: ``pq_cut`` in MP4,
``hlg_cut`` in MOV with audio that outlasts the video).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import av
import pytest

from hdrkit.io.ffmpeg import run_ffmpeg
from hdrkit.video.decode import VideoReader

ROOT = Path(__file__).resolve().parents[2]
IPHONE = ROOT / "samples" / "video" / "sample_edit_list.mp4"
CUTS = ("pq_cut", "hlg_cut")


def ffmpeg_frames(path) -> int:
    """Frames FFmpeg decodes and presents (``-f null``: every decoded frame, no rate conversion)."""
    return _ffmpeg_frames(str(path))


@lru_cache(maxsize=None)  # the 1080p capture is decoded once, not per test
def _ffmpeg_frames(path: str) -> int:
    err = run_ffmpeg(["-i", path, "-map", "0:v:0", "-f", "null", "-"], check=True).stderr.decode()
    return int(re.findall(r"frame=\s*(\d+)", err)[-1])


def ffmpeg_audio_seconds(path) -> float:
    """Duration of the audio FFmpeg decodes (samples / rate of the first audio stream)."""
    with av.open(str(path)) as c:
        a = c.streams.audio[0]
        rate, channels = a.sample_rate, a.channels
    pcm = run_ffmpeg(["-i", str(path), "-map", "0:a:0", "-f", "s16le", "-c:a", "pcm_s16le", "-"], check=True).stdout
    return len(pcm) / (2 * channels) / rate


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hdrkit", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def iphone() -> Path:
    assert IPHONE.is_file(), "samples/video/sample_edit_list.mp4 is missing (see samples/PROVENANCE.md)"
    return IPHONE


def test_cut_clips_carry_edit_lists(clips):
    """The generated cuts really are edit-list files: packets before the start are kept, flagged discard."""
    for name in CUTS:
        with av.open(str(clips[name])) as c:
            v = c.streams.video[0]
            flags = [p.is_discard for p in c.demux(v) if p.size]
        assert any(flags) and not all(flags), name
        assert len(flags) > ffmpeg_frames(clips[name]), name


@pytest.mark.parametrize("name", CUTS + ("iphone",))
def test_reader_decodes_the_presented_timeline_without_damage(name, clips, iphone):
    src = iphone if name == "iphone" else clips[name]
    want = ffmpeg_frames(src)
    with VideoReader(src, height=180) as r:
        frames = [(f.index, f.time) for f in r.frames()]
        assert not r.damage, r.damage.summary()
        assert r.frame_count == want
        assert [i for i, _ in frames] == list(range(want))
        times = [t for _, t in frames]
        assert times[0] == pytest.approx(0.0, abs=1e-9) and all(b > a for a, b in zip(times, times[1:]))


def test_iphone_capture_is_its_rotated_hlg_base_layer(iphone):
    with VideoReader(iphone) as r:
        assert (r.colour.transfer, r.colour.primaries, r.colour.bit_depth) == ("hlg", "bt2020", 10)
        assert r.dolby_vision is not None and (r.dolby_vision.profile, r.dolby_vision.level) == (8, 4)
        assert r.rotation == 270  # FFmpeg's display matrix says -90 degrees


@pytest.mark.parametrize("engine,suffix", [("pyav", ".mp4"), ("ffmpeg", ".mp4"), ("pyav", ".mkv")])
@pytest.mark.parametrize("name", CUTS)
def test_proxy_of_a_cut_is_complete(name, engine, suffix, clips, tmp_path):
    src, dst = clips[name], tmp_path / f"out{suffix}"
    r = cli("proxy", src, "-o", dst, "--engine", engine, "--x264-preset", "ultrafast", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "decoded only in part" not in r.stderr
    assert ffmpeg_frames(dst) == ffmpeg_frames(src)
    # audio whole and no more (the discarded packets are not carried), also where it outlasts
    # the video (hlg_cut): within one AAC frame, and the picture still starts at 0
    aac_frame = 1024 / 48000
    assert ffmpeg_audio_seconds(dst) == pytest.approx(ffmpeg_audio_seconds(src), abs=aac_frame)
    with av.open(str(dst)) as c:
        assert next(c.decode(video=0)).time == pytest.approx(0.0, abs=aac_frame)


def test_proxy_of_the_iphone_capture_is_complete(iphone, tmp_path):
    dst = tmp_path / "out.mp4"
    r = cli("proxy", iphone, "-o", dst, "--height", "180", "--x264-preset", "ultrafast", "--no-progress",
            "--json", "-")
    assert r.returncode == 0, r.stderr
    assert "decoded only in part" not in r.stderr
    res = json.loads(r.stdout)
    assert res["complete"] and res["frames_in"] == res["frames_out"] == ffmpeg_frames(iphone) == 77
    assert ffmpeg_frames(dst) == 77
    assert ffmpeg_audio_seconds(dst) == pytest.approx(ffmpeg_audio_seconds(iphone), abs=1024 / 44100)
    with av.open(str(dst)) as c:
        assert next(c.decode(video=0)).rotation == pytest.approx(-90)


def test_keyframes_and_every_of_a_cut(clips, tmp_path):
    """Key frames are those presented (the IDR before the cut is dropped), indices on the presented timeline."""
    from hdrkit.video.keyframes import export_keyframes

    src = clips["pq_cut"]
    with VideoReader(src) as r:
        all_frames = [(f.index, round(f.time, 6), f.key_frame) for f in r.frames()]
    keys = [(i, t) for i, t, k in all_frames if k]
    done, damage = export_keyframes(src, tmp_path / "kf", height=90)
    assert not damage, damage.summary()
    assert [(k.index, round(k.time, 6)) for k in done] == keys
    r = cli("keyframes", src, "-o", tmp_path / "every", "--every", "0.5", "--height", "90", "--no-progress")
    assert r.returncode == 0 and "decoded only in part" not in r.stderr, r.stderr
    assert len(list((tmp_path / "every").glob("*.jpg"))) == 3  # 0, 0.5, 1.0 s of a 1.375 s cut


def test_analyze_of_a_cut(clips, tmp_path):
    src = clips["pq_cut"]
    r = cli("analyze", src, "--json", tmp_path / "a.json", "--no-progress")
    assert r.returncode == 0 and "decoded only in part" not in r.stderr, r.stderr
    d = json.loads((tmp_path / "a.json").read_text())
    assert d["frame_count"] == len(d["frames"]) == ffmpeg_frames(src)
    assert not any(d["damage"].values())


@pytest.mark.parametrize("name", CUTS + ("iphone",))
def test_info_counts_presented_frames(name, clips, iphone):
    from hdrkit.video.info import video_info

    src = iphone if name == "iphone" else clips[name]
    assert video_info(src)["video"]["frame_count"] == ffmpeg_frames(src)


def test_encode_of_a_cut(clips, tmp_path):
    src, dst = clips["hlg_cut"], tmp_path / "out.mp4"
    r = cli("encode", src, "-o", dst, "--preset", "ultrafast", "--no-progress", "--json")
    assert r.returncode == 0, r.stderr
    assert ffmpeg_frames(dst) == ffmpeg_frames(src)
    assert "frames" not in " ".join(json.loads(r.stdout).get("warnings", []))
    assert ffmpeg_audio_seconds(dst) == pytest.approx(ffmpeg_audio_seconds(src), abs=1024 / 48000)


def test_truncated_edit_list_clip_is_still_damage(clips, tmp_path):
    """An edit-list clip whose index survives (moov first) but whose media data is cut: the missing
    presented frames are reported with their time range, and the proxy exits 1."""
    whole, cut = tmp_path / "whole.mp4", tmp_path / "cut.mp4"
    run_ffmpeg(["-i", str(clips["pq_cut"]), "-map", "0", "-c", "copy", "-movflags", "+faststart", str(whole)])
    with av.open(str(whole)) as c:  # the remux keeps the edit list
        assert any(e.is_discard for e in c.streams.video[0].index_entries)
    data = whole.read_bytes()
    cut.write_bytes(data[:int(len(data) * 0.6)])
    with VideoReader(cut) as r:
        n = sum(1 for _ in r.frames())
        assert r.frame_count == ffmpeg_frames(clips["pq_cut"]) > n
        assert r.damage.gaps and r.damage.gaps[-1][1] == pytest.approx(1.4, abs=0.05)
    r = cli("proxy", cut, "-o", tmp_path / "p.mp4", "--x264-preset", "ultrafast", "--no-progress")
    assert r.returncode == 1 and "decoded only in part" in r.stderr and "missing" in r.stderr
