"""`latent bank compile`: a trained GAN's latent grid (PCA axes or four corners), optionally with a bend
amount as one more axis (--bend RECIPE), into a segment bank (app layer, CLI). Prints a JSON report
(size, time, segments per second, engine check)."""

from __future__ import annotations

import argparse
import json
import sys

from device.cli_options import add_json, add_quiet, examples


def register(actions: argparse._SubParsersAction) -> None:
    from host_tools.space.parsing import accept_negative_lists

    parser = actions.add_parser(
        "compile", help="compile a trained GAN's latent grid into a segment-bank bundle",
        description="Generate every (grid cell, pitch) note of a GAN run along PCA directions "
                    "(--pca-axes) or on the surface of four bookmarks (--corners), in resumable batches, "
                    "and write it as a segment bank checked through the device reader and engine. "
                    "Prints a JSON report, then a summary line (with --json: the report only).",
        **examples("latent bank compile --run models/gan-medium --pca-axes 0,1 --pitches 36-84:6 "
                   "--out models/mine.bundle",
                   "latent bank compile --run models/gan-medium --corners a,b,c,d --pitches C3,C4,C5 "
                   "--steps 3 --out models/corners.bundle --json",
                   "latent bank compile --run models/gan-medium --pca-axes 0 --bend "
                   "models/bent-medium-tremor.toml --pitches 36-84:6 --out models/bent.bundle"))
    parser.add_argument("--run", required=True, help="training run directory")
    grid = parser.add_mutually_exclusive_group(required=True)
    grid.add_argument("--pca-axes", help="1 to 3 components from `latent space pca`, e.g. 0,1")
    grid.add_argument("--corners", help="four bookmark names a,b,c,d = (u0,v0),(u1,v0),(u0,v1),(u1,v1)")
    parser.add_argument("--range", default="-2,2", help="LOW,HIGH in standard deviations (PCA axes)")
    parser.add_argument("--steps", type=int, default=5, help="grid points per axis (default 5)")
    parser.add_argument("--pitches", required=True,
                        help="pitches the run was trained on, e.g. 60-67, C3-C5, 36-84:6 or 48,60,72")
    parser.add_argument("--seconds", type=float, help="keep only this much of each note")
    parser.add_argument("--offset", type=float, default=0.0, help="where the kept window starts (s)")
    parser.add_argument("--codec", default="int16", help="int16 or mulaw8 (default int16)")
    parser.add_argument("--axis-names", metavar="NAME[=WHAT],...",
                        help="name each PCA axis by what it moves (see `latent space describe`), e.g. "
                             "'brightness=darker to brighter,noise=pure to breathy'; default pc<k>")
    parser.add_argument("--bend", metavar="RECIPE",
                        help="bend recipe (TOML, see `latent bend`): its amount range becomes the last axis")
    parser.add_argument("--batch", type=int, default=32, help="segments per generated batch")
    parser.add_argument("--out", required=True, help="bundle file to write")
    add_quiet(parser)
    add_json(parser, "print only the JSON report on stdout (the summary line goes to stderr)")
    accept_negative_lists(parser)
    parser.set_defaults(func=run)


def parse_axis_names(text: str) -> list[tuple[str, str]]:
    """'a=what a moves,b' -> [("a", "what a moves"), ("b", "")]; names are what a performer reads."""
    import re

    from device.errors import ConfigError

    names = []
    for part in text.split(","):
        name, _, what = part.partition("=")
        name = name.strip()
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name):
            raise ConfigError(f"--axis-names: {name!r} must be a lower-case word (letters, digits, _), "
                              "e.g. brightness")
        names.append((name, what.strip()))
    return names


def run(args: argparse.Namespace) -> int:
    from device.pitch_syntax import parse_pitches
    from host_tools.bank.compile import compile_bank, plan_compile

    request = plan_compile(
        args.run, out=args.out, pitches=parse_pitches(args.pitches), pca_axes=args.pca_axes,
        value_range=args.range, steps=args.steps,
        corners=args.corners.split(",") if args.corners is not None else None,
        seconds=args.seconds, offset=args.offset, codec=args.codec, batch=args.batch,
        axis_names=parse_axis_names(args.axis_names) if args.axis_names else None, bend=args.bend)
    report = compile_bank(request, progress=not args.quiet)
    print(json.dumps(report.to_json(), indent=1))
    print(f"wrote {report.path}: {report.size_bytes / 2**20:.2f} MiB, {report.segments} segments in "
          f"{report.total_seconds:.1f} s ({report.segments_per_second:.1f} segments/s generating), "
          "reloaded through the device reader and played through the granular engine",
          file=sys.stderr if args.json else sys.stdout)
    return 0
