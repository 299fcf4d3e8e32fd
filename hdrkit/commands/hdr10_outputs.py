"""HDR10 / HDR10+ outputs of ``hdrkit analyze``: options and what to do with an analysis.

``hdrkit analyze`` calls :func:`add_analyze_options` on its parser and, after analysing a
clip on every pixel, :func:`apply_analyze_outputs` with the parsed arguments, the
:class:`ClipAnalysis` (``.frames`` FrameStats, ``.cuts``, ``.smoothed``) and its render
parameters:

- ``--hdr10``: print MaxCLL / MaxFALL (measured on the active picture in linear light)
  and the x265 parameter string to paste (``hdr10=1:...:master-display=...:max-cll=...``);
- ``--hdr10plus OUT.json``: generate per-frame HDR10+ metadata, validate it with
  hdr10plus_tool's rules, write it atomically, and print the x265 parameters that embed it
  (``dhdr10-info=OUT.json``).
"""

from __future__ import annotations

# A command's library modules are imported when it runs, so "hdrkit --help" loads none of them.
import sys
from pathlib import Path

from ..metadata.cll import measure_cll
from ..metadata.hdr10plus import hdr10plus_from_analysis
from ..metadata.st2086 import MDCV_PRESETS, parse_master_display

__all__ = ["add_analyze_options", "apply_analyze_outputs", "x265_param_string"]


def add_analyze_options(parser) -> None:
    """Add ``--hdr10``, ``--hdr10plus OUT.json`` and their settings to ``hdrkit analyze``."""
    g = parser.add_argument_group("HDR10 / HDR10+ metadata")
    g.add_argument("--hdr10", action="store_true",
                   help="print MaxCLL / MaxFALL and the x265 parameters for HDR10 (mastering display, max-cll)")
    g.add_argument("--hdr10plus", type=Path, default=None, metavar="OUT.json",
                   help="write per-frame HDR10+ metadata as JSON (x265 dhdr10-info / hdr10plus_tool format)")
    g.add_argument("--hdr10plus-profile", choices=("A", "B"), default="B",
                   help="A = statistics only; B = plus a Bezier curve fitted to the hdrkit tone curve (default B)")
    g.add_argument("--hdr10plus-target", type=float, default=400.0, metavar="NITS",
                   help="profile B targeted display peak in cd/m^2 (default 400)")
    g.add_argument("--master-display", default="p3-d65-1000", metavar="PRESET|STRING",
                   help=f"mastering display for the printed x265 parameters: {', '.join(MDCV_PRESETS)} or an x265 "
                   "string (default p3-d65-1000)")


def x265_param_string(mastering, cll, hdr10plus_json=None, full_range: bool = False) -> str:
    """The ``-x265-params`` value for an HDR10 (+HDR10+) encode of PQ BT.2020 input."""
    from ..video.encode import x265_params

    return x265_params("hdr10", full_range=full_range, mastering=mastering, cll=cll, hdr10plus_json=hdr10plus_json)


def apply_analyze_outputs(args, analysis, out=None, params=None) -> dict:
    """Act on ``--hdr10`` / ``--hdr10plus`` after an analysis; returns what was produced.

    ``params``: the :class:`hdrkit.core.pipeline.RenderParams` the analysis used (its curve
    is what the profile-B Bezier is fitted to; default curve when None). Prints to ``out``
    (default stdout). Raises MetadataError / OptionError for bad metadata options before
    anything is written.
    """
    out = out or sys.stdout
    want_hdr10 = bool(getattr(args, "hdr10", False))
    json_path = getattr(args, "hdr10plus", None)
    result: dict = {}
    if not want_hdr10 and json_path is None:
        return result
    md = parse_master_display(getattr(args, "master_display", None) or "p3-d65-1000")
    cll = measure_cll(analysis.frames)
    result["max_cll"] = cll
    result["mastering_display"] = md
    written = None
    if json_path is not None:
        meta = hdr10plus_from_analysis(analysis, profile=getattr(args, "hdr10plus_profile", "B"),
                                       target_nits=getattr(args, "hdr10plus_target", 400.0),
                                       params=params, mastering=md)
        written = meta.write_json(json_path)
        result["hdr10plus"] = meta
        result["hdr10plus_json"] = written
        msg = f"HDR10+: {len(meta)} frames, profile {meta.profile}, {len(set(f.scene_id for f in meta.frames))} scenes"
        if meta.fits:
            msg += f", Bezier fit max error {max(f.max_error_pq for f in meta.fits):.4f} PQ"
        print(f"{msg} -> {written}", file=out)
    print(f"MaxCLL {cll.max_cll} cd/m^2, MaxFALL {cll.max_fall} cd/m^2 (active picture, linear light)", file=out)
    if cll.max_cll > md.max_luminance:
        print(f"note: MaxCLL exceeds the mastering display peak ({md.max_luminance:g} cd/m^2)", file=out)
    params = x265_param_string(md, cll, written)
    result["x265_params"] = params
    print(f"x265 parameters: -x265-params \"{params}\"", file=out)
    return result
