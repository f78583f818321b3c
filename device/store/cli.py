"""`latent models list|activate|rollback|remove|trust|log`: the model store by hand (app layer, CLI).

`list` and `log` only look: they open the store without writing (a missing store is reported,
never made). `activate`, `rollback` and `remove` cannot succeed on an empty store either, so they
too report a missing one; `trust` may come before the first install and creates the store.
Everything shown that came from a bundle or the store (names, kinds, paths, logged reasons) goes
through `printable`, so a hostile manifest cannot drive the terminal; `--json` is escaped by JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from device.cli_options import add_json, examples
from device.display import PATH_LIMIT, printable
from device.errors import InstrumentError, StoreError
from device.store.layout import StoreLayout, default_root

if TYPE_CHECKING:
    from device.store.store import InstalledBundle, ModelStore


def add_store_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=None, metavar="DIR",
                        help=f"model store directory (default: $LATENT_STORE or {default_root()})")


def open_store(args: argparse.Namespace, *, create: bool = True) -> ModelStore:
    """The store named by --store (or the default); `create=False` writes nothing to open it."""
    from device.store.store import ModelStore

    return ModelStore(args.store or default_root(), create=create)


def open_existing_store(args: argparse.Namespace) -> ModelStore:
    """The store, fully recovered, for a command that changes it but cannot start an empty one."""
    from device.store.store import ModelStore

    root = Path(args.store or default_root())
    if not StoreLayout(root).bundles.is_dir():
        # A read-only open of a missing store raises the error that says how one is made.
        ModelStore(root, create=False)
    # The writing open runs the full recovery (a damaged active bundle is switched away from
    # first), which activate, rollback and remove rely on.
    return ModelStore(root)


def shown(bundle: InstalledBundle) -> InstalledBundle:
    """A copy of `bundle` whose manifest-derived text is safe to print (for `label()` and tables)."""
    return dataclasses.replace(bundle, name=printable(bundle.name), kind=printable(bundle.kind),
                               created=printable(bundle.created),
                               problem=None if bundle.problem is None
                               else printable(bundle.problem, PATH_LIMIT))


def guarded(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run a store command so that every failure is one clean line, safe to print.

    An OS error (a store on a read-only or pseudo file system, no permission, a file where a
    directory belongs) becomes a StoreError naming the path; an instrument error whose text
    carries control characters (a bundle name quoted in it) keeps its type but is shown escaped.
    """
    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except InstrumentError as err:
            text = str(err)
            if printable(text, PATH_LIMIT) != text:
                err.args = (printable(text, PATH_LIMIT),)
            raise
        except OSError as bad:
            where = printable(bad.filename, PATH_LIMIT) if bad.filename else "the model store"
            raise StoreError(f"{where}: {bad.strerror or bad}; check the --store path and its "
                             "permissions") from None
    return run


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list, activate, roll back and remove installed models",
                            description="The device's model store by hand: what is installed, which "
                                        "bundle plays, and which signing keys are trusted.",
                            **examples("latent models list", "latent models rollback"))
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="show the bundles in the store",
                                 description="Show the bundles in the store: which is active, which "
                                             "previous, their versions, sizes and signers.",
                                 **examples("latent models list", "latent models list --json"))
    add_json(listing, "print the store as one JSON object on stdout instead of a table")
    listing.set_defaults(func=guarded(_list))

    activate = actions.add_parser("activate", help="make a stored bundle active (it goes on trial)",
                                  description="Make a stored bundle active; it goes on trial until the "
                                              "instrument has played it.",
                                  **examples("latent models activate pads@2"))
    activate.add_argument("ref", help="NAME, NAME@VERSION or sha256 (6+ leading hex digits)")
    activate.set_defaults(func=guarded(_activate))

    rollback = actions.add_parser("rollback", help="go back to the previous bundle",
                                  description="Make the previous bundle active again.",
                                  **examples("latent models rollback"))
    rollback.set_defaults(func=guarded(_rollback))

    remove = actions.add_parser("remove", help="delete a bundle that is not active",
                                description="Delete a stored bundle that is not the active one.",
                                **examples("latent models remove pads@1"))
    remove.add_argument("ref", help="NAME, NAME@VERSION or sha256 (6+ leading hex digits)")
    remove.set_defaults(func=guarded(_remove))

    trust = actions.add_parser("trust", help="accept bundles signed by this public key",
                               description="Accept bundles signed by this public key from now on "
                                           "(creates the store if there is none yet).",
                               **examples("latent models trust artist.pub"))
    trust.add_argument("public_key", help="a .pub file made by `latent keys new`")
    trust.set_defaults(func=guarded(_trust))

    log = actions.add_parser("log", help="show recorded failures (failed trials, broken bundles)",
                             description="Show recorded failures: bundles that failed their trial or "
                                         "were found broken, and what the store did about it.",
                             **examples("latent models log", "latent models log --json"))
    add_json(log, "print one JSON object per line (JSON lines) on stdout, nothing else")
    log.set_defaults(func=guarded(_log))

    for action in (listing, activate, rollback, remove, trust, log):
        add_store_argument(action)


