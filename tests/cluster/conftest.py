"""A two-worker Dask LocalCluster per test module (starting one takes a second or two)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    from hdrkit.cluster import cluster_client

    with cluster_client("local:2") as c:
        c.wait_for_workers(2, timeout=60)
        yield c


def hdrkit_cli(*args, timeout=300):
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "hdrkit", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)
