"""HDR10+ JSON: lossless round trip of the hdr10plus_tool sample, validation rules, generation."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from hdrkit.core.stats import frame_stats
from hdrkit.core.tonemap import get_curve
from hdrkit.errors import MetadataError, OptionError
from hdrkit.metadata.hdr10plus import (Hdr10PlusMetadata, fit_bezier, hdr10plus_from_analysis, hdr10plus_from_stats,
                                       read_json, validate_json)
from hdrkit.core.st2094 import st2094_40_curve
from hdrkit.core.transfer import eotf_inverse_st2084

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "hdr10plus" / "single-frame-metadata.json"


@pytest.fixture()
def sample():
    return json.loads(SAMPLE.read_text())


def test_sample_round_trip_is_lossless(sample, tmp_path):
    md = read_json(SAMPLE)
    assert md.profile == "B" and len(md) == 1
    f = md.frames[0]
    assert f.maxscl == (7768, 6589, 6912) and f.bezier.knee_x == 164 and f.target_nits == 400
    out = md.write_json(tmp_path / "again.json")
    assert json.loads(out.read_text()) == sample
    assert md.to_json_dict() == sample


def _broken(sample, edit):
    d = copy.deepcopy(sample)
    edit(d)
    return d


@pytest.mark.parametrize("edit,msg", [
    (lambda d: d["SceneInfo"][0]["LuminanceParameters"].__setitem__("MaxScl", [1, 2]), "exactly 3"),
    (lambda d: d["SceneInfo"][0]["LuminanceParameters"]["LuminanceDistributions"]["DistributionValues"].pop(),
     "DistributionValues 8"),
    (lambda d: d["SceneInfo"][0]["LuminanceParameters"].__setitem__("AverageRGB", 26.3), "must be an integer"),
    (lambda d: d["SceneInfo"][0]["LuminanceParameters"].__setitem__("AverageRGB", True), "must be an integer"),
    (lambda d: d["SceneInfo"][0].pop("LuminanceParameters"), "missing LuminanceParameters"),
    (lambda d: d.pop("SceneInfo"), "missing SceneInfo"),
    (lambda d: d.pop("ToolInfo"), "missing ToolInfo"),
    (lambda d: d["SceneInfo"][0].__setitem__("TargetedSystemDisplayMaximumLuminance", 0), "must not be 0"),
    (lambda d: d["SceneInfo"][0].__setitem__("TargetedSystemDisplayMaximumLuminance", 20000), "over 10000"),
    (lambda d: d["SceneInfo"][0]["BezierCurveData"].__setitem__("KneePointX", 5000), "over 4095"),
    (lambda d: d["SceneInfo"][0]["BezierCurveData"]["Anchors"].append(1), "at most 9 anchors"),
    (lambda d: d["SceneInfo"][0]["BezierCurveData"]["Anchors"].__setitem__(0, 1024), "below 1024"),
    (lambda d: d["SceneInfo"][0]["LuminanceParameters"]["MaxScl"].__setitem__(0, 100001), "over 100000"),
    (lambda d: d["SceneInfo"][0]["LuminanceParameters"]["LuminanceDistributions"]["DistributionIndex"]
     .__setitem__(1, 6), "DistributionIndex must be"),
    (lambda d: d["SceneInfo"][0].__setitem__("NumberOfWindows", 2), "must be 1"),
    (lambda d: d["SceneInfo"][0].pop("BezierCurveData"), "must be 0 without BezierCurveData"),
    (lambda d: d["SceneInfo"][0]["LuminanceParameters"].__setitem__("MaxScl", [-1, 2, 3]), "0-4294967295"),
])
def test_validation_rules(sample, edit, msg):
    with pytest.raises(MetadataError, match=msg):
        validate_json(_broken(sample, edit))


def test_read_errors_are_one_line(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"SceneInfo": [')
    with pytest.raises(MetadataError, match="not valid JSON"):
        read_json(p)
    with pytest.raises(MetadataError, match="not found"):
        read_json(tmp_path / "missing.json")


def test_lenient_reads_what_x265_reads(sample):
    d = {"SceneInfo": [{k: v for k, v in sample["SceneInfo"][0].items() if k in
                        ("LuminanceParameters", "TargetedSystemDisplayMaximumLuminance", "BezierCurveData")}]}
    with pytest.raises(MetadataError):
        validate_json(d)
    md = Hdr10PlusMetadata.from_json_dict(d, strict=False)
    assert md.frames[0].maxscl == (7768, 6589, 6912)
    md.validate()  # written back out it is complete


def _bt2390(target, peak):
    c = get_curve("bt2390")
    return lambda L: c.apply(np.asarray(L) / 203, peak / 203, target / 203) * 203


@pytest.mark.parametrize("peak", [600.0, 1000.0, 2000.0])
def test_bezier_fit_reproduces_the_hdrkit_curve(peak):
    T = 400.0
    f = _bt2390(T, peak)
    fit = fit_bezier(f, peak, T)
    assert fit.max_error_pq < 2e-3, fit  # under 2 10-bit codes
    kx, ky, an = fit.curve.normalised()
    L = np.geomspace(0.05, peak, 400)
    y = st2094_40_curve(L, peak, T, kx, ky, an, T)
    err = np.abs(eotf_inverse_st2084(y) - eotf_inverse_st2084(f(L)))
    assert err.max() == pytest.approx(fit.max_error_pq, abs=1e-3)
    assert np.all(np.diff(y) >= -1e-9)  # monotone


def test_bezier_fit_rejects_bad_arguments():
    with pytest.raises(OptionError):
        fit_bezier(lambda L: L, 1000, 0)
    with pytest.raises(OptionError):
        fit_bezier(lambda L: L, 1000, 400, n_anchors=10)


def _frames(n=6):
    out = []
    for i in range(n):
        img = np.full((32, 48, 3), 20.0 + 10 * i, np.float32)
        img[4:8, 4:8] = [300.0 + 100 * i, 200.0, 100.0]
        img[10:14, 4:8] = 1000.0 + 200 * i  # neutral highlight
        out.append(frame_stats(img, (0, 32, 0, 48)))
    return out


def test_generation_profiles_scenes_and_units():
    frames = _frames()
    a = hdr10plus_from_stats(frames, cuts=[3], profile="A")
    assert a.profile == "A" and all(f.target_nits == 0 and f.bezier is None for f in a.frames)
    assert [f.scene_id for f in a.frames] == [0, 0, 0, 1, 1, 1]
    assert [f.scene_frame_index for f in a.frames] == [0, 1, 2, 0, 1, 2]
    d = a.to_json_dict()
    assert d["SceneInfoSummary"] == {"SceneFirstFrameIndex": [0, 3], "SceneFrameNumbers": [3, 3]}
    assert a.frames[2].maxscl == (14000, 14000, 14000)  # 0.1 cd/m^2 units
    assert a.frames[2].average_maxrgb == round(frames[2].mean_nits * 10)
    b = hdr10plus_from_stats(frames, profile="B", target_nits=500)
    assert b.profile == "B" and all(f.target_nits == 500 and len(f.bezier.anchors) == 9 for f in b.frames)
    assert len(b.fits) == len(frames) and max(ft.max_error_pq for ft in b.fits) < 0.01
    validate_json(json.loads(b.to_json()))
    with pytest.raises(OptionError):
        hdr10plus_from_stats(frames, profile="C")


def test_generation_from_an_analysis_object_uses_smoothed_peaks():
    frames = _frames(4)

    class Analysis:
        pass

    an = Analysis()
    an.frames, an.cuts = frames, [2]
    an.smoothed = np.array([[4.0, 0.5]] * 4)  # (peak, avg) relative: 812 cd/m^2
    md = hdr10plus_from_analysis(an, profile="B", target_nits=400)
    assert {round(ft.src_peak_nits) for ft in md.fits} and md.frames[2].scene_id == 1
    an.smoothed = None
    md2 = hdr10plus_from_analysis(an, profile="B", target_nits=400)
    assert md2.frames[0].bezier != md.frames[0].bezier  # the curve follows the peak it is given
