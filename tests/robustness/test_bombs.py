"""Decompression bombs and absurd counts: refused by a named error, quickly, in bounded memory.

The pixel limit (``max_pixels``, default :data:`hdrkit.still.decode.DEFAULT_MAX_PIXELS`)
must be checked from the headers before any decoding, for every input kind.
"""

from __future__ import annotations

import struct
import time
import zlib

import pytest

from hdrkit.errors import ContainerError, HdrkitError, LimitError
from tools.fuzz.corpus import gainmap_jpeg, plain_jpeg
from hdrkit.still.jpeg import scan_jpeg

from .conftest import peak_rss_of


def set_sof_size(jpeg: bytes, width: int, height: int, start: int = 0) -> bytes:
    """Rewrite the frame header (T.81 B.2.2) of the image at ``start`` to claim another size."""
    s = scan_jpeg(jpeg, start)
    sof = next(x for x in s.segments if 0xC0 <= x.marker <= 0xCF and x.marker not in (0xC4, 0xC8, 0xCC))
    p = sof.offset + 5  # FF Cn, length (2), precision (1)
    return jpeg[:p] + struct.pack(">HH", height, width) + jpeg[p + 4:]


def png_bomb(width: int, height: int, bits: int = 16) -> bytes:
    """A valid PNG (colour type 2) of zero pixels: tiny file, huge image (PNG spec §11.2.2)."""
    row = b"\x00" + bytes(width * 3 * bits // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bits, 2, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def timed_refusal(fn, *args, error=HdrkitError, limit_s=2.0, **kw):
    t0 = time.perf_counter()
    with pytest.raises(error) as ei:
        fn(*args, **kw)
    assert time.perf_counter() - t0 < limit_s
    assert "\n" not in str(ei.value)
    return ei.value


def test_default_pixel_limit_is_sane():
    from hdrkit.still.decode import DEFAULT_MAX_PIXELS

    assert 24e6 <= DEFAULT_MAX_PIXELS <= 500e6  # a 200 MP phone picture is fine, a 60000 x 60000 claim is not


def test_sof_claiming_60000x60000_is_refused_before_decoding(tmp_path):
    from hdrkit.still.decode import decode_jpeg
    from hdrkit.still.export import export_sdr, load_linear

    bomb = set_sof_size(plain_jpeg(), 60000, 60000)
    timed_refusal(decode_jpeg, bomb, error=LimitError)
    timed_refusal(load_linear, bomb, error=LimitError)
    timed_refusal(export_sdr, bomb, tmp_path / "o.jpg", error=LimitError)
    assert not (tmp_path / "o.jpg").exists()


def test_sof_bomb_in_the_gainmap_primary_and_secondary():
    from hdrkit.still.gainmap import read_gainmap

    gm = gainmap_jpeg()
    timed_refusal(read_gainmap, set_sof_size(gm, 60000, 60000), error=LimitError)
    second = gm.index(b"\xff\xd8\xff", 4)
    timed_refusal(read_gainmap, set_sof_size(gm, 60000, 60000, second), error=LimitError)


def test_pixel_limit_is_configurable():
    from hdrkit.still.export import load_linear
    from hdrkit.still.gainmap import read_gainmap

    data = gainmap_jpeg()  # 64 x 48
    timed_refusal(read_gainmap, data, max_pixels=64 * 48 - 1, error=LimitError)
    timed_refusal(load_linear, data, max_pixels=1000, error=LimitError)
    assert load_linear(data, max_pixels=64 * 48).rgb.shape == (48, 64, 3)


def test_jpeg_bomb_memory_is_bounded():
    base, _ = peak_rss_of("import hdrkit.still.export, tools.fuzz.corpus")
    code = (
        "from hdrkit.errors import LimitError\n"
        "from tools.fuzz.corpus import plain_jpeg\n"
        "from hdrkit.still.export import load_linear\n"
        "from tests.robustness.test_bombs import set_sof_size\n"
        "for w, h in ((60000, 60000), (65535, 65535), (20000, 20000)):\n"
        "    try:\n"
        "        load_linear(set_sof_size(plain_jpeg(), w, h))\n"
        "        print('ACCEPTED', w, h)\n"
        "    except LimitError:\n"
        "        pass\n"
    )
    peak, out = peak_rss_of(code)
    assert "ACCEPTED" not in out
    assert peak - base < 100, f"refusing JPEG bombs cost {peak - base:.0f} MB"


@pytest.mark.parametrize("kind", ["png16", "png8", "tiff"])
def test_png_and_tiff_respect_the_pixel_limit(kind):
    """16-bit PNG / TIFF inputs: the limit must apply before decoding, as for JPEG."""
    from hdrkit.still.export import load_linear

    if kind == "tiff":
        import io

        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (4000, 3000)).save(buf, "TIFF", compression="tiff_adobe_deflate")
        data = buf.getvalue()
    else:
        data = png_bomb(4000, 3000, 16 if kind == "png16" else 8)
    timed_refusal(load_linear, data, max_pixels=1_000_000, error=LimitError)


