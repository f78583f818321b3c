"""`latent map check|default`: check a mapping file, or print the default one (app layer, CLI).

For a musician editing a mapping: `latent map default > mine.toml`, edit, then
`latent map check mine.toml` says what is wrong (exit 1) or summarises what the map does.
"""

from __future__ import annotations

import argparse

from device.cli_options import examples


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("map", help="check a mapping file or print the default one",
                            description="Check a mapping file, or print the shipped one to start from.",
                            **examples("latent map default > mine.toml", "latent map check mine.toml"))
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
    return 0


def _default(args: argparse.Namespace) -> int:
    from device.mapping.map_file import default_map_path

    print(default_map_path().read_text(encoding="utf-8"), end="")
    return 0
