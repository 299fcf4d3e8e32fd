"""Fuzz smoke run (a few thousand cases across every available target) and checks that the
fuzz harness itself reports each kind of failure it promises to catch."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tools.fuzz import corpus as corpus_mod
from tools.fuzz import targets as targets_mod
from tools.fuzz.runner import FuzzConfig, run_campaign

SMOKE_CASES = int(os.environ.get("HDRKIT_FUZZ_SMOKE_CASES", "5000"))


def test_fuzz_smoke_no_failures(tmp_path):
    # the per-case limit is 2 s in campaigns (scripts/fuzz.py); here 4 s, so that a machine busy
    # with other work does not turn a slow case into a failure
    cfg = FuzzConfig(cases=SMOKE_CASES, seconds=90, seed=int(os.environ.get("HDRKIT_FUZZ_SEED", "1")), jobs=2,
                     timeout=4.0, crash_dir=tmp_path / "crashes")
    t0 = time.monotonic()
    rep = run_campaign(cfg, log=lambda s: None)
    print(rep.format())
    assert time.monotonic() - t0 < 150
    ran = {k for k, s in rep.stats.items() if s.cases}
    assert {"jpeg", "mpf", "xmp", "iso21496", "icc", "exif"} <= ran
    assert rep.cases >= min(SMOKE_CASES, 1000)
    assert not rep.failures, "\n".join(f.describe() + f"\n  input: {p[0] if p else '-'}"
                                       for f, n, p in rep.failures.values())


# ----------------------------------------------------------------- the harness itself
def _fake_raise(data: bytes):
    if len(data) % 5 == 0:
        raise ValueError("fake parser bug")
    if len(data) % 5 == 1:
        from hdrkit.errors import ContainerError

        raise ContainerError("fake refusal")


def _fake_sleep(data: bytes):
    if len(data) % 3 == 0:
        time.sleep(30)  # interruptible: the worker's own alarm stops it


def _fake_native_hang(data: bytes):
    if len(data) % 3 == 0:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})  # like a C call that ignores signals
        time.sleep(60)


def _fake_abort(data: bytes):
    if len(data) % 4 == 0:
        os.abort()


def _fake_memory(data: bytes):
    if len(data) % 4 == 0:
        b = bytearray(700 << 20)
        b[:: 4096] = b"\x01" * len(b[:: 4096])


@pytest.fixture()
def fake_targets(monkeypatch):
    fakes = {}
    for name, fn in (("fake_raise", _fake_raise), ("fake_sleep", _fake_sleep), ("fake_native_hang", _fake_native_hang),
                     ("fake_abort", _fake_abort), ("fake_memory", _fake_memory)):
        fakes[name] = targets_mod.Target(name, fn, "test", (), "fake", "bytes", 1.0, max_len=256)
    # the first seed (run once to warm up) trips none of the fakes: 41 % 3, 41 % 4 and 41 % 5 are not 0
    monkeypatch.setitem(corpus_mod.CORPORA, "fake", lambda: [bytes(range(41)), b"abcdefgh" * 3])
    for k, v in fakes.items():
        monkeypatch.setitem(targets_mod.TARGETS, k, v)
    return fakes


@pytest.mark.parametrize("name,kind", [("fake_raise", "exception"), ("fake_sleep", "timeout"),
                                       ("fake_native_hang", "hang"), ("fake_abort", "crash"),
                                       ("fake_memory", "memory")])
def test_harness_reports_each_failure_kind(fake_targets, tmp_path, name, kind):
    cfg = FuzzConfig(targets=[name], cases=120, seconds=40, jobs=1, timeout=0.5, rss_limit_mb=400,
                     crash_dir=tmp_path / "crashes", stop_after_failures=1)
    rep = run_campaign(cfg, log=lambda s: None)
    kinds = {f.kind for f, n, p in rep.failures.values()}
    assert kind in kinds, rep.format()
    f, n, paths = next(v for v in rep.failures.values() if v[0].kind == kind)
    assert paths and paths[0].exists()  # the failing input is kept
    data = paths[0].read_bytes()
    if kind == "exception":
        assert f.exc_type == "ValueError" and len(data) % 5 == 0 and "_fake_raise" in f.frame
        # an HdrkitError (len % 5 == 1) is a refusal, never a failure
        assert all(g.exc_type == "ValueError" for g, n, p in rep.failures.values())
    elif kind in ("timeout", "hang"):
        assert len(data) % 3 == 0
    else:
        assert len(data) % 4 == 0
    assert rep.cases >= 1
