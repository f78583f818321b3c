"""YIN pitch estimation on tones whose pitch is known."""

from __future__ import annotations

import numpy as np
import pytest

from host_tools.data.pitch_estimation import estimate_pitch


def tone(freq: float, rate: int, harmonics: range = range(1, 6), seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return sum(np.sin(2 * np.pi * freq * k * t + k) / k for k in harmonics if freq * k < rate / 2) * np.exp(
        -t
    )


@pytest.mark.parametrize("midi", [28.0, 40.3, 52.0, 60.0, 69.0, 75.5, 88.0, 96.0])
@pytest.mark.parametrize("rate", [16000, 48000])
def test_harmonic_tones_are_found_within_ten_cents(midi: float, rate: int):
    found = estimate_pitch(tone(440.0 * 2 ** ((midi - 69) / 12), rate), rate)
    assert found is not None and abs(found.midi - midi) < 0.1 and found.voiced_fraction > 0.9


def test_a_missing_fundamental_is_still_heard_as_the_fundamental():
    found = estimate_pitch(tone(110.0, 16000, harmonics=range(2, 7)), 16000)
    assert found is not None and found.hz == pytest.approx(110.0, rel=0.005)


@pytest.mark.parametrize(
    "signal", [np.zeros(16000), np.random.default_rng(3).normal(0, 0.3, 16000), np.zeros(10)]
)
def test_noise_and_silence_have_no_pitch(signal: np.ndarray):
    assert estimate_pitch(signal, 16000) is None
