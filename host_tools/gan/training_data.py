"""The notes a GAN run trains on: an NSynth-layout directory or a plain folder of audio files, filtered
and cropped as the config says, checked against the config before training, and served in an order that
depends only on (seed, step) (host training layer).

Artists train on what they have, so a folder of WAVs is as good as NSynth's layout (examples.json +
audio/): `open_notes` tells them apart by examples.json. Either way, what is left out is counted per
reason (`Selection`), printed by the trainer and kept in RUN/data.json, so a run on a third of the
notes says so instead of silently learning less.

Because batch k of the run is always the same notes, a resumed run sees exactly the data the
uninterrupted one would have, with no sampler state to save. The order is DistributedSampler's, so
under torchrun each rank draws its own disjoint share of every epoch.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from host_tools.data.nsynth_dataset import NSynthDataset
from host_tools.data.nsynth_fields import midi_name
from host_tools.data.wav_folder import AUDIO_SUFFIXES, WavFolderSource
from host_tools.errors import DatasetError
from host_tools.gan.config import GanConfig, note_samples, pitch_list

PITCH_CSV = "pitches.csv"  # in a WAV folder: `file,pitch` rows that override the estimated pitch
_NAMED = 5  # dropped notes named per reason in RUN/data.json; the rest are counted

# Why a note is left out, in the order a note is judged (it is counted under the first that applies).
REASONS = {
    "unreadable": "unreadable",
    "too_short": "shorter than the {seconds:g} s crop",
    "no_pitch": "no pitch found",
    "outside_pitches": "outside pitches [{low}, {high}]",
    "other_family": "of another family",
    "other_source": "of another source",
    "other_velocity": "of another velocity",
}


@dataclass(frozen=True)
class Selection:
    """How many notes a data set gave, how many training uses and why the rest were left out."""

    data_dir: str
    layout: str  # "nsynth" or "wav_folder"
    given: int
    used: int
    pitches: tuple[int, int]
    seconds: float
    dropped: dict[str, int] = field(default_factory=dict)  # REASONS key -> notes, only non-zero
    dropped_names: dict[str, list[str]] = field(default_factory=dict)  # REASONS key -> first few notes
    remarks: tuple[str, ...] = ()  # what else a person should know: ignored filters, resampling

    def reason_text(self, reason: str) -> str:
        return REASONS[reason].format(seconds=self.seconds, low=self.pitches[0], high=self.pitches[1])

    def summary(self) -> str:
        """One line, e.g. `DIR: 40 notes given, 16 used (24 outside pitches [60, 67])`."""
        line = f"{self.data_dir}: {self.given} notes given, {self.used} used"
        if self.dropped:
            line += f" ({', '.join(f'{n} {self.reason_text(r)}' for r, n in self.dropped.items())})"
        return "; ".join([line, *self.remarks])

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for RUN/data.json's "selection"."""
        return {
            "layout": self.layout, "given": self.given, "used": self.used,
            "dropped": {r: {"notes": n, "why": self.reason_text(r), "first": self.dropped_names.get(r, [])}
                        for r, n in self.dropped.items()},
            "remarks": list(self.remarks), "summary": self.summary(),
        }


def _make_selection(data_dir: str | os.PathLike[str], layout: str, cfg: GanConfig,
                    judged: list[tuple[str, str | None]], remarks: list[str]) -> Selection:
    """`judged`: (note name, reason it is left out or None) for every note the data set gave."""
    counts = Counter(reason for _, reason in judged if reason is not None)
    names: dict[str, list[str]] = {}
    for name, reason in judged:
        if reason is not None and len(names.setdefault(reason, [])) < _NAMED:
            names[reason].append(name)
    return Selection(
        data_dir=str(data_dir), layout=layout, given=len(judged), used=len(judged) - sum(counts.values()),
        pitches=(cfg.data.pitches[0], cfg.data.pitches[1]), seconds=cfg.audio.seconds,
        dropped={r: counts[r] for r in REASONS if counts[r]}, dropped_names=names, remarks=tuple(remarks),
    )


def _widest_covered(present: set[int], cfg: GanConfig) -> tuple[int, int] | None:
    """The widest run of consecutive config pitches that all have notes (a data.pitches that would train)."""
    best: tuple[int, int] | None = None
    start: int | None = None
    for pitch in pitch_list(cfg):
        if pitch not in present:
            start = None
            continue
        start = pitch if start is None else start
        if best is None or pitch - start > best[1] - best[0]:
            best = (start, pitch)
    return best


