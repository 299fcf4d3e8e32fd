"""Dolby Vision records (checked against FFmpeg's own parsing) and the raw SEI / struct parsers."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

from hdrkit.errors import DecodeError, MetadataError
from hdrkit.io.ffmpeg import run_ffmpeg
from hdrkit.metadata import sidedata
from hdrkit.metadata.dovi import DoviConfig, check_dovi, detect_dovi, dovi_decision, parse_dovi_record
from hdrkit.metadata.sidedata import ffmpeg_stream_side_data, iter_nal_units, parse_sei_rbsp, unescape_rbsp

from .mp4edit import add_sample_entry_box


@pytest.fixture(scope="module")
def small_mp4(pq_source, tmp_path_factory):
    out = tmp_path_factory.mktemp("dv") / "base.mp4"
    run_ffmpeg(["-y", "-i", pq_source[0], "-frames:v", "3", "-an", "-c:v", "libx265", "-preset", "ultrafast",
                "-x265-params", "log-level=error", "-tag:v", "hvc1", out])
    return out


@pytest.mark.parametrize("profile,compat,level,box", [(8, 1, 4, b"dvvC"), (8, 4, 3, b"dvvC"), (5, 0, 6, b"dvcC"),
                                                      (7, 6, 6, b"dvcC")])
def test_record_parsed_like_ffmpeg(small_mp4, tmp_path, profile, compat, level, box):
    cfg = DoviConfig(profile=profile, level=level, compatibility_id=compat, el_present=profile == 7)
    p = tmp_path / "dv.mp4"
    add_sample_entry_box(small_mp4, p, box, cfg.to_record())
    ff = ffmpeg_stream_side_data(p)["dovi"]  # FFmpeg's reading is the oracle
    got = detect_dovi(p)
    assert got.source == box.decode()
    assert (got.profile, got.level, got.compatibility_id, got.rpu_present, got.el_present, got.bl_present) == \
        (ff["profile"], ff["level"], ff["compatibility_id"], ff["rpu"], ff["el"], ff["bl"]) == \
        (profile, level, compat, True, profile == 7, True)
    # Matroska: FFmpeg remuxes the record into BlockAdditionMapping; detected through FFmpeg
    mkv = tmp_path / "dv.mkv"
    run_ffmpeg(["-y", "-i", p, "-c", "copy", mkv])
    m = detect_dovi(mkv)
    assert (m.profile, m.level, m.compatibility_id, m.source) == (profile, level, compat, "ffmpeg")


def test_quicktime_record_read_from_its_box():
    """An iPhone QuickTime file: each track has a media handler in ``mdia`` and a data handler
    in ``minf`` (ISO/IEC 14496-12 8.4.3, QuickTime File Format); the video track is found by the
    first, and its ``dvvC`` record reads as FFmpeg reads it."""
    p = Path(__file__).resolve().parents[2] / "samples" / "video" / "sample_edit_list.mp4"
    boxes = sidedata.mp4_sample_entry_boxes(p)
    assert boxes is not None and boxes["entry"] == b"hvc1" and "dvvC" in boxes
    ff = ffmpeg_stream_side_data(p)["dovi"]  # FFmpeg's reading is the oracle
    got = detect_dovi(p)
    assert got.source == "dvvC"
    assert (got.profile, got.level, got.compatibility_id, got.rpu_present, got.el_present, got.bl_present) == \
        (ff["profile"], ff["level"], ff["compatibility_id"], ff["rpu"], ff["el"], ff["bl"])


def test_policy():
    assert dovi_decision(None) is None
    assert "RPU not applied" in dovi_decision(DoviConfig(8, compatibility_id=1)).warning
    d = dovi_decision(DoviConfig(8, compatibility_id=4))
    assert d.action == "base-layer" and d.base_layer == "hlg"
    assert "enhancement layer" in dovi_decision(DoviConfig(7, compatibility_id=6)).warning
    with pytest.raises(DecodeError, match="profile 5"):
        check_dovi(DoviConfig(5, compatibility_id=0))
    with pytest.raises(DecodeError):
        check_dovi(DoviConfig(10, compatibility_id=0))
    assert parse_dovi_record(DoviConfig(8, 6, compatibility_id=1).to_record()).name == "8.1"
    with pytest.raises(MetadataError):
        parse_dovi_record(b"\x01\x00")


def test_encode_refuses_profile_5(small_mp4, tmp_path):
    from hdrkit.video.encode import encode_video

    p = tmp_path / "dv5.mp4"
    add_sample_entry_box(small_mp4, p, b"dvcC", DoviConfig(5, 6, compatibility_id=0).to_record())
    with pytest.raises(DecodeError, match="profile 5"):
        encode_video(p, tmp_path / "o.mp4", hdr10=True, preset="ultrafast", progress=False)
    assert not (tmp_path / "o.mp4").exists()


def test_struct_sizes_match_ffmpeg():
    assert ctypes.sizeof(sidedata.AVMasteringDisplayMetadata) == 88
    assert ctypes.sizeof(sidedata.AVContentLightMetadata) == 8
    assert ctypes.sizeof(sidedata.AVDynamicHDRPlus) == 11304


def test_rbsp_and_sei_syntax():
    # H.265 7.4.2: 00 00 03 is an escape; SEI payload type / size use 0xFF extension bytes
    assert unescape_rbsp(b"\x00\x00\x03\x01\x00\x00\x03\x00") == b"\x00\x00\x01\x00\x00\x00"
    body = bytes([0xFF, 0x05, 3, 1, 2, 3]) + bytes([4, 0xFF, 0x01]) + bytes(256) + b"\x80"
    msgs = parse_sei_rbsp(body)
    assert msgs[0] == (260, b"\x01\x02\x03")
    assert msgs[1][0] == 4 and len(msgs[1][1]) == 256
    with pytest.raises(MetadataError):
        parse_sei_rbsp(bytes([4, 10, 1, 2]))
    annexb = b"\x00\x00\x00\x01\x4e\x01\xaa\x00\x00\x01\x02\x01\xbb\xcc"
    assert list(iter_nal_units(annexb, None)) == [b"\x4e\x01\xaa", b"\x02\x01\xbb\xcc"]
    lp = b"\x00\x00\x00\x03\x4e\x01\xaa\x00\x00\x00\x02\x02\x01"
    assert list(iter_nal_units(lp, 4)) == [b"\x4e\x01\xaa", b"\x02\x01"]
