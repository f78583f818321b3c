"""Keeps control values the engine cannot play from ever reaching it (app layer).

A mapping, a learned regressor or a faulty sensor can produce NaN, infinities or values out of
range. The engine refuses those (a refused update leaves the previous sound), but the control
side must not rely on a refusal: here each value is clamped into the engine's own ranges
(`device.engine.params.NUMERIC_RANGES`, latent coordinates 0..1, MIDI 0..127) and a NaN is
replaced by the last good value, so nothing unplayable is applied and nothing is heard as a
blast. States that are already good pass through untouched (no allocation on the usual path).
"""

from __future__ import annotations

import math

from device.engine.params import NUMERIC_RANGES
from device.mapping.control_state import ControlState, ParamValue

MIDI_RANGE = (0.0, 127.0)
DEFAULT_COORD = 0.5
DEFAULT_PITCH = 60.0


def _clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def _good(value: float, low: float, high: float) -> bool:
    return low <= value <= high  # False for NaN, whose comparisons are all false


def guard_state(state: ControlState, last: ControlState | None) -> ControlState:
    """`state` with every value playable: clamped into range, NaN replaced by the last good value."""
    params = state.params
    if (all(_good(c, 0.0, 1.0) for c in state.point) and _good(state.pitch, *MIDI_RANGE)
            and all(_good(float(v), *NUMERIC_RANGES[k][:2]) for k, v in params.items()
                    if k in NUMERIC_RANGES and not isinstance(v, (bool, str)))):
        return state
    point = tuple(
        _clamp(c, 0.0, 1.0) if not math.isnan(c)
        else (last.point[i] if last is not None and i < len(last.point) else DEFAULT_COORD)
        for i, c in enumerate(state.point))
    pitch = state.pitch
    if math.isnan(pitch):
        pitch = last.pitch if last is not None else DEFAULT_PITCH
    pitch = _clamp(pitch, *MIDI_RANGE)
    guarded: dict[str, ParamValue] = {}
    for key, value in params.items():
        if key in NUMERIC_RANGES and not isinstance(value, (bool, str)):
            low, high, _unit = NUMERIC_RANGES[key]
            number = float(value)
            if math.isnan(number):
                continue  # the engine keeps the value it has
            value = _clamp(number, low, high)
        guarded[key] = value
    return ControlState(point, pitch, guarded, state.trigger)
