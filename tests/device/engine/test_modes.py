"""Mix mode blends the neighbours inside every grain; scatter mode gives each grain one neighbour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from device.bundle.reader import SegmentBank
from device.engine.granular import GranularEngine

from .banks import sine_bank, tone_level

RATE = 48000
LOW_HZ, HIGH_HZ = 300.0, 500.0
GRAIN_MS = 50.0
LENGTH = round(GRAIN_MS * RATE / 1000.0)


@pytest.fixture
def two_tone_bank(tmp_path: Path) -> SegmentBank:
    """One axis, two grid points: 300 Hz at point 0, 500 Hz at point 1 (one bank pitch, MIDI 60)."""
    return sine_bank(tmp_path / "two-tone.bundle", steps=(2,), pitches=[60],
                     frequency=lambda g, _p: (LOW_HZ, HIGH_HZ)[g[0]])


def _grains(bank: SegmentBank, mode: str, point: float, count: int) -> list[np.ndarray]:
    """`count` separate grains: overlap 0.5 leaves a grain-long silence after every grain."""
    engine = GranularEngine(bank, sample_rate=RATE, seed=7)
    engine.set_point([point])
    engine.set_pitch(60.0)
    engine.set_params(mode=mode, grain_ms=GRAIN_MS, overlap=0.5, jitter=0.8)
    audio = engine.render(2 * LENGTH * count)
    pairs = audio.reshape(count, 2, LENGTH)
    assert np.all(pairs[:, 1] == 0.0), "grains overlapped: they cannot be told apart"
    return list(pairs[:, 0])


def _levels(grain: np.ndarray) -> tuple[float, float]:
    return tone_level(grain, LOW_HZ, RATE), tone_level(grain, HIGH_HZ, RATE)


def test_mix_grains_each_hold_both_neighbours_by_weight(two_tone_bank: SegmentBank) -> None:
    for point, low_weight in ((0.5, 0.5), (0.25, 0.75)):
        for grain in _grains(two_tone_bank, "mix", point, 20):
            low, high = _levels(grain)
            assert low / (low + high) == pytest.approx(low_weight, abs=0.02)


def test_scatter_grains_each_hold_one_neighbour_drawn_by_weight(two_tone_bank: SegmentBank) -> None:
    picks = []
    for grain in _grains(two_tone_bank, "scatter", 0.25, 300):
        low, high = _levels(grain)
        assert min(low, high) < 0.01 * max(low, high), "a scatter grain mixed two neighbours"
        picks.append(low > high)
    # Point 0.25 weighs the 300 Hz neighbour 0.75: binomial sd over 300 grains is 0.025.
    assert np.mean(picks) == pytest.approx(0.75, abs=0.08)


def test_scatter_on_a_grid_point_only_plays_that_point(two_tone_bank: SegmentBank) -> None:
    for grain in _grains(two_tone_bank, "scatter", 1.0, 40):
        low, high = _levels(grain)
        assert low < 0.01 * high


def test_mode_change_reaches_only_new_grains(two_tone_bank: SegmentBank) -> None:
    engine = GranularEngine(two_tone_bank, sample_rate=RATE, seed=3)
    engine.set_point([0.5])
    engine.set_params(mode="mix", grain_ms=GRAIN_MS, overlap=0.5, jitter=0.5)
    first = engine.render(LENGTH // 2)
    engine.set_params(mode="scatter")  # mid-grain: this grain stays a mix to its end
    rest = engine.render(LENGTH - LENGTH // 2 + LENGTH)
    grain = np.concatenate([first, rest[:LENGTH - LENGTH // 2]])
    low, high = _levels(grain)
    assert low / (low + high) == pytest.approx(0.5, abs=0.02)
    later = engine.render(2 * LENGTH)[:LENGTH]
    low, high = _levels(later)
    assert min(low, high) < 0.01 * max(low, high)
