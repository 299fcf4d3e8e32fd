"""Raw HDR side data: FFmpeg structs, HEVC SEI messages, MP4 boxes, and collectors.

Three independent views of a file's HDR signalling, each parsed here from bytes:

1. **Decoded frame side data** (PyAV ``frame.side_data``, raw ``bytes(sd)``): FFmpeg's C
   structs mirrored with :mod:`ctypes`, field by field from libavutil
   (``mastering_display_metadata.h``: ``AVMasteringDisplayMetadata`` 88 bytes,
   ``AVContentLightMetadata`` 8 bytes; ``hdr_dynamic_metadata.h``: ``AVDynamicHDRPlus``
   11304 bytes). The buffer prefix of ``sizeof(struct)`` is parsed. Note FFmpeg's HEVC
   decoder carries the last HDR10+ SEI forward onto frames without one, so decoded
   side data says what a frame *ends up with*, not what the bitstream holds.
2. **The bitstream** (:func:`scan_hevc_sei`): SEI NAL units of each access unit (packet),
   emulation prevention removed (H.265 §7.3.1 / 7.4.2), payloads split per H.265 §7.3.5;
   HDR10+ = user_data_registered_itu_t_t35 (payloadType 4) starting ``B5 00 3C 00 01 04``
   (country 0xB5, provider 0x003C, oriented code 0x0001, application identifier 4, as
   x265 writes it); MDCV = payloadType 137, CLL = 144; Dolby Vision RPU = NAL type 62.
3. **The container** (:func:`mp4_sample_entry_boxes`): the video sample entry's
   ``mdcv`` / ``clli`` (ISO/IEC 14496-12 colour boxes, same byte layout as the SEIs),
   ``SmDm`` / ``CoLL`` (VP codec ISO-BMFF binding, full boxes), ``dvcC`` / ``dvvC`` /
   ``dvwC`` (Dolby "ISO base media file format" spec), and ``hvcC`` (ISO/IEC 14496-15,
   for the NAL length size and parameter-set SEIs); for any container, FFmpeg's own
   stream listing (:func:`ffmpeg_stream_side_data`). :func:`container_cll` takes the
   content light level from the boxes when the file is MP4 / MOV and from FFmpeg otherwise.
"""

from __future__ import annotations

# PyAV, Pillow, matplotlib and the numba kernels are imported in the functions that use them, so
# "import hdrkit" and "hdrkit --help" start without them.
import copy
import ctypes
import logging
import os
import re
import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ContainerError, DecodeError, MetadataError
from ..io.ffmpeg import run_ffmpeg

__all__ = [
    "hvcc_length_size",
    "AVRational",
    "AVMasteringDisplayMetadata",
    "AVContentLightMetadata",
    "AVHDRPlusPercentile",
    "AVHDRPlusColorTransformParams",
    "AVDynamicHDRPlus",
    "parse_mdcv",
    "parse_cll",
    "parse_dynamic_hdr_plus",
    "HDR10PLUS_T35_PREFIX",
    "unescape_rbsp",
    "iter_nal_units",
    "parse_sei_rbsp",
    "AccessUnitSei",
    "SeiScan",
    "scan_hevc_sei",
    "FrameSideData",
    "collect_frame_side_data",
    "read_hdr10plus_frames",
    "count_hdr10plus_frames",
    "mp4_sample_entry_boxes",
    "ffmpeg_stream_side_data",
    "mp4_boxes_if_readable",
    "mp4_box_cll",
    "container_cll",
]

log = logging.getLogger("hdrkit.metadata")


# =============================================================== FFmpeg structs
class AVRational(ctypes.Structure):
    """libavutil/rational.h ``AVRational {int num, den}``."""

    _fields_ = [("num", ctypes.c_int), ("den", ctypes.c_int)]

    def value(self) -> float:
        return self.num / self.den if self.den else 0.0


class AVMasteringDisplayMetadata(ctypes.Structure):
    """libavutil/mastering_display_metadata.h (primaries R, G, B; luminance in cd/m^2)."""

    _fields_ = [
        ("display_primaries", (AVRational * 2) * 3),
        ("white_point", AVRational * 2),
        ("min_luminance", AVRational),
        ("max_luminance", AVRational),
        ("has_primaries", ctypes.c_int),
        ("has_luminance", ctypes.c_int),
    ]


class AVContentLightMetadata(ctypes.Structure):
    """libavutil/mastering_display_metadata.h ``{unsigned MaxCLL, MaxFALL}`` in cd/m^2."""

    _fields_ = [("MaxCLL", ctypes.c_uint), ("MaxFALL", ctypes.c_uint)]


