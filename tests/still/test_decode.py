"""decode_jpeg's libjpeg path against libjpeg-turbo read two other ways.

The planes hdrkit decodes (libjpeg writing straight into numpy arrays) must be the bytes of
imagecodecs' own libjpeg-turbo decoder (4:4:4 and gray: planes at full size) and of Pillow's
public ``load()`` (every sampling hdrkit reads raw, chroma at its coded size), on the real
sample files' base and gain-map images and on odd-sized pictures of each sampling.
"""

import io

import imagecodecs
import numpy as np
import pytest
from PIL import Image

from hdrkit.errors import ContainerError, DecodeError
from hdrkit.still.decode import decode_jpeg
from hdrkit.still.gainmap import parse_container
from hdrkit.still.jpeg import scan_jpeg

from ._uhdr import APPLE, MINNIE, PHOTOSHOP, variant


def _images(data: bytes) -> list[bytes]:
    """The base and (where the file has one) the gain-map JPEG of a gain-map file."""
    c = parse_container(data)
    out = [data[:c.primary.end]]
    if c.gainmap_offset is not None:
        out.append(data[c.gainmap_offset:scan_jpeg(data, c.gainmap_offset).end])
    return out


def _made(size, subsampling, mode="RGB", quality=90, seed=0) -> bytes:
    """A JPEG of noise and gradients from Pillow's libjpeg, Pillow subsampling 0 (4:4:4), 2 (4:2:0)."""
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), (xx + yy) % 256], -1)
    px = np.clip(base + rng.integers(-40, 41, base.shape), 0, 255).astype(np.uint8)
    im = Image.fromarray(px[..., 0] if mode == "L" else px, mode)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, **({} if mode == "L" else {"subsampling": subsampling}))
    return buf.getvalue()


def _pillow_planes(data: bytes) -> tuple[np.ndarray, ...]:
    """Pillow's public load(): luma at full size, chroma at its coded size (scaled decode)."""
    fh = scan_jpeg(data).frame
    w, h = fh.width, fh.height

    def load(mode, size, want=None):
        im = Image.open(io.BytesIO(data))
        im.draft(mode, size)
        im.load()
        assert im.mode == mode and im.size == (want or size)
        return im

    if len(fh.components) == 1:
        return (np.asarray(load("L", (w, h))),)
    sub = fh.components[0].h // fh.components[1].h
    if sub == 1:
        im = load("YCbCr", (w, h))
        return tuple(np.asarray(im.getchannel(b)) for b in range(3))
    # draft picks the 1/2 decode from the floor of the halved size; it gives the ceiling
    c = load("YCbCr", (max(w // 2, 1), max(h // 2, 1)), (-(-w // 2), -(-h // 2)))
    return (np.asarray(load("L", (w, h))), np.asarray(c.getchannel(1)), np.asarray(c.getchannel(2)))


def _cases():
    out = []
    for path in (MINNIE, PHOTOSHOP, APPLE):
        for k, img in enumerate(_images(path.read_bytes())):
            out.append(pytest.param(img, id=f"{path.stem}-{'base' if k == 0 else 'map'}"))
    for name in ("uhdr_p3_s1", "asm_gray_s4_420", "asm_rgb_s2_gamma_offsets"):
        for k, img in enumerate(_images(variant(name))):
            out.append(pytest.param(img, id=f"{name}-{'base' if k == 0 else 'map'}"))
    for size in ((333, 251), (1, 1), (17, 2)):
        for sub in (0, 2):
            out.append(pytest.param(_made(size, sub), id=f"made-{size[0]}x{size[1]}-{('444', '', '420')[sub]}"))
        out.append(pytest.param(_made(size, 0, "L"), id=f"made-{size[0]}x{size[1]}-gray"))
    return out


@pytest.mark.parametrize("data", _cases())
def test_planes_are_pillows_own_decode(data):
    d = decode_jpeg(data)
    ref = _pillow_planes(data)
    assert d.backend == "libjpeg"  # never the PyAV fallback for samplings libjpeg reads raw
    assert len(d.planes) == len(ref)
    for ours, theirs in zip(d.planes, ref):
        # a plane of its own, or a channel of the decoder's interleaved buffer (not copied out)
        assert ours.dtype == np.uint8 and (ours.flags.c_contiguous or ours.base.flags.c_contiguous)
        np.testing.assert_array_equal(ours, theirs)
    if len(d.planes) == 3:  # Cb and Cr come from one buffer, with Y too at 4:4:4
        assert d.planes[1].base is d.planes[2].base is not None
        assert (d.planes[0].base is d.planes[1].base) == (d.chroma_factors == (1, 1))


@pytest.mark.parametrize("data", _cases())
def test_samples_are_pillows_own_decode(data):
    """``output="samples"`` (how gain maps are read): libjpeg's RGB, as Pillow's load() gives it."""
    d = decode_jpeg(data, output="samples")
    ref = np.asarray(Image.open(io.BytesIO(data)))
    assert d.backend == "libjpeg" and len(d.planes) == 1 and d.planes[0].flags.c_contiguous
    np.testing.assert_array_equal(d.planes[0], ref)


@pytest.mark.parametrize("data", [c for c in _cases() if scan_jpeg(c.values[0]).frame.sampling in ("4:4:4", "gray")])
def test_full_size_planes_are_imagecodecs_decode(data):
    d = decode_jpeg(data)
    if len(d.planes) == 1:
        ref = imagecodecs.jpeg8_decode(data, colorspace="GRAYSCALE", outcolorspace="GRAYSCALE")
        np.testing.assert_array_equal(d.planes[0], ref.reshape(d.planes[0].shape))
    else:
        ref = imagecodecs.jpeg8_decode(data, colorspace="YCbCr", outcolorspace="YCbCr")
        np.testing.assert_array_equal(np.stack(d.planes, -1), ref)


def _scan(data: bytes):
    s = scan_jpeg(data)
    sos = next(seg for seg in s.segments if seg.name == "SOS")
    return s, sos.end


@pytest.mark.parametrize("sub", [0, 2])
@pytest.mark.parametrize("kept", [0.0, 0.3])
def test_damaged_entropy_data_decodes_as_pillow_does(sub, kept):
    """Scan data cut short (or missing) but closed with an EOI: libjpeg fills the rest and
    warns; the direct decode gives Pillow's pixels, not an error or other bytes."""
    data = _made((333, 251), sub, quality=95)
    s, start = _scan(data)
    cut = data[:start + int((s.end - start) * kept)] + b"\xff\xd9"
    d = decode_jpeg(cut)
    for ours, theirs in zip(d.planes, _pillow_planes(cut)):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("sub", [0, 2])
def test_what_libjpeg_refuses_is_one_named_error(sub):
    data = _made((333, 251), sub)
    with pytest.raises(ContainerError, match="truncated"):
        decode_jpeg(data[:len(data) // 2])
    bad = bytearray(data)
    sof = next(seg for seg in scan_jpeg(data).segments if seg.name.startswith("SOF"))
    bad[sof.offset + 12] = 3  # the first component's quantisation table: one never defined (T.81 B.2.2)
    with pytest.raises(DecodeError, match="libjpeg could not decode it") as e:
        decode_jpeg(bytes(bad))
    assert "\n" not in str(e.value)
