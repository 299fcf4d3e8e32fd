"""``hdrkit deliver``: every version of one PQ master, made from one analysis and checked."""

from __future__ import annotations

# A command's library modules are imported when it runs, so "hdrkit --help" loads none of them.
import json
import sys
from pathlib import Path

from ..errors import OptionError
from .common import add_render_options, progress, render_params_from_args


def add_parser(sub):
    p = sub.add_parser(
        "deliver", help="HDR10, HDR10+, HLG, SDR proxy and keyframes of a PQ master, with a QC report",
        description="Make every version of a PQ (HDR10 / HDR10+) master in one folder from one analysis pass: "
        "HDR10 (measured MaxCLL / MaxFALL), HDR10+ (the master's own, else generated), HLG (converted through the "
        "ITU-R BT.2408 1000 cd/m^2 reference display), an SDR H.264 proxy and keyframe JPEGs. Writes "
        "manifest.json (each file's signalling as read back from it) and a QC report (qc.json, qc.html). "
        "A re-run skips versions whose master and parameters are unchanged. Exit status 1 when a QC check "
        "fails.")
    p.add_argument("input", type=Path, metavar="MASTER", help="the PQ master")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="delivery folder (created)")
    p.add_argument("--versions", default="hdr10,hdr10plus,hlg,sdr,keyframes", metavar="LIST",
                   help="comma-separated subset of hdr10,hdr10plus,hlg,sdr,keyframes (default: all)")
    p.add_argument("--crf", type=float, default=18.0, help="x265 CRF of the HDR versions (default 18)")
    p.add_argument("--x265-preset", default="medium", help="x265 preset of the HDR versions (default medium)")
    p.add_argument("--sdr-crf", type=float, default=12.0, help="libx264 CRF of the SDR proxy (default 12)")
    p.add_argument("--hdr10plus-target", type=float, default=400.0, metavar="NITS",
                   help="targeted display peak of generated HDR10+ in cd/m^2 (default 400)")
    p.add_argument("--keyframe-every", type=float, default=None, metavar="SECONDS",
                   help="keyframes every N seconds (default: the stream's key frames)")
    p.add_argument("--qc-only", action="store_true", help="make nothing: check the files already in DIR")
    p.add_argument("--no-qc", action="store_true", help="skip the QC")
    add_render_options(p)
    p.add_argument("--json", action="store_true", help="print the manifest as JSON instead of text")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..video.deliver import deliver, parse_versions

    if args.qc_only and args.no_qc:
        raise OptionError("--qc-only and --no-qc exclude each other")
    versions = parse_versions(args.versions)
    bar = None if args.no_progress else progress(total=1, unit="stage", desc="deliver", leave=False)

    def on_stage(name, i, n):
        if bar is not None:
            bar.total = n
            bar.n = i
            bar.set_description(f"deliver: {name}")
            bar.refresh()

    try:
        res = deliver(args.input, args.output, versions=versions, params=render_params_from_args(args), crf=args.crf,
                      x265_preset=args.x265_preset, sdr_crf=args.sdr_crf, hdr10plus_target=args.hdr10plus_target,
                      keyframe_every=args.keyframe_every, qc=not args.no_qc, qc_only=args.qc_only, on_stage=on_stage)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(json.dumps(res.manifest, indent=2, default=str))
    else:
        out = res.out_dir
        print(f"hdrkit: {out}: made {', '.join(res.made) or 'nothing'}"
              + (f"; unchanged {', '.join(res.skipped)}" if res.skipped else ""), file=sys.stderr)
        for v, e in res.manifest["versions"].items():
            s = e.get("signalling") or {}
            what = e.get("file") or f"{e.get('dir')}/ ({len(e.get('files', []))} files)"
            col = s.get("color") or {}
            tags = f" {col.get('transfer')}/{col.get('primaries')}" if col else ""
            extra = f", HDR10+ on {s['hdr10plus_frames']} frames" if s.get("hdr10plus_frames") else ""
            print(f"  {v:10} {what}{tags}{extra}")
        if res.qc is not None:
            for c in res.qc.failures:
                print(c.line())
            print(f"QC {'passed' if res.qc.passed else 'FAILED'}: {out / 'qc.html'}")
    return 0 if res.passed else 1
