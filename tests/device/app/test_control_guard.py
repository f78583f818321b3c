"""Control values the engine cannot play are clamped or replaced before they reach it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from device.app.control_guard import guard_state
from device.app.engines import load_engine
from device.app.play import SHIPPED_BUNDLE
from device.engine.params import NUMERIC_RANGES
from device.mapping.control_state import ControlState

GOOD = ControlState((0.2, 0.7), 60.0, {"gain": 1.0, "grain_ms": 80.0, "mode": "mix", "freeze": False})


def test_a_good_state_passes_untouched() -> None:
    assert guard_state(GOOD, None) is GOOD


@pytest.mark.parametrize(("bad", "expected"), [
    (ControlState((math.nan, 1.5), 60.0, {}), ControlState((0.2, 1.0), 60.0, {})),
    (ControlState((-math.inf, math.inf), math.nan, {}), ControlState((0.0, 1.0), 60.0, {})),
    (ControlState((0.5, 0.5), 1e9, {"gain": 1e9, "jitter": -3.0}),
     ControlState((0.5, 0.5), 127.0, {"gain": NUMERIC_RANGES["gain"][1], "jitter": 0.0})),
    (ControlState((0.5, 0.5), -5.0, {"gain": math.nan, "mode": "scatter"}),
     ControlState((0.5, 0.5), 0.0, {"mode": "scatter"})),
])
def test_bad_values_are_clamped_and_nan_keeps_the_last_good_value(bad: ControlState,
                                                                    expected: ControlState) -> None:
    assert guard_state(bad, GOOD) == expected


def test_nan_with_no_history_takes_a_neutral_value() -> None:
    guarded = guard_state(ControlState((math.nan,), math.nan, {}), None)
    assert guarded.point == (0.5,) and guarded.pitch == 60.0


def test_the_engine_plays_guarded_extremes_without_a_blast() -> None:
    engine = load_engine(SHIPPED_BUNDLE, sample_rate=48000)
    block = np.zeros(4800, dtype=np.float32)
    try:
        for raw in (ControlState((math.nan, math.inf), math.inf, {"gain": math.inf, "overlap": 1e12}),
                    ControlState((2.0, -2.0), -math.inf, {"gain": -1.0, "grain_ms": math.nan})):
            state = guard_state(raw, GOOD)
            engine.set_point(state.point)
            engine.set_pitch(state.pitch)
            params = {k: v for k, v in state.params.items() if k != "overlap"}
            engine.set_params(**params)
            for _ in range(10):
                engine.render_into(block)
                assert np.all(np.isfinite(block))
                # The gain is clamped to the engine's top (4x): loud at most, never unbounded.
                assert np.max(np.abs(block)) < 4.0
    finally:
        engine.bank.bundle.close()