class AVHDRPlusPercentile(ctypes.Structure):
    """libavutil/hdr_dynamic_metadata.h: percentage (0-100) and maxRGB value (0-1, 1e-5 steps)."""

    _fields_ = [("percentage", ctypes.c_uint8), ("percentile", AVRational)]


class AVHDRPlusColorTransformParams(ctypes.Structure):
    """libavutil/hdr_dynamic_metadata.h, one processing window of ST 2094-40."""

    _fields_ = [
        ("window_upper_left_corner_x", AVRational),
        ("window_upper_left_corner_y", AVRational),
        ("window_lower_right_corner_x", AVRational),
        ("window_lower_right_corner_y", AVRational),
        ("center_of_ellipse_x", ctypes.c_uint16),
        ("center_of_ellipse_y", ctypes.c_uint16),
        ("rotation_angle", ctypes.c_uint8),
        ("semimajor_axis_internal_ellipse", ctypes.c_uint16),
        ("semimajor_axis_external_ellipse", ctypes.c_uint16),
        ("semiminor_axis_external_ellipse", ctypes.c_uint16),
        ("overlap_process_option", ctypes.c_int),  # enum AVHDRPlusOverlapProcessOption
        ("maxscl", AVRational * 3),
        ("average_maxrgb", AVRational),
        ("num_distribution_maxrgb_percentiles", ctypes.c_uint8),
        ("distribution_maxrgb", AVHDRPlusPercentile * 15),
        ("fraction_bright_pixels", AVRational),
        ("tone_mapping_flag", ctypes.c_uint8),
        ("knee_point_x", AVRational),
        ("knee_point_y", AVRational),
        ("num_bezier_curve_anchors", ctypes.c_uint8),
        ("bezier_curve_anchors", AVRational * 15),
        ("color_saturation_mapping_flag", ctypes.c_uint8),
        ("color_saturation_weight", AVRational),
    ]


class AVDynamicHDRPlus(ctypes.Structure):
    """libavutil/hdr_dynamic_metadata.h ``AVDynamicHDRPlus`` (SMPTE ST 2094-40 application 4)."""

    _fields_ = [
        ("itu_t_t35_country_code", ctypes.c_uint8),
        ("application_version", ctypes.c_uint8),
        ("num_windows", ctypes.c_uint8),
        ("params", AVHDRPlusColorTransformParams * 3),
        ("targeted_system_display_maximum_luminance", AVRational),
        ("targeted_system_display_actual_peak_luminance_flag", ctypes.c_uint8),
        ("num_rows_targeted_system_display_actual_peak_luminance", ctypes.c_uint8),
        ("num_cols_targeted_system_display_actual_peak_luminance", ctypes.c_uint8),
        ("targeted_system_display_actual_peak_luminance", (AVRational * 25) * 25),
        ("mastering_display_actual_peak_luminance_flag", ctypes.c_uint8),
        ("num_rows_mastering_display_actual_peak_luminance", ctypes.c_uint8),
        ("num_cols_mastering_display_actual_peak_luminance", ctypes.c_uint8),
        ("mastering_display_actual_peak_luminance", (AVRational * 25) * 25),
    ]


def _from_buffer(cls, b: bytes, what: str):
    b = bytes(b)
    n = ctypes.sizeof(cls)
    if len(b) < n:
        raise MetadataError(f"{what} side data is {len(b)} bytes, expected at least {n}")
    return cls.from_buffer_copy(b[:n])


def _rat(r: AVRational) -> tuple[int, int]:
    return int(r.num), int(r.den)


def parse_mdcv(b: bytes) -> dict:
    """``AVMasteringDisplayMetadata`` bytes -> dict: ``primaries`` ((x, y) of R, G, B),
    ``white`` (x, y), ``max_luminance`` / ``min_luminance`` in cd/m^2, the two ``has_``
    flags, and the exact rationals under ``raw``."""
    s = _from_buffer(AVMasteringDisplayMetadata, b, "mastering display")
    prim = tuple((s.display_primaries[i][0].value(), s.display_primaries[i][1].value()) for i in range(3))
    return {
        "primaries": prim,
        "white": (s.white_point[0].value(), s.white_point[1].value()),
        "min_luminance": s.min_luminance.value(),
        "max_luminance": s.max_luminance.value(),
        "has_primaries": bool(s.has_primaries),
        "has_luminance": bool(s.has_luminance),
        "raw": {
            "primaries": [[_rat(s.display_primaries[i][j]) for j in range(2)] for i in range(3)],
            "white": [_rat(s.white_point[j]) for j in range(2)],
            "min_luminance": _rat(s.min_luminance),
            "max_luminance": _rat(s.max_luminance),
        },
    }


