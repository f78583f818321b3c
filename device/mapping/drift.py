"""Autonomous paths through the latent space, for gallery mode (mapping layer).

Pure like the rest of the mapping layer: no I/O, no threads and no clock of its own; every
answer is a function of the seconds of drift time the caller passes in (and the seed), so an
offline run, a test and the live instrument drift alike. Two paths, both kept inside 0..1:

- `NoisePath`: per axis, smoothed value noise: seeded random values at evenly spaced knots,
  joined by the smootherstep curve (continuous speed and acceleration), two octaves summed;
- `WalkPath`: from bookmark to bookmark (the next one drawn from the seed, never the one it is
  at), easing in and out, resting `hold_s` at each.

Both move no axis faster than `speed` latent units per second. `Drift` starts a path from
wherever the instrument is (an offset that fades out, so taking over never jumps and no axis
moves faster than twice `speed`) and changes the pitch now and then (`PitchSchedule`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

_MASK = (1 << 64) - 1
# Greatest slope of smootherstep 6x^5 - 15x^4 + 10x^3 (at x = 1/2): a move of D along it over a
# time T is never faster than SLOPE * D / T.
SLOPE = 1.875
# Octaves of the noise: (frequency multiple, weight); the weights sum to 1 so values stay in 0..1.
OCTAVES = ((1.0, 2.0 / 3.0), (2.0, 1.0 / 3.0))
MIN_SEGMENT_S = 1.0  # a walk step lasts at least this long (bookmarks at the same place, hold 0)


def smootherstep(x: float) -> float:
    """0 at x <= 0, 1 at x >= 1, with zero speed and acceleration at both ends."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    return x * x * x * (x * (6.0 * x - 15.0) + 10.0)


def unit_hash(seed: int, *keys: int) -> float:
    """A number in [0, 1) fixed by `seed` and `keys` (splitmix64 finaliser): random access, no state."""
    h = (seed * 0x9E3779B97F4A7C15) & _MASK
    for key in keys:
        h = (h ^ (key & _MASK)) * 0xBF58476D1CE4E5B9 & _MASK
        h ^= h >> 31
        h = (h * 0x94D049BB133111EB) & _MASK
        h ^= h >> 29
    return (h >> 11) / float(1 << 53)


class NoisePath:
    """Smoothed value noise on `axes` axes, no axis faster than `speed` units per second."""

    def __init__(self, axes: int, speed: float, seed: int = 0) -> None:
        if axes < 1 or not speed > 0.0:
            raise ValueError(f"a noise path needs axes >= 1 and speed > 0, got {axes}, {speed}")
        self.axes = axes
        self.speed = speed
        self.seed = seed
        # Knots per second of the first octave, so that the steepest possible sum is `speed`.
        self.rate = speed / (SLOPE * sum(f * w for f, w in OCTAVES))
        # The two knots each axis and octave is between (they change every few seconds; hashing
        # them again on every control poll would be most of the cost).
        self._knots = [[(0, unit_hash(seed, axis, o, 0), unit_hash(seed, axis, o, 1))
                        for o in range(len(OCTAVES))] for axis in range(axes)]

    def at(self, t: float) -> tuple[float, ...]:
        u = t * self.rate
        return tuple(sum(w * self._octave(axis, o, u * f) for o, (f, w) in enumerate(OCTAVES))
                     for axis in range(self.axes))

    def _octave(self, axis: int, octave: int, u: float) -> float:
        k = math.floor(u)
        known, a, b = self._knots[axis][octave]
        if k != known:
            a = unit_hash(self.seed, axis, octave, k)
            b = unit_hash(self.seed, axis, octave, k + 1)
            self._knots[axis][octave] = (k, a, b)
        return a + (b - a) * smootherstep(u - k)


