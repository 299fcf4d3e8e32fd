"""The command server (``hdrkit server``, hdrkit.io.server): a command run through it behaves as
one run in its own process - same bytes, exit status, messages, streams, working directory,
Ctrl-C - and only clients of the same installation and environment use it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hdrkit.io import server as srv

ROOT = Path(__file__).resolve().parents[1]
STILL = ROOT / "samples" / "ultrahdr" / "libultrahdr_minnie_ultrahdr_sys.jpg"
CLIP = ROOT / "samples" / "video" / "sample_edit_list.mp4"

pytestmark = pytest.mark.skipif(not srv.SUPPORTED, reason="needs fork and Unix sockets")


def _cmd(*args) -> list[str]:
    return [sys.executable, "-m", "hdrkit", *map(str, args)]


def _run(env, *args, cwd=ROOT, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(*args), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _status(env) -> dict:
    r = _run(env, "server", "status", "--json", "-")
    return json.loads(r.stdout)


def _served(env) -> int:
    st = _status(env)
    assert st["running"], "the server is not running"
    return st["commands"]


def _wait(pred, timeout=60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


def _env(run_dir: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "HDRKIT_SERVER"}
    return {**env, "HDRKIT_RUNTIME_DIR": str(run_dir), **extra}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    e = _env(tmp_path_factory.mktemp("server") / "run")
    r = _run(e, "server", "start", "--idle", "10")
    assert r.returncode == 0, r.stderr
    assert "running" in r.stdout
    pid = _status(e)["pid"]
    yield e
    try:
        r = _run(e, "server", "stop", timeout=60)
    except subprocess.TimeoutExpired:  # a command that never ends: do not leave the server behind
        os.killpg(os.getpgid(pid), signal.SIGKILL)
        raise
    assert r.returncode == 0, r.stderr


def test_a_command_in_the_server_writes_what_its_own_process_writes(env, tmp_path):
    n = _served(env)
    served = _run(env, "still", STILL, "-o", "a.jpg", cwd=tmp_path)  # relative to the client's directory
    assert served.returncode == 0, served.stderr
    assert _served(env) == n + 1
    alone = _run({**env, "HDRKIT_SERVER": "0"}, "still", STILL, "-o", "b.jpg", cwd=tmp_path)
    assert alone.returncode == 0, alone.stderr
    assert _served(env) == n + 1
    assert (tmp_path / "a.jpg").read_bytes() == (tmp_path / "b.jpg").read_bytes()
    assert (tmp_path / "a.jpg").stat().st_mode == (tmp_path / "b.jpg").stat().st_mode  # the client's umask
    # the summary line is the same but for the time taken
    assert served.stdout.split("MB")[0].replace("a.jpg", "b.jpg") == alone.stdout.split("MB")[0]


def test_commands_at_the_same_time_each_get_their_own_child(env, tmp_path):
    n = _served(env)
    procs = [subprocess.Popen(_cmd("still", STILL, "-o", tmp_path / f"{i}.jpg", "--quality", str(80 + i % 2)), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert _served(env) == n + 4
    assert (tmp_path / "0.jpg").read_bytes() == (tmp_path / "2.jpg").read_bytes()
    assert (tmp_path / "1.jpg").read_bytes() == (tmp_path / "3.jpg").read_bytes()
    assert (tmp_path / "0.jpg").read_bytes() != (tmp_path / "1.jpg").read_bytes()


def test_errors_usage_and_help_come_back_as_from_a_process(env, tmp_path):
    n = _served(env)
    r = _run(env, "still", tmp_path / "missing.jpg", "-o", tmp_path / "o.jpg")
    assert r.returncode == 2
    assert r.stderr.startswith("hdrkit: error:") and r.stderr.count("\n") == 1, r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    r = _run(env, "still", "--no-such-option")
    assert r.returncode == 2 and "usage:" in r.stderr and "Traceback" not in r.stderr
    r = _run(env, "still", "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: hdrkit still") and r.stderr == ""
    assert _served(env) == n + 3


def test_json_on_stdout_parses(env):
    r = _run(env, "info", "--json", "-", STILL)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["kind"] == "still" and info["file"] == str(STILL)


def _start_proxy(env, out: Path, **kw) -> subprocess.Popen:
    return subprocess.Popen(_cmd("proxy", CLIP, "-o", out, "--x264-preset", "slow"), env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _running(env) -> int:
    return _status(env)["commands_running"]


def test_ctrl_c_reaches_the_command(env, tmp_path):
    out = tmp_path / "p.mp4"
    p = _start_proxy(env, out)
    try:
        assert _wait(lambda: _running(env) == 1), "the command did not start in the server"
        time.sleep(1.0)  # into the frames
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=120)
    finally:
        p.kill()
    assert p.returncode == 130, err
    assert "hdrkit: interrupted" in err and "Traceback" not in err
    assert not out.exists()
    assert _wait(lambda: _running(env) == 0)


def _child_state(env) -> str:
    pid = _status(env)["pid"]
    kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return "".join(Path(f"/proc/{k}/stat").read_text().rsplit(")", 1)[1].split()[0] for k in kids)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")
def test_ctrl_z_stops_the_command_and_sigcont_resumes_it(env, tmp_path):
    out = tmp_path / "p.mp4"
    # a process group of its own whose parent is in the same session: job control applies to it
    # whatever group and session the test runner is in
    p = _start_proxy(env, out, process_group=0)
    try:
        assert _wait(lambda: _running(env) == 1)
        p.send_signal(signal.SIGTSTP)
        assert _wait(lambda: _child_state(env) == "T", timeout=10), "the command did not stop"
        assert _wait(lambda: _proc_state(p.pid).find("stopped") >= 0, timeout=10), "the client did not stop"
        p.send_signal(signal.SIGCONT)
        assert _wait(lambda: _child_state(env) in ("R", "S", "D"), timeout=10), "the command did not resume"
        p.send_signal(signal.SIGINT)  # and it still answers
        _, err = p.communicate(timeout=120)
    finally:
        p.kill()
    assert p.returncode == 130, err


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")
def test_ctrl_z_without_job_control_leaves_the_command_running(env, tmp_path):
    """A client in an orphaned process group (no job control: a new session here) cannot stop;
    its command must not stay stopped either."""
    p = _start_proxy(env, tmp_path / "p.mp4", start_new_session=True)
    try:
        assert _wait(lambda: _running(env) == 1)
        p.send_signal(signal.SIGTSTP)
        time.sleep(1.0)
        assert "stopped" not in _proc_state(p.pid)
        assert _wait(lambda: _child_state(env) in ("R", "S", "D"), timeout=10), "the command stayed stopped"
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=120)
    finally:
        p.kill()
    assert p.returncode == 130, err


def test_a_client_that_dies_ends_its_command(env, tmp_path):
    out = tmp_path / "p.mp4"
    p = _start_proxy(env, out)
    assert _wait(lambda: _running(env) == 1)
    p.kill()
    p.communicate()
    assert _wait(lambda: _running(env) == 0, timeout=30), "the command outlived its client"
    assert not out.exists()


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")
def test_the_command_keeps_the_clients_niceness(env, tmp_path):
    p = subprocess.Popen(["nice", "-n", "7", *_cmd("proxy", CLIP, "-o", tmp_path / "p.mp4", "--x264-preset", "slow")],
                         env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait(lambda: _running(env) == 1)
        pid = _status(env)["pid"]
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        nice = [int(Path(f"/proc/{k}/stat").read_text().rsplit(")", 1)[1].split()[16]) for k in kids]
    finally:
        p.kill()
        p.wait()
    assert nice == [7]


def test_another_environment_runs_its_own_process(env, tmp_path):
    n = _served(env)
    r = _run({**env, "NUMBA_NUM_THREADS": "1"}, "still", STILL, "-o", tmp_path / "o.jpg")
    assert r.returncode == 0, r.stderr
    assert _served(env) == n


def test_garbage_on_the_socket_does_not_stop_the_server(env):
    import socket
    import struct

    path = str(Path(env["HDRKIT_RUNTIME_DIR"]) / (srv.fingerprint() + ".sock"))
    pid = _status(env)["pid"]
    for payload in (b"\x00\x00\x00\x02[]", b"\x00\x00\x00\x03{x}", b"\xff\xff\xff\xff", b"",
                    struct.pack("!I", 15) + b'{"op": "run"}  '):  # a run without descriptors
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(path)
            s.sendall(payload)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:  # asks, then leaves before the answer
        s.connect(path)
        s.sendall(struct.pack("!I", 16) + b'{"op": "status"}')
    st = _status(env)
    assert st["running"] and st["pid"] == pid


def test_a_folder_others_can_enter_is_not_trusted(env, tmp_path):
    run_dir = Path(env["HDRKIT_RUNTIME_DIR"])
    n = _served(env)
    run_dir.chmod(0o755)  # another user could have put the socket there
    try:
        r = _run(env, "still", STILL, "-o", tmp_path / "o.jpg")
    finally:
        run_dir.chmod(0o700)
    assert r.returncode == 0, r.stderr
    assert _served(env) == n


def test_fingerprint_follows_the_sources_and_import_time_environment(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    base = {"PATH": "/bin", "NUMBA_CACHE_DIR": "/c"}
    fp = srv.fingerprint(str(pkg), base)
    assert srv.fingerprint(str(pkg), {**base, "PATH": "/usr/bin", "HOME": "/h", "HDRKIT_RUNTIME_DIR": "/r"}) == fp
    assert srv.fingerprint(str(pkg), {**base, "NUMBA_CACHE_DIR": "/d"}) != fp
    assert srv.fingerprint(str(pkg), {**base, "OMP_NUM_THREADS": "1"}) != fp
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 1:  # taskset: other thread pools
        code = ("import os, sys; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
                "from hdrkit.io.server import fingerprint; print(fingerprint(sys.argv[1], {}))")
        one_cpu = subprocess.run([sys.executable, "-c", code, str(pkg)], check=True, capture_output=True,
                                 text=True).stdout.strip()
        assert one_cpu != srv.fingerprint(str(pkg), {})
    (pkg / "sub" / "b.py").write_text("y = 3\n")
    os.utime(pkg / "sub" / "b.py", ns=(1, 1))
    assert srv.fingerprint(str(pkg), base) != fp
    fp2 = srv.fingerprint(str(pkg), base)
    (pkg / "sub" / "__pycache__").mkdir()
    (pkg / "sub" / "__pycache__" / "b.cpython-311.pyc").write_bytes(b"x")
    assert srv.fingerprint(str(pkg), base) == fp2


def test_stop_idle_and_a_dead_servers_socket(tmp_path):
    env = _env(tmp_path / "run")
    assert _run(env, "server", "status").returncode == 1
    assert _run(env, "server", "stop").returncode == 0  # nothing to stop is not an error
    assert _run(env, "server", "start").returncode == 0
    pid = _status(env)["pid"]
    r = _run(env, "server", "stop")
    assert r.returncode == 0 and f"pid {pid}" in r.stdout
    assert _run(env, "server", "status").returncode == 1
    assert not list((tmp_path / "run").glob("*.sock"))
    # killed outright: its socket stays; the next command runs on its own and clears it
    assert _run(env, "server", "start").returncode == 0
    pid = _status(env)["pid"]
    os.kill(pid, signal.SIGKILL)
    assert _wait(lambda: not Path(f"/proc/{pid}").exists() or "zombie" in _proc_state(pid), timeout=10)
    assert list((tmp_path / "run").glob("*.sock"))
    r = _run(env, "still", STILL, "-o", tmp_path / "o.jpg")
    assert r.returncode == 0, r.stderr
    assert not list((tmp_path / "run").glob("*.sock"))
    # idle: a server with a 1.2 s timeout leaves by itself
    p = subprocess.Popen(_cmd("server", "run", "--idle", "0.02"), env=env, stderr=subprocess.PIPE, text=True)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 0 and "idle" in err, err
    assert not list((tmp_path / "run").glob("*.sock"))


def test_auto_starts_a_server_for_the_next_command(tmp_path):
    env = _env(tmp_path / "run", HDRKIT_SERVER="auto")
    r = _run(env, "still", STILL, "-o", tmp_path / "a.jpg")  # runs on its own, starts a server
    assert r.returncode == 0, r.stderr
    try:
        assert _wait(lambda: _run(env, "server", "status").returncode == 0), "no server came up"
        assert _served(env) == 0
        assert not list((tmp_path / "run").glob("*.starting"))
        r = _run(env, "still", STILL, "-o", tmp_path / "b.jpg")
        assert r.returncode == 0, r.stderr
        assert _served(env) == 1
        assert (tmp_path / "a.jpg").read_bytes() == (tmp_path / "b.jpg").read_bytes()
    finally:
        _run(env, "server", "stop")


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"


def test_bad_options_and_the_directory_rule(tmp_path):
    env = _env(tmp_path / "run")
    r = _run(env, "server", "start", "--idle", "0")
    assert r.returncode == 2 and r.stderr.startswith("hdrkit: error: --idle") and "Traceback" not in r.stderr
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    r = _run(_env(shared), "server", "run", "--idle", "0.02")
    assert r.returncode == 2 and "private" in r.stderr and "Traceback" not in r.stderr
