"""Fuzz targets: one function per parser, each taking the raw bytes of one input.

Contract under test: whatever the bytes, a target returns normally or raises an
:class:`~hdrkit.errors.HdrkitError` (a named, one-line refusal). Any other exception, a
hang, a native crash or unbounded memory is a bug in the parser. The targets call the
real parsers; the runner (:mod:`tools.fuzz.runner`) classifies. A target that runs
several readers on the same bytes lets each refuse by name, passes any other exception
straight through, and re-raises a refusal only when every reader refused.

Some targets also check a property on inputs the parser accepted, e.g. that a record
written back by the module's own writer parses to the same values. A broken property
raises :class:`PropertyViolation` (deliberately not an ``HdrkitError``).

Each :class:`Target` names the modules (and attributes) it needs; a target whose module
does not exist (yet) reports itself unavailable with the reason instead of failing.

Seed corpora (:mod:`tools.fuzz.corpus`) and mutation families
(:mod:`tools.fuzz.mutators`) are named by ``Target.corpus`` and ``Target.mutator``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Target", "TARGETS", "PropertyViolation", "get_target", "available_targets", "FUZZ_MAX_PIXELS"]

#: Pixel limit the decoding targets pass down (small, so one case stays well under 2 s).
FUZZ_MAX_PIXELS = 4_000_000


class PropertyViolation(AssertionError):
    """A parser accepted an input but broke a property it promises (e.g. a round trip)."""


@dataclass(frozen=True)
class Target:
    """One fuzz target.

    ``requires``: ``"module"`` or ``"module:attribute"`` strings that must resolve;
    ``corpus``: seed corpus name; ``mutator``: mutation family; ``weight``: share of the
    cases when several targets run (slow targets get less); ``max_len``: inputs are cut
    to this many bytes.
    """

    name: str
    func: Callable[[bytes], object]
    description: str
    requires: tuple[str, ...]
    corpus: str
    mutator: str
    weight: float = 1.0
    max_len: int = 1 << 20
    tags: tuple[str, ...] = field(default=())

    def unavailable(self) -> str | None:
        """Why the target cannot run here (a module or attribute missing), or None."""
        for req in self.requires:
            mod, _, attr = req.partition(":")
            try:
                if importlib.util.find_spec(mod) is None:
                    return f"module {mod} is not installed"
            except ModuleNotFoundError:
                return f"module {mod} is not installed"
            if attr:
                try:
                    m = importlib.import_module(mod)
                except ImportError as e:
                    return f"module {mod} cannot be imported ({e})"
                if not hasattr(m, attr):
                    return f"{mod} has no {attr}"
        return None

    def __call__(self, data: bytes):
        return self.func(bytes(data[: self.max_len]))


def _mod(name: str):
    return importlib.import_module(name)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _reraise_unless_hdrkit(e: BaseException) -> None:
    """Swallow a refusal (HdrkitError); re-raise anything else for the runner to record."""
    from hdrkit.errors import HdrkitError

    if not isinstance(e, HdrkitError):
        raise e


# ------------------------------------------------------------------- still images
def fuzz_jpeg(data: bytes) -> None:
    """JPEG marker scanner on the whole file, then on every image an MPF index points at."""
    jpeg = _mod("hdrkit.still.jpeg")
    s = jpeg.scan_jpeg(data)
    for seg in s.segments:
        seg.body()
        _ = seg.end, seg.payload_offset
    if s.frame is not None:
        _ = s.frame.sampling, s.frame.pixels
    _ = s.mpf_base_offset
    if s.mpf is not None:
        mpf = _mod("hdrkit.still.mpf")
        idx = mpf.parse_mpf(s.mpf.body(), s.mpf_base_offset, len(data))
        idx.to_dict()
        for e in idx.entries[1:]:
            if 0 < e.absolute_offset < len(data) and jpeg.is_jpeg(data, e.absolute_offset):
                jpeg.scan_jpeg(data, e.absolute_offset)


def fuzz_mpf(data: bytes) -> None:
    """MPF index (the APP2 payload after ``MPF\\0``) and a build -> parse round trip."""
    mpf = _mod("hdrkit.still.mpf")
    idx = mpf.parse_mpf(data, 100, len(data) + 100_000)
    idx.to_dict()
    for e in idx.entries:
        _ = e.type_name, e.image_format, e.representative
    if idx.entries:
        body = mpf.build_mpf([(e.attribute, e.size, e.offset) for e in idx.entries], idx.byte_order)
        back = mpf.parse_mpf(body[4:], 100, len(data) + 100_000)
        got = [(e.attribute, e.size, e.offset) for e in back.entries]
        want = [(e.attribute, e.size, e.offset) for e in idx.entries]
        if got != want:
            raise PropertyViolation(f"MPF round trip changed the entries: {want} -> {got}")


def fuzz_xmp(data: bytes) -> None:
    """Safe XMP parser and every reader on top of it (hdrgm, GContainer, Apple, extended GUID)."""
    xmp = _mod("hdrkit.still.xmp")
    root = xmp.parse_xmp(data)
    xmp.read_hdrgm(root)
    for item in xmp.read_container(root):
        item.to_dict()
    xmp.read_apple(root)
    xmp.extended_xmp_guid(root)


def fuzz_iso21496(data: bytes) -> None:
    """ISO 21496-1 record parser, its float view, and a write -> parse round trip."""
    iso = _mod("hdrkit.still.iso21496")
    iso.parse_iso21496_version(data)
    rec = iso.parse_iso21496(data)
    floats = rec.to_floats()
    back = iso.parse_iso21496(iso.write_iso21496(rec))
    if back.to_floats() != floats:
        raise PropertyViolation("ISO 21496-1 write -> parse changed the values")


def fuzz_icc(data: bytes) -> None:
    """ICC profile header / tag table / colorant parser and the gamut recogniser."""
    icc = _mod("hdrkit.still.icc")
    info = icc.parse_icc(data)
    info.to_dict()
    icc.icc_primaries(data)


def fuzz_exif(data: bytes) -> None:
    """EXIF (TIFF IFD) parser, and build -> parse of what it read (the export's rewrite)."""
    exif = _mod("hdrkit.still.exif")
    endian, ifds = exif.parse_exif(data)
    out = exif.build_exif(endian, ifds, width=64, height=48, software="hdrkit fuzz")
    e2, back = exif.parse_exif(out)
    if e2 != endian:
        raise PropertyViolation("EXIF rewrite changed the byte order")
    for name in ("0", "exif", "gps"):
        kept = {t: x for t, x in ifds.get(name, {}).items() if t not in exif._POINTERS and t != exif.TAG["MakerNote"]}
        for t, x in kept.items():
            if name == "0" and t in (exif.TAG["ProcessingSoftware"], exif.TAG["Software"]):
                continue
            if name == "exif" and t in (exif.TAG["ColorSpace"], exif.TAG["PixelXDimension"], exif.TAG["PixelYDimension"]):
                continue
            if back[name].get(t) != x:
                raise PropertyViolation(f"EXIF rewrite lost or changed tag 0x{t:04X} of IFD {name}")


def fuzz_gainmap(data: bytes) -> None:
    """``read_gainmap`` on a whole file, then the HDR rebuild at full and at a partial headroom."""
    gm_mod = _mod("hdrkit.still.gainmap")
    fallback = "base" if len(data) % 2 else None  # both ways of meeting an unusable map
    gm = gm_mod.read_gainmap(data, max_pixels=FUZZ_MAX_PIXELS, fallback=fallback)
    render = getattr(gm, "render", None)
    if render is not None:
        out = render()
        _check_linear(out, "render()")
        render(headroom=2.0)


def fuzz_still_load(data: bytes) -> None:
    """The still export's input side: ``load_linear`` (gain-map JPEG, plain JPEG, PNG, TIFF)."""
    export = _mod("hdrkit.still.export")
    img = export.load_linear(data, max_pixels=FUZZ_MAX_PIXELS)
    _check_linear(img.rgb, "load_linear")


def _check_linear(rgb, what: str) -> None:
    import numpy as np

    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[-1] != 3 or a.dtype != np.float32:
        raise PropertyViolation(f"{what} returned {a.dtype} {a.shape}, not float32 (H, W, 3)")
    if a.size and not np.isfinite(a[:: max(1, a.shape[0] // 64), :: max(1, a.shape[1] // 64)]).all():
        raise PropertyViolation(f"{what} returned non-finite linear values")


# ------------------------------------------------------------------ video metadata
def fuzz_st2086_string(data: bytes) -> None:
    """x265 ``master-display`` string parser, the sanitiser, and to_x265 -> parse round trip."""
    st = _mod("hdrkit.metadata.st2086")
    text = _text(data)
    md = st.MasteringDisplay.from_x265(text)
    san = st.sanitize(md)
    _ = san.problems, md.describe(), md.to_dict()
    again = st.MasteringDisplay.from_x265(md.to_x265())
    if again.units() != md.units():
        raise PropertyViolation(f"master-display round trip changed the units: {md.units()} -> {again.units()}")
    try:
        st.parse_master_display(text)
    except Exception as e:  # noqa: BLE001 - only HdrkitError may come out
        _reraise_unless_hdrkit(e)


def fuzz_st2086_sei(data: bytes) -> None:
    """24-byte MDCV SEI payload / ``mdcv`` box body, the sanitiser and the SEI round trip."""
    st = _mod("hdrkit.metadata.st2086")
    md = st.MasteringDisplay.from_sei_payload(data)
    st.sanitize(md)
    md.describe()
    again = st.MasteringDisplay.from_sei_payload(md.to_sei_payload())
    if again != md:
        raise PropertyViolation("MDCV SEI round trip changed the values")


def fuzz_hdr10plus_json(data: bytes) -> None:
    """HDR10+ JSON reader (strict, or x265-lenient for odd-length inputs), then write -> read of
    what it accepted."""
    hp = _mod("hdrkit.metadata.hdr10plus")
    path = os.path.join(_tmpdir(), "hdr10plus.json")
    with open(path, "wb") as f:
        f.write(data)
    md = hp.read_json(path, strict=len(data) % 2 == 0)
    _ = md.profile, len(md), md.scene_summary()
    for fr in md.frames:
        _ = fr.profile, fr.signal(), fr.maxscl_nits, fr.average_nits
    try:
        md.validate()
    except Exception as e:  # noqa: BLE001 - a lenient read may not validate; only HdrkitError may say so
        _reraise_unless_hdrkit(e)
        return
    again = hp.Hdr10PlusMetadata.from_json_dict(json.loads(md.to_json()))
    if [f.to_json() for f in again.frames] != [f.to_json() for f in md.frames]:
        raise PropertyViolation("HDR10+ JSON write -> read changed the frames")


def _sidedata_parsers() -> list[tuple[str, Callable[[bytes], object]]]:
    sd = _mod("hdrkit.metadata.sidedata")
    out = [("parse_mdcv", sd.parse_mdcv), ("parse_cll", sd.parse_cll), ("parse_dynamic_hdr_plus", sd.parse_dynamic_hdr_plus)]
    st = importlib.util.find_spec("hdrkit.metadata.st2086") and _mod("hdrkit.metadata.st2086")
    if st:
        out.append(("MasteringDisplay.from_side_data", st.MasteringDisplay.from_side_data))
    cll = importlib.util.find_spec("hdrkit.metadata.cll") and _mod("hdrkit.metadata.cll")
    if cll:
        out.append(("ContentLightLevel.from_side_data", cll.ContentLightLevel.from_side_data))
    hp = importlib.util.find_spec("hdrkit.metadata.hdr10plus") and _mod("hdrkit.metadata.hdr10plus")
    if hp:
        out.append(("Hdr10PlusFrame.from_side_data", lambda b: hp.Hdr10PlusFrame.from_side_data(b).to_json()))
    dv = importlib.util.find_spec("hdrkit.metadata.dovi") and _mod("hdrkit.metadata.dovi")
    if dv:
        out.append(("parse_dovi_record", lambda b: dv.parse_dovi_record(b).to_dict()))
    return out


def fuzz_sidedata(data: bytes) -> None:
    """Every FFmpeg side-data struct parser (MDCV, CLL, HDR10+, Dolby Vision record) on the bytes.

    The first input byte picks which parser goes first; all of them run on the rest,
    each may only refuse with an HdrkitError.
    """
    parsers = _sidedata_parsers()
    first = data[0] % len(parsers) if data else 0
    body = data[1:]
    refusal, accepted = None, 0
    for _name, fn in parsers[first:] + parsers[:first]:
        try:
            fn(body)
            accepted += 1
        except Exception as e:  # noqa: BLE001
            _reraise_unless_hdrkit(e)
            refusal = e
    if not accepted:
        raise refusal


def fuzz_hevc_sei(data: bytes) -> None:
    """HEVC bitstream parsers: NAL splitting (Annex B, 1/2/4-byte lengths), RBSP unescaping, SEI messages."""
    sd = _mod("hdrkit.metadata.sidedata")
    mode = data[0] % 4 if data else 0
    body = data[1:]
    for nal in sd.iter_nal_units(body, (None, 1, 2, 4)[mode]):
        if len(nal) >= 2 and ((nal[0] >> 1) & 0x3F) in (39, 40):
            try:
                sd.parse_sei_rbsp(sd.unescape_rbsp(nal[2:]))
            except Exception as e:  # noqa: BLE001
                _reraise_unless_hdrkit(e)
    sd.parse_sei_rbsp(sd.unescape_rbsp(body))


def fuzz_cll(data: bytes) -> None:
    """Content light level readers: ``max-cll`` string, SEI / ``clli`` payload, side data."""
    cll = _mod("hdrkit.metadata.cll")
    refusal, accepted = None, 0
    for fn, arg in ((cll.parse_max_cll, _text(data)), (cll.ContentLightLevel.from_sei_payload, data),
                    (cll.ContentLightLevel.from_side_data, data)):
        try:
            v = fn(arg)
            accepted += 1
        except Exception as e:  # noqa: BLE001
            _reraise_unless_hdrkit(e)
            refusal = e
            continue
        v.problems()
        if cll.parse_max_cll(v.to_x265()) != v and not v.problems():
            raise PropertyViolation(f"max-cll round trip changed {v}")
    if not accepted:
        raise refusal


# ---------------------------------------------------------------------------- video
_TMP: list[str] = []


def _tmpdir() -> str:
    """A private scratch folder for targets whose parser reads a path (one per process)."""
    if not _TMP or not os.path.isdir(_TMP[0]):
        _TMP[:] = [tempfile.mkdtemp(prefix="hdrkit-fuzz-")]
    return _TMP[0]


def fuzz_video(data: bytes) -> None:
    """Open a (mutated) MP4 / HEVC file with :class:`VideoReader`, decode, convert two frames."""
    vd = _mod("hdrkit.video.reader")
    path = os.path.join(_tmpdir(), "case.mp4" if data[4:8] == b"ftyp" else "case.hevc")
    with open(path, "wb") as f:
        f.write(data)
    with vd.VideoReader(path, allow_sdr=True) as r:
        _ = r.fps, r.duration, r.frame_count, r.colour
        for i, fr in enumerate(r.frames()):
            if i < 2:
                _check_linear(r.to_linear(fr), "VideoReader.to_linear")
            if i >= 12:
                break
        r.damage.summary()


def fuzz_video_info(data: bytes) -> None:
    """``hdrkit info``'s video probe: container boxes, in-band SEI, decoded side data, Dolby Vision."""
    info = _mod("hdrkit.video.info")
    path = os.path.join(_tmpdir(), "info.mp4" if data[4:8] == b"ftyp" else "info.hevc")
    with open(path, "wb") as f:
        f.write(data)
    d = info.video_info(path, probe_frames=8)
    info.format_video_info(d)
    json.dumps(d, default=str)


# ------------------------------------------------------------------------ registry
def _t(*args, **kw) -> Target:
    return Target(*args, **kw)


TARGETS: dict[str, Target] = {t.name: t for t in [
    _t("jpeg", fuzz_jpeg, "JPEG marker / segment scanner (+ MPF-pointed images)",
       ("hdrkit.still.jpeg:scan_jpeg", "hdrkit.still.mpf:parse_mpf"), "jpeg", "jpeg", 1.0),
    _t("mpf", fuzz_mpf, "MPF index IFD (CIPA DC-007) and its writer", ("hdrkit.still.mpf:parse_mpf",), "mpf", "ifd", 1.0,
       max_len=1 << 16),
    _t("xmp", fuzz_xmp, "safe XMP parser + hdrgm / GContainer / Apple readers",
       ("hdrkit.still.xmp:parse_xmp",), "xmp", "xmp", 1.0, max_len=1 << 20),
    _t("iso21496", fuzz_iso21496, "ISO 21496-1 gain-map record and its writer",
       ("hdrkit.still.iso21496:parse_iso21496",), "iso21496", "struct32", 1.0, max_len=4096),
    _t("icc", fuzz_icc, "ICC profile header / tags / gamut recognition", ("hdrkit.still.icc:parse_icc",), "icc",
       "struct32", 0.6, max_len=1 << 18),
    _t("exif", fuzz_exif, "EXIF IFD parser and the export's EXIF rewrite",
       ("hdrkit.still.exif:parse_exif", "hdrkit.still.exif:build_exif"), "exif", "ifd", 0.8, max_len=1 << 16),
    _t("gainmap", fuzz_gainmap, "read_gainmap on whole files + HDR rebuild",
       ("hdrkit.still.gainmap:read_gainmap",), "jpeg", "jpeg", 0.35, tags=("decode",)),
    _t("still_load", fuzz_still_load, "still export input: load_linear (gain-map / plain JPEG, PNG, TIFF)",
       ("hdrkit.still.export:load_linear",), "still", "jpeg", 0.25, tags=("decode",)),
    _t("st2086", fuzz_st2086_string, "x265 master-display string parser + sanitiser",
       ("hdrkit.metadata.st2086:MasteringDisplay",), "st2086", "text", 1.0, max_len=1 << 16),
    _t("st2086_sei", fuzz_st2086_sei, "MDCV SEI / mdcv box payload + sanitiser",
       ("hdrkit.metadata.st2086:MasteringDisplay",), "mdcv_sei", "struct16", 0.5, max_len=256),
    _t("hdr10plus", fuzz_hdr10plus_json, "HDR10+ JSON reader / validator and its writer",
       ("hdrkit.metadata.hdr10plus:read_json",), "hdr10plus_json", "json", 1.0, max_len=1 << 20),
    _t("sidedata", fuzz_sidedata, "FFmpeg side-data structs: MDCV, CLL, HDR10+, Dolby Vision record",
       ("hdrkit.metadata.sidedata:parse_dynamic_hdr_plus",), "sidedata", "struct32", 1.0, max_len=1 << 15),
    _t("hevc_sei", fuzz_hevc_sei, "HEVC NAL / RBSP / SEI message parsers",
       ("hdrkit.metadata.sidedata:parse_sei_rbsp",), "hevc_sei", "video", 0.6, max_len=1 << 16),
    _t("cll", fuzz_cll, "content light level: max-cll string, SEI payload, side data",
       ("hdrkit.metadata.cll:ContentLightLevel",), "cll", "struct16", 0.5, max_len=256),
    _t("video", fuzz_video, "VideoReader on truncated / bit-flipped / re-boxed MP4 and HEVC",
       ("hdrkit.video.reader:VideoReader",), "video", "video", 0.02, max_len=1 << 21, tags=("decode", "video")),
    _t("video_info", fuzz_video_info, "video probe of hdrkit info", ("hdrkit.video.info:video_info",), "video", "video", 0.02,
       max_len=1 << 21, tags=("decode", "video")),
]}


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise KeyError(f"unknown fuzz target {name!r}; known: {', '.join(TARGETS)}") from None


def available_targets(names=None) -> tuple[list[Target], dict[str, str]]:
    """(targets that can run, {name: reason} for those that cannot)."""
    ok, skipped = [], {}
    for name in names or TARGETS:
        t = get_target(name)
        why = t.unavailable()
        if why:
            skipped[name] = why
        else:
            ok.append(t)
    return ok, skipped


assert all(math.isfinite(t.weight) and t.weight > 0 for t in TARGETS.values())
