"""``hdrkit still``: export Ultra HDR / gain-map JPEGs (and plain images) as SDR JPEGs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import HdrkitError, OptionError
from ..io.atomic import atomic_write_bytes
from .common import add_render_options, first_run_note, progress, render_params_from_args

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff"}


def add_parser(sub):
    p = sub.add_parser(
        "still", help="export HDR stills (Ultra HDR / gain-map JPEG) as SDR JPEGs",
        description="Rebuild linear HDR from gain-map JPEGs (or read plain JPEG / 16-bit PNG / TIFF), tone map, "
        "gamut map to sRGB, dither and write SDR JPEGs with an sRGB ICC profile, EXIF (with a thumbnail made "
        "by the same pipeline) and hdrkit XMP. Many inputs run in one process; a bad file is reported and "
        "the others go on.")
    p.add_argument("inputs", nargs="+", type=Path, metavar="IN", help="input files or folders")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="output file (one input) or folder (created if missing; OUT/<name>.jpg)")
    add_render_options(p)
    p.add_argument("--display-boost", "--headroom", dest="display_boost", type=float, default=None, metavar="X",
                   help="rebuild the gain map as a display with this peak (relative to SDR white) would show it "
                   "(1.0 = the SDR base; default: full HDR); --headroom is its former name")
    p.add_argument("-q", "--quality", type=int, default=90, help="JPEG quality 1-100 (default 90)")
    p.add_argument("--subsampling", choices=["auto", "420", "422", "444"], default="auto",
                   help="chroma subsampling; auto = 4:4:4 for detailed or saturated pictures, else 4:2:0")
    p.add_argument("--progressive", action="store_true", help="write a progressive JPEG")
    p.add_argument("--no-fallback", action="store_true", help="fail instead of exporting the SDR base when the gain map is unusable")
    p.add_argument("--skip-existing", action="store_true", help="skip inputs whose output already exists (resume a batch)")
    p.add_argument("--force", action="store_true", help="allow writing over an input file")
    p.add_argument("--max-pixels", type=float, default=None, metavar="MP",
                   help="refuse images (base or gain map) larger than this many megapixels, checked before "
                   "decoding (default 100)")
    p.add_argument("--json", type=Path, default=None, help="write a JSON report of every export to this file ('-' = stdout)")
    p.set_defaults(func=run)
    return p


def _expand(inputs: list[Path]) -> list[Path]:
    out = []
    for i in inputs:
        if i.is_dir():
            out += sorted(f for f in i.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
        else:
            out.append(i)
    return out


def _warm_up(files: list[Path]) -> None:
    """First run on this machine: compile the kernels on two cores (see :mod:`hdrkit.io.warmup`)."""
    from ..io.warmup import still_cold, warm_still

    first = next((f for f in files if f.is_file()), None)
    if first is None or not still_cold():  # no readable input: the export reports it at once
        return
    first_run_note()
    warm_still(first)


def run(args) -> int:
    from ..still.export import export_sdr

    files = _expand(args.inputs)
    if not files:
        raise OptionError("no input images found")
    if args.max_pixels is not None and not args.max_pixels > 0:
        raise OptionError("--max-pixels must be a positive number of megapixels")
    many = len(files) > 1 or args.output.is_dir() or str(args.output).endswith("/")
    if many:
        args.output.mkdir(parents=True, exist_ok=True)
    params = render_params_from_args(args)
    _warm_up(files)
    report, failed = [], []
    for src in progress(files, desc="stills", unit="img", disable=len(files) < 3):
        dst = args.output / (src.stem + ".jpg") if many else args.output
        dst.parent.mkdir(parents=True, exist_ok=True)
        if args.skip_existing and dst.exists():
            report.append({"src": str(src), "dst": str(dst), "skipped": True})
            continue
        try:
            r = export_sdr(src, dst, params=params, display_boost=args.display_boost, quality=args.quality,
                           subsampling=args.subsampling, progressive=args.progressive, force=args.force,
                           fallback=not args.no_fallback,
                           max_pixels=None if args.max_pixels is None else int(args.max_pixels * 1e6))
        except (HdrkitError, OSError) as e:
            msg = str(e) if isinstance(e, HdrkitError) else f"{type(e).__name__}: {e.strerror or e}"
            failed.append((src, msg))
            report.append({"src": str(src), "error": msg})
            where = "" if msg.startswith(str(src)) else f"{src}: "
            print(f"hdrkit: {where}error: {msg}", file=sys.stderr)
            continue
        report.append({"src": str(src), **r.to_dict()})
        for w in r.warnings:
            print(f"hdrkit: {src}: warning: {w}", file=sys.stderr)
        if not many:
            print(f"{src} -> {dst}  {r.width}x{r.height}  q{r.quality} {r.subsampling}  peak {r.src_peak:.2f}  "
                  f"{r.size_bytes / 1e6:.2f} MB  {r.seconds * 1000:.0f} ms")
    if args.json:
        text = json.dumps(report, indent=2)
        print(text) if str(args.json) == "-" else atomic_write_bytes(args.json, text.encode())
    if many:
        ok = len(files) - len(failed)
        print(f"{ok} of {len(files)} exported to {args.output}" + (f"; {len(failed)} failed:" if failed else ""))
        for src, msg in failed:
            print(f"  {msg}" if msg.startswith(str(src)) else f"  {src}: {msg}")
    return 2 if failed else 0


