"""Figures about a compiled bank (host analysis layer): how smooth its grid is and what its codec costs.

Every distance here is the one log-mel distance `latent gan eval` uses for diversity
(host_tools.gan.evaluation.log_mel_distance), so the figures read against real notes:

- smoothness: the mean log-mel distance (dB) between grid neighbours (cells one step apart along one
  axis) and the mean over random pairs of distinct grid cells, at each pitch. Two questions: is the
  grid varied at all (random_pair_db, against real notes of different instruments at one pitch,
  `latent gan eval`'s diversity_db_real), and is it smooth (neighbour well below random, ratio << 1)? A
  grid whose cells all differ by 2 dB is flat however smooth its ratio.
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
from host_tools.gan.evaluation import (
    DISTANCE_HOP,
    DISTANCE_MELS,
    DISTANCE_N_FFT,
    FLOOR_DB,
    log_mel_db,
    log_mel_distance,
)

METRIC = (f"log-mel distance: RMS over frames and {DISTANCE_MELS} mel bands of the difference of two "
          f"notes' log-mel spectrograms ({DISTANCE_N_FFT}-point STFT, hop {DISTANCE_HOP}), in dB re full "
          f"scale floored at {FLOOR_DB:.0f} dB (host_tools.gan.evaluation.log_mel_distance, as "
          "latent gan eval)")
UNITS = {
    "neighbour_db": "dB: mean log-mel distance between grid cells one step apart along one axis",
    "random_pair_db": "dB: mean log-mel distance between random pairs of distinct grid cells (how "
                      "different the grid's sounds are at all)",
    "ratio": "neighbour_db / random_pair_db, no unit (well below 1: smooth)",
}


def _cells(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(n) for n in shape)))


def bank_spectra(bank: SegmentBank, pitch_index: int) -> np.ndarray:
    """(*grid, frames, mels) log-mel of every cell's segment at one pitch."""
    shape = tuple(a.steps for a in bank.axes)
    audio = np.stack([bank.segment(cell, pitch_index) for cell in _cells(shape)])
    spectra = log_mel_db(audio, bank.sample_rate)
    return spectra.reshape(*shape, *spectra.shape[1:])


def smoothness_meaning(neighbour_db: float, random_pair_db: float) -> str:
    """One line a person reads: how varied the grid is, and how smooth, with its own numbers."""
    ratio = neighbour_db / random_pair_db if random_pair_db > 0 else float("nan")
    return (f"cells one step apart differ by {neighbour_db:.1f} dB, random cells by {random_pair_db:.1f} dB "
            f"(ratio {ratio:.2f}); the random figure says how varied the space is (compare latent gan eval's "
            "diversity_db_real, real instruments at one pitch), the ratio how smooth (<< 1 is smooth)")


def grid_smoothness(
    spectra: np.ndarray, grid_dims: int, pairs: int = 256, seed: int = 0
) -> dict[str, float]:
    """Neighbour and random-pair distances of spectra shaped (*grid, frames, mels)."""
    shape = spectra.shape[:grid_dims]
    neighbours = []
    for axis in range(grid_dims):
        first = np.take(spectra, range(shape[axis] - 1), axis=axis)
        second = np.take(spectra, range(1, shape[axis]), axis=axis)
        neighbours.append(log_mel_distance(first, second).ravel())
    flat = spectra.reshape(-1, *spectra.shape[grid_dims:])
    rng = np.random.default_rng(seed)
    a = rng.integers(0, len(flat), pairs)
    b = (a + rng.integers(1, len(flat), pairs)) % len(flat)  # never the same cell
    near = float(np.mean(np.concatenate(neighbours)))
    far = float(np.mean(log_mel_distance(flat[a], flat[b])))
    return {"neighbour_db": near, "random_pair_db": far, "ratio": near / far if far > 0 else float("nan")}


def bank_smoothness(bank: SegmentBank, pairs: int = 256, seed: int = 0) -> dict[str, Any]:
    per_pitch = {}
    for index, pitch in enumerate(bank.pitches):
        spectra = bank_spectra(bank, index)
        per_pitch[int(pitch)] = grid_smoothness(spectra, len(bank.axes), pairs, seed + index)
    near = float(np.mean([f["neighbour_db"] for f in per_pitch.values()]))
    far = float(np.mean([f["random_pair_db"] for f in per_pitch.values()]))
    return {
        "metric": METRIC,
        "meaning": smoothness_meaning(near, far),
        "units": UNITS,
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
        rate = bank.sample_rate
        spectral.append(log_mel_distance(log_mel_db(got, rate), log_mel_db(want, rate)))
        noise += float(np.sum((got.astype(np.float64) - want) ** 2))
        power += float(np.sum(want.astype(np.float64) ** 2))
    result: dict[str, Any] = {
        "codec": bank.codec, "reference_codec": reference.codec, "metric": METRIC,
        "log_mel_error_db": round(float(np.mean(np.concatenate(spectral))), 4),
        "snr_db": round(10.0 * float(np.log10(power / noise)), 2) if noise > 0 else None,
    }
    if paths:
        result["bytes"], result["reference_bytes"] = (os.path.getsize(p) for p in paths)
    return result