def parse_cll(b: bytes) -> tuple[int, int]:
    """``AVContentLightMetadata`` bytes -> (MaxCLL, MaxFALL) in cd/m^2."""
    s = _from_buffer(AVContentLightMetadata, b, "content light level")
    return int(s.MaxCLL), int(s.MaxFALL)


def parse_dynamic_hdr_plus(b: bytes) -> dict:
    """``AVDynamicHDRPlus`` bytes -> dict with window 0 converted to HDR10+ JSON integer units.

    Units (the value ranges of SMPTE ST 2094-40 and FFmpeg's ``AVDynamicHDRPlus``): MaxScl,
    average_maxrgb, distribution values ``v * 100000`` (0.1 cd/m^2); targeted luminance ``v`` (cd/m^2); knee ``v * 4095``; anchors
    ``v * 1023``; fraction_bright_pixels ``v * 1000``. Rationals are converted with
    rounding to the nearest integer unit (FFmpeg stores them as n/100000, n/4095, ...).
    """
    s = _from_buffer(AVDynamicHDRPlus, b, "HDR10+")

    def u(r: AVRational, scale: int) -> int:
        return int(round(r.num * scale / r.den)) if r.den else 0

    nw = int(s.num_windows)
    if not 1 <= nw <= 3:
        raise MetadataError(f"HDR10+ side data has {nw} processing windows (1-3 allowed)")
    p = s.params[0]
    nd = int(p.num_distribution_maxrgb_percentiles)
    na = int(p.num_bezier_curve_anchors)
    if nd > 15 or na > 15:
        raise MetadataError("HDR10+ side data has more than 15 percentiles or anchors")
    tm = bool(p.tone_mapping_flag)
    return {
        "country_code": int(s.itu_t_t35_country_code),
        "application_version": int(s.application_version),
        "num_windows": nw,
        "targeted_system_display_maximum_luminance": u(s.targeted_system_display_maximum_luminance, 1),
        "targeted_system_display_actual_peak_luminance_flag": int(s.targeted_system_display_actual_peak_luminance_flag),
        "mastering_display_actual_peak_luminance_flag": int(s.mastering_display_actual_peak_luminance_flag),
        "maxscl": tuple(u(p.maxscl[i], 100000) for i in range(3)),
        "average_maxrgb": u(p.average_maxrgb, 100000),
        "distribution_index": tuple(int(p.distribution_maxrgb[i].percentage) for i in range(nd)),
        "distribution_values": tuple(u(p.distribution_maxrgb[i].percentile, 100000) for i in range(nd)),
        "fraction_bright_pixels": u(p.fraction_bright_pixels, 1000),
        "tone_mapping_flag": tm,
        "knee_point": (u(p.knee_point_x, 4095), u(p.knee_point_y, 4095)) if tm else None,
        "bezier_anchors": tuple(u(p.bezier_curve_anchors[i], 1023) for i in range(na)) if tm else None,
        "color_saturation_mapping_flag": int(p.color_saturation_mapping_flag),
    }


# ===================================================================== bitstream
#: T.35 prefix of an HDR10+ (ST 2094-40) SEI payload: country 0xB5, provider 0x003C,
#: provider-oriented code 0x0001, application identifier 4.
HDR10PLUS_T35_PREFIX = bytes([0xB5, 0x00, 0x3C, 0x00, 0x01, 0x04])
_SEI_PREFIX, _SEI_SUFFIX, _NAL_DOVI_RPU, _NAL_UNSPEC63 = 39, 40, 62, 63


def unescape_rbsp(b: bytes) -> bytes:
    """Remove emulation prevention bytes (``00 00 03`` -> ``00 00``), H.265 §7.4.2."""
    if b"\x00\x00\x03" not in b:
        return bytes(b)
    out = bytearray()
    zeros = 0
    for x in b:
        if zeros >= 2 and x == 3:
            zeros = 0
            continue
        out.append(x)
        zeros = zeros + 1 if x == 0 else 0
    return bytes(out)


