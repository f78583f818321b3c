"""`latent map check|default|record|train`: check a mapping file, print the default one, or teach
one by example (app layer, CLI).

For a musician editing a mapping: `latent map default > mine.toml`, edit, then
`latent map check mine.toml` says what is wrong (exit 1) or summarises what the map does.
`record` and `train` (device/mapping/learn_cli.py) make a learned mapping from held poses.
"""

from __future__ import annotations

import argparse

from device.cli_options import examples
from device.mapping.learn_cli import register_actions


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("map", help="check, print or learn a mapping file",
                            description="Check a mapping file, print the shipped one to start from, or "
                                        "record poses and train a learned mapping.",
                            **examples("latent map default > mine.toml", "latent map check mine.toml",
                                       "latent map record --out poses.json --target 0,0 --target 1,1",
                                       "latent map train poses.json --out learned.toml"))
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="validate a mapping file and summarise it",
                               description="Validate a mapping file and summarise what it does (exit 1 "
                                           "with what is wrong).",
                               **examples("latent map check mine.toml"))
    check.add_argument("file", nargs="?", default=None, help="mapping file (default: the shipped one)")
    check.set_defaults(func=_check)
    default = actions.add_parser("default", help="print the shipped default mapping file",
                                 description="Print the shipped default mapping file, to copy and edit.",
                                 **examples("latent map default > mine.toml"))
    default.set_defaults(func=_default)
    register_actions(actions)


def _check(args: argparse.Namespace) -> int:
    from device.mapping.map_file import load_map

    config = load_map(args.file)
    print(f"{config.source}: OK")
    for axis in config.axes:
        print(f"  axis {axis.axis}: {axis.source} ({axis.curve}, {axis.min:g}..{axis.max:g}"
              f"{', inverted' if axis.invert else ''})")
    if config.pitch is not None:
        keys = ", ".join(f"{k}={n:g}" for k, n in zip(config.pitch.keys, config.pitch.notes, strict=True))
        print(f"  pitch keys: {keys}")
    for control in config.controls:
        print(f"  {control.param}: {control.source} ({control.curve}, {control.min:g}..{control.max:g})")
    for switch in config.switches:
        print(f"  {switch.param}: {switch.source} {switch.action} -> {switch.touched!r}")
    print(f"  gain: note {config.gain.note:g}, idle {config.gain.idle:g}")
    print(f"  presets: {', '.join(p.name for p in config.presets) or '(none)'}")
    if config.learned is not None:
        learned = config.learned
        if learned.point is not None:
            print(f"  learned: {', '.join(learned.inputs)} -> axes {', '.join(map(str, learned.axes))} "
                  f"({len(learned.point.centres)} examples)")
        if learned.chooser is not None:
            print(f"  learned: {', '.join(learned.inputs)} -> preset {' | '.join(learned.presets)} "
                  f"({len(learned.chooser.centres)} examples)")
    return 0


def _default(args: argparse.Namespace) -> int:
    from device.mapping.map_file import default_map_path

    print(default_map_path().read_text(encoding="utf-8"), end="")
    return 0
