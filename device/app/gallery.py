"""Gallery mode: the instrument plays itself when nobody does, within the room's rules (app layer).

`GalleryMode` is a control source of `device.app.control_merge` (the lowest priority: anything a
person does overrides it) and runs on the control thread, once per sensor poll:

- it watches the sensors' own state (the mapper's, before any merge): a note onset, a pitch key
  pressed or released, or the point moving further than `dwell_radius` is a person playing;
- it drifts (`device.mapping.drift`) once nobody has played for `idle_s` (sensors, MIDI, OSC:
  the merge's `idle_for`), or once the performer holding a key has kept to one point, with no
  new note, for `dwell_s` (AI-terity 2.0's autonomous mode). The drift starts where the
  instrument is and is handed back in the very poll that sees the touch: offline that is the
  next block, live the next poll (a touch wakes the control thread through the MPR121's IRQ);
- quiet hours by the wall clock: `silence` sets the engine's gain to 0 through a second source
  that runs after every other one (`QuietSource`, so no MIDI note sounds either), `cap_db` and
  the all-day `level_cap_db` lower the engine's output-limiter ceiling, slewed at
  `CAP_SLEW_DB_PER_S` so the room hears a fade rather than a step; an engine swapped in later
  gets the same ceiling at the next poll;
- a daily recalibration (`recalibrate_at`): the mapper relearns the sensors' resting state
  once a day, at the first moment after that time when the instrument has been untouched for
  `idle_s` (a day when it never is skips it).

The wall clock is injected (`wall_clock`, a naive local datetime; tests pass a fake one) and read
once a second; `now` is the control thread's monotonic time (the stream clock offline).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from device.app.control_merge import PRIORITY_AUTONOMOUS, Contribution
from device.app.gallery_settings import GallerySettings
from device.engine.limiter import DEFAULT_CEILING_DBFS, ceiling_from_dbfs
from device.errors import ConfigError
from device.mapping.control_state import ControlState
from device.mapping.drift import Drift, NoisePath, PitchSchedule, WalkPath

PRIORITY_QUIET = 1000  # after every other source: silence means silence
CLOCK_CHECK_S = 1.0  # how often the wall clock is read (quiet hours, recalibration)
CAP_SLEW_DB_PER_S = 6.0  # a quiet-hours cap fades in (and out) at this pace

MODE_PLAY = "play"
MODE_DRIFT = "drift"
MODE_QUIET = "quiet"


class IdleClock(Protocol):
    """The merge's record of when a person last played (device.app.control_merge.ControlMerge)."""

    def idle_for(self, now: float) -> float: ...
    def note_human(self, now: float) -> None: ...


class SensorMapper(Protocol):
    """What gallery mode reads of the sensor mapper (device.mapping.mapper.Mapper)."""

    @property
    def state(self) -> ControlState: ...
    @property
    def key_held(self) -> bool: ...
    @property
    def calibrating(self) -> bool: ...
    def recalibrate(self) -> None: ...


def build_drift(settings: GallerySettings, axes: int, key_notes: Sequence[float] = ()) -> Drift:
    """The drift `settings` ask for, over `axes` latent axes (the bank's); pitches default to the
    mapping's keys (`key_notes`), and with neither the drift keeps the pitch last played."""
    if settings.bookmarks and len(settings.bookmarks[0]) > axes:
        raise ConfigError(f"[gallery] bookmarks have {len(settings.bookmarks[0])} coordinates but the bank "
                          f"has {axes} latent {'axis' if axes == 1 else 'axes'}; give points of at most "
                          f"{axes}")
    if settings.drift == "walk":
        path: NoisePath | WalkPath = WalkPath(settings.bookmarks, settings.speed, settings.hold_s,
                                              settings.seed)
    else:
        path = NoisePath(axes, settings.speed, settings.seed)
    pitches: tuple[float, ...] = settings.pitches or tuple(key_notes)
    schedule = (PitchSchedule(pitches, settings.pitch_every_s, settings.seed)
                if pitches and settings.pitch_every_s > 0 else None)
    return Drift(path, schedule)


class QuietSource:
    """The silence of quiet hours, as the last control source of the merge (gain 0)."""

    name = "gallery-quiet"
    priority = PRIORITY_QUIET
    _SILENT = Contribution(params={"gain": 0.0})

    def __init__(self, gallery: GalleryMode) -> None:
        self.gallery = gallery

    def contribute(self, now: float) -> Contribution | None:
        return self._SILENT if self.gallery.silenced else None


