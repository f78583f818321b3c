"""Gesture scripts: timed touches and bends that drive the simulated sensors (sim layer).

A gesture is a TOML file. Top-level keys: `name`, optional `loop` (default false) and
`duration` (seconds; default: when the last track ends). Two kinds of entries drive channels
(e0..e11 touch amounts, flexN bend amounts, all 0..1):

    [[keyframe]]            # values of some channels at time t; each channel is interpolated
    t = 4.0                 # linearly between its own keyframes and held before/after them
    flex0 = 0.8
    e10 = 0.5

    [[touch]]               # a touch on one electrode: ramps up from `at`, holds, ramps down
    key = "e3"
    at = 2.0
    length = 0.5            # seconds from the start of the touch to the start of the release
    amount = 1.0            # optional, default 1.0
    ramp = 0.02             # optional attack and release time, default 0.02 s

Each channel's keyframes must be in time order (entries of different channels may interleave);
a channel is driven by keyframes or by touches, not both; touches on one key must not overlap.
Channels a gesture never names are left alone. Mistakes raise `GestureError` naming the file,
the line (where it can be found), the key and what would be accepted (`device.config_file`).
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from device.config_file import TableReader, load_table, parse_table
from device.errors import GestureError

TOUCH_CHANNEL = re.compile(r"e([0-9]|1[01])")
FLEX_CHANNEL = re.compile(r"flex[0-9]+")
DEFAULT_RAMP = 0.02
BUILTIN_PACKAGE = "device.sim"
BUILTIN_FOLDER = "gestures"

Points = dict[str, list[tuple[float, float]]]  # channel -> (time, value) breakpoints


@dataclass(frozen=True)
class Track:
    """One channel's breakpoints: value `values[i]` at time `times[i]`, linear in between."""

    times: tuple[float, ...]
    values: tuple[float, ...]

    def at(self, t: float) -> float:
        i = bisect.bisect_right(self.times, t)
        if i == 0:
            return self.values[0]
        if i == len(self.times):
            return self.values[-1]
        t0, t1 = self.times[i - 1], self.times[i]
        v0, v1 = self.values[i - 1], self.values[i]
        return v0 + (v1 - v0) * (t - t0) / (t1 - t0)

    @property
    def end(self) -> float:
        return self.times[-1]


@dataclass(frozen=True)
class Gesture:
    name: str
    duration: float
    loop: bool
    tracks: Mapping[str, Track]
    source: str

    def state_at(self, t: float) -> dict[str, float]:
        """Every track's value at `t` seconds from the start (wrapped when looping)."""
        if self.loop and self.duration > 0:
            t = math.fmod(t, self.duration)
            if t < 0:
                t += self.duration
        return {channel: track.at(t) for channel, track in self.tracks.items()}


def builtin_gestures() -> list[str]:
    folder = resources.files(BUILTIN_PACKAGE) / BUILTIN_FOLDER
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def load_gesture(spec: str | Path) -> Gesture:
    """A built-in gesture by name ("demo") or a gesture file by path."""
    text_spec = str(spec)
    if isinstance(spec, str) and re.fullmatch(r"[A-Za-z0-9_-]+", spec) and not Path(spec).exists():
        entry = resources.files(BUILTIN_PACKAGE) / BUILTIN_FOLDER / f"{spec}.toml"
        if not entry.is_file():
            raise GestureError(f"no built-in gesture named {spec!r} (built-in: "
                               f"{', '.join(builtin_gestures())}); give a .toml file path instead")
        with resources.as_file(entry) as builtin:
            return _Parser(load_table(builtin, what="a built-in gesture file", error=GestureError,
                                      locate_lines=True)).gesture()
    # Bounded: a FIFO, a device or a huge file is refused by name instead of hanging the player.
    return _Parser(load_table(Path(text_spec), what="a gesture file (.toml)", error=GestureError,
                              missing="gesture file not found", locate_lines=True)).gesture()


