"""`latent selftest`: bring-up checks of a newly built instrument (app layer, CLI).

Parses the options, runs device/app/selftest.py's checks and prints a pass/fail table (or, with
--json, one JSON object on stdout and nothing else). Exit 0 when every check passed or was
skipped, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from device.cli_options import add_json, add_sample_rate, examples


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "selftest", help="check a newly built instrument: sensors, channels, audio, model, LEDs",
        description="Run the bring-up checks and print one row per check, with what to do for each failure.",
        **examples("latent selftest --sensors i2c",
                   "latent selftest --out /tmp/tone.wav --json",
                   "latent selftest --sensors i2c --store /var/lib/latent/models"))
    parser.add_argument("--sensors", choices=("sim", "i2c"), default="sim",
                        help="sim: simulated chips under the real drivers (default); i2c: the Pi's bus")
    parser.add_argument("--pins", type=Path, default=None, metavar="FILE",
                        help="pin map (default: hardware/pins.toml)")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE.wav",
                        help="write the test tone to this WAV instead of playing it")
    add_sample_rate(parser, "sample rate of the test tone (default: the play default)")
    parser.add_argument("--device", default=None, help="sound device index or name (default: the default)")
    parser.add_argument("--store", type=Path, default=None, metavar="DIR",
                        help="model store whose active bundle is verified")
    parser.add_argument("--bundle", type=Path, default=None, metavar="FILE",
                        help="bundle to verify without a store (default: the shipped one)")
    add_json(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from device.app.selftest import SelftestOptions, all_passed, format_table, run_selftest
    from device.bus.pinmap import load_pin_map
    from device.engine.params import DEFAULT_SAMPLE_RATE

    device: int | str | None = args.device
    if isinstance(device, str) and device.isdigit():
        device = int(device)
    options = SelftestOptions(pins=load_pin_map(args.pins), sensors=args.sensors, out=args.out,
                              sample_rate=args.sample_rate or DEFAULT_SAMPLE_RATE, device=device,
                              store=args.store, bundle=args.bundle)
    results = run_selftest(options)
    if args.json:
        print(json.dumps({"ok": all_passed(results), "checks": [r.to_json() for r in results]}))
    else:
        print(format_table(results))
    return 0 if all_passed(results) else 1
