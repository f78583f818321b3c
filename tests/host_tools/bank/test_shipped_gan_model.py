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


def play_to_wav(bundle: Path, seconds: int, out: Path) -> np.ndarray:
    """`latent play --bundle B --seconds S --out F`, and the take read back (-1..1)."""
    assert main(["play", "--bundle", str(bundle), "--seconds", str(seconds), "--out", str(out)]) == 0
    with wave.open(str(out)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2") / 32768.0


def test_gan_bank_plays(tmp_path: Path) -> None:
    audio = play_to_wav(MODELS / "gan-tiny.bundle", 4, tmp_path / "gan.wav")
    assert len(audio) == 4 * 48000
    assert 0.05 < np.max(np.abs(audio)) < 0.99


# The default sound: models/gan-medium.bundle, compiled from the shipped generator models/gan-medium/.
MEDIUM_BUNDLE, MEDIUM_MODEL = MODELS / "gan-medium.bundle", MODELS / "gan-medium"


def _medium_recipe() -> dict:
    return tomllib.loads((MODELS / "gan-medium.toml").read_text())


def test_the_default_bank_is_the_issue_s_grid_from_the_shipped_generator() -> None:
    import json

    from device.app.play import SHIPPED_BUNDLE
    from host_tools.space.parsing import parse_pitches

    assert SHIPPED_BUNDLE == MEDIUM_BUNDLE
    recipe = _medium_recipe()["compile"]
    bank = load_segment_bank(MEDIUM_BUNDLE)
    try:
        assert [a.steps for a in bank.axes] == [9, 9] == [recipe["steps"]] * 2
        assert [a.name for a in bank.axes] == [n.split("=")[0] for n in recipe["axis_names"].split(",")]
        assert all((a.min, a.max) == tuple(recipe["range"]) for a in bank.axes)
        assert list(bank.pitches) == parse_pitches(recipe["pitches"])
        assert bank.pitches[0] <= 36 and bank.pitches[-1] >= 84
        assert max(np.diff(bank.pitches)) <= 3
        assert bank.segment_frames == round(recipe["seconds"] * bank.sample_rate)
        config = bank.bundle.manifest["config"]
        exported = json.loads((MEDIUM_MODEL / "generator.json").read_text())
        assert config["checkpoint"] == {"step": exported["step"], "sha256": exported["sha256"]}
        assert config["grid"]["components"] == recipe["pca_axes"]
    finally:
        bank.bundle.close()
    assert MEDIUM_BUNDLE.stat().st_size <= 100 * 10**6


def test_a_default_bank_segment_is_what_the_shipped_generator_makes() -> None:
    import torch

    from host_tools.bank.compile import level_segments
    from host_tools.gan.run_dir import generate_audio, load_generator

    recipe = _medium_recipe()["compile"]
    generator, cfg = load_generator(MEDIUM_MODEL)
    bank = load_segment_bank(MEDIUM_BUNDLE)
    try:
        latents = np.asarray(bank.bundle.manifest["config"]["grid"]["center_z"], dtype=np.float32)
        pitch = bank.pitches[len(bank.pitches) // 2]
        note = generate_audio(generator, cfg, torch.from_numpy(latents[None]), [pitch])[0]
        rate = bank.sample_rate
        first = round(recipe["offset"] * rate)
        want = level_segments(note[None, first:first + bank.segment_frames], rate)[0]
        got = bank.segment((4, 4), len(bank.pitches) // 2)  # the grid's centre is the centre latent
        np.testing.assert_allclose(got, want, atol=2.0 / 32767 * np.abs(want).max() + 1e-4)
    finally:
        bank.bundle.close()
