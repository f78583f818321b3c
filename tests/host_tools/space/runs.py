"""A micro GAN run directory for the latent-space tests: the GAN tests' micro config, a generator with
seeded random weights saved as the run's one checkpoint (no training: the tools only need weights)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from host_tools.gan.checkpoint import save_checkpoint
from host_tools.gan.networks import Generator
from host_tools.gan.run_dir import RunLayout, load_generator
from host_tools.space.directions import fit_directions, save_directions

from ..gan.micro import micro_config


def make_micro_run(root: Path, seed: int = 0) -> Path:
    cfg = micro_config()
    layout = RunLayout(root)
    root.mkdir(parents=True, exist_ok=True)
    layout.config.write_text(json.dumps(cfg.to_dict()))
    torch.manual_seed(seed)
    generator = Generator(cfg)
    weights = generator.state_dict()
    save_checkpoint(layout.checkpoints, 1, cfg, {"generator": weights, "generator_ema": weights}, {}, keep=1)
    return root


def make_pca_run(root: Path, components: int) -> Path:
    """A micro run with `components` fitted directions stored in RUN/space/."""
    run = make_micro_run(root)
    generator, cfg = load_generator(run)
    save_directions(run, fit_directions(generator, cfg, samples=512, components=components, batch=128), {})
    return run
