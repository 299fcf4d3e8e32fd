"""`hdrkit still VIDEO --time T`: the frame displayed at T, through the keyframe export."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hdrkit.errors import OptionError
from hdrkit.still.export import export_array
from hdrkit.video.decode import VideoReader
from hdrkit.video.keyframes import export_frame, export_keyframes, frame_xmp

imagecodecs = pytest.importorskip("imagecodecs")


def test_frame_at_time_is_the_displayed_frame_byte_for_byte(clips, tmp_path):
    src = clips["pq"]
    with VideoReader(src) as r:
        fps = float(r.fps)
        want = int(1.3 * fps)  # shown from want / fps until (want + 1) / fps, which holds 1.3 s
        f = next(f for f in r.frames() if f.index == want)
        same = export_array(r.to_linear(f), r.colour.primaries, tmp_path / "ref.jpg", xmp_extra=frame_xmp(src, f))
    k = export_frame(src, tmp_path / "t.jpg", 1.3)
    assert k.index == want and k.time <= 1.3 < k.time + 1 / fps
    assert (tmp_path / "t.jpg").read_bytes() == same.dst.read_bytes()
    # at a key frame's own time it is that key frame, as `hdrkit keyframes` writes it
    done, _ = export_keyframes(src, tmp_path / "kf")
    export_frame(src, tmp_path / "k1.jpg", done[1].time)
    assert (tmp_path / "k1.jpg").read_bytes() == done[1].path.read_bytes()


def test_time_outside_the_video_is_an_option_error(clips, tmp_path):
    for t in (-1.0, float("nan"), 60.0):
        with pytest.raises(OptionError):
            export_frame(clips["pq"], tmp_path / "x.jpg", t)
    assert not (tmp_path / "x.jpg").exists()


def test_cli_still_time_ultrahdr(clips, tmp_path):
    out = tmp_path / "f.jpg"
    r = subprocess.run([sys.executable, "-m", "hdrkit", "still", str(clips["hlg"]), "--time", "0.5", "-o", str(out),
                        "--ultrahdr"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert imagecodecs.ultrahdr_check(out.read_bytes())
    r = subprocess.run([sys.executable, "-m", "hdrkit", "still", str(clips["hlg"]), "--time", "99", "-o",
                        str(tmp_path / "g.jpg")], capture_output=True, text=True)
    assert r.returncode != 0 and "Traceback" not in r.stderr and "past the end" in r.stderr
