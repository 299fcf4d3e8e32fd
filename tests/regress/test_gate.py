"""The gate: thresholds file, judging, and ``hdrkit regress`` catching deliberate regressions."""

import json
import math

import pytest

from hdrkit.cli import main
from hdrkit.regress.packs import CURRENT_PACK
from hdrkit.regress.runner import CaseResult, Thresholds, judge, load_baseline, load_thresholds

from .conftest import ROOT


def test_thresholds_file_explains_every_number():
    th = load_thresholds()
    assert th.version
    for group in (th.vetoes, th.regressions, th.warnings):
        for name, rule in group.items():
            assert len(rule.get("why", "")) > 40, name
            bounds = [rule[k] for k in ("max", "min", "max_increase") if k in rule]
            assert bounds and all(isinstance(b, (int, float)) and math.isfinite(b) for b in bounds), name
    # the two regression rules, with its numbers
    assert th.regressions["mad_8bit"]["max_increase"] == 0.1
    assert th.regressions["dy_p95"]["max_increase"] == 0.01
    for veto in ("skin_de00_mean", "signage_de00_mean", "banding", "halo", "size_mb", "bits_per_pixel"):
        assert veto in th.vetoes


def _case(name, **metrics):
    return CaseResult(name, "still", "test", metrics=dict(metrics))


def test_judge_vetoes_and_regressions():
    th = Thresholds("t", {"halo": {"max": 0.04}, "mid_grey": {"min": 0.44, "max": 0.54}},
                    {"mad_8bit": {"max_increase": 0.1}}, {}, "")
    base = {"cases": {"a": {"mad_8bit": 1.0}, "b": {"mad_8bit": 2.0}}}
    cases = [_case("a", halo=0.01, mad_8bit=1.05, mid_grey=0.5), _case("b", halo=0.05, mad_8bit=2.05, mid_grey=0.43),
             _case("c", halo=0.0, mad_8bit=9.0)]  # c is not in the baseline: it does not move the mean
    regs = judge(cases, th, base)
    assert [c.status for c in cases] == ["pass", "fail", "pass"]
    assert cases[1].failures == ["halo 0.05 > 0.04", "mid_grey 0.43 < 0.44"]
    assert len(regs) == 1 and not regs[0]["failed"] and regs[0]["cases"] == 2
    cases = [_case("a", mad_8bit=1.15), _case("b", mad_8bit=2.1)]
    regs = judge(cases, th, base)
    assert regs[0]["failed"] and regs[0]["increase"] == pytest.approx(0.125)
    assert regs[0]["largest_increases"][0][0] == "a"
    assert judge(cases, th, None) == []


def test_stored_baseline_covers_the_ci_set(ci_manifest):
    base = load_baseline(ROOT / "regress" / "baseline.json")["sets"]["ci"]
    names = {c["name"] for c in ci_manifest["cases"] if c["kind"] == "still"}
    assert names <= set(base["cases"])
    assert base["pack"] == CURRENT_PACK  # recorded with the pack hdrkit renders with
    for m in load_thresholds().regressions:
        assert any(m in v for v in base["cases"].values()), m


def _run(mini_set, tmp_path, *extra):
    out = tmp_path / "report"
    rc = main(["regress", "--goldens", str(mini_set), "--baseline", str(ROOT / "regress" / "baseline.json"),
               "-o", str(out), *extra])
    return rc, json.loads((out / "export_consistency_report.json").read_text())


def test_current_pack_passes(mini_set, tmp_path):
    rc, rep = _run(mini_set, tmp_path)
    assert rc == 0 and rep["passed"]
    # compared against the committed baseline (same case names as the CI set)
    assert {r["metric"] for r in rep["regressions"]} >= {"mad_8bit", "dy_p95"}
    assert not any(r["failed"] for r in rep["regressions"])


@pytest.mark.parametrize("args,metric", [
    (["--param", "knee_offset=2.0"], "mid_grey"),  # BT.2390 knee pushed down: mid-tones and white sink
    (["--curve", "pwl", "--param", "knee_out=0.6"], "mid_grey"),  # PWL toe pushed up: mid grey at 0.69
])
def test_worsened_curve_parameter_fails_the_gate(mini_set, tmp_path, args, metric):
    rc, rep = _run(mini_set, tmp_path, *args)
    assert rc == 1 and not rep["passed"]
    failing = [c for c in rep["cases"] if c["status"] == "fail"]
    assert any(f.startswith(metric) for c in failing for f in c["failures"])
    assert rep["cases"][0]["status"] == "fail"  # failing cases first


def test_lower_jpeg_quality_fails_as_a_regression(mini_set, tmp_path):
    rc, rep = _run(mini_set, tmp_path, "--quality", "60")
    assert rc == 1
    failed = {r["metric"] for r in rep["regressions"] if r["failed"]}
    assert "mad_8bit" in failed


def test_update_baseline_round_trip(mini_set, tmp_path):
    b = tmp_path / "baseline.json"
    assert main(["regress", "--goldens", str(mini_set), "--baseline", str(b), "--update-baseline"]) == 0
    data = json.loads(b.read_text())
    assert set(data["sets"]["ci"]["cases"]) == {"grey_chart", "portrait_indoor", "signage",
                                                "probe-hue", "probe-ramp", "probe-pumping"}  # the probes run every time
    assert "export_ms" not in data["sets"]["ci"]["cases"]["grey_chart"]
    assert main(["regress", "--goldens", str(mini_set), "--baseline", str(b)]) == 0
    # a failing pack is never recorded
    assert main(["regress", "--goldens", str(mini_set), "--baseline", str(b), "--update-baseline",
                 "--param", "knee_offset=2.0"]) == 1
    assert json.loads(b.read_text()) == data


def test_usage_errors_exit_2(mini_set, capsys):
    assert main(["regress", "--goldens", str(mini_set), "--pack", "nope"]) == 2
    assert main(["regress", "--goldens", str(mini_set), "--param", "knee_offset"]) == 2
    assert main(["regress", "--goldens", str(mini_set), "--case", "no_such_case"]) == 2
    assert main(["regress", "--goldens", str(mini_set), "--update-baseline"]) == 2  # needs --baseline
    err = capsys.readouterr().err
    assert err.count("hdrkit: error:") == 4


def test_list(capsys, mini_set):
    assert main(["regress", "--goldens", str(mini_set), "--list"]) == 0
    out = capsys.readouterr().out
    assert "grey_chart" in out and "v0" in out and "v1" in out
