"""`latent bench latency`: sensor-to-sound latency of the whole instrument, and what the control
loop costs, measured live on simulated chips that take a real bus's time (bench layer).

The real pieces run in real time: the control thread sleeps on the fake MPR121's IRQ and polls
its periodic rate otherwise, reading the fake chips through the real drivers over a fake bus
that charges every transaction its 400 kHz wire time and every ADC conversion 1/data-rate; it
maps each frame as `latent play` does. A render thread paced like the audio path (one block per
block period) renders the instrument. A fake electrode is touched at t0; the note-on it causes
starts a grain at a known output sample, in a block rendered at t_render. The audio path
(`device.audio.pyaudio_output`) keeps PortAudio's ring `render_ahead_frames` ahead of the
device and renders a block when the ring has dropped to render-ahead minus one block, so a
fresh block queues behind that many frames, and the device buffers `device_period_frames`
more; that sample sounds at

    latency = (t_render - t0) + (render_ahead_frames - block_frames) / rate
              + device_period_frames / rate + offset_in_block / rate

`to_render_ms` (the first term: the IRQ wake-up, reading the chip, mapping, and waiting for the
next block) is reported beside it. The target is Wessel & Wright's 10 ms for a gesture to be
heard, at the 99th percentile. Not included: the MPR121's own detection time (its ESI period and
filters, a few ms on the real part; the fake reports a touch at once). The control thread's CPU
time is reported as a share of one core, while idle and while being touched, with the wall time
of its polls, so what the loop costs is a figure, not a guess.
"""

from __future__ import annotations

import argparse
import resource
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from device.audio.pyaudio_output import DEFAULT_RENDER_AHEAD_FRAMES
from device.engine.params import DEFAULT_SAMPLE_RATE

NAME = "latency"
HELP = "sensor-to-sound latency through the timed fake chips, and the control loop's CPU cost"
LATENCY_TARGET_MS = 10.0  # Wessel & Wright (2002): the bound for a gesture's sound to feel immediate
RENDER_AHEAD_FRAMES = DEFAULT_RENDER_AHEAD_FRAMES  # what `latent play` keeps in PortAudio's ring
DEVICE_PERIOD_FRAMES = 64  # the sound device's own buffering
TRIGGER_WAIT_S = 1.0  # a trigger not applied by then counts as missed
KEYS = (0, 4)  # two pitch keys of the default map, alternated so every touch is a new note
DEFAULT_BUNDLE = Path(__file__).resolve().parents[2] / "models" / "additive-timbre.bundle"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", type=Path, default=None,
                        help=f"bundle to play (default: the shipped {DEFAULT_BUNDLE.name})")
    parser.add_argument("--touches", type=int, default=60,
                        help="fake-electrode touches (default: %(default)s)")
    parser.add_argument("--control-rate", type=float, default=None,
                        help="periodic polls per second (default: the control thread's own)")
    parser.add_argument("--block-frames", type=int, default=64, help="render block (default: %(default)s)")
    parser.add_argument("--sample-rate", type=int, default=DEFAULT_SAMPLE_RATE,
                        help="output rate in Hz (default: %(default)s)")
    parser.add_argument("--render-ahead-frames", type=int, default=RENDER_AHEAD_FRAMES,
                        help="frames rendered ahead of the playhead (default: %(default)s)")
    parser.add_argument("--device-period-frames", type=int, default=DEVICE_PERIOD_FRAMES,
                        help="the device's own buffering in frames (default: %(default)s)")
    parser.add_argument("--idle-seconds", type=float, default=2.0,
                        help="untouched time over which the idle control loop's CPU is measured "
                             "(default: %(default)s)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    return measure_latency(args.bundle, touches=args.touches, block_frames=args.block_frames,
                           sample_rate=args.sample_rate, control_rate=args.control_rate,
                           render_ahead_frames=args.render_ahead_frames,
                           device_period_frames=args.device_period_frames, idle_s=args.idle_seconds)


class PacedRenderer:
    """Renders one block per block period on a thread and logs when each block was done."""

    def __init__(self, source: Any, block_frames: int, sample_rate: int, capacity: int = 1 << 16) -> None:
        self._source = source
        self.block = np.zeros(block_frames, dtype=np.float32)
        self.period = block_frames / sample_rate
        self.block_frames = block_frames
        self.sample_rate = sample_rate
        self.done_at = np.zeros(capacity)  # wall time each block finished, by block index
        self.blocks = 0
        self.late_blocks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latency-render", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)

    def _run(self) -> None:
        next_time = time.perf_counter()
        capacity = len(self.done_at)
        while not self._stop.is_set() and self.blocks < capacity:
            self._source.render_into(self.block)
            done = time.perf_counter()
            self.done_at[self.blocks] = done
            self.blocks += 1
            next_time += self.period
            if done > next_time:
                self.late_blocks += 1
                next_time = done
            else:
                time.sleep(next_time - done)


def time_to_sound(instrument: Any, renderer: PacedRenderer, before: int, t0: float, output_frames: int,
                  poll_s: float) -> tuple[float, float, float] | None:
    """For a trigger sent at t0 (perf_counter) to an instrument that had applied `before` triggers:
    seconds from t0 until the instrument applied it, until the block holding its onset was
    rendered, and until that onset sounds after `output_frames` of buffering (see the module doc).
    None when it was not applied within TRIGGER_WAIT_S (checked every `poll_s`)."""
    deadline = t0 + TRIGGER_WAIT_S
    while instrument.triggers_applied == before and time.perf_counter() < deadline:
        time.sleep(poll_s)
    applied = time.perf_counter()
    if instrument.triggers_applied == before:
        return None
    onset = instrument.last_trigger_sample
    block_index = onset // renderer.block_frames
    while renderer.blocks <= block_index:
        time.sleep(0.0005)
    rendered = renderer.done_at[block_index] - t0
    offset = onset - block_index * renderer.block_frames
    return applied - t0, rendered, rendered + (output_frames + offset) / renderer.sample_rate


