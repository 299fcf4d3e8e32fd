"""Fuzz campaign runner: worker processes, per-case timeout, memory limit, deduplicated failures.

The main process only schedules and watches; the cases run in worker processes, one job
(a target and a number of cases) at a time. Workers are forked, or spawned when this
process already runs numba's OpenMP threads (which abort a forked child).
For every case a worker picks a seed (the corpus, or an input it kept because it
behaved in a new way), mutates it (:mod:`tools.fuzz.mutators`), stores it in its
"current case" file, and calls the target:

- return or :class:`~hdrkit.errors.HdrkitError` -> fine (counted as accepted / refused);
- any other exception, including :class:`~tools.fuzz.targets.PropertyViolation`,
  ``MemoryError`` and ``RecursionError`` -> a failure;
- longer than ``timeout`` (2 s): SIGALRM in the worker stops it with a traceback (a
  failure of kind ``timeout``); a case stuck in native code past ``timeout`` + 3 s is
  killed by the main process (``hang``);
- the worker dies (segfault, abort) -> ``crash``; a case makes the worker's RSS grow by
  more than ``rss_limit_mb`` over what it held when it started (the per-case peak from
  /proc VmHWM, reset after every case, or RSS polled by the main process, which then
  kills it) -> ``memory``. The input of a dead worker comes from its current-case file;
  the worker is restarted.

Failures are deduplicated by (target, exception type, innermost frame); each distinct
one keeps up to three inputs in ``crash_dir/<target>/`` with a ``.txt`` traceback.

Feedback: by default a worker keeps inputs whose outcome (accepted, or the refusal's
type and message with numbers masked) it has not seen before; ``coverage=True`` keeps
inputs that reach new lines of hdrkit's own code (``sys.settrace``; slower).
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing as mp
import os
import random
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import wait as mp_wait
from pathlib import Path

import hdrkit
from hdrkit.errors import HdrkitError

from .targets import TARGETS, Target, available_targets

__all__ = ["FuzzConfig", "Failure", "TargetStats", "FuzzReport", "run_campaign", "replay", "CaseTimeout"]

_PAGE = os.sysconf("SC_PAGE_SIZE")
_HDRKIT_DIR = str(Path(hdrkit.__file__).resolve().parent)
_FUZZ_DIR = str(Path(__file__).resolve().parent)


class CaseTimeout(BaseException):
    """Raised inside a worker by SIGALRM when one case runs past the timeout."""


@dataclass
class FuzzConfig:
    """What a campaign runs. ``cases`` and ``seconds`` both bound it (None = no bound)."""

    targets: list[str] = field(default_factory=lambda: list(TARGETS))
    cases: int | None = 10_000
    seconds: float | None = None
    seed: int = 1
    jobs: int = 2
    timeout: float = 2.0
    rss_limit_mb: int = 2048
    crash_dir: Path | None = Path("fuzz-crashes")
    coverage: bool = False
    minimize: bool = False
    job_seconds: float = 0.25
    progress: bool = False
    stop_after_failures: int | None = None  # end the campaign after this many failing cases


@dataclass
class Failure:
    """One failing case. ``kind``: exception | property | timeout | hang | crash | memory."""

    target: str
    kind: str
    exc_type: str
    message: str
    frame: str
    traceback: str
    data: bytes
    seconds: float = 0.0

    @property
    def signature(self) -> tuple[str, str, str]:
        return self.target, self.exc_type, self.frame

    def describe(self) -> str:
        return f"[{self.target}] {self.kind}: {self.exc_type} at {self.frame}: {self.message[:160]}"


@dataclass
class TargetStats:
    cases: int = 0
    accepted: int = 0
    refused: int = 0
    failures: int = 0
    seconds: float = 0.0
    slowest: float = 0.0
    slowest_len: int = 0
    refusals: Counter = field(default_factory=Counter)
    jit_compiles: int = 0
    slowest_data: bytes | None = field(default=None, repr=False)

    def add(self, other: dict) -> None:
        self.jit_compiles += other.get("jit_compiles", 0)
        self.cases += other["cases"]
        self.accepted += other["accepted"]
        self.refused += other["refused"]
        self.failures += other["failures"]
        self.seconds += other["seconds"]
        if other["slowest"] > self.slowest:
            self.slowest, self.slowest_len = other["slowest"], other["slowest_len"]
        self.refusals.update(other["refusals"])
        if other.get("slowest_data") is not None and other["slowest"] >= self.slowest:
            self.slowest_data = other["slowest_data"]


@dataclass
class FuzzReport:
    stats: dict[str, TargetStats]
    failures: dict[tuple, list]  # signature -> [first Failure, count, saved paths]
    skipped: dict[str, str]
    wall: float
    jobs: int
    seed: int
    peak_rss_mb: float = 0.0
    main_rss_mb: float = 0.0
    worker_restarts: int = 0
    harness_error: str | None = None  # the campaign could not run as asked (workers cannot start)

    @property
    def cases(self) -> int:
        return sum(s.cases for s in self.stats.values())

    @property
    def failure_count(self) -> int:
        return sum(v[1] for v in self.failures.values())

    @property
    def slowest(self) -> tuple[str, float, int]:
        if not self.stats:
            return "-", 0.0, 0
        name, s = max(self.stats.items(), key=lambda kv: kv[1].slowest)
        return name, s.slowest, s.slowest_len

    def to_dict(self) -> dict:
        name, sl, sl_len = self.slowest
        return {
            "cases": self.cases, "seconds": round(self.wall, 2), "cases_per_s": round(self.cases / max(self.wall, 1e-9), 1),
            "jobs": self.jobs, "seed": self.seed, "distinct_failures": len(self.failures), "failures": self.failure_count,
            "slowest_case": {"target": name, "seconds": round(sl, 4), "input_bytes": sl_len},
            "peak_rss_mb": round(self.peak_rss_mb, 1), "main_rss_mb": round(self.main_rss_mb, 1),
            "worker_restarts": self.worker_restarts,
            "harness_error": self.harness_error,
            "jit_compiles": sum(s.jit_compiles for s in self.stats.values()),
            "targets": {k: {"cases": s.cases, "accepted": s.accepted, "refused": s.refused, "failures": s.failures,
                            "mean_ms": round(1000 * s.seconds / max(s.cases, 1), 3), "slowest_ms": round(1000 * s.slowest, 1),
                            "top_refusals": dict(s.refusals.most_common(4))} for k, s in self.stats.items()},
            "skipped": self.skipped,
            "distinct": [{"target": f.target, "kind": f.kind, "type": f.exc_type, "frame": f.frame, "message": f.message[:300],
                          "count": n, "inputs": [str(p) for p in paths]} for f, n, paths in self.failures.values()],
        }

    def format(self) -> str:
        lines = []
        rate = self.cases / max(self.wall, 1e-9)
        lines.append(f"hdrkit fuzz: {self.cases} cases in {self.wall:.1f} s ({rate:.0f} cases/s), {self.jobs} workers, "
                     f"seed {self.seed}")
        lines.append(f"  {'target':<12} {'cases':>8} {'accepted':>9} {'refused':>8} {'failures':>8} {'mean ms':>8} "
                     f"{'slowest ms':>10}")
        for k, s in self.stats.items():
            lines.append(f"  {k:<12} {s.cases:>8} {s.accepted:>9} {s.refused:>8} {s.failures:>8} "
                         f"{1000 * s.seconds / max(s.cases, 1):>8.2f} {1000 * s.slowest:>10.1f}")
        for k, why in self.skipped.items():
            lines.append(f"  {k:<12} skipped: {why}")
        name, sl, sl_len = self.slowest
        lines.append(f"slowest case: {name}, {sl * 1000:.1f} ms ({sl_len} bytes)")
        lines.append(f"peak RSS: {self.peak_rss_mb:.0f} MB per worker, {self.main_rss_mb:.0f} MB main; "
                     f"worker restarts: {self.worker_restarts}")
        jit = sum(s.jit_compiles for s in self.stats.values())
        if jit:
            lines.append(f"numba compiled a new kernel specialisation in {jit} cases (compile untimed, case retimed)")
        lines.append(f"distinct failures: {len(self.failures)} ({self.failure_count} failing cases)")
        if self.harness_error:
            lines.append(f"FUZZER ERROR: {self.harness_error}")
        for f, n, paths in self.failures.values():
            lines.append(f"  {n:>6} x {f.describe()}")
            if paths:
                lines.append(f"           input: {paths[0]}")
        return "\n".join(lines)


# ---------------------------------------------------------------- classification
def _frame_of(tb) -> str:
    """Innermost frame as 'path:line in func', path relative to the package root's parent."""
    frames = [f for f in traceback.extract_tb(tb) if not (f.filename == __file__ and f.name == "_alarm")]
    if not frames:
        return "?"
    fr = frames[-1]
    root = str(Path(_HDRKIT_DIR).parent) + os.sep
    fn = fr.filename[len(root):] if fr.filename.startswith(root) else fr.filename
    return f"{fn}:{fr.lineno} in {fr.name}"


