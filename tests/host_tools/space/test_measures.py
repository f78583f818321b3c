"""The space tools explain their figures: smoothness reports neighbour and random-pair log-mel distance
in dB (the estimator `latent eval` uses), with units and a one-line meaning; `latent space pca` says
what each printed figure is; the contact sheet has time and frequency axes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from device.cli import main
from host_tools.bank.build import build_additive_bundle
from host_tools.bank.recipe import parse_recipe
from host_tools.gan.evaluation import DISTANCE_HOP, log_mel_db, log_mel_distance
from host_tools.space.contact_sheet import contact_sheet_figure, frequency_ticks
from host_tools.space.measures import grid_smoothness

from .runs import make_micro_run

RATE = 16000


def _ramp_grid(steps: int) -> np.ndarray:
    """(steps, frames, mels) spectra that get louder by 1 dB a step: neighbours 1 dB apart."""
    base = np.random.default_rng(0).uniform(-60.0, -20.0, (10, 40))
    return np.stack([base + step for step in range(steps)])


def test_grid_smoothness_measures_neighbour_and_random_pairs_in_db() -> None:
    found = grid_smoothness(_ramp_grid(9), grid_dims=1, pairs=512)
    assert found["neighbour_db"] == pytest.approx(1.0)
    # Random distinct cells of 0..8 are |i - j| dB apart: the mean over distinct pairs is 10/3.
    assert found["random_pair_db"] == pytest.approx(10 / 3, rel=0.1)
    assert found["ratio"] == pytest.approx(found["neighbour_db"] / found["random_pair_db"])
    flat = grid_smoothness(np.stack([_ramp_grid(1)[0]] * 4), grid_dims=1)
    assert flat["neighbour_db"] == flat["random_pair_db"] == 0.0


def test_smoothness_reports_both_distances_with_units_and_meaning(tmp_path: Path, capsys) -> None:
    recipe = {"name": "m", "pitches": {"low": 48, "high": 72, "step": 24},
              "brightness": {"steps": 3}, "odd_even": {"steps": 2}}
    bundle = build_additive_bundle(parse_recipe(recipe), tmp_path / "m.bundle").path
    assert main(["space", "smoothness", "--bundle", str(bundle), "--pairs", "64"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["grid"] == [3, 2] and report["pitches"] == [48, 72]
    assert report["neighbour_db"] > 0 and report["random_pair_db"] > 0
    assert report["ratio"] == pytest.approx(report["neighbour_db"] / report["random_pair_db"], abs=1e-3)
    assert {"neighbour_db", "random_pair_db", "ratio"} <= report["units"].keys()
    assert all(text.startswith("dB") for key, text in report["units"].items() if key.endswith("_db"))
    assert "RMS" in report["metric"] and "log_mel_distance" in report["metric"]
    meaning = report["meaning"]
    assert "\n" not in meaning and f"{report['random_pair_db']:.1f} dB" in meaning
    assert set(report["per_pitch"]) == {"48", "72"}


def test_codec_error_uses_the_same_distance(tmp_path: Path, capsys) -> None:
    recipe = {"name": "c", "pitches": {"low": 60, "high": 60, "step": 12},
              "brightness": {"steps": 2}, "odd_even": {"steps": 2}}
    exact = build_additive_bundle(parse_recipe(recipe), tmp_path / "i.bundle").path
    coded = build_additive_bundle(parse_recipe({**recipe, "codec": "mulaw8"}), tmp_path / "m.bundle").path
    assert main(["space", "compare", "--bundle", str(exact), "--reference", str(exact), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["log_mel_error_db"] == 0.0
    assert main(["space", "compare", "--bundle", str(coded), "--reference", str(exact), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "log_mel_distance" in report["metric"] and report["log_mel_error_db"] > 0.0


def test_pca_output_says_what_each_figure_is(tmp_path: Path, capsys) -> None:
    run = make_micro_run(tmp_path / "run")
    assert main(["space", "pca", "--run", str(run), "--samples", "256", "--components", "3",
                 "--batch", "128"]) == 0
    report = json.loads(capsys.readouterr().out)
    figures = {"components", "std", "explained_ratio", "response_diagonal", "selectivity"}
    assert figures <= report.keys() and figures <= report["meaning"].keys()
    assert len(report["response_diagonal"]) == len(report["selectivity"]) == 3
    assert all(0.0 <= s <= 1.0 for s in report["selectivity"])
    assert "1/K" in report["meaning"]["selectivity"] and "1.0" in report["meaning"]["response_diagonal"]


def test_the_contact_sheet_has_time_and_frequency_axes() -> None:
    t = np.arange(RATE // 2) / RATE
    notes = np.stack([np.sin(2 * np.pi * 440 * t) * np.exp(-k * t) for k in range(4)])
    spectra = log_mel_db(notes, RATE).reshape(2, 2, -1, 40)
    positions, labels = frequency_ticks(RATE, 40)
    assert labels == ["0.2", "0.5", "1", "2", "4"] and positions == sorted(positions)
    assert positions[0] > 0 and positions[-1] < 40
    fig = contact_sheet_figure(spectra, ["a", "b"], ["c", "d"], "title", RATE, DISTANCE_HOP)
    try:
        texts = [t.get_text() for t in fig.texts]
        assert "time (s)" in texts and any(t.startswith("frequency (kHz") for t in texts)
        corner = fig.axes[2]  # bottom-left: the one whose tick labels show
        assert [tick.get_text() for tick in corner.get_yticklabels()] == labels
        assert corner.get_xlim() == pytest.approx((0.0, spectra.shape[2] * DISTANCE_HOP / RATE))
        assert any(tick.get_text() for tick in corner.get_xticklabels())
    finally:
        from matplotlib import pyplot as plt

        plt.close(fig)
    # The sheet's estimator is the distance's: a cell against itself is 0 dB away.
    assert log_mel_distance(spectra[0, 0], spectra[0, 0]) == 0.0
