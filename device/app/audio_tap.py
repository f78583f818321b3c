"""A lock-free copy of the output for a non-real-time reader (app layer).

The audio thread writes every rendered block into a preallocated ring; another thread reads
what is new at its own pace (the trial monitor judging a freshly flashed bundle by its first
seconds of sound). The writer never waits: a reader that falls more than the ring behind skips
ahead and counts what it missed. Single writer, single reader; index stores are atomic under
the GIL.

The engine plays NaN or infinite samples as silence (its output limiter), but a trial must still
fail on them: the writer passes `nonfinite=True` with a block in which the engine silenced some,
and the reader then finds a NaN in that block, as it would have before the limiter.
"""

from __future__ import annotations

import numpy as np


class AudioTap:
    def __init__(self, capacity_frames: int) -> None:
        if capacity_frames < 1:
            raise ValueError(f"tap capacity must be at least one frame, got {capacity_frames}")
        self._ring = np.zeros(capacity_frames, dtype=np.float32)
        self.capacity = capacity_frames
        self.written = 0  # frames written since creation
        self._read = 0
        self._mark = 0
        self.skipped = 0

    def mark(self) -> None:
        """Writer: what was written so far is not for the reader (e.g. another engine's sound)."""
        self._mark = self.written

    def write(self, block: np.ndarray, nonfinite: bool = False) -> None:
        """Audio thread: copy one block in (no allocation beyond the slice views).

        `nonfinite`: the block stands in for NaN or infinite samples; its last sample is stored as
        NaN, before the block is published, so the reader cannot see the block without it.
        """
        n = block.shape[0]
        if n > self.capacity:
            block = block[n - self.capacity:]
            n = self.capacity
        start = self.written % self.capacity
        first = min(n, self.capacity - start)
        self._ring[start:start + first] = block[:first]
        if first < n:
            self._ring[:n - first] = block[first:]
        if nonfinite and n:
            self._ring[(self.written + n - 1) % self.capacity] = np.nan
        self.written += n

    def read(self) -> np.ndarray:
        """Reader thread: a copy of everything written since the last read (possibly empty)."""
        written = self.written
        self._read = max(self._read, self._mark)
        if written - self._read > self.capacity:
            self.skipped += written - self._read - self.capacity
            self._read = written - self.capacity
        n = written - self._read
        start = self._read % self.capacity
        first = min(n, self.capacity - start)
        out = np.concatenate((self._ring[start:start + first], self._ring[:n - first]))
        self._read = written
        return out
