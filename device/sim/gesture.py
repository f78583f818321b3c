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
the line (where it can be found) and the key.
"""

from __future__ import annotations

import bisect
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from device.errors import GestureError
from device.safe_read import loads_toml, read_text

TOUCH_CHANNEL = re.compile(r"e([0-9]|1[01])")
FLEX_CHANNEL = re.compile(r"flex[0-9]+")
TOP_KEYS = {"name", "loop", "duration", "keyframe", "touch"}
TOUCH_KEYS = {"key", "at", "length", "amount", "ramp"}
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
            text = read_text(builtin, what="a built-in gesture file", error=GestureError)
        return parse_gesture(text, str(entry))
    path = Path(text_spec)
    if not os.path.lexists(path):
        raise GestureError(f"{path}: gesture file not found")
    # Bounded: a FIFO, a device or a huge file is refused by name instead of hanging the player.
    text = read_text(path, what="a gesture file (.toml)", error=GestureError)
    return parse_gesture(text, str(path))


def parse_gesture(text: str, source: str = "<gesture>") -> Gesture:
    try:
        # Also refuses nesting and numbers deep or long enough to crash or stall the TOML parser.
        data = loads_toml(text, source=source, error=GestureError, raise_syntax_errors=True)
    except tomllib.TOMLDecodeError as err:
        raise GestureError(f"{source}: not valid TOML: {err}") from None
    return _Parser(text, source).gesture(data)


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def fail(self, problem: str, key: str | None = None, array: str | None = None,
             index: int | None = None) -> GestureError:
        line = self._locate(key, array, index)
        where = f"{self.source}:{line}" if line else self.source
        entry = f"[[{array}]] #{index + 1}" if array is not None and index is not None else None
        what = ", ".join(part for part in (entry, f"key {key!r}" if key else None) if part)
        return GestureError(f"{where}: {what + ': ' if what else ''}{problem}")

    def gesture(self, data: dict[str, Any]) -> Gesture:
        for key in data:
            if key not in TOP_KEYS:
                raise self.fail(f"unknown key; a gesture has {', '.join(sorted(TOP_KEYS))}", key)
        name = data.get("name", Path(self.source).stem)
        if not isinstance(name, str) or not name:
            raise self.fail("must be a non-empty string", "name")
        loop = data.get("loop", False)
        if not isinstance(loop, bool):
            raise self.fail("must be true or false", "loop")
        points: Points = {}
        keyframe_channels = self._keyframes(self._array(data, "keyframe"), points)
        self._touches(self._array(data, "touch"), points, keyframe_channels)
        if not points:
            raise self.fail("a gesture needs at least one [[keyframe]] or [[touch]]")
        tracks = {ch: Track(tuple(t for t, _ in pts), tuple(v for _, v in pts)) for ch, pts in points.items()}
        end = max(track.end for track in tracks.values())
        duration = end
        if "duration" in data:
            duration = self._number(data["duration"], "duration", lo=0.0)
            if duration < end:
                raise self.fail(f"is {duration:g} s but the last track ends at {end:g} s; make it longer "
                                "or remove it", "duration")
        if loop and duration <= 0:
            raise self.fail("a looping gesture needs a duration above 0", "loop")
        return Gesture(name, float(duration), loop, tracks, self.source)

    def _array(self, data: dict[str, Any], name: str) -> list[dict[str, Any]]:
        entries = data.get(name, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise self.fail(f"write each entry as a [[{name}]] table", name)
        return entries

    def _keyframes(self, frames: list[dict[str, Any]], points: Points) -> set[str]:
        for i, frame in enumerate(frames):
            if "t" not in frame:
                raise self.fail("every keyframe needs a time t (seconds)", "t", "keyframe", i)
            t = self._number(frame["t"], "t", "keyframe", i, lo=0.0)
            if len(frame) == 1:
                raise self.fail("sets no channel; add e.g. flex0 = 0.5", "t", "keyframe", i)
            for key, value in frame.items():
                if key == "t":
                    continue
                self._check_channel(key, "keyframe", i)
                amount = self._number(value, key, "keyframe", i, lo=0.0, hi=1.0)
                track = points.setdefault(key, [])
                if track and t < track[-1][0]:
                    raise self.fail(f"t = {t:g} comes before {key}'s previous keyframe at "
                                    f"t = {track[-1][0]:g}; keep each channel's keyframes in time order",
                                    "t", "keyframe", i)
                track.append((t, amount))
        return set(points)

    def _touches(self, touches: list[dict[str, Any]], points: Points, keyframe_channels: set[str]) -> None:
        ends: dict[str, float] = {}
        for i, touch in enumerate(touches):
            for key in touch:
                if key not in TOUCH_KEYS:
                    raise self.fail(f"unknown key; a touch has {', '.join(sorted(TOUCH_KEYS))}", key,
                                    "touch", i)
            for key in ("key", "at", "length"):
                if key not in touch:
                    raise self.fail("is missing", key, "touch", i)
            channel = touch["key"]
            if not isinstance(channel, str) or not TOUCH_CHANNEL.fullmatch(channel):
                raise self.fail(f"{channel!r} is not an electrode; use e0..e11", "key", "touch", i)
            if channel in keyframe_channels:
                raise self.fail(f"{channel} is already driven by keyframes; drive a channel one way only",
                                "key", "touch", i)
            at = self._number(touch["at"], "at", "touch", i, lo=0.0)
            length = self._number(touch["length"], "length", "touch", i, lo=0.0)
            amount = self._number(touch.get("amount", 1.0), "amount", "touch", i, lo=0.0, hi=1.0)
            ramp = self._number(touch.get("ramp", DEFAULT_RAMP), "ramp", "touch", i, lo=0.0)
            if ramp <= 0 or length < ramp:
                raise self.fail(f"needs 0 < ramp <= length, got ramp {ramp:g} s, length {length:g} s",
                                "ramp", "touch", i)
            if at < ends.get(channel, -math.inf):
                raise self.fail(f"this touch of {channel} at {at:g} s starts before its previous touch ends "
                                f"({ends[channel]:g} s); one finger per key", "at", "touch", i)
            ends[channel] = at + length + ramp
            track = points.setdefault(channel, [])
            if not track and at > 0:
                track.append((0.0, 0.0))
            track.extend(((at, 0.0), (at + ramp, amount), (at + length, amount), (at + length + ramp, 0.0)))

    def _check_channel(self, key: str, array: str, index: int) -> None:
        if not (TOUCH_CHANNEL.fullmatch(key) or FLEX_CHANNEL.fullmatch(key)):
            raise self.fail("is not a channel; keyframes set t and e0..e11 (touch amounts) or flex0, "
                            "flex1 (bend amounts)", key, array, index)

    def _number(self, value: Any, key: str, array: str | None = None, index: int | None = None, *,
                lo: float | None = None, hi: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(f"must be a number, got {value!r}", key, array, index)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            span = f"{lo:g}..{hi:g}" if lo is not None and hi is not None else f">= {lo:g}"
            raise self.fail(f"{value:g} is out of range; allowed: {span}", key, array, index)
        return float(value)

    def _locate(self, key: str | None, array: str | None, index: int | None) -> int | None:
        """The 1-based line of `key` (inside the index-th [[array]] table if given), if it can be found."""
        header = re.compile(r"\s*\[")
        start = 0
        if array is not None and index is not None:
            marker = re.compile(rf"\s*\[\[\s*{re.escape(array)}\s*\]\]")
            seen = -1
            for n, line in enumerate(self.lines):
                if marker.match(line):
                    seen += 1
                    if seen == index:
                        start = n + 1
                        break
            else:
                return None
            if key is None:
                return start
        if key is None:
            return None
        assignment = re.compile(rf"\s*{re.escape(key)}\s*=")
        for n in range(start, len(self.lines)):
            if header.match(self.lines[n]):
                break  # the next table begins: the key is not written in this one
            if assignment.match(self.lines[n]):
                return n + 1
        return start or None  # a missing key: point at its table's header
