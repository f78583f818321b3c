"""Per-channel calibration: raw sensor readings to a 0..1 touch or bend amount (mapping layer).

Each channel learns its resting value (baseline) and noise from a first window of frames, then
keeps adapting: the baseline follows slow drift (capacitive electrodes move with humidity and
temperature over hours in a gallery) but only while the channel is not touched, and faster when
readings fall below it (a touch only ever raises a reading, so a reading below the baseline is
drift or a baseline learned while someone was touching). The range grows at once when a firmer
gesture exceeds it and relaxes slowly back toward its initial size. A dead zone above the
baseline keeps noise at exactly 0; likewise readings within the noise of the range's top count
as full, so a firm gesture reaches 1 although the range was learned from a noisy peak.
Channels with a fixed `rest`/`full` in the mapping file are never learned or adapted.
"""

from __future__ import annotations

from device.mapping.config import ChannelCalibration

# Fewer samples than this in the learning window give no trustworthy noise estimate (a chip
# that was silent for most of the window): learning continues until there are enough.
MIN_LEARN_SAMPLES = 10


class ChannelCalibrator:
    """Turns one channel's raw readings into 0..1 (`update`), learning and adapting as it goes."""

    __slots__ = (
        "_floor", "_m2", "_mean", "_n", "_t", "baseline", "learn_s", "learned_s", "learning",
        "noise", "output", "range", "settings", "threshold",
    )

    def __init__(self, settings: ChannelCalibration, learn_s: float) -> None:
        self.settings = settings
        self.learn_s = learn_s
        self.output = 0.0
        self._t: float | None = None
        self.restart()

    def restart(self) -> None:
        """Forget what was learned and learn the resting state again from the next frames.

        Output is 0 while learning: the person pressing the recalibrate button is asked to keep
        hands off for `learn_s` seconds.
        """
        s = self.settings
        self.output = 0.0
        self.noise = 0.0
        self._n = 0
        self._mean = 0.0
        self._m2 = 0.0
        self.learned_s = 0.0
        if s.rest is not None and s.full is not None:
            self.learning = False
            self.baseline = s.rest
            self.range = s.full - s.rest  # negative when the reading falls as the gesture grows
            self._floor = self.range
            self.threshold = s.dead_zone * self.range
        else:
            self.learning = True
            self.baseline = 0.0
            self.range = s.initial_range
            self._floor = s.initial_range
            self.threshold = s.dead_zone * s.initial_range

    def update(self, value: float, t: float) -> float:
        """Feed one fresh reading taken at time `t` (seconds); returns the 0..1 amount."""
        t_prev = self._t
        self._t = t
        # Equal or backwards timestamps carry no elapsed time: nothing adapts on them.
        dt = 0.0 if t_prev is None or t <= t_prev else t - t_prev
        if self.learning:
            self._learn(value, dt)
            return 0.0
        s = self.settings
        if s.rest is not None and s.full is not None:
            return self._fixed(value)
        d = value - self.baseline
        rng = self.range
        # Relax first, grow second: the reading can then never exceed the range (output <= 1).
        if dt > 0.0 and rng > self._floor:
            rng -= (rng - self._floor) * (dt / (s.range_relax_tau_s + dt))
        if d > rng:
            rng = d
        self.range = rng
        noise_floor = s.noise_sigmas * self.noise
        thr = s.dead_zone * rng
        if noise_floor > thr:
            thr = noise_floor
        self.threshold = thr
        if d > thr:
            # The range's top was learned from a noisy peak: readings within the noise band below it
            # (as wide as the one the dead zone silences) are full, so the same firm gesture
            # reliably reaches 1 again.
            span = rng - thr
            top = noise_floor
            if top > 0.5 * span:
                top = 0.5 * span
            out = (d - thr) / (span - top)
            if out > 1.0:
                out = 1.0
            self.output = out
            return out
        if dt > 0.0:
            tau = s.drift_tau_s if d > 0.0 else s.fall_tau_s
            self.baseline += d * (dt / (tau + dt))
        self.output = 0.0
        return 0.0

    def _fixed(self, value: float) -> float:
        # Works for either sign of range: both d and the range flip together.
        dead_zone = self.settings.dead_zone
        out = ((value - self.baseline) / self.range - dead_zone) / (1.0 - dead_zone)
        if out < 0.0:
            out = 0.0
        elif out > 1.0:
            out = 1.0
        self.output = out
        return out

    def _learn(self, value: float, dt: float) -> None:
        # Welford's running mean and variance: one pass, no stored window.
        self._n += 1
        delta = value - self._mean
        self._mean += delta / self._n
        self._m2 += delta * (value - self._mean)
        self.learned_s += dt
        if self.learned_s >= self.learn_s and self._n >= MIN_LEARN_SAMPLES:
            s = self.settings
            self.baseline = self._mean
            self.noise = (self._m2 / (self._n - 1)) ** 0.5
            # The usable span must stay well above the noise threshold, however noisy the channel.
            self._floor = max(s.initial_range, 2.0 * s.noise_sigmas * self.noise)
            self.range = self._floor
            self.threshold = max(s.dead_zone * self.range, s.noise_sigmas * self.noise)
            self.learning = False
