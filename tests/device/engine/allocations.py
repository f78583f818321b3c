"""What an engine's render_into allocates once it plays steadily, measured with tracemalloc."""

from __future__ import annotations

import tracemalloc
from typing import Any

import numpy as np


def render_allocations(engine: Any, *, settle_blocks: int, measured_blocks: int,
                       warm_blocks: int = 100, block: int = 64) -> tuple[int, int]:
    """(bytes kept, peak bytes in passing) above the traced baseline over `measured_blocks` of
    `block` frames, after `warm_blocks` untraced and `settle_blocks` traced ones."""
    out = np.zeros(block, dtype=np.float32)
    for _ in range(warm_blocks):
        engine.render_into(out)
    tracemalloc.start()
    try:
        for _ in range(settle_blocks):
            engine.render_into(out)
        baseline, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(measured_blocks):
            engine.render_into(out)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return current - baseline, peak - baseline
