"""`latent gan train|generate|eval|export`: the GAN's commands under one name (host app layer, CLI;
plugged in by entry point).

    latent gan train --data DIR --config tiny --out RUN       train (host_tools/gan/train_cli.py)
    latent gan generate --run RUN --pitch C4 --out note.wav   one note to listen to (generate_cli.py)
    latent gan eval --run RUN                                 quality figures as JSON (eval_cli.py)
    latent gan export --run RUN --out models/NAME             the generator to ship (train_cli.py)

The old spellings `latent train gan`, `latent train export`, `latent generate` and `latent eval`
stay accepted through the `latent.command_aliases` entry points (the `register_old_*` functions
here): the same parsers, not listed in `latent --help`.
"""

from __future__ import annotations

import argparse

from device.cli_options import examples
from host_tools.gan import eval_cli, generate_cli, train_cli


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "gan", help="train a pitch-conditioned GAN, generate notes from it, evaluate and export it",
        description="Train the pitch-conditioned GAN, listen to it, measure it and export its generator "
                    "for `latent space` and `latent bank compile`.",
        **examples("latent gan train --data data/gm --config tiny --out runs/tiny",
                   "latent gan generate --run models/gan-medium --pitch C4 --out note.wav"))
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    train_cli.register(actions)
    generate_cli.register(actions)
    eval_cli.register(actions)
    train_cli.register_export(actions)


def register_old_train(sub: argparse._SubParsersAction) -> None:
    """`latent train gan|export`, the old spelling of `latent gan train|export` (not listed in help)."""
    parser = sub.add_parser(
        "train", description="Old spelling of `latent gan train` and `latent gan export`.",
        **examples("latent gan train --data data/gm --config tiny --out runs/tiny"))
    models = parser.add_subparsers(dest="model", metavar="MODEL", required=True)
    train_cli.register(models, name="gan", listed=False)
    train_cli.register_export(models, name="export", listed=False)


def register_old_generate(sub: argparse._SubParsersAction) -> None:
    """`latent generate`, the old spelling of `latent gan generate` (not listed in help)."""
    generate_cli.register(sub, listed=False)


def register_old_eval(sub: argparse._SubParsersAction) -> None:
    """`latent eval`, the old spelling of `latent gan eval` (not listed in help)."""
    eval_cli.register(sub, listed=False)
