"""A grey card stays put when only a highlight changes; the static peak comes from in-band SEI too."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from hdrkit.io.ffmpeg import ffmpeg_exe, run_ffmpeg
from hdrkit.metadata import sidedata
from hdrkit.metadata.sidedata import container_cll, ffmpeg_stream_side_data
from hdrkit.video.decode import VideoReader
from hdrkit.video.proxy import make_proxy, static_peak_nits

W, H, N = 128, 72, 12


@pytest.fixture(scope="module")
def pump_clip(tmp_path_factory, make_clips_module):
    """PQ, lossless: a 203 cd/m^2 card on 20 cd/m^2, a 2000 cd/m^2 light on in frames 3-5 and 9-11;
    HDR10 MaxCLL 4000 in-band only (x265 SEI, no container box)."""
    m = make_clips_module
    out = tmp_path_factory.mktemp("pump") / "pump.mp4"
    tags = ["-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc", "-color_range", "tv"]
    xp = ("log-level=error:repeat-headers=1:lossless=1:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:"
          "range=limited:hdr10=1:max-cll=4000,400")
    rng = np.random.default_rng(0)
    data = b""
    for t in range(N):
        img = np.full((H, W, 3), 20.0)
        img[18:54, 32:96] = 203.0
        if (t // 3) % 2:
            img[4:12, 4:12] = 2000.0
        data += m.to_yuv420(m.encode_signal(img, "pq"), "bt2020", 10, 0.0, rng)
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt",
                    "yuv420p10le", "-s", f"{W}x{H}", "-r", "24", *tags, "-i", "pipe:0", "-c:v", "libx265", "-preset",
                    "ultrafast", "-x265-params", xp, "-tag:v", "hvc1", *tags, str(out)], input=data, check=True)
    return out


def _card_luma(path) -> np.ndarray:
    """Mean limited-range luma code of the card per frame (the Y plane as coded)."""
    raw = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt",
                          "yuv420p", "pipe:1"], check=True, capture_output=True).stdout
    y = np.frombuffer(raw, np.uint8).reshape(-1, H * W * 3 // 2)[:, :H * W].reshape(-1, H, W)
    return y[:, 26:46, 44:84].reshape(len(y), -1).mean(axis=1)


def test_static_peak_from_in_band_sei(pump_clip):
    with VideoReader(pump_clip) as r:
        assert static_peak_nits(r) == 4000.0


def test_container_cll_is_ffmpegs_reading(clips, phone, pump_clip, tmp_path):
    """MP4 / MOV boxes read here, other containers through FFmpeg: the same (MaxCLL, MaxFALL) as
    FFmpeg's stream side data, or None where FFmpeg lists none."""
    mkv = tmp_path / "pq.mkv"  # Matroska keeps the light level in its colour elements
    run_ffmpeg(["-y", "-i", clips["pq"], "-c", "copy", mkv])
    files = [*clips.values(), phone, phone.parent / "sample_edit_list.mp4", pump_clip, mkv]
    got = {p.name: container_cll(p) for p in files}
    assert got == {p.name: ffmpeg_stream_side_data(p)["cll"] for p in files}
    assert got["pq.mp4"] == got["pq.mkv"] == (1000, 400) and got["pump.mp4"] is None  # in-band only


def test_static_peak_of_an_mp4_reads_its_box(clips, monkeypatch):
    """The MP4's clli box gives the static peak without starting an FFmpeg process (13-25 ms of
    every proxy's start)."""
    def no_process(*a, **k):
        raise AssertionError("FFmpeg was started")

    monkeypatch.setattr(sidedata, "run_ffmpeg", no_process)
    with VideoReader(clips["pq"]) as r:
        assert static_peak_nits(r) == 1000.0


