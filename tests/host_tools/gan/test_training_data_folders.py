"""What a GAN run trains on: an NSynth-layout set or a plain folder of WAVs, and the count of what is
used and why the rest is not (training_data.open_notes, Selection)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from host_tools.errors import DatasetError
from host_tools.gan.config import note_samples
from host_tools.gan.eval_cli import real_notes
from host_tools.gan.run_dir import RunLayout
from host_tools.gan.trainer import GanTrainer
from host_tools.gan.training_data import CroppedNotes, NSynthNotes, WavFolderNotes, open_notes

from .micro import PITCHES, micro_config, write_micro_dataset


def _tone(pitch: int, seconds: float, rate: int, rolloff: float, lead: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    tone = sum(rolloff**k * np.sin(2 * np.pi * f0 * (k + 1) * t) for k in range(6)) * np.exp(-2 * t)
    return np.concatenate([np.zeros(int(lead * rate)), 0.4 * tone / np.max(np.abs(tone))]).astype(np.float32)


def write_wav_folder(root: Path, pitches: tuple[int, ...] = PITCHES, rate: int = 44100) -> Path:
    """An artist's folder: a bright and a mellow sound at each pitch, one sub-folder per sound."""
    for sound, rolloff in (("bright", 0.8), ("mellow", 0.3)):
        (root / sound).mkdir(parents=True, exist_ok=True)
        for pitch in pitches:
            soundfile.write(root / sound / f"{sound}_{pitch}.wav", _tone(pitch, 0.5, rate, rolloff), rate)
    return root


def _peak_hz(audio: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)), 8 * len(audio)))
    return float(np.argmax(spectrum) * rate / (8 * len(audio)))


def test_a_wav_folder_trains_at_estimated_pitches_resampled_to_the_config_rate(tmp_path: Path) -> None:
    folder = write_wav_folder(tmp_path / "sounds", rate=44100)
    cfg = micro_config()
    notes = open_notes(folder, cfg)
    assert isinstance(notes, WavFolderNotes) and notes.frames == note_samples(cfg)
    assert sorted(e["pitch"] for e in notes.examples) == [60, 60, 61, 61, 62, 62]
    assert {e["pitch_source"] for e in notes.examples} == {"estimated"}
    audio, pitch, meta = notes[0]
    assert audio.dtype == np.float32 and (meta["sample_rate"], meta["source_sample_rate"]) == (16000, 44100)
    # Resampled, not reinterpreted: the fundamental is where the pitch says at the config's rate.
    assert _peak_hz(audio, 16000) == pytest.approx(440.0 * 2.0 ** ((pitch - 69) / 12.0), rel=0.01)
    assert notes.selection.summary() == (
        f"{folder}: 6 notes given, 6 used; pitch 6 estimated; 6 resampled from 44100 Hz to 16000 Hz")
    cropped = CroppedNotes(notes, cfg)
    assert cropped.load_all().shape == (6, note_samples(cfg)) and sorted(cropped.labels) == [0, 0, 1, 1, 2, 2]


def test_a_pitch_csv_names_pitches_and_the_nsynth_filters_are_said_not_to_apply(tmp_path: Path) -> None:
    folder = write_wav_folder(tmp_path / "sounds")
    (folder / "pitches.csv").write_text("file,pitch\nbright/bright_60.wav,C#4\nmellow/mellow_62.wav,61\n")
    cfg = micro_config(**{"data.families": ["brass"], "data.velocities": [100]})
    notes = open_notes(folder, cfg)
    by_file = {e["note_str"]: (e["pitch"], e["pitch_source"]) for e in notes.examples}
    assert by_file["bright/bright_60"] == (61, "csv") and by_file["mellow/mellow_62"] == (61, "csv")
    assert by_file["bright/bright_61"] == (61, "estimated")
    assert notes.selection.remarks == (
        "data.families, data.velocities do not apply to a folder of audio files (ignored)",
        "pitch 2 from pitches.csv, 4 estimated",
        "6 resampled from 44100 Hz to 16000 Hz",
    )


