"""The gate's colour probes catch a hue-bending gamut map, a flat highlight shoulder and a pumping curve."""

from dataclasses import replace

import pytest

from hdrkit.regress.packs import load_pack
from hdrkit.regress.runner import apply_vetoes, load_thresholds, run_probes


def _failures(pack):
    th = load_thresholds()
    out = {}
    for _, r in run_probes(pack):
        apply_vetoes(r, th)
        out[r.name] = r.failures
    return out


def test_current_pack_passes_the_probes():
    f = _failures(load_pack("v2"))
    assert f == {"probe-hue": [], "probe-ramp": [], "probe-pumping": []}, f


@pytest.mark.parametrize("gamut_map", ["clip", "perceptual", "compress"])
def test_hue_probe_catches_constant_y_and_clip_maps(gamut_map):
    f = _failures(load_pack("v2").with_overrides(gamut_map=gamut_map))
    assert any(x.startswith("hue_2020") for x in f["probe-hue"]), f


def test_ramp_probe_catches_a_flat_shoulder():
    p = load_pack("v2")
    f = _failures(replace(p, params=replace(p.params, shoulder_end_slope=0.0)))
    assert any(x.startswith("highlight_4000_1000") for x in f["probe-ramp"]), f


def test_pumping_probe_catches_a_curve_that_follows_the_frame_peak_below_white():
    p = load_pack("v2")
    f = _failures(replace(p, params=replace(p.params, white_anchor=False)))
    assert any(x.startswith("card_swing") for x in f["probe-pumping"]), f
