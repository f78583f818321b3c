"""A map-style dataset over any directory in NSynth's layout: examples.json + audio/<note_str>.wav
(host data layer). The real NSynth json/wav release and our own renders read the same way.

Opening it checks everything it can without decoding audio (the json, every selected file's presence and
WAV header: readable, mono, sample rate, length) and raises one DatasetError that names each faulty file
by kind. Audio is read lazily, one note per __getitem__, so a 300 000-note set needs no more memory than
its json. It works as a PyTorch map-style dataset (len + getitem, picklable for DataLoader workers) but
never imports torch: items are (float32 numpy audio, int MIDI pitch, metadata dict), and the metadata
holds only fixed-shape fields so torch's default collate can batch it (`example(i)` has the full entry).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from device.errors import ConfigError
from host_tools.data.nsynth_fields import FAMILIES, QUALITIES, REQUIRED_FIELDS, SOURCES
from host_tools.errors import DatasetError

_STRING_FIELDS = ("note_str", "instrument_str", "instrument_family_str", "instrument_source_str")
_INT_FIELDS = ("pitch", "velocity", "sample_rate")
_SHOWN = 5  # offenders named per kind of fault; the rest are counted


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _entry_fault(key: str, entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return f"{key}: not a table of fields"
    missing = [f for f in REQUIRED_FIELDS if f not in entry]
    if missing:
        return f"{key}: lacks {', '.join(missing)}"
    wrong = [f for f in _STRING_FIELDS if not isinstance(entry[f], str)]
    wrong += [f for f in _INT_FIELDS if not _is_int(entry[f])]
    if wrong:
        return f"{key}: wrong type for {', '.join(wrong)}"
    if entry["note_str"] != key:
        return f"{key}: its note_str is {entry['note_str']!r}"
    if not 0 <= entry["pitch"] <= 127 or entry["sample_rate"] <= 0:
        return f"{key}: pitch {entry['pitch']} or sample_rate {entry['sample_rate']} out of range"
    return None


def _metadata(entry: dict[str, Any]) -> dict[str, Any]:
    """The fixed-shape part of an entry; numeric fields derived from the names where a set omits them."""
    family, source = entry["instrument_family_str"], entry["instrument_source_str"]
    qualities = entry.get("qualities")
    if not (isinstance(qualities, list) and len(qualities) == len(QUALITIES)):
        named = set(entry.get("qualities_str") or ())
        qualities = [int(q in named) for q in QUALITIES]
    return {
        "note_str": entry["note_str"],
        "pitch": entry["pitch"],
        "velocity": entry["velocity"],
        "sample_rate": entry["sample_rate"],
        "instrument_str": entry["instrument_str"],
        "instrument_family_str": family,
        "instrument_source_str": source,
        "instrument": entry.get("instrument", -1),
        "instrument_family": entry.get(
            "instrument_family", FAMILIES.index(family) if family in FAMILIES else -1
        ),
        "instrument_source": entry.get(
            "instrument_source", SOURCES.index(source) if source in SOURCES else -1
        ),
        "note": entry.get("note", -1),
        "qualities": [int(q) for q in qualities],
    }


def _check_names(kind: str, chosen: Iterable[str] | None, known: Iterable[str]) -> set[str] | None:
    if chosen is None:
        return None
    chosen = {chosen} if isinstance(chosen, str) else set(chosen)
    unknown = sorted(chosen - set(known))
    if unknown:
        raise ConfigError(f"unknown instrument {kind} {', '.join(unknown)}; choose from {', '.join(known)}")
    return chosen


def _fault_report(faults: dict[str, list[str]], selected: int) -> str:
    parts = []
    for kind, items in faults.items():
        if items:
            shown = "; ".join(items[:_SHOWN]) + (
                f"; and {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
            )
            parts.append(f"{kind} in {len(items)} of {selected} examples ({shown})")
    return ". ".join(parts)


class NSynthDataset:
    """Notes of an NSynth-layout directory, filtered; items are (audio, pitch, metadata)."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        families: Iterable[str] | None = None,
        sources: Iterable[str] | None = None,
        pitch_range: tuple[int, int] | None = None,
        velocities: Iterable[int] | None = None,
        sample_rate: int | None = None,
        seconds: float | None = None,
        check_headers: bool = True,
    ) -> None:
        """`sample_rate` / `seconds` demand that rate and length of every file; when None, the files must
        match the rate their json entry states and all share one length. `check_headers=False` only
        checks that the files exist (faster on the full NSynth; a bad file then fails when read)."""
        self.root = Path(root)
        self.audio_dir = self.root / "audio"
        entries = self._read_json()
        chosen_families = _check_names("family", families, FAMILIES)
        chosen_sources = _check_names("source", sources, SOURCES)
        chosen_velocities = None if velocities is None else set(velocities)
        if pitch_range is not None and not 0 <= pitch_range[0] <= pitch_range[1] <= 127:
            raise ConfigError(f"pitch_range {pitch_range} must be (low, high) with 0 <= low <= high <= 127")

        bad_entries = [fault for key, entry in entries.items() if (fault := _entry_fault(key, entry))]
        if bad_entries:
            raise DatasetError(
                f"{self.root / 'examples.json'}: "
                f"{_fault_report({'malformed entries': bad_entries}, len(entries))}; "
                "fix or remove those entries (NSynth's fields are named in host_tools.data."
                "nsynth_fields)"
            )
        selected = [
            entries[key]
            for key in sorted(entries)
            if (chosen_families is None or entries[key]["instrument_family_str"] in chosen_families)
            and (chosen_sources is None or entries[key]["instrument_source_str"] in chosen_sources)
            and (pitch_range is None or pitch_range[0] <= entries[key]["pitch"] <= pitch_range[1])
            and (chosen_velocities is None or entries[key]["velocity"] in chosen_velocities)
        ]
        if not selected:
            present = sorted({e["instrument_family_str"] for e in entries.values()})
            raise DatasetError(
                f"{self.root}: no example matches the filter (families={families}, "
                f"sources={sources}, pitch_range={pitch_range}, velocities={velocities}); "
                f"the set has {len(entries)} examples of {', '.join(present) or 'no family'}"
            )
        self.sample_rate = sample_rate
        self.frames = (
            None if seconds is None else round(seconds * (sample_rate or selected[0]["sample_rate"]))
        )
        self._validate_files(selected, check_headers)
        self._examples: tuple[dict[str, Any], ...] = tuple(selected)
        self._metadata = tuple(_metadata(e) for e in selected)

    def _read_json(self) -> dict[str, Any]:
        path = self.root / "examples.json"
        if not self.root.is_dir():
            raise DatasetError(
                f"{self.root} is not a directory; give a data set directory "
                "(examples.json + audio/*.wav, as NSynth or `latent data render` make)"
            )
        if not path.is_file():
            raise DatasetError(
                f"{path} is missing: {self.root} is not in NSynth's layout (examples.json + "
                "audio/*.wav); render one with `latent data render` or point at NSynth's json release"
            )
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise DatasetError(
                f"{path} is unreadable json ({err}); restore it from the original download "
                "or render the set again"
            ) from None
        if not isinstance(data, dict):
            raise DatasetError(
                f"{path} must map note_str to its fields (as NSynth's does), not hold a {type(data).__name__}"
            )
        return data

    def _validate_files(self, selected: Sequence[dict[str, Any]], check_headers: bool) -> None:
        try:
            present = set(os.listdir(self.audio_dir))
        except OSError:
            present = set()
        faults: dict[str, list[str]] = {
            "missing audio": [],
            "unreadable audio": [],
            "not mono": [],
            "wrong sample rate": [],
            "wrong length": [],
        }
        lengths: dict[str, int] = {}
        for entry in selected:
            name = f"{entry['note_str']}.wav"
            if name not in present:
                faults["missing audio"].append(f"audio/{name}")
                continue
            if not check_headers:
                continue
            info = self._info(entry)
            if isinstance(info, str):
                faults["unreadable audio"].append(f"audio/{name}: {info}")
                continue
            channels, rate, frames = info
            wanted_rate = self.sample_rate or entry["sample_rate"]
            if channels != 1:
                faults["not mono"].append(f"audio/{name}: {channels} channels")
            if rate != wanted_rate or entry["sample_rate"] != wanted_rate:
                faults["wrong sample rate"].append(
                    f"audio/{name}: {rate} Hz, examples.json says {entry['sample_rate']}, "
                    f"wanted {wanted_rate}"
                )
            lengths[name] = frames
        if self.sample_rate is None and check_headers:
            rates = Counter(e["sample_rate"] for e in selected)
            if len(rates) > 1:
                common = rates.most_common(1)[0][0]
                faults["wrong sample rate"] += [
                    f"{e['note_str']}: {e['sample_rate']} Hz where the set uses {common}"
                    for e in selected
                    if e["sample_rate"] != common
                ]
        if lengths:
            expected = self.frames or Counter(lengths.values()).most_common(1)[0][0]
            faults["wrong length"] = [
                f"audio/{n}: {f} frames, not {expected}" for n, f in lengths.items() if f != expected
            ]
            self.frames = expected
        if any(faults.values()):
            raise DatasetError(
                f"{self.root}: {_fault_report(faults, len(selected))}. Render or download those "
                "files again, or remove their entries from examples.json"
            )

    def _info(self, entry: dict[str, Any]) -> tuple[int, int, int] | str:
        import soundfile

        try:
            info = soundfile.info(str(self.path_of(entry)))
        except (RuntimeError, OSError, ValueError) as err:  # soundfile raises LibsndfileError(RuntimeError)
            return str(err).splitlines()[0] if str(err) else type(err).__name__
        return info.channels, info.samplerate, info.frames

    def path_of(self, entry: dict[str, Any]) -> Path:
        return self.audio_dir / f"{entry['note_str']}.wav"

    def __len__(self) -> int:
        return len(self._examples)

    def example(self, index: int) -> dict[str, Any]:
        """The note's full examples.json entry (qualities_str included)."""
        return dict(self._examples[index])

    @property
    def examples(self) -> tuple[dict[str, Any], ...]:
        return self._examples

    def __getitem__(self, index: int) -> tuple[np.ndarray, int, dict[str, Any]]:
        import soundfile

        entry = self._examples[index]
        path = self.path_of(entry)
        try:
            audio, rate = soundfile.read(str(path), dtype="float32", always_2d=False)
        except (RuntimeError, OSError, ValueError) as err:
            raise DatasetError(f"{path} became unreadable after the data set was opened ({err})") from None
        if (
            audio.ndim != 1
            or rate != (self.sample_rate or entry["sample_rate"])
            or (self.frames is not None and len(audio) != self.frames)
        ):
            raise DatasetError(
                f"{path} changed after the data set was opened (now {audio.shape} at {rate} Hz); "
                "open the data set again"
            )
        meta = self._metadata[index]
        return audio, meta["pitch"], dict(meta)
