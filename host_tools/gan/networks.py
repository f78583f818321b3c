"""The generator and critic (host training layer; imports torch).

GANSynth/PGGAN-style without progressive growing. Generator: z (pixel-normalised) joined with a
one-hot pitch goes through a dense layer to a small grid and a first conv block (whose output
`features()` exposes for the GANSpace-style latent analysis), then blocks that double each dimension
(nearest upsampling + two 3x3 convs, leaky ReLU, pixel norm; with model.pitch_templates the pitch's
harmonic comb and expected instantaneous frequency join each block's input, see pitch_templates.py),
and a linear 1x1 conv to the representation: (2, frames, bins) log-magnitude + instantaneous
frequency, silent below the lowest trained fundamental (low_band.py), or, for
`representation = "waveform"`, WaveGAN-style 1-D blocks upsampling x4 with 25-tap convs to
(1, samples). Every layer uses PGGAN's equalised learning rate. The critic mirrors it (no
normalisation, as WGAN-GP wants), adds a minibatch-standard-deviation channel, and outputs one
Wasserstein score plus one logit per pitch class (the AC-GAN auxiliary classifier GANSynth uses).
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn
from torch.nn import functional as F

from host_tools.gan.config import WAVEFORM_STRIDE, GanConfig, output_shape, pitch_list, start_size
from host_tools.gan.low_band import silence_low_band, silent_bins
from host_tools.gan.pitch_templates import at_resolution, harmonic_templates

_SLOPE = 0.2
_WAVE_KERNEL = 25


class PixelNorm(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class EqualizedLinear(nn.Module):
    """PGGAN's equalised learning rate: N(0, 1) weights scaled by He's constant at run time, so every layer
    learns at the same pace under Adam and the deep critic's gradients neither vanish nor explode."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.gain = math.sqrt(2.0 / cin)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.gain, self.bias)


class EqualizedConv(nn.Module):
    """A 'same'-padded 2-D (spectral) or 1-D (waveform) convolution with an equalised learning rate."""

    def __init__(self, spectral: bool, cin: int, cout: int, kernel: int) -> None:
        super().__init__()
        shape = (cout, cin, kernel, kernel) if spectral else (cout, cin, kernel)
        self.weight = nn.Parameter(torch.randn(shape))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.gain = math.sqrt(2.0 / (cin * kernel ** (2 if spectral else 1)))
        self.op = F.conv2d if spectral else F.conv1d
        self.padding = kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x, self.weight * self.gain, self.bias, padding=self.padding)


def _conv(spectral: bool, cin: int, cout: int, kernel: int | None = None) -> nn.Module:
    default = 3 if spectral else _WAVE_KERNEL
    return EqualizedConv(spectral, cin, cout, default if kernel is None else kernel)


def _act_norm() -> list[nn.Module]:
    return [nn.LeakyReLU(_SLOPE), PixelNorm()]


