"""Drives the rnn engine through random jumps at odd block sizes and output rates; runnable as a
script, which the bounds-check test runs under NUMBA_BOUNDSCHECK=1 (any read or write outside an
array of the synth raises IndexError there)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from tests.device import rnn_models

BLOCK_SIZES = (1, 7, 64, 333, 4096)
RATES = (8000, 22050, 44100, 48000, 96000)


def exercise(directory: Path, *, steps: int = 60, seed: int = 0) -> float:
    """Random jumps of every control between blocks of odd sizes at several rates; the peak level."""
    rng = np.random.default_rng(seed)
    peak = 0.0
    for rate in RATES:
        engine = rnn_models.engine(directory / f"x{rate}.bundle", sample_rate=rate, seed=seed)
        try:
            for i in range(steps):
                engine.set_point((float(rng.choice([0.0, 1.0, rng.random()])), float(rng.random())))
                engine.set_pitch(float(rng.choice([0.0, 127.0, rng.uniform(0.0, 127.0)])))
                engine.set_params(gain=float(rng.choice([0.0, 4.0, rng.random()])))
                if rng.random() < 0.2:
                    engine.trigger()
                out = engine.render(int(rng.choice(BLOCK_SIZES)))
                if not np.all(np.isfinite(out)):
                    raise AssertionError(f"{rate} Hz, step {i}: non-finite output")
                peak = max(peak, float(np.max(np.abs(out))))
        finally:
            engine.close()
    return peak


if __name__ == "__main__":
    print(f"peak {exercise(Path(sys.argv[1])):.4f}")
