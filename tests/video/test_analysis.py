"""Clip analysis: scene cuts and smoothing (vs an independent IIR), the flicker metric, JSON, plot."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.signal import lfilter

from hdrkit.core.transfer import eotf_inverse_st2084
from hdrkit.video.analysis import (FLICKER_THRESHOLD, ClipAnalysis, FrameMeasure, PeakSmoother, analyze,
                                   flicker_metric, plot_analysis)


@pytest.fixture(scope="module")
def pq_analysis(clips):
    return analyze(clips["pq"])


def test_cut_detected_and_smoothing_resets_there(pq_analysis):
    a = pq_analysis
    n = len(a.smoothed)
    assert n == 48 and len(a.frames) == 48 and len(a.measures) == 48
    assert a.cuts == [0, 24]  # the hard cut of the synthetic clip; the fade (36-47) is no cut
    cut = a.smoothed[24]
    assert cut.scene_mix == 1.0
    assert cut.avg_pq == pytest.approx(a.measures[24].avg_pq, abs=1e-12)  # reset to the new scene at once
    assert cut.peak_pq == pytest.approx(a.measures[24].peak_pq, abs=1e-12)
    day, night = a.smoothed[23], a.smoothed[25]
    assert day.avg_pq - night.avg_pq > 0.2  # day ~90 cd/m^2 average, night ~4
    assert all(s.scene_mix < 1.0 for s in a.smoothed[25:])
    assert all(abs(s.avg_pq - a.measures[i].avg_pq) < 0.03 for i, s in enumerate(a.smoothed[1:24], 1))


def test_smoother_is_libplacebo_iir_without_cuts():
    """With the hysteresis out of reach the smoother is the first-order IIR y += c (x - y), c = 1 - e^(-1/20)."""
    rng = np.random.default_rng(4)
    x = 0.5 + rng.uniform(-0.004, 0.004, 200)  # |x - smoothed| < 0.01: the hysteresis never engages
    sm = PeakSmoother()
    got = np.array([sm.update(FrameMeasure(0.8, v, 1.0)).avg_pq for v in x])
    c = 1 - math.exp(-1 / 20)
    want, _ = lfilter([c], [1, -(1 - c)], x[1:], zi=[(1 - c) * x[0]])
    np.testing.assert_allclose(got[1:], want, rtol=1e-12)
    assert got[0] == x[0]


def test_smoother_hysteresis_is_soft():
    sm = PeakSmoother()
    sm.update(FrameMeasure(0.7, 0.40, 1.0))
    small = sm.update(FrameMeasure(0.7, 0.41, 1.0))  # 1 % PQ step: delta (after the IIR) just under low
    assert small.scene_mix == 0.0
    mid = sm.update(FrameMeasure(0.7, small.avg_pq + 0.02 / (1 - sm.coeff), 1.0))  # delta 2 %: half way
    assert 0.4 < mid.scene_mix < 0.6
    big = sm.update(FrameMeasure(0.9, 0.1, 1.0))
    assert big.scene_mix == 1.0
    assert big.avg_pq == pytest.approx(0.1, abs=1e-12) and big.peak_pq == pytest.approx(0.9, abs=1e-12)
    dark = sm.update(FrameMeasure(0.9, 0.9, 0.01))  # 1 % of the frame active: the jump is discounted
    assert dark.scene_mix == 0.0


def test_flicker_metric_definition():
    flat = flicker_metric([0.5] * 30)
    assert flat.score == 0.0 and flat.passed
    fade = flicker_metric(np.linspace(0.6, 0.1, 30))
    assert fade.score < 1e-12  # a linear trend passes the symmetric low-pass unchanged
    y = np.full(30, 0.5)
    y[1::2] += 0.05  # frame-alternating flicker: the score is about half its peak-to-peak
    flick = flicker_metric(y)
    assert flick.score == pytest.approx(0.025, rel=0.1)
    assert flick.score > FLICKER_THRESHOLD and not flick.passed
    y[1::2] -= 0.02  # 0.03 peak-to-peak passes
    assert flicker_metric(y).passed
    step = np.r_[np.full(15, 0.6), np.full(15, 0.2)]
    assert flicker_metric(step, cuts=[15]).score < 1e-12  # a cut is not flicker ...
    assert flicker_metric(step).score > FLICKER_THRESHOLD  # ... unless the metric does not know about it


def test_predicted_sdr_output_does_not_flicker(pq_analysis):
    fl = pq_analysis.flicker
    assert len(fl.luma) == 48
    assert fl.passed and fl.score < FLICKER_THRESHOLD
    assert 0.3 < fl.luma[5] < 0.8 and fl.luma[30] < fl.luma[5]  # day brighter than night


def test_frame_stats_consistent_with_measurement(pq_analysis):
    for fs, m in zip(pq_analysis.frames, pq_analysis.measures):
        p = fs.percentile(99.99)
        assert abs(float(eotf_inverse_st2084(max(p, 203.0))) - m.peak_pq) < 0.01
        assert fs.max_nits <= 1000 * 1.5  # scene clipped at 1000 cd/m^2, plus grain and coding


def test_json_round_trip(pq_analysis, tmp_path):
    d = pq_analysis.to_dict()
    text = json.dumps(d)  # JSON-safe
    back = ClipAnalysis.from_dict(json.loads(text))
    assert back.to_dict() == d
    p = pq_analysis.write_json(tmp_path / "a.json")
    assert ClipAnalysis.read_json(p).cuts == [0, 24]
    with pytest.raises(Exception):
        ClipAnalysis.from_dict({**d, "schema": "something else"})


def test_plot(pq_analysis, tmp_path):
    from PIL import Image

    p = plot_analysis(pq_analysis, tmp_path / "flicker.png")
    with Image.open(p) as im:
        assert im.format == "PNG" and im.size[0] >= 800
        a = np.asarray(im.convert("L"))
    assert a.std() > 10  # something was drawn
    assert [f.name for f in tmp_path.iterdir()] == ["flicker.png"]  # no temporary left behind


def test_phone_clip_analysis(phone):
    a = analyze(phone, step=1)
    assert len(a.frames) == 9 and a.cuts == [0] and a.transfer == "hlg"
    assert a.frames[0].width == 1920 and a.step == 1
    # HLG on the 1000 cd/m^2 reference display: nothing above 1000 cd/m^2
    assert all(f.max_nits <= 1000.5 for f in a.frames)
    assert 500 < a.smoothed[-1].peak_nits <= 1000.5
    assert a.flicker.passed


def test_small_sampling_grid_predicts_the_same_sdr_luma(clips):
    # 320x180 at step 4 samples 80x45 pixels, fewer than the luma-prediction grid: the
    # prediction then takes every sampled pixel and must still agree with the full frame
    full, coarse = analyze(clips["pq_flat"], step=1), analyze(clips["pq_flat"], step=4)
    assert len(coarse.sdr_luma) == len(full.sdr_luma) == 6
    assert np.allclose(coarse.sdr_luma, full.sdr_luma, atol=0.02)
    assert 0.3 < coarse.sdr_luma[0] < 0.8
    assert coarse.flicker.score < 0.01 and full.flicker.score < 0.01  # still within each scene


def test_small_sampling_grid_flicker(clips, pq_analysis):
    # the grained 320x180 clip at step 4: the same small flicker score as on every pixel
    a = analyze(clips["pq"], step=4)
    assert a.cuts == pq_analysis.cuts == [0, 24]
    assert a.flicker.score < 0.01 and abs(a.flicker.score - pq_analysis.flicker.score) < 0.002
