"""hdrkit deliver: a generated PQ master -> every version and a passing QC; broken versions
fail QC with a line naming the check. Real x265 / x264 / FFmpeg, read back with PyAV."""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess

import pytest

from hdrkit.cli import main as cli_main
from hdrkit.core.pipeline import RenderParams
from hdrkit.errors import OptionError
from hdrkit.io.ffmpeg import ffmpeg_exe
from hdrkit.video.deliver import deliver, parse_versions

pytestmark = pytest.mark.slow  # one delivery of five versions, then QC runs on broken copies (~60 s)

W, H, N = 256, 144, 16
FAST = dict(x265_preset="ultrafast")


@pytest.fixture(scope="module")
def delivery(tmp_path_factory, make_clips_module):
    d = tmp_path_factory.mktemp("deliver")
    master = make_clips_module.make_clip(d / "master.mp4", transfer="pq", width=W, height=H, frames=N,
                                         preset="ultrafast")
    out = d / "out"
    seen = _Messages()
    lg = logging.getLogger("hdrkit.deliver")  # the run's own logger, whatever earlier tests did to logging
    state = (lg.disabled, lg.level, logging.root.manager.disable)
    lg.disabled = False
    lg.setLevel(logging.WARNING)
    logging.disable(logging.NOTSET)
    lg.addHandler(seen)
    try:
        rc = cli_main(["deliver", str(master), "-o", str(out), "--x265-preset", "ultrafast", "--no-progress"])
    finally:
        lg.removeHandler(seen)
        lg.disabled, _, _ = state
        lg.setLevel(state[1])
        logging.disable(state[2])
    return master, out, rc, seen.messages


class _Messages(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _qc_only(master, out):
    return deliver(master, out, qc_only=True, **FAST)


def test_all_versions_and_a_passing_qc(delivery):
    master, out, rc, messages = delivery
    assert rc == 0
    m = json.loads((out / "manifest.json").read_text())
    # a master measuring above its 1000 cd/m^2 mastering display (the 1000 cd/m^2 speculars of the
    # generated clip land within a code or two of it) is said once per run, not once per HDR10 version
    above = m["analysis"]["max_cll"] > 1000
    said = sum("exceeds the mastering display peak" in msg for msg in messages)
    assert said <= 1, messages  # never once per HDR10 version
    for v in ("hdr10", "hdr10plus"):  # each HDR10 version records it in the manifest
        assert any("exceeds the mastering display peak" in w for w in m["versions"][v]["warnings"]) == above
    v = m["versions"]
    assert list(v) == ["hdr10", "hdr10plus", "hlg", "sdr", "keyframes"]
    sig = {k: e["signalling"] for k, e in v.items() if "signalling" in e}
    for k in ("hdr10", "hdr10plus"):
        assert sig[k]["color"]["transfer"] == sig[k]["vui"]["transfer"] == "smpte2084"
        assert sig[k]["content_light"]["in_band"]["max_cll"] == m["analysis"]["max_cll"]
        assert sig[k]["content_light"]["container"]["max_fall"] == m["analysis"]["max_fall"]
        assert sig[k]["mastering_display"]["container"]
    assert sig["hdr10plus"]["hdr10plus_frames"] == N and sig["hdr10"]["hdr10plus_frames"] == 0
    assert sig["hlg"]["vui"]["transfer"] == "arib-std-b67" and not sig["hlg"]["content_light"]
    assert sig["sdr"]["vui"] == {"primaries": "bt709", "transfer": "bt709", "matrix": "bt709", "range": "tv"}
    assert all(s["frame_count"] == N for s in sig.values())
    assert v["hlg"]["conversion"] == "pq->hlg"
    # one x265 encode for both: HDR10 is the HDR10+ file without its ST 2094-40 SEIs
    assert v["hdr10"]["made_from"].startswith("master_hdr10plus.mp4 without")
    assert v["hdr10"]["mastering_display"] == v["hdr10plus"]["mastering_display"]
    assert v["keyframes"]["files"] and all((out / f["path"]).is_file() for f in v["keyframes"]["files"])
    assert (out / v["hdr10plus"]["hdr10plus_json"]).is_file()
    qc = json.loads((out / "qc.json").read_text())
    assert qc["passed"] and not qc["failures"] and m["qc"]["passed"]
    names = {c["name"] for c in qc["checks"]}
    assert {"signalling", "eotf_tracking_rmse", "tone_tracking_rmse", "delta_e00_p95", "skin_dh_p95", "banding",
            "highlight_retention", "flicker", "content_light_consistent", "frame_timing", "hdr10plus_aligned",
            "keyframes_match_sdr", "metadata_response_peak", "metadata_response_monotone"} <= names
    assert not any(c["skipped"] for c in qc["checks"] if c["name"] != "skin_dh_p95")
    for p in qc["pictures"].values():
        assert (out / p).stat().st_size > 1000
    assert "<img" in (out / "qc.html").read_text()
    assert not [p for p in out.rglob(".*")]  # no temporary file left anywhere


def test_hdr10_is_what_an_hdr10_encode_of_its_own_writes(delivery, tmp_path):
    """The HDR10 version comes from the HDR10+ encode without its SEIs: its coded pictures are
    byte for byte those of a separate HDR10 encode with the same settings (x265 codes the same
    pictures whether or not it is given HDR10+ metadata)."""
    import av

    from hdrkit.video.encode import encode_video

    master, out, *_ = delivery
    m = json.loads((out / "manifest.json").read_text())
    alone = tmp_path / "alone.mp4"
    encode_video(master, alone, hdr10=True, hdr10plus="drop", max_cll=f"{m['analysis']['max_cll']},"
                 f"{m['analysis']['max_fall']}", crf=18.0, preset="ultrafast", progress=False)

    def packets(p):
        with av.open(str(p)) as c:
            return [bytes(k) for k in c.demux(c.streams.video[0]) if k.size]

    assert packets(out / "master_hdr10.mp4") == packets(alone)


def test_rerun_skips_unchanged_versions(delivery):
    master, out, *_ = delivery
    res = deliver(master, out, **FAST)
    assert res.made == [] and res.skipped == list(parse_versions("hdr10,hdr10plus,hlg,sdr,keyframes"))
    assert res.passed


def _broken(delivery, tmp_path):
    master, out, *_ = delivery
    dst = tmp_path / "out"
    shutil.copytree(out, dst)
    return master, dst


def _failures(res) -> list[str]:
    return [c.line() for c in res.qc.failures]


def test_wrong_tags_fail_signalling(delivery, tmp_path, capsys):
    master, out = _broken(delivery, tmp_path)
    f = out / "master_hdr10.mp4"
    bad = tmp_path / "bad.mp4"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(f), "-c", "copy", "-bsf:v",
                    "hevc_metadata=transfer_characteristics=1", str(bad)], check=True)
    bad.replace(f)
    rc = cli_main(["deliver", str(master), "-o", str(out), "--qc-only", "--no-progress"])
    assert rc == 1
    err = capsys.readouterr().out
    assert "FAIL hdr10 signalling: VUI transfer bt709 read back, smpte2084 expected" in err


