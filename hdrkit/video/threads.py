"""Threads around decoding: how many cores to use, and a prefetching iterator.

Decoding (PyAV), the compiled kernels (``nogil``) and encoding release the GIL, so a chain of
:func:`prefetch` iterators overlaps them on different cores; :func:`queue_depth` bounds the
memory the queues hold, and :func:`usable_cores` sizes the decoder's thread pool.
"""

from __future__ import annotations

import os
import queue
import threading
from typing import Callable, Iterable, Iterator, Sequence

__all__ = ["apply", "prefetch", "prefetch_mapped", "queue_depth", "usable_cores"]

_END = object()


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def queue_depth(frame_bytes: int, budget: int = 64 << 20, lo: int = 2, hi: int = 4) -> int:
    """How many decoded pictures of ``frame_bytes`` a prefetch queue holds: ``hi`` for small
    frames, fewer for large ones (a 2160p 10-bit picture is 25 MB), never under ``lo``."""
    return int(min(hi, max(lo, budget // max(int(frame_bytes), 1))))


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def prefetch(source: Callable[[], Iterable], depth: int = 4) -> Iterator:
    """Iterate ``source()`` in a background thread, ``depth`` items ahead of the consumer.

    Exceptions raised by the source are re-raised in the consumer; when the consumer stops
    early (break, exception, garbage collection) the thread is told to stop. Decoding
    (PyAV), the compiled kernels (``nogil``) and encoding release the GIL, so chained
    prefetches overlap them on different cores.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run():
        try:
            for item in source():
                ok = put(item)
                del item  # not held while the next one is made (a decoded 2160p picture is 25 MB)
                if not ok:
                    return
            put(_END)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, re-raised there
            put(_Failure(e))

    t = threading.Thread(target=run, daemon=True, name="hdrkit-prefetch")
    t.start()
    try:
        while True:
            box = [q.get()]  # handed over from the box: not held here while the consumer waits for the next
            if box[0] is _END:
                return
            if isinstance(box[0], _Failure):
                raise box[0].exc
            yield box.pop()
    finally:
        stop.set()
        t.join(timeout=5)


def prefetch_mapped(source: Callable[[], Iterable], *fns: Callable, depth: int = 4,
                    setups: Sequence[Callable[[], None] | None] = ()) -> Iterator:
    """``fn(item)`` for every item of ``source()``, or with several ``fns`` ``fns[-1](...
    fns[0](item))``: the source iterated in one thread, each function in a thread of its own,
    each ``depth`` items ahead (e.g. decoding, then colour work, while the consumer encodes).
    ``setups[k]``, when given and not None, runs first in the thread of ``fns[k]`` (a
    per-thread setting, such as how many cores its compiled kernels use). A thread is stopped
    before the one it feeds ends, on a failure too, so no thread goes on reading a file after
    its owner has seen the error and closed it."""
    if not fns:
        raise TypeError("prefetch_mapped needs at least one function")

    def stage(src: Callable[[], Iterable], fn: Callable, setup: Callable[[], None] | None) -> Callable[[], Iterator]:
        def mapped():
            if setup is not None:
                setup()
            inner = prefetch(src, depth)
            try:
                yield from apply(inner, fn)
            finally:
                inner.close()
        return mapped

    for k, fn in enumerate(fns):
        source = stage(source, fn, setups[k] if k < len(setups) else None)
    return prefetch(source, depth)


def apply(items: Iterable, fn: Callable) -> Iterator:
    """``fn(item)`` for each of ``items``, holding no item while the next one is made (a decoded
    2160p picture is 25 MB, and one held makes the decoder allocate another)."""
    for item in items:
        out = [fn(item)]
        del item
        yield out.pop()