def _check_pitches_covered(selection: Selection, examples: tuple[dict[str, Any], ...],
                           cfg: GanConfig, hint: str) -> None:
    """One class per config pitch: a pitch without a note would be a class the critic never sees real."""
    present = {e["pitch"] for e in examples}
    missing = [p for p in pitch_list(cfg) if p not in present]
    if not missing:
        return
    widest = _widest_covered(present, cfg)
    narrow = (f"narrow data.pitches to pitches the data covers (the widest here: "
              f"--set data.pitches=[{widest[0]},{widest[1]}])" if widest else "narrow data.pitches")
    raise DatasetError(
        f"{selection.summary()}. It has no selected note at pitch {', '.join(map(str, missing))} "
        f"({', '.join(map(midi_name, missing))}) of the config's range {list(cfg.data.pitches)}; "
        f"{narrow} or {hint}"
    )


class NSynthNotes(NSynthDataset):
    """NSynthDataset filtered by the config, with a `selection` counting what the filters left out.

    It hooks the json read to count the whole set: the full NSynth json is ~300 000 entries, worth
    reading once, not twice. Only the selected entries are kept afterwards."""

    def __init__(self, root: str | os.PathLike[str], cfg: GanConfig) -> None:
        data = cfg.data
        self._read: dict[str, Any] = {}
        super().__init__(
            root,
            families=data.families or None,
            sources=data.sources or None,
            pitch_range=(data.pitches[0], data.pitches[1]),
            velocities=data.velocities or None,
        )
        entries, self._read = self._read, {}
        low, high = data.pitches
        families, sources, velocities = (set(getattr(data, k)) for k in ("families", "sources", "velocities"))

        def reason(entry: dict[str, Any]) -> str | None:
            if not low <= entry["pitch"] <= high:
                return "outside_pitches"
            if families and entry["instrument_family_str"] not in families:
                return "other_family"
            if sources and entry["instrument_source_str"] not in sources:
                return "other_source"
            if velocities and entry["velocity"] not in velocities:
                return "other_velocity"
            return None

        judged = [(key, reason(entries[key])) for key in sorted(entries)]
        self.selection = _make_selection(root, "nsynth", cfg, judged, [])

    def _read_json(self) -> dict[str, Any]:
        self._read = super()._read_json()
        return self._read


class _TolerantFolder(WavFolderSource):
    """WavFolderSource that notes the files it cannot read instead of refusing the whole folder: one
    broken file in an artist's folder should cost that note, named in the selection, not the run."""

    def _check_files(self) -> list[tuple[int, int]]:
        import soundfile

        self.unreadable: set[int] = set()
        headers = []
        for index, relative in enumerate(self.files):
            try:
                info = soundfile.info(str(self.root / relative))
            except (RuntimeError, OSError, ValueError):
                info = None
            if info is None or info.frames == 0:
                self.unreadable.add(index)
                headers.append((0, 0))
            else:
                headers.append((info.samplerate, info.frames))
        return headers


class WavFolderNotes:
    """A plain folder of audio files as training notes, mirroring NSynthDataset (`examples`, `frames`,
    items (float32 audio, MIDI pitch, metadata)) so CroppedNotes and `latent gan eval` take either.

    Each file is one note (WavFolderSource: mono, leading silence trimmed, resampled to the config's
    rate with scipy's resample_poly, peak-normalised). Its pitch comes from FOLDER/pitches.csv
    (`file,pitch`) or else YIN. Opening reads every file once to judge it, because a note that is
    unreadable, shorter than the crop (after its silence is trimmed: padding would teach the GAN
    digital silence), unpitched or outside data.pitches is left out, counted in `selection`.
    """

    def __init__(self, root: str | os.PathLike[str], cfg: GanConfig) -> None:
        rate, crop = cfg.audio.sample_rate, note_samples(cfg)
        csv_path = Path(root) / PITCH_CSV
        self.sample_rate = rate
        self.source = _TolerantFolder(root, sample_rate=rate, seconds=cfg.audio.seconds,
                                      pitches_csv=csv_path if csv_path.is_file() else None)
        self.frames: int | None = self.source.frames
        low, high = cfg.data.pitches
        self.index: list[int] = []
        examples: list[dict[str, Any]] = []
        judged: list[tuple[str, str | None]] = []
        for index, relative in enumerate(self.source.files):
            reason, meta = self._judge(index, crop)
            if reason is None and not low <= meta["pitch"] <= high:
                reason = "outside_pitches"
            judged.append((relative.as_posix(), reason))
            if reason is None:
                self.index.append(index)
                # Each file counts as its own instrument (what `latent gan eval` spreads its notes over).
                examples.append({**meta, "instrument_str": meta["note_str"]})
        self._examples = tuple(examples)
        remarks = self._remarks(cfg, csv_path, judged)
        self.selection = _make_selection(root, "wav_folder", cfg, judged, remarks)

    def _judge(self, index: int, crop: int) -> tuple[str | None, dict[str, Any]]:
        """(why the file is left out or None, its metadata) before the pitch-range test. The file is
        read once: its trimmed length is judged before the folder's fixed length hides it."""
        if index in self.source.unreadable:
            return "unreadable", {}
        try:
            mono, rate = self.source.read_trimmed(index)
        except DatasetError:
            return "unreadable", {}
        # resample_poly's output length: ceil(frames * to / from)
        if -(-len(mono) * self.sample_rate // rate) < crop:
            return "too_short", {}
        try:
            _, _, meta = self.source.item(index, self.source.finish(mono, rate))  # pitch: CSV, else YIN
        except DatasetError:  # the file was read, so what fails here is the pitch
            return "no_pitch", {}
        return None, meta

    def _remarks(self, cfg: GanConfig, csv_path: Path,
                 judged: list[tuple[str, str | None]]) -> list[str]:
        ignored = [f"data.{k}" for k in ("families", "sources", "velocities") if getattr(cfg.data, k)]
        remarks = []
        if any(reason == "no_pitch" for _, reason in judged):
            remarks.append(f"give the unpitched files a pitch in {PITCH_CSV} (file,pitch) to use them")
        if ignored:
            remarks.append(f"{', '.join(ignored)} do not apply to a folder of audio files (ignored)")
        origins = Counter(e["pitch_source"] for e in self._examples)
        if origins:
            named = {"csv": f"from {csv_path.name}", "estimated": "estimated", "default": "default"}
            remarks.append("pitch " + ", ".join(f"{n} {named.get(o, o)}" for o, n in sorted(origins.items())))
        resampled = Counter(e["source_sample_rate"] for e in self._examples
                            if e["source_sample_rate"] != self.sample_rate)
        if resampled:
            rates = "/".join(str(r) for r in sorted(resampled))
            remarks.append(f"{sum(resampled.values())} resampled from {rates} Hz to {self.sample_rate} Hz")
        return remarks

    @property
    def examples(self) -> tuple[dict[str, Any], ...]:
        return self._examples

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int, dict[str, Any]]:
        return self.source[self.index[index]]


