"""A plain folder of artists' own sounds read as fixed-length, resampled, pitched notes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from device.errors import ConfigError
from host_tools.data.audio_ops import PEAK_TARGET
from host_tools.data.fluid_renderer import FluidNoteRenderer
from host_tools.data.wav_folder import WavFolderSource
from host_tools.errors import DatasetError


def harmonic_tone(pitch: int, seconds: float, rate: int, lead_silence: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    freq = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    tone = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 6)) * np.exp(-1.5 * t)
    return np.concatenate([np.zeros(int(lead_silence * rate)), 0.3 * tone]).astype(np.float32)


@pytest.fixture
def sounds(tmp_path: Path) -> Path:
    root = tmp_path / "my sounds"
    (root / "pad").mkdir(parents=True)
    stereo = np.stack([harmonic_tone(57, 1.0, 44100, 0.3)] * 2, axis=1)
    soundfile.write(root / "pad" / "a3.wav", stereo, 44100)
    soundfile.write(root / "e4_long.flac", harmonic_tone(64, 5.0, 22050), 22050)
    noise = np.random.default_rng(7).uniform(-0.5, 0.5, 48000).astype(np.float32)
    soundfile.write(root / "noise.wav", noise, 48000)
    (root / "notes.txt").write_text("not audio, ignored")
    return root


def _by_name(source: WavFolderSource) -> dict[str, int]:
    return {path.with_suffix("").as_posix(): i for i, path in enumerate(source.files)}


def test_sounds_are_resampled_trimmed_and_padded_to_one_length(sounds: Path):
    source = WavFolderSource(sounds, seconds=2.0, default_pitch=60)
    index = _by_name(source)
    assert sorted(index) == ["e4_long", "noise", "pad/a3"]
    audio, pitch, meta = source[index["pad/a3"]]
    assert audio.dtype == np.float32 and audio.shape == (32000,)
    assert (pitch, meta["pitch_source"]) == (57, "estimated")
    assert (meta["source_sample_rate"], meta["source_frames"], meta["sample_rate"]) == (44100, 57330, 16000)
    onset = int(np.argmax(np.abs(audio) > 0.01 * np.abs(audio).max()))
    assert onset < 0.01 * 16000  # 0.3 s of leading silence trimmed
    assert np.abs(audio).max() == pytest.approx(PEAK_TARGET, rel=1e-6)
    assert not audio[int(1.01 * 16000) :].any()  # one second of sound, zero-padded to two


def test_a_long_sound_is_cut_with_a_fade(sounds: Path):
    source = WavFolderSource(sounds, seconds=2.0, default_pitch=60)
    audio, pitch, meta = source[_by_name(source)["e4_long"]]
    assert audio.shape == (32000,) and pitch == 64 and meta["source_sample_rate"] == 22050
    assert abs(audio[-1]) < 1e-6 and np.abs(audio[-400:-160]).max() > 0.01


def test_an_unpitched_sound_needs_a_default_or_a_csv_pitch(sounds: Path, tmp_path: Path):
    with pytest.raises(DatasetError, match=r"noise\.wav has no clear pitch; give it one in the pitch CSV"):
        WavFolderSource(sounds, seconds=2.0)[_by_name(WavFolderSource(sounds))["noise"]]
    defaulted = WavFolderSource(sounds, seconds=2.0, default_pitch=48)
    _, pitch, meta = defaulted[_by_name(defaulted)["noise"]]
    assert (pitch, meta["pitch_source"]) == (48, "default")
    csv_path = tmp_path / "pitches.csv"
    csv_path.write_text("file,pitch\nnoise.wav,C4\npad/a3.wav,58\n")
    given = WavFolderSource(sounds, seconds=2.0, pitches_csv=csv_path)
    index = _by_name(given)
    assert given[index["noise"]][1] == 60 and given[index["noise"]][2]["pitch_source"] == "csv"
    assert given[index["pad/a3"]][1] == 58  # the CSV wins over the estimate
    assert given[index["e4_long"]][2]["pitch_source"] == "estimated"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name,note\nnoise.wav,60\n", "first line must be the header `file,pitch`"),
        ("file,pitch\nmissing.wav,60\n", r"line 2: missing\.wav is not an audio file"),
        ("file,pitch\nnoise.wav,60\nnoise.wav,61\n", r"line 3: noise\.wav is listed twice"),
        ("file,pitch\nnoise.wav,H9\n", "line 2: 'H9' is neither a MIDI number nor a note name"),
        ("file,pitch\nnoise.wav,200\n", "line 2: '200' is outside the MIDI range"),
        ("file,pitch\nnoise.wav\n", "line 2: needs a file and a pitch"),
    ],
)
def test_pitch_csv_errors_name_the_line(sounds: Path, tmp_path: Path, text: str, problem: str):
    csv_path = tmp_path / "pitches.csv"
    csv_path.write_text(text)
    with pytest.raises(DatasetError, match=problem):
        WavFolderSource(sounds, pitches_csv=csv_path)


def test_bad_folders_and_files_are_named(sounds: Path, tmp_path: Path):
    (sounds / "broken.wav").write_bytes(b"RIFF....WAVEfmt nonsense")
    with pytest.raises(DatasetError, match=r"1 of 4 files cannot be used \(broken\.wav: unreadable"):
        WavFolderSource(sounds)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="holds no audio files"):
        WavFolderSource(tmp_path / "empty")
    with pytest.raises(DatasetError, match="is not a folder"):
        WavFolderSource(tmp_path / "absent")
    with pytest.raises(ConfigError, match="default_pitch 130"):
        WavFolderSource(tmp_path / "empty", default_pitch=130)


def test_real_instrument_notes_get_their_pitch_estimated(soundfont: Path, tmp_path: Path):
    expected = {}
    with FluidNoteRenderer(soundfont, 44100) as synth:
        for program, pitch in [(0, 45), (24, 52), (40, 67), (56, 60), (65, 57), (73, 76)]:
            audio = synth.render(program, pitch, 100, 44100, 66150)
            soundfile.write(tmp_path / f"p{program}.wav", audio, 44100, subtype="PCM_16")
            expected[f"p{program}"] = pitch
    source = WavFolderSource(tmp_path, seconds=1.5)
    found = {source.files[i].stem: source[i][1] for i in range(len(source))}
    assert found == expected
