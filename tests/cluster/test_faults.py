"""A lost scheduler: the command stops with one error line and a non-zero status, what it wrote
is complete, and a re-run with --skip-existing finishes the batch."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from .conftest import ROOT, hdrkit_cli

SAMPLE = ROOT / "samples" / "ultrahdr" / "photoshop_seine_sdr_gainmap_srgb.jpg"


def _start(args, **kw):
    return subprocess.Popen([sys.executable, "-m", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def test_lost_scheduler_then_resume(tmp_path):
    pytest.importorskip("distributed")
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    for i in range(30):
        shutil.copy(SAMPLE, inp / f"p{i:02d}.jpg")
    sf = tmp_path / "scheduler.json"
    sched = _start(["distributed.cli.dask_scheduler", "--scheduler-file", str(sf), "--port", "0",
                    "--dashboard-address", ":0"])
    worker = None
    try:
        t0 = time.monotonic()
        while not (sf.exists() and sf.read_text()) and time.monotonic() - t0 < 60:
            time.sleep(0.1)
        addr = json.loads(sf.read_text())["address"]
        worker = _start(["distributed.cli.dask_worker", addr, "--nthreads", "1", "--nworkers", "1"])
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cli = subprocess.Popen([sys.executable, "-m", "hdrkit", "still", str(inp), "-o", f"{out}/", "--cluster", addr],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        t0 = time.monotonic()
        while cli.poll() is None and time.monotonic() - t0 < 120 and len(list(out.glob("p*.jpg"))) < 3:
            time.sleep(0.05)
        os.kill(sched.pid, signal.SIGKILL)
        stdout, stderr = cli.communicate(timeout=120)
    finally:
        for p in (worker, sched):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    assert cli.returncode != 0
    errors = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(errors) == 1 and errors[0].startswith("hdrkit: error: lost the Dask scheduler with "), stderr
    written = sorted(p.name for p in out.iterdir())
    assert 3 <= len(written) < 30 and all(not n.startswith(".") for n in written)  # complete files only
    p = hdrkit_cli("still", inp, "-o", f"{out}/", "--cluster", "local:2", "--skip-existing")
    assert p.returncode == 0, p.stderr
    assert f"{30 - len(written)} exported, {len(written)} skipped" in p.stdout
    ref = out / "p00.jpg"
    assert len({(out / f"p{i:02d}.jpg").read_bytes() == ref.read_bytes() for i in range(30)}) == 1
