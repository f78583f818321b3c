"""`latent rnn eval`: distances at grid points and held-out centres, the bank's cross-fade baseline,
pitch accuracy and continuous play, on the micro run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from device.errors import ConfigError
from host_tools.bank.compile import compile_bank, plan_compile
from host_tools.rnn.evaluate import evaluate

from .conftest import PITCHES, STEPS


@pytest.fixture(scope="module")
def bank(ddsp_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bank") / "bank.bundle"
    compile_bank(plan_compile(ddsp_run, out=out, pitches=PITCHES, pca_axes=[0, 1], steps=STEPS,
                              seconds=0.256), progress=False)  # the whole note, as the dataset levels it
    return out


def test_eval_reports_distances_against_the_bank_baseline(tiny_run: Path, dataset: Path, bank: Path) -> None:
    report = evaluate(tiny_run, dataset, bank=bank, pitches=PITCHES, play_seconds=3.0)
    grid, held = report["log_mel_db"]["grid"], report["log_mel_db"]["heldout"]
    assert grid["notes"] == STEPS * STEPS * len(PITCHES) and held["notes"] == (STEPS - 1) ** 2 * len(PITCHES)
    # At grid points the bank holds the GAN's own (levelled) audio: only its int16 codec differs.
    assert grid["bank_crossfade"] < 0.1
    assert held["bank_crossfade"] > grid["bank_crossfade"] and grid["rnn"] > 0.0
    assert report["window_seconds"] == pytest.approx([0.0, 0.256])
    assert 0.0 <= report["pitch_accuracy"]["rnn"] <= 1.0
    for path in ("held", "wander"):
        play = report["continuous_play"][path]
        assert len(play["level_dbfs_per_second"]) == 3 and play["finite"] and np.isfinite(play["drift_db"])


def test_eval_refuses_pitches_outside_the_dataset(tiny_run: Path, dataset: Path) -> None:
    with pytest.raises(ConfigError, match="--pitches: 72 is not in the dataset"):
        evaluate(tiny_run, dataset, pitches=[72])
