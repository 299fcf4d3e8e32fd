"""The rules every command follows, as the README states them: one output rule, output
checks before any work, one error format (``hdrkit: error: <path>: <what happened>``, exit 2),
``--json -`` with nothing else on stdout, global options on both sides of the command,
content-based ``info``, and the Python API's errors and repr."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hdrkit.cli import main

from .conftest import ROOT

SAMPLES = ROOT / "samples"
AVIF = SAMPLES / "ultrahdr" / "reference_decodes" / "photoshop_seine_hdr_srgb.avif"
MINNIE = SAMPLES / "ultrahdr" / "libultrahdr_minnie_ultrahdr_sys.jpg"
APPLE = SAMPLES / "ultrahdr" / "apple_gainmap_new.jpg"
H10P_JSON = SAMPLES / "hdr10plus" / "single-frame-metadata.json"


def _one_error_line(err: str, path) -> str:
    """The stderr of a refused run: exactly one line, naming ``path``, no class names or errno."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"hdrkit: error: {path}: "), lines[0]
    assert not re.search(r"Errno|Error:|Traceback|\w+Error\b", lines[0]), lines[0]
    return lines[0]


@pytest.fixture()
def unwritable_dir(tmp_path):
    """A folder this process cannot write in (mode 555, plus the immutable flag for root)."""
    d = tmp_path / "rodir"
    d.mkdir()
    d.chmod(0o555)
    immutable = False
    try:
        (d / ".probe").touch()
        (d / ".probe").unlink()
        immutable = subprocess.run(["chattr", "+i", str(d)], capture_output=True).returncode == 0
        if not immutable:
            pytest.skip("cannot make an unwritable folder here")
    except OSError:
        pass
    yield d
    if immutable:
        subprocess.run(["chattr", "-i", str(d)], capture_output=True)
    d.chmod(0o755)


@pytest.fixture()
def collision_dir(tmp_path):
    from PIL import Image

    d = tmp_path / "coll"
    d.mkdir()
    shutil.copy(MINNIE, d / "a.jpg")
    Image.new("RGB", (64, 48), (100, 120, 140)).save(d / "a.png")
    return d


# ------------------------------------------------------------------ info

def test_info_reports_unknown_side_data_by_number(capsys):
    from hdrkit.video.info import video_info

    assert main(["info", str(AVIF)]) == 0
    out = capsys.readouterr().out
    assert "kind: image" in out and "type 31" in out
    d = video_info(AVIF)  # the video path reads the same frame: no crash either
    assert d["video"]["unknown_side_data"] == [31]


def test_info_identifies_files_by_content(tmp_path, capsys):
    from PIL import Image

    text = tmp_path / "text.jpg"
    text.write_text("hello, not a picture\n")
    png = tmp_path / "sdr.png"
    Image.new("RGB", (32, 16), (10, 20, 30)).save(png)
    assert main(["info", str(text)]) == 2
    assert "text file" in _one_error_line(capsys.readouterr().err, text)
    assert main(["info", "--json", str(png), str(H10P_JSON)]) == 0
    img, h10p = json.loads(capsys.readouterr().out)
    assert img["kind"] == "image" and (img["width"], img["height"]) == (32, 16)
    truth = json.loads(H10P_JSON.read_text())["SceneInfo"]
    assert h10p["kind"] == "hdr10plus-json" and h10p["frames"] == len(truth) and h10p["scenes"] == 1
    assert h10p["profile"] == "B"
    assert h10p["peak_maxscl_nits"] == max(truth[0]["LuminanceParameters"]["MaxScl"]) / 10


# ------------------------------------------------------------------ outputs

def test_unwritable_output_is_one_line_naming_the_output(unwritable_dir, hlg_clip, capsys):
    dst = unwritable_dir / "p.mp4"
    assert main(["proxy", str(hlg_clip), "-o", str(dst), "--no-progress"]) == 2
    _one_error_line(capsys.readouterr().err, dst)
    out = unwritable_dir / "x.jpg"
    assert main(["still", str(MINNIE), "-o", str(out)]) == 2  # the output is named, not the input
    _one_error_line(capsys.readouterr().err, out)


