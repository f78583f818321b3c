"""The shared grammar of `latent`'s options and help pages (app layer, CLI helpers; no heavy imports).

Every subcommand module builds its parser with these, so one spelling means one thing everywhere:

    --sample-rate HZ   a sample rate (old spelling --rate still accepted, hidden from help)
    --quiet            no progress bar or progress line (old spelling --no-progress, hidden)
    --json             machine-readable JSON on stdout and nothing else there; progress and
                       messages go to stderr
    --pitch / --pitches   pitches in the grammar of device/pitch_syntax.py

and every parser's help ends with real invocations (`examples(...)`), which tests/device/
test_cli_grammar.py parses back through the parser that shows them.
"""

from __future__ import annotations

import argparse
from typing import Any

EXAMPLES_HEADING = "example:"


def examples(*lines: str) -> dict[str, Any]:
    """`add_parser` keyword arguments that end its help with these example command lines."""
    heading = EXAMPLES_HEADING if len(lines) == 1 else "examples:"
    return {"epilog": heading + "\n" + "\n".join(f"  {line}" for line in lines),
            "formatter_class": argparse.RawDescriptionHelpFormatter}


def listed(help: str, shown: bool = True) -> dict[str, Any]:
    """`add_parser` keyword arguments that list a command in its parent's help, or (`shown=False`, an
    old spelling kept working) leave it out: argparse lists only subcommands given a help text."""
    return {"help": help} if shown else {}


def add_quiet(parser: argparse.ArgumentParser, help: str = "no progress bar") -> None:
    """`--quiet` (dest `quiet`), with the old `--no-progress` kept working but not shown."""
    parser.add_argument("--quiet", action="store_true", help=help)
    parser.add_argument("--no-progress", dest="quiet", action="store_true", default=argparse.SUPPRESS,
                        help=argparse.SUPPRESS)


def add_allow_older(parser: argparse.ArgumentParser,
                    help: str = "accept a lower version of a bundle name already installed (refused by "
                                "default: rollback protection)") -> None:
    """`--allow-older` (dest `allow_older`). Older versions are refused by default now; the old
    `--refuse-older` (what is now the default) is accepted, not shown, so scripts keep working."""
    parser.add_argument("--allow-older", action="store_true", help=help)
    parser.add_argument("--refuse-older", action="store_true", help=argparse.SUPPRESS)


def add_sample_rate(parser: argparse.ArgumentParser, help: str, default: int | None = None) -> None:
    """`--sample-rate HZ` (dest `sample_rate`), with the old `--rate` kept working but not shown."""
    parser.add_argument("--sample-rate", type=int, default=default, metavar="HZ", help=help)
    parser.add_argument("--rate", dest="sample_rate", type=int, default=argparse.SUPPRESS,
                        help=argparse.SUPPRESS)


def add_json(parser: argparse.ArgumentParser, help: str = "print JSON on stdout and nothing else "
                                                          "(messages go to stderr)") -> None:
    parser.add_argument("--json", action="store_true", help=help)
