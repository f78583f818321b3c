"""The shipped GAN bank verifies, matches its recipe and plays through `latent play`."""

from __future__ import annotations

import tomllib
import wave
from pathlib import Path

import numpy as np

from device.bundle.reader import load_segment_bank
from device.cli import main

MODELS = Path(__file__).resolve().parents[3] / "models"


def test_gan_bank_matches_its_recipe() -> None:
    recipe = tomllib.loads((MODELS / "gan-tiny.toml").read_text())["compile"]
    bank = load_segment_bank(MODELS / "gan-tiny.bundle")
    assert [a.steps for a in bank.axes] == [recipe["steps"]] * len(recipe["pca_axes"])
    assert all((a.min, a.max) == tuple(recipe["range"]) for a in bank.axes)
    low, high = (int(p) for p in recipe["pitches"].split("-"))
    assert bank.pitches == tuple(range(low, high + 1))
    assert bank.codec == recipe["codec"]
    assert bank.segment_frames == round(recipe["seconds"] * bank.sample_rate)
    config = bank.bundle.manifest["config"]
    assert config["gan_config"] and config["checkpoint"] and config["grid"]  # full provenance
    assert config["window"] and config["codec"] == recipe["codec"]


def test_gan_bank_plays(tmp_path: Path) -> None:
    out = tmp_path / "gan.wav"
    bundle = str(MODELS / "gan-tiny.bundle")
    assert main(["play", "--bundle", bundle, "--seconds", "4", "--out", str(out)]) == 0
    with wave.open(str(out)) as w:
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2") / 32768.0
    assert len(audio) == 4 * 48000
    assert 0.05 < np.max(np.abs(audio)) < 0.99
