"""SDR JPEG export of stills: rebuild linear HDR, render with the shared core, write with tags.

``export_sdr(src, dst)`` reads an Ultra HDR / gain-map JPEG (or a plain JPEG, 16-bit PNG or
TIFF), and writes an SDR JPEG (libjpeg-turbo through Pillow) with:

- an sRGB ICC profile made by littleCMS (Pillow ImageCms), never hand-made bytes;
- EXIF from the source kept (MakerNote dropped), ColorSpace = 1, PixelX/YDimension set,
  Orientation kept (pixels are stored as decoded, so viewers rotate them the same way),
  and an IFD1 thumbnail (512 px long edge) rendered by the same pipeline, never copied;
- XMP in the hdrkit namespace recording the parameter pack (tonemap_v, gamut_v, dither,
  subsampling, q), ``ultrahdr=false`` and any warnings;
- no MPF, hdrgm or ISO 21496-1 segment (the output is a plain SDR JPEG).

The file appears atomically (temporary file, then rename). A tag that cannot be made is
recorded in ``warnings`` (and in the XMP) and the export goes on.

Chroma subsampling ``auto``: 4:4:4 when the picture is detailed (edge density > 0.12) or
holds saturated colours (99.9th percentile of HSV saturation > 0.95), where 4:2:0 would
bleed colour across edges, else 4:2:0 (ITU-T T.81 sampling factors 2x2 for chroma).
"""

from __future__ import annotations

import io
import struct
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from .. import __version__
from ..core.pipeline import RenderParams, encode_transfer, estimate_peak, render_linear, render_sdr
from ..errors import ContainerError, DecodeError, HdrkitError, LimitError, OptionError, require_file
from ..io.atomic import atomic_path, check_not_input
from .exif import build_exif, parse_exif
from .exif import strip_location as strip_exif_location
from .gainmap import GainMapImage, read_gainmap, resolve_display_boost
from .xmp import attr_text

__all__ = ["ExportResult", "export_sdr", "export_array", "export_jpeg", "export_jpeg_parts", "with_tags",
           "load_linear", "render_preview", "choose_subsampling",
           "srgb_icc", "streams_rows", "XMP_NS", "THUMBNAIL_EDGE"]

XMP_NS = "http://ns.hdrkit.org/export/1.0/"
THUMBNAIL_EDGE = 512
_EXIF_LIMIT = 65533 - 8  # one APP1 segment


@dataclass
class ExportResult:
    """What an export did: where, how big, with which parameters, and what went wrong softly."""

    dst: Path
    width: int
    height: int
    src_peak: float
    quality: int
    subsampling: str
    tags: dict
    warnings: list[str] = field(default_factory=list)
    fallback: str | None = None
    size_bytes: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["dst"] = str(self.dst)
        return d


@lru_cache(maxsize=1)
def srgb_icc() -> bytes:
    """littleCMS's built-in sRGB profile, serialised by Pillow ImageCms.

    littleCMS stamps the profile header's creation date (ICC.1 §7.2.8, dateTimeNumber at
    bytes 24-35) with the current time; it is set to a fixed date so that the same input
    and options give the same bytes whenever they run.
    """
    from PIL import ImageCms

    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc[24:36] = struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
    return bytes(icc)


# ------------------------------------------------------------------- inputs
@dataclass
class LinearImage:
    """A decoded still in hdrkit's linear units (1.0 = SDR white) with what the export keeps."""

    rgb: np.ndarray
    primaries: str
    exif: bytes | None = None
    kind: str = "sdr"
    fallback: str | None = None
    warnings: list[str] = field(default_factory=list)


def _icc_primaries(icc: bytes | None, warnings: list[str]) -> str:
    if not icc:
        return "bt709"
    from .icc import icc_primaries

    try:
        found = icc_primaries(icc)
    except HdrkitError as e:
        warnings.append(f"ICC profile not understood ({e}); assuming sRGB primaries")
        return "bt709"
    if found is None:
        warnings.append("ICC profile gamut not recognised (not sRGB, Display P3 or BT.2020); assuming sRGB primaries")
    return found or "bt709"


#: ``--assume-transfer`` and ``--assume-primaries`` choices for untagged PNG / TIFF.
ASSUME_TRANSFERS = ("pq", "hlg")
ASSUME_PRIMARIES = ("bt2020", "p3", "bt709")


