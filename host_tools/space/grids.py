"""The latent grids the tools render and compile: PCA axes or corners, as bank axes plus z per cell
(host analysis layer)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
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


def surface_grid(
    run: str | os.PathLike[str], latent_dim: int, *, pca_axes: str | Sequence[int] | None,
    value_range: str | tuple[float, float], steps: int, corners: list[str] | None,
    axis_counts: tuple[int, int], count_hint: str, axis_names: list[tuple[str, str]] | None = None,
) -> LatentGrid:
    """The grid a compile or a dataset samples, from its options: `pca_axes` (a list such as "0,1",
    between axis_counts[0] and axis_counts[1] of them, over `value_range` in std) or four `corners`
    bookmarks, `steps` points per axis. `count_hint` ends the refusal of a wrong number of axes.
    ConfigError, naming the option, for anything that cannot make a grid."""
    from device.errors import ConfigError
    from host_tools.space.directions import load_directions
    from host_tools.space.parsing import parse_axes, parse_range, parse_steps

    if (pca_axes is None) == (corners is None):
        raise ConfigError("give either --pca-axes, e.g. 0,1 (with --range and --steps), or --corners a,b,c,d")
    steps = parse_steps(steps)
    if corners is not None:
        return corners_grid(run, corners, steps, latent_dim)
    directions = load_directions(run)
    axes = parse_axes(pca_axes if isinstance(pca_axes, str) else ",".join(map(str, pca_axes)),
                      directions.count)
    if not axis_counts[0] <= len(axes) <= axis_counts[1]:
        raise ConfigError(f"--pca-axes names {len(axes)} components; {count_hint}")
    low, high = parse_range(value_range) if isinstance(value_range, str) else value_range
    if not (np.isfinite(low) and np.isfinite(high)) or high <= low:
        raise ConfigError(f"--range {value_range!r} must be two increasing numbers, like -2,2")
    if axis_names is not None and len(axis_names) != len(axes):
        raise ConfigError(f"--axis-names names {len(axis_names)} axes but --pca-axes chooses {len(axes)}")
    return pca_grid(directions, axes, float(low), float(high), steps, axis_names)