def iter_nal_units(data: bytes, length_size: int | None):
    """Yield NAL units (header included) from Annex B (``length_size=None``) or
    length-prefixed (ISO/IEC 14496-15, ``length_size`` 1/2/4) data."""
    data = bytes(data)
    n = len(data)
    if length_size:
        i = 0
        while i + length_size <= n:
            ln = int.from_bytes(data[i:i + length_size], "big")
            i += length_size
            if ln == 0 or i + ln > n:
                if i + ln > n:
                    log.debug("truncated NAL unit (%d bytes announced, %d left)", ln, n - i)
                break
            yield data[i:i + ln]
            i += ln
        return
    starts = []
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i + 3)
        i = data.find(b"\x00\x00\x01", i + 3)
    for k, s in enumerate(starts):
        e = starts[k + 1] - 3 if k + 1 < len(starts) else n
        nal = data[s:e]
        while nal.endswith(b"\x00"):  # trailing zero / next 4-byte start code
            nal = nal[:-1]
        if nal:
            yield nal


def _sei_varint(rbsp: bytes, i: int) -> tuple[int | None, int]:
    """An SEI payloadType / payloadSize (H.265 7.3.5: 0xFF bytes of 255, then the last byte);
    None when the RBSP ends first."""
    v, n = 0, len(rbsp)
    while i < n and rbsp[i] == 0xFF:
        v += 255
        i += 1
    if i >= n:
        return None, i
    return v + rbsp[i], i + 1


def parse_sei_rbsp(rbsp: bytes) -> list[tuple[int, bytes]]:
    """Split an SEI RBSP (after the 2-byte NAL header, unescaped) into (payloadType, payload)."""
    out = []
    i, n = 0, len(rbsp)
    while i < n:
        if n - i <= 1 and (i >= n or rbsp[i] == 0x80):
            break  # rbsp_trailing_bits
        t, i = _sei_varint(rbsp, i)
        size, i = _sei_varint(rbsp, i)
        if t is None or size is None:
            break
        if i + size > n:
            raise MetadataError(f"SEI payload type {t} of {size} bytes overruns its NAL unit")
        out.append((t, rbsp[i:i + size]))
        i += size
    return out


@dataclass
class AccessUnitSei:
    """HDR signalling of one access unit (one picture) as found in the bitstream."""

    index: int  # decode order
    pts: int | None
    keyframe: bool
    hdr10plus: int = 0  # number of HDR10+ T.35 SEI messages
    hdr10plus_payloads: list[bytes] = field(default_factory=list)
    mdcv: bytes | None = None  # 24-byte payload
    cll: tuple[int, int] | None = None
    dovi_rpu: int = 0  # NAL units of type 62
    payload_types: list[int] = field(default_factory=list)


@dataclass
class SeiScan:
    """Result of :func:`scan_hevc_sei`: per access unit, plus SEIs inside ``hvcC``."""

    codec: str
    length_size: int | None
    access_units: list[AccessUnitSei]
    header_payload_types: list[int] = field(default_factory=list)
    truncated: bool = False

    def display_order(self) -> list[AccessUnitSei]:
        """Access units sorted by presentation time (decode order when there is none)."""
        if all(a.pts is not None for a in self.access_units):
            return sorted(self.access_units, key=lambda a: a.pts)
        return list(self.access_units)

    @property
    def frames_with_hdr10plus(self) -> int:
        return sum(1 for a in self.access_units if a.hdr10plus)

    def first_mdcv(self) -> bytes | None:
        """Payload of the first mastering display colour volume SEI (24 bytes; parse it with
        :meth:`hdrkit.metadata.st2086.MasteringDisplay.from_sei_payload`), or None."""
        return next((a.mdcv for a in self.access_units if a.mdcv is not None), None)

    def first_cll(self) -> tuple[int, int] | None:
        return next((a.cll for a in self.access_units if a.cll is not None), None)


def hvcc_length_size(extradata: bytes) -> tuple[int | None, list[bytes]]:
    """(NAL length size, NAL units stored in the record) of an hvcC; (None, []) for Annex B."""
    if len(extradata) < 23 or extradata[:3] == b"\x00\x00\x01" or extradata[:4] == b"\x00\x00\x00\x01":
        return None, list(iter_nal_units(extradata, None)) if extradata else []
    ls = (extradata[21] & 3) + 1
    nals = []
    i = 23
    try:
        for _ in range(extradata[22]):
            i += 1  # array_completeness, reserved, NAL_unit_type
            cnt = int.from_bytes(extradata[i:i + 2], "big")
            i += 2
            for _ in range(cnt):
                ln = int.from_bytes(extradata[i:i + 2], "big")
                i += 2
                nals.append(extradata[i:i + ln])
                i += ln
    except IndexError:  # pragma: no cover - malformed record
        pass
    return ls, nals


