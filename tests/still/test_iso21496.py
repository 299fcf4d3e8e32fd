"""ISO 21496-1 records: the real libultrahdr block, both layouts, writer round trip, refusals."""

import math
import struct

import pytest

from hdrkit.errors import MetadataError
from hdrkit.still.gainmap import GainMapMetadata
from hdrkit.still.iso21496 import (ChannelFractions, Iso21496Record, parse_iso21496, parse_iso21496_version,
                                   to_fraction, write_iso21496)
from hdrkit.still.jpeg import scan_jpeg

from ._uhdr import MINNIE


def _minnie_block() -> bytes:
    data = MINNIE.read_bytes()
    return scan_jpeg(data, scan_jpeg(data).end).iso21496


def test_minnie_record_matches_the_published_values():
    # values of this file's ISO 21496-1 record as written by libultrahdr (headroom log2 = 5895489/1048576)
    r = parse_iso21496(_minnie_block())
    assert r.flags == 0xC0 and r.channel_count == 3 and r.use_base_colour_space and r.layout == "fractions"
    assert r.base_hdr_headroom[0] == 0 and r.alternate_hdr_headroom == (5895489, 1048576)
    f = r.to_floats()
    mins = [math.log2(v) for v in f["min_content_boost"]]
    maxs = [math.log2(v) for v in f["max_content_boost"]]
    assert mins == pytest.approx([-14.3, -0.5355, -14.3], abs=1e-4)
    assert maxs == pytest.approx([2.8117, 0.4664, 3.0041], abs=1e-4)
    assert f["gamma"] == (1.0, 1.0, 1.0)
    assert r.channels[0].base_offset == (77, 769999991) and f["offset_sdr"][0] == pytest.approx(1e-7)


def test_primary_stub_version():
    data = MINNIE.read_bytes()
    assert parse_iso21496_version(scan_jpeg(data).iso21496) == (0, 0)
    with pytest.raises(MetadataError, match="stub"):
        parse_iso21496(scan_jpeg(data).iso21496)


def _record(**kw):
    ch = ChannelFractions((-1, 2), (3, 1), (1, 1), (1, 64), (1, 64))
    base = dict(minimum_version=0, writer_version=0, use_base_colour_space=True, base_hdr_headroom=(0, 1),
                alternate_hdr_headroom=(3, 1), channels=(ch, ch, ch))
    base.update(kw)
    return Iso21496Record(**base)


def test_write_parse_round_trip_one_and_three_channels():
    one = _record()
    body = write_iso21496(one)
    assert len(body) == 61 and body[4] == 0x40  # libultrahdr's record sizes: 61 B (1 ch), 141 B (3 ch)
    back = parse_iso21496(body)
    assert back.channels == one.channels and back.channel_count == 1
    other = ChannelFractions((0, 1), (5, 2), (3, 2), (0, 1), (1, 100))
    three = _record(channels=(one.channels[0], other, one.channels[0]), use_base_colour_space=False)
    body3 = write_iso21496(three)
    assert len(body3) == 141 and body3[4] == 0x80
    back3 = parse_iso21496(body3)
    assert back3.channels == three.channels and not back3.use_base_colour_space


def test_compact_common_denominator_layout():
    d = 1000
    body = struct.pack(">HHB", 0, 0, 0x08 | 0x40) + struct.pack(">III", d, 0, 2500)
    body += struct.pack(">iiIii", -500, 2500, 1000, 15, 16)
    r = parse_iso21496(body)
    assert r.layout == "common-denominator"
    assert r.alternate_hdr_headroom == (2500, d) and r.channels[2].gain_map_min == (-500, d)
    m = GainMapMetadata.from_iso(r)
    assert m.max_content_boost[0] == pytest.approx(2 ** 2.5) and m.min_content_boost[0] == pytest.approx(2 ** -0.5)
    assert m.offset_sdr[0] == pytest.approx(0.015) and m.offset_hdr[0] == pytest.approx(0.016)


@pytest.mark.parametrize("mutate,match", [
    (lambda b: b[:0] + struct.pack(">H", 1) + b[2:], "minimum_version"),
    (lambda b: b[:4] + bytes([b[4] | 0x01]) + b[5:], "reserved"),
    (lambda b: b[:4] + bytes([b[4] | 0x04]) + b[5:], "backward"),
    (lambda b: b[:9] + struct.pack(">I", 0) + b[13:], "zero denominator"),   # base headroom D
    (lambda b: b[:25] + struct.pack(">I", 0) + b[29:], "zero denominator"),  # gain_map_min D
    (lambda b: b[:40], "truncated"),
    (lambda b: b[:3], "too short"),
])
def test_refusals(mutate, match):
    body = write_iso21496(_record())
    with pytest.raises(MetadataError, match=match):
        parse_iso21496(mutate(body))


def test_hdr_base_direction_is_refused():
    body = write_iso21496(_record(base_hdr_headroom=(3, 1), alternate_hdr_headroom=(0, 1)))
    with pytest.raises(MetadataError, match="HDR base"):
        parse_iso21496(body)


def test_to_fraction():
    n, d = to_fraction(math.log2(49.26))
    assert abs(n / d - math.log2(49.26)) < 1e-7
    assert to_fraction(-14.3) == (-143, 10)
    with pytest.raises(MetadataError):
        to_fraction(float("nan"))
    with pytest.raises(MetadataError):
        to_fraction(-1.0, signed=False)


def test_log2_values_too_large_for_a_float_are_refused():
    ch = ChannelFractions((0, 1), (2 ** 31 - 1, 1), (1, 1), (0, 1), (0, 1))
    rec = _record(channels=(ch, ch, ch), alternate_hdr_headroom=(2 ** 32 - 1, 1))
    with pytest.raises(MetadataError, match="out of range"):
        parse_iso21496(write_iso21496(rec)).to_floats()
