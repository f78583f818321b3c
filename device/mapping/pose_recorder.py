"""Turning held poses into examples: calibrate the input channels, average a short window (mapping layer).

The recorder calibrates each input channel exactly as the Mapper does when playing (same
settings from the same mapping file, same learning window at the start), so a pose recorded here
reads the same amounts when it is played. `capture()` asks for the next window of fresh frames
(`window_s` seconds of frame time) to be averaged; `feed(frame)` returns the averaged pose when a
window completes. Frames where an input is stale or missing are left out of the average. Pure
logic: the command that owns the sensors and the clock (`latent map record`) drives it.
"""

from __future__ import annotations

from collections.abc import Sequence

from device.errors import ConfigError
from device.mapping.calibration import ChannelCalibrator
from device.mapping.config import MapConfig
from device.sensors.frame import SensorFrame


class PoseRecorder:
    """Calibrates `inputs` with `config`'s settings and averages windows of their 0..1 amounts."""

    def __init__(self, config: MapConfig, inputs: Sequence[str], window_s: float) -> None:
        if not window_s > 0.0:
            raise ConfigError(f"the recording window must be above 0 s, got {window_s!r}")
        for name in inputs:
            if name not in config.calibration:
                raise ConfigError(f"input {name!r} is not a channel of this instrument; allowed: "
                                  f"{', '.join(config.calibration)}")
        self.inputs = tuple(inputs)
        self.window_s = window_s
        self._cals = [ChannelCalibrator(config.calibration[name], config.learn_s) for name in inputs]
        self._pending = 0
        self._start: float | None = None
        self._sums = [0.0] * len(self._cals)
        self._count = 0

    @property
    def calibrating(self) -> bool:
        """True while any input is still learning its resting state (hands off)."""
        return any(cal.learning for cal in self._cals)

    @property
    def capturing(self) -> bool:
        """True from `capture()` until its window completes."""
        return self._pending > 0

    def capture(self) -> None:
        """Average the next window of fresh frames (after calibration); another call queues one more."""
        self._pending += 1

    def feed(self, frame: SensorFrame) -> tuple[float, ...] | None:
        """Calibrate one frame; the averaged pose when a capture window has just completed."""
        t = frame.timestamp
        fresh = True
        for name, cal in zip(self.inputs, self._cals, strict=True):
            value = frame.values.get(name)
            # NaN compares unequal to itself: not a reading.
            if value is None or value != value or name in frame.stale:
                fresh = False
                continue
            cal.update(value, t)
        if not self._pending or self.calibrating or not fresh:
            return None
        if self._start is None:
            self._start = t
        for i, cal in enumerate(self._cals):
            self._sums[i] += cal.output
        self._count += 1
        if t - self._start < self.window_s:
            return None
        pose = tuple(s / self._count for s in self._sums)
        self._pending -= 1
        self._start = None
        self._sums = [0.0] * len(self._cals)
        self._count = 0
        return pose

    def amounts(self) -> tuple[float, ...]:
        """The inputs' present 0..1 amounts (for showing the performer what the sensors read)."""
        return tuple(cal.output for cal in self._cals)
