"""Response curves that shape a normalised control value before it is scaled (mapping layer).

Each curve maps 0..1 onto 0..1 with both ends fixed, so swapping a curve in a mapping file
never changes a target's range, only how the gesture travels through it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

# Steepness of the exponential curve: the top tenth of a gesture covers about as much of the
# range as the bottom half, which suits sizes and times that are heard on a ratio scale.
_EXP_K = 3.0
_EXP_NORM = 1.0 / (math.exp(_EXP_K) - 1.0)


def linear(x: float) -> float:
    """Straight through."""
    return x


def exponential(x: float) -> float:
    """Fine control at the low end, fast at the top."""
    return (math.exp(_EXP_K * x) - 1.0) * _EXP_NORM


def s_curve(x: float) -> float:
    """Smoothstep: gentle at both ends, fastest in the middle (soft landings on the extremes)."""
    return x * x * (3.0 - 2.0 * x)


CURVES: dict[str, Callable[[float], float]] = {
    "linear": linear,
    "exponential": exponential,
    "s-curve": s_curve,
}
