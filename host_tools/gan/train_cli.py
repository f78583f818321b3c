"""`latent train gan`: train the pitch-conditioned GAN (host app layer, CLI; torch imported inside func).

    latent train gan --data DIR --config tiny --out RUN            # tiny | small | full | FILE.toml
    latent train gan --out RUN --resume [--steps 2000]             # continue, the run's own config
    latent train gan ... --set train.batch_size=8 --set audio.seconds=0.5
    torchrun --nproc_per_node=4 -m host_tools.gan.train_cli --data DIR --config full --out RUN
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("train", help="train generative models (gan)")
    models = parser.add_subparsers(dest="model", metavar="MODEL", required=True)
    gan = models.add_parser(
        "gan",
        help="train the pitch-conditioned GAN on an NSynth-layout data set",
        description="WGAN-GP + auxiliary pitch classifier on log-magnitude/instantaneous-frequency "
        "spectrograms (GANSynth-style). Writes RUN/config.json, RUN/checkpoints/, RUN/samples/ "
        "(audition WAVs, loss.png) and RUN/metrics.jsonl. Ctrl-C saves a checkpoint and stops; "
        "--resume continues exactly where it stopped. Multi-GPU: run this module under torchrun.",
    )
    gan.add_argument("--data", required=True, help="data set directory (examples.json + audio/)")
    gan.add_argument("--config", help="tiny, small, full or a TOML/JSON file (default when resuming: "
                     "the run's own config)")
    gan.add_argument("--out", required=True, help="run directory to create (or to continue with --resume)")
    gan.add_argument("--resume", action="store_true",
                     help="continue the run in --out from its newest checkpoint")
    gan.add_argument("--steps", type=int, help="train until this step (overrides train.steps)")
    gan.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                     help="override one config value, e.g. --set train.batch_size=8 (repeatable)")
    gan.add_argument("--quiet", action="store_true", help="no progress bar")
    gan.set_defaults(func=_train)


def resolve_config(args: argparse.Namespace) -> dict:
    from device.errors import ConfigError
    from host_tools.gan.config import load_config, parse_override
    from host_tools.gan.run_dir import RunLayout

    overrides = dict(parse_override(text) for text in args.set)
    if args.steps is not None:
        overrides["train.steps"] = args.steps
    if args.config:
        return load_config(args.config, overrides)
    saved = RunLayout(Path(args.out)).config
    if args.resume and saved.is_file():
        return load_config(str(saved), overrides)
    raise ConfigError("say which config to train with: --config tiny|small|full|FILE "
                      "(only --resume of an existing run may leave it out)")


def _train(args: argparse.Namespace) -> int:
    from host_tools.gan.trainer import GanTrainer

    cfg = resolve_config(args)
    trainer = GanTrainer(args.data, cfg, args.out, resume=args.resume, progress=not args.quiet)
    summary = trainer.run()
    if trainer.dist.is_writer:
        print(json.dumps(summary))
        if summary["interrupted"]:
            print(f"stopped at step {summary['step']}; continue with: latent train gan --data {args.data} "
                  f"--out {args.out} --resume", file=sys.stderr)
    return 0


if __name__ == "__main__":  # torchrun -m host_tools.gan.train_cli ...
    from device.cli import main

    sys.exit(main(["train", "gan", *sys.argv[1:]]))