_MASK = re.compile(r"0x[0-9A-Fa-f]+|\d+(\.\d+)?|'[^']*'|\"[^\"]*\"|b'[^']*'")


def _behaviour(kind: str, e: BaseException | None) -> str:
    if e is None:
        return kind
    return f"{kind}:{type(e).__name__}:{_MASK.sub('#', str(e))[:80]}"


class _LineCoverage:
    """Lines of hdrkit (the package itself) reached; ``new`` says whether the last case added any."""

    def __init__(self):
        self.seen: set = set()
        self.new = False

    def _global(self, frame, event, arg):
        fn = frame.f_code.co_filename
        if fn.startswith(_HDRKIT_DIR) and not fn.startswith(_FUZZ_DIR):
            return self._local
        return None

    def _local(self, frame, event, arg):
        if event == "line":
            key = (frame.f_code, frame.f_lineno)
            if key not in self.seen:
                self.seen.add(key)
                self.new = True
        return self._local

    def __enter__(self):
        self.new = False
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc):
        sys.settrace(None)


_STATE = {"compiling": False, "shared": None}


def _in_numba(frame) -> bool:
    while frame is not None:
        if "/numba/" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


def _alarm(signum, frame):
    # Never interrupt numba while it compiles a new kernel specialisation: an exception
    # thrown into its compiler corrupts its registries for the rest of the process. The
    # compile happens once per process (then it is cached on disk); let it finish, and
    # the worker times the case again afterwards.
    if _in_numba(frame):
        _STATE["compiling"] = True
        if _STATE["shared"] is not None:
            _STATE["shared"][0] = time.monotonic()  # keep the main process's watchdog away
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        return
    raise CaseTimeout("case ran past the time limit")


