"""`latent serve --serial DEV`: receive bundles from `latent flash` over USB serial (app layer, CLI)."""

from __future__ import annotations

import argparse
import sys

from device.cli_options import add_allow_older, examples
from device.store.cli import add_store_argument


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("serve", help="receive bundles flashed over a serial link into the store",
                            description="Listen on a serial link for bundles sent by `latent flash --to "
                                        "serial://...`, verify them and install them into the store.",
                            **examples("latent serve --serial /dev/ttyGS0",
                                       "latent serve --serial /dev/ttyGS0 --once --allow-unsigned"))
    parser.add_argument("--serial", required=True, metavar="DEV",
                        help="serial device to listen on (e.g. /dev/ttyGS0 on a Pi in USB gadget mode)")
    parser.add_argument("--baud", type=int, default=115200, help="baud rate (ignored by USB CDC links)")
    parser.add_argument("--allow-unsigned", action="store_true",
                        help="accept bundles without a signature (for tinkering; off by default)")
    add_allow_older(parser)
    parser.add_argument("--no-activate", action="store_true", help="store received bundles without "
                                                                  "activating them")
    parser.add_argument("--session-timeout", type=float, default=30.0, metavar="S",
                        help="close a transfer after S silent seconds (its bytes stay staged)")
    parser.add_argument("--once", action="store_true", help="exit after one successful install")
    add_store_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from device.flash.link import open_serial
    from device.flash.receiver import SerialReceiver
    from device.store.cli import open_store
    from device.store.store import InstallOptions

    store = open_store(args)
    options = InstallOptions(activate=not args.no_activate, allow_unsigned=args.allow_unsigned,
                             allow_older=args.allow_older)
    port = open_serial(args.serial, args.baud)

    def log(line: str) -> None:
        print(f"latent serve: {line}", file=sys.stderr, flush=True)

    receiver = SerialReceiver(port, store, options=options, session_timeout=args.session_timeout, log=log,
                              baud=args.baud)
    log(f"listening on {args.serial} for bundles (store {store.layout.root})")
    try:
        receiver.serve(max_installs=1 if args.once else None)
    finally:
        port.close()
    return 0
