"""`latent bundle info|verify FILE`: look inside a bundle and check it (app layer, CLI)."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bundle", help="inspect and verify bundle files")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="print a bundle's manifest as JSON")
    info.add_argument("file", help="bundle file")
    info.set_defaults(func=_info)
    verify = actions.add_parser("verify", help="check a bundle completely (exit 1 with the reason)")
    verify.add_argument("file", help="bundle file")
    verify.set_defaults(func=_verify)


def _info(args: argparse.Namespace) -> int:
    from device.bundle.reader import open_bundle

    # Hashes are checked too: info on a corrupt file should say so, not print stale claims.
    with open_bundle(args.file) as bundle:
        print(json.dumps(bundle.manifest, indent=2, sort_keys=True))
    return 0


def _verify(args: argparse.Namespace) -> int:
    from device.bundle.reader import open_bundle

    with open_bundle(args.file) as bundle:
        payload_bytes = sum(e["nbytes"] for e in bundle.manifest["payloads"].values())
        print(f"{args.file}: OK ({bundle.kind} {bundle.name!r} v{bundle.manifest['version']}, "
              f"{bundle.sample_rate} Hz, {len(bundle.arrays)} payloads, {payload_bytes} bytes, "
              "all sha256 match)")
    return 0
