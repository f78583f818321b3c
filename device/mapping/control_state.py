"""What the mapping layer hands to the engine on every sensor frame (mapping layer).

The app applies a `ControlState` to the engine as: `set_point(point)`, `set_pitch(pitch)`,
`set_params(**params)`, and `trigger()` when `trigger` is true.
"""

from __future__ import annotations

from dataclasses import dataclass

ParamValue = float | bool | str


@dataclass(frozen=True, slots=True)
class ControlState:
    """The instrument's musical state at one sensor frame.

    `point`: latent coordinates, each 0..1, one per mapped axis (the engine holds any further
    bank axes at 0.5). `pitch`: MIDI note number, fractional while gliding. `params`: grain
    parameters named as the engine's GrainParams fields (grain_ms, overlap, position, jitter,
    gain, freeze, mode, window). `trigger`: a note-on happened at this frame (a key's touch
    onset): the engine should start a grain at once.
    """

    point: tuple[float, ...]
    pitch: float
    params: dict[str, ParamValue]
    trigger: bool = False
