"""The shipped RNN bundle verifies, matches its recipe, stays small and plays through `latent play`."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np

from device.bundle.reader import open_bundle
from device.bundle.rnn_format import rnn_model
from device.pitch_syntax import parse_pitches

from ..bank.test_shipped_gan_model import play_to_wav

MODELS = Path(__file__).resolve().parents[3] / "models"


def test_rnn_bundle_matches_its_recipe() -> None:
    recipe = tomllib.loads((MODELS / "rnn-medium.toml").read_text())
    with open_bundle(MODELS / "rnn-medium.bundle") as bundle:
        spec, model = rnn_model(bundle)
        config, provenance = bundle.manifest["config"], bundle.manifest["provenance"]
        version = bundle.manifest["version"]
    pitches = parse_pitches(recipe["dataset"]["pitches"])
    assert (spec.pitch_lo, spec.pitch_hi) == (min(pitches), max(pitches))
    assert [a.name for a in spec.axes] == recipe["export"]["axis_names"].split(",")
    assert all((a.lo, a.hi) == tuple(recipe["dataset"]["range"]) for a in spec.axes)
    assert provenance["surface"]["components"] == recipe["dataset"]["pca_axes"]
    assert provenance["gan"]["run"].endswith(recipe["dataset"]["run"])
    assert config["config_name"] == recipe["train"]["config"] and config["step"] > 0
    assert spec.quantization == "none" and len(model) < 4 * 2**20  # a few MB at most
    assert version == recipe["export"]["version"] and spec.outputs == "raw-head"
    assert f"--version {version}" in (MODELS / "rnn-medium.toml").read_text()


def test_rnn_bundle_plays(tmp_path: Path) -> None:
    audio = play_to_wav(MODELS / "rnn-medium.bundle", 3, tmp_path / "rnn.wav")
    assert len(audio) == 3 * 48000
    assert 0.05 < np.max(np.abs(audio)) < 0.99
