#!/usr/bin/env python3
"""Build the API reference of hdrkit with pdoc (numpydoc docstrings) into a folder.

Every module of the package is documented except the command line (``hdrkit.commands``,
``hdrkit.cli``, ``hdrkit.__main__``), whose reference is ``hdrkit COMMAND --help``. pdoc's
warnings (a docstring or annotation it cannot read) are printed and make the exit status 1,
so the test suite (tests/test_docs.py) fails on a broken docstring.

Usage:
    python scripts/build_docs.py                 # into docs/api/
    python scripts/build_docs.py -o /tmp/api
"""

from __future__ import annotations

import argparse
import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = ("hdrkit.commands", "hdrkit.cli", "hdrkit.__main__")


def _all_of(package: str) -> list[str] | None:
    """The package's ``__all__`` (a literal list) or None when it has none."""
    init = ROOT.joinpath(*package.split("."), "__init__.py")
    for n in ast.parse(init.read_text()).body:
        if isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in n.targets):
            return list(ast.literal_eval(n.value))
    return None


def modules() -> list[str]:
    """Every hdrkit module and package but the command line, by name.

    pdoc documents by itself the submodules of a package without ``__all__`` and those its
    ``__all__`` names; naming them again would be a duplicate, so only the others are listed.
    """
    names = ["hdrkit"]
    for m in pkgutil.walk_packages([str(ROOT / "hdrkit")], prefix="hdrkit."):
        parent = m.name.rpartition(".")[0]
        if any(m.name == c or m.name.startswith(c + ".") for c in CLI):
            continue
        public = _all_of(parent)
        if parent == "hdrkit" or (public is not None and m.name.rpartition(".")[2] not in public):
            names.append(m.name)
    return names


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Build the API reference with pdoc.")
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "api", help="output folder (default docs/api)")
    a = ap.parse_args(argv)
    p = subprocess.run([sys.executable, "-m", "pdoc", "--docformat", "numpy", "--output-directory", str(a.output),
                        *modules()], capture_output=True, text=True, cwd=ROOT)
    problems = [ln for ln in (p.stdout + p.stderr).splitlines() if ln.strip()]
    for ln in problems:
        print(ln, file=sys.stderr)
    if p.returncode or problems:
        print(f"build_docs: pdoc reported {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"API reference: {a.output / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