def test_every_left_out_file_is_counted_under_its_reason(tmp_path: Path) -> None:
    folder = write_wav_folder(tmp_path / "sounds")
    soundfile.write(folder / "high.wav", _tone(72, 0.5, 16000, 0.5), 16000)  # outside [60, 62]
    soundfile.write(folder / "late.wav", _tone(61, 0.2, 16000, 0.5, lead=0.3), 16000)  # 0.2 s once trimmed
    noise = np.random.default_rng(3).uniform(-0.5, 0.5, 8000).astype(np.float32)
    soundfile.write(folder / "noise.wav", noise, 16000)
    (folder / "broken.wav").write_bytes(b"RIFF....WAVEfmt nonsense")
    selection = open_notes(folder, micro_config()).selection
    assert selection.summary() == (
        f"{folder}: 10 notes given, 6 used (1 unreadable, 1 shorter than the 0.25 s crop, 1 no pitch "
        "found, 1 outside pitches [60, 62]); give the unpitched files a pitch in pitches.csv "
        "(file,pitch) to use them; pitch 6 estimated; 6 resampled from 44100 Hz to 16000 Hz")
    record = selection.as_dict()
    assert record["layout"] == "wav_folder" and (record["given"], record["used"]) == (10, 6)
    assert {reason: entry["first"] for reason, entry in record["dropped"].items()} == {
        "unreadable": ["broken.wav"], "too_short": ["late.wav"], "no_pitch": ["noise.wav"],
        "outside_pitches": ["high.wav"]}
    json.dumps(record)


def test_an_nsynth_set_reports_what_its_filters_left_out(tmp_path: Path) -> None:
    data = write_micro_dataset(tmp_path / "set", pitches=(58, 60, 61, 62, 70))
    notes = open_notes(data, micro_config())
    assert isinstance(notes, NSynthNotes) and len(notes) == 6
    assert notes.selection.summary() == f"{data}: 10 notes given, 6 used (4 outside pitches [60, 62])"
    narrowed = open_notes(data, micro_config(**{"data.families": ["brass"]})).selection
    assert narrowed.summary() == (
        f"{data}: 10 notes given, 3 used (4 outside pitches [60, 62], 3 of another family)")
    assert narrowed.as_dict()["dropped"]["other_family"]["first"][0] == "flute_synthetic_001-060-100"


def test_a_folder_that_is_neither_layout_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("no audio here")
    with pytest.raises(DatasetError, match=r"is neither an NSynth-layout data set \(examples\.json is "
                                           r"missing\) nor a folder of audio files"):
        open_notes(tmp_path / "notes", micro_config())
    with pytest.raises(DatasetError, match="is not a directory"):
        open_notes(tmp_path / "absent", micro_config())


def test_a_folder_missing_a_trained_pitch_names_it_and_a_range_that_would_train(tmp_path: Path) -> None:
    folder = write_wav_folder(tmp_path / "sounds", pitches=(60, 61, 64))
    with pytest.raises(DatasetError) as caught:
        open_notes(folder, micro_config())
    message = str(caught.value)
    assert "6 notes given, 4 used (2 outside pitches [60, 62])" in message
    assert "no selected note at pitch 62 (D4) of the config's range [60, 62]" in message
    assert "--set data.pitches=[60,61]" in message
    with pytest.raises(DatasetError, match="No note is left to train on"):
        open_notes(folder, micro_config(**{"data.pitches": [70, 72], "train.audition_pitches": [70]}))


def test_a_run_trains_on_a_wav_folder_and_records_the_selection(tmp_path: Path, capsys) -> None:
    folder = write_wav_folder(tmp_path / "sounds")
    soundfile.write(folder / "high.wav", _tone(72, 0.5, 16000, 0.5), 16000)
    summary = GanTrainer(folder, micro_config(), tmp_path / "run", resume=False, progress=False).run(2)
    assert summary["step"] == 2 and summary["health"] == []
    line = f"{folder}: 7 notes given, 6 used (1 outside pitches [60, 62])"
    assert line in capsys.readouterr().err
    record = json.loads(RunLayout(tmp_path / "run").data_record.read_text())
    assert record["notes"] == 6 and record["selection"]["summary"].startswith(line)
    audio, pitches = real_notes(str(folder), micro_config(), 2)
    assert audio.shape == (6, note_samples(micro_config())) and pitches == [60, 60, 61, 61, 62, 62]
