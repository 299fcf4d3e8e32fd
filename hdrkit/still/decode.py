"""Decode one JPEG byte string to sample planes or RGB, with a pixel limit checked first.

Two backends:

- ``"libjpeg"`` (default): libjpeg-turbo through Pillow. Its accurate integer IDCT is the
  one libultrahdr uses, so planes are bit-exact with the reference decoder (this matters:
  a gain-map code off by one is a gain off by ``range / 255`` stops). Coded chroma planes
  of a 4:2:0 image are read without upsampling through libjpeg's scaled decode at 1/2,
  which decodes chroma with the full 8x8 IDCT at its native size; luma through a
  grayscale decode. 4:4:4 and gray decode in one pass.
- ``"pyav"``: FFmpeg's mjpeg decoder through PyAV (``format="jpeg_pipe"``). Its IDCT
  differs from libjpeg's by +-1 code value on a few percent of samples. Used for
  samplings the libjpeg path cannot read raw (4:2:2, 4:4:0, 4:1:1). PyAV note:
  ``frame.side_data`` raises ``ValueError`` ("31 is not a valid Type") on JPEGs with EXIF
  (``AV_FRAME_DATA_EXIF`` is missing from PyAV's enum), so side data is never touched:
  ICC and EXIF come from :mod:`hdrkit.still.jpeg`.

Outputs are uint8, full range (JFIF). ``output="planes"`` gives Y (and Cb, Cr at coded
size); ``output="samples"`` gives a gray (H, W) array or libjpeg-style RGB (H, W, 3)
(libjpeg backend: libjpeg's own conversion and fancy upsampling; pyav backend: the
integer T.871 conversion of :func:`hdrkit.core.gainmap.jfif_ycc_to_rgb`, nearest chroma).

References
----------
- ITU-T T.81 Annex A.1.1 (component dimensions), ITU-T T.871 (JFIF colour).
- libjpeg-turbo ``jdmaster.c`` (per-component DCT scaling), ``jidctint.c`` (islow IDCT).
"""

from __future__ import annotations

import io
import math
import struct
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..core.gainmap import BasePlanes, jfif_ycc_to_rgb
from ..errors import ContainerError, DecodeError, LimitError, OptionError
from .jpeg import JpegStructure, scan_jpeg

__all__ = ["DEFAULT_MAX_PIXELS", "BACKENDS", "BasePlanes", "DecodedJpeg", "check_pixel_limit", "decode_jpeg"]

#: Default largest image (width x height) hdrkit decodes.
DEFAULT_MAX_PIXELS = 100_000_000
BACKENDS = ("libjpeg", "pyav")

_PYAV_FORMATS = {"gray", "yuvj420p", "yuvj422p", "yuvj444p", "yuvj440p", "yuvj411p",
                 "yuv420p", "yuv422p", "yuv444p", "yuv440p", "yuv411p"}


@dataclass(frozen=True)
class DecodedJpeg:
    """Decoded data, uint8. ``planes`` is (Y,) / (Y, Cb, Cr) for ``output="planes"`` or a
    single gray or RGB array for ``output="samples"``. A plane is C-contiguous or, from
    libjpeg, a channel of its C-contiguous interleaved buffer (Y, Cb and Cr at 4:4:4, Cb and
    Cr at 4:2:0), handed over without a copy.
    ``chroma_factors`` = (horizontal, vertical) subsampling of Cb/Cr."""

    planes: tuple[np.ndarray, ...]
    width: int
    height: int
    chroma_factors: tuple[int, int]
    backend: str

    @property
    def is_gray(self) -> bool:
        return len(self.planes) == 1 and self.planes[0].ndim == 2


def check_pixel_limit(structure: JpegStructure, max_pixels: int, what: str = "JPEG") -> None:
    """Raise :class:`LimitError` when the frame header declares more than ``max_pixels``."""
    if structure.frame is None:
        raise ContainerError(f"{what} has no frame header")
    px = structure.frame.pixels
    if px > max_pixels:
        raise LimitError(f"{what} is {structure.frame.width}x{structure.frame.height} = {px / 1e6:.1f} MP, "
                         f"over the {max_pixels / 1e6:g} MP limit")


def _factors(structure: JpegStructure) -> tuple[int, int]:
    c = structure.frame.components
    if len(c) == 1:
        return 1, 1
    hmax, vmax = max(x.h for x in c), max(x.v for x in c)
    if c[1].h != c[2].h or c[1].v != c[2].v or hmax % c[1].h or vmax % c[1].v or c[0].h != hmax or c[0].v != vmax:
        raise DecodeError(f"unsupported JPEG component sampling {structure.frame.sampling}")
    return hmax // c[1].h, vmax // c[1].v


