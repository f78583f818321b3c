"""LED brightness patterns as pure functions of time (controls layer).

Computed, not animated by a background thread, so the panel's LEDs follow whatever clock the
app runs on and tests can ask for the brightness at any instant.
"""

from __future__ import annotations

import math


def heartbeat(t: float, period: float = 2.0) -> float:
    """A slow breathing glow, 0..1: dark at t = 0, brightest at half a period. Squared so the
    fade looks even to the eye, which is more sensitive to changes in dim light."""
    return (0.5 - 0.5 * math.cos(2.0 * math.pi * t / period)) ** 2


def blink(t: float, rate_hz: float = 4.0) -> float:
    """A hard on/off blink, `rate_hz` flashes per second, on for the first half of each."""
    return 1.0 if math.fmod(t * rate_hz, 1.0) % 1.0 < 0.5 else 0.0
