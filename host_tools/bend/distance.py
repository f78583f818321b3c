"""How far generated sounds are from the real notes a run was trained on (host bend layer).

Both figures use the eval's log-mel statistics (evaluation.log_mel_statistics: each note's time mean
and standard deviation of its log-mel spectrogram), so they read against `latent gan eval`:

- per note, `data_distance`: the Euclidean distance of the note's statistics to the nearest real note
  within +-3 semitones of its pitch, divided by how far real notes are from their own nearest other
  real note there (the median of those leave-one-out distances). 1 is as far as one real instrument is
  from the next; well above 1 the note has left the data.
- per set of notes, `frechet_log_mel`: the eval's Frechet distance to all real notes (compare the
  eval's frechet_log_mel and frechet_log_mel_real_halves).

The real notes' statistics are stored once per run as RUN/bend/reference.npz (`latent bend reference
--run RUN --data DIR`), a few hundred kB, so an exported model carries its data's yardstick without
the data.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from device.errors import ConfigError
from host_tools.gan.evaluation import frechet_distance, log_mel_statistics

PITCH_WINDOW = 3  # semitones either side: timbre changes across the keyboard, so compare near a pitch
MEANING = {
    "data_distance": "distance of a note's log-mel statistics (as latent gan eval's Frechet figure) to "
                     "the nearest real note within 3 semitones, in units of how far real notes are from "
                     "their nearest other real note: about 1 = like the data, well above 1 = beyond it",
    "frechet_log_mel": "latent gan eval's Frechet distance on log-mel statistics of these notes against "
                       "the real notes (compare frechet_log_mel_real_halves, the floor)",
}


def reference_path(run: str | os.PathLike[str]) -> Path:
    return Path(run) / "bend" / "reference.npz"


@dataclass(frozen=True)
class Reference:
    statistics: np.ndarray  # (n, 2 * N_MELS) of the real notes
    pitches: np.ndarray     # (n,) their MIDI pitches
    sample_rate: int

    def _near(self, pitch: int) -> np.ndarray:
        near = np.flatnonzero(np.abs(self.pitches - pitch) <= PITCH_WINDOW)
        return near if len(near) >= 2 else np.arange(len(self.pitches))

    def spacing(self, pitch: int) -> float:
        """Median distance of the real notes near `pitch` to their nearest other real note."""
        near = self.statistics[self._near(pitch)]
        dist = np.sqrt(((near[:, None] - near[None]) ** 2).sum(-1))
        np.fill_diagonal(dist, np.inf)
        return float(np.median(dist.min(axis=1)))

    def note_distances(self, notes: np.ndarray, pitches: list[int]) -> np.ndarray:
        stats = log_mel_statistics(notes, self.sample_rate)
        out = np.empty(len(stats))
        spacings: dict[int, float] = {}
        for i, (s, p) in enumerate(zip(stats, pitches, strict=True)):
            near = self.statistics[self._near(int(p))]
            if int(p) not in spacings:
                spacings[int(p)] = self.spacing(int(p))
            out[i] = float(np.sqrt(((near - s) ** 2).sum(-1)).min()) / max(spacings[int(p)], 1e-9)
        return out

    def frechet(self, notes: np.ndarray) -> float:
        return frechet_distance(log_mel_statistics(notes, self.sample_rate), self.statistics)

    def frechet_halves(self) -> float:
        half = len(self.statistics) // 2
        return frechet_distance(self.statistics[0::2][:half], self.statistics[1::2][:half])


def build_reference(run: str | os.PathLike[str], data_dir: str, per_pitch: int) -> tuple[Path, int]:
    """Measure the real notes (eval_cli.real_notes: one per instrument, spread over each pitch) and
    store their statistics in the run; returns (path, notes measured)."""
    from host_tools.gan.eval_cli import real_notes
    from host_tools.gan.run_dir import read_run_config

    cfg = read_run_config(run)
    audio, pitches = real_notes(data_dir, cfg, per_pitch)
    rate = int(cfg.audio.sample_rate)
    path = reference_path(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(".reference.tmp.npz")
    np.savez(temp, statistics=log_mel_statistics(audio, rate).astype(np.float32),
             pitches=np.array(pitches, dtype=np.int16), sample_rate=np.array(rate))
    os.replace(temp, path)
    meta = {"data_dir": str(data_dir), "notes": len(pitches), "per_pitch": per_pitch,
            "method": "log_mel_statistics of eval_cli.real_notes (host_tools/gan/evaluation.py)"}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return path, len(pitches)


def load_reference(run: str | os.PathLike[str]) -> Reference | None:
    """The run's stored reference, or None when it has none (figures are then left out, with a hint)."""
    path = reference_path(run)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return Reference(np.asarray(data["statistics"], dtype=np.float64),
                             np.asarray(data["pitches"], dtype=np.int64), int(data["sample_rate"]))
    except (OSError, ValueError, KeyError) as err:
        raise ConfigError(f"{path} is unreadable ({err}); rebuild it with `latent bend reference --run "
                          f"{run} --data DIR`") from None


def no_reference_hint(run: str | os.PathLike[str]) -> str:
    return (f"{run} has no measure of its real notes, so no distance from the data is shown; add one with "
            f"`latent bend reference --run {run} --data DIR` (DIR: the notes it was trained on)")


def note_distances(reference: Reference | None, notes: np.ndarray, pitches: list[int]) -> list[float | None]:
    """Per-note `data_distance`, rounded (None each without a reference)."""
    if reference is None:
        return [None] * len(notes)
    return [round(float(v), 3) for v in reference.note_distances(notes, pitches)]
