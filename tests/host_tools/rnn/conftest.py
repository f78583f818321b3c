"""Fixtures for the RNN compiler's tests: a micro harmonic-plus-noise GAN run with fitted directions
(seeded random weights: the tools only need a generator), its dataset, and a tiny RNN trained on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from host_tools.gan.checkpoint import save_checkpoint
from host_tools.gan.networks import build_generator
from host_tools.gan.run_dir import RunLayout, load_generator
from host_tools.rnn.config import load_config
from host_tools.rnn.dataset import build_dataset, plan_dataset
from host_tools.rnn.train import TrainRequest, train
from host_tools.space.directions import fit_directions, save_directions

from ..gan.micro import micro_ddsp_config

PITCHES = [60, 62]
STEPS = 3
TRAIN_STEPS = 20


def make_ddsp_run(root: Path) -> Path:
    torch.set_num_threads(1)
    cfg = micro_ddsp_config(audio__seconds=0.256)  # 4096 samples: a whole number of 4 ms frames
    layout = RunLayout(root)
    root.mkdir(parents=True, exist_ok=True)
    layout.config.write_text(json.dumps(cfg.to_dict()))
    torch.manual_seed(0)
    weights = build_generator(cfg).state_dict()
    save_checkpoint(layout.checkpoints, 1, cfg, {"generator": weights, "generator_ema": weights}, {}, keep=1)
    generator, cfg = load_generator(root)
    save_directions(root, fit_directions(generator, cfg, samples=256, components=2, batch=128), {})
    return root


@pytest.fixture(scope="session")
def ddsp_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ddsp_run(tmp_path_factory.mktemp("rnn") / "gan")


@pytest.fixture(scope="session")
def dataset(ddsp_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rnn") / "data"
    build_dataset(plan_dataset(ddsp_run, out=out, pitches=PITCHES, pca_axes="0,1", steps=STEPS),
                  progress=False)
    return out


def train_tiny(data: Path, out: Path, steps: int, resume: bool = False) -> dict:
    return train(TrainRequest(data=data, config=load_config("tiny"), config_name="tiny", out=out,
                              steps=steps, resume=resume, progress=False))


@pytest.fixture(scope="session")
def tiny_run(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rnn") / "run"
    train_tiny(dataset, out, TRAIN_STEPS)
    return out
