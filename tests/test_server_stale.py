"""A command server leaves when hdrkit's files change (an edit or an upgrade): no client would
ever find it again. Apart from tests/test_server.py, whose server must not see the change."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hdrkit
from hdrkit.io import server as srv

pytestmark = pytest.mark.skipif(not srv.SUPPORTED, reason="needs fork and Unix sockets")


def test_a_server_whose_package_changed_exits(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "HDRKIT_SERVER"}
    env["HDRKIT_RUNTIME_DIR"] = str(tmp_path / "run")
    marker = Path(hdrkit.__file__).with_name("py.typed")
    st = marker.stat()
    p = subprocess.Popen([sys.executable, "-m", "hdrkit", "server", "run", "--idle", "5"], env=env,
                         stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 120
        while not list((tmp_path / "run").glob("*.sock")) and time.monotonic() < end:
            time.sleep(0.1)
        assert list((tmp_path / "run").glob("*.sock")), "the server did not come up"
        os.utime(marker, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a changed file
        _, err = p.communicate(timeout=60)
    finally:
        os.utime(marker, ns=(st.st_atime_ns, st.st_mtime_ns))
        p.kill()
    assert p.returncode == 0 and "files changed" in err, err
    assert not list((tmp_path / "run").glob("*.sock"))
