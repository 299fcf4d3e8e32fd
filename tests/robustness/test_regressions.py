"""Regression tests for what the fuzzer found: each input here once escaped as something other
than a named hdrkit error (or took seconds). Minimal reproducers, built from the description
of the crash, so each stays readable."""

from __future__ import annotations

import json
import struct

import pytest

from hdrkit.errors import HdrkitError, MetadataError

from .conftest import outcome_within


def refused_quickly(fn, *args, limit_s=1.0, **kw):
    """'refused' / 'accepted', or the escaped exception / 'timeout' (a forked child, killed if slow)."""
    return outcome_within(limit_s, fn, *args, **kw)


# ------------------------------------------------------------------------ ISO 21496-1
def _iso_record(gmax=(2, 1), gmin=(0, 1), base=(0, 1), alt=(2, 1)) -> bytes:
    """Final-layout record (one channel): version 0/0, flags 0, headrooms, then 5 fractions."""
    return (struct.pack(">HHB", 0, 0, 0) + struct.pack(">IIII", *base, *alt)
            + struct.pack(">iIiIIIiIiI", *gmin, *gmax, 1, 1, 1, 64, 1, 64))


@pytest.mark.parametrize("field", ["gmax", "gmin_neg", "alt"])
def test_iso21496_huge_log2_values(field):
    """2 ** (2**31 - 1) overflowed in to_floats (OverflowError); the record must be refused."""
    from hdrkit.still.iso21496 import parse_iso21496

    kw = {"gmax": dict(gmax=(0x7FFFFFFF, 1)), "gmin_neg": dict(gmin=(-0x7FFFFFFF, 1), gmax=(0x7FFFFFFF, 1)),
          "alt": dict(alt=(0xFFFFFFFF, 1))}[field]

    def go():
        parse_iso21496(_iso_record(**kw)).to_floats()

    assert refused_quickly(go) == "refused"


def test_iso21496_huge_values_in_a_whole_file():
    from tools.fuzz.corpus import gainmap_jpeg
    from hdrkit.still.gainmap import read_gainmap

    data = gainmap_jpeg()
    urn = b"urn:iso:std:iso:ts:21496:-1\x00"
    i = data.rindex(urn) + len(urn)
    rec = _iso_record(gmax=(0x7FFFFFFF, 1))
    old = data.rindex(urn)
    seg_len = int.from_bytes(data[old - 2:old], "big")
    body_len = seg_len - 2 - len(urn)
    bad = data[:old - 2] + (len(urn) + len(rec) + 2).to_bytes(2, "big") + urn + rec + data[i + body_len:]
    try:
        img = read_gainmap(bad, fallback="base")
        img.render()
    except HdrkitError:
        pass


# -------------------------------------------------------------------------------- XMP
@pytest.mark.parametrize("raw", [
    b"\xfe\xff" + "<x/>".encode("utf-16-be") + b"\x00",  # odd byte count after a UTF-16 BOM
    b"\xff\xfe" + "<x a='\U0001F600'/>".encode("utf-16-le")[:-3],  # cut inside a surrogate pair
    b"\xff\xfe\x00\xd8",  # lone surrogate
])
def test_xmp_broken_utf16(raw):
    """UnicodeDecodeError escaped from the UTF-16 branch of the XMP reader."""
    from hdrkit.still.xmp import parse_xmp

    assert refused_quickly(parse_xmp, raw) == "refused"


# ----------------------------------------------------------------------------- ST 2086
@pytest.mark.parametrize("text", ["(" + " " * 20000 + "x", "G(" + " " * 20000 + "x(", "G(1,1)" + "(" + "\t" * 20000])
def test_master_display_whitespace_backtracking(text):
    """Quadratic regex backtracking: '(' + 30000 spaces took over 30 s."""
    from hdrkit.metadata.st2086 import MasteringDisplay

    assert refused_quickly(MasteringDisplay.from_x265, text) == "refused"