def _sei_of_nal(nal: bytes) -> list[tuple[int, int, bytes]]:
    if len(nal) < 3:
        return []
    t = (nal[0] >> 1) & 0x3F
    if t not in (_SEI_PREFIX, _SEI_SUFFIX):
        return []
    try:
        return [(t, pt, pl) for pt, pl in parse_sei_rbsp(unescape_rbsp(nal[2:]))]
    except MetadataError as e:
        log.debug("skipping malformed SEI: %s", e)
        return []


def _open(path):
    import av

    try:
        return av.open(str(path), metadata_errors="replace")
    except (av.error.FFmpegError, OSError) as e:  # type: ignore[attr-defined]
        raise ContainerError(f"cannot open {path}: {e}") from None


def scan_hevc_sei(path, max_packets: int | None = None) -> SeiScan:
    """Parse the SEI messages and DV RPU NAL units of every HEVC access unit of ``path``.

    Demuxes packets with PyAV (no decoding), so it sees what the bitstream carries:
    use it to count HDR10+ SEIs per picture (the decoder would copy the last one forward).
    Raises :class:`DecodeError` if the first video stream is not HEVC.
    """
    import av

    c = _open(path)
    try:
        if not c.streams.video:
            raise DecodeError(f"{path}: no video stream")
        st = c.streams.video[0]
        codec = st.codec_context.name if st.codec_context is not None else "unknown"
        if codec != "hevc":
            raise DecodeError(f"{path}: SEI scan supports HEVC only, this stream is {codec}")
        ext = bytes(st.codec_context.extradata or b"")
        ls, header_nals = hvcc_length_size(ext)
        header_types = [pt for n in header_nals for _, pt, _ in _sei_of_nal(n)]
        aus: list[AccessUnitSei] = []
        truncated = False
        try:  # demuxing stops at damage the container cannot get past; what came before stands
            for pkt in c.demux(st):
                if pkt.size == 0:
                    continue
                if max_packets is not None and len(aus) >= max_packets:
                    truncated = True
                    break
                au = AccessUnitSei(index=len(aus), pts=pkt.pts, keyframe=bool(pkt.is_keyframe))
                data = bytes(pkt)
                lsz = ls
                if lsz is None and not (data[:3] == b"\x00\x00\x01" or data[:4] == b"\x00\x00\x00\x01"):
                    lsz = 4
                for nal in iter_nal_units(data, lsz):
                    nt = (nal[0] >> 1) & 0x3F
                    if nt == _NAL_DOVI_RPU:
                        au.dovi_rpu += 1
                        continue
                    for _, pt, pl in _sei_of_nal(nal):
                        au.payload_types.append(pt)
                        if pt == 4 and pl[:6] == HDR10PLUS_T35_PREFIX:
                            au.hdr10plus += 1
                            au.hdr10plus_payloads.append(pl)
                        elif pt == 137 and len(pl) >= 24:
                            au.mdcv = pl[:24]
                        elif pt == 144 and len(pl) >= 4:
                            au.cll = struct.unpack(">HH", pl[:4])
                aus.append(au)
        except av.error.FFmpegError as e:  # type: ignore[attr-defined]
            if not aus:
                raise ContainerError(f"{path}: cannot read its packets: {e}") from None
            log.warning("%s: SEI scan stopped after %d access units: %s", path, len(aus), e)
            truncated = True
        return SeiScan(codec=codec, length_size=ls, access_units=aus, header_payload_types=header_types,
                       truncated=truncated)
    finally:
        c.close()


# ============================================================ decoded side data
@dataclass
class FrameSideData:
    """HDR side data of one decoded frame (display order)."""

    index: int
    pts: int | None
    types: list[str]
    mdcv: dict | None = None
    cll: tuple[int, int] | None = None
    hdr10plus: dict | None = None
    dovi_rpu: bool = False
    dovi_metadata: bool = False


def _decoded_frames(path, *, need_video: bool = False):
    """Decoded frames of the first video stream (frame threads), display order.

    Nothing when there is no video stream (DecodeError when ``need_video``); a decoder
    error before the first frame is a DecodeError, after it ends the frames with a warning.
    """
    import av

    c = _open(path)
    try:
        if not c.streams.video:
            if need_video:
                raise DecodeError(f"{path}: no video stream")
            return
        st = c.streams.video[0]
        st.thread_type = "AUTO"
        n = 0
        try:
            for fr in c.decode(st):
                yield fr
                n += 1
        except av.error.FFmpegError as e:  # type: ignore[attr-defined]
            if not n:
                raise DecodeError(f"{path}: cannot decode video: {e}") from None
            log.warning("%s: decoding stopped after %d frames: %s", path, n, e)
    finally:
        c.close()


