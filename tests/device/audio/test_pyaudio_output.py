"""PyAudioOutput on the real PortAudio/pyaudio path, against a JACK server with the dummy driver."""

from __future__ import annotations

import sys
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from device.audio import pyaudio_output
from device.audio.pyaudio_output import PyAudioOutput
from device.audio.tone import SineSource
from device.bench.audio_bench import SensorLikeLoad
from device.bench.jack_server import DUMMY_DEVICE, JackServer
from device.errors import ConfigError

from .stream_windows import measure_until_within_reference

pytestmark = pytest.mark.jack

RATE = 48000
FRAMES = 64  # the session server's period


def median_cycle_frequency(signal: np.ndarray, rate: int) -> float:
    """The frequency of the typical cycle: rate over the median spacing of rising zero crossings
    (interpolated between samples). A cycle that jackd repeated or cut short under a machine stall
    changes a handful of spacings and so not the median, where it moves a spectrum's peak by Hz."""
    below = signal[:-1] < 0.0
    rising = np.flatnonzero(below & (signal[1:] >= 0.0))
    exact = rising + signal[rising] / (signal[rising] - signal[rising + 1])
    return float(rate / np.median(np.diff(exact)))


def longest_gapless(signal: np.ndarray, gap: int = 8) -> slice:
    """The longest stretch of `signal` with no run of `gap` or more exact zeros (a sine has none)."""
    silent = np.convolve(signal == 0.0, np.ones(gap), mode="same") >= gap
    edges = np.flatnonzero(np.diff(np.concatenate(([True], silent, [True])).astype(int)))
    starts, stops = edges[0::2], edges[1::2]
    if starts.size == 0:
        return slice(0, 0)
    best = int(np.argmax(stops - starts))
    return slice(int(starts[best]) + gap, int(stops[best]) - gap)


@pytest.mark.parametrize(("channels", "sample_format"), [(1, "float32"), (2, "float32"), (2, "int16")])
def test_the_source_reaches_jack_intact(jack_server: JackServer, tmp_path: Path, channels: int,
                                        sample_format: str) -> None:
    # Generous render-ahead and a real-time render thread: this test is about what arrives, not when.
    output = PyAudioOutput(device=DUMMY_DEVICE, channels=channels, sample_format=sample_format,
                           render_ahead_frames=512, realtime_priority=20)
    with output.start(SineSource(1000.0, amplitude=0.25)):
        # PortAudio's JACK blocking mode handles two-channel float32 only (see portaudio_stream).
        assert output.sample_format == "float32" and output.stream_channels == 2
        time.sleep(0.5)  # the render thread first learns PortAudio's ring size, in silence
        ports = jack_server.ports_feeding_playback()
        assert len(ports) == 2
        recorded, rate = jack_server.record(ports, 1, tmp_path / "out.wav")
        stats = output.stats
    assert rate == RATE and recorded.shape == (RATE, 2)
    # This VM now and then stalls every process for tens of ms (jackd itself reports it): judge
    # the longest stretch without a gap, which must still be a good part of the second.
    stretch = longest_gapless(recorded[:, 0])
    assert stretch.stop - stretch.start >= RATE // 10, (stretch, stats)
    for channel in range(2):
        played = recorded[stretch, channel]
        # A wrong rate or channel mix moves the typical cycle by tens of Hz or more.
        assert median_cycle_frequency(played, rate) == pytest.approx(1000.0, abs=2.0)
        assert np.sqrt(np.mean(played ** 2)) == pytest.approx(0.25 / np.sqrt(2), rel=0.01)
        # Each channel carries the same mono source (a cycle cut short by a machine stall may
        # leave one port's buffer behind the other for that one cycle).
        assert np.mean(recorded[:, channel] == recorded[:, 0]) > 0.99
    assert stats.errors == 0 and stats.last_error is None
    assert stats.ring_frames >= 3 * 64 and stats.render_ahead_frames == min(512, stats.ring_frames)


