"""Level generated notes like the training notes before a person hears them (host training layer).

A GAN's output has no level constraint: the spectral generator predicts log-magnitudes, and a small
error there is a large gain error. A tiny run's auditions had 120-220 full-scale samples per 1 s note
and `latent gan generate` wrote notes whose float peak was 21-28x full scale, which PCM_16 writing
clipped flat (17-36% of samples). Every tool that writes generated audio for listening therefore
passes it through `level_notes` first:

  1. gain: each note's RMS (over its active part) is set to the training notes' median RMS, recorded
     by the trainer in RUN/data.json ("level", from `data_level`), so generated notes sound as loud
     as the notes the model learned from, whatever the model's gain error;
  2. peak safety: if that would put a sample above CEILING_DBFS (-1 dBFS, the bank compile's
     `level.ceiling_db` default), the note is scaled down until its peak sits there.

Both steps are one plain gain per note, never a clipper or limiter: a clipper flattens the waveform
tops (audible distortion that a listener would blame on the model) and a limiter's moving gain
changes the envelope, which is what one listens to when judging a GAN note. A pure gain keeps the
note's shape exactly, so what one hears is what the generator made, only louder or softer.

Measurements (grid smoothness, contact sheets, `latent gan eval`, the bank compile's own loudness
matching in host_tools/bank/loudness.py) use the generator's raw output; levelling is for the WAVs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from device.errors import ConfigError
from host_tools.bank.loudness import to_db
from host_tools.errors import CheckpointError, DatasetError

CEILING_DBFS = -1.0
CEILING = float(10.0 ** (CEILING_DBFS / 20.0))  # 0.891 of full scale
# A note's active part: its 256-sample frames within ACTIVE_RANGE_DB of its loudest frame. Notes
# end in silence of differing length (NSynth's release, the crop); a plain RMS over the whole note
# would call a short note quieter than a held one of the same loudness.
FRAME = 256
ACTIVE_RANGE_DB = 40.0
# Below this peak a note is taken as silence: no gain could make it a note, so it is left alone.
SILENCE_DBFS = -120.0
# Notes data_level reads when the training notes are streamed from disk: enough for stable medians.
LEVEL_SAMPLE_NOTES = 256


def _as_notes(audio: np.ndarray) -> np.ndarray:
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"expected notes shaped (notes, samples), got {np.shape(audio)}")
    return x


def active_rms(notes: np.ndarray) -> np.ndarray:
    """RMS of each note (rows) over its active frames (linear, 1.0 = full scale); 0 for silence."""
    x = _as_notes(notes)
    frames = max(x.shape[1] // FRAME, 1)
    length = min(frames * FRAME, x.shape[1])
    power = np.mean(x[:, :length].reshape(len(x), frames, length // frames) ** 2, axis=-1)
    loudest = power.max(axis=1, keepdims=True, initial=0.0)
    active = power >= loudest * 10.0 ** (-ACTIVE_RANGE_DB / 10.0)
    return np.sqrt(np.sum(power * active, axis=1) / np.maximum(active.sum(axis=1), 1))


def data_level(audio: np.ndarray) -> dict[str, float]:
    """The training notes' level: median active RMS (dBFS), median and 90th percentile peak (linear).

    Silent notes are left out (they say nothing about how loud a note should be)."""
    x = _as_notes(audio)
    peaks = np.max(np.abs(x), axis=1)
    audible = peaks > 10.0 ** (SILENCE_DBFS / 20.0)
    if not np.all(np.isfinite(x)):
        raise DatasetError("the training notes hold NaN or infinite samples; re-render the data set")
    if not audible.any():
        raise DatasetError(f"all {len(x)} training notes are silent; there is no level to learn from")
    rms_db = to_db(active_rms(x[audible]))
    return {
        "rms_dbfs": round(float(np.median(rms_db)), 3),
        "peak": round(float(np.median(peaks[audible])), 5),
        "peak_p90": round(float(np.percentile(peaks[audible], 90)), 5),
        "notes": int(audible.sum()),
    }


def notes_level(notes: Sequence[tuple[np.ndarray, Any]], preload: bool,
                limit: int = LEVEL_SAMPLE_NOTES) -> dict[str, float]:
    """data_level of a run's training notes (items (audio, label), e.g. CroppedNotes): all of them
    when the run preloads its data anyway, else up to `limit` evenly spaced ones, so a streamed
    data set is not read in full just for a median."""
    count = len(notes) if preload else min(len(notes), limit)
    index = np.unique(np.linspace(0, len(notes) - 1, count).round().astype(int))
    return data_level(np.stack([notes[int(i)][0] for i in index]))


def run_level(run_dir: str | os.PathLike[str]) -> dict[str, float] | None:
    """The level target recorded in RUN/data.json; None for a run trained before it was recorded."""
    from host_tools.gan.run_dir import RunLayout, read_data_record

    if not RunLayout(Path(run_dir)).data_record.is_file():
        return None
    level = read_data_record(run_dir).get("level")
    if level is None:
        return None
    if not isinstance(level, dict) or not np.isfinite(level.get("rms_dbfs", np.nan)):
        raise ConfigError(f"{RunLayout(Path(run_dir)).data_record}: 'level' is damaged ({level!r})")
    return level


def level_notes(notes: np.ndarray, target: Mapping[str, Any] | None) -> np.ndarray:
    """Each note (row; a 1-D array is one note) at the target's RMS and peaking at most CEILING.

    target: data_level's record (its "rms_dbfs" is used); None when unknown (an old run), then only
    the peak safety applies. One gain per note (see the module docstring for why not a limiter).
    A note with NaN or infinite samples is a broken model, not something to level: CheckpointError
    (a ValueError) names it. Silent notes come back unchanged. Returns float32 of the input's shape."""
    x = _as_notes(notes)
    broken = np.flatnonzero(~np.all(np.isfinite(x), axis=1))
    if broken.size:
        raise CheckpointError(
            f"generated note {', '.join(map(str, broken.tolist()))} (of {len(x)}) holds NaN or infinite "
            "samples: the generator's weights are broken (a diverged run?); nothing was written"
        )
    peaks = np.max(np.abs(x), axis=1)
    audible = peaks > 10.0 ** (SILENCE_DBFS / 20.0)
    gain = np.ones(len(x))
    if target is not None:
        wanted = 10.0 ** (float(target["rms_dbfs"]) / 20.0)
        gain[audible] = wanted / active_rms(x[audible])
    gain[audible] = np.minimum(gain[audible], CEILING / peaks[audible])
    out = (x * gain[:, None]).astype(np.float32)
    return out.reshape(np.shape(notes))


def wav_ready(audio: np.ndarray) -> np.ndarray:
    """float32 inside [-1, 1] for a PCM WAV writer. soundfile clips out-of-range floats silently when
    writing PCM_16; after level_notes nothing is out of range, and this explicit clip is the last
    guard that keeps a file's samples what the float notes said (a NaN is refused before this)."""
    return np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
