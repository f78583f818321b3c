"""The NSynth-layout loader on directories in NSynth's real json/wav layout, whole and broken."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from device.errors import ConfigError, InstrumentError
from host_tools.data.nsynth_dataset import NSynthDataset
from host_tools.errors import DatasetError

from .nsynth_layout import tone, write_nsynth_dir

KEYBOARD_60 = "keyboard_electronic_098-060-075"


@pytest.fixture
def nsynth_dir(tmp_path: Path) -> Path:
    write_nsynth_dir(tmp_path / "nsynth-test")
    return tmp_path / "nsynth-test"


def test_reads_every_note_with_its_audio_pitch_and_metadata(nsynth_dir: Path):
    dataset = NSynthDataset(nsynth_dir)
    assert len(dataset) == 6 and dataset.frames == 64000
    names = [dataset.example(i)["note_str"] for i in range(len(dataset))]
    index = names.index(KEYBOARD_60)
    audio, pitch, meta = dataset[index]
    assert audio.dtype == np.float32 and audio.shape == (64000,)
    assert np.abs(audio - tone(60, 64000, 16000)).max() < 1.0 / 32767
    assert pitch == 60 and meta["pitch"] == 60
    assert meta["instrument_family_str"] == "keyboard" and meta["instrument_family"] == 4
    assert meta["instrument_source_str"] == "electronic" and meta["velocity"] == 75
    assert meta["qualities"] == [0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert dataset.example(index)["qualities_str"] == ["dark"]


def test_filters_by_family_source_pitch_and_velocity(nsynth_dir: Path):
    def notes(**filters) -> list[str]:
        dataset = NSynthDataset(nsynth_dir, **filters)
        return sorted(dataset.example(i)["note_str"] for i in range(len(dataset)))

    assert notes(families=["keyboard"]) == [KEYBOARD_60, "keyboard_electronic_098-064-127"]
    assert notes(sources=["synthetic"]) == ["bass_synthetic_068-040-025", "flute_synthetic_000-079-100"]
    assert notes(pitch_range=(50, 64)) == [
        "guitar_acoustic_010-052-100",
        KEYBOARD_60,
        "keyboard_electronic_098-064-127",
    ]
    assert notes(families=["keyboard", "guitar"], velocities=[75, 100]) == [
        "guitar_acoustic_010-052-100",
        KEYBOARD_60,
    ]


def test_an_unknown_filter_or_an_empty_selection_is_named(nsynth_dir: Path):
    with pytest.raises(ConfigError, match="unknown instrument family drums"):
        NSynthDataset(nsynth_dir, families=["drums"])
    with pytest.raises(DatasetError, match=r"no example matches.*vocal.*6 examples"):
        NSynthDataset(nsynth_dir, families=["vocal"])


def test_missing_audio_is_named(nsynth_dir: Path):
    (nsynth_dir / "audio" / f"{KEYBOARD_60}.wav").unlink()
    with pytest.raises(DatasetError, match=rf"missing audio in 1 of 6 examples \(audio/{KEYBOARD_60}\.wav\)"):
        NSynthDataset(nsynth_dir)


def test_wrong_sample_rate_is_named(nsynth_dir: Path):
    soundfile.write(
        nsynth_dir / "audio" / f"{KEYBOARD_60}.wav", tone(60, 64000, 22050), 22050, subtype="PCM_16"
    )
    with pytest.raises(DatasetError, match=rf"wrong sample rate in 1 of 6.*{KEYBOARD_60}\.wav: 22050 Hz"):
        NSynthDataset(nsynth_dir)


def test_a_rate_other_than_the_one_demanded_is_named(nsynth_dir: Path):
    with pytest.raises(DatasetError, match=r"wrong sample rate in 6 of 6.*wanted 44100"):
        NSynthDataset(nsynth_dir, sample_rate=44100)


def test_wrong_length_is_named(nsynth_dir: Path):
    soundfile.write(
        nsynth_dir / "audio" / f"{KEYBOARD_60}.wav", tone(60, 48000, 16000), 16000, subtype="PCM_16"
    )
    with pytest.raises(
        DatasetError, match=rf"wrong length in 1 of 6.*{KEYBOARD_60}\.wav: 48000 frames, not 64000"
    ):
        NSynthDataset(nsynth_dir)
    with pytest.raises(DatasetError, match=r"wrong length in 6 of 6.*not 32000"):
        NSynthDataset(
            nsynth_dir, families=["bass", "brass", "flute", "guitar", "mallet", "keyboard"], seconds=2.0
        )


def test_unreadable_json_is_named(nsynth_dir: Path):
    text = (nsynth_dir / "examples.json").read_text()
    (nsynth_dir / "examples.json").write_text(text[: len(text) // 2])
    with pytest.raises(DatasetError, match=r"examples\.json is unreadable json \(.*line \d+"):
        NSynthDataset(nsynth_dir)


def test_an_entry_missing_a_field_is_named(nsynth_dir: Path):
    examples = json.loads((nsynth_dir / "examples.json").read_text())
    del examples[KEYBOARD_60]["pitch"]
    (nsynth_dir / "examples.json").write_text(json.dumps(examples))
    with pytest.raises(
        DatasetError, match=rf"malformed entries in 1 of 6 examples \({KEYBOARD_60}: lacks pitch\)"
    ):
        NSynthDataset(nsynth_dir)


def test_unreadable_and_stereo_audio_are_named(nsynth_dir: Path):
    (nsynth_dir / "audio" / f"{KEYBOARD_60}.wav").write_bytes(b"RIFF0000WAVEgarbage")
    stereo = np.stack([tone(40, 64000, 16000)] * 2, axis=1)
    soundfile.write(nsynth_dir / "audio" / "bass_synthetic_068-040-025.wav", stereo, 16000, subtype="PCM_16")
    with pytest.raises(DatasetError) as caught:
        NSynthDataset(nsynth_dir)
    message = str(caught.value)
    assert f"unreadable audio in 1 of 6 examples (audio/{KEYBOARD_60}.wav" in message
    assert "not mono in 1 of 6 examples (audio/bass_synthetic_068-040-025.wav: 2 channels)" in message


def test_not_a_dataset_directory_says_what_is_expected(tmp_path: Path):
    with pytest.raises(DatasetError, match=r"examples\.json is missing.*latent data render"):
        NSynthDataset(tmp_path)
    with pytest.raises(DatasetError, match="is not a directory"):
        NSynthDataset(tmp_path / "nowhere")
    assert issubclass(DatasetError, InstrumentError) and issubclass(DatasetError, ValueError)


def test_audio_is_read_lazily_when_an_item_is_asked_for(nsynth_dir: Path):
    dataset = NSynthDataset(nsynth_dir)
    index = [dataset.example(i)["note_str"] for i in range(len(dataset))].index(KEYBOARD_60)
    replacement = np.full(64000, 0.25, dtype=np.float32)
    soundfile.write(nsynth_dir / "audio" / f"{KEYBOARD_60}.wav", replacement, 16000, subtype="PCM_16")
    audio, _, _ = dataset[index]
    assert np.allclose(audio, 0.25, atol=1e-4)  # what is on disk now, not what was there at open
    soundfile.write(nsynth_dir / "audio" / f"{KEYBOARD_60}.wav", replacement[:100], 16000, subtype="PCM_16")
    with pytest.raises(DatasetError, match="changed after the data set was opened"):
        dataset[index]


def test_headers_can_be_left_unchecked_for_speed_but_presence_is_still_checked(nsynth_dir: Path):
    soundfile.write(
        nsynth_dir / "audio" / f"{KEYBOARD_60}.wav", tone(60, 100, 22050), 22050, subtype="PCM_16"
    )
    assert len(NSynthDataset(nsynth_dir, check_headers=False)) == 6
    (nsynth_dir / "audio" / f"{KEYBOARD_60}.wav").unlink()
    with pytest.raises(DatasetError, match="missing audio"):
        NSynthDataset(nsynth_dir, check_headers=False)


def test_it_pickles_for_dataloader_workers(nsynth_dir: Path):
    dataset = NSynthDataset(nsynth_dir)
    copy = pickle.loads(pickle.dumps(dataset))
    assert np.array_equal(copy[2][0], dataset[2][0]) and copy[2][2] == dataset[2][2]


def test_importing_the_loader_does_not_import_torch():
    code = (
        "import sys, host_tools.data.nsynth_dataset, host_tools.data.wav_folder, host_tools.data.cli; "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_torch_batches_it_as_a_map_style_dataset(nsynth_dir: Path):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    loader = DataLoader(NSynthDataset(nsynth_dir, families=["keyboard", "guitar", "mallet"]), batch_size=2)
    batches = list(loader)
    audio, pitch, meta = batches[0]
    assert [tuple(b[0].shape) for b in batches] == [(2, 64000), (2, 64000)]
    assert audio.dtype == torch.float32 and pitch.tolist() == [52, 60]
    assert meta["instrument_family_str"] == ["guitar", "keyboard"]
    assert batches[1][2]["qualities"][7].tolist() == [0, 1]  # percussive: the mallet, not the keyboard
