"""The `latent` console command: a thin dispatcher over subcommand modules (app layer).

Each subcommand lives in its own module exposing `register(subparsers)`, which adds an
argparse parser whose `func(args) -> int` runs it. Modules import their heavy dependencies
inside `func`, so `latent --help` and device commands start fast. Host-side commands come in
through the `latent.commands` entry-point group (listed in help) and old spellings of them
through `latent.command_aliases` (accepted, not listed); device/ never names host_tools. The
shared option names and help examples are in device/cli_options.py.

Errors and exit codes (`latent --debug COMMAND ...` adds the traceback to any of them):

    0    done
    1    an expected error: an InstrumentError, or an OSError about a named file; one line
         `latent COMMAND: error: ...` on stderr
    2    a malformed command line (argparse's usage error)
    69   a host command on an install without the host tools (EX_UNAVAILABLE); one line
    70   an unexpected exception, i.e. a bug (EX_SOFTWARE); one line naming it
    130  interrupted (Ctrl-C)

`latent play` also exits 75 when its sound device goes away (device/app/play_cli.py).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Callable, Sequence
from importlib.metadata import EntryPoint, entry_points

from device.cli_options import examples
from device.cli_options import listed as listed_help
from device.errors import InstrumentError

DEVICE_COMMANDS = (
    "device.app.play_cli",
    "device.app.status_cli",
    "device.bundle.cli",
    "device.bench.cli",
    "device.store.cli",
    "device.store.install_cli",
    "device.flash.serve_cli",
    "device.mapping.cli",
    "device.app.selftest_cli",
)
HOST_COMMANDS_GROUP = "latent.commands"
HOST_ALIASES_GROUP = "latent.command_aliases"

EXIT_ERROR = 1
EXIT_HOST_TOOLS_MISSING = 69
EXIT_BUG = 70
EXIT_INTERRUPTED = 130

HOST_TOOLS_HINT = "this command needs the host tools: pip install 'latent-instrument[host]'"


def _entry_points(group: str) -> list[EntryPoint]:
    return sorted(entry_points(group=group), key=lambda ep: ep.name)


def _register_entry_point(sub: argparse._SubParsersAction, ep: EntryPoint, listed: bool,
                          missing: dict[str, BaseException]) -> None:
    """Register one host command; if its module cannot be imported (a device-only install has no
    torch), a placeholder under the entry point's name, which needs no import, says what to install."""
    try:
        module = importlib.import_module(ep.module)
        register: Callable[[argparse._SubParsersAction], None] = getattr(module, ep.attr or "register")
    except ImportError as err:
        missing[ep.name] = err
        placeholder = sub.add_parser(ep.name, add_help=False,
                                     **listed_help("(needs the host tools, not installed here)", listed))
        placeholder.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        placeholder.set_defaults(func=None)
        return
    register(sub)


def build_parser(missing: dict[str, BaseException] | None = None) -> argparse.ArgumentParser:
    """The whole `latent` parser; `missing` collects host commands that could not be imported."""
    missing = {} if missing is None else missing
    parser = argparse.ArgumentParser(
        prog="latent",
        description="A latent-space instrument: play it, build its models, flash them.",
        **examples("latent play --out demo.wav --seconds 10",
                   "latent bank compile --run models/gan-medium --pca-axes 0,1 --pitches 36-84:6 "
                   "--out models/mine.bundle",
                   "latent --debug bundle verify models/gan-medium.bundle"))
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of any error (for reporting a bug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in DEVICE_COMMANDS:
        importlib.import_module(module_name).register(sub)
    for ep in _entry_points(HOST_COMMANDS_GROUP):
        _register_entry_point(sub, ep, True, missing)
    for ep in _entry_points(HOST_ALIASES_GROUP):
        _register_entry_point(sub, ep, False, missing)
    return parser


def _command_word(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line, past the global options (none take a value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    missing: dict[str, BaseException] = {}
    parser = build_parser(missing)
    command = _command_word(argv)
    debug = "--debug" in argv[: argv.index(command)] if command in argv else "--debug" in argv
    if command in missing:
        # Before argparse: the placeholder must answer `latent bank compile --help` in one line too.
        if debug:
            traceback.print_exception(missing[command])
        print(f"latent {command}: {HOST_TOOLS_HINT}", file=sys.stderr)
        return EXIT_HOST_TOOLS_MISSING
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"latent {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except InstrumentError as err:
        return _failed(args, err, f"error: {err}", EXIT_ERROR)
    except OSError as err:
        if err.filename is None:
            return _unexpected(args, err)
        # A file the user named (missing, unreadable, a directory): theirs to fix, not a bug.
        return _failed(args, err, f"error: {err.filename}: {err.strerror or err}", EXIT_ERROR)
    except Exception as err:
        return _unexpected(args, err)


def _failed(args: argparse.Namespace, err: BaseException, message: str, code: int) -> int:
    if args.debug:
        traceback.print_exception(err)
    print(f"latent {args.command}: {message}", file=sys.stderr)
    return code


def _unexpected(args: argparse.Namespace, err: BaseException) -> int:
    hint = "" if args.debug else "; rerun with `latent --debug ...` for the traceback and report it"
    return _failed(args, err, f"unexpected {type(err).__name__}: {err}{hint}", EXIT_BUG)


if __name__ == "__main__":
    sys.exit(main())
