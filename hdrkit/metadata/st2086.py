"""SMPTE ST 2086 mastering display colour volume (HDR10 "MDCV"): one type, every spelling.

:class:`MasteringDisplay` holds CIE 1931 xy of the red, green and blue primaries and of
the white point, and the display's maximum and minimum luminance in cd/m^2. It reads
and writes:

- the x265 ``--master-display`` string ``G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)``: order
  **G, B, R** (the HEVC SEI order), chromaticities in **0.00002** units
  (``round(x * 50000)``), luminance in **0.0001 cd/m^2** (``round(nits * 10000)``), max
  first (x265 ``doc/reST/cli.rst``; parser ``source/encoder/sei.h``, ``%hu``/``%u``).
  FFmpeg 9's ``-mastering_display`` input option takes the same string.
- FFmpeg's ``AVMasteringDisplayMetadata`` frame side data (88 bytes: ``AVRational
  display_primaries[3][2]`` in **R, G, B** order, ``white_point[2]``, ``min_luminance``,
  ``max_luminance``, ``int has_primaries, has_luminance``; libavutil
  ``mastering_display_metadata.h``), see :mod:`hdrkit.metadata.sidedata`.
- the HEVC SEI payload / MP4 ``mdcv`` box (24 bytes, big endian: G, B, R, WP as u16 in
  0.00002 units, then max and min as u32 in 0.0001 cd/m^2; H.265 D.2.28, ISO/IEC
  23001-8 / ``mdcv`` in ISO/IEC 14496-12 AMD).

Real files get these wrong in known ways (reference: x265 silently drops a string in
R,G,B order; luminance written in cd/m^2 where 0.0001 units are expected decodes as 0.1
cd/m^2; libplacebo ignores MDCV luminance when max < 5 cd/m^2 or min >= max).
:func:`sanitize` reports each problem and returns only values that are safe to use;
:meth:`MasteringDisplay.require_valid` refuses to let a bad value into an output.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass, replace
from itertools import permutations

from ..errors import MetadataError
from .sidedata import parse_mdcv

__all__ = [
    "MasteringDisplay",
    "SanitizedMDCV",
    "MDCV_PRESETS",
    "KNOWN_GAMUTS",
    "WHITE_POINTS",
    "CHROMA_UNIT",
    "LUMA_UNIT",
    "sanitize",
    "parse_master_display",
]

#: x265 / HEVC chromaticity unit (x, y in multiples of 0.00002).
CHROMA_UNIT = 50000
#: x265 / HEVC luminance unit (multiples of 0.0001 cd/m^2).
LUMA_UNIT = 10000

#: Primaries (R, G, B xy) of the gamuts mastering displays are specified in.
KNOWN_GAMUTS: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "p3": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)),  # SMPTE EG 432-1 / RP 431-2
    "bt2020": ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046)),  # ITU-R BT.2020-2 Table 3
    "bt709": ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060)),  # ITU-R BT.709-6 item 1.3
}
#: White points: D65 (BT.709 / BT.2020) and the DCI white of SMPTE RP 431-2.
WHITE_POINTS = {"d65": (0.3127, 0.3290), "dci": (0.314, 0.351)}

# No lazy group between optional whitespace runs, and matched anchored (``match`` at the
# current position): both keep parsing linear in the length of the string.
_LABEL = re.compile(r"\s*(WP|G|B|R|L)\s*\(([^()]*)\)\s*", re.I)


def _units_xy(v: float) -> int:
    return int(math.floor(v * CHROMA_UNIT + 0.5))


def _units_l(v: float) -> int:
    return int(math.floor(v * LUMA_UNIT + 0.5))


@dataclass(frozen=True)
class MasteringDisplay:
    """ST 2086 mastering display: xy of R, G, B and white, luminance in cd/m^2.

    Chromaticities are CIE 1931 x, y (0-1); ``max_luminance`` and ``min_luminance`` are
    in cd/m^2 (not the 0.0001 units of the bitstream).
    """

    red: tuple[float, float]
    green: tuple[float, float]
    blue: tuple[float, float]
    white: tuple[float, float]
    max_luminance: float
    min_luminance: float

    # ------------------------------------------------------------------ units
    def units(self) -> dict[str, tuple[int, ...] | int]:
        """Integer bitstream units: xy in 0.00002, luminance in 0.0001 cd/m^2."""
        return {
            "G": (_units_xy(self.green[0]), _units_xy(self.green[1])),
            "B": (_units_xy(self.blue[0]), _units_xy(self.blue[1])),
            "R": (_units_xy(self.red[0]), _units_xy(self.red[1])),
            "WP": (_units_xy(self.white[0]), _units_xy(self.white[1])),
            "Lmax": _units_l(self.max_luminance),
            "Lmin": _units_l(self.min_luminance),
        }

    @classmethod
    def from_units(cls, G, B, R, WP, Lmax: int, Lmin: int) -> "MasteringDisplay":
        """From bitstream integers (HEVC order G, B, R, WP; luminance max, min)."""
        c = CHROMA_UNIT
        return cls(red=(R[0] / c, R[1] / c), green=(G[0] / c, G[1] / c), blue=(B[0] / c, B[1] / c),
                   white=(WP[0] / c, WP[1] / c), max_luminance=Lmax / LUMA_UNIT, min_luminance=Lmin / LUMA_UNIT)

    # ------------------------------------------------------------- x265 string
    def to_x265(self) -> str:
        """x265 ``master-display`` string ``G(..)B(..)R(..)WP(..)L(max,min)``."""
        u = self.units()
        return "G({},{})B({},{})R({},{})WP({},{})L({},{})".format(*u["G"], *u["B"], *u["R"], *u["WP"], u["Lmax"], u["Lmin"])

    def to_ffmpeg_option(self) -> str:
        """Value of FFmpeg 9's ``-mastering_display`` input option (same syntax as x265)."""
        return self.to_x265()

    @classmethod
    def from_x265(cls, s: str) -> "MasteringDisplay":
        """Parse an x265 ``master-display`` string strictly, as x265 itself would.

        Labels must come in x265's order G, B, R, WP, L (x265 silently drops any other
        order); values must be non-negative integers (a decimal point means cd/m^2 or
        plain chromaticities were written where integer units are expected). Raises
        :class:`MetadataError` naming the problem and, when it can, the corrected string.
        """
        text = str(s).strip()
        parts = []
        pos = 0
        while pos < len(text):
            m = _LABEL.match(text, pos)
            if m is None:
                break
            parts.append((m.group(1).upper(), m.group(2).strip()))
            pos = m.end()
        if pos != len(text) or not parts:
            raise MetadataError(f"cannot parse master-display {s!r}: expected G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)")
        labels = [p[0] for p in parts]
        if sorted(labels) != sorted(["G", "B", "R", "WP", "L"]):
            raise MetadataError(f"master-display {s!r} must have exactly G, B, R, WP and L groups, found {','.join(labels)}")
        vals: dict[str, tuple[str, str]] = {}
        for lab, body in parts:
            items = [x.strip() for x in body.split(",")]
            if len(items) != 2 or not all(items):
                raise MetadataError(f"master-display group {lab}({body}) needs two comma-separated numbers")
            vals[lab] = (items[0], items[1])
        floats = any(not re.fullmatch(r"\d+", v) for pair in vals.values() for v in pair)
        if floats:
            hint = _float_hint(vals)
            raise MetadataError(f"master-display {s!r} must hold integers (xy in 0.00002 units, luminance in "
                                f"0.0001 cd/m^2){hint}")
        if any(len(v) > 10 for pair in vals.values() for v in pair):
            raise MetadataError("master-display values must fit 32 bits")
        iv = {k: (int(a), int(b)) for k, (a, b) in vals.items()}
        md = cls.from_units(iv["G"], iv["B"], iv["R"], iv["WP"], iv["L"][0], iv["L"][1])
        if labels != ["G", "B", "R", "WP", "L"]:
            raise MetadataError(f"master-display groups are in the order {','.join(labels)}; x265 needs G,B,R,WP,L "
                                f"and silently ignores anything else: use {md.to_x265()}")
        for k in ("G", "B", "R", "WP"):
            for v in iv[k]:
                if v > 50000:
                    raise MetadataError(f"master-display {k}{iv[k]}: chromaticity units are 0.00002, so values are "
                                        f"at most 50000")
        if iv["L"][0] > 0xFFFFFFFF or iv["L"][1] > 0xFFFFFFFF:
            raise MetadataError("master-display luminance does not fit 32 bits")
        return md

    # --------------------------------------------------------- binary layouts
    def to_sei_payload(self) -> bytes:
        """24-byte HEVC SEI payload / MP4 ``mdcv`` box body (big endian, G, B, R, WP, max, min)."""
        u = self.units()
        return struct.pack(">8HII", *u["G"], *u["B"], *u["R"], *u["WP"], u["Lmax"], u["Lmin"])

    @classmethod
    def from_sei_payload(cls, b: bytes) -> "MasteringDisplay":
        """Parse the 24-byte SEI payload / ``mdcv`` box body (see :meth:`to_sei_payload`)."""
        if len(b) < 24:
            raise MetadataError(f"mastering display SEI/box is {len(b)} bytes, expected 24")
        v = struct.unpack(">8HII", bytes(b[:24]))
        return cls.from_units(v[0:2], v[2:4], v[4:6], v[6:8], v[8], v[9])

    @classmethod
    def from_side_data(cls, b: bytes) -> "MasteringDisplay | None":
        """From FFmpeg ``AVMasteringDisplayMetadata`` bytes (PyAV ``bytes(side_data)``).

        Returns ``None`` when neither primaries nor luminance are flagged present. A part
        flagged absent is returned as zeros (which :func:`sanitize` reports).
        """
        d = parse_mdcv(b)
        if not d["has_primaries"] and not d["has_luminance"]:
            return None
        z = (0.0, 0.0)
        p = d["primaries"] if d["has_primaries"] else (z, z, z)
        w = d["white"] if d["has_primaries"] else z
        lmax, lmin = (d["max_luminance"], d["min_luminance"]) if d["has_luminance"] else (0.0, 0.0)
        return cls(red=p[0], green=p[1], blue=p[2], white=w, max_luminance=lmax, min_luminance=lmin)

    # --------------------------------------------------------------- presets
    @classmethod
    def preset(cls, name: str) -> "MasteringDisplay":
        """A named preset (see :data:`MDCV_PRESETS`)."""
        key = name.lower().replace("_", "-")
        if key not in MDCV_PRESETS:
            raise MetadataError(f"unknown mastering display preset {name!r}; choose from {', '.join(MDCV_PRESETS)}")
        return MDCV_PRESETS[key]

    # ------------------------------------------------------------ inspection
    def gamut(self) -> str | None:
        """Name of the known gamut whose primaries these are (R, G, B in that order), if any."""
        for name, prim in KNOWN_GAMUTS.items():
            if _same_prims((self.red, self.green, self.blue), prim):
                return name
        return None

    def describe(self) -> str:
        """Short human description, e.g. ``P3-D65, 1000 / 0.0001 cd/m^2``."""
        g = self.gamut()
        w = next((k.upper() for k, v in WHITE_POINTS.items() if _close(self.white, v)), None)
        prim = f"{(g or 'custom').upper().replace('BT', 'BT.')}" + (f"-{w}" if w else "")
        return f"{prim}, {self.max_luminance:g} / {self.min_luminance:g} cd/m^2"

    def to_dict(self) -> dict:
        return {
            "red": list(self.red), "green": list(self.green), "blue": list(self.blue), "white": list(self.white),
            "max_luminance": self.max_luminance, "min_luminance": self.min_luminance,
            "x265": self.to_x265(), "description": self.describe(),
        }

    def problems(self) -> list[str]:
        """Everything wrong with these values (empty when they are fine for an output)."""
        return sanitize(self).problems

    def require_valid(self, what: str = "mastering display") -> "MasteringDisplay":
        """Return ``self`` when :meth:`problems` is empty, else raise :class:`MetadataError`."""
        res = sanitize(self)
        if res.problems:
            fix = ""
            if res.value is not None and res.value != self:
                fix = f"; corrected: {res.value.to_x265()}"
            raise MetadataError(f"{what}: " + "; ".join(res.problems) + fix)
        return self


