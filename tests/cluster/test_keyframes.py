"""Key frames exported on a two-worker LocalCluster, one task per chunk of key frames: the same
files, byte for byte, and the same list as the in-process run."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hdrkit.errors import OptionError
from hdrkit.video.keyframes import export_keyframes

from .clip import make_cut_clip
from .conftest import hdrkit_cli


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_cut_clip(tmp_path_factory.mktemp("kclip") / "cut.mp4", cut=22)


def _files(d: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}


def _listed(done) -> list[dict]:
    return [{k: v for k, v in x.to_dict().items() if k != "path"} | {"name": x.path.name} for x in done]


@pytest.fixture(scope="module")
def reference(clip, tmp_path_factory):
    d = tmp_path_factory.mktemp("kref")
    done, damage = export_keyframes(clip, d)
    assert not damage and len(done) == 6  # a key frame every half second
    return d, done


def test_cluster_keyframes_match_in_process(client, clip, reference, tmp_path):
    ref, ref_done = reference
    done, damage = export_keyframes(clip, tmp_path / "k", client=client, chunk_seconds=1.0)
    assert not damage
    assert _listed(done) == _listed(ref_done)  # in time order, whatever order the chunks finished in
    assert _files(tmp_path / "k") == _files(ref)


def test_cluster_keyframes_limit(client, clip, reference, tmp_path):
    ref, ref_done = reference
    done, _ = export_keyframes(clip, tmp_path / "k", client=client, chunk_seconds=1.0, limit=3)
    assert _listed(done) == _listed(ref_done[:3])
    assert _files(tmp_path / "k") == {n: h for n, h in _files(ref).items() if n in {k.path.name for k in ref_done[:3]}}


def test_cluster_refuses_every(client, clip, tmp_path):
    with pytest.raises(OptionError, match="--every"):
        export_keyframes(clip, tmp_path / "k", every=0.5, client=client)
    assert not (tmp_path / "k").exists()


def test_cli_cluster_keyframes(clip, reference, tmp_path):
    ref, _ = reference
    p = hdrkit_cli("keyframes", clip, "-o", tmp_path / "k", "--cluster", "local:2", "--chunk-seconds", "1",
                   "--no-progress")
    assert p.returncode == 0, p.stderr
    assert p.stderr.strip() == f"hdrkit: 6 frame(s) -> {tmp_path / 'k'}"
    assert _files(tmp_path / "k") == _files(ref)
