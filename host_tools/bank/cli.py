"""`latent bank ACTION`: build segment banks on the host (app layer, CLI; plugged in by entry point).

Each action lives in its own module exposing `register(actions)`, listed in `ACTION_MODULES`;
a later action (e.g. `compile`, from a trained model) is one more module in that list. Action
modules keep heavy imports inside their run functions so `latent --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib

ACTION_MODULES = ("host_tools.bank.additive_cli", "host_tools.bank.compile_cli")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bank", help="build segment-bank bundles (additive timbre space, ...)",
                            description="Build segment-bank bundles that the instrument plays.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for module_name in ACTION_MODULES:
        importlib.import_module(module_name).register(actions)