def spread_ms(seconds: list[float]) -> dict[str, float | None]:
    """The 50th and 99th percentile and the maximum, in ms (None each when there are none)."""
    return {"p50": _ms(seconds, 50), "p99": _ms(seconds, 99), "max": _ms(seconds, 100)}


class _TimedPoll:
    """The control step, with the wall time of each call kept for the report."""

    def __init__(self, step: Any) -> None:
        self._step = step
        self.seconds: list[float] = []

    def __call__(self) -> None:
        started = time.perf_counter()
        try:
            self._step()
        finally:
            self.seconds.append(time.perf_counter() - started)


def measure_latency(bundle: Path | None = None, *, touches: int = 60, block_frames: int = 64,
                    sample_rate: int = DEFAULT_SAMPLE_RATE, control_rate: float | None = None,
                    render_ahead_frames: int = RENDER_AHEAD_FRAMES,
                    device_period_frames: int = DEVICE_PERIOD_FRAMES, idle_s: float = 2.0,
                    seed: int = 0) -> dict[str, Any]:
    from device.app.control_thread import CONTROL_RATE_HZ, ControlThread
    from device.app.play import PlaySettings, build_rig

    rate_hz = CONTROL_RATE_HZ if control_rate is None else control_rate
    if render_ahead_frames < block_frames or device_period_frames < 1:
        from device.errors import ConfigError

        raise ConfigError(f"render-ahead ({render_ahead_frames} frames) must be at least one block "
                          f"({block_frames}) and the device period at least one frame")
    # Between a freshly rendered block and the DAC (see the module doc).
    output_frames = render_ahead_frames - block_frames + device_period_frames
    settings = PlaySettings(bundle=bundle, sensors="sim", gesture=None, block_frames=block_frames,
                            sample_rate=sample_rate, seed=seed)
    settings.control_rate = rate_hz
    rig = build_rig(settings)  # the wall clock: the fake bus and ADC take real time
    try:
        chip = rig.sensors.touch_chip
        renderer = PacedRenderer(rig.instrument, block_frames, sample_rate)
        poll = _TimedPoll(rig.control_step)
        control = ControlThread(poll, rate_hz=rate_hz, wait=rig.sensors.wait_for_activity)
        renderer.start()
        control.start()
        try:
            # Let calibration learn the resting electrodes before anyone touches them.
            time.sleep(rig.mapper.config.learn_s + 0.3)
            idle = _cpu_window(control, idle_s)
            window = _Window(control)
            to_render, total, missed = [], [], 0
            for i in range(touches):
                key = KEYS[i % len(KEYS)]
                before = rig.instrument.triggers_applied
                t0 = time.perf_counter()
                chip.touch(key, 1.0)
                heard = time_to_sound(rig.instrument, renderer, before, t0, output_frames, 0.0005)
                if heard is None:
                    missed += 1
                else:
                    to_render.append(heard[1])
                    total.append(heard[2])
                chip.release(key)
                time.sleep(0.03 + 0.007 * (i % 3))  # release, and vary the phase against the polls
            touched = window.close()
        finally:
            control.stop()
            renderer.stop()
    finally:
        rig.close()
    sound = spread_ms(total)
    p99 = sound["p99"]
    return {
        "touches": touches,
        "missed_touches": missed,
        "block_frames": block_frames,
        "sample_rate": sample_rate,
        "control_rate_hz": rate_hz,
        "render_ahead_frames": render_ahead_frames,
        "device_period_frames": device_period_frames,
        "output_buffering_ms": round(output_frames / sample_rate * 1000, 3),
        "to_render_ms": spread_ms(to_render),
        "sensor_to_sound_ms": sound,
        "control_thread": {
            "idle": idle,
            "touched": touched,
            "errors": control.errors,
            "overruns": control.overruns,
            "poll_ms": spread_ms(poll.seconds),
        },
        "late_render_blocks": renderer.late_blocks,
        "rendered_blocks": renderer.blocks,
        "target_p99_ms": LATENCY_TARGET_MS,
        "meets_target": bool(p99 is not None and missed == 0 and p99 <= LATENCY_TARGET_MS),
    }


class _Window:
    """The control thread's and the whole process's CPU over a stretch of the run."""

    def __init__(self, control: Any) -> None:
        self._control = control
        self._wall = time.perf_counter()
        self._cpu = control.cpu_s
        self._polls, self._woken = control.polls, control.woken_polls
        self._process = _process_cpu_s()

    def close(self) -> dict[str, Any]:
        wall = max(time.perf_counter() - self._wall, 1e-9)
        control = self._control
        return {
            "seconds": round(wall, 3),
            "cpu_percent_of_core": round((control.cpu_s - self._cpu) / wall * 100, 2),
            "process_cpu_percent_of_core": round((_process_cpu_s() - self._process) / wall * 100, 2),
            "polls_per_s": round((control.polls - self._polls) / wall, 1),
            "woken_polls": control.woken_polls - self._woken,
        }


def _cpu_window(control: Any, seconds: float) -> dict[str, Any] | None:
    if seconds <= 0:
        return None
    window = _Window(control)
    time.sleep(seconds)
    return window.close()


def _process_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _ms(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)) * 1000.0, 3) if values else None