def test_png_bomb_memory_is_bounded():
    """A 0.6 MB PNG claiming 12000 x 9000 x 16 bit must be refused without decoding it."""
    base, _ = peak_rss_of("import hdrkit.still.export, tests.robustness.test_bombs")
    code = (
        "import time\n"
        "from hdrkit.errors import HdrkitError\n"
        "from hdrkit.still.export import load_linear\n"
        "from tests.robustness.test_bombs import png_bomb\n"
        "d = png_bomb(12000, 9000)\n"
        "t = time.perf_counter()\n"
        "try:\n"
        "    load_linear(d, max_pixels=10_000_000)\n"
        "    print('ACCEPTED')\n"
        "except HdrkitError as e:\n"
        "    print('REFUSED', type(e).__name__)\n"
        "print('TIME', time.perf_counter() - t)\n"
    )
    peak, out = peak_rss_of(code, timeout=300)
    assert "REFUSED" in out, out
    t = float([ln for ln in out.splitlines() if ln.startswith("TIME")][0].split()[1])
    assert t < 2.0 and peak - base < 200, f"{t:.1f} s, {peak - base:.0f} MB"


def test_gain_map_larger_than_the_base():
    """A map bigger than its base: named error or a finite HDR picture of the base's size."""
    import numpy as np

    from hdrkit.still.gainmap import read_gainmap

    data = gainmap_jpeg(h=32, w=48, scale=1)
    second = data.index(b"\xff\xd8\xff", 4)
    # swap in a gain-map JPEG twice as large (same metadata segments, bigger picture)
    bigger = gainmap_jpeg(h=64, w=96, scale=1)
    b2 = bigger.index(b"\xff\xd8\xff", 4)
    candidate = data[:second] + bigger[b2:]
    try:
        img = read_gainmap(candidate, fallback="base")
        out = img.render()
        assert out.shape == (32, 48, 3) and np.isfinite(out).all()
    except HdrkitError:
        pass
    # and a map whose header claims 30000 x 30000 is refused before decoding
    timed_refusal(read_gainmap, set_sof_size(data, 30000, 30000, second), max_pixels=50_000_000, error=LimitError)


def _mpf_field(data: bytes, tag: int, value: int, *, count: int | None = None) -> bytes:
    """Rewrite one MP Index IFD entry (CIPA DC-007 §5.2.3) of the primary image."""
    s = scan_jpeg(data)
    body_at = s.mpf_base_offset
    e = ">" if data[body_at:body_at + 2] == b"MM" else "<"
    ifd = struct.unpack_from(e + "I", data, body_at + 4)[0]
    n = struct.unpack_from(e + "H", data, body_at + ifd)[0]
    b = bytearray(data)
    for i in range(n):
        at = body_at + ifd + 2 + 12 * i
        if struct.unpack_from(e + "H", b, at)[0] == tag:
            if count is not None:
                struct.pack_into(e + "I", b, at + 4, count)
            struct.pack_into(e + "I", b, at + 8, value)
    return bytes(b)


@pytest.mark.parametrize("tag,value,count", [
    (0xB001, 0xFFFFFFFF, None),  # NumberOfImages: 4 billion
    (0xB001, 1 << 20, None),
    (0xB002, 50, 0xFFFFFFF0),  # MP entry field: 4 GB of entries
    (0xB002, 0xFFFFFFF0, None),  # entries at an offset past the file
])
def test_absurd_mpf_counts(tag, value, count):
    from hdrkit.still.gainmap import read_gainmap
    from hdrkit.still.mpf import parse_mpf

    data = _mpf_field(gainmap_jpeg(), tag, value, count=count)
    s = scan_jpeg(data)
    timed_refusal(parse_mpf, s.mpf.body(), s.mpf_base_offset, len(data), error=(LimitError, ContainerError))
    t0 = time.perf_counter()
    try:  # the file as a whole: refused, or read with the broken index reported
        img = read_gainmap(data, fallback="base")
        assert img.fallback_reason or any("MPF" in w for w in img.warnings)
    except HdrkitError:
        pass
    assert time.perf_counter() - t0 < 2.0


