"""`latent bench learned`: the learned mapping's regressor against FluCoMa's default MLP (bench layer).

The figures behind the choice in device/mapping/learned.py. On a few dozen examples of 4 inputs
and 2 latent axes it fits both the shipped regressor (linear + kernel ridge, width and ridge by
leave-one-out) and a reference MLP with FluCoMa's default shape (2 hidden layers of 3, tanh,
full-batch Adam in numpy, a few random starts), then reports for each: time to fit on one core,
the largest error on its own training poses, the mean error on 400 poses it never saw (targets
from a smooth function), and on freely chosen targets (what a performer picking sounds by ear
records). Also the shipped evaluator's cost per sensor frame. The MLP exists only here.
"""

from __future__ import annotations

import argparse
import itertools
import time
import timeit
from typing import Any

import numpy as np

NAME = "learned"
HELP = "learned mapping: fit time, training and held-out error vs a 3-3 MLP, cost per frame"
INPUTS = 4
AXES = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--examples", default="12,36",
                        help="example counts to try, comma-separated (default: %(default)s)")
    parser.add_argument("--mlp-steps", type=int, default=4000, dest="mlp_steps",
                        help="Adam steps of the reference MLP (default: %(default)s)")
    parser.add_argument("--mlp-starts", type=int, default=3, dest="mlp_starts",
                        help="random starts of the reference MLP (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic examples")


def _smooth(poses: np.ndarray) -> np.ndarray:
    """A smooth, non-linear pose -> point function with values in 0..1."""
    return np.stack([0.5 + 0.4 * np.sin(2.5 * poses[:, 0] + poses[:, 1]),
                     (poses[:, 2] * poses[:, 3] + poses[:, 1] ** 2) / 2], axis=1)


def _mlp_fit(x: np.ndarray, y: np.ndarray, seed: int, steps: int, rate: float = 0.01) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = [x.shape[1], 3, 3, y.shape[1]]
    params = [rng.normal(0.0, 1.0 / np.sqrt(a), (a, b)) for a, b in itertools.pairwise(sizes)]
    params += [np.zeros(b) for b in sizes[1:]]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    w0, w1, w2, b0, b1, b2 = params
    for step in range(1, steps + 1):
        h1 = np.tanh(x @ w0 + b0)
        h2 = np.tanh(h1 @ w1 + b1)
        g = 2.0 * (h2 @ w2 + b2 - y) / len(x)
        g2 = (g @ w2.T) * (1.0 - h2**2)
        g1 = (g2 @ w1.T) * (1.0 - h1**2)
        grads = [x.T @ g1, h1.T @ g2, h2.T @ g, g1.sum(0), g2.sum(0), g.sum(0)]
        for p, grad, mm, vv in zip(params, grads, m, v, strict=True):
            mm *= 0.9
            mm += 0.1 * grad
            vv *= 0.999
            vv += 0.001 * grad * grad
            p -= rate * (mm / (1 - 0.9**step)) / (np.sqrt(vv / (1 - 0.999**step)) + 1e-8)
    return params


def _mlp_predict(params: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    w0, w1, w2, b0, b1, b2 = params
    return np.clip(np.tanh(np.tanh(x @ w0 + b0) @ w1 + b1) @ w2 + b2, 0.0, 1.0)


def _case(poses: np.ndarray, points: np.ndarray, test: tuple[np.ndarray, np.ndarray] | None,
          args: argparse.Namespace) -> dict[str, Any]:
    from device.mapping.learned import LearnedEvaluator, fit

    names = [f"in{i}" for i in range(INPUTS)]
    started = time.process_time()
    model = fit(poses, points, inputs=names, axes=range(AXES))
    kernel_s = time.process_time() - started
    assert model.report is not None
    evaluator = LearnedEvaluator(model)
    evaluator.pose[:] = 0.5
    per_frame = min(timeit.repeat(evaluator.run, number=2000, repeat=5)) / 2000
    kernel: dict[str, Any] = {
        "fit_s": round(kernel_s, 4), "train_max_error": round(model.report.train_max_error, 4),
        "loo_mean_error": round(model.report.loo_mean_error, 4), "per_frame_us": round(per_frame * 1e6, 2)}
    mlp_fits, mlp_errors, mlp_tests = [], [], []
    for start in range(args.mlp_starts):
        started = time.process_time()
        params = _mlp_fit(poses, points, args.seed + 100 + start, args.mlp_steps)
        mlp_fits.append(time.process_time() - started)
        mlp_errors.append(float(np.abs(_mlp_predict(params, poses) - points).max()))
        if test is not None:
            mlp_tests.append(float(np.abs(_mlp_predict(params, test[0]) - test[1]).mean()))
    mlp: dict[str, Any] = {"fit_s": round(float(np.mean(mlp_fits)), 4),
                           "train_max_error_per_start": [round(e, 4) for e in mlp_errors]}
    if test is not None:
        kernel["held_out_mean_error"] = round(float(np.abs(model.predict(test[0]) - test[1]).mean()), 4)
        mlp["held_out_mean_error_per_start"] = [round(e, 4) for e in mlp_tests]
    return {"kernel_ridge": kernel, "mlp_3_3": mlp}


def run(args: argparse.Namespace) -> dict[str, Any]:
    counts = [int(part) for part in args.examples.split(",")]
    rng = np.random.default_rng(args.seed)
    test_poses = rng.uniform(0.0, 1.0, (400, INPUTS))
    test = (test_poses, _smooth(test_poses))
    result: dict[str, Any] = {"inputs": INPUTS, "axes": AXES, "mlp_steps": args.mlp_steps, "cases": {}}
    for count in counts:
        poses = rng.uniform(0.0, 1.0, (count, INPUTS))
        result["cases"][f"{count}_smooth"] = _case(poses, _smooth(poses), test, args)
        result["cases"][f"{count}_chosen"] = _case(poses, rng.uniform(0.0, 1.0, (count, AXES)), None, args)
    return result
