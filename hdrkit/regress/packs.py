"""Versioned parameter packs: everything that decides an export, as data.

A pack is a JSON file in ``hdrkit/data/packs/<name>.json`` (or any path) holding the
render parameters (curve, its parameters, preset, target headroom, gamut map and its
parameters, dither) and the JPEG settings (subsampling, quality), plus a description and
the name of the pack it replaced (``previous``), so a change can be compared with, and
rolled back to, the pack before it. The tags a pack writes into exports (``tonemap_v``,
``gamut_v``, ``dither``, ``subsampling``, ``q``) come from
:meth:`hdrkit.core.pipeline.RenderParams.tags`, the same strings the export's XMP carries.

Format::

    {"pack": "v1", "pack_version": 1, "description": "...", "previous": "v0",
     "render": {"curve": "bt2390", "curve_params": {...}, "preset": null, "target_headroom": 1.0,
                "gamut_map": "perceptual", "gamut_params": {...}, "dither": "blue64"},
     "jpeg": {"subsampling": "auto", "quality": 90}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from ..core.pipeline import RenderParams
from ..errors import HdrkitError, OptionError

__all__ = ["ParameterPack", "CURRENT_PACK", "PACK_FORMAT_VERSION", "list_packs", "load_pack", "pack_from_dict"]

#: The pack ``hdrkit regress`` uses unless told otherwise.
CURRENT_PACK = "v2"
PACK_FORMAT_VERSION = 1
_SUBSAMPLING = ("auto", "420", "422", "444")


@dataclass(frozen=True)
class ParameterPack:
    """A named, versioned parameter set: :class:`RenderParams` plus the JPEG settings."""

    name: str
    params: RenderParams
    subsampling: str = "auto"
    quality: int = 90
    description: str = ""
    previous: str | None = None
    overrides: dict = field(default_factory=dict)

    def tags(self) -> dict[str, str]:
        """The version strings an export made with this pack records (``subsampling`` as asked)."""
        return {**self.params.tags(), "subsampling": self.subsampling, "q": str(self.quality)}

    def to_dict(self) -> dict:
        p = self.params
        return {
            "pack": self.name, "pack_version": PACK_FORMAT_VERSION, "description": self.description,
            "previous": self.previous,
            "render": {"curve": p.tone()[0].name, "curve_params": dict(p.tone()[1]), "preset": p.preset,
                       "target_headroom": p.target_headroom, "gamut_map": p.gamut_map,
                       "gamut_params": dict(p.gamut_params), "dither": p.dither,
                       "white_anchor": p.white_anchor, "shoulder_end_slope": p.shoulder_end_slope},
            "jpeg": {"subsampling": self.subsampling, "quality": self.quality},
            **({"overrides": self.overrides} if self.overrides else {}),
        }

    def with_overrides(self, *, curve: str | None = None, curve_params: dict | None = None, preset: str | None = None,
                       gamut_map: str | None = None, dither: str | None = None, quality: int | None = None,
                       subsampling: str | None = None) -> "ParameterPack":
        """A copy with some settings replaced; its name gets a ``+`` suffix and the changes are recorded.

        A new ``curve`` (or ``preset``) starts from that curve's defaults; ``curve_params``
        are merged over the pack's (same curve) or the new curve's defaults.
        """
        ov = {k: v for k, v in dict(curve=curve, curve_params=curve_params or None, preset=preset,
                                     gamut_map=gamut_map, dither=dither, quality=quality,
                                     subsampling=subsampling).items() if v is not None}
        if not ov:
            return self
        p = self.params
        if preset is not None:
            c, pr, cp = curve, preset, dict(curve_params or {})
        elif curve is not None and curve != p.tone()[0].name:
            c, pr, cp = curve, None, dict(curve_params or {})
        else:
            c, pr, cp = p.curve, p.preset, {**p.curve_params, **(curve_params or {})}
        new_gamut = gamut_map or p.gamut_map
        new_params = RenderParams(curve=c, curve_params=cp, preset=pr, target_headroom=p.target_headroom,
                                  gamut_map=new_gamut,
                                  gamut_params=dict(p.gamut_params) if new_gamut == p.gamut_map else {},
                                  dither=dither or p.dither, white_anchor=p.white_anchor,
                                  shoulder_end_slope=p.shoulder_end_slope)
        if subsampling is not None and subsampling not in _SUBSAMPLING:
            raise OptionError(f"subsampling must be one of {', '.join(_SUBSAMPLING)}, not {subsampling!r}")
        if quality is not None and not 1 <= int(quality) <= 100:
            raise OptionError(f"quality must be 1-100, not {quality}")
        return replace(self, name=f"{self.name}+", params=new_params,
                       subsampling=subsampling or self.subsampling,
                       quality=int(quality) if quality is not None else self.quality,
                       overrides={**self.overrides, **ov})


def pack_from_dict(d: dict, where: str = "pack") -> ParameterPack:
    """Build and validate a pack from its JSON form (names and ranges checked by the core)."""
    try:
        r = d["render"]
        j = d.get("jpeg", {})
        params = RenderParams(curve=r.get("curve"), curve_params=dict(r.get("curve_params") or {}),
                              preset=r.get("preset"), target_headroom=float(r.get("target_headroom", 1.0)),
                              gamut_map=r.get("gamut_map", "perceptual"),
                              gamut_params=dict(r.get("gamut_params") or {}), dither=r.get("dither", "blue64"),
                              # packs before v2 rendered the curve as is at the frame peak
                              white_anchor=bool(r.get("white_anchor", False)),
                              shoulder_end_slope=float(r.get("shoulder_end_slope", 0.0)))
        sub = str(j.get("subsampling", "auto"))
        q = int(j.get("quality", 90))
        name = str(d["pack"])
    except HdrkitError as e:
        raise OptionError(f"{where}: {e}") from None
    except (KeyError, TypeError, ValueError) as e:
        raise OptionError(f"{where}: malformed parameter pack ({type(e).__name__}: {e})") from None
    if sub not in _SUBSAMPLING:
        raise OptionError(f"{where}: subsampling must be one of {', '.join(_SUBSAMPLING)}, not {sub!r}")
    if not 1 <= q <= 100:
        raise OptionError(f"{where}: quality must be 1-100, not {q}")
    return ParameterPack(name, params, sub, q, str(d.get("description", "")), d.get("previous"))


def _pack_dir():
    return resources.files("hdrkit.data").joinpath("packs")


def list_packs() -> list[str]:
    """Names of the packs shipped in ``hdrkit/data/packs``, sorted."""
    d = _pack_dir()
    return sorted(p.name[:-5] for p in d.iterdir() if p.name.endswith(".json")) if d.is_dir() else []


def load_pack(name_or_path: str | Path) -> ParameterPack:
    """A shipped pack by name (``v1``) or a pack JSON file by path."""
    s = str(name_or_path)
    if s.endswith(".json") or "/" in s or Path(s).is_file():
        p = Path(s)
        try:
            text = p.read_text()
        except OSError as e:
            raise OptionError(f"cannot read parameter pack {p}: {e.strerror or e}") from None
        where = str(p)
    else:
        f = _pack_dir().joinpath(f"{s}.json")
        if not f.is_file():
            raise OptionError(f"unknown parameter pack {s!r}; shipped packs: {', '.join(list_packs()) or 'none'}")
        text = f.read_text()
        where = f"pack {s}"
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise OptionError(f"{where}: not valid JSON ({e.msg} at line {e.lineno})") from None
    return pack_from_dict(d, where)
