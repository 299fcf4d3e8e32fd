"""JPEG marker scanner: structure of real files checked against Pillow, bounds and limits."""

import io
import struct

import numpy as np
import pytest
from PIL import Image

from hdrkit.errors import ContainerError, HdrkitError, LimitError
from hdrkit.still.jpeg import app_segment, insert_segments, is_jpeg, scan_jpeg

from ._uhdr import APPLE, MINNIE, PHOTOSHOP, REAL, TRUNCATED


def _jpeg(w=64, h=48, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (h, w, 3), np.uint8)).save(buf, "JPEG", **kw)
    return buf.getvalue()


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_frame_and_app_segments_match_pillow(path):
    data = path.read_bytes()
    s = scan_jpeg(data)
    im = Image.open(path)
    assert (s.frame.width, s.frame.height) == im.size
    assert [(c.id, c.h, c.v, c.tq) for c in s.frame.components] == [tuple(x) for x in im.layer]
    ours = [(seg.name, seg.payload) for seg in s.segments if 0xE0 <= seg.marker <= 0xEF]
    assert ours == [(name, payload) for name, payload in im.applist]
    assert all(data[seg.offset] == 0xFF and data[seg.offset + 1] == seg.marker for seg in s.segments)


def test_end_of_primary_is_where_the_second_image_starts():
    for path in (MINNIE, PHOTOSHOP, APPLE):
        data = path.read_bytes()
        s = scan_jpeg(data)
        assert s.end == data.find(b"\xff\xd9\xff\xd8") + 2
        assert not s.truncated
        g = scan_jpeg(data, s.end)
        assert g.end == len(data)


def test_minnie_segment_order_and_payload_kinds():
    s = scan_jpeg(MINNIE.read_bytes())
    kinds = [seg.kind for seg in s.segments if seg.kind]
    assert kinds == ["icc", "iso21496", "mpf", "jfif"]  # MPF before JFIF: never rely on position
    assert s.iso21496 == b"\x00\x00\x00\x00"
    assert s.jfif == (1, 1)


def test_truncated_file_is_flagged_not_raised():
    s = scan_jpeg(TRUNCATED.read_bytes())
    assert s.truncated and s.end is None
    assert any("truncated" in w for w in s.warnings)


def test_cut_inside_a_header_raises_container_error():
    data = MINNIE.read_bytes()
    with pytest.raises(ContainerError, match="runs past the end"):
        scan_jpeg(data[:700])
    with pytest.raises(ContainerError):
        scan_jpeg(data[:3])


def test_not_a_jpeg():
    assert not is_jpeg(b"GIF89a")
    with pytest.raises(ContainerError, match="not a JPEG"):
        scan_jpeg(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)


def test_bad_segment_length():
    data = bytearray(_jpeg())
    s = scan_jpeg(bytes(data))
    dqt = next(seg for seg in s.segments if seg.name == "DQT")
    data[dqt.offset + 2:dqt.offset + 4] = b"\x00\x01"
    with pytest.raises(ContainerError, match="invalid length"):
        scan_jpeg(bytes(data))


def test_segment_count_limit():
    data = insert_segments(_jpeg(), [app_segment(0xFE, b"x")] * 50)
    assert len(scan_jpeg(data).segments_of(None)) > 50
    with pytest.raises(LimitError):
        scan_jpeg(data, max_segments=20)


def test_multi_chunk_icc_is_reassembled():
    icc = Image.open(APPLE).info["icc_profile"]
    big = icc + bytes(range(256)) * 400  # > one APP2 segment: Pillow splits it into chunks
    data = _jpeg(icc_profile=big)
    s = scan_jpeg(data)
    assert len(s.segments_of("icc")) == 2
    assert s.icc == big


def test_icc_with_a_missing_chunk_is_ignored_with_a_warning():
    icc = Image.open(APPLE).info["icc_profile"] + bytes(70000)
    data = _jpeg(icc_profile=icc)
    s = scan_jpeg(data)
    first = s.segments_of("icc")[0]
    cut = data[:first.offset] + data[first.end:]
    s2 = scan_jpeg(cut)
    assert s2.icc is None and any("ICC" in w for w in s2.warnings)


def _ext_xmp_segments(payload: bytes, guid: str, chunk: int):
    segs = []
    for off in range(0, len(payload), chunk):
        part = payload[off:off + chunk]
        body = b"http://ns.adobe.com/xmp/extension/\x00" + guid.encode() + struct.pack(">II", len(payload), off) + part
        segs.append(app_segment(0xE1, body))
    return segs


def test_extended_xmp_reassembled_in_any_order():
    payload = b"<x>" + b"a" * 150000 + b"</x>"
    guid = "0123456789ABCDEF0123456789ABCDEF"
    segs = _ext_xmp_segments(payload, guid, 60000)
    s = scan_jpeg(insert_segments(_jpeg(), segs[::-1]))
    assert s.xmp_extended == payload and s.xmp_extended_guid == guid


def test_extended_xmp_size_limit():
    segs = _ext_xmp_segments(b"z" * 100, "F" * 32, 60)
    with pytest.raises(LimitError):
        scan_jpeg(insert_segments(_jpeg(), segs), max_xmp_bytes=50)


def test_truncated_extended_xmp_in_real_file_is_read():
    s = scan_jpeg(TRUNCATED.read_bytes())
    assert s.xmp_extended_guid == "18AC0B6D96A83A7066059E016278C9C8"
    assert b"18AC0B6D96A83A7066059E016278C9C8" in s.xmp


@pytest.mark.parametrize("cut", [2, 4, 20, 100, 611, 700, 1000, 1340, 1360, 5000, 20931])
def test_any_cut_gives_structure_or_named_error(cut):
    data = MINNIE.read_bytes()[:cut]
    try:
        s = scan_jpeg(data)
    except HdrkitError:
        return
    assert s.truncated or s.end <= cut