def check_assume(assume_transfer: str | None, assume_primaries: str | None) -> None:
    """Refuse ``assume_*`` values hdrkit cannot decode with (an :class:`OptionError`)."""
    if assume_transfer is not None and assume_transfer not in ASSUME_TRANSFERS:
        raise OptionError(f"--assume-transfer must be pq or hlg, not {assume_transfer!r}")
    if assume_primaries is not None and assume_primaries not in ASSUME_PRIMARIES:
        raise OptionError(f"--assume-primaries must be bt2020, p3 or bt709, not {assume_primaries!r}")


def _signal_description(data: bytes, icc: bytes | None, warnings: list[str], assume_transfer: str | None,
                        assume_primaries: str | None) -> tuple[str, str]:
    """(transfer, primaries) of a PNG / TIFF: its cICP chunk, else ``assume_*``, else sRGB with its ICC gamut.

    A cICP tag wins over ``assume_*`` (a disagreement is recorded in ``warnings``); an HDR
    picture without primaries is taken as BT.2020 (ITU-R BT.2100).
    """
    from .cicp import read_cicp

    cicp = read_cicp(data)
    if cicp is not None:
        transfer, primaries = cicp.names()
        for flag, given, tagged in (("transfer", assume_transfer, transfer),
                                    ("primaries", assume_primaries, primaries)):
            if given is not None and given != tagged:
                warnings.append(f"the PNG's cICP says {flag} {tagged}; --assume-{flag} {given} ignored")
        return transfer, primaries
    if assume_transfer is not None:
        return assume_transfer, assume_primaries or "bt2020"
    if assume_primaries is not None and not icc:
        return "srgb", assume_primaries
    return "srgb", _icc_primaries(icc, warnings)


def _load_plain(data: bytes, warnings: list[str], max_pixels: int | None = None, assume_transfer: str | None = None,
                assume_primaries: str | None = None) -> LinearImage:
    """Plain JPEG / PNG / TIFF (8 or 16 bit): sRGB with its ICC gamut, or PQ / HLG from cICP or ``assume_*``.

    The header's size is checked against ``max_pixels`` (default
    :data:`hdrkit.still.decode.DEFAULT_MAX_PIXELS`) before any decoding. PQ and HLG signals
    are decoded by :func:`hdrkit.core.signal.codes_to_linear` (the video path's transfer
    functions, HLG on the 1000 cd/m^2 reference display).
    """
    from PIL import Image

    from ..core.signal import codes_to_linear
    from ..core.transfer import eotf_srgb
    from .decode import DEFAULT_MAX_PIXELS

    limit = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
            if w * h > limit:
                raise LimitError(f"image is {w}x{h} = {w * h / 1e6:.1f} MP, over the {limit / 1e6:g} MP limit")
            im.load()
            icc = im.info.get("icc_profile")
            exif = im.info.get("exif")
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                codes, top = np.repeat(np.asarray(im)[..., None], 3, axis=-1), 65535
            else:
                codes, top = np.asarray(im.convert("RGB")), 255
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as e:
        # Pillow signals a broken PNG chunk with SyntaxError
        raise DecodeError(f"cannot decode image: {e}") from e
    if _is_16bit(data):
        a16 = _decode_rgb48(data)
        if a16 is not None:
            codes, top = a16, 65535
    transfer, primaries = _signal_description(data, icc, warnings, assume_transfer, assume_primaries)
    if transfer == "srgb":
        rgb = np.ascontiguousarray(eotf_srgb(codes.astype(np.float32) / float(top)), dtype=np.float32)
        return LinearImage(rgb, primaries, exif, "sdr", None, warnings)
    return LinearImage(codes_to_linear(codes, top.bit_length(), transfer), primaries, exif, transfer, None, warnings)


def _is_16bit(data: bytes) -> bool:
    return (data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 24 and data[24] == 16) or data[:4] in (b"II*\x00", b"MM\x00*")


def _decode_rgb48(data: bytes) -> np.ndarray | None:
    """16-bit RGB PNG/TIFF codes (uint16) through PyAV (Pillow reduces these to 8 bits)."""
    import av

    fmt = "png_pipe" if data[:4] == b"\x89PNG" else "tiff_pipe"
    try:
        with av.open(io.BytesIO(data), format=fmt) as c:
            fr = next(c.decode(video=0))
            if fr.format.name not in ("rgb48be", "rgb48le", "rgba64be", "rgba64le"):
                return None
            return fr.to_ndarray(format="rgb48le")
    except (av.FFmpegError, StopIteration, ValueError):
        return None


