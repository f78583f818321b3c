"""A listening preview of a rendered bank: every grid point in turn at one pitch, as a WAV (host tools).

The walk is serpentine (brightness rows, odd/even back and forth), so neighbouring notes in the
file are neighbours in the space; each grid point sounds for one segment with short fades, so
the file tells how even the steps of the space are and whether levels jump.
"""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np

from host_tools.bank.additive import AdditiveBank

FADE_SECONDS = 0.01


def serpentine(rows: int, cols: int) -> list[tuple[int, int]]:
    return [(r, c if r % 2 == 0 else cols - 1 - c) for r in range(rows) for c in range(cols)]


def preview_signal(bank: AdditiveBank, pitch_index: int) -> np.ndarray:
    rows, cols, _, frames = bank.segments.shape
    fade = min(round(FADE_SECONDS * bank.sample_rate), frames // 2)
    envelope = np.ones(frames)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)
    envelope[:fade], envelope[frames - fade:] = ramp, ramp[::-1]
    return np.concatenate([bank.segments[r, c, pitch_index] * envelope for r, c in serpentine(rows, cols)])


def write_preview(bank: AdditiveBank, path: str | os.PathLike[str], pitch: int = 60) -> Path:
    """Write the walk at the bank pitch nearest `pitch` as 16-bit mono WAV; returns the path."""
    pitch_index = int(np.argmin([abs(p - pitch) for p in bank.pitches]))
    samples = np.round(np.clip(preview_signal(bank, pitch_index), -1.0, 1.0) * 32767.0).astype("<i2")
    path = Path(path)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(bank.sample_rate)
        f.writeframes(samples.tobytes())
    return path
