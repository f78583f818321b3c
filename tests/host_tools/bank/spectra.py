"""Spectral measurements of rendered segments, made independently of the synthesis code."""

from __future__ import annotations

import numpy as np


def windowed_power(signal: np.ndarray, pad: int = 4) -> np.ndarray:
    x = np.asarray(signal, dtype=np.float64)
    return np.abs(np.fft.rfft(x * np.hanning(len(x)), n=pad * len(x))) ** 2


def bin_freqs(frames: int, sample_rate: float, pad: int = 4) -> np.ndarray:
    return np.fft.rfftfreq(pad * frames, 1.0 / sample_rate)


def centroid_hz(signal: np.ndarray, sample_rate: float) -> float:
    power = windowed_power(signal)
    return float(np.sum(bin_freqs(len(signal), sample_rate) * power) / np.sum(power))


def harmonic_energies(signal: np.ndarray, sample_rate: float, f0: float) -> np.ndarray:
    """Energy in the band f0/2 either side of each harmonic below Nyquist (index 0 = fundamental)."""
    power = windowed_power(signal)
    freqs = bin_freqs(len(signal), sample_rate)
    count = int((sample_rate / 2 - f0 / 2) // f0)
    harmonic = np.round(freqs / f0).astype(int)
    return np.bincount(harmonic, weights=power, minlength=count + 1)[1:count + 1]


def fundamental_hz(signal: np.ndarray, sample_rate: float, expected: float) -> float:
    """Strongest peak within a semitone of `expected`, refined by a parabola on log power."""
    pad = 16
    power = windowed_power(signal, pad)
    freqs = bin_freqs(len(signal), sample_rate, pad)
    band = np.flatnonzero((freqs > expected * 2 ** (-1 / 12)) & (freqs < expected * 2 ** (1 / 12)))
    peak = band[np.argmax(power[band])]
    a, b, c = np.log(power[peak - 1:peak + 2])
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return float(freqs[peak] + offset * (freqs[1] - freqs[0]))


def frame_rms_db(signal: np.ndarray, frame: int) -> np.ndarray:
    x = np.asarray(signal, dtype=np.float64)
    frames = x[: len(x) // frame * frame].reshape(-1, frame)
    return 10.0 * np.log10(np.mean(frames**2, axis=1))
