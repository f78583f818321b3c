"""Per-channel calibration: learns rest and noise, follows drift slowly, grows and relaxes range."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from device.mapping.calibration import ChannelCalibrator
from device.mapping.config import KIND_DEFAULTS

ELECTRODE = KIND_DEFAULTS["electrode"]
RATE = 100.0


class Channel:
    """One electrode read at RATE Hz with a little noise."""

    def __init__(self, settings=ELECTRODE, seed: int = 0, noise: float = 0.7) -> None:  # type: ignore[no-untyped-def]
        self.cal = ChannelCalibrator(settings, learn_s=1.0)
        self.rng = random.Random(seed)
        self.noise = noise
        self.t = 0.0

    def run(self, level: float, seconds: float, rate: float = RATE) -> list[float]:
        out = []
        for _ in range(round(seconds * rate)):
            self.t += 1.0 / rate
            out.append(self.cal.update(level + self.rng.gauss(0.0, self.noise), self.t))
        return out


def test_learns_baseline_and_noise_in_the_first_window_and_outputs_zero_meanwhile() -> None:
    ch = Channel(noise=0.5)
    out = ch.run(7.0, 0.9)
    assert ch.cal.learning and set(out) == {0.0}
    ch.run(7.0, 0.2)
    assert not ch.cal.learning
    assert ch.cal.baseline == pytest.approx(7.0, abs=0.15)
    assert ch.cal.noise == pytest.approx(0.5, rel=0.2)
    assert ch.cal.range == ELECTRODE.initial_range


def test_even_a_large_value_during_learning_gives_zero() -> None:
    ch = Channel()
    assert set(ch.run(80.0, 0.5)) == {0.0}


def test_noise_stays_in_the_dead_zone_and_a_touch_comes_out_proportionally() -> None:
    ch = Channel(noise=1.0)
    ch.run(0.0, 1.1)
    assert max(ch.run(0.0, 60.0)) == 0.0  # 6000 noisy frames, never a false touch
    threshold = ch.cal.threshold
    assert threshold == pytest.approx(max(ELECTRODE.dead_zone * 50.0, 4.0 * ch.cal.noise))
    ch.noise = 0.0
    assert ch.run(threshold - 0.01 + ch.cal.baseline, 0.01)[-1] == 0.0
    just_above = ch.run(threshold + 0.5 + ch.cal.baseline, 0.01)[-1]
    assert 0.0 < just_above < 0.05
    span = 50.0 - threshold
    half = ch.run(ch.cal.baseline + threshold + span / 2, 0.01)[-1]
    # Proportional over the span, whose top noise band (4 sigma, as at the bottom) counts as full.
    assert half == pytest.approx((span / 2) / (span - 4.0 * ch.cal.noise), abs=1e-9)


def test_the_same_firm_touch_reaches_full_again_despite_noise() -> None:
    ch = Channel(noise=1.0)
    ch.run(0.0, 1.1)
    ch.run(70.0, 2.0)  # the range has grown to the noisy peak of this touch
    assert ch.cal.range > 71.0
    ch.run(0.0, 1.0)
    again = ch.run(70.0, 2.0)
    assert sum(x == 1.0 for x in again) > 0.4 * len(again)
    assert min(again) > 0.9


def test_range_grows_when_exceeded_then_relaxes_slowly() -> None:
    ch = Channel(noise=0.0)
    ch.run(0.0, 1.1)
    assert ch.run(30.0, 0.1)[-1] < 1.0
    assert ch.run(120.0, 0.1)[-1] == 1.0  # firmer than ever: range grows at once, output full
    assert ch.cal.range == pytest.approx(120.0)
    # The same 30-count touch now reads as less than before.
    weaker = ch.run(30.0, 0.1)[-1]
    assert weaker < 0.3
    # Over the relax time constant (300 s) the range shrinks back toward its initial 50 counts.
    ch.run(0.0, 10.0, rate=10.0)
    assert 110.0 < ch.cal.range < 120.0
    ch.run(0.0, 1500.0, rate=10.0)
    assert ch.cal.range == pytest.approx(50.0, abs=1.0)
    assert ch.run(30.0, 0.1)[-1] > weaker


def test_baseline_follows_slow_drift_while_untouched_so_no_phantom_touch() -> None:
    ch = Channel(noise=0.5)
    ch.run(0.0, 1.1)
    # 25 counts of drift over two hours (humidity rising in a gallery), sampled at 10 Hz.
    outputs = []
    for minute in range(120):
        outputs += ch.run(25.0 * (minute + 1) / 120, 60.0, rate=10.0)
    assert max(outputs) == 0.0
    assert ch.cal.baseline == pytest.approx(25.0, abs=2.5)
    # A touch on top of the drifted rest still reads as a touch of the right size.
    ch.noise = 0.0
    assert ch.run(25.0 + 30.0, 0.05)[-1] == pytest.approx((30.0 - 5.0) / 45.0, abs=0.06)


def test_baseline_does_not_move_while_touched() -> None:
    ch = Channel(noise=0.5)
    ch.run(0.0, 1.1)
    before = ch.cal.baseline
    out = ch.run(40.0, 600.0, rate=10.0)  # a hand resting on the key for ten minutes
    assert ch.cal.baseline == before
    assert min(out) > 0.6


def test_readings_below_rest_are_followed_quickly() -> None:
    ch = Channel(noise=0.5)
    ch.run(30.0, 1.1)  # learned while someone was touching
    assert ch.cal.baseline == pytest.approx(30.0, abs=0.5)
    ch.run(0.0, 30.0)  # they let go: the real rest is 0
    assert ch.cal.baseline == pytest.approx(0.0, abs=0.5)
    ch.noise = 0.0
    assert ch.run(30.0, 0.05)[-1] > 0.4


def test_equal_and_backward_timestamps_adapt_nothing() -> None:
    ch = Channel(noise=0.0)
    ch.run(0.0, 1.1)
    base = ch.cal.baseline
    for _ in range(1000):
        ch.cal.update(-20.0, ch.t)  # same instant, again and again
    assert ch.cal.baseline == base
    ch.cal.update(-20.0, ch.t - 5.0)  # clock went back
    assert ch.cal.baseline == base


def test_restart_relearns() -> None:
    ch = Channel(noise=0.0)
    ch.run(0.0, 1.1)
    ch.cal.restart()
    assert ch.cal.learning
    assert set(ch.run(12.0, 0.9)) == {0.0}
    assert ch.cal.learning
    ch.run(12.0, 0.2)
    assert not ch.cal.learning
    assert ch.cal.baseline == pytest.approx(12.0)
    assert ch.run(12.0 + 50.0, 0.01)[-1] == 1.0


def test_fixed_range_is_used_at_once_and_never_adapts() -> None:
    flex = replace(KIND_DEFAULTS["flex"], rest=10000.0, full=16000.0, dead_zone=0.0)
    ch = Channel(flex, noise=0.0)
    assert ch.run(13000.0, 0.01)[-1] == pytest.approx(0.5)
    assert ch.run(19000.0, 0.01)[-1] == 1.0
    assert ch.run(9000.0, 100.0)[-1] == 0.0
    assert (ch.cal.baseline, ch.cal.range) == (10000.0, 6000.0)


def test_fixed_range_may_run_downwards() -> None:
    flex = replace(KIND_DEFAULTS["flex"], rest=16000.0, full=10000.0, dead_zone=0.1)
    ch = Channel(flex, noise=0.0)
    assert ch.run(16500.0, 0.01)[-1] == 0.0
    assert ch.run(13000.0, 0.01)[-1] == pytest.approx((0.5 - 0.1) / 0.9)
    assert ch.run(10000.0, 0.01)[-1] == 1.0


def test_a_very_noisy_channel_keeps_a_usable_range() -> None:
    ch = Channel(noise=15.0)  # a badly shielded electrode
    ch.run(0.0, 1.1)
    assert ch.cal.range >= 2 * ELECTRODE.noise_sigmas * ch.cal.noise
    assert ch.cal.threshold < ch.cal.range
    ch.noise = 0.0
    assert ch.run(ch.cal.range * 2, 0.01)[-1] == 1.0
