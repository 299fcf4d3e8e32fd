"""First-run compilation on two cores: after the warm-up the real work compiles nothing.

Each test gives numba an empty cache directory, so what is compiled is seen exactly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
STILL = SAMPLES / "ultrahdr" / "libultrahdr_minnie_ultrahdr_sys.jpg"
CLIP = SAMPLES / "video" / "hlg10-color-test.mp4"

#: Runs one job, then prints per compiled-kernel cache misses (compilations) and hits.
_WORK_AND_COUNT = """
import json, sys
job, src, dst = (sys.argv[1:4] + [None, None])[:3]
if job == "cli":  # a command line: the arguments after "cli"
    from hdrkit.cli import main
    if main(sys.argv[2:]) != 0:
        sys.exit("the command failed")
elif job == "still":
    import hdrkit
    hdrkit.export_sdr(src, dst, force=True)
elif job == "proxy":
    from hdrkit.video.proxy import make_proxy
    make_proxy(src, dst, force=True, x264_preset="ultrafast")
else:
    from hdrkit.video.analysis import analyze
    analyze(src)
from hdrkit.core.runtime import cache_counts
print(json.dumps(cache_counts()))
"""
_WARM = ("import sys; from hdrkit.io import warmup; "
         "print(warmup.warm_still(sys.argv[1]) if sys.argv[2] == 'still' else warmup.warm_video(sys.argv[1]))")


def _run(cache: Path, *argv: str) -> str:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-c", *argv], env=env, capture_output=True, text=True, check=True).stdout


def _warm(cache: Path, src: Path, job: str) -> bool:
    return {"True": True, "False": False}[_run(cache, _WARM, str(src), job).strip()]


def _work(cache: Path, job: str, src: Path, dst: Path) -> dict:
    return json.loads(_run(cache, _WORK_AND_COUNT, job, str(src), str(dst)))


def _work_cli(cache: Path, *argv: str) -> dict:
    """:func:`_work` of the command line ``hdrkit *argv`` (run in the process, not through a server)."""
    return json.loads(_run(cache, _WORK_AND_COUNT, "cli", *argv).splitlines()[-1])


def test_still_warm_up_compiles_every_kernel_the_export_uses(tmp_path):
    cache = tmp_path / "numba-cache"
    assert _warm(cache, STILL, "still") is True  # a cold cache: it compiled
    out = _work(cache, "still", STILL, tmp_path / "o.jpg")
    assert out["misses"] and not any(out["misses"].values()), out["misses"]  # nothing compiled in the export
    assert out["hits"] > 0  # it loaded what the warm-up cached
    assert _warm(cache, STILL, "still") is False  # warm: nothing to do


def large_still(tmp_path: Path) -> Path:
    """A gain-map JPEG large enough for the row-streamed export, with a phone's map: one channel at
    a quarter of the size (an integer scale), gamma 1, 4:2:0 base."""
    from tests.still._uhdr import make

    path = tmp_path / "large.jpg"
    path.write_bytes(make().make_variant("asm_gray_s4_420", 2048, 1032))
    return path


def test_still_warm_up_on_a_large_picture_compiles_the_streamed_export(tmp_path):
    large = large_still(tmp_path)
    cache = tmp_path / "numba-cache"
    assert _warm(cache, large, "still") is True
    out = _work(cache, "still", large, tmp_path / "o.jpg")
    assert out["misses"]["hdrkit.core.kernels._render_sdr_rebuilt"] == 0, out["misses"]
    assert not any(out["misses"].values()), out["misses"]
    assert _warm(cache, large, "still") is False


def test_still_warm_up_survives_a_bad_input(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not a jpeg")
    cache = tmp_path / "numba-cache"
    assert _warm(cache, bad, "still") is True
    out = _work(cache, "still", STILL, tmp_path / "o.jpg")
    # the parent compiled the render kernel; the rebuild the child could not reach, the export compiled
    assert out["misses"]["hdrkit.core.kernels._render_sdr"] == 0
    assert out["misses"]["hdrkit.core.rebuild._integer_scale_kernel"] >= 1


def test_video_warm_up_compiles_every_kernel_the_proxy_uses(tmp_path):
    cache = tmp_path / "numba-cache"
    assert _warm(cache, CLIP, "video") is True
    out = _work(cache, "proxy", CLIP, tmp_path / "p.mp4")
    assert out["misses"] and not any(out["misses"].values()), out["misses"]
    assert _warm(cache, CLIP, "video") is False


def test_cached_answers_true_when_numba_internals_differ():
    from hdrkit.io.warmup import cached

    assert cached(object()) is True


def test_planes_have_the_precompiled_kernels_types_whatever_the_row_padding(tmp_path):
    """numba compiles a kernel per argument type, array layout included: planes whose rows the
    decoder pads (720x480, or a scaled 426-pixel width) must reach the kernels with the types of
    the bundled clip's unpadded planes, or the first proxy of such a clip compiles again (seconds)."""
    import numba

    from hdrkit.video.reader import VideoReader

    padded = tmp_path / "padded.mp4"
    subprocess.run([sys.executable, str(SAMPLES.parent / "scripts" / "make_clips.py"), "--size", "360x240", "--frames",
                    "2", "--transfer", "pq", "--preset", "ultrafast", "--name", "padded", "--out", str(tmp_path)],
                   check=True, capture_output=True)

    def plane_types(path, **kw):
        with VideoReader(path, **kw) as r:
            f = next(iter(r.frames()))
            return [numba.typeof(a) for a in (f.y, f.u, f.v)], [p.line_size for p in f.av_frame.planes], r.width

    want, strides, _ = plane_types(CLIP)
    assert strides == [3840, 1920, 1920]  # the bundled clip's rows: not padded
    for path, kw in ((padded, {}), (CLIP, {"height": 240})):
        got, strides, width = plane_types(path, **kw)
        assert strides[0] > 2 * width, (path, kw, strides)  # these rows are padded
        assert got == want, (path, kw)
