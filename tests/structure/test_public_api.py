"""The thin public API: every name in ``hdrkit.__all__`` resolves, importing hdrkit stays
light (no PyAV, no numba until a job needs them), and the package is marked typed."""

import subprocess
import sys
from pathlib import Path

import hdrkit


def test_every_public_name_resolves():
    for name in hdrkit.__all__:
        assert getattr(hdrkit, name) is not None, name
    assert set(hdrkit.__all__) <= set(dir(hdrkit))


def test_import_is_light():
    code = "import sys, hdrkit; print(sorted(m for m in ('av', 'numba', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_import_loads_no_submodule_and_a_command_line_only_its_command():
    """``import hdrkit`` loads nothing else (the command server's client starts in milliseconds;
    a video job skips the still export); a command line imports its own command's module only."""
    code = ("import sys, hdrkit\n"
            "print(sorted(m for m in sys.modules if m.startswith(('hdrkit', 'numpy'))))\n"
            "from hdrkit import cli\n"
            "cli.create_parser('proxy')\n"
            "print(sorted(m[16:] for m in sys.modules if m.startswith('hdrkit.commands.')))\n"
            "cli.create_parser()\n"
            "print(len([m for m in sys.modules if m.startswith('hdrkit.commands.') and m[16:] in cli.COMMANDS]), "
            "len(cli.COMMANDS))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "['hdrkit']"
    assert "proxy" in out[1] and "still" not in out[1] and "keyframes" not in out[1]
    n, total = out[2].split()
    assert n == total


def test_a_still_command_imports_no_video_module(tmp_path):
    """A still export from the command line loads nothing of the video path (its reader alone
    took 0.02 s to import, with the Dolby Vision parser), nor ``urllib.request`` (0.01 s, which
    ``xml.sax.saxutils`` imports for its escapes), nor tqdm for a bar it does not show (0.01 s)."""
    src = Path(__file__).resolve().parents[2] / "samples" / "ultrahdr" / "libultrahdr_minnie_ultrahdr_sys.jpg"
    code = ("import atexit, sys; atexit.register(lambda: print(sorted(m for m in sys.modules "
            "if m.startswith(('hdrkit.video', 'hdrkit.metadata.dovi', 'av', 'urllib.request', 'tqdm'))))); "
            "from hdrkit.cli import main; main(['still', *sys.argv[1:]])")
    out = subprocess.run([sys.executable, "-c", code, str(src), "-o", str(tmp_path / "a.jpg"), "-q"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_version_is_the_installed_one_and_costs_no_metadata_lookup():
    """``hdrkit.__version__`` (written into every export's tags) is the version pip installed,
    read without looking the package's metadata up (a scan of the installed distributions) or
    importing ``importlib.metadata`` (with email, zipfile, csv: 0.01 s where nothing else
    imports it, as in ``hdrkit --version``; numba imports it for its entry points)."""
    from importlib.metadata import version

    code = "import sys, hdrkit; print(hdrkit.__version__, 'importlib.metadata' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == [version("hdrkit"), "False"]


def test_cli_help_is_light():
    """``hdrkit --help`` and every ``hdrkit COMMAND --help`` build the whole parser: no PyAV,
    numba or matplotlib for that."""
    code = ("import sys; from hdrkit.cli import create_parser; p = create_parser(); p.format_help(); "
            "[c.format_help() for c in p._subparsers._group_actions[0].choices.values()]; "
            "print(sorted(m for m in ('av', 'numba', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_py_typed_ships_with_the_package():
    assert (Path(hdrkit.__file__).parent / "py.typed").is_file()
    assert '"py.typed"' in (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()


def test_video_decode_keeps_its_names():
    """``hdrkit.video.decode`` re-exports the reader, tag, damage, timeline and thread names
    from the modules that hold them, as the same objects."""
    from hdrkit.video import damage, decode, reader, tags, threads, timeline

    homes = (damage, reader, tags, threads, timeline)
    for name in decode.__all__:
        assert any(getattr(m, name, None) is getattr(decode, name) for m in homes), name
    assert {"VideoReader", "ColourInfo", "Damage", "prefetch", "presented_frames", "resolve_colour"} <= set(decode.__all__)


def test_idle_worker_threads_sleep_unless_the_environment_says_otherwise():
    """``import hdrkit`` sets the runtimes' idle-thread policy before numpy or a kernel can start
    them (OpenMP workers passive; OpenBLAS workers sleep after 2^4 cycles instead of 2^28), and
    keeps a value the caller set. The command server's children see the same environment."""
    import os

    code = "import os, hdrkit, numpy; print(os.environ['OMP_WAIT_POLICY'], os.environ['OPENBLAS_THREAD_TIMEOUT'])"
    env = {k: v for k, v in os.environ.items() if k not in hdrkit.IDLE_THREADS_ENV}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.split() == ["PASSIVE", "4"]
    env["OPENBLAS_THREAD_TIMEOUT"] = "28"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.split() == ["PASSIVE", "28"]
