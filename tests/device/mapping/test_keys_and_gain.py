"""Touch hysteresis, the last-note-priority keyboard, the gain envelope and response curves."""

from __future__ import annotations

import itertools
import math

import pytest

from device.mapping.curves import CURVES
from device.mapping.gain import GainEnvelope
from device.mapping.keys import PitchKeyboard, TouchSwitch


def test_hysteresis_stops_a_finger_at_the_threshold_from_flickering() -> None:
    switch = TouchSwitch(on=0.2, off=0.1)
    amounts = [0.0, 0.19, 0.21, 0.15, 0.19, 0.12, 0.21, 0.09, 0.19, 0.2]
    onsets = [switch.update(a) for a in amounts]
    assert onsets == [False, False, True, False, False, False, False, False, False, True]


def test_two_keys_touched_in_one_frame_give_one_note_on_for_the_firmer() -> None:
    keys = PitchKeyboard([48, 50, 52], on=0.2, off=0.1)
    assert keys.update([0.0, 0.5, 0.9], 0.002) is True
    assert keys.pitch == 52.0
    assert keys.held_keys == (1, 2)
    keys.update([0.0, 0.5, 0.0], 0.002)
    assert keys.pitch == 50.0
    other = PitchKeyboard([48, 50, 52], on=0.2, off=0.1)
    other.update([0.9, 0.0, 0.5], 0.002)
    other.update([0.9, 0.0, 0.5], 0.002)
    assert other.pitch == 48.0
    assert other.held_keys == (2, 0)


def test_transpose_and_scale_changes_move_the_sounding_note() -> None:
    keys = PitchKeyboard([48, 50], on=0.2, off=0.1, transpose=12)
    assert keys.pitch == 60.0  # before any touch: the first note
    keys.update([0.0, 1.0], 0.002)
    assert keys.pitch == 62.0
    keys.set_scale([40, 41], transpose=0)
    assert keys.pitch == 41.0


def test_gain_ramps_linearly_at_the_set_rates() -> None:
    env = GainEnvelope(note=1.0, idle=0.2, attack_ms=100.0, release_ms=1000.0)
    assert env.update(False, 0.1) == pytest.approx(0.2)  # 0 -> idle at the attack rate
    assert env.update(True, 0.05) == pytest.approx(0.7)
    assert env.update(True, 0.05) == pytest.approx(1.0)
    assert env.update(False, 0.5) == pytest.approx(0.5)
    assert env.update(False, 10.0) == pytest.approx(0.2)


def test_zero_ramp_times_jump_even_without_elapsed_time() -> None:
    env = GainEnvelope(note=1.0, idle=0.2, attack_ms=0.0, release_ms=0.0)
    assert env.update(True, 0.0) == 1.0
    assert env.update(False, 0.0) == 0.2
    assert not math.isnan(env.value)


@pytest.mark.parametrize("name", sorted(CURVES))
def test_curves_keep_their_ends_and_rise_monotonically(name: str) -> None:
    curve = CURVES[name]
    xs = [i / 100 for i in range(101)]
    ys = [curve(x) for x in xs]
    assert ys[0] == pytest.approx(0.0, abs=1e-12) and ys[-1] == pytest.approx(1.0)
    assert all(b > a for a, b in itertools.pairwise(ys))


def test_exponential_favours_the_low_end_and_s_curve_the_middle() -> None:
    assert CURVES["exponential"](0.5) < 0.25
    assert CURVES["s-curve"](0.25) < 0.25 < 0.75 < CURVES["s-curve"](0.75)
