"""``hdrkit keyframes``: SDR JPEGs of a video's key frames (or one every N seconds)."""

from __future__ import annotations

from pathlib import Path

from ..errors import require_file
from ..io.atomic import check_output_dir
from ..video.keyframes import DEFAULT_PATTERN, export_keyframes
from .cluster_options import add_chunk_seconds_option, add_cluster_option, check_chunk_seconds
from .common import add_render_options, render_params_from_args
from .outputs import Console, add_json_option, check_json_target
from .still import add_ultrahdr_options, gainmap_options
from .video_options import add_video_input_options, video_input_kwargs


def add_parser(sub):
    p = sub.add_parser(
        "keyframes", help="export a video's key frames as SDR JPEGs (still export rules)",
        description="Decode every key frame (or the first frame of every --every SECONDS) of an HLG / PQ video "
        "to linear light and export it exactly as a still: same tone and gamut mapping, dither, sRGB ICC, EXIF "
        "thumbnail; the XMP records the source file and timestamp.")
    p.add_argument("input", type=Path, metavar="IN")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="output folder (created, with its parents, once the first frame is written)")
    p.add_argument("--every", type=float, default=None, metavar="SECONDS",
                   help="one frame every SECONDS instead of the key frames")
    p.add_argument("--pattern", default=DEFAULT_PATTERN,
                   help=f"file names; fields stem, index, time_ms, pts (default {DEFAULT_PATTERN})")
    p.add_argument("--quality", type=int, default=90, help="JPEG quality 1-100 (default 90)")
    p.add_argument("--subsampling", choices=["auto", "420", "422", "444"], default="auto")
    p.add_argument("--limit", type=int, default=None, help="stop after this many frames")
    add_render_options(p)
    add_video_input_options(p)
    add_ultrahdr_options(p)
    add_cluster_option(p, "one task per chunk of key frames (not with --every)")
    add_chunk_seconds_option(p)
    add_json_option(p, "the list of exports")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    con = Console(args)
    require_file(args.input, "video file")
    check_chunk_seconds(args)
    check_output_dir(args.output)
    check_json_target(args, [args.input])
    done, damage = export_keyframes(args.input, args.output, every=args.every, params=render_params_from_args(args),
                                    quality=args.quality, subsampling=args.subsampling, pattern=args.pattern,
                                    progress=not (args.no_progress or con.quiet), limit=args.limit,
                                    gainmap=gainmap_options(args), cluster=args.cluster,
                                    chunk_seconds=args.chunk_seconds, **video_input_kwargs(args))
    con.write_json([k.to_dict() for k in done])
    con.note(f"{len(done)} frame(s) -> {args.output}")
    if damage:
        con.warn(f"{args.input} decoded only in part ({damage.summary()})")
        return 1
    return 0 if done else 1
