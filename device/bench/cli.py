"""`latent bench NAME`: benchmarks that print JSON (app layer, CLI).

Performance targets are shown here, never by timed unit tests. Each benchmark module has
`NAME`, `HELP`, `add_arguments(parser)` and `run(args) -> dict`; the dict is printed as JSON.
"""

from __future__ import annotations

import argparse
import importlib
import json

BENCH_MODULES: tuple[str, ...] = ("device.mapping.bench", "device.bench.engine_bench", "device.sim.bench",
                                   "device.bench.latency_bench", "device.bench.flash_bench",
                                   "device.audio.stream_bench", "device.app.swap_bench",
                                   "device.bench.xruns_bench")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="run a benchmark and print JSON")
    benches = parser.add_subparsers(dest="bench", metavar="BENCH", required=True)
    for module_name in BENCH_MODULES:
        module = importlib.import_module(module_name)
        bench = benches.add_parser(module.NAME, help=module.HELP)
        bench.add_argument("--json", action="store_true",
                           help="print one compact JSON line instead of indented JSON")
        module.add_arguments(bench)
        bench.set_defaults(func=_runner(module))


def _runner(module):  # type: ignore[no-untyped-def]
    def run(args: argparse.Namespace) -> int:
        result = module.run(args)
        print(json.dumps(result, indent=None if args.json else 2, sort_keys=True))
        return 0

    return run
