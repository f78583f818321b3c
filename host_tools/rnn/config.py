"""An RNN training config: model size and training settings, read strictly from TOML (host tools).

The named configs live in host_tools/rnn/configs/NAME.toml; a path to a .toml file works too. Every
key is read through device.config_file (unknown keys refused, ranges named), and the resolved config
is saved with every run (RNNRUN/config.json) and inside every exported bundle.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from device.config_file import TableReader, load_table, top_table
from device.errors import ConfigError

CONFIG_DIR = Path(__file__).parent / "configs"


@dataclass(frozen=True)
class ModelSettings:
    input_width: int
    hidden: int
    layers: int


@dataclass(frozen=True)
class TrainSettings:
    lr: float
    batch: int
    sequence: int
    steps: int
    log_every: int
    checkpoint_every: int
    seed: int


@dataclass(frozen=True)
class RnnConfig:
    model: ModelSettings
    train: TrainSettings

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read(top: TableReader) -> RnnConfig:
    model = top.table("model", required=True)
    train = top.table("train", required=True)
    config = RnnConfig(
        ModelSettings(input_width=model.integer("input_width", lo=1, hi=1024),
                      hidden=model.integer("hidden", lo=1, hi=1024),
                      layers=model.integer("layers", lo=1, hi=4)),
        TrainSettings(lr=train.number("lr", lo=0.0, hi=1.0, lo_open=True),
                      batch=train.integer("batch", lo=1, hi=4096),
                      sequence=train.integer("sequence", lo=2, hi=100_000),
                      steps=train.integer("steps", lo=1, hi=10_000_000),
                      log_every=train.integer("log_every", lo=1),
                      checkpoint_every=train.integer("checkpoint_every", lo=1),
                      seed=train.integer("seed", lo=0)))
    model.finish()
    train.finish()
    top.finish()
    return config


def config_names() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.toml"))


def load_config(name_or_path: str | os.PathLike[str]) -> RnnConfig:
    """A named config (tiny, small) or a TOML file."""
    text = str(name_or_path)
    path = Path(text) if text.endswith(".toml") else CONFIG_DIR / f"{text}.toml"
    if not path.is_file():
        raise ConfigError(f"--config {text!r} is neither a named config ({', '.join(config_names())}) "
                          "nor a .toml file")
    return _read(load_table(path, what="an RNN config"))


def config_from_dict(data: Any, source: str) -> RnnConfig:
    """A config saved by a run (config.json's content), checked as strictly as a file."""
    return _read(top_table(data, source))
