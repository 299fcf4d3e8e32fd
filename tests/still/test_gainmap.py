"""read_gainmap and the HDR rebuild against libultrahdr (imagecodecs) and shipped reference decodes.

Agreement threshold: 60 dB PSNR with the reference maximum as peak, on linear light
brought to the oracle's output (HDR gamut, clamped to [0, 10000/203]).
"""

import struct

import imagecodecs
import numpy as np
import pytest

from hdrkit import GainMapImage, read_gainmap
from hdrkit.core.transfer import eotf_st2084
from hdrkit.errors import ContainerError, DecodeError, HdrkitError, LimitError, MetadataError
from hdrkit.still.gainmap import GainMapMetadata, GainMapUnavailableError, parse_container
from hdrkit.still.iso21496 import URN
from hdrkit.still.jpeg import app_segment, insert_segments, scan_jpeg
from hdrkit.still.xmp import XmpRefusedError

from ._uhdr import (APPLE, MINNIE, PHOTOSHOP, SAMPLES, TRUNCATED, as_oracle_output, make, minnie_reference_f16,
                    oracle, psnr, variant)

AGREEMENT_DB = 60.0
HEADROOMS = (None, 1.5, 2.0, 4.0, 8.0)


# ------------------------------------------------------------------------- agreement
@pytest.mark.parametrize("headroom", HEADROOMS)
def test_minnie_agrees_with_libultrahdr(headroom):
    data = MINNIE.read_bytes()
    im = read_gainmap(data)
    assert psnr(as_oracle_output(im, headroom), oracle(data, headroom)) >= AGREEMENT_DB


def test_minnie_agrees_with_the_shipped_reference_decode():
    im = read_gainmap(MINNIE)
    ref = minnie_reference_f16()
    assert np.array_equal(oracle(MINNIE.read_bytes(), 4.0), ref)  # the oracle is what produced the sample
    ours = as_oracle_output(im, 4.0)
    assert psnr(ours, ref) >= AGREEMENT_DB
    assert abs(float(ours.max()) - 0.901) < 0.005  # max of libultrahdr's shipped f16 decode at boost 4


@pytest.mark.parametrize("name", list(make().VARIANTS))
@pytest.mark.parametrize("headroom", (None, 1.5, 3.0))
def test_synthetic_files_agree_with_libultrahdr(name, headroom):
    data = variant(name)
    im = read_gainmap(data)
    assert psnr(as_oracle_output(im, headroom), oracle(data, headroom)) >= AGREEMENT_DB


def test_synthetic_set_covers_what_it_claims():
    kinds = {}
    for name in make().VARIANTS:
        im = read_gainmap(variant(name))
        kinds[name] = (im.gainmap.ndim, im.container.gainmap_locator, im.metadata.source, im.primaries,
                       im.base.chroma_factors, im.gainmap.shape[1] / im.width)
    assert kinds["asm_gray_s4_420"][0] == 2 and kinds["asm_gray_s4_420"][4] == (2, 2)
    assert kinds["uhdr_p3_s1"][0] == 3 and kinds["uhdr_p3_s1"][5] == 1
    assert kinds["uhdr_bt709_s2"][5] == 0.5 and kinds["uhdr_bt2100_s4"][5] == 0.25
    assert kinds["uhdr_bt2100_s4"][3] == "bt2020"  # use_base_colour_space = 0: gain in BT.2100
    assert kinds["asm_gray_nonint_scale_le"][5] == 0.4 and kinds["asm_xmp_attr"][2] == "xmp"
    assert read_gainmap(variant("asm_gray_nonint_scale_le")).mpf.byte_order == "little"


# ------------------------------------------------------------------ files libultrahdr can't read
def test_photoshop_seq_file_decodes_close_to_photoshops_hdr_export():
    assert not imagecodecs.ultrahdr_check(PHOTOSHOP.read_bytes())
    im = read_gainmap(PHOTOSHOP)
    assert im.metadata.source == "xmp" and im.primaries == "bt709"
    # AVIF: PQ, BT.709 primaries, full-range RGB codes (a loose reference, not an exact decode)
    avif = imagecodecs.avif_decode((SAMPLES / "reference_decodes" / "photoshop_seine_hdr_srgb.avif").read_bytes())
    ref = eotf_st2084(avif.astype(np.float64) / 1023) / 203
    assert psnr(im.render(), ref) > 25.0


def test_photoshop_metadata_is_the_xmp_text():
    m = read_gainmap(PHOTOSHOP).metadata
    assert np.log2(m.max_content_boost) == pytest.approx([1.277177, 1.277203, 1.277969], abs=1e-9)
    assert np.log2(m.min_content_boost) == pytest.approx([-0.256907, -0.261365, -0.280284], abs=1e-9)
    assert m.gamma == (0.953784, 0.941095, 0.919422)
    assert m.offset_sdr == (0.015625,) * 3 and m.hdr_capacity_max == pytest.approx(2 ** 1.3)


