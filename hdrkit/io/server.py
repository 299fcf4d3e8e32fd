"""A resident command server: ``hdrkit`` commands start in milliseconds instead of a second.

A command's process spends about 0.65-1 s of CPU before its first pixel: importing numpy,
PyAV and numba, and numba's target initialisation (its typing and lowering registries). The
server pays that once. It is a *fork server*: a process that has imported everything and is
still single-threaded waits on a Unix socket; for each command it forks a child, which runs
the command exactly as a new process would (it starts its own threads, loads the compiled
kernels from numba's cache, writes through the caller's own terminal), and exits. The
``hdrkit`` executable is then only a client: it sends its arguments, working directory,
environment and its standard input, output and error as file descriptors
(``SCM_RIGHTS``, :func:`socket.send_fds`), forwards Ctrl-C and termination to the child,
and exits with the child's status. This is the zygote pattern of Android and of Python's
own :mod:`multiprocessing` ``forkserver`` start method; the client side imports only the
standard library.

Safety and identity:

- The socket lives in a directory of the user's own (``$HDRKIT_RUNTIME_DIR``, else
  ``$XDG_RUNTIME_DIR/hdrkit``, else ``<tmp>/hdrkit-<uid>``), mode 0700, and the server
  checks each peer's user id (``SO_PEERCRED``).
- A client uses a server only if it was started by the same Python, from the same hdrkit
  source files (their sizes and modification times) and with the same environment
  variables that take effect at import time (``NUMBA_*``, ``OMP_*``, ``PYTHON*``,
  ``HDRKIT_*``...): the socket's name is a hash of all of it (:func:`fingerprint`). Any other
  process runs its command itself, as before. Every other variable is the client's own in
  the child.
- The server exits after ``idle`` seconds without a command, when its socket is removed or
  replaced, when the package's files change (checked every 10 s while idle), or on
  ``hdrkit server stop``.

The server is started explicitly (``hdrkit server start``), or by the first command when
``HDRKIT_SERVER=auto`` (that command runs on its own meanwhile); otherwise nothing changes.
Requires ``fork`` and Unix sockets with descriptor passing (Linux, macOS).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import signal
import socket
import struct
import sys
import time
from typing import Callable

from .. import IDLE_THREADS_ENV

__all__ = ["SUPPORTED", "companion", "fingerprint", "forward", "make_private_dir", "request", "runtime_dir", "serve",
           "socket_path", "spawn"]

#: Whether this platform has what the server needs.
SUPPORTED = hasattr(os, "fork") and hasattr(socket, "AF_UNIX") and hasattr(socket, "send_fds")

#: Environment variables read when modules are imported or runtimes start (numba's config,
#: OpenMP and BLAS thread pools, Python's own start-up flags, hdrkit's settings, the FFmpeg
#: binary the server looked up): a server serves only clients whose values are the same.
_IMPORT_TIME_ENV = ("NUMBA_", "OMP_", "KMP_", "MKL_", "OPENBLAS_", "PYTHON", "HDRKIT_", "LD_", "TBB_", "IMAGEIO_")

#: Variables that choose where the socket is, not how code runs.
_NOT_FINGERPRINTED = ("HDRKIT_RUNTIME_DIR", "HDRKIT_SERVER")

_HEADER = struct.Struct("!I")
_MAX_MESSAGE = 1 << 20


def runtime_dir() -> str:
    """The directory of the user's server sockets (not created here)."""
    d = os.environ.get("HDRKIT_RUNTIME_DIR")
    if d:
        return d
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isdir(xdg):
        return os.path.join(xdg, "hdrkit")
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"hdrkit-{os.getuid()}")


def _source_files(root: str):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if not name.endswith((".pyc", ".nbi", ".nbc")):
                yield os.path.join(dirpath, name)