def _close(a, b, tol: float = 0.0015) -> bool:
    return abs(a[0] - b[0]) <= tol and abs(a[1] - b[1]) <= tol


def _same_prims(p, q, tol: float = 0.0015) -> bool:
    return all(_close(a, b, tol) for a, b in zip(p, q))


def _float_hint(vals: dict) -> str:
    try:
        L = [float(x) for x in vals["L"]]
        xy = [float(x) for k in ("G", "B", "R", "WP") for x in vals[k]]
    except (KeyError, ValueError):
        return ""
    if not all(math.isfinite(v) and abs(v) < 1e12 for v in L + xy):  # no hint for absurd values
        return ""
    hints = []
    if all(v <= 1.0 for v in xy):
        hints.append("chromaticities look like plain xy: multiply by 50000")
    if any(v != int(v) for v in L) or L[0] < 50000:
        hints.append(f"luminance L({vals['L'][0]},{vals['L'][1]}) looks like cd/m^2: use "
                     f"L({_units_l(L[0])},{_units_l(L[1])})")
    return (": " + "; ".join(hints)) if hints else ""


#: Named mastering displays (values exactly as the x265 strings in the reference decode).
MDCV_PRESETS: dict[str, MasteringDisplay] = {
    "p3-d65-1000": MasteringDisplay(KNOWN_GAMUTS["p3"][0], KNOWN_GAMUTS["p3"][1], KNOWN_GAMUTS["p3"][2],
                                    WHITE_POINTS["d65"], 1000.0, 0.0001),
    "p3-d65-1000-0.005": MasteringDisplay(KNOWN_GAMUTS["p3"][0], KNOWN_GAMUTS["p3"][1], KNOWN_GAMUTS["p3"][2],
                                          WHITE_POINTS["d65"], 1000.0, 0.005),
    "bt2020-4000": MasteringDisplay(KNOWN_GAMUTS["bt2020"][0], KNOWN_GAMUTS["bt2020"][1], KNOWN_GAMUTS["bt2020"][2],
                                    WHITE_POINTS["d65"], 4000.0, 0.005),
    "bt2020-1000": MasteringDisplay(KNOWN_GAMUTS["bt2020"][0], KNOWN_GAMUTS["bt2020"][1], KNOWN_GAMUTS["bt2020"][2],
                                    WHITE_POINTS["d65"], 1000.0, 0.0001),
}