class SplitGenerator(nn.Module):
    """A generator in two halves, `features` (z, pitch -> first block) and `from_features` (the rest),
    so the GANSpace analysis can read and edit the first block's activations."""

    def features(self, z: torch.Tensor, pitch: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def from_features(self, features: torch.Tensor, pitch: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(
        self, z: torch.Tensor, pitch: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        features = self.features(z, pitch)
        out = self.from_features(features, pitch)
        return (out, features) if return_features else out


class Generator(SplitGenerator):
    """(z, pitch class index) -> representation; `features()` gives the first conv block's output."""

    def __init__(self, cfg: GanConfig) -> None:
        super().__init__()
        self.spectral = cfg.audio.representation == "spectral"
        self.latent_dim = cfg.model.latent_dim
        self.pitches = pitch_list(cfg)
        self.out_shape = output_shape(cfg)
        self.start = start_size(cfg)
        channels = cfg.model.channels
        cells = 1
        for size in self.start:
            cells *= size
        self.dense = EqualizedLinear(self.latent_dim + len(self.pitches), channels[0] * cells)
        self.first = nn.Sequential(*_act_norm(), _conv(self.spectral, channels[0], channels[0]), *_act_norm())
        scale = 2 if self.spectral else WAVEFORM_STRIDE
        self.use_templates = cfg.model.pitch_templates
        extra = 2 if self.use_templates else 0
        self.upsample = nn.Upsample(scale_factor=scale, mode="nearest")
        self.blocks = nn.ModuleList(
            nn.Sequential(
                _conv(self.spectral, cin + extra, cout), *_act_norm(),
                _conv(self.spectral, cout, cout), *_act_norm(),
            )
            for cin, cout in itertools.pairwise(channels)
        )
        if self.use_templates:
            fine = harmonic_templates(cfg)
            for index in range(len(self.blocks)):
                bins = self.start[1] * 2 ** (index + 1)
                # Derived from the config, so not saved: checkpoints hold learned tensors only.
                self.register_buffer(f"templates_{index}", at_resolution(fine, bins), persistent=False)
        self.to_output = _conv(self.spectral, channels[-1], self.out_shape[0], kernel=1)
        self.silent_bins = silent_bins(cfg) if self.spectral else 0  # see low_band.py

    def features(self, z: torch.Tensor, pitch: torch.Tensor) -> torch.Tensor:
        """The first conv block's activations, (batch, channels[0], *start size)."""
        z = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)
        onehot = F.one_hot(pitch, len(self.pitches)).to(z.dtype)
        x = self.dense(torch.cat([z, onehot], dim=1))
        return self.first(x.view(z.shape[0], -1, *self.start))

    def from_features(self, features: torch.Tensor, pitch: torch.Tensor) -> torch.Tensor:
        """The rest of the network: first-block activations (possibly edited) -> representation."""
        x = features
        for index, block in enumerate(self.blocks):
            x = self.upsample(x)
            if self.use_templates:
                templates = getattr(self, f"templates_{index}")[pitch]  # (batch, 2, bins)
                x = torch.cat([x, templates.unsqueeze(2).expand(-1, -1, x.shape[2], -1).to(x.dtype)], dim=1)
            x = block(x)
        # Linear, as PGGAN's toRGB: a tanh here saturates where most bins must sit (silence, -1) and
        # starved the generator's gradients (measured: broadband noise after 200 tiny steps).
        return silence_low_band(self.to_output(x), self.silent_bins) if self.spectral else self.to_output(x)


class MinibatchStd(nn.Module):
    """PGGAN's variety signal, over consecutive groups of `group` notes: the training loop scores real and
    generated notes in one batch (one DDP forward), and groups dividing the batch size never mix them."""

    def __init__(self, group: int) -> None:
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        group = self.group if x.shape[0] % self.group == 0 else 1
        grouped = x.view(-1, group, *x.shape[1:])
        # sqrt(var + eps), as PGGAN: where a group's notes agree exactly (a log-spectrogram floor, digital
        # silence) the plain std has an infinite gradient, and the gradient penalty turned it into NaN.
        std = (grouped.var(dim=1, unbiased=False) + 1e-8).sqrt().flatten(1).mean(dim=1)  # one per group
        channel = std.repeat_interleave(group).view(-1, 1, *([1] * (x.dim() - 2)))
        return torch.cat([x, channel.expand(x.shape[0], 1, *x.shape[2:])], dim=1)


class Critic(nn.Module):
    """representation -> (Wasserstein score (batch,), pitch logits (batch, pitches))."""

    def __init__(self, cfg: GanConfig) -> None:
        super().__init__()
        spectral = cfg.audio.representation == "spectral"
        channels = cfg.model.disc_channels
        shape = output_shape(cfg)
        pool: type[nn.Module] = nn.AvgPool2d if spectral else nn.AvgPool1d
        factor = 2 if spectral else WAVEFORM_STRIDE
        self.from_input = nn.Sequential(
            _conv(spectral, shape[0], channels[0], kernel=1), nn.LeakyReLU(_SLOPE)
        )
        self.blocks = nn.Sequential(*(
            nn.Sequential(
                _conv(spectral, cin, cin), nn.LeakyReLU(_SLOPE),
                _conv(spectral, cin, cout), nn.LeakyReLU(_SLOPE),
                pool(factor),
            )
            for cin, cout in itertools.pairwise(channels)
        ))
        self.final = nn.Sequential(
            MinibatchStd(math.gcd(4, cfg.train.batch_size)),
            _conv(spectral, channels[-1] + 1, channels[-1]),
            nn.LeakyReLU(_SLOPE),
        )
        cells = 1
        for size in start_size(cfg):
            cells *= size
        self.head = EqualizedLinear(channels[-1] * cells, 1 + len(pitch_list(cfg)))

    def prepare(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """What the critic reads (the representation itself); the trainer's gradient penalty mixes this."""
        return (x,)

    def score(self, prepared: tuple[torch.Tensor, ...], pitch: torch.Tensor | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
        # `pitch` is accepted for the trainer's one calling convention; this critic only classifies it.
        out = self.head(self.final(self.blocks(self.from_input(prepared[0]))).flatten(1))
        return out[:, 0], out[:, 1:]

    def forward(self, x: torch.Tensor, pitch: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.score(self.prepare(x), pitch)


def build_generator(cfg: GanConfig) -> nn.Module:
    """The generator the config's representation asks for."""
    if cfg.audio.representation == "ddsp":
        from host_tools.gan.ddsp_networks import HarmonicGenerator

        return HarmonicGenerator(cfg)
    return Generator(cfg)


def build_critic(cfg: GanConfig) -> nn.Module:
    if cfg.audio.representation == "ddsp":
        from host_tools.gan.ddsp_networks import SpectralCritic

        return SpectralCritic(cfg)
    return Critic(cfg)
