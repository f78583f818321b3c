"""The `latent` console command: a thin dispatcher over subcommand modules (app layer).

Each subcommand lives in its own module exposing `register(subparsers)`, which adds an
argparse parser whose `func(args) -> int` runs it. Modules import their heavy dependencies
inside `func`, so `latent --help` and device commands start fast. Host-side commands come in
through the `latent.commands` entry-point group; device/ never names host_tools.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from device.errors import InstrumentError

DEVICE_COMMANDS = (
    "device.app.play_cli",
    "device.bundle.cli",
    "device.bench.cli",
    "device.store.cli",
    "device.store.install_cli",
    "device.flash.serve_cli",
    "device.mapping.cli",
)


def _host_command_modules() -> list[str]:
    return sorted(ep.value for ep in entry_points(group="latent.commands"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="latent",
        description="A latent-space instrument: play it, build its models, flash them.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in (*DEVICE_COMMANDS, *_host_command_modules()):
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InstrumentError as err:
        print(f"latent {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"latent {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
