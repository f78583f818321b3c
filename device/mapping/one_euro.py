"""One-Euro filter for one continuous control signal (mapping layer).

Casiez, Roussel and Vogel (CHI 2012): a low-pass filter whose cutoff rises with the signal's
speed, so a hand at rest reads steady (low cutoff, jitter removed) while a fast gesture goes
through with little lag (high cutoff). Time comes from the frames' own timestamps, never from
the wall clock, so a replayed or simulated gesture smooths exactly as it did live.
"""

from __future__ import annotations

import math

from device.errors import ConfigError

_TWO_PI = 2.0 * math.pi


def _alpha(cutoff_hz: float, dt: float) -> float:
    # Exponential smoothing factor of a first-order low-pass at this cutoff and sample interval.
    tau = 1.0 / (_TWO_PI * cutoff_hz)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Adaptive low-pass: `min_cutoff` (Hz) sets the smoothing at rest, `beta` how fast the cutoff
    rises with speed (per unit of signal per second), `d_cutoff` (Hz) smooths the speed estimate.
    """

    __slots__ = ("_dx", "_t", "_x", "beta", "d_cutoff", "min_cutoff")

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0) -> None:
        if not (min_cutoff > 0.0 and d_cutoff > 0.0 and beta >= 0.0):
            raise ConfigError(
                f"One-Euro smoothing needs min_cutoff > 0, d_cutoff > 0 and beta >= 0 (got "
                f"min_cutoff={min_cutoff}, d_cutoff={d_cutoff}, beta={beta}); fix the smoothing settings"
            )
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self._t: float | None = None
        self._x = 0.0
        self._dx = 0.0

    @property
    def value(self) -> float:
        """The last filtered value (0.0 before the first sample)."""
        return self._x

    def reset(self, value: float | None = None) -> None:
        """Forget the history; the next sample passes through unfiltered (or start from `value`)."""
        self._t = None
        self._dx = 0.0
        if value is not None:
            self._x = float(value)

    def __call__(self, x: float, t: float) -> float:
        """Filter sample `x` taken at time `t` (seconds) and return the smoothed value."""
        t_prev = self._t
        if t_prev is None:
            self._t = t
            self._x = x
            self._dx = 0.0
            return x
        dt = t - t_prev
        if dt <= 0.0:
            # Two readings at one instant carry no speed information, and a clock that went back
            # (a restarted poller) must not produce a negative or infinite rate: hold the output
            # and measure the next interval from here.
            if dt < 0.0:
                self._t = t
            return self._x
        self._t = t
        x_prev = self._x
        a_d = _alpha(self.d_cutoff, dt)
        dx = self._dx + a_d * ((x - x_prev) / dt - self._dx)
        self._dx = dx
        cutoff = self.min_cutoff + self.beta * (dx if dx >= 0.0 else -dx)
        x_hat = x_prev + _alpha(cutoff, dt) * (x - x_prev)
        self._x = x_hat
        return x_hat
