"""The editable install's precompiling backend: what it caches is what the first run loads.

The backend runs the real commands on the bundled samples; these tests run it into an empty
``NUMBA_CACHE_DIR`` and then the work the first command does, counting numba's cache hits and
misses per compiled kernel (as ``test_first_run`` does).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STILL = ROOT / "samples" / "ultrahdr" / "libultrahdr_minnie_ultrahdr_sys.jpg"
CLIP = ROOT / "samples" / "video" / "hlg10-color-test.mp4"

#: Runs one job, then prints per compiled-kernel cache misses (compilations) and hits.
_WORK_AND_COUNT = """
import json, sys
from numba.core.registry import CPUDispatcher
job, src, dst = sys.argv[1:4]
if job == "still":
    import hdrkit
    hdrkit.export_sdr(src, dst, force=True)
elif job == "proxy":
    from hdrkit.video.proxy import make_proxy
    make_proxy(src, dst, force=True, x264_preset="ultrafast")
else:
    from hdrkit.video.analysis import analyze
    analyze(src)
kernels = {f"{name}.{k}": d for name, m in list(sys.modules.items()) if name.startswith("hdrkit")
           for k, d in vars(m).items() if isinstance(d, CPUDispatcher) and d.stats.cache_path}
print(json.dumps({"misses": {k: sum(d.stats.cache_misses.values()) for k, d in kernels.items()},
                  "hits": sum(sum(d.stats.cache_hits.values()) for d in kernels.values())}))
"""


def _backend():
    spec = importlib.util.spec_from_file_location("precompiling_backend",
                                                  ROOT / "build_backend" / "precompiling_backend.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _work(cache: Path, job: str, src: Path, dst: Path) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    p = subprocess.run([sys.executable, "-c", _WORK_AND_COUNT, job, str(src), str(dst)], env=env,
                       capture_output=True, text=True, check=True)
    return json.loads(p.stdout)


@pytest.mark.slow  # compiles every kernel of three commands (about 25 s of CPU)
def test_precompiled_cache_is_what_the_first_run_loads(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "numba-cache"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache))
    be = _backend()
    monkeypatch.setattr(be, "RECORD", tmp_path / "precompiled.json")
    assert be._up_to_date() is False
    assert be.precompile(sys.stdout) is True
    assert "precompiled the kernels" in capsys.readouterr().out
    assert be._up_to_date() is True  # a re-install would neither install numba in the build nor precompile
    assert not any(r.startswith("numba") for r in be.get_requires_for_build_editable())
    for job, src, dst in (("still", STILL, "o.jpg"), ("proxy", CLIP, "p.mp4"), ("analyze", CLIP, "-")):
        out = _work(cache, job, src, tmp_path / dst)
        assert out["misses"] and not any(out["misses"].values()), (job, out["misses"])  # nothing compiled
        assert out["hits"] > 0, job
    # the first run's bytes are a warm run's: again from the same cache, and from this process's own
    first = (tmp_path / "o.jpg").read_bytes()
    _work(cache, "still", STILL, tmp_path / "again.jpg")
    import hdrkit

    hdrkit.export_sdr(STILL, tmp_path / "here.jpg")
    assert (tmp_path / "again.jpg").read_bytes() == first == (tmp_path / "here.jpg").read_bytes()
    assert be._up_to_date() is True  # loading the cache changed nothing
    index = next(cache.rglob("*.nbi"))
    os.utime(index, ns=(index.stat().st_atime_ns, index.stat().st_mtime_ns + 1))  # as a compiling run would
    assert be._up_to_date() is False


def test_precompile_failure_does_not_raise(tmp_path, monkeypatch):
    be = _backend()
    monkeypatch.setattr(be, "RECORD", tmp_path / "precompiled.json")
    monkeypatch.setattr(be, "COMMANDS", (("still", "samples/missing.jpg", "-o", "{tmp}/o.jpg"),
                                         ("no-such-command", "pyproject.toml")))
    log = tmp_path / "log.txt"
    with open(log, "w") as f:
        assert be.precompile(f) is False
    text = log.read_text()
    assert "not precompiling still: samples/missing.jpg" in text
    assert "precompiling no-such-command failed, its first run will compile:" in text
    assert not be.RECORD.exists()  # nothing recorded: the next install tries again


def test_build_requirements_follow_the_switch(monkeypatch, tmp_path):
    be = _backend()
    monkeypatch.setattr(be, "RECORD", tmp_path / "none.json")  # never precompiled
    monkeypatch.delenv("HDRKIT_PRECOMPILE", raising=False)
    with_deps = be.get_requires_for_build_editable()
    assert any(r.startswith("numba") for r in with_deps) and any(r.startswith("av") for r in with_deps)
    assert not any(r.startswith("numba") for r in be.get_requires_for_build_editable({"precompile": "false"}))
    monkeypatch.setenv("HDRKIT_PRECOMPILE", "0")
    assert not any(r.startswith("numba") for r in be.get_requires_for_build_editable())
