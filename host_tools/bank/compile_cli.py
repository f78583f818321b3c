"""`latent bank compile`: a trained GAN's latent grid (PCA axes or four corners) into a segment bank
(app layer, CLI). Prints a JSON report (size, time, segments per second, engine check)."""

from __future__ import annotations

import argparse
import json


def register(actions: argparse._SubParsersAction) -> None:
    from host_tools.space.parsing import accept_negative_lists

    parser = actions.add_parser(
        "compile", help="compile a trained GAN's latent grid into a segment-bank bundle",
        description="Generate every (grid cell, pitch) note of a GAN run along PCA directions "
                    "(--pca-axes) or on the surface of four bookmarks (--corners), in resumable batches, "
                    "and write it as a segment bank checked through the device reader and engine.")
    parser.add_argument("--run", required=True, help="training run directory")
    grid = parser.add_mutually_exclusive_group(required=True)
    grid.add_argument("--pca-axes", help="1 to 3 components from `latent space pca`, e.g. 0,1")
    grid.add_argument("--corners", help="four bookmark names a,b,c,d = (u0,v0),(u1,v0),(u0,v1),(u1,v1)")
    parser.add_argument("--range", default="-2,2", help="LOW,HIGH in standard deviations (PCA axes)")
    parser.add_argument("--steps", type=int, default=5, help="grid points per axis (default 5)")
    parser.add_argument("--pitches", required=True, help="MIDI pitches, e.g. 60-67 or 60,64,67")
    parser.add_argument("--seconds", type=float, help="keep only this much of each note")
    parser.add_argument("--offset", type=float, default=0.0, help="where the kept window starts (s)")
    parser.add_argument("--codec", default="int16", help="int16 or mulaw8 (default int16)")
    parser.add_argument("--axis-names", metavar="NAME[=WHAT],...",
                        help="name each PCA axis by what it moves (see `latent space describe`), e.g. "
                             "'brightness=darker to brighter,noise=pure to breathy'; default pc<k>")
    parser.add_argument("--batch", type=int, default=32, help="segments per generated batch")
    parser.add_argument("--out", required=True, help="bundle file to write")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
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
    from host_tools.bank.compile import compile_bank, plan_compile
    from host_tools.space.parsing import parse_pitches

    request = plan_compile(
        args.run, out=args.out, pitches=parse_pitches(args.pitches), pca_axes=args.pca_axes,
        value_range=args.range, steps=args.steps,
        corners=args.corners.split(",") if args.corners is not None else None,
        seconds=args.seconds, offset=args.offset, codec=args.codec, batch=args.batch,
        axis_names=parse_axis_names(args.axis_names) if args.axis_names else None)
    report = compile_bank(request, progress=not args.no_progress)
    print(json.dumps(report.to_json(), indent=1))
    print(f"wrote {report.path}: {report.size_bytes / 2**20:.2f} MiB, {report.segments} segments in "
          f"{report.total_seconds:.1f} s ({report.segments_per_second:.1f} segments/s generating), "
          "reloaded through the device reader and played through the granular engine")
    return 0
