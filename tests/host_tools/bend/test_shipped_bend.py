"""The shipped bent bank verifies, carries its recipe (the file beside it) in its provenance, has the
bend amount as its second axis, and plays across that axis."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from device.bundle.reader import load_segment_bank
from device.engine.granular import GranularEngine
from host_tools.bend.recipe import load_bend

MODELS = Path(__file__).resolve().parents[3] / "models"
BUNDLE, RECIPE = MODELS / "bent-medium-inside-out.bundle", MODELS / "bent-medium-inside-out.toml"


def test_shipped_bent_bank_matches_its_recipe_and_plays() -> None:
    recipe = load_bend(RECIPE)
    bank = load_segment_bank(BUNDLE)
    try:
        assert [a.name for a in bank.axes] == ["brightness", recipe.axis_name]
        assert (bank.axes[1].min, bank.axes[1].max) == recipe.amount and bank.axes[1].steps == 5
        assert bank.pitches == tuple(range(36, 85, 6)) and bank.codec == "int16"
        manifest = bank.bundle.manifest
        assert manifest["provenance"]["bend_recipe"] == recipe.to_config()
        assert manifest["config"]["bend"]["channels"] == list(range(64))
        assert BUNDLE.stat().st_size < 5 * 2**20
        engine = GranularEngine(bank, sample_rate=48000)
        engine.set_pitch(60.0)
        engine.trigger()
        for amount in (0.0, 0.5, 1.0):
            engine.set_point((0.5, amount))
            audio = np.concatenate([engine.render(512) for _ in range(20)])
            assert np.all(np.isfinite(audio)) and float(np.sqrt(np.mean(audio**2))) > 1e-3
            assert float(np.max(np.abs(audio))) <= 1.0
    finally:
        bank.bundle.close()
