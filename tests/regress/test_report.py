"""``hdrkit regress -o``: JSON, images, index.html (failing first), repro bundles, before/after."""

import json
import re

import numpy as np
import pytest
from PIL import Image

from hdrkit.cli import main
from hdrkit.regress.report import heatmap

from .conftest import ROOT


@pytest.fixture(scope="module")
def failing_report(mini_set, tmp_path_factory):
    """One run where grey_chart fails its vetoes (knee pushed down), with the previous pack for before/after."""
    out = tmp_path_factory.mktemp("report")
    rc = main(["regress", "--goldens", str(mini_set), "--baseline", str(ROOT / "regress" / "baseline.json"),
               "--param", "knee_offset=2.0", "--compare-pack", "previous", "-o", str(out)])
    return rc, out, json.loads((out / "export_consistency_report.json").read_text())


def _png(path):
    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGB"))


def test_json_report(failing_report):
    rc, out, rep = failing_report
    assert rc == 1 and rep["passed"] is False
    assert rep["pack"]["tags"]["tonemap_v"] == "bt2390@1(knee_offset=2);anchor=white,end=2.5"
    assert rep["compare_pack"]["pack"] == "v1"  # the pack the current one (v2) replaced
    by = {c["name"]: c for c in rep["cases"]}
    assert set(by) == {"grey_chart", "portrait_indoor", "signage", "probe-hue", "probe-ramp", "probe-pumping"}
    g = by["grey_chart"]
    assert g["status"] == "fail" and any(f.startswith("mid_grey") for f in g["failures"])
    assert {"mad_8bit", "dy_p95", "banding", "halo", "mid_grey", "ref_white", "eotf_rmse", "thumb_de00_mean",
            "size_mb", "export_ms"} <= set(g["metrics"])
    assert g["compare"]["pack"] == "v1" and "mid_grey" in g["compare"]["metrics"]
    assert "skin_de00_mean" in by["portrait_indoor"]["metrics"]
    assert "signage_de00_mean" in by["signage"]["metrics"]
    statuses = [c["status"] for c in rep["cases"]]
    assert statuses == sorted(statuses, key=lambda s: {"error": 0, "fail": 1, "pass": 2, "skip": 3}[s])


def test_case_images(failing_report):
    _, out, rep = failing_report
    for c in rep["cases"]:
        if c["kind"] == "probe":  # measured charts, no export file
            continue
        for key in ("compare", "thumbnail", "before_after"):
            img = _png(out / c["files"][key])
            assert img.shape[0] > 100 and img.std() > 5, (c["name"], key)
    assert _png(out / "curves" / "curves.png").std() > 5
    assert _png(out / "curves" / "pack_curves.png").std() > 5


def test_repro_bundle_for_the_failing_case(failing_report):
    _, out, rep = failing_report
    g = next(c for c in rep["cases"] if c["name"] == "grey_chart")
    d = out / g["files"]["repro"]
    assert sorted(p.name for p in d.iterdir()) == ["diff.png", "export.jpg", "export_meta.json", "preview.png",
                                                   "source.jpg"]
    assert (d / "source.jpg").read_bytes() == (ROOT / "samples/goldens/ci/grey_chart.jpg").read_bytes()
    meta = json.loads((d / "export_meta.json").read_text())
    assert meta["failures"] == g["failures"] and meta["pack"]["render"]["curve_params"]["knee_offset"] == 2.0
    assert "--case grey_chart" in meta["reproduce"] and "knee_offset=2" in meta["reproduce"]
    with Image.open(d / "export.jpg") as im:
        w, h = im.size
    assert _png(d / "preview.png").shape[:2] == (h, w) == _png(d / "diff.png").shape[:2]
    moved = {n for r in rep["regressions"] if r["failed"] for n, inc in r["largest_increases"] if inc > 0}
    assert not (out / "repro" / "signage").exists() or "signage" in moved or any(
        c["name"] == "signage" and c["status"] == "fail" for c in rep["cases"])  # bundles: failed or moved


def test_index_html_lists_failing_cases_first(failing_report):
    _, out, rep = failing_report
    page = (out / "index.html").read_text()
    assert "FAIL" in page
    rows = re.findall(r"<tr class='(\w+)'><td class='name'><a href='#([\w-]+)'>", page)
    assert rows and rows[0] == ("fail", "grey_chart")
    order = [s for s, _ in rows]
    assert order.index("fail") < order.index("pass")
    for c in rep["cases"]:
        for f in c["files"].values():
            assert f in page
    assert "curves/curves.png" in page and "regression" in page.lower()


def test_heatmap_scale():
    h = heatmap(np.array([[0.0, 4.0, 8.0, 100.0]]), 8.0)
    assert h.shape == (1, 4, 3) and h.dtype == np.uint8
    assert (h[0, 2] == h[0, 3]).all()  # clipped at vmax
    assert h[0, 0].sum() < h[0, 1].sum() < h[0, 2].sum()


def test_regression_only_failure_bundles_the_cases_that_moved(mini_set, tmp_path):
    """Baseline recorded at q95; the current q90 pack then raises mean MAD past +0.1: a regression
    without any veto, and the report bundles the cases whose MAD rose most."""
    b = tmp_path / "baseline.json"
    assert main(["regress", "--goldens", str(mini_set), "--baseline", str(b), "--update-baseline", "--quality", "95"]) == 0
    out = tmp_path / "r"
    assert main(["regress", "--goldens", str(mini_set), "--baseline", str(b), "-o", str(out)]) == 1
    rep = json.loads((out / "export_consistency_report.json").read_text())
    assert all(c["status"] == "pass" for c in rep["cases"])
    reg = {r["metric"]: r for r in rep["regressions"]}
    assert reg["mad_8bit"]["failed"] and reg["mad_8bit"]["increase"] > 0.1
    moved = [n for n, inc in reg["mad_8bit"]["largest_increases"] if inc > 0]
    for n in moved:
        assert (out / "repro" / n / "export_meta.json").is_file()
    assert "<span class='fail'>FAIL</span>" in (out / "index.html").read_text()


def test_compare_with_an_earlier_report(mini_set, tmp_path):
    """Before/after a change that no pack describes: the earlier run's exports are the 'before' side."""
    base = ["regress", "--goldens", str(mini_set), "--case", "grey_chart", "--baseline", str(tmp_path / "none.json")]
    assert main([*base, "-o", str(tmp_path / "before")]) == 0
    assert main([*base, "--param", "knee_offset=1.0", "-o", str(tmp_path / "after"),
                 "--compare-report", str(tmp_path / "before")]) in (0, 1)
    rep = json.loads((tmp_path / "after" / "export_consistency_report.json").read_text())
    c = rep["cases"][0]
    assert c["compare"]["pack"] == "before (before)" and c["compare"]["export_mad_8bit"] > 0.5
    old = json.loads((tmp_path / "before" / "export_consistency_report.json").read_text())["cases"][0]
    assert c["compare"]["metrics"]["mid_grey"] == old["metrics"]["mid_grey"] != c["metrics"]["mid_grey"]
    assert _png(tmp_path / "after" / c["files"]["before_after"]).std() > 5
    assert main([*base, "-o", str(tmp_path / "x"), "--compare-report", str(tmp_path / "nothing")]) == 2
