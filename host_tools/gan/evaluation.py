"""How good a trained GAN is, in figures (host training layer).

- pitch accuracy: the share of generated notes whose YIN pitch (host_tools.data.pitch_estimation) lies
  within 50 cents of the conditioning pitch, over every trained pitch; the same figure for the real
  training notes is the ceiling the estimator allows on this data (some real notes are inharmonic or
  octave-ambiguous).
- Frechet distance on log-mel statistics: each note becomes the time mean and standard deviation of its
  log-mel spectrogram (timbre and envelope spread); a Gaussian is fitted to generated and to real notes
  and the Frechet distance between them is reported, beside the distance between two halves of the real
  notes (the floor that sample size allows, since the estimate is biased upward for small sets).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from host_tools.data.pitch_estimation import estimate_pitch

N_MELS = 32
_N_FFT = 1024
_HOP = 256


def mel_filterbank(sample_rate: int, n_fft: int = _N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters on the HTK mel scale, 30 Hz to Nyquist."""

    def mel(hz: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    def hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(np.array(30.0)), mel(np.array(sample_rate / 2)), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - low) / (centre - low)
    falling = (high - bins) / (high - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def log_mel_statistics(notes: np.ndarray, sample_rate: int) -> np.ndarray:
    """(notes, 2 * N_MELS): time mean and standard deviation of each note's log-mel spectrogram."""
    filters = mel_filterbank(sample_rate)
    window = np.hanning(_N_FFT)
    features = []
    for note in np.asarray(notes, dtype=np.float64):
        padded = np.pad(note, (_N_FFT // 2, _N_FFT // 2))
        frames = np.lib.stride_tricks.sliding_window_view(padded, _N_FFT)[::_HOP] * window
        power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
        log_mel = np.log(power @ filters.T + 1e-8)
        features.append(np.concatenate([log_mel.mean(axis=0), log_mel.std(axis=0)]))
    return np.array(features)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import linalg

    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = np.real(linalg.sqrtm(cov_a @ cov_b))
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2.0 * root))


def pitch_hits(notes: np.ndarray, pitches: list[int], sample_rate: int) -> tuple[np.ndarray, int]:
    """(per-note bool: within 50 cents of its pitch, how many notes had no detectable pitch)."""
    hits, unvoiced = [], 0
    for note, pitch in zip(notes, pitches, strict=True):
        found = estimate_pitch(note, sample_rate)
        unvoiced += found is None
        hits.append(found is not None and abs(found.midi - pitch) <= 0.5)
    return np.array(hits), unvoiced


def evaluate(
    generated: np.ndarray, generated_pitches: list[int], real: np.ndarray, real_pitches: list[int],
    sample_rate: int,
) -> dict[str, Any]:
    gen_hits, gen_unvoiced = pitch_hits(generated, generated_pitches, sample_rate)
    real_hits, _ = pitch_hits(real, real_pitches, sample_rate)
    gen_features = log_mel_statistics(generated, sample_rate)
    real_features = log_mel_statistics(real, sample_rate)
    half = len(real_features) // 2
    # Interleaved halves, so each half covers every pitch.
    return {
        "pitch_accuracy": round(float(gen_hits.mean()), 4),
        "pitch_accuracy_real": round(float(real_hits.mean()), 4),
        "unvoiced_generated": round(gen_unvoiced / len(generated), 4),
        "frechet_log_mel": round(frechet_distance(gen_features, real_features), 3),
        "frechet_log_mel_real_halves": round(
            frechet_distance(real_features[0::2][:half], real_features[1::2][:half]), 3
        ),
        "generated_notes": len(generated),
        "real_notes": len(real),
    }