def test_apple_file_decodes():
    assert not imagecodecs.ultrahdr_check(APPLE.read_bytes())
    im = read_gainmap(APPLE)
    assert isinstance(im, GainMapImage)
    assert im.metadata.source == "apple" and im.primaries == "p3" and im.gainmap.shape == (256, 192)
    hdr, sdr = im.render(), im.render(1.0)
    assert np.isfinite(hdr).all() and hdr.shape == (512, 384, 3)
    # weight 0 at headroom 1 gives the base; the map only brightens (min boost 1)
    assert (hdr >= sdr - 1e-6).all() and hdr.max() > 2 * sdr.max()


def test_truncated_file_is_a_clean_error_even_with_fallback():
    for fb in (None, "base"):
        with pytest.raises(ContainerError, match="truncated"):
            read_gainmap(TRUNCATED, fallback=fb)


# ---------------------------------------------------------------------------- fallback
def test_missing_gain_map_and_base_fallback():
    data = MINNIE.read_bytes()
    primary = data[:scan_jpeg(data).end]
    with pytest.raises(GainMapUnavailableError) as ei:
        read_gainmap(primary)
    assert isinstance(ei.value, MetadataError)
    im = read_gainmap(primary, fallback="base")
    assert im.is_fallback and "MPF" in im.fallback_reason or "no" in im.fallback_reason
    assert any("SDR base fallback" in w for w in im.warnings)
    # libultrahdr at display boost 1 applies no gain: its output is the linearised base
    assert psnr(im.render(), oracle(data, 1.0)) >= AGREEMENT_DB


def test_unusable_metadata_gives_fallback_or_named_error():
    data = variant("asm_gray_s4_420")
    c = parse_container(data)
    g = c.gainmap
    iso_seg = g.segments_of("iso21496")[0]
    body = bytearray(iso_seg.payload)
    body[len(URN) + 9:len(URN) + 13] = b"\x00\x00\x00\x00"  # base headroom denominator
    bad = data[:iso_seg.offset + 4] + bytes(body) + data[iso_seg.end:]
    with pytest.raises(GainMapUnavailableError, match="zero denominator"):
        read_gainmap(bad)
    assert read_gainmap(bad, fallback="base").fallback_reason.startswith("ISO 21496-1")


# --------------------------------------------------------------------------- metadata
@pytest.mark.parametrize("kw,match", [
    (dict(min_content_boost=2.0, max_content_boost=1.0), "below the min"),
    (dict(max_content_boost=float("nan")), "NaN"),
    (dict(gamma=0.0), "gamma"),
    (dict(offset_sdr=-0.1), "offsets"),
    (dict(hdr_capacity_min=0.5), "capacity min"),
    (dict(hdr_capacity_max=1.0), "must exceed"),
    (dict(min_content_boost=(1, 2)), "1 or 3"),
])
def test_metadata_validation(kw, match):
    base = dict(min_content_boost=1.0, max_content_boost=4.0, hdr_capacity_max=4.0)
    base.update(kw)
    with pytest.raises(MetadataError, match=match):
        GainMapMetadata(**base)


def test_hdrgm_defaults_follow_the_spec():
    from hdrkit.still.xmp import parse_xmp, read_hdrgm

    x = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
         '<rdf:Description xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" hdrgm:Version="1.0" '
         'hdrgm:GainMapMax="2" hdrgm:HDRCapacityMax="2"/></rdf:RDF></x:xmpmeta>')
    m = GainMapMetadata.from_hdrgm(read_hdrgm(parse_xmp(x)))
    assert m.min_content_boost == (1.0,) * 3 and m.max_content_boost == (4.0,) * 3
    assert m.offset_sdr == (1 / 64,) * 3 and m.gamma == (1.0,) * 3 and m.hdr_capacity_min == 1.0
    with pytest.raises(MetadataError, match="HDRCapacityMax"):
        GainMapMetadata.from_hdrgm(read_hdrgm(parse_xmp(x.replace(' hdrgm:HDRCapacityMax="2"', ""))))


def test_apple_makernote_headroom():
    from hdrkit.still.gainmap import _apple_makernote_stops

    def exif_with(m33, m48):
        note_ifd = struct.pack(">H", 2) + struct.pack(">HHII", 33, 10, 1, 14 + 2 + 24 + 4) + \
            struct.pack(">HHII", 48, 10, 1, 14 + 2 + 24 + 4 + 8) + b"\0\0\0\0"
        note = b"Apple iOS\x00\x00\x01MM" + note_ifd + struct.pack(">ii", *m33) + struct.pack(">ii", *m48)
        ifd0 = struct.pack(">H", 1) + struct.pack(">HHII", 0x8769, 4, 1, 26) + b"\0\0\0\0"
        exif_ifd = struct.pack(">H", 1) + struct.pack(">HHII", 0x927C, 7, len(note), 44) + b"\0\0\0\0"
        return b"MM\x00*" + struct.pack(">I", 8) + ifd0 + exif_ifd + note

    assert _apple_makernote_stops(exif_with((1, 2), (1, 1000))) == pytest.approx(-20 * 0.001 + 1.8)
    assert _apple_makernote_stops(exif_with((3, 2), (1, 2))) == pytest.approx(-0.303 * 0.5 + 2.303)
    assert _apple_makernote_stops(b"MM\x00*\x00\x00\x00\x08\x00\x00") is None


