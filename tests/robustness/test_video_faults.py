"""Damaged and mislabelled video: truncated and bit-flipped HEVC, missing frames, zero-length
files, wrong colour tags, and malformed ST 2086 / HDR10+ side data as real files carry it.

Whatever the damage, reading gives frames (with the damage recorded) or a named hdrkit
error, quickly; never another exception.
"""

from __future__ import annotations

import random
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from hdrkit.errors import ContainerError, HdrkitError, MetadataError, OptionError


def read_all(path: Path, **kw):
    """(frames decoded, damage summary) or the HdrkitError raised."""
    from hdrkit.video.decode import VideoReader

    t0 = time.perf_counter()
    try:
        with VideoReader(path, **kw) as r:
            n = 0
            for f in r.frames():
                if n < 2:
                    lin = r.to_linear(f)
                    assert lin.dtype == np.float32 and np.isfinite(lin).all()
                n += 1
            out = (n, r.damage)
    except HdrkitError as e:
        assert "\n" not in str(e)
        out = e
    assert time.perf_counter() - t0 < 10
    return out


def info_of(path: Path):
    from hdrkit.video.info import format_video_info, video_info

    try:
        d = video_info(path)
        format_video_info(d)
        return d
    except HdrkitError as e:
        return e


@pytest.mark.parametrize("fraction", [0.0, 0.02, 0.2, 0.45, 0.7, 0.9, 0.97])
@pytest.mark.parametrize("container", ["mp4", "hevc"])
def test_truncated(tmp_path, hlg_clip, pq_clip, container, fraction):
    from tools.fuzz.corpus import encode_clip

    src = hlg_clip if container == "mp4" else encode_clip(tmp_path / "s.hevc", "pq")
    data = src.read_bytes()
    cut = tmp_path / f"cut.{container}"
    cut.write_bytes(data[:int(len(data) * fraction)])
    res = read_all(cut, allow_sdr=True)
    if not isinstance(res, HdrkitError):
        n, damage = res
        assert n <= 8
        if container == "mp4" and fraction < 0.97 and n < 8:
            assert damage, "frames are missing but no damage was recorded"
    info_of(cut)


