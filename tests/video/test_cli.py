"""The video subcommands end to end: outputs, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hdrkit.video.analysis import ClipAnalysis


def _run(*args):
    return subprocess.run([sys.executable, "-m", "hdrkit", *map(str, args)], capture_output=True, text=True)


def test_analyze_cli(clips, tmp_path):
    js, png = tmp_path / "stats.json", tmp_path / "flicker.png"
    r = _run("analyze", clips["hlg"], "--json", js, "--plot", png, "--no-progress")
    assert r.returncode == 0, r.stderr
    a = ClipAnalysis.read_json(js)
    assert len(a.frames) == 48 and a.cuts == [0, 24] and a.transfer == "hlg"
    assert json.loads(js.read_text())["schema"] == "hdrkit.clip-analysis/1"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "flicker" in r.stderr and "cuts at [24]" in r.stderr


def test_analyze_cli_full_and_step(clips, tmp_path):
    js = tmp_path / "a.json"
    assert _run("analyze", clips["pq_flat"], "--json", js, "--full", "--no-progress").returncode == 0
    a = ClipAnalysis.read_json(js)
    assert a.step == 1 and a.frames[0].width == 320
    assert _run("analyze", clips["pq_flat"], "--json", js, "--step", "4", "--no-progress").returncode == 0
    assert ClipAnalysis.read_json(js).frames[0].width == 80
    r = _run("analyze", clips["pq_flat"], "--step", "3", "--no-progress")
    assert r.returncode == 2 and "power of two" in r.stderr


def test_keyframes_cli(clips, tmp_path):
    out = tmp_path / "kf"
    r = _run("keyframes", clips["pq"], "-o", out, "--json", tmp_path / "k.json", "--no-progress")
    assert r.returncode == 0, r.stderr
    rows = json.loads((tmp_path / "k.json").read_text())
    assert [x["index"] for x in rows] == [0, 24]
    assert sorted(p.name for p in out.iterdir()) == ["pq_00000000ms.jpg", "pq_00001000ms.jpg"]


def test_proxy_cli_json_report(clips, tmp_path):
    dst, js = tmp_path / "p.mp4", tmp_path / "p.json"
    r = _run("proxy", clips["hlg_flat"], "-o", dst, "--json", js, "--x264-preset", "veryfast", "--no-progress",
             "--preset", "night")
    assert r.returncode == 0, r.stderr
    rep = json.loads(js.read_text())
    assert rep["frames_out"] == 6 and rep["complete"] and rep["engine"] == "pyav"


def test_sdr_refused_with_one_line(clips, tmp_path):
    r = _run("keyframes", clips["sdr"], "-o", tmp_path, "--no-progress")
    assert r.returncode == 2 and "--allow-sdr" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [["proxy", "{src}", "-o", "{tmp}/p.mp4"], ["keyframes", "{src}", "-o", "{tmp}/k"]],
                         ids=lambda c: c[0])
def test_commands_load_their_kernels_without_scipy(command, clips, tmp_path):
    """Every command's process loads numba without SciPy's BLAS wrappers (17-19 MB and 0.15-0.3 s
    of CPU that no kernel of hdrkit uses; :mod:`hdrkit.core.runtime`), whether or not it warms up."""
    argv = [a.format(src=clips["pq"], tmp=tmp_path) for a in command] + ["-q", "--no-progress"]
    code = ("import sys; from hdrkit.cli import main; "
            f"rc = main({argv!r}); "
            "print(rc, 'numba' in sys.modules, 'scipy.linalg' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert out == ["0", "True", "False"]
