"""`latent bench NAME`: every benchmark of the instrument, under one command (bench layer, CLI).

Performance figures come from here, never from timed unit tests. Each benchmark module in this
package has `NAME`, `HELP`, `add_arguments(parser)` and `run(args) -> dict`; this module adds the
options every bench shares and prints the dict (the conventions are in device/bench/README.md).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from device.cli_options import examples

BENCH_NAMES = ("engine", "latency", "sensors", "mapping", "learned", "audio", "swap", "xruns", "flash",
               "midi", "rnn")
BENCH_MODULES: tuple[str, ...] = tuple(f"device.bench.{name}_bench" for name in BENCH_NAMES)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="run a benchmark and print its figures",
                            description="Run one benchmark. Every bench prints its figures as text, "
                                        "or with --json as one JSON object on one line.",
                            **examples("latent bench engine", "latent bench latency --json --quiet"))
    benches = parser.add_subparsers(dest="bench", metavar="BENCH", required=True)
    for module_name in BENCH_MODULES:
        module = importlib.import_module(module_name)
        # A bench module may name its own EXAMPLES; every bench runs with its defaults alone.
        bench = benches.add_parser(module.NAME, help=module.HELP, description=module.HELP,
                                   **examples(*getattr(module, "EXAMPLES", (f"latent bench {module.NAME}",
                                                                            f"latent bench {module.NAME} "
                                                                            "--json"))))
        bench.add_argument("--json", action="store_true",
                           help="print one JSON object on one line instead of text")
        bench.add_argument("--quiet", action="store_true", help="no progress line on stderr")
        module.add_arguments(bench)
        bench.set_defaults(func=_runner(module))


def _runner(module: ModuleType) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        if not args.quiet:
            print(f"latent bench {module.NAME}: measuring...", file=sys.stderr, flush=True)
        result = {"bench": module.NAME, **module.run(args)}
        print(json.dumps(result) if args.json else as_text(result))
        return 0

    return run


def as_text(value: Any, indent: int = 0) -> str:
    """The result as indented `key: value` lines (the --json object, for reading)."""
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item and not _flat(item):
                lines.append(f"{pad}{key}:")
                lines.append(as_text(item, indent + 1))
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
        return "\n".join(lines)
    if isinstance(value, list):
        return "\n".join(f"{pad}- {_scalar(item)}" if not isinstance(item, dict | list)
                         else f"{pad}-\n{as_text(item, indent + 1)}" for item in value)
    return f"{pad}{_scalar(value)}"


def _flat(value: dict[str, Any] | list[Any]) -> bool:
    return isinstance(value, list) and all(not isinstance(item, dict | list) for item in value)


def _scalar(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_scalar(item) for item in value) if value else "[]"
    if isinstance(value, dict):
        return "{}"
    if value is None:
        return "-"
    return str(value).lower() if isinstance(value, bool) else str(value)
