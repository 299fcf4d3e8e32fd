"""Progress reporting for long jobs, without any tie to the command line.

Library jobs (:func:`hdrkit.video.proxy.make_proxy`, :func:`hdrkit.video.analysis.analyze`,
:func:`hdrkit.video.keyframes.export_keyframes`) take a ``progress`` argument:

- ``False`` / ``None``: silent;
- ``True``: a tqdm bar on stderr when stderr is a terminal (what the CLI shows);
- a :class:`ProgressCallback`: called as ``callback(done, total)`` after every unit of work
  (``total`` is None when unknown), e.g. to drive a GUI or a log.

The job reports through :func:`reporter` (an object with ``update`` / ``close``) or
:func:`track` (wraps an iterable).
"""

from __future__ import annotations

import sys
from typing import Iterable, Iterator, Protocol, TypeVar, Union, runtime_checkable

__all__ = ["ProgressCallback", "Progress", "Reporter", "reporter", "track", "terminal_bar", "tqdm_callback"]

T = TypeVar("T")


@runtime_checkable
class ProgressCallback(Protocol):
    """Receives the number of units done so far and the total (None when unknown)."""

    def __call__(self, done: int, total: int | None) -> None: ...


#: What a job's ``progress`` argument accepts.
Progress = Union[bool, None, ProgressCallback]


def terminal_bar(iterable=None, **kw):
    """A tqdm bar on stderr, silent when stderr is not a terminal.

    Keyword arguments go to ``tqdm``; ``disable=False`` still stays silent off a terminal.
    A silent bar over an iterable is the iterable itself: no tqdm to import (10 ms of a
    small still's command).
    """
    kw.setdefault("disable", None if sys.stderr.isatty() else True)
    if kw["disable"] is False and not sys.stderr.isatty():
        kw["disable"] = True
    if kw["disable"] is True and iterable is not None:
        return iterable
    from tqdm import tqdm  # lazy: tqdm is only needed once a bar is shown

    return tqdm(iterable, file=sys.stderr, dynamic_ncols=True, **kw)


def tqdm_callback(desc: str, unit: str = "frame", leave: bool = True) -> ProgressCallback:
    """A :class:`ProgressCallback` drawing a :func:`terminal_bar` (created at the first call)."""
    state: dict = {}

    def callback(done: int, total: int | None) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = terminal_bar(total=total, desc=desc, unit=unit, leave=leave)
        bar.update(done - bar.n)
        if total is not None and done >= total:
            bar.close()

    callback.close = lambda: state["bar"].close() if "bar" in state else None  # type: ignore[attr-defined]
    return callback


class Reporter:
    """Counts units of work and passes the count to a callback; ``close`` ends a bar."""

    def __init__(self, callback: ProgressCallback | None, total: int | None):
        self.callback, self.total, self.done = callback, total, 0

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.callback is not None:
            self.callback(self.done, self.total)

    def close(self) -> None:
        close = getattr(self.callback, "close", None)
        if close is not None:
            close()


def reporter(progress: Progress, *, total: int | None, desc: str, unit: str = "frame",
             leave: bool = True) -> Reporter:
    """A :class:`Reporter` for a job's ``progress`` argument (see the module docstring).

    Raises
    ------
    TypeError
        ``progress`` is neither a bool, None nor callable.
    """
    if progress is None or progress is False:
        return Reporter(None, total)
    if progress is True:
        return Reporter(tqdm_callback(desc, unit, leave), total)
    if not callable(progress):
        raise TypeError(f"progress must be a bool or a callable(done, total), not {type(progress).__name__}")
    return Reporter(progress, total)


def track(iterable: Iterable[T], progress: Progress, *, total: int | None, desc: str, unit: str = "frame",
          leave: bool = True) -> Iterator[T]:
    """Yield the items of ``iterable``, reporting one unit after each (see :func:`reporter`)."""
    rep = reporter(progress, total=total, desc=desc, unit=unit, leave=leave)
    try:
        for item in iterable:
            yield item
            rep.update(1)
    finally:
        rep.close()