def load_linear(src, *, display_boost: float | None = None, fallback: bool = True, max_pixels: int | None = None,
                headroom: float | None = None, assume_transfer: str | None = None,
                assume_primaries: str | None = None) -> LinearImage:
    """Decode ``src`` (path or bytes) to linear light, 1.0 = SDR white, in its own gamut.

    Gain-map JPEGs are rebuilt for a display of peak ``display_boost`` (None = full HDR, as
    libultrahdr; ``headroom`` is its former name, still accepted); if the gain map is
    unusable but the base image decodes and ``fallback`` is set, the SDR base is used and
    the reason is recorded. A JPEG without any gain map takes that path too.

    PNG and TIFF are sRGB (gamut from their ICC profile) unless a PNG ``cICP`` chunk says
    otherwise (:mod:`hdrkit.still.cicp`: PQ or HLG, BT.2020 / P3-D65 / BT.709) or, for an
    untagged file, ``assume_transfer`` ('pq' | 'hlg') and ``assume_primaries`` ('bt2020',
    default for PQ / HLG, | 'p3' | 'bt709') say how to read it. PQ is decoded with the
    ST 2084 EOTF, HLG with the BT.2100 inverse OETF and the OOTF of a 1000 cd/m^2 display,
    both / 203 cd/m^2, exactly as video frames (:func:`hdrkit.core.signal.codes_to_linear`).
    JPEG inputs ignore ``assume_*``.
    """
    display_boost = check_display_boost(display_boost, headroom)
    check_assume(assume_transfer, assume_primaries)
    img, warnings = _open_still(src, fallback, max_pixels, assume_transfer, assume_primaries)
    return _rebuilt(img, warnings, display_boost) if isinstance(img, GainMapImage) else img


def _open_still(src, fallback: bool, max_pixels: int | None, assume_transfer: str | None,
                assume_primaries: str | None) -> tuple[LinearImage | GainMapImage, list[str]]:
    """:func:`load_linear` up to the rebuild: a JPEG's :class:`GainMapImage` (not yet rebuilt), else the
    decoded PNG / TIFF; with the soft warnings so far."""
    data = Path(src).read_bytes() if not isinstance(src, (bytes, bytearray, memoryview)) else bytes(src)
    if len(data) < 4:
        raise ContainerError("file is empty or too short to be an image")
    warnings: list[str] = []
    if data[:2] == b"\xff\xd8":
        kw = {} if max_pixels is None else {"max_pixels": max_pixels}
        gm = read_gainmap(src if not isinstance(src, (bytes, bytearray, memoryview)) else data,
                          fallback="base" if fallback else None, **kw)
        if gm.fallback_reason:
            warnings.append(f"gain map unusable ({gm.fallback_reason}); exported the SDR base image")
        return gm, warnings
    if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:4] in (b"II*\x00", b"MM\x00*"):
        return _load_plain(data, warnings, max_pixels, assume_transfer, assume_primaries), warnings
    raise ContainerError("not a JPEG, PNG or TIFF file")


def _rebuilt(gm: GainMapImage, warnings: list[str], display_boost: float | None) -> LinearImage:
    reason = gm.fallback_reason
    return LinearImage(gm.render(display_boost=display_boost), gm.primaries, gm.exif,
                       "sdr-base" if reason else "gainmap", reason, warnings)


# ------------------------------------------------------------------ rendering
def render_preview(rgb, primaries: str, params: RenderParams, src_peak: float) -> np.ndarray:
    """The float preview of an export: encoded sRGB in [0, 1] before dither and JPEG."""
    return encode_transfer(render_linear(rgb, primaries, params, src_peak), "srgb")


def choose_subsampling(sdr8: np.ndarray) -> str:
    """Subsampling for the 8-bit output (RGB or RGBX): '444' if edge density > 0.12 or P99.9
    saturation > 0.95, else '420'.

    One compiled pass (:func:`hdrkit.core.kernels.subsampling_stats`); the numpy form is
    :func:`choose_subsampling_reference`.
    """
    from ..core.kernels import subsampling_stats

    edge_density, saturated = subsampling_stats(sdr8, _subsampling_step(sdr8))
    return "444" if edge_density > 0.12 or saturated else "420"


