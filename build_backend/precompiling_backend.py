"""PEP 517 build backend: setuptools, plus an editable install that leaves the kernels compiled.

hdrkit's per-pixel kernels are compiled by numba the first time they run and cached in
``__pycache__`` beside their source (or under ``NUMBA_CACHE_DIR``); that first compilation
is seconds of CPU work. An editable install (``pip install -e .``) runs from this source
tree, so the cache it will read is the tree's own: :func:`build_editable` fills it by
running the real commands once on the bundled samples, in a subprocess, before handing
over to setuptools. The cache entries carry what numba checks when it loads them (numba
version, a hash of the source file's contents, the function's bytecode, the argument types
and the CPU), so the first command after the install loads them like any later run, and
computes the same bytes.

Precompiling never fails the install: if anything goes wrong (a missing sample, a
dependency that does not import, a timeout) it says so in one line on the build's output
and the first run compiles what it needs, as without this backend. It is skipped with
``HDRKIT_PRECOMPILE=0`` in the environment or ``--config-settings precompile=false``.

Everything else (sdist, wheel, metadata) is setuptools' own ``setuptools.build_meta``. A
wheel carries no compiled kernels: it is built in a scratch copy, and compiled code is
specific to the CPU it was compiled for.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from setuptools import build_meta as _setuptools
from setuptools.build_meta import (build_sdist, build_wheel, get_requires_for_build_sdist,  # noqa: F401 - re-exported
                                   get_requires_for_build_wheel, prepare_metadata_for_build_editable,
                                   prepare_metadata_for_build_wheel)

ROOT = Path(__file__).resolve().parents[1]

#: Seconds one precompiling command may take before it is abandoned (about 10 s on 2 idle cores).
TIMEOUT = 600.0

#: The commands whose kernels are compiled, each with the bundled sample it runs on
#: (``{tmp}``: a scratch directory for the outputs). They are the real CLI commands, so
#: they compile exactly the specialisations a user's first command needs, whatever kernels
#: exist, and split the work over two processes as a cold command does.
COMMANDS = (
    ("still", "samples/ultrahdr/libultrahdr_minnie_ultrahdr_sys.jpg", "-o", "{tmp}/still.jpg"),
    ("proxy", "samples/video/hlg10-color-test.mp4", "-o", "{tmp}/proxy.mp4", "--x264-preset", "ultrafast",
     "--no-progress"),
    ("analyze", "samples/video/hlg10-color-test.mp4", "--no-progress"),
)

__all__ = ["build_editable", "build_sdist", "build_wheel", "get_requires_for_build_editable",
           "get_requires_for_build_sdist", "get_requires_for_build_wheel", "prepare_metadata_for_build_editable",
           "prepare_metadata_for_build_wheel"]


def _wanted(config_settings) -> bool:
    """Whether to precompile: not with ``HDRKIT_PRECOMPILE=0`` or ``precompile=false`` in the config settings."""
    setting = str((config_settings or {}).get("precompile", os.environ.get("HDRKIT_PRECOMPILE", "1")))
    return setting.strip().lower() not in ("0", "false", "no", "off")


def _runtime_dependencies() -> list[str]:
    """The project's own dependencies: what the commands import to run (numpy, numba, PyAV, Pillow, ...)."""
    try:
        with open(ROOT / "pyproject.toml", "rb") as f:
            return list(tomllib.load(f)["project"]["dependencies"])
    except Exception:  # noqa: BLE001 - no list: then no precompiling either (it fails quietly)
        return []


def get_requires_for_build_editable(config_settings=None):
    """setuptools' requirements, and (to precompile) the runtime dependencies in the build environment.

    They are the same packages the install itself brings, so this adds no download.
    """
    extra = _runtime_dependencies() if _wanted(config_settings) else []
    return _setuptools.get_requires_for_build_editable(config_settings) + extra


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """setuptools' editable wheel, after compiling the kernels into this tree's cache."""
    if _wanted(config_settings):
        precompile()
    return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)


def precompile(log=sys.stderr) -> bool:
    """Run :data:`COMMANDS` from this tree, so numba caches their kernels; whether all succeeded.

    Each runs as ``python -m hdrkit ...`` in a subprocess with this tree first on the path and
    the build environment's packages (pip passes them through the environment). Never raises.
    """
    t0, c0 = time.perf_counter(), _children_cpu()
    ok = True
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    with tempfile.TemporaryDirectory(prefix="hdrkit-precompile-") as tmp:
        for name, src, *rest in COMMANDS:
            if not (ROOT / src).is_file():
                print(f"hdrkit: not precompiling {name}: {src} is not in this tree", file=log)
                ok = False
                continue
            argv = [sys.executable, "-m", "hdrkit", name, str(ROOT / src)] + [a.format(tmp=tmp) for a in rest]
            try:
                p = subprocess.run(argv, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                   timeout=TIMEOUT, env=env)
                failed = p.returncode != 0 and (p.stderr.strip().splitlines() or [f"exit status {p.returncode}"])[-1]
            except Exception as e:  # noqa: BLE001 - a timeout or a missing interpreter: the first run compiles
                failed = f"{type(e).__name__}: {e}"
            if failed:
                print(f"hdrkit: precompiling {name} failed, its first run will compile: {failed}", file=log)
                ok = False
    print(f"hdrkit: precompiled the kernels in {time.perf_counter() - t0:.1f} s "
          f"({_children_cpu() - c0:.1f} s CPU)", file=log)
    return ok


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children."""
    t = os.times()
    return t.children_user + t.children_system


if __name__ == "__main__":  # python build_backend/precompiling_backend.py: fill the cache of this tree
    sys.exit(0 if precompile(sys.stdout) else 1)
