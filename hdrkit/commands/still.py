"""``hdrkit still``: export Ultra HDR / gain-map JPEGs (and plain images) as SDR JPEGs."""

from __future__ import annotations

from pathlib import Path

from ..errors import HdrkitError, OptionError, os_error_message
from ..io.atomic import check_output_dir, check_output_file, make_output_dir
from .cluster_options import add_cluster_option
from .common import add_render_options, first_run_note, progress, render_params_from_args
from .outputs import Console, add_json_option, check_json_target, is_folder

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff"}


def add_parser(sub):
    p = sub.add_parser(
        "still", help="export HDR stills (Ultra HDR / gain-map JPEG) as SDR JPEGs",
        description="Rebuild linear HDR from gain-map JPEGs (or read plain JPEG / 16-bit PNG / TIFF), tone map, "
        "gamut map to sRGB, dither and write SDR JPEGs with an sRGB ICC profile, EXIF (with a thumbnail made "
        "by the same pipeline) and hdrkit XMP. Many inputs run in one process; a bad file is reported and "
        "the others go on.")
    p.add_argument("inputs", nargs="+", type=Path, metavar="IN", help="input files or folders")
    p.add_argument("-o", "--output", required=True,  # a str: Path() would drop the folder-marking "/"
                   help="output file (one input; its folder must exist), or a folder: a name ending in / or an "
                   "existing folder, created if missing, written as OUT/<name>.jpg (needed for several inputs)")
    add_render_options(p)
    p.add_argument("--display-boost", "--headroom", dest="display_boost", type=float, default=None, metavar="X",
                   help="rebuild the gain map as a display with this peak (relative to SDR white) would show it "
                   "(1.0 = the SDR base; default: full HDR); --headroom is its former name")
    p.add_argument("--quality", type=int, default=90, help="JPEG quality 1-100 (default 90)")
    p.add_argument("--subsampling", choices=["auto", "420", "422", "444"], default="auto",
                   help="chroma subsampling; auto = 4:4:4 for detailed or saturated pictures, else 4:2:0")
    p.add_argument("--progressive", action="store_true", help="write a progressive JPEG")
    p.add_argument("--no-fallback", action="store_true", help="fail instead of exporting the SDR base when the gain map is unusable")
    p.add_argument("--skip-existing", action="store_true", help="skip inputs whose output already exists (resume a batch)")
    p.add_argument("--force", action="store_true", help="allow writing over an input file")
    p.add_argument("--strip-location", action="store_true",
                   help="drop the source's EXIF GPS block (location) from the exports; the source's XMP is "
                   "never copied")
    p.add_argument("--max-pixels", type=float, default=None, metavar="MP",
                   help="refuse images (base or gain map) larger than this many megapixels, checked before "
                   "decoding (default 100)")
    add_json_option(p, "a report of every export")
    add_ultrahdr_options(p)
    add_cluster_option(p, "one task per file")
    add_hdr_input_options(p)
    p.set_defaults(func=run)
    return p


def add_hdr_input_options(p) -> None:
    """How to read an untagged HDR PNG / TIFF, and ``--time`` for one frame of a video."""
    g = p.add_argument_group("HDR input", "16-bit PQ / HLG PNG with a cICP chunk is read as HDR; these read "
                             "untagged PNG / TIFF as HDR, or one frame of a video")
    g.add_argument("--assume-transfer", choices=("pq", "hlg"), default=None,
                   help="transfer of a PNG / TIFF (or video) that does not tag it (a cICP chunk wins)")
    g.add_argument("--assume-primaries", choices=("bt2020", "p3", "bt709"), default=None,
                   help="primaries of an untagged PNG / TIFF (or video); default bt2020 with --assume-transfer")
    g.add_argument("--time", type=float, default=None, metavar="T",
                   help="the input is a video: export the frame displayed at T seconds (keyframe export rules)")


