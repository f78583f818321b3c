"""Multilinear neighbour weights of the compiled kernel, for banks of 1 to 4 latent axes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from device.engine.kernel import corner_weights
from device.engine.state import MAX_CORNERS, grid_strides

STEPS = {1: (5,), 2: (5, 3), 3: (4, 2, 3), 4: (3, 2, 4, 2)}
PITCHES = 3


def _weights(point: tuple[float, ...], steps: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    rows = np.zeros(MAX_CORNERS, dtype=np.int64)
    weights = np.zeros(MAX_CORNERS, dtype=np.float64)
    count = corner_weights(np.array(point, dtype=np.float64), np.array(steps, dtype=np.int64),
                           np.array(grid_strides(steps, PITCHES), dtype=np.int64), rows, weights)
    assert count == 1 << len(steps)
    return rows[:count], weights[:count]


def _grid_index(row: int, steps: tuple[int, ...]) -> np.ndarray:
    assert row % PITCHES == 0, "corner rows must point at pitch 0 of a grid point"
    return np.array(np.unravel_index(row // PITCHES, steps))


@pytest.mark.parametrize("n_axes", [1, 2, 3, 4])
def test_weights_sum_to_one_and_interpolate_linearly(n_axes: int) -> None:
    steps = STEPS[n_axes]
    rng = np.random.default_rng(n_axes)
    for _ in range(200):
        point = tuple(rng.random(n_axes))
        rows, weights = _weights(point, steps)
        assert np.all(weights >= 0.0)
        assert weights.sum() == pytest.approx(1.0, abs=1e-12)
        corners = np.array([_grid_index(int(r), steps) for r in rows], dtype=np.float64)
        # Linear precision: the weighted corners land exactly on the point in grid units.
        expected = np.array(point) * (np.array(steps) - 1)
        np.testing.assert_allclose(weights @ corners, expected, atol=1e-9)
        # Corners are the cell around the point: each at most one step away on every axis.
        assert np.all(np.abs(corners - expected) <= 1.0 + 1e-12)


@pytest.mark.parametrize("n_axes", [1, 2, 3, 4])
def test_grid_points_get_their_own_segment_exactly(n_axes: int) -> None:
    steps = STEPS[n_axes]
    for index in itertools.product(*(range(n) for n in steps)):
        point = tuple(i / (n - 1) for i, n in zip(index, steps, strict=True))
        rows, weights = _weights(point, steps)
        heavy = np.flatnonzero(weights > 0.0)
        assert len(heavy) == 1, f"grid point {index} spreads over {len(heavy)} corners"
        assert weights[heavy[0]] == 1.0
        assert tuple(_grid_index(int(rows[heavy[0]]), steps)) == index


def test_two_axis_weights_are_the_bilinear_products() -> None:
    rows, weights = _weights((0.25 * 0.5, 0.75), (3, 2))  # x: 0.25 of cell 0; y: 0.75 of cell 0
    by_corner = {tuple(_grid_index(int(r), (3, 2))): w for r, w in zip(rows, weights, strict=True)}
    assert by_corner == pytest.approx({(0, 0): 0.75 * 0.25, (1, 0): 0.25 * 0.25,
                                       (0, 1): 0.75 * 0.75, (1, 1): 0.25 * 0.75})