class WalkPath:
    """From bookmark to bookmark at no more than `speed` per axis, resting `hold_s` at each.

    Keeps a cursor on the current step, so calls with growing `t` cost the same however long
    it has walked; a `t` before the cursor walks again from the start (same seed, same walk).
    """

    def __init__(self, bookmarks: Sequence[Sequence[float]], speed: float, hold_s: float,
                 seed: int = 0) -> None:
        if len(bookmarks) < 2 or not speed > 0.0 or hold_s < 0.0:
            raise ValueError("a walk needs at least 2 bookmarks, speed > 0 and hold_s >= 0")
        self.bookmarks = tuple(tuple(float(v) for v in b) for b in bookmarks)
        self.axes = len(self.bookmarks[0])
        self.speed = speed
        self.hold_s = hold_s
        self.seed = seed
        self._restart()

    def _restart(self) -> None:
        self._step = 0
        self._t0 = 0.0
        self._from = int(unit_hash(self.seed, -1) * len(self.bookmarks))
        self._plan()

    def _plan(self) -> None:
        n = len(self.bookmarks)
        # Any bookmark but the one it stands at.
        self._to = (self._from + 1 + int(unit_hash(self.seed, self._step) * (n - 1))) % n
        a, b = self.bookmarks[self._from], self.bookmarks[self._to]
        self._travel = SLOPE * max(abs(y - x) for x, y in zip(a, b, strict=True)) / self.speed
        self._length = max(self._travel + self.hold_s, MIN_SEGMENT_S)

    @property
    def target(self) -> int:
        """Index of the bookmark the walk is heading for (or resting at)."""
        return self._to

    def at(self, t: float) -> tuple[float, ...]:
        if t < self._t0:
            self._restart()
        while t >= self._t0 + self._length:
            self._t0 += self._length
            self._step += 1
            self._from = self._to
            self._plan()
        a, b = self.bookmarks[self._from], self.bookmarks[self._to]
        w = smootherstep((t - self._t0) / self._travel) if self._travel > 0.0 else 1.0
        return tuple(x + (y - x) * w for x, y in zip(a, b, strict=True))


class PitchSchedule:
    """A pitch drawn from `pitches` for each `every_s` of drift time (a repeat is allowed)."""

    def __init__(self, pitches: Sequence[float], every_s: float, seed: int = 0) -> None:
        if not pitches or not every_s > 0.0:
            raise ValueError("a pitch schedule needs pitches and every_s > 0")
        self.pitches = tuple(float(p) for p in pitches)
        self.every_s = every_s
        self.seed = seed

    def slot(self, t: float) -> int:
        return math.floor(t / self.every_s)

    def pitch(self, slot: int) -> float:
        return self.pitches[int(unit_hash(self.seed, 7, slot) * len(self.pitches))]


Path = NoisePath | WalkPath


class Drift:
    """A path taken up from the instrument's present point and pitch.

    `begin(point, pitch, t)` at drift time `t`; then `point(t)` and `pitch(t)` for later `t`.
    The path is shifted by the difference between the start point and where the path is at
    `t`, and that shift fades out (smootherstep) over as long as `speed` needs to cover it, so
    the drift leaves the start point smoothly and no axis moves faster than 2 x `speed`. The
    pitch stays the start pitch until the schedule's next slot; `pitch_changes` counts the
    changes over every episode (a running count, like a note-on counter).
    """

    def __init__(self, path: Path, pitches: PitchSchedule | None = None) -> None:
        self.path = path
        self.pitches = pitches
        self.axes = path.axes
        self.pitch_changes = 0
        self._offset: tuple[float, ...] = (0.0,) * self.axes
        self._t0 = 0.0
        self._fade = 0.0
        self._start_pitch = 60.0
        self._slot = 0
        self._pitch = 60.0

    def begin(self, point: Sequence[float], pitch: float, t: float) -> None:
        start = tuple(point[i] if i < len(point) else 0.5 for i in range(self.axes))
        here = self.path.at(t)
        self._offset = tuple(s - h for s, h in zip(start, here, strict=True))
        self._t0 = t
        self._fade = SLOPE * max(map(abs, self._offset), default=0.0) / self.path.speed
        self._pitch = self._start_pitch = float(pitch)
        self._slot = self.pitches.slot(t) if self.pitches is not None else 0

    def point(self, t: float) -> tuple[float, ...]:
        here = self.path.at(t)
        keep = 1.0 - smootherstep((t - self._t0) / self._fade) if self._fade > 0.0 else 0.0
        if keep == 0.0:
            return here
        return tuple(min(1.0, max(0.0, h + keep * o)) for h, o in zip(here, self._offset, strict=True))

    def pitch(self, t: float) -> float:
        """The pitch at drift time `t` (counting a change in `pitch_changes` once)."""
        schedule = self.pitches
        if schedule is None:
            return self._pitch
        slot = schedule.slot(t)
        if slot > self._slot:
            self._slot = slot
            self._pitch = schedule.pitch(slot)
            self.pitch_changes += 1
        return self._pitch
