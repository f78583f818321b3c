"""`latent bench audio`: how steadily the bare audio path runs next to a Python sensor loop (bench layer).

Streams a test tone to a sound device (the Pi's HAT, or a JACK server) through the ring-fed
output the instrument uses (or, with `--arrangement callback`, the old callback output) while a
background thread does what a sensor loop does between polls (build a frame of 14 channels,
smooth it, sleep 1 ms), then reports, after a warm-up, the underruns, source errors, spacing of
block deliveries, the longest render and the render thread's CPU. `latent bench xruns` measures
the whole instrument beside a C client.
"""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any

from device.audio.callback_output import CallbackOutput
from device.audio.portaudio_stream import SAMPLE_FORMATS
from device.audio.pyaudio_output import DEFAULT_RENDER_AHEAD_FRAMES, PyAudioOutput
from device.audio.tone import SineSource
from device.bench.stream_figures import stream_figures
from device.engine.params import DEFAULT_SAMPLE_RATE
from device.errors import ConfigError

NAME = "audio"
HELP = "stream a test tone next to a sensor-like Python thread; count underruns and callback jitter"

CHANNEL_NAMES = (*(f"e{i}" for i in range(12)), "flex0", "flex1")


class SensorLikeLoad:
    """A thread doing the sensor loop's Python work every `period_s`: a stand-in load for the GIL.

    `work_s` adds that much pure-Python computation per poll (holding the GIL throughout), to
    stand for a heavier control loop, e.g. a learned mapping evaluated in Python.
    """

    def __init__(self, period_s: float = 0.001, work_s: float = 0.0) -> None:
        self.period_s = period_s
        self.work_s = work_s
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sensor-like-load", daemon=True)

    def _run(self) -> None:
        smoothed = dict.fromkeys(CHANNEL_NAMES, 0.0)
        while not self._stop.is_set():
            frame = {name: float((self.polls * 7 + i) % 100) for i, name in enumerate(CHANNEL_NAMES)}
            for name, value in frame.items():
                smoothed[name] += 0.1 * (value - smoothed[name])
            self.polls += 1
            if self.work_s:
                busy_until = time.perf_counter() + self.work_s
                while time.perf_counter() < busy_until:
                    pass
            time.sleep(self.period_s)

    def __enter__(self) -> SensorLikeLoad:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default=None, help="output device index or part of its name")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time after warm-up")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds ignored at the start")
    parser.add_argument("--sample-rate", type=int, default=DEFAULT_SAMPLE_RATE,
                        help="output rate in Hz (default: %(default)s)")
    parser.add_argument("--block-frames", type=int, default=64,
                        help="frames per block (default: %(default)s)")
    parser.add_argument("--arrangement", choices=("ring", "callback"), default="ring",
                        help="ring: render thread feeding PortAudio's ring; callback: Python in its callback")
    parser.add_argument("--render-ahead-frames", type=int, default=DEFAULT_RENDER_AHEAD_FRAMES,
                        help="ring: frames kept queued ahead of the device (default: %(default)s)")
    parser.add_argument("--channels", type=int, default=1, help="output channels (the tone is copied)")
    parser.add_argument("--format", choices=SAMPLE_FORMATS, default="auto", help="sample format")
    parser.add_argument("--switch-interval", type=float, default=0.0002,
                        help="GIL switch interval while streaming, in seconds")
    parser.add_argument("--no-load", action="store_true", help="no sensor-like background thread")
    parser.add_argument("--load-work-ms", type=float, default=0.0,
                        help="pure-Python work per poll of the background thread, in ms")


def run(args: argparse.Namespace) -> dict[str, Any]:
    if not 0.0 < args.seconds <= 3600.0 or not 0.0 <= args.warmup <= 60.0:
        raise ConfigError("--seconds must be above 0 and at most 3600, --warmup between 0 and 60")
    common = {"sample_rate": args.sample_rate, "frames_per_buffer": args.block_frames, "device": args.device,
              "channels": args.channels, "sample_format": args.format,
              "switch_interval_s": args.switch_interval}
    output: PyAudioOutput | CallbackOutput = (
        CallbackOutput(**common) if args.arrangement == "callback"
        else PyAudioOutput(render_ahead_frames=args.render_ahead_frames, **common))
    load = None if args.no_load else SensorLikeLoad(work_s=args.load_work_ms / 1e3)
    if load is not None:
        load.__enter__()
    try:
        with output.start(SineSource(440.0, sample_rate=args.sample_rate, amplitude=0.2)):
            time.sleep(args.warmup)
            warm = output.stats
            output.reset_peaks()
            time.sleep(args.seconds)
            done = output.stats
    finally:
        if load is not None:
            load.__exit__()
    period_ms = 1e3 * args.block_frames / args.sample_rate
    assert output.device is not None
    return {
        "arrangement": args.arrangement,
        "device": output.device.describe(),
        "sample_format": output.sample_format,
        "sample_rate": args.sample_rate,
        "block_frames": args.block_frames,
        "period_ms": round(period_ms, 4),
        "switch_interval_s": args.switch_interval,
        "sensor_load_polls": load.polls if load is not None else 0,
        "sensor_load_work_ms": args.load_work_ms,
        "underruns": done.underruns - warm.underruns,
        **stream_figures(warm, done),
    }
