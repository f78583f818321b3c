"""The shipped models/additive-timbre.bundle verifies and is what its recipe builds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from device.bundle.codecs import decode
from device.bundle.reader import load_segment_bank, open_bundle
from host_tools.bank.additive import bank_axes, render_bank
from host_tools.bank.recipe import load_recipe

MODELS = Path(__file__).resolve().parents[3] / "models"
BUNDLE, RECIPE = MODELS / "additive-timbre.bundle", MODELS / "additive-timbre.toml"


def test_shipped_bundle_verifies_and_stays_a_few_megabytes() -> None:
    with open_bundle(BUNDLE, verify=True) as bundle:
        assert bundle.kind == "segment-bank"
    assert BUNDLE.stat().st_size < 6 * 2**20


def test_shipped_bundle_matches_its_recipe() -> None:
    recipe = load_recipe(RECIPE)
    bank = load_segment_bank(BUNDLE)
    assert bank.bundle.manifest["config"] == recipe.to_config()
    assert bank.bundle.name == recipe.name
    assert bank.axes == bank_axes(recipe)
    assert bank.pitches == recipe.pitches.notes()
    assert (bank.sample_rate, bank.codec, bank.segment_frames) == (
        recipe.sample_rate, recipe.codec, recipe.segment_frames)


def test_shipped_audio_is_what_the_recipe_renders() -> None:
    # Compared sample by sample within one code step rather than byte for byte: another
    # machine's sin/BLAS may round the last float bit differently and move a code by one.
    recipe = load_recipe(RECIPE)
    bank = load_segment_bank(BUNDLE)
    rendered = render_bank(recipe).segments
    shipped = decode(np.asarray(bank.segments), bank.codec) * bank.scales[..., None]
    step = bank.scales[..., None] * {"int16": 1 / 32767.0, "mulaw8": 0.045}[bank.codec]
    assert np.all(np.abs(shipped - rendered) <= step * 1.01)
