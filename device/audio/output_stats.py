"""What a real-time output counts while it plays, and the block timer both outputs share (audio layer).

`OutputStats` is one snapshot, the same for the ring-fed output (`device.audio.pyaudio_output`)
and the callback output kept for comparison (`device.audio.callback_output`), so benches and
tests read either alike. `BlockTimer` keeps the spacing of block deliveries in a preallocated
ring (no allocation per block) for the jitter percentiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# Block spacings kept for the percentiles (a power of two): about 87 s of 64-frame blocks at 48 kHz.
INTERVAL_HISTORY = 1 << 16


@dataclass(frozen=True)
class OutputStats:
    """What a running (or stopped) output has counted since it started.

    `blocks`: blocks handed to the device. `blocks_due`: blocks the device consumed in the same
    time (its clock), so `blocks_due - blocks` beyond the render-ahead is audio never delivered.
    `underruns`: audible gaps: the ring ran dry before the render thread refilled it, or the
    device reported an underflow (for the callback output: PortAudio's underflow flags).
    `errors`: blocks the source could not supply (it raised, or gave NaN/inf), played as silence;
    `last_error` describes the latest. `max_render_s`: longest render of one block (the callback
    output: longest callback). `max_interval_s`, `interval_p99_s`, `interval_p999_s`: spacing of
    block deliveries. `ring_frames`: PortAudio's ring between us and the device (0: callback).
    `render_ahead_frames`: how far ahead of the device the render thread keeps the ring filled.
    `output_latency_s`: render-ahead plus the device's own latency. `render_cpu_s`: CPU time the
    render (or callback) thread used. `device_lost`: why the device stopped taking audio, if it did.
    """

    blocks: int
    blocks_due: float
    underruns: int
    errors: int
    elapsed_s: float
    max_render_s: float
    max_interval_s: float
    interval_p99_s: float
    interval_p999_s: float
    ring_frames: int
    render_ahead_frames: int
    output_latency_s: float
    render_cpu_s: float
    thread_restarts: int
    last_error: str | None
    device_lost: str | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def describe_error(error: BaseException | None) -> str | None:
    return None if error is None else f"{type(error).__name__}: {error}"


class BlockTimer:
    """Spacing of block deliveries and the longest render, written by one thread, read by any."""

    def __init__(self) -> None:
        self._intervals = np.zeros(INTERVAL_HISTORY, dtype=np.float64)
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.last = 0.0
        self.max_interval = 0.0
        self.max_render = 0.0
        self._intervals[:] = 0.0

    def delivered(self, now: float, render_s: float) -> None:
        """One block delivered at `now` (perf_counter) after `render_s` of rendering."""
        if self.count:
            interval = now - self.last
            self._intervals[self.count & (INTERVAL_HISTORY - 1)] = interval
            if interval > self.max_interval:
                self.max_interval = interval
        self.count += 1
        self.last = now
        if render_s > self.max_render:
            self.max_render = render_s

    def reset_peaks(self) -> None:
        self.max_interval = 0.0
        self.max_render = 0.0
        self._intervals[:] = 0.0

    def interval_figures(self) -> tuple[float, float, float]:
        """(longest, p99, p99.9) block spacing, one consistent set read while the render thread
        goes on writing: the percentiles come from a copy of the ring, and the longest is at least
        the copy's longest (a spacing stored before `max_interval` caught up with it would
        otherwise put a percentile above the maximum)."""
        intervals = self._intervals.copy()
        kept = intervals[intervals > 0.0]  # slots not written since a reset are 0
        if not kept.size:
            return self.max_interval, 0.0, 0.0
        p99, p999 = np.percentile(kept, (99.0, 99.9))
        return max(self.max_interval, float(kept.max())), float(p99), float(p999)