def test_mpf_entries_pointing_outside_the_file():
    from hdrkit.still.gainmap import read_gainmap

    data = gainmap_jpeg()
    s = scan_jpeg(data)
    e = ">" if data[s.mpf_base_offset:s.mpf_base_offset + 2] == b"MM" else "<"
    # second entry's offset (entry 1, field 'offset' at +8 in the 16-byte entry)
    from hdrkit.still.mpf import parse_mpf

    idx = parse_mpf(s.mpf.body(), s.mpf_base_offset, len(data))
    blob_at = data.index(struct.pack(e + "IIIHH", idx.entries[1].attribute, idx.entries[1].size, idx.entries[1].offset, 0, 0))
    for off in (0xFFFFFFFF, len(data) * 2, 0, 1):
        bad = data[:blob_at + 8] + struct.pack(e + "I", off) + data[blob_at + 12:]
        t0 = time.perf_counter()
        try:
            img = read_gainmap(bad, fallback="base")
            img.render()
        except HdrkitError:
            pass
        assert time.perf_counter() - t0 < 2.0


def test_too_many_segments():
    from hdrkit.still.gainmap import read_gainmap

    data = plain_jpeg()
    seg = b"\xff\xfe\x00\x04ab"  # COM segments
    bomb = data[:2] + seg * 20_000 + data[2:]
    timed_refusal(scan_jpeg, bomb, error=LimitError)
    timed_refusal(read_gainmap, bomb, error=HdrkitError)


def test_extended_xmp_claiming_4_gb():
    data = plain_jpeg()
    payload = b"http://ns.adobe.com/xmp/extension/\x00" + b"0" * 32 + struct.pack(">II", 0xFFFFFFFF, 0) + b"<x/>"
    seg = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    t0 = time.perf_counter()
    with pytest.raises(LimitError):
        scan_jpeg(data[:2] + seg + data[2:])
    assert time.perf_counter() - t0 < 2.0  # hang guard, not a speed test


def test_gain_map_of_another_aspect_ratio_memory():
    """A small map whose aspect ratio differs from the base is resized to the base size first;
    that must not cost much more memory than rendering a matching map. The resize once held
    whole-picture float64 temporaries (48 extra bytes per base pixel, 4.8 GB at the default
    100 MP limit); what stays is the full-size float64 copy of the resized map the kernel
    samples (24 bytes per pixel)."""
    code = (
        "import resource, sys\n"
        "from tools.fuzz.corpus import gainmap_jpeg\n"
        "from hdrkit.still.gainmap import read_gainmap\n"
        "d = gainmap_jpeg(h=1800, w=2400, scale=4, channels=3, gray_map=False)\n"
        "if sys.argv[-1] == 'mismatch':\n"
        "    sq = gainmap_jpeg(h=64, w=64, scale=1, channels=3, gray_map=False)\n"
        "    d = d[:d.index(b'\\xff\\xd8\\xff', 4)] + sq[sq.index(b'\\xff\\xd8\\xff', 4):]\n"
        "img = read_gainmap(d)\n"
        "img.render()\n"
    )
    import subprocess
    import sys

    from .conftest import ROOT

    peaks = {}
    for mode in ("match", "mismatch"):
        p = subprocess.run([sys.executable, "-c", code + "print('PEAK', resource.getrusage(resource.RUSAGE_SELF)"
                            ".ru_maxrss / 1024)\n", mode], capture_output=True, text=True, timeout=300, cwd=ROOT,
                           env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
        assert p.returncode == 0, p.stderr[-1500:]
        peaks[mode] = float(p.stdout.split("PEAK")[-1])
    extra_per_pixel = (peaks["mismatch"] - peaks["match"]) * 2**20 / (2400 * 1800)
    print(f"{extra_per_pixel:.1f} extra bytes per pixel ({peaks})")
    assert extra_per_pixel < 32, f"{extra_per_pixel:.0f} extra bytes per pixel ({peaks})"