def choose_subsampling_reference(sdr8: np.ndarray) -> str:
    """Numpy reference of :func:`choose_subsampling`."""
    from ..core.kernels import subsampling_stats_reference

    edge_density, saturated = subsampling_stats_reference(sdr8, _subsampling_step(sdr8))
    return "444" if edge_density > 0.12 or saturated else "420"


def _subsampling_step(sdr8: np.ndarray) -> int:
    """Every how many rows and columns the subsampling statistics look (about 1024 along the longer side)."""
    return max(1, int(np.ceil(max(sdr8.shape[:2]) / 1024)))


def _downscale_plan(h: int, w: int, edge: int) -> tuple[int, int, int] | None:
    """How :func:`_downscale` reduces an ``h`` x ``w`` picture: (box size k, height, width after
    Lanczos), or None when it fits within ``edge`` as it is."""
    s = edge / max(h, w)
    if s >= 1:
        return None
    return max(1, int(1 / s / 2)), max(1, round(h * s)), max(1, round(w * s))


def _downscale(rgb: np.ndarray, edge: int) -> np.ndarray:
    """Area-average then Lanczos to ``edge`` px on the long side (linear light, float32)."""
    plan = _downscale_plan(*rgb.shape[:2], edge)
    if plan is None:
        return rgb
    k, th, tw = plan
    if k > 1:
        from ..core.kernels import box_mean

        rgb = box_mean(rgb, k)  # = rgb[:h//k*k, :w//k*k].reshape(h//k, k, w//k, k, 3).mean(axis=(1, 3))
    return _lanczos(rgb, th, tw)


def _lanczos(rgb: np.ndarray, th: int, tw: int) -> np.ndarray:
    """Lanczos resize of linear light (float32, per channel) to ``th`` x ``tw``, clipped at 0
    (:func:`hdrkit.core.resample.lanczos_resize`, Pillow's resize computed on every core)."""
    from ..core.resample import lanczos_resize

    small = lanczos_resize(rgb, th, tw)  # a new float32 array: clipped in place
    return np.clip(small, 0, None, out=small)


def _xmp(tags: dict, extra: dict | None) -> bytes:
    fields = {**tags, **(extra or {})}
    attrs = "\n   ".join(f'hdrkit:{k}="{attr_text(v)}"' for k, v in fields.items())
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'  <rdf:Description rdf:about="" xmlns:hdrkit="{XMP_NS}"\n   {attrs}/>\n'
        " </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>"
    ).encode("utf-8")


def _jpeg_bytes(img8: np.ndarray, quality: int, subsampling: str, progressive: bool = False, **kw) -> bytes:
    """JPEG of an (H, W, 3) RGB or (H, W, 4) RGBX uint8 picture (libjpeg-turbo through Pillow).

    RGBX is wrapped without a copy (Pillow stores RGB as four bytes per pixel, so handing it
    three costs a 12 MP picture 25 ms of conversion) and encoded as the same RGB samples.
    """
    from PIL import Image

    buf = io.BytesIO()
    h, w, nc = img8.shape
    if nc == 4:
        im = Image.frombuffer("RGBX", (w, h), np.ascontiguousarray(img8), "raw", "RGBX", 0, 1)
    else:
        im = Image.fromarray(img8, "RGB")
    im.save(buf, "JPEG", quality=quality, subsampling={"444": 0, "422": 1, "420": 2}[subsampling],
            progressive=progressive, optimize=False, **kw)
    return buf.getvalue()


def _render_for_jpeg(rgb, primaries: str, params: RenderParams, peak: float) -> np.ndarray:
    """The 8-bit render of an export: RGBX (H, W, 4) from the compiled kernel, else RGB (H, W, 3)."""
    from ..core import kernels

    if kernels.has_kernel(params):
        return kernels.render_sdr_fast(rgb, primaries, params, peak, rgbx=True)
    return render_sdr(rgb, primaries, params, peak)


def _thumbnail(rgb, primaries, params, src_peak, warnings) -> bytes | None:
    return _thumbnail_of(_downscale(rgb, THUMBNAIL_EDGE), primaries, params, src_peak, warnings)


