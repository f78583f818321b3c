"""Segment banks of known sines, written through the real bundle writer, and small analysis helpers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from device.bundle.grid import Axis
from device.bundle.reader import SegmentBank, load_segment_bank
from device.bundle.writer import write_segment_bank


def midi_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def sine_bank(
    path: Path,
    *,
    steps: tuple[int, ...],
    pitches: list[int],
    frequency: Callable[[tuple[int, ...], int], float],
    sample_rate: int = 16000,
    seconds: float = 1.0,
    amplitude: float = 0.8,
    codec: str = "int16",
) -> SegmentBank:
    """A bank whose segment at grid index g and pitch index p is a sine of frequency(g, p) Hz."""
    frames = round(seconds * sample_rate)
    t = np.arange(frames) / sample_rate
    segments = np.zeros((*steps, len(pitches), frames), dtype=np.float32)
    for index in np.ndindex(*steps):
        for p in range(len(pitches)):
            segments[(*index, p)] = amplitude * np.sin(2.0 * np.pi * frequency(index, p) * t)
    axes = [Axis(f"axis{a}", 0.0, 1.0, n) for a, n in enumerate(steps)]
    write_segment_bank(path, name=path.stem, sample_rate=sample_rate, axes=axes, pitches=pitches,
                       segments=segments, codec=codec)
    return load_segment_bank(path)


def pitched_sine_bank(path: Path, *, steps: tuple[int, ...] = (2,), pitches: list[int] | None = None,
                      sample_rate: int = 16000, codec: str = "int16") -> SegmentBank:
    """Every grid point holds, at each bank pitch, a sine at exactly that MIDI pitch."""
    notes = pitches or [57, 69]
    return sine_bank(path, steps=steps, pitches=notes, sample_rate=sample_rate, codec=codec,
                     frequency=lambda _g, p: midi_hz(notes[p]))


def dominant_hz(signal: np.ndarray, sample_rate: int) -> float:
    """Frequency of the strongest spectral peak, refined by parabolic interpolation of log magnitude."""
    n = 1 << int(np.ceil(np.log2(len(signal) * 16)))
    spectrum = np.abs(np.fft.rfft(signal.astype(np.float64) * np.hanning(len(signal)), n))
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1:k + 2] + 1e-30)
    shift = 0.5 * (a - c) / (a - 2.0 * b + c)
    return (k + shift) * sample_rate / n


def tone_level(signal: np.ndarray, hz: float, sample_rate: int) -> float:
    """Magnitude of one frequency in a signal (a single-bin DFT)."""
    t = np.arange(len(signal)) / sample_rate
    return float(np.abs(np.dot(signal.astype(np.float64), np.exp(-2j * np.pi * hz * t))))


def max_step(signal: np.ndarray) -> float:
    """Largest sample-to-sample difference: a click shows up here far above a smooth signal's."""
    return float(np.max(np.abs(np.diff(signal.astype(np.float64)))))
