"""``hdrkit info`` for video files: container, streams, colour tags and HDR signalling.

:func:`video_info` gathers, without decoding more than a few frames:

- container, duration, size; video codec, profile, size, pixel format, frame rate,
  frame count (from the container, else by counting packets), rotation;
- colour tags (H.273 code points, named as FFmpeg names them);
- HDR10: mastering display (ST 2086) and content light level, each **from the
  container** (MP4 ``mdcv``/``clli`` boxes read here, or FFmpeg's stream side data for
  other containers) and **in-band** (HEVC SEI, parsed from the first access units),
  checked with :func:`hdrkit.metadata.st2086.sanitize`;
- HDR10+: how many of the first access units carry an ST 2094-40 SEI (bitstream count,
  not decoded side data, which FFmpeg carries forward) and the first one's values;
- Dolby Vision configuration and what hdrkit will do with it;
- audio streams.

:func:`format_video_info` renders the dict as the text ``hdrkit info`` prints.
"""

from __future__ import annotations

# PyAV, Pillow, matplotlib and the numba kernels are imported in the functions that use them, so
# "import hdrkit" and "hdrkit --help" start without them.
import os
import struct
from fractions import Fraction
from pathlib import Path

from ..errors import ContainerError, DecodeError, HdrkitError, reason, require_file
from ..metadata.cll import ContentLightLevel
from ..metadata.dovi import DoviConfig, detect_dovi, dovi_decision
from ..metadata.hdr10plus import Hdr10PlusFrame, read_json
from ..metadata.sidedata import (collect_frame_side_data, ffmpeg_stream_side_data, mp4_box_cll, mp4_sample_entry_boxes,
                                 scan_hevc_sei)
from ..metadata.st2086 import MasteringDisplay, sanitize
from .timeline import presented_frames

__all__ = ["video_info", "format_video_info", "file_kind", "image_info", "hdr10plus_json_info", "H273_PRIMARIES",
           "H273_TRANSFER", "H273_MATRIX"]

#: ITU-T H.273 code points -> FFmpeg names.
H273_PRIMARIES = {1: "bt709", 2: "unspecified", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m",
                  8: "film", 9: "bt2020", 10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "ebu3213"}
H273_TRANSFER = {1: "bt709", 2: "unspecified", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m",
                 8: "linear", 11: "iec61966-2-4", 13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12",
                 16: "smpte2084", 17: "smpte428", 18: "arib-std-b67"}
H273_MATRIX = {0: "gbr", 1: "bt709", 2: "unspecified", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m",
               8: "ycgco", 9: "bt2020nc", 10: "bt2020c", 14: "ictcp"}
H273_RANGE = {0: "unspecified", 1: "tv", 2: "pc"}


#: ISO BMFF major / compatible brands of still pictures (HEIF, AVIF; ISO/IEC 23008-12, AV1-ISOBMFF).
_IMAGE_BRANDS = {b"avif", b"heic", b"heix", b"mif1", b"mif2", b"heim", b"heis"}
#: Brands of image sequences / video, which win over the still brands.
_SEQUENCE_BRANDS = {b"avis", b"hevc", b"hevx", b"msf1"}


