"""``hdrkit info FILE...``: what a file is, without decoding pixels.

Stills (JPEG): dimensions and sampling, base ICC and its gamut, MPF layout (byte order,
offsets, sizes), GContainer directory, where the gain map is and how it was found, the
gain-map metadata and its source (ISO 21496-1, hdrgm XMP or Apple), and warnings.
Other files go to ``hdrkit.video.info.video_info`` when that module is installed.
Every file is shown; a file that cannot be described gets an error line and the exit
status is 2.
"""

from __future__ import annotations

# A command's library modules are imported when it runs, so "hdrkit --help" loads none of them.
import importlib
import importlib.util
import math
import sys

from ..errors import ContainerError, HdrkitError, InputFileError, MetadataError, require_file
from ..still.gainmap import parse_container
from .outputs import Console, add_json_option, check_json_target

__all__ = ["add_parser", "run", "describe"]

_MAX_READ = 1 << 30


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "info", help="describe HDR stills and videos (gain map, metadata, layout)",
        description="Describe gain-map JPEGs (Ultra HDR, Adobe, Apple) and, when video support is "
                    "installed, HDR videos: dimensions, colour, container layout, HDR metadata, warnings.")
    p.add_argument("files", nargs="+", metavar="FILE", help="files to describe")
    add_json_option(p, "the descriptions (a list when several files are given)")
    p.set_defaults(func=run)


def describe(path) -> dict:
    """A JSON-ready description of one file (raises :class:`HdrkitError` when impossible).

    The kind comes from the content, never the name: ``still`` (JPEG, with or without a
    gain map), ``image`` (PNG, TIFF, AVIF, HEIF, WebP...), ``video``, ``hdr10plus-json``.
    """
    from ..video.info import file_kind

    p = require_file(path)
    try:
        with open(p, "rb") as f:
            head = f.read(512)
    except OSError as e:
        raise InputFileError(f"cannot read it: {(e.strerror or str(e)).lower()}", path=p) from e
    kind = file_kind(head)
    if kind == "jpeg":
        if p.stat().st_size > _MAX_READ:
            raise ContainerError(f"file is over {_MAX_READ} bytes", path=p)
        info = parse_container(p.read_bytes()).to_dict()
        return {"file": str(p), "kind": "still", **info}
    if kind in ("text", "unknown"):
        what = "a text file" if kind == "text" else "an unknown kind of file"
        raise ContainerError(f"{what}, not a picture, a video or HDR10+ JSON", path=p)
    if importlib.util.find_spec(f"{__package__.rsplit('.', 1)[0]}.video.info") is None:
        raise ContainerError("not a JPEG, and video inspection is not available", path=p)
    vi = importlib.import_module(f"{__package__.rsplit('.', 1)[0]}.video.info")
    if kind == "json":
        try:
            return {"file": str(p), "kind": "hdr10plus-json", **vi.hdr10plus_json_info(p)}
        except HdrkitError as e:
            why = str(e).removeprefix(f"{p.name}: ")
            raise MetadataError(f"JSON, but not HDR10+ metadata: {why}", path=p) from None
    if kind == "image":
        return {"file": str(p), "kind": "image", **vi.image_info(p)}
    return {"file": str(p), "kind": "video", **vi.video_info(p)}


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
    con = Console(args)
    check_json_target(args, args.files)
    results = []
    failed = False
    for f in args.files:
        try:
            d = describe(f)
        except HdrkitError as e:
            failed = True
            msg = str(e) if getattr(e, "path", None) or str(e).startswith(str(f)) else f"{f}: {e}"
            con.error(msg)
            results.append({"file": str(f), "error": msg})
            continue
        results.append(d)
        if args.json is None or not con.json_stdout:
            if not con.quiet:
                print(d["file"], file=con.stream)
                _print({k: v for k, v in d.items() if k != "file"}, 1, out=con.stream)
    con.write_json(results[0] if len(results) == 1 else results)
    return 2 if failed else 0
