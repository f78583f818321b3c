"""The learned regressor: reproduces its training poses, interpolates between them, is deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from device.errors import ConfigError
from device.mapping.learned import LearnedEvaluator, fit

# A 3 x 3 grid of poses of two flex sensors, each playing a point of a smooth, monotone but
# non-linear function: what a performer laying out a timbre space on two bends would record.
GRID = [(a, b) for a in (0.1, 0.5, 0.9) for b in (0.1, 0.5, 0.9)]


def _target(a: float, b: float) -> tuple[float, float]:
    return (0.05 + 0.9 * a**1.5, 0.1 + 0.5 * b + 0.3 * a * b)


def _grid_model():
    return fit(GRID, [_target(a, b) for a, b in GRID], inputs=("flex0", "flex1"), axes=(0, 1))


def test_reproduces_its_training_poses() -> None:
    model = _grid_model()
    got = model.predict(np.array(GRID))
    want = np.array([_target(a, b) for a, b in GRID])
    assert np.abs(got - want).max() < 0.01
    assert model.report is not None and model.report.train_max_error < 0.01


@pytest.mark.parametrize("count", [6, 12, 24, 48])
def test_reproduces_freely_chosen_targets(count: int) -> None:
    # Targets a performer picks by ear need not follow any function of the pose.
    rng = np.random.default_rng(count)
    poses = rng.uniform(0.0, 1.0, (count, 4))
    points = rng.uniform(0.0, 1.0, (count, 2))
    model = fit(poses, points, inputs=("flex0", "flex1", "e10", "e11"), axes=(0, 1))
    assert np.abs(model.predict(poses) - points).max() < 0.01


def test_interpolates_between_two_neighbouring_poses_monotonically_and_smoothly() -> None:
    model = _grid_model()
    for start, end in (((0.1, 0.1), (0.5, 0.1)), ((0.5, 0.5), (0.9, 0.5)), ((0.5, 0.1), (0.5, 0.5))):
        path = np.linspace(start, end, 101)
        points = model.predict(path)
        lo, hi = np.array(_target(*start)), np.array(_target(*end))
        for axis in range(2):
            steps = np.diff(points[:, axis])
            if abs(hi[axis] - lo[axis]) < 1e-9:
                # An axis both poses agree on stays put between them (within a hundredth).
                assert np.abs(points[:, axis] - lo[axis]).max() < 0.01, (start, end, axis)
                continue
            rising = hi[axis] > lo[axis]
            assert (steps >= -1e-9).all() if rising else (steps <= 1e-9).all(), (start, end, axis)
            # Smooth: no step larger than a few times the average one (no jumps, no kinks to speak of).
            assert np.abs(steps).max() <= 3.0 * abs(hi[axis] - lo[axis]) / 100 + 1e-6
            assert np.abs(np.diff(steps)).max() < 1e-3


def test_two_poses_interpolate_linearly() -> None:
    model = fit([(0.2, 0.0), (0.8, 0.0)], [(0.0, 1.0), (1.0, 0.0)], inputs=("flex0", "flex1"), axes=(0, 1))
    halfway = model.predict(np.array([(0.5, 0.0)]))[0]
    assert halfway == pytest.approx([0.5, 0.5], abs=1e-4)


def test_same_examples_same_model() -> None:
    a, b = _grid_model(), _grid_model()
    assert a.width == b.width and a.ridge == b.ridge
    assert np.array_equal(a.weights, b.weights) and np.array_equal(a.linear, b.linear)


def test_evaluator_matches_predict_and_clips() -> None:
    model = _grid_model()
    evaluator = LearnedEvaluator(model)
    for pose in [(0.3, 0.7), (0.0, 0.0), (1.0, 1.0), (0.9, 0.1)]:
        evaluator.pose[:] = pose
        assert evaluator.run() == pytest.approx(model.predict(np.array([pose]))[0], abs=1e-12)
    # Far outside the poses recorded, the linear part would leave 0..1: the point stays on the grid.
    wild = fit([(0.0,), (0.1,)], [(0.0,), (1.0,)], inputs=("flex0",), axes=(0,))
    assert wild.predict(np.array([(1.0,)]))[0, 0] == 1.0


@pytest.mark.parametrize(("poses", "points", "problem"), [
    ([(0.5, 0.5)], [(0.1, 0.1)], "needs 2 to"),
    ([(0.5, 0.5)] * 4, [(0.1, 0.1), (0.2, 0.2), (0.3, 0.3), (0.4, 0.4)], "all 4 poses are the same"),
    ([(0.5, 0.5), (0.1, 0.1)], [(0.1,), (0.2,)], "do not match"),
])
def test_refuses_examples_it_cannot_learn_from(poses, points, problem) -> None:
    with pytest.raises(ConfigError, match=problem):
        fit(poses, points, inputs=("flex0", "flex1"), axes=(0, 1))