def collect_frame_side_data(path, max_frames: int = 8) -> list[FrameSideData]:
    """Decode the first ``max_frames`` video frames and parse their HDR side data."""
    out: list[FrameSideData] = []
    for i, fr in enumerate(_decoded_frames(path)):
        if i >= max_frames:
            break
        rec = FrameSideData(index=i, pts=fr.pts, types=[])
        for sd in fr.side_data:
            name = sd.type.name if hasattr(sd.type, "name") else str(sd.type)
            rec.types.append(name)
            raw = bytes(sd)
            if name == "MASTERING_DISPLAY_METADATA":
                rec.mdcv = parse_mdcv(raw)
            elif name == "CONTENT_LIGHT_LEVEL":
                rec.cll = parse_cll(raw)
            elif name == "DYNAMIC_HDR_PLUS":
                rec.hdr10plus = parse_dynamic_hdr_plus(raw)
            elif name == "DOVI_RPU_BUFFER":
                rec.dovi_rpu = True
            elif name == "DOVI_METADATA":
                rec.dovi_metadata = True
        out.append(rec)
    return out


def read_hdr10plus_frames(path) -> list[dict | None]:
    """Every decoded frame's HDR10+ metadata (:func:`parse_dynamic_hdr_plus` dicts), display order.

    One entry per frame the decoder outputs (so after the container's edit list), ``None``
    for a frame before the first HDR10+ SEI. A frame whose access unit carries no SEI
    inherits the last one: a ST 2094-40 SEI applies until the next one, which is how
    x265 ``--dhdr10-opt`` writes streams (an SEI on keyframes and where the metadata
    changes, compared in encode order) and how FFmpeg's HEVC decoder and hdr10plus_tool
    read them. FFmpeg's decoder already carries the last SEI forward in decode order;
    a frame still without side data then takes the previous frame's in display order.

    Returns
    -------
    list of dict or None
        Integer HDR10+ JSON units (see :func:`parse_dynamic_hdr_plus`).

    Raises
    ------
    DecodeError
        When no frame decodes; MetadataError for malformed side data.

    References
    ----------
    SMPTE ST 2094-40:2016 and the HDR10+ T.35 SEI specification (Samsung, v1.1): the
    metadata of a frame persists until replaced.
    """
    out: list[dict | None] = []
    last_raw: bytes | None = None
    last: dict | None = None
    for fr in _decoded_frames(path, need_video=True):
        raw = next((bytes(sd) for sd in fr.side_data
                    if getattr(sd.type, "name", str(sd.type)) == "DYNAMIC_HDR_PLUS"), None)
        if raw is not None and raw != last_raw:  # parse each distinct payload once
            last, last_raw = parse_dynamic_hdr_plus(raw), raw
        out.append(last)  # no side data: the previous frame's (inherited)
    return out


def count_hdr10plus_frames(path) -> int | None:
    """How many frames of ``path`` carry HDR10+ metadata, without decoding when possible.

    HEVC: from the bitstream (:func:`scan_hevc_sei`): every access unit from the first
    one with an HDR10+ SEI on, in decode order (later frames inherit it, see
    :func:`read_hdr10plus_frames`). Other codecs (or packets that cannot be read): the
    side data of the first 8 decoded frames; ``None`` when it is there (count unknown).
    0 when there is none or nothing can be read.
    """
    try:
        aus = scan_hevc_sei(path).access_units
    except (DecodeError, ContainerError):  # not HEVC, or no packet readable: look at decoded frames
        try:
            return None if any(f.hdr10plus for f in collect_frame_side_data(path, 8)) else 0
        except (DecodeError, ContainerError, MetadataError):
            return 0
    first = next((a.index for a in aus if a.hdr10plus), None)
    return 0 if first is None else len(aus) - first


# ==================================================================== MP4 boxes
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf"}
_VISUAL_ENTRY_HEADER = 78  # VisualSampleEntry fields after the 8-byte box header


def _iter_boxes(buf: bytes, start: int = 0, end: int | None = None):
    end = len(buf) if end is None else end
    i = start
    while i + 8 <= end:
        size, typ = struct.unpack(">I4s", buf[i:i + 8])
        hdr = 8
        if size == 1:
            if i + 16 > end:
                return
            size = struct.unpack(">Q", buf[i + 8:i + 16])[0]
            hdr = 16
        elif size == 0:
            size = end - i
        if size < hdr or i + size > end:
            return
        yield typ, i + hdr, i + size
        i += size