TrainingNotes = NSynthNotes | WavFolderNotes


def _holds_audio(root: Path) -> bool:
    return any(p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES for p in root.rglob("*"))


def open_notes(data_dir: str | os.PathLike[str], cfg: GanConfig) -> TrainingNotes:
    """The notes of `data_dir` the config trains on, its `selection` saying what was left out and why.

    examples.json present: NSynth's layout; otherwise a folder of audio files. DatasetError if it is
    neither, if nothing is left, or if a pitch of data.pitches has no note (a class with no real notes).
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise DatasetError(
            f"{root} is not a directory; give a data set directory (examples.json + audio/*.wav, as "
            "NSynth or `latent data render` make) or a folder of your own .wav/.flac/.aiff notes"
        )
    if (root / "examples.json").is_file():
        return _open_nsynth(data_dir, cfg)
    if not _holds_audio(root):
        raise DatasetError(
            f"{root} is neither an NSynth-layout data set (examples.json is missing) nor a folder of "
            f"audio files (no {', '.join(AUDIO_SUFFIXES)} inside); render one with `latent data render` "
            "or put your own notes there, one note per file"
        )
    return _open_wav_folder(data_dir, cfg)


def _open_nsynth(data_dir: str | os.PathLike[str], cfg: GanConfig) -> NSynthNotes:
    dataset = NSynthNotes(data_dir, cfg)
    rate = dataset.examples[0]["sample_rate"]
    if rate != cfg.audio.sample_rate:
        raise DatasetError(
            f"{data_dir} holds {rate} Hz notes but the config trains at {cfg.audio.sample_rate} Hz; "
            "set audio.sample_rate to the data's rate or render the data at the config's rate"
        )
    if dataset.frames is not None and dataset.frames < note_samples(cfg):
        raise DatasetError(
            f"{data_dir} holds notes of {dataset.frames} samples, shorter than the config's "
            f"{cfg.audio.seconds} s ({note_samples(cfg)} samples); lower audio.seconds"
        )
    _check_pitches_covered(dataset.selection, dataset.examples, cfg,
                           "widen the families/velocities filter")
    return dataset


def _open_wav_folder(data_dir: str | os.PathLike[str], cfg: GanConfig) -> WavFolderNotes:
    notes = WavFolderNotes(data_dir, cfg)
    if len(notes) == 0:
        raise DatasetError(
            f"{notes.selection.summary()}. No note is left to train on; give the unpitched sounds a "
            f"pitch in {Path(data_dir) / PITCH_CSV} (file,pitch), lower audio.seconds for short "
            "sounds or widen data.pitches"
        )
    _check_pitches_covered(notes.selection, notes.examples, cfg,
                           f"add notes at those pitches (or correct their pitch in {PITCH_CSV})")
    return notes


class CroppedNotes:
    """Map-style view: item i = (the note's first `samples` frames, float32; its pitch class index)."""

    def __init__(self, dataset: TrainingNotes, cfg: GanConfig) -> None:
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
