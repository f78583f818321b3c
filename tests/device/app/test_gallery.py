"""Gallery mode on the real mapper and control merge: drifts after the idle time or a dwell, hands
back in the poll that sees a touch, keeps quiet hours and the level cap by the (fake) wall clock,
and recalibrates once a day only when nobody is there."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from itertools import pairwise
from typing import Any

import pytest

from device.app.control_merge import Contribution, ControlMerge
from device.app.gallery import CAP_SLEW_DB_PER_S, GalleryMode, attach_gallery
from device.app.gallery_settings import GallerySettings, QuietHours
from device.engine.limiter import ceiling_from_dbfs
from device.errors import ConfigError
from device.mapping import ControlState, Mapper

from ..mapping.player import FIRM_TOUCH, FLEX_RANGE, Player

MIDNIGHT = dt.datetime(2026, 3, 1)
RATE = 200.0  # control polls a second


class WallClock:
    """A wall clock that runs with the player's time, reading `start` now."""

    def __init__(self, player: Player, start: dt.datetime) -> None:
        self.player = player
        self.origin = player.t
        self.start = start

    def __call__(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.player.t - self.origin)


class CeilingEngine:
    """An engine that only keeps the ceiling it is given (what gallery mode touches of one)."""

    def __init__(self) -> None:
        self.ceilings: list[float] = []

    def set_ceiling(self, ceiling: float) -> None:
        self.ceilings.append(ceiling)

    @property
    def ceiling(self) -> float:
        return self.ceilings[-1]


class Room:
    """A settled instrument with gallery mode on its merge, and a person who may come by."""

    def __init__(self, settings: GallerySettings, start: dt.datetime = MIDNIGHT + dt.timedelta(hours=12),
                 axes: int = 2) -> None:
        self.mapper = Mapper()
        self.player = Player(self.mapper, rate=RATE)
        self.player.settle()
        self.merge = ControlMerge(self.mapper)
        self.player.mapper = self.merge  # type: ignore[assignment]  # frames now go through the merge
        self.engine = CeilingEngine()
        self.messages: list[str] = []
        gallery = attach_gallery(settings, self.merge, self.mapper, axes=axes, engine=lambda: self.engine,
                                 base_ceiling_db=-1.0, wall_clock=WallClock(self.player, start),
                                 report=self.messages.append)
        assert gallery is not None
        self.gallery: GalleryMode = gallery

    def poll(self, dt_s: float | None = None) -> ControlState:
        return self.player.frame(dt_s)

    def run(self, seconds: float, dt_s: float | None = None) -> list[ControlState]:
        step = dt_s or 1.0 / RATE
        return [self.poll(step) for _ in range(round(seconds / step))]


def test_drift_starts_after_the_idle_time_and_a_touch_takes_over_in_the_same_poll() -> None:
    room = Room(GallerySettings(idle_s=5.0, speed=0.05, gain=0.6, pitch_every_s=0.0))
    states = room.run(4.9)
    assert not room.gallery.drifting and all(s.point == room.mapper.state.point for s in states)
    states = room.run(10.0)
    assert room.gallery.drifting and room.gallery.mode == "drift" and room.gallery.episodes == 1
    # It moves (both axes), smoothly, at the drift's level.
    assert len({s.point for s in states}) > 100
    steps = [max(abs(a - b) for a, b in zip(p.point, q.point, strict=True)) for p, q in pairwise(states)]
    assert max(steps) <= 2 * 0.05 / RATE * (1 + 1e-9)
    assert states[-1].params["gain"] == pytest.approx(0.6)
    sensor_point = room.mapper.state.point
    assert states[-1].point != sensor_point

    room.player.touch("e3")
    polls = 0
    while not room.mapper.key_held:
        state = room.poll()
        polls += 1
        assert polls < 10
    # The poll that saw the key is the one that hands back: the sensors' point and note sound.
    assert not room.gallery.drifting and room.gallery.handbacks == 1
    assert state.point == room.mapper.state.point and state.pitch == 55.0 and state.trigger
    # While the person plays (and for idle_s after), the drift stays away.
    room.run(3.0)
    room.player.release("e3")
    room.run(4.5)
    assert not room.gallery.drifting
    room.run(1.0)
    assert room.gallery.drifting and room.gallery.episodes == 2


