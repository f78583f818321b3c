"""Offline runs: run_offline drives a source into NullOutput or a WAV file with its own clock."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from device.audio.null_output import NullOutput
from device.audio.offline import run_offline
from device.audio.tone import SineSource
from device.audio.wav_output import WavFileOutput
from device.errors import ConfigError


class Ramp:
    """Counts samples, so any lost, repeated or reordered frame shows in the output."""

    def __init__(self) -> None:
        self.next = 0

    def render_into(self, out: np.ndarray) -> None:
        out[:] = np.arange(self.next, self.next + out.shape[0]) / 1e6
        self.next += out.shape[0]


def test_null_output_gets_exactly_the_asked_length_in_order() -> None:
    seen: list[np.ndarray] = []

    class Recording(NullOutput):
        def write(self, block: np.ndarray) -> None:
            super().write(block)
            seen.append(block.copy())

    null = Recording(sample_rate=48000)
    frames = run_offline(Ramp(), null, 0.01, sample_rate=48000, block_frames=64)
    assert frames == 480 == null.frames_written
    assert null.blocks_written == 8  # 7 whole blocks of 64 and one cut to 32
    assert null.seconds_written == 0.01
    np.testing.assert_allclose(np.concatenate(seen), np.arange(480) / 1e6, atol=1e-9)
    assert null.peak == pytest.approx(479 / 1e6, rel=1e-5)


def test_before_block_is_called_with_stream_time() -> None:
    times: list[float] = []
    run_offline(Ramp(), NullOutput(), 0.005, sample_rate=16000, block_frames=32, before_block=times.append)
    assert times == [k * 32 / 16000 for k in range(3)]


def test_sine_into_wav_is_continuous_across_blocks(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    with WavFileOutput(path, sample_rate=48000) as wav:
        run_offline(SineSource(1000.0, amplitude=0.5), wav, 0.1, block_frames=100)
    with wave.open(str(path), "rb") as recorded:
        pcm = np.frombuffer(recorded.readframes(recorded.getnframes()), dtype="<i2") / 32767.0
    expected = 0.5 * np.sin(2 * np.pi * 1000.0 * np.arange(4800) / 48000)
    assert np.max(np.abs(pcm - expected)) < 1e-4


def test_bad_sources_and_lengths_are_refused() -> None:
    with pytest.raises(ConfigError, match="render_into"):
        run_offline(object(), NullOutput(), 1.0)
    with pytest.raises(ConfigError, match="finite number of seconds"):
        run_offline(Ramp(), NullOutput(), float("nan"))
    with pytest.raises(ConfigError, match="block size 7"):
        run_offline(Ramp(), NullOutput(), 1.0, block_frames=7)
