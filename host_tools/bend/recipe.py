"""A bend recipe: which layer, channels, transform, amount range and parameters (host bend layer).

A TOML file with one `[bend]` table (see models/bent-*.toml), read strictly through
`device.config_file` (unknown keys, wrong types and values out of range are refused naming the key):

    [bend]
    layer = "first"              # `latent bend list-layers --run RUN`
    transform = "rotate"         # scale, ablate, invert, threshold, rotate, translate, noise
    cluster = 2                  # a cluster of `latent bend clusters` (or channels = [..]; neither: all)
    amount = [0.0, 1.0]          # the amount axis, each end in 0..1 (0 = the unbent generator)
    axis_name = "bend"           # the bank axis' name
    axis_description = "..."     # what moving along it does (optional)
    [bend.params]                # the transform's parameters (transforms.TRANSFORMS), defaults otherwise
    degrees = 90

Parsing needs no run; `resolve_bend` (bender.py) then checks the layer, cluster and channels against
the run's generator and clustering, all before a note is generated.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from device.config_file import TableReader, load_table, top_table
from device.errors import ConfigError
from host_tools.bend.transforms import TRANSFORMS

MEANINGS = {
    "layer": "the generator layer to bend (latent bend list-layers)",
    "transform": "what to do to its channels",
    "cluster": "index of a channel cluster from `latent bend clusters`",
    "clusters": "the clustering file, relative to the run (default bend/clusters-LAYER.json)",
    "channels": "explicit channel indices to bend instead of a cluster",
    "amount": "the amount axis' [low, high], each in 0..1",
    "axis_name": "name of the bank axis the amount becomes",
    "axis_description": "what moving along the amount axis does, for the bundle",
    "params": "the transform's parameters",
}


@dataclass(frozen=True)
class BendRecipe:
    layer: str
    transform: str
    cluster: int | None = None
    clusters: str | None = None
    channels: tuple[int, ...] | None = None
    amount: tuple[float, float] = (0.0, 1.0)
    axis_name: str = "bend"
    axis_description: str = ""
    params: dict[str, float] = field(default_factory=dict)
    source: str = "recipe"

    def to_config(self) -> dict[str, Any]:
        """The recipe as plain data (what a bundle's provenance stores; `parse_recipe` reads it back)."""
        out: dict[str, Any] = {"layer": self.layer, "transform": self.transform,
                               "amount": list(self.amount), "axis_name": self.axis_name,
                               "params": dict(self.params)}
        if self.cluster is not None:
            out["cluster"] = self.cluster
        if self.clusters is not None:
            out["clusters"] = self.clusters
        if self.channels is not None:
            out["channels"] = list(self.channels)
        if self.axis_description:
            out["axis_description"] = self.axis_description
        return out

    def clusters_path(self, run: str | os.PathLike[str]) -> Path:
        from host_tools.bend.clusters import clusters_path

        return Path(run) / self.clusters if self.clusters else clusters_path(run, self.layer)


def _params(table: TableReader, transform: str) -> dict[str, float]:
    known = TRANSFORMS[transform][1]
    table.describe({name: p.meaning for name, p in known.items()})
    values: dict[str, float] = {}
    for name, p in known.items():
        if p.whole:
            values[name] = table.integer(name, int(p.default), lo=int(p.low), hi=int(p.high))
        else:
            values[name] = table.number(name, p.default, lo=p.low, hi=p.high)
    table.finish()
    return values


def parse_bend(data: Any, source: str = "recipe") -> BendRecipe:
    """Validate a recipe mapping (`{"bend": {...}}`); ConfigError naming the key when it is wrong."""
    top = top_table(data, source, error=ConfigError)
    bend = top.table("bend", required=True)
    top.finish()
    bend.describe(MEANINGS)
    layer = bend.string("layer", non_empty=True)
    transform = bend.choice("transform", list(TRANSFORMS))
    cluster = bend.integer("cluster", -1, lo=0, hi=4096) if bend.has("cluster") else None
    clusters = bend.string("clusters", non_empty=True) if bend.has("clusters") else None
    channels = tuple(bend.integers("channels", lo=0, hi=65535)) if bend.has("channels") else None
    if cluster is not None and channels is not None:
        raise bend.fail("channels", "given beside cluster; name either a cluster or channels, not both")
    if clusters is not None and cluster is None:
        raise bend.fail("clusters", "given without cluster; name the cluster to bend")
    if channels is not None and len(set(channels)) != len(channels):
        raise bend.fail("channels", "names a channel twice")
    low, high = bend.numbers("amount", (0.0, 1.0), lo=0.0, hi=1.0, length=2)
    if high <= low:
        raise bend.fail("amount", f"is [{low:g}, {high:g}]; high must be above low",
                        "[low, high] with 0 <= low < high <= 1")
    axis_name = bend.string("axis_name", "bend", non_empty=True)
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", axis_name):
        raise bend.fail("axis_name", f"is {axis_name!r}, not a lower-case word",
                        "letters, digits and _, starting with a letter, e.g. bend")
    description = bend.string("axis_description", "")
    params = _params(bend.table("params"), transform)
    bend.finish()
    return BendRecipe(layer=layer, transform=transform, cluster=cluster, clusters=clusters,
                      channels=channels, amount=(low, high), axis_name=axis_name,
                      axis_description=description, params=params, source=source)


def load_bend(path: str | os.PathLike[str]) -> BendRecipe:
    """Read and validate a bend recipe file (bounded read, strict keys)."""
    table = load_table(path, what="a bend recipe TOML file", error=ConfigError,
                       missing="bend recipe file does not exist")
    return parse_bend(table.data, str(path))
