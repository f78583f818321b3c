"""GANSpace-style latent directions of a trained GAN, fitted and stored with the run (host analysis layer).

Method (GANSpace, Harkonen et al. 2020, as GANSpaceSynth applied it to GANSynth):
1. Sample z ~ N(0, I) at random trained pitches and record the generator's first conv block
   activations f (flattened). The covariance is accumulated batch by batch in float64 (sum of f^T f
   plus per-pitch sums), so memory is F^2 * 8 bytes whatever the number of samples (8 MiB for the
   `tiny` config, 512 MiB for `full`) and the PCA is exact, unlike a low-rank fit on a bounded subset.
   The covariance is the *within-pitch* one (each pitch's mean removed): the one-hot pitch input
   otherwise dominates the leading components, and pitch is played by the keys, not the axes.
2. The K leading eigenvectors V (K, F) with standard deviations s_k = sqrt(eigenvalue) (decreasing).
3. A second pass over the same z regresses z on the whitened coefficients x~ = V (f - mean_pitch) / s
   (least squares with intercept, accumulated as normal equations: K x K and K x D). Row W_k of the
   solution is the z step that moves component k by one standard deviation; it is stored as a unit
   direction u_k and a length `z_scale_k`, so a latent point given as coefficients c in standard
   deviations is z(c) = centre + sum_k c_k * z_scale_k * u_k.
4. The origin: the generator pixel-normalises z, so it only sees z's direction and the arithmetic
   mean of the samples (~0) is no usable point. The centre is the sampled z whose activations are
   nearest their pitch's mean (smallest |x~|): the most typical note the model makes.

Stored as RUN/space/pca.npz (arrays) + RUN/space/pca.json (figures a person reads), written atomically.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from device.errors import ConfigError

if TYPE_CHECKING:
    from host_tools.gan.config import GanConfig

ARRAYS = ("center_z", "directions", "z_scale", "std", "components", "feature_mean", "explained_ratio")


def space_dir(run: str | os.PathLike[str]) -> Path:
    return Path(run) / "space"


def pca_paths(run: str | os.PathLike[str]) -> tuple[Path, Path]:
    return space_dir(run) / "pca.npz", space_dir(run) / "pca.json"


@dataclass
class LatentDirections:
    """The fitted directions; `weights` (K, D) = z step per standard deviation of each component."""

    center_z: np.ndarray       # (D,)
    directions: np.ndarray     # (K, D) unit vectors in z
    z_scale: np.ndarray        # (K,) length of one standard deviation's step along each direction
    std: np.ndarray            # (K,) activation standard deviation of each component (decreasing)
    components: np.ndarray     # (K, F) orthonormal activation-space principal axes
    feature_mean: np.ndarray   # (P, F) activation mean at each trained pitch
    explained_ratio: np.ndarray  # (K,) share of the within-pitch activation variance
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return int(self.directions.shape[0])

    @property
    def weights(self) -> np.ndarray:
        return self.directions * self.z_scale[:, None]

    def latent(self, coeffs: np.ndarray) -> np.ndarray:
        """z for coefficients (..., k <= K) in standard deviations; missing trailing ones are 0."""
        coeffs = np.asarray(coeffs, dtype=np.float64)
        if coeffs.shape[-1] > self.count:
            raise ConfigError(f"{coeffs.shape[-1]} coefficients given but the run's PCA has only "
                              f"{self.count} components; refit with `latent space pca --components N`")
        return self.center_z + coeffs @ self.weights[: coeffs.shape[-1]]

    def coefficients(self, features: np.ndarray, pitch_index: np.ndarray) -> np.ndarray:
        """Whitened PCA coefficients (batch, K) of flattened activations at the given pitch indices."""
        centred = features - self.feature_mean[pitch_index]
        return (centred @ self.components.T) / self.std


def _batches(total: int, size: int) -> list[int]:
    return [min(size, total - start) for start in range(0, total, size)]


def _features(generator: Any, z: Any, pitch: Any) -> Any:
    import torch

    with torch.no_grad():
        return generator.features(z, pitch).flatten(1).double()


def fit_directions(
    generator: Any, cfg: GanConfig, *, samples: int = 4096, components: int = 16, batch: int = 256,
    seed: int = 0, progress: Callable[[int], None] | None = None,
) -> LatentDirections:
    """Fit the directions; `progress(n)` is called after each batch of n samples (two passes)."""
    import torch

    from host_tools.gan.config import pitch_list

    latent_dim = int(cfg.model.latent_dim)
    n_pitches = len(pitch_list(cfg))
    probe = _features(generator, torch.zeros(1, latent_dim), torch.zeros(1, dtype=torch.long))
    n_features = int(probe.shape[1])
    check_fit_request(samples, components, latent_dim, n_features, n_pitches)
    started = time.perf_counter()
    rng = torch.Generator().manual_seed(seed)
    zs = torch.randn(samples, latent_dim, generator=rng)
    pitches = torch.randint(0, n_pitches, (samples,), generator=rng)
    device = next(generator.parameters()).device

    second = torch.zeros(n_features, n_features, dtype=torch.float64)
    sums = torch.zeros(n_pitches, n_features, dtype=torch.float64)
    counts = torch.zeros(n_pitches, dtype=torch.float64)
    start = 0
    for size in _batches(samples, batch):
        z, p = zs[start:start + size], pitches[start:start + size]
        f = _features(generator, z.to(device), p.to(device)).cpu()
        second += f.T @ f
        sums.index_add_(0, p, f)
        counts.index_add_(0, p, torch.ones(size, dtype=torch.float64))
        start += size
        if progress:
            progress(size)
    means = sums / counts.clamp(min=1.0)[:, None]
    within = second - (means.T * counts) @ means
    cov = within / max(samples - int((counts > 0).sum()), 1)
    eigvals, eigvecs = torch.linalg.eigh(cov)
    order = torch.argsort(eigvals, descending=True)[:components]
    std = eigvals[order].clamp(min=0).sqrt()
    if float(std[-1]) <= 0.0:
        raise ConfigError(f"the generator's activations vary along fewer than {components} directions; "
                          "ask for fewer --components")
    basis = eigvecs[:, order].T  # (K, F)

    # Pass 2: normal equations of z ~ [1, x~] beta, and the most typical sample as the centre.
    gram = torch.zeros(components + 1, components + 1, dtype=torch.float64)
    cross = torch.zeros(components + 1, latent_dim, dtype=torch.float64)
    best = (float("inf"), 0)
    start = 0
    for size in _batches(samples, batch):
        z, p = zs[start:start + size], pitches[start:start + size]
        f = _features(generator, z.to(device), p.to(device)).cpu()
        x = ((f - means[p]) @ basis.T) / std
        design = torch.cat([torch.ones(size, 1, dtype=torch.float64), x], dim=1)
        gram += design.T @ design
        cross += design.T @ z.double()
        radius = (x**2).sum(dim=1)
        low = int(torch.argmin(radius))
        if float(radius[low]) < best[0]:
            best = (float(radius[low]), start + low)
        start += size
        if progress:
            progress(size)
    beta = torch.linalg.solve(gram, cross)
    weights = beta[1:].numpy()
    z_scale = np.linalg.norm(weights, axis=1)
    total = float(torch.trace(cov))
    return LatentDirections(
        center_z=zs[best[1]].double().numpy(),
        directions=weights / np.maximum(z_scale, 1e-12)[:, None],
        z_scale=z_scale,
        std=std.numpy(),
        components=basis.numpy(),
        feature_mean=means.numpy(),
        explained_ratio=(eigvals[order] / total).numpy() if total > 0 else np.zeros(components),
        meta={
            "method": "within-pitch PCA of first-block activations + least-squares regression of z",
            "samples": samples, "components": components, "seed": seed, "batch": batch,
            "latent_dim": latent_dim, "features": n_features, "pitches": pitch_list(cfg),
            "fit_seconds": round(time.perf_counter() - started, 3),
        },
    )


def check_fit_request(
    samples: int, components: int, latent_dim: int, n_features: int, n_pitches: int
) -> None:
    if components < 1 or components > min(latent_dim, n_features):
        raise ConfigError(f"--components {components} is out of range; this generator allows 1.."
                          f"{min(latent_dim, n_features)} (latent size {latent_dim})")
    needed = max(4 * components, components + n_pitches + 2)
    if samples < needed:
        raise ConfigError(f"--samples {samples} is too few to fit {components} directions over "
                          f"{n_pitches} pitches; give at least {needed}")


def direction_response(
    generator: Any, directions: LatentDirections, probes: int = 8, seed: int = 1, step: float = 1.0
) -> np.ndarray:
    """R (K, K): mean change of the whitened coefficients when z moves `step` std along direction k
    from random probe latents. A good fit has R close to step * identity for the leading directions."""
    import torch

    rng = torch.Generator().manual_seed(seed)
    n_pitches = directions.feature_mean.shape[0]
    zs = torch.randn(probes, directions.center_z.shape[0], generator=rng).double()
    pitch = torch.randint(0, n_pitches, (probes,), generator=rng)
    weights = torch.from_numpy(directions.weights)
    base = directions.coefficients(_features(generator, zs.float(), pitch).numpy(), pitch.numpy())
    response = np.zeros((directions.count, directions.count))
    for k in range(directions.count):
        moved = (zs + step * weights[k]).float()
        response[k] = (directions.coefficients(_features(generator, moved, pitch).numpy(), pitch.numpy())
                       - base).mean(axis=0)
    return response


def save_directions(run: str | os.PathLike[str], found: LatentDirections, extra: dict[str, Any]) -> Path:
    """Write RUN/space/pca.npz and pca.json atomically; returns the npz path."""
    npz_path, json_path = pca_paths(run)
    npz_path.parent.mkdir(parents=True, exist_ok=True)
    temp = npz_path.with_name(".pca.tmp.npz")
    np.savez(temp, **{name: getattr(found, name) for name in ARRAYS})
    os.replace(temp, npz_path)
    summary = {
        **found.meta, **extra,
        "std": [round(float(s), 6) for s in found.std],
        "z_scale": [round(float(s), 6) for s in found.z_scale],
        "explained_ratio": [round(float(r), 6) for r in found.explained_ratio],
    }
    temp_json = json_path.with_name(".pca.tmp.json")
    temp_json.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    os.replace(temp_json, json_path)
    return npz_path


def load_directions(run: str | os.PathLike[str]) -> LatentDirections:
    npz_path, json_path = pca_paths(run)
    if not npz_path.is_file():
        raise ConfigError(f"{run} has no latent directions yet ({npz_path} is missing); "
                          f"fit them with `latent space pca --run {run}`")
    try:
        with np.load(npz_path, allow_pickle=False) as data:
            arrays = {name: np.asarray(data[name], dtype=np.float64) for name in ARRAYS}
        meta = json.loads(json_path.read_text(encoding="utf-8")) if json_path.is_file() else {}
    except (OSError, ValueError, KeyError) as err:
        raise ConfigError(f"{npz_path} is unreadable ({err}); refit with `latent space pca --run {run}`") \
            from None
    return LatentDirections(**arrays, meta=meta)
