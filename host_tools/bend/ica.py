"""Independent directions of a run's latent space: FastICA on its PCA coefficients (host bend layer).

PCA directions are uncorrelated but need not be independent; ICA (Hyvarinen's FastICA, symmetric, log
cosh contrast) finds unmixing directions in the space of the K whitened PCA coefficients of the
generator's first-block activations, whose sources are as non-Gaussian as possible: directions a
generator may treat as separate "knobs" that PCA mixes. Each independent component j becomes a z step
(the mixing column j, one source standard deviation, mapped to z through the PCA regression weights),
so it is walked like a PCA direction, in standard deviations, and past +-2 of them. Seeded throughout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from host_tools.gan.config import GanConfig
    from host_tools.space.directions import LatentDirections


def _decorrelate(w: np.ndarray) -> np.ndarray:
    """(W W^T)^(-1/2) W: rows made orthonormal without favouring any."""
    values, vectors = np.linalg.eigh(w @ w.T)
    return (vectors / np.sqrt(np.maximum(values, 1e-12))) @ vectors.T @ w


def fast_ica(x: np.ndarray, seed: int, iterations: int = 400, tol: float = 1e-7) -> np.ndarray:
    """Unmixing matrix U (k, k) for samples x (n, k): sources s = (x - mean) @ U.T, unit variance."""
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean(axis=0)
    values, vectors = np.linalg.eigh(x.T @ x / len(x))
    whiten = (vectors / np.sqrt(np.maximum(values, 1e-12))) @ vectors.T
    xw = x @ whiten.T
    w = _decorrelate(np.random.default_rng(seed).standard_normal((x.shape[1], x.shape[1])))
    for _ in range(iterations):
        g = np.tanh(xw @ w.T)
        new = _decorrelate((g.T @ xw) / len(xw) - (1.0 - g**2).mean(axis=0)[:, None] * w)
        done = float(np.max(np.abs(np.abs(np.einsum("ij,ij->i", new, w)) - 1.0))) < tol
        w = new
        if done:
            break
    return w @ whiten


def ica_steps(generator: Any, cfg: GanConfig, directions: LatentDirections, samples: int = 2048,
              seed: int = 0) -> np.ndarray:
    """(K, D) z steps, one per independent component (one source std each), largest first."""
    import torch

    from host_tools.gan.config import pitch_list

    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, int(cfg.model.latent_dim), generator=rng)
    pitch = torch.randint(0, len(pitch_list(cfg)), (samples,), generator=rng)
    with torch.no_grad():
        features = torch.cat([generator.features(z[i:i + 256], pitch[i:i + 256]).flatten(1)
                              for i in range(0, samples, 256)]).double().numpy()
    coeffs = directions.coefficients(features, pitch.numpy())
    mixing = np.linalg.pinv(fast_ica(coeffs, seed))  # (K, k): coefficient change per source std
    mixing = mixing * np.where(mixing[np.abs(mixing).argmax(axis=0), range(mixing.shape[1])] < 0, -1, 1)
    order = np.argsort(-np.linalg.norm(mixing, axis=0), kind="stable")
    return mixing[:, order].T @ directions.weights
