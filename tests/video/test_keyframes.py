"""Keyframes: exported exactly as stills (byte-identical), upright, with their source in the XMP."""

from __future__ import annotations

import io
import re

import numpy as np
from PIL import Image

from hdrkit.still.export import export_array
from hdrkit.video.decode import VideoReader
from hdrkit.video.keyframes import export_keyframes, frame_xmp, upright


def _xmp_fields(data: bytes) -> dict:
    return dict(re.findall(rb'hdrkit:(\w+)="([^"]*)"', data))


def test_keyframe_is_a_still_byte_for_byte(clips, tmp_path):
    done, damage = export_keyframes(clips["pq"], tmp_path / "kf")
    assert not damage and [k.time for k in done] == [0.0, 1.0]  # the first frame and the cut (an IDR)
    assert [k.index for k in done] == [0, 24]
    with VideoReader(clips["pq"]) as r:
        frames = {f.index: f for f in r.frames() if f.index in (0, 24)}
        stills = []
        for idx, k in zip((0, 24), done):
            lin = r.to_linear(frames[idx])
            # the same linear pixels through the still export, with the same extra XMP: the same file
            same = export_array(lin, "bt2020", tmp_path / f"still_{idx}.jpg", xmp_extra=frame_xmp(clips["pq"],
                                                                                                 frames[idx]))
            assert same.dst.read_bytes() == k.path.read_bytes()
            # and without the source fields: the same pixels
            plain = export_array(lin, "bt2020", tmp_path / f"plain_{idx}.jpg")
            stills.append(plain)
            a = np.asarray(Image.open(plain.dst))
            b = np.asarray(Image.open(k.path))
            assert np.array_equal(a, b)
    fields = _xmp_fields(done[1].path.read_bytes())
    assert fields[b"source"] == clips["pq"].name.encode()
    assert float(fields[b"source_time"]) == 1.0 and fields[b"source_pts"] == b"12288"


def test_every_seconds(clips, tmp_path):
    done, _ = export_keyframes(clips["hlg"], tmp_path, every=0.5)
    assert [k.index for k in done] == [0, 12, 24, 36]
    assert [k.path.name for k in done] == [f"hlg_{ms:08d}ms.jpg" for ms in (0, 500, 1000, 1500)]
    with Image.open(done[0].path) as im:
        assert im.size == (320, 180) and im.format == "JPEG" and im.info.get("icc_profile")


def test_rotation_is_applied_to_keyframes(clips, tmp_path):
    done, _ = export_keyframes(clips["pq_rot90"], tmp_path, limit=1)
    with Image.open(done[0].path) as im:
        assert im.size == (180, 320)  # displayed upright: the 90 degree display matrix turned the picture
    a = np.arange(6).reshape(2, 3)
    assert upright(a, 90).tolist() == [[2, 5], [1, 4], [0, 3]]  # counter-clockwise, as FFmpeg's matrix


def test_phone_keyframe(phone, tmp_path):
    done, damage = export_keyframes(phone, tmp_path)
    assert len(done) == 1 and not damage
    data = done[0].path.read_bytes()
    assert _xmp_fields(data)[b"source"] == b"hlg10-color-test.mp4"
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (1920, 1080)
