"""The API reference builds from the docstrings without a single pdoc warning."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_api_reference_builds_cleanly(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_docs.py"), "-o", str(tmp_path)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-4000:]
    pages = {f.relative_to(tmp_path).as_posix() for f in tmp_path.rglob("*.html")}
    assert {"hdrkit.html", "hdrkit/core/gainmap.html", "hdrkit/still/export.html"} <= pages
    assert not any(p.startswith("hdrkit/commands") for p in pages)
