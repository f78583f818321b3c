"""Grain envelopes as precomputed tables (engine layer).

Every window starts and ends at exactly zero, so a grain can begin or end at any sample without
a click. The kernel reads the tables with linear interpolation; `TABLE_POINTS` intervals keep the
interpolation error far below the 16-bit noise floor.
"""

from __future__ import annotations

import numpy as np

WINDOW_NAMES = ("hann", "tukey", "triangle")
TABLE_POINTS = 1024
TUKEY_TAPER = 0.5  # fraction of the grain spent in the two cosine tapers together


def _shape(name: str, x: np.ndarray) -> np.ndarray:
    if name == "hann":
        return 0.5 - 0.5 * np.cos(2.0 * np.pi * x)
    if name == "tukey":
        edge = TUKEY_TAPER / 2.0
        rise = 0.5 - 0.5 * np.cos(np.pi * np.clip(x / edge, 0.0, 1.0))
        fall = 0.5 - 0.5 * np.cos(np.pi * np.clip((1.0 - x) / edge, 0.0, 1.0))
        return np.minimum(rise, fall)
    if name == "triangle":
        return 1.0 - np.abs(2.0 * x - 1.0)
    raise ValueError(f"no window shape named {name!r}")


def window_tables() -> np.ndarray:
    """float64 (len(WINDOW_NAMES), TABLE_POINTS + 1): window i sampled at x = j / TABLE_POINTS."""
    x = np.linspace(0.0, 1.0, TABLE_POINTS + 1)
    tables = np.stack([_shape(name, x) for name in WINDOW_NAMES])
    tables[:, 0] = 0.0
    tables[:, -1] = 0.0
    return tables


def window_means(tables: np.ndarray) -> np.ndarray:
    """Mean value of each window over the grain (trapezoid rule): the envelope sum per unit overlap."""
    inner = tables[:, 1:-1].sum(axis=1) + 0.5 * (tables[:, 0] + tables[:, -1])
    return inner / TABLE_POINTS
