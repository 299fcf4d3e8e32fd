"""encode --hlg from PQ and --hdr10 from HLG: the core's BT.2408 conversion in the FFmpeg
command, read back with PyAV (decoded planes, codec tags) and FFmpeg's own stream listing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import av
import numpy as np
import pytest

from hdrkit.core.pq_hlg import hlg_to_pq, pq_to_hlg
from hdrkit.metadata.sidedata import ffmpeg_stream_side_data, scan_hevc_sei
from hdrkit.video.encode import encode_video

ROOT = Path(__file__).resolve().parents[2]
W, H = 256, 144


def _make_clips_module():
    spec = importlib.util.spec_from_file_location("make_clips", ROOT / "scripts" / "make_clips.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def flat_clips(tmp_path_factory):
    """Lossless grain-free PQ (MaxCLL 1000) and HLG clips of the synthetic day scene, 3 frames."""
    mc = _make_clips_module()
    d = tmp_path_factory.mktemp("conv")
    out = {t: mc.make_clip(d / f"{t}.mp4", transfer=t, width=W, height=H, frames=3, grain=False, lossless=True,
                           preset="ultrafast") for t in ("pq", "hlg")}
    return out, mc.patch_layout(W, H)["neutral"]


def _neutral_luma(path, patches) -> np.ndarray:
    """Y' (0-1, from 10-bit limited codes) at the centre of each neutral patch of frame 0: for a
    grey R' = G' = B' = Y', so the transfer conversion is readable from luma alone."""
    with av.open(str(path)) as c:
        f = next(c.decode(video=0))
        y = f.to_ndarray(format="yuv420p10le")[:H].astype(np.float64)
    vals = []
    for x0, y0, x1, y1, _ in patches:
        cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
        vals.append(np.median(y[cy - 2:cy + 3, cx - 2:cx + 3]))
    return (np.array(vals) / 4 - 16) / 219


def _codec_trc(path) -> int:
    """The transfer tag, which the container and the bitstream's VUI (decoded frame) must agree on."""
    with av.open(str(path)) as c:
        container = int(c.streams.video[0].codec_context.color_trc)
        vui = int(next(c.decode(video=0)).color_trc)
    assert container == vui
    return vui


def test_pq_to_hlg(flat_clips, tmp_path):
    clips, neutral = flat_clips
    out = tmp_path / "hlg.mp4"
    res = encode_video(clips["pq"], out, hlg=True, crf=4, preset="ultrafast", progress=False)
    assert res.mode == "hlg" and res.conversion == "pq->hlg"
    assert res.conversion_peak_nits == 1000  # the input's MaxCLL
    src = _neutral_luma(clips["pq"], neutral)
    got = _neutral_luma(out, neutral)
    want = pq_to_hlg(np.repeat(src[:, None], 3, axis=1), src_peak_nits=1000.0)[:, 0]
    np.testing.assert_allclose(got, want, atol=0.006)  # a few 10-bit codes: LUT + x265 crf 4
    assert got[4] == pytest.approx(0.75, abs=0.006)  # 203 cd/m^2 -> 75 % HLG (BT.2408)
    # the tags follow the output: HLG in the VUI, no HDR10 metadata in-band or in the container
    assert _codec_trc(out) == 18
    ff = ffmpeg_stream_side_data(out)
    assert ff["mdcv"] is None and ff["cll"] is None
    scan = scan_hevc_sei(out)
    assert all(a.mdcv is None and a.cll is None for a in scan.access_units)


def test_hlg_to_pq(flat_clips, tmp_path):
    clips, neutral = flat_clips
    out = tmp_path / "pq.mkv"
    res = encode_video(clips["hlg"], out, hdr10=True, max_cll="auto", crf=4, preset="ultrafast", progress=False)
    assert res.mode == "hdr10" and res.conversion == "hlg->pq"
    src = _neutral_luma(clips["hlg"], neutral)
    got = _neutral_luma(out, neutral)
    want = hlg_to_pq(np.repeat(src[:, None], 3, axis=1))[:, 0]
    np.testing.assert_allclose(got, want, atol=0.006)
    assert _codec_trc(out) == 16
    ff = ffmpeg_stream_side_data(out)
    # the HLG reference display as mastering display, MaxCLL measured as that display shows it
    assert ff["mdcv"]["max_luminance"] == pytest.approx(1000.0)
    assert ff["cll"] == (res.content_light.max_cll, res.content_light.max_fall)
    assert 950 <= res.content_light.max_cll <= 1010


def test_hdr10plus_is_not_carried_into_hlg(hdr10plus_encode, tmp_path, caplog):
    res_in, _ = hdr10plus_encode
    out = tmp_path / "hlg.mp4"
    with caplog.at_level("INFO", logger="hdrkit"):
        res = encode_video(res_in.output, out, hlg=True, preset="ultrafast", progress=False)
    assert res.conversion == "pq->hlg"
    assert [d["metadata"] for d in res.dropped_metadata] == ["HDR10+"]
    assert "HLG" in res.dropped_metadata[0]["reason"]
    assert scan_hevc_sei(out).frames_with_hdr10plus == 0
    assert any("HDR10+" in r.getMessage() for r in caplog.records)


def test_sdr_input_still_refused(tmp_path, flat_clips):
    mc = _make_clips_module()
    sdr = mc.make_clip(tmp_path / "sdr.mp4", transfer="sdr", width=W, height=H, frames=2, grain=False,
                       preset="ultrafast")
    from hdrkit.errors import OptionError

    with pytest.raises(OptionError, match="SDR"):
        encode_video(sdr, tmp_path / "x.mp4", hlg=True, progress=False)


def test_pq_to_hlg_rolls_off_from_the_measured_peak(flat_clips, tmp_path):
    from hdrkit.video.analysis import analyze

    clips, _ = flat_clips
    a = analyze(clips["pq"], step=1)
    res = encode_video(clips["pq"], tmp_path / "hlg.mkv", hlg=True, analysis=a, preset="ultrafast", progress=False)
    assert res.conversion_peak_nits == pytest.approx(max(f.max_nits for f in a.frames))
