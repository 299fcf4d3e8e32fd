"""Video decoding: colour tags (against FFmpeg's own reading), input policy, and the fused
Y'CbCr -> linear kernel against the numpy reference and colour-science."""

from __future__ import annotations

import re

import colour
import numpy as np
import pytest

from hdrkit.core.transfer import SDR_WHITE_NITS
from hdrkit.errors import DecodeError, OptionError
from hdrkit.io.ffmpeg import run_ffmpeg
from hdrkit.core.signal import signal_to_linear, yuv_to_linear, yuv_to_linear_reference
from hdrkit.video.decode import ColourInfo, VideoReader, resolve_colour

from .conftest import ffmpeg_stream_text

_STREAM = re.compile(r"Video: .*?, (yuv\w+)\((tv|pc)(?:, ([\w-]+)(?:/([\w-]+)/([\w-]+))?)?")


def ffmpeg_tags(path) -> dict:
    """pix_fmt, range, matrix, primaries, transfer as FFmpeg prints them (one name when all three agree)."""
    m = _STREAM.search(ffmpeg_stream_text(path))
    assert m, "FFmpeg did not describe the video stream"
    mat = m.group(3)
    return {"pix_fmt": m.group(1), "range": m.group(2), "colorspace": mat, "color_primaries": m.group(4) or mat,
            "color_trc": m.group(5) or mat}


@pytest.mark.parametrize("name", ["phone", "pq", "hlg", "sdr"])
def test_tags_match_ffmpeg(name, clips, phone):
    path = phone if name == "phone" else clips[name]
    with VideoReader(path, allow_sdr=True) as r:
        ours = r.colour.ffmpeg_names()
        pix = r.colour.pix_fmt
    theirs = ffmpeg_tags(path)
    assert theirs["pix_fmt"] == pix
    for k in ("colorspace", "color_primaries", "color_trc", "range"):
        assert ours[k] == theirs[k], k


def test_phone_clip_description(phone):
    with VideoReader(phone) as r:
        c = r.colour
        assert (c.transfer, c.primaries, c.matrix, c.full_range, c.bit_depth, c.chroma_shift) == \
            ("hlg", "bt2020", "bt2020", False, 10, (1, 1))
        assert (r.width, r.height, r.frame_count, r.rotation) == (1920, 1080, 9, 0)
        frames = list(r.frames())
    assert len(frames) == 9
    assert [f.pts for f in frames] == [3001 * i for i in range(9)]
    assert frames[0].y.shape == (1080, 1920) and frames[0].u.shape == (540, 960)
    assert not r.damage