def _peak_mb() -> float:
    """Peak RSS of this process image in MB: VmHWM (reset by :func:`_reset_peak`), else ru_maxrss."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return _maxrss_mb()


def _reset_peak() -> bool:
    """Reset the peak RSS to the current RSS (Linux >= 4.0, /proc/self/clear_refs '5')."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _rss_mb(pid: int | str = "self") -> float:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def run_one(target: Target, data: bytes, timeout: float | None = None, cov: _LineCoverage | None = None):
    """Run one case in this process: (kind, exception or None, seconds).

    kind: 'accepted' | 'refused' | 'exception' | 'property' | 'timeout'.
    """
    from .targets import PropertyViolation

    t0 = time.perf_counter()
    if timeout:
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        if cov is not None:
            with cov:
                target(data)
        else:
            target(data)
        kind, exc = "accepted", None
    except HdrkitError as e:
        kind, exc = "refused", e
    except CaseTimeout as e:
        kind, exc = "timeout", e
    except PropertyViolation as e:
        kind, exc = "property", e
    except (Exception, SystemExit) as e:  # noqa: BLE001 - everything else is a finding
        kind, exc = "exception", e
    finally:
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return kind, exc, time.perf_counter() - t0


def replay(target_name: str, data: bytes, timeout: float | None = 10.0) -> tuple[str, str]:
    """Run one input in this process; (kind, traceback text or '') for reproducing a crasher."""
    _quiet()
    t = TARGETS[target_name]
    prev = signal.signal(signal.SIGALRM, _alarm) if timeout else None
    try:
        kind, exc, dt = run_one(t, data, timeout)
    finally:
        if prev is not None:
            signal.signal(signal.SIGALRM, prev)
    tb = "".join(traceback.format_exception(exc)) if exc is not None else ""
    return kind, tb


