"""Pitch of a single recorded note by YIN (de Cheveigné & Kawahara, 2002) (host data layer).

Used for artists' own sounds that come without a pitch. Frames of the loud part of the note are
analysed and the median of the voiced frames is taken, so an attack transient or a noisy tail does not
decide the pitch. Returns None for sounds without a clear period (drums, noise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from host_tools.data.nsynth_fields import hz_to_midi


@dataclass(frozen=True)
class PitchEstimate:
    hz: float
    midi: float  # fractional MIDI pitch; round() for NSynth's integer pitch
    voiced_fraction: float  # share of the analysed frames that had a clear period


def _yin_period(
    frame: np.ndarray, window: int, tau_min: int, tau_max: int, threshold: float
) -> tuple[float, float] | None:
    """(period in frames, aperiodicity) of one frame of length window + tau_max, or None if unvoiced."""
    size = 1 << int(np.ceil(np.log2(len(frame) + window)))
    spectrum = np.fft.rfft(frame, size)
    head = np.fft.rfft(frame[:window], size)
    correlation = np.fft.irfft(spectrum * np.conj(head), size)[: tau_max + 1]
    energy = np.concatenate([[0.0], np.cumsum(np.square(frame, dtype=np.float64))])
    taus = np.arange(tau_max + 1)
    difference = energy[window] + (energy[taus + window] - energy[taus]) - 2.0 * correlation
    difference[0] = 0.0
    running = np.cumsum(difference[1:])
    normalised = np.ones(tau_max + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        normalised[1:] = np.where(running > 0, difference[1:] * taus[1:] / running, 1.0)
    candidates = np.nonzero(normalised[tau_min:tau_max] < threshold)[0]
    if len(candidates):
        tau = int(candidates[0]) + tau_min
        while tau + 1 < tau_max and normalised[tau + 1] < normalised[tau]:
            tau += 1
    else:
        tau = int(np.argmin(normalised[tau_min:tau_max])) + tau_min
        if normalised[tau] >= 2.0 * threshold:
            return None
    if 1 <= tau < tau_max:
        # Parabolic interpolation on the difference function for a sub-frame period.
        left, centre, right = normalised[tau - 1], normalised[tau], normalised[tau + 1]
        curvature = left - 2.0 * centre + right
        offset = 0.5 * (left - right) / curvature if curvature > 0 else 0.0
        return tau + float(np.clip(offset, -1.0, 1.0)), float(centre)
    return float(tau), float(normalised[tau])


def estimate_pitch(
    audio: np.ndarray,
    sample_rate: int,
    *,
    fmin: float = 27.5,
    fmax: float = 4200.0,
    threshold: float = 0.15,
    analyse_seconds: float = 1.5,
) -> PitchEstimate | None:
    """The pitch of the loud part of a single note, or None when the sound has no clear period."""
    audio = np.asarray(audio, dtype=np.float64)
    tau_min = max(2, int(sample_rate / fmax))
    tau_max = int(np.ceil(sample_rate / fmin))
    window = max(tau_max, int(0.04 * sample_rate))
    frame_length = window + tau_max + 1
    hop = window // 2
    if len(audio) < frame_length:
        audio = np.concatenate([audio, np.zeros(frame_length - len(audio))])
    starts = np.arange(0, len(audio) - frame_length + 1, hop)
    starts = starts[starts <= int(analyse_seconds * sample_rate) + np.argmax(np.abs(audio))]
    if len(starts) == 0:
        return None
    loudness = np.array([np.sqrt(np.mean(np.square(audio[s : s + window]))) for s in starts])
    if loudness.max() == 0.0:
        return None
    loud = starts[loudness >= loudness.max() * 10.0 ** (-30.0 / 20.0)]
    periods = [
        result[0]
        for s in loud
        if (result := _yin_period(audio[s : s + frame_length], window, tau_min, tau_max, threshold))
        is not None
    ]
    if not periods:
        return None
    hz = float(sample_rate / np.median(periods))
    return PitchEstimate(hz=hz, midi=hz_to_midi(hz), voiced_fraction=len(periods) / len(loud))
