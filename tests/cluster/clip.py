"""A tiny HDR clip for the chunked-proxy tests: 320x180 PQ HEVC, a key frame every half second,
a scene cut two frames before a one-second chunk boundary, AAC audio (frames from
scripts/make_clips.py's synthetic scene)."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _make_clips():
    spec = importlib.util.spec_from_file_location("make_clips", ROOT / "scripts" / "make_clips.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def make_cut_clip(out: Path, frames: int = 72, fps: int = 24, cut: int = 22, gop: int = 12,
                  rotate: int = 90) -> Path:
    """The clip at ``out`` (.mp4): from frame ``cut`` on, the scene is 8 times darker."""
    import imageio_ffmpeg
    import numpy as np

    mc = _make_clips()
    w, h = 320, 180
    scene = mc.Scene(w, h, frames, seed=3, grain=False)
    rng = np.random.default_rng(5)
    tags = ["-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc", "-color_range", "tv"]
    xp = ["log-level=error", f"keyint={gop}", f"min-keyint={gop}", "scenecut=0", "colorprim=bt2020",
          "transfer=smpte2084", "colormatrix=bt2020nc", "range=limited"]
    whole = out.with_name(f".{out.stem}.whole.mp4")
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
           "-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-s", f"{w}x{h}", "-r", str(fps), *tags, "-i", "pipe:0",
           "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={frames / fps}",
           "-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le", "-tag:v", "hvc1",
           "-x265-params", ":".join(xp), *tags, "-c:a", "aac", "-b:a", "64k", "-shortest",
           "-metadata", "title=cut clip", str(whole)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    for t in range(frames):
        nits = scene.frame(t) * (0.125 if t >= cut else 1.0)
        proc.stdin.write(mc.to_yuv420(mc.encode_signal(nits, "pq"), "bt2020", 10, 0.004, rng))
    proc.stdin.close()
    assert proc.wait() == 0
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                    "-display_rotation", str(rotate), "-i", str(whole), "-c", "copy", str(out)], check=True)
    whole.unlink()
    return out