def _quiet() -> None:
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    try:
        import av.logging

        av.logging.set_level(None)
    except Exception:  # noqa: BLE001 - PyAV's logging control is best effort
        pass


# --------------------------------------------------------------------- worker
def _worker(idx: int, conn, shared, targets: dict, corpora: dict, cfg: FuzzConfig, cur_path: str,
            skip_warm: frozenset) -> None:
    from .mutators import Mutator

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGALRM, _alarm)
    _STATE["shared"] = shared
    _quiet()
    base = _rss_mb()  # pages inherited from the parent count in a forked worker's RSS
    shared[4] = base
    peak = base
    can_reset = _reset_peak()
    limit = base + cfg.rss_limit_mb
    try:  # safety net above the polled limit: allocations past it fail with MemoryError
        cap = int(max(4 * cfg.rss_limit_mb, 4096) + base) * 2**20
        resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
    except (ValueError, OSError):
        pass
    from . import targets as targets_mod

    scratch = os.path.join(os.path.dirname(cur_path), f"scratch-{idx}-{os.getpid()}")
    os.makedirs(scratch, exist_ok=True)
    targets_mod._TMP[:] = [scratch]
    cov = _LineCoverage() if cfg.coverage else None
    seen: dict[str, set] = {n: set() for n in targets}
    pools: dict[str, list[bytes]] = {n: [] for n in targets}
    cur = open(cur_path, "w+b", buffering=0)

    def store(data: bytes) -> None:
        cur.seek(0)
        cur.write(data)
        cur.truncate(len(data))

    # First calls compile or load kernels: run each target once on its first seed, untimed
    # and uncounted, but watched like a case (a seed that fails is a finding too).
    names = list(corpora)
    for n, t in targets.items():
        if n in skip_warm:
            continue
        seed = corpora[n][0]
        shared[2] = names.index(n)
        store(seed)
        shared[0] = time.monotonic()
        kind, exc, dt = run_one(t, seed, None)
        shared[0] = 0.0
        if kind not in ("accepted", "refused"):
            conn.send(("fail", Failure(n, kind, type(exc).__name__, str(exc)[:2000], _frame_of(exc.__traceback__),
                                       "".join(traceback.format_exception(exc))[-8000:], seed, dt)))
        if _peak_mb() > limit:
            conn.send(("fail", Failure(n, "memory", "MemoryLimit", f"peak RSS grew {_peak_mb() - base:.0f} MB, over "
                                       f"the {cfg.rss_limit_mb} MB limit, on the first seed", "?", "", seed, dt)))
            conn.send(("warm_failed", n))
            return
        peak = max(peak, _peak_mb())
        can_reset = _reset_peak()
    conn.send(("ready", idx))
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg[0] == "stop":
            return
        if msg[0] == "minimize":
            _, name, data, sig = msg
            conn.send(("minimized", name, sig, _minimize(targets[name], data, sig, cfg.timeout)))
            continue
        _, name, n, jseed = msg
        t = targets[name]
        shared[2] = names.index(name)
        rng = random.Random(jseed)
        corpus = corpora[name]
        pool = pools[name]
        mut = Mutator(rng, corpus)
        st = {"cases": 0, "accepted": 0, "refused": 0, "failures": 0, "seconds": 0.0, "slowest": 0.0, "slowest_len": 0,
              "refusals": Counter(), "jit_compiles": 0}
        for i in range(n):
            shared[1] = i
            if shared[3] > 0:  # the campaign is stopping: end the job early
                break
            if pool and rng.random() < 0.3:
                seed = rng.choice(pool)
            else:
                seed = rng.choice(corpus)
            data = seed if rng.random() < 0.002 else mut.mutate(seed, t.mutator, t.max_len)
            store(data)
            shared[0] = time.monotonic()
            _STATE["compiling"] = False
            kind, exc, dt = run_one(t, data, cfg.timeout, cov)
            if _STATE["compiling"]:  # the time went into compiling a kernel: time the case again
                st["jit_compiles"] += 1
                _STATE["compiling"] = False
                shared[0] = time.monotonic()
                kind, exc, dt = run_one(t, data, cfg.timeout, cov)
            shared[0] = 0.0
            st["cases"] += 1
            st["seconds"] += dt
            if dt > st["slowest"]:
                st["slowest"], st["slowest_len"] = dt, len(data)
                st["slowest_data"] = data if dt > 0.05 else None
            if kind == "accepted":
                st["accepted"] += 1
            elif kind == "refused":
                st["refused"] += 1
                st["refusals"][type(exc).__name__] += 1
            else:
                st["failures"] += 1
                tb = "".join(traceback.format_exception(exc))
                conn.send(("fail", Failure(name, kind, type(exc).__name__, str(exc)[:2000], _frame_of(exc.__traceback__),
                                           tb[-8000:], data, dt)))
            b = _behaviour(kind, exc)
            new = b not in seen[name]
            if new:
                seen[name].add(b)
            if (new or (cov is not None and cov.new)) and len(data) <= t.max_len:
                if len(pool) < 256:
                    pool.append(data)
                else:
                    pool[rng.randrange(len(pool))] = data
            case_peak = _peak_mb()
            peak = max(peak, case_peak)
            if case_peak > limit:
                conn.send(("fail", Failure(name, "memory", "MemoryLimit", f"peak RSS grew {case_peak - base:.0f} MB, "
                                           f"over the {cfg.rss_limit_mb} MB limit", "?", "", data, dt)))
                st["failures"] += 1
                if not can_reset:  # the peak cannot be measured per case any more: start afresh
                    shared[1] = i + 1
                    conn.send(("done", name, st, peak))
                    conn.send(("restart", idx))
                    return
            if can_reset:
                _reset_peak()
        shared[1] = st["cases"]
        conn.send(("done", name, st, peak))


