"""16-bit PQ / HLG PNG and TIFF as HDR input: cICP or ``--assume-*``, decoded as the video path decodes.

Content: ``scripts/make_hdr_stills.py`` (16-bit PQ / HLG signals of a synthetic scene, the PNG
tagged with a cICP chunk). Oracles: colour-science's EOTFs, and the video decoder
(:func:`hdrkit.core.signal.yuv_to_linear`) on the same picture as a full-range 4:4:4 frame.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zlib
from functools import lru_cache

import colour
import numpy as np
import pytest

from hdrkit.core.signal import codes_to_linear, yuv_to_linear
from hdrkit.core.transfer import SDR_WHITE_NITS
from hdrkit.core.ycbcr import rgb_to_ycbcr
from hdrkit.errors import DecodeError, OptionError
from hdrkit.still.cicp import Cicp, add_cicp, read_cicp
from hdrkit.still.export import export_sdr, load_linear
from hdrkit.still.ultrahdr import GainMapOptions, export_ultrahdr, export_ultrahdr_array
from hdrkit.video.decode import ColourInfo

from ._uhdr import script as _script

W, H = 96, 64


def script():
    return _script("make_hdr_stills")


@lru_cache(maxsize=None)
def content(transfer: str, gamut: str):
    code, lin = script().hdr_still(W, H, transfer, gamut)
    return code, lin


def test_cicp_chunk_is_written_and_read(tmp_path):
    code, _ = content("pq", "p3")
    png = script().cicp_png(code, "pq", "p3")
    assert read_cicp(png) == Cicp(12, 16, 0, 1)
    # chunk layout (PNG §5.3): length, type, data, CRC-32 over type and data; right after IHDR
    i = png.index(b"cICP") - 4
    assert png[i:i + 4] == b"\x00\x00\x00\x04" and png[12:16] == b"IHDR" and i == 8 + 12 + 13
    assert int.from_bytes(png[i + 12:i + 16], "big") == zlib.crc32(png[i + 4:i + 12])
    # FFmpeg's PNG decoder checks chunk CRCs: it reads the file and its pixels as written
    import av

    with av.open(io.BytesIO(png), format="png_pipe") as c:
        assert np.array_equal(next(c.decode(video=0)).to_ndarray(format="rgb48le"), code)
    assert read_cicp(add_cicp(png, 9, 18)) == Cicp(9, 18, 0, 1)  # replaced, not doubled
    assert add_cicp(png, 9, 18).count(b"cICP") == 1


@pytest.mark.parametrize("transfer,gamut", [("pq", "p3"), ("hlg", "bt2020")])
def test_cicp_png_decodes_as_the_core_decodes(tmp_path, transfer, gamut):
    code, lin = content(transfer, gamut)
    src = tmp_path / "in.png"
    src.write_bytes(script().cicp_png(code, transfer, gamut))
    img = load_linear(src)
    assert (img.kind, img.primaries) == (transfer, gamut)
    assert img.rgb.dtype == np.float32 and img.rgb.shape == (H, W, 3)
    np.testing.assert_allclose(img.rgb, lin, rtol=1e-5, atol=1e-7)
    e = code.astype(np.float64) / 65535
    if transfer == "pq":
        theirs = colour.models.eotf_ST2084(e) / SDR_WHITE_NITS
        np.testing.assert_allclose(img.rgb, theirs, rtol=1e-5, atol=1e-7)
    else:
        theirs = colour.models.eotf_BT2100_HLG(e, L_B=0, L_W=1000) / SDR_WHITE_NITS
        np.testing.assert_allclose(img.rgb, theirs, rtol=2e-4, atol=1e-6)  # colour: 4-decimal Y_S weights


@pytest.mark.parametrize("transfer", ["pq", "hlg"])
def test_png_and_video_frame_with_the_same_pixels_agree(transfer):
    """The still and the video decoder give the same linear light for the same R'G'B' signal
    (the frame as full-range BT.2020 Y'CbCr 4:4:4, 16 bit: within the rounding of its codes)."""
    code, _ = content(transfer, "bt2020")
    still = codes_to_linear(code, 16, transfer)
    ycc = np.clip(np.rint(rgb_to_ycbcr(code / 65535.0, "bt2020", 16, True)), 0, 65535).astype(np.uint16)
    frame = ColourInfo(transfer, "bt2020", "bt2020", True, 16, (0, 0), "yuv444p16le")
    video = yuv_to_linear(ycc[..., 0], ycc[..., 1], ycc[..., 2], frame)
    np.testing.assert_allclose(video, still, rtol=2e-3, atol=2e-5)


def test_untagged_tiff_and_png_need_assume(tmp_path):
    code, lin = content("hlg", "bt2020")
    tif = tmp_path / "in.tif"
    tif.write_bytes(script().encode16(code, "tiff"))
    png = tmp_path / "in.png"
    script().write_png16(code, png)
    for src in (tif, png):
        assert load_linear(src).kind == "sdr"  # untagged: sRGB, as before
        img = load_linear(src, assume_transfer="hlg")
        assert (img.kind, img.primaries) == ("hlg", "bt2020")
        np.testing.assert_allclose(img.rgb, lin, rtol=1e-5, atol=1e-7)
        assert load_linear(src, assume_transfer="hlg", assume_primaries="p3").primaries == "p3"
    with pytest.raises(OptionError):
        load_linear(png, assume_transfer="bt1886")


def test_cicp_wins_over_assume_and_says_so(tmp_path):
    code, lin = content("pq", "p3")
    src = tmp_path / "in.png"
    src.write_bytes(script().cicp_png(code, "pq", "p3"))
    img = load_linear(src, assume_transfer="hlg", assume_primaries="p3")
    assert img.kind == "pq" and len(img.warnings) == 1 and "assume-transfer hlg ignored" in img.warnings[0]


def test_unsupported_cicp_is_one_decode_error(tmp_path):
    code, _ = content("pq", "p3")
    png = script().cicp_png(code, "pq", "p3")
    for prim, trc in ((11, 16), (12, 8)):
        with pytest.raises(DecodeError):
            load_linear(add_cicp(png, prim, trc))


def test_pq_png_to_ultrahdr_is_the_array_export(tmp_path):
    """`still --ultrahdr` on a PQ PNG writes what the array export writes for the decoded buffer."""
    code, lin = content("pq", "p3")
    src = tmp_path / "in.png"
    src.write_bytes(script().cicp_png(code, "pq", "p3"))
    a = export_ultrahdr(src, tmp_path / "a.jpg", gainmap=GainMapOptions())
    export_ultrahdr_array(load_linear(src).rgb, "p3", tmp_path / "b.jpg", gainmap=GainMapOptions(),
                          xmp_extra={"source_kind": "pq"})
    assert (tmp_path / "a.jpg").read_bytes() == (tmp_path / "b.jpg").read_bytes()
    assert a.src_peak > 4
    sdr = export_sdr(src, tmp_path / "s.jpg")
    assert sdr.tags["src_peak"] == a.tags["src_peak"]


def test_cli_still_ultrahdr_from_untagged_tiff(tmp_path):
    import imagecodecs

    code, _ = content("hlg", "bt2020")
    tif = tmp_path / "in.tif"
    tif.write_bytes(script().encode16(code, "tiff"))
    out = tmp_path / "out.jpg"
    r = subprocess.run([sys.executable, "-m", "hdrkit", "still", str(tif), "-o", str(out), "--ultrahdr",
                        "--assume-transfer", "hlg"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert imagecodecs.ultrahdr_check(out.read_bytes())
    r = subprocess.run([sys.executable, "-m", "hdrkit", "still", str(tif), "-o", str(tmp_path / "x.jpg"),
                        "--assume-transfer", "bt1886"], capture_output=True, text=True)
    assert r.returncode != 0 and "Traceback" not in r.stderr
