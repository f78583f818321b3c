"""One-Euro filter: steady at rest, quick on fast moves, safe with odd timestamps."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from device.errors import ConfigError
from device.mapping.one_euro import OneEuroFilter

RATE = 500.0


class LowPass:
    """Plain first-order low-pass at a fixed cutoff: the baseline One-Euro must beat."""

    def __init__(self, cutoff: float) -> None:
        self.cutoff = cutoff
        self.y: float | None = None
        self.t = 0.0

    def __call__(self, x: float, t: float) -> float:
        if self.y is None:
            self.y, self.t = x, t
            return x
        dt = t - self.t
        self.t = t
        a = 1.0 / (1.0 + 1.0 / (2 * math.pi * self.cutoff * dt))
        self.y += a * (x - self.y)
        return self.y


def _run(filt, signal: list[float]) -> list[float]:  # type: ignore[no-untyped-def]
    return [filt(x, i / RATE) for i, x in enumerate(signal)]


def test_first_sample_passes_through() -> None:
    assert OneEuroFilter()(0.37, 12.0) == 0.37


def test_jitter_at_rest_is_reduced() -> None:
    rng = random.Random(1)
    signal = [0.5 + rng.gauss(0.0, 0.01) for _ in range(2000)]
    out = _run(OneEuroFilter(min_cutoff=1.0, beta=4.0), signal)
    raw_sd = statistics.pstdev(signal[500:])
    out_sd = statistics.pstdev(out[500:])
    assert out_sd < 0.2 * raw_sd
    assert abs(statistics.fmean(out[500:]) - 0.5) < 0.005


def _samples_to_reach(out: list[float], start: int, level: float) -> int:
    return next(i - start for i in range(start, len(out)) if out[i] >= level)


def test_fast_move_lags_far_less_than_a_low_pass_with_the_same_rest_smoothing() -> None:
    rng = random.Random(2)
    # Rest at 0, a quick 100 ms sweep to 1 (a flex sensor bent fast), then rest at 1.
    clean = [0.0] * 500 + [i / 50 for i in range(50)] + [1.0] * 500
    noisy = [x + rng.gauss(0.0, 0.01) for x in clean]
    euro = _run(OneEuroFilter(min_cutoff=1.0, beta=10.0, d_cutoff=1.0), noisy)
    plain = _run(LowPass(cutoff=1.0), noisy)
    # Same smoothing at rest...
    assert statistics.pstdev(euro[200:500]) < 1.5 * statistics.pstdev(plain[200:500])
    # ...but the sweep comes through several times sooner.
    euro_lag = _samples_to_reach(euro, 500, 0.9)
    plain_lag = _samples_to_reach(plain, 500, 0.9)
    assert euro_lag * 3 < plain_lag


def test_beta_zero_is_a_plain_low_pass() -> None:
    rng = random.Random(3)
    signal = [rng.random() for _ in range(300)]
    euro = _run(OneEuroFilter(min_cutoff=2.0, beta=0.0), signal)
    plain = _run(LowPass(cutoff=2.0), signal)
    assert euro == pytest.approx(plain, rel=1e-12, abs=1e-12)


def test_equal_timestamps_hold_the_output() -> None:
    f = OneEuroFilter()
    f(0.0, 1.0)
    y = f(1.0, 1.002)
    assert f(1.0, 1.002) == y
    assert f(0.3, 1.002) == y
    assert 0.0 < f(1.0, 1.004) <= 1.0


def test_backwards_timestamps_are_safe_and_filtering_resumes_from_the_new_clock() -> None:
    f = OneEuroFilter(min_cutoff=1.0, beta=1.0)
    for i in range(100):
        f(0.2, i / RATE)
    held = f(0.9, 0.05)  # the clock jumped back (a restarted poller)
    assert held == f.value and math.isfinite(held)
    out = [f(0.9, 0.05 + (i + 1) / RATE) for i in range(2000)]
    assert all(math.isfinite(y) for y in out)
    assert out[0] > held  # moving again, from the new time base
    assert out[-1] == pytest.approx(0.9, abs=1e-3)


def test_output_stays_within_the_input_bounds() -> None:
    rng = random.Random(4)
    f = OneEuroFilter(min_cutoff=0.5, beta=50.0)
    out = [f(rng.choice((0.0, 1.0)), i / RATE) for i in range(1000)]
    assert min(out) >= 0.0 and max(out) <= 1.0


@pytest.mark.parametrize("kwargs", [{"min_cutoff": 0.0}, {"d_cutoff": -1.0}, {"beta": -0.1}])
def test_bad_parameters_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="One-Euro smoothing needs"):
        OneEuroFilter(**kwargs)
