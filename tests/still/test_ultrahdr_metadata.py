"""Gain-map metadata writers: each one the inverse of its reader."""

from __future__ import annotations

import pytest

from hdrkit.still.gainmap import GainMapMetadata
from hdrkit.still.iso21496 import parse_iso21496, write_iso21496
from hdrkit.still.xmp import (ContainerItem, add_descriptions, parse_xmp, read_container, read_hdrgm,
                              write_container, write_hdrgm, xmp_packet)

ONE = GainMapMetadata(0.8, 7.5, 0.75, 1 / 64, 1 / 64, 1.0, 6.0)
THREE = GainMapMetadata((0.9, 0.8, 0.7), (4.0, 5.0, 6.0), (1.0, 0.5, 2.0), 1 / 64, (0.01, 0.02, 0.03), 1.0, 6.0)


def _close(a: GainMapMetadata, b: GainMapMetadata):
    for name in ("min_content_boost", "max_content_boost", "gamma", "offset_sdr", "offset_hdr"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-6, abs=1e-9), name
    assert (a.hdr_capacity_min, a.hdr_capacity_max) == pytest.approx((b.hdr_capacity_min, b.hdr_capacity_max), rel=1e-6)


@pytest.mark.parametrize("meta,n", [(ONE, 1), (THREE, 3)])
def test_iso_record_round_trip(meta, n):
    rec = meta.to_iso()
    assert rec.channel_count == n
    body = write_iso21496(rec, n)
    assert len(body) == (61 if n == 1 else 141)  # separate fractions, version and flags included
    back = parse_iso21496(body)
    assert back.channel_count == n and back.layout == "fractions"
    _close(GainMapMetadata.from_iso(back), meta)


@pytest.mark.parametrize("meta", [ONE, THREE])
def test_hdrgm_xmp_round_trip(meta):
    packet = xmp_packet([write_hdrgm(meta.to_hdrgm())])
    fields = read_hdrgm(parse_xmp(packet))
    assert fields.version == "1.0" and fields.base_rendition_is_hdr is False
    expect = "attribute" if meta.channels_identical else "seq"
    assert fields.forms["GainMapMax"] == expect and fields.forms["HDRCapacityMax"] == "attribute"
    _close(GainMapMetadata.from_hdrgm(fields), meta)


def test_container_directory_round_trip_and_packet_extension():
    items = [ContainerItem("Primary", "image/jpeg", None, None), ContainerItem("GainMap", "image/jpeg", 4321, None)]
    base = xmp_packet(['<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="x"/>'])
    packet = add_descriptions(base, [write_container(items)])
    assert packet.startswith(base[:base.index(b"</rdf:RDF>")])
    root = parse_xmp(packet)
    assert read_container(root) == items
    assert read_hdrgm(root).version == "1.0"
