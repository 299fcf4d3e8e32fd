"""Running hdrkit's work on a Dask distributed cluster.

Dask (``pip install "hdrkit[cluster]"``) is imported only when a cluster is asked for, so
an in-process run starts as fast as before.

Where the work runs (:func:`cluster_client`):

``local`` / ``local:N``
    A :class:`distributed.LocalCluster` on this machine with ``N`` worker *processes*
    (default: the usable cores), one thread each. Processes, because the colour kernels,
    the JPEG codec and PyAV hold the GIL for part of their work and a process per core is
    what scales; one thread each, because every task already uses what it needs (a
    still export fills one core; a video chunk decodes on its own threads), so two tasks
    in one process would only share a core and double the memory.
``tcp://HOST:PORT`` (or any address :class:`distributed.Client` takes)
    Join a running scheduler (``dask scheduler`` with ``dask worker`` processes).
a ``client`` argument, or an active Dask client
    The library functions take ``client=``; without one, the client the caller made
    current (``distributed.default_client``) is used when one exists. Nothing is
    distributed otherwise.

Inputs and outputs are paths: every worker must reach them under the same names (a shared
filesystem). :func:`check_visible` refuses, before any work is submitted, an input that
a worker cannot see.

Memory rule: a task that needs ``m`` MB asks for the worker resource ``MEMORY_MB=m``
(:func:`memory_request`); a worker offering ``MEMORY_MB=M`` runs tasks only while their
requests sum to at most ``M``. Local clusters offer 80 % of each worker's memory limit
(the machine's memory divided among the workers); remote workers offer what they are
started with (``dask worker --resources MEMORY_MB=6000 --memory-limit 8GB``). Workers
that offer no ``MEMORY_MB`` get no such limit (one task per thread). A still export
needs about :func:`still_memory_mb` (about 450 MB at 12 MP), a video chunk (measuring or
rendering and encoding it) about :func:`chunk_memory_mb` (about 690 MB at 1080p).

References
----------
- Dask distributed documentation: "Worker Resources", "Worker Memory Management",
  "Futures" (``as_completed``, ``retries``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
from pathlib import Path

from ..errors import HdrkitError, OptionError

__all__ = ["ClusterError", "MEMORY_RESOURCE", "cluster_client", "current_client", "parse_cluster", "check_visible",
           "memory_requests", "still_memory_mb", "chunk_memory_mb", "keyframe_memory_mb", "run_task",
           "lost_scheduler_error", "is_lost_scheduler", "gather_as_completed", "TASK_RETRIES"]

#: The Dask worker resource that bounds the memory of the tasks a worker runs at once (MB).
MEMORY_RESOURCE = "MEMORY_MB"
#: Share of a local worker's memory limit offered as :data:`MEMORY_RESOURCE` (the rest: the
#: worker process itself and Dask's own bookkeeping).
LOCAL_MEMORY_SHARE = 0.8
#: Times a task raising an unexpected exception is run again (on any worker). A task whose
#: worker dies is rescheduled by Dask itself (``distributed.scheduler.allowed-failures``).
TASK_RETRIES = 1
_CONNECT_TIMEOUT = "10s"
_WORKER_WAIT_SECONDS = 30
_CHATTY_LOGGERS = ("distributed", "distributed.client", "distributed.utils", "distributed.comm", "tornado",
                   "tornado.application", "asyncio")


class ClusterError(HdrkitError):
    """The cluster cannot be reached, was lost, or cannot see the files."""


def parse_cluster(spec: str) -> tuple[str, int | None]:
    """``"local"`` / ``"local:N"`` -> ``("local", N or None)``; an address -> ``(address, None)``.

    Raises
    ------
    OptionError
        ``local:N`` with N not a positive integer, or an empty spec.
    """
    spec = str(spec).strip()
    if not spec:
        raise OptionError("--cluster wants local, local:N or a scheduler address such as tcp://HOST:8786")
    if spec == "local" or spec.startswith("local:"):
        n = spec.partition(":")[2]
        if not n:
            return "local", None
        if not n.isdigit() or int(n) < 1:
            raise OptionError(f"--cluster local:N wants a positive number of workers, not {n!r}")
        return "local", int(n)
    if "://" not in spec and ":" not in spec:
        raise OptionError(f"--cluster {spec!r}: give local, local:N or a scheduler address such as tcp://HOST:8786")
    return spec, None


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise OptionError('running on a cluster needs Dask: pip install "hdrkit[cluster]"') from None
    return distributed


def current_client():
    """The Dask client the caller made current, or None (Dask is not imported for this)."""
    if "distributed" not in sys.modules:  # nobody made a client: do not pay for importing Dask
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None


@contextlib.contextmanager
def cluster_client(cluster: str | None = None, client=None):
    """A Dask client for the work, or None for in-process work (see the module docstring).

    ``client`` wins; else ``cluster`` (``local[:N]`` or a scheduler address) makes one, closed
    (with its local cluster) on exit; else the current client, or None.

    Raises
    ------
    ClusterError
        The scheduler cannot be reached.
    OptionError
        A bad ``cluster`` spec, or Dask not installed.
    """
    if client is not None:
        yield client
        return
    if cluster is None:
        yield current_client()
        return
    where, n = parse_cluster(cluster)
    distributed = _import_distributed()
    # Dask's chatter (start, stop, reconnection tracebacks) is not the command's output: what
    # matters reaches the caller as an exception or a result
    quiet = [logging.getLogger(name) for name in _CHATTY_LOGGERS]
    levels = [q.level for q in quiet]
    for q in quiet:
        q.setLevel(logging.CRITICAL + 1)
    try:
        with _client(distributed, where, n) as c:
            yield c
    finally:
        for q, level in zip(quiet, levels):
            q.setLevel(level)


@contextlib.contextmanager
def _client(distributed, where: str, n: int | None):
    if where == "local":
        from ..video.decode import usable_cores

        n = n or usable_cores()
        mem = _machine_memory() // n
        lc = distributed.LocalCluster(n_workers=n, processes=True, threads_per_worker=1, memory_limit=mem,
                                      resources={MEMORY_RESOURCE: int(mem * LOCAL_MEMORY_SHARE / 2**20)},
                                      dashboard_address=":0",  # its HTTP routes on any free port
                                      scheduler_kwargs={"dashboard": False},
                                      silence_logs=logging.CRITICAL)
        try:
            with distributed.Client(lc, set_as_default=False) as c:  # the caller's current client stays theirs
                yield c
        finally:
            lc.close()
        return
    try:
        c = distributed.Client(where, timeout=_CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as e:
        raise ClusterError(f"cannot reach the Dask scheduler at {where} ({e})") from None
    try:
        yield c
    finally:
        with contextlib.suppress(Exception):  # a lost scheduler: nothing left to close
            c.close(timeout=5)


def _machine_memory() -> int:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except ImportError:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def run_task(func, *args, **kwargs):
    """On a worker: ``func(*args, **kwargs)``, or the hdrkit / OS error it raised, returned rather
    than raised (a bad file is an answer, not a reason to run the task again elsewhere)."""
    try:
        return func(*args, **kwargs)
    except (HdrkitError, OSError) as e:
        return e


def _missing(paths: list[str]) -> list[str]:
    return [p for p in paths if not os.path.exists(p)]


def check_visible(client, paths, what: str = "input") -> None:
    """Refuse when a worker cannot see one of ``paths`` (each exists here, on the caller's machine).

    Runs ``os.path.exists`` on every worker (``client.run``) before any work is submitted.

    Raises
    ------
    ClusterError
        Names the first missing path and the workers that miss it; or no worker joined
        within 30 s.
    """
    paths = [os.path.abspath(os.fspath(p)) for p in paths]
    if not client.scheduler_info().get("workers"):
        try:  # workers of a fresh cluster may still be connecting
            client.wait_for_workers(1, timeout=_WORKER_WAIT_SECONDS)
        except (TimeoutError, OSError):
            raise ClusterError(f"the Dask cluster has no worker (waited {_WORKER_WAIT_SECONDS} s)") from None
    if not paths:
        return
    seen = client.run(_missing, paths)
    blind = {w: m for w, m in seen.items() if m}
    if blind:
        first = next(iter(blind.values()))[0]
        raise ClusterError(f"{len(blind)} of {len(seen)} Dask worker(s) cannot see this {what} "
                           f"(e.g. {', '.join(sorted(blind)[:2])}); inputs and outputs must be on a filesystem every "
                           "worker reaches under the same path", path=first)


def still_memory_mb(pixels: int) -> int:
    """Peak memory (MB) of one still export of ``pixels`` pixels: 64 MB plus 32 bytes a pixel
    (decoded base and gain map, linear float32 working copies, the rendered 8-bit image and
    the encoded JPEG): 448 MB at 12 MP, above the 419 MB peak resident size measured for a
    whole process exporting a 12 MP Ultra HDR JPEG (``scripts/bench.py --only memory``)."""
    return int(math.ceil(64 + 32 * max(int(pixels), 0) / 1e6))


def chunk_memory_mb(pixels: int) -> int:
    """Peak memory (MB) of one video chunk task on frames of ``pixels`` pixels (after any
    scaling): 64 MB plus 300 bytes a pixel. The decoder's reference pictures and frame
    threads, the short decode and render queues, and above all libx264 at the proxy's
    settings (preset medium: 40 frames of look-ahead, B-frames, references, one frame per
    encoding thread): a process rendering a 1080p chunk grew by 461 MB (peak resident size,
    2 cores; 542 MB with x264's frame threads), a 320x180 one by 13 MB; the rule gives 686 MB
    and 82 MB, and 2.5 GB at 2160p. x264 runs more threads on more cores: give such workers a
    larger ``MEMORY_MB`` margin."""
    return int(math.ceil(64 + 300 * max(int(pixels), 0) / 1e6))


def keyframe_memory_mb(pixels: int) -> int:
    """Peak memory (MB) of one task exporting the key frames of a video chunk, frames of
    ``pixels`` pixels: a still export's (:func:`still_memory_mb`) plus 16 bytes a pixel for
    the decoder's pictures (key frames only, so no reference chain: a few frame-thread
    pictures of 10-bit 4:2:0, 3 bytes a pixel each): 165 MB at 1080p, above the 114 MB a
    process grew by exporting the eight key frames of a 1080p PQ clip."""
    return still_memory_mb(pixels) + int(math.ceil(16 * max(int(pixels), 0) / 1e6))


def _worker_capacity(client) -> list[float]:
    return [float((w.get("resources") or {}).get(MEMORY_RESOURCE, 0))
            for w in client.scheduler_info().get("workers", {}).values()]


def memory_requests(client, mbs) -> list[dict | None]:
    """The ``resources=`` of tasks needing ``mbs`` MB each: None when some worker offers no
    :data:`MEMORY_RESOURCE` (no memory accounting then), else the request, capped at the
    largest offer (such a task then runs alone on that worker rather than never)."""
    cap = _worker_capacity(client)
    if not cap or min(cap) <= 0:
        return [None for _ in mbs]
    return [{MEMORY_RESOURCE: min(float(mb), max(cap))} for mb in mbs]


def lost_scheduler_error(pending: int) -> ClusterError:
    """The one-line error of a run whose scheduler went away with ``pending`` tasks unfinished."""
    return ClusterError(f"lost the Dask scheduler with {pending} task(s) unfinished; outputs already written are "
                        "complete: run the command again (with --skip-existing for stills) to finish")


def is_lost_scheduler(e: BaseException) -> bool:
    """True for the exceptions Dask raises when the scheduler is gone."""
    from distributed.comm.core import CommClosedError

    return isinstance(e, (CommClosedError, OSError, TimeoutError)) or "Cancelled" in type(e).__name__


def path_on_workers(p) -> str:
    """``p`` as the absolute path workers are given (they may run in another working folder)."""
    return str(Path(p).absolute())


def gather_as_completed(client, futures: dict, bar=None, weight=None) -> dict:
    """Results of ``futures`` ({future: key}) by key, as they finish (``bar.update`` with
    ``weight(result)`` or 1 for each). The first failure cancels
    the rest and is raised: an hdrkit / OS error as the task returned it, a lost scheduler or a
    task whose workers kept dying as :class:`~hdrkit.cluster.ClusterError`."""
    from distributed import as_completed

    out = {}
    try:
        for f in as_completed(futures, loop=client.loop):
            if f.status == "cancelled":
                raise lost_scheduler_error(len(futures) - len(out))
            r = f.result()
            if isinstance(r, BaseException):
                raise r
            out[futures[f]] = r
            if bar is not None:
                bar.update(weight(r) if weight else 1)
    except BaseException as e:
        with contextlib.suppress(Exception):
            client.cancel(list(futures))
        if isinstance(e, (HdrkitError, OSError)) and not is_lost_scheduler(e):
            raise
        if isinstance(e, Exception):
            if is_lost_scheduler(e):
                raise lost_scheduler_error(len(futures) - len(out)) from None
            raise ClusterError(f"{type(e).__name__}: {e}") from None
        raise
    return out