@pytest.mark.parametrize("seed", range(12))
def test_bit_flipped(tmp_path, hlg_clip, pq_clip, seed):
    rng = random.Random(seed)
    src = hlg_clip if seed % 2 else pq_clip
    b = bytearray(src.read_bytes())
    for _ in range(rng.choice((1, 8, 40))):
        i = rng.randrange(len(b)) if seed % 3 == 0 else rng.randrange(len(b) // 4, len(b))
        b[i] ^= 1 << rng.randrange(8)
    p = tmp_path / "flip.mp4"
    p.write_bytes(bytes(b))
    read_all(p, allow_sdr=True)
    info_of(p)


def test_missing_frames(tmp_path):
    """Annex B stream with access units removed: fewer frames, no exception."""
    from tools.fuzz.corpus import encode_clip
    from tools.fuzz.mutators import split_nals

    src = encode_clip(tmp_path / "s.hevc", "hlg").read_bytes()
    nals = split_nals(src)
    vcl = [i for i, (s, e) in enumerate(nals) if ((src[s] >> 1) & 0x3F) < 32]
    assert len(vcl) >= 8
    drop = set(vcl[2:5])
    kept = b"".join(b"\x00\x00\x00\x01" + src[s:e] for i, (s, e) in enumerate(nals) if i not in drop)
    p = tmp_path / "holes.hevc"
    p.write_bytes(kept)
    res = read_all(p)
    assert not isinstance(res, HdrkitError), res
    assert res[0] < 8


def test_zero_length_and_garbage(tmp_path):
    from hdrkit.video.decode import VideoReader

    for name, data in (("empty.mp4", b""), ("garbage.mp4", b"\x00" * 1000), ("text.mp4", b"ftypisom" * 100)):
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(HdrkitError):
            with VideoReader(p):
                pass
        assert isinstance(info_of(p), HdrkitError)
    with pytest.raises(ContainerError):
        VideoReader(tmp_path / "missing.mp4")


def _set_colr(data: bytes, primaries=None, transfer=None, matrix=None) -> bytes:
    """Rewrite the nclx ``colr`` box (ISO/IEC 14496-12 §12.1.5) of an MP4."""
    from tools.fuzz.mutators import split_boxes

    b = bytearray(data)
    for typ, s, e in split_boxes(data):
        if typ == b"colr" and data[s + 8:s + 12] == b"nclx":
            for off, v in ((12, primaries), (14, transfer), (16, matrix)):
                if v is not None:
                    struct.pack_into(">H", b, s + off, v)
            return bytes(b)
    raise AssertionError("no nclx colr box")


def test_untagged_clip_names_the_assume_option(untagged_clip):
    res = read_all(untagged_clip)
    assert isinstance(res, OptionError) and "--assume-" in str(res)
    n, _ = read_all(untagged_clip, assume_transfer="hlg", assume_primaries="bt2020", assume_matrix="bt2020",
                    assume_range="limited")
    assert n == 8


@pytest.mark.parametrize("tags", [dict(transfer=1), dict(transfer=255), dict(primaries=0, transfer=0, matrix=0),
                                  dict(matrix=0), dict(primaries=22)])
def test_wrong_container_tags(tmp_path, hlg_clip, tags):
    """Tags in the MP4 that contradict or miss (the HEVC VUI still says HLG BT.2020)."""
    p = tmp_path / "tags.mp4"
    p.write_bytes(_set_colr(hlg_clip.read_bytes(), **tags))
    res = read_all(p)  # frames, or a named refusal (read_all checks it is one line)
    if not isinstance(res, HdrkitError):
        assert res[0] == 8
    info_of(p)


# ------------------------------------------------------------------ side data structs
def _mdcv_bytes(prims_rgb, white, lmax, lmin, has_p=1, has_l=1, den_xy=50000, den_l=10000) -> bytes:
    """AVMasteringDisplayMetadata as libavutil lays it out (AVRational = two int32)."""
    out = b""
    for x, y in prims_rgb:
        out += struct.pack("<iiii", x, den_xy, y, den_xy)
    out += struct.pack("<iiii", white[0], den_xy, white[1], den_xy)
    out += struct.pack("<iiii", lmin, den_l, lmax, den_l)
    return out + struct.pack("<ii", has_p, has_l)


def test_mdcv_as_seen_in_real_files():
    """R,G,B order written where G,B,R belongs and 1000 cd/m^2 written in cd/m^2 (decodes as 0.1)."""
    from hdrkit.metadata.st2086 import MasteringDisplay, sanitize

    good = ((34000, 16000), (13250, 34500), (7500, 3000))  # P3 R, G, B in 0.00002 units
    rotated = (good[2], good[0], good[1])  # an RGB-ordered x265 string lands rotated in the R,G,B slots
    md = MasteringDisplay.from_side_data(_mdcv_bytes(rotated, (15635, 16450), 1000, 50))
    res = sanitize(md)
    assert res.reordered and not res.luminance_valid
    assert res.value is not None and res.value.gamut() == "p3"
    assert any("cd/m^2" in p for p in res.problems)
    for bad in (_mdcv_bytes(good, (15635, 16450), 10000000, 50, den_xy=0, den_l=0),
                _mdcv_bytes(good, (0, 0), 0, 0, has_p=0, has_l=0),
                _mdcv_bytes(good, (15635, 16450), -5, 7)):
        try:
            v = MasteringDisplay.from_side_data(bad)
        except HdrkitError:
            continue
        if v is not None:
            sanitize(v)


@pytest.mark.parametrize("n", [0, 1, 24, 40, 87, 200])
def test_short_side_data_buffers(n):
    from hdrkit.metadata.sidedata import parse_cll, parse_dynamic_hdr_plus, parse_mdcv

    buf = bytes(range(256)) * (n // 256 + 1)
    for fn, size in ((parse_mdcv, 88), (parse_cll, 8), (parse_dynamic_hdr_plus, 11304)):
        if n < size:
            with pytest.raises(MetadataError):
                fn(buf[:n])


def test_hdr10plus_side_data_out_of_range(pq_clip):
    """Real HDR10+ side data from the clip, then windows / counts / denominators broken."""
    import av

    from hdrkit.metadata.hdr10plus import Hdr10PlusFrame
    from hdrkit.metadata.sidedata import AVDynamicHDRPlus, parse_dynamic_hdr_plus

    with av.open(str(pq_clip)) as c:
        f = next(c.decode(video=0))
        raw = next(bytes(sd) for sd in f.side_data if "HDR_PLUS" in str(getattr(sd.type, "name", sd.type)))
    good = parse_dynamic_hdr_plus(raw)
    assert good["num_windows"] == 1 and good["maxscl"][0] > 0
    s = AVDynamicHDRPlus.from_buffer_copy(raw)
    for field, value in (("num_windows", 0), ("num_windows", 4), ("application_version", 255)):
        t = AVDynamicHDRPlus.from_buffer_copy(raw)
        setattr(t, field, value)
        try:
            Hdr10PlusFrame.from_side_data(bytes(t)).to_json()
        except HdrkitError:
            pass
    t = AVDynamicHDRPlus.from_buffer_copy(raw)
    t.params[0].num_distribution_maxrgb_percentiles = 200
    t.params[0].maxscl[0].den = 0
    with pytest.raises(MetadataError):
        parse_dynamic_hdr_plus(bytes(t))
    del s


def test_clip_with_mdcv_luminance_in_nits(tmp_path):
    """x265 given L(1000,1) (cd/m^2 instead of 0.0001 units): the decoded MDCV says 0.1 cd/m^2."""
    import av

    from hdrkit.io.ffmpeg import run_ffmpeg
    from hdrkit.metadata.st2086 import MasteringDisplay, sanitize

    out = tmp_path / "nits.mp4"
    run_ffmpeg(["-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=128x72:rate=24:duration=0.125",
                "-vf", "setparams=color_primaries=bt2020:color_trc=smpte2084:colorspace=bt2020nc:range=tv,format=yuv420p10le",
                "-c:v", "libx265", "-preset", "ultrafast",
                "-x265-params", "log-level=error:hdr10=1:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:"
                "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(1000,1):max-cll=1000,400",
                "-tag:v", "hvc1", str(out)], timeout=120)
    with av.open(str(out)) as c:
        f = next(c.decode(video=0))
        raw = next(bytes(sd) for sd in f.side_data if "MASTERING" in str(getattr(sd.type, "name", sd.type)))
    md = MasteringDisplay.from_side_data(raw)
    # FFmpeg either passes 0.1 cd/m^2 on or flags the luminance absent (has_luminance = 0)
    assert abs(md.max_luminance - 0.1) < 1e-9 or md.max_luminance == 0.0
    res = sanitize(md)
    assert not res.luminance_valid and res.primaries_valid
    info = info_of(out)
    assert not isinstance(info, HdrkitError)
