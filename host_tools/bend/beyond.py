"""Walks that leave the data: latent points along a direction, past where the model was fitted (host
bend layer).

A direction is one of
- `pcK`: GANSpace direction K (host_tools/space/directions.py), in its standard deviations; the
  trained range is about +-2, so --range -6,6 walks three times as far;
- `icK`: independent component K (ica.py), in standard deviations of its source;
- `bookmarks:A,B`: the line through two bookmarks, 0 at A and 1 at B; outside 0..1 it extrapolates
  their difference.
`walk_latents` returns the z of each step and whether the step lies inside the usual range (|v| <= 2
for components, 0..1 between bookmarks), so every audition says whether it has left the data beside
its measured distance from it (distance.py).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from device.errors import ConfigError

INSIDE_STD = 2.0  # the range `latent space grid` and the banks use: where the model was fitted


@dataclass(frozen=True)
class Walk:
    direction: str
    values: np.ndarray    # (steps,) position along it
    latents: np.ndarray   # (steps, D)
    inside: np.ndarray    # (steps,) bool: within the usual range
    unit: str


def parse_direction(text: str) -> tuple[str, Any]:
    """('pc', K) | ('ic', K) | ('bookmarks', (A, B)) from pcK, icK or bookmarks:A,B."""
    found = re.fullmatch(r"(pc|ic)(\d+)", text.strip())
    if found:
        return found.group(1), int(found.group(2))
    if text.startswith("bookmarks:"):
        names = [n.strip() for n in text.split(":", 1)[1].split(",")]
        if len(names) == 2 and all(names) and names[0] != names[1]:
            return "bookmarks", (names[0], names[1])
    raise ConfigError(f"--direction {text!r} is unknown; write pc0 (a PCA direction), ic0 (an independent "
                      "component) or bookmarks:calm,bright (the line through two bookmarks)")


def walk_latents(run: str | os.PathLike[str], generator: Any, cfg: Any, direction: str,
                 low: float, high: float, steps: int, ica_samples: int = 2048, seed: int = 0) -> Walk:
    from host_tools.space.bookmarks import bookmark_latents
    from host_tools.space.directions import load_directions

    kind, which = parse_direction(direction)
    values = np.linspace(low, high, steps)
    if kind == "bookmarks":
        a, b = bookmark_latents(run, list(which), int(cfg.model.latent_dim))
        latents = a[None] + values[:, None] * (b - a)[None]
        return Walk(direction, values, latents, (values >= 0.0) & (values <= 1.0),
                    f"fraction of the way from bookmark {which[0]} (0) to {which[1]} (1)")
    directions = load_directions(run)
    if not 0 <= which < directions.count:
        raise ConfigError(f"--direction {direction}: the run has {kind}0..{kind}{directions.count - 1} "
                          f"(refit with `latent space pca --components N` for more)")
    if kind == "pc":
        step = directions.weights[which]
        unit = f"standard deviations along GANSpace direction {which}"
    else:
        from host_tools.bend.ica import ica_steps

        step = ica_steps(generator, cfg, directions, samples=ica_samples, seed=seed)[which]
        unit = f"standard deviations of independent component {which} (FastICA of the PCA coefficients)"
    latents = directions.center_z[None] + values[:, None] * step[None]
    return Walk(direction, values, latents, np.abs(values) <= INSIDE_STD + 1e-9, unit)
