"""``hdrkit proxy``: an SDR H.264 proxy of an HDR video (PyAV or FFmpeg engine)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .cluster_options import add_chunk_seconds_option, add_cluster_option, check_chunk_seconds
from .common import add_render_options, render_params_from_args
from .outputs import Console, add_json_option, check_json_target, is_folder, single_output
from .video_options import add_video_input_options, first_run_warm_up, video_input_kwargs


def add_parser(sub):
    p = sub.add_parser(
        "proxy", help="make an SDR H.264 proxy of an HLG / PQ video", usage="%(prog)s IN -o OUT [options]",
        description="Decode an HLG or PQ video, tone map every frame with hdrkit's colour core (peak detection "
        "with temporal smoothing and scene cuts), and encode H.264 yuv420p tagged BT.709 with no HDR side "
        "data; audio, timestamps, duration, creation time and rotation are kept. Exit status 1 means the "
        "input decoded only in part: the proxy holds what decoded.")
    p.add_argument("input", type=Path, metavar="IN")
    p.add_argument("-o", "--output", metavar="OUT", dest="output_opt",  # a str: Path() drops a trailing "/"
                   help="output .mp4 / .mov / .mkv (required; its folder must exist), or a folder (ending in / or "
                   "existing, created if missing) to write FOLDER/<input name>.mp4")
    p.add_argument("output", metavar="OUT", nargs="?", help=argparse.SUPPRESS)
    p.add_argument("--engine", choices=("pyav", "ffmpeg"), default="pyav",
                   help="pyav: per-frame smoothed peak (default); ffmpeg: one FFmpeg command with a static 3D LUT")
    p.add_argument("--mode", choices=("lut", "exact"), default="lut",
                   help="pyav engine: lut = 3D LUT baked from the core per peak (fast, default); exact = the core "
                   "on every pixel")
    p.add_argument("--lut-size", type=int, default=None, help="3D LUT size (default 33 pyav, 65 ffmpeg)")
    p.add_argument("--peak", type=float, default=None, metavar="NITS",
                   help="fixed source peak in cd/m^2 instead of peak detection (ffmpeg engine default: MaxCLL or "
                   "1000)")
    p.add_argument("--crf", type=float, default=20, help="libx264 CRF (default 20)")
    p.add_argument("--x264-preset", default="medium", help="libx264 preset (default medium)")
    add_render_options(p)
    add_video_input_options(p)
    p.add_argument("--force", action="store_true", help="allow writing over the input")
    add_json_option(p, "a report")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_cluster_option(p, "the pyav engine in chunks split at key frames")
    add_chunk_seconds_option(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..errors import OptionError, require_file
    from ..io.atomic import make_output_dir
    from ..video.proxy import make_proxy

    con = Console(args)
    if (args.output_opt is None) == (args.output is None):
        raise OptionError("give the output once, as -o OUT")
    out = args.output_opt or args.output
    require_file(args.input, "video file")
    check_chunk_seconds(args)
    dst = single_output(out, args.input, ".mp4", force=args.force)
    check_json_target(args, [args.input])
    if args.engine == "pyav" and args.mode == "lut" and args.cluster is None:
        first_run_warm_up(args.input, video_input_kwargs(args))
    if is_folder(out):
        make_output_dir(out)
    res = make_proxy(args.input, dst, engine=args.engine, params=render_params_from_args(args),
                     crf=args.crf, x264_preset=args.x264_preset, mode=args.mode, lut_size=args.lut_size,
                     peak_nits=args.peak, force=args.force, progress=not (args.no_progress or con.quiet),
                     cluster=args.cluster, chunk_seconds=args.chunk_seconds, **video_input_kwargs(args))
    con.write_json(res.to_dict())
    con.note(f"{res.dst}: {res.frames_out} frames {res.width}x{res.height}, {res.fps:.1f} fps "
             f"({res.engine}/{res.mode})")
    if not res.complete:
        con.warn(f"{args.input} decoded only in part ({res.damage.summary()}); the proxy holds the "
                 f"{res.frames_out} frames that decoded")
        return 1
    return 0
