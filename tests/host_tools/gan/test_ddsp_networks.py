"""The `ddsp` generator and its spectral critic: shapes, the GANSpace split, learning, resume."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from host_tools.gan.config import GanConfig, architecture_hash, load_config, note_samples
from host_tools.gan.ddsp_networks import HarmonicGenerator, SpectralCritic
from host_tools.gan.networks import build_critic, build_generator
from host_tools.gan.trainer import GanTrainer, _gradient_penalty

from .micro import micro_config, micro_ddsp_config
from .test_training import _assert_identical, _newest_tensors


def test_the_factory_builds_the_harmonic_pair_and_its_output_is_a_note() -> None:
    cfg = micro_ddsp_config()
    generator, critic = build_generator(cfg).eval(), build_critic(cfg)
    assert isinstance(generator, HarmonicGenerator) and isinstance(critic, SpectralCritic)
    z, pitch = torch.randn(3, 8), torch.tensor([0, 1, 2])
    out, features = generator(z, pitch, return_features=True)
    assert out.shape == (3, 1, note_samples(cfg))
    assert features.shape == (3, 8, 16)  # channels[0] x ceil(63 control frames / 4)
    assert torch.equal(generator.from_features(features, pitch), out)
    score, logits = critic(out, pitch)
    assert score.shape == (3,) and logits.shape == (3, 3)


def test_the_critic_is_conditioned_on_the_pitch() -> None:
    critic = build_critic(micro_ddsp_config())
    with torch.no_grad():
        critic.embed.weight.normal_()
    audio = torch.randn(2, 1, 4000) * 0.1
    a, _ = critic(audio, torch.tensor([0, 0]))
    b, _ = critic(audio, torch.tensor([2, 2]))
    assert not torch.allclose(a, b)


def test_shipped_medium_config_is_the_harmonic_generator_over_four_octaves() -> None:
    cfg = load_config("medium")
    assert cfg.audio.representation == "ddsp" and cfg.data.pitches == (36, 84)
    assert cfg.audio.seconds >= 2.0


def test_older_configs_without_synth_keys_keep_their_architecture_hash() -> None:
    cfg = micro_config()
    assert cfg.model.harmonics == 64  # filled by default
    older = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, harmonics=7))  # not read here
    assert architecture_hash(older) == architecture_hash(cfg)
    ddsp = micro_ddsp_config()
    assert architecture_hash(ddsp) != architecture_hash(micro_ddsp_config(model__harmonics=12))


def _fixed_batch(cfg: GanConfig) -> tuple[torch.Tensor, torch.Tensor]:
    t = torch.arange(note_samples(cfg)) / 16000
    real = torch.stack([0.3 * torch.sin(2 * torch.pi * 261.6 * k * t) for k in (1, 2, 3)]).unsqueeze(1)
    return real, torch.tensor([0, 1, 2])


def test_a_few_critic_steps_separate_a_fixed_batch_and_generator_steps_answer() -> None:
    torch.manual_seed(0)
    cfg = micro_ddsp_config()
    generator, critic = build_generator(cfg), build_critic(cfg)
    real, labels = _fixed_batch(cfg)
    z = torch.randn(3, 8)
    opt_d = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.0, 0.99))
    noise = torch.Generator().manual_seed(0)

    def d_loss() -> torch.Tensor:
        with torch.no_grad():
            fake = generator(z, labels)
        score, _ = critic(torch.cat([real, fake]), torch.cat([labels, labels]))
        return score[3:].mean() - score[:3].mean() + 10 * _gradient_penalty(critic, real, fake, labels, noise)

    before = d_loss().item()
    for _ in range(15):
        opt_d.zero_grad()
        d_loss().backward()
        opt_d.step()
    assert d_loss().item() < before - 0.5

    critic.requires_grad_(False)
    opt_g = torch.optim.Adam(generator.parameters(), lr=1e-3, betas=(0.0, 0.99))
    g_before = -critic(generator(z, labels), labels)[0].mean().item()
    for _ in range(15):
        opt_g.zero_grad()
        (-critic(generator(z, labels), labels)[0].mean()).backward()
        opt_g.step()
    assert -critic(generator(z, labels), labels)[0].mean().item() < g_before


@pytest.mark.parametrize("steps", [4])
def test_a_ddsp_run_resumes_bit_for_bit(micro_data: Path, tmp_path: Path, steps: int) -> None:
    cfg = micro_ddsp_config()
    GanTrainer(micro_data, cfg, tmp_path / "straight", resume=False, progress=False).run(steps)
    GanTrainer(micro_data, cfg, tmp_path / "split", resume=False, progress=False).run(steps // 2)
    GanTrainer(micro_data, cfg, tmp_path / "split", resume=True, progress=False).run(steps)
    _assert_identical(_newest_tensors(tmp_path / "straight"), _newest_tensors(tmp_path / "split"))
