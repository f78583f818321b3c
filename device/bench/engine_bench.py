"""`latent bench engine`: CPU load and block times of the granular engine (bench layer).

For each block size, grain count and mode it measures two things on a warmed-up engine in steady
state: the load (thread CPU time spent rendering / duration of the audio rendered) over one pass,
and the wall time of every block of a second pass (mean, p99, worst, and worst as a fraction of
the block period, the deadline an audio callback must meet), with each block's thread CPU time
beside it, so a block stretched by another process taking the core shows as such. The overlap is
set so that the number of sounding grains equals the target; the measured mean is reported beside
it. The mix mode point lies off the grid on every axis, so every grain reads all 2^N neighbours
(the worst case), and the pitch lies between bank pitches, so every grain is resampled.

On a shared machine the wall-clock worst block is mostly other processes taking the core
(`preempted_blocks`); `--realtime` measures under SCHED_FIFO, as the Pi's audio thread runs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from device.audio.realtime import AUDIO_PRIORITY
from device.engine.params import DEFAULT_SAMPLE_RATE, MODES

NAME = "engine"
HELP = "granular engine load and worst block time at 48 kHz for several block sizes and grain counts"

DEFAULT_BUNDLE = Path(__file__).resolve().parents[2] / "models" / "additive-timbre.bundle"
BLOCKS = (64, 128, 256)
GRAINS = (8, 32, 64)
LOAD_TARGET = 0.02
WORST_TARGET = 0.25
TARGET_BLOCK = 64
TARGET_GRAINS = 32
PREEMPTION_NS = 50_000
REALTIME_PRIORITY = AUDIO_PRIORITY  # what `latent play --realtime` gives an ALSA audio thread


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE,
                        help="segment-bank bundle to play (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=6.0,
                        help="seconds of audio rendered per pass and configuration (default: %(default)s)")
    parser.add_argument("--sample-rate", type=int, default=DEFAULT_SAMPLE_RATE,
                        help="output rate in Hz (default: %(default)s)")
    parser.add_argument("--grain-ms", type=float, default=100.0, help="grain length (default: %(default)s)")
    parser.add_argument("--realtime", action="store_true",
                        help="measure under SCHED_FIFO priority, as an audio thread runs on the Pi, so other "
                             "processes cannot preempt the render (needs the right to ask for it)")
    parser.add_argument("--touches", type=int, default=60,
                        help="fake-electrode touches for the sensor-to-sound latency (0 skips it; "
                             "default: %(default)s)")


def bench_point(steps: tuple[int, ...]) -> tuple[float, ...]:
    """A point strictly inside a grid cell on every axis, so all 2^N neighbours have weight."""
    return tuple(((n - 1) // 2 + 0.37) / (n - 1) for n in steps)


def bench_pitch(pitches: tuple[int, ...]) -> float:
    """A pitch between two bank pitches, so every grain is transposed by resampling."""
    if len(pitches) == 1:
        return pitches[0] + 0.4
    middle = len(pitches) // 2
    return (pitches[middle - 1] + pitches[middle]) / 2.0 + 0.3


def measure_engine(bank: Any, *, block: int, grains: int, mode: str, seconds: float,
                   sample_rate: int = DEFAULT_SAMPLE_RATE, grain_ms: float = 100.0,
                   seed: int = 0) -> dict[str, Any]:
    """Load and block times of one configuration (see the module docstring)."""
    from device.engine.granular import GranularEngine

    engine = GranularEngine(bank, sample_rate=sample_rate, max_grains=grains + 8, seed=seed)
    engine.warm_up()
    engine.set_point(bench_point(tuple(a.steps for a in bank.axes)))
    engine.set_pitch(bench_pitch(tuple(bank.pitches)))
    engine.set_params(grain_ms=grain_ms, overlap=float(grains), jitter=0.3, position=0.5, mode=mode)
    out = np.zeros(block, dtype=np.float32)
    blocks = max(1, round(seconds * sample_rate / block))
    settle = round(grain_ms * sample_rate / 1000.0 / block) + 2
    for _ in range(settle):
        engine.render_into(out)

    cpu_start = time.thread_time_ns()
    for _ in range(blocks):
        engine.render_into(out)
    cpu_ns = time.thread_time_ns() - cpu_start

    wall_ns = np.empty(blocks, dtype=np.int64)
    block_cpu_ns = np.empty(blocks, dtype=np.int64)
    active = np.empty(blocks, dtype=np.int64)
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for i in range(blocks):
        cpu_before = cpu_clock()
        start = clock()
        engine.render_into(out)
        wall_ns[i] = clock() - start
        block_cpu_ns[i] = cpu_clock() - cpu_before
        active[i] = engine.active_grains

    period_us = block / sample_rate * 1e6
    audio_ns = blocks * block / sample_rate * 1e9
    load = cpu_ns / audio_ns
    worst_us = float(wall_ns.max()) / 1e3
    worst_cpu_us = float(block_cpu_ns.max()) / 1e3
    # A block whose wall time exceeds its CPU time by this much was descheduled mid-render.
    preempted = int(np.count_nonzero(wall_ns - block_cpu_ns > PREEMPTION_NS))
    return {
        "block_frames": block,
        "grains_target": grains,
        "grains_mean": round(float(active.mean()), 2),
        "mode": mode,
        "blocks": blocks,
        "load": round(load, 5),
        "mean_us": round(float(wall_ns.mean()) / 1e3, 2),
        "p99_us": round(float(np.percentile(wall_ns, 99)) / 1e3, 2),
        "worst_us": round(worst_us, 2),
        "period_us": round(period_us, 2),
        "worst_fraction": round(worst_us / period_us, 4),
        "worst_cpu_us": round(worst_cpu_us, 2),
        "worst_cpu_fraction": round(worst_cpu_us / period_us, 4),
        "preempted_blocks": preempted,
        "dropped_grains": engine.dropped_grains,
        "meets_load": load <= LOAD_TARGET,
        "meets_worst": worst_us / period_us <= WORST_TARGET,
        "meets_worst_cpu": worst_cpu_us / period_us <= WORST_TARGET,
    }


@contextlib.contextmanager
def _scheduling(realtime: bool) -> Iterator[str]:
    """Run the body under SCHED_FIFO if asked and allowed; yields what was in effect."""
    if not realtime:
        yield "normal"
        return
    try:
        before = os.sched_getscheduler(0), os.sched_getparam(0)
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
    except (AttributeError, OSError) as refused:
        yield f"normal (SCHED_FIFO refused: {refused})"
        return
    try:
        yield f"SCHED_FIFO {REALTIME_PRIORITY}"
    finally:
        os.sched_setscheduler(0, *before)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from device.bench.latency_bench import measure_latency
    from device.bundle.reader import load_segment_bank

    bank = load_segment_bank(args.bundle)
    with _scheduling(args.realtime) as scheduling:
        results = [
            measure_engine(bank, block=block, grains=grains, mode=mode, seconds=args.seconds,
                           sample_rate=args.sample_rate, grain_ms=args.grain_ms)
            for block in BLOCKS for grains in GRAINS for mode in MODES
        ]
        latency = (measure_latency(args.bundle, touches=args.touches, block_frames=TARGET_BLOCK,
                                   sample_rate=args.sample_rate) if args.touches > 0 else None)
    headline = [r for r in results
                if r["block_frames"] == TARGET_BLOCK and r["grains_target"] == TARGET_GRAINS]
    return {
        "bank": {
            "path": str(args.bundle),
            "sample_rate": bank.sample_rate,
            "codec": bank.codec,
            "axes": [a.steps for a in bank.axes],
            "pitches": len(bank.pitches),
            "corners_mixed": 1 << len(bank.axes),
        },
        "scheduling": scheduling,
        "engine": results,
        "latency": latency,
        "targets": {
            "load": LOAD_TARGET,
            "worst_fraction": WORST_TARGET,
            "at": {"block_frames": TARGET_BLOCK, "grains": TARGET_GRAINS},
            "met": all(r["meets_load"] and r["meets_worst"] for r in headline),
            "met_on_cpu_time": all(r["meets_load"] and r["meets_worst_cpu"] for r in headline),
            "note": "worst_us is wall time and includes blocks descheduled by other processes "
                    "(preempted_blocks); worst_cpu_us is the engine's own CPU time per block",
        },
    }
