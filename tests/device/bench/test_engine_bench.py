"""`latent bench engine`: the measuring function and the JSON report (no timing is asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from device.bench.engine_bench import (
    BLOCKS,
    GRAINS,
    MODES,
    REALTIME_PRIORITY,
    bench_pitch,
    bench_point,
    measure_engine,
)
from device.bundle.reader import SegmentBank, load_segment_bank
from device.cli import main
from device.engine.kernel import corner_weights
from device.engine.state import MAX_CORNERS, grid_strides


@pytest.fixture
def bank(bank_path: Path) -> SegmentBank:
    return load_segment_bank(bank_path)


def test_the_bench_point_weighs_every_neighbour() -> None:
    for steps in ((5,), (5, 5), (2, 3, 4), (2, 2, 2, 2), (9, 17)):
        rows = np.zeros(MAX_CORNERS, dtype=np.int64)
        weights = np.zeros(MAX_CORNERS, dtype=np.float64)
        count = corner_weights(np.array(bench_point(steps)), np.array(steps, dtype=np.int64),
                               np.array(grid_strides(steps, 1), dtype=np.int64), rows, weights)
        assert np.all(weights[:count] > 0.01), steps


def test_the_bench_pitch_lies_between_bank_pitches() -> None:
    assert bench_pitch((36, 42, 48)) not in (36, 42, 48)
    assert 36 < bench_pitch((36, 42, 48)) < 48
    assert bench_pitch((60,)) != 60


@pytest.mark.parametrize("mode", MODES)
def test_measure_engine_reaches_the_target_grain_count(bank: SegmentBank, mode: str) -> None:
    result = measure_engine(bank, block=64, grains=8, mode=mode, seconds=0.3)
    assert result["grains_mean"] == pytest.approx(8, rel=0.05)
    assert result["dropped_grains"] == 0
    assert result["blocks"] == round(0.3 * 48000 / 64)
    assert result["load"] > 0
    assert 0 < result["mean_us"] <= result["worst_us"]
    assert result["worst_fraction"] == pytest.approx(result["worst_us"] / result["period_us"], abs=1e-4)
    assert result["period_us"] == pytest.approx(64 / 48000 * 1e6, abs=0.01)
    assert result["meets_load"] == (result["load"] <= 0.02)


def test_cli_prints_every_configuration_as_json(bank_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "engine", "--bundle", str(bank_path), "--seconds", "0.05", "--touches", "4",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    latency = report["latency"]
    assert latency["touches"] == 4 and latency["missed_touches"] == 0
    assert latency["sensor_to_sound_ms"]["p50"] > latency["to_render_ms"]["p50"] > 0
    configs = {(r["block_frames"], r["grains_target"], r["mode"]) for r in report["engine"]}
    assert configs == {(b, g, m) for b in BLOCKS for g in GRAINS for m in MODES}
    assert report["targets"]["load"] == 0.02
    assert report["targets"]["worst_fraction"] == 0.25
    assert isinstance(report["targets"]["met"], bool)
    assert report["bank"]["axes"] == [3, 4]


def test_cli_names_a_missing_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nothing.bundle"
    assert main(["bench", "engine", "--bundle", str(missing), "--seconds", "0.05"]) == 1
    assert f"{missing}: no such bundle file" in capsys.readouterr().err


def test_realtime_scheduling_is_reported_and_given_back(bank_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    import os

    before = os.sched_getscheduler(0)
    assert main(["bench", "engine", "--bundle", str(bank_path), "--seconds", "0.02", "--realtime",
                 "--touches", "0", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    scheduling = report["scheduling"]
    assert scheduling == f"SCHED_FIFO {REALTIME_PRIORITY}" or scheduling.startswith("normal (SCHED_FIFO")
    assert os.sched_getscheduler(0) == before
