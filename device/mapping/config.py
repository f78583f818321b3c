"""The settings a mapping file expresses, as frozen dataclasses, and what each may hold (mapping layer).

A mapping tells the instrument how sensor channels become music: calibration of each channel,
smoothing, which channels move the latent axes, which are pitch keys, which drive grain
parameters or act as switches, how loud notes and idling are, and named presets. `map_file`
reads and validates the TOML form of these settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from device.bundle.format import MAX_GRID_AXES
from device.engine.params import MODES as ENGINE_MODES
from device.engine.params import NUMERIC_RANGES
from device.engine.windows import WINDOW_NAMES
from device.mapping.control_state import ParamValue

if TYPE_CHECKING:
    from device.mapping.learned import LearnedMapping

# The channels of the instrument as built (hardware/): 12 MPR121 electrodes and 2 flex sensors
# on an ADS1115. A map for a different build passes its own channel set to `load_map`.
INSTRUMENT_CHANNELS: Mapping[str, str] = {
    **{f"e{i}": "electrode" for i in range(12)},
    "flex0": "flex",
    "flex1": "flex",
}
CHANNEL_KINDS = ("electrode", "flex")

# Engine parameters a map may set (the engine's GrainParams fields) and what each accepts: never
# wider than the engine's own bounds, so a map that loads is a map the engine plays. Gain stops
# at 1 (the engine allows boost) so an edited map cannot make the installation clip.
# The bounds, modes and windows are the engine's own (device.engine), never copied here.
MAP_GAIN_MAX = 1.0
CONTINUOUS_PARAMS: Mapping[str, tuple[float, float]] = {
    name: (low, min(high, MAP_GAIN_MAX) if name == "gain" else high)
    for name, (low, high, _unit) in NUMERIC_RANGES.items()
}
MODES = ENGINE_MODES
WINDOWS = WINDOW_NAMES
PARAM_NAMES = (*CONTINUOUS_PARAMS, "freeze", "mode", "window")
SWITCH_ACTIONS = ("hold", "toggle")
MAX_AXES = MAX_GRID_AXES  # a segment bank has 1..MAX_GRID_AXES latent axes (bundle format)


@dataclass(frozen=True)
class Smoothing:
    """One-Euro filter settings: `min_cutoff` Hz at rest, `beta` speed gain, `d_cutoff` Hz."""

    min_cutoff: float = 1.5
    beta: float = 4.0
    d_cutoff: float = 1.0


@dataclass(frozen=True)
class ChannelCalibration:
    """How one channel is turned into 0..1. `rest`/`full` both set = a fixed range, never learned."""

    kind: str
    initial_range: float
    dead_zone: float
    noise_sigmas: float
    drift_tau_s: float
    fall_tau_s: float
    range_relax_tau_s: float
    rest: float | None = None
    full: float | None = None

    @property
    def fixed(self) -> bool:
        return self.rest is not None and self.full is not None


KIND_DEFAULTS: Mapping[str, ChannelCalibration] = {
    # MPR121 deltas: noise is about a count, a finger gives tens of counts (the chip's own
    # touch threshold is 12). A 50-count range with a 10 % dead zone keeps noise silent.
    "electrode": ChannelCalibration("electrode", initial_range=50.0, dead_zone=0.1, noise_sigmas=4.0,
                                    drift_tau_s=300.0, fall_tau_s=5.0, range_relax_tau_s=300.0),
    # ADS1115 counts (gain 1) of a flex sensor in a divider with 47 kOhm: about 9000 counts from
    # flat to bent double. Starting below that means the first deep bend teaches the true range
    # (an axis saturating briefly) rather than full bend never reaching the end of an axis.
    "flex": ChannelCalibration("flex", initial_range=6000.0, dead_zone=0.03, noise_sigmas=4.0,
                               drift_tau_s=600.0, fall_tau_s=30.0, range_relax_tau_s=3600.0),
}


@dataclass(frozen=True)
class AxisTarget:
    """A latent axis driven by a continuous channel."""

    axis: int
    source: str
    invert: bool = False
    curve: str = "linear"
    min: float = 0.0
    max: float = 1.0
    smoothing: Smoothing = field(default_factory=Smoothing)


@dataclass(frozen=True)
class ControlTarget:
    """A continuous grain parameter driven by how much a channel is touched or bent."""

    param: str
    source: str
    min: float
    max: float
    invert: bool = False
    curve: str = "linear"
    smoothing: Smoothing = field(default_factory=Smoothing)


@dataclass(frozen=True)
class SwitchTarget:
    """A parameter set by touching a channel: while touched (`hold`) or flipped per touch (`toggle`).

    `released` None means "leave the parameter to the preset / [params]" when not engaged.
    """

    param: str
    source: str
    action: str
    touched: ParamValue
    released: ParamValue | None = None


@dataclass(frozen=True)
class PitchKeys:
    """Channels that play notes: the most recently touched held key sounds."""

    keys: tuple[str, ...]
    notes: tuple[float, ...]
    glide_ms: float = 0.0
    transpose: float = 0.0


@dataclass(frozen=True)
class TouchThresholds:
    """Hysteresis on a channel's 0..1 output: touched above `on`, released below `off`."""

    on: float = 0.2
    off: float = 0.1


@dataclass(frozen=True)
class GainShape:
    """Level while a key is held (`note`) and while none is (`idle`), and the ramp times between
    levels (milliseconds for a full-scale 0 -> 1 change)."""

    note: float = 1.0
    idle: float = 0.2
    attack_ms: float = 10.0
    release_ms: float = 1500.0


@dataclass(frozen=True)
class ControlOverride:
    """A preset's change to one control's range or curve (None keeps the base value)."""

    min: float | None = None
    max: float | None = None
    curve: str | None = None


@dataclass(frozen=True)
class Preset:
    """A named set of overrides on the base map, chosen with the preset button."""

    name: str
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    controls: Mapping[str, ControlOverride] = field(default_factory=dict)
    transpose: float | None = None
    notes: tuple[float, ...] | None = None


@dataclass(frozen=True)
class MapConfig:
    """A whole validated mapping file."""

    source: str
    learn_s: float
    calibration: Mapping[str, ChannelCalibration]
    touch: TouchThresholds
    pitch: PitchKeys | None
    gain: GainShape
    params: Mapping[str, ParamValue]
    axes: tuple[AxisTarget, ...]
    controls: tuple[ControlTarget, ...]
    switches: tuple[SwitchTarget, ...]
    presets: tuple[Preset, ...]
    # What `latent map train` fitted (the [learned] section): the sensor pose drives some latent
    # axes and/or chooses the preset; None: the axes above drive the point directly.
    learned: LearnedMapping | None = None

    @property
    def channels_used(self) -> tuple[str, ...]:
        """Every channel some target reads, in first-use order."""
        used: dict[str, None] = {}
        for axis in self.axes:
            used[axis.source] = None
        if self.pitch is not None:
            for key in self.pitch.keys:
                used[key] = None
        for control in self.controls:
            used[control.source] = None
        for switch in self.switches:
            used[switch.source] = None
        if self.learned is not None:
            for name in self.learned.inputs:
                used[name] = None
        return tuple(used)
