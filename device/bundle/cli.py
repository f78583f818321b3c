"""`latent bundle info|verify FILE`: look inside a bundle and check it (app layer, CLI)."""

from __future__ import annotations

import argparse
import json

from device.cli_options import add_json, examples


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bundle", help="inspect and verify bundle files",
                            description="Look inside a bundle file and check it completely.",
                            **examples("latent bundle verify models/gan-medium.bundle"))
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="print a bundle's manifest as JSON",
                              description="Print a bundle's manifest as JSON on stdout (its hashes are "
                                          "checked first).",
                              **examples("latent bundle info models/additive-timbre.bundle"))
    info.add_argument("file", help="bundle file")
    # The manifest is printed as JSON either way; --json is accepted so that every JSON command takes it.
    add_json(info, "print the manifest as JSON on stdout, nothing else (also the default)")
    info.set_defaults(func=_info)
    verify = actions.add_parser("verify", help="check a bundle completely (exit 1 with the reason)",
                                description="Check a bundle completely: manifest, every payload's sha256, "
                                            "levels (a bank) or a model probe (an rnn); exit 1 with the "
                                            "reason if anything is wrong.",
                                **examples("latent bundle verify models/gan-medium.bundle"))
    verify.add_argument("file", help="bundle file")
    verify.set_defaults(func=_verify)


def _info(args: argparse.Namespace) -> int:
    from device.bundle.reader import open_bundle

    # Hashes are checked too: info on a corrupt file should say so, not print stale claims.
    with open_bundle(args.file) as bundle:
        print(json.dumps(bundle.manifest, indent=2, sort_keys=True))
    return 0


def _verify(args: argparse.Namespace) -> int:
    from device.bundle.format import KIND_RNN
    from device.bundle.reader import open_bundle
    from device.bundle.rnn_format import describe, spec_from_manifest

    with open_bundle(args.file) as bundle:
        payload_bytes = sum(e["nbytes"] for e in bundle.manifest["payloads"].values())
        print(f"{args.file}: OK ({bundle.kind} {bundle.name!r} v{bundle.manifest['version']}, "
              f"{bundle.sample_rate} Hz, {len(bundle.arrays)} payloads, {payload_bytes} bytes, "
              "all sha256 match)")
        if bundle.kind == KIND_RNN:
            # The reader has run the model's probe by now; say what was checked and what it is.
            spec, _ = spec_from_manifest(bundle.manifest)
            print(f"  {describe(spec)}; onnxruntime opens it and a probe gives finite controls")
    return 0
