"""HDR10+ (SMPTE ST 2094-40 application 4) dynamic metadata: types, JSON, validation, generation.

Types: :class:`Hdr10PlusFrame` (one processing window of one frame, in the integer units
of the HDR10+ JSON and the bitstream) and :class:`Hdr10PlusMetadata` (a clip: one entry
per frame, scenes, tool info).

JSON: the "HDR10+ LLC" layout that x265's ``--dhdr10-info`` reads
(``source/dynamicHDR10/metadataFromJson.cpp``) and hdr10plus_tool writes and validates
(``hdr10plus/src/metadata_json.rs``). hdrkit writes the full superset skeleton
(``JSONInfo``, one ``SceneInfo`` entry **per frame** - x265 maps entry i to input frame
i -, ``SceneInfoSummary``, ``ToolInfo``), integers only.

Units (the value ranges of SMPTE ST 2094-40 and FFmpeg's ``AVDynamicHDRPlus``, checked end to
end by the tests): ``MaxScl[3]`` (R, G, B), ``AverageRGB`` and ``DistributionValues`` in
0.1 cd/m^2 (0-100000, linear maxRGB); ``TargetedSystemDisplayMaximumLuminance`` in cd/m^2
(0-10000); ``KneePointX/Y`` in 1/4095 of the source / target range; ``Anchors`` in 1/1023.

Validation (:func:`validate_json`) implements hdr10plus_tool's rules (serde types
without defaults, ``TryFrom`` and ``metadata.rs::validate``), stricter than x265, which
aborts (SIGABRT / SIGSEGV) on malformed input: run it before any encode.

Generation (:func:`hdr10plus_from_analysis`): per frame MaxScl, AverageRGB and the
distribution from :class:`hdrkit.core.stats.FrameStats`; scenes from the clip's cuts;
profile A (no curve, target 0) or B (knee + 9 Bezier anchors fitted by weighted least
squares to the tone curve hdrkit itself would apply at that frame's peak, fit error
reported in PQ units).

References
----------
- SMPTE ST 2094-40:2016; Samsung "User data registered ITU-T T.35 SEI message for
  ST 2094-40" v1.1; HDR10+ LLC JSON as produced by hdr10plus_tool v1.7.2.
- x265 ``source/dynamicHDR10/metadataFromJson.cpp``, ``SeiMetadataDictionary.cpp``.
- quietvoid/hdr10plus_tool ``hdr10plus/src/metadata.rs``, ``metadata_json.rs``.
- FFmpeg ``libavutil/hdr_dynamic_metadata.h`` (side data layout, see
  :mod:`hdrkit.metadata.sidedata`).
- libplacebo ``src/colorspace.c`` ``luma_from_maxrgb`` (how a player derives the source
  peak from MaxScl).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .. import __version__
from ..core.pipeline import RenderParams
from ..core.primaries import Primaries, luminance_weights
from ..core.st2094 import HDR10PLUS_DISTRIBUTION_INDEX, nits_to_hdr10plus_units, st2094_40_curve
from ..core.transfer import SDR_WHITE_NITS, eotf_inverse_st2084, eotf_st2084
from ..errors import ContainerError, MetadataError, OptionError
from ..io.atomic import atomic_write_bytes
from .hevc import BitReader, BitWriter
from .sidedata import HDR10PLUS_T35_PREFIX, parse_dynamic_hdr_plus

__all__ = [
    "BezierCurve",
    "Hdr10PlusFrame",
    "Hdr10PlusMetadata",
    "BezierFit",
    "DISTRIBUTION_INDEX_9",
    "DISTRIBUTION_INDEX_10",
    "validate_json",
    "read_json",
    "fit_bezier",
    "consumer_peak_nits",
    "hdr10plus_from_analysis",
    "hdr10plus_from_stats",
    "parse_hdr10plus_t35",
    "hdr10plus_t35",
    "t35_problems",
    "split_scenes",
]

log = logging.getLogger("hdrkit.metadata")

DISTRIBUTION_INDEX_9 = tuple(HDR10PLUS_DISTRIBUTION_INDEX)
DISTRIBUTION_INDEX_10 = (1, 5, 10, 25, 50, 75, 90, 95, 98, 99)
_JSON_VERSION = "1.0"


def _tool_version() -> str:
    return __version__


# ======================================================================== types
@dataclass(frozen=True)
class BezierCurve:
    """ST 2094-40 tone mapping curve: knee (x, y in 1/4095) and anchors (1/1023)."""

    knee_x: int
    knee_y: int
    anchors: tuple[int, ...]

    def normalised(self) -> tuple[float, float, tuple[float, ...]]:
        """(Kx, Ky, anchors) as floats in [0, 1] (what :mod:`hdrkit.core.st2094` takes)."""
        return self.knee_x / 4095, self.knee_y / 4095, tuple(a / 1023 for a in self.anchors)


@dataclass(frozen=True)
class Hdr10PlusFrame:
    """Dynamic metadata of one frame (window 0), in HDR10+ JSON integer units."""

    maxscl: tuple[int, int, int]
    average_maxrgb: int
    distribution_index: tuple[int, ...] = DISTRIBUTION_INDEX_9
    distribution_values: tuple[int, ...] = ()
    target_nits: int = 0
    bezier: BezierCurve | None = None
    num_windows: int = 1
    scene_id: int = 0
    scene_frame_index: int = 0
    sequence_frame_index: int = 0
    extra: tuple[tuple[str, Any], ...] = ()

    @property
    def profile(self) -> str:
        """"B" (tone mapping, target > 0, anchors), "A" (neither), else "N/A" (hdr10plus_tool)."""
        if self.bezier is not None and self.target_nits > 0:
            return "B" if self.bezier.anchors else "N/A"
        if self.bezier is None and self.target_nits == 0:
            return "A"
        return "N/A"

    @property
    def maxscl_nits(self) -> tuple[float, float, float]:
        return tuple(v / 10.0 for v in self.maxscl)  # type: ignore[return-value]

    @property
    def average_nits(self) -> float:
        return self.average_maxrgb / 10.0

    def signal(self) -> dict:
        """The fields that reach the bitstream (what x265 writes and FFmpeg decodes)."""
        return {
            "maxscl": tuple(self.maxscl),
            "average_maxrgb": self.average_maxrgb,
            "distribution_index": tuple(self.distribution_index),
            "distribution_values": tuple(self.distribution_values),
            "targeted_system_display_maximum_luminance": self.target_nits,
            "tone_mapping_flag": self.bezier is not None,
            "knee_point": (self.bezier.knee_x, self.bezier.knee_y) if self.bezier else None,
            "bezier_anchors": tuple(self.bezier.anchors) if self.bezier else None,
            "num_windows": self.num_windows,
        }

    # --------------------------------------------------------------- JSON
    def to_json(self) -> dict:
        d: dict[str, Any] = {}
        if self.bezier is not None:
            d["BezierCurveData"] = {"Anchors": list(self.bezier.anchors), "KneePointX": self.bezier.knee_x,
                                    "KneePointY": self.bezier.knee_y}
        d["LuminanceParameters"] = {
            "AverageRGB": self.average_maxrgb,
            "LuminanceDistributions": {"DistributionIndex": list(self.distribution_index),
                                       "DistributionValues": list(self.distribution_values)},
            "MaxScl": list(self.maxscl),
        }
        d["NumberOfWindows"] = self.num_windows
        d["TargetedSystemDisplayMaximumLuminance"] = self.target_nits
        d["SceneFrameIndex"] = self.scene_frame_index
        d["SceneId"] = self.scene_id
        d["SequenceFrameIndex"] = self.sequence_frame_index
        for k, v in self.extra:
            d.setdefault(k, v)
        return d

    @classmethod
    def from_json(cls, e: dict, index: int = 0) -> "Hdr10PlusFrame":
        """From one validated ``SceneInfo`` entry (see :func:`validate_json`); keys x265
        ignores default to one window and ``index`` when absent (non-strict input)."""
        lp = e["LuminanceParameters"]
        ld = lp["LuminanceDistributions"]
        bc = e.get("BezierCurveData")
        known = {"BezierCurveData", "LuminanceParameters", "NumberOfWindows", "TargetedSystemDisplayMaximumLuminance",
                 "SceneFrameIndex", "SceneId", "SequenceFrameIndex"}
        return cls(
            maxscl=tuple(lp["MaxScl"]),  # type: ignore[arg-type]
            average_maxrgb=lp["AverageRGB"],
            distribution_index=tuple(ld["DistributionIndex"]),
            distribution_values=tuple(ld["DistributionValues"]),
            target_nits=e["TargetedSystemDisplayMaximumLuminance"],
            bezier=BezierCurve(bc["KneePointX"], bc["KneePointY"], tuple(bc["Anchors"])) if bc is not None else None,
            num_windows=e.get("NumberOfWindows", 1),
            scene_id=e.get("SceneId", 0),
            scene_frame_index=e.get("SceneFrameIndex", index),
            sequence_frame_index=e.get("SequenceFrameIndex", index),
            extra=tuple((k, v) for k, v in e.items() if k not in known),
        )

    # ---------------------------------------------------------- side data
    @classmethod
    def from_side_data(cls, b: bytes, index: int = 0) -> "Hdr10PlusFrame":
        """From FFmpeg ``AVDynamicHDRPlus`` bytes (PyAV ``DYNAMIC_HDR_PLUS`` side data)."""
        return cls.from_side_data_dict(parse_dynamic_hdr_plus(b), index)

    @classmethod
    def from_side_data_dict(cls, d: dict, index: int = 0) -> "Hdr10PlusFrame":
        bez = None
        if d["tone_mapping_flag"]:
            bez = BezierCurve(d["knee_point"][0], d["knee_point"][1], tuple(d["bezier_anchors"]))
        return cls(maxscl=tuple(d["maxscl"]), average_maxrgb=d["average_maxrgb"],  # type: ignore[arg-type]
                   distribution_index=tuple(d["distribution_index"]),
                   distribution_values=tuple(d["distribution_values"]),
                   target_nits=d["targeted_system_display_maximum_luminance"], bezier=bez,
                   num_windows=d["num_windows"], sequence_frame_index=index)


@dataclass
class BezierFit:
    """A knee + Bezier fitted to a tone curve, and how well it matches (see :func:`fit_bezier`).

    ``max_error_pq`` / ``rms_error_pq``: output difference in PQ signal units (0-1; 1/876
    is about one 10-bit code) over PQ-uniform samples of the source range, evaluated
    through the libplacebo curve (:func:`hdrkit.core.st2094.st2094_40_curve`)
    with the quantised values.
    """

    curve: BezierCurve
    src_peak_nits: float
    target_nits: float
    max_error_pq: float
    rms_error_pq: float


@dataclass
class Hdr10PlusMetadata:
    """HDR10+ metadata of a clip: one :class:`Hdr10PlusFrame` per frame, in display order."""

    frames: list[Hdr10PlusFrame]
    json_version: str = _JSON_VERSION
    tool: str = "hdrkit"
    tool_version: str = field(default_factory=_tool_version)
    profile_label: str | None = None  # JSONInfo.HDR10plusProfile as read; computed when None
    scene_first_frame_index: list[int] | None = None
    scene_frame_numbers: list[int] | None = None
    extra: dict = field(default_factory=dict)
    fits: list[BezierFit] = field(default_factory=list, repr=False, compare=False)

    @property
    def profile(self) -> str:
        """"B" / "A" when every frame has that profile, else "N/A" (hdr10plus_tool ``json_list``)."""
        ps = {f.profile for f in self.frames}
        return ps.pop() if len(ps) == 1 and ps <= {"A", "B"} else "N/A"

    def __len__(self) -> int:
        return len(self.frames)

    def scene_summary(self) -> tuple[list[int], list[int]]:
        """(SceneFirstFrameIndex, SceneFrameNumbers) from the frames' scene ids."""
        if self.scene_first_frame_index is not None and self.scene_frame_numbers is not None:
            return list(self.scene_first_frame_index), list(self.scene_frame_numbers)
        first: list[int] = []
        for i, f in enumerate(self.frames):
            if i == 0 or f.scene_id != self.frames[i - 1].scene_id:
                first.append(i)
        nums = [(first[k + 1] if k + 1 < len(first) else len(self.frames)) - first[k] for k in range(len(first))]
        return first, nums

    def to_json_dict(self) -> dict:
        first, nums = self.scene_summary()
        d = {
            "JSONInfo": {"HDR10plusProfile": self.profile_label or self.profile, "Version": self.json_version},
            "SceneInfo": [f.to_json() for f in self.frames],
            "SceneInfoSummary": {"SceneFirstFrameIndex": first, "SceneFrameNumbers": nums},
            "ToolInfo": {"Tool": self.tool, "Version": self.tool_version},
        }
        for k, v in self.extra.items():
            d.setdefault(k, v)
        return d

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_json_dict(), indent=indent)

    def validate(self) -> "Hdr10PlusMetadata":
        """hdr10plus_tool's rules on what :meth:`to_json_dict` would write; raises MetadataError."""
        validate_json(self.to_json_dict())
        return self

    def write_json(self, path, *, validate: bool = True) -> Path:
        """Validate (unless ``validate`` is False: metadata read from a stream as it is),
        then write the JSON atomically."""
        if validate:
            self.validate()
        p = Path(path)
        atomic_write_bytes(p, (self.to_json() + "\n").encode("utf-8"))
        return p

    @classmethod
    def from_json_dict(cls, obj: Any, *, strict: bool = True) -> "Hdr10PlusMetadata":
        """From parsed JSON; ``strict`` applies :func:`validate_json` first (else only what
        x265 needs: ``SceneInfo`` entries with well-formed luminance parameters)."""
        validate_json(obj, strict=strict)

        def section(key) -> dict:  # strict=False does not check these shapes: ignore odd ones
            v = obj.get(key)
            return v if isinstance(v, dict) else {}

        info, tool, summ = section("JSONInfo"), section("ToolInfo"), section("SceneInfoSummary")

        def index_list(key) -> list | None:
            v = summ.get(key)
            return list(v) if isinstance(v, list) else None

        known = {"JSONInfo", "SceneInfo", "SceneInfoSummary", "ToolInfo"}
        return cls(
            frames=[Hdr10PlusFrame.from_json(e, i) for i, e in enumerate(obj["SceneInfo"])],
            json_version=info.get("Version", _JSON_VERSION),
            tool=tool.get("Tool", "unknown"),
            tool_version=tool.get("Version", ""),
            profile_label=info.get("HDR10plusProfile"),
            scene_first_frame_index=index_list("SceneFirstFrameIndex"),
            scene_frame_numbers=index_list("SceneFrameNumbers"),
            extra={k: v for k, v in obj.items() if k not in known},
        )

    @classmethod
    def read_json(cls, path, *, strict: bool = True) -> "Hdr10PlusMetadata":
        return read_json(path, strict=strict)

    @classmethod
    def from_side_data(cls, payloads: Sequence[bytes]) -> "Hdr10PlusMetadata":
        """From a sequence of ``AVDynamicHDRPlus`` buffers (one per frame, display order)."""
        return cls(frames=[Hdr10PlusFrame.from_side_data(b, i) for i, b in enumerate(payloads)], tool="side data")


