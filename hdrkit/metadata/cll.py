"""Content light level (HDR10 MaxCLL / MaxFALL): the type, its spellings, and measurement.

Definitions (CTA-861.3-A §6.9; ITU-T H.265 D.3.35, quoted in libavif ``avif.h``
``avifContentLightLevelInformationBox``), in integer cd/m^2:

- **MaxCLL** = the maximum, over all frames and all pixels of the active picture, of
  ``max(R, G, B)`` of linear-light RGB (PQ peak = 10000 cd/m^2);
- **MaxFALL** = the maximum over frames of the frame **mean** of ``max(R, G, B)``,
  averaged in linear light (averaging PQ code values and converting the mean
  underestimates MaxFALL by ~30 %: 89.5 instead of 127.6 cd/m^2 on the reference clip).

0 means "unknown" for either value. Letterbox bars are excluded (they are not part of
the active picture; :mod:`hdrkit.core.stats` measures the active area only).

Chroma rule (``cll_mode``, :func:`hdrkit.video.analysis.analyze`): CTA-861.3-A Annex A
computes the light level of each pixel from that pixel's own R'G'B' converted to linear
light; a 4:2:0 picture has no R'G'B' per pixel until its chroma is upsampled, and bilinear
upsampling invents chroma between sites: next to a saturated edge it pairs one site's
luma with a neighbour's chroma and overshoots (a 1200 cd/m^2 pure-red patch beside a
190 cd/m^2 grey reads 2672 cd/m^2 at the edge). The PNG cLLi text (W3C PNG 3rd edition,
after CTA-861.3) expects "an algorithmic filter to eliminate false values occurring from
processing". hdrkit's filter, ``site`` (the default): for the statistics every luma sample
takes the chroma sample of its own site (luma (i, j) -> chroma (i >> sy, j >> sx), no
interpolation across sites), so each value is one the coded samples themselves carry; no
pixel is dropped and nothing is clipped. ``raw`` measures the bilinear picture the
renderer shows (the inflated value). Peak detection for tone mapping is unaffected.

Spellings: x265 ``max-cll`` = ``"MaxCLL,MaxFALL"`` (``%hu,%hu``, so each <= 65535);
FFmpeg 9's ``-content_light`` input option takes the same string; FFmpeg
``AVContentLightMetadata`` side data (8 bytes, two ``unsigned``); HEVC SEI payload 144 /
MP4 ``clli`` box (two big-endian u16).
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from typing import Iterable

from ..errors import MetadataError
from .sidedata import parse_cll

__all__ = ["ContentLightLevel", "measure_cll", "parse_max_cll"]


@dataclass(frozen=True)
class ContentLightLevel:
    """MaxCLL and MaxFALL in integer cd/m^2 (0 = unknown)."""

    max_cll: int
    max_fall: int

    def __post_init__(self):
        for name in ("max_cll", "max_fall"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool):
                raise MetadataError(f"{name} must be an integer number of cd/m^2, not {v!r}")
            if not 0 <= v <= 65535:
                raise MetadataError(f"{name} = {v} is outside 0-65535 cd/m^2 (16-bit field)")

    def problems(self) -> list[str]:
        """What a consumer should distrust (empty when plausible)."""
        p = []
        if self.max_cll and self.max_fall > self.max_cll:
            p.append(f"MaxFALL {self.max_fall} exceeds MaxCLL {self.max_cll}")
        if self.max_cll > 10000:
            p.append(f"MaxCLL {self.max_cll} is above the PQ peak of 10000 cd/m^2")
        if self.max_fall > 10000:
            p.append(f"MaxFALL {self.max_fall} is above the PQ peak of 10000 cd/m^2")
        return p

    def above_mastering(self, mastering_peak: float) -> str | None:
        """The notice for a measured MaxCLL above the mastering display's peak (cd/m^2), else None.

        Content brighter than the display it was graded on is legal (ST 2086 describes the
        display, CTA-861.3 the content) but worth saying: a consumer that trusts the mastering
        peak clips it."""
        if self.max_cll <= mastering_peak:
            return None
        return f"measured MaxCLL {self.max_cll} exceeds the mastering display peak {mastering_peak:g} cd/m^2"

    def require_valid(self) -> "ContentLightLevel":
        p = self.problems()
        if p:
            raise MetadataError("content light level: " + "; ".join(p))
        return self

    def to_x265(self) -> str:
        """x265 ``max-cll`` / FFmpeg ``-content_light`` value ``"MaxCLL,MaxFALL"``."""
        return f"{self.max_cll},{self.max_fall}"

    def to_sei_payload(self) -> bytes:
        """HEVC SEI payload 144 / MP4 ``clli`` body (two big-endian u16)."""
        return struct.pack(">HH", self.max_cll, self.max_fall)

    @classmethod
    def from_sei_payload(cls, b: bytes) -> "ContentLightLevel":
        if len(b) < 4:
            raise MetadataError(f"content light level SEI/box is {len(b)} bytes, expected 4")
        return cls(*struct.unpack(">HH", bytes(b[:4])))

    @classmethod
    def from_side_data(cls, b: bytes) -> "ContentLightLevel":
        """From FFmpeg ``AVContentLightMetadata`` bytes (PyAV ``bytes(side_data)``)."""
        cll, fall = parse_cll(b)
        if cll > 65535 or fall > 65535:
            raise MetadataError(f"content light level side data ({cll}, {fall}) does not fit 16 bits")
        return cls(cll, fall)

    def to_dict(self) -> dict:
        return {"max_cll": self.max_cll, "max_fall": self.max_fall, "x265": self.to_x265()}


def parse_max_cll(s: str) -> ContentLightLevel:
    """Parse ``"MaxCLL,MaxFALL"`` (integers, cd/m^2), as x265 ``max-cll`` wants it."""
    m = re.fullmatch(r"\s*(\d+)\s*,\s*(\d+)\s*", str(s))
    if not m:
        raise MetadataError(f"max-cll {s!r} must be two integers 'MaxCLL,MaxFALL' in cd/m^2, e.g. 1000,400")
    return ContentLightLevel(int(m.group(1)), int(m.group(2))).require_valid()


def _ceil_int(v: float) -> int:
    # round up, but not a float's last-bit noise (1200.0000001 -> 1200)
    return int(math.ceil(round(float(v), 6)))


def measure_cll(frames: Iterable, *, clamp_to: float | None = None, percentile: float | None = None) -> ContentLightLevel:
    """MaxCLL / MaxFALL of a sequence of :class:`hdrkit.core.stats.FrameStats`.

    MaxCLL = ceil(max over frames of ``max_nits``); MaxFALL = ceil(max over frames of
    ``mean_nits``), both measured on each frame's active picture in linear light.
    ``percentile`` (e.g. 99.99, one of ``GENERAL_PERCENTILES``) takes each frame's
    maxRGB percentile instead of its maximum, for noisy sources where a few ringing
    pixels would set MaxCLL. ``clamp_to`` (cd/m^2, e.g. the mastering display max)
    caps MaxCLL and MaxFALL. Values are rounded up to integers and capped at 10000.
    """
    peak = 0.0
    fall = 0.0
    n = 0
    for fs in frames:
        n += 1
        v = fs.percentile(percentile) if percentile is not None else fs.max_nits
        if not (math.isfinite(v) and math.isfinite(fs.mean_nits)):
            raise MetadataError(f"frame {n - 1} has non-finite light levels")
        peak = max(peak, v)
        fall = max(fall, fs.mean_nits)
    if n == 0:
        raise MetadataError("no frames to measure MaxCLL / MaxFALL on")
    if clamp_to is not None:
        peak = min(peak, float(clamp_to))
        fall = min(fall, float(clamp_to))
    cll = min(_ceil_int(peak), 10000)
    fa = min(_ceil_int(fall), cll if cll else 10000)
    return ContentLightLevel(cll, fa)