def _thumbnail_of(small, primaries, params, src_peak, warnings) -> bytes | None:
    """The EXIF thumbnail's JPEG from the picture reduced to :data:`THUMBNAIL_EDGE` (linear light)."""
    t8 = render_sdr(small, primaries, params, src_peak)
    for q in (85, 75, 60, 45):
        b = _jpeg_bytes(t8, q, "420")
        if len(b) < _EXIF_LIMIT - 4096:
            return b
    warnings.append("thumbnail too large for EXIF; written without one")
    return None


def export_array(rgb, primaries: str, dst, *, src_peak: float | None = None, params: RenderParams | None = None,
                 quality: int = 90, subsampling: str = "auto", progressive: bool = False, exif: bytes | None = None,
                 xmp_extra: dict | None = None, warnings: list[str] | None = None) -> ExportResult:
    """Render linear light and write it as an SDR JPEG with ICC, EXIF (and thumbnail) and XMP.

    This is the still export rule set; keyframes of videos use it unchanged, so the same
    pixels give the same bytes whichever path they come from. Arguments, result and errors
    as :func:`export_jpeg` (which also returns the bytes).
    """
    return export_jpeg(rgb, primaries, dst, src_peak=src_peak, params=params, quality=quality, subsampling=subsampling,
                       progressive=progressive, exif=exif, xmp_extra=xmp_extra, warnings=warnings)[1]


def export_jpeg(rgb, primaries: str, dst=None, *, src_peak: float | None = None, params: RenderParams | None = None,
                quality: int = 90, subsampling: str = "auto", progressive: bool = False, exif: bytes | None = None,
                xmp_extra: dict | None = None, warnings: list[str] | None = None) -> tuple[bytes, ExportResult]:
    """The SDR JPEG of :func:`export_array`, as bytes, written to ``dst`` too unless it is None.

    Parameters
    ----------
    rgb : (H, W, 3) array_like
        Linear light, 1.0 = SDR white = 203 cd/m^2 (ITU-R BT.2408), in ``primaries``.
    primaries : {'bt709', 'p3', 'bt2020'}
        Gamut of ``rgb``.
    dst : path-like or None
        Output JPEG, written atomically; None writes nothing.
    src_peak : float, optional
        Source peak for the tone curve (linear relative); default :func:`~hdrkit.core.pipeline.estimate_peak`.
    params : RenderParams, optional
        Tone curve, gamut map and dither; default ``RenderParams()``.
    quality, subsampling, progressive :
        JPEG settings, as :func:`export_sdr`.
    exif : bytes, optional
        Source EXIF (TIFF structure) to carry over.
    xmp_extra : dict, optional
        More ``hdrkit:`` XMP fields.
    warnings : list of str, optional
        Earlier soft warnings to record.

    Returns
    -------
    (bytes, ExportResult)
        The JPEG file and what the export did (``dst`` None when nothing was written).

    Raises
    ------
    OptionError
        Bad quality or subsampling.
    OutputError
        ``dst`` cannot be written.

    References
    ----------
    IEC 61966-2-1 (sRGB); ICC.1:2022 (profile); CIPA DC-008 (Exif 2.32); ISO 16684-1 (XMP).
    """
    with ThreadPoolExecutor(max_workers=1) as pool:  # the tags and thumbnail beside the pixels' encode
        _, finish = export_jpeg_parts(rgb, primaries, dst, src_peak=src_peak, params=params, quality=quality,
                                      subsampling=subsampling, progressive=progressive, exif=exif,
                                      xmp_extra=xmp_extra, warnings=warnings, pool=pool)
        return finish()


def export_jpeg_parts(rgb, primaries: str, dst=None, *, src_peak: float | None = None,
                      params: RenderParams | None = None, quality: int = 90, subsampling: str = "auto",
                      progressive: bool = False, exif: bytes | None = None, xmp_extra: dict | None = None,
                      warnings: list[str] | None = None,
                      pool: Executor | None = None) -> tuple[bytes, Callable[[], tuple[bytes, ExportResult]]]:
    """:func:`export_jpeg` in two steps: the pixels' JPEG first, the tags after.

    Renders and encodes ``rgb`` and returns that JPEG with no APPn segment but JFIF's (its
    tables and entropy-coded data are the export's, byte for byte) and a function without
    arguments that inserts the tags (thumbnail, EXIF, ICC, XMP) where libjpeg writes them
    through Pillow (EXIF, then XMP, then the ICC chunks, after the JFIF segment) and returns
    :func:`export_jpeg`'s result, writing ``dst`` unless it is None. With ``pool``, the tags
    are made on it from the moment the render is done (while the pixels are encoded and the
    caller uses them); otherwise by that function. Arguments and errors as :func:`export_jpeg`.
    """
    t0 = time.perf_counter()
    params = params or RenderParams()
    _check_jpeg_options(quality, subsampling)
    rgb = np.ascontiguousarray(rgb, dtype=np.float32)
    peak = estimate_peak(rgb) if src_peak is None else float(src_peak)
    img8 = _render_for_jpeg(rgb, primaries, params, peak)
    return _jpeg_parts(img8, peak, lambda: _downscale(rgb, THUMBNAIL_EDGE), primaries, dst, t0, params=params,
                       quality=quality, subsampling=subsampling, progressive=progressive, exif=exif,
                       xmp_extra=xmp_extra, warnings=warnings, pool=pool)