def _read_moov(path) -> bytes | None:
    with open(path, "rb") as f:
        while True:
            h = f.read(8)
            if len(h) < 8:
                return None
            size, typ = struct.unpack(">I4s", h)
            hdr = 8
            if size == 1:
                size = struct.unpack(">Q", f.read(8))[0]
                hdr = 16
            if typ == b"moov":
                if size == 0:
                    return f.read()
                if size > 256 << 20:
                    raise ContainerError(f"{path}: moov box of {size} bytes is too large")
                return f.read(size - hdr)
            if size == 0:
                return None
            if size < hdr:
                raise ContainerError(f"{path}: malformed MP4 box {typ!r}")
            f.seek(size - hdr, 1)


def mp4_sample_entry_boxes(path) -> dict[str, bytes] | None:
    """Child boxes of the first video sample entry of an MP4/MOV file, by type.

    Returns e.g. ``{'entry': b'hvc1', 'hvcC': ..., 'colr': ..., 'mdcv': ..., 'clli': ...,
    'dvcC': ...}`` (box bodies without their headers), or ``None`` when ``path`` is not
    ISO-BMFF or has no video track.
    """
    p = Path(path)
    with open(p, "rb") as f:
        head = f.read(12)
    if len(head) < 8 or head[4:8] not in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"):
        return None
    moov = _read_moov(p)
    if moov is None:
        return None
    for typ, s, e in _iter_boxes(moov):
        if typ != b"trak":
            continue
        handler = None
        stsd = None

        def walk(a, b, parent):
            nonlocal handler, stsd
            for t2, s2, e2 in _iter_boxes(moov, a, b):
                # the media handler is mdia's; QuickTime puts a data handler ('alis') in minf too
                if t2 == b"hdlr" and parent == b"mdia" and e2 - s2 >= 12:
                    handler = moov[s2 + 8:s2 + 12]
                elif t2 == b"stsd":
                    stsd = (s2, e2)
                elif t2 in _CONTAINERS:
                    walk(s2, e2, t2)

        walk(s, e, b"trak")
        if handler != b"vide" or stsd is None:
            continue
        s2, e2 = stsd
        for etyp, es, ee in _iter_boxes(moov, s2 + 8, e2):  # full box header + entry_count
            out = {"entry": etyp}
            for ct, cs, ce in _iter_boxes(moov, es + _VISUAL_ENTRY_HEADER, ee):
                out.setdefault(ct.decode("latin-1"), moov[cs:ce])
            return out
    return None


# ================================================================ FFmpeg listing
_RE_MDCV = re.compile(
    r"Mastering display metadata: has_primaries:(\d) has_luminance:(\d) r\(([\d.]+),\s*([\d.]+)\) "
    r"g\(([\d.]+),\s*([\d.]+)\) b\(([\d.]+)[,\s]\s*([\d.]+)\) wp\(([\d.]+),\s*([\d.]+)\) "
    r"min_luminance=([\d.]+), max_luminance=([\d.]+)", re.I)
_RE_CLL = re.compile(r"Content light level metadata: MaxCLL=(\d+), MaxFALL=(\d+)", re.I)
_RE_DOVI = re.compile(
    r"DOVI configuration record: version: (\d+)\.(\d+), profile: (\d+), level: (\d+), rpu flag: (\d), "
    r"el flag: (\d), bl flag: (\d), compatibility id: (\d+)", re.I)
_RE_ROT = re.compile(r"display ?matrix: rotation of (-?[\d.]+) degrees", re.I)


#: FFmpeg's listings of the last few files, by file version (see :func:`ffmpeg_stream_side_data`).
_LISTINGS: OrderedDict = OrderedDict()
_LISTINGS_LOCK = threading.Lock()
_LISTINGS_KEPT = 8


