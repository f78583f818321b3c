"""The `[gallery]` section of the instrument settings file: autonomous mode (app layer).

Read strictly through `device.config_file` (unknown keys refused, every refusal naming file,
line, key and what is allowed) into a frozen `GallerySettings` that `device.app.gallery` runs.
Times of day are written "HH:MM" (or as TOML local times, 22:00:00) and read as minutes after
midnight; a quiet range may wrap round midnight ("22:00" to "07:00").

    [gallery]
    idle_s = 120             # drift after this long untouched
    dwell_s = 45             # ...or when the performer holds one point this long (0 = never)
    drift = "walk"           # "noise": slow smoothed noise; "walk": between the bookmarks
    bookmarks = [[0.2, 0.3], [0.8, 0.7], [0.5, 0.1]]
    speed = 0.02             # latent units per second at most
    pitch_every_s = 40       # a new pitch now and then (0 = keep the last one played)
    pitches = "C3,G3,C4"     # the pitch grammar of device.pitch_syntax (default: the map's keys)
    level_cap_db = -6        # never louder than this (dBFS), day and night
    recalibrate_at = "05:30" # relearn the sensors' rest once a day, when nobody is there

    [[gallery.quiet]]
    from = "22:00"
    to = "07:00"
    cap_db = -24             # at most -24 dBFS at night ...
    [[gallery.quiet]]
    from = "01:00"
    to = "06:00"
    silence = true           # ... and silent in the small hours
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from device.config_file import Fail, TableReader, check_number, show, type_name
from device.engine.limiter import MIN_CEILING_DBFS
from device.mapping.config import MAX_AXES
from device.pitch_syntax import parse_pitch_spec

DRIFT_KINDS = ("noise", "walk")
MINUTES_PER_DAY = 24 * 60
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
CLOCK_ALLOWED = 'a time of day "HH:MM" (00:00 to 23:59) or a TOML local time (22:00:00)'


@dataclass(frozen=True)
class QuietHours:
    """From `start` to `end` (minutes after midnight, wrapping round it when end < start) the
    instrument is silent (`silence`) or capped at `cap_db` dBFS."""

    start: int
    end: int
    silence: bool = False
    cap_db: float | None = None

    def covers(self, minute: float) -> bool:
        """Whether `minute` (after midnight, fractional) falls in this range (start in, end out)."""
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end


@dataclass(frozen=True)
class GallerySettings:
    """The `[gallery]` section; defaults are what an absent key means."""

    enabled: bool = True
    idle_s: float = 120.0
    dwell_s: float = 0.0  # 0: dwelling never starts the drift
    dwell_radius: float = 0.03  # latent units the point may wander and still be "one point"
    drift: str = "noise"
    speed: float = 0.02  # latent units per second, the most any axis moves
    bookmarks: tuple[tuple[float, ...], ...] = ()
    hold_s: float = 8.0  # walk: seconds resting at each bookmark
    pitch_every_s: float = 40.0  # 0: the drift keeps the pitch last played
    pitches: tuple[int, ...] = ()  # empty: the mapping's pitch keys
    gain: float = 0.7  # the drift's level (the engine's gain parameter)
    level_cap_db: float | None = None
    recalibrate_at: int | None = None  # minutes after midnight
    quiet: tuple[QuietHours, ...] = ()
    seed: int = 0


def clock_minutes(value: Any, fail: Fail) -> int:
    """A time of day ("HH:MM" or a TOML local time) as minutes after midnight."""
    if isinstance(value, dt.time):
        if value.second or value.microsecond:
            raise fail(f"is {value.isoformat()}; give whole minutes")
        return value.hour * 60 + value.minute
    if not isinstance(value, str):
        raise fail(f"is {show(value)} ({type_name(value)}), not a time of day")
    match = _CLOCK.fullmatch(value.strip())
    if match is None:
        raise fail(f"is {value!r}, not a time of day")
    return int(match.group(1)) * 60 + int(match.group(2))


def _cap_db(table: TableReader, key: str) -> float:
    return table.number(key, lo=MIN_CEILING_DBFS, hi=0.0)


def _quiet(table: TableReader) -> QuietHours:
    start = clock_minutes(table.raw("from", allowed=CLOCK_ALLOWED),
                          lambda problem: table.fail("from", problem, CLOCK_ALLOWED))
    end = clock_minutes(table.raw("to", allowed=CLOCK_ALLOWED),
                        lambda problem: table.fail("to", problem, CLOCK_ALLOWED))
    if start == end:
        raise table.fail("to", "is the same time as `from`: an empty range; to be quiet all day give "
                         "e.g. from = \"00:00\", to = \"23:59\"", CLOCK_ALLOWED)
    silence = table.boolean("silence", False)
    cap = _cap_db(table, "cap_db") if table.has("cap_db") else None
    table.finish()
    if silence == (cap is not None):
        raise table.fail(None, "give either silence = true or a level cap cap_db = -24 (dBFS), one of "
                         "the two")
    return QuietHours(start, end, silence, cap)


def _bookmark(value: Any, fail: Fail) -> tuple[float, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_AXES:
        raise fail(f"is {show(value)}, not a latent point of 1..{MAX_AXES} coordinates")
    return tuple(check_number(v, fail, 0.0, 1.0) for v in value)


def read_gallery(table: TableReader) -> GallerySettings:
    """The `[gallery]` table as `GallerySettings` (every refusal names the key and what is allowed)."""
    enabled = table.boolean("enabled", True)
    idle_s = table.number("idle_s", GallerySettings.idle_s, lo=0.0, lo_open=True)
    dwell_s = table.number("dwell_s", GallerySettings.dwell_s, lo=0.0)
    dwell_radius = table.number("dwell_radius", GallerySettings.dwell_radius, lo=0.0, hi=1.0, lo_open=True)
    drift = table.choice("drift", DRIFT_KINDS, GallerySettings.drift)
    speed = table.number("speed", GallerySettings.speed, lo=0.0, hi=1.0, lo_open=True)
    bookmarks = tuple(table.array("bookmarks", _bookmark, "an array of latent points, each an array of "
                                  f"1..{MAX_AXES} numbers from 0 up to 1", min_len=0, default=()))
    if len({len(b) for b in bookmarks}) > 1:
        raise table.fail("bookmarks", "mixes points of different lengths; give every bookmark the same "
                         "number of coordinates")
    if drift == "walk" and len(bookmarks) < 2:
        raise table.fail("bookmarks", f"has {len(bookmarks)} points but drift = \"walk\" walks between at "
                         "least 2", "an array of at least 2 latent points, e.g. [[0.2, 0.3], [0.8, 0.7]]")
    hold_s = table.number("hold_s", GallerySettings.hold_s, lo=0.0)
    pitch_every_s = table.number("pitch_every_s", GallerySettings.pitch_every_s, lo=0.0)
    pitches: tuple[int, ...] = ()
    if table.has("pitches"):
        raw = table.raw("pitches")
        try:
            pitches = tuple(parse_pitch_spec(raw, what="pitches"))
        except ValueError as err:
            raise table.fail("pitches", str(err).removeprefix("pitches: ")) from None
    gain = table.number("gain", GallerySettings.gain, lo=0.0, hi=1.0)
    level_cap_db = _cap_db(table, "level_cap_db") if table.has("level_cap_db") else None
    recalibrate_at = None
    if table.has("recalibrate_at"):
        recalibrate_at = clock_minutes(table.raw("recalibrate_at"),
                                       lambda problem: table.fail("recalibrate_at", problem, CLOCK_ALLOWED))
    quiet = tuple(_quiet(t) for t in table.tables("quiet"))
    seed = table.integer("seed", 0, lo=0, hi=2**31 - 1)
    table.finish()
    return GallerySettings(enabled, idle_s, dwell_s, dwell_radius, drift, speed, bookmarks, hold_s,
                           pitch_every_s, pitches, gain, level_cap_db, recalibrate_at, quiet, seed)
