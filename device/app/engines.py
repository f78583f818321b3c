"""Turning a bundle file into a playing engine, ready to hand to the audio thread (app layer).

Everything slow happens here, off the audio thread: opening and verifying the bundle, building
the engine, compiling its kernel (from numba's cache after the first run), taking the current
control state and pre-rolling a little audio so its grains are already running when it is heard.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from device.bundle.format import KIND_SEGMENT_BANK
from device.errors import EngineError
from device.mapping.control_state import ControlState

PREROLL_S = 0.25


def load_engine(path: Path, *, sample_rate: int, seed: int = 0, ceiling: float | None = None) -> Any:
    """Open `path`, refuse anything unplayable, and return a warmed-up engine for it.

    `ceiling`: the engine's output limiter ceiling, linear (None: the engine's default, -1 dBFS).
    """
    from device.bundle.reader import open_bundle, segment_bank
    from device.engine.granular import GranularEngine
    from device.engine.limiter import DEFAULT_CEILING

    bundle = open_bundle(path)
    try:
        if bundle.kind != KIND_SEGMENT_BANK:
            raise EngineError(f"{path}: this instrument has no engine for {bundle.kind!r} bundles")
        engine = GranularEngine(segment_bank(bundle), sample_rate=sample_rate, seed=seed,
                                ceiling=DEFAULT_CEILING if ceiling is None else ceiling)
        engine.warm_up()
    except BaseException:
        bundle.close()
        raise
    return engine


def close_engine(engine: Any) -> None:
    engine.bank.bundle.close()


def apply_state(engine: Any, state: ControlState | None) -> None:
    if state is None:
        return
    engine.set_point(state.point)
    engine.set_pitch(state.pitch)
    if state.params:
        engine.set_params(**state.params)


def preroll(engine: Any, state: ControlState | None, seconds: float = PREROLL_S, block: int = 256) -> None:
    """Bring `engine` to the current state and let its grains fill in, output discarded."""
    apply_state(engine, state)
    buffer = np.zeros(block, dtype=np.float32)
    for _ in range(max(1, round(seconds * engine.sample_rate / block))):
        engine.render_into(buffer)
