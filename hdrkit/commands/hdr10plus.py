"""``hdrkit hdr10plus``: extract / inject / remove / plot HDR10+ metadata of HEVC streams."""

from __future__ import annotations

# A command's library modules are imported when it runs, so "hdrkit --help" loads none of them.
import sys
from pathlib import Path

import numpy as np

from ..errors import ContainerError
from ..io.atomic import save_png
from ..metadata.hdr10plus import read_json

HELP_EXTRACT = ("write every frame's HDR10+ metadata (display order) as hdr10plus_tool JSON; frames without an "
                "SEI (x265 --dhdr10-opt) take the previous one in decode order")


def add_parser(sub):
    p = sub.add_parser(
        "hdr10plus", help="extract, inject, remove or plot HDR10+ (ST 2094-40) metadata without re-encoding",
        description="HDR10+ dynamic metadata in HEVC streams - raw Annex B .hevc and MP4 / MOV / MKV / TS - "
        "read and written in the bitstream: slices are copied byte for byte, container streams and "
        "timestamps kept. The JSON is the format hdr10plus_tool writes and x265 --dhdr10-info reads.")
    sp = p.add_subparsers(dest="hdr10plus_command", metavar="ACTION")

    def action(name, func, help, description, output_help, metavar="IN"):
        a = sp.add_parser(name, help=help, description=description)
        a.add_argument("input", type=Path, metavar=metavar)
        a.add_argument("-o", "--output", type=Path, required=True, help=output_help)
        a.set_defaults(func=func)
        return a

    e = action("extract", run_extract, HELP_EXTRACT, HELP_EXTRACT + ". Scenes are split where the metadata "
               "changes, as hdr10plus_tool splits them. Metadata that fails hdr10plus_tool's validation is "
               "written as read, with a warning.", "JSON file to write ('-' = stdout)")
    e.add_argument("--strict", action="store_true", help="refuse metadata that fails validation (exit 2)")
    same = "output, same kind of file as IN"
    i = action("inject", run_inject, "put one HDR10+ SEI per frame from a JSON file (replacing any)",
               "Insert one HDR10+ prefix SEI in every access unit, entry i of SceneInfo on the i-th frame shown; "
               "existing HDR10+ messages are replaced, other SEI messages kept. The frame count must equal the "
               "number of SceneInfo entries.", same)
    i.add_argument("--json", type=Path, required=True, metavar="META.json", help="HDR10+ JSON (validated)")
    action("remove", run_remove, "drop every HDR10+ SEI message, keep the rest", "Remove HDR10+ SEI messages; "
           "an SEI NAL unit that also holds other messages keeps them.", same)
    g = action("plot", run_plot, "PNG of MaxSCL, average and percentiles per frame with scene cuts",
               "Plot per frame the brightest MaxSCL component, the average maxRGB and the maxRGB percentiles "
               "(cd/m^2, log scale), with a line at every scene cut. IN is a video or an HDR10+ JSON file.",
               "PNG file", metavar="IN|META.json")
    g.add_argument("--title", default=None, help="plot title (default: the input's name)")

    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])
    return p


def _summary(md) -> str:
    first, _ = md.scene_summary()
    return f"{len(md.frames)} frame(s), {len(first)} scene(s), profile {md.profile_label or md.profile}"


def run_extract(args) -> int:
    from ..metadata.hdr10plus_stream import check_output, extract_hdr10plus

    if str(args.output) != "-":
        check_output(args.input, args.output)
    md = extract_hdr10plus(args.input, strict=args.strict)
    if str(args.output) == "-":
        print(md.to_json())
    else:
        md.write_json(args.output, validate=False)
    print(f"hdrkit: {_summary(md)} -> {args.output}", file=sys.stderr)
    return 0


def run_inject(args) -> int:
    from ..metadata.hdr10plus_stream import inject_hdr10plus

    res = inject_hdr10plus(args.input, args.json, args.output)
    print(f"hdrkit: {res.inserted} HDR10+ SEI inserted ({res.removed} replaced) -> {res.path}", file=sys.stderr)
    return 0


def run_remove(args) -> int:
    from ..metadata.hdr10plus_stream import remove_hdr10plus

    res = remove_hdr10plus(args.input, args.output)
    print(f"hdrkit: {res.removed} HDR10+ SEI message(s) removed from {res.access_units} frame(s) -> {res.path}",
          file=sys.stderr)
    return 0


def _load(path: Path):
    from ..metadata.hdr10plus_stream import extract_hdr10plus

    try:
        with open(path, "rb") as f:
            head = f.read(64).lstrip()
    except FileNotFoundError:
        raise ContainerError(f"input not found: {path}") from None
    if path.suffix.lower() == ".json" or head[:1] == b"{":
        return read_json(path, strict=False)
    return extract_hdr10plus(path)


def plot_hdr10plus(md, dst, title: str | None = None):
    """Per-frame MaxSCL (brightest component), average maxRGB and percentiles, scene cuts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(md.frames)
    x = np.arange(n)
    fig, ax = plt.subplots(figsize=(12, 5), constrained_layout=True)
    maxscl = np.array([max(f.maxscl) / 10.0 for f in md.frames])
    avg = np.array([f.average_maxrgb / 10.0 for f in md.frames])
    pcts = sorted({p for f in md.frames for p in f.distribution_index if p >= 50}, reverse=True)[:4]
    for k, p in enumerate(pcts):
        vals = np.array([dict(zip(f.distribution_index, f.distribution_values)).get(p, np.nan) / 10.0
                         for f in md.frames])
        ax.plot(x, np.maximum(vals, 0.01), lw=0.9, alpha=0.8, label=f"{p}th percentile maxRGB",
                color=plt.cm.viridis(0.2 + 0.2 * k))
    ax.plot(x, np.maximum(maxscl, 0.01), lw=1.4, color="tab:red", label="MaxSCL (max of R, G, B)")
    ax.plot(x, np.maximum(avg, 0.01), lw=1.4, color="tab:blue", label="average maxRGB")
    first, _ = md.scene_summary()
    for c in first[1:]:
        ax.axvline(c - 0.5, color="0.6", lw=0.6, ls="--")
    ax.set_yscale("log")
    ax.set_xlim(-0.5, max(n - 0.5, 0.5))
    ax.set_xlabel(f"frame (display order; {len(first)} scene(s), dashed lines = scene cuts)")
    ax.set_ylabel("cd/m^2")
    ax.set_title(title or "HDR10+ metadata")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(loc="upper right", fontsize=8)
    return save_png(fig, dst)


def run_plot(args) -> int:
    from ..metadata.hdr10plus_stream import check_output

    check_output(args.input, args.output)
    md = _load(args.input)
    out = plot_hdr10plus(md, args.output, args.title or args.input.name)
    print(f"hdrkit: {_summary(md)} -> {out}", file=sys.stderr)
    return 0