def test_dropped_hdr10plus_fails(delivery, tmp_path):
    from hdrkit.metadata.hdr10plus_stream import remove_hdr10plus

    master, out = _broken(delivery, tmp_path)
    f = out / "master_hdr10plus.mp4"
    stripped = tmp_path / "stripped.mp4"
    remove_hdr10plus(f, stripped)
    stripped.replace(f)
    res = _qc_only(master, out)
    fails = _failures(res)
    assert not res.passed
    assert any(s.startswith("FAIL hdr10plus signalling") and "HDR10+ on 0 of 16 frames" in s for s in fails)
    assert any(s.startswith("FAIL all hdr10plus_aligned") for s in fails)
    # a normal run notices the file is not what it wrote, and makes it again
    res = deliver(master, out, **FAST)
    assert res.made == ["hdr10plus"] and res.passed


def test_curve_change_in_one_version_fails(delivery, tmp_path):
    from hdrkit.video.proxy import make_proxy

    master, out = _broken(delivery, tmp_path)
    make_proxy(master, out / "master_sdr.mp4", params=RenderParams(curve="hable"), crf=14, force=True)
    res = _qc_only(master, out)
    fails = _failures(res)
    assert not res.passed
    assert any(s.startswith("FAIL sdr tone_tracking_rmse") for s in fails), fails
    assert not any(" hdr10 " in s or " hlg " in s for s in fails)  # only the changed version fails
    html = (out / "qc.html").read_text()
    assert html.index("FAIL") < html.index(">pass<")  # failing checks first
    assert "<td>FAIL</td><td>sdr</td><td>master_sdr.mp4</td>" in html  # the version summary names it
    assert "href='#sdr_difference'" in html and (out / "qc" / "sdr_difference.png").is_file()  # where it differs


