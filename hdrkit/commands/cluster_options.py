"""``--cluster``: where a command's work runs (see :mod:`hdrkit.cluster`)."""

from __future__ import annotations

__all__ = ["add_cluster_option"]


def add_cluster_option(p, what: str) -> None:
    """``--cluster local[:N] | tcp://HOST:PORT`` (no option: in this process, as before)."""
    p.add_argument("--cluster", default=None, metavar="local[:N]|tcp://HOST:PORT",
                   help=f"run {what} on Dask: local[:N] starts N worker processes on this machine (default: the "
                   "cores), tcp://HOST:8786 joins a running scheduler (paths must be the same on every worker); "
                   'needs pip install "hdrkit[cluster]"')
