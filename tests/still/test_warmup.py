"""First-run compilation on two cores: after the warm-up an export compiles nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "ultrahdr" / "libultrahdr_minnie_ultrahdr_sys.jpg"

_EXPORT_AND_COUNT = """
import json, sys
from numba.core.registry import CPUDispatcher
import hdrkit
from hdrkit.core import kernels
from hdrkit.io.warmup import still_cold
from hdrkit.still import render
cold = still_cold()
hdrkit.export_sdr(sys.argv[1], sys.argv[2], force=True)
misses = {f"{m.__name__}.{n}": sum(d.stats.cache_misses.values())
          for m in (kernels, render) for n, d in vars(m).items() if isinstance(d, CPUDispatcher)}
hits = sum(d.stats.cache_hits.get(s, 0) for m in (kernels, render) for d in vars(m).values()
           if isinstance(d, CPUDispatcher) for s in d.stats.cache_hits)
print(json.dumps({"cold": cold, "misses": misses, "hits": hits}))
"""


def _run(code: str, *args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True)


def test_warm_up_compiles_every_kernel_the_export_then_uses(tmp_path):
    cache = tmp_path / "numba-cache"
    warm = _run("import sys; from hdrkit.io.warmup import warm_still; print(warm_still(sys.argv[1]))", str(SAMPLE),
                cache=cache)
    assert warm.stdout.split() == ["True"]  # a cold cache: it compiled
    out = json.loads(_run(_EXPORT_AND_COUNT, str(SAMPLE), str(tmp_path / "o.jpg"), cache=cache).stdout)
    assert out["cold"] is False
    assert out["misses"] and not any(out["misses"].values()), out["misses"]  # nothing compiled in the export
    assert out["hits"] > 0  # it loaded the kernels the warm-up cached
    again = _run("import sys; from hdrkit.io.warmup import warm_still; print(warm_still(sys.argv[1]))", str(SAMPLE),
                 cache=cache)
    assert again.stdout.split() == ["False"]  # warm: nothing to do


def test_warm_up_survives_a_bad_input(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not a jpeg")
    cache = tmp_path / "numba-cache"
    _run("import sys; from hdrkit.io.warmup import warm_still; warm_still(sys.argv[1])", str(bad), cache=cache)
    out = json.loads(_run(_EXPORT_AND_COUNT, str(SAMPLE), str(tmp_path / "o.jpg"), cache=cache).stdout)
    # the render kernel was compiled by the warm-up even though the child failed on the input
    assert out["misses"]["hdrkit.core.kernels._render_sdr"] == 0
    assert out["misses"]["hdrkit.still.render._rebuild_kernel"] >= 1


def test_cached_answers_true_when_numba_internals_differ():
    from hdrkit.io.warmup import cached

    assert cached(object()) is True
