"""Log-mel spectrograms and spectral distances between notes (host analysis layer)."""

from __future__ import annotations

import numpy as np

from host_tools.gan.evaluation import mel_filterbank

N_FFT = 512
HOP = 128
N_MELS = 40
_DB = 10.0 / np.log(10.0)


def log_mel(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """(n, frames, N_MELS) log-mel power in dB (floored at -100 dB) of audio (n, samples)."""
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    filters = mel_filterbank(sample_rate, N_FFT, N_MELS)
    padded = np.pad(audio, ((0, 0), (N_FFT // 2, N_FFT // 2)))
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT, axis=1)[:, ::HOP] * np.hanning(N_FFT)
    power = np.abs(np.fft.rfft(frames, axis=-1)) ** 2
    return _DB * np.log(power @ filters.T + 1e-10)


def spectral_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean absolute log-mel difference in dB between spectrograms a and b (..., frames, mels)."""
    return np.mean(np.abs(a - b), axis=(-2, -1))
