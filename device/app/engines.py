"""Turning a bundle file into a playing engine, ready to hand to the audio thread (app layer).

Everything slow happens here, off the audio thread: opening and verifying the bundle, building
the engine, compiling its kernel (from numba's cache after the first run), taking the current
control state and pre-rolling a little audio so its grains are already running when it is heard.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from device.bundle.format import KIND_RNN, KIND_SEGMENT_BANK
from device.errors import EngineError
from device.mapping.control_state import ControlState

PREROLL_S = 0.25


def load_engine(path: Path, *, sample_rate: int, seed: int = 0, ceiling: float | None = None,
                live: bool = False, realtime_priority: int | None = None) -> Any:
    """Open `path`, refuse anything unplayable, and return a warmed-up engine for it.

    The bundle's kind picks the engine: a segment bank plays granularly, an rnn through its model
    and the harmonic synth. `ceiling`: the engine's output limiter ceiling, linear (None: the
    engine's default, -1 dBFS). `live`: the engine feeds a sound card in real time, so an rnn runs
    its model in its own thread ahead of the audio (offline, it runs in step with the render).
    `realtime_priority`: that model thread's real-time priority (None: normal class; see
    device.audio.realtime); a bank has no thread of its own and ignores it.
    """
    from device.bundle.reader import open_bundle, segment_bank
    from device.engine.limiter import DEFAULT_CEILING

    bundle = open_bundle(path)
    limit = DEFAULT_CEILING if ceiling is None else ceiling
    try:
        engine: Any
        if bundle.kind == KIND_SEGMENT_BANK:
            from device.engine.granular import GranularEngine

            engine = GranularEngine(segment_bank(bundle), sample_rate=sample_rate, seed=seed, ceiling=limit)
        elif bundle.kind == KIND_RNN:
            from device.bundle.rnn_format import rnn_model
            from device.engine.rnn import RnnEngine

            spec, model = rnn_model(bundle)
            engine = RnnEngine(spec, model, sample_rate=sample_rate, seed=seed, ceiling=limit,
                               threaded=live, bundle=bundle, realtime_priority=realtime_priority)
        else:
            raise EngineError(f"{path}: this instrument has no engine for {bundle.kind!r} bundles")
        engine.warm_up()
    except BaseException:
        bundle.close()
        raise
    return engine


def close_engine(engine: Any) -> None:
    """Release what `load_engine` opened: an rnn's model thread and bundle, a bank's bundle."""
    close = getattr(engine, "close", None)
    if close is not None:
        close()
    else:
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
