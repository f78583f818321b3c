"""`latent models list|activate|rollback|remove|trust|log`: the model store by hand (app layer, CLI)."""

from __future__ import annotations

import argparse
import json

from device.store.layout import default_root


def add_store_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=None, metavar="DIR",
                        help=f"model store directory (default: $LATENT_STORE or {default_root()})")


def open_store(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from device.store.store import ModelStore

    return ModelStore(args.store or default_root())


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list, activate, roll back and remove installed models")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="show the bundles in the store")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(func=_list)

    activate = actions.add_parser("activate", help="make a stored bundle active (it goes on trial)")
    activate.add_argument("ref", help="NAME, NAME@VERSION or sha256 (6+ leading hex digits)")
    activate.set_defaults(func=_activate)

    rollback = actions.add_parser("rollback", help="go back to the previous bundle")
    rollback.set_defaults(func=_rollback)

    remove = actions.add_parser("remove", help="delete a bundle that is not active")
    remove.add_argument("ref", help="NAME, NAME@VERSION or sha256 (6+ leading hex digits)")
    remove.set_defaults(func=_remove)

    trust = actions.add_parser("trust", help="accept bundles signed by this public key")
    trust.add_argument("public_key", help="a .pub file made by `latent keys new`")
    trust.set_defaults(func=_trust)

    log = actions.add_parser("log", help="show recorded failures (failed trials, broken bundles)")
    log.add_argument("--json", action="store_true", help="print JSON lines")
    log.set_defaults(func=_log)

    for action in (listing, activate, rollback, remove, trust, log):
        add_store_argument(action)


def _list(args: argparse.Namespace) -> int:
    store = open_store(args)
    pointer = store.pointer
    rows = []
    for bundle in store.bundles():
        state = ("active" + (" (on trial)" if store.on_trial else "")) if bundle.sha256 == pointer.active \
            else "previous" if bundle.sha256 == pointer.previous else ""
        rows.append({"state": state, "name": bundle.name, "version": bundle.version, "kind": bundle.kind,
                     "sample_rate": bundle.sample_rate, "size": bundle.size, "sha256": bundle.sha256,
                     "signed_by": bundle.signed_by, "created": bundle.created, "problem": bundle.problem})
    if args.json:
        print(json.dumps({"generation": pointer.generation, "bundles": rows}, indent=2))
        return 0
    if not rows:
        print(f"no bundles in {store.layout.root}; flash one with `latent flash`")
        return 0
    print(f"{'STATE':<19} {'NAME':<20} {'VER':>4} {'RATE':>6} {'SIZE':>10}  {'SHA256':<12}  SIGNED BY")
    for row in rows:
        print(f"{row['state']:<19} {row['name']:<20} {row['version']:>4} {row['sample_rate']:>6} "
              f"{row['size']:>10}  {row['sha256'][:12]}  {row['signed_by'] or 'unsigned'}"
              + (f"  DAMAGED: {row['problem']}" if row["problem"] else ""))
    return 0


def _activate(args: argparse.Namespace) -> int:
    bundle = open_store(args).activate(args.ref)
    print(f"active: {bundle.label()} (on trial until the instrument has played it)")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    bundle = open_store(args).rollback()
    print(f"rolled back; active: {bundle.label()}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    bundle = open_store(args).remove(args.ref)
    print(f"removed {bundle.label()}")
    return 0


def _trust(args: argparse.Namespace) -> int:
    kid = open_store(args).trust_key(args.public_key)
    print(f"trusting key {kid}")
    return 0


def _log(args: argparse.Namespace) -> int:
    entries = open_store(args).failures()
    for entry in entries:
        if args.json:
            print(json.dumps(entry, sort_keys=True))
        else:
            print(f"{entry.get('time')}  {entry.get('name') or (entry.get('sha256') or '?')[:12]}: "
                  f"{entry.get('reason')} -> {entry.get('action')}")
    if not entries and not args.json:
        print("no failures recorded")
    return 0
