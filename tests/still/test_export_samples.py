"""The real third-party samples export cleanly: tags right, gain-map segments gone, inputs untouched."""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image

import hdrkit
from hdrkit.errors import ContainerError
from hdrkit.still.export import srgb_icc
from hdrkit.still.jpeg import scan_jpeg

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "ultrahdr"
GOOD = ["libultrahdr_minnie_ultrahdr_sys.jpg", "photoshop_seine_sdr_gainmap_srgb.jpg", "apple_gainmap_new.jpg"]


@pytest.mark.parametrize("name", GOOD)
def test_sample_exports_cleanly(tmp_path, name):
    src = SAMPLES / name
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    dst = tmp_path / "out.jpg"
    r = hdrkit.export_sdr(src, dst)
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before
    data = dst.read_bytes()
    kinds = {s.kind for s in scan_jpeg(data).segments if s.kind}
    assert not kinds & {"mpf", "iso21496"}, kinds
    assert b"hdrgm" not in data and b"HDRGainMap" not in data
    with Image.open(dst) as im:
        assert im.size == (r.width, r.height)
        assert im.info["icc_profile"] == srgb_icc()
        ex = im.getexif()
        assert ex.get_ifd(ExifTags.IFD.Exif)[0xA001] == 1
        assert 0x0201 in ex.get_ifd(ExifTags.IFD.IFD1)
        px = np.asarray(im.convert("RGB"))
    assert 5 < px.mean() < 250  # not black, not blown out
    assert r.fallback is None and not r.warnings


def test_headroom_one_reproduces_the_base(tmp_path):
    """A display with no headroom shows the SDR base: weight 0 gives the base back."""
    src = SAMPLES / "libultrahdr_minnie_ultrahdr_sys.jpg"
    g = hdrkit.read_gainmap(src)
    base = g.render(headroom=1.0)
    from hdrkit.core.transfer import eotf_srgb
    np.testing.assert_allclose(base, eotf_srgb(g.base_rgb().astype(np.float64) / 255), atol=0.02)


def test_truncated_sample_fails_cleanly(tmp_path):
    src = SAMPLES / "NEGATIVE_truncated_pillow_ultrahdr.jpg"
    with pytest.raises(ContainerError):
        hdrkit.export_sdr(src, tmp_path / "out.jpg")
    assert list(tmp_path.iterdir()) == []
    p = subprocess.run([sys.executable, "-m", "hdrkit", "still", str(src), "-o", str(tmp_path / "o.jpg")],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_max_pixels_option_refuses_before_decoding(tmp_path):
    """minnie is 320x240 (0.077 MP): a 0.05 MP limit refuses it in one line, 0.1 MP exports it."""
    src = SAMPLES / GOOD[0]
    cmd = [sys.executable, "-m", "hdrkit", "still", str(src), "-o", str(tmp_path / "o.jpg")]
    p = subprocess.run([*cmd, "--max-pixels", "0.05"], capture_output=True, text=True)
    assert p.returncode == 2 and "limit" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "o.jpg").exists()
    p = subprocess.run([*cmd, "--max-pixels", "0.1"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "o.jpg").stat().st_size > 0
