"""The notes a GAN run trains on: an NSynth-layout directory filtered and cropped as the config says,
checked against the config before training, and served in an order that depends only on (seed, step)
(host training layer).

Because batch k of the run is always the same notes, a resumed run sees exactly the data the
uninterrupted one would have, with no sampler state to save. The order is DistributedSampler's, so
under torchrun each rank draws its own disjoint share of every epoch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from device.errors import DatasetError
from host_tools.data.nsynth_dataset import NSynthDataset
from host_tools.gan.config import note_samples, pitch_list


def open_notes(data_dir: str | os.PathLike[str], cfg: dict[str, Any]) -> NSynthDataset:
    """The filtered data set; DatasetError if it is empty or does not fit the config."""
    data = cfg["data"]
    dataset = NSynthDataset(
        data_dir,
        families=data["families"] or None,
        sources=data["sources"] or None,
        pitch_range=tuple(data["pitches"]),
        velocities=data["velocities"] or None,
    )
    rate = dataset.examples[0]["sample_rate"]
    if rate != cfg["audio"]["sample_rate"]:
        raise DatasetError(
            f"{data_dir} holds {rate} Hz notes but the config trains at {cfg['audio']['sample_rate']} Hz; "
            "set audio.sample_rate to the data's rate or render the data at the config's rate"
        )
    if dataset.frames is not None and dataset.frames < note_samples(cfg):
        raise DatasetError(
            f"{data_dir} holds notes of {dataset.frames} samples, shorter than the config's "
            f"{cfg['audio']['seconds']} s ({note_samples(cfg)} samples); lower audio.seconds"
        )
    present = {e["pitch"] for e in dataset.examples}
    missing = [p for p in pitch_list(cfg) if p not in present]
    if missing:
        raise DatasetError(
            f"{data_dir} has no selected note at pitch {', '.join(map(str, missing))} of the config's "
            f"range {cfg['data']['pitches']}; narrow data.pitches or widen the families/velocities filter"
        )
    return dataset


class CroppedNotes:
    """Map-style view: item i = (the note's first `samples` frames, float32; its pitch class index)."""

    def __init__(self, dataset: NSynthDataset, cfg: dict[str, Any]) -> None:
        self.dataset = dataset
        self.samples = note_samples(cfg)
        self.classes = {p: i for i, p in enumerate(pitch_list(cfg))}
        self.labels = np.array([self.classes[e["pitch"]] for e in dataset.examples], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        audio, _, _ = self.dataset[index]
        return np.ascontiguousarray(audio[: self.samples]), int(self.labels[index])

    def load_all(self) -> np.ndarray:
        return np.stack([self[i][0] for i in range(len(self))])


class BatchSchedule:
    """Which notes batch `step` holds on this rank: DistributedSampler's order for epoch step // per_epoch."""

    def __init__(self, notes: CroppedNotes, batch_size: int, seed: int, world_size: int, rank: int) -> None:
        from torch.utils.data import DistributedSampler

        self.sampler = DistributedSampler(
            notes, num_replicas=world_size, rank=rank, shuffle=True, seed=seed, drop_last=True
        )
        self.batch_size = batch_size
        self.per_epoch = len(self.sampler) // batch_size
        if self.per_epoch == 0:
            raise DatasetError(
                f"the data set has {len(notes)} notes, fewer than one batch of {batch_size} on each of "
                f"{world_size} process(es); lower train.batch_size or add notes"
            )
        self._epoch: int | None = None
        self._order: list[int] = []

    def indices(self, step: int) -> list[int]:
        epoch, position = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            self.sampler.set_epoch(epoch)
            self._order = list(self.sampler)
            self._epoch = epoch
        return self._order[position * self.batch_size : (position + 1) * self.batch_size]


def batches(
    notes: CroppedNotes, schedule: BatchSchedule, start_step: int, preload: bool, num_workers: int
) -> Iterator[tuple[Any, Any]]:
    """(audio (batch, samples), pitch class (batch,)) torch tensors for steps start_step, start_step+1, ..."""
    import torch
    from torch.utils.data import DataLoader

    if preload:
        audio = torch.from_numpy(notes.load_all())
        labels = torch.from_numpy(notes.labels)
        step = start_step
        while True:
            index = torch.tensor(schedule.indices(step))
            yield audio[index], labels[index]
            step += 1
    step = start_step
    while True:
        # One loader per epoch rest, over exactly the batches the schedule names from `step` on.
        epoch_end = (step // schedule.per_epoch + 1) * schedule.per_epoch
        plan = [schedule.indices(s) for s in range(step, epoch_end)]
        # Its own generator: a loader otherwise draws its worker seed from the global RNG, which would
        # make a resumed run's RNG state differ from the uninterrupted run's.
        seeded = torch.Generator().manual_seed(step)
        loader = DataLoader(notes, batch_sampler=plan, num_workers=num_workers, generator=seeded)
        for audio, labels in loader:
            yield audio, labels
        step = epoch_end
