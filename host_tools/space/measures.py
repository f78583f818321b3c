"""Figures about a compiled bank (host analysis layer): how smooth its grid is and what its codec costs.

- smoothness: the mean log-mel distance (dB) between grid neighbours (cells one step apart along one
  axis) against the mean over random pairs of distinct grid cells, at each pitch; the space is only
  playable when the neighbour figure is well below the random one (ratio << 1).
- codec error: the same log-mel distance, and the waveform SNR, between corresponding segments of
  two banks of one grid (e.g. mulaw8 against int16), with both file sizes.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import numpy as np

from device.bundle.reader import SegmentBank
from device.errors import BundleError
from host_tools.space.spectra import log_mel, spectral_distance


def _cells(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(n) for n in shape)))


def bank_spectra(bank: SegmentBank, pitch_index: int) -> np.ndarray:
    """(*grid, frames, mels) log-mel of every cell's segment at one pitch."""
    shape = tuple(a.steps for a in bank.axes)
    audio = np.stack([bank.segment(cell, pitch_index) for cell in _cells(shape)])
    spectra = log_mel(audio, bank.sample_rate)
    return spectra.reshape(*shape, *spectra.shape[1:])


def grid_smoothness(
    spectra: np.ndarray, grid_dims: int, pairs: int = 256, seed: int = 0
) -> dict[str, float]:
    """Neighbour and random-pair distances of spectra shaped (*grid, frames, mels)."""
    shape = spectra.shape[:grid_dims]
    neighbours = []
    for axis in range(grid_dims):
        first = np.take(spectra, range(shape[axis] - 1), axis=axis)
        second = np.take(spectra, range(1, shape[axis]), axis=axis)
        neighbours.append(spectral_distance(first, second).ravel())
    flat = spectra.reshape(-1, *spectra.shape[grid_dims:])
    rng = np.random.default_rng(seed)
    a = rng.integers(0, len(flat), pairs)
    b = (a + rng.integers(1, len(flat), pairs)) % len(flat)  # never the same cell
    near = float(np.mean(np.concatenate(neighbours)))
    far = float(np.mean(spectral_distance(flat[a], flat[b])))
    return {"neighbour_db": near, "random_pair_db": far, "ratio": near / far if far > 0 else float("nan")}


def bank_smoothness(bank: SegmentBank, pairs: int = 256, seed: int = 0) -> dict[str, Any]:
    per_pitch = {}
    for index, pitch in enumerate(bank.pitches):
        spectra = bank_spectra(bank, index)
        per_pitch[int(pitch)] = grid_smoothness(spectra, len(bank.axes), pairs, seed + index)
    near = float(np.mean([f["neighbour_db"] for f in per_pitch.values()]))
    far = float(np.mean([f["random_pair_db"] for f in per_pitch.values()]))
    return {
        "metric": "mean |log-mel difference| in dB (40 mels, 512-point STFT)",
        "axes": [a.name for a in bank.axes], "grid": [a.steps for a in bank.axes],
        "pitches": [int(p) for p in bank.pitches],
        "neighbour_db": round(near, 3), "random_pair_db": round(far, 3),
        "ratio": round(near / far, 4) if far > 0 else None,
        "per_pitch": {p: {k: round(v, 3) for k, v in f.items()} for p, f in per_pitch.items()},
    }


def codec_error(
    bank: SegmentBank, reference: SegmentBank, paths: tuple[Path, Path] | None = None
) -> dict[str, Any]:
    """Spectral and waveform error of `bank` against `reference` over every segment."""
    shape = tuple(a.steps for a in bank.axes)
    if shape != tuple(a.steps for a in reference.axes) or bank.pitches != reference.pitches \
            or bank.segment_frames != reference.segment_frames:
        raise BundleError("the two banks do not share grid, pitches and segment length; compile both "
                          "from the same grid with different --codec")
    spectral, noise, power = [], 0.0, 0.0
    for pitch_index in range(len(bank.pitches)):
        got = np.stack([bank.segment(c, pitch_index) for c in _cells(shape)])
        want = np.stack([reference.segment(c, pitch_index) for c in _cells(shape)])
        spectral.append(spectral_distance(log_mel(got, bank.sample_rate), log_mel(want, bank.sample_rate)))
        noise += float(np.sum((got.astype(np.float64) - want) ** 2))
        power += float(np.sum(want.astype(np.float64) ** 2))
    result: dict[str, Any] = {
        "codec": bank.codec, "reference_codec": reference.codec,
        "log_mel_error_db": round(float(np.mean(np.concatenate(spectral))), 4),
        "snr_db": round(10.0 * float(np.log10(power / noise)), 2) if noise > 0 else None,
    }
    if paths:
        result["bytes"], result["reference_bytes"] = (os.path.getsize(p) for p in paths)
    return result
