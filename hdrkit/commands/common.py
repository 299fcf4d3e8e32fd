"""Options and helpers shared by the subcommands (no colour maths here)."""

from __future__ import annotations

import sys

from ..core.dither import DEFAULT_DITHER, DITHERS
from ..core.gamut import DEFAULT_GAMUT_MAP, GAMUT_MAPS
from ..core.pipeline import RenderParams
from ..core.tonemap import DEFAULT_CURVE, PRESETS, TONE_CURVES
from ..errors import OptionError
from ..io.progress import terminal_bar as progress

__all__ = ["add_render_options", "curve_params_from_args", "render_params_from_args", "progress"]


def add_render_options(p) -> None:
    """--curve, --preset, --param, --gamut-map, --dither (listed from the registries)."""
    g = p.add_argument_group("rendering (the parameter pack; `hdrkit curves` lists curves and parameters)")
    g.add_argument("--curve", choices=sorted(TONE_CURVES), default=None, help=f"tone curve (default {DEFAULT_CURVE})")
    g.add_argument("--preset", choices=sorted(PRESETS), default=None, help="named look: curve + parameters")
    g.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="curve parameter override, repeatable (e.g. --param knee_offset=1.0)")
    g.add_argument("--gamut-map", choices=sorted(GAMUT_MAPS), default=DEFAULT_GAMUT_MAP,
                   help=f"gamut mapping to sRGB / BT.709 (default {DEFAULT_GAMUT_MAP})")
    g.add_argument("--dither", choices=sorted(DITHERS), default=DEFAULT_DITHER, help=f"quantisation dither (default {DEFAULT_DITHER})")


def curve_params_from_args(args) -> dict[str, float]:
    out = {}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep:
            raise OptionError(f"--param wants NAME=VALUE, got {item!r}")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise OptionError(f"--param {name}: {value!r} is not a number") from None
    return out


def render_params_from_args(args):
    return RenderParams(curve=args.curve, preset=args.preset, curve_params=curve_params_from_args(args),
                        gamut_map=args.gamut_map, dither=args.dither)


def first_run_note() -> None:
    """Say why a command is slow the first time on a machine (on a terminal only)."""
    if sys.stderr.isatty():
        print("hdrkit: first run on this machine: compiling kernels (a few seconds, cached for later runs)",
              file=sys.stderr)
