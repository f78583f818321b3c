"""Sound Model Factory corners: the 2-D surface spanned by four latent points (host analysis layer).

Corners are given in the order a, b, c, d = (u=0, v=0), (u=1, v=0), (u=0, v=1), (u=1, v=1); a point
(u, v) in [0, 1]^2 is the bilinear blend of their z. The generator pixel-normalises z, so the blend's
shorter length inside the sphere does not dim the note; only its direction counts.
"""

from __future__ import annotations

import numpy as np

from device.errors import ConfigError


def bilinear(corners: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """z (..., D) at (u, v) (broadcast together) from corners (4, D)."""
    corners = np.asarray(corners, dtype=np.float64)
    if corners.ndim != 2 or corners.shape[0] != 4:
        raise ConfigError(f"corners need exactly four latent points, got an array shaped {corners.shape}")
    u = np.asarray(u, dtype=np.float64)[..., None]
    v = np.asarray(v, dtype=np.float64)[..., None]
    a, b, c, d = corners
    return (1 - u) * (1 - v) * a + u * (1 - v) * b + (1 - u) * v * c + u * v * d


def corner_grid(corners: np.ndarray, steps: int) -> np.ndarray:
    """(steps, steps, D): z on an even grid; index [i, j] sits at u = i/(steps-1), v = j/(steps-1)."""
    ticks = np.linspace(0.0, 1.0, steps)
    u, v = np.meshgrid(ticks, ticks, indexing="ij")
    return bilinear(corners, u, v)
