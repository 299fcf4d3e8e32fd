"""Light levels are measured on the picture as its own samples support it: a saturated patch
beside grey must not be inflated by the interpolated chroma at its edge (CTA-861.3 Annex A,
PNG cLLi: an algorithmic filter against false values from processing).

The clip is lossless 4:2:0 (FFV1) from an exactly computed PQ frame; the oracle is a float64
computation written out from the reference formulas on the decoded code values."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from hdrkit.metadata.cll import measure_cll
from hdrkit.video.analysis import analyze

from .clips import exact_light_levels, pq_yuv420p10, upsample_left_sited, upsample_own_site, write_lossless

W, H = 128, 64
PATCH = (24, 40, 56, 72)  # rows, columns of the 16x16 pure-red patch (on 2x2 site boundaries)
GREY = 190.0


def _frame() -> np.ndarray:
    rgb = np.full((H, W, 3), GREY)
    top, bottom, left, right = PATCH
    rgb[top:bottom, left:right] = [1200.0, 0.0, 0.0]  # R only: BT.2020 red at 1200 cd/m^2
    return rgb


@pytest.fixture(scope="module")
def red_patch_clip(tmp_path_factory):
    y, u, v = pq_yuv420p10(_frame())
    raw = (y.tobytes() + u.tobytes() + v.tobytes()) * 2
    p = tmp_path_factory.mktemp("redpatch") / "red.mkv"
    write_lossless(p, raw, W, H, audio=False)
    return p


def _exact(path, chroma: str) -> tuple[float, float]:
    """(max, mean) over the first frame of max(R, G, B) in cd/m^2 (float64, from the decoded codes)."""
    return exact_light_levels(path, (0, H), upsample_left_sited if chroma == "bilinear" else upsample_own_site)[0]


def test_red_patch_measures_its_own_light(red_patch_clip):
    exact, mean = _exact(red_patch_clip, "site")
    assert abs(exact - 1200) <= 0.01 * 1200  # the picture holds 1200 cd/m^2 (10-bit steps)
    a = analyze(red_patch_clip, step=1)
    assert a.cll_mode == "site"
    cll = measure_cll(a.frames)
    assert abs(cll.max_cll - 1200) <= 0.01 * 1200, cll
    assert abs(cll.max_cll - math.ceil(exact)) <= 1
    assert max(f.max_nits for f in a.frames) == pytest.approx(exact, rel=2e-3)
    assert abs(cll.max_fall - math.ceil(mean)) <= 1


def test_raw_mode_keeps_the_interpolated_value(red_patch_clip):
    raw, _ = _exact(red_patch_clip, "bilinear")
    assert raw > 2000  # the overshoot at the patch edge
    a = analyze(red_patch_clip, step=1, cll_mode="raw")
    assert a.cll_mode == "raw"
    assert measure_cll(a.frames).max_cll == pytest.approx(raw, rel=0.01)


def test_cli_names_the_rule(red_patch_clip, tmp_path):
    def run(*extra):
        js = tmp_path / f"a{len(extra)}.json"
        r = subprocess.run([sys.executable, "-m", "hdrkit", "analyze", str(red_patch_clip), "--hdr10", "--json",
                            str(js), "--no-progress", *extra], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return json.loads(js.read_text()), r.stdout

    d, out = run()
    assert d["cll_mode"] == "site" and "MaxCLL 12" in out
    d, out = run("--cll-mode", "raw")
    assert d["cll_mode"] == "raw" and "MaxCLL 12" not in out
