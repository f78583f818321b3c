"""Each bending transform on a micro generator's activations: amount 0 is the identity, the change on
the targeted channels grows with the amount, untargeted channels are untouched; and through the hook,
a bent generator at amount 0 plays exactly the unbent notes."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from host_tools.bend.clusters import layer_activations, probe_latents
from host_tools.bend.layers import bendable_layers
from host_tools.bend.render import render_bent
from host_tools.bend.transforms import TRANSFORMS, apply_transform
from host_tools.gan.run_dir import load_generator
from host_tools.space.render import render_latents

# translate: at most one frame, where its change is linear in the amount (see transforms.py)
PARAMS = {"scale": {"factor": 3.0}, "ablate": {}, "invert": {}, "threshold": {"level": 0.1},
          "rotate": {"degrees": 120.0}, "translate": {"frames": 1.0}, "noise": {"strength": 0.5, "seed": 3}}
AMOUNTS = (0.0, 0.25, 0.5, 0.75, 1.0)


@pytest.fixture(scope="module")
def activations(ddsp_run: Path) -> dict[str, torch.Tensor]:
    generator, cfg = load_generator(ddsp_run)
    z, pitches = probe_latents(cfg, 4, seed=1)
    return {layer.name: torch.from_numpy(layer_activations(generator, cfg, layer.name, z, pitches))
            for layer in bendable_layers(generator)}


def test_every_transform_has_test_parameters() -> None:
    assert set(PARAMS) == set(TRANSFORMS)
    for name, (_, params, _) in TRANSFORMS.items():
        assert set(PARAMS[name]) == set(params)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@pytest.mark.parametrize("layer", ["first", "blocks.1", "to_controls"])
def test_transform_identity_monotone_and_targeted(name: str, layer: str,
                                                  activations: dict[str, torch.Tensor]) -> None:
    x = activations[layer]
    channels = torch.arange(0, x.shape[1], 2)[:4]  # four targeted channels, the others untouched
    others = [c for c in range(x.shape[1]) if c not in channels.tolist()]
    effects = []
    for amount in AMOUNTS:
        y = apply_transform(x, name, channels, torch.full((len(x),), amount), PARAMS[name])
        assert y.shape == x.shape
        if amount == 0.0:
            assert torch.equal(y, x), f"{name} at amount 0 changed the activations"
        assert torch.equal(y[:, others], x[:, others]), f"{name} touched untargeted channels"
        effects.append(float((y[:, channels] - x[:, channels]).abs().mean()))
    assert all(b > a for a, b in itertools.pairwise(effects)), (name, layer, effects)


def test_each_note_gets_its_own_amount(activations: dict[str, torch.Tensor]) -> None:
    x = activations["first"]
    amounts = torch.tensor([0.0, 1.0, 0.0, 0.5])
    y = apply_transform(x, "ablate", torch.arange(x.shape[1]), amounts, {})
    assert torch.equal(y[0], x[0]) and torch.equal(y[2], x[2])
    assert float(y[1].abs().max()) == 0.0
    torch.testing.assert_close(y[3], 0.5 * x[3])


def test_translate_by_whole_frames_moves_the_content(activations: dict[str, torch.Tensor]) -> None:
    x = activations["blocks.1"]
    y = apply_transform(x, "translate", torch.arange(x.shape[1]), torch.ones(len(x)), {"frames": 3.0})
    torch.testing.assert_close(y[..., 3:], x[..., :-3])
    torch.testing.assert_close(y[..., :3], x[..., :1].expand(*x.shape[:-1], 3))  # the edge is held


def test_noise_field_is_fixed(activations: dict[str, torch.Tensor]) -> None:
    x = activations["first"]
    bend = {"strength": 1.0, "seed": 5}
    first = apply_transform(x, "noise", torch.arange(x.shape[1]), torch.ones(len(x)), bend)
    again = apply_transform(x, "noise", torch.arange(x.shape[1]), torch.ones(len(x)), bend)
    assert torch.equal(first, again)


def test_bent_generator_at_amount_zero_plays_the_unbent_notes(ddsp_run: Path) -> None:
    generator, cfg = load_generator(ddsp_run)
    z, pitches = probe_latents(cfg, 3, seed=2)
    plain = render_latents(generator, cfg, z, pitches)
    for name in TRANSFORMS:
        bent = render_bent(generator, cfg, z, pitches, np.zeros(3), layer="first", transform=name,
                           channels=[0, 1, 2, 3], params=PARAMS[name])
        np.testing.assert_array_equal(bent, plain)
    louder = render_bent(generator, cfg, z, pitches, np.array([0.0, 1.0, 1.0]), layer="first",
                         transform="invert", channels=list(range(8)), params={})
    np.testing.assert_array_equal(louder[0], plain[0])
    assert not np.allclose(louder[1:], plain[1:])
    np.testing.assert_array_equal(render_latents(generator, cfg, z, pitches), plain)  # the hook is gone
