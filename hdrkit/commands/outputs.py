"""Where the commands write and what they print: the rules every subcommand follows.

- ``-o`` names a **folder** when it ends in ``/`` or is an existing folder; anything else
  names a **file**. A folder is created (with its parents) when the first file is about to
  be written into it; a file's folder must already exist.
- A command that writes one file and is given a folder writes ``FOLDER/<input stem><ext>``.
  A command that writes several files (``keyframes``, ``regress``, ``still`` with several
  inputs or a folder input) needs a folder; ``still`` refuses a file name there.
- Every output is checked before any work (:func:`hdrkit.io.atomic.check_output_file`,
  :func:`~hdrkit.io.atomic.check_output_dir`).
- ``--json FILE`` writes a JSON report to ``FILE`` (its name ends in ``.json``); ``--json -``
  writes it to stdout, which then holds nothing else: the human lines go to stderr. A bare
  ``--json`` (last, or before an option or an existing non-JSON file) means ``-``.
- ``-q`` / ``--quiet`` keeps only errors and warnings; progress bars follow it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ..errors import OptionError
from ..io.atomic import atomic_write_bytes, check_output_dir, check_output_file

__all__ = ["Console", "add_json_option", "check_json_target", "is_folder", "single_output"]


def is_folder(out) -> bool:
    """True when ``-o`` names a folder: it ends in a path separator or is an existing folder."""
    s = os.fspath(out)
    return s.endswith(("/", os.sep)) or Path(s).is_dir()


def single_output(out, src, suffix: str, *, force: bool = False) -> Path:
    """The output file of a one-output command, checked before any work.

    ``out`` given as a folder yields ``out/<src stem><suffix>`` (the folder is checked, and
    created by the caller when writing); otherwise ``out`` itself, whose folder must exist.
    """
    if is_folder(out):
        check_output_dir(out)
        dst = Path(out) / (Path(src).stem + suffix)
        if Path(out).is_dir():
            check_output_file(dst, inputs=[src], force=force)
        return dst
    return check_output_file(out, inputs=[src], force=force)


def add_json_option(p, what: str) -> None:
    """``--json [FILE|-]``: the same meaning in every command."""
    p.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE.json|-",
                   help=f"write {what} as JSON to FILE.json, or to stdout with '-' (so does a bare --json: last, "
                   "or before an option or an existing non-JSON file); with '-' stdout holds only the JSON")


def check_json_target(args, inputs=()) -> None:
    """Check a ``--json FILE`` target before any work (name ends in .json, folder writable, not an input)."""
    target = getattr(args, "json", None)
    if target is None or str(target) == "-":
        return
    if not str(target).lower().endswith(".json"):
        raise OptionError(f"--json takes a file name ending in .json, or '-' for stdout (got {target})")
    check_output_file(target, inputs=inputs)


class Console:
    """The human lines of a command, routed by ``--json -`` and ``--quiet``.

    ``result`` lines go to stdout, or to stderr when stdout carries the JSON; ``note`` lines
    go to stderr; both are silent under ``--quiet``. Warnings and errors always go to
    stderr as ``hdrkit: warning: ...`` / ``hdrkit: error: ...``.
    """

    def __init__(self, args):
        self.quiet = bool(getattr(args, "quiet", False))
        self.json_target = getattr(args, "json", None)
        self.json_stdout = self.json_target is not None and str(self.json_target) == "-"

    @property
    def stream(self):
        """Where result lines go (for functions that take a file to print to)."""
        return sys.stderr if self.json_stdout else sys.stdout

    def result(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream)

    def note(self, text: str) -> None:
        if not self.quiet:
            print(f"hdrkit: {text}", file=sys.stderr)

    @staticmethod
    def warn(text: str) -> None:
        print(f"hdrkit: warning: {text}", file=sys.stderr)

    @staticmethod
    def error(text: str) -> None:
        print(f"hdrkit: error: {text}", file=sys.stderr)

    def write_json(self, obj, indent: int = 2) -> None:
        """The ``--json`` report: to stdout for '-', else atomically to the file."""
        if self.json_target is None:
            return
        text = json.dumps(obj, indent=indent, default=str)
        if self.json_stdout:
            print(text)
        else:
            atomic_write_bytes(self.json_target, (text + "\n").encode())