# ----------------------------------------------------------------------- hostile input
def test_huge_frame_header_is_refused_before_decoding():
    data = bytearray(MINNIE.read_bytes())
    sof = next(s for s in scan_jpeg(bytes(data)).segments if s.name == "SOF0")
    data[sof.payload_offset + 1:sof.payload_offset + 5] = struct.pack(">HH", 60000, 60000)
    with pytest.raises(LimitError, match="MP limit"):
        read_gainmap(bytes(data))
    with pytest.raises(LimitError):
        read_gainmap(MINNIE, max_pixels=50_000)


def test_hostile_xmp_in_the_gain_map_is_refused():
    data = variant("asm_xmp_attr")
    c = parse_container(data)
    seg = c.gainmap.segments_of("xmp")[0]
    evil = b'<!DOCTYPE x [<!ENTITY a "' + b"a" * 10 + b'"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>'
    bad = data[:seg.offset] + app_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + evil) + data[seg.end:]
    with pytest.raises(XmpRefusedError):
        read_gainmap(bad)


def test_map_found_without_mpf_through_the_next_image():
    data = MINNIE.read_bytes()
    s = scan_jpeg(data)
    no_mpf = data[:s.mpf.offset] + data[s.mpf.end:]
    im = read_gainmap(no_mpf)
    assert im.mpf is None and im.container.gainmap_locator == "next image"
    assert psnr(as_oracle_output(im), oracle(data)) >= AGREEMENT_DB


def test_fuzzed_files_raise_only_named_errors():
    rng = np.random.default_rng(7)
    src = MINNIE.read_bytes()
    headers = scan_jpeg(src).segments[-1].offset + 20
    gm = scan_jpeg(src).end
    positions = list(range(0, headers, 7)) + list(range(gm, gm + 1500, 11))
    for i in range(160):
        data = bytearray(src)
        if i % 4 == 0:
            data = data[:int(rng.integers(0, len(src)))]
        else:
            for _ in range(int(rng.integers(1, 4))):
                data[positions[int(rng.integers(len(positions)))]] = int(rng.integers(0, 256))
        try:
            im = read_gainmap(bytes(data), fallback="base" if i % 2 else None, max_pixels=10_000_000)
        except HdrkitError as e:
            assert "\n" not in str(e)
            continue
        out = im.render()
        assert out.shape == (240, 320, 3) and np.isfinite(out).all()


def test_read_from_path_and_bytes_agree():
    a = read_gainmap(MINNIE).render()
    b = read_gainmap(MINNIE.read_bytes()).render()
    assert np.array_equal(a, b)
    with pytest.raises(ContainerError, match="no such file"):
        read_gainmap(SAMPLES / "does_not_exist.jpg")


def test_pyav_decoder_is_close():
    data = MINNIE.read_bytes()
    im = read_gainmap(data, decoder="pyav")
    assert psnr(as_oracle_output(im, 4.0), oracle(data, 4.0)) >= 45.0  # FFmpeg's IDCT differs by +-1


def test_insert_segments_used_by_the_generator_keeps_files_decodable():
    data = insert_segments(MINNIE.read_bytes()[:scan_jpeg(MINNIE.read_bytes()).end], [app_segment(0xFE, b"hi")])
    assert scan_jpeg(data).segments_of(None)


def _with_precision(data: bytes, sof_offset: int, bits: int) -> bytes:
    out = bytearray(data)
    out[sof_offset + 4] = bits  # SOF: marker, length (2), sample precision (ITU-T T.81 B.2.2)
    return bytes(out)


def test_map_decoded_beside_the_base_fails_as_it_did_alone():
    """The map decodes on a second thread: an undecodable map still gives the fallback or the
    named error, and a base that does not decode is reported first."""
    data = variant("asm_gray_s4_420")
    c = parse_container(data)
    map_sof = next(s.offset for s in scan_jpeg(data, c.gainmap_offset).segments if s.name.startswith("SOF"))
    bad_map = _with_precision(data, map_sof, 12)
    im = read_gainmap(bad_map, fallback="base")
    assert im.gainmap is None and "does not decode" in im.fallback_reason and "12-bit" in im.fallback_reason
    with pytest.raises(GainMapUnavailableError, match="12-bit"):
        read_gainmap(bad_map)
    base_sof = next(s.offset for s in c.primary.segments if s.name.startswith("SOF"))
    with pytest.raises(DecodeError, match="primary image has 12-bit"):
        read_gainmap(_with_precision(bad_map, base_sof, 12), fallback="base")