def _check_jpeg_options(quality: int, subsampling: str) -> None:
    if not 1 <= int(quality) <= 100:
        raise OptionError(f"quality must be 1-100, not {quality}")
    if subsampling not in ("auto", "420", "422", "444"):
        raise OptionError(f"subsampling must be auto, 420, 422 or 444, not {subsampling!r}")


def _jpeg_parts(img8: np.ndarray, peak: float, small: Callable[[], np.ndarray], primaries: str, dst, t0: float, *,
                params: RenderParams, quality: int, subsampling: str, progressive: bool, exif: bytes | None,
                xmp_extra: dict | None, warnings: list[str] | None,
                pool: Executor | None) -> tuple[bytes, Callable[[], tuple[bytes, ExportResult]]]:
    """:func:`export_jpeg_parts` from the render ``img8`` (RGBX or RGB codes), the source peak it was
    rendered with and ``small``, which gives the linear picture reduced for the thumbnail
    (:func:`_downscale`'s result)."""
    warnings = list(warnings or [])
    h, w = img8.shape[:2]
    sub = choose_subsampling(img8) if subsampling == "auto" else subsampling
    tags = {**params.tags(), "subsampling": sub, "q": int(quality), "ultrahdr": "false", "src_peak": f"{peak:.4g}",
            "version": __version__}

    def make_tags() -> dict:
        kw = {}
        try:
            kw["icc_profile"] = srgb_icc()
        except Exception as e:  # noqa: BLE001 - a missing tag must not stop the export
            warnings.append(f"icc=missing ({type(e).__name__})")
        try:
            endian, ifds = parse_exif(exif)
        except HdrkitError as e:
            warnings.append(f"source EXIF unreadable ({e}); written fresh")
            endian, ifds = ">", {}
        thumb = _thumbnail_of(small(), primaries, params, peak, warnings)
        try:
            kw["exif"] = build_exif(endian, ifds, width=w, height=h, software=f"hdrkit {__version__}", thumbnail=thumb)
            if len(kw["exif"]) > _EXIF_LIMIT:
                kw["exif"] = build_exif(endian, ifds, width=w, height=h, software=f"hdrkit {__version__}")
                warnings.append("EXIF too large with thumbnail; thumbnail dropped")
        except (HdrkitError, ValueError) as e:
            warnings.append(f"exif=missing ({e})")
        if warnings:
            tags["export_warnings"] = "; ".join(warnings)
        kw["xmp"] = _xmp(tags, xmp_extra)
        return kw

    made = pool.submit(make_tags) if pool is not None else None
    pixels = _jpeg_bytes(img8, int(quality), sub, progressive)
    del img8

    def finish() -> tuple[bytes, ExportResult]:
        data = with_tags(pixels, **(made.result() if made is not None else make_tags()))
        res = ExportResult(Path(dst) if dst is not None else None, w, h, peak, int(quality), sub, tags, warnings,
                           None, len(data), 0.0)
        if dst is not None:
            with atomic_path(res.dst) as tmp:
                tmp.write_bytes(data)
        res.seconds = time.perf_counter() - t0
        return data, res

    return pixels, finish


