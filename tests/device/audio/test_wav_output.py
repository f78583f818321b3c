"""WavFileOutput: what is written reads back with the stdlib, at the right length, rate and level."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from device.audio.wav_output import WavFileOutput
from device.errors import AudioDeviceError, ConfigError


def read_wav(path: Path) -> tuple[np.ndarray, int, int]:
    with wave.open(str(path), "rb") as wav:
        assert wav.getsampwidth() == 2
        channels = wav.getnchannels()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, channels)
        return pcm, wav.getframerate(), channels


def test_round_trip_keeps_length_rate_and_values(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    blocks = [rng.uniform(-0.9, 0.9, size).astype(np.float32) for size in (128, 128, 77, 300)]
    path = tmp_path / "take.wav"
    with WavFileOutput(path, sample_rate=44100) as wav:
        for block in blocks:
            wav.write(block)
    pcm, rate, channels = read_wav(path)
    expected = np.concatenate(blocks)
    assert (rate, channels, pcm.shape[0]) == (44100, 1, expected.size)
    assert wav.frames_written == expected.size and wav.clipped_samples == 0
    assert np.max(np.abs(pcm[:, 0] / 32767.0 - expected)) <= 0.5 / 32767.0 + 1e-7


def test_mono_blocks_are_copied_to_every_channel(tmp_path: Path) -> None:
    block = np.linspace(-0.5, 0.5, 256, dtype=np.float32)
    path = tmp_path / "stereo.wav"
    with WavFileOutput(path, sample_rate=48000, channels=2) as wav:
        wav.write(block)
        wav.write(np.stack([block, -block], axis=1))
    pcm, _, channels = read_wav(path)
    assert channels == 2 and pcm.shape == (512, 2)
    np.testing.assert_array_equal(pcm[:256, 0], pcm[:256, 1])
    np.testing.assert_array_equal(pcm[256:, 0], -pcm[256:, 1])


def test_clipping_is_counted_and_limited_to_full_scale(tmp_path: Path) -> None:
    block = np.array([0.0, 1.0, -1.0, 1.5, -3.0, np.nan, np.inf, 0.25], dtype=np.float32)
    path = tmp_path / "hot.wav"
    with WavFileOutput(path) as wav:
        wav.write(block)
        wav.write(block)
    pcm, _, _ = read_wav(path)
    assert wav.clipped_samples == 2 * 4  # 1.5, -3.0, nan, inf in each block; +-1.0 exactly are not clipped
    assert pcm[:8, 0].tolist() == [0, 32767, -32767, 32767, -32767, 0, 32767, 8192]


def test_seconds_written_and_reopening_a_closed_output(tmp_path: Path) -> None:
    wav = WavFileOutput(tmp_path / "a.wav", sample_rate=16000)
    wav.write(np.zeros(8000, dtype=np.float32))
    assert wav.seconds_written == 0.5
    wav.close()
    wav.close()
    with pytest.raises(AudioDeviceError, match="already closed"):
        wav.write(np.zeros(4, dtype=np.float32))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sample_rate": 0}, "sample rate 0"),
        ({"sample_rate": 44100.0}, "sample rate 44100.0"),
        ({"channels": 0}, "channel count 0"),
    ],
)
def test_bad_settings_are_refused(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        WavFileOutput(tmp_path / "x.wav", **kwargs)


def test_missing_folder_and_bad_blocks_are_refused(tmp_path: Path) -> None:
    with pytest.raises(AudioDeviceError, match="does not exist"):
        WavFileOutput(tmp_path / "nowhere" / "x.wav")
    with WavFileOutput(tmp_path / "x.wav", channels=2) as wav:
        with pytest.raises(ConfigError, match=r"\(frames, 2\); got shape \(4, 3\)"):
            wav.write(np.zeros((4, 3), dtype=np.float32))
        with pytest.raises(ConfigError, match="float blocks"):
            wav.write(np.zeros(4, dtype=np.int16))


@pytest.mark.timeout(30)  # a FIFO without a reader would block a plain open() forever
@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_only_a_regular_file_is_an_output(tmp_path: Path) -> None:
    import gc
    import os

    os.mkfifo(tmp_path / "fifo")
    targets = {tmp_path: "a directory", tmp_path / "fifo": "a FIFO", Path("/dev/null"): "a character device"}
    for target, kind in targets.items():
        with pytest.raises(AudioDeviceError, match=f"it is {kind}.*not a regular file"):
            WavFileOutput(target)
        gc.collect()  # a half-made writer left behind would raise again from its destructor here
    assert os.listdir(tmp_path) == ["fifo"]


def test_an_existing_file_is_replaced_from_its_start(tmp_path: Path) -> None:
    path = tmp_path / "old.wav"
    path.write_bytes(b"x" * 100_000)
    with WavFileOutput(path, sample_rate=16000) as wav:
        wav.write(np.zeros(10, dtype=np.float32))
    pcm, rate, _ = read_wav(path)
    assert rate == 16000 and pcm.shape == (10, 1) and path.stat().st_size == 44 + 20
