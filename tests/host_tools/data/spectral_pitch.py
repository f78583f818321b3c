"""An independent pitch estimate for the tests: the harmonic product spectrum of a zero-padded FFT
(the library's YIN is not used to check the library)."""

from __future__ import annotations

import numpy as np


def dominant_midi_pitch(audio: np.ndarray, rate: int, low: float = 24.0, high: float = 108.0) -> float:
    """The MIDI pitch (1-cent grid) whose first four harmonics carry the most energy together."""
    segment = audio[int(0.1 * rate) : int(1.1 * rate)].astype(np.float64)
    segment = segment * np.hanning(len(segment))
    size = 1 << 18
    magnitude = np.abs(np.fft.rfft(segment, size))
    freqs = np.fft.rfftfreq(size, 1.0 / rate)
    candidates = np.arange(low, high, 0.01)
    hz = 440.0 * 2.0 ** ((candidates - 69.0) / 12.0)
    floor = magnitude.max() * 1e-6
    score = np.zeros_like(hz)
    for harmonic in range(1, 5):
        partial = np.interp(harmonic * hz, freqs, magnitude, right=0.0)
        score += np.log(partial + floor)
    return float(candidates[int(np.argmax(score))])