def _check(structure: JpegStructure, what: str) -> None:
    if structure.truncated:
        raise ContainerError(f"{what} is truncated: its data ends before the end-of-image marker")
    fh = structure.frame
    if fh.precision != 8:
        raise DecodeError(f"{what} has {fh.precision}-bit samples; only 8-bit JPEG is supported")
    if len(fh.components) not in (1, 3):
        raise DecodeError(f"{what} has {len(fh.components)} components; only gray and Y'CbCr are supported")
    if len(fh.components) == 3 and structure.adobe_transform == 0:
        raise DecodeError(f"{what} stores RGB (Adobe transform 0), not Y'CbCr; not supported")


# ------------------------------------------------------------------ libjpeg (Pillow)
def _codec_only(data: bytes, structure: JpegStructure) -> bytes:
    """The image without APPn and COM segments (what a decoder needs, nothing it would parse)."""
    keep = [b"\xff\xd8"]
    for seg in structure.segments[1:]:
        if seg.name == "SOS":
            keep.append(data[seg.offset:structure.end])
            break
        if not (0xE0 <= seg.marker <= 0xEF or seg.marker == 0xFE):
            keep.append(data[seg.offset:seg.end])
    return b"".join(keep)


def _decode_into(data: bytes, mode: str, scale: int = 1) -> np.ndarray | None:
    """libjpeg's decode of ``data`` as Pillow ``mode`` ("L", "YCbCr" or "RGB"), scaled by
    ``1 / scale`` (libjpeg's DCT scaling: ``ceil(size / scale)``), written by the decoder
    straight into a new numpy array: (h, w) for "L", (h, w, 4) otherwise (Pillow's pixel
    layout: three bands, then padding). None when Pillow cannot give that mode.

    Pillow's own ``load()`` feeds the decoder 64 kB at a time into a picture of its own,
    which then has to be packed into bytes band by band: 58 ms to decode a 12 MP 4:4:4 base
    and 35-45 ms more to hand its three planes over, against 33-37 ms for the same decoder
    writing into a mapped array here, the same bytes (tested against ``load()`` and
    imagecodecs). The scale is set here rather than through ``draft``, whose choice from a
    requested size skips the 1/2 decode of an odd-sized picture's chroma.
    """
    from PIL import Image, ImageFile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        im = Image.open(io.BytesIO(data))
        im.draft(mode, None)  # the decoder's colour space only
    if im.mode != mode or len(im.tile) != 1:
        return None
    name, _, offset, args = im.tile[0]
    w, h = (-(-n // scale) for n in im.size)
    out = np.empty((h, w) if mode == "L" else (h, w, 4), np.uint8)
    layout = "L" if mode == "L" else "RGBX"  # 1 and 4 bytes per pixel, as Pillow stores the mode
    target = Image.frombuffer(layout, (w, h), out, "raw", layout, 0, 1)  # maps ``out``, no copy
    decoder = Image._getdecoder(mode, name, args, (scale, 0))
    try:
        decoder.setimage(target.im, (0, 0, w, h))
        buf = data[offset:]
        while True:
            n, err = decoder.decode(buf)
            if n < 0:
                break
            if n == 0:  # wants more data than the image has
                raise OSError("image file is truncated")
            buf = buf[n:]
    finally:
        decoder.cleanup()
    if err < 0:
        raise OSError(ImageFile.ERRORS.get(err, f"decoder error {err}"))
    return out


def _libjpeg(data: bytes, fh, factors, output: str) -> tuple[np.ndarray, ...] | None:
    w, h = fh.width, fh.height
    if output == "samples" and len(fh.components) == 3:
        rgb = _decode_into(data, "RGB")
        return None if rgb is None or rgb.shape[:2] != (h, w) else (np.ascontiguousarray(rgb[..., :3]),)
    if len(fh.components) == 1:
        y = _decode_into(data, "L")
        return None if y is None or y.shape != (h, w) else (y,)
    if factors == (1, 1):
        ycc = _decode_into(data, "YCbCr")
        if ycc is None or ycc.shape[:2] != (h, w):
            return None
        # channels of the decoder's buffer, not copies: the rebuild reads them in place
        # (hdrkit.core.rebuild.YccPlanes): 20 ms less for a 12 MP picture, and 36 MB fewer fresh
        # pages, though the buffer (its padding byte included) then lives on: 12 MB more at the peak
        return ycc[..., 0], ycc[..., 1], ycc[..., 2]
    if factors == (2, 2):
        # two entropy decodes of the same bytes; libjpeg runs without the GIL, so the
        # chroma pass overlaps the luma pass on a second core
        with ThreadPoolExecutor(max_workers=1) as pool:
            fut = pool.submit(_decode_into, data, "YCbCr", 2)
            y = _decode_into(data, "L")
            c = fut.result()
        if y is None or c is None or y.shape != (h, w) or c.shape[:2] != (math.ceil(h / 2), math.ceil(w / 2)):
            return None
        return y, c[..., 1], c[..., 2]
    return None


# ---------------------------------------------------------------------------- PyAV
def _plane(p, h: int, w: int) -> np.ndarray:
    a = np.frombuffer(p, np.uint8)
    return np.ascontiguousarray(a.reshape(-1, p.line_size)[:h, :w])


def _pyav(data: bytes, fh, what: str) -> tuple[tuple[np.ndarray, ...], tuple[int, int]]:
    import av  # local: keeps "import hdrkit" light

    try:
        with av.open(io.BytesIO(data), format="jpeg_pipe") as container:
            stream = container.streams.video[0]
            frame = next(container.decode(stream), None)
            if frame is None:
                raise DecodeError(f"{what}: FFmpeg decoded no picture")
            fmt = frame.format.name
            if fmt not in _PYAV_FORMATS:
                raise DecodeError(f"{what} decodes to pixel format {fmt}, which is not supported")
            w, h = frame.width, frame.height
            if (w, h) != (fh.width, fh.height):
                raise DecodeError(f"{what}: decoded size {w}x{h} differs from the frame header {fh.width}x{fh.height}")
            if fmt == "gray":
                return (_plane(frame.planes[0], h, w),), (1, 1)
            cw, ch = frame.planes[1].width, frame.planes[1].height
            fx, fy = max(1, round(w / cw)), max(1, round(h / ch))
            if math.ceil(w / fx) != cw or math.ceil(h / fy) != ch:
                raise DecodeError(f"{what}: chroma planes {cw}x{ch} do not match the image {w}x{h}")
            return (_plane(frame.planes[0], h, w), _plane(frame.planes[1], ch, cw),
                    _plane(frame.planes[2], ch, cw)), (fx, fy)
    except av.error.FFmpegError as e:
        raise DecodeError(f"{what}: FFmpeg could not decode it ({e})") from e


def decode_jpeg(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, structure: JpegStructure | None = None,
                what: str = "JPEG", backend: str = "libjpeg", output: str = "planes") -> DecodedJpeg:
    """Decode ``data`` (exactly one JPEG image).

    Raises :class:`LimitError` before decoding when the image is too large,
    :class:`ContainerError` for a truncated image (no EOI) and :class:`DecodeError` when
    the decoder fails or the format is unsupported (12-bit, CMYK, RGB, odd sampling).
    """
    if backend not in BACKENDS:
        raise OptionError(f"unknown JPEG decoder {backend!r}; choose from {', '.join(BACKENDS)}")
    if output not in ("planes", "samples"):
        raise OptionError(f"unknown decode output {output!r}")
    if structure is None:
        structure = scan_jpeg(data)
    check_pixel_limit(structure, max_pixels, what)
    _check(structure, what)
    fh = structure.frame
    factors = _factors(structure)
    planes = None
    used = backend
    if backend == "libjpeg":
        try:
            planes = _libjpeg(_codec_only(data, structure), fh, factors, output)
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, MemoryError,
                struct.error) as e:
            raise DecodeError(f"{what}: libjpeg could not decode it ({e})") from e
        except Exception as e:  # Pillow's DecompressionBombError for very large, already-allowed images
            if type(e).__name__ != "DecompressionBombError":
                raise
            planes = None
    if planes is None:
        used = "pyav"
        planes, got = _pyav(data, fh, what)
        if got != factors:
            raise DecodeError(f"{what}: decoded chroma factors {got} differ from the frame header {factors}")
        if output == "samples" and len(planes) == 3:
            y, cb, cr = planes
            fx, fy = factors
            if factors != (1, 1):
                rows, cols = np.arange(fh.height) // fy, np.arange(fh.width) // fx
                cb, cr = cb[rows][:, cols], cr[rows][:, cols]
            planes = (jfif_ycc_to_rgb(y, cb, cr),)
    return DecodedJpeg(tuple(planes), fh.width, fh.height, factors, used)
