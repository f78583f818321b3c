"""Driving a source into a block output in a plain loop, faster than real time (audio layer).

Offline runs (a WAV file when there is no sound card, benchmarks into NullOutput) have no audio
clock, so the loop itself is the clock: `before_block(t)` is called with the stream time of each
block before it is rendered, which is where the app steps simulated sensors and the mapping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from device.audio.source import require_source
from device.audio.stream_settings import check_block_frames
from device.errors import ConfigError


class BlockOutput(Protocol):
    """Where offline blocks go: WavFileOutput and NullOutput."""

    def write(self, block: np.ndarray) -> None: ...


def run_offline(source: object, output: BlockOutput, seconds: float, *, sample_rate: int = 48000,
                block_frames: int = 128, before_block: Callable[[float], None] | None = None) -> int:
    """Render `seconds` of `source` into `output` block by block; return the frames written.

    The last block is rendered whole and written cut to length, so exactly
    round(seconds * sample_rate) frames reach the output.
    """
    playable = require_source(source)
    check_block_frames(block_frames)
    if not seconds >= 0.0 or seconds == float("inf"):
        raise ConfigError(f"offline run length {seconds!r} s must be a finite number of seconds, 0 or more")
    total = round(seconds * sample_rate)
    block = np.zeros(block_frames, dtype=np.float32)
    written = 0
    while written < total:
        if before_block is not None:
            before_block(written / sample_rate)
        playable.render_into(block)
        frames = min(block_frames, total - written)
        output.write(block[:frames])
        written += frames
    return written
