"""`latent data render|stats|programs`: make and inspect NSynth-layout training sets (host app layer, CLI).

    latent data render --programs 0,24-27,flute --pitches C1-C6 --out DIR     # chosen GM programs
    latent data render --recipe default --out DIR                             # the default training set
    latent data stats DIR [--png FILE]                                        # counts + PNG overview
    latent data programs                                                      # the GM -> NSynth table

Heavy imports (fluidsynth, soundfile, scipy, matplotlib) happen inside the commands.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from device.cli_options import add_quiet, add_sample_rate, examples


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("data", help="render, read and inspect NSynth-layout training data",
                            description="Make training sets in NSynth's layout from General MIDI "
                                        "soundfonts, and look at them.",
                            **examples("latent data render --recipe default --out data/gm",
                                       "latent data stats data/gm"))
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    render = actions.add_parser(
        "render",
        help="render single notes of General MIDI programs with fluidsynth into NSynth's layout",
        description="Render dry single notes (key held note-seconds, then released) of GM programs into "
        "DIR/examples.json + DIR/audio/<note_str>.wav (16-bit mono), as NSynth.",
        **examples("latent data render --recipe default --out data/gm",
                   "latent data render --programs 0,24-27,flute --pitches C2-C6:2 --out data/mine "
                   "--sample-rate 16000 --quiet"),
    )
    render.add_argument("--recipe", help="a recipe TOML file, or the name of a shipped one (default)")
    render.add_argument("--soundfont", help="General MIDI .sf2/.sf3 file (default: the best one installed)")
    render.add_argument(
        "--programs", help="GM programs 0..127: numbers, ranges and families, e.g. 0,24-27,flute"
    )
    render.add_argument("--pitches", help="pitches, e.g. 24-84, C2-C6, 36-84:3 or 48,60,72 (default 24-84)")
    render.add_argument("--velocities", help="MIDI velocities, e.g. 25,50,75,100,127 (NSynth's, the default)")
    render.add_argument("--seconds", type=float, help="length of every note file (default 4)")
    render.add_argument(
        "--note-seconds", type=float, help="how long the key is held (default 3/4 of --seconds)"
    )
    add_sample_rate(render, "sample rate in Hz (default 16000)")
    render.add_argument("--out", required=True, help="directory to write the data set into")
    render.add_argument("--force", action="store_true", help="replace a data set already in --out")
    add_quiet(render)
    render.set_defaults(func=_render)

    stats = actions.add_parser("stats", help="count a data set's notes and draw a PNG overview",
                               description="Count a data set's notes by family, source and pitch, and "
                                           "draw a PNG overview with a few spectrograms.",
                               **examples("latent data stats data/gm",
                                          "latent data stats data/gm --pitches C3-C5 --png gm.png"))
    stats.add_argument("dir", help="data set directory (examples.json + audio/)")
    stats.add_argument("--png", help="where to write the overview (default DIR/overview.png)")
    stats.add_argument("--families", help="only these families, comma-separated")
    stats.add_argument("--sources", help="only these sources (acoustic, electronic, synthetic)")
    stats.add_argument("--pitches", help="only this pitch range, e.g. 36-84 or C2-C6")
    stats.add_argument("--spectrograms", type=int, default=6, help="how many notes to draw (default 6)")
    stats.add_argument(
        "--no-header-check",
        action="store_true",
        help="only check that files exist, not their rate and length (faster on all of NSynth)",
    )
    stats.set_defaults(func=_stats)

    programs = actions.add_parser("programs", help="list the GM programs and their NSynth family and source",
                                  description="List the General MIDI programs with the NSynth family "
                                              "and source each renders as.",
                                  **examples("latent data programs --all"))
    programs.add_argument("--all", action="store_true", help="include programs with no NSynth family")
    programs.set_defaults(func=_programs)


def _recipe_from_args(args: argparse.Namespace) -> Any:
    from device.errors import ConfigError
    from host_tools.data.gm_programs import parse_programs
    from host_tools.data.recipe import load_recipe, parse_pitches, parse_recipe, parse_velocities

    # Checked here first so an error names the option rather than a place in the built recipe.
    programs = parse_programs(args.programs) if args.programs else None
    pitches = parse_pitches(args.pitches, "--pitches") if args.pitches else None
    velocities = parse_velocities(args.velocities, "--velocities") if args.velocities else None

    if args.recipe:
        if args.programs or args.pitches:
            raise ConfigError(
                "--programs/--pitches and --recipe exclude each other: a recipe names its own "
                "programs and pitches (copy it and edit the copy to change them)"
            )
        config = load_recipe(args.recipe).to_config()
        if velocities:
            for group in config["groups"]:
                group["velocities"] = velocities
    elif programs:
        config = {"groups": [{"name": "command-line", "programs": programs, "pitches": pitches or "24-84"}]}
        if velocities:
            config["velocities"] = velocities
    else:
        raise ConfigError("say what to render: --programs (e.g. 0,24-27,flute) or --recipe default")
    if args.soundfont:
        config["soundfont"] = args.soundfont
    if args.sample_rate is not None:
        config["sample_rate"] = args.sample_rate
    if args.seconds is not None:
        config["seconds"] = args.seconds
        config["note_seconds"] = args.seconds * 0.75
    if args.note_seconds is not None:
        config["note_seconds"] = args.note_seconds
    return parse_recipe(config, args.recipe or "command line")


def _render(args: argparse.Namespace) -> int:
    from host_tools.data.render import check_out_dir, render_dataset
    from host_tools.data.soundfonts import resolve_soundfont

    recipe = _recipe_from_args(args)
    soundfont = resolve_soundfont(recipe.soundfont)
    check_out_dir(Path(args.out), args.force)
    notes = len(recipe.notes())
    print(
        f"rendering {notes} notes of {len({n[0] for n in recipe.notes()})} programs with {soundfont} "
        f"at {recipe.sample_rate} Hz, {recipe.seconds:g} s each"
    )
    report = render_dataset(recipe, Path(args.out), soundfont, force=args.force, progress=not args.quiet)
    print(report.summary())
    print(f"look at it: latent data stats {args.out}")
    return 0


def _split(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def _stats(args: argparse.Namespace) -> int:
    from host_tools.data.nsynth_dataset import NSynthDataset
    from host_tools.data.recipe import parse_pitches
    from host_tools.data.stats import text_report, write_overview

    pitch_range = None
    if args.pitches:
        chosen = parse_pitches(args.pitches, "--pitches")
        pitch_range = (chosen[0], chosen[-1])
    dataset = NSynthDataset(
        args.dir,
        families=_split(args.families),
        sources=_split(args.sources),
        pitch_range=pitch_range,
        check_headers=not args.no_header_check,
    )
    print(text_report(dataset))
    png = write_overview(dataset, Path(args.png or Path(args.dir) / "overview.png"), args.spectrograms)
    print(f"\noverview: {png}")
    return 0


def _programs(args: argparse.Namespace) -> int:
    from host_tools.data.gm_programs import GM_PROGRAMS

    print(f"{'program':>7}  {'name':<26}{'family':<12}{'source':<12}qualities")
    for p in GM_PROGRAMS:
        if p.family is None and not args.all:
            continue
        row = f"{p.number:>7}  {p.name:<26}{p.family or '-':<12}{p.source or '-':<12}{','.join(p.qualities)}"
        print(row.rstrip())
    return 0
