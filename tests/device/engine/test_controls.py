"""Gain ramps, freeze, trigger and control generations, each checked against a same-seed render."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from device.bundle.reader import SegmentBank
from device.engine.granular import GAIN_RAMP_MS, GranularEngine

from .banks import sine_bank

RATE = 48000
BLOCK = 64
RAMP = round(GAIN_RAMP_MS * RATE / 1000.0)


@pytest.fixture
def bank(tmp_path: Path) -> SegmentBank:
    return sine_bank(tmp_path / "grid.bundle", steps=(3, 2), pitches=[48, 60, 72],
                     frequency=lambda g, p: (110.0 + 40.0 * g[0] + 25.0 * g[1]) * 2.0 ** p)


def _engine(bank: SegmentBank, **params: object) -> GranularEngine:
    engine = GranularEngine(bank, sample_rate=RATE, seed=5)
    engine.set_point((0.3, 0.6))
    engine.set_params(**{"grain_ms": 40.0, "overlap": 4.0, "jitter": 0.3, **params})
    return engine


def _blocks(engine: GranularEngine, count: int) -> np.ndarray:
    return np.concatenate([engine.render(BLOCK) for _ in range(count)])


# ----- gain ------------------------------------------------------------------------------------

def test_gain_moves_linearly_from_the_next_block(bank: SegmentBank) -> None:
    reference = _engine(bank)
    ramped = _engine(bank)
    before = _blocks(ramped, 10)
    assert np.array_equal(before, _blocks(reference, 10))
    ramped.set_params(gain=0.25)
    after, plain = _blocks(ramped, 20), _blocks(reference, 20)
    expected = np.full(len(after), 0.25)
    expected[:RAMP] = 1.0 + (0.25 - 1.0) * np.arange(1, RAMP + 1) / RAMP
    audible = np.abs(plain) > 1e-3
    np.testing.assert_allclose(after[audible] / plain[audible], expected[audible], rtol=1e-4)


def test_a_new_gain_mid_ramp_restarts_the_ramp_from_where_it_is(bank: SegmentBank) -> None:
    reference, ramped = _engine(bank), _engine(bank)
    _blocks(reference, 10)
    _blocks(ramped, 10)
    ramped.set_params(gain=0.0)
    half = RAMP // 2 // BLOCK * BLOCK
    _blocks(reference, half // BLOCK)
    _blocks(ramped, half // BLOCK)
    reached = 1.0 - half / RAMP
    ramped.set_params(gain=1.0)
    after, plain = _blocks(ramped, 20), _blocks(reference, 20)
    expected = np.ones(len(after))
    expected[:RAMP] = reached + (1.0 - reached) * np.arange(1, RAMP + 1) / RAMP
    audible = np.abs(plain) > 1e-3
    np.testing.assert_allclose(after[audible] / plain[audible], expected[audible], rtol=1e-4)


# ----- freeze ----------------------------------------------------------------------------------

def test_freeze_holds_point_pitch_and_position_until_released(bank: SegmentBank) -> None:
    reference, frozen = _engine(bank), _engine(bank)
    frozen.set_params(freeze=True)
    start = frozen.samples_rendered
    frozen.set_point((0.9, 0.1))
    frozen.set_pitch(70.5)
    frozen.set_params(position=0.95)
    held = _blocks(frozen, 60)
    assert np.array_equal(held, _blocks(reference, 60)), "a frozen engine followed point/pitch/position"
    assert frozen.samples_rendered - start == len(held)

    frozen.set_params(freeze=False)
    release = frozen.generation
    after, plain = _blocks(frozen, 60), _blocks(reference, 60)
    onset = frozen.onset_of(release)
    assert onset is not None
    first_difference = len(held) + int(np.flatnonzero(after != plain)[0])
    assert first_difference >= onset
    assert not np.allclose(after, plain)


def test_freeze_holds_the_values_set_in_the_same_call(bank: SegmentBank) -> None:
    reference, frozen = _engine(bank, position=0.1), _engine(bank)
    frozen.set_params(freeze=True, position=0.1)
    frozen.set_params(position=0.7)
    assert np.array_equal(_blocks(frozen, 40), _blocks(reference, 40))


def test_while_frozen_grain_shape_still_follows(bank: SegmentBank) -> None:
    reference, frozen = _engine(bank), _engine(bank)
    for engine in (reference, frozen):
        engine.set_params(freeze=True)
    frozen.set_params(grain_ms=15.0)
    assert not np.allclose(_blocks(frozen, 40), _blocks(reference, 40))


def test_freeze_keeps_sounding(bank: SegmentBank) -> None:
    engine = _engine(bank)
    engine.set_params(freeze=True)
    audio = _blocks(engine, 400)
    tail = audio[len(audio) // 2:]
    assert np.sqrt(np.mean(tail**2)) > 0.05


# ----- trigger ---------------------------------------------------------------------------------

def test_trigger_starts_a_grain_at_the_next_block(bank: SegmentBank) -> None:
    engine = _engine(bank, overlap=0.05, grain_ms=20.0)  # one grain per 400 ms
    _blocks(engine, 30)  # the first grain (20 ms = 15 blocks) is over
    assert engine.active_grains == 0
    assert not np.any(_blocks(engine, 5))
    engine.trigger()
    onset_block = engine.samples_rendered
    block = engine.render(BLOCK)
    assert engine.active_grains == 1
    assert engine.onset_of(engine.generation) == onset_block
    assert block[0] == 0.0  # windows start at zero: the grain fades in from its first sample
    assert np.all(block[1:] != 0.0)


def test_trigger_restarts_the_onset_clock(bank: SegmentBank) -> None:
    engine = _engine(bank, overlap=0.5, grain_ms=20.0)  # a grain every 40 ms = 1920 samples
    engine.render(1000)
    engine.trigger()
    triggered = engine.samples_rendered
    engine.render(BLOCK)
    engine.set_params(gain=0.9)  # a change whose first onset is the next scheduled one
    engine.render(3000)
    assert engine.onset_of(engine.generation) == triggered + 1920


# ----- generations -----------------------------------------------------------------------------

def test_only_changes_count_as_generations(bank: SegmentBank) -> None:
    engine = _engine(bank)
    start = engine.generation
    engine.set_point((0.3, 0.6))
    engine.set_point([0.3, 0.6])
    engine.set_params(grain_ms=40.0, jitter=0.3)
    engine.set_pitch(engine.pitch)
    assert engine.generation == start
    engine.set_point((0.3,))  # the second axis goes back to 0.5: a change
    engine.set_pitch(61.0)
    engine.set_params(overlap=5.0)
    engine.trigger()
    assert engine.generation == start + 4


def test_onset_of_reports_the_first_onset_using_a_generation(bank: SegmentBank) -> None:
    engine = _engine(bank, overlap=2.0, grain_ms=40.0)  # onsets every 960 samples from sample 0
    built = engine.generation
    engine.render(500)
    engine.set_params(jitter=0.2)
    earlier = engine.generation
    engine.render(500)  # the onset at 960 uses it
    engine.set_point((0.8, 0.8))
    generation = engine.generation
    assert engine.onset_of(generation) is None
    engine.render(BLOCK)  # samples 1000..1063: no onset
    assert engine.onset_of(generation) is None
    engine.render(2000)
    assert engine.onset_of(generation) == 1920
    assert engine.onset_of(earlier) == 960
    assert engine.onset_of(built) == 0
    assert engine.onset_of(0) == 0  # every onset uses generation 0 or a newer one


def test_onset_of_refuses_unknown_generations(bank: SegmentBank) -> None:
    from device.errors import EngineError

    engine = _engine(bank, overlap=8.0, grain_ms=5.0)
    with pytest.raises(EngineError, match="generation"):
        engine.onset_of(engine.generation + 1)
    for _ in range(100):  # more recorded onsets than the ring keeps
        engine.set_params(jitter=0.1 if engine.params.jitter != 0.1 else 0.2)
        engine.render(BLOCK)
    with pytest.raises(EngineError, match="older than"):
        engine.onset_of(1)
    assert engine.onset_of(engine.generation) is not None
