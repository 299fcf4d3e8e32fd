"""Mastering display (ST 2086) and content light level: strings, bytes, sanitising, FFmpeg's reading."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, strategies as st

from hdrkit.errors import MetadataError
from hdrkit.io.ffmpeg import run_ffmpeg
from hdrkit.metadata.cll import ContentLightLevel, parse_max_cll
from hdrkit.metadata.sidedata import ffmpeg_stream_side_data, parse_mdcv
from hdrkit.metadata.st2086 import MDCV_PRESETS, MasteringDisplay, parse_master_display, sanitize

# x265 doc/reST/cli.rst and the reference table (strings that decode back exactly)
X265_DOC = {
    "p3-d65-1000": "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)",
    "p3-d65-1000-0.005": "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50)",
    "bt2020-4000": "G(8500,39850)B(6550,2300)R(35400,14600)WP(15635,16450)L(40000000,50)",
    "bt2020-1000": "G(8500,39850)B(6550,2300)R(35400,14600)WP(15635,16450)L(10000000,1)",
}


@pytest.mark.parametrize("name", sorted(X265_DOC))
def test_presets_match_x265_strings(name):
    md = MDCV_PRESETS[name]
    assert md.to_x265() == X265_DOC[name]
    assert MasteringDisplay.from_x265(X265_DOC[name]) == md
    assert sanitize(md).problems == []
    assert parse_master_display(name) == md


def test_spaces_tolerated_like_x265():
    s = "G(13250, 34500) B(7500, 3000) R(34000, 16000) WP(15635, 16450) L(10000000, 50)"
    assert MasteringDisplay.from_x265(s).to_x265() == X265_DOC["p3-d65-1000-0.005"]


@given(g=st.tuples(st.integers(1, 50000), st.integers(1, 50000)), b=st.tuples(st.integers(1, 50000), st.integers(1, 50000)),
       r=st.tuples(st.integers(1, 50000), st.integers(1, 50000)), w=st.tuples(st.integers(1, 50000), st.integers(1, 50000)),
       lmax=st.integers(0, 2**32 - 1), lmin=st.integers(0, 2**32 - 1))
def test_units_round_trip(g, b, r, w, lmax, lmin):
    s = f"G({g[0]},{g[1]})B({b[0]},{b[1]})R({r[0]},{r[1]})WP({w[0]},{w[1]})L({lmax},{lmin})"
    md = MasteringDisplay.from_x265(s)
    assert md.to_x265() == s
    assert MasteringDisplay.from_sei_payload(md.to_sei_payload()) == md


def test_rgb_order_is_refused_with_the_fix():
    rgb_order = "G(34000,16000)B(13250,34500)R(7500,3000)WP(15635,16450)L(10000000,50)"
    res = sanitize(MasteringDisplay.from_x265(rgb_order))
    assert res.reordered and res.value.to_x265() == X265_DOC["p3-d65-1000-0.005"]
    with pytest.raises(MetadataError, match="wrong order.*" + r"G\(13250,34500\)"):
        parse_master_display(rgb_order)
    with pytest.raises(MetadataError, match="G,B,R,WP,L"):
        parse_master_display("R(34000,16000)G(13250,34500)B(7500,3000)WP(15635,16450)L(10000000,50)")


def test_nits_instead_of_units():
    with pytest.raises(MetadataError, match=r"L\(10000000,50\)"):
        parse_master_display("G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(1000,0.005)")
    md = MasteringDisplay.from_x265("G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(1000,1)")
    res = sanitize(md)
    assert not res.luminance_valid and "1000 cd/m^2 written in cd/m^2" in res.problems[0]
    with pytest.raises(MetadataError):
        md.require_valid()


@pytest.mark.parametrize("lmax,lmin,ok", [(1000, 0.005, True), (4.0, 0.001, False), (1000, 1000, False),
                                          (1000, 2000, False), (20000, 0.1, False), (100, 0.0, True)])
def test_luminance_rules(lmax, lmin, ok):
    md = MasteringDisplay(*[MDCV_PRESETS["bt2020-1000"].__getattribute__(k) for k in ("red", "green", "blue", "white")],
                          max_luminance=lmax, min_luminance=lmin)
    assert sanitize(md).luminance_valid is ok


def test_unknown_primaries_reordered_by_geometry():
    # a custom wide gamut given as B, R, G: red = largest x, green = largest y
    md = MasteringDisplay(red=(0.14, 0.05), green=(0.70, 0.30), blue=(0.17, 0.78), white=(0.3127, 0.329),
                          max_luminance=1000, min_luminance=0.001)
    res = sanitize(md)
    assert res.reordered and res.value.red == (0.70, 0.30) and res.value.green == (0.17, 0.78)


def test_side_data_struct_layout_from_real_stream(tmp_path, pq_source):
    """FFmpeg decodes an x265 MDCV/CLL SEI into the 88 / 8 byte structs the ctypes mirrors parse."""
    import av

    src = pq_source[0]
    out = tmp_path / "md.hevc"
    md = MDCV_PRESETS["bt2020-4000"]
    run_ffmpeg(["-y", "-i", src, "-frames:v", "2", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                f"log-level=error:hdr10=1:master-display={md.to_x265()}:max-cll=1234,567", out])
    with av.open(str(out)) as c:
        f = next(c.decode(video=0))
        sd = {s.type.name: bytes(s) for s in f.side_data}
    assert len(sd["MASTERING_DISPLAY_METADATA"]) == 88 and len(sd["CONTENT_LIGHT_LEVEL"]) == 8
    raw = parse_mdcv(sd["MASTERING_DISPLAY_METADATA"])["raw"]
    assert raw["max_luminance"] == (40000000, 10000)  # FFmpeg keeps the SEI units as rationals
    assert raw["primaries"][0][0] == (35400, 50000)  # R first in FFmpeg's struct
    assert MasteringDisplay.from_side_data(sd["MASTERING_DISPLAY_METADATA"]) == md
    assert ContentLightLevel.from_side_data(sd["CONTENT_LIGHT_LEVEL"]) == ContentLightLevel(1234, 567)
    # independent decode of the 88 bytes: 22 little-endian ints
    v = struct.unpack("<22i", sd["MASTERING_DISPLAY_METADATA"])
    assert v[20:22] == (1, 1) and v[0:2] == (35400, 50000)


def test_ffmpeg_option_string_is_accepted(tmp_path, pq_source):
    """The -mastering_display / -content_light strings become the container boxes FFmpeg lists."""
    src = pq_source[0]
    md = MDCV_PRESETS["p3-d65-1000-0.005"]
    out = tmp_path / "c.mkv"
    run_ffmpeg(["-y", "-mastering_display", md.to_ffmpeg_option(), "-content_light", "1000,400", "-i", src,
                "-frames:v", "1", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", out])
    ff = ffmpeg_stream_side_data(out)
    assert ff["cll"] == (1000, 400)
    assert ff["mdcv"]["max_luminance"] == pytest.approx(1000) and ff["mdcv"]["min_luminance"] == pytest.approx(0.005)
    assert ff["mdcv"]["primaries"][0] == pytest.approx(md.red, abs=1e-4)  # R, G, B as FFmpeg prints them


def test_cll_strings_and_limits():
    c = parse_max_cll("1000, 400")
    assert c == ContentLightLevel(1000, 400) and c.to_x265() == "1000,400"
    assert ContentLightLevel.from_sei_payload(c.to_sei_payload()) == c
    for bad in ("1000", "1000,400,1", "1000.5,400", "-1,0", "70000,1"):
        with pytest.raises(MetadataError):
            parse_max_cll(bad)
    with pytest.raises(MetadataError):
        parse_max_cll("100,400")  # MaxFALL above MaxCLL