@pytest.mark.parametrize("lum", ["inf", "nan", "1e999", "-inf", "1e305", "-1e308"])
def test_master_display_non_finite_luminance(lum):
    """float('inf') reached int() in the hint for a float-valued L(...) (OverflowError / ValueError)."""
    from hdrkit.metadata.st2086 import MasteringDisplay

    text = f"G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L({lum},50)"
    assert refused_quickly(MasteringDisplay.from_x265, text) == "refused"


def test_master_display_huge_integers():
    """int() of a 5000-digit number raised Python's digit-limit ValueError."""
    from hdrkit.metadata.st2086 import MasteringDisplay

    text = "G(" + "1" * 5000 + ",34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50)"
    assert refused_quickly(MasteringDisplay.from_x265, text) == "refused"


# --------------------------------------------------------------------------- HDR10+ JSON
def test_hdr10plus_deeply_nested_json(tmp_path):
    """json.loads raised RecursionError, which read_json did not turn into MetadataError."""
    from hdrkit.metadata.hdr10plus import read_json

    p = tmp_path / "deep.json"
    p.write_text("[" * 100_000 + "]" * 100_000)
    for strict in (True, False):
        with pytest.raises(MetadataError):
            read_json(p, strict=strict)


def _profile_b() -> dict:
    from tools.fuzz.corpus import _hdr10plus_json_seeds

    return json.loads(_hdr10plus_json_seeds()[-3])


@pytest.mark.parametrize("key,value", [("JSONInfo", True), ("ToolInfo", []), ("JSONInfo", "B"),
                                       ("SceneInfoSummary", {"SceneFirstFrameIndex": 0, "SceneFrameNumbers": 0}),
                                       ("SceneInfoSummary", {}), ("SceneInfoSummary", [1, 2])])
def test_hdr10plus_lenient_reader_wrong_shapes(tmp_path, key, value):
    """strict=False skipped the checks that made these shapes safe (AttributeError, KeyError, TypeError)."""
    from hdrkit.metadata.hdr10plus import read_json

    doc = _profile_b()
    doc[key] = value
    p = tmp_path / "x.json"
    p.write_text(json.dumps(doc))
    for strict in (True, False):
        try:
            read_json(p, strict=strict)
        except HdrkitError:
            pass


# ---------------------------------------------------------------------------------- video
@pytest.fixture()
def unknown_codec_mp4(tmp_path, hlg_clip):
    """An MP4 whose sample entry names a codec FFmpeg does not know: the stream has no codec context."""
    p = tmp_path / "unknown.mp4"
    p.write_bytes(hlg_clip.read_bytes().replace(b"hvc1", b"xxxx"))
    return p


def test_unknown_codec_video_reader(unknown_codec_mp4):
    """AttributeError on None (VideoReader read the colour tags of a missing codec context)."""
    from hdrkit.video.decode import VideoReader

    with pytest.raises(HdrkitError):
        VideoReader(unknown_codec_mp4).close()


def test_unknown_codec_video_info(unknown_codec_mp4):
    """AttributeError on None (video_info read pix_fmt of a missing codec context)."""
    from hdrkit.video.info import video_info

    with pytest.raises(HdrkitError):
        video_info(unknown_codec_mp4)


@pytest.fixture()
def latin1_tag_mp4(tmp_path, hlg_clip):
    """An MP4 whose metadata holds a non-UTF-8 string (older cameras write Latin-1 tags):
    PyAV's strict metadata decoding raised UnicodeDecodeError out of av.open."""
    data = hlg_clip.read_bytes()
    i = data.index(b"Lavf")  # the encoder tag in udta/meta/ilst
    p = tmp_path / "latin1.mp4"
    p.write_bytes(data[:i] + b"\xb1\xe9" + data[i + 2:])
    return p


def test_non_utf8_metadata_video_info(latin1_tag_mp4):
    from hdrkit.video.info import video_info

    assert video_info(latin1_tag_mp4)["container"]


