"""A two-worker Dask LocalCluster per test module (starting one takes a second or two)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("distributed")
    from hdrkit.cluster import cluster_client

    with cluster_client("local:2") as c:
        c.wait_for_workers(2, timeout=60)
        yield c


def hdrkit_cli(*args, timeout=300):
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "hdrkit", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


def kill_worker_when_running(client, marker: Path):
    """A started thread that kill -9s the worker process whose pid a task writes to ``marker``
    (checked to be one of ``client``'s workers, as ``client.run(os.getpid)`` lists them)."""
    import signal
    import threading
    import time

    pids = set(client.run(os.getpid).values())
    killed = []

    def run():
        t0 = time.monotonic()
        while not marker.exists() or not marker.read_text():
            if time.monotonic() - t0 > 60:
                return
            time.sleep(0.05)
        pid = int(marker.read_text())
        if pid in pids:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    t = threading.Thread(target=run)
    t.killed = killed
    t.start()
    return t
