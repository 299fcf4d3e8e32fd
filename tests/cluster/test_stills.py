"""Still batches on a two-worker LocalCluster: the same bytes as in-process, failures per file,
resuming, a killed worker, workers that cannot see the input."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import pytest

from hdrkit.cluster import ClusterError, check_visible, parse_cluster, still_memory_mb
from hdrkit.errors import OptionError
from hdrkit.still.export import export_sdr

from .conftest import ROOT, hdrkit_cli, kill_worker_when_running

SAMPLES = ROOT / "samples" / "ultrahdr"
GOOD = ["apple_gainmap_new.jpg", "libultrahdr_minnie_ultrahdr_sys.jpg", "photoshop_seine_sdr_gainmap_srgb.jpg"]
BAD = "NEGATIVE_truncated_pillow_ultrahdr.jpg"


def sha(p) -> str:
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("stills-in")
    for name in GOOD + [BAD]:
        shutil.copy(SAMPLES / name, d / name)
    return d


@pytest.fixture(scope="module")
def reference(batch, tmp_path_factory) -> dict[str, str]:
    """sha256 of the in-process exports."""
    out = tmp_path_factory.mktemp("stills-ref")
    for name in GOOD:
        export_sdr(batch / name, out / name)
    return {name: sha(out / name) for name in GOOD}


def test_parse_cluster():
    assert parse_cluster("local") == ("local", None)
    assert parse_cluster("local:3") == ("local", 3)
    assert parse_cluster("tcp://10.0.0.2:8786") == ("tcp://10.0.0.2:8786", None)
    for bad in ("local:0", "local:x", "", "nowhere"):
        with pytest.raises(OptionError):
            parse_cluster(bad)


def test_memory_rule():
    assert 400 <= still_memory_mb(12_000_000) <= 500
    assert still_memory_mb(0) == 64


def test_cli_batch_matches_in_process(client, batch, reference, tmp_path):
    # the command starts its own LocalCluster; the module's cluster is for the API tests
    out = tmp_path / "out"
    p = hdrkit_cli("still", batch, "-o", f"{out}/", "--cluster", "local:2", "--json", tmp_path / "r.json")
    assert p.returncode == 2, p.stderr  # the truncated file fails, the others go on
    assert {f.name: sha(f) for f in out.iterdir()} == reference
    errors = [ln for ln in p.stderr.splitlines() if ln.startswith("hdrkit: error: ")]
    assert errors == [f"hdrkit: error: {batch / BAD}: the primary image is truncated: its data ends before the "
                      "end-of-image marker"]
    assert "3 exported, 0 skipped (output already there), 1 failed, of 4" in p.stdout
    import json

    report = json.loads((tmp_path / "r.json").read_text())
    assert [Path(e["src"]).name for e in report] == sorted(GOOD + [BAD])  # input order, not finishing order
    # resume: nothing left to do but the file that fails
    (out / GOOD[0]).unlink()
    p = hdrkit_cli("still", batch, "-o", f"{out}/", "--cluster", "local:2", "--skip-existing")
    assert "1 exported, 2 skipped (output already there), 1 failed, of 4" in p.stdout, p.stderr
    assert {f.name: sha(f) for f in out.iterdir()} == reference


def test_api_streams_results(client, batch, reference, tmp_path):
    from hdrkit.cluster.stills import export_stills

    pairs = [(batch / n, tmp_path / n) for n in GOOD + [BAD]]
    got = {src.name: r for src, _dst, r in export_stills(pairs, export_sdr, {}, client=client)}
    assert isinstance(got[BAD], Exception) and str(got[BAD]).startswith(str(batch / BAD))
    assert {n: sha(tmp_path / n) for n in GOOD} == reference
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(GOOD)  # no temporary file left


def _slow_export(src, dst, *, marker: str, **kw):
    """The export, after saying which process runs it and waiting to be killed (first attempt only)."""
    m = Path(marker)
    if not m.exists():
        m.write_text(str(os.getpid()))
        time.sleep(30)
    return export_sdr(src, dst, **kw)


def test_killed_worker_loses_no_work(client, batch, reference, tmp_path):
    from hdrkit.cluster.stills import export_stills

    marker = tmp_path / "running.pid"
    out = tmp_path / "out"
    out.mkdir()
    pairs = [(batch / n, out / n) for n in GOOD]
    it = export_stills(pairs, _slow_export, {"marker": str(marker)}, client=client)
    killer = kill_worker_when_running(client, marker)
    results = {src.name: r for src, _dst, r in it}
    killer.join()
    assert killer.killed  # a worker died mid-task
    assert not any(isinstance(r, BaseException) for r in results.values()), results
    assert {n: sha(out / n) for n in GOOD} == reference
    assert sorted(p.name for p in out.iterdir()) == sorted(GOOD)
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker


def test_worker_cannot_see_input(client, tmp_path):
    with pytest.raises(ClusterError, match="cannot see"):
        check_visible(client, [tmp_path / "only-here.jpg"])
    check_visible(client, [SAMPLES / GOOD[0]])


@pytest.mark.slow  # waits out the 10 s connection timeout
def test_unreachable_scheduler_is_one_line(tmp_path):
    p = hdrkit_cli("still", SAMPLES / GOOD[0], "-o", tmp_path / "x.jpg", "--cluster", "tcp://127.0.0.1:9")
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [p.stderr.strip()]
    assert p.stderr.startswith("hdrkit: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert not (tmp_path / "x.jpg").exists()
