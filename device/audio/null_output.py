"""An output that consumes blocks and keeps only counts (audio layer): for benchmarks and dry runs."""

from __future__ import annotations

import numpy as np


class NullOutput:
    """Accepts blocks like WavFileOutput does and discards them, counting frames and blocks."""

    def __init__(self, sample_rate: int = 48000) -> None:
        self.sample_rate = sample_rate
        self.frames_written = 0
        self.blocks_written = 0
        self.peak = 0.0

    def write(self, block: np.ndarray) -> None:
        # The peak is kept so a benchmark's output is observed (and a silent source is visible).
        self.frames_written += block.shape[0]
        self.blocks_written += 1
        if block.size:
            self.peak = max(self.peak, float(np.max(np.abs(block))))

    @property
    def seconds_written(self) -> float:
        return self.frames_written / self.sample_rate

    def close(self) -> None:
        """Nothing to release; present so every block output can be closed the same way."""