def test_non_utf8_metadata_video_reader(latin1_tag_mp4):
    from hdrkit.video.decode import VideoReader

    with VideoReader(latin1_tag_mp4) as r:
        assert sum(1 for _ in r.frames()) == 8


def test_png_with_a_broken_chunk_after_a_short_idat():
    """Pillow raises SyntaxError ('broken PNG file') for a misaligned chunk header after an
    IDAT that stops early; load_linear let it escape."""
    import zlib

    import numpy as np

    from hdrkit.still.export import load_linear

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    rows = np.arange(24 * 32 * 3, dtype=">u2").reshape(24, 32 * 3) * 20
    comp = zlib.compress(b"".join(b"\x00" + r.tobytes() for r in rows))
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 24, 16, 2, 0, 0, 0))
            + chunk(b"IDAT", comp[:len(comp) // 2]) + b"\x00\x00\x00\x00\x00\x00IE")
    assert refused_quickly(load_linear, data) == "refused"


def test_audio_stream_without_codec_video_info(tmp_path, samples):
    """The real phone clip with its audio track's ``hdlr`` box size set to 0 ("to the end of
    the container"): FFmpeg keeps the audio stream but gives it no codec context, and
    video_info read ``.name`` of None (found by the fuzzer)."""
    from hdrkit.video.info import format_video_info, video_info

    data = bytearray((samples / "video" / "hlg10-color-test.mp4").read_bytes())
    i = data.index(b"hdlr", data.index(b"trak"))  # the first track's handler box: audio in this file
    data[i - 4:i] = b"\x00\x00\x00\x00"
    p = tmp_path / "broken_audio_trak.mp4"
    p.write_bytes(bytes(data))
    info = video_info(p)
    format_video_info(info)
    assert info["video"]["codec"] == "hevc"


def test_audio_stream_without_codec_proxy(tmp_path, samples):
    """Same file through ``hdrkit proxy``: copying the audio stream raised ValueError ('template
    stream of type audio has no codec context') as a traceback; it must be a one-line error or
    a proxy without that audio."""
    from .conftest import proxy_args, run_hdrkit

    data = bytearray((samples / "video" / "hlg10-color-test.mp4").read_bytes())
    i = data.index(b"hdlr", data.index(b"trak"))
    data[i - 4:i] = b"\x00\x00\x00\x00"
    src = tmp_path / "broken_audio_trak.mp4"
    src.write_bytes(bytes(data))
    p = run_hdrkit(*proxy_args(src, tmp_path / "proxy.mp4"), "--no-progress")
    assert "Traceback" not in p.stderr, p.stderr[-1500:]
    assert p.returncode in (0, 1, 2)


@pytest.fixture()
def chunk_offset_past_eof(tmp_path, samples):
    """The real phone clip with one byte of the video track's first 64-bit chunk offset
    (``co64``) changed, so the chunk lies far past the end of the file: demuxing raises
    FFmpeg's InvalidDataError mid-stream (found by the fuzzer)."""
    from tools.fuzz.mutators import split_boxes

    data = bytearray((samples / "video" / "hlg10-color-test.mp4").read_bytes())
    after = data.index(b"hvc1")
    _, s, _ = next(b for b in split_boxes(bytes(data)) if b[0] == b"co64" and b[1] > after)
    data[s + 17] ^= 0x10  # box header 8 + version/flags 4 + entry count 4, then the offset's 2nd byte
    p = tmp_path / "co64_past_eof.mp4"
    p.write_bytes(bytes(data))
    return p


def test_chunk_offset_past_the_end_video_info(chunk_offset_past_eof):
    from hdrkit.video.info import video_info

    try:
        video_info(chunk_offset_past_eof)
    except HdrkitError:
        pass


def test_chunk_offset_past_the_end_video_reader(chunk_offset_past_eof):
    from hdrkit.video.decode import VideoReader

    try:
        with VideoReader(chunk_offset_past_eof) as r:
            n = sum(1 for _ in r.frames())
        assert n < 9 and r.damage
    except HdrkitError:
        pass