class GalleryMode:
    """Autonomous drift, quiet hours, level cap and daily recalibration (see the module docstring).

    `engine` returns the engine playing now (for its limiter ceiling; None leaves the ceiling
    alone); `base_ceiling_db` is the ceiling it was built with (`latent play --ceiling`).
    """

    name = "gallery"
    priority = PRIORITY_AUTONOMOUS

    def __init__(self, settings: GallerySettings, merge: IdleClock, mapper: SensorMapper, drift: Drift, *,
                 engine: Callable[[], Any] | None = None, base_ceiling_db: float = DEFAULT_CEILING_DBFS,
                 wall_clock: Callable[[], dt.datetime] = dt.datetime.now,
                 report: Callable[[str], None] = lambda message: None) -> None:
        self.settings = settings
        self.merge = merge
        self.mapper = mapper
        self.drift = drift
        self.engine = engine
        self.base_ceiling_db = base_ceiling_db
        self.wall_clock = wall_clock
        self.report = report
        self.quiet_source = QuietSource(self)
        # What the sensors do.
        self._anchor: tuple[float, ...] | None = None
        self._last_move: float | None = None  # the point left its anchor (a bend, a touch that moves it)
        self._last_event = -math.inf  # a note onset, a key pressed or released, a move
        self._key_was_held = False
        # The drift.
        self.drifting = False
        self.drift_since: float | None = None
        self._drift_time = 0.0  # drift time accumulated over earlier episodes (the path goes on)
        self.episodes = 0
        self.handbacks = 0
        # The clock's rules.
        self.silenced = False
        self.recalibrations = 0
        self._recal_done: dt.datetime | None = None
        self._next_clock = -math.inf
        self.cap_db = self._cap_at(self.wall_clock())
        self.ceiling_db = self.cap_db  # applied at once at start: the room's limit from the first block
        self._last_now: float | None = None
        self._ceiling_engine: Any = None
        self._ceiling_applied: float | None = None
        self._cannot_cap: Any = None

    # -- the control source ---------------------------------------------------------------------
    def contribute(self, now: float) -> Contribution | None:
        state = self.mapper.state
        self._watch(state, now)
        if now >= self._next_clock:
            self._next_clock = now + CLOCK_CHECK_S
            self._clock_tick(now)
        self._slew_ceiling(now)
        if self._should_drift(now):
            if not self.drifting:
                self._begin(state, now)
            t = self._drift_time + (now - self.drift_since if self.drift_since is not None else 0.0)
            point = self.drift.point(t)
            return Contribution(axes=dict(enumerate(point)), pitch=self.drift.pitch(t),
                                gain=self.settings.gain, triggers=self.drift.pitch_changes,
                                autonomous=True)
        if self.drifting:
            self._end(now)
        return None

    @property
    def mode(self) -> str:
        """What the instrument is doing: "quiet" (silenced), "drift" (playing itself) or "play"."""
        if self.silenced:
            return MODE_QUIET
        return MODE_DRIFT if self.drifting else MODE_PLAY

    def status(self) -> dict[str, Any]:
        """For the status file."""
        return {"mode": self.mode, "drift_episodes": self.episodes, "handbacks": self.handbacks,
                "silenced": self.silenced, "ceiling_dbfs": round(self.ceiling_db, 1),
                "recalibrations": self.recalibrations}

    # -- who plays ------------------------------------------------------------------------------
    def _watch(self, state: ControlState, now: float) -> None:
        point = state.point
        anchor = self._anchor
        if self._last_move is None:
            self._last_move = now  # the instrument starting counts as a touch: N seconds from here
        if anchor is None or len(anchor) != len(point) or self.mapper.calibrating:
            # Relearning the rest moves the point without anyone there: follow it, note nothing.
            self._anchor = point
            return
        radius = self.settings.dwell_radius
        if any(abs(p - a) > radius for p, a in zip(point, anchor, strict=True)):
            self._anchor = point
            self._last_move = self._last_event = now
            self.merge.note_human(now)
        held = self.mapper.key_held
        if state.trigger or held != self._key_was_held:
            self._last_event = now
        self._key_was_held = held

    def untouched_for(self, now: float) -> float:
        """Seconds since anyone played: keys, bends, MIDI, OSC."""
        last_move = self._last_move if self._last_move is not None else now
        return min(self.merge.idle_for(now), now - last_move)

    def _should_drift(self, now: float) -> bool:
        settings = self.settings
        if self.silenced:
            return False
        if self.untouched_for(now) >= settings.idle_s:
            return True
        # Dwelling: someone holds a key, and neither the point nor the notes have changed.
        return settings.dwell_s > 0 and self._key_was_held and now - self._last_event >= settings.dwell_s

    def _begin(self, state: ControlState, now: float) -> None:
        self.drifting = True
        self.drift_since = now
        self.episodes += 1
        self.drift.begin(state.point, state.pitch, self._drift_time)

    def _end(self, now: float) -> None:
        if self.drift_since is not None:
            self._drift_time += now - self.drift_since
        self.drifting = False
        self.drift_since = None
        self.handbacks += 1

    # -- the clock's rules ----------------------------------------------------------------------
    def _cap_at(self, wall: dt.datetime) -> float:
        """The ceiling (dBFS) the room allows at `wall`; sets `silenced`."""
        minute = wall.hour * 60 + wall.minute + wall.second / 60.0
        settings = self.settings
        caps = [self.base_ceiling_db]
        if settings.level_cap_db is not None:
            caps.append(settings.level_cap_db)
        silenced = False
        for quiet in settings.quiet:
            if quiet.covers(minute):
                if quiet.silence:
                    silenced = True
                elif quiet.cap_db is not None:
                    caps.append(quiet.cap_db)
        self.silenced = silenced
        return min(caps)

    def _clock_tick(self, now: float) -> None:
        wall = self.wall_clock()
        was_silenced = self.silenced
        self.cap_db = self._cap_at(wall)
        if self.silenced != was_silenced:
            self.report("quiet hours: silent" if self.silenced else "quiet hours over: sounding again")
        self._recalibrate_if_due(wall, now)

    def _recalibrate_if_due(self, wall: dt.datetime, now: float) -> None:
        at = self.settings.recalibrate_at
        if at is None:
            return
        today = dt.datetime.combine(wall.date(), dt.time(at // 60, at % 60))
        occurrence = today if today <= wall else today - dt.timedelta(days=1)
        if self._recal_done is None:
            self._recal_done = occurrence  # the instrument calibrated as it started
            return
        if occurrence != self._recal_done and self.untouched_for(now) >= self.settings.idle_s:
            self._recal_done = occurrence
            self.recalibrations += 1
            self.mapper.recalibrate()
            self.report(f"daily recalibration ({wall:%Y-%m-%d %H:%M}): relearning the sensors' rest")

    def _slew_ceiling(self, now: float) -> None:
        last = self._last_now
        self._last_now = now
        target = self.cap_db
        if self.ceiling_db != target:
            step = CAP_SLEW_DB_PER_S * (now - last) if last is not None and now > last else 0.0
            if self.ceiling_db > target:
                self.ceiling_db = max(target, self.ceiling_db - step)
            else:
                self.ceiling_db = min(target, self.ceiling_db + step)
        if self.engine is None:
            return
        engine = self.engine()
        if engine is self._ceiling_engine and self._ceiling_applied == self.ceiling_db:
            return
        setter = getattr(engine, "set_ceiling", None)
        if setter is None:
            if self._cannot_cap is not engine:
                self._cannot_cap = engine
                self.report(f"gallery: the {type(engine).__name__} has no adjustable limiter; level caps "
                            "and quiet-hours caps do not apply to it")
            return
        setter(ceiling_from_dbfs(self.ceiling_db))
        self._ceiling_engine = engine
        self._ceiling_applied = self.ceiling_db


def attach_gallery(settings: GallerySettings, merge: Any, mapper: Any, *, axes: int,
                   engine: Callable[[], Any] | None = None, base_ceiling_db: float = DEFAULT_CEILING_DBFS,
                   wall_clock: Callable[[], dt.datetime] = dt.datetime.now,
                   report: Callable[[str], None] = lambda message: None) -> GalleryMode | None:
    """Gallery mode on `merge` (a ControlMerge around `mapper`), or None when `enabled = false`."""
    if not settings.enabled:
        return None
    pitch = getattr(getattr(mapper, "config", None), "pitch", None)
    key_notes = tuple(n + pitch.transpose for n in pitch.notes) if pitch is not None else ()
    gallery = GalleryMode(settings, merge, mapper, build_drift(settings, axes, key_notes), engine=engine,
                          base_ceiling_db=base_ceiling_db, wall_clock=wall_clock, report=report)
    merge.add(gallery)
    merge.add(gallery.quiet_source)
    return gallery


def attach_to_rig(rig: Any, settings: GallerySettings | None, *, base_ceiling_db: float,
                  wall_clock: Callable[[], dt.datetime] = dt.datetime.now,
                  report: Callable[[str], None] = lambda message: None) -> GalleryMode | None:
    """Gallery mode on a built rig (device.app.play.Rig): its merge, its mapper, the engine playing
    now (and any swapped in later); drifts over every axis of the bank. None without a section."""
    if settings is None:
        return None
    engine_point = getattr(rig.engine, "point", None)
    axes = len(engine_point) if engine_point else max(1, len(rig.mapper.state.point))
    return attach_gallery(settings, rig.instrument.mapper, rig.mapper, axes=axes,
                          engine=lambda: rig.instrument.engine, base_ceiling_db=base_ceiling_db,
                          wall_clock=wall_clock, report=report)
