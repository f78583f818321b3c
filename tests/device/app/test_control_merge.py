"""The merge point: sensors' state plus MIDI/OSC/preset/gallery sources, in priority order."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from device.app.control_merge import Contribution, ControlMerge
from device.mapping.control_state import ControlState
from device.sensors.frame import SensorFrame


class FixedMapper:
    def __init__(self, state: ControlState) -> None:
        self.state = state
        self.key_held = False

    def update(self, frame: SensorFrame) -> ControlState:
        return self.state


@dataclass
class Source:
    name: str
    priority: int
    contribution: Contribution | None = None

    def contribute(self, now: float) -> Contribution | None:
        return self.contribution


def frame(t: float) -> SensorFrame:
    return SensorFrame(t, {})


BASE = ControlState((0.2, 0.3), 60.0, {"gain": 0.4, "grain_ms": 50.0}, False)


def test_without_sources_the_sensor_state_passes_unchanged() -> None:
    merge = ControlMerge(FixedMapper(BASE))
    assert merge.update(frame(0.0)) is BASE


def test_higher_priority_overrides_field_by_field_and_gain_takes_the_louder() -> None:
    merge = ControlMerge(FixedMapper(BASE))
    merge.add(Source("midi", 30, Contribution(pitch=72.0, gain=0.3, axes={0: 0.9})))
    merge.add(Source("drift", 10, Contribution(point=(0.5, 0.5, 0.5), pitch=50.0,
                                               params={"grain_ms": 80.0})))
    state = merge.update(frame(1.0))
    assert state.point == (0.9, 0.5, 0.5)  # drift set the whole point, MIDI then axis 0
    assert state.pitch == 72.0
    assert state.params["grain_ms"] == 80.0
    assert state.params["gain"] == 0.4  # the electrode's level is louder than MIDI's: it stays
    merge.sources[1].contribution = Contribution(gain=0.7)  # type: ignore[attr-defined]
    assert merge.update(frame(1.1)).params["gain"] == 0.7
    assert BASE.params["gain"] == 0.4  # the mapper's own state is never modified


def test_an_axis_beyond_the_mapped_ones_extends_the_point_at_the_centre() -> None:
    merge = ControlMerge(FixedMapper(BASE))
    merge.add(Source("osc", 20, Contribution(axes={3: 1.0})))
    assert merge.update(frame(0.0)).point == (0.2, 0.3, 0.5, 1.0)


def test_a_trigger_fires_once_per_counted_note_on() -> None:
    source = Source("midi", 30, Contribution(triggers=1))
    merge = ControlMerge(FixedMapper(BASE))
    merge.add(source)
    assert merge.update(frame(0.0)).trigger
    assert not merge.update(frame(0.1)).trigger  # the same count: already played
    source.contribution = Contribution(triggers=3)
    assert merge.update(frame(0.2)).trigger
    assert merge.remerge(0.3) is not None and not merge.remerge(0.3).trigger  # type: ignore[union-attr]


def test_remerge_applies_a_source_change_without_a_new_frame() -> None:
    source = Source("midi", 30, None)
    merge = ControlMerge(FixedMapper(BASE))
    merge.add(source)
    assert merge.remerge(0.0) is None  # nothing polled yet
    merge.update(frame(0.0))
    source.contribution = Contribution(pitch=64.0, triggers=1)
    state = merge.remerge(0.01)
    assert state is not None and state.pitch == 64.0 and state.trigger


def test_idle_time_follows_human_sources_and_sensor_keys() -> None:
    mapper = FixedMapper(BASE)
    source = Source("osc", 20, None)
    merge = ControlMerge(mapper)
    merge.add(source)
    merge.update(frame(0.0))
    assert merge.idle_for(5.0) == float("inf")
    source.contribution = Contribution(human=True)
    merge.update(frame(2.0))
    source.contribution = None
    assert merge.idle_for(5.0) == 3.0
    mapper.key_held = True
    merge.update(frame(4.0))
    assert merge.idle_for(5.0) == 1.0


def test_values_held_by_sources_nobody_plays_give_way_to_the_drift() -> None:
    # A preset left recalled and a CC knob set long ago must not freeze the gallery's drift.
    preset = Source("preset", 15, Contribution(point=(0.9, 0.1), pitch=55.0, params={"grain_ms": 150.0}))
    knob = Source("midi", 30, Contribution(axes={0: 0.8}))
    drift = Source("gallery", 10, Contribution(axes={0: 0.3, 1: 0.6}, pitch=62.0, gain=0.7, autonomous=True))
    merge = ControlMerge(FixedMapper(BASE))
    for source in (preset, knob, drift):
        merge.add(source)
    state = merge.update(frame(0.0))
    assert state.point == (0.3, 0.6) and state.pitch == 62.0  # the drift is heard
    assert state.params["grain_ms"] == 150.0 and state.params["gain"] == 0.7  # the preset's sound stays
    knob.contribution = Contribution(axes={0: 0.8}, human=True)  # someone turns the knob again
    state = merge.update(frame(1.0))
    assert state.point == (0.8, 0.6) and state.pitch == 62.0
    drift.contribution = None  # the drift hands back: the held values return
    state = merge.update(frame(2.0))
    assert state.point == (0.8, 0.1) and state.pitch == 55.0


def test_two_sources_cannot_share_a_name() -> None:
    merge = ControlMerge(FixedMapper(BASE))
    merge.add(Source("midi", 30))
    with pytest.raises(ValueError, match="midi"):
        merge.add(Source("midi", 5))
    merge.remove("midi")
    merge.add(Source("midi", 5))
    assert [s.name for s in merge.sources] == ["midi"]
