"""A micro harmonic-plus-noise (`ddsp`) GAN run for the bend tests: the GAN tests' micro ddsp config, a
generator and critic with seeded random weights as the run's one checkpoint, and fitted PCA directions."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from host_tools.gan.checkpoint import save_checkpoint
from host_tools.gan.networks import build_critic, build_generator
from host_tools.gan.run_dir import RunLayout, load_generator
from host_tools.space.directions import fit_directions, save_directions

from ..gan.micro import micro_ddsp_config


def make_ddsp_run(root: Path, seed: int = 0, components: int = 3) -> Path:
    cfg = micro_ddsp_config()
    layout = RunLayout(root)
    root.mkdir(parents=True, exist_ok=True)
    layout.config.write_text(json.dumps(cfg.to_dict()))
    torch.manual_seed(seed)
    weights = build_generator(cfg).state_dict()
    tensors = {"generator": weights, "generator_ema": weights, "critic": build_critic(cfg).state_dict()}
    save_checkpoint(layout.checkpoints, 1, cfg, tensors, {}, keep=1)
    generator, cfg = load_generator(root)
    save_directions(root, fit_directions(generator, cfg, samples=256, components=components, batch=128), {})
    return root


def write_recipe(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
