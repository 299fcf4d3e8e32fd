"""MPF index: real files against Pillow's MPF reader, both byte orders, bounds, limits."""

import struct

import pytest
from PIL import Image

from hdrkit.errors import ContainerError, LimitError
from hdrkit.still.gainmap import GainMapUnavailableError, parse_container, read_gainmap
from hdrkit.still.jpeg import scan_jpeg
from hdrkit.still.mpf import build_mpf, parse_mpf

from ._uhdr import APPLE, MINNIE, PHOTOSHOP, TRUNCATED


def _index(path):
    data = path.read_bytes()
    s = scan_jpeg(data)
    return data, parse_mpf(s.mpf.body(), s.mpf_base_offset, len(data))


@pytest.mark.parametrize("path", (MINNIE, PHOTOSHOP, APPLE, TRUNCATED), ids=lambda p: p.name)
def test_entries_match_pillow(path):
    _, idx = _index(path)
    mp = Image.open(path)._getmp()
    assert [(e.size, e.offset) for e in idx.entries] == [(e["Size"], e["DataOffset"]) for e in mp[0xB002]]
    assert idx.number_of_images == mp[0xB001]


def test_byte_orders_of_real_files():
    assert _index(MINNIE)[1].byte_order == "big"
    assert _index(TRUNCATED)[1].byte_order == "little"


def test_offsets_are_absolute_and_trusted_over_sizes():
    data, idx = _index(APPLE)
    gm = idx.entries[1]
    assert data[gm.absolute_offset:gm.absolute_offset + 2] == b"\xff\xd8"
    # Apple writes the primary size 70 bytes too large; the offset is right
    assert idx.entries[0].size - gm.absolute_offset == 70
    c = parse_container(data)
    assert c.primary_end == gm.absolute_offset
    assert any("differs from the actual" in w for w in c.warnings)


def test_offset_past_end_is_reported():
    data, idx = _index(TRUNCATED)
    assert idx.entries[1].absolute_offset > len(data)
    assert any("past the end" in w for w in idx.warnings)


@pytest.mark.parametrize("order", ["big", "little"])
def test_build_parse_round_trip(order):
    body = build_mpf([(0x030000, 1000, 0), (0, 500, 900), (0, 300, 1400)], order)[4:]
    idx = parse_mpf(body, 100, 5000)
    assert idx.byte_order == order and idx.version == "0100" and idx.number_of_images == 3
    assert [(e.attribute, e.size, e.offset, e.absolute_offset) for e in idx.entries] == \
        [(0x030000, 1000, 0, 0), (0, 500, 900, 1000), (0, 300, 1400, 1500)]
    assert idx.entries[0].type_name == "baseline MP primary image"


def test_absurd_image_count_is_refused():
    body = bytearray(build_mpf([(0x030000, 10, 0), (0, 10, 10)])[4:])
    pos = body.find(struct.pack(">HHI", 0xB001, 4, 1)) + 8
    body[pos:pos + 4] = struct.pack(">I", 100000)
    with pytest.raises(LimitError):
        parse_mpf(bytes(body), 0, 100)


@pytest.mark.parametrize("mutate", [
    lambda b: b"XX" + b[2:],                         # byte order mark
    lambda b: b[:4] + struct.pack(">I", 4000) + b[8:],  # first IFD outside the segment
    lambda b: b[:30],                                 # entries cut off
])
def test_malformed_index(mutate):
    body = build_mpf([(0x030000, 10, 0), (0, 10, 10)])[4:]
    with pytest.raises(ContainerError):
        parse_mpf(mutate(body), 0, 100)


def _patch_gainmap_offset(data: bytes, new_abs: int) -> bytes:
    s = scan_jpeg(data)
    body = s.mpf.body()
    idx = parse_mpf(body, s.mpf_base_offset, len(data))
    e = ">" if idx.byte_order == "big" else "<"
    entries_at = body.find(struct.pack(e + "IIIHH", idx.entries[1].attribute, idx.entries[1].size,
                                       idx.entries[1].offset, 0, 0))
    pos = s.mpf.payload_offset + 4 + entries_at + 8
    return data[:pos] + struct.pack(e + "I", new_abs - s.mpf_base_offset) + data[pos + 4:]


def test_mpf_offset_outside_the_file_without_another_map():
    data = MINNIE.read_bytes()
    end = scan_jpeg(data).end
    primary_only = _patch_gainmap_offset(data[:end], 10 ** 6)
    with pytest.raises(GainMapUnavailableError, match="no usable gain map"):
        read_gainmap(primary_only)
    fb = read_gainmap(primary_only, fallback="base")
    assert fb.is_fallback and fb.gainmap is None


def test_wrong_mpf_offset_falls_back_to_the_next_image():
    data = _patch_gainmap_offset(MINNIE.read_bytes(), 10 ** 6)
    c = parse_container(data)
    assert c.problem is None and c.gainmap_locator == "next image"
    assert any("does not point at a JPEG" in w for w in c.warnings)
