"""Property-based fuzzing (Hypothesis) of the binary readers and their writers: structured
inputs built from the format's fields, checked for round trips and for refusing only with a
named hdrkit error."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hdrkit.errors import HdrkitError, MetadataError

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
s32 = st.integers(-(2**31), 2**31 - 1)
u32 = st.integers(0, 2**32 - 1)
edge32 = st.sampled_from([0, 1, 2, 64, 2**31 - 1, 2**32 - 1]) | u32


# ------------------------------------------------------------------------ ISO 21496-1
@st.composite
def iso_records(draw):
    flags = draw(st.sampled_from([0x00, 0x40, 0x80, 0xC0, 0x08, 0x88]))
    out = struct.pack(">HHB", 0, draw(st.integers(0, 3)), flags)
    nch = 3 if flags & 0x80 else 1
    if flags & 0x08:  # draft common-denominator layout
        out += struct.pack(">III", draw(edge32), draw(edge32), draw(edge32))
        for _ in range(nch):
            out += struct.pack(">iiIii", draw(s32), draw(s32), draw(edge32), draw(s32), draw(s32))
    else:
        out += struct.pack(">IIII", draw(edge32), draw(edge32), draw(edge32), draw(edge32))
        for _ in range(nch):
            out += struct.pack(">iIiIIIiIiI", draw(s32), draw(edge32), draw(s32), draw(edge32), draw(edge32),
                               draw(edge32), draw(s32), draw(edge32), draw(s32), draw(edge32))
    cut = draw(st.sampled_from([None, None, None, 4, 5, 20, len(out) - 1]))
    return out if cut is None else out[:cut]


@SETTINGS
@given(iso_records())
def test_iso21496_records(body):
    from hdrkit.still.iso21496 import parse_iso21496, write_iso21496

    try:
        rec = parse_iso21496(body)
        floats = rec.to_floats()
    except MetadataError:
        return
    for k, v in floats.items():
        for x in (v if isinstance(v, tuple) else (v,)):
            assert isinstance(x, bool) or math.isfinite(x), (k, v)
    assert parse_iso21496(write_iso21496(rec)).to_floats() == floats


# ----------------------------------------------------------------------------- ST 2086
@SETTINGS
@given(st.lists(st.integers(0, 50000), min_size=8, max_size=8), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_master_display_round_trip(xy, lmax, lmin):
    from hdrkit.metadata.st2086 import MasteringDisplay, sanitize

    text = "G({},{})B({},{})R({},{})WP({},{})L({},{})".format(*xy, lmax, lmin)
    md = MasteringDisplay.from_x265(text)
    assert md.to_x265() == text
    assert MasteringDisplay.from_sei_payload(md.to_sei_payload()) == md
    sanitize(md)


@SETTINGS
@given(st.text(alphabet="GBRWPL(),0123456789. -einfa", max_size=120))
def test_master_display_text(text):
    from hdrkit.metadata.st2086 import MasteringDisplay

    try:
        MasteringDisplay.from_x265(text)
    except HdrkitError:
        pass


# --------------------------------------------------------------------------------- MPF
@SETTINGS
@given(st.lists(st.tuples(u32, u32, u32), min_size=1, max_size=8), st.sampled_from(["big", "little"]))
def test_mpf_round_trip(entries, order):
    from hdrkit.still.mpf import build_mpf, parse_mpf

    body = build_mpf(entries, order)[4:]
    idx = parse_mpf(body, 0, 1 << 40)
    assert [(e.attribute, e.size, e.offset) for e in idx.entries] == entries
    assert idx.number_of_images == len(entries)


# -------------------------------------------------------------------------------- EXIF
_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8, 11: 4, 12: 8}
_SKIP = {0x8769, 0x8825, 0xA005, 0x0201, 0x0202, 0x0111, 0x0117, 0x0144, 0x0145, 0x014A, 0x927C, 0x000B, 0x0131,
         0xA001, 0xA002, 0xA003, 0x0103}


@st.composite
def exif_entries(draw):
    from hdrkit.still.exif import ExifEntry

    out = {}
    for _ in range(draw(st.integers(0, 12))):
        tag = draw(st.integers(1, 0xFFFF).filter(lambda t: t not in _SKIP))
        typ = draw(st.sampled_from(sorted(_TYPE_SIZE)))
        count = draw(st.integers(1, 40))
        out[tag] = ExifEntry(tag, typ, count, draw(st.binary(min_size=_TYPE_SIZE[typ] * count,
                                                             max_size=_TYPE_SIZE[typ] * count)))
    return out


@SETTINGS
@given(exif_entries(), exif_entries(), st.sampled_from([">", "<"]))
def test_exif_round_trip(ifd0, sub, endian):
    from hdrkit.still.exif import build_exif, parse_exif

    blob = build_exif(endian, {"0": ifd0, "exif": sub, "gps": {}}, width=10, height=20, software="t")
    e, back = parse_exif(blob)
    assert e == endian
    for t, x in ifd0.items():
        assert back["0"][t] == x
    for t, x in sub.items():
        assert back["exif"][t] == x


@SETTINGS
@given(st.binary(max_size=600))
def test_exif_bytes(data):
    from hdrkit.still.exif import parse_exif

    for head in (b"", b"Exif\x00\x00MM\x00*", b"II*\x00\x08\x00\x00\x00"):
        try:
            parse_exif(head + data)
        except HdrkitError:
            pass


# --------------------------------------------------------------------------- side data
@SETTINGS
@given(st.binary(max_size=200), st.integers(0, 12000))
def test_side_data_structs(data, pad):
    from hdrkit.metadata.cll import ContentLightLevel
    from hdrkit.metadata.sidedata import parse_cll, parse_dynamic_hdr_plus, parse_mdcv
    from hdrkit.metadata.st2086 import MasteringDisplay

    buf = (data * (pad // max(len(data), 1) + 1))[:pad] if data else bytes(pad)
    for fn in (parse_mdcv, parse_cll, parse_dynamic_hdr_plus, MasteringDisplay.from_side_data,
               ContentLightLevel.from_side_data, ContentLightLevel.from_sei_payload, MasteringDisplay.from_sei_payload):
        try:
            fn(buf)
        except HdrkitError:
            pass


@SETTINGS
@given(st.integers(-5, 2**70), st.integers(-5, 2**70), st.sampled_from([",", ", ", ";", ",,"]))
def test_max_cll_text(a, b, sep):
    from hdrkit.metadata.cll import parse_max_cll

    try:
        v = parse_max_cll(f"{a}{sep}{b}")
    except HdrkitError:
        return
    assert (v.max_cll, v.max_fall) == (a, b) and 0 <= a <= 65535 and 0 <= b <= 65535


# -------------------------------------------------------------------------------- JPEG
@st.composite
def jpeg_segments(draw):
    parts = [b"\xff\xd8"]
    for _ in range(draw(st.integers(0, 12))):
        m = draw(st.sampled_from([0xE0, 0xE1, 0xE2, 0xDB, 0xC4, 0xC0, 0xC2, 0xDD, 0xFE, 0xDA, 0xD9, 0xD0, 0x01, 0xFF, 0x00]))
        payload = draw(st.binary(max_size=40))
        if m in (0xD9, 0xD0, 0x01, 0xFF, 0x00):
            parts.append(bytes((0xFF, m)))
            continue
        ln = draw(st.sampled_from([len(payload) + 2, len(payload) + 2, 0, 1, 0xFFFF, len(payload) + 3]))
        parts.append(bytes((0xFF, m)) + struct.pack(">H", ln) + payload)
    return b"".join(parts) + draw(st.binary(max_size=30))


@SETTINGS
@given(jpeg_segments())
def test_jpeg_scanner_on_generated_segments(data):
    from hdrkit.still.jpeg import scan_jpeg

    try:
        s = scan_jpeg(data)
    except HdrkitError:
        return
    for seg in s.segments:
        assert 0 <= seg.offset < len(data)
        assert seg.end <= len(data)


@pytest.mark.parametrize("target", ["jpeg", "mpf", "xmp", "iso21496", "icc", "exif", "st2086", "cll", "sidedata",
                                    "hevc_sei"])
def test_targets_on_their_seeds(target):
    """Every seed of every target must itself be accepted or refused by name."""
    from tools.fuzz.corpus import build_corpus
    from tools.fuzz.runner import replay
    from tools.fuzz.targets import TARGETS

    t = TARGETS[target]
    if t.unavailable():
        pytest.skip(t.unavailable())
    for seed in build_corpus(t.corpus):
        kind, tb = replay(target, seed)
        assert kind in ("accepted", "refused"), tb