def fingerprint(package_dir: str | None = None, environ=None) -> str:
    """A hash of what decides how a command runs before it reads its arguments.

    Parameters
    ----------
    package_dir
        The hdrkit package's directory (default: this installation's).
    environ
        The environment (default: this process's).

    Returns
    -------
    str
        16 hex digits: the Python executable and version, every file of the package (path,
        size, modification time), the import-time environment variables and the CPUs the
        process may run on (``taskset``).
    """
    root = package_dir or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = os.environ if environ is None else environ
    h = hashlib.sha256()
    h.update(f"{sys.executable}\0{sys.version}\0{root}\0".encode())
    for path in _source_files(root):
        try:
            st = os.stat(path)
        except OSError:
            continue
        h.update(f"{os.path.relpath(path, root)}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    for k in sorted(env):
        if k.startswith(_IMPORT_TIME_ENV) and k not in _NOT_FINGERPRINTED:
            h.update(f"{k}={env[k]}\0".encode())
    if hasattr(os, "sched_getaffinity"):  # numba and the codecs size their thread pools by it
        h.update(f"cpus={sorted(os.sched_getaffinity(0))}".encode())
    return h.hexdigest()[:16]


def socket_path() -> str:
    """The socket of the server this process would use."""
    return _socket_in(runtime_dir())


def _socket_in(d: str) -> str:
    """This environment's server socket in the folder ``d`` (named by :func:`fingerprint`)."""
    return os.path.join(d, fingerprint() + ".sock")


def companion(path: str, suffix: str) -> str:
    """The file beside the socket ``path`` with ``suffix`` instead of ``.sock``: ``.log`` (the
    server's output), ``.starting`` (a server is on its way, see :func:`forward`)."""
    return path[:-len(".sock")] + suffix


# ------------------------------------------------------------------ messages
def _send(sock: socket.socket, obj, fds=()) -> None:
    data = json.dumps(obj).encode()
    msg = _HEADER.pack(len(data)) + data
    n = socket.send_fds(sock, [msg], list(fds)) if fds else sock.send(msg)
    if n < len(msg):
        sock.sendall(msg[n:])


def _recv_exact(sock: socket.socket, n: int, fds: list[int] | None = None) -> bytes:
    buf = b""
    while len(buf) < n:
        if fds is not None and not buf:
            chunk, got, _flags, _addr = socket.recv_fds(sock, n, 8)
            fds.extend(got)
        else:
            chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return buf


def _recv(sock: socket.socket, fds: list[int] | None = None):
    """One message; descriptors sent with it are appended to ``fds``."""
    head = _recv_exact(sock, _HEADER.size, fds)
    (n,) = _HEADER.unpack(head)
    if n > _MAX_MESSAGE:
        raise ConnectionError("message too long")
    return json.loads(_recv_exact(sock, n))


# ------------------------------------------------------------------ client
def _connect_own(d: str) -> socket.socket | None:
    """A connection to this environment's server in ``d``, or None.

    Only a private folder of this user's and a server running as this user are trusted: the
    request carries the environment and the terminal."""
    try:
        if not any(n.endswith(".sock") for n in os.listdir(d)):
            return None
        st = os.stat(d)
    except OSError:
        return None
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    s = _connect(_socket_in(d), remove_dead=True)  # only now the fingerprint: no socket, no hashing
    if s is not None and _peer_uid(s) not in (None, os.getuid()):
        s.close()
        return None
    return s


def spawn(idle_min: float = 15.0):
    """Start ``hdrkit server run`` for this environment in the background, detached (its own
    session, working directory ``/``), its output appended to the log beside the socket.

    Returns
    -------
    subprocess.Popen
        The server's process (it answers once it has loaded, about a second later).
    """
    import subprocess

    path = socket_path()
    make_private_dir(os.path.dirname(path))
    with open(companion(path, ".log"), "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "hdrkit", "server", "run", "--idle", f"{idle_min:g}"],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd="/",
                                start_new_session=True, close_fds=True)


def _auto_start(d: str) -> None:
    """:func:`spawn`, unless another client did in the last minute (its ``.starting`` file,
    removed by the server once it serves)."""
    marker = companion(_socket_in(d), ".starting")
    try:
        make_private_dir(d)
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            if time.time() - os.stat(marker).st_mtime < 60:
                return
            os.unlink(marker)  # left by a server that never came up
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        spawn()
    except OSError:
        pass


def _connect(path: str, timeout: float | None = None, remove_dead: bool = False) -> socket.socket | None:
    """A connection to the server at ``path``, or None when none listens there; with
    ``remove_dead``, a socket nobody listens on (its server died) is removed."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
    except ConnectionRefusedError:
        s.close()
        if remove_dead:
            try:
                os.unlink(path)
            except OSError:
                pass
        return None
    except OSError:
        s.close()
        return None
    return s


def request(op: str, path: str | None = None, timeout: float = 10.0):
    """Ask the server at ``path`` (default: this process's) for ``status`` or ``stop``.

    Returns
    -------
    dict or None
        The server's answer, None when no server listens there.
    """
    s = _connect(path or socket_path(), timeout)
    if s is None:
        return None
    with s:
        try:
            _send(s, {"op": op})
            return _recv(s)
        except (ConnectionError, OSError, ValueError):
            return None


def forward(argv: list[str]) -> int | None:
    """Run a command in this environment's server, if one is running; else return None.

    The command gets this process's working directory, environment, umask, niceness and
    standard streams; Ctrl-C, SIGTERM and SIGHUP are passed on to it, and Ctrl-Z (SIGTSTP)
    stops it with this process, SIGCONT resumes both. With ``HDRKIT_SERVER=auto``
    and no server, one is started in the background for the next command.

    Returns
    -------
    int or None
        The command's exit status (128 + N when signal N ended it), or None when no
        server serves this environment (the caller then runs the command itself).
    """
    mode = os.environ.get("HDRKIT_SERVER", "").lower()
    if not SUPPORTED or mode in ("0", "off", "no"):
        return None
    d = runtime_dir()
    s = _connect_own(d)
    if s is None:
        if mode == "auto":
            _auto_start(d)
        return None
    umask = os.umask(0o22)
    os.umask(umask)
    streams = {n: getattr(getattr(sys, n), "encoding", None) for n in ("stdin", "stdout", "stderr")}
    with s:
        try:
            _send(s, {"op": "run", "argv": list(argv), "cwd": os.getcwd(), "env": dict(os.environ), "umask": umask,
                      "encodings": streams, "nice": os.getpriority(os.PRIO_PROCESS, 0)}, fds=(0, 1, 2))
            pid = _recv(s)["pid"]
        except (ConnectionError, OSError, ValueError, KeyError, TypeError):
            return None  # the server went away before it forked: run here
        except KeyboardInterrupt:  # Ctrl-C before the command's pid came: closing the connection ends it
            print("hdrkit: interrupted", file=sys.stderr)
            return 130

        def relay(signum, _frame):
            try:
                os.kill(pid, signum)
            except OSError:
                pass

        def suspend(_signum, _frame):  # Ctrl-Z: stop the command, then this process (job control)
            relay(signal.SIGSTOP, None)  # SIGTSTP would be dropped: the server's process group is orphaned
            signal.signal(signal.SIGTSTP, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTSTP)  # stops here until SIGCONT (or not at all in an orphaned group)
            signal.signal(signal.SIGTSTP, suspend)
            relay(signal.SIGCONT, None)  # running again: so is the command

        handlers = {signal.SIGINT: relay, signal.SIGTERM: relay, signal.SIGHUP: relay, signal.SIGCONT: relay,
                    signal.SIGTSTP: suspend}
        old = {sig: signal.signal(sig, h) for sig, h in handlers.items()}
        try:
            return int(_recv(s)["exit"])
        except (ConnectionError, OSError, ValueError, KeyError, TypeError):
            print("hdrkit: error: the command server ended without the command's status", file=sys.stderr)
            return 1
        finally:
            for sig, h in old.items():
                signal.signal(sig, h)


# ------------------------------------------------------------------ server
def make_private_dir(d: str) -> None:
    """Create ``d`` (mode 0700) or check that it is this user's own and private.

    Raises
    ------
    PermissionError
        If it belongs to someone else or others may read or enter it.
    """
    os.makedirs(d, mode=0o700, exist_ok=True)
    st = os.stat(d)
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise PermissionError(f"{d} must belong to this user and be private (mode 0700)")


def _peer_uid(conn: socket.socket) -> int | None:
    opt = getattr(socket, "SO_PEERCRED", None)
    if opt is None:  # pragma: no cover - not Linux: the directory's mode is the check
        return None
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, opt, struct.calcsize("3i")))
    return uid


def _exit_status(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _take_niceness(req) -> None:
    """The client's niceness (``nice hdrkit ...``), where allowed (lowering it needs privileges)."""
    try:
        if req.get("nice") is not None and int(req["nice"]) != os.getpriority(os.PRIO_PROCESS, 0):
            os.setpriority(os.PRIO_PROCESS, 0, int(req["nice"]))
    except (OSError, ValueError, TypeError):
        pass


def _raise_interrupt(_signum, _frame):
    raise KeyboardInterrupt


def _child(req, fds, closing, run: Callable[[list[str]], int]):
    """In the forked child: become the client's process, run the command, exit."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for f in closing:
            f.close() if hasattr(f, "close") else os.close(f)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        enc = req.get("encodings") or {}
        sys.stdin = open(0, "r", encoding=enc.get("stdin"), closefd=False)
        sys.stdout = open(1, "w", encoding=enc.get("stdout"), closefd=False,
                          buffering=1 if os.isatty(1) else -1)
        sys.stderr = open(2, "w", encoding=enc.get("stderr"), errors="backslashreplace", closefd=False,
                          buffering=1)
        sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr
        os.environ.clear()
        os.environ.update(req["env"])
        for k, v in IDLE_THREADS_ENV.items():  # as hdrkit/__init__ sets them
            os.environ.setdefault(k, v)
        os.umask(int(req["umask"]))
        _take_niceness(req)
        os.chdir(req["cwd"])
        sys.argv = ["hdrkit", *req["argv"]]
        try:
            code = run(list(req["argv"]))
        except SystemExit as e:  # argparse's --help and usage errors
            if e.code is None or isinstance(e.code, int):
                code = e.code or 0
            else:
                print(e.code, file=sys.stderr)
                code = 1
    except BaseException:  # pragma: no cover - a bug: report it as a process would
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:
            atexit._run_exitfuncs()  # what an interpreter runs at exit (the child never returns to one)
        except BaseException:  # noqa: S110 - as at exit: a failing handler does not change the status
            pass
        for f in (sys.stdout, sys.stderr):
            try:
                f.flush()
            except Exception:  # noqa: S110 - the reader is gone; nothing left to tell
                pass
        os._exit(code)


def serve(path: str, run: Callable[[list[str]], int], idle: float = 900.0,
          log: Callable[[str], None] | None = None) -> None:
    """Serve commands on the Unix socket ``path`` until idle, stopped or replaced.

    Call it in a process that has imported what the commands need and has started no thread
    (the children are forked from it).

    Parameters
    ----------
    path
        The socket (see :func:`socket_path`); its directory is made private.
    run
        Runs one command's arguments in the child and returns its exit status.
    idle
        Seconds without a command after which the server exits.
    log
        Where to say what happens (one line per event), e.g. ``print``.
    """
    import selectors

    say = log or (lambda _m: None)
    make_private_dir(os.path.dirname(path))
    tmp = f"{path}.{os.getpid()}.tmp"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(tmp)
    listener.listen(16)
    os.replace(tmp, path)  # a running server of the same fingerprint sees its socket replaced and exits
    try:
        os.unlink(companion(path, ".starting"))  # see _auto_start
    except OSError:
        pass
    ino = os.stat(path).st_ino
    wake_r, wake_w = os.pipe()  # SIGCHLD wakes the loop: a command's status goes out at once
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    started = time.time()
    served = 0
    cpu = [0.0]  # CPU seconds of the commands that ended
    jobs: dict[int, socket.socket | None] = {}  # child pid -> its client's connection (None: client gone)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    sel.register(wake_r, selectors.EVENT_READ)
    last = time.monotonic()
    stop_replies: list[socket.socket] = []
    say(f"serving on {path} (pid {os.getpid()})")
    name = os.path.basename(path)[:-len(".sock")]
    named = name == fingerprint()  # named for this installation: leave when it changes
    checked = time.monotonic()

    def reap() -> None:
        nonlocal last
        for pid, conn in list(jobs.items()):
            try:
                done, status, usage = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                done, status, usage = pid, 0, None
            if not done:
                continue
            if usage is not None:
                cpu[0] += usage.ru_utime + usage.ru_stime
            del jobs[pid]
            last = time.monotonic()
            if conn is not None:
                sel.unregister(conn)
                try:
                    _send(conn, {"exit": _exit_status(status)})
                except OSError:
                    pass
                conn.close()

    def owns_socket() -> bool:
        try:
            return os.stat(path).st_ino == ino
        except OSError:
            return False

    def accept() -> None:
        nonlocal served
        try:
            conn, _ = listener.accept()
        except OSError as e:  # e.g. out of descriptors: the client sees a refused connection and runs alone
            say(f"accept: {e}")
            return
        fds: list[int] = []
        try:
            if _peer_uid(conn) not in (None, os.getuid()):
                conn.close()
                return
            conn.settimeout(5.0)
            try:
                req = _recv(conn, fds)
            except (ConnectionError, OSError, ValueError):
                req = None
            op = req.get("op") if isinstance(req, dict) else None
            if op == "run" and len(fds) == 3 and not stop_replies:
                pid = os.fork()
                if pid == 0:
                    _child(req, fds, [listener, wake_r, wake_w, conn, *stop_replies, *filter(None, jobs.values())],
                           run)
                served += 1
                jobs[pid] = conn
                sel.register(conn, selectors.EVENT_READ, pid)
                conn.settimeout(None)
                _send(conn, {"pid": pid})  # if the client is gone, the loop sees it and ends the command
            elif op == "status":
                _send(conn, {"pid": os.getpid(), "socket": path, "started": started,
                             "uptime_s": round(time.time() - started, 1), "commands": served,
                             "commands_running": len(jobs), "commands_cpu_s": round(cpu[0], 3),
                             "idle_timeout_s": idle, "python": sys.executable})
                conn.close()
            elif op == "stop":
                if owns_socket():
                    os.unlink(path)
                stop_replies.append(conn)
            else:
                conn.close()
        except OSError:
            if conn not in jobs.values() and conn not in stop_replies:
                conn.close()
        finally:
            for fd in fds:
                os.close(fd)

    try:
        while True:
            reap()
            if stop_replies and not jobs:
                break
            if not jobs and (time.monotonic() - last > idle or not owns_socket()):
                say("idle" if owns_socket() else "socket replaced or removed")
                break
            if not jobs and named and time.monotonic() - checked > 10.0:
                checked = time.monotonic()
                if fingerprint() != name:  # an edit or upgrade: no client will ask this server again
                    say("hdrkit's files changed")
                    break
            for key, _ev in sel.select(timeout=1.0):
                if key.fileobj is listener:
                    accept()
                elif key.fileobj == wake_r:
                    try:
                        while os.read(wake_r, 512):
                            pass
                    except BlockingIOError:
                        pass
                elif jobs.get(key.data) is key.fileobj:  # the client went away: end its command
                    try:
                        os.kill(key.data, signal.SIGTERM)
                    except OSError:
                        pass
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
                    jobs[key.data] = None
    except KeyboardInterrupt:
        say("stopped by a signal")
    finally:
        signal.set_wakeup_fd(-1)
        if owns_socket():
            os.unlink(path)
        for conn in stop_replies:
            try:
                _send(conn, {"stopped": True, "pid": os.getpid()})
            except OSError:
                pass
            conn.close()
        listener.close()
        os.close(wake_r)
        os.close(wake_w)
