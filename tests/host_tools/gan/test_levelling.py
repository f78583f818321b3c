"""Generated notes are levelled like the training notes and never reach full scale (levelling.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from device.errors import ConfigError
from host_tools.bank.loudness import to_db
from host_tools.gan.audition import write_audition
from host_tools.gan.levelling import (
    CEILING,
    active_rms,
    data_level,
    level_notes,
    notes_level,
    run_level,
)
from host_tools.gan.run_dir import RunLayout

from .micro import micro_config

RATE = 16000
LIMIT = CEILING * (1 + 1e-6)  # -1 dBFS, 0.8913, float32 rounding allowed
LSB = 1 / 32768


def _tone(peak: float, seconds: float = 1.0, f0: float = 261.6, decay: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    tone = np.sin(2 * np.pi * f0 * t) + 0.5 * np.sin(2 * np.pi * 2 * f0 * t)
    note = tone * np.exp(-decay * t)
    return (peak * note / np.max(np.abs(note))).astype(np.float32)


def _training_notes() -> np.ndarray:
    """Notes at -12 .. -6 dBFS peak with a silent tail (NSynth-like release)."""
    notes = np.stack([_tone(p) for p in (0.25, 0.3, 0.4, 0.5)])
    notes[:, RATE // 2:] = 0.0
    return notes


def test_data_level_records_median_rms_and_peaks_over_the_active_part() -> None:
    notes = _training_notes()
    level = data_level(notes)
    assert level["notes"] == 4
    assert level["peak"] == pytest.approx(np.median([0.25, 0.3, 0.4, 0.5]), abs=1e-4)
    assert level["peak_p90"] == pytest.approx(np.percentile([0.25, 0.3, 0.4, 0.5], 90), abs=1e-4)
    # The silent half does not count: the RMS is that of the sounding half alone.
    sounding = notes[:, : RATE // 2]
    whole_rms = float(np.median(to_db(np.sqrt(np.mean(sounding**2, axis=1)))))
    assert level["rms_dbfs"] == pytest.approx(whole_rms, abs=0.5)
    # A silent training note says nothing about the level and is left out.
    assert data_level(np.concatenate([notes, np.zeros((3, RATE), np.float32)])) == level


def test_a_note_twenty_times_full_scale_comes_out_at_the_data_level_below_minus_one_dbfs() -> None:
    level = data_level(_training_notes())
    loud = _tone(20.0)
    out = level_notes(loud[None], level)[0]
    assert np.max(np.abs(out)) <= LIMIT
    assert float(to_db(active_rms(out)[0])) == pytest.approx(level["rms_dbfs"], abs=0.01)


def test_a_quiet_note_is_raised_to_the_data_level_but_not_past_minus_one_dbfs() -> None:
    level = data_level(_training_notes())
    quiet = _tone(0.001)
    out = level_notes(quiet, level)
    assert out.shape == quiet.shape and out.dtype == np.float32
    assert float(to_db(active_rms(out)[0])) == pytest.approx(level["rms_dbfs"], abs=0.01)
    # A spiky note (crest factor far above the data's) reaches the ceiling first and stops there.
    spiky = np.zeros(RATE, np.float32)
    spiky[::4000] = 0.001
    raised = level_notes(spiky, level)
    assert np.max(np.abs(raised)) == pytest.approx(CEILING, rel=1e-5)
    assert float(to_db(active_rms(raised)[0])) < level["rms_dbfs"]


def test_levelling_is_a_pure_gain_per_note() -> None:
    level = data_level(_training_notes())
    notes = np.stack([_tone(20.0), _tone(0.01, f0=400.0, decay=5.0), _tone(0.5)])
    out = level_notes(notes, level)
    for before, after in zip(notes, out, strict=True):
        gain = float(np.dot(after, before) / np.dot(before, before))
        np.testing.assert_allclose(after, gain * before, atol=1e-6)


def test_without_a_target_only_the_peak_safety_applies() -> None:
    inside = _tone(0.3)
    np.testing.assert_array_equal(level_notes(inside, None), inside)
    out = level_notes(_tone(28.0), None)
    assert np.max(np.abs(out)) == pytest.approx(CEILING, rel=1e-5)


def test_silence_stays_silence_and_nan_is_a_broken_model() -> None:
    level = data_level(_training_notes())
    np.testing.assert_array_equal(level_notes(np.zeros((2, 100), np.float32), level), 0.0)
    notes = np.stack([_tone(0.5), _tone(0.5), _tone(0.5)])
    notes[2, 10] = np.nan
    notes[1, 3] = np.inf
    with pytest.raises(ValueError, match=r"generated note 1, 2 \(of 3\) holds NaN or infinite"):
        level_notes(notes, level)


def test_notes_level_reads_all_preloaded_notes_or_an_even_sample() -> None:
    items = [(_tone(p, seconds=0.1), 0) for p in np.linspace(0.1, 0.9, 9)]
    everything = notes_level(items, preload=True)
    assert everything["notes"] == 9 and everything["peak"] == pytest.approx(0.5, abs=1e-4)
    sample = notes_level(items, preload=False, limit=3)  # notes 0, 4, 8
    assert sample["notes"] == 3 and sample["peak"] == pytest.approx(0.5, abs=1e-4)


def test_run_level_reads_the_record_and_tolerates_an_old_run(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path)
    assert run_level(tmp_path) is None  # no data.json at all
    layout.data_record.write_text(json.dumps({"data_dir": "/x", "notes": 3}))
    assert run_level(tmp_path) is None  # trained before the level was recorded
    layout.data_record.write_text(json.dumps({"data_dir": "/x", "notes": 3, "level": {"rms_dbfs": -20.0}}))
    assert run_level(tmp_path) == {"rms_dbfs": -20.0}
    layout.data_record.write_text(json.dumps({"level": {"peak": 0.3}}))
    with pytest.raises(ConfigError, match="'level' is damaged"):
        run_level(tmp_path)


class _Generator:
    """Stands in for a network: write_audition only switches its mode."""

    training = True

    def eval(self) -> None:
        self.training = False

    def train(self, mode: bool) -> None:
        self.training = mode


def test_auditions_are_levelled_to_the_runs_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = micro_config()
    samples = int(cfg.audio.seconds * cfg.audio.sample_rate)
    loud = np.stack([_tone(p, seconds=samples / RATE) for p in (21.0, 28.0)])
    monkeypatch.setattr("host_tools.gan.run_dir.generate_audio", lambda *_: loud.copy())
    level = {"rms_dbfs": -18.0, "peak": 0.3, "peak_p90": 0.4, "notes": 6}
    RunLayout(tmp_path).data_record.write_text(json.dumps({"data_dir": "/x", "notes": 6, "level": level}))

    path = write_audition(RunLayout(tmp_path).samples / "step_00000002.wav", _Generator(), cfg)
    audio, rate = soundfile.read(path)
    assert np.max(np.abs(audio)) <= CEILING + LSB
    notes = [audio[: len(loud[0])], audio[len(loud[0]) + int(0.25 * rate):][: len(loud[0])]]
    for note in notes:
        assert float(to_db(active_rms(note)[0])) == pytest.approx(-18.0, abs=0.05)

    # A target passed in is used as is; none recorded anywhere leaves only the peak safety.
    other = write_audition(tmp_path / "elsewhere" / "a.wav", _Generator(), cfg, level={"rms_dbfs": -30.0})
    first = soundfile.read(other)[0][: len(loud[0])]
    assert float(to_db(active_rms(first)[0])) == pytest.approx(-30.0, abs=0.05)
    bare = write_audition(tmp_path / "bare" / "samples" / "a.wav", _Generator(), cfg)
    assert np.max(np.abs(soundfile.read(bare)[0])) == pytest.approx(CEILING, abs=LSB)
