"""Which layers of a generator can be bent, and the hook that bends one (host bend layer; imports torch).

A bendable layer is a top-level child of the generator, or an entry of a top-level ModuleList (the
ddsp generator's `first`, `blocks.0` .., `to_controls`), whose output is a feature map (batch, channels,
..., frames). They are found by one probe note through forward hooks (a layer that is never called, or
gives a flat vector like the dense input layer, is not offered). Bending one installs a forward hook
that replaces its output with the transformed activations (transforms.py), with one amount per note of
the batch, so one batch can hold a whole bend axis.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from device.errors import ConfigError
from host_tools.bend.transforms import apply_transform


@dataclass(frozen=True)
class Layer:
    name: str
    channels: int
    frames: tuple[int, ...]   # the activation's shape after the channels (time last)
    kind: str                 # the module's class, e.g. Sequential, EqualizedConv

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "channels": self.channels, "frames": list(self.frames), "kind": self.kind}


def candidate_modules(generator: nn.Module) -> dict[str, nn.Module]:
    found: dict[str, nn.Module] = {}
    for name, child in generator.named_children():
        if isinstance(child, nn.ModuleList):
            found.update({f"{name}.{index}": entry for index, entry in enumerate(child)})
        else:
            found[name] = child
    return found


def bendable_layers(generator: nn.Module, pitch_index: int = 0) -> list[Layer]:
    """The layers whose output is a feature map, in the order the generator calls them."""
    modules = candidate_modules(generator)
    seen: dict[str, tuple[tuple[int, ...], str]] = {}
    handles = []
    for name, module in modules.items():
        def record(module: nn.Module, inputs: Any, output: Any, name: str = name) -> None:
            if isinstance(output, torch.Tensor) and output.dim() >= 3 and name not in seen:
                seen[name] = (tuple(output.shape[1:]), type(module).__name__)
        handles.append(module.register_forward_hook(record))
    try:
        latent_dim = int(generator.latent_dim)
        with torch.no_grad():
            generator(torch.zeros(1, latent_dim), torch.tensor([pitch_index]))
    finally:
        for handle in handles:
            handle.remove()
    return [Layer(name, shape[0], shape[1:], kind) for name, (shape, kind) in seen.items()]


def find_layer(generator: nn.Module, name: str) -> Layer:
    layers = bendable_layers(generator)
    for layer in layers:
        if layer.name == name:
            return layer
    raise ConfigError(f"layer {name!r} is not a bendable layer of this generator; it has "
                      f"{', '.join(layer.name for layer in layers)} (`latent bend list-layers --run RUN`)")


class LayerBend:
    """A transform bound to one layer and channel set; `amounts` is set per batch before generating."""

    def __init__(self, generator: nn.Module, layer: str, transform: str, channels: list[int],
                 params: dict[str, float]) -> None:
        self.module = candidate_modules(generator)[layer]
        self.transform = transform
        self.channels = torch.tensor(channels, dtype=torch.long)
        self.params = params
        self.amounts: torch.Tensor | None = None

    def _hook(self, module: nn.Module, inputs: Any, output: torch.Tensor) -> torch.Tensor:
        if self.amounts is None:
            return output
        if len(self.amounts) != output.shape[0]:
            raise ValueError(f"{len(self.amounts)} bend amounts for a batch of {output.shape[0]}")
        return apply_transform(output, self.transform, self.channels.to(output.device),
                               self.amounts.to(output.device), self.params)

    @contextmanager
    def installed(self) -> Iterator[LayerBend]:
        handle = self.module.register_forward_hook(self._hook)
        try:
            yield self
        finally:
            handle.remove()
            self.amounts = None
