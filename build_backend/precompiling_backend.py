"""PEP 517 build backend: setuptools, plus an editable install that leaves the kernels compiled.

hdrkit's per-pixel kernels are compiled by numba the first time they run and cached in
``__pycache__`` beside their source (or under ``NUMBA_CACHE_DIR``); that first compilation
is seconds of CPU work. An editable install (``pip install -e .``) runs from this source
tree, so the cache it will read is the tree's own: :func:`build_editable` fills it by
running the real commands once on the bundled samples, in a subprocess, before handing
over to setuptools. The cache entries carry what numba checks when it loads them (numba
version, a hash of all the core's source files (:mod:`hdrkit.core.jit`), the function's
bytecode, the argument types and the CPU), so the first command after the install loads
them like any later run, and computes the same bytes. It also writes the bytecode of the
package's modules, which an interpreter told not to write bytecode
(``PYTHONDONTWRITEBYTECODE``) would otherwise compile from source in every process.

Precompiling never fails the install: if anything goes wrong (a missing sample, a
dependency that does not import, a timeout) it says so in one line on the build's output
and the first run compiles what it needs, as without this backend. It is skipped with
``HDRKIT_PRECOMPILE=0`` in the environment or ``--config-settings precompile=false``, and
when nothing changed since the last time it ran here (same sources, interpreter, cache
place, the numba the environment already holds, and the cache index files it wrote): then
a re-install (``pip install -e ".[test]"`` after ``pip install -e .``) costs what it did
before this backend.

Everything else (sdist, wheel, metadata) is setuptools' own ``setuptools.build_meta``. A
wheel carries no compiled kernels: compiled code is specific to the CPU it was compiled for,
and a wheel is made to be installed on other machines.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import site
import subprocess
import sys
import sysconfig
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

from setuptools import build_meta as _setuptools
from setuptools.build_meta import (build_sdist, build_wheel, get_requires_for_build_sdist,  # noqa: F401 - re-exported
                                   get_requires_for_build_wheel, prepare_metadata_for_build_editable,
                                   prepare_metadata_for_build_wheel)

ROOT = Path(__file__).resolve().parents[1]

#: What the last successful precompile was made from (see :func:`_up_to_date`); beside the cache.
RECORD = ROOT / "hdrkit" / "__pycache__" / "precompiled.json"

#: Seconds one precompiling command may take before it is abandoned (the proxy needs about 20 s of CPU).
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
    ("still", "samples/ultrahdr/libultrahdr_minnie_ultrahdr_sys.jpg", "--ultrahdr", "-o", "{tmp}/ultrahdr.jpg"),
    ("keyframes", "samples/video/hlg10-color-test.mp4", "--ultrahdr", "--limit", "1", "-o", "{tmp}/keyframes/",
     "--no-progress"),
    ("deliver", "samples/goldens/ci/clip_pq.mp4", "-o", "{tmp}/deliver/", "--x265-preset", "ultrafast",
     "--no-progress"),
)

#: Kernels no command compiles on the bundled samples, each part compiled by a job of
#: ``python -m hdrkit.io.warmup`` on a sample, the jobs at the same time: the gain-map kernels
#: for every kind of map (integer map scale or not, gamma 1 or not; numba compiles each kind
#: apart and the bundled sample is one of them), including the row-streamed still export that
#: ``hdrkit still`` uses for gain-map JPEGs of 2048 px and more (the bundled one is 320 px).
JOBS = (
    ("kinds", "render", "samples/ultrahdr/libultrahdr_minnie_ultrahdr_sys.jpg"),
    ("kinds", "rebuild", "samples/ultrahdr/libultrahdr_minnie_ultrahdr_sys.jpg"),
)

__all__ = ["build_editable", "build_sdist", "build_wheel", "get_requires_for_build_editable",
           "get_requires_for_build_sdist", "get_requires_for_build_wheel", "prepare_metadata_for_build_editable",
           "prepare_metadata_for_build_wheel"]


def _wanted(config_settings) -> bool:
    """Whether to precompile: not with ``HDRKIT_PRECOMPILE=0`` or ``precompile=false``, nor when up to date."""
    setting = str((config_settings or {}).get("precompile", os.environ.get("HDRKIT_PRECOMPILE", "1")))
    return setting.strip().lower() not in ("0", "false", "no", "off") and not _up_to_date()


def _inputs() -> dict:
    """What numba's cache entries depend on that can be read without numba: sources, interpreter, cache place."""
    h = hashlib.sha256()
    for p in sorted((ROOT / "hdrkit").rglob("*.py")):
        h.update(p.relative_to(ROOT).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return {"sources": h.hexdigest(), "python": sys.version, "machine": platform.machine(),
            "cache_dir": os.environ.get("NUMBA_CACHE_DIR", "")}


def _cache_indexes() -> dict:
    """numba's cache index files of this tree's kernels, with their modification times (ns)."""
    top = Path(os.environ["NUMBA_CACHE_DIR"]) if os.environ.get("NUMBA_CACHE_DIR") else ROOT / "hdrkit"
    return {str(p): p.stat().st_mtime_ns for p in top.rglob("*.nbi")} if top.is_dir() else {}


def _installed_numba() -> str | None:
    """The numba version of the environment being installed into (not the build's), if it has one."""
    paths = sorted({sysconfig.get_paths()[k] for k in ("purelib", "platlib")} | set(site.getsitepackages()))
    return next((d.version for d in metadata.distributions(path=paths)
                 if (d.metadata["Name"] or "").lower() == "numba"), None)


def _up_to_date() -> bool:
    """Whether the last precompile here still holds: same :func:`_inputs`, same numba as the environment
    already has, and every cache index it left unchanged since (a run that compiled rewrites one)."""
    try:
        rec = json.loads(RECORD.read_text())
        indexes = rec["indexes"]
        return (bool(indexes) and rec["inputs"] == _inputs() and rec["numba"] == _installed_numba()
                and all(_mtime_ns(p) == t for p, t in indexes.items()))
    except Exception:  # noqa: BLE001 - no record, or an unreadable one: precompile
        return False


def _mtime_ns(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _record() -> None:
    """Note what this precompile was made from (the numba is the build environment's, which compiled)."""
    try:
        RECORD.parent.mkdir(parents=True, exist_ok=True)
        RECORD.write_text(json.dumps({"inputs": _inputs(), "numba": metadata.version("numba"),
                                      "indexes": _cache_indexes()}))
    except Exception:  # noqa: BLE001 - no record: the next install precompiles again, which is harmless
        pass


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
    try:
        if _wanted(config_settings):
            precompile()
        elif _up_to_date():
            print("hdrkit: the kernels are precompiled for these sources already", file=sys.stderr)
    except Exception as e:  # noqa: BLE001 - never fail the install: the first run compiles
        print(f"hdrkit: not precompiling: {type(e).__name__}: {e}", file=sys.stderr)
    return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)


def precompile(log=sys.stderr) -> bool:
    """Write the package's bytecode (:func:`_bytecode`), then run :data:`COMMANDS` one after the
    other and :data:`JOBS` at once, from this tree, so numba caches their kernels; whether all
    succeeded.

    Each runs as ``python -m hdrkit ...`` (``python -m hdrkit.io.warmup ...``) in a subprocess with
    this tree first on the path and the build environment's packages (pip passes them through the
    environment). Never raises.
    """
    t0, c0 = time.perf_counter(), _children_cpu()
    ok = _bytecode(log)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    with tempfile.TemporaryDirectory(prefix="hdrkit-precompile-") as tmp:
        ok = all([_run("hdrkit", name, [name, str(ROOT / src)] + [a.format(tmp=tmp) for a in rest], src, env, log)
                  for name, src, *rest in COMMANDS]) and ok
        with ThreadPoolExecutor(max_workers=len(JOBS) or 1) as pool:  # the jobs compile different kernels
            ok = all(list(pool.map(lambda job: _run("hdrkit.io.warmup", job[0], [*job[:-1], str(ROOT / job[-1])],
                                                    job[-1], env, log), JOBS))) and ok
    if ok:
        _record()
    print(f"hdrkit: precompiled the kernels in {time.perf_counter() - t0:.1f} s "
          f"({_children_cpu() - c0:.1f} s CPU)", file=log)
    return ok


def _bytecode(log) -> bool:
    """Write the bytecode of the package's modules beside them; whether all were written.

    An interpreter with ``PYTHONDONTWRITEBYTECODE`` set (CI machines, containers) never writes
    it, so every process compiled the modules it imports from source (0.1 s of a warm still
    command); it still reads bytecode that exists and matches the source.
    """
    import compileall

    try:
        ok = compileall.compile_dir(str(ROOT / "hdrkit"), quiet=2)
    except Exception as e:  # noqa: BLE001 - a read-only tree: each process compiles, as before
        ok, why = False, f"{type(e).__name__}: {e}"
    else:
        why = "a module did not compile"
    if not ok:
        print(f"hdrkit: not all bytecode written ({why}); processes compile those modules", file=log)
    return bool(ok)


def _run(module: str, name: str, args: list[str], src: str, env: dict, log) -> bool:
    """``python -m module *args`` in this tree, on the bundled file ``src``; whether it succeeded (a line
    on ``log`` says why not)."""
    if not (ROOT / src).is_file():
        print(f"hdrkit: not precompiling {name}: {src} is not in this tree", file=log)
        return False
    try:
        p = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=TIMEOUT, env=env)
        failed = p.returncode != 0 and (p.stderr.strip().splitlines() or [f"exit status {p.returncode}"])[-1]
    except Exception as e:  # noqa: BLE001 - a timeout or a missing interpreter: the first run compiles
        failed = f"{type(e).__name__}: {e}"
    if failed:
        print(f"hdrkit: precompiling {name} failed, its first run will compile: {failed}", file=log)
    return not failed


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children."""
    t = os.times()
    return t.children_user + t.children_system


if __name__ == "__main__":  # python build_backend/precompiling_backend.py: fill the cache of this tree
    sys.exit(0 if precompile(sys.stdout) else 1)