def _minimize(t: Target, data: bytes, sig: tuple, timeout: float, budget_s: float = 5.0) -> bytes:
    """Delta-debugging reduction keeping the failure signature (bounded by ``budget_s``)."""
    t_end = time.monotonic() + budget_s

    def same(d: bytes) -> bool:
        kind, exc, _ = run_one(t, d, timeout)
        return exc is not None and kind not in ("accepted", "refused") and \
            (t.name, type(exc).__name__, _frame_of(exc.__traceback__)) == sig

    cur = data
    chunk = max(1, len(cur) // 2)
    while chunk >= 1 and time.monotonic() < t_end:
        i = 0
        progressed = False
        while i < len(cur) and time.monotonic() < t_end:
            cand = cur[:i] + cur[i + chunk:]
            if cand != cur and same(cand):
                cur = cand
                progressed = True
            else:
                i += chunk
        if not progressed:
            chunk //= 2
    return cur


# ------------------------------------------------------------------------ main
class _Worker:
    def __init__(self, ctx, idx, targets, corpora, cfg, tmpdir, skip_warm):
        self.idx = idx
        self.cur_path = os.path.join(tmpdir, f"current-{idx}.bin")
        # [case start (monotonic, 0 = between cases), cases done in the job, target index, stop request,
        #  RSS in MB when the worker started]
        self.shared = ctx.RawArray("d", 5)
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(idx, child, self.shared, targets, corpora, cfg, self.cur_path,
                                                      skip_warm),
                                daemon=True)
        self.proc.start()
        child.close()
        self.job = None  # (target, n)
        self.ready = False
        self.peak_rss = 0.0

    def current_input(self) -> bytes:
        try:
            with open(self.cur_path, "rb") as f:
                return f.read()
        except OSError:
            return b""

    def kill(self):
        if self.proc.is_alive():
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.join(5)
        self.conn.close()


