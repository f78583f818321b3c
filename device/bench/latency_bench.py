"""Sensor-to-sound latency of the whole instrument, measured live on simulated chips (app layer, benchmark).

The real pieces run in real time: the control thread polls the fake chips through the real
drivers at its normal rate and maps each frame, and a render thread paced like an audio
callback (one block per block period) renders the instrument. A fake electrode is touched at
t0; the note-on it causes starts a grain at a known output sample. That sample sounds when its
block, rendered at t_render, has passed through the output buffer (`output_buffer_blocks` block
periods, as with ALSA's usual two periods) plus its offset inside the block:

    latency = (t_render - t0) + output_buffer_blocks * period + offset / rate

`to_render_ms` (the first term: polling, mapping and waiting for the next block) is reported
beside it, so the share of the assumed device buffer is visible.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

LATENCY_TARGET_MS = 5.0
KEYS = (0, 4)  # two pitch keys of the default map, alternated so every touch is a new note


class _PacedRenderer:
    """Renders one block per block period on a thread and logs when each block was done."""

    def __init__(self, source: Any, block_frames: int, sample_rate: int, capacity: int = 1 << 16) -> None:
        self._source = source
        self.block = np.zeros(block_frames, dtype=np.float32)
        self.period = block_frames / sample_rate
        self.block_frames = block_frames
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


def measure_latency(bundle: Path | None = None, *, touches: int = 60, block_frames: int = 64,
                    sample_rate: int = 48000, control_rate: float | None = None,
                    output_buffer_blocks: int = 2, seed: int = 0) -> dict[str, Any]:
    from device.app.control_thread import ControlThread
    from device.app.play import PlaySettings, build_rig

    settings = PlaySettings(bundle=bundle, sensors="sim", gesture=None, block_frames=block_frames,
                            sample_rate=sample_rate, seed=seed)
    if control_rate is not None:
        settings.control_rate = control_rate
    control_rate = settings.control_rate
    rig = build_rig(settings)
    try:
        chip = rig.sensors.touch_chip
        renderer = _PacedRenderer(rig.instrument, block_frames, sample_rate)
        control = ControlThread(rig.instrument.poll, rate_hz=control_rate)
        renderer.start()
        control.start()
        try:
            # Let calibration learn the resting electrodes before anyone touches them.
            time.sleep(rig.mapper.config.learn_s + 0.3)
            to_render, total, missed = [], [], 0
            for i in range(touches):
                key = KEYS[i % len(KEYS)]
                before = rig.instrument.triggers_applied
                t0 = time.perf_counter()
                chip.touch(key, 1.0)
                deadline = t0 + 1.0
                while rig.instrument.triggers_applied == before and time.perf_counter() < deadline:
                    time.sleep(0.0002)
                if rig.instrument.triggers_applied == before:
                    missed += 1
                else:
                    onset = rig.instrument.last_trigger_sample
                    block_index = onset // block_frames
                    while renderer.blocks <= block_index:
                        time.sleep(0.0002)
                    rendered = renderer.done_at[block_index] - t0
                    offset = (onset - block_index * block_frames) / sample_rate
                    to_render.append(rendered)
                    total.append(rendered + output_buffer_blocks * renderer.period + offset)
                chip.release(key)
                time.sleep(0.03 + 0.007 * (i % 3))  # release, and vary the phase against the polls
        finally:
            control.stop()
            renderer.stop()
    finally:
        rig.close()
    return _summary(to_render, total, missed, touches, block_frames, sample_rate, control_rate,
                    output_buffer_blocks, renderer.late_blocks, renderer.blocks)


def _ms(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)) * 1000.0, 3) if values else None


def _summary(to_render: list[float], total: list[float], missed: int, touches: int, block_frames: int,
             sample_rate: int, control_rate: float, output_buffer_blocks: int, late: int,
             blocks: int) -> dict[str, Any]:
    p99 = _ms(total, 99)
    return {
        "touches": touches,
        "missed_touches": missed,
        "block_frames": block_frames,
        "sample_rate": sample_rate,
        "control_rate_hz": control_rate,
        "output_buffer_blocks": output_buffer_blocks,
        "to_render_ms": {"p50": _ms(to_render, 50), "p99": _ms(to_render, 99), "max": _ms(to_render, 100)},
        "sensor_to_sound_ms": {"p50": _ms(total, 50), "p99": p99, "max": _ms(total, 100)},
        "late_render_blocks": late,
        "rendered_blocks": blocks,
        "target_p99_ms": LATENCY_TARGET_MS,
        "meets_target": bool(p99 is not None and missed == 0 and p99 <= LATENCY_TARGET_MS),
    }
