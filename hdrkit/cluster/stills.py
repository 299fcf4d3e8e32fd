"""Still exports on a Dask cluster: one task per file, results as they finish.

Each task makes the same call an in-process batch makes (:func:`hdrkit.still.export.export_sdr`,
:func:`hdrkit.still.ultrahdr.export_ultrahdr`, or any function of that signature), so the
outputs are the same bytes. Every task asks for the memory its picture needs
(:func:`hdrkit.cluster.still_memory_mb` of the pixel count its header declares, as the
:data:`~hdrkit.cluster.MEMORY_RESOURCE` worker resource), so a worker never runs more
exports than fit. A task whose worker dies is run again on another worker; outputs are
written atomically, so a killed worker leaves no partial file.
"""

from __future__ import annotations

import functools
import uuid
from pathlib import Path
from typing import Callable, Iterable, Iterator

from . import (TASK_RETRIES, check_visible, lost_scheduler_error, memory_requests, path_on_workers, run_task,
               still_memory_mb)

__all__ = ["export_stills", "header_pixels"]

_UNKNOWN_PIXELS = 12_000_000  # a header that does not read: the task fails fast, reserve a phone photo


def header_pixels(path) -> int:
    """Pixels the picture's header declares (no decoding); a gain-map JPEG's map is ignored
    (at most a quarter of the base per axis in practice, inside :func:`still_memory_mb`'s margin)."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            return int(im.width) * int(im.height)
    except Exception:  # unreadable here: the export on the worker reports why
        return _UNKNOWN_PIXELS


def _name_as_given(e: BaseException, worker_path: str, given: Path) -> None:
    """Name the file in ``e``'s message as the caller gave it (workers get absolute paths)."""
    if worker_path == str(given):
        return
    msg = str(e)
    if msg.startswith(worker_path):
        e.args = (str(given) + msg[len(worker_path):],)
    for attr in ("path", "filename"):
        if getattr(e, attr, None) == worker_path:
            setattr(e, attr, str(given))


def export_stills(pairs: Iterable[tuple[Path, Path]], func: Callable, kwargs: dict, *, client) -> Iterator[tuple]:
    """Run ``func(src, dst, **kwargs)`` for every ``(src, dst)`` on ``client``'s workers.

    Parameters
    ----------
    pairs : iterable of (path, path)
        Inputs and their outputs; paths every worker reaches (a shared filesystem).
    func : callable
        The export, e.g. :func:`hdrkit.still.export.export_sdr`.
    kwargs : dict
        Its keyword arguments (the same for every file).
    client : distributed.Client

    Returns
    -------
    iterator of (src, dst, ExportResult or Exception)
        In the order the exports finish; an exception is what the export raised for that
        file (:class:`~hdrkit.errors.HdrkitError` or :class:`OSError`), or Dask's error when
        the task failed on every worker it was given (such as ``KilledWorker``).

    Raises
    ------
    hdrkit.cluster.ClusterError
        A worker cannot see one of the inputs (checked before any work is submitted).
    """
    from distributed import as_completed

    pairs = [(Path(s), Path(d)) for s, d in pairs]
    check_visible(client, [s for s, _ in pairs if s.exists()])
    outdirs = {d.parent for _, d in pairs if d.parent.is_dir()}
    check_visible(client, sorted(outdirs), "output folder")
    needs = memory_requests(client, [still_memory_mb(header_pixels(s)) for s, _ in pairs])
    task = functools.partial(func, **kwargs)
    futures = {}
    for i, ((src, dst), need) in enumerate(zip(pairs, needs)):
        f = client.submit(run_task, task, path_on_workers(src), path_on_workers(dst), pure=False,
                          key=f"hdrkit-still-{i}-{uuid.uuid4().hex[:8]}", retries=TASK_RETRIES, resources=need)
        futures[f] = (src, dst)
    for f in as_completed(futures, loop=client.loop):
        src, dst = futures.pop(f)
        if f.status == "cancelled":
            raise lost_scheduler_error(len(futures) + 1)
        r = f.exception() if f.status == "error" else f.result()
        if isinstance(r, BaseException):
            _name_as_given(r, path_on_workers(src), src)
            _name_as_given(r, path_on_workers(dst), dst)
        yield src, dst, r
        f.release()
