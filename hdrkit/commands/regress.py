"""``hdrkit regress``: run the golden set through the export and gate on thresholds and the baseline."""

from __future__ import annotations

# A command's library modules are imported when it runs, so "hdrkit --help" loads none of them.
import json
import sys
import tempfile
import time
from pathlib import Path

from ..core.dither import DITHERS
from ..core.gamut import GAMUT_MAPS
from ..core.tonemap import PRESETS, TONE_CURVES
from ..errors import OptionError
from ..io.atomic import atomic_write_bytes, check_output_dir
from .common import curve_params_from_args, progress

BASELINE_FILE = "regress/baseline.json"


def add_parser(sub):
    p = sub.add_parser(
        "regress", help="export consistency regression: goldens, metrics, thresholds, report, CI gate",
        description="Export every golden (synthetic Ultra HDR scenes with known skin / highlight / signage / grey "
        "ROIs, real samples, HLG and PQ clips) with a parameter pack, measure preview-vs-export consistency, colour "
        "(CIEDE2000, ΔE_ITP, hue), artefacts (banding, halo), tone (mid grey, reference white, highlight retention, "
        "EOTF RMSE), thumbnails, size and time, and check them against the versioned thresholds (one-vote vetoes) "
        "and the stored baseline (regressions). Exit 0 = pass, 1 = the gate failed, 2 = usage error.",
        epilog="Examples: hdrkit regress -o report/ | hdrkit regress --compare-pack previous -o report/ | "
        "hdrkit regress --param knee_offset=1.0 | hdrkit regress --update-baseline")
    p.add_argument("-o", "--output", type=Path, default=None, metavar="DIR",
                   help="write the report here: export_consistency_report.json, index.html, heatmaps, repro bundles")
    p.add_argument("--set", choices=("ci", "full"), default="ci", help="golden set (default ci: small, committed)")
    p.add_argument("--goldens", type=Path, default=None, metavar="DIR", help="a golden folder with manifest.json instead")
    p.add_argument("--case", action="append", default=[], metavar="GLOB", help="only cases matching (repeatable)")
    p.add_argument("--no-real", action="store_true", help="skip the real third-party samples")
    g = p.add_argument_group("parameter pack (hdrkit/data/packs/*.json; options below override the pack)")
    g.add_argument("--pack", default=None, metavar="NAME|FILE", help="pack to test (default: the current pack)")
    g.add_argument("--compare-pack", default=None, metavar="NAME|FILE|previous",
                   help="also export with this pack and show before/after ('previous' = the pack this one replaced)")
    g.add_argument("--compare-report", type=Path, default=None, metavar="DIR",
                   help="an earlier report (-o DIR of a run before a code change): its exports are the 'before' side")
    g.add_argument("--curve", choices=sorted(TONE_CURVES), default=None, help="tone curve")
    g.add_argument("--preset", choices=sorted(PRESETS), default=None, help="named look")
    g.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="curve parameter (repeatable)")
    g.add_argument("--gamut-map", choices=sorted(GAMUT_MAPS), default=None, help="gamut map")
    g.add_argument("--dither", choices=sorted(DITHERS), default=None, help="dither")
    g.add_argument("--quality", type=int, default=None, help="JPEG quality")
    g.add_argument("--subsampling", choices=("auto", "420", "422", "444"), default=None, help="chroma subsampling")
    b = p.add_argument_group("gate")
    b.add_argument("--thresholds", type=Path, default=None, metavar="FILE", help="thresholds file (default: shipped)")
    b.add_argument("--baseline", type=Path, default=None, metavar="FILE",
                   help=f"baseline file (default: {BASELINE_FILE} in the repository)")
    b.add_argument("--update-baseline", action="store_true",
                   help="record this run as the baseline of the set (only when every case passes its vetoes)")
    p.add_argument("--list", action="store_true", help="list the cases and packs, then exit")
    p.set_defaults(func=run)
    return p


def _pack(args):
    from ..regress.packs import CURRENT_PACK, load_pack

    pack = load_pack(args.pack or CURRENT_PACK)
    pack = pack.with_overrides(curve=args.curve, curve_params=curve_params_from_args(args), preset=args.preset,
                               gamut_map=args.gamut_map, dither=args.dither, quality=args.quality,
                               subsampling=args.subsampling)
    compare = None
    if args.compare_pack:
        name = args.compare_pack
        if name == "previous":
            name = load_pack(args.pack or CURRENT_PACK).previous
            if not name:
                raise OptionError(f"pack {pack.name} names no previous pack")
        compare = load_pack(name)
    return pack, compare


def _print_table(res, out=None) -> None:
    out = out or sys.stdout
    w = max([len(c.name) for c in res.cases] + [4])
    for c in sorted(res.cases, key=lambda c: ({"error": 0, "fail": 1, "pass": 2, "skip": 3}[c.status], c.name)):
        m = c.metrics
        if c.status == "error":
            key = ""
        elif c.kind == "clip":
            key = f"flicker {m.get('flicker', float('nan')):.4f}" if "flicker" in m else ""
        else:
            key = (f"MAD {m.get('mad_8bit', float('nan')):.2f}  ΔY95 {m.get('dy_p95', float('nan')):.3f}  "
                   f"band {m.get('banding', float('nan')):.3f}  halo {m.get('halo', float('nan')):.3f}")
        extra = ("  <- " + "; ".join(c.failures)) if c.failures else ("  (" + c.notes[0] + ")" if c.status == "skip" else "")
        print(f"  {c.status.upper():5s} {c.name:{w}s}  {key}{extra}", file=out)
    for r in res.regressions:
        flag = "FAIL" if r["failed"] else "ok  "
        print(f"  {flag} regression {r['metric']}: mean {r['mean']:.4g} vs baseline {r['baseline_mean']:.4g} "
              f"({r['increase']:+.4g}, allowed +{r['max_increase']:g})", file=out)