def test_a_subset_of_versions(delivery, tmp_path):
    """HDR10 and SDR only: both made and checked; the HDR10+ checks are not run without it."""
    master, *_ = delivery
    res = deliver(master, tmp_path / "out", versions="hdr10,sdr", **FAST)
    assert res.made == ["hdr10", "sdr"] and list(res.manifest["versions"]) == ["hdr10", "sdr"]
    assert res.passed, [c.line() for c in res.qc.failures]
    names = {c.name for c in res.qc.checks}
    assert {"eotf_tracking_rmse", "tone_tracking_rmse", "content_light_consistent"} <= names
    assert not names & {"hdr10plus_aligned", "metadata_response_peak", "metadata_response_monotone"}


def test_refuses_a_non_pq_master(make_clips_module, tmp_path, capsys):
    """deliver takes a PQ master; an HLG one is refused in one line (exit 2, no traceback,
    nothing written), which says how to convert it."""
    hlg = make_clips_module.make_clip(tmp_path / "hlg.mp4", transfer="hlg", width=W, height=H, frames=2,
                                      preset="ultrafast")
    with pytest.raises(OptionError, match="must be PQ"):
        deliver(hlg, tmp_path / "out")
    assert cli_main(["deliver", str(hlg), "-o", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["hdrkit: error: the master must be PQ (HDR10 / HDR10+), not HLG: convert it first (hdrkit encode "
                   "MASTER -o PQ.mp4 --hdr10)"]
    assert not (tmp_path / "out").exists()
    with pytest.raises(OptionError, match="unknown version"):
        parse_versions("hdr10,dolby")


def test_real_hdr10plus_master_keeps_its_own_metadata(tmp_path):
    """hdr10plus_tool's single-frame sample (raw HEVC, no timestamps): its HDR10+ is carried
    into the HDR10+ version as it is and noted as not carried into the HLG one."""
    from pathlib import Path

    from hdrkit.metadata.hdr10plus import read_json
    from hdrkit.metadata.hdr10plus_stream import extract_hdr10plus

    src = Path(__file__).resolve().parents[2] / "samples" / "hdr10plus" / "single-frame.hevc"
    res = deliver(src, tmp_path / "out", versions="hdr10plus,hlg", **FAST)
    assert res.passed, [c.line() for c in res.qc.failures]
    v = res.manifest["versions"]
    assert v["hdr10plus"]["hdr10plus_source"] == "input"
    got = extract_hdr10plus(tmp_path / "out" / v["hdr10plus"]["file"])
    want = read_json(src.with_name("single-frame-metadata.json"), strict=False)
    assert [f.signal() for f in got.frames] == [f.signal() for f in want.frames]
    assert [d["metadata"] for d in v["hlg"]["dropped_metadata"]] == ["HDR10+"]
    timing = next(c for c in res.qc.checks if c.name == "frame_timing")
    assert timing.passed and "frame counts only" in timing.detail


def test_metadata_response_fails_on_a_maxscl_that_does_not_describe_the_picture(delivery, monkeypatch):
    """MaxScl 4x too high after the curve was fitted (as a damaged or hand-edited file has it)
    makes a player roll off from a peak the picture never reaches: the highlights come out
    dim and the response check says so."""
    import dataclasses

    import hdrkit.metadata.hdr10plus as h10p
    from hdrkit.video.analysis import ClipAnalysis
    from hdrkit.video.qc import _Bounds, _decode, _response, load_thresholds, sample_indices

    master, out, *_ = delivery
    a = ClipAnalysis.read_json(out / "analysis.json")
    i = max(sample_indices(N), key=lambda k: a.frames[k].max_nits)
    lin = _decode(master, [i])[0][i]
    B = _Bounds(load_thresholds())
    ok, _ = _response(B, lin, i, a, RenderParams(), 400.0, None)
    assert [c.passed for c in ok] == [True, True]
    fit = h10p.hdr10plus_from_stats

    def inflated(*args, **kw):
        md = fit(*args, **kw)
        md.frames = [dataclasses.replace(f, maxscl=tuple(4 * v for v in f.maxscl)) for f in md.frames]
        return md

    monkeypatch.setattr(h10p, "hdr10plus_from_stats", inflated)
    bad, _ = _response(B, lin, i, a, RenderParams(), 400.0, None)
    assert not bad[0].passed and bad[0].name == "metadata_response_peak"


@pytest.fixture(scope="module")
def response_frame(tmp_path_factory, make_clips_module):
    """Frame 0 of a 640x360 generated master (a sun disc and speculars at the top of the
    range) with its analysis: the picture the metadata response test runs on in a delivery."""
    from hdrkit.video.analysis import analyze
    from hdrkit.video.qc import _decode

    d = tmp_path_factory.mktemp("response")
    master = make_clips_module.make_clip(d / "master.mp4", transfer="pq", width=640, height=360, frames=2,
                                         preset="ultrafast")
    a = analyze(master, step=1)
    return _decode(master, [0])[0][0], a


def _response_checks(frame, analysis):
    from hdrkit.video.qc import _Bounds, _response, load_thresholds

    checks, curves = _response(_Bounds(load_thresholds()), frame, 0, analysis, RenderParams(), 400.0, None)
    return {c.name: c for c in checks}, curves


def test_metadata_response_on_a_640x360_master(response_frame):
    """Weak / medium / strong roll-off for one targeted display, each rendered on it: every
    ROI peak lands on the display peak and the share of ROI pixels at the peak falls
    strictly from weak to strong."""
    checks, curves = _response_checks(*response_frame)
    assert checks["metadata_response_peak"].passed and not checks["metadata_response_peak"].skipped
    mono = checks["metadata_response_monotone"]
    assert mono.passed and not mono.skipped, mono.line()
    shares = [float(s) for s in re.findall(r"(?:weak|medium|strong) ([0-9.]+)", mono.detail)]
    assert len(shares) == 3 and shares[0] > shares[1] > shares[2], mono.detail
    assert {v[0] for v in curves["variants"].values()} == {400.0}  # one targeted display for all three


def test_every_tone_curve_reaches_the_display_peak_later_when_set_for_a_higher_peak():
    """What the response test's ordering rests on: for every registered curve and preset,
    the source level where the curve reaches 98 % of the display peak rises with the peak
    the curve is set for (weak 0.5x, medium 1x, strong 2x)."""
    import numpy as np

    from hdrkit.core.tonemap import PRESETS, TONE_CURVES
    from hdrkit.video.qc import RESPONSE_VARIANTS, load_thresholds

    at_peak = load_thresholds()["checks"]["metadata_response_monotone"]["at_peak"]
    x = np.linspace(0, 60, 60001)
    D = 400.0 / 203.0
    looks = [(c, c.defaults()) for c in TONE_CURVES.values()] + [(TONE_CURVES[n], p) for n, p in PRESETS.values()]
    for curve, p in looks:
        for peak in (2.5, 6.0, 24.0):
            at = [x[np.argmax(curve.apply(x, peak * k, D, **p) >= at_peak * D)] for _, k in RESPONSE_VARIANTS]
            assert at[0] <= at[1] <= at[2] and at[0] < at[2], (curve.name, peak, at)


def test_metadata_response_fails_for_a_renderer_that_ignores_the_metadata(response_frame, monkeypatch):
    import hdrkit.core.st2094 as st

    real = st.st2094_40_curve

    def ignoring(x, src, dst, *args, **kw):  # libplacebo's no-metadata knee, whatever the metadata says
        return real(x, src, dst)

    monkeypatch.setattr(st, "st2094_40_curve", ignoring)
    checks, _ = _response_checks(*response_frame)
    assert not checks["metadata_response_monotone"].passed


def test_metadata_response_fails_for_metadata_whose_curves_do_not_differ(response_frame, monkeypatch):
    import hdrkit.metadata.hdr10plus as h10p

    real = h10p.hdr10plus_from_stats

    def same_curve(*args, **kw):  # the roll-off strength asked for is not passed on
        kw.pop("peaks_nits", None)
        return real(*args, **kw)

    monkeypatch.setattr(h10p, "hdr10plus_from_stats", same_curve)
    checks, _ = _response_checks(*response_frame)
    assert not checks["metadata_response_monotone"].passed


def test_interrupted_keyframes_leave_the_old_folder_and_no_partial_one(delivery, tmp_path, monkeypatch):
    import hdrkit.video.keyframes as kfmod

    master, out = _broken(delivery, tmp_path)
    before = sorted(p.name for p in (out / "keyframes").iterdir())
    real = kfmod.export_keyframes

    def interrupted(src, out_dir, **kw):
        real(src, out_dir, **kw)  # the new folder is complete ...
        raise KeyboardInterrupt  # ... when the user presses Ctrl-C

    monkeypatch.setattr(kfmod, "export_keyframes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        deliver(master, out, versions="keyframes", keyframe_every=0.25, **FAST)
    assert sorted(p.name for p in (out / "keyframes").iterdir()) == before
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