def read_json(path, *, strict: bool = True) -> Hdr10PlusMetadata:
    """Read and validate an HDR10+ JSON file; every failure is a one-line MetadataError."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MetadataError(f"HDR10+ metadata file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise MetadataError(f"cannot read HDR10+ metadata {p}: {e}") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise MetadataError(f"{p.name} is not valid JSON (line {e.lineno} column {e.colno}: {e.msg})") from None
    except RecursionError:
        raise MetadataError(f"{p.name} is nested too deeply to be HDR10+ JSON") from None
    try:
        return Hdr10PlusMetadata.from_json_dict(obj, strict=strict)
    except MetadataError as e:
        raise MetadataError(f"{p.name}: {e}") from None


# ============================================================ bitstream syntax
def parse_hdr10plus_t35(payload: bytes, index: int = 0) -> tuple[Hdr10PlusFrame, dict]:
    """Parse a ``user_data_registered_itu_t_t35`` payload holding ST 2094-40 metadata.

    Parameters
    ----------
    payload : bytes
        The SEI payload (emulation prevention removed), starting with the country code.
    index : int
        Sequence frame index given to the result.

    Returns
    -------
    (Hdr10PlusFrame, dict)
        The frame in HDR10+ JSON integer units (MaxScl, AverageRGB, percentiles in
        0.1 cd/m^2; target in cd/m^2; knee 1/4095; anchors 1/1023) and the syntax elements
        the JSON has no place for (``application_identifier``, ``application_version``,
        the actual-peak-luminance flags, ``fraction_bright_pixels``,
        ``color_saturation_mapping_flag``). As hdr10plus_tool reads it, with several
        processing windows the last window's luminance values and curve win and the
        percentiles of all windows are listed together.

    Raises
    ------
    MetadataError
        The payload ends before its syntax does.

    References
    ----------
    SMPTE ST 2094-40:2016 / CTA-861-G Annex S; Samsung "User data registered ITU-T T.35
    SEI message for ST 2094-40" v1.1 (field widths: 27-bit target, 17-bit MaxScl /
    average / percentile, 7-bit percentage, 10-bit fraction, 12-bit knee, 4-bit anchor
    count, 10-bit anchors).
    """
    r = BitReader(payload)
    try:
        country, provider, oriented = r.u(8), r.u(16), r.u(16)
        app_id, app_version, nw = r.u(8), r.u(8), r.u(2)
        for _ in range(1, nw):  # processing window geometry (not in the JSON)
            r.u(16 * 6 + 8 + 16 * 3 + 1)
        target = r.u(27)
        tsd_flag = r.flag()
        if tsd_flag:
            rows, cols = r.u(5), r.u(5)
            r.u(4 * rows * cols)
        maxscl, avg, idx, vals, fbp = (0, 0, 0), 0, [], [], 0
        for _ in range(nw):
            maxscl = (r.u(17), r.u(17), r.u(17))
            avg = r.u(17)
            for _ in range(r.u(4)):
                idx.append(r.u(7))
                vals.append(r.u(17))
            fbp = r.u(10)
        md_flag = r.flag()
        if md_flag:
            rows, cols = r.u(5), r.u(5)
            r.u(4 * rows * cols)
        bez, tone = None, False
        for _ in range(nw):
            tone = r.flag()
            if tone:
                kx, ky = r.u(12), r.u(12)
                bez = BezierCurve(kx, ky, tuple(r.u(10) for _ in range(r.u(4))))
        csm = r.flag()
        csw = r.u(6) if csm else 0
    except ContainerError as e:  # the reader ran past the end of the payload
        raise MetadataError(f"HDR10+ SEI of frame {index} is truncated ({len(payload)} bytes): {e}") from None
    frame = Hdr10PlusFrame(maxscl=maxscl, average_maxrgb=avg, distribution_index=tuple(idx),
                           distribution_values=tuple(vals), target_nits=target, bezier=bez, num_windows=nw,
                           sequence_frame_index=index)
    info = {"itu_t_t35_country_code": country, "itu_t_t35_terminal_provider_code": provider,
            "itu_t_t35_terminal_provider_oriented_code": oriented, "application_identifier": app_id,
            "application_version": app_version, "tone_mapping_flag": tone,
            "targeted_system_display_actual_peak_luminance_flag": tsd_flag,
            "mastering_display_actual_peak_luminance_flag": md_flag, "fraction_bright_pixels": fbp,
            "color_saturation_mapping_flag": csm, "color_saturation_weight": csw}
    return frame, info


def t35_problems(frame: Hdr10PlusFrame, info: dict) -> list[str]:
    """What hdr10plus_tool's validation (``Hdr10PlusMetadata::validate``) rejects in a
    parsed payload: application 4 version 1, one window, no actual-peak-luminance arrays,
    no colour saturation mapping, plus the JSON rules of :func:`validate_json`."""
    probs = _Problems()
    if info.get("application_identifier") != 4:
        probs.add(f"application_identifier {info.get('application_identifier')} (4 expected)")
    if info.get("application_version") != 1:
        probs.add(f"application_version {info.get('application_version')} (1 expected)")
    for k in ("targeted_system_display_actual_peak_luminance_flag", "mastering_display_actual_peak_luminance_flag",
              "color_saturation_mapping_flag"):
        if info.get(k):
            probs.add(f"{k} set (not allowed in version 1)")
    if info.get("tone_mapping_flag") != (frame.bezier is not None):
        probs.add("tone_mapping_flag of the last window is 0 while an earlier window has a curve")
    _check_entry(frame.to_json(), f"frame {frame.sequence_frame_index}", probs, strict=True)
    return probs.items


def hdr10plus_t35(frame: Hdr10PlusFrame) -> bytes:
    """The ``user_data_registered_itu_t_t35`` payload of one frame (application version 1).

    Writes what hdr10plus_tool and x265 write from the JSON: one processing window, no
    actual-peak-luminance arrays, ``fraction_bright_pixels`` 0, no colour saturation
    mapping, zero bits up to the byte boundary. Raises :class:`MetadataError` when a value
    does not fit its field or the frame has more than one window (the JSON has no window
    geometry). Field widths as in :func:`parse_hdr10plus_t35`.
    """
    if frame.num_windows != 1:
        raise MetadataError(f"frame {frame.sequence_frame_index}: only one processing window can be written, "
                            f"not {frame.num_windows}")
    if len(frame.distribution_index) != len(frame.distribution_values) or len(frame.distribution_index) > 15:
        raise MetadataError(f"frame {frame.sequence_frame_index}: DistributionIndex and DistributionValues must "
                            "have the same length, at most 15")
    w = BitWriter()
    try:
        for b in HDR10PLUS_T35_PREFIX:  # country, provider, oriented code, application 4
            w.u(8, b)
        w.u(8, 1)  # application_version
        w.u(2, 1)  # num_windows
        w.u(27, frame.target_nits)
        w.flag(False)  # targeted_system_display_actual_peak_luminance_flag
        for v in frame.maxscl:
            w.u(17, v)
        w.u(17, frame.average_maxrgb)
        w.u(4, len(frame.distribution_index))
        for p, v in zip(frame.distribution_index, frame.distribution_values):
            w.u(7, p)
            w.u(17, v)
        w.u(10, 0)  # fraction_bright_pixels
        w.flag(False)  # mastering_display_actual_peak_luminance_flag
        w.flag(frame.bezier is not None)
        if frame.bezier is not None:
            w.u(12, frame.bezier.knee_x)
            w.u(12, frame.bezier.knee_y)
            w.u(4, len(frame.bezier.anchors))
            for a in frame.bezier.anchors:
                w.u(10, a)
        w.flag(False)  # color_saturation_mapping_flag
    except ValueError as e:
        raise MetadataError(f"frame {frame.sequence_frame_index}: {e}") from None
    return w.bytes()


def split_scenes(frames: Sequence[Hdr10PlusFrame]) -> list[Hdr10PlusFrame]:
    """Number scenes as hdr10plus_tool does (``compute_scene_information``).

    A new scene starts at frame i > 0 when its luminance parameters (MaxScl, AverageRGB,
    distribution), NumberOfWindows or target luminance differ from frame i - 1, or -
    only when every frame is profile B - its Bezier curve does. Returns copies with
    ``scene_id``, ``scene_frame_index`` and ``sequence_frame_index`` set.
    """
    frames = list(frames)
    all_b = bool(frames) and all(f.profile == "B" for f in frames)

    def key(f: Hdr10PlusFrame):
        return (f.maxscl, f.average_maxrgb, f.distribution_index, f.distribution_values, f.num_windows,
                f.target_nits, f.bezier if all_b else None)

    out: list[Hdr10PlusFrame] = []
    scene = sfi = 0
    for i, f in enumerate(frames):
        if i > 0 and key(f) != key(frames[i - 1]):
            scene += 1
            sfi = 0
        out.append(dataclasses.replace(f, scene_id=scene, scene_frame_index=sfi, sequence_frame_index=i))
        sfi += 1
    return out


# =================================================================== validation
_U8, _U16, _U32, _USIZE = 0xFF, 0xFFFF, 0xFFFFFFFF, (1 << 63) - 1


class _Problems:
    def __init__(self):
        self.items: list[str] = []

    def add(self, msg: str) -> None:
        self.items.append(msg)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _need(obj, key, where, probs: _Problems, kind=dict):
    if not isinstance(obj, dict) or key not in obj:
        probs.add(f"{where}: missing {key}")
        return None
    v = obj[key]
    if kind is not None and not isinstance(v, kind):
        probs.add(f"{where}.{key}: expected {kind.__name__}, got {type(v).__name__}")
        return None
    return v


def _uint(obj, key, where, hi, probs: _Problems):
    if not isinstance(obj, dict) or key not in obj:
        probs.add(f"{where}: missing {key}")
        return None
    v = obj[key]
    if not _is_int(v):
        probs.add(f"{where}.{key}: must be an integer, got {json.dumps(v)[:40]}")
        return None
    if not 0 <= v <= hi:
        probs.add(f"{where}.{key} = {v} outside 0-{hi}")
        return None
    return v


def _uint_list(obj, key, where, hi, probs: _Problems):
    v = _need(obj, key, where, probs, list)
    if v is None:
        return None
    bad = [x for x in v if not _is_int(x) or not 0 <= x <= hi]
    if bad:
        probs.add(f"{where}.{key}: every element must be an integer in 0-{hi}, got {json.dumps(bad[0])}")
        return None
    return v


def _check_entry(e, where: str, probs: _Problems, strict: bool) -> None:
    if not isinstance(e, dict):
        probs.add(f"{where}: expected an object")
        return
    lp = _need(e, "LuminanceParameters", where, probs)
    if lp is not None:
        w = f"{where}.LuminanceParameters"
        avg = _uint(lp, "AverageRGB", w, _U32, probs)
        maxscl = _uint_list(lp, "MaxScl", w, _U32, probs)
        ld = _need(lp, "LuminanceDistributions", w, probs)
        if maxscl is not None:
            if len(maxscl) != 3:
                probs.add(f"{w}.MaxScl must hold exactly 3 values (R, G, B), found {len(maxscl)}")
            elif any(v > 100000 for v in maxscl):
                probs.add(f"{w}.MaxScl {maxscl} over 100000 (units are 0.1 cd/m^2)")
        if avg is not None and avg > 100000:
            probs.add(f"{w}.AverageRGB {avg} over 100000 (units are 0.1 cd/m^2)")
        if ld is not None:
            wd = f"{w}.LuminanceDistributions"
            idx = _uint_list(ld, "DistributionIndex", wd, _U8, probs)
            val = _uint_list(ld, "DistributionValues", wd, _U32, probs)
            if idx is not None and val is not None:
                if len(idx) != len(val):
                    probs.add(f"{wd}: DistributionIndex has {len(idx)} entries but DistributionValues {len(val)}")
                elif len(idx) > 10:
                    probs.add(f"{wd}: at most 10 distribution entries, found {len(idx)}")
                elif strict and tuple(idx) not in (DISTRIBUTION_INDEX_9, DISTRIBUTION_INDEX_10):
                    probs.add(f"{wd}.DistributionIndex must be {list(DISTRIBUTION_INDEX_9)} or "
                              f"{list(DISTRIBUTION_INDEX_10)}, got {idx}")
                if any(v > 100000 for v in val):
                    probs.add(f"{wd}.DistributionValues over 100000 (units are 0.1 cd/m^2)")
                if any(v > 100 for v in idx):
                    probs.add(f"{wd}.DistributionIndex values are percentages (0-100)")
    target = _uint(e, "TargetedSystemDisplayMaximumLuminance", where, _U32, probs)
    nw = _uint(e, "NumberOfWindows", where, _U8, probs) if (strict or "NumberOfWindows" in e) else 1
    if strict:
        for k in ("SceneFrameIndex", "SceneId", "SequenceFrameIndex"):
            _uint(e, k, where, _USIZE, probs)
    if nw is not None and nw != 1:
        probs.add(f"{where}.NumberOfWindows must be 1 (x265 and HDR10+ write one window), got {nw}")
    bc = e.get("BezierCurveData")
    if bc is not None:
        wb = f"{where}.BezierCurveData"
        if not isinstance(bc, dict):
            probs.add(f"{wb}: expected an object")
        else:
            kx = _uint(bc, "KneePointX", wb, _U16, probs)
            ky = _uint(bc, "KneePointY", wb, _U16, probs)
            an = _uint_list(bc, "Anchors", wb, _U16, probs)
            for k, v in (("KneePointX", kx), ("KneePointY", ky)):
                if v is not None and v > 4095:
                    probs.add(f"{wb}.{k} = {v} over 4095 (12-bit field)")
            if an is not None:
                if len(an) > 9:
                    probs.add(f"{wb}.Anchors: at most 9 anchors, found {len(an)}")
                if any(v > 1023 for v in an):
                    probs.add(f"{wb}.Anchors: each anchor must be below 1024 (10-bit field)")
    if target is not None:
        if target > 10000:
            probs.add(f"{where}.TargetedSystemDisplayMaximumLuminance = {target} over 10000 cd/m^2")
        elif bc is not None and target == 0:
            probs.add(f"{where}: TargetedSystemDisplayMaximumLuminance must not be 0 with BezierCurveData "
                      "(profile B)")
        elif strict and bc is None and target != 0:
            probs.add(f"{where}: TargetedSystemDisplayMaximumLuminance must be 0 without BezierCurveData "
                      "(profile A)")


def validate_json(obj: Any, *, strict: bool = True, max_report: int = 4) -> None:
    """Check parsed HDR10+ JSON against hdr10plus_tool's rules; raise MetadataError if any fail.

    ``strict`` (default) requires the whole skeleton (``JSONInfo``, ``SceneInfo``,
    ``SceneInfoSummary``, ``ToolInfo``, per entry ``LuminanceParameters``,
    ``NumberOfWindows``, ``TargetedSystemDisplayMaximumLuminance``, ``SceneFrameIndex``,
    ``SceneId``, ``SequenceFrameIndex``), integers only, MaxScl of exactly 3, equal-length
    distribution arrays of at most 10 with the fixed index lists, values <= 100000,
    knee <= 4095, <= 9 anchors each < 1024, target <= 10000, 0 for profile A and non-zero
    with a Bezier curve. ``strict=False`` checks only what x265 reads (a bad value there
    crashes it). The message names the first problems (``max_report``) and their count.
    """
    probs = _Problems()
    if not isinstance(obj, dict):
        raise MetadataError("HDR10+ JSON must be an object with a SceneInfo array")
    if strict:
        info = _need(obj, "JSONInfo", "JSON", probs)
        if info is not None:
            for k in ("HDR10plusProfile", "Version"):
                _need(info, k, "JSONInfo", probs, str)
        tool = _need(obj, "ToolInfo", "JSON", probs)
        if tool is not None:
            for k in ("Tool", "Version"):
                _need(tool, k, "ToolInfo", probs, str)
        summ = _need(obj, "SceneInfoSummary", "JSON", probs)
        if summ is not None:
            a = _uint_list(summ, "SceneFirstFrameIndex", "SceneInfoSummary", _USIZE, probs)
            b = _uint_list(summ, "SceneFrameNumbers", "SceneInfoSummary", _USIZE, probs)
            if a is not None and b is not None and len(a) != len(b):
                probs.add("SceneInfoSummary: SceneFirstFrameIndex and SceneFrameNumbers differ in length")
    scenes = _need(obj, "SceneInfo", "JSON", probs, list)
    if scenes is not None:
        if not scenes:
            probs.add("SceneInfo is empty")
        for i, e in enumerate(scenes):
            _check_entry(e, f"SceneInfo[{i}]", probs, strict)
            if len(probs.items) > 50:
                break
    if probs.items:
        n = len(probs.items)
        more = f" (and {n - max_report} more)" if n > max_report else ""
        raise MetadataError("invalid HDR10+ metadata: " + "; ".join(probs.items[:max_report]) + more)


# ======================================================================= fitting
def _pq(nits):
    return np.asarray(eotf_inverse_st2084(np.clip(nits, 0.0, 10000.0)), dtype=np.float64)


def fit_bezier(curve_nits: Callable[[np.ndarray], np.ndarray], src_peak_nits: float, target_nits: float,
               n_anchors: int = 9, samples: int = 384) -> BezierFit:
    """Fit an ST 2094-40 knee + Bezier to a tone curve (cd/m^2 -> cd/m^2).

    The curve is sampled at ``samples`` PQ-uniform source levels up to ``src_peak_nits``
    and normalised as ST 2094-40 does (``x = L / src_peak``, ``y = f(L) / target``; a
    target above the source peak is clamped to it, as a player does). For
    each candidate knee ``Kx`` (60 PQ-spaced points, quantised to 1/4095) the knee height is
    the curve's own value ``Ky = f(Kx)`` and the anchors solve a linear least-squares
    problem on the Bezier part, weighted by the slope of PQ at each output level so the
    error is minimised in perceptual (PQ) units; anchors are clipped to [0, 1], made
    non-decreasing (a monotone control polygon gives a monotone curve) and quantised to
    1/1023. The candidate with the smallest maximum PQ error wins. Errors are then
    measured through :func:`hdrkit.core.st2094.st2094_40_curve` (the
    libplacebo curve at a display of exactly ``target_nits``).
    """
    P, T_meta = float(src_peak_nits), float(target_nits)
    if not (math.isfinite(P) and math.isfinite(T_meta) and P > 0 and T_meta > 0):
        raise OptionError(f"peaks must be finite and positive (source {src_peak_nits}, target {target_nits})")
    T = min(T_meta, P)  # a player clamps the target to the source range (libplacebo st2094_40)
    if not 1 <= n_anchors <= 9:
        raise OptionError(f"HDR10+ allows 1-9 Bezier anchors, not {n_anchors}")
    N = n_anchors + 1
    lo = max(P * 1e-4, 1e-3)
    L = np.asarray(eotf_st2084(np.linspace(float(_pq(lo)), float(_pq(P)), samples)), dtype=np.float64)
    L[-1] = P
    x = L / P
    g = np.clip(np.asarray(curve_nits(L), dtype=np.float64) / T, 0.0, 1.0)
    eps = 1e-4
    w = (_pq((g + eps) * T) - _pq(np.maximum(g - eps, 0.0) * T)) / (2 * eps)
    binom = np.array([math.comb(N, p) for p in range(N + 1)], dtype=np.float64)

    best = None
    kx_grid = np.asarray(eotf_st2084(np.linspace(float(_pq(P * 0.002)), float(_pq(P * 0.9)), 60)), np.float64) / P
    for kx_f in kx_grid:
        kx = int(min(max(round(kx_f * 4095), 1), 4094))
        Kx = kx / 4095
        ky = int(min(max(round(float(np.clip(curve_nits(np.array([Kx * P]))[0] / T, 0, 1)) * 4095), 0), 4094))
        Ky = ky / 4095
        m = x > Kx
        if m.sum() < N + 2:
            continue
        t = (x[m] - Kx) / (1 - Kx)
        basis = binom[None, :] * t[:, None] ** np.arange(N + 1)[None, :] * (1 - t[:, None]) ** (N - np.arange(N + 1))[None, :]
        A = basis[:, 1:N] * (1 - Ky)
        rhs = g[m] - Ky - (1 - Ky) * basis[:, N]
        ww = w[m]
        sol, *_ = np.linalg.lstsq(A * ww[:, None], rhs * ww, rcond=None)
        anchors = np.maximum.accumulate(np.clip(sol, 0.0, 1.0))
        aq = tuple(int(v) for v in np.clip(np.round(anchors * 1023), 0, 1023))
        yfit = st2094_40_curve(L, P, T_meta, Kx, Ky, [a / 1023 for a in aq], T_meta)
        err = np.abs(_pq(yfit) - _pq(g * T))
        cand = (float(err.max()), float(np.sqrt(np.mean(err**2))), BezierCurve(kx, ky, aq))
        if best is None or cand[0] < best[0]:
            best = cand
    if best is None:  # pragma: no cover - only for absurdly few samples
        raise OptionError("could not fit a Bezier curve")
    return BezierFit(curve=best[2], src_peak_nits=P, target_nits=T_meta, max_error_pq=best[0], rms_error_pq=best[1])


def consumer_peak_nits(maxscl_nits: Sequence[float], mastering=None) -> float:
    """Source peak a player derives from MaxScl (libplacebo ``luma_from_maxrgb``): the
    luminance ``Y = w . MaxScl`` with the Y row of RGB->XYZ of the mastering display
    primaries (BT.2020 when unknown), raised to at least 100 cd/m^2 as libplacebo's
    ``pl_tone_map_params_infer`` does for SDR targets."""
    if mastering is not None:
        pr = Primaries("mastering", "mastering display", tuple(mastering.red), tuple(mastering.green),
                       tuple(mastering.blue), tuple(mastering.white))
        try:
            wts = luminance_weights(pr)
        except Exception:  # degenerate primaries: fall back
            wts = luminance_weights("bt2020")
    else:
        wts = luminance_weights("bt2020")
    return max(float(np.dot(wts, np.asarray(maxscl_nits, dtype=np.float64))), 100.0)


def _smoothed_peaks(analysis, n: int) -> list[float | None]:
    """Per-frame peak (cd/m^2) the tone curve uses, read from ``analysis.smoothed``.

    Accepts an object or mapping with ``peak``/``peak_nits`` arrays, a (N, 2) array of
    (peak, avg), or a sequence of objects / pairs; values named ``*_nits`` are cd/m^2,
    anything else hdrkit linear relative (1.0 = 203 cd/m^2). ``None`` when unavailable.
    """
    sm = getattr(analysis, "smoothed", None)
    if sm is None:
        return [None] * n

    def get(obj, names):
        for nm in names:
            if isinstance(obj, dict) and nm in obj:
                return obj[nm], nm
            if hasattr(obj, nm):
                return getattr(obj, nm), nm
        return None, None

    vals, name = get(sm, ("peak_nits", "peak", "peaks"))
    if vals is not None:
        arr = np.asarray(vals, dtype=np.float64).reshape(-1)
        scale = 1.0 if name.endswith("nits") else SDR_WHITE_NITS
    else:
        try:
            arr0 = np.asarray(sm, dtype=np.float64)
        except (TypeError, ValueError):
            arr0 = None
        if arr0 is not None and arr0.ndim >= 1 and arr0.size:
            arr = arr0.reshape(arr0.shape[0], -1)[:, 0]
            scale = SDR_WHITE_NITS
        else:
            out = []
            for item in list(sm):
                v, nm = get(item, ("peak_nits", "peak"))
                out.append(None if v is None else float(v) * (1.0 if nm.endswith("nits") else SDR_WHITE_NITS))
            return (out + [None] * n)[:n]
    res: list[float | None] = [float(v) * scale for v in arr[:n]]
    return res + [None] * (n - len(res))


def hdr10plus_from_stats(frames: Sequence, *, cuts: Sequence[int] = (), profile: str = "B", target_nits: float = 400.0,
                         params=None, peaks_nits: Sequence[float | None] | None = None, mastering=None,
                         n_anchors: int = 9) -> Hdr10PlusMetadata:
    """HDR10+ metadata from per-frame :class:`hdrkit.core.stats.FrameStats` (display order).

    - MaxScl = per-channel maxima, AverageRGB = mean maxRGB, DistributionValues as
      :attr:`FrameStats.hdr10plus_distribution` (0.1 cd/m^2; slot semantics in
      :mod:`hdrkit.core.stats`);
    - scenes: a new SceneId at frame 0 and at every index in ``cuts``;
    - profile "A": target 0, no curve; profile "B": target ``target_nits`` and a knee +
      Bezier fitted (:func:`fit_bezier`) to the hdrkit tone curve of ``params``
      (:class:`hdrkit.core.pipeline.RenderParams`, default curve) mapping the frame's
      peak (``peaks_nits[i]``, else its measured max) to ``target_nits``, expressed over
      the source range a player derives from MaxScl (:func:`consumer_peak_nits`). Fits
      are cached per (peak, range) pair; each frame's fit is in :attr:`Hdr10PlusMetadata.fits`.
    """
    profile = str(profile).upper()
    if profile not in ("A", "B"):
        raise OptionError(f"HDR10+ profile must be A or B, not {profile!r}")
    T = float(target_nits)
    if profile == "B" and not (1 <= T <= 10000):
        raise OptionError(f"HDR10+ target display luminance must be within 1-10000 cd/m^2, not {target_nits}")
    frames = list(frames)
    if not frames:
        raise MetadataError("no frames to generate HDR10+ metadata from")
    cutset = {int(c) for c in cuts if 0 < int(c) < len(frames)}
    curve = cp = None
    if profile == "B":
        if params is None:
            params = RenderParams()
        curve, cp = params.tone()
    cache: dict[tuple[float, float], BezierFit] = {}
    out: list[Hdr10PlusFrame] = []
    fits: list[BezierFit] = []
    scene, sfi = 0, 0
    for i, fs in enumerate(frames):
        if i in cutset:
            scene += 1
            sfi = 0
        maxscl = tuple(nits_to_hdr10plus_units(v) for v in fs.maxscl)
        avg = nits_to_hdr10plus_units(fs.mean_nits)
        bez, tgt = None, 0
        if profile == "B":
            pk = peaks_nits[i] if peaks_nits is not None and i < len(peaks_nits) and peaks_nits[i] else fs.max_nits
            pk = max(float(pk), 1e-3)
            rng = consumer_peak_nits([v / 10.0 for v in maxscl], mastering)
            key = (round(pk, 1), round(rng, 1))
            fit = cache.get(key)
            if fit is None:
                def f(L, _pk=pk):
                    return curve.apply(np.asarray(L) / SDR_WHITE_NITS, _pk / SDR_WHITE_NITS, T / SDR_WHITE_NITS,
                                       **cp) * SDR_WHITE_NITS

                fit = fit_bezier(f, rng, T, n_anchors=n_anchors)
                cache[key] = fit
            fits.append(fit)
            bez, tgt = fit.curve, int(round(T))
        out.append(Hdr10PlusFrame(maxscl=maxscl, average_maxrgb=avg, distribution_index=DISTRIBUTION_INDEX_9,
                                  distribution_values=tuple(int(v) for v in fs.hdr10plus_distribution),
                                  target_nits=tgt, bezier=bez, scene_id=scene, scene_frame_index=sfi,
                                  sequence_frame_index=i))
        sfi += 1
    md = Hdr10PlusMetadata(frames=out, fits=fits)
    if fits:
        worst = max(fits, key=lambda ft: ft.max_error_pq)
        log.info("HDR10+ Bezier fit: worst max error %.4f PQ (%.1f 10-bit codes) at a %.0f cd/m^2 source range",
                 worst.max_error_pq, worst.max_error_pq * 876, worst.src_peak_nits)
    return md.validate()


def hdr10plus_from_analysis(analysis, *, profile: str = "B", target_nits: float = 400.0, params=None, mastering=None,
                            n_anchors: int = 9) -> Hdr10PlusMetadata:
    """HDR10+ metadata from a clip analysis (``.frames`` FrameStats, ``.cuts``, ``.smoothed``).

    The per-frame tone-curve peak comes from ``analysis.smoothed`` (the same smoothed
    peak the video renderer uses); see :func:`hdr10plus_from_stats` for the rest.
    """
    frames = list(analysis.frames)
    peaks = _smoothed_peaks(analysis, len(frames))
    return hdr10plus_from_stats(frames, cuts=list(getattr(analysis, "cuts", []) or []), profile=profile,
                                target_nits=target_nits, params=params, peaks_nits=peaks, mastering=mastering,
                                n_anchors=n_anchors)