def add_ultrahdr_options(p) -> None:
    """``--ultrahdr`` and the gain-map options (shared with ``hdrkit keyframes``)."""
    g = p.add_argument_group("Ultra HDR output", "write Ultra HDR JPEGs: the SDR export as the base image (what "
                             "other viewers show) plus a gain map restoring the HDR on Ultra HDR-aware viewers")
    g.add_argument("--ultrahdr", action="store_true", help="write Ultra HDR (gain-map) JPEGs instead of plain SDR JPEGs")
    g.add_argument("--gainmap-channels", type=int, choices=[1, 3], default=1,
                   help="1 = one gain per pixel (default, smaller), 3 = per-channel gains (also restores colour)")
    g.add_argument("--gainmap-scale", type=int, default=4, metavar="N",
                   help="gain map at 1/N of the image size per axis (default 4; 1 = full resolution)")
    g.add_argument("--gainmap-quality", type=int, default=95, metavar="Q", help="JPEG quality of the gain map (default 95)")
    g.add_argument("--gainmap-headroom", type=float, default=None, metavar="H",
                   help="HDR headroom the map restores, as peak / SDR white (e.g. 4 = 2 stops; default: the "
                   "input's own for gain-map JPEGs, else the picture's peak)")


def gainmap_options(args):
    """:class:`hdrkit.still.ultrahdr.GainMapOptions` from the parsed options, or None without ``--ultrahdr``."""
    if not args.ultrahdr:
        return None
    from ..still.ultrahdr import GainMapOptions

    return GainMapOptions(channels=args.gainmap_channels, scale=args.gainmap_scale, quality=args.gainmap_quality,
                          headroom=args.gainmap_headroom)


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

    con = Console(args)
    files = _expand(args.inputs)
    if not files:
        raise OptionError("no input images found")
    if args.max_pixels is not None and not args.max_pixels > 0:
        raise OptionError("--max-pixels must be a positive number of megapixels")
    folder = is_folder(args.output)
    args.output = Path(args.output)
    many = len(files) > 1 or any(i.is_dir() for i in args.inputs)
    if many and not folder:
        raise OptionError(f"{len(files)} inputs need an output folder: end -o with / (created if missing)",
                          path=args.output)
    check_json_target(args, files)
    if folder:
        check_output_dir(args.output)
        targets = [args.output / (src.stem + ".jpg") for src in files]
        _refuse_collisions(files, targets)
    else:
        targets = [check_output_file(args.output, inputs=files, force=args.force)]
    params = render_params_from_args(args)
    gm = gainmap_options(args)
    export = export_sdr
    if gm is not None:
        from functools import partial

        from ..still.ultrahdr import export_ultrahdr

        export = partial(export_ultrahdr, gainmap=gm)  # same options; the SDR export becomes the base image
    kwargs = dict(params=params, display_boost=args.display_boost, quality=args.quality, subsampling=args.subsampling,
                  progressive=args.progressive, force=args.force, fallback=not args.no_fallback,
                  strip_location=args.strip_location, assume_transfer=args.assume_transfer,
                  assume_primaries=args.assume_primaries,
                  max_pixels=None if args.max_pixels is None else int(args.max_pixels * 1e6))
    if args.time is not None:
        return _run_video_frame(args, con, files, targets[0], folder, params, gm)
    report, failed, skipped, jobs = [], [], [], []
    for src, dst in zip(files, targets):
        if args.skip_existing and dst.exists():
            report.append({"src": str(src), "dst": str(dst), "skipped": True})
            skipped.append(src)
        else:
            jobs.append((src, dst))
    if folder and jobs:  # only when there is something to write
        make_output_dir(args.output)
    from ..cluster import cluster_client

    with cluster_client(args.cluster if jobs else None) as client:  # nothing to do: no cluster to start
        if client is None:
            _warm_up(files)
            results = _in_process(jobs, export, kwargs)
        else:
            from ..cluster.stills import export_stills

            results = export_stills(jobs, export, kwargs, client=client)
        for src, dst, r in _lost_scheduler_guard(progress(results, total=len(jobs), desc="stills", unit="img",
                                                          disable=len(files) < 3 or con.quiet), len(jobs)):
            if isinstance(r, BaseException):
                msg = _failure(src, r)
                failed.append((src, msg))
                report.append({"src": str(src), "error": msg})
                con.error(msg)
                continue
            report.append({"src": str(src), **r.to_dict()})
            for w in r.warnings:
                con.warn(f"{src}: {w}")
            if not many:
                con.result(f"{src} -> {dst}  {r.width}x{r.height}  q{r.quality} {r.subsampling}  peak "
                           f"{r.src_peak:.2f}  {r.size_bytes / 1e6:.2f} MB  {r.seconds * 1000:.0f} ms")
    order = {str(src): i for i, src in enumerate(files)}
    report.sort(key=lambda e: order.get(e["src"], 0))  # a cluster finishes in any order
    con.write_json(report)
    if many or skipped:
        exported = len(files) - len(failed) - len(skipped)
        where = f"{args.output}/" if folder else str(args.output)
        con.result(f"{where}: {exported} exported, {len(skipped)} skipped (output already there), "
                   f"{len(failed)} failed, of {len(files)}" + (":" if failed else ""))
        for _src, msg in failed:
            con.result(f"  {msg}")
    return 2 if failed else 0


