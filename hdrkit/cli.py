"""The ``hdrkit`` command line: argument parsing and error reporting only.

Each subcommand lives in :mod:`hdrkit.commands` as a module with ``add_parser(subparsers)``
that registers its options and sets ``func`` to a function taking the parsed arguments
and returning an exit code. No colour maths happens here.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from . import __version__
from .commands import analyze, curves, deliver, encode, hdr10plus, info, keyframes, proxy, regress, still
from .errors import HdrkitError

__all__ = ["create_parser", "main"]

#: Subcommands in the order ``--help`` lists them.
COMMANDS = (still, info, proxy, keyframes, analyze, encode, hdr10plus, deliver, regress, curves)


def create_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hdrkit",
        description="HDR to SDR that looks right, the same way every time: Ultra HDR / gain-map "
        "JPEGs and HLG / PQ video through one linear-light colour core.",
        epilog="Run 'hdrkit COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"hdrkit {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for FFmpeg commands)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = create_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
                        format="hdrkit: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except HdrkitError as e:
        print(f"hdrkit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hdrkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away (``hdrkit info ... | head``)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