def with_tags(jpeg: bytes, *, exif: bytes | None = None, xmp: bytes | None = None,
              icc_profile: bytes | None = None) -> bytes:
    """``jpeg`` (Pillow's, with no tags) with the tags Pillow's JPEG writer would have put in.

    The same segments in the same places as ``Image.save(..., exif=, xmp=, icc_profile=)``:
    after SOI and the JFIF APP0, EXIF (APP1, as given: it starts with ``Exif\\0\\0``), the
    XMP packet (APP1, ``http://ns.adobe.com/xap/1.0/\\0``) and the ICC profile in APP2
    chunks of at most 65519 bytes (ICC.1 Annex B.4: ``ICC_PROFILE\\0``, chunk number,
    chunk count).

    References
    ----------
    ISO 16684-1 (XMP in JPEG: Adobe XMP Specification Part 3 §1.1.3); ICC.1:2022 Annex B.4;
    CIPA DC-008 (Exif APP1).
    """
    from .jpeg import app_segment, insert_segments

    segs = []
    if exif:
        segs.append(app_segment(0xE1, exif))
    if xmp:
        segs.append(app_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + xmp))
    if icc_profile:
        size = 65533 - 14  # a segment's payload less the chunk header
        chunks = [icc_profile[i:i + size] for i in range(0, len(icc_profile), size)]
        segs += [app_segment(0xE2, b"ICC_PROFILE\x00" + bytes((n + 1, len(chunks))) + c) for n, c in enumerate(chunks)]
    return insert_segments(jpeg, segs) if segs else jpeg


def check_display_boost(display_boost: float | None, headroom: float | None) -> float | None:
    """One checked value from the current keyword and its former name ``headroom``."""
    display_boost = resolve_display_boost(display_boost, headroom)
    if display_boost is not None and not (np.isfinite(display_boost) and display_boost >= 1.0):
        raise OptionError(f"headroom must be >= 1, not {display_boost}")
    return display_boost


def render_params_from(params: RenderParams | None, **loose) -> RenderParams:
    """``params``, or one built from its keyword form (``curve``, ``preset``, ``curve_params``,
    ``gamut_map``, ``dither``); both at once is an :class:`OptionError`."""
    given = {k: v for k, v in loose.items() if v is not None}
    if params is None:
        return RenderParams(**{**given, "curve_params": loose.get("curve_params") or {}})
    if given:
        raise OptionError(f"give params or {', '.join(given)}, not both")
    return params


def export_sdr(src, dst, *, params: RenderParams | None = None, display_boost: float | None = None,
               quality: int = 90, subsampling: str = "auto", progressive: bool = False, force: bool = False,
               fallback: bool = True, max_pixels: int | None = None, curve: str | None = None,
               preset: str | None = None, curve_params: dict | None = None, gamut_map: str | None = None,
               dither: str | None = None, headroom: float | None = None,
               strip_location: bool = False, assume_transfer: str | None = None,
               assume_primaries: str | None = None) -> ExportResult:
    """Export one still as an SDR JPEG.

    Parameters
    ----------
    src : path-like or bytes
        Ultra HDR / gain-map JPEG, plain JPEG, or 8/16-bit PNG / TIFF.
    dst : path-like
        Output JPEG, written atomically.
    params : RenderParams, optional
        How HDR becomes SDR (tone curve, gamut map, dither), as every hdrkit job takes it;
        default ``RenderParams()``.
    display_boost : float, optional
        Rebuild the gain map as a display with this peak (relative to SDR white, >= 1)
        would show it, then tone map to SDR (libultrahdr's ``max_display_boost``; 1.0 =
        the SDR base). None = full HDR.
    quality : int
        JPEG quality 1-100.
    subsampling : {'auto', '420', '422', '444'}
        Chroma subsampling; ``auto`` picks 4:4:4 for detailed or saturated pictures.
    progressive : bool
        Write a progressive JPEG.
    force : bool
        Allow ``dst`` to be the input file.
    fallback : bool
        Export the SDR base (with a warning) when the gain map is unusable; else raise.
    max_pixels : int, optional
        Refuse larger images, checked from the headers before decoding.
    curve, preset, curve_params, gamut_map, dither : optional
        The keyword form of ``params`` (the fields of :class:`~hdrkit.core.pipeline.RenderParams`
        of the same names), kept; give either these or ``params``.
    headroom : float, optional
        Former name of ``display_boost``, kept.
    strip_location : bool
        Drop the source's EXIF GPS block (:func:`hdrkit.still.exif.strip_location`).
    assume_transfer, assume_primaries : str, optional
        How to read a PNG / TIFF that carries no cICP chunk: 'pq' | 'hlg' and 'bt2020' |
        'p3' | 'bt709' (see :func:`load_linear`).

    Returns
    -------
    ExportResult
        Size, parameters, subsampling, source peak and soft warnings of the export.

    Raises
    ------
    OptionError
        Bad options, both ``params`` and its keyword form, or ``dst`` is the input.
    ContainerError, DecodeError, MetadataError, LimitError
        The input cannot be read (one line saying why).
    OutputError
        ``dst`` cannot be written.

    References
    ----------
    ISO 21496-1:2025 (gain-map application); IEC 61966-2-1 (sRGB output).
    """
    t0 = time.perf_counter()
    display_boost = check_display_boost(display_boost, headroom)
    params = render_params_from(params, curve=curve, preset=preset, curve_params=curve_params, gamut_map=gamut_map,
                                dither=dither)
    if not isinstance(src, (bytes, bytearray, memoryview)):
        require_file(src)
        check_not_input(src, dst, force)
    check_assume(assume_transfer, assume_primaries)
    img, warnings = _open_still(src, fallback, max_pixels, assume_transfer, assume_primaries)
    streamed = isinstance(img, GainMapImage) and streams_rows(img, params)
    if isinstance(img, GainMapImage) and not streamed:
        img = _rebuilt(img, warnings, display_boost)
    extra = {"source_kind": "gainmap" if streamed else img.kind}
    exif = strip_exif_location(img.exif) if strip_location else img.exif
    if display_boost is not None:
        extra["headroom"] = f"{display_boost:g}"  # the XMP field keeps its name: files already carry it
    kw = dict(params=params, quality=quality, subsampling=subsampling, progressive=progressive, exif=exif,
              xmp_extra=extra, warnings=warnings)
    if streamed:
        res = _export_streamed(img, display_boost, dst, **kw)[1]
    else:
        res = export_array(img.rgb, img.primaries, dst, **kw)
        res.fallback = img.fallback
    res.seconds = time.perf_counter() - t0
    return res


