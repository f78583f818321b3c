"""The K-weighted loudness proxy against the BS.1770 reference points."""

from __future__ import annotations

import numpy as np

from host_tools.bank.loudness import k_weighted_rms, k_weighting, to_db


def test_k_weighting_matches_the_bs1770_curve() -> None:
    gains = to_db(k_weighting(np.array([997.0, 20.0, 10000.0])))
    # +0.691 dB at 997 Hz is why LUFS subtracts 0.691; the shelf tops out near +4 dB; the
    # high-pass cuts deep bass hard.
    assert abs(gains[0] - 0.691) < 0.005
    assert 3.9 < gains[2] < 4.1
    assert gains[1] < -10.0


def test_weighted_rms_of_a_sine_follows_the_curve_at_any_rate() -> None:
    for rate in (16000, 22050, 48000):
        t = np.arange(rate) / rate
        for freq in (100.0, 997.0, 5000.0):
            level = to_db(k_weighted_rms(0.5 * np.sin(2 * np.pi * freq * t), rate))
            expected = to_db(0.5 / np.sqrt(2)) + to_db(k_weighting(np.array([freq])))[0]
            assert abs(level - expected) < 0.01, (rate, freq)


def test_weighted_rms_is_per_signal_along_the_last_axis() -> None:
    rate = 22050
    t = np.arange(2048) / rate
    signals = np.stack([np.zeros_like(t), np.sin(2 * np.pi * 1000 * t), 2 * np.sin(2 * np.pi * 1000 * t)])
    levels = k_weighted_rms(signals, rate)
    assert levels[0] == 0.0
    assert abs(levels[2] / levels[1] - 2.0) < 1e-9
