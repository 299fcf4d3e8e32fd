"""``hdrkit server``: start, stop and inspect the resident command server (:mod:`hdrkit.io.server`)."""

from __future__ import annotations

import os
import sys
import threading
import time
from importlib import import_module

from ..errors import HdrkitError, OptionError
from ..io import server
from .outputs import Console, add_json_option

#: How long ``start`` waits for a new server to answer (it imports numpy, PyAV and numba).
START_TIMEOUT_S = 120.0

#: Modules the server imports before it serves: the libraries and the jobs' modules with their
#: compiled kernels, whose serial ones it then loads from numba's cache (the parallel ones load
#: in each command: they would start threads in the server).
PRELOAD = ("av", "PIL.Image", "PIL.JpegImagePlugin", "hdrkit.still.export", "hdrkit.still.ultrahdr",
           "hdrkit.video.proxy", "hdrkit.video.analysis", "hdrkit.video.keyframes", "hdrkit.video.encode")

HELP = "keep a command server running so that hdrkit commands start in milliseconds"
DESCRIPTION = (
    "Every hdrkit command spends about a second starting up (Python, numpy, PyAV, numba). "
    "'hdrkit server start' pays that once: a background process loads everything and waits, and "
    "each later hdrkit command from the same installation and environment runs in a copy of it "
    "(forked), with your working directory, environment, terminal and exit status, as if it ran on "
    "its own. Outputs are the same bytes. The server exits after --idle minutes without a command. "
    "Set HDRKIT_SERVER=0 to run one command without it.")


def add_parser(sub) -> None:
    p = sub.add_parser("server", help=HELP, description=DESCRIPTION)
    sp = p.add_subparsers(dest="server_command", metavar="ACTION")
    a = sp.add_parser("start", help="start a server for this installation and environment (in the background)",
                      description="Start a server in the background and wait until it answers.")
    a.add_argument("--idle", type=float, default=15.0, metavar="MIN",
                   help="exit after MIN minutes without a command (default 15)")
    a.set_defaults(func=run_start)
    a = sp.add_parser("stop", help="stop the server (waits for running commands)",
                      description="Stop this environment's server; running commands finish first.")
    a.add_argument("--all", action="store_true",
                   help="stop every server of this user (also those of other installations or environments)")
    a.set_defaults(func=run_stop)
    a = sp.add_parser("status", help="whether a server serves this environment (exit 1 when none)",
                      description="Describe this environment's server: process id, uptime, commands run. "
                      "Exit status 1 when none is running.")
    add_json_option(a, "the server's description")
    a.set_defaults(func=run_status)
    a = sp.add_parser("run", help="run a server in the foreground (its log on stderr)",
                      description="Run the server in this process until it is idle, stopped or interrupted.")
    a.add_argument("--idle", type=float, default=15.0, metavar="MIN",
                   help="exit after MIN minutes without a command (default 15)")
    a.set_defaults(func=run_foreground)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def _check_supported() -> None:
    if not server.SUPPORTED:
        raise HdrkitError("the command server needs fork and Unix sockets (Linux or macOS)")


def _private_dir(path: str) -> None:
    try:
        server.make_private_dir(os.path.dirname(path))
    except PermissionError as e:
        raise HdrkitError(str(e)) from None


def _check_idle(args) -> float:
    """``--idle``, checked: minutes."""
    if not args.idle > 0:
        raise OptionError(f"--idle must be a positive number of minutes, not {args.idle:g}")
    return args.idle


def preload() -> None:
    """Import what commands use and build numba's target, without starting a thread."""
    from .. import cli
    from ..core.runtime import imports_hidden, load_cached_kernels
    from ..io.ffmpeg import ffmpeg_exe

    # SciPy only: the server's children run commands in any directory, which may hold a numba
    # configuration file for PyYAML to read
    with imports_hidden(("scipy.linalg",)):
        cli.create_parser()  # every command module
        for name in PRELOAD:
            import_module(name)
        load_cached_kernels()  # with numba's typing and lowering registries (0.2 s)
    ffmpeg_exe()
    import gc

    gc.collect()
    gc.freeze()  # children do not walk (and copy) the loaded modules' objects
    # Python threads do not survive a fork. (OpenBLAS, loaded by numpy, has a thread pool of its
    # own: it stops and restarts it around fork itself, pthread_atfork.)
    if threading.active_count() != 1:
        raise HdrkitError("a thread started while loading; the server cannot fork safely")


def _run_command(argv: list[str]) -> int:
    from .. import cli

    return cli.main(argv)


def run_foreground(args) -> int:
    _check_supported()
    idle_s = _check_idle(args) * 60.0
    path = server.socket_path()
    _private_dir(path)
    t0 = time.perf_counter()
    preload()
    print(f"hdrkit: server loaded in {time.perf_counter() - t0:.2f} s", file=sys.stderr, flush=True)
    server.serve(path, _run_command, idle=idle_s, log=lambda m: print(f"hdrkit: server: {m}", file=sys.stderr,
                                                                    flush=True))
    return 0


def run_start(args) -> int:
    _check_supported()
    idle_min = _check_idle(args)
    con = Console(args)
    path = server.socket_path()
    st = server.request("status", path)
    if st:
        con.result(f"hdrkit server already running (pid {st['pid']}, {st['commands']} commands so far)")
        return 0
    _private_dir(path)
    log_path = server.companion(path, ".log")
    t0 = time.perf_counter()
    proc = server.spawn(idle_min)
    while time.perf_counter() - t0 < START_TIMEOUT_S:
        st = server.request("status", path)
        if st and st["pid"] == proc.pid:
            con.result(f"hdrkit server running (pid {proc.pid}, ready in {time.perf_counter() - t0:.1f} s, "
                       f"exits after {idle_min:g} min idle); commands from this environment now use it")
            return 0
        if proc.poll() is not None:
            raise HdrkitError(f"the server exited at start (status {proc.returncode}); see {log_path}")
        time.sleep(0.05)
    proc.terminate()
    raise HdrkitError(f"the server did not answer within {START_TIMEOUT_S:g} s; see {log_path}")


def run_stop(args) -> int:
    con = Console(args)
    d = server.runtime_dir()
    if args.all:
        try:
            paths = sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".sock"))
        except OSError:
            paths = []
    else:
        paths = [server.socket_path()]
    stopped = 0
    for path in paths:
        answer = server.request("stop", path, timeout=None)
        if answer:
            stopped += 1
            con.result(f"hdrkit server stopped (pid {answer['pid']})")
    if not stopped:
        con.result("no hdrkit server was running" + (" for this environment" if not args.all else ""))
    return 0


def run_status(args) -> int:
    con = Console(args)
    path = server.socket_path()
    st = server.request("status", path)
    con.write_json({"running": True, **st} if st else {"running": False, "socket": path})
    if not st:
        con.result("no hdrkit server for this installation and environment")
        return 1
    con.result(f"hdrkit server: pid {st['pid']}, up {st['uptime_s']:.0f} s, {st['commands']} commands run, "
               f"{st['commands_running']} running, exits after {st['idle_timeout_s'] / 60:g} min idle")
    return 0
