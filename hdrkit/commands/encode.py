"""``hdrkit encode``: re-encode HDR video to HEVC Main10 with HDR10 / HDR10+ or HLG signalling."""

from __future__ import annotations

# A command's library modules are imported when it runs, so "hdrkit --help" loads none of them.
import sys
from pathlib import Path

from ..errors import require_file
from ..io.atomic import check_output_file, make_output_dir
from ..metadata.st2086 import MDCV_PRESETS
from .outputs import Console, add_json_option, check_json_target, is_folder, single_output


def add_parser(sub):
    p = sub.add_parser(
        "encode", help="HEVC Main10 with correct HDR10 / HDR10+ / HLG signalling (x265)",
        description="Re-encode a PQ (HDR10) or HLG video to 10-bit HEVC with libx265: BT.2020 VUI, mastering "
        "display and content light level in-band and in the container, HDR10+ dynamic metadata on every frame, "
        "audio copied. A PQ input encoded --hlg, or an HLG input encoded --hdr10, is converted through the "
        "1000 cd/m^2 reference display of ITU-R BT.2408 (PQ above 1000 cd/m^2 rolled off with the BT.2390 EETF). "
        "Metadata is validated before x265 runs and the written bitstream is checked afterwards.")
    p.add_argument("input", type=Path, help="input video (PQ or HLG)")
    p.add_argument("-o", "--output", required=True,  # a str: Path() would drop a trailing "/"
                   help="output file (.mp4, .mov, .mkv, .ts or .hevc; its folder must exist), or a folder (ending "
                   "in / or existing, created if missing) to write FOLDER/<input name>.mp4")
    m = p.add_mutually_exclusive_group()
    m.add_argument("--hdr10", action="store_true", help="PQ output with HDR10 static metadata (default for PQ input)")
    m.add_argument("--hlg", action="store_true", help="HLG output, no HDR10 metadata (default for HLG input)")
    p.add_argument("--hdr10plus", metavar="drop|auto|FILE", default=None,
                   help="HDR10+ (ST 2094-40) metadata per frame. Default: the input's own, kept frame by frame "
                   "(same values, display order); 'drop': none; 'auto': generated from an analysis of the input; "
                   "FILE: an HDR10+ JSON file (hdr10plus_tool / x265 dhdr10-info format). auto and FILE imply --hdr10")
    p.add_argument("--hdr10plus-profile", choices=("A", "B"), default="B",
                   help="for --hdr10plus auto: A = statistics only, B = plus a Bezier curve fitted to the hdrkit "
                   "tone curve (default B)")
    p.add_argument("--hdr10plus-target", type=float, default=400.0, metavar="NITS",
                   help="for profile B: targeted display peak in cd/m^2 (default 400)")
    p.add_argument("--hdr10plus-json", type=Path, default=None, metavar="OUT.json",
                   help="also save the HDR10+ JSON that was embedded")
    p.add_argument("--master-display", metavar="PRESET|STRING", default=None,
                   help=f"mastering display: a preset ({', '.join(MDCV_PRESETS)}) or an x265 string "
                   "G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min) (xy in 0.00002, luminance in 0.0001 cd/m^2); default: the "
                   "input's, else p3-d65-1000")
    p.add_argument("--max-cll", metavar="auto|N,N", default=None,
                   help="MaxCLL,MaxFALL in cd/m^2, or 'auto' to measure them (active picture, linear light); "
                   "default: the input's, measured when the input is analysed anyway, else unknown (0,0)")
    p.add_argument("--cll-mode", choices=("site", "raw"), default="site",
                   help="chroma of measured light levels: each pixel's own 4:2:0 site (default) or raw (bilinear)")
    p.add_argument("--crf", type=float, default=18.0, help="x265 constant rate factor (default 18)")
    p.add_argument("--preset", default="medium", help="x265 preset (default medium)")
    p.add_argument("--force", action="store_true", help="allow overwriting the input")
    add_json_option(p, "a summary")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..video.encode import encode_video

    con = Console(args)
    require_file(args.input, "video file")
    dst = single_output(args.output, args.input, ".mp4", force=args.force)
    check_json_target(args, [args.input])
    if args.hdr10plus_json is not None:
        check_output_file(args.hdr10plus_json, inputs=[args.input])
    if is_folder(args.output):
        make_output_dir(args.output)
    res = encode_video(args.input, dst, hdr10=args.hdr10, hlg=args.hlg, hdr10plus=args.hdr10plus,
                       master_display=args.master_display, max_cll=args.max_cll, crf=args.crf, preset=args.preset,
                       hdr10plus_profile=args.hdr10plus_profile, hdr10plus_target=args.hdr10plus_target,
                       keep_json=args.hdr10plus_json, force=args.force, cll_mode=args.cll_mode,
                       progress=not (args.no_progress or con.quiet) and sys.stderr.isatty())
    summary = {
        "output": str(res.output),
        "frames": res.frames,
        "mode": res.mode,
        "conversion": res.conversion,
        "x265_params": res.x265_params,
        "mastering_display": res.mastering_display.to_x265() if res.mastering_display is not None else None,
        "max_cll": res.content_light.to_x265() if res.content_light is not None else None,
        "hdr10plus_frames": len(res.hdr10plus) if res.hdr10plus is not None else 0,
        "hdr10plus_profile": res.hdr10plus.profile if res.hdr10plus is not None else None,
        "hdr10plus_source": res.hdr10plus_source,
        "dropped_metadata": res.dropped_metadata,
        "verified": res.verified,
        "warnings": res.warnings,
    }
    if res.hdr10plus is not None and res.hdr10plus.fits:
        summary["bezier_fit_max_error_pq"] = max(f.max_error_pq for f in res.hdr10plus.fits)
    con.write_json(summary)
    out = con.result
    out(f"wrote {res.output}: {res.frames} frames, {'HDR10' if res.mode == 'hdr10' else 'HLG'}"
          + (f" + HDR10+ profile {summary['hdr10plus_profile']}" if summary["hdr10plus_frames"] else ""))
    if summary["mastering_display"]:
        out(f"  master-display {summary['mastering_display']}")
    if summary["max_cll"]:
        out(f"  max-cll        {summary['max_cll']}")
    if "bezier_fit_max_error_pq" in summary:
        out(f"  Bezier fit     max error {summary['bezier_fit_max_error_pq']:.4f} PQ")
    out(f"  verified       {', '.join(f'{k}={v}' for k, v in res.verified.items())}")
    for w in res.warnings:
        con.warn(w)
    return 0
