"""`latent bank additive`: build a Wessel-style additive timbre bank from a recipe (app layer, CLI).

Options given on the command line override the recipe's keys; the resolved recipe is stored in
the bundle's config, so the bundle always says exactly how it was made.
"""

from __future__ import annotations

import argparse
import itertools
import re
from typing import Any

from device.cli_options import add_sample_rate, examples


def register(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "additive",
        help="build an additive timbre space (brightness x odd/even) over a range of pitches",
        description="Render a 2-axis additive timbre space (spectral brightness x odd/even harmonic "
                    "balance) at a range of MIDI pitches and write it as a segment-bank bundle.",
        **examples("latent bank additive --recipe models/additive-timbre.toml --out models/my.bundle",
                   "latent bank additive --out models/small.bundle --grid 3x3 --pitches 48-72:12"),
    )
    parser.add_argument("--out", required=True, help="bundle file to write (e.g. models/my.bundle)")
    parser.add_argument("--recipe", help="TOML recipe (e.g. models/additive-timbre.toml); "
                                         "defaults for every key it leaves out")
    parser.add_argument("--name", help="bundle name (recipe key name)")
    parser.add_argument("--seed", type=int, help="random seed (recipe key seed)")
    add_sample_rate(parser, "bank sample rate in Hz (recipe key sample_rate)")
    parser.add_argument("--segment-seconds", type=float, help="segment length (recipe key segment_seconds)")
    parser.add_argument("--codec", help="int16 or mulaw8 (recipe key codec)")
    parser.add_argument("--grid", metavar="BxO",
                        help="grid points along brightness x odd/even, e.g. 5x5 (recipe keys "
                             "brightness.steps, odd_even.steps)")
    parser.add_argument("--pitches", metavar="PITCHES",
                        help="evenly spaced pitches, e.g. 36-84:6 or C2-C6:6 (recipe keys "
                             "pitches.low/high/step)")
    parser.add_argument("--preview", metavar="WAV",
                        help="also write a WAV walking through the grid at the pitch nearest C4")
    parser.set_defaults(func=run)


def _split_ints(text: str, separator: str, count: int, option: str, example: str) -> list[int]:
    from device.errors import ConfigError

    parts = text.split(separator)
    try:
        if len(parts) != count:
            raise ValueError
        return [int(p) for p in parts]
    except ValueError:
        raise ConfigError(f"{option} {text!r} is malformed; write it like {example}") from None


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Recipe keys (dotted) set by command-line options."""
    overrides: dict[str, Any] = {}
    for option, key in (("name", "name"), ("seed", "seed"), ("sample_rate", "sample_rate"),
                        ("segment_seconds", "segment_seconds"), ("codec", "codec")):
        if getattr(args, option) is not None:
            overrides[key] = getattr(args, option)
    if args.grid is not None:
        overrides["brightness.steps"], overrides["odd_even.steps"] = _split_ints(
            args.grid.lower(), "x", 2, "--grid", "5x5")
    if args.pitches is not None:
        overrides["pitches.low"], overrides["pitches.high"], overrides["pitches.step"] = _pitch_steps(
            args.pitches)
    return overrides


# The old LOW:HIGH:STEP spelling of --pitches, still accepted (passed on as given, so the recipe
# check reports a step that misses HIGH, as it always did).
_OLD_PITCH_STEPS = re.compile(r"\s*(\d+):(\d+):(\d+)\s*")


def _pitch_steps(text: str) -> tuple[int, int, int]:
    """--pitches as the recipe's (low, high, step): the bank's pitches are evenly spaced."""
    from device.errors import ConfigError
    from device.pitch_syntax import parse_pitches

    old = _OLD_PITCH_STEPS.fullmatch(text)
    if old:
        low, high, step = (int(group) for group in old.groups())
        return low, high, step
    pitches = parse_pitches(text, "--pitches")
    steps = {b - a for a, b in itertools.pairwise(pitches)}
    if len(steps) > 1:
        raise ConfigError(f"--pitches: {', '.join(map(str, pitches))} are not evenly spaced; a bank's "
                          "pitches are a range with a step, like 36-84:6")
    return pitches[0], pitches[-1], steps.pop() if steps else 1


def run(args: argparse.Namespace) -> int:
    from host_tools.bank.build import build_additive_bundle
    from host_tools.bank.recipe import load_recipe, parse_recipe, with_overrides

    overrides = overrides_from_args(args)
    if args.recipe is not None:
        recipe = load_recipe(args.recipe, overrides)
    else:
        recipe = parse_recipe(with_overrides({}, overrides))
    report = build_additive_bundle(recipe, args.out)
    _print_report(report, recipe)
    if args.preview:
        from host_tools.bank.preview import write_preview

        print(f"preview: {write_preview(report.bank, args.preview)}")
    return 0


def _print_report(report: Any, recipe: Any) -> None:
    axes, pitches = report.bank.axes, report.bank.pitches
    p = recipe.pitches
    print(f"wrote {report.path}")
    print(f"  size: {report.size_bytes} bytes ({report.size_bytes / 2**20:.2f} MiB)")
    print(f"  grid: {' x '.join(f'{a.steps} {a.name}' for a in axes)}; "
          f"{len(pitches)} pitches {p.low}..{p.high} step {p.step}")
    print(f"  audio: {recipe.sample_rate} Hz, {recipe.codec}, {recipe.segment_frames} frames "
          f"({recipe.segment_frames / recipe.sample_rate:.2f} s) per segment")
    print(f"  time: {report.total_seconds:.2f} s (render {report.render_seconds:.2f} s), "
          "reloaded and verified through the device reader")
