"""`latent space describe`: what a direction moves, measured on notes whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from host_tools.space.describe import (
    attack_seconds,
    describe_direction,
    odd_even_db,
    suggest_axes,
    sustain_db_per_s,
)

RATE = 16000


def _tone(pitch: int, amplitudes: list[float], seconds: float = 1.0, attack: float = 0.005,
          decay_db_per_s: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    tone = sum(a * np.sin(2 * np.pi * f0 * (k + 1) * t) for k, a in enumerate(amplitudes))
    envelope = np.minimum(1.0, t / attack) * 10 ** (decay_db_per_s * t / 20)
    return (0.2 * tone * envelope).astype(np.float64)


def test_a_brighter_note_is_named_brighter() -> None:
    dark = [_tone(p, [1.0, 0.1, 0.01]) for p in (48, 60)]
    bright = [_tone(p, [1.0, 0.8, 0.8, 0.8, 0.8, 0.8]) for p in (48, 60)]
    found = describe_direction(np.array(dark), np.array(bright), [48, 60], RATE)
    assert found["moves"] == "brightness_octaves" and "brighter" in found["name"]
    assert found["changes"]["brightness_octaves"] > 0.5 and found["distance_db"] > 3


def test_a_louder_note_differs_by_its_level_only() -> None:
    soft = np.array([_tone(60, [1.0, 0.5])])
    found = describe_direction(soft, 2 * soft, [60], RATE)
    assert found["changes"]["level_db"] == pytest.approx(6.02, abs=0.05)
    assert found["moves"] == "level_db" and "louder" in found["name"]


def test_odd_harmonics_read_positive_even_negative() -> None:
    odd = _tone(60, [1, 0, 1, 0, 1, 0, 1])
    even = _tone(60, [1, 1, 0, 1, 0, 1, 0])
    assert odd_even_db(odd, 60, RATE) > 20 and odd_even_db(even, 60, RATE) < -20


def test_attack_and_sustain_read_the_envelope() -> None:
    assert attack_seconds(_tone(60, [1.0], attack=0.2), RATE) == pytest.approx(0.14, abs=0.02)  # -3 dB
    assert attack_seconds(_tone(60, [1.0], attack=0.001), RATE) < 0.02
    assert sustain_db_per_s(_tone(60, [1.0], decay_db_per_s=-20), RATE) == pytest.approx(-20, abs=1)


def test_suggested_axes_are_the_most_audible_with_different_names() -> None:
    described = [
        {"component": 0, "distance_db": 9.0, "moves": "brightness_octaves"},
        {"component": 1, "distance_db": 8.0, "moves": "brightness_octaves"},
        {"component": 2, "distance_db": 5.0, "moves": "harmonic_to_noise_db"},
        {"component": 3, "distance_db": 20.0, "moves": "level_db"},
    ]
    assert suggest_axes(described) == [0, 2]
