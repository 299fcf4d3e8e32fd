#!/usr/bin/env python3
"""Fuzz hdrkit's parsers: mutation fuzzing over seed corpora, in worker processes.

Every case must end normally or with a named hdrkit error (HdrkitError); anything else
(another exception, a broken round-trip property, a case over the time limit, a crash of
the worker, memory past the limit) is a failure. Failures are deduplicated by exception
type + innermost frame and their inputs written to fuzz-crashes/<target>/.

Usage:
    python scripts/fuzz.py                                  # all targets, 10000 cases, 2 workers
    python scripts/fuzz.py --target xmp --cases 50000
    python scripts/fuzz.py --cases 120000 --seconds 1800 --json fuzz-report.json
    python scripts/fuzz.py --target iso21496 --replay fuzz-crashes/iso21496/x.bin
    python scripts/fuzz.py --list
    python scripts/fuzz.py --target jpeg --atheris --seconds 60  # coverage-guided, if atheris is installed

Exit status: 0 when no failure, 1 when any, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.fuzz.runner import FuzzConfig, replay, report_json, run_campaign  # noqa: E402
from tools.fuzz.targets import TARGETS, available_targets  # noqa: E402


def _atheris(name: str, args) -> int:
    """libFuzzer-driven coverage-guided run of one target (atheris), with hdrkit's mutators."""
    try:
        import atheris
    except ImportError:
        print("fuzz: atheris is not installed (pip install atheris); the default fuzzer needs nothing extra",
              file=sys.stderr)
        return 2
    import random

    from hdrkit.errors import HdrkitError
    from tools.fuzz.corpus import build_corpus
    from tools.fuzz.mutators import Mutator
    from tools.fuzz.runner import _quiet

    t = TARGETS[name]
    seeds = build_corpus(t.corpus)
    corpus_dir = Path(args.crash_dir) / name / "atheris-corpus"
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for i, s in enumerate(seeds):
        (corpus_dir / f"seed-{i:03d}").write_bytes(s[: t.max_len])
    _quiet()
    atheris.instrument_all()

    def one(data: bytes) -> None:
        try:
            t(data)
        except HdrkitError:
            pass

    def custom(data: bytes, max_size: int, seed: int) -> bytes:
        m = Mutator(random.Random(seed), seeds)
        return m.mutate(data or random.Random(seed).choice(seeds), t.mutator, min(max_size, t.max_len))

    argv = [sys.argv[0], str(corpus_dir), f"-timeout={int(args.timeout)}", f"-rss_limit_mb={args.rss_limit_mb}",
            f"-artifact_prefix={Path(args.crash_dir) / name}/", f"-max_len={t.max_len}"]
    if args.seconds:
        argv.append(f"-max_total_time={int(args.seconds)}")
    if args.cases:
        argv.append(f"-runs={args.cases}")
    atheris.Setup(argv, one, custom_mutator=custom)
    atheris.Fuzz()
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[6:]))
    ap.add_argument("--target", action="append", default=None, metavar="NAME",
                    help="target to fuzz (repeatable; 'all' = every available one; --list shows them)")
    ap.add_argument("--cases", type=int, default=None, help="cases in total across targets (default 10000 unless --seconds)")
    ap.add_argument("--seconds", type=float, default=None, help="time budget in seconds")
    ap.add_argument("--seed", type=int, default=1, help="campaign seed (default 1)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--timeout", type=float, default=2.0, help="per-case time limit in seconds (default 2)")
    ap.add_argument("--rss-limit-mb", type=int, default=2048,
                    help="how far one case may grow a worker's RSS, in MB (default 2048)")
    ap.add_argument("--crash-dir", type=Path, default=ROOT / "fuzz-crashes", help="where failing inputs go")
    ap.add_argument("--coverage", action="store_true", help="line-coverage feedback (sys.settrace; slower)")
    ap.add_argument("--minimize", action="store_true", help="shrink each distinct failing input (delta debugging)")
    ap.add_argument("--json", type=Path, default=None, help="also write the report as JSON ('-' = stdout)")
    ap.add_argument("--replay", type=Path, default=None, help="run one saved input through --target and show the outcome")
    ap.add_argument("--atheris", action="store_true", help="coverage-guided run of one target with atheris (if installed)")
    ap.add_argument("--list", action="store_true", help="list the targets and whether they can run here")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args(argv)

    if args.list:
        ok, skipped = available_targets()
        for name, t in TARGETS.items():
            state = "ready" if name not in skipped else f"skipped: {skipped[name]}"
            print(f"{name:<12} {t.description}  [{state}]")
        return 0
    names = args.target or ["all"]
    if "all" in names:
        names = list(TARGETS)
    for n in names:
        if n not in TARGETS:
            ap.error(f"unknown target {n!r}; known: {', '.join(TARGETS)}")
    if args.replay:
        if len(names) != 1:
            ap.error("--replay needs exactly one --target")
        kind, tb = replay(names[0], args.replay.read_bytes())
        print(f"{names[0]}: {kind}")
        if tb:
            print(tb)
        return 0 if kind in ("accepted", "refused") else 1
    if args.atheris:
        if len(names) != 1:
            ap.error("--atheris runs one --target")
        return _atheris(names[0], args)
    cases = args.cases if args.cases is not None else (None if args.seconds else 10_000)
    cfg = FuzzConfig(targets=names, cases=cases, seconds=args.seconds, seed=args.seed, jobs=args.jobs, timeout=args.timeout,
                     rss_limit_mb=args.rss_limit_mb, crash_dir=args.crash_dir, coverage=args.coverage,
                     minimize=args.minimize, progress=not args.quiet)
    report = run_campaign(cfg)
    print(report.format())
    if args.json:
        text = report_json(report)
        print(text) if str(args.json) == "-" else args.json.write_text(text + "\n")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