def _planes(rng, h, w, shift, bits):
    top = 2**bits - 1
    hc, wc = -(-h // (1 << shift[1])), -(-w // (1 << shift[0]))
    dt = np.uint16 if bits > 8 else np.uint8
    return (rng.integers(0, top + 1, (h, w)).astype(dt), rng.integers(0, top + 1, (hc, wc)).astype(dt),
            rng.integers(0, top + 1, (hc, wc)).astype(dt))


@pytest.mark.parametrize("transfer, matrix, full, shift, bits", [
    ("pq", "bt2020", False, (1, 1), 10),
    ("hlg", "bt2020", False, (1, 1), 10),
    ("hlg", "bt2020", True, (1, 0), 10),
    ("pq", "bt709", True, (0, 0), 12),
    ("bt1886", "bt709", False, (1, 1), 8),
    ("srgb", "bt601", True, (1, 1), 8),
])
def test_fast_kernel_matches_reference(transfer, matrix, full, shift, bits):
    rng = np.random.default_rng(3)
    h, w = 37, 58  # odd height: chroma edge rows
    y, u, v = _planes(rng, h, w, shift, bits)
    c = ColourInfo(transfer, "bt2020", matrix, full, bits, shift, "test")
    fast = yuv_to_linear(y, u, v, c)
    ref = yuv_to_linear_reference(y, u, v, c)
    assert fast.dtype == np.float32 and fast.shape == (h, w, 3)
    np.testing.assert_allclose(fast, ref, rtol=2e-4, atol=2e-6)


def test_fast_kernel_matches_reference_on_real_frames(phone, clips):
    for path in (phone, clips["pq"]):
        with VideoReader(path) as r:
            f = next(r.frames())
            fast = r.to_linear(f)
            ref = yuv_to_linear_reference(f.y, f.u, f.v, r.colour)
        np.testing.assert_allclose(fast, ref, rtol=2e-4, atol=2e-6)


def test_signal_to_linear_against_colour_science():
    e = np.random.default_rng(1).random((500, 3))
    np.testing.assert_allclose(signal_to_linear(e, "pq"), colour.models.eotf_ST2084(e) / SDR_WHITE_NITS, rtol=1e-9)
    theirs = colour.models.eotf_BT2100_HLG(e, L_B=0, L_W=1000) / SDR_WHITE_NITS
    np.testing.assert_allclose(signal_to_linear(e, "hlg"), theirs, rtol=2e-4)  # colour: 4-decimal Y_S weights


def _grey_planes(signal: float, h=8, w=8):
    code = int(round(64 + 876 * signal))
    return (np.full((h, w), code, np.uint16), np.full((h // 2, w // 2), 512, np.uint16),
            np.full((h // 2, w // 2), 512, np.uint16))


def test_hlg_75_percent_is_reference_white():
    """BT.2408: HLG 75 % on a 1000 cd/m^2 display (gamma 1.2) is 203 cd/m^2, after the OOTF."""
    c = ColourInfo("hlg", "bt2020", "bt2020", False, 10, (1, 1), "yuv420p10le")
    lin = yuv_to_linear(*_grey_planes(0.75), c)
    nits = lin * SDR_WHITE_NITS
    # code 721 is signal 0.74997; 1 % covers the code rounding and the reference's 3-digit figure
    np.testing.assert_allclose(nits, 203.0, rtol=0.01)
    scene = colour.models.oetf_inverse_BT2100_HLG(0.75)
    assert abs(scene * 1000 - 265) < 1  # the pitfall: 265 "nits" before the OOTF


def test_pq_reference_white_code():
    c = ColourInfo("pq", "bt2020", "bt2020", False, 10, (1, 1), "yuv420p10le")
    e = float(colour.models.eotf_inverse_ST2084(203.0))
    lin = yuv_to_linear(*_grey_planes(e), c)
    np.testing.assert_allclose(lin, 1.0, rtol=0.006)  # one 10-bit code near 203 cd/m^2 is ~0.55 %


@pytest.mark.parametrize("name", ["pq_flat", "hlg_flat"])
def test_patches_decode_to_their_light(name, clips, make_clips_module):
    """Lossless synthetic clip: each neutral patch decodes to the cd/m^2 it was made with."""
    with VideoReader(clips[name]) as r:
        f = next(r.frames())
        lin = r.to_linear(f)
        layout = make_clips_module.patch_layout(r.width, r.height)
    for x0, y0, x1, y1, rgb in layout["neutral"]:
        want = rgb[0]
        got = lin[y0 + 3:y1 - 3, x0 + 3:x1 - 3].mean(axis=(0, 1)) * SDR_WHITE_NITS
        tol = 0.03 * want + 0.02  # 10-bit quantisation of the signal (PQ ~0.5-1 %, HLG near black coarser)
        np.testing.assert_allclose(got, want, atol=tol, err_msg=f"{name} patch {want} cd/m^2")
    # reference white, the anchor of the whole SDR mapping: 203 cd/m^2 -> 1.0
    x0, y0, x1, y1, _ = layout["neutral"][4]
    assert abs(lin[y0 + 3:y1 - 3, x0 + 3:x1 - 3].mean() - 1.0) < 0.015


def test_untagged_input_refused_and_assumed(clips):
    with pytest.raises(OptionError) as e:
        VideoReader(clips["untagged"])
    msg = str(e.value)
    for flag in ("--assume-transfer", "--assume-primaries", "--assume-range"):
        assert flag in msg
    with VideoReader(clips["untagged"], assume_transfer="pq", assume_primaries="bt2020", assume_matrix="bt2020",
                     assume_range="limited") as r:
        assert r.colour.assumed == ("transfer", "primaries", "matrix", "range")
        f = next(r.frames())
        lin = r.to_linear(f)
    with VideoReader(clips["pq"]) as r:  # the same scene, tagged
        ref = r.to_linear(next(r.frames()))
    assert abs(float(lin.mean()) - float(ref.mean())) < 0.02 * float(ref.mean())


def test_tags_win_over_assumptions(clips):
    with VideoReader(clips["hlg"], assume_transfer="pq") as r:
        assert r.colour.transfer == "hlg" and r.colour.assumed == ()


def test_sdr_refused_unless_allowed(clips):
    with pytest.raises(OptionError, match="--allow-sdr"):
        VideoReader(clips["sdr"])
    with VideoReader(clips["sdr"], allow_sdr=True) as r:
        assert r.colour.transfer == "bt1886" and not r.colour.is_hdr
        lin = r.to_linear(next(r.frames()))
    assert lin.max() <= 1.0 + 1e-6  # SDR display light never exceeds SDR white


def test_resolve_colour_rejects_unsupported():
    tags = {"color_primaries": 9, "color_trc": 16, "colorspace": 10, "color_range": 1}  # BT.2020 constant luminance
    with pytest.raises(DecodeError, match="matrix"):
        resolve_colour(tags, "yuv420p10le")
    with pytest.raises(DecodeError, match="pixel format"):
        resolve_colour({**tags, "colorspace": 9}, "gbrp10le")


def test_rotation_is_read(clips):
    with VideoReader(clips["pq_rot90"]) as r:
        assert r.rotation == 90
    assert "rotation of 90" in ffmpeg_stream_text(clips["pq_rot90"]).replace("-90", "90")


def test_height_scales_before_colour_work(clips):
    with VideoReader(clips["pq_flat"], height=90) as r:
        assert (r.width, r.height) == (160, 90)
        f = next(r.frames())
        assert f.y.shape == (90, 160) and f.u.shape == (45, 80)
        small = r.to_linear(f)
    with VideoReader(clips["pq_flat"]) as r:
        full = r.to_linear(next(r.frames()))
    # area scaling in the signal domain keeps flat regions: compare the middle of the 203 cd/m^2 patch
    assert abs(float(np.median(small[60:64, 20:24])) - float(np.median(full[120:128, 40:48]))) < 0.05


def _with_dovi_record(src, dst, profile: int, compat: int):
    from tests.metadata.mp4edit import add_sample_entry_box

    v = (profile << 9) | (6 << 3) | 0b101  # level 6, rpu + bl present
    rec = bytes([1, 0, v >> 8, v & 0xFF, compat << 4]) + bytes(19)
    add_sample_entry_box(src, dst, b"dvcC", rec)


def test_dolby_vision_policy(clips, tmp_path):
    p5, p84 = tmp_path / "dv5.mp4", tmp_path / "dv84.mp4"
    _with_dovi_record(clips["pq_flat"], p5, 5, 0)
    _with_dovi_record(clips["hlg_flat"], p84, 8, 4)
    assert "profile: 5" in ffmpeg_stream_text(p5)  # FFmpeg reads the record we wrote
    with pytest.raises(DecodeError, match="profile 5"):
        VideoReader(p5)
    with VideoReader(p84) as r:
        assert r.dolby_vision.profile == 8 and r.colour.transfer == "hlg"
        assert next(r.frames()).y.shape == (180, 320)


def test_missing_and_bad_files(tmp_path):
    from hdrkit.errors import ContainerError

    with pytest.raises(ContainerError):
        VideoReader(tmp_path / "nope.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    with pytest.raises(ContainerError):
        VideoReader(bad)
    audio_only = tmp_path / "a.m4a"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=d=0.2", "-c:a", "aac", str(audio_only)])
    with pytest.raises(ContainerError, match="no video"):
        VideoReader(audio_only)


_CLOSE_WHILE_DECODING = """
import sys
from hdrkit.errors import HdrkitError
from hdrkit.video.reader import VideoReader
from hdrkit.video.threads import prefetch
r = VideoReader(sys.argv[1])
frames = prefetch(r.frames, 2)  # decoding in a thread, a few frames ahead
next(frames)
r.close()  # the owner closes the file while the decoding thread is still reading it
try:
    n = sum(1 for _ in frames)
except HdrkitError as e:
    print(type(e).__name__, e)
else:
    print("ended after", n)
"""


def test_closing_the_reader_stops_its_decoding_thread(phone, tmp_path):
    """A reader closed while a prefetch thread still decodes from it (a consumer that stopped on
    an exception whose traceback keeps the iterator alive) must not let that thread read the
    freed container: it stops with a named error, no crash."""
    import subprocess
    import sys

    script = tmp_path / "close.py"
    script.write_text(_CLOSE_WHILE_DECODING)
    for _ in range(3):  # the race needs the thread inside the demuxer: a few tries
        res = subprocess.run([sys.executable, str(script), str(phone)], capture_output=True, text=True,
                             timeout=120)
        assert res.returncode == 0, res.stderr[-2000:]
        assert res.stdout.startswith("ContainerError") and "closed" in res.stdout, res.stdout


def test_reader_holds_no_picture_the_consumer_has_moved_past(clips):
    """A decoded picture holds one of the decoder's buffers (25 MB at 2160p): once the consumer
    asks for the next frame, the reader keeps no reference to the previous one (the first
    frame, read when the file opens, included), so the decoder can reuse its buffer."""
    import gc
    import weakref

    with VideoReader(clips["pq"]) as r:
        it = r.frames()
        f = next(it)
        refs = [weakref.ref(f)]
        for _ in range(3):
            del f
            f = next(it)
            gc.collect()
            assert refs[-1]() is None
            refs.append(weakref.ref(f))
        del f
        it.close()


def test_prefetch_mapped_chains_functions_each_in_a_thread_of_its_own():
    """Several functions: each in its own thread, in order, the items in source order; a thread's
    setup runs in that thread first; a failure in a later stage reaches the consumer, and every
    thread of the chain stops."""
    import threading

    from hdrkit.video.threads import prefetch_mapped

    where = {}
    local = threading.local()

    def first(x):
        where.setdefault("first", set()).add(threading.get_ident())
        return x, getattr(local, "tag", None)

    def second(item):
        where.setdefault("second", set()).add(threading.get_ident())
        x, tag = item
        return x * 10, tag, getattr(local, "tag", None)

    def tag_this_thread():
        local.tag = "set up"

    out = list(prefetch_mapped(lambda: range(7), first, second, depth=2, setups=(tag_this_thread,)))
    assert out == [(x * 10, "set up", None) for x in range(7)]
    assert len(where["first"]) == len(where["second"]) == 1
    assert where["first"] != where["second"] and threading.get_ident() not in where["first"] | where["second"]

    def failing(item):
        if item[0] == 3:
            raise ValueError("stage two failed")
        return item

    with pytest.raises(ValueError, match="stage two"):
        list(prefetch_mapped(lambda: range(7), first, failing, depth=2))
    for _ in range(50):  # the stopped threads end within their put timeout
        if not any(t.name == "hdrkit-prefetch" and t.is_alive() for t in threading.enumerate()):
            break
        threading.Event().wait(0.1)
    assert not any(t.name == "hdrkit-prefetch" and t.is_alive() for t in threading.enumerate())
    with pytest.raises(TypeError):
        prefetch_mapped(lambda: range(3))
