"""Session fixtures: a lossless synthetic PQ source and one HDR10 + HDR10+ encode of it."""

from __future__ import annotations

import json

import pytest

from .clips import raw_clip, write_lossless

N_FRAMES = 12
W, H = 256, 144


@pytest.fixture(scope="session")
def pq_source(tmp_path_factory):
    """(path of an FFV1 PQ clip with AAC audio, raw yuv bytes, list of linear scenes in cd/m^2)."""
    d = tmp_path_factory.mktemp("pqsrc")
    raw, scenes = raw_clip(N_FRAMES, W, H)
    p = d / "src.mkv"
    write_lossless(p, raw, W, H)
    (d / "src.yuv").write_bytes(raw)
    return p, raw, scenes


@pytest.fixture(scope="session")
def hdr10plus_encode(pq_source, tmp_path_factory):
    """HDR10 + HDR10+ (auto, profile B) + measured CLL + BT.2020 4000 nit mastering, into MP4."""
    from hdrkit.video.encode import encode_video

    d = tmp_path_factory.mktemp("enc")
    out = d / "out.mp4"
    js = d / "used.json"
    res = encode_video(pq_source[0], out, hdr10plus="auto", max_cll="auto", master_display="bt2020-4000",
                       preset="ultrafast", progress=False, keep_json=js)
    return res, json.loads(js.read_text())