def parse_master_display(value: str) -> MasteringDisplay:
    """A preset name (:data:`MDCV_PRESETS`) or an x265 string, validated for output use."""
    v = str(value).strip()
    if v.lower().replace("_", "-") in MDCV_PRESETS:
        return MasteringDisplay.preset(v)
    if "(" not in v:
        raise MetadataError(f"unknown mastering display {value!r}: give a preset ({', '.join(MDCV_PRESETS)}) or an "
                            "x265 string G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)")
    return MasteringDisplay.from_x265(v).require_valid("master-display")


@dataclass(frozen=True)
class SanitizedMDCV:
    """Result of :func:`sanitize`: the safe value (or ``None``), and what was wrong.

    ``luminance_valid`` is False when the luminance pair cannot be trusted (a consumer
    should fall back to MaxCLL or a default peak); ``reordered`` is True when the
    primaries were matched to a known gamut in another order.
    """

    value: MasteringDisplay | None
    problems: list[str]
    reordered: bool = False
    luminance_valid: bool = True
    primaries_valid: bool = True


def _triangle_ok(r, g, b) -> bool:
    area = 0.5 * ((g[0] - r[0]) * (b[1] - r[1]) - (b[0] - r[0]) * (g[1] - r[1]))
    return area > 0.01  # counter-clockwise R -> G -> B, not degenerate


