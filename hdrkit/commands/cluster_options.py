"""``--cluster``: where a command's work runs (see :mod:`hdrkit.cluster`)."""

from __future__ import annotations

__all__ = ["add_cluster_option", "add_chunk_seconds_option", "check_chunk_seconds"]


def add_cluster_option(p, what: str) -> None:
    """``--cluster local[:N] | tcp://HOST:PORT`` (no option: in this process, as before)."""
    p.add_argument("--cluster", default=None, metavar="local[:N]|tcp://HOST:PORT",
                   help=f"run {what} on Dask: local[:N] starts N worker processes on this machine (default: the "
                   "cores), tcp://HOST:8786 joins a running scheduler (paths must be the same on every worker); "
                   'needs pip install "hdrkit[cluster]"')


def add_chunk_seconds_option(p) -> None:
    """``--chunk-seconds S``: how long the chunks a video is split into are (with ``--cluster``)."""
    p.add_argument("--chunk-seconds", type=float, default=None, metavar="S",
                   help="with --cluster: chunks of about S seconds, split at key frames (default 30)")


def check_chunk_seconds(args) -> None:
    """``--chunk-seconds`` means nothing without ``--cluster``: refused."""
    from ..errors import OptionError

    if args.chunk_seconds is not None and args.cluster is None:
        raise OptionError("--chunk-seconds needs --cluster")
