"""The network-bending transforms (Broad, Leymarie and Grierson 2021) as pure tensor functions (host
bend layer; imports torch).

Each takes a layer's activations x (batch, channels, ..., frames), the targeted channel indices, one
amount per batch item in 0..1 and its parameters, and returns new activations; untargeted channels are
copied unchanged. Amount 0 is exactly the identity and the change on the targeted channels grows with
the amount (linearly for most; see each):

- scale:     x * (1 + a (factor - 1))                   factor: the gain at amount 1
- ablate:    x * (1 - a)                                 the channels fade to zero
- invert:    x * (1 - 2a)                                at 1 the channels are negated
- threshold: x + a (T(x) - x), T(x) = the channel's RMS where x >= level else 0 (binary, as the
             paper's thresholding, at the channel's own scale so a layer of any range stays in range)
- rotate:    consecutive pairs of targeted channels rotated by a * degrees in their plane (an odd last
             channel is left alone); the change grows as 2 sin(angle / 2), monotone up to 180 degrees
- translate: each targeted channel shifted along time by a * frames, linearly interpolated, edges
             held (the paper's translation of feature maps, on this generator's one axis, time);
             the change is linear in the amount while |frames| <= 1 and piecewise linear beyond
- noise:     x + a * strength * rms(x) * N, N one fixed Gaussian field (seeded) of the channels' shape,
             the same for every note, so a bent note is still a function of its latent point

A transform only sees activations, never the generator, so every one is checked on plain tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

Transform = Callable[[torch.Tensor, torch.Tensor, Mapping[str, float]], torch.Tensor]


@dataclass(frozen=True)
class Param:
    default: float
    low: float
    high: float
    meaning: str
    whole: bool = False


def _per_item(amount: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(batch,) amounts shaped to broadcast over x (batch, channels, ...)."""
    return amount.to(x.dtype).reshape(-1, *([1] * (x.dim() - 1)))


def _scale(x: torch.Tensor, amount: torch.Tensor, params: Mapping[str, float]) -> torch.Tensor:
    return x * (1.0 + _per_item(amount, x) * (params["factor"] - 1.0))


def _ablate(x: torch.Tensor, amount: torch.Tensor, params: Mapping[str, float]) -> torch.Tensor:
    return x * (1.0 - _per_item(amount, x))


def _invert(x: torch.Tensor, amount: torch.Tensor, params: Mapping[str, float]) -> torch.Tensor:
    return x * (1.0 - 2.0 * _per_item(amount, x))


def _channel_rms(x: torch.Tensor) -> torch.Tensor:
    """RMS of each item's channel over its frames, shaped like x with the frame axes kept as 1."""
    dims = tuple(range(2, x.dim()))
    return x.pow(2).mean(dim=dims, keepdim=True).sqrt()


def _threshold(x: torch.Tensor, amount: torch.Tensor, params: Mapping[str, float]) -> torch.Tensor:
    binary = (x >= params["level"]).to(x.dtype) * _channel_rms(x)
    return x + _per_item(amount, x) * (binary - x)


def _rotate(x: torch.Tensor, amount: torch.Tensor, params: Mapping[str, float]) -> torch.Tensor:
    pairs = x.shape[1] // 2
    if pairs == 0:
        return x
    angle = _per_item(amount, x) * math.radians(params["degrees"])
    first, second = x[:, 0 : 2 * pairs : 2], x[:, 1 : 2 * pairs : 2]
    cos, sin = torch.cos(angle), torch.sin(angle)
    out = x.clone()
    out[:, 0 : 2 * pairs : 2] = cos * first - sin * second
    out[:, 1 : 2 * pairs : 2] = sin * first + cos * second
    return out


def _translate(x: torch.Tensor, amount: torch.Tensor, params: Mapping[str, float]) -> torch.Tensor:
    frames = x.shape[-1]
    shift = amount.to(x.dtype) * params["frames"]  # (batch,): content moves later by this many frames
    source = torch.arange(frames, dtype=x.dtype, device=x.device)[None, :] - shift[:, None]
    source = source.clamp(0.0, frames - 1.0)
    low = source.floor()
    frac = source - low
    low_index = low.long()
    high_index = (low_index + 1).clamp(max=frames - 1)
    view = (x.shape[0], *([1] * (x.dim() - 2)), frames)
    low_index, high_index, frac = (t.reshape(view) for t in (low_index, high_index, frac))
    low_values = torch.gather(x, -1, low_index.expand_as(x))
    high_values = torch.gather(x, -1, high_index.expand_as(x))
    return low_values + frac * (high_values - low_values)


def noise_field(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """The fixed Gaussian field (channels, ..., frames) the noise transform adds."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(int(seed)))


def _noise(x: torch.Tensor, amount: torch.Tensor, params: Mapping[str, float]) -> torch.Tensor:
    field = noise_field(tuple(x.shape[1:]), int(params["seed"])).to(x.device, x.dtype)
    level = x.pow(2).mean(dim=tuple(range(1, x.dim())), keepdim=True).sqrt()  # each item's RMS
    return x + _per_item(amount, x) * params["strength"] * level * field[None]


# name -> (function, its parameters, what it does in a few words)
TRANSFORMS: dict[str, tuple[Transform, dict[str, Param], str]] = {
    "scale": (_scale, {"factor": Param(3.0, 0.0, 20.0, "gain of the channels at amount 1")},
              "multiply the channels towards `factor`"),
    "ablate": (_ablate, {}, "fade the channels to zero"),
    "invert": (_invert, {}, "fade the channels to their negation"),
    "threshold": (_threshold, {"level": Param(0.0, -10.0, 10.0, "activations at or above this are on")},
                  "blend the channels towards an on/off copy of themselves"),
    "rotate": (_rotate, {"degrees": Param(90.0, 0.0, 180.0, "rotation of each channel pair at amount 1")},
               "rotate pairs of channels into each other"),
    "translate": (_translate, {"frames": Param(1.0, -64.0, 64.0, "shift along time at amount 1, in the "
                                                                   "layer's frames (+ later)")},
                  "shift the channels along time"),
    "noise": (_noise, {"strength": Param(1.0, 0.0, 20.0, "noise RMS at amount 1, in units of the "
                                                         "activations' RMS"),
                       "seed": Param(0, 0, 2**31 - 1, "seed of the fixed noise field", whole=True)},
              "add a fixed noise field"),
}


def apply_transform(x: torch.Tensor, name: str, channels: torch.Tensor, amount: torch.Tensor,
                    params: Mapping[str, Any]) -> torch.Tensor:
    """x with transform `name` applied to `channels` (indices) at `amount` (batch,) per item."""
    function = TRANSFORMS[name][0]
    if len(channels) == x.shape[1] and bool((channels == torch.arange(x.shape[1])).all()):
        return function(x, amount, params)
    out = x.clone()
    out[:, channels] = function(x[:, channels], amount, params)
    return out
