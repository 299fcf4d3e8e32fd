"""``hdrkit info FILE...``: what a file is, without decoding pixels.

Stills (JPEG): dimensions and sampling, base ICC and its gamut, MPF layout (byte order,
offsets, sizes), GContainer directory, where the gain map is and how it was found, the
gain-map metadata and its source (ISO 21496-1, hdrgm XMP or Apple), and warnings.
Other files go to ``hdrkit.video.info.video_info`` when that module is installed.
Every file is shown; a file that cannot be described gets an error line and the exit
status is 2.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import sys
from pathlib import Path

from ..errors import ContainerError, HdrkitError
from ..still.gainmap import parse_container
from ..still.jpeg import is_jpeg

__all__ = ["add_parser", "run", "describe"]

_MAX_READ = 1 << 30


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "info", help="describe HDR stills and videos (gain map, metadata, layout)",
        description="Describe gain-map JPEGs (Ultra HDR, Adobe, Apple) and, when video support is "
                    "installed, HDR videos: dimensions, colour, container layout, HDR metadata, warnings.")
    p.add_argument("files", nargs="+", metavar="FILE", help="files to describe")
    p.add_argument("--json", action="store_true", help="print JSON (a list when several files are given)")
    p.set_defaults(func=run)


def describe(path) -> dict:
    """A JSON-ready description of one file (raises :class:`HdrkitError` when impossible)."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            head = f.read(3)
    except OSError as e:
        raise ContainerError(f"cannot read it: {e.strerror or e}") from e
    if is_jpeg(head):
        if p.stat().st_size > _MAX_READ:
            raise ContainerError(f"file is over {_MAX_READ} bytes")
        info = parse_container(p.read_bytes()).to_dict()
        return {"file": str(p), "kind": "still", **info}
    if importlib.util.find_spec(f"{__package__.rsplit('.', 1)[0]}.video.info") is None:
        raise ContainerError("not a JPEG, and video inspection is not available")
    video_info = importlib.import_module(f"{__package__.rsplit('.', 1)[0]}.video.info").video_info
    return {"file": str(p), "kind": "video", **video_info(p)}


def _fmt(v) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.6g}"
    if isinstance(v, (list, tuple)) and all(not isinstance(x, (dict, list)) for x in v):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if v is None:
        return "-"
    return str(v)


def _print(d, indent: int = 0, out=None) -> None:
    out = out or sys.stdout
    pad = "  " * indent
    for k, v in d.items():
        if isinstance(v, dict):
            print(f"{pad}{k}:", file=out)
            _print(v, indent + 1, out)
        elif isinstance(v, list) and v and any(isinstance(x, dict) for x in v):
            print(f"{pad}{k}:", file=out)
            for i, x in enumerate(v):
                if isinstance(x, dict):
                    print(f"{pad}  [{i}]", file=out)
                    _print(x, indent + 2, out)
                else:
                    print(f"{pad}  [{i}] {_fmt(x)}", file=out)
        elif isinstance(v, list) and k == "warnings":
            if v:
                print(f"{pad}{k}:", file=out)
                for x in v:
                    print(f"{pad}  - {x}", file=out)
            else:
                print(f"{pad}{k}: none", file=out)
        else:
            print(f"{pad}{k}: {_fmt(v)}", file=out)


def run(args) -> int:
    results = []
    failed = False
    for f in args.files:
        try:
            d = describe(f)
        except HdrkitError as e:
            failed = True
            msg = f"{f}: {e}"
            print(f"hdrkit: error: {msg}", file=sys.stderr)
            results.append({"file": str(f), "error": msg})
            continue
        results.append(d)
        if not args.json:
            print(d["file"])
            _print({k: v for k, v in d.items() if k != "file"}, 1)
    if args.json:
        json.dump(results[0] if len(results) == 1 else results, sys.stdout, indent=2, default=str)
        print()
    return 2 if failed else 0