def _file_version(path) -> tuple | None:
    """What identifies one version of a file: its resolved path, inode, size and change times
    (None when it cannot be read: FFmpeg then reports that itself)."""
    try:
        st = os.stat(path)
        return str(Path(path).resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns
    except (OSError, ValueError):
        return None


def ffmpeg_stream_side_data(path) -> dict:
    """Stream-level side data of the first video stream as FFmpeg lists it (``ffmpeg -i``).

    Works for every container FFmpeg reads. Returns ``{'mdcv': dict|None, 'cll':
    (MaxCLL, MaxFALL)|None, 'dovi': dict|None, 'rotation': float|None, 'text': the
    stream's lines}``. MDCV chromaticities come printed with 4 decimals.

    The listings of the last few file versions are kept (a new copy for each caller): opening
    a Matroska clip asks for its Dolby Vision record and then for its light level, one FFmpeg
    process of 13-25 ms instead of two. A file written since (another size, inode or change
    time) is listed again.
    """
    key = _file_version(path)
    with _LISTINGS_LOCK:
        kept = _LISTINGS.get(key) if key is not None else None
        if kept is not None:
            _LISTINGS.move_to_end(key)
            return copy.deepcopy(kept)
    out = _list_stream_side_data(path)
    if key is not None:
        with _LISTINGS_LOCK:
            _LISTINGS[key] = copy.deepcopy(out)
            while len(_LISTINGS) > _LISTINGS_KEPT:
                _LISTINGS.popitem(last=False)
    return out


def _list_stream_side_data(path) -> dict:
    """:func:`ffmpeg_stream_side_data` without the kept listings: one ``ffmpeg -i``."""
    proc = run_ffmpeg(["-i", str(path)], check=False, timeout=60)
    text = (proc.stderr or b"").decode("utf-8", "replace")
    # keep the first video stream's block: from its "Stream #x:y...: Video:" line to the next Stream line
    lines = text.splitlines()
    block: list[str] = []
    inside = False
    for ln in lines:
        if re.match(r"\s*Stream #\d+:\d+.*: Video:", ln):
            if inside:
                break
            inside = True
            block.append(ln)
            continue
        if inside:
            if re.match(r"\s*Stream #", ln) or not ln.startswith("    "):
                break
            block.append(ln)
    blk = "\n".join(block)
    out: dict = {"mdcv": None, "cll": None, "dovi": None, "rotation": None, "text": blk}
    m = _RE_MDCV.search(blk)
    if m:
        v = [float(x) for x in m.groups()[2:]]
        out["mdcv"] = {"has_primaries": m.group(1) == "1", "has_luminance": m.group(2) == "1",
                       "primaries": ((v[0], v[1]), (v[2], v[3]), (v[4], v[5])), "white": (v[6], v[7]),
                       "min_luminance": v[8], "max_luminance": v[9]}
    m = _RE_CLL.search(blk)
    if m:
        out["cll"] = (int(m.group(1)), int(m.group(2)))
    m = _RE_DOVI.search(blk)
    if m:
        g = [int(x) for x in m.groups()]
        out["dovi"] = {"version": (g[0], g[1]), "profile": g[2], "level": g[3], "rpu": bool(g[4]), "el": bool(g[5]),
                       "bl": bool(g[6]), "compatibility_id": g[7]}
    m = _RE_ROT.search(blk)
    if m:
        out["rotation"] = float(m.group(1))
    return out


def mp4_boxes_if_readable(path) -> dict[str, bytes] | None:
    """:func:`mp4_sample_entry_boxes`, or None where the box scan fails as well as where the file
    is not ISO-BMFF (a damaged file: its callers then ask FFmpeg, which reads what it can)."""
    try:
        return mp4_sample_entry_boxes(path)
    except (OSError, MetadataError) as e:
        log.debug("MP4 box scan of %s failed: %s", path, e)
        return None


def mp4_box_cll(boxes: dict[str, bytes]) -> tuple[tuple[int, int], str] | None:
    """((MaxCLL, MaxFALL), box type) of a video sample entry's boxes
    (:func:`mp4_sample_entry_boxes`), or None.

    ``clli`` (ISO/IEC 14496-12 ContentLightLevelBox: two big-endian u16) before ``CoLL`` (the
    VP codec ISO-BMFF binding's full box: version 0, flags, then the same two u16), as
    FFmpeg's mov demuxer reads them (``mov_read_clli``, ``mov_read_coll``: a ``CoLL`` of
    another version is ignored).
    """
    body = boxes.get("clli")
    if body is not None and len(body) >= 4:
        return struct.unpack(">HH", body[:4]), "clli"
    body = boxes.get("CoLL")
    if body is not None and len(body) >= 8 and body[0] == 0:
        return struct.unpack(">HH", body[4:8]), "CoLL"
    return None


def container_cll(path) -> tuple[int, int] | None:
    """(MaxCLL, MaxFALL) the container declares for the first video stream, or None.

    MP4 / MOV: the sample entry's ``clli`` / ``CoLL`` box (:func:`mp4_box_cll`), read here
    in well under a millisecond; any other container (Matroska's ``MaxCLL`` / ``MaxFALL``
    colour elements, ...): FFmpeg's stream side data (:func:`ffmpeg_stream_side_data`, an
    FFmpeg process of 13-25 ms). The same numbers as FFmpeg's either way; in-band SEIs are
    not looked at (:meth:`SeiScan.first_cll`).
    """
    boxes = mp4_boxes_if_readable(path)
    if boxes is not None:
        found = mp4_box_cll(boxes)
        return None if found is None else found[0]
    return ffmpeg_stream_side_data(path)["cll"]
