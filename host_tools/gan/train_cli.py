"""`latent gan train` and `latent gan export`: train the pitch-conditioned GAN and ship its generator
(host app layer, CLI; torch imported inside func).

    latent gan train --data DIR --config tiny --out RUN            # tiny | small | full | FILE.toml
    latent gan train --data DIR --out RUN --resume [--steps 2000]  # continue, the run's own config
    latent gan train ... --set train.batch_size=8 --set audio.seconds=0.5
    latent gan export --run RUN --out models/NAME                  # the generator as safetensors
    torchrun --nproc_per_node=4 -m host_tools.gan.train_cli --data DIR --config full --out RUN

(`latent train gan` and `latent train export` are the old spellings, still accepted.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from device.cli_options import add_quiet, examples
from device.cli_options import listed as shown_if

DEFAULT_CONFIG = "medium"  # the harmonic-plus-noise recipe of the shipped model (host_tools/gan/README.md)


def register(actions: argparse._SubParsersAction, name: str = "train", listed: bool = True) -> None:
    """Add `train` to `latent gan`'s actions (or, unlisted, `gan` under the old `latent train`)."""
    gan = actions.add_parser(
        name,
        **shown_if("train the pitch-conditioned GAN on an NSynth-layout data set", listed),
        description="WGAN-GP + auxiliary pitch classifier on log-magnitude/instantaneous-frequency "
        "spectrograms (GANSynth-style). Writes RUN/config.json, RUN/checkpoints/, RUN/samples/ "
        "(audition WAVs, loss.png) and RUN/metrics.jsonl. Ctrl-C saves a checkpoint and stops; "
        "--resume continues exactly where it stopped. Multi-GPU: run this module under torchrun.",
        **examples("latent gan train --data data/gm --config tiny --out runs/tiny",
                   "latent gan train --data data/gm --out runs/tiny --resume --steps 2000",
                   "latent gan train --data my_wavs/ --config quick --out runs/mine "
                   "--set train.batch_size=8"),
    )
    gan.add_argument("--data", required=True,
                     help="training notes: an NSynth-layout directory (examples.json + audio/) or a "
                     "folder of WAVs (pitches from DIR/pitches.csv or estimated)")
    gan.add_argument("--config", help="quick, medium, tiny, small, full or a TOML/JSON file (default: "
                     "medium, the shipped model's; when resuming: the run's own config)")
    gan.add_argument("--out", required=True, help="run directory to create (or to continue with --resume)")
    gan.add_argument("--resume", action="store_true",
                     help="continue the run in --out from its newest checkpoint")
    gan.add_argument("--steps", type=int, help="train until this step (overrides train.steps)")
    gan.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                     help="override one config value, e.g. --set train.batch_size=8 (repeatable)")
    add_quiet(gan)
    gan.set_defaults(func=_train)


def register_export(actions: argparse._SubParsersAction, name: str = "export", listed: bool = True) -> None:
    """Add `export` to `latent gan`'s actions (or, unlisted, `export` under the old `latent train`)."""
    export = actions.add_parser(
        name,
        **shown_if("write a run's trained generator as a small model directory (safetensors) to ship",
                   listed),
        description="Write the run's moving-average generator (newest checkpoint or --step) as "
        "OUT/generator.safetensors with its config, data level and PCA directions: a directory every "
        "later tool takes as --run (latent space ..., latent bank compile, latent gan generate).",
        **examples("latent gan export --run runs/medium --out models/mine"),
    )
    export.add_argument("--run", required=True, help="training run directory")
    export.add_argument("--out", required=True, help="model directory to write (replaced if it is one)")
    export.add_argument("--step", type=int, help="export this checkpoint (default: the newest)")
    export.set_defaults(func=_export)


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
    if args.resume:
        if saved.is_file():
            return load_config(str(saved), overrides)
        raise ConfigError(f"--resume: {args.out} holds no run to continue (no config.json); "
                          "leave out --resume to start one")
    return load_config(DEFAULT_CONFIG, overrides)


def _export(args: argparse.Namespace) -> int:
    from host_tools.gan.export import export_model

    record = export_model(args.run, args.out, step=args.step)
    print(json.dumps({"model": args.out, **record}, indent=1))
    return 0


def _train(args: argparse.Namespace) -> int:
    from host_tools.gan.trainer import GanTrainer

    cfg = resolve_config(args)
    trainer = GanTrainer(args.data, cfg, args.out, resume=args.resume, progress=not args.quiet)
    summary = trainer.run()
    if trainer.dist.is_writer:
        print(json.dumps(summary))
        if summary["interrupted"]:
            print(f"stopped at step {summary['step']}; continue with: latent gan train --data {args.data} "
                  f"--out {args.out} --resume", file=sys.stderr)
    return 0


if __name__ == "__main__":  # torchrun -m host_tools.gan.train_cli ...
    from device.cli import main

    sys.exit(main(["gan", "train", *sys.argv[1:]]))
