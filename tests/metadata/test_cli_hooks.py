"""``hdrkit analyze --hdr10 --hdr10plus``: the options, the JSON, and a printed x265 string that works."""

from __future__ import annotations

import argparse
import io
import json
import re
from dataclasses import dataclass

import numpy as np

from hdrkit.core.stats import frame_stats
from hdrkit.io.ffmpeg import run_ffmpeg
from hdrkit.commands.hdr10_outputs import add_analyze_options, apply_analyze_outputs
from hdrkit.metadata.hdr10plus import read_json
from hdrkit.metadata.sidedata import scan_hevc_sei
from hdrkit.metadata.st2086 import MasteringDisplay

from .conftest import H, N_FRAMES, W


@dataclass
class _Analysis:  # the ClipAnalysis fields the hooks read
    frames: list
    cuts: list
    fps: float
    smoothed: object = None


def test_options_and_outputs(pq_source, tmp_path):
    _, raw, scenes = pq_source
    p = argparse.ArgumentParser()
    p.add_argument("input")
    add_analyze_options(p)
    js = tmp_path / "meta.json"
    args = p.parse_args(["clip.mkv", "--hdr10", "--hdr10plus", str(js), "--master-display", "bt2020-1000"])
    an = _Analysis([frame_stats(s.astype(np.float32)) for s in scenes], [6], 24.0)
    out = io.StringIO()
    res = apply_analyze_outputs(args, an, out=out)
    text = out.getvalue()
    md = read_json(js)  # strict validation on read
    assert len(md) == N_FRAMES and md.profile == "B" and {f.scene_id for f in md.frames} == {0, 1}
    assert res["max_cll"].max_cll == 1200
    m = re.search(r'-x265-params "([^"]+)"', text)
    assert m and "dhdr10-info=" in m.group(1) and "max-cll=1200," in m.group(1)
    # the printed string drives x265 as promised
    out_hevc = tmp_path / "o.hevc"
    run_ffmpeg(["-y", "-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-s", f"{W}x{H}", "-r", "24", "-i", "pipe:0",
                "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", m.group(1) + ":log-level=error",
                out_hevc], input=raw)
    scan = scan_hevc_sei(out_hevc)
    assert scan.frames_with_hdr10plus == N_FRAMES
    assert scan.first_cll() == (res["max_cll"].max_cll, res["max_cll"].max_fall)
    assert MasteringDisplay.from_sei_payload(scan.first_mdcv()) == res["mastering_display"]
    assert json.loads(js.read_text())["ToolInfo"]["Tool"] == "hdrkit"


def test_nothing_asked_nothing_done():
    p = argparse.ArgumentParser()
    add_analyze_options(p)
    assert apply_analyze_outputs(p.parse_args([]), _Analysis([], [], 24.0)) == {}


def test_analyze_cli_measures_every_pixel_for_metadata(pq_source, tmp_path):
    """Through the real CLI: --hdr10 / --hdr10plus measure on every pixel (the printed
    max-cll equals the full-resolution analysis); --step with metadata outputs is refused."""
    import subprocess
    import sys

    from hdrkit.metadata.cll import measure_cll
    from hdrkit.video.analysis import analyze

    src = pq_source[0]
    js = tmp_path / "d.json"
    cmd = [sys.executable, "-m", "hdrkit", "analyze", str(src), "--no-progress"]
    p = subprocess.run([*cmd, "--hdr10", "--hdr10plus", str(js)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "-x265-params" in p.stdout and js.is_file()
    assert len(read_json(js)) == N_FRAMES
    exact = measure_cll(analyze(src, step=1).frames)
    assert f"max-cll={exact.max_cll},{exact.max_fall}" in p.stdout
    p = subprocess.run([*cmd, "--hdr10", "--step", "4"], capture_output=True, text=True)
    assert p.returncode == 2 and "--step" in p.stderr and "Traceback" not in p.stderr
