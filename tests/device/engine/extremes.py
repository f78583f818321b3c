"""Drives an engine through extreme and random parameter jumps; also runnable as a script.

Run in-process it checks the output stays finite and bounded. The bounds-check test runs it as
`python -m tests.device.engine.extremes BANK...` under NUMBA_BOUNDSCHECK=1, where any read or
write outside an array (past a segment's end, a scratch overrun) raises IndexError and fails,
and with NUMBA_NRT_STATS=1, where it also counts the numba runtime's allocations per block.
"""

from __future__ import annotations

import sys

import numpy as np

from device.bundle.reader import load_segment_bank
from device.engine.granular import GranularEngine
from device.engine.windows import WINDOW_NAMES

BLOCK_SIZES = (1, 7, 64, 333, 4096)


def exercise(bank_path: str, *, steps: int = 120, seed: int = 0) -> float:
    """Random jumps of every control between blocks of odd sizes; returns the peak output level."""
    bank = load_segment_bank(bank_path)
    engine = GranularEngine(bank, sample_rate=48000, max_grains=24, seed=seed)
    rng = np.random.default_rng(seed)
    n_axes = len(bank.axes)
    peak = 0.0
    for i in range(steps):
        corner = rng.integers(0, 2, n_axes).astype(float)
        engine.set_point(tuple(corner if i % 3 == 0 else rng.random(n_axes)))
        engine.set_pitch(float(rng.choice([0.0, 127.0, rng.uniform(0.0, 127.0)])))
        engine.set_params(
            grain_ms=float(rng.choice([5.0, 2000.0, rng.uniform(5.0, 300.0)])),
            overlap=float(rng.choice([0.05, 22.0, rng.uniform(0.5, 8.0)])),
            position=float(rng.choice([0.0, 1.0, rng.random()])),
            jitter=float(rng.choice([0.0, 1.0, rng.random()])),
            window=str(rng.choice(WINDOW_NAMES)),
            gain=float(rng.choice([0.0, 4.0, rng.random()])),
            mode=str(rng.choice(["mix", "scatter"])),
            freeze=bool(rng.random() < 0.2),
        )
        if rng.random() < 0.3:
            engine.trigger()
        out = engine.render(int(rng.choice(BLOCK_SIZES)))
        if not np.all(np.isfinite(out)):
            raise AssertionError(f"step {i}: non-finite output")
        peak = max(peak, float(np.max(np.abs(out))))
    return peak


def runtime_allocations_per_block(bank_path: str, *, frames: int, overlap: float) -> float:
    """numba runtime (NRT) allocations per block in steady state; needs NUMBA_NRT_STATS=1.

    Raises if any survive a block (a leak). What remains per block is numba's constant wrapping
    of the array arguments at the call boundary; the kernel itself allocates nothing, so the
    count must not depend on the block size or the number of grains.
    """
    from numba.core.runtime import rtsys

    bank = load_segment_bank(bank_path)
    engine = GranularEngine(bank, sample_rate=48000, max_grains=24)
    engine.set_params(grain_ms=40.0, overlap=overlap, jitter=0.5)
    engine.set_point((0.3,) * len(bank.axes))
    out = np.zeros(frames, dtype=np.float32)
    for _ in range(50):
        engine.render_into(out)
    before = rtsys.get_allocation_stats()
    blocks = 500
    for _ in range(blocks):
        engine.render_into(out)
    after = rtsys.get_allocation_stats()
    allocs, frees = after.alloc - before.alloc, after.free - before.free
    if allocs != frees:
        raise AssertionError(f"{allocs - frees} runtime allocations outlived their block")
    return allocs / blocks


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(path, exercise(path))
        small = runtime_allocations_per_block(path, frames=64, overlap=1.0)
        large = runtime_allocations_per_block(path, frames=2048, overlap=20.0)
        if small != large:
            raise AssertionError(f"runtime allocations per block grow with the work: {small} -> {large}")
        print("runtime allocations per block", small)
