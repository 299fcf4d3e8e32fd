"""``hdrkit analyze``: per-frame light statistics, smoothed peaks, scene cuts and flicker of a video.

The HDR10 / HDR10+ outputs (``--hdr10``, ``--hdr10plus OUT.json``) come from
:mod:`hdrkit.commands.hdr10_outputs`.
"""

from __future__ import annotations

# A command's library modules are imported when it runs, so "hdrkit --help" loads none of them.
from pathlib import Path

from ..errors import OptionError, require_file
from ..io.atomic import check_output_file
from ..video.reader import VideoReader
from .hdr10_outputs import add_analyze_options, apply_analyze_outputs
from .common import add_render_options, render_params_from_args
from .outputs import Console, add_json_option, check_json_target
from .video_options import add_video_input_options, first_run_warm_up, video_input_kwargs


def add_parser(sub):
    p = sub.add_parser(
        "analyze", help="per-frame statistics, scene cuts, smoothed peaks and flicker of an HDR video",
        description="Decode an HLG / PQ video once and measure every frame: light statistics of the active "
        "picture (max(R,G,B) peak, mean, percentiles), the libplacebo-style peak detection and its temporal "
        "smoothing with scene cuts, and the flicker of the predicted SDR output.")
    p.add_argument("input", type=Path, metavar="IN")
    add_json_option(p, "the analysis")
    p.add_argument("--plot", type=Path, default=None, metavar="flicker.png",
                   help="write a PNG plot of peaks, averages, cuts, SDR luma and flicker")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--full", action="store_true", help="statistics on every pixel (exact MaxCLL; slower)")
    g.add_argument("--step", type=int, default=None,
                   help="statistics on every STEP-th row and column (power of two; default: at most ~262k pixels)")
    p.add_argument("--smoothing-period", type=float, default=20.0, help="IIR smoothing period in frames (default 20)")
    p.add_argument("--scene-threshold", type=float, nargs=2, default=(1.0, 3.0), metavar=("LOW", "HIGH"),
                   help="scene-change hysteresis in %% PQ (default 1 3)")
    add_render_options(p)
    add_video_input_options(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_analyze_options(p)
    p.add_argument("--cll-mode", choices=("site", "raw"), default="site",
                   help="chroma of the light levels (MaxCLL, MaxFALL, HDR10+): each pixel's own 4:2:0 site "
                   "(default), or raw = the bilinear upsampling, whose overshoot at saturated edges inflates them")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..video.analysis import analyze, plot_analysis

    con = Console(args)
    params = render_params_from_args(args)
    metadata_out = args.hdr10 or args.hdr10plus is not None
    if metadata_out and args.step not in (None, 1):
        raise OptionError("--hdr10 / --hdr10plus measure every pixel (MaxCLL, MaxScl); drop --step")
    require_file(args.input, "video file")
    check_json_target(args, [args.input])
    for target in (args.plot, args.hdr10plus):
        if target is not None:
            check_output_file(target, inputs=[args.input])
    if metadata_out:
        _refuse_non_pq(args)
    step = 1 if args.full or metadata_out else args.step
    first_run_warm_up(args.input, video_input_kwargs(args), stats=True)
    a = analyze(args.input, params=params, step=step, progress=not (args.no_progress or con.quiet),
                smoothing_period=args.smoothing_period, scene_threshold_low=args.scene_threshold[0],
                scene_threshold_high=args.scene_threshold[1], cll_mode=args.cll_mode, **video_input_kwargs(args))
    if con.json_stdout:
        con.write_json(a.to_dict(), indent=1)
    elif args.json is not None:
        a.write_json(args.json)
    if args.plot is not None:
        plot_analysis(a, args.plot)
    peaks = [s.peak_nits for s in a.smoothed] or [0.0]
    fl = a.flicker
    con.note(f"{args.input}: {len(a.smoothed)} frames, {len(a.cuts)} scene(s) (cuts at {a.cuts[1:] or 'none'}), "
             f"smoothed peak {min(peaks):.0f}-{max(peaks):.0f} cd/m^2, flicker {fl.score:.4f} "
             f"({'ok' if fl.passed else 'above'} {fl.threshold})")
    apply_analyze_outputs(args, a, out=con.stream, params=params)
    if a.damage:
        con.warn(f"{args.input} decoded only in part ({a.damage.summary()})")
        return 1
    return 0


def _refuse_non_pq(args) -> None:
    """HDR10 / HDR10+ metadata describe PQ video: refuse another transfer before the analysis
    (``hdrkit encode --hdr10`` converts HLG to PQ first and measures the converted picture)."""
    with VideoReader(args.input, probe_dolby_vision=False, **video_input_kwargs(args)) as r:
        transfer = r.colour.transfer
    if transfer != "pq":
        raise OptionError(f"the input is {transfer.upper()}, but --hdr10 / --hdr10plus describe PQ (HDR10) video; "
                          "HLG carries no mastering display, MaxCLL or HDR10+ (hdrkit encode --hdr10 converts it to PQ "
                          "and measures that)",
                          path=args.input)
