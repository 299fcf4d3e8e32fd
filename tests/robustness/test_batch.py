"""Batch behaviour of ``hdrkit still``: goes on past bad files, reports them, exits non-zero;
``--skip-existing`` resumes an interrupted batch; the output may not be the input; inputs
are never modified; outputs get ordinary file permissions."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time

import pytest

from .conftest import ROOT, hdrkit_cmd, run_hdrkit, sha256


def _valid_jpeg(path) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture()
def batch_dir(tmp_path, samples):
    from tools.fuzz.corpus import gainmap_jpeg, plain_jpeg

    d = tmp_path / "in"
    d.mkdir()
    for s in (samples / "ultrahdr").glob("*.jpg"):
        (d / s.name).write_bytes(s.read_bytes())
    for i in range(4):
        (d / f"gen_{i}.jpg").write_bytes(gainmap_jpeg(h=48 + 8 * i, w=64, seed=i + 10))
    (d / "plain.jpg").write_bytes(plain_jpeg())
    (d / "garbage.jpg").write_bytes(b"this is not a picture at all" * 10)
    (d / "empty.jpg").write_bytes(b"")
    return d


def _hashes(folder):
    return {p.name: sha256(p) for p in folder.iterdir() if p.is_file()}


def test_batch_goes_on_reports_and_fails(batch_dir, tmp_path):
    before = _hashes(batch_dir)
    out = tmp_path / "out"
    p = run_hdrkit("still", batch_dir, "-o", f"{out}/")
    assert p.returncode != 0
    bad = {"garbage.jpg", "empty.jpg", "NEGATIVE_truncated_pillow_ultrahdr.jpg"}
    for name in before:
        target = out / (name.rsplit(".", 1)[0] + ".jpg")
        if name in bad:
            assert name in p.stdout + p.stderr
            if target.exists():  # the truncated sample may legitimately fall back to its base
                assert _valid_jpeg(target)
        else:
            assert target.exists() and _valid_jpeg(target), name
    assert "failed" in p.stdout
    summary = p.stdout[p.stdout.index("failed"):].splitlines()[1:]
    assert summary and all(line.count(".jpg") == 1 for line in summary), summary  # each file named once
    assert _hashes(batch_dir) == before


def test_skip_existing_resumes(batch_dir, tmp_path):
    out = tmp_path / "out"
    run_hdrkit("still", batch_dir, "-o", f"{out}/")
    done = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.iterdir()}
    victim = sorted(done)[0]
    (out / victim).unlink()
    p = run_hdrkit("still", batch_dir, "-o", f"{out}/", "--skip-existing")
    assert p.returncode != 0  # the bad inputs still fail
    assert (out / victim).exists() and _valid_jpeg(out / victim)
    for name, ident in done.items():
        if name != victim:
            st = (out / name).stat()
            assert (st.st_ino, st.st_mtime_ns) == ident, f"{name} was rewritten"


@pytest.mark.slow
def test_interrupted_batch_resumes(tmp_path):
    from tools.fuzz.corpus import gainmap_jpeg

    src = tmp_path / "in"
    src.mkdir()
    for i in range(12):
        (src / f"img_{i:02d}.jpg").write_bytes(gainmap_jpeg(h=600, w=800, scale=2, seed=i))
    before = _hashes(src)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen(hdrkit_cmd("still", src, "-o", f"{out}/"), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    t_end = time.monotonic() + 120
    while time.monotonic() < t_end and p.poll() is None:
        if out.is_dir() and len([f for f in out.iterdir() if not f.name.startswith(".")]) >= 3:
            break
        time.sleep(0.02)
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
    p.wait(30)
    finished = {f.name: f.stat().st_mtime_ns for f in out.iterdir() if not f.name.startswith(".")}
    assert all(_valid_jpeg(out / n) for n in finished)
    r = run_hdrkit("still", src, "-o", f"{out}/", "--skip-existing")
    assert r.returncode == 0, r.stderr
    names = sorted(f.name for f in out.iterdir() if not f.name.startswith("."))
    assert names == sorted(f"img_{i:02d}.jpg" for i in range(12))
    assert all(_valid_jpeg(out / n) for n in names)
    for n, mt in finished.items():
        assert (out / n).stat().st_mtime_ns == mt
    assert _hashes(src) == before


def test_output_equal_to_input_is_refused(tmp_path, uhdr_sample):
    src = tmp_path / "a.jpg"
    src.write_bytes(uhdr_sample.read_bytes())
    h = sha256(src)
    for target in (src, tmp_path / "." / "a.jpg"):
        p = run_hdrkit("still", src, "-o", target)
        assert p.returncode == 2 and "--force" in p.stderr and len(p.stderr.strip().splitlines()) == 1
        assert sha256(src) == h
    link = tmp_path / "link.jpg"
    link.symlink_to(src)
    p = run_hdrkit("still", src, "-o", link)
    assert p.returncode == 2 and sha256(src) == h
    p = run_hdrkit("still", src, "-o", src, "--force")
    assert p.returncode == 0 and _valid_jpeg(src) and sha256(src) != h


def test_folder_output_cannot_overwrite_an_input(tmp_path, uhdr_sample):
    """``hdrkit still DIR -o DIR``: each output would replace its own input."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "x.jpg").write_bytes(uhdr_sample.read_bytes())
    h = sha256(d / "x.jpg")
    p = run_hdrkit("still", d, "-o", d)
    assert p.returncode != 0 and sha256(d / "x.jpg") == h


def test_outputs_have_ordinary_permissions(tmp_path, uhdr_sample):
    """Atomic writes go through a private temporary file; the final file must still get the
    permissions any other new file gets (0666 minus the umask), not the temp file's 0600."""
    out = tmp_path / "o.jpg"
    old = os.umask(0o022)
    try:
        from hdrkit.still.export import export_sdr

        export_sdr(uhdr_sample, out)
        ref = tmp_path / "ref"
        ref.write_bytes(b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == stat.S_IMODE(ref.stat().st_mode) == 0o644
    out.chmod(0o640)  # a replaced file keeps the permissions it had
    export_sdr(uhdr_sample, out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