def _list(args: argparse.Namespace) -> int:
    store = open_store(args, create=False)
    pointer = store.pointer
    rows: list[dict[str, Any]] = []
    bundles = store.bundles()
    for bundle in bundles if args.json else map(shown, bundles):
        state = ("active" + (" (on trial)" if store.on_trial else "")) if bundle.sha256 == pointer.active \
            else "previous" if bundle.sha256 == pointer.previous else ""
        rows.append({"state": state, "name": bundle.name, "version": bundle.version, "kind": bundle.kind,
                     "sample_rate": bundle.sample_rate, "size": bundle.size, "sha256": bundle.sha256,
                     "signed_by": bundle.signed_by, "created": bundle.created, "problem": bundle.problem})
    if args.json:
        print(json.dumps({"generation": pointer.generation, "bundles": rows}, indent=2))
        return 0
    if not rows:
        print(f"no bundles in {printable(store.layout.root, PATH_LIMIT)}; flash one with `latent flash`")
        return 0
    print(f"{'STATE':<19} {'NAME':<20} {'VER':>4} {'RATE':>6} {'SIZE':>10}  {'SHA256':<12}  SIGNED BY")
    for row in rows:
        print(f"{row['state']:<19} {row['name']:<20} {row['version']:>4} {row['sample_rate']:>6} "
              f"{row['size']:>10}  {row['sha256'][:12]}  {row['signed_by'] or 'unsigned'}"
              + (f"  DAMAGED: {row['problem']}" if row["problem"] else ""))
    return 0


def _activate(args: argparse.Namespace) -> int:
    bundle = shown(open_existing_store(args).activate(args.ref))
    print(f"active: {bundle.label()} (on trial until the instrument has played it)")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    bundle = shown(open_existing_store(args).rollback())
    print(f"rolled back; active: {bundle.label()}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    bundle = shown(open_existing_store(args).remove(args.ref))
    print(f"removed {bundle.label()}")
    return 0


def _trust(args: argparse.Namespace) -> int:
    kid = open_store(args).trust_key(args.public_key)
    print(f"trusting key {kid}")
    return 0


def _log(args: argparse.Namespace) -> int:
    entries = open_store(args, create=False).failures()
    for entry in entries:
        if args.json:
            print(json.dumps(entry, sort_keys=True))
        else:
            who = entry.get("name") or str(entry.get("sha256") or "?")[:12]
            reason, action = (printable(entry.get(key), PATH_LIMIT) for key in ("reason", "action"))
            print(f"{printable(entry.get('time'))}  {printable(who)}: {reason} -> {action}")
    if not entries and not args.json:
        print("no failures recorded")
    return 0
