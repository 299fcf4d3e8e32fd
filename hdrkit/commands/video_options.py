"""Input options shared by the video subcommands (proxy, keyframes, analyze); no colour maths."""

from __future__ import annotations

# A command's library modules are imported when it runs, so "hdrkit --help" loads none of them.
from ..video.tags import TRANSFERS
from .common import first_run_note

__all__ = ["add_video_input_options", "video_input_kwargs"]


def add_video_input_options(p) -> None:
    """--height, --assume-transfer/-primaries/-matrix/-range, --allow-sdr."""
    g = p.add_argument_group("input (hdrkit never guesses a missing colour tag)")
    g.add_argument("--height", type=int, default=None, metavar="H",
                   help="scale to this height before any colour work (width follows the aspect ratio)")
    g.add_argument("--assume-transfer", choices=TRANSFERS, default=None,
                   help="transfer of an input that does not tag it (pq, hlg; bt1886/srgb need --allow-sdr)")
    g.add_argument("--assume-primaries", choices=("bt2020", "p3", "bt709"), default=None,
                   help="colour primaries of an input that does not tag them")
    g.add_argument("--assume-matrix", choices=("bt2020", "bt709", "bt601"), default=None,
                   help="Y'CbCr matrix of an input that does not tag it (bt2020 = BT.2020 non-constant luminance)")
    g.add_argument("--assume-range", choices=("limited", "full"), default=None,
                   help="code range of an input that does not tag it")
    g.add_argument("--allow-sdr", action="store_true",
                   help="accept SDR input (passed through the same path; the tone curve leaves it unchanged)")


def video_input_kwargs(args) -> dict:
    """The keyword arguments :class:`hdrkit.video.reader.VideoReader` takes, from parsed options."""
    return {"height": args.height, "assume_transfer": args.assume_transfer, "assume_primaries": args.assume_primaries,
            "assume_matrix": args.assume_matrix, "assume_range": args.assume_range, "allow_sdr": args.allow_sdr}


def first_run_warm_up(path, reader_kwargs: dict, *, stats: bool = False) -> None:
    """First run on this machine: compile the video kernels on two cores (see :mod:`hdrkit.io.warmup`)."""
    from ..io.warmup import video_cold, warm_video

    if video_cold():
        first_run_note()
        warm_video(path, reader_kwargs, stats=stats)