def test_output_checks_before_any_work(tmp_path, hlg_clip, capsys):
    missing = tmp_path / "nope" / "p.mp4"
    assert main(["proxy", str(hlg_clip), "-o", str(missing)]) == 2
    assert "does not exist" in _one_error_line(capsys.readouterr().err, missing)
    assert main(["encode", str(hlg_clip), "-o", str(hlg_clip)]) == 2
    assert "input" in _one_error_line(capsys.readouterr().err, hlg_clip)
    folder = tmp_path / "report.json"
    folder.mkdir()
    assert main(["analyze", str(hlg_clip), "--json", str(folder)]) == 2
    assert "folder" in _one_error_line(capsys.readouterr().err, folder)


def test_folder_input_needs_a_folder_output(tmp_path, collision_dir, capsys):
    (collision_dir / "a.png").unlink()
    shutil.copy(APPLE, collision_dir / "b.jpg")
    o2 = tmp_path / "o2.jpg"
    assert main(["still", str(collision_dir), "-o", str(o2)]) == 2
    _one_error_line(capsys.readouterr().err, o2)
    assert not o2.exists()


def test_batch_collisions_are_refused_before_writing(tmp_path, collision_dir, capsys):
    out = tmp_path / "out"
    assert main(["still", str(collision_dir), "-o", f"{out}/"]) == 2
    err = capsys.readouterr().err
    assert "a.jpg" in err and "a.png" in err and "twice" in err
    assert not out.exists()


def test_skip_existing_counts_separately(tmp_path, capsys):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(MINNIE, d / "m.jpg")
    (d / "bad.jpg").write_bytes(b"\xff\xd8\xff" + b"junk" * 10)
    out = f"{tmp_path / 'out'}/"
    assert main(["still", str(d), "-o", out]) == 2
    capsys.readouterr()
    assert main(["still", str(d), "-o", out, "--skip-existing", "--json", str(tmp_path / "r.json")]) == 2
    summary = capsys.readouterr().out
    assert "0 exported, 1 skipped" in summary and "1 failed" in summary
    rows = json.loads((tmp_path / "r.json").read_text())
    assert sum(bool(r.get("skipped")) for r in rows) == 1


