"""Same input and options -> byte-identical output, in one process and across processes
(different hash seeds and kernel thread counts)."""

from __future__ import annotations

import os
import subprocess

from .conftest import ROOT, hdrkit_cmd, proxy_args, sha256


def _run(args, env_extra=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env_extra or {})}
    p = subprocess.run(hdrkit_cmd(*args), capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]


def test_export_twice_in_one_process(tmp_path, uhdr_sample, small_gainmap_jpeg):
    from hdrkit.still.export import export_sdr

    for name, src in (("sample", uhdr_sample), ("generated", small_gainmap_jpeg)):
        a, b = tmp_path / f"{name}_a.jpg", tmp_path / f"{name}_b.jpg"
        export_sdr(src, a)
        export_sdr(src, b)
        assert a.read_bytes() == b.read_bytes()


def test_export_in_separate_processes(tmp_path, uhdr_sample):
    outs = []
    for i, env in enumerate(({"PYTHONHASHSEED": "1"}, {"PYTHONHASHSEED": "999", "NUMBA_NUM_THREADS": "1"},
                             {"PYTHONHASHSEED": "7", "OMP_NUM_THREADS": "2"})):
        out = tmp_path / f"p{i}.jpg"
        _run(["still", uhdr_sample, "-o", out, "--preset", "portrait"], env)
        outs.append(sha256(out))
    assert len(set(outs)) == 1


def test_batch_matches_single_exports(tmp_path, samples):
    """A batch run (one process, many images) writes the same bytes as one-by-one runs."""
    srcs = sorted((samples / "ultrahdr").glob("*.jpg"))
    good = [s for s in srcs if not s.name.startswith("NEGATIVE")]
    folder = tmp_path / "in"
    folder.mkdir()
    for s in good:
        (folder / s.name).write_bytes(s.read_bytes())
    _run(["still", folder, "-o", f"{tmp_path / 'batch'}/"])
    for s in good:
        single = tmp_path / f"single_{s.stem}.jpg"
        _run(["still", folder / s.name, "-o", single])
        assert sha256(single) == sha256(tmp_path / "batch" / f"{s.stem}.jpg"), s.name


def test_proxy_twice(tmp_path, hlg_clip):
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    _run(proxy_args(hlg_clip, a))
    _run(proxy_args(hlg_clip, b), {"PYTHONHASHSEED": "5"})
    assert sha256(a) == sha256(b)