def streams_rows(gm: GainMapImage, params: RenderParams) -> bool:
    """Whether :func:`export_sdr` renders ``gm`` row by row from its base and map (:func:`_export_streamed`):
    a gain map, a compiled gamut map and a picture large enough that its thumbnail starts with a
    box filter (what the streamed rows feed). Both ways give the same bytes."""
    from ..core.kernels import has_kernel

    plan = _downscale_plan(gm.height, gm.width, THUMBNAIL_EDGE)
    return gm.gainmap is not None and has_kernel(params) and plan is not None and plan[0] > 1


def _export_streamed(gm: GainMapImage, display_boost: float | None, dst, *, params: RenderParams, quality: int,
                     subsampling: str, progressive: bool, exif: bytes | None, xmp_extra: dict | None,
                     warnings: list[str]) -> tuple[bytes, ExportResult]:
    """:func:`export_jpeg` of ``gm.render(display_boost)`` without the float picture: the source peak from
    the pixels :func:`~hdrkit.core.pipeline.estimate_peak` samples, rebuilt alone, then one pass that
    rebuilds, renders and box-filters each row for the thumbnail while it is in cache
    (:func:`hdrkit.core.kernels.render_sdr_rebuilt`). The same bytes as :func:`export_jpeg`."""
    from ..core.kernels import render_sdr_rebuilt
    from ..core.pipeline import peak_sample_step
    from ..core.rebuild import rebuild_sampled

    t0 = time.perf_counter()
    _check_jpeg_options(quality, subsampling)
    inputs = gm.map_inputs(display_boost)
    h, w = inputs.shape
    sample = rebuild_sampled(inputs, peak_sample_step(h, w))
    peak = estimate_peak(sample, max_samples=sample.shape[0] * sample.shape[1])  # the whole picture's value
    plan = _downscale_plan(h, w, THUMBNAIL_EDGE)
    img8, box = render_sdr_rebuilt(inputs, gm.primaries, params, peak, plan[0] if plan else 1, rgbx=True)
    small = (lambda: box) if plan is None else (lambda: _lanczos(box, *plan[1:]))  # a 1-pixel box: the picture
    with ThreadPoolExecutor(max_workers=1) as pool:
        _, finish = _jpeg_parts(img8, peak, small, gm.primaries, dst, t0, params=params,
                                quality=quality, subsampling=subsampling, progressive=progressive, exif=exif,
                                xmp_extra=xmp_extra, warnings=warnings, pool=pool)
        del img8
        return finish()