def file_kind(head: bytes) -> str:
    """What a file is from its first bytes (512 are plenty).

    Returns ``"jpeg"``, ``"image"`` (PNG, TIFF, AVIF / HEIF stills, WebP, GIF, BMP),
    ``"video"`` (ISO BMFF / QuickTime, Matroska / WebM, MPEG-TS / PS, AVI, NUT, FLV, Y4M,
    HEVC or AVC Annex B), ``"json"``, ``"text"`` or ``"unknown"``.

    References
    ----------
    Signatures: JPEG SOI (ITU-T T.81 B.1), PNG (ISO/IEC 15948 5.2), TIFF 6.0 §2, the
    ISO/IEC 14496-12 ``ftyp`` box and its brands (ISO/IEC 23008-12 for HEIF, AV1-ISOBMFF
    for AVIF), the EBML header (RFC 8794), the MPEG-TS sync byte 0x47 every 188 bytes
    (ISO/IEC 13818-1), RIFF, ITU-T H.265 B.2 start codes.
    """
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n" or head[:4] in (b"II*\x00", b"MM\x00*") or head[:6] in (b"GIF87a", b"GIF89a") \
            or head[:2] == b"BM" or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if head[4:8] == b"ftyp":
        size = int.from_bytes(head[:4], "big")
        brands = {head[8:12]} | {head[i:i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
        if brands & _IMAGE_BRANDS and not brands & _SEQUENCE_BRANDS:
            return "image"
        return "video"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip") or head[:4] == b"\x1a\x45\xdf\xa3" \
            or (head[:4] == b"RIFF" and head[8:12] == b"AVI ") or head[:8] == b"nut/mult" \
            or (head[:1] == b"\x47" and (len(head) < 189 or head[188:189] == b"\x47")) \
            or head[:4] == b"\x00\x00\x00\x01" or head[:3] == b"\x00\x00\x01" or head[:9] == b"YUV4MPEG2" \
            or head[:3] == b"FLV":
        return "video"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"{", b"["):
        return "json"
    if head and all(b in b"\t\r\n" or 32 <= b < 127 or b >= 128 for b in head):
        try:
            head.decode("utf-8")
            return "text"
        except UnicodeDecodeError as e:
            if e.start >= len(head) - 3:  # a character cut at the end of the window
                return "text"
    return "unknown"


def hdr10plus_json_info(path) -> dict:
    """Describe an HDR10+ JSON file (hdr10plus_tool / x265 ``dhdr10-info`` format).

    Returns frames, scenes, profile, the highest MaxScl and average maxRGB in cd/m^2, and
    the targeted display peaks; :class:`~hdrkit.errors.MetadataError` when the JSON is not
    HDR10+ metadata.
    """
    md = read_json(path)
    first, _ = md.scene_summary()
    frames = md.frames
    peak = max((max(f.maxscl_nits) for f in frames), default=0.0)
    targets = sorted({f.target_nits for f in frames})
    return {
        "format": "HDR10+ JSON (ST 2094-40 dynamic metadata)",
        "frames": len(frames),
        "scenes": len(first),
        "scene_first_frames": first,
        "profile": md.profile,
        "peak_maxscl_nits": peak,
        "max_average_maxrgb_nits": max((f.average_nits for f in frames), default=0.0),
        "targeted_display_nits": targets,
        "tool": md.tool,
    }


def image_info(path) -> dict:
    """Describe a still picture that is not a JPEG (PNG, TIFF, AVIF, HEIF, WebP): format,
    size, pixel format, bit depth, colour tags and frame side data, through FFmpeg."""
    import av

    tolerate_unknown_side_data()
    p = Path(path)
    try:
        c = av.open(str(p), metadata_errors="replace")
    except (av.FFmpegError, OSError) as e:
        raise ContainerError(f"not a picture FFmpeg can read ({reason(e)})", path=p) from None
    try:
        if not c.streams.video or c.streams.video[0].codec_context is None:
            raise ContainerError("no picture FFmpeg can decode", path=p)
        st = c.streams.video[0]
        cc = st.codec_context
        try:
            fr = next(c.decode(st))
        except (av.FFmpegError, StopIteration, ValueError) as e:
            raise DecodeError(f"the picture does not decode ({reason(e)})", path=p) from None
        fmt = fr.format
        side = [_side_data_name(sd) for sd in fr.side_data]
        return {
            "format": c.format.long_name or c.format.name,
            "codec": cc.name,
            "width": fr.width,
            "height": fr.height,
            "pix_fmt": fmt.name,
            "bit_depth": fmt.components[0].bits if fmt.components else None,
            "color": {
                "primaries": H273_PRIMARIES.get(_code(fr.color_primaries), str(_code(fr.color_primaries))),
                "transfer": H273_TRANSFER.get(_code(fr.color_trc), str(_code(fr.color_trc))),
                "matrix": H273_MATRIX.get(_code(fr.colorspace), str(_code(fr.colorspace))),
                "range": H273_RANGE.get(_code(fr.color_range), str(_code(fr.color_range))),
            },
            "side_data": side,
            "size_bytes": os.path.getsize(p),
        }
    finally:
        c.close()


def tolerate_unknown_side_data() -> None:
    """Let PyAV read frame side data of types it has no name for.

    PyAV names side data with an :class:`enum.Enum` of the FFmpeg types it was built
    with; a frame carrying a newer type (FFmpeg's ``AVFrameSideDataType`` 31, for one)
    makes every ``frame.side_data`` access raise ``ValueError``. Unknown numbers become
    members named ``UNKNOWN_<n>`` instead, so the known entries of that frame stay
    readable and the unknown ones are reported by number.
    """
    try:
        from av.sidedata.sidedata import Type
    except ImportError:  # pragma: no cover - PyAV without the module
        return
    if getattr(Type, "_hdrkit_tolerant", False):
        return

    def _missing_(cls, value):
        if not isinstance(value, int):
            return None
        member = object.__new__(cls)
        member._name_ = f"UNKNOWN_{value}"
        member._value_ = value
        return member

    Type._missing_ = classmethod(_missing_)
    Type._hdrkit_tolerant = True


def _side_data_name(sd) -> str:
    name = sd.type.name
    return f"type {name[8:]} (unknown to hdrkit's FFmpeg bindings)" if name.startswith("UNKNOWN_") else name


def _code(v) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return int(getattr(v, "value", 0) or 0)


def _mdcv_entry(md, source: str) -> dict:
    res = sanitize(md)
    d = md.to_dict()
    d["source"] = source
    d["problems"] = list(res.problems)
    d["luminance_valid"] = res.luminance_valid
    d["primaries_valid"] = res.primaries_valid
    if res.value is not None and res.value != md:
        d["corrected"] = res.value.to_x265()
    return d


def _container_hdr(path, boxes: dict | None, ff: dict) -> tuple[dict | None, dict | None]:
    """(mastering display entry, content light entry) at container level."""
    mdcv = cll = None
    if boxes is not None:
        if "mdcv" in boxes:
            mdcv = _mdcv_entry(MasteringDisplay.from_sei_payload(boxes["mdcv"]), "mp4 mdcv box")
        elif "SmDm" in boxes and len(boxes["SmDm"]) >= 28:  # full box; u16 0.16 fixed point, u32 24.8 / 18.14

            v = struct.unpack(">8HII", boxes["SmDm"][4:28])
            md = MasteringDisplay(red=(v[0] / 65536, v[1] / 65536), green=(v[2] / 65536, v[3] / 65536),
                                  blue=(v[4] / 65536, v[5] / 65536), white=(v[6] / 65536, v[7] / 65536),
                                  max_luminance=v[8] / 256, min_luminance=v[9] / 16384)
            mdcv = _mdcv_entry(md, "mp4 SmDm box")
        found = mp4_box_cll(boxes)
        if found is not None:
            c = ContentLightLevel(*found[0])
            cll = {**c.to_dict(), "source": f"mp4 {found[1]} box", "problems": c.problems()}
        return mdcv, cll
    if ff.get("mdcv"):
        m = ff["mdcv"]
        z = (0.0, 0.0)
        md = MasteringDisplay(red=m["primaries"][0] if m["has_primaries"] else z,
                              green=m["primaries"][1] if m["has_primaries"] else z,
                              blue=m["primaries"][2] if m["has_primaries"] else z,
                              white=m["white"] if m["has_primaries"] else z,
                              max_luminance=m["max_luminance"] if m["has_luminance"] else 0.0,
                              min_luminance=m["min_luminance"] if m["has_luminance"] else 0.0)
        mdcv = _mdcv_entry(md, "container (FFmpeg stream side data)")
    if ff.get("cll"):
        c = ContentLightLevel(*ff["cll"]) if max(ff["cll"]) <= 65535 else None
        if c is not None:
            cll = {**c.to_dict(), "source": "container (FFmpeg stream side data)", "problems": c.problems()}
    return mdcv, cll


def _count_packets(path) -> int:
    import av

    n = 0
    with av.open(str(path), metadata_errors="replace") as c:
        st = c.streams.video[0]
        for p in c.demux(st):
            if p.size and not p.is_discard:  # outside an edit list: not presented
                n += 1
    return n


def video_info(path, *, probe_frames: int = 16) -> dict:
    """Describe a video file (see the module docstring). ``probe_frames``: how many access
    units are scanned for in-band HDR metadata. Raises :class:`ContainerError` for files
    PyAV cannot open or without a video stream."""
    import av

    p = require_file(path)
    tolerate_unknown_side_data()
    try:
        c = av.open(str(p), metadata_errors="replace")
    except (av.FFmpegError, OSError) as e:
        raise ContainerError(f"not a video FFmpeg can read ({reason(e)})", path=p) from None
    warnings: list[str] = []
    try:
        if not c.streams.video:
            raise ContainerError(f"{p.name} has no video stream")
        if c.format.name in ("image2", "image2pipe") or c.format.name.endswith("_pipe") \
                or not c.streams.video[0].codec_context or not c.streams.video[0].codec_context.width:
            raise ContainerError("not a video (no picture size; FFmpeg reads it only as a guessed image)", path=p)
        v = c.streams.video[0]
        cc = v.codec_context
        if cc is None:  # the sample entry / stream names a codec FFmpeg does not know
            raise ContainerError(f"{p.name}: the codec of its video stream is unknown")
        fmt = av.video.format.VideoFormat(cc.pix_fmt) if cc.pix_fmt else None
        rate = v.average_rate or v.guessed_rate or v.base_rate
        dur = float(v.duration * v.time_base) if v.duration else (c.duration / 1e6 if c.duration else None)
        video = {
            "index": v.index,
            "codec": cc.name,
            "profile": cc.profile or v.profile,
            "width": cc.width,
            "height": cc.height,
            "pix_fmt": cc.pix_fmt,
            "bit_depth": fmt.components[0].bits if fmt and fmt.components else None,
            "fps": float(rate) if rate else None,
            "fps_fraction": str(Fraction(rate)) if rate else None,
            "frame_count": presented_frames(v),  # edit lists honoured
            "frame_count_source": "container" if v.frames else None,
            "color": {
                "primaries": H273_PRIMARIES.get(_code(cc.color_primaries), str(_code(cc.color_primaries))),
                "transfer": H273_TRANSFER.get(_code(cc.color_trc), str(_code(cc.color_trc))),
                "matrix": H273_MATRIX.get(_code(cc.colorspace), str(_code(cc.colorspace))),
                "range": H273_RANGE.get(_code(cc.color_range), str(_code(cc.color_range))),
            },
            "rotation": 0,
        }
        audio = []
        for a in c.streams.audio:
            ac = a.codec_context
            if ac is None:  # a codec FFmpeg does not know
                audio.append({"index": a.index, "codec": "unknown", "channels": None, "layout": None,
                              "sample_rate": None, "language": a.language, "bit_rate": None})
                continue
            audio.append({"index": a.index, "codec": ac.name, "channels": getattr(ac.layout, "nb_channels", None),
                          "layout": getattr(ac.layout, "name", None), "sample_rate": ac.sample_rate,
                          "language": a.language, "bit_rate": a.bit_rate})
        info = {
            "path": str(p),
            "container": c.format.name,
            "container_long": c.format.long_name,
            "size_bytes": os.path.getsize(p),
            "duration_s": dur,
            "bit_rate": c.bit_rate,
            "video": video,
            "audio": audio,
        }
    finally:
        c.close()

    if not video["frame_count"]:
        try:
            video["frame_count"] = _count_packets(p)
            video["frame_count_source"] = "packets"
        except (av.FFmpegError, OSError) as e:  # pragma: no cover - damaged file
            warnings.append(f"could not count frames: {e}")

    ff = ffmpeg_stream_side_data(p)
    if ff.get("rotation") is not None:
        # FFmpeg's display-matrix angle (counter-clockwise degrees), as PyAV's frame.rotation reports it
        video["rotation"] = int(round(ff["rotation"])) % 360
    try:
        boxes = mp4_sample_entry_boxes(p)
    except (OSError, HdrkitError) as e:
        warnings.append(f"MP4 boxes unreadable: {e}")
        boxes = None
    mdcv_c, cll_c = _container_hdr(p, boxes, ff)

    # in-band: HEVC SEI from the bitstream; other codecs: decoded side data of the first frames
    mdcv_i = cll_i = None
    h10p: dict = {"frames_checked": 0, "frames_with_metadata": 0, "first": None, "profile": None, "source": None}
    if video["codec"] == "hevc":
        try:
            scan = scan_hevc_sei(p, max_packets=probe_frames)
            aus = scan.display_order()
            h10p.update(frames_checked=len(aus), frames_with_metadata=scan.frames_with_hdr10plus,
                        source="HEVC SEI (bitstream)")
            md = scan.first_mdcv()
            if md is not None:
                mdcv_i = _mdcv_entry(MasteringDisplay.from_sei_payload(md), "HEVC SEI")
            cl = scan.first_cll()
            if cl is not None:
                cobj = ContentLightLevel(*cl)
                cll_i = {**cobj.to_dict(), "source": "HEVC SEI", "problems": cobj.problems()}
            video["dovi_rpu_nals"] = sum(a.dovi_rpu for a in aus)
        except HdrkitError as e:
            warnings.append(f"SEI scan failed: {e}")
    try:
        fsd = collect_frame_side_data(p, max_frames=max(1, min(probe_frames, 4)))
    except HdrkitError as e:
        warnings.append(f"could not decode the first frames: {e}")
        fsd = []
    unknown = sorted({int(t[8:]) for f in fsd for t in f.types if t.startswith("UNKNOWN_")})
    if unknown:
        video["unknown_side_data"] = unknown
        warnings.append("frame side data of a type hdrkit's FFmpeg bindings do not name: "
                        + ", ".join(f"type {n}" for n in unknown) + " (not interpreted)")
    first_h10p = next((f.hdr10plus for f in fsd if f.hdr10plus), None)
    if first_h10p is not None:
        fr = Hdr10PlusFrame.from_side_data_dict(first_h10p)
        h10p["first"] = fr.signal()
        h10p["profile"] = fr.profile
        if video["codec"] != "hevc":
            h10p.update(frames_checked=len(fsd), frames_with_metadata=sum(1 for f in fsd if f.hdr10plus),
                        source="decoded side data")
    if video["codec"] != "hevc" and fsd:
        for f in fsd:
            if f.mdcv and mdcv_i is None:
                raw = f.mdcv
                md = MasteringDisplay(red=raw["primaries"][0], green=raw["primaries"][1], blue=raw["primaries"][2],
                                      white=raw["white"], max_luminance=raw["max_luminance"],
                                      min_luminance=raw["min_luminance"])
                mdcv_i = _mdcv_entry(md, "decoded side data")
            if f.cll and cll_i is None and max(f.cll) <= 65535:
                cobj = ContentLightLevel(*f.cll)
                cll_i = {**cobj.to_dict(), "source": "decoded side data", "problems": cobj.problems()}

    dv = None
    try:
        cfg = detect_dovi(p)
        if cfg is None and any(f.dovi_rpu or f.dovi_metadata for f in fsd):
            cfg = DoviConfig(profile=0, source="rpu")
        if cfg is not None:
            dec = dovi_decision(cfg)
            dv = {**cfg.to_dict(), "action": dec.action, "message": dec.warning or dec.reason}
    except (HdrkitError, OSError) as e:
        warnings.append(f"Dolby Vision probe failed: {e}")

    trc = video["color"]["transfer"]
    kind = {"smpte2084": "pq", "arib-std-b67": "hlg"}.get(trc, "sdr" if trc not in ("unspecified", "2") else "unknown")
    if kind == "pq":
        if h10p["frames_with_metadata"]:
            label = "HDR10+"
        elif mdcv_c or mdcv_i or cll_c or cll_i:
            label = "HDR10"
        else:
            label = "PQ (no HDR10 metadata)"
    elif kind == "hlg":
        label = "HLG"
    elif kind == "sdr":
        label = "SDR"
    else:
        label = "unknown transfer (untagged)"
    if dv:
        name = f"Dolby Vision {dv['name']}" if dv["profile"] else "Dolby Vision"
        label = f"{name} (not backward compatible)" if dv["action"] == "refuse" else f"{name}, base layer {label}"
    for e in (mdcv_c, mdcv_i, cll_c, cll_i):
        if e and e.get("problems"):
            warnings.append(f"{e['source']}: " + "; ".join(e["problems"]))
    if mdcv_c and mdcv_i and mdcv_c.get("x265") != mdcv_i.get("x265"):
        warnings.append(f"container and in-band mastering display differ ({mdcv_c['x265']} vs {mdcv_i['x265']})")
    if cll_c and cll_i and (cll_c["max_cll"], cll_c["max_fall"]) != (cll_i["max_cll"], cll_i["max_fall"]):
        warnings.append(f"container and in-band content light level differ ({cll_c['x265']} vs {cll_i['x265']})")
    info["hdr"] = {
        "format": label,
        "transfer": kind,
        "mastering_display": {"container": mdcv_c, "in_band": mdcv_i},
        "content_light": {"container": cll_c, "in_band": cll_i},
        "hdr10plus": h10p,
        "dolby_vision": dv,
    }
    info["warnings"] = warnings
    return info


def _with_problems(e: dict, text: str) -> str:
    return text + ("  PROBLEMS: " + "; ".join(e["problems"]) if e.get("problems") else "")


def _fmt_md(e: dict | None) -> str:
    return _with_problems(e, f"{e['description']}  [{e['x265']}]") if e else "none"


def _fmt_cll(e: dict | None) -> str:
    return _with_problems(e, f"MaxCLL {e['max_cll']} cd/m^2, MaxFALL {e['max_fall']} cd/m^2") if e else "none"


def format_video_info(info: dict) -> str:
    """Human-readable lines for :func:`video_info`'s dict (what ``hdrkit info`` prints)."""
    v, h = info["video"], info["hdr"]
    col = v["color"]
    lines = [
        f"{info['path']}",
        f"  container   {info['container_long']} ({info['container']}), {info['size_bytes']} bytes"
        + (f", {info['duration_s']:.3f} s" if info.get("duration_s") else ""),
        f"  video       {v['codec']} {v['profile'] or ''} {v['width']}x{v['height']} {v['pix_fmt']}"
        + (f", {v['fps']:.3f} fps" if v.get("fps") else "") + f", {v['frame_count']} frames"
        + (f", rotation {v['rotation']} deg" if v.get("rotation") else ""),
        f"  colour      primaries {col['primaries']}, transfer {col['transfer']}, matrix {col['matrix']}, "
        f"range {col['range']}",
        f"  HDR         {h['format']}",
        f"  MDCV        container: {_fmt_md(h['mastering_display']['container'])}",
        f"              in-band:   {_fmt_md(h['mastering_display']['in_band'])}",
        f"  CLL         container: {_fmt_cll(h['content_light']['container'])}",
        f"              in-band:   {_fmt_cll(h['content_light']['in_band'])}",
    ]
    p = h["hdr10plus"]
    if p["frames_with_metadata"]:
        first = p["first"] or {}
        extra = ""
        if first:
            extra = (f"; first: profile {p['profile']}, MaxScl {[x / 10 for x in first['maxscl']]} cd/m^2, "
                     f"average {first['average_maxrgb'] / 10:g} cd/m^2, target "
                     f"{first['targeted_system_display_maximum_luminance']} cd/m^2")
        lines.append(f"  HDR10+      {p['frames_with_metadata']} of the first {p['frames_checked']} frames "
                     f"({p['source']}){extra}")
    else:
        lines.append(f"  HDR10+      none in the first {p['frames_checked']} frames")
    dv = h["dolby_vision"]
    if dv:
        lines.append(f"  Dolby Vis.  profile {dv['name']}, level {dv['level']}, compatibility {dv['compatibility_id']}"
                     f", rpu {int(dv['rpu_present'])} el {int(dv['el_present'])} bl {int(dv['bl_present'])} "
                     f"({dv['source']}): {dv['message']}")
    for a in info["audio"]:
        lines.append(f"  audio #{a['index']}    {a['codec']} {a['layout'] or ''} {a['sample_rate']} Hz"
                     + (f" [{a['language']}]" if a.get("language") else ""))
    for w in info.get("warnings", []):
        lines.append(f"  warning     {w}")
    return "\n".join(lines)
