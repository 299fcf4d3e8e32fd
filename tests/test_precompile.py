"""The editable install's precompiling backend: what it caches is what the first run loads.

The backend runs the real commands on the bundled samples; these tests run it into an empty
``NUMBA_CACHE_DIR`` and then the work the first command does, counting numba's cache hits and
misses per compiled kernel (with ``test_first_run``'s counter).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from tests.still._uhdr import PHOTOSHOP, make
from tests.test_first_run import CLIP, STILL, _work, _work_cli, large_still

ROOT = Path(__file__).resolve().parents[1]


def _backend():
    spec = importlib.util.spec_from_file_location("precompiling_backend",
                                                  ROOT / "build_backend" / "precompiling_backend.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow  # compiles every kernel of six command lines and of every gain-map kind (about 160 s of CPU)
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
    large = large_still(tmp_path)  # a phone-sized photo takes the row-streamed export
    # numba specialises the gain-map kernels by map kind: integer map scale or not, gamma 1 or not.
    # The bundled samples have an integer scale; the install compiles the other kinds too, so a
    # first photo of any kind (large: streamed; small: the float path) compiles nothing
    kinds = []
    for name in ("uhdr_bt2100_s4", "asm_rgb_s2_gamma_offsets", "asm_xmp_attr"):  # any/1, integer/not 1, any/not 1
        kinds.append(tmp_path / f"{name}.jpg")
        kinds[-1].write_bytes(make().make_variant(name, 2050, 1031))
    kinds.append(tmp_path / "small_nonint.jpg")
    kinds[-1].write_bytes(make().make_variant("asm_gray_nonint_scale_le"))  # map scale 2.5
    for job, src, dst in (("still", STILL, "o.jpg"), ("proxy", CLIP, "p.mp4"), ("analyze", CLIP, "-"),
                          ("still", large, "large.jpg"), ("still", PHOTOSHOP, "small_gamma.jpg"),
                          *(("still", k, k.name) for k in kinds)):
        out = _work(cache, job, src, tmp_path / dst)
        compiled = {k: n for k, n in out["misses"].items() if n}
        assert out["misses"] and not compiled, (job, src, compiled)  # nothing compiled
        assert out["hits"] > 0, job
    # the other commands and options that run kernels: Ultra HDR writing (stills and key frames),
    # key frames, and a delivery from a PQ master (its key frames, versions and QC)
    pq = ROOT / "samples" / "goldens" / "ci" / "clip_pq.mp4"
    for argv in (("still", str(STILL), "--ultrahdr", "-o", str(tmp_path / "u.jpg")),
                 ("keyframes", str(CLIP), "-o", str(tmp_path / "kf") + "/", "--limit", "2", "--no-progress"),
                 ("keyframes", str(CLIP), "--ultrahdr", "-o", str(tmp_path / "kfu") + "/", "--limit", "1",
                  "--no-progress"),
                 ("deliver", str(pq), "-o", str(tmp_path / "d") + "/", "--x265-preset", "ultrafast", "--no-progress")):
        out = _work_cli(cache, "-q", *argv)
        compiled = {k: n for k, n in out["misses"].items() if n}
        assert not compiled, (argv[:3], compiled)
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
    monkeypatch.setattr(be, "JOBS", (("kinds", "render", "samples/missing.jpg"),))
    log = tmp_path / "log.txt"
    with open(log, "w") as f:
        assert be.precompile(f) is False
    text = log.read_text()
    assert "not precompiling still: samples/missing.jpg" in text
    assert "precompiling no-such-command failed, its first run will compile:" in text
    assert "not precompiling kinds: samples/missing.jpg" in text
    assert not be.RECORD.exists()  # nothing recorded: the next install tries again


def _bytecode_current(py: Path) -> bool:
    """Whether ``py`` has the bytecode file an interpreter would read instead of compiling it."""
    pyc = Path(importlib.util.cache_from_source(str(py)))
    if not pyc.is_file():
        return False
    head, st = pyc.read_bytes()[:16], py.stat()
    return (head[:4] == importlib.util.MAGIC_NUMBER and int.from_bytes(head[4:8], "little") == 0
            and int.from_bytes(head[8:12], "little") == int(st.st_mtime) & 0xFFFFFFFF
            and int.from_bytes(head[12:16], "little") == st.st_size & 0xFFFFFFFF)


def test_precompile_writes_the_package_bytecode(tmp_path, monkeypatch):
    """An interpreter with ``PYTHONDONTWRITEBYTECODE`` set (CI machines, containers) compiled every
    module of the package from source in every process; it still reads bytecode that exists."""
    import shutil

    be = _backend()
    shutil.copytree(ROOT / "hdrkit", tmp_path / "hdrkit", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(be, "ROOT", tmp_path)
    monkeypatch.setattr(be, "RECORD", tmp_path / "precompiled.json")
    monkeypatch.setattr(be, "COMMANDS", ())
    monkeypatch.setattr(be, "JOBS", ())
    modules = sorted((tmp_path / "hdrkit").rglob("*.py"))
    assert len(modules) > 50 and not any(map(_bytecode_current, modules))
    with open(os.devnull, "w") as log:
        assert be.precompile(log) is True
    assert [m for m in modules if not _bytecode_current(m)] == []


def test_build_requirements_follow_the_switch(monkeypatch, tmp_path):
    be = _backend()
    monkeypatch.setattr(be, "RECORD", tmp_path / "none.json")  # never precompiled
    monkeypatch.delenv("HDRKIT_PRECOMPILE", raising=False)
    with_deps = be.get_requires_for_build_editable()
    assert any(r.startswith("numba") for r in with_deps) and any(r.startswith("av") for r in with_deps)
    assert not any(r.startswith("numba") for r in be.get_requires_for_build_editable({"precompile": "false"}))
    monkeypatch.setenv("HDRKIT_PRECOMPILE", "0")
    assert not any(r.startswith("numba") for r in be.get_requires_for_build_editable())


def test_editable_build_survives_a_precompile_that_raises(monkeypatch, tmp_path, capsys):
    be = _backend()
    monkeypatch.setattr(be, "RECORD", tmp_path / "none.json")
    monkeypatch.delenv("HDRKIT_PRECOMPILE", raising=False)

    def no_space(*args, **kwargs):
        raise OSError("no space left on device")

    monkeypatch.setattr(be, "precompile", no_space)
    monkeypatch.setattr(be._setuptools, "build_editable", lambda *args: "hdrkit.whl")
    assert be.build_editable(str(tmp_path)) == "hdrkit.whl"
    assert "hdrkit: not precompiling: OSError: no space left on device" in capsys.readouterr().err
