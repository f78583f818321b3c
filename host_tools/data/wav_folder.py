"""Artists' own sounds: a plain folder of audio files as a dataset like NSynthDataset (host data layer).

Every file (WAV, FLAC, AIFF; any rate, any channel count; sub-folders included) becomes one note:
mixed to mono, its leading silence trimmed, resampled to the set's rate (scipy's polyphase
resample_poly), cut (with a short fade) or zero-padded to a fixed length and peak-normalised like the
rendered notes. The pitch comes from an optional CSV (`file,pitch`; pitch as a MIDI number or a note
name such as C4, file relative to the folder) or else is estimated with YIN.

Files are checked (readable, not empty, CSV consistent) on open and read lazily per item; items are
(float32 audio, int MIDI pitch, metadata dict), as NSynthDataset gives them.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import numpy as np

from device.errors import ConfigError
from host_tools.data.audio_ops import fix_length, leading_silence_frames, peak_normalize, resample, to_mono
from host_tools.data.nsynth_fields import hz_to_midi, midi_to_hz, parse_midi_note
from host_tools.data.pitch_estimation import estimate_pitch
from host_tools.errors import DatasetError

AUDIO_SUFFIXES = (".wav", ".wave", ".flac", ".aif", ".aiff")
_SHOWN = 5


class WavFolderSource:
    """Notes from a folder of audio files, resampled and cut to one length; items are (audio, pitch, meta)."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        sample_rate: int = 16000,
        seconds: float = 4.0,
        pitches_csv: str | os.PathLike[str] | None = None,
        default_pitch: int | None = None,
        trim_silence: bool = True,
        normalize: bool = True,
    ) -> None:
        """`default_pitch` is used for sounds whose pitch cannot be estimated (drums, noise); without it
        such a sound is a DatasetError when read, naming the file."""
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"{self.root} is not a folder; give a folder of .wav/.flac/.aiff files")
        if not 8000 <= sample_rate <= 96000 or not 0.05 <= seconds <= 60.0:
            raise ConfigError(
                f"sample_rate {sample_rate} must be 8000..96000 Hz and seconds {seconds} 0.05..60"
            )
        if default_pitch is not None and not 0 <= default_pitch <= 127:
            raise ConfigError(f"default_pitch {default_pitch} must be a MIDI note 0..127")
        self.sample_rate = int(sample_rate)
        self.frames = round(seconds * sample_rate)
        self.default_pitch = default_pitch
        self.trim_silence = trim_silence
        self.normalize = normalize
        self.files = sorted(
            p.relative_to(self.root)
            for p in self.root.rglob("*")
            if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES and not p.name.startswith(".")
        )
        if not self.files:
            raise DatasetError(
                f"{self.root} holds no audio files ({', '.join(AUDIO_SUFFIXES)}); "
                "put the sounds to learn from there"
            )
        self._headers = self._check_files()
        self._given = self._read_csv(Path(pitches_csv)) if pitches_csv is not None else {}
        self._estimated: dict[int, float | None] = {}

    def _check_files(self) -> list[tuple[int, int]]:
        import soundfile

        headers, faults = [], []
        for relative in self.files:
            try:
                info = soundfile.info(str(self.root / relative))
            except (RuntimeError, OSError, ValueError) as err:
                faults.append(f"{relative}: unreadable ({str(err).splitlines()[0] if str(err) else err!r})")
                continue
            if info.frames == 0:
                faults.append(f"{relative}: holds no audio")
            headers.append((info.samplerate, info.frames))
        if faults:
            more = f"; and {len(faults) - _SHOWN} more" if len(faults) > _SHOWN else ""
            raise DatasetError(
                f"{self.root}: {len(faults)} of {len(self.files)} files cannot be used "
                f"({'; '.join(faults[:_SHOWN])}{more}); convert or remove them"
            )
        return headers

    def _read_csv(self, path: Path) -> dict[Path, int]:
        if not path.is_file():
            raise DatasetError(f"pitch CSV {path} does not exist; give a file with columns file,pitch")
        known = set(self.files)
        given: dict[Path, int] = {}
        try:
            with open(path, newline="", encoding="utf-8") as handle:
                rows = list(csv.reader(handle))
        except (OSError, UnicodeDecodeError, csv.Error) as err:
            raise DatasetError(f"pitch CSV {path} is unreadable ({err})") from None
        if not rows or [c.strip().lower() for c in rows[0][:2]] != ["file", "pitch"]:
            raise DatasetError(f"{path}: the first line must be the header `file,pitch`")
        for line, row in enumerate(rows[1:], start=2):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2:
                raise DatasetError(f"{path} line {line}: needs a file and a pitch, got {row!r}")
            relative = Path(row[0].strip())
            try:
                pitch = parse_midi_note(row[1])
            except ValueError as err:
                raise DatasetError(f"{path} line {line}: {err}") from None
            if relative not in known:
                raise DatasetError(f"{path} line {line}: {relative} is not an audio file in {self.root}")
            if relative in given:
                raise DatasetError(f"{path} line {line}: {relative} is listed twice")
            given[relative] = pitch
        return given

    def __len__(self) -> int:
        return len(self.files)

    def read_trimmed(self, index: int) -> tuple[np.ndarray, int]:
        """(the file as mono at its own rate, leading silence trimmed if asked, its rate)."""
        import soundfile

        path = self.root / self.files[index]
        try:
            audio, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        except (RuntimeError, OSError, ValueError) as err:
            raise DatasetError(f"{path} became unreadable after the folder was opened ({err})") from None
        mono = to_mono(audio)
        if self.trim_silence:
            mono = mono[leading_silence_frames(mono, rate) :]
        return mono, rate

    def finish(self, mono: np.ndarray, rate: int) -> np.ndarray:
        """read_trimmed's audio at the folder's rate and length, normalised if asked."""
        audio = fix_length(resample(mono, rate, self.sample_rate), self.frames, self.sample_rate)
        return peak_normalize(audio) if self.normalize else audio

    def _load(self, index: int) -> np.ndarray:
        return self.finish(*self.read_trimmed(index))

    def _pitch(self, index: int, audio: np.ndarray) -> tuple[int, str, float]:
        relative = self.files[index]
        if relative in self._given:
            pitch = self._given[relative]
            return pitch, "csv", midi_to_hz(pitch)
        if index not in self._estimated:
            found = estimate_pitch(audio, self.sample_rate)
            self._estimated[index] = None if found is None else found.hz
        hz = self._estimated[index]
        if hz is not None and 0 <= (estimated := round(hz_to_midi(hz))) <= 127:
            return estimated, "estimated", hz
        if self.default_pitch is not None:
            return self.default_pitch, "default", midi_to_hz(self.default_pitch)
        raise DatasetError(
            f"{self.root / relative} has no clear pitch; give it one in the pitch CSV "
            "(file,pitch) or set a default pitch for unpitched sounds"
        )

    def __getitem__(self, index: int) -> tuple[np.ndarray, int, dict[str, Any]]:
        return self.item(index, self._load(index))

    def item(self, index: int, audio: np.ndarray) -> tuple[np.ndarray, int, dict[str, Any]]:
        """(audio, pitch, metadata) of file `index` whose finished audio is `audio`."""
        pitch, origin, hz = self._pitch(index, audio)
        rate, frames = self._headers[index]
        meta = {
            "note_str": self.files[index].with_suffix("").as_posix(),
            "path": str(self.root / self.files[index]),
            "pitch": pitch,
            "pitch_source": origin,
            "pitch_hz": float(hz),
            "sample_rate": self.sample_rate,
            "source_sample_rate": rate,
            "source_frames": frames,
        }
        return audio, pitch, meta