def test_a_bend_is_a_person_playing_too() -> None:
    room = Room(GallerySettings(idle_s=2.0, speed=0.05, pitch_every_s=0.0))
    room.run(3.0)
    assert room.gallery.drifting
    room.player.bend("flex0", 0.5 * FLEX_RANGE)
    for _ in range(40):  # the One-Euro filter lets the bend through within a few polls
        state = room.poll()
        if not room.gallery.drifting:
            break
    assert not room.gallery.drifting
    assert state.point == room.mapper.state.point and state.point[0] > 0.05
    assert room.merge.idle_for(room.player.t) < 0.1  # other autonomous sources see it as well


def test_dwelling_on_one_point_with_a_key_held_starts_the_drift_and_moving_ends_it() -> None:
    room = Room(GallerySettings(idle_s=60.0, dwell_s=3.0, dwell_radius=0.05, speed=0.05,
                                pitch_every_s=0.0))
    room.player.touch("e5")
    room.player.bend("flex1", 0.4 * FLEX_RANGE)
    room.run(2.9)
    assert not room.gallery.drifting  # held, but not long enough
    room.run(0.5)
    assert room.gallery.drifting and room.mapper.key_held
    room.run(2.0)
    room.player.bend("flex1", 0.8 * FLEX_RANGE)  # the performer moves on
    room.run(0.3)
    assert not room.gallery.drifting and room.gallery.handbacks == 1
    # A new note while dwelling also hands back.
    room.run(3.5)
    assert room.gallery.drifting
    room.player.touch("e6")
    room.poll()
    assert not room.gallery.drifting


def test_without_a_dwell_time_holding_still_never_starts_the_drift() -> None:
    room = Room(GallerySettings(idle_s=2.0, speed=0.05))
    room.player.touch("e0")
    room.run(10.0)
    assert not room.gallery.drifting and room.gallery.episodes == 0


def test_a_human_control_source_keeps_the_drift_away() -> None:
    class Keyboard:
        name = "midi"
        priority = 30

        def contribute(self, now: float) -> Contribution | None:
            return Contribution(human=True)

    room = Room(GallerySettings(idle_s=2.0))
    room.merge.add(Keyboard())
    room.run(5.0)
    assert not room.gallery.drifting
    room.merge.remove("midi")
    room.run(2.1)
    assert room.gallery.drifting


def test_the_drift_changes_pitch_now_and_then_with_a_note_on_each_time() -> None:
    room = Room(GallerySettings(idle_s=1.0, pitch_every_s=2.0, pitches=(48, 60, 72), seed=3))
    states = room.run(41.0, dt_s=0.05)
    drifting = [s for s in states if room.gallery.drifting]
    assert {s.pitch for s in drifting} >= {48.0, 60.0, 72.0}
    triggers = sum(s.trigger for s in states)
    assert triggers == room.gallery.drift.pitch_changes >= 18


def test_the_drift_takes_the_maps_keys_when_no_pitches_are_given() -> None:
    room = Room(GallerySettings(idle_s=1.0, pitch_every_s=1.0))
    states = room.run(60.0, dt_s=0.1)
    assert {s.pitch for s in states} <= {48.0, 51.0, 53.0, 55.0, 58.0, 60.0, 63.0, 65.0}
    assert len({s.pitch for s in states}) >= 5


def test_a_walk_visits_the_bookmarks() -> None:
    marks = ((0.1, 0.1), (0.9, 0.9))
    room = Room(GallerySettings(idle_s=1.0, drift="walk", bookmarks=marks, speed=0.2, hold_s=2.0,
                                pitch_every_s=0.0))
    states = room.run(60.0, dt_s=0.05)
    for mark in marks:
        assert any(max(abs(a - b) for a, b in zip(s.point, mark, strict=True)) < 1e-9 for s in states)


def test_bookmarks_longer_than_the_bank_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"bookmarks have 3 coordinates but the bank has 2 latent axes"):
        Room(GallerySettings(drift="walk", bookmarks=((0.1, 0.2, 0.3), (0.5, 0.5, 0.5))), axes=2)


def test_disabled_gallery_attaches_nothing() -> None:
    merge = ControlMerge(Mapper())
    assert attach_gallery(GallerySettings(enabled=False), merge, merge.mapper, axes=2) is None
    assert merge.sources == ()


# ----- the clock's rules ---------------------------------------------------------------------

