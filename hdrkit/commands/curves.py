"""``hdrkit curves``: list the registered tone curves, gamut maps and dithers; plot the curves."""

from __future__ import annotations

from pathlib import Path

from ..core.dither import DITHERS
from ..core.gamut import GAMUT_MAPS
from ..core.tonemap import DEFAULT_CURVE, PRESETS, TONE_CURVES
from ..io.atomic import check_output_file
from .outputs import Console, add_json_option, check_json_target
from ..io.plots import plot_curves  # noqa: F401 - also this module's name for it


def add_parser(sub):
    p = sub.add_parser("curves", help="list tone curves, presets, gamut maps and dithers; plot the curves",
                       description="Show every registered tone curve with its parameters (default, range, meaning), "
                       "the presets, gamut maps and dithers. --plot writes a PNG of all curves for a source peak.")
    add_json_option(p, "the registry")
    p.add_argument("--plot", type=Path, default=None, metavar="PNG", help="write a plot of every curve (and preset)")
    p.add_argument("--peak", type=float, default=1000 / 203, help="source peak for the plot, relative (default 4.93 = 1000 nits)")
    p.set_defaults(func=run)
    return p


def registry() -> dict:
    return {
        "default_curve": DEFAULT_CURVE,
        "curves": {c.name: {"description": c.description, "version": c.version, "c1": c.c1, "reference": c.reference,
                            "params": {p.name: {"default": p.default, "range": [p.lo, p.hi], "description": p.description}
                                       for p in c.params}} for c in TONE_CURVES.values()},
        "presets": {k: {"curve": c, "params": p} for k, (c, p) in PRESETS.items()},
        "gamut_maps": {g.name: {"description": g.description, "version": g.version,
                                "params": {p.name: {"default": p.default, "range": [p.lo, p.hi]} for p in g.params}}
                       for g in GAMUT_MAPS.values()},
        "dithers": {d.name: d.description for d in DITHERS.values()},
    }


def run(args) -> int:
    con = Console(args)
    check_json_target(args)
    if args.plot:
        check_output_file(args.plot)
    reg = registry()
    con.write_json(reg)
    if not con.json_stdout and not con.quiet:
        print(f"tone curves (default {reg['default_curve']}):")
        for n, c in reg["curves"].items():
            print(f"  {n:10s} v{c['version']}  {c['description']}")
            for pn, pv in c["params"].items():
                print(f"      {pn} = {pv['default']:g}  [{pv['range'][0]:g}, {pv['range'][1]:g}]  {pv['description']}")
        print("presets:")
        for n, pr in reg["presets"].items():
            print(f"  {n:10s} {pr['curve']} " + " ".join(f"{k}={v:g}" for k, v in pr["params"].items()))
        print("gamut maps:")
        for n, g in reg["gamut_maps"].items():
            print(f"  {n:10s} {g['description']}")
        print("dithers:")
        for n, d in reg["dithers"].items():
            print(f"  {n:10s} {d}")
    if args.plot:
        plot_curves(args.plot, args.peak)
        con.result(f"wrote {args.plot}")
    return 0
