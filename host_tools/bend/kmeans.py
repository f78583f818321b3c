"""Seeded k-means (k-means++ start, Lloyd iterations, best of a few starts) in numpy (host bend layer).

Deterministic for a seed: the only randomness is one numpy Generator, ties go to the lowest index, and
the labels are renumbered in order of first appearance (channel 0 is always in cluster 0), so the same
activations and seed give the same clusters on any run of the tool.
"""

from __future__ import annotations

import numpy as np

from device.errors import ConfigError


def _plus_plus(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    centres = [points[rng.integers(len(points))]]
    for _ in range(1, k):
        dist = np.min(((points[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        total = dist.sum()
        index = rng.choice(len(points), p=dist / total) if total > 0 else rng.integers(len(points))
        centres.append(points[index])
    return np.array(centres)


def _lloyd(points: np.ndarray, centres: np.ndarray, iterations: int) -> tuple[np.ndarray, float]:
    labels = np.zeros(len(points), dtype=np.int64)
    for step in range(iterations):
        dist = ((points[:, None, :] - centres[None]) ** 2).sum(-1)
        new = np.argmin(dist, axis=1)
        if step and np.array_equal(new, labels):
            break
        labels = new
        for c in range(len(centres)):
            members = points[labels == c]
            if len(members):
                centres[c] = members.mean(axis=0)
    dist = ((points[:, None, :] - centres[None]) ** 2).sum(-1)
    labels = np.argmin(dist, axis=1)
    return labels, float(dist[np.arange(len(points)), labels].sum())


def canonical(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters in order of their first member."""
    order: dict[int, int] = {}
    for label in labels.tolist():
        order.setdefault(label, len(order))
    return np.array([order[label] for label in labels.tolist()], dtype=np.int64)


def kmeans(points: np.ndarray, k: int, seed: int, restarts: int = 4, iterations: int = 100) -> np.ndarray:
    """Labels (n,) of `points` (n, d) in k clusters; the start with the least inertia wins."""
    points = np.asarray(points, dtype=np.float64)
    if not 1 <= k <= len(points):
        raise ConfigError(f"--k {k}: choose 1 to {len(points)} clusters (the layer has {len(points)} "
                          "channels)")
    rng = np.random.default_rng(seed)
    best: tuple[float, np.ndarray] | None = None
    for _ in range(restarts):
        labels, inertia = _lloyd(points, _plus_plus(points, k, rng), iterations)
        if best is None or inertia < best[0] - 1e-9:
            best = (inertia, labels)
    assert best is not None
    return canonical(best[1])