def sanitize(md: MasteringDisplay) -> SanitizedMDCV:
    """Check a mastering display the way a careful consumer must (as libplacebo's
    ``pl_map_hdr_metadata`` does: real files carry primaries in R, G, B order, or luminance
    written in cd/m^2 instead of 0.0001 cd/m^2 units).

    - primaries: each x, y within (0, 1) and x + y <= 1; matched against the known gamuts
      in any order: a permutation of a known set is reordered (and reported); an unknown
      set must be a proper R -> G -> B triangle (red has the largest x, green the largest y)
      else the primaries are dropped;
    - white point within (0.25..0.40, 0.25..0.42) (D65 0.3127, 0.3290; DCI 0.314, 0.351);
    - luminance: max >= 5 cd/m^2 (a smaller max is what "1000 cd/m^2" written in
      cd/m^2 instead of 0.0001 units decodes to: reported as such), max <= 10000,
      0 <= min < max, min <= 50 cd/m^2.

    The returned ``value`` has corrected primaries and, when the luminance is invalid,
    ``None`` overall only if nothing usable is left; use ``luminance_valid`` /
    ``primaries_valid`` to know which half to trust.
    """
    problems: list[str] = []
    prims = (md.red, md.green, md.blue)
    reordered = False
    prim_ok = True
    all_xy = list(prims) + [md.white]
    if not all(0.0 < v[0] < 1.0 and 0.0 < v[1] < 1.0 and v[0] + v[1] <= 1.0 for v in all_xy):
        problems.append("chromaticities missing or outside (0, 1)")
        prim_ok = False
    fixed = prims
    if prim_ok:
        match = None
        for name, known in KNOWN_GAMUTS.items():
            for perm in permutations(range(3)):
                cand = tuple(prims[i] for i in perm)
                if _same_prims(cand, known):
                    match = (name, perm, cand)
                    break
            if match:
                break
        if match:
            name, perm, cand = match
            if perm != (0, 1, 2):
                names = ("red", "green", "blue")
                held = {perm[k]: names[k] for k in range(3)}  # slot index -> primary it holds
                desc = ", ".join(f"the {names[j]} slot holds {held[j]}" for j in range(3) if held[j] != names[j])
                hint = ""
                if perm == (1, 2, 0):  # slots G, B, R hold R, G, B: an R,G,B-ordered x265 string
                    hint = " (R,G,B order written where x265 expects G,B,R)"
                problems.append(f"{name.upper().replace('BT', 'BT.')} primaries in the wrong order: {desc}{hint}")
                reordered = True
                fixed = cand
        else:
            order = sorted(range(3), key=lambda i: -prims[i][0])  # largest x first = red
            r = prims[order[0]]
            rest = [prims[i] for i in order[1:]]
            g, b = sorted(rest, key=lambda p: -p[1])  # green has the larger y
            if (r, g, b) != prims:
                problems.append("primaries are not in R, G, B order (red has the largest x, green the largest y)")
                reordered = True
                fixed = (r, g, b)
            if not _triangle_ok(*fixed):
                problems.append("primaries do not form a valid R, G, B triangle")
                prim_ok = False
        w = md.white
        if not (0.25 <= w[0] <= 0.40 and 0.25 <= w[1] <= 0.42):
            problems.append(f"white point ({w[0]:.4f}, {w[1]:.4f}) is implausible (D65 is 0.3127, 0.3290)")
            prim_ok = False
    lum_ok = True
    lmax, lmin = md.max_luminance, md.min_luminance
    if not (math.isfinite(lmax) and math.isfinite(lmin)):
        problems.append("luminance is not finite")
        lum_ok = False
    elif lmax < 5.0:
        if lmax > 0 and 100.0 <= lmax * LUMA_UNIT <= 10000.0:
            problems.append(f"max luminance {lmax:g} cd/m^2 is implausible: it looks like {lmax * LUMA_UNIT:g} "
                            "cd/m^2 written in cd/m^2 where 0.0001 cd/m^2 units are expected")
        else:
            problems.append(f"max luminance {lmax:g} cd/m^2 is below 5 cd/m^2")
        lum_ok = False
    elif lmax > 10000.0:
        problems.append(f"max luminance {lmax:g} cd/m^2 is above the PQ peak of 10000 cd/m^2")
        lum_ok = False
    if lum_ok:
        if lmin < 0 or lmin >= lmax:
            problems.append(f"min luminance {lmin:g} cd/m^2 must be >= 0 and below the max {lmax:g}")
            lum_ok = False
        elif lmin > 50.0:
            problems.append(f"min luminance {lmin:g} cd/m^2 is implausible for a mastering display")
            lum_ok = False
    if prim_ok:
        value: MasteringDisplay | None = replace(md, red=fixed[0], green=fixed[1], blue=fixed[2])
    elif lum_ok:
        value = md  # luminance usable, primaries not: the caller checks primaries_valid
    else:
        value = None
    return SanitizedMDCV(value=value, problems=problems, reordered=reordered, luminance_valid=lum_ok,
                         primaries_valid=prim_ok)