def test_a_matroska_clip_is_listed_by_ffmpeg_once_per_version(clips, tmp_path, monkeypatch):
    """Opening a Matroska clip asks FFmpeg's listing for its Dolby Vision record and the static
    peak for its light level: one FFmpeg process for both (13-25 ms each), the real FFmpeg's
    answer. A file replaced since is listed again."""
    import os

    mkv = tmp_path / "pq.mkv"
    run_ffmpeg(["-y", "-i", clips["pq"], "-c", "copy", mkv])
    runs = []
    real = sidedata.run_ffmpeg

    def counted(args, *a, **k):
        runs.append(args)
        return real(args, *a, **k)

    monkeypatch.setattr(sidedata, "run_ffmpeg", counted)
    with VideoReader(mkv) as r:
        assert static_peak_nits(r) == 1000.0
    assert len(runs) == 1
    listing = ffmpeg_stream_side_data(mkv)
    listing["cll"] = None  # a caller's change stays its own
    assert container_cll(mkv) == (1000, 400) and len(runs) == 1
    other = tmp_path / "other.mkv"  # no light level
    run_ffmpeg(["-y", "-i", clips["hlg"], "-c", "copy", other])
    os.replace(other, mkv)
    assert container_cll(mkv) is None and len(runs) == 2


@pytest.mark.parametrize("mode", ["lut", "exact"])
def test_card_does_not_pump(pump_clip, tmp_path, mode):
    dst = tmp_path / f"p_{mode}.mp4"
    make_proxy(pump_clip, dst, crf=0, x264_preset="ultrafast", mode=mode)
    card = _card_luma(dst)
    assert len(card) == N
    # measured 0.7 codes (the blue-noise dither over a slightly different LUT blend); 13.5 before the anchor
    assert card.max() - card.min() <= 1.0, card
    # and where BT.2390 at the 4000 cd/m^2 MaxCLL puts reference white (BT.1886 8-bit: 196.7)
    assert abs(card.mean() - 196.7) <= 1.5, card.mean()


def test_flicker_metric_sees_no_pumping(pump_clip):
    """The analysis predicts the proxy's SDR luma with the same anchor: the light alone moves the
    frame mean (0.7 % of the frame), far under the flicker threshold."""
    from hdrkit.video.analysis import analyze

    a = analyze(pump_clip)
    assert a.flicker.score < 0.2 * a.flicker.threshold, a.flicker.score  # measured 0.0023 (the light itself)
    assert max(a.sdr_luma) - min(a.sdr_luma) < 0.01


def _stairs(path) -> float:
    """RMS of the row-averaged luma of a smooth ramp against its 15-column moving average: a
    rounded 8-bit staircase leaves its sawtooth, a dither averages it away."""
    raw = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "yuv420p", "pipe:1"], check=True, capture_output=True).stdout
    y = np.frombuffer(raw, np.uint8)[:256 * 64].reshape(64, 256).astype(np.float64)
    col = y[8:56].mean(axis=0)
    smooth = np.convolve(col, np.ones(15) / 15, mode="valid")
    return float(np.sqrt(np.mean((col[7:-7] - smooth) ** 2)))


def test_ffmpeg_engine_dithers_and_reads_in_band_maxcll(tmp_path, make_clips_module):
    """A smooth PQ ramp (MaxCLL 4000 in-band only): the ffmpeg engine takes 4000 as its static peak,
    as the default engine does, and writes no 8-bit staircase."""
    m = make_clips_module
    src = tmp_path / "ramp.mp4"
    nits = np.geomspace(20.0, 120.0, 256)
    img = np.broadcast_to(nits[None, :, None], (64, 256, 3)).copy()
    tags = ["-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc", "-color_range", "tv"]
    xp = ("log-level=error:repeat-headers=1:lossless=1:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:"
          "range=limited:hdr10=1:max-cll=4000,400")
    data = m.to_yuv420(m.encode_signal(img, "pq"), "bt2020", 10, 0.0, np.random.default_rng(0)) * 2
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt",
                    "yuv420p10le", "-s", "256x64", "-r", "24", *tags, "-i", "pipe:0", "-c:v", "libx265", "-preset",
                    "ultrafast", "-x265-params", xp, "-tag:v", "hvc1", *tags, str(src)], input=data, check=True)
    res = make_proxy(src, tmp_path / "ff.mp4", engine="ffmpeg", crf=0, x264_preset="ultrafast")
    assert res.static_peak_nits == 4000.0
    # measured 0.22 with zscale's ordered dither, 0.30 when it rounds (0.16: the default engine's blue noise)
    assert _stairs(tmp_path / "ff.mp4") < 0.26