def parse_gesture(text: str, source: str = "<gesture>") -> Gesture:
    # Also refuses nesting and numbers deep or long enough to crash or stall the TOML parser.
    return _Parser(parse_table(text, source=source, error=GestureError, locate_lines=True)).gesture()


class _Parser:
    def __init__(self, top: TableReader) -> None:
        self.top = top
        self.source = top.source

    def gesture(self) -> Gesture:
        top = self.top
        name = top.string("name", Path(self.source).stem, non_empty=True)
        loop = top.boolean("loop", False)
        points: Points = {}
        keyframe_channels = self._keyframes(top.tables("keyframe"), points)
        self._touches(top.tables("touch"), points, keyframe_channels)
        top.has("duration")  # read below, once the tracks' end is known
        top.finish()
        if not points:
            raise top.fail(None, "a gesture needs at least one [[keyframe]] or [[touch]]")
        tracks = {ch: Track(tuple(t for t, _ in pts), tuple(v for _, v in pts)) for ch, pts in points.items()}
        end = max(track.end for track in tracks.values())
        duration = top.number("duration", end, lo=0.0)
        if duration < end:
            raise top.fail("duration", f"is {duration:g} s but the last track ends at {end:g} s; make it "
                           "longer or remove it", f"a number of at least {end:g}")
        if loop and duration <= 0:
            raise top.fail("loop", "a looping gesture needs a duration above 0")
        return Gesture(name, float(duration), loop, tracks, self.source)

    def _keyframes(self, frames: list[TableReader], points: Points) -> set[str]:
        for frame in frames:
            t = frame.number("t", lo=0.0)
            if len(frame.names()) == 1:
                raise frame.fail("t", "sets no channel; add e.g. flex0 = 0.5")
            for key in frame.names():
                if key == "t":
                    continue
                if not (TOUCH_CHANNEL.fullmatch(key) or FLEX_CHANNEL.fullmatch(key)):
                    raise frame.fail(key, "is not a channel", "t, e0..e11 (touch amounts) or flex0, flex1, "
                                     "... (bend amounts)")
                amount = frame.number(key, lo=0.0, hi=1.0)
                track = points.setdefault(key, [])
                if track and t < track[-1][0]:
                    raise frame.fail("t", f"t = {t:g} comes before {key}'s previous keyframe at "
                                     f"t = {track[-1][0]:g}; keep each channel's keyframes in time order")
                track.append((t, amount))
            frame.finish()
        return set(points)

    def _touches(self, touches: list[TableReader], points: Points, keyframe_channels: set[str]) -> None:
        ends: dict[str, float] = {}
        for touch in touches:
            channel = touch.string("key")
            if not TOUCH_CHANNEL.fullmatch(channel):
                raise touch.fail("key", f"is {channel!r}, not an electrode", "e0..e11")
            if channel in keyframe_channels:
                raise touch.fail("key", f"{channel} is already driven by keyframes; drive a channel one "
                                 "way only")
            at = touch.number("at", lo=0.0)
            length = touch.number("length", lo=0.0)
            amount = touch.number("amount", 1.0, lo=0.0, hi=1.0)
            ramp = touch.number("ramp", DEFAULT_RAMP, lo=0.0)
            touch.finish()
            if ramp <= 0 or length < ramp:
                raise touch.fail("ramp", f"needs 0 < ramp <= length, got ramp {ramp:g} s, length "
                                 f"{length:g} s")
            if at < ends.get(channel, -math.inf):
                raise touch.fail("at", f"this touch of {channel} at {at:g} s starts before its previous "
                                 f"touch ends ({ends[channel]:g} s); one finger per key")
            ends[channel] = at + length + ramp
            track = points.setdefault(channel, [])
            if not track and at > 0:
                track.append((0.0, 0.0))
            track.extend(((at, 0.0), (at + ramp, amount), (at + length, amount), (at + length + ramp, 0.0)))
