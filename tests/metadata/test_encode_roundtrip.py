"""Encode with the real x265, read back with PyAV, FFmpeg's trace_headers and the MP4 boxes."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import av
import pytest

from hdrkit.cli import main as cli_main
from hdrkit.errors import MetadataError, OptionError
from hdrkit.io.ffmpeg import run_ffmpeg
from hdrkit.metadata.cll import ContentLightLevel
from hdrkit.metadata.hdr10plus import Hdr10PlusFrame, Hdr10PlusMetadata
from hdrkit.metadata.sidedata import ffmpeg_stream_side_data, mp4_sample_entry_boxes, scan_hevc_sei
from hdrkit.metadata.st2086 import MDCV_PRESETS, MasteringDisplay
from hdrkit.video.encode import encode_video
from hdrkit.video.info import format_video_info, video_info

from .conftest import N_FRAMES


def _trace_t35_count(path) -> int:
    """HDR10+ SEIs in the bitstream as FFmpeg's trace_headers prints them (not the decoder)."""
    proc = run_ffmpeg(["-i", path, "-c", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"])
    return len(re.findall(r"itu_t_t35_country_code ", proc.stderr.decode("utf-8", "replace")))


def test_hdr10plus_side_data_equals_json_on_every_frame(hdr10plus_encode):
    res, used = hdr10plus_encode
    written = Hdr10PlusMetadata.from_json_dict(used)
    assert len(written) == N_FRAMES and written.profile == "B"
    got = []
    with av.open(str(res.output)) as c:
        for f in c.decode(video=0):
            sd = {s.type.name: bytes(s) for s in f.side_data}
            assert len(sd["DYNAMIC_HDR_PLUS"]) == 11304
            got.append(Hdr10PlusFrame.from_side_data(sd["DYNAMIC_HDR_PLUS"]))
    assert len(got) == N_FRAMES
    for i, (g, w) in enumerate(zip(got, written.frames)):
        assert g.signal() == w.signal(), i  # exact integers, display order
    # per-frame values really differ (the moving box brightens), so order is tested too
    assert len({g.maxscl for g in got}) > 1


def test_one_hdr10plus_sei_per_frame_in_the_bitstream(hdr10plus_encode):
    res, _ = hdr10plus_encode
    assert _trace_t35_count(res.output) == N_FRAMES
    scan = scan_hevc_sei(res.output)
    assert [a.hdr10plus for a in scan.access_units] == [1] * N_FRAMES
    assert res.verified["hdr10plus_sei_frames"] == N_FRAMES


def test_mdcv_and_cll_in_band_and_in_container(hdr10plus_encode, pq_source):
    res, _ = hdr10plus_encode
    md = MDCV_PRESETS["bt2020-4000"]
    cll = res.content_light
    assert cll.max_cll > 1000 and 0 < cll.max_fall < cll.max_cll  # measured, the red patch is 1200 cd/m^2
    with av.open(str(res.output)) as c:
        f = next(c.decode(video=0))
        sd = {s.type.name: bytes(s) for s in f.side_data}
    assert MasteringDisplay.from_side_data(sd["MASTERING_DISPLAY_METADATA"]) == md
    assert ContentLightLevel.from_side_data(sd["CONTENT_LIGHT_LEVEL"]) == cll
    boxes = mp4_sample_entry_boxes(res.output)
    assert MasteringDisplay.from_sei_payload(boxes["mdcv"]) == md
    assert ContentLightLevel.from_sei_payload(boxes["clli"]) == cll
    ff = ffmpeg_stream_side_data(res.output)  # FFmpeg's reading of the container
    assert ff["cll"] == (cll.max_cll, cll.max_fall)
    assert ff["mdcv"]["max_luminance"] == pytest.approx(4000.0)
    with av.open(str(res.output)) as c:
        v = c.streams.video[0].codec_context
        assert (int(v.color_primaries), int(v.color_trc), int(v.colorspace), int(v.color_range)) == (9, 16, 9, 1)
        assert c.streams.video[0].profile == "Main 10" and len(c.streams.audio) == 1


def test_video_info_shows_the_signalling(hdr10plus_encode):
    res, _ = hdr10plus_encode
    info = video_info(res.output)
    h = info["hdr"]
    assert h["format"] == "HDR10+" and h["transfer"] == "pq"
    assert h["hdr10plus"]["frames_with_metadata"] == N_FRAMES and h["hdr10plus"]["profile"] == "B"
    assert h["mastering_display"]["in_band"]["x265"] == MDCV_PRESETS["bt2020-4000"].to_x265()
    assert h["mastering_display"]["container"]["x265"] == MDCV_PRESETS["bt2020-4000"].to_x265()
    assert h["content_light"]["container"]["max_cll"] == res.content_light.max_cll
    assert info["video"]["frame_count"] == N_FRAMES and info["audio"][0]["codec"] == "aac"
    text = format_video_info(info)
    assert "HDR10+" in text and "MaxCLL" in text


def test_hlg_carries_no_hdr10_keys(pq_source, tmp_path):
    """An HLG input that (wrongly) carries MDCV/CLL is re-encoded without any HDR10 metadata."""
    hlg_in = tmp_path / "hlg_md.mp4"
    md = MDCV_PRESETS["p3-d65-1000"].to_x265()
    run_ffmpeg(["-y", "-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-s", "256x144", "-r", "24",
                "-color_primaries", "bt2020", "-color_trc", "arib-std-b67", "-colorspace", "bt2020nc",
                "-color_range", "tv", "-mastering_display", md, "-content_light", "1000,400",
                "-i", "pipe:0", "-c:v", "libx265", "-preset", "ultrafast",
                "-x265-params", f"log-level=error:master-display={md}:max-cll=1000,400", "-tag:v", "hvc1", hlg_in],
               input=pq_source[1])
    assert video_info(hlg_in)["hdr"]["mastering_display"]["in_band"] is not None  # the input has them
    out = tmp_path / "hlg.mp4"
    res = encode_video(hlg_in, out, preset="ultrafast", progress=False)
    assert res.mode == "hlg" and "hdr10" not in res.x265_params and "master-display" not in res.x265_params
    h = video_info(out)["hdr"]
    assert h["format"] == "HLG"
    assert h["mastering_display"] == {"container": None, "in_band": None}
    assert h["content_light"] == {"container": None, "in_band": None}
    scan = scan_hevc_sei(out)
    assert not {137, 144, 4} & {t for a in scan.access_units for t in a.payload_types}


BAD = [
    ({"master_display": "G(34000,16000)B(13250,34500)R(7500,3000)WP(15635,16450)L(10000000,50)"}, "wrong order"),
    ({"master_display": "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(1000,0.005)"}, "cd/m"),
    ({"master_display": "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(1000,1)"}, "0.0001"),
    ({"max_cll": "400,1000"}, "MaxFALL"),
]


@pytest.mark.parametrize("kw,msg", BAD)
def test_bad_static_metadata_is_refused_before_x265(pq_source, tmp_path, kw, msg):
    out = tmp_path / "o.mp4"
    with pytest.raises(MetadataError, match=msg):
        encode_video(pq_source[0], out, hdr10=True, preset="ultrafast", progress=False, **kw)
    assert not out.exists() and not list(tmp_path.glob(".o.mp4*"))


def _sample_frames(n):
    d = json.loads((Path(__file__).resolve().parents[2] / "samples" / "hdr10plus" / "single-frame-metadata.json").read_text())
    e = d["SceneInfo"][0]
    d["SceneInfo"] = [dict(copy.deepcopy(e), SceneFrameIndex=i, SequenceFrameIndex=i) for i in range(n)]
    d["SceneInfoSummary"] = {"SceneFirstFrameIndex": [0], "SceneFrameNumbers": [n]}
    return d


@pytest.mark.parametrize("edit", [
    lambda d: d["SceneInfo"][3]["LuminanceParameters"].__setitem__("MaxScl", [100, 200]),  # x265: SIGSEGV
    lambda d: d["SceneInfo"][0]["LuminanceParameters"]["LuminanceDistributions"]["DistributionValues"].pop(),  # SIGABRT
    lambda d: d.pop("SceneInfo"),  # SIGABRT
])
def test_bad_hdr10plus_json_never_reaches_x265(pq_source, tmp_path, edit):
    d = _sample_frames(N_FRAMES)
    edit(d)
    js = tmp_path / "bad.json"
    js.write_text(json.dumps(d))
    out = tmp_path / "o.mp4"
    with pytest.raises(MetadataError):
        encode_video(pq_source[0], out, hdr10plus=js, preset="ultrafast", progress=False)
    assert not out.exists()


def test_malformed_json_via_cli_is_a_one_line_error(pq_source, tmp_path, capsys):
    js = tmp_path / "broken.json"
    js.write_text('{"SceneInfo": [ {"LuminanceParameters": ')
    rc = cli_main(["encode", str(pq_source[0]), "-o", str(tmp_path / "o.mkv"), "--hdr10plus", str(js),
                   "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1].startswith("hdrkit: error:") and "not valid JSON" in err[-1]
    assert not (tmp_path / "o.mkv").exists()


def test_given_json_file_is_embedded_and_short_files_warn(pq_source, tmp_path):
    d = _sample_frames(N_FRAMES - 4)
    for i, e in enumerate(d["SceneInfo"]):
        e["LuminanceParameters"]["MaxScl"][0] = 4000 + 10 * i
    js = tmp_path / "given.json"
    js.write_text(json.dumps(d))
    out = tmp_path / "given.mkv"
    res = encode_video(pq_source[0], out, hdr10plus=js, max_cll="1000,400", preset="ultrafast", progress=False)
    assert any("get no HDR10+" in w for w in res.warnings)
    scan = scan_hevc_sei(out)
    assert [a.hdr10plus for a in scan.display_order()] == [1] * (N_FRAMES - 4) + [0] * 4
    assert _trace_t35_count(out) == N_FRAMES - 4
    assert res.verified["cll_container"] and res.verified["mdcv_container"]  # Matroska via FFmpeg's reading
    with av.open(str(out)) as c:
        firsts = [Hdr10PlusFrame.from_side_data(bytes(next(s for s in f.side_data
                                                             if s.type.name == "DYNAMIC_HDR_PLUS"))).maxscl[0]
                  for f in c.decode(video=0)][:N_FRAMES - 4]
    assert firsts == [4000 + 10 * i for i in range(N_FRAMES - 4)]


def test_option_conflicts(pq_source, tmp_path):
    src = pq_source[0]
    with pytest.raises(OptionError):
        # HLG carries no HDR10 keys (PQ input with --hlg is converted now, see test_encode_convert.py)
        encode_video(src, tmp_path / "a.mp4", hlg=True, master_display="p3-d65-1000", progress=False)
    with pytest.raises(OptionError):
        encode_video(src, tmp_path / "a.mp4", hlg=True, hdr10plus="auto", progress=False)
    with pytest.raises(OptionError):
        encode_video(src, tmp_path / "a.avi", hdr10=True, progress=False)
    with pytest.raises(Exception):
        encode_video(src, src, hdr10=True, progress=False)  # would overwrite the input


def test_progress_rotation_and_audio_copy(hdr10plus_encode, tmp_path, capfd):
    res, _ = hdr10plus_encode
    rot = tmp_path / "rot.mp4"
    run_ffmpeg(["-y", "-display_rotation:v:0", "90", "-i", res.output, "-c", "copy", rot])
    with av.open(str(rot)) as c:
        pyav_rotation = next(c.decode(video=0)).rotation
    assert video_info(rot)["video"]["rotation"] == pyav_rotation == 90
    out = tmp_path / "again.mkv"
    r2 = encode_video(rot, out, max_cll="1000,400", preset="ultrafast", progress=True)
    err = capfd.readouterr().err
    assert f"{N_FRAMES}/{N_FRAMES}" in err  # tqdm fed from ffmpeg -progress
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"  # copied
    assert r2.mastering_display == MDCV_PRESETS["bt2020-4000"]  # reused from the (valid) input


def test_bad_input_mdcv_is_reported_and_not_reused(pq_source, tmp_path):
    """A stream whose MDCV says 'L(1000,50)' (cd/m^2 written where 0.0001 units belong) decodes
    as a 0.1 cd/m^2 display: info flags it and a re-encode does not copy it."""
    bad = tmp_path / "bad_md.mp4"
    run_ffmpeg(["-y", "-i", pq_source[0], "-an", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                "log-level=error:hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)"
                "L(1000,50):max-cll=1000,400", "-tag:v", "hvc1", bad])
    info = video_info(bad)
    ib = info["hdr"]["mastering_display"]["in_band"]
    assert ib["max_luminance"] == pytest.approx(0.1) and not ib["luminance_valid"]
    assert any("written in cd/m^2" in w for w in info["warnings"])
    out = tmp_path / "fixed.mp4"
    res = encode_video(bad, out, preset="ultrafast", progress=False)
    assert res.mastering_display == MDCV_PRESETS["p3-d65-1000"]
    assert any("p3-d65-1000" in w for w in res.warnings)
    assert video_info(out)["hdr"]["mastering_display"]["in_band"]["luminance_valid"]
    assert res.content_light == ContentLightLevel(1000, 400)  # the valid CLL is kept