NIGHT = (QuietHours(22 * 60, 7 * 60, cap_db=-24.0), QuietHours(60, 6 * 60, silence=True))


def at_hour(hour: float) -> dt.datetime:
    return MIDNIGHT + dt.timedelta(hours=hour)


def test_quiet_hours_silence_and_cap_at_the_right_clock_times() -> None:
    room = Room(GallerySettings(idle_s=30.0, quiet=NIGHT, level_cap_db=-6.0), start=at_hour(21.9))
    room.player.touch("e2")  # someone plays on into the night
    seen: dict[str, tuple[str, float, float]] = {}
    for _ in range(round(10 * 3600 / 5)):  # 21:54 to 07:54, a poll every 5 s
        state = room.poll(5.0)
        wall = room.gallery.wall_clock()
        seen[f"{wall:%H:%M:%S}"] = (room.gallery.mode, float(state.params["gain"]), room.gallery.ceiling_db)
    # Before 22:00: the all-day cap of -6 dBFS; the person is heard.
    assert seen["21:59:55"][0] == "play" and seen["21:59:55"][2] == -6.0 and seen["21:59:55"][1] > 0.5
    # From 22:00 the night cap (slewed at 6 dB/s: 5 s between polls is enough for 18 dB).
    assert seen["22:00:00"][2] == -24.0 and seen["22:00:00"][1] > 0.5
    # 01:00 to 06:00: silent even with a key held, and the mode says so.
    assert seen["00:59:55"][0] == "play" and seen["00:59:55"][1] > 0.5
    assert all(v[0] == "quiet" and v[1] == 0.0 for k, v in seen.items() if "01:00:00" <= k < "06:00:00")
    assert seen["06:00:00"][0] == "play" and seen["06:00:00"][1] > 0.5 and seen["06:00:00"][2] == -24.0
    # From 07:00 the day's cap again.
    assert seen["06:59:55"][2] == -24.0 and seen["07:00:00"][2] == -6.0
    # The engine was given the ceilings, as linear levels.
    assert room.engine.ceiling == pytest.approx(ceiling_from_dbfs(-6.0))
    assert min(room.engine.ceilings) == pytest.approx(ceiling_from_dbfs(-24.0))
    assert room.messages.count("quiet hours: silent") == 1 and room.messages.count(
        "quiet hours over: sounding again") == 1


def test_a_cap_fades_in_at_the_slew_rate() -> None:
    room = Room(GallerySettings(quiet=(QuietHours(22 * 60, 7 * 60, cap_db=-25.0),)), start=at_hour(21.999))
    ceilings = {}
    steps = []
    for _ in range(200):  # 21:59:56.4 to 22:00:06.4, a poll every 50 ms
        before = room.gallery.ceiling_db
        room.poll(0.05)
        steps.append(before - room.gallery.ceiling_db)
        ceilings[f"{room.gallery.wall_clock():%H:%M:%S.%f}"[:10]] = room.gallery.ceiling_db
    assert ceilings["21:59:59.9"] == -1.0
    # The clock is read once a second: the fade starts within a second of 22:00 and takes 4 s.
    started = min(k for k, v in ceilings.items() if v < -1.0)
    assert "22:00:00.0" <= started <= "22:00:01.0"
    assert ceilings["22:00:02.0"] > -25.0
    assert max(steps) == pytest.approx(CAP_SLEW_DB_PER_S * 0.05) and min(steps) == 0.0
    assert ceilings["22:00:06.0"] == -25.0


def test_silence_silences_every_source_and_no_drift_starts() -> None:
    class Keyboard:
        name = "midi"
        priority = 30

        def contribute(self, now: float) -> Contribution | None:
            return Contribution(gain=1.0, human=True)

    room = Room(GallerySettings(idle_s=1.0, quiet=(QuietHours(11 * 60, 13 * 60, silence=True),)))
    room.merge.add(Keyboard())
    states = room.run(5.0)
    assert all(s.params["gain"] == 0.0 for s in states[int(RATE):])
    room.merge.remove("midi")
    room.run(5.0)
    assert not room.gallery.drifting and room.gallery.mode == "quiet"


