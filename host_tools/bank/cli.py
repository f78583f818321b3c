"""`latent bank ACTION`: build segment banks on the host (app layer, CLI; plugged in by entry point).

Each action lives in its own module exposing `register(actions)`, listed in `ACTION_MODULES`;
a later action (e.g. `compile`, from a trained model) is one more module in that list. Action
modules keep heavy imports inside their run functions so `latent --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib

from device.cli_options import examples

ACTION_MODULES = ("host_tools.bank.additive_cli", "host_tools.bank.compile_cli")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bank", help="build segment-bank bundles (additive timbre space, ...)",
                            description="Build segment-bank bundles that the instrument plays.",
                            **examples("latent bank compile --run models/gan-medium --pca-axes 0,1 "
                                       "--pitches 36-84:6 --out models/mine.bundle",
                                       "latent bank additive --recipe models/additive-timbre.toml "
                                       "--out models/my.bundle"))
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for module_name in ACTION_MODULES:
        importlib.import_module(module_name).register(actions)