def run(args) -> int:
    from ..regress.goldens import load_set
    from ..regress.packs import list_packs
    from ..regress.runner import baseline_from, load_baseline, load_thresholds, run_case
    from ..regress.runner import run as run_set

    if args.update_baseline and (args.case or args.no_real):
        raise OptionError("--update-baseline records a whole set: drop --case / --no-real")
    if args.update_baseline and args.goldens and not args.baseline:
        raise OptionError("recording a baseline for a --goldens folder needs --baseline FILE")
    gset = load_set(args.set, args.goldens, args.case or None, include_real=not args.no_real)
    pack, compare = _pack(args)
    if args.list:
        print(f"set {gset.name} ({gset.root}): {len(gset.cases)} cases")
        for c in gset.cases:
            print(f"  {c.name:28s} {c.kind:5s} {c.category:10s} {c.description}")
        if gset.missing:
            print(f"  missing: {', '.join(gset.missing)}")
        print("packs: " + ", ".join(list_packs()))
        return 0
    if args.compare_report and (compare is not None or not args.output):
        raise OptionError("--compare-report needs -o and cannot be combined with --compare-pack")
    if args.output:
        check_output_dir(args.output)
    thresholds = load_thresholds(args.thresholds)
    baseline_path = args.baseline or gset.repo_root / BASELINE_FILE
    baseline = None if args.update_baseline else load_baseline(baseline_path)
    writer = None
    if args.output:
        from ..regress.report import ReportWriter

        args.output.mkdir(parents=True, exist_ok=True)
        if args.compare_report and args.compare_report.resolve() == args.output.resolve():
            raise OptionError("--compare-report must be another folder than -o")
        writer = ReportWriter(args.output, command=_command_line(args), before=args.compare_report)
    workdir = None
    tmp = None
    if writer is None:
        tmp = tempfile.TemporaryDirectory(prefix="hdrkit-regress-")
        workdir = Path(tmp.name)
    else:
        workdir = args.output / "exports"
    try:
        res = run_set(gset, pack, thresholds, baseline=baseline, compare=compare, workdir=workdir,
                      on_case=writer.on_case if writer else None,
                      progress=lambda it: progress(it, desc="regress", unit="case", total=len(gset.cases)))
        if writer is not None:
            cases = {c.name: c for c in gset.cases}

            def rerun(name):
                r, arrays = run_case(cases[name], pack, workdir)
                return cases[name], r, arrays

            index = writer.finish(res, rerun)
    finally:
        if tmp is not None:
            tmp.cleanup()
    tags = pack.tags()
    print(f"hdrkit regress: set {gset.name}, pack {pack.name} ({tags['tonemap_v']}, {tags['gamut_v']}, "
          f"{tags['dither']}, q{pack.quality} {pack.subsampling}), thresholds v{thresholds.version}, {res.seconds:.1f} s")
    _print_table(res)
    if res.baseline is None and not args.update_baseline:
        print(f"  (no baseline for set {gset.name} in {baseline_path}: regressions not checked)")
    if writer is not None:
        print(f"report: {index}")
    if args.update_baseline:
        if res.failed_cases:
            print(f"hdrkit regress: not updating the baseline: {len(res.failed_cases)} case(s) fail their vetoes",
                  file=sys.stderr)
            return 1
        _write_baseline(baseline_path, gset.name, baseline_from(res))
        print(f"baseline for set {gset.name} written to {baseline_path}")
        return 0
    verdict = "PASS" if res.passed else "FAIL"
    print(f"{verdict}: {len(res.failed_cases)} case(s) fail, {len(res.regression_failures)} regression(s)")
    return 0 if res.passed else 1


def _command_line(args) -> str:
    parts = ["hdrkit regress", f"--set {args.set}"]
    if args.pack:
        parts.append(f"--pack {args.pack}")
    for k in ("curve", "preset", "gamut_map", "dither", "quality", "subsampling"):
        v = getattr(args, k)
        if v is not None:
            parts.append(f"--{k.replace('_', '-')} {v}")
    parts += [f"--param {p}" for p in args.param]
    return " ".join(parts)


def _write_baseline(path: Path, set_name: str, entry: dict) -> None:
    from ..regress.runner import load_baseline

    data = load_baseline(path) or {}
    data.setdefault("baseline_version", 1)
    data["about"] = ("Per-case metrics of the last deliberate `hdrkit regress --update-baseline` run, per golden set. "
                     "The gate fails when a set mean listed under `regressions` in the thresholds file rises by "
                     "more than its max_increase against these numbers. Timing is not stored.")
    data.setdefault("sets", {})[set_name] = entry
    data["updated"] = time.strftime("%Y-%m-%d", time.gmtime())
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, (json.dumps(data, indent=1, sort_keys=False) + "\n").encode())
