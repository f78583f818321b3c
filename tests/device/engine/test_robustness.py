"""Extreme settings stay finite and in bounds; steady-state rendering allocates nothing; the bank is
read in place, never decoded whole."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from device.engine.granular import GranularEngine

from .allocations import render_allocations
from .banks import midi_hz, sine_bank
from .extremes import exercise

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def banks(tmp_path: Path) -> list[Path]:
    """A short-segment 4-axis int16 bank (16 neighbours, grains outrun segments) and a mulaw one."""
    four = tmp_path / "four.bundle"
    sine_bank(four, steps=(2, 3, 2, 2), pitches=[40, 52], seconds=0.05,
              frequency=lambda g, p: midi_hz(40 + 12 * p) * (1 + 0.1 * sum(g)))
    mulaw = tmp_path / "mulaw.bundle"
    sine_bank(mulaw, steps=(3,), pitches=[60], sample_rate=22050, seconds=0.2, codec="mulaw8",
              frequency=lambda g, _p: 200.0 + 50.0 * g[0])
    return [four, mulaw]


def test_random_extreme_jumps_stay_finite_and_bounded(banks: list[Path]) -> None:
    for path in banks:
        # No grain is louder than its segment (peak 0.8) and at most 24 sound at once, at gain <= 4:
        # a read of anything but the bank's codes would show up as non-finite or far above this.
        assert exercise(str(path)) <= 4.0 * 24 * 0.8


def test_no_read_or_write_leaves_its_array_and_the_kernel_allocates_nothing(banks: list[Path],
                                                                           tmp_path: Path) -> None:
    """The same drive compiled with numba's bounds checking (an out-of-range index raises) and
    runtime allocation counting (see `extremes.runtime_allocations_per_block`)."""
    env = {**os.environ, "NUMBA_BOUNDSCHECK": "1", "NUMBA_NRT_STATS": "1",
           "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache"), "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "tests.device.engine.extremes", *map(str, banks)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("runtime allocations per block") == len(banks)


def test_steady_state_rendering_allocates_nothing(banks: list[Path]) -> None:
    from device.bundle.reader import load_segment_bank

    engine = GranularEngine(load_segment_bank(banks[0]), max_grains=16)
    engine.warm_up()
    engine.set_params(overlap=8.0, grain_ms=30.0, jitter=0.5, mode="mix")
    engine.set_point((0.3, 0.4, 0.5, 0.6))
    kept, passing = render_allocations(engine, settle_blocks=1000, measured_blocks=3000)
    assert kept == 0, f"{kept} bytes kept over 3000 blocks"
    # numba's dispatcher makes a few small, immediately freed objects per call; nothing scales.
    assert passing < 2048, f"a block allocated {passing} bytes in passing"


def test_the_bank_is_read_in_place(tmp_path: Path) -> None:
    from device.bundle.reader import load_segment_bank

    path = tmp_path / "big.bundle"
    sine_bank(path, steps=(4, 4), pitches=[48, 60, 72], seconds=2.0,
              frequency=lambda g, p: midi_hz(48 + 12 * p) * (1 + 0.05 * g[0] + 0.02 * g[1]))
    bank = load_segment_bank(path)
    codes_bytes = bank.segments.nbytes  # 3 MB of int16; decoded floats would take 6 MB
    tracemalloc.start()
    try:
        engine = GranularEngine(bank)
        engine.set_params(grain_ms=200.0, overlap=16.0, jitter=1.0)
        for point in np.linspace(0.0, 1.0, 20):
            engine.set_point((point, 1.0 - point))
            engine.render(4800)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < codes_bytes / 10, f"playing the bank allocated {peak} bytes"