def _start_method() -> str:
    """'fork' (fast: workers share the corpora) unless this process already runs numba's
    GNU OpenMP thread pool, which aborts forked children ("fork() called from a process
    already using GNU OpenMP"); then 'spawn'."""
    if "fork" in mp.get_all_start_methods() and "numba.np.ufunc.omppool" not in sys.modules:
        return "fork"
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file is None or not os.path.exists(main_file):  # spawned children re-import __main__
        raise RuntimeError("this process already uses numba's OpenMP threads, so fuzz workers must be spawned, "
                           "which needs __main__ to be a file: run the campaign from a script or a fresh process")
    return "spawn"


def _signal_name(code: int | None) -> str:
    if code is None:
        return "unknown exit"
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit {code}"


def run_campaign(cfg: FuzzConfig, log=None) -> FuzzReport:
    """Run a campaign and return its report (failures saved under ``cfg.crash_dir``)."""
    from .corpus import build_corpus

    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    ready_targets, skipped = available_targets(cfg.targets)
    if not ready_targets:
        return FuzzReport({}, {}, skipped, 0.0, cfg.jobs, cfg.seed)
    corpora = {}
    for t in ready_targets:
        try:
            corpora[t.name] = [s[: t.max_len] for s in build_corpus(t.corpus)]
        except Exception as e:  # noqa: BLE001 - a corpus that cannot be built skips its target
            skipped[t.name] = f"seed corpus {t.corpus} could not be built ({type(e).__name__}: {e})"
    ready_targets = [t for t in ready_targets if t.name in corpora]
    weights = {t.name: t.weight for t in ready_targets}
    total_w = sum(weights.values())
    quota = {n: (max(1, round(cfg.cases * w / total_w)) if cfg.cases else None) for n, w in weights.items()}
    stats = {n: TargetStats() for n in weights}
    assigned = Counter()
    mean_case = {t.name: (0.05 if "decode" in t.tags else 0.002) for t in ready_targets}
    failures: dict[tuple, list] = {}
    crash_dir = Path(cfg.crash_dir) if cfg.crash_dir else None
    ctx = mp.get_context(_start_method())
    run_targets = {t.name: t for t in ready_targets}
    tmpdir = tempfile.mkdtemp(prefix="hdrkit-fuzz-")
    skip_warm: set[str] = set()
    startup_deaths = [0]
    harness_error: list[str | None] = [None]
    names = list(corpora)
    workers = [_Worker(ctx, i, run_targets, corpora, cfg, tmpdir, frozenset()) for i in range(max(1, cfg.jobs))]
    restarts = 0
    job_counter = Counter()
    peak_rss = 0.0
    t_start = time.monotonic()
    deadline = t_start + cfg.seconds if cfg.seconds else None
    last_progress = t_start
    to_minimize: list[tuple] = []
    minimized: dict[tuple, bytes] = {}

    def record(f: Failure):
        sig = f.signature
        entry = failures.get(sig)
        if entry is None:
            entry = failures[sig] = [f, 0, []]
            log(f"new failure: {f.describe()}")
            if cfg.minimize and f.kind in ("exception", "property", "timeout"):
                to_minimize.append((f.target, f.data, sig))
        entry[1] += 1
        if cfg.stop_after_failures and sum(v[1] for v in failures.values()) >= cfg.stop_after_failures:
            stop[0] = True
        if crash_dir is not None and len(entry[2]) < 3:
            d = crash_dir / f.target
            d.mkdir(parents=True, exist_ok=True)
            h = hashlib.sha1("|".join(sig).encode()).hexdigest()[:8]
            p = d / f"{f.kind}-{f.exc_type}-{h}-{hashlib.sha1(f.data).hexdigest()[:10]}.bin"
            p.write_bytes(f.data)
            p.with_suffix(".txt").write_text(f"target: {f.target}\nkind: {f.kind}\n{f.describe()}\n"
                                             f"case time: {f.seconds:.3f} s, {len(f.data)} bytes\n\n{f.traceback}\n"
                                             f"replay: python scripts/fuzz.py --target {f.target} --replay {p}\n")
            entry[2].append(p)

    stop = [False]

    def on_signal(signum, frame):  # Ctrl-C / SIGTERM: end the running jobs early, then report
        stop[0] = True

    old_handlers = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}

    def next_job():
        if stop[0] or (deadline and time.monotonic() >= deadline):
            return None
        cands = [n for n in weights if quota[n] is None or assigned[n] < quota[n]]
        if not cands:
            return None
        n = min(cands, key=lambda k: (assigned[k] / weights[k], k))
        size = max(1, min(2000, int(cfg.job_seconds / max(mean_case[n], 1e-5))))
        if quota[n] is not None:
            size = min(size, quota[n] - assigned[n])
        assigned[n] += size
        job_counter[n] += 1
        jseed = int.from_bytes(hashlib.sha256(f"{cfg.seed}:{n}:{job_counter[n]}".encode()).digest()[:8], "big")
        return n, size, jseed

    def finish_job(w: _Worker, st: dict | None, credited: int | None = None):
        name, n = w.job
        if st is not None:
            stats[name].add(st)
            if st["cases"]:
                mean_case[name] = 0.7 * mean_case[name] + 0.3 * (st["seconds"] / st["cases"])
            assigned[name] -= n - st["cases"]
        else:
            c = credited or 0
            stats[name].cases += c
            stats[name].failures += 1
            assigned[name] -= n - c
        w.job = None

    def replace_worker(w: _Worker) -> _Worker:
        nonlocal restarts
        restarts += 1
        w.kill()
        if restarts > 50 + cfg.jobs * 20 and restarts > 0.05 * sum(s.cases for s in stats.values()) and not stop[0]:
            log(f"fuzz workers keep dying ({restarts} restarts): stopping the campaign")
            stop[0] = True
        nw = _Worker(ctx, w.idx, run_targets, corpora, cfg, tmpdir, frozenset(skip_warm))
        workers[workers.index(w)] = nw
        return nw

    def died(w: _Worker, kind: str, exc_type: str, msg: str):
        data = w.current_input()
        in_case = w.shared[0] > 0
        if w.job is not None:
            name = w.job[0]
            record(Failure(name, kind, exc_type, msg, "?" if in_case else "between cases", "", data,
                           time.monotonic() - w.shared[0] if in_case else 0.0))
            finish_job(w, None, int(w.shared[1]) + 1)
        elif not w.ready and in_case:  # died on a target's first seed while warming up
            name = names[int(w.shared[2])]
            record(Failure(name, kind, exc_type, msg + " (on the first seed, while warming up)", "?", "", data, 0.0))
            skip_warm.add(name)
        elif not w.ready:  # died before running anything: the worker cannot start here
            startup_deaths[0] += 1
            if startup_deaths[0] >= 3:
                harness_error[0] = f"fuzz workers die on start-up ({msg}; start method {ctx.get_start_method()})"
                stop[0] = True
                return
        replace_worker(w)

    try:
        while True:
            now = time.monotonic()
            if stop[0]:
                for w in workers:
                    w.shared[3] = 1.0
            for w in list(workers):
                if w.ready and w.job is None and w.proc.is_alive():
                    job = next_job()
                    if job is not None:
                        w.job = (job[0], job[1])
                        w.shared[0] = 0.0
                        w.shared[1] = 0
                        w.conn.send(("job", *job))
            if harness_error[0]:
                break
            busy = [w for w in workers if w.job is not None or not w.ready]
            if not any(w.job is not None for w in workers) and (
                    stop[0] or next_job_possible(deadline, quota, assigned) is False):
                break
            if not busy:
                break
            ready = mp_wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=0.05)
            for w in list(workers):
                if w.conn in ready or w.proc.sentinel in ready:
                    try:
                        while w.conn.poll():
                            msg = w.conn.recv()
                            if msg[0] == "ready":
                                w.ready = True
                            elif msg[0] == "fail":
                                record(msg[1])
                            elif msg[0] == "done":
                                finish_job(w, msg[2])
                                w.peak_rss = max(w.peak_rss, msg[3])
                                peak_rss = max(peak_rss, msg[3])
                            elif msg[0] == "restart":
                                replace_worker(w)
                                break
                            elif msg[0] == "warm_failed":
                                skip_warm.add(msg[1])
                                replace_worker(w)
                                break
                    except (EOFError, OSError):
                        pass
                    if w in workers and not w.proc.is_alive():
                        died(w, "crash", _signal_name(w.proc.exitcode), f"worker died ({_signal_name(w.proc.exitcode)})")
            now = time.monotonic()
            for w in list(workers):
                if w not in workers or w.job is None:
                    continue
                start = w.shared[0]
                if start > 0 and now - start > cfg.timeout + 3.0:
                    died(w, "hang", "Hang", f"no return {now - start:.1f} s after the case started (killed)")
                    continue
                rss = _rss_mb(w.proc.pid)
                peak_rss = max(peak_rss, rss)
                if w.shared[4] and rss - w.shared[4] > cfg.rss_limit_mb:
                    died(w, "memory", "MemoryLimit", f"RSS grew {rss - w.shared[4]:.0f} MB, over the {cfg.rss_limit_mb} MB "
                         "limit (killed)")
            if cfg.progress and now - last_progress > 5:
                last_progress = now
                done = sum(s.cases for s in stats.values())
                log(f"... {done} cases, {done / (now - t_start):.0f}/s, {len(failures)} distinct failures")
        # minimize distinct failures on a free worker
        for name, data, sig in to_minimize:
            if stop[0]:
                break
            w = workers[0]
            if not w.ready or not w.proc.is_alive():
                break
            w.conn.send(("minimize", name, data, sig))
            if w.conn.poll(30):
                msg = w.conn.recv()
                minimized[sig] = msg[3]
                entry = failures[sig]
                if crash_dir is not None and entry[2]:
                    p = entry[2][0].with_name(entry[2][0].stem + "-min.bin")
                    p.write_bytes(msg[3])
                    entry[2].insert(0, p)
    finally:
        for sig, h in old_handlers.items():
            signal.signal(sig, h)
        for w in workers:
            try:
                if w.proc.is_alive():
                    w.conn.send(("stop",))
            except (OSError, BrokenPipeError):
                pass
        for w in workers:
            w.proc.join(3)
            if w.proc.is_alive():
                w.kill()
        shutil.rmtree(tmpdir, ignore_errors=True)
    wall = time.monotonic() - t_start
    if crash_dir is not None:
        for name, stt in stats.items():
            if stt.slowest_data is not None and stt.slowest > cfg.timeout / 4:
                d = crash_dir / name
                d.mkdir(parents=True, exist_ok=True)
                (d / f"slowest-{stt.slowest * 1000:.0f}ms.bin").write_bytes(stt.slowest_data)
    return FuzzReport({k: v for k, v in stats.items()}, failures, skipped, wall, len(workers), cfg.seed, peak_rss,
                      _maxrss_mb(), restarts, harness_error[0])


def next_job_possible(deadline, quota, assigned) -> bool:
    if deadline and time.monotonic() >= deadline:
        return False
    return any(q is None or assigned[n] < q for n, q in quota.items())


def report_json(report: FuzzReport) -> str:
    return json.dumps(report.to_dict(), indent=2)
