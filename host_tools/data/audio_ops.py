"""Small pure operations on mono float audio shared by the renderer and the WAV-folder source
(host data layer): resampling, cutting to length, level normalisation, fades, 16-bit conversion,
and the NSynth qualities that can be measured from a note's envelope.
"""

from __future__ import annotations

from math import gcd

import numpy as np

PEAK_TARGET = 10.0 ** (-1.0 / 20.0)  # -1 dBFS: full level with headroom for the 16-bit rounding
FADE_SECONDS = 0.01


def to_mono(audio: np.ndarray) -> np.ndarray:
    """(frames,) or (frames, channels) -> (frames,) float32, channels averaged."""
    audio = np.asarray(audio, dtype=np.float32)
    return audio if audio.ndim == 1 else audio.mean(axis=1, dtype=np.float32)


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Polyphase resampling by the exact ratio to_rate/from_rate (scipy's resample_poly)."""
    if from_rate == to_rate:
        return np.asarray(audio, dtype=np.float32)
    from scipy.signal import resample_poly

    common = gcd(int(from_rate), int(to_rate))
    return resample_poly(audio, int(to_rate) // common, int(from_rate) // common).astype(np.float32)


def fade_out(audio: np.ndarray, frames: int) -> np.ndarray:
    """A raised-cosine fade over the last `frames`, in place, so a cut tail ends without a click."""
    frames = min(frames, len(audio))
    if frames > 0:
        audio[-frames:] *= (0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, frames))).astype(audio.dtype)
    return audio


def fix_length(audio: np.ndarray, frames: int, sample_rate: int) -> np.ndarray:
    """Cut (with a short fade) or zero-pad at the end to exactly `frames`."""
    audio = np.asarray(audio, dtype=np.float32)
    if len(audio) >= frames:
        cut = audio[:frames].copy()
        if len(audio) > frames:
            fade_out(cut, int(FADE_SECONDS * sample_rate))
        return cut
    return np.concatenate([audio, np.zeros(frames - len(audio), dtype=np.float32)])


def peak_normalize(audio: np.ndarray, target: float = PEAK_TARGET) -> np.ndarray:
    """Scale so the largest magnitude is `target`; an all-zero signal is returned unchanged."""
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    if peak == 0.0:
        return audio
    return (audio * (target / peak)).astype(np.float32)


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """Round to int16 ourselves (not the WAV library), so files are identical across library versions."""
    return np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)


def leading_silence_frames(
    audio: np.ndarray, sample_rate: int, threshold_db: float = -40.0, preroll_seconds: float = 0.005
) -> int:
    """Frames before the onset (first sample within `threshold_db` of the peak), less a short pre-roll."""
    magnitude = np.abs(audio)
    peak = float(magnitude.max()) if len(audio) else 0.0
    if peak == 0.0:
        return 0
    onset = int(np.argmax(magnitude >= peak * 10.0 ** (threshold_db / 20.0)))
    return max(0, onset - int(preroll_seconds * sample_rate))


def _rms(segment: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(segment, dtype=np.float64)))) if len(segment) else 0.0


def envelope_qualities(
    audio: np.ndarray, sample_rate: int, note_frames: int, window_seconds: float = 0.05, drop_db: float = 40.0
) -> tuple[str, ...]:
    """The NSynth qualities a note's envelope shows, by NSynth's definitions.

    fast_decay: the sound has died away (`drop_db` below its loudest window) before the note-off.
    long_release: it is still sounding (within `drop_db`) in the last window, long after the note-off.
    """
    window = max(1, int(window_seconds * sample_rate))
    frames = len(audio) // window * window
    if frames == 0:
        return ()
    loudest = float(np.sqrt(np.max(np.mean(np.square(audio[:frames].reshape(-1, window)), axis=1))))
    if loudest == 0.0:
        return ()
    floor = loudest * 10.0 ** (-drop_db / 20.0)
    found = []
    if window <= note_frames <= len(audio) and _rms(audio[note_frames - window : note_frames]) < floor:
        found.append("fast_decay")
    if note_frames < len(audio) - window and _rms(audio[-window:]) >= floor:
        found.append("long_release")
    return tuple(found)
