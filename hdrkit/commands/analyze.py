"""``hdrkit analyze``: per-frame light statistics, smoothed peaks, scene cuts and flicker of a video.

The HDR10 / HDR10+ outputs (``--hdr10``, ``--hdr10plus OUT.json``) come from
:mod:`hdrkit.commands.hdr10_outputs`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import OptionError
from .hdr10_outputs import add_analyze_options, apply_analyze_outputs
from .common import add_render_options, render_params_from_args
from .video_options import add_video_input_options, first_run_warm_up, video_input_kwargs


def add_parser(sub):
    p = sub.add_parser(
        "analyze", help="per-frame statistics, scene cuts, smoothed peaks and flicker of an HDR video",
        description="Decode an HLG / PQ video once and measure every frame: light statistics of the active "
        "picture (max(R,G,B) peak, mean, percentiles), the libplacebo-style peak detection and its temporal "
        "smoothing with scene cuts, and the flicker of the predicted SDR output.")
    p.add_argument("input", type=Path, metavar="IN")
    p.add_argument("--json", type=Path, default=None, metavar="stats.json", help="write the analysis as JSON")
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
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..video.analysis import analyze, plot_analysis

    params = render_params_from_args(args)
    metadata_out = args.hdr10 or args.hdr10plus is not None
    if metadata_out and args.step not in (None, 1):
        raise OptionError("--hdr10 / --hdr10plus measure every pixel (MaxCLL, MaxScl); drop --step")
    step = 1 if args.full or metadata_out else args.step
    first_run_warm_up(args.input, video_input_kwargs(args), stats=True)
    a = analyze(args.input, params=params, step=step, progress=not args.no_progress,
                smoothing_period=args.smoothing_period, scene_threshold_low=args.scene_threshold[0],
                scene_threshold_high=args.scene_threshold[1], **video_input_kwargs(args))
    if args.json is not None:
        a.write_json(args.json)
    if args.plot is not None:
        plot_analysis(a, args.plot)
    peaks = [s.peak_nits for s in a.smoothed] or [0.0]
    fl = a.flicker
    print(f"hdrkit: {args.input}: {len(a.smoothed)} frames, {len(a.cuts)} scene(s) (cuts at {a.cuts[1:] or 'none'}), "
          f"smoothed peak {min(peaks):.0f}-{max(peaks):.0f} cd/m^2, flicker {fl.score:.4f} "
          f"({'ok' if fl.passed else 'above'} {fl.threshold})", file=sys.stderr)
    apply_analyze_outputs(args, a, params=params)
    if a.damage:
        print(f"hdrkit: warning: {args.input} decoded only in part ({a.damage.summary()})", file=sys.stderr)
        return 1
    return 0