def _in_process(jobs, export, kwargs):
    """(src, dst, result or the hdrkit / OS error) of every job, one after the other, here."""
    for src, dst in jobs:
        try:
            yield src, dst, export(src, dst, **kwargs)
        except (HdrkitError, OSError) as e:
            yield src, dst, e


def _lost_scheduler_guard(results, total: int):
    """``results``, with a lost Dask scheduler turned into one :class:`hdrkit.cluster.ClusterError`."""
    done = 0
    try:
        for item in results:
            done += 1
            yield item
    except HdrkitError:
        raise
    except Exception as e:
        from ..cluster import is_lost_scheduler, lost_scheduler_error

        if is_lost_scheduler(e):
            raise lost_scheduler_error(total - done) from None
        raise


def _run_video_frame(args, con, files: list[Path], dst: Path, folder: bool, params, gm) -> int:
    """``--time T``: one video frame through the keyframe export (:func:`hdrkit.video.keyframes.export_frame`)."""
    from ..video.keyframes import export_frame

    if len(files) != 1:
        raise OptionError("--time takes one video input")
    if folder:
        make_output_dir(args.output)
    k = export_frame(files[0], dst, args.time, params=params, quality=args.quality, subsampling=args.subsampling,
                     assume_transfer=args.assume_transfer, assume_primaries=args.assume_primaries, gainmap=gm)
    con.write_json([{"src": str(files[0]), **k.to_dict()}])
    con.result(f"{files[0]} @ {k.time:.3f} s (frame {k.index}) -> {dst}  {k.width}x{k.height}  peak {k.src_peak:.2f}")
    return 0


def _failure(src: Path, e: BaseException) -> str:
    """``<path>: <what happened>`` naming the file that failed (the output when the output did)."""
    if isinstance(e, HdrkitError):
        msg = str(e)
        return msg if getattr(e, "path", None) or msg.startswith(str(src)) else f"{src}: {msg}"
    if isinstance(e, OSError):
        return os_error_message(e) if e.filename else f"{src}: {os_error_message(e)}"
    return f"{src}: {type(e).__name__}: {e}"  # the cluster gave up on the task (e.g. its workers kept dying)


def _refuse_collisions(files: list[Path], targets: list[Path]) -> None:
    """Two inputs with one output name (a.jpg and a.png -> OUT/a.jpg): refuse before writing."""
    by_dst: dict[Path, list[Path]] = {}
    for src, dst in zip(files, targets):
        by_dst.setdefault(dst, []).append(src)
    clashes = {dst: srcs for dst, srcs in by_dst.items() if len(srcs) > 1}
    if clashes:
        listed = "; ".join(f"{dst} from {' and '.join(map(str, srcs))}" for dst, srcs in clashes.items())
        raise OptionError(f"{len(clashes)} output name(s) would be written twice: {listed}; rename the inputs or "
                          "export them in separate runs")


