"""`latent status`: what the playing instrument is doing, from its status file (app layer, CLI)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from device.cli_options import add_json, examples


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "status", help="show what the playing instrument is doing (model, sensors, audio, health)",
        description="Read the status file that `latent play --status-file` (the service: "
                    "/run/latent/status.json) rewrites every 2 s; exit 1 if it is stale or unhealthy.",
        **examples("latent status", "latent status --json", "latent status --status-file /tmp/status.json"))
    parser.add_argument("--status-file", type=Path, metavar="PATH",
                        help="status file to read (default: $LATENT_STATUS, else /run/latent/status.json)")
    add_json(parser, "print the status document as JSON on stdout, nothing else")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from device.app.status_file import STALE_AFTER_S, age_s, default_status_path, describe, read_status

    doc = read_status(args.status_file or default_status_path())
    now = time.time()
    if args.json:
        print(json.dumps(doc, sort_keys=True))
    else:
        print("\n".join(describe(doc, now)))
    healthy = age_s(doc, now) <= STALE_AFTER_S and not (doc.get("health") or {}).get("problem")
    return 0 if healthy else 1
