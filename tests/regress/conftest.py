"""A small golden set (three committed CI cases, no clips, no real samples) for fast gate tests."""

import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CI_SET = ROOT / "samples" / "goldens" / "ci"
MINI_CASES = ("grey_chart", "portrait_indoor", "signage")


@pytest.fixture(scope="session")
def ci_manifest() -> dict:
    return json.loads((CI_SET / "manifest.json").read_text())


@pytest.fixture(scope="session")
def mini_set(tmp_path_factory, ci_manifest) -> Path:
    d = tmp_path_factory.mktemp("mini_goldens")
    cases = [c for c in ci_manifest["cases"] if c["name"] in MINI_CASES]
    for c in cases:
        shutil.copyfile(CI_SET / c["file"], d / c["file"])
        shutil.copyfile(CI_SET / c["roi"], d / c["roi"])
    man = {**ci_manifest, "cases": cases, "real_samples": []}  # still set "ci": compared with its baseline
    (d / "manifest.json").write_text(json.dumps(man))
    return d
