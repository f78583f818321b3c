"""Where the sensors' ControlState meets every other control source before the engine (app layer).

The sensor mapper turns each frame into a `ControlState`; MIDI, OSC and gallery drift are further
sources that may move the latent point, the pitch and the engine's parameters. `ControlMerge`
wraps the mapper (it is itself a `FrameMapper`, so `Instrument` needs no change to use it) and
combines, on the control thread, the mapper's state with what each source contributes:

- sources are applied in ascending `priority` on top of the sensors' state (human sources above
  autonomous ones: gallery drift 10, a recalled preset 15, OSC 20, MIDI 30), a later one
  overriding an earlier one field by field;
- `axes` overrides single latent axes, `point` the whole point, `pitch` the pitch, `params`
  engine parameters by name; `gain` is combined with the level so far by the maximum, so a MIDI
  note and an electrode key sound together and neither silences the other;
- `triggers` is a source's running count of note-ons: when it grows the merged state carries a
  trigger (counts, not flags, so a note-on between two polls is never lost nor played twice);
- `human` marks input from a person: the merge remembers when a person last played
  (`last_human`, also set by a pitch key of the sensors), which autonomous sources (gallery drift)
  read through `idle_for(now)` to know when to take over and when to hand back;
- `autonomous` marks a source playing by itself because nobody plays (gallery drift): while it
  contributes, the point and pitch that sources above it merely hold (not `human` now: a preset
  left recalled, a CC knob or an OSC value set minutes ago) give way to it, or the drift would be
  inaudible behind them until the next restart; their engine parameters and levels still apply,
  and a source being played again (`human`) overrides the drift as before.

A source is anything with `name`, `priority` and `contribute(now) -> Contribution | None`; it
runs on the control thread and must be quick and non-blocking: sources fed by other threads
(MIDI, OSC) publish an immutable snapshot there and `contribute` only reads it (attribute reads
are atomic under the GIL), so no lock is taken here. None means "nothing from me now".
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from device.mapping.control_state import ControlState, ParamValue
from device.sensors.frame import SensorFrame

UNMAPPED_AXIS = 0.5  # where the engine holds an axis nobody drives (device.mapping.mapper)
# A message from a person (a MIDI CC, an OSC value) counts as playing for this long after it:
# single messages have no "held" state, and gallery mode must not take over between two of them.
HUMAN_HOLD_S = 1.0

# Conventional priorities: a higher one overrides a lower one where both set a field.
PRIORITY_AUTONOMOUS = 10  # gallery drift: only while nobody plays
PRIORITY_PRESET = 15  # a recalled preset, until the sensors move away from it
PRIORITY_OSC = 20
PRIORITY_MIDI = 30


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one source says about the instrument's state now; unset fields leave it alone."""

    axes: Mapping[int, float] = field(default_factory=dict)
    point: tuple[float, ...] | None = None
    pitch: float | None = None
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    gain: float | None = None
    triggers: int = 0
    human: bool = False
    autonomous: bool = False


class ControlSource(Protocol):
    """A source of control beside the sensors (see the module docstring)."""

    name: str
    priority: int

    def contribute(self, now: float) -> Contribution | None: ...


class SensorMapper(Protocol):
    def update(self, frame: SensorFrame) -> ControlState: ...


class ControlMerge:
    """The sensor mapper plus extra sources, as one `update(frame) -> ControlState`.

    `remerge(now)` recombines the sensors' last state with the sources' present contributions
    without a new frame: a MIDI note-on is applied at once instead of waiting for the next poll
    (the caller serialises it with the poll, see `Instrument.apply`).
    """

    def __init__(self, mapper: SensorMapper) -> None:
        self.mapper = mapper
        self._sources: tuple[ControlSource, ...] = ()
        self._seen_triggers: dict[str, int] = {}
        self._base: ControlState | None = None
        self.last_human: float | None = None
        self._lock = threading.Lock()  # add/remove from any thread; the tuple swap is what update reads

    # -- sources --------------------------------------------------------------------------------
    def add(self, source: ControlSource) -> None:
        with self._lock:
            if any(s.name == source.name for s in self._sources):
                raise ValueError(f"a control source named {source.name!r} is already attached")
            self._sources = tuple(sorted((*self._sources, source), key=lambda s: s.priority))

    def remove(self, name: str) -> None:
        with self._lock:
            self._sources = tuple(s for s in self._sources if s.name != name)
            self._seen_triggers.pop(name, None)

    @property
    def sources(self) -> tuple[ControlSource, ...]:
        return self._sources

    @property
    def base(self) -> ControlState | None:
        """The sensors' own state at the last frame (before any source), None before the first."""
        return self._base

    def idle_for(self, now: float) -> float:
        """Seconds since a person last played (any human source or a sensor key); inf if never."""
        return float("inf") if self.last_human is None else max(0.0, now - self.last_human)

    def note_human(self, now: float) -> None:
        """Record that a person played at `now` (also for sources outside the merge, e.g. the panel)."""
        self.last_human = now

    # -- merging --------------------------------------------------------------------------------
    def update(self, frame: SensorFrame) -> ControlState:
        base = self.mapper.update(frame)
        self._base = base
        if base.trigger or getattr(self.mapper, "key_held", False):
            self.last_human = frame.timestamp
        return self._merge(base, frame.timestamp)

    def remerge(self, now: float) -> ControlState | None:
        """The sensors' last state merged with the sources now; None before the first frame."""
        base = self._base
        if base is None:
            return None
        return self._merge(ControlState(base.point, base.pitch, base.params, False), now)

    def _merge(self, base: ControlState, now: float) -> ControlState:
        sources = self._sources
        if not sources:
            return base
        point: list[float] | None = None
        pitch = base.pitch
        params: dict[str, ParamValue] | None = None
        trigger = base.trigger
        autonomous = False
        for source in sources:
            c = source.contribute(now)
            if c is None:
                continue
            if c.human:
                self.last_human = now
            steers = c.human or not autonomous  # held values give way to a drift (module docstring)
            autonomous = autonomous or c.autonomous
            if steers and c.point is not None:
                point = list(c.point)
            if steers and c.axes:
                if point is None:
                    point = list(base.point)
                for axis, value in c.axes.items():
                    if axis >= len(point):
                        point.extend([UNMAPPED_AXIS] * (axis + 1 - len(point)))
                    point[axis] = value
            if steers and c.pitch is not None:
                pitch = c.pitch
            if c.params or c.gain is not None:
                if params is None:
                    params = dict(base.params)
                params.update(c.params)
                if c.gain is not None:
                    params["gain"] = max(float(params.get("gain", 0.0)), c.gain)
            seen = self._seen_triggers.get(source.name, 0)
            if c.triggers != seen:
                self._seen_triggers[source.name] = c.triggers
                trigger = trigger or c.triggers > seen
        return ControlState(base.point if point is None else tuple(point), pitch,
                            base.params if params is None else params, trigger)
