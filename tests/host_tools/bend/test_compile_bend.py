"""`latent bank compile --bend`: the bend amount becomes the bank's last axis; the bank round-trips
through the device reader with the recipe in its provenance, its amount-0 column is the unbent bank,
and the device's granular engine plays it across the bend axis."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from device.bundle.reader import load_segment_bank
from device.cli import main
from device.engine.granular import GranularEngine
from host_tools.bank.compile import compile_bank, plan_compile

from .runs import write_recipe

RECIPE = """[bend]
layer = "first"
transform = "invert"
cluster = 1
amount = [0.0, 1.0]
axis_name = "flip"
axis_description = "towards 1 the cluster's channels are negated"
"""


def test_compile_with_a_bend_axis_round_trips_and_plays(clustered_run: Path, tmp_path: Path, capsys) -> None:
    recipe = write_recipe(tmp_path / "flip.toml", RECIPE)
    out = tmp_path / "bent.bundle"
    assert main(["bank", "compile", "--run", str(clustered_run), "--pca-axes", "0", "--steps", "3",
                 "--pitches", "60,62", "--seconds", "0.1", "--offset", "0.05", "--bend", str(recipe),
                 "--out", str(out), "--quiet", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["segments"] == 3 * 3 * 2 and all(check["rms"] > 0 for check in report["engine_check"])
    bank = load_segment_bank(out)
    try:
        assert [(a.name, a.min, a.max, a.steps) for a in bank.axes] == [("pc0", -2.0, 2.0, 3),
                                                                          ("flip", 0.0, 1.0, 3)]
        assert "negated" in bank.axes[1].description and "layer first" in bank.axes[1].description
        manifest = bank.bundle.manifest
        assert manifest["provenance"]["bend_recipe"]["transform"] == "invert"
        bend = manifest["config"]["bend"]
        assert bend["recipe"]["cluster"] == 1 and bend["amounts"] == [0.0, 0.5, 1.0] and bend["axis"] == 1
        clusters = json.loads((clustered_run / "bend" / "clusters-first.json").read_text())
        assert bend["channels"] == clusters["clusters"][1]["channels"]
        # The amount-0 column is the generator as trained; the bent end differs.
        plain = compile_bank(plan_compile(clustered_run, out=tmp_path / "plain.bundle", pitches=[60, 62],
                                          pca_axes="0", steps=3, seconds=0.1, offset=0.05), progress=False)
        unbent = load_segment_bank(plain.path)
        try:
            for cell in range(3):
                for pitch in range(2):
                    np.testing.assert_array_equal(bank.segment((cell, 0), pitch),
                                                  unbent.segment((cell,), pitch))
            assert not np.array_equal(bank.segment((1, 2), 0), bank.segment((1, 0), 0))
        finally:
            unbent.bundle.close()
        engine = GranularEngine(bank, sample_rate=48000)
        engine.set_pitch(61.0)
        engine.trigger()
        for flip in (0.0, 0.5, 1.0):
            engine.set_point((0.5, flip))
            blocks = [engine.render(256) for _ in range(8)]
            audio = np.concatenate(blocks)
            assert np.all(np.isfinite(audio)) and float(np.sqrt(np.mean(audio**2))) > 1e-4
    finally:
        bank.bundle.close()
