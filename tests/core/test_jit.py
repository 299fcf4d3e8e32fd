"""A cached kernel goes stale when any source file of hdrkit.core changes, not only its own
(hdrkit.core.jit)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import hdrkit

PACKAGE = Path(hdrkit.__file__).resolve().parent

# linear_row (signal.py) calls lerp_rows (kernels.py): numba compiles both into one machine code
_CHILD = """
import numpy as np
from hdrkit.core.signal import linear_row, signal_consts
from types import SimpleNamespace
c = SimpleNamespace(transfer="pq", matrix="bt2020", bit_depth=10, full_range=False, chroma_shift=(1, 1))
r = np.array([0.5, 0.75], np.float32)
g, b = r.copy(), r.copy()
linear_row(r, g, b, 2, signal_consts(c), np.empty(2, np.float32))
s = linear_row.stats
print(repr(float(r[0])), sum(s.cache_hits.values()), sum(s.cache_misses.values()))
"""

_LERP = "u[j] = table[k] * (one - f) + table[k + np.uint32(1)] * f"


def _copy_package(dst: Path) -> Path:
    shutil.copytree(PACKAGE, dst / "hdrkit", ignore=shutil.ignore_patterns("__pycache__"))
    return dst / "hdrkit"


def _run(root: Path, cache_dir: Path | None = None) -> tuple[float, int, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE")}
    env["PYTHONPATH"] = str(root)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    out = subprocess.run([sys.executable, "-c", _CHILD], check=True, capture_output=True, text=True, env=env,
                         cwd=root).stdout.split()
    return float(out[0]), int(out[1]), int(out[2])


@pytest.mark.parametrize("cache_dir", [None, "numba-cache"], ids=["beside the sources", "NUMBA_CACHE_DIR"])
def test_a_kernel_is_compiled_again_when_a_function_it_calls_from_another_module_changes(tmp_path, cache_dir):
    pkg = _copy_package(tmp_path)
    run = lambda: _run(tmp_path, cache_dir and tmp_path / cache_dir)  # noqa: E731
    first = run()
    assert first[2] == 1  # compiled and cached
    if cache_dir:
        assert list((tmp_path / cache_dir).rglob("*.nbi")) and not list(pkg.rglob("*.nbi"))
    again = run()
    assert again[0] == first[0] and again[1:] == (1, 0)  # loaded from the cache
    kernels = pkg / "core" / "kernels.py"
    src = kernels.read_text()
    assert src.count(_LERP) == 1
    kernels.write_text(src.replace(_LERP, "u[j] = (table[k] * (one - f) + table[k + np.uint32(1)] * f) * 2"))
    changed = run()
    assert changed[1:] == (0, 1)  # signal.py is unchanged, yet its kernel is compiled again
    assert changed[0] == 2 * first[0]
    kernels.write_text(src)
    back = run()
    assert back[0] == first[0] and back[2] == 1


def test_every_cached_kernel_of_the_core_carries_the_stamp_of_all_its_sources():
    import importlib
    import pkgutil

    from numba.core.dispatcher import Dispatcher

    from hdrkit.core import jit

    seen = 0
    for info in pkgutil.iter_modules([str(PACKAGE / "core")]):
        mod = importlib.import_module(f"hdrkit.core.{info.name}")
        for obj in vars(mod).values():
            if not (isinstance(obj, Dispatcher) and obj.__module__ == mod.__name__):
                continue
            cache = obj._cache
            if hasattr(cache, "_cache_file"):  # cache=True (else numba's NullCache)
                assert cache._cache_file._source_stamp == jit.core_stamp(), obj
                seen += 1
    assert seen > 50


def test_the_stamp_follows_the_contents_of_every_core_file_not_their_times(tmp_path):
    from hdrkit.core import jit

    core = _copy_package(tmp_path) / "core"
    stamp = jit.sources_stamp(core)
    assert stamp == jit.core_stamp()  # the same sources, anywhere
    os.utime(core / "tonemap.py", (1, 1))
    assert jit.sources_stamp(core) == stamp
    (core / "tonemap.py").write_text((core / "tonemap.py").read_text() + "\n")
    assert jit.sources_stamp(core) != stamp


def test_kernels_of_other_packages_keep_numbas_own_stamp(tmp_path, monkeypatch):
    from hdrkit.core import jit

    (tmp_path / "elsewhere.py").write_text("from numba import njit\n\n@njit(cache=True)\ndef twice(x):\n"
                                           "    return 2 * x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "elsewhere", raising=False)  # gone again at the test's end
    import elsewhere

    locator = elsewhere.twice._cache._impl.locator
    assert not isinstance(locator, jit._CoreStamped)
    assert elsewhere.twice._cache._cache_file._source_stamp != jit.core_stamp()
    assert elsewhere.twice(21) == 42
