"""A learned mapping from sensor poses to latent points: fitting and evaluating it (mapping layer).

Wekinator / FluCoMa style: the performer records a few dozen examples (a held pose, as calibrated
0..1 amounts of some channels, paired with the latent point it should play) and a small
regressor fills in everything between them. The regressor is a linear least-squares fit plus
Gaussian kernel ridge regression on what the linear part leaves over:

    point(x) = clip( [x, 1] @ linear + sum_i weights[i] * exp(-|x - centres[i]|^2 / (2 width^2)), 0, 1 )

Chosen by measurement (`latent bench learned`, figures in docs/MEASUREMENTS.md) over FluCoMa's
default MLP (2 hidden layers of 3, tanh, Adam in numpy) on 12 and 36 examples of 4 inputs: the
MLP took about 0.3 s and missed its own training poses by 0.01-0.09 (depending on its random
start), and freely chosen targets by up to 0.5, since 3+3 hidden units cannot hold a few dozen
arbitrary points; the kernel fit took 0.01-0.04 s, reproduces every training pose within 0.01
(a width and ridge that do are chosen by leave-one-out error), generalised as well or better,
and needs no random start (the same examples always give the same file). Between two poses the
linear part interpolates exactly; the kernel part only bends the path through the other poses.

`fit` trains; `LearnedModel.predict` is the plain numpy form (training, tests, reports);
`LearnedEvaluator` is the per-frame form the Mapper uses: its buffers are made once, so a frame
costs a handful of numpy calls and allocates no arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from device.errors import ConfigError
from device.mapping.config import Smoothing

MIN_EXAMPLES = 2
# Far more than anyone records by hand, and still a few microseconds per frame of kernel sums.
MAX_EXAMPLES = 500
# Kernel widths tried, as fractions of the median distance between the training poses, and ridges
# tried: leave-one-out picks the pair. Small ridges first: on equal error the closer fit wins.
WIDTH_FRACTIONS = (0.125, 0.25, 0.5, 1.0)
RIDGES = (1e-6, 1e-4, 1e-2)
# A candidate must reproduce its training points this closely (0..1 units) to be chosen: a performer
# who records a pose for a sound expects that pose to play that sound. Only where none does
# (the same pose recorded for two different points) the best leave-one-out candidate is taken.
REPRODUCE_TOLERANCE = 0.01
# The linear part's ridge: just enough to make the least-squares problem well posed with fewer
# examples than inputs (two poses of fourteen channels), too small to bias a real fit.
LINEAR_RIDGE = 1e-6


@dataclass(frozen=True)
class FitReport:
    """How well a model fits its examples, in latent-axis units (0..1)."""

    examples: int
    train_max_error: float
    train_mean_error: float
    loo_mean_error: float  # leave-one-out: each example predicted by a model fitted without it
    loo_max_error: float


@dataclass(frozen=True)
class LearnedModel:
    """A fitted pose -> point regressor: `inputs` channel names, `axes` latent axes it drives."""

    inputs: tuple[str, ...]
    axes: tuple[int, ...]
    width: float
    ridge: float
    centres: np.ndarray  # (examples, inputs): the training poses
    linear: np.ndarray  # (inputs + 1, axes): the linear part, bias last
    weights: np.ndarray  # (examples, axes): kernel weights
    smoothing: Smoothing = field(default_factory=Smoothing)
    report: FitReport | None = None

    def predict(self, poses: np.ndarray) -> np.ndarray:
        """Points (n, axes) for poses (n, inputs), clipped to 0..1."""
        poses = np.atleast_2d(np.asarray(poses, dtype=np.float64))
        return np.clip(_raw_predict(self, poses), 0.0, 1.0)


def _raw_predict(model: LearnedModel, poses: np.ndarray) -> np.ndarray:
    augmented = np.hstack([poses, np.ones((len(poses), 1))])
    return augmented @ model.linear + _kernel(poses, model.centres, model.width) @ model.weights


def _sq_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1)


def _kernel(a: np.ndarray, b: np.ndarray, width: float) -> np.ndarray:
    return np.exp(_sq_distances(a, b) * (-0.5 / (width * width)))


def _solve(poses: np.ndarray, points: np.ndarray, width: float, ridge: float,
           gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    augmented = np.hstack([poses, np.ones((len(poses), 1))])
    normal = augmented.T @ augmented + LINEAR_RIDGE * np.eye(augmented.shape[1])
    linear = np.linalg.solve(normal, augmented.T @ points)
    residual = points - augmented @ linear
    weights = np.linalg.solve(gram + ridge * np.eye(len(poses)), residual)
    return linear, weights


def fit(poses: Sequence[Sequence[float]] | np.ndarray, points: Sequence[Sequence[float]] | np.ndarray, *,
        inputs: Sequence[str], axes: Sequence[int], smoothing: Smoothing | None = None) -> LearnedModel:
    """Fit a model to examples: `poses[i]` (calibrated 0..1 amounts of `inputs`) should play
    `points[i]` (0..1 coordinates of latent `axes`). Width and ridge are chosen by leave-one-out."""
    x = np.asarray(poses, dtype=np.float64)
    y = np.asarray(points, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
        raise ConfigError(f"examples: {len(x)} poses for {len(y)} points; each example needs one pose and "
                          "one point")
    if not MIN_EXAMPLES <= len(x) <= MAX_EXAMPLES:
        raise ConfigError(f"examples: {len(x)} examples; a learned mapping needs {MIN_EXAMPLES} to "
                          f"{MAX_EXAMPLES} (record more poses, or split the set)")
    if x.shape[1] != len(inputs) or y.shape[1] != len(axes):
        raise ConfigError(f"examples: poses of {x.shape[1]} channels and points of {y.shape[1]} axes do not "
                          f"match the {len(inputs)} inputs and {len(axes)} axes named")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ConfigError("examples: a pose or point is not a finite number; re-record it")
    distances = np.sqrt(_sq_distances(x, x))
    spread = float(np.median(distances[np.triu_indices(len(x), 1)]))
    if not spread > 0.0:
        raise ConfigError(f"examples: all {len(x)} poses are the same (or most are identical); record "
                          "different poses for different points (is the sensor connected?)")
    # (reproduces, loo mean, loo max, width, ridge): reproducing candidates first, then by LOO.
    best: tuple[bool, float, float, float, float] | None = None
    for fraction in WIDTH_FRACTIONS:
        width = fraction * spread
        gram = np.exp(distances**2 * (-0.5 / (width * width)))
        for ridge in RIDGES:
            linear, weights = _solve(x, y, width, ridge, gram)
            fitted = np.clip(np.hstack([x, np.ones((len(x), 1))]) @ linear + gram @ weights, 0.0, 1.0)
            reproduces = bool(np.abs(fitted - y).max() <= REPRODUCE_TOLERANCE)
            errors = _leave_one_out(x, y, width, ridge, gram)
            score = (reproduces, float(errors.mean()), float(errors.max()), width, ridge)
            if best is None or (score[0], -score[1]) > (best[0], -best[1]):
                best = score
    assert best is not None
    _, loo_mean, loo_max, width, ridge = best
    linear, weights = _solve(x, y, width, ridge, np.exp(distances**2 * (-0.5 / (width * width))))
    model = LearnedModel(tuple(inputs), tuple(int(a) for a in axes), width, ridge, x.copy(), linear, weights,
                         smoothing or Smoothing())
    train = np.abs(model.predict(x) - y)
    report = FitReport(len(x), float(train.max()), float(train.mean()), loo_mean, loo_max)
    return replace(model, report=report)


def _leave_one_out(x: np.ndarray, y: np.ndarray, width: float, ridge: float, gram: np.ndarray) -> np.ndarray:
    """Per example, the largest axis error of a model fitted without it (clipped as played)."""
    n = len(x)
    errors = np.empty(n)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        keep[i] = False
        linear, weights = _solve(x[keep], y[keep], width, ridge, gram[np.ix_(keep, keep)])
        guess = np.r_[x[i], 1.0] @ linear + gram[i, keep] @ weights
        keep[i] = True
        errors[i] = np.abs(np.clip(guess, 0.0, 1.0) - y[i]).max()
    return errors


@dataclass(frozen=True)
class LearnedMapping:
    """What `latent map train` fitted from one examples file, on the same `inputs`: a `point` model
    (poses recorded with latent points) and/or a `chooser` (poses recorded with preset names),
    which scores each of `presets` (one output per name; the highest, clearly ahead, is chosen)."""

    inputs: tuple[str, ...]
    point: LearnedModel | None = None
    presets: tuple[str, ...] = ()
    chooser: LearnedModel | None = None

    @property
    def axes(self) -> tuple[int, ...]:
        """The latent axes the point model drives (none without one)."""
        return self.point.axes if self.point is not None else ()


def fit_presets(poses: Sequence[Sequence[float]] | np.ndarray, names: Sequence[str], *,
                inputs: Sequence[str]) -> tuple[tuple[str, ...], LearnedModel]:
    """A preset chooser: poses recorded with preset names, fitted as one 0/1 score per preset."""
    presets = tuple(dict.fromkeys(names))
    if len(presets) < 2:
        raise ConfigError(f"examples: every preset example names {presets[0] if presets else 'no preset'}; "
                          "a pose can only choose between two or more presets (record poses for others)")
    scores = [[1.0 if name == preset else 0.0 for preset in presets] for name in names]
    return presets, fit(poses, scores, inputs=inputs, axes=range(len(presets)))


class LearnedEvaluator:
    """The model evaluated once per sensor frame without allocating arrays.

    `pose` is filled by the caller (one float per input), `run()` leaves the point in `point`.
    """

    __slots__ = ("_aug", "_centres", "_diff", "_gain", "_kernel", "_lin_out", "_linear", "_weights",
                 "point", "pose")

    def __init__(self, model: LearnedModel) -> None:
        n, d = model.centres.shape
        self._centres = np.ascontiguousarray(model.centres)
        self._linear = np.ascontiguousarray(model.linear)
        self._weights = np.ascontiguousarray(model.weights)
        self._gain = -0.5 / (model.width * model.width)
        self._aug = np.ones(d + 1)
        self.pose = self._aug[:d]  # a view: filling the pose fills the augmented vector
        self._diff = np.empty((n, d))
        self._kernel = np.empty(n)
        self._lin_out = np.empty(len(model.axes))
        self.point = np.empty(len(model.axes))

    def run(self) -> np.ndarray:
        diff = self._diff
        kernel = self._kernel
        np.subtract(self._centres, self.pose, out=diff)
        np.multiply(diff, diff, out=diff)
        np.sum(diff, axis=1, out=kernel)
        np.multiply(kernel, self._gain, out=kernel)
        np.exp(kernel, out=kernel)
        np.dot(kernel, self._weights, out=self.point)
        np.dot(self._aug, self._linear, out=self._lin_out)
        np.add(self.point, self._lin_out, out=self.point)
        np.clip(self.point, 0.0, 1.0, out=self.point)
        return self.point


def check_model(model: LearnedModel, source: str) -> None:
    """Refuse a model whose arrays disagree with each other (a forged or damaged file)."""
    n_inputs, n_axes = len(model.inputs), len(model.axes)
    shapes = {
        "centres": (model.centres, (model.centres.shape[0], n_inputs)),
        "linear": (model.linear, (n_inputs + 1, n_axes)),
        "weights": (model.weights, (model.centres.shape[0], n_axes)),
    }
    for key, (array, shape) in shapes.items():
        if array.shape != shape:
            raise ConfigError(f"{source}: learned.{key}: has shape {array.shape[0]}x"
                              f"{array.shape[1] if array.ndim > 1 else 1}, expected {shape[0]}x{shape[1]} "
                              f"for {n_inputs} inputs and {n_axes} axes; retrain with `latent map train`")
        if not np.isfinite(array).all():
            raise ConfigError(f"{source}: learned.{key}: holds a number that is not finite; retrain with "
                              "`latent map train`")
    if not (math.isfinite(model.width) and model.width > 0.0):
        raise ConfigError(f"{source}: learned.width: is {model.width!r}; allowed: a number above 0")
