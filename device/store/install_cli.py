"""`latent install`: put a bundle into this device's store (app layer, CLI).

Run on the device, so verification always happens there. Three forms:

    latent install FILE [--sig FILE.sig]            a bundle already on the device
    latent install --query  --name N --size S --sha256 H [--signature-b64 B]
        prints {"offset": staged bytes, "prefix_sha256": ..., "existing": bool, "active": bool}
        after checking the offer (name, size limit, free space, signing key) without receiving
    latent install --stdin  --name N --size S --sha256 H --offset O [--signature-b64 B]
        receives bytes O..S on standard input into staging, then verifies and installs

`latent flash --to ssh://...` runs the last two over SSH; an interrupted --stdin leaves its bytes
in staging, and the next --query reports where to resume.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import dataclasses
import json
import sys
from typing import TYPE_CHECKING, Any

from device.cli_options import add_allow_older, add_json, examples
from device.errors import StoreError
from device.store.cli import add_store_argument, guarded, open_store, shown

if TYPE_CHECKING:  # imported when a command runs, so `latent --help` stays fast
    from device.store.incoming import IncomingTransfer, TransferOffer

STDIN_CHUNK = 256 * 1024


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("install", help="verify a bundle and install it into this device's store",
                            description="Verify a bundle and install it into this device's store "
                                        "(activated unless --no-activate). `latent flash --to ssh://...` "
                                        "runs the --query and --stdin forms on the device.",
                            **examples("latent install pads.bundle --sig pads.bundle.sig",
                                       "latent install models/gan-medium.bundle --allow-unsigned --json"))
    parser.add_argument("file", nargs="?", help="bundle file on this device (not with --stdin/--query)")
    parser.add_argument("--sig", metavar="FILE", help="detached signature (default: FILE.sig if present)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--stdin", action="store_true", help="receive the bundle on standard input")
    mode.add_argument("--query", action="store_true",
                      help="check an offer and print how many bytes are already staged (JSON)")
    parser.add_argument("--name", help="bundle file name (with --stdin/--query)")
    parser.add_argument("--size", type=int, help="exact size in bytes (with --stdin/--query)")
    parser.add_argument("--sha256", help="sha256 of the whole file (with --stdin/--query)")
    parser.add_argument("--offset", type=int, default=0, help="first byte sent on stdin (resume point)")
    parser.add_argument("--restart", action="store_true",
                        help="with --query: drop bytes already staged for this bundle (start from 0)")
    parser.add_argument("--signature-b64", metavar="B64", help="signature document, base64 of its JSON")
    parser.add_argument("--allow-unsigned", action="store_true",
                        help="accept a bundle without signature (for tinkering; a bad signature is "
                             "still refused)")
    parser.add_argument("--no-activate", action="store_true", help="store it but keep the active bundle")
    add_allow_older(parser)
    add_json(parser, "print the result as one JSON line on stdout, nothing else")
    add_store_argument(parser)
    parser.set_defaults(func=guarded(_run))


def _signature(args: argparse.Namespace) -> dict[str, Any] | None:
    from pathlib import Path

    from device.store.signature import load_signature_doc, signature_path

    if args.signature_b64:
        from device.safe_read import loads_json

        try:
            raw = base64.b64decode(args.signature_b64, validate=True)
        except (binascii.Error, ValueError):
            raise StoreError("--signature-b64 is not base64 of a JSON document") from None
        doc = loads_json(raw, source="--signature-b64", error=StoreError, max_bytes=4096)
        if not isinstance(doc, dict):
            raise StoreError("--signature-b64 does not hold a JSON object")
        return doc
    if args.sig:
        return load_signature_doc(Path(args.sig))
    if args.file and signature_path(Path(args.file)).exists():
        return load_signature_doc(signature_path(Path(args.file)))
    return None


def _offer(args: argparse.Namespace) -> TransferOffer:
    from device.store.incoming import TransferOffer

    missing = [flag for flag, value in (("--name", args.name), ("--size", args.size),
                                        ("--sha256", args.sha256)) if value is None]
    if missing:
        raise StoreError(f"{' '.join(missing)} required with --stdin and --query")
    return TransferOffer(name=args.name, size=args.size, sha256=args.sha256, signature=_signature(args))


def _run(args: argparse.Namespace) -> int:
    from device.store.store import InstallOptions

    options = InstallOptions(activate=not args.no_activate, allow_unsigned=args.allow_unsigned,
                             allow_older=args.allow_older)
    store = open_store(args)
    if args.query or args.stdin:
        if args.file:
            raise StoreError("give either FILE or --stdin/--query, not both")
        incoming = store.offer(_offer(args), options)
        if args.query and args.restart:
            incoming.restart()
        if args.query:
            print(json.dumps({"offset": incoming.offset, "prefix_sha256": incoming.prefix_sha256(),
                              "existing": incoming.existing,
                              "active": store.pointer.active == incoming.offer.sha256}))
            incoming.close()
            return 0
        _receive(incoming, args.offset)
        result = store.install_incoming(incoming, options)
    else:
        if not args.file:
            raise StoreError("nothing to install: give a bundle FILE, or --stdin")
        result = store.install_file(args.file, _signature(args), options)
    # The message names the bundle as its manifest does: shown escaped (JSON escapes it itself).
    print(json.dumps(result.to_json()) if args.json
          else dataclasses.replace(result, bundle=shown(result.bundle)).message())
    return 0


def _receive(incoming: IncomingTransfer, offset: int) -> None:
    if offset != incoming.offset:
        incoming.close()
        raise StoreError(f"the device has {incoming.offset} bytes of this bundle staged, but the sender "
                         f"starts at {offset}; query again and resume from there")
    stdin = sys.stdin.buffer
    try:
        while not incoming.complete:
            chunk = stdin.read1(min(STDIN_CHUNK, incoming.offer.size - incoming.offset)) \
                if hasattr(stdin, "read1") else stdin.read(STDIN_CHUNK)
            if not chunk:
                raise StoreError(f"{incoming.offer.name}: transfer interrupted after {incoming.offset} of "
                                 f"{incoming.offer.size} bytes; flash again to resume")
            incoming.write(incoming.offset, chunk)
        if stdin.read(1):
            incoming.discard()
            raise StoreError(f"{incoming.offer.name}: cut off: the sender kept sending past its declared "
                             f"size of {incoming.offer.size} bytes; nothing was installed")
    finally:
        incoming.close()