def test_json_to_stdout_holds_only_json(tmp_path, capsys):
    assert main(["still", str(MINNIE), "-o", str(tmp_path / "m.jpg"), "--json", "-"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)[0]["src"] == str(MINNIE) and "->" in out.err
    assert main(["curves", "--json", "-"]) == 0
    assert "curves" in json.loads(capsys.readouterr().out)
    assert main(["curves", "--json"]) == 0  # the bare form of the switch it used to be
    assert "curves" in json.loads(capsys.readouterr().out)
    assert main(["curves", "--json", str(tmp_path / "report.txt")]) == 2  # a target, but not *.json
    assert ".json" in capsys.readouterr().err and not (tmp_path / "report.txt").exists()
    assert main(["curves", "--json", "--plot", str(tmp_path / "c.png")]) == 0  # bare before an option
    assert "curves" in json.loads(capsys.readouterr().out) and (tmp_path / "c.png").is_file()


@pytest.mark.parametrize("command", ["analyze", "keyframes", "proxy"])
def test_video_commands_json_to_stdout(command, tmp_path, hlg_clip, capsys):
    out = {"analyze": [], "keyframes": ["-o", str(tmp_path / "kf"), "--limit", "1"],
           "proxy": ["-o", str(tmp_path / "p.mp4"), "--x264-preset", "ultrafast"]}[command]
    assert main([command, str(hlg_clip), *out, "--no-progress", "--json", "-"]) == 0
    res = capsys.readouterr()
    report = json.loads(res.out)
    assert report and res.err.startswith("hdrkit: ")


def test_folder_output_of_a_one_file_command(tmp_path, hlg_clip, capsys):
    out = tmp_path / "new" / "sub"
    assert main(["proxy", str(hlg_clip), "-o", f"{out}/", "--x264-preset", "ultrafast", "--no-progress"]) == 0
    assert (out / f"{hlg_clip.stem}.mp4").is_file()
    assert main(["still", str(MINNIE), "-o", f"{out}/"]) == 0
    assert (out / f"{MINNIE.stem}.jpg").is_file()


def test_keyframes_failures_leave_no_folder(tmp_path, capsys):
    out = tmp_path / "kf"
    assert main(["keyframes", str(tmp_path / "missing.mp4"), "-o", str(out)]) == 2
    _one_error_line(capsys.readouterr().err, tmp_path / "missing.mp4")
    assert not out.exists()


def test_keyframes_sdr_refusal_leaves_no_folder(tmp_path, capsys):
    sdr = _sdr_clip(tmp_path, tagged=True)
    out = tmp_path / "kf"
    assert main(["keyframes", str(sdr), "-o", str(out), "--no-progress"]) == 2
    assert "--allow-sdr" in capsys.readouterr().err
    assert not out.exists()


def test_proxy_of_a_folder_says_folder(tmp_path, capsys):
    assert main(["proxy", str(tmp_path), "-o", str(tmp_path / "p.mp4")]) == 2
    assert "is a folder" in _one_error_line(capsys.readouterr().err, tmp_path)


def test_unreadable_video_is_one_clean_line(tmp_path, hlg_clip, capsys):
    text = tmp_path / "t.mp4"
    text.write_text("hello\n")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(hlg_clip.read_bytes()[:3000])
    for bad in (text, cut):
        assert main(["proxy", str(bad), "-o", str(tmp_path / "p.mp4")]) == 2
        _one_error_line(capsys.readouterr().err, bad)


def test_proxy_help_shows_output_as_required(capsys):
    with pytest.raises(SystemExit):
        main(["proxy", "--help"])
    usage = capsys.readouterr().out.split("\n\n")[0]
    assert "-o OUT" in usage and "[-o OUT]" not in usage


# ------------------------------------------------------------------ options and messages

def test_global_options_on_both_sides(tmp_path, capsys):
    assert main(["curves", "-q"]) == 0 and capsys.readouterr().out == ""
    assert main(["-q", "curves"]) == 0 and capsys.readouterr().out == ""
    assert main(["still", str(MINNIE), "-o", str(tmp_path / "m.jpg"), "-v"]) == 0
    assert main(["still", str(MINNIE), "-o", str(tmp_path / "m.jpg"), "-q", "90"]) == 2
    assert "--quality 90" in capsys.readouterr().err
    # and after the action of commands that have actions
    from hdrkit import cli

    for argv in (["server", "status", "-q"], ["hdr10plus", "extract", "in.hevc", "-o", "x.json", "-v"]):
        args = cli.create_parser().parse_args(argv)
        assert args.quiet or args.verbose, argv


def _sdr_clip(tmp_path, tagged: bool) -> Path:
    from hdrkit.io.ffmpeg import run_ffmpeg

    p = tmp_path / ("sdr_tagged.mp4" if tagged else "sdr_untagged.mp4")
    tags = ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv"]
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=0.3", "-pix_fmt", "yuv420p",
                "-c:v", "libx264", *(tags if tagged else []), "-y", str(p)])
    return p


