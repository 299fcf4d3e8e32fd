"""The ``hdrkit`` command line: argument parsing and error reporting only.

Each subcommand lives in :mod:`hdrkit.commands` as a module with ``add_parser(subparsers)``
that registers its options and sets ``func`` to a function taking the parsed arguments
and returning an exit code. No colour maths happens here.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys

from importlib import import_module

from .core.runtime import imports_hidden, light_cache_loads
from .errors import HdrkitError, os_error_message
from .io.server import forward

__all__ = ["create_parser", "main"]

#: Garbage-collector thresholds while a command runs. Loading numba and the kernel cache creates
#: some 10^6 long-lived objects, and the default first threshold (700 allocations) had the
#: collector walk them over and over: 0.2 s of CPU in a 1.4 s still export. The work itself
#: allocates few Python objects per frame or picture, so collecting less often costs no memory.
GC_THRESHOLDS = (20000, 20, 20)

#: Subcommands (modules of :mod:`hdrkit.commands`) in the order ``--help`` lists them; imported
#: when the parser is made, so a command that a server runs (:mod:`hdrkit.io.server`) costs
#: the client nothing.
COMMANDS = ("still", "info", "proxy", "keyframes", "analyze", "encode", "hdr10plus", "deliver", "regress", "curves",
            "server")


def create_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``hdrkit`` argument parser; with ``command`` (one of :data:`COMMANDS`) only that
    subcommand's module is imported and registered (what a command line naming it needs:
    0.06-0.08 s of imports fewer per call), otherwise all of them."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="hdrkit",
        description="HDR to SDR that looks right, the same way every time: Ultra HDR / gain-map "
        "JPEGs and HLG / PQ video through one linear-light colour core.",
        epilog="Run 'hdrkit COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"hdrkit {__version__}")
    _add_global_options(parser, default=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in (command,) if command in COMMANDS else COMMANDS:
        import_module(f"{__package__}.commands.{name}").add_parser(sub)
    for command_parser in _descendants(parser):
        _add_global_options(command_parser, default=False)
    return parser


def _descendants(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every subcommand's parser and its actions' parsers (``hdrkit server status``), once each."""
    found: dict[int, argparse.ArgumentParser] = {}
    todo = [parser]
    while todo:
        for action in todo.pop()._actions:
            if isinstance(action, argparse._SubParsersAction):
                for p in action.choices.values():
                    if id(p) not in found:
                        found[id(p)] = p
                        todo.append(p)
    return list(found.values())


def _add_global_options(p, *, default: bool) -> None:
    """-v / -q, accepted before and after the subcommand (the subcommand's copy only sets
    them when given, so ``hdrkit -v still ...`` keeps its -v)."""
    g = p.add_argument_group("global options") if not default else p
    g.add_argument("-v", "--verbose", action="count", default=0 if default else argparse.SUPPRESS,
                   help="more log output (-vv for FFmpeg commands)")
    g.add_argument("-q", "--quiet", action="store_true", default=False if default else argparse.SUPPRESS,
                   help="print only errors and warnings (no progress bars, no summaries)")


def _bare_json(argv: list[str]) -> list[str]:
    """A bare ``--json`` means stdout: when it ends the line or is followed by an option or by an
    existing file not named ``*.json`` (so ``hdrkit info --json a.jpg`` reads a.jpg, as it always
    did). Any other next word is the target, which must then be ``-`` or end in ``.json``."""
    out = []
    for i, a in enumerate(argv):
        out.append(a)
        if a == "--":
            return out + argv[i + 1:]
        if a == "--json":
            nxt = argv[i + 1] if i + 1 < len(argv) else None
            if nxt is None or (nxt != "-" and (nxt.startswith("-") or (
                    not nxt.lower().endswith(".json") and os.path.isfile(nxt)))):
                out.append("-")
    return out


def _old_quality_flag(argv: list[str]) -> str | None:
    """``-q N`` was the JPEG quality before -q meant --quiet: say so instead of a puzzling error."""
    for a, b in zip(argv, argv[1:]):
        if a == "-q" and b.isdigit():
            return f"-q means --quiet; the JPEG quality is --quality {b}"
    return None


def _command_word(argv: list[str]) -> str | None:
    """The subcommand's name: the first word that is not a global option."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: this process's) and return its exit status.

    Called without ``argv`` (as the ``hdrkit`` executable), the command runs in this
    environment's command server when one is running (``hdrkit server start``).
    """
    if argv is None and _command_word(sys.argv[1:]) != "server":
        code = forward(sys.argv[1:])
        if code is not None:
            return code
    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        return _main(argv)
    finally:  # a caller in the same process (tests, scripts) keeps its own settings
        gc.set_threshold(*before)
        if argv is None:
            # The process's own command line: the process exits next, and the interpreter's exit
            # walked the loaded modules' objects in full collections, 0.2-0.3 s of every call
            # (0.3 -> 0.07 s from the command's end to the process's). Frozen, they are not walked.
            gc.freeze()


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(map(str, argv))
    parser = create_parser(_command_word(argv))
    hint = _old_quality_flag(argv)
    if hint:
        print(f"hdrkit: error: {hint}", file=sys.stderr)
        return 2
    args = parser.parse_args(_bare_json(argv))
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
                        format="hdrkit: %(message)s")  # --quiet keeps warnings
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        # numba loads without SciPy and its other optional imports, which no kernel uses, and
        # cached kernels without its compiler
        with imports_hidden(), light_cache_loads():
            return int(args.func(args) or 0)
    except HdrkitError as e:
        print(f"hdrkit: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader of our output went away (``hdrkit info ... | head``)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141
    except OSError as e:  # a file problem no check caught (disk full, a file vanished): one line
        print(f"hdrkit: error: {os_error_message(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hdrkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
