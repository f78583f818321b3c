"""PyAudioOutput on the real PortAudio/pyaudio path, against a JACK server with the dummy driver."""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from device.audio import pyaudio_output
from device.audio.pyaudio_output import PyAudioOutput
from device.audio.stream_bench import SensorLikeLoad
from device.audio.tone import SineSource
from device.errors import ConfigError

from ...jack_server import DUMMY_DEVICE, JackServer
from .stream_windows import measure_until_clean

pytestmark = pytest.mark.jack

RATE = 48000
FRAMES = 128


def dominant_frequency(signal: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(signal.size)))
    return float(np.fft.rfftfreq(signal.size, 1.0 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize(("channels", "sample_format"), [(1, "float32"), (2, "float32"), (2, "int16")])
def test_the_source_reaches_jack_intact(jack_server: JackServer, tmp_path: Path, channels: int,
                                        sample_format: str) -> None:
    output = PyAudioOutput(device=DUMMY_DEVICE, channels=channels, sample_format=sample_format)
    with output.start(SineSource(1000.0, amplitude=0.25)):
        assert output.sample_format == sample_format
        ports = jack_server.ports_feeding_playback()
        assert len(ports) == channels
        recorded, rate = jack_server.record(ports, 1, tmp_path / "out.wav")
        stats = output.stats
    assert rate == RATE and recorded.shape == (RATE, channels)
    for channel in range(channels):
        assert dominant_frequency(recorded[:, channel], rate) == pytest.approx(1000.0, abs=2.0)
        assert np.sqrt(np.mean(recorded[:, channel] ** 2)) == pytest.approx(0.25 / np.sqrt(2), rel=0.01)
        np.testing.assert_array_equal(recorded[:, channel], recorded[:, 0])
    assert stats.errors == 0 and stats.last_error is None


WINDOW_S = 10.0
MAX_WINDOWS = 4


@pytest.mark.slow
def test_ten_seconds_with_sensor_polling_have_no_underruns(jack_server: JackServer) -> None:
    """Zero underruns over 10 s at 48 kHz / 128 frames while a Python thread polls like the sensors.

    A window spoilt by a machine stall that jackd reports is measured again (stream_windows.py).
    """
    output = PyAudioOutput(sample_rate=RATE, frames_per_buffer=FRAMES, device=DUMMY_DEVICE)
    with SensorLikeLoad(period_s=0.001) as load, output.start(SineSource(440.0, amplitude=0.3)):
        assert sys.getswitchinterval() <= output.switch_interval_s
        time.sleep(1.0)  # warm-up: stream start and first scheduling settle
        windows = measure_until_clean(jack_server, output, seconds=WINDOW_S, attempts=MAX_WINDOWS)
    report = "\n".join(map(str, windows))
    print(report)
    assert load.polls > 5000, "the sensor-like thread did not run alongside the stream"
    assert windows[-1].stats.errors == 0, windows[-1].stats.last_error
    assert windows[-1].underruns == 0, report


class FlakySource:
    """A sine that raises (or returns NaN) while told to: the stream must carry on regardless."""

    def __init__(self) -> None:
        self.sine = SineSource(500.0, amplitude=0.25)
        self.failure: str | None = None

    def render_into(self, out: np.ndarray) -> None:
        self.sine.render_into(out)
        if self.failure == "raise":
            raise RuntimeError("grain table exploded")
        if self.failure == "nan":
            out[3] = np.nan


def test_a_failing_source_gives_silence_and_the_stream_keeps_running(jack_server: JackServer,
                                                                   tmp_path: Path) -> None:
    source = FlakySource()
    output = PyAudioOutput(device=DUMMY_DEVICE)
    with output.start(source):
        time.sleep(0.3)
        healthy = output.stats
        source.failure = "raise"
        time.sleep(0.2)
        recorded, _ = jack_server.record(jack_server.ports_feeding_playback(), 1, tmp_path / "silence.wav")
        failing = output.stats
        source.failure = "nan"
        time.sleep(0.3)
        nan = output.stats
        source.failure = None
        time.sleep(0.1)
        cleared = output.stats
        time.sleep(0.3)
        recovered = output.stats
        assert output.active
    assert healthy.errors == 0
    assert failing.errors >= 375 and not np.any(recorded)
    assert failing.last_error == "RuntimeError: grain table exploded"
    assert nan.errors - failing.errors >= 100
    assert nan.last_error == "ValueError: source produced NaN or infinite samples"
    assert recovered.errors == cleared.errors
    assert recovered.callbacks - cleared.callbacks >= 100


def test_the_callback_allocates_no_buffers_while_streaming(jack_server: JackServer) -> None:
    # 1024-frame stereo blocks: any per-callback numpy temporary would be 4 KiB or more, far above
    # the few small objects pyaudio and CPython make per call.
    output = PyAudioOutput(device=DUMMY_DEVICE, frames_per_buffer=1024, channels=2, sample_format="int16")
    # tracemalloc is started and stopped only while no stream runs: in CPython 3.11, stopping it
    # races with the audio thread's allocations (pyaudio makes a thread state per callback).
    tracemalloc.start()
    try:
        with output.start(SineSource(440.0)):
            time.sleep(0.3)
            before = tracemalloc.take_snapshot()
            calls_before = output.stats.callbacks
            start_current, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            time.sleep(1.0)  # only the audio thread runs here
            _, peak = tracemalloc.get_traced_memory()
            calls = output.stats.callbacks - calls_before
            after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    package = str(Path(pyaudio_output.__file__).parent)
    growth = [s for s in after.compare_to(before, "lineno") if s.traceback[0].filename.startswith(package)]
    assert calls >= 40
    assert peak - start_current < 3000, f"peak rose by {peak - start_current} bytes over {calls} callbacks"
    # Objects alive mid-callback when a snapshot is taken show up as a few dozen bytes; a leak of
    # one small object per callback would be kilobytes after a second.
    assert sum(stat.size_diff for stat in growth) < 1024, growth


def test_switch_interval_is_restored_and_settings_are_checked(jack_server: JackServer) -> None:
    before = sys.getswitchinterval()
    output = PyAudioOutput(device=DUMMY_DEVICE, switch_interval_s=0.0003)
    with output.start(SineSource()):
        assert sys.getswitchinterval() == pytest.approx(min(before, 0.0003))
    assert sys.getswitchinterval() == before
    for bad, message in [({"frames_per_buffer": 10}, "block size 10"),
                         ({"sample_format": "int24"}, "sample format 'int24'"),
                         ({"switch_interval_s": 0.05}, "switch interval")]:
        with pytest.raises(ConfigError, match=message):
            PyAudioOutput(**bad)  # type: ignore[arg-type]