def test_untagged_sdr_message_suggests_values(tmp_path, capsys):
    clip = _sdr_clip(tmp_path, tagged=False)
    assert main(["keyframes", str(clip), "-o", str(tmp_path / "kf"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    flags = ["--assume-transfer", "bt1886", "--assume-primaries", "bt709", "--assume-matrix", "bt709",
             "--assume-range", "limited", "--allow-sdr"]
    assert " ".join(flags) in err
    assert main(["keyframes", str(clip), "-o", str(tmp_path / "kf"), "--no-progress", "--limit", "1", *flags]) == 0


def test_analyze_hdr10_refuses_hlg_like_encode(hlg_clip, capsys):
    assert main(["analyze", str(hlg_clip), "--hdr10", "--no-progress"]) == 2
    err = capsys.readouterr()
    assert "HLG" in _one_error_line(err.err, hlg_clip) and "smpte2084" not in err.out


def test_encode_json_and_short_hdr10plus_message(tmp_path, pq_clip, capsys):
    dst = tmp_path / "e.mp4"
    assert main(["encode", str(pq_clip), "-o", str(dst), "--hdr10plus", str(H10P_JSON), "--no-progress",
                 "--preset", "ultrafast", "--json", "-"]) == 0
    out = capsys.readouterr()
    summary = json.loads(out.out)
    assert any("frames 1 to 7 get no HDR10+ SEI" in w for w in summary["warnings"]), summary["warnings"]
    assert "wrote" in out.err


# ------------------------------------------------------------------ Python API

def test_api_missing_file_is_an_oserror_and_a_container_error(tmp_path):
    import hdrkit
    from hdrkit.errors import ContainerError

    for call in (lambda p: hdrkit.read_gainmap(p), lambda p: hdrkit.export_sdr(p, tmp_path / "o.jpg")):
        with pytest.raises(FileNotFoundError) as ei:
            call(tmp_path / "missing.jpg")
        assert isinstance(ei.value, ContainerError) and ei.value.filename == str(tmp_path / "missing.jpg")
    with pytest.raises(OSError):
        hdrkit.read_gainmap(tmp_path)


def test_gainmap_image_repr_is_short():
    import hdrkit

    r = repr(hdrkit.read_gainmap(MINNIE))
    assert len(r) < 300 and "array" not in r and r.startswith("GainMapImage(")


# ------------------------------------------------------------------ location

def test_strip_location_drops_gps(tmp_path):
    from PIL import Image

    keep, strip = tmp_path / "keep.jpg", tmp_path / "strip.jpg"
    assert main(["still", str(APPLE), "-o", str(keep)]) == 0
    assert main(["still", str(APPLE), "-o", str(strip), "--strip-location"]) == 0
    src = Image.open(APPLE).getexif()
    assert Image.open(keep).getexif().get_ifd(0x8825) == src.get_ifd(0x8825) != {}
    e = Image.open(strip).getexif()
    assert 0x8825 not in e and e.get_ifd(0x8825) == {}
    assert e.get(0x010F) == src.get(0x010F)  # the camera make is kept


def test_cli_collects_less_often_while_running_and_restores_the_callers_settings(monkeypatch, capsys):
    import gc

    from hdrkit import cli

    seen = []
    make = cli.create_parser
    monkeypatch.setattr(cli, "create_parser", lambda *a: seen.append(gc.get_threshold()) or make(*a))
    before = gc.get_threshold()
    gc.set_threshold(500, 7, 9)
    try:
        assert main([]) == 2  # no command: help, exit status 2
        assert gc.get_threshold() == (500, 7, 9)
    finally:
        gc.set_threshold(*before)
    assert seen == [cli.GC_THRESHOLDS]


def test_the_process_own_command_line_freezes_the_collector_before_exit_a_caller_keeps_its_own(tmp_path):
    """The interpreter's exit walks every object left (some 10^6 once numba is loaded) in full
    collections; a frozen heap is not walked. Only a command line of the process's own, which
    ends the process, freezes it: a caller of ``main(argv)`` keeps a collector that collects."""
    import gc
    import os
    import sys

    probe = ("import atexit, gc, sys; from hdrkit.cli import main; n = len(gc.get_objects());"
             "atexit.register(lambda: print('frozen', gc.get_freeze_count() > n > 0));"
             "sys.argv = ['hdrkit', 'still', *sys.argv[1:]]; main()")
    out = subprocess.run([sys.executable, "-c", probe, str(APPLE), "-o", str(tmp_path / "a.jpg"), "-q"],
                         capture_output=True, text=True, env={**os.environ, "HDRKIT_SERVER": "off"}, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == ["frozen", "True"]  # more than was loaded before the command
    before = gc.get_freeze_count()
    assert main(["info", str(APPLE)]) == 0
    assert gc.get_freeze_count() == before
