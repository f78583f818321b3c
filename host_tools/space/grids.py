"""The latent grids the tools render and compile: PCA axes or corners, as bank axes plus z per cell
(host analysis layer)."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from device.bundle.grid import Axis
from host_tools.space.bookmarks import bookmark_latents
from host_tools.space.corners import corner_grid
from host_tools.space.directions import LatentDirections


@dataclass(frozen=True)
class LatentGrid:
    axes: list[Axis]
    latents: np.ndarray          # (*steps, D)
    description: dict[str, Any]  # what made it, for the bundle's provenance

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(a.steps for a in self.axes)

    def flat_latents(self) -> np.ndarray:
        return self.latents.reshape(-1, self.latents.shape[-1])

    def cells(self) -> list[tuple[int, ...]]:
        return list(itertools.product(*(range(n) for n in self.shape)))


def pca_grid(
    directions: LatentDirections, axes: list[int], low: float, high: float, steps: int,
    names: list[tuple[str, str]] | None = None,
) -> LatentGrid:
    """Every combination of `steps` values in [low, high] std along the chosen components, others 0.
    `names`: (name, what it moves) per axis, e.g. from `latent space describe`; default pc<k>."""
    ticks = np.linspace(low, high, steps)
    coeffs = np.zeros((*(steps,) * len(axes), directions.count))
    for position, component in enumerate(axes):
        shape = [1] * len(axes)
        shape[position] = steps
        coeffs[..., component] = ticks.reshape(shape)
    bank_axes = [
        Axis(names[i][0] if names else f"pc{c}", low, high, steps,
             (f"{names[i][1]}; " if names else "")
             + f"GANSpace direction {c} of the run (within-pitch PCA of the generator's first-block "
             f"activations, {100 * directions.explained_ratio[c]:.1f}% of their variance), in standard "
             "deviations from the centre latent")
        for i, c in enumerate(axes)
    ]
    return LatentGrid(bank_axes, directions.latent(coeffs), {
        "kind": "pca", "components": axes, "range": [low, high], "steps": steps,
        "center_z": directions.center_z.tolist(),
        "directions": directions.directions[axes].tolist(),
        "z_scale": directions.z_scale[axes].tolist(),
        "std": directions.std[axes].tolist(),
        "pca": directions.meta,
    })


def corners_grid(run: str | os.PathLike[str], names: list[str], steps: int, latent_dim: int) -> LatentGrid:
    """The bilinear surface spanned by four bookmarks a, b, c, d (see corners.py for the order)."""
    from device.errors import ConfigError

    if len(names) != 4:
        raise ConfigError(f"--corners needs four bookmark names a,b,c,d, got {len(names)}: {names}")
    corners = bookmark_latents(run, names, latent_dim)
    axes = [
        Axis("corner_u", 0.0, 1.0, steps, f"blend from corners {names[0]},{names[2]} (0) to "
                                          f"{names[1]},{names[3]} (1)"),
        Axis("corner_v", 0.0, 1.0, steps, f"blend from corners {names[0]},{names[1]} (0) to "
                                          f"{names[2]},{names[3]} (1)"),
    ]
    return LatentGrid(axes, corner_grid(corners, steps), {
        "kind": "corners", "names": names, "steps": steps, "corners_z": corners.tolist(),
    })
