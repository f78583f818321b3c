"""Small segment banks written through the real writer, for the bundle tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from device.bundle.grid import Axis
from device.bundle.writer import write_segment_bank


def make_segments(steps: tuple[int, ...], pitches: int, frames: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 16000.0
    shape = (*steps, pitches)
    freqs = 110.0 * (1.0 + rng.random(shape))
    amps = 0.1 + 0.8 * rng.random(shape)
    return (amps[..., None] * np.sin(2 * np.pi * freqs[..., None] * t)).astype(np.float32)


@pytest.fixture
def small_bank(tmp_path: Path) -> Path:
    axes = [Axis("brightness", 0.0, 1.0, 3), Axis("oddeven", -1.0, 1.0, 2)]
    return write_segment_bank(
        tmp_path / "small.bundle",
        name="small",
        sample_rate=16000,
        axes=axes,
        pitches=[48, 60],
        segments=make_segments((3, 2), 2, 400),
        config={"recipe": "test"},
        provenance={"tool": "tests"},
    )