def test_no_python_runs_in_the_devices_audio_thread(jack_server: JackServer) -> None:
    """Every render happens on the output's own render thread; PortAudio's thread runs only C."""
    rendered_on: set[str] = set()
    sine = SineSource(440.0)

    class Recording:
        def render_into(self, out: np.ndarray) -> None:
            rendered_on.add(threading.current_thread().name)
            sine.render_into(out)

    output = PyAudioOutput(device=DUMMY_DEVICE)
    with output.start(Recording()):
        time.sleep(0.5)
        # Only a blocking stream (no callback) can say how much room its ring has.
        assert output._stream.get_write_available() >= 0
        blocks = output.stats.blocks
    assert blocks > 100 and rendered_on == {"latent-render"}


WINDOW_S = 10.0
MAX_WINDOWS = 3


@pytest.mark.slow
def test_ten_seconds_beside_a_python_poller_drop_no_more_than_a_c_client(jack_server: JackServer) -> None:
    """The ring never runs dry under a steady render thread, with a Python thread polling like the
    sensors: judged against jack_metro on the same server in the same window (stream_windows.py)."""
    output = PyAudioOutput(sample_rate=RATE, frames_per_buffer=64, device=DUMMY_DEVICE, realtime_priority=20)
    with SensorLikeLoad(period_s=0.001) as load, output.start(SineSource(440.0, amplitude=0.3)):
        time.sleep(1.0)  # warm-up: stream start and first scheduling settle
        windows = measure_until_within_reference(jack_server, output, seconds=WINDOW_S, attempts=MAX_WINDOWS)
    report = "\n".join(map(str, windows))
    print(report)
    last = windows[-1]
    # About 1000 a second on a quiet machine; stalls stretch its 1 ms sleeps.
    assert load.polls > 2000, "the sensor-like thread did not run alongside the stream"
    assert last.stats.errors == 0, last.stats.last_error
    assert last.within_reference, report


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
    assert failing.errors >= 375 and not np.any(recorded[4 * 1024:])  # after the render-ahead
    assert failing.last_error == "RuntimeError: grain table exploded"
    assert nan.errors - failing.errors >= 100
    assert nan.last_error == "ValueError: source produced NaN or infinite samples"
    assert recovered.errors == cleared.errors
    assert recovered.blocks - cleared.blocks >= 100


def test_the_render_thread_does_not_grow_memory_while_streaming(jack_server: JackServer) -> None:
    # 256-frame stereo blocks: a numpy temporary per block would be 1 KiB or more; the one bytes
    # object per block that pyaudio needs (2 KiB) is freed at once.
    output = PyAudioOutput(device=DUMMY_DEVICE, frames_per_buffer=256, channels=2, render_ahead_frames=256,
                           realtime_priority=20)
    tracemalloc.start()
    try:
        with output.start(SineSource(440.0)):
            time.sleep(0.3)
            before = tracemalloc.take_snapshot()
            blocks_before = output.stats.blocks
            start_current, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            time.sleep(1.0)  # only the render thread runs here
            _, peak = tracemalloc.get_traced_memory()
            blocks = output.stats.blocks - blocks_before
            after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    package = str(Path(pyaudio_output.__file__).parent)
    growth = [s for s in after.compare_to(before, "lineno") if s.traceback[0].filename.startswith(package)]
    assert blocks >= 100
    rise = peak - start_current
    assert rise < 3 * 2048 + 3000, f"peak rose by {rise} bytes over {blocks} blocks"
    assert sum(stat.size_diff for stat in growth) < 2048, growth


def test_switch_interval_is_restored_and_settings_are_checked(jack_server: JackServer) -> None:
    before = sys.getswitchinterval()
    output = PyAudioOutput(device=DUMMY_DEVICE, switch_interval_s=0.0003)
    with output.start(SineSource()):
        assert sys.getswitchinterval() == pytest.approx(min(before, 0.0003))
    assert sys.getswitchinterval() == before
    for bad, message in [({"frames_per_buffer": 10}, "block size 10"),
                         ({"sample_format": "int24"}, "sample format 'int24'"),
                         ({"switch_interval_s": 0.05}, "switch interval"),
                         ({"render_ahead_frames": 32}, "render-ahead of 32 frames")]:
        with pytest.raises(ConfigError, match=message):
            PyAudioOutput(**bad)  # type: ignore[arg-type]
