"""Dolby Vision detection and hdrkit's policy for it.

The configuration record (``dvcC`` / ``dvvC`` / ``dvwC`` box in MP4, BlockAdditionMapping
in Matroska, ``AV_PKT_DATA_DOVI_CONF`` in FFmpeg) is 24 bytes (Dolby, "Dolby Vision
streams within the ISO base media file format" v2.x, §3.2)::

    dv_version_major u8, dv_version_minor u8,
    dv_profile u(7), dv_level u(6), rpu_present_flag u(1), el_present_flag u(1), bl_present_flag u(1),
    dv_bl_signal_compatibility_id u(4), dv_md_compression u(2), reserved u(2), reserved u32 x 4

Base-layer compatibility ids: 0 none (IPTPQc2, needs the RPU), 1 HDR10 (BT.2100 PQ),
2 SDR (BT.1886), 4 HLG (BT.2100 HLG), 6 HDR10 (UHD Blu-ray, profile 7).

Policy (hdrkit applies no RPU reshaping):

- 8.1 / 8.6 (HDR10 base), 8.4 (HLG base, iPhone), 8.2 (SDR base), 7 (HDR10 base plus
  enhancement layer), 9, 10.1/10.2/10.4, 20: process the base layer, warn "RPU not applied";
- 5, and any stream whose base layer is not backward compatible (compatibility id 0,
  e.g. 10.0): refused with a :class:`~hdrkit.errors.DecodeError`, because its colours are
  wrong without the RPU's reshaping and IPT -> RGB conversion.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from ..errors import DecodeError, MetadataError
from .sidedata import collect_frame_side_data, ffmpeg_stream_side_data, mp4_boxes_if_readable

__all__ = ["DoviConfig", "DoviDecision", "parse_dovi_record", "detect_dovi", "dovi_decision", "check_dovi",
           "COMPATIBILITY"]

log = logging.getLogger("hdrkit.metadata")

#: dv_bl_signal_compatibility_id -> (base layer, description)
COMPATIBILITY = {
    0: ("none", "no backward-compatible base layer (IPTPQc2)"),
    1: ("hdr10", "HDR10 base layer (BT.2100 PQ)"),
    2: ("sdr", "SDR base layer (BT.1886)"),
    4: ("hlg", "HLG base layer (BT.2100 HLG)"),
    6: ("hdr10", "HDR10 base layer (UHD Blu-ray)"),
}


@dataclass(frozen=True)
class DoviConfig:
    """A Dolby Vision configuration record (or what could be inferred without one)."""

    profile: int
    level: int = 0
    rpu_present: bool = True
    el_present: bool = False
    bl_present: bool = True
    compatibility_id: int = 0
    version: tuple[int, int] = (1, 0)
    md_compression: int = 0
    source: str = "dvcC"  # dvcC | dvvC | dvwC | ffmpeg | rpu

    @property
    def name(self) -> str:
        """Profile as usually written: ``8.1``, ``8.4``, ``5``, ``7``."""
        if self.profile in (8, 9, 10, 20) or (self.profile == 7 and self.compatibility_id not in (0, 6)):
            return f"{self.profile}.{self.compatibility_id}"
        return str(self.profile)

    @property
    def base_layer(self) -> str:
        """'hdr10' | 'hlg' | 'sdr' | 'none' | 'unknown'."""
        if self.profile == 5:
            return "none"
        return COMPATIBILITY.get(self.compatibility_id, ("unknown", ""))[0]

    def to_record(self) -> bytes:
        """The 24-byte configuration record (inverse of :func:`parse_dovi_record`)."""
        if not (0 <= self.profile < 128 and 0 <= self.level < 64 and 0 <= self.compatibility_id < 16):
            raise MetadataError(f"Dolby Vision profile/level/compatibility out of range: {self}")
        v = (self.profile << 9) | (self.level << 3) | (int(self.rpu_present) << 2) | (int(self.el_present) << 1) \
            | int(self.bl_present)
        b4 = (self.compatibility_id << 4) | ((self.md_compression & 3) << 2)
        return bytes([self.version[0], self.version[1], v >> 8, v & 0xFF, b4]) + bytes(19)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["name"] = self.name
        d["base_layer"] = self.base_layer
        d["version"] = f"{self.version[0]}.{self.version[1]}"
        return d


def parse_dovi_record(b: bytes, source: str = "dvcC") -> DoviConfig:
    """Parse a Dolby Vision decoder configuration record (at least 5 bytes used)."""
    b = bytes(b)
    if len(b) < 5:
        raise MetadataError(f"Dolby Vision configuration record is {len(b)} bytes, expected 24")
    v = (b[2] << 8) | b[3]
    return DoviConfig(profile=v >> 9, level=(v >> 3) & 0x3F, rpu_present=bool(v & 4), el_present=bool(v & 2),
                      bl_present=bool(v & 1), compatibility_id=b[4] >> 4, version=(b[0], b[1]),
                      md_compression=(b[4] >> 2) & 3, source=source)


def detect_dovi(path, *, probe_frames: int = 0) -> DoviConfig | None:
    """The Dolby Vision configuration of a file, or ``None``.

    MP4/MOV: the video sample entry's ``dvcC``/``dvvC``/``dvwC`` box, parsed here; any
    other container: FFmpeg's own reading of the record (``ffmpeg -i``). With
    ``probe_frames`` > 0 and no record, decoded frames carrying DOVI side data (RPUs)
    still identify a Dolby Vision stream (profile unknown, reported as 0).
    """
    boxes = mp4_boxes_if_readable(path)
    if boxes:
        for k in ("dvcC", "dvvC", "dvwC"):
            if k in boxes:
                return parse_dovi_record(boxes[k], source=k)
    else:
        d = ffmpeg_stream_side_data(path).get("dovi")
        if d:
            return DoviConfig(profile=d["profile"], level=d["level"], rpu_present=d["rpu"], el_present=d["el"],
                              bl_present=d["bl"], compatibility_id=d["compatibility_id"], version=d["version"],
                              source="ffmpeg")
    if probe_frames > 0:
        frames = collect_frame_side_data(path, probe_frames)
        if any(f.dovi_rpu or f.dovi_metadata for f in frames):
            return DoviConfig(profile=0, source="rpu")
    return None


@dataclass(frozen=True)
class DoviDecision:
    """What hdrkit does with a Dolby Vision stream: ``action`` 'base-layer' (with
    ``warning``) or 'refuse' (with ``reason``); ``base_layer`` as :attr:`DoviConfig.base_layer`."""

    action: str
    base_layer: str
    warning: str | None = None
    reason: str | None = None


def dovi_decision(cfg: DoviConfig | None) -> DoviDecision | None:
    """Apply the policy of the module docstring; ``None`` for a non-DV stream."""
    if cfg is None:
        return None
    if cfg.profile == 5 or (cfg.compatibility_id == 0 and cfg.profile not in (0, 7)):
        return DoviDecision("refuse", "none", reason=(
            f"Dolby Vision profile {cfg.name} has no backward-compatible base layer (IPTPQc2): its colours need "
            "the RPU reshaping, which hdrkit does not apply; convert it with a Dolby Vision aware tool first"))
    base = cfg.base_layer
    if cfg.profile == 0:
        msg = "Dolby Vision RPUs found without a configuration record: processing the base layer; RPU not applied"
    elif cfg.profile == 7:
        msg = (f"Dolby Vision profile 7: processing the {base.upper()} base layer; enhancement layer and RPU not "
               "applied")
    else:
        msg = f"Dolby Vision profile {cfg.name}: processing the {base.upper()} base layer; RPU not applied"
    return DoviDecision("base-layer", base, warning=msg)


def check_dovi(cfg: DoviConfig | None) -> DoviDecision | None:
    """:func:`dovi_decision`, logging the warning, raising DecodeError on refusal."""
    d = dovi_decision(cfg)
    if d is None:
        return None
    if d.action == "refuse":
        raise DecodeError(d.reason)
    log.warning("%s", d.warning)
    return d