def test_the_cap_starts_at_once_and_follows_an_engine_swapped_in() -> None:
    room = Room(GallerySettings(level_cap_db=-12.0))
    room.poll()
    assert room.engine.ceilings == [pytest.approx(ceiling_from_dbfs(-12.0))]
    room.run(1.0)
    assert len(room.engine.ceilings) == 1  # set once, not every poll
    old, room.engine = room.engine, CeilingEngine()
    room.poll()
    assert room.engine.ceilings == [pytest.approx(ceiling_from_dbfs(-12.0))] and len(old.ceilings) == 1


def test_an_engine_without_an_adjustable_limiter_is_reported_once() -> None:
    room = Room(GallerySettings(level_cap_db=-12.0))
    room.engine = object()  # type: ignore[assignment]
    room.run(2.0)
    assert len([m for m in room.messages if "no adjustable limiter" in m]) == 1


def test_the_daily_recalibration_fires_once_a_day_only_when_untouched() -> None:
    """Day 1 nobody is there: once, at 05:30. Day 2 someone plays 05:00-06:00: once, idle_s after
    they leave. Day 3 someone plays from 04:00 until 05:35 the next morning: day 3 is skipped, day 4
    recalibrates idle_s after they leave."""
    settings = GallerySettings(idle_s=120.0, recalibrate_at=5 * 60 + 30)
    room = Room(settings, start=at_hour(0.0))
    fired: list[str] = []
    # day -> touched hours
    schedule: dict[int, tuple[float, float]] = {1: (5.0, 6.0), 2: (4.0, 24.0), 3: (0.0, 5.0 + 35 / 60)}
    clock = room.gallery.wall_clock

    for _ in range(round(4 * 24 * 3600 / 10)):  # four days, a poll every 10 s
        hour = (clock() - MIDNIGHT).total_seconds() / 3600.0
        day, hour_of_day = int(hour // 24), hour % 24
        touched = schedule.get(day)
        if touched is not None and touched[0] <= hour_of_day < touched[1]:
            room.player.touch("e1")
        else:
            room.player.release("e1")
        before = room.gallery.recalibrations
        room.poll(10.0)
        if room.gallery.recalibrations != before:
            fired.append(f"{room.gallery.wall_clock():%d %H:%M}")
            assert room.mapper.calibrating  # the mapper relearns from the next frame on
    assert fired == ["01 05:30", "02 06:02", "04 05:37"], fired
    assert len([m for m in room.messages if m.startswith("daily recalibration")]) == 3


def test_a_recalibration_does_not_interrupt_the_drift() -> None:
    room = Room(GallerySettings(idle_s=60.0, recalibrate_at=12 * 60 + 5), start=at_hour(12.0))
    room.run(120.0, dt_s=0.05)
    assert room.gallery.drifting and room.gallery.episodes == 1
    room.run(300.0, dt_s=0.05)
    assert room.gallery.recalibrations == 1 and room.gallery.drifting and room.gallery.episodes == 1


def test_status_says_what_gallery_mode_does() -> None:
    room = Room(replace(GallerySettings(idle_s=1.0), level_cap_db=-10.0))
    room.run(2.0)
    status: dict[str, Any] = room.gallery.status()
    assert status == {"mode": "drift", "drift_episodes": 1, "handbacks": 0, "silenced": False,
                      "ceiling_dbfs": -10.0, "recalibrations": 0}
    assert FIRM_TOUCH > 0


def test_the_status_file_shows_the_mode_and_latent_status_says_it() -> None:
    from device.app.status_file import STATUS_FORMAT, describe

    quiet = (QuietHours(13 * 60, 14 * 60, silence=True),)
    room = Room(GallerySettings(idle_s=1.0, level_cap_db=-12.0, quiet=quiet), start=at_hour(12.99))
    lines = []
    for seconds in (0.5, 2.0, 60.0):
        room.run(seconds, dt_s=0.05)
        doc = {"format": STATUS_FORMAT, "updated": 100.0, "mode": room.gallery.mode,
               "gallery": room.gallery.status()}
        lines.append([line for line in describe(doc, 100.0) if line.startswith("gallery")])
    assert lines == [["gallery   not drifting; 0 drifts, ceiling -12 dBFS, 0 daily recalibrations"],
                     ["gallery   drifting by itself; 1 drifts, ceiling -12 dBFS, 0 daily recalibrations"],
                     ["gallery   quiet hours: silent; 1 drifts, ceiling -12 dBFS, 0 daily recalibrations"]]
    without = describe({"format": STATUS_FORMAT, "updated": 1.0}, 1.0)
    assert not [line for line in without if "gallery" in line]
