#!/usr/bin/env python3
"""Where a first run's time goes: numba compile CPU time per kernel and per specialisation.

Each job runs in a fresh process with an empty ``NUMBA_CACHE_DIR``, so it compiles exactly
what that job needs, in one process (no two-process warm-up), and nothing is loaded from an
earlier run. A listener on numba's ``numba:compile`` event records, for every compilation
of a dispatcher (one per new argument-type signature), the CPU time of the compiling
thread (``time.thread_time``: compilation runs in the calling thread under numba's
compiler lock, so this is the compile work alone, unaffected by other processes on a shared
machine or by the job's own decoder threads) and the wall time. A kernel that calls another
compiled function compiles it while being typed, so its *inclusive* time contains the
callee's; *self* is inclusive minus the nested compilations.

Jobs (the library calls the CLI commands make):

* ``still``   - :func:`hdrkit.export_sdr` of a small Ultra HDR JPEG (default: the bundled sample);
* ``proxy``   - :func:`hdrkit.video.proxy.make_proxy` of a clip (x264 ultrafast);
* ``analyze`` - :func:`hdrkit.video.analysis.analyze` of the same clip.

Usage:
    python scripts/compile_profile.py                         # all jobs, bundled samples
    python scripts/compile_profile.py --markdown              # the README table
    python scripts/compile_profile.py --clip samples/generated/hd_pq.mp4 --json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STILL = ROOT / "samples" / "ultrahdr" / "libultrahdr_minnie_ultrahdr_sys.jpg"
CLIP = ROOT / "samples" / "video" / "hlg10-color-test.mp4"
JOBS = ("still", "proxy", "analyze")

# Runs in the child: argv = job, input, output directory. Prints one JSON object.
_CHILD = r"""
import json, sys, time
t_cpu, t_wall = time.process_time(), time.perf_counter()
from numba.core import event

records, stack = [], []

class _Compile(event.Listener):
    def on_start(self, ev):
        d = ev.data["dispatcher"]
        stack.append({"kernel": f"{d.py_func.__module__}.{d.py_func.__qualname__}",
                      "signature": ", ".join(str(a) for a in ev.data["args"]),
                      "cpu0": time.thread_time(), "wall0": time.perf_counter(), "nested_cpu": 0.0,
                      "nested_wall": 0.0, "depth": len(stack)})

    def on_end(self, ev):
        r = stack.pop()
        r["cpu"] = time.thread_time() - r.pop("cpu0")
        r["wall"] = time.perf_counter() - r.pop("wall0")
        r["self_cpu"] = r["cpu"] - r.pop("nested_cpu")
        r["self_wall"] = r["wall"] - r.pop("nested_wall")
        if stack:
            stack[-1]["nested_cpu"] += r["cpu"]
            stack[-1]["nested_wall"] += r["wall"]
        records.append(r)

event.register("numba:compile", _Compile())
job, src, out = sys.argv[1:4]
if job == "still":
    import hdrkit
    hdrkit.export_sdr(src, f"{out}/still.jpg", force=True)
elif job == "proxy":
    from hdrkit.video.proxy import make_proxy
    make_proxy(src, f"{out}/proxy.mp4", force=True, x264_preset="ultrafast")
elif job == "analyze":
    from hdrkit.video.analysis import analyze
    analyze(src)
print(json.dumps({"job": job, "input": src, "records": records,
                  "process_cpu": time.process_time() - t_cpu, "wall": time.perf_counter() - t_wall}))
"""


def profile(job: str, src: Path) -> dict:
    """Run ``job`` on ``src`` in a fresh process with an empty numba cache; its compile records."""
    with tempfile.TemporaryDirectory(prefix="hdrkit-compile-") as tmp:
        env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(tmp) / "numba-cache")}
        p = subprocess.run([sys.executable, "-c", _CHILD, job, str(src), tmp], env=env, capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"{job} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def _short(sig: str, width: int = 70) -> str:
    return sig if len(sig) <= width else sig[: width - 3] + "..."


def markdown(results: list[dict]) -> str:
    """The README table: a row per kernel, a column per job; CPU seconds self (inclusive), xN specialisations.

    numba's own library helpers (``np.empty``, ``min``, ...) are summed in one row (their count in brackets).
    """
    helpers = "numba library helpers"
    cells: dict[str, dict[str, list]] = {}
    for res in results:
        for r in res["records"]:
            name = r["kernel"] if r["kernel"].startswith("hdrkit.") else helpers
            c = cells.setdefault(name, {}).setdefault(res["job"], [0.0, 0.0, 0])
            c[0] += r["self_cpu"]
            c[1] += r["cpu"] if name != helpers else r["self_cpu"]
            c[2] += 1

    def cell(name, job):
        if job not in cells[name]:
            return "–"
        own, incl, n = cells[name][job]
        if name == helpers:
            return f"{own:.1f} ({n})"
        return f"{own:.2f} ({incl:.2f})" + (f" x{n}" if n > 1 else "")

    jobs = [res["job"] for res in results]
    lines = ["| kernel | " + " | ".join(jobs) + " |", "|---" * (len(jobs) + 1) + "|"]
    for name in sorted(cells, key=lambda k: (k == helpers, -max(c[0] for c in cells[k].values()))):
        label = helpers if name == helpers else f"`{name.removeprefix('hdrkit.')}`"
        lines.append(f"| {label} | " + " | ".join(cell(name, j) for j in jobs) + " |")
    totals = [f"**{sum(r['cpu'] for r in res['records'] if r['depth'] == 0):.1f}** ({len(res['records'])} "
              f"compilations; job {res['process_cpu']:.1f} s CPU)" for res in results]
    lines.append("| all compilation | " + " | ".join(totals) + " |")
    return "\n".join(lines)


def text(results: list[dict]) -> str:
    out = []
    for res in results:
        top = sum(r["cpu"] for r in res["records"] if r["depth"] == 0)
        out.append(f"{res['job']} ({Path(res['input']).name}): {len(res['records'])} compilations, "
                   f"{top:.2f} s compile CPU; job {res['process_cpu']:.2f} s CPU, {res['wall']:.2f} s wall")
        for r in sorted(res["records"], key=lambda r: -r["self_cpu"]):
            out.append(f"  {r['self_cpu']:6.2f} s self {r['cpu']:6.2f} s incl {r['wall']:6.2f} s wall  "
                       f"{r['kernel']}({_short(r['signature'], 90)})")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", default=",".join(JOBS), help=f"comma-separated, of {', '.join(JOBS)} (default: all)")
    ap.add_argument("--still", type=Path, default=STILL, help="Ultra HDR JPEG for the still job")
    ap.add_argument("--clip", type=Path, default=CLIP, help="HDR clip for the proxy and analyze jobs")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true", help="all records as JSON")
    g.add_argument("--markdown", action="store_true", help="a table for the README")
    args = ap.parse_args(argv)
    jobs = [j for j in args.jobs.split(",") if j]
    if bad := [j for j in jobs if j not in JOBS]:
        ap.error(f"unknown job(s): {', '.join(bad)}")
    results = [profile(j, args.still if j == "still" else args.clip) for j in jobs]
    print(json.dumps(results, indent=1) if args.json else markdown(results) if args.markdown else text(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
