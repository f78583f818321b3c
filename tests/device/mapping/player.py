"""A simulated person at the instrument, feeding `SensorFrame`s to a `Mapper` (test helper).

Readings look like the real sensors': electrode deltas near 0 with about a count of noise that
rise by tens of counts under a finger, flex ADC counts around 9200 that rise as they bend.
"""

from __future__ import annotations

import random

from device.mapping import ControlState, Mapper
from device.sensors.frame import SensorFrame

ELECTRODES = [f"e{i}" for i in range(12)]
FLEXES = ["flex0", "flex1"]
FLEX_REST = 9200.0
FLEX_RANGE = 6000.0  # the default map's initial flex range (counts)
FLEX_THRESHOLD = 0.03 * FLEX_RANGE  # its dead zone
FIRM_TOUCH = 60.0  # counts: more than the default 50-count range, so a full (1.0) touch


class Player:
    def __init__(self, mapper: Mapper | None = None, *, rate: float = 500.0, seed: int = 0,
                 electrode_noise: float = 0.7, flex_noise: float = 4.0) -> None:
        self.mapper = mapper if mapper is not None else Mapper()
        self.rate = rate
        self.t = 0.0
        self.rng = random.Random(seed)
        self.levels = {**dict.fromkeys(ELECTRODES, 0.0), **dict.fromkeys(FLEXES, FLEX_REST)}
        self.noise = {**dict.fromkeys(ELECTRODES, electrode_noise), **dict.fromkeys(FLEXES, flex_noise)}
        self.stale: set[str] = set()
        self.missing: set[str] = set()

    # what the person does
    def touch(self, channel: str, counts: float = FIRM_TOUCH) -> None:
        self.levels[channel] = counts

    def release(self, channel: str) -> None:
        self.levels[channel] = 0.0

    def bend(self, channel: str, counts: float) -> None:
        self.levels[channel] = FLEX_REST + counts

    # time passing
    def frame(self, dt: float | None = None) -> ControlState:
        self.t += 1.0 / self.rate if dt is None else dt
        values = {
            ch: level + self.rng.gauss(0.0, self.noise[ch])
            for ch, level in self.levels.items() if ch not in self.missing
        }
        return self.mapper.update(SensorFrame(self.t, values, frozenset(self.stale)))

    def play(self, seconds: float) -> list[ControlState]:
        return [self.frame() for _ in range(round(seconds * self.rate))]

    def settle(self) -> ControlState:
        """Hands off through the learning window, and a little more."""
        states = self.play(self.mapper.config.learn_s + 0.2)
        assert not self.mapper.calibrating
        return states[-1]
