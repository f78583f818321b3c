"""A bend recipe resolved against a run: the layer checked, the cluster turned into channels (host bend
layer).

`resolve_bend` refuses an unknown layer, a missing clustering, a cluster or channel that the layer does
not have, and a rotation of fewer than two channels, each in one line naming what to do, before a
single note is generated (the layer list comes from the module tree first, then one probe call for the
channel count). The resolved plan is what grids and banks use, and what a bundle's provenance records
(recipe, resolved channels, the cluster's name).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from device.bundle.grid import Axis
from device.errors import ConfigError
from host_tools.bend.layers import Layer
from host_tools.bend.recipe import BendRecipe


@dataclass(frozen=True)
class BendPlan:
    recipe: BendRecipe
    layer: Layer
    channels: list[int]
    cluster_name: str | None

    def amounts(self, steps: int) -> np.ndarray:
        return np.linspace(self.recipe.amount[0], self.recipe.amount[1], steps)

    def axis(self, steps: int) -> Axis:
        r = self.recipe
        what = r.axis_description or f"{r.transform} of {self.target()}"
        return Axis(r.axis_name, float(r.amount[0]), float(r.amount[1]), steps,
                    f"{what}; network-bending amount (0 = the generator as trained) of `{r.transform}` "
                    f"on {len(self.channels)} of {self.layer.channels} channels of layer {r.layer}")

    def target(self) -> str:
        r = self.recipe
        if r.cluster is not None:
            return f"cluster {r.cluster} ({self.cluster_name}) of layer {r.layer}"
        if r.channels is not None:
            return f"{len(self.channels)} chosen channels of layer {r.layer}"
        return f"every channel of layer {r.layer}"

    def describe(self) -> dict[str, Any]:
        """What a bundle or index records: the recipe as given and what it resolved to."""
        return {"recipe": self.recipe.to_config(), "source": self.recipe.source,
                "channels": self.channels, "layer_channels": self.layer.channels,
                "cluster_name": self.cluster_name, "target": self.target()}


def resolve_bend(recipe: BendRecipe, generator: Any, run: str | os.PathLike[str]) -> BendPlan:
    from host_tools.bend.clusters import load_clusters
    from host_tools.bend.layers import candidate_modules, find_layer

    if recipe.layer not in candidate_modules(generator):
        raise ConfigError(f"{recipe.source}: bend.layer {recipe.layer!r} is not a layer of this generator; "
                          f"list them with `latent bend list-layers --run {run}`")
    layer = find_layer(generator, recipe.layer)
    cluster_name = None
    if recipe.cluster is not None:
        path = recipe.clusters_path(run)
        data = load_clusters(path, recipe.layer, layer.channels)
        assignment = [int(a) for a in data["assignment"]]
        count = max(assignment) + 1
        if recipe.cluster >= count:
            raise ConfigError(f"{recipe.source}: bend.cluster {recipe.cluster} does not exist; {path} has "
                              f"clusters 0..{count - 1} (`latent bend clusters --run {run} --layer "
                              f"{recipe.layer}` lists them)")
        channels = [c for c, a in enumerate(assignment) if a == recipe.cluster]
        names = {int(c["cluster"]): str(c.get("name", "")) for c in data.get("clusters", [])}
        cluster_name = names.get(recipe.cluster)
    elif recipe.channels is not None:
        bad = [c for c in recipe.channels if c >= layer.channels]
        if bad:
            raise ConfigError(f"{recipe.source}: bend.channels names channel {bad[0]}; layer {recipe.layer} "
                              f"has channels 0..{layer.channels - 1}")
        channels = sorted(recipe.channels)
    else:
        channels = list(range(layer.channels))
    if recipe.transform == "rotate" and len(channels) < 2:
        raise ConfigError(f"{recipe.source}: bend.transform rotate turns channels into each other in pairs; "
                          f"the target has {len(channels)} channel, choose a larger cluster or another "
                          "transform")
    return BendPlan(recipe=recipe, layer=layer, channels=channels, cluster_name=cluster_name)
