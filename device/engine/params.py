"""Grain parameters of the granular engine and their validation (engine layer).

`GrainParams` is immutable: the engine swaps in a new, validated instance on every change, so a
half-applied update can never reach the audio kernel. Field names are the contract with the
mapping layer (`ControlState.params` keys are a subset of them).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from device.engine.windows import WINDOW_NAMES
from device.errors import EngineError

MODES = ("mix", "scatter")
DEFAULT_SAMPLE_RATE = 48000  # Hz: the rate the instrument plays at, and banks are checked at

# (low, high) inclusive bounds of the numeric fields, with the unit shown in messages.
NUMERIC_RANGES: dict[str, tuple[float, float, str]] = {
    "grain_ms": (5.0, 2000.0, "ms"),
    "overlap": (0.05, 256.0, "grains"),
    "position": (0.0, 1.0, "(fraction of the start range)"),
    "jitter": (0.0, 1.0, "(fraction of the start range)"),
    "gain": (0.0, 4.0, "(linear)"),
}


def _real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise EngineError(f"grain parameter {name} must be a number, got {value!r}")
    number = float(value)
    low, high, unit = NUMERIC_RANGES[name]
    if not math.isfinite(number) or not low <= number <= high:
        raise EngineError(f"grain parameter {name}={value!r} is outside {low:g}..{high:g} {unit}")
    return number


@dataclass(frozen=True)
class GrainParams:
    """How grains are made.

    grain_ms: grain length. overlap: average number of grains sounding at once (density); grains
    start every grain_ms / overlap. position: where in the segment grains start reading (0 = start,
    1 = as late as the grain still fits). jitter: width of the random spread of that start, as a
    fraction of the range position spans. window: grain envelope. gain: output gain (ramped, never
    stepped).
    freeze: hold point, pitch and position (see `GranularEngine`). mode: "mix" (each grain blends
    the grid neighbours by weight) or "scatter" (each grain plays one neighbour drawn by weight).
    """

    grain_ms: float = 80.0
    overlap: float = 4.0
    position: float = 0.5
    jitter: float = 0.1
    window: str = "hann"
    gain: float = 1.0
    freeze: bool = False
    mode: str = "mix"

    def __post_init__(self) -> None:
        for name in NUMERIC_RANGES:
            object.__setattr__(self, name, _real(name, getattr(self, name)))
        if self.window not in WINDOW_NAMES:
            raise EngineError(f"grain parameter window={self.window!r} is unknown; "
                              f"use one of {', '.join(WINDOW_NAMES)}")
        if self.mode not in MODES:
            raise EngineError(f"grain parameter mode={self.mode!r} is unknown; use one of {', '.join(MODES)}")
        if not isinstance(self.freeze, bool):
            raise EngineError(f"grain parameter freeze must be True or False, got {self.freeze!r}")


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(GrainParams))


# ----- the controls every engine takes alike (granular and rnn check them with these) -----------

def check_int(name: str, value: object, low: int, high: int) -> int:
    """An engine's whole-number setting or argument in low..high, or an EngineError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= int(value) <= high:
        raise EngineError(f"{name} must be an integer in {low}..{high}, got {value!r}")
    return int(value)


def check_point(coords: Sequence[float], axis_names: Sequence[str], engine: str) -> tuple[float, ...]:
    """A latent point: one 0..1 value per axis of `engine` ("bank", "rnn"); missing trailing axes sit
    at 0.5 (where the mapping leaves an axis nobody drives)."""
    n_axes = len(axis_names)
    values = tuple(coords)
    if len(values) > n_axes:
        raise EngineError(f"set_point got {len(values)} coordinates but the {engine} has {n_axes} "
                          f"{'axis' if n_axes == 1 else 'axes'} ({', '.join(axis_names)})")
    for axis, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= float(value) <= 1.0:
            raise EngineError(f"latent coordinate {axis} ({axis_names[axis]}) must be a number "
                              f"in 0..1, got {value!r}")
    return tuple(float(v) for v in values) + (0.5,) * (n_axes - len(values))


def check_midi(midi: object) -> float:
    """A MIDI pitch, fractional allowed, in 0..127."""
    if isinstance(midi, bool) or not isinstance(midi, numbers.Real) or not 0.0 <= float(midi) <= 127.0:
        raise EngineError(f"pitch must be a MIDI note number in 0..127, got {midi!r}")
    return float(midi)


def changed_params(params: GrainParams, changes: Mapping[str, Any]) -> GrainParams:
    """`params` with `changes` made, all checked (names and values): all or nothing."""
    unknown = sorted(set(changes) - set(FIELD_NAMES))
    if unknown:
        raise EngineError(f"unknown grain parameter(s) {', '.join(unknown)}; "
                          f"known: {', '.join(FIELD_NAMES)}")
    return dataclasses.replace(params, **changes)
