"""Export of plain (no gain map) inputs: tags, determinism, preview = export, bad input."""

import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image

from hdrkit.core.pipeline import RenderParams
from hdrkit.errors import ContainerError, DecodeError, HdrkitError, OutputError
from hdrkit.still.export import XMP_NS, export_array, export_sdr, load_linear, render_preview, srgb_icc


def png16(path: Path, rgb16: np.ndarray) -> None:
    """Minimal 16-bit RGB PNG writer (PNG spec §11.2.2, colour type 2, bit depth 16)."""
    h, w, _ = rgb16.shape
    raw = b"".join(b"\x00" + rgb16[y].astype(">u2").tobytes() for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def scene(h=120, w=160):
    y, x = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    rgb = np.stack([x * 3, y * 2 + 0.1, (1 - x) * 0.8], -1).astype(np.float32)
    rgb[10:30, 10:40] = [4.5, 0.2, 0.1]  # bright saturated highlight
    return rgb


def test_export_array_tags(tmp_path):
    dst = tmp_path / "a.jpg"
    r = export_array(scene(), "p3", dst)
    data = dst.read_bytes()
    with Image.open(dst) as im:
        assert im.format == "JPEG" and im.size == (160, 120)
        assert im.info["icc_profile"] == srgb_icc()
        ex = im.getexif()
        sub = ex.get_ifd(0x8769)
        assert sub[0xA001] == 1 and sub[0xA002] == 160 and sub[0xA003] == 120
        ifd1 = ex.get_ifd(ExifTags.IFD.IFD1)
        assert 0x0201 in ifd1
        xmp = im.info.get("xmp", b"")
    xmp = xmp.decode() if isinstance(xmp, bytes) else xmp
    assert XMP_NS in xmp and 'hdrkit:ultrahdr="false"' in xmp and "hdrkit:tonemap_v=" in xmp
    assert b"MPF\x00" not in data and b"hdrgm" not in data and b"urn:iso:std:iso:ts:21496" not in data
    assert r.size_bytes == len(data) and r.subsampling in ("420", "444")


def test_thumbnail_is_rendered_not_copied(tmp_path):
    dst = tmp_path / "t.jpg"
    rgb = scene(600, 800)
    export_array(rgb, "p3", dst, src_peak=4.5)
    with Image.open(dst) as im:
        ex = im.getexif()
        ifd1 = ex.get_ifd(ExifTags.IFD.IFD1)
        main = np.asarray(im.convert("RGB"), np.float32)
    data = dst.read_bytes()
    i = data.index(b"Exif\x00\x00") + 6
    off, n = ifd1[0x0201], ifd1[0x0202]
    with Image.open(io.BytesIO(data[i + off:i + off + n])) as t:
        assert max(t.size) == 512
        thumb = np.asarray(t.convert("RGB"), np.float32)
    small = np.asarray(Image.fromarray(main.astype(np.uint8)).resize(t.size, Image.Resampling.BOX), np.float32)
    assert np.abs(thumb.mean(axis=(0, 1)) - small.mean(axis=(0, 1))).max() < 3.0  # same look


def test_deterministic_bytes(tmp_path):
    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    export_array(scene(), "bt2020", a)
    export_array(scene(), "bt2020", b)
    assert a.read_bytes() == b.read_bytes()


def test_png16_and_jpeg_inputs(tmp_path):
    rgb16 = (np.linspace(0, 65535, 64 * 48 * 3).reshape(48, 64, 3)).astype(np.uint16)
    png16(tmp_path / "in.png", rgb16)
    img = load_linear(tmp_path / "in.png")
    assert img.rgb.shape == (48, 64, 3)
    assert len(np.unique(img.rgb[..., 0])) > 256  # 16 bits kept
    Image.fromarray((rgb16 >> 8).astype(np.uint8)).save(tmp_path / "in.jpg", quality=95)
    r = export_sdr(tmp_path / "in.jpg", tmp_path / "out.jpg")
    assert r.width == 64 and (tmp_path / "out.jpg").exists()


def test_preview_equals_export(tmp_path):
    """Seed 000 §5.3: the float preview and the decoded export agree (JPEG q90 limits below)."""
    rgb = scene(240, 320)
    params = RenderParams()
    dst = tmp_path / "p.jpg"
    r = export_array(rgb, "p3", dst, params=params, subsampling="444")
    prev = render_preview(rgb, "p3", params, r.src_peak) * 255
    with Image.open(dst) as im:
        dec = np.asarray(im.convert("RGB"), np.float32)
    mad = np.abs(prev - dec).mean()
    assert mad <= 1.5, mad


@pytest.mark.parametrize("payload, err", [(b"", ContainerError), (b"GIF89a....", ContainerError),
                                          (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, DecodeError)])
def test_bad_input_named_error(tmp_path, payload, err):
    src = tmp_path / "bad.png"
    src.write_bytes(payload)
    with pytest.raises(err):
        export_sdr(src, tmp_path / "out.jpg")
    assert not (tmp_path / "out.jpg").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.png"]  # no temporary left behind
    assert src.read_bytes() == payload


def test_refuses_to_overwrite_input(tmp_path):
    src = tmp_path / "x.jpg"
    Image.new("RGB", (8, 8), (10, 20, 30)).save(src)
    before = src.read_bytes()
    with pytest.raises(OutputError):
        export_sdr(src, src)
    assert src.read_bytes() == before


def test_cli_batch_continues_and_exits_2(tmp_path):
    good = tmp_path / "good.jpg"
    Image.new("RGB", (32, 32), (120, 130, 140)).save(good)
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "hdrkit", "still", str(good), str(tmp_path / "bad.jpg"), "-o", f"{out}/"],
                       capture_output=True, text=True)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and "bad.jpg" in p.stderr
    assert (out / "good.jpg").exists() and not (out / "bad.jpg").exists()
    assert "1 exported, 0 skipped" in p.stdout and "1 failed" in p.stdout
    assert issubclass(OutputError, HdrkitError)



def test_the_export_tags_read_back_whatever_their_text():
    """The hdrkit XMP attributes (escaped by ``xmp.attr_text``) parse back to every value."""
    import xml.etree.ElementTree as ET

    from hdrkit.still import export as ex

    values = ['a & b < c > d "e" \'f\'', "&amp;", "plain", 2.5, "<x/>", '"', "tab\tline\nreturn\r", "\u00e9\u2603"]
    packet = ex._xmp({f"k{i}": v for i, v in enumerate(values)}, None).decode("utf-8")
    root = ET.fromstring(packet[packet.index("<x:xmpmeta"):packet.index("<?xpacket end")])
    desc = next(e for e in root.iter() if any(k.endswith("k0") for k in e.attrib))
    got = {k.rsplit("}", 1)[1]: v for k, v in desc.attrib.items() if k.startswith("{" + XMP_NS)}
    assert got == {f"k{i}": str(v) for i, v in enumerate(values)}
