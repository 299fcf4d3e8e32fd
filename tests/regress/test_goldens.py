"""The committed CI golden set: complete, intact, regenerable, and its ROIs mean what they say
(checked on libultrahdr's own decode through imagecodecs, not hdrkit's reader)."""

import hashlib
import importlib.util
import io
import json
import sys

import colour
import imagecodecs
import numpy as np
import pytest
from PIL import Image

from hdrkit.regress.goldens import load_rois, load_set

from .conftest import CI_SET, ROOT


def _make_goldens():
    if "make_goldens" not in sys.modules:
        spec = importlib.util.spec_from_file_location("make_goldens", ROOT / "scripts" / "make_goldens.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules["make_goldens"] = mod  # dataclasses look their module up while the file runs
        spec.loader.exec_module(mod)
    return sys.modules["make_goldens"]


def test_manifest_lists_a_complete_set(ci_manifest):
    stills = [c for c in ci_manifest["cases"] if c["kind"] == "still"]
    clips = [c for c in ci_manifest["cases"] if c["kind"] == "clip"]
    assert len(stills) >= 20 and len(clips) >= 2
    cats = {c["category"] for c in stills}
    assert {"portrait", "night", "signage", "indoor", "chart", "texture", "highlight", "noise", "gradient"} <= cats
    assert {c["transfer"] for c in clips} == {"pq", "hlg"}
    total = sum((CI_SET / c["file"]).stat().st_size + ((CI_SET / c["roi"]).stat().st_size if "roi" in c else 0)
                for c in ci_manifest["cases"])
    assert total < 3_000_000  # small enough to commit


def test_files_match_their_hashes_and_are_ultra_hdr(ci_manifest):
    for c in ci_manifest["cases"]:
        data = (CI_SET / c["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == c["sha256"], c["name"]
        if c["kind"] == "still":
            assert imagecodecs.ultrahdr_check(data), c["name"]
            assert hashlib.sha256((CI_SET / c["roi"]).read_bytes()).hexdigest() == c["roi_sha256"]


def test_roi_masks_fit_their_images():
    gs = load_set("ci", CI_SET, include_real=False)
    for case in gs.cases:
        if case.kind != "still":
            continue
        with Image.open(case.path) as im:
            w, h = im.size
        rois = load_rois(case, (h, w))
        assert set(rois) <= {"skin", "highlight", "signage", "ramp", "refwhite", "midgrey"}
        for name, n in case.meta["roi_pixels"].items():
            assert rois[name].sum() == n
    portraits = [c for c in gs.cases if c.category == "portrait"]
    assert all("skin" in c.meta["roi_pixels"] for c in portraits)


def _oracle(name):
    data = (CI_SET / f"{name}.jpg").read_bytes()
    lin = imagecodecs.ultrahdr_decode(data).astype(np.float64)[..., :3]  # linear, 1.0 = SDR white, P3
    case = next(c for c in load_set("ci", CI_SET, include_real=False).cases if c.name == name)
    return lin, load_rois(case, lin.shape[:2])


def test_grey_chart_rois_hold_their_levels_in_the_oracle_decode():
    lin, rois = _oracle("grey_chart")
    Y = colour.RGB_to_XYZ(lin, "Display P3", apply_cctf_decoding=False)[..., 1]
    assert Y[rois["refwhite"]].mean() == pytest.approx(1.0, rel=0.03)
    assert Y[rois["midgrey"]].mean() == pytest.approx(0.18, rel=0.03)
    ramp = lin[rois["ramp"]]
    assert np.abs(ramp - ramp.mean(-1, keepdims=True)).max() < 0.02 * ramp.max()  # neutral
    assert lin[rois["highlight"]].max(-1).min() > 1.6


@pytest.mark.parametrize("name", ["skin_hues", "portrait_daylight", "portrait_backlit"])
def test_skin_rois_are_skin_coloured_in_the_oracle_decode(name):
    lin, rois = _oracle(name)
    lab = colour.XYZ_to_Lab(colour.RGB_to_XYZ(lin[rois["skin"]], "Display P3", apply_cctf_decoding=False))
    h = np.degrees(np.arctan2(lab[:, 2], lab[:, 1])) % 360
    assert 20 < np.median(h) < 80
    assert np.percentile(np.hypot(lab[:, 1], lab[:, 2]), 50) > 8


def test_generator_is_deterministic_and_matches_the_committed_files(tmp_path, ci_manifest):
    mg = _make_goldens()
    man = mg.write_set(tmp_path, [(512, 384)], None, 0, only={"grey_chart", "skin_hues"}, set_name="ci")
    committed = {c["name"]: c for c in ci_manifest["cases"]}
    for c in man["cases"]:
        assert c["sha256"] == committed[c["name"]]["sha256"], c["name"]
        assert c["roi_sha256"] == committed[c["name"]]["roi_sha256"], c["name"]


def test_scene_is_the_same_at_every_size():
    mg = _make_goldens()
    small, _ = mg.render_scene("grey_chart", 192, 256)
    big, _ = mg.render_scene("grey_chart", 384, 512)
    down = big.reshape(192, 2, 256, 2, 3).mean(axis=(1, 3))
    inner = (slice(8, -8), slice(8, -8))
    assert np.median(np.abs(down[inner] - small[inner])) < 0.01


def test_roi_png_roundtrip():
    mg = _make_goldens()
    rois = {k: np.zeros((4, 5), bool) for k in mg.ROI_BITS}
    rois["skin"][1, 1] = rois["highlight"][1, 1] = rois["ramp"][3, 4] = True
    bits = np.asarray(Image.open(io.BytesIO(mg.roi_png(rois))))
    assert bits[1, 1] == mg.ROI_BITS["skin"] | mg.ROI_BITS["highlight"]
    assert bits[3, 4] == mg.ROI_BITS["ramp"] and bits.sum() == bits[1, 1] + bits[3, 4]
    assert json.loads(json.dumps(mg.ROI_BITS)) == {"skin": 1, "highlight": 2, "signage": 4, "ramp": 8,
                                                   "refwhite": 16, "midgrey": 32}
