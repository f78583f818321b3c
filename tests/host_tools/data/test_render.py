"""Rendering real notes with the real fluidsynth and a real General MIDI soundfont into NSynth's layout."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile

from host_tools.data.audio_ops import PEAK_TARGET
from host_tools.data.gm_programs import GM_PROGRAMS
from host_tools.data.nsynth_fields import ALL_FIELDS, FAMILIES, QUALITIES, SOURCES
from host_tools.data.recipe import parse_recipe
from host_tools.data.render import RenderReport, classify_render, render_dataset
from host_tools.errors import DatasetError

from .conftest import SILENT_NOTE, SMALL_PITCHES, SMALL_PROGRAMS, small_recipe
from .spectral_pitch import dominant_midi_pitch

NOTE_STR = re.compile(r"^([a-z_]+)_(acoustic|electronic|synthetic)_(\d{3})-(\d{3})-(\d{3})$")


def _examples(out: Path) -> dict:
    return json.loads((out / "examples.json").read_text())


def test_every_pitched_note_sounds_within_50_cents_of_its_midi_pitch(small_render: tuple[Path, RenderReport]):
    out, _ = small_render
    examples = _examples(out)
    assert len(examples) == len(SMALL_PROGRAMS) * len(SMALL_PITCHES)
    for name, entry in examples.items():
        audio, rate = soundfile.read(out / "audio" / f"{name}.wav", dtype="float32")
        cents = 100.0 * (dominant_midi_pitch(audio, rate) - entry["pitch"])
        assert abs(cents) < 50.0, f"{name} sounds {cents:+.0f} cents off its MIDI pitch"


def test_files_have_the_exact_length_rate_and_format(small_render: tuple[Path, RenderReport]):
    out, _ = small_render
    wavs = sorted((out / "audio").glob("*.wav"))
    assert [w.stem for w in wavs] == sorted(_examples(out))
    for wav in wavs:
        info = soundfile.info(wav)
        assert (info.samplerate, info.frames, info.channels) == (16000, 64000, 1)
        assert (info.format, info.subtype) == ("WAV", "PCM_16")
        samples, _ = soundfile.read(wav, dtype="int16")
        # Level-normalised per note: every note peaks at -1 dBFS, after the 10 ms end fade.
        assert np.abs(samples.astype(np.int32)).max() == round(PEAK_TARGET * 32767)
        assert abs(int(samples[-1])) <= 1


def test_json_has_exactly_nsynths_fields_consistent_with_the_gm_table(
    small_render: tuple[Path, RenderReport],
):
    out, _ = small_render
    for name, entry in _examples(out).items():
        assert set(entry) == set(ALL_FIELDS)
        family, source, number, pitch, velocity = NOTE_STR.match(name).groups()
        assert entry["note_str"] == name
        assert entry["instrument_str"] == f"{family}_{source}_{number}"
        assert (entry["pitch"], entry["velocity"]) == (int(pitch), int(velocity))
        gm = GM_PROGRAMS[entry["instrument"]]
        assert (
            (family, source)
            == (gm.family, gm.source)
            == (entry["instrument_family_str"], entry["instrument_source_str"])
        )
        assert (
            FAMILIES[entry["instrument_family"]] == family and SOURCES[entry["instrument_source"]] == source
        )
        assert entry["sample_rate"] == 16000
        assert [QUALITIES[i] for i, flag in enumerate(entry["qualities"]) if flag] == entry["qualities_str"]
        assert all(isinstance(entry[k], int) for k in ("note", "instrument", "pitch", "velocity"))
    assert len({e["note"] for e in _examples(out).values()}) == len(_examples(out))


def test_a_silent_render_is_skipped_counted_and_recorded(small_render: tuple[Path, RenderReport]):
    out, report = small_render
    program, pitch = SILENT_NOTE
    gm = GM_PROGRAMS[program]
    silent_name = f"{gm.family}_{gm.source}_{program:03d}-{pitch:03d}-100"
    assert report.skipped == {"silent": 1}
    assert report.skipped_notes == [(silent_name, "silent")]
    assert silent_name not in _examples(out) and not (out / "audio" / f"{silent_name}.wav").exists()
    record = json.loads((out / "render.json").read_text())
    assert record["skipped"] == {"silent": 1} and record["rendered"] == report.rendered == 10
    assert record["soundfont"]["sha256"] and "libfluidsynth" in record["synthesizer"]
    assert parse_recipe(record["recipe"]) == parse_recipe(
        small_recipe(Path(record["soundfont"]["path"])).to_config()
    )


def test_rendering_is_deterministic_and_independent_of_the_other_notes(
    small_render: tuple[Path, RenderReport], soundfont: Path, tmp_path: Path
):
    out, _ = small_render
    # A different note set, in which one shared note comes after different neighbours.
    recipe = parse_recipe(
        {
            "soundfont": str(soundfont),
            "velocities": [100],
            "groups": [{"programs": [24, 73], "pitches": [60, 67]}],
        }
    )
    render_dataset(recipe, tmp_path / "again", soundfont, progress=False)
    for name in ("flute_acoustic_073-060-100", "flute_acoustic_073-067-100"):
        again = (tmp_path / "again" / "audio" / f"{name}.wav").read_bytes()
        assert again == (out / "audio" / f"{name}.wav").read_bytes()


def test_an_existing_set_is_kept_unless_forced(
    small_render: tuple[Path, RenderReport], soundfont: Path, tmp_path: Path
):
    recipe = parse_recipe({"velocities": [100], "groups": [{"programs": [73], "pitches": [60, 62]}]})
    render_dataset(recipe, tmp_path / "set", soundfont, progress=False)
    with pytest.raises(DatasetError, match=r"already holds a data set.*--force"):
        render_dataset(recipe, tmp_path / "set", soundfont, progress=False)
    smaller = parse_recipe({"velocities": [100], "groups": [{"programs": [73], "pitches": [60]}]})
    render_dataset(smaller, tmp_path / "set", soundfont, force=True, progress=False)
    assert [p.name for p in (tmp_path / "set" / "audio").iterdir()] == ["flute_acoustic_073-060-100.wav"]


def test_a_file_that_is_not_a_soundfont_is_refused(tmp_path: Path, soundfont: Path):
    fake = tmp_path / "fake.sf2"
    fake.write_bytes(b"RIFF\x00\x00\x00\x00not a soundfont at all")
    recipe = parse_recipe({"groups": [{"programs": [0], "pitches": [60]}]})
    with pytest.raises(DatasetError, match=r"could not load .*fake\.sf2"):
        render_dataset(recipe, tmp_path / "out", fake, progress=False)


def _tone(seconds: float, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


@pytest.mark.parametrize(
    ("audio", "reason"),
    [
        (None, "no_preset"),
        (np.zeros(16000, np.float32), "silent"),
        (np.full(16000, 1e-7, np.float32), "silent"),
        (np.concatenate([_tone(0.5), [np.nan], _tone(0.5)]).astype(np.float32), "non_finite"),
        (np.concatenate([_tone(0.005), np.zeros(16000, np.float32)]), "click"),
        (_tone(1.0), None),
    ],
)
def test_broken_renders_are_classified(audio: np.ndarray | None, reason: str | None):
    assert classify_render(audio, 16000) == reason
