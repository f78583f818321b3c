"""The `ddsp` generator and its multi-resolution spectral critic (host training layer; imports torch).

Generator: z (pixel-normalised) and a one-hot pitch go through a dense layer to a short sequence of
control frames and a first 1-D conv block (whose output `features()` exposes for the GANSpace analysis,
as the spectral generator's), then blocks that double the frame count (linear upsampling + two 3-tap
convs, leaky ReLU, pixel norm; the pitch, as a number, joins every block's input so the timbre can
depend on register), and a linear 1x1 conv to per-frame controls of the harmonic-plus-noise synthesiser
(harmonic_synth.py), which renders the note at the conditioning pitch. Output: audio (batch, 1, samples),
the `waveform` representation's shape, so the codec, trainer and every later tool treat it as audio.

Critic: the note's log-magnitude STFT at two resolutions (audio.n_fft with hop n_fft / 4, for
harmonic detail down to the lowest pitch; and n_fft / 8 with hop n_fft / 32, for attacks), each read by
a 1-D conv stack with the frequency bins as channels (cheap on a CPU, and pitch is not something the
critic must find translation-invariantly: it is given), average-pooled over time. Scores add up; the
pitch enters both as a projection term (Miyato and Koyama 2018: the score of a note depends on whether
its spectrum suits the conditioning pitch) and as AC-GAN logits for the auxiliary classifier the trainer
uses. No normalisation, as WGAN-GP wants; a minibatch-std channel before the head.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from host_tools.gan.config import GanConfig, note_samples, pitch_list, start_size
from host_tools.gan.harmonic_synth import HarmonicNoiseSynth, midi_to_hz
from host_tools.gan.networks import EqualizedConv, EqualizedLinear, MinibatchStd, PixelNorm, SplitGenerator

_SLOPE = 0.2
_LOG_FLOOR = 1e-3  # -60 dB re a unit bin of the normalised STFT: quieter detail is not judged


def _conv(cin: int, cout: int, kernel: int = 3) -> EqualizedConv:
    return EqualizedConv(False, cin, cout, kernel)


def pitch_number(midi: torch.Tensor) -> torch.Tensor:
    """MIDI pitch as a number near [-1, 1] over the piano's middle (C1 .. C7), for the blocks' input."""
    return (midi - 60.0) / 36.0


class HarmonicGenerator(SplitGenerator):
    """(z, pitch class index) -> audio (batch, 1, samples); `features()` gives the first block's output."""

    spectral = False

    def __init__(self, cfg: GanConfig) -> None:
        super().__init__()
        audio, model = cfg.audio, cfg.model
        self.latent_dim = model.latent_dim
        self.pitches = pitch_list(cfg)
        self.samples = note_samples(cfg)
        self.frames = self.samples // audio.hop + 1
        self.start = start_size(cfg)
        channels = model.channels
        self.dense = EqualizedLinear(self.latent_dim + len(self.pitches), channels[0] * self.start[0])
        self.first = nn.Sequential(nn.LeakyReLU(_SLOPE), PixelNorm(), _conv(channels[0], channels[0]),
                                   nn.LeakyReLU(_SLOPE), PixelNorm())
        self.blocks = nn.ModuleList(
            nn.Sequential(_conv(cin + 1, cout), nn.LeakyReLU(_SLOPE), PixelNorm(),
                          _conv(cout, cout), nn.LeakyReLU(_SLOPE), PixelNorm())
            for cin, cout in itertools.pairwise(channels)
        )
        self.synth = HarmonicNoiseSynth(audio.sample_rate, self.samples, model.harmonics,
                                        model.noise_bands)
        self.to_controls = _conv(channels[-1] + 1, 1 + model.harmonics + model.noise_bands, kernel=1)
        self.register_buffer("midi", torch.tensor(self.pitches, dtype=torch.float32), persistent=False)

    def features(self, z: torch.Tensor, pitch: torch.Tensor) -> torch.Tensor:
        """The first conv block's activations, (batch, channels[0], start frames)."""
        z = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)
        onehot = F.one_hot(pitch, len(self.pitches)).to(z.dtype)
        x = self.dense(torch.cat([z, onehot], dim=1))
        return self.first(x.view(z.shape[0], -1, self.start[0]))

    def controls(self, features: torch.Tensor, pitch: torch.Tensor) -> torch.Tensor:
        """First-block activations -> the synthesiser's controls (batch, 1 + H + N, frames)."""
        number = pitch_number(self.midi[pitch]).to(features.dtype)[:, None, None]
        x = features
        for block in self.blocks:
            x = F.interpolate(x, scale_factor=2, mode="linear", align_corners=False)
            x = block(torch.cat([x, number.expand(-1, 1, x.shape[2])], dim=1))
        x = torch.cat([x, number.expand(-1, 1, x.shape[2])], dim=1)
        return self.to_controls(x)[:, :, : self.frames]

    def from_features(self, features: torch.Tensor, pitch: torch.Tensor) -> torch.Tensor:
        f0 = midi_to_hz(self.midi[pitch])
        return self.synth(self.controls(features, pitch), f0).unsqueeze(1)


class _ResolutionCritic(nn.Module):
    """One STFT resolution: log-magnitude frames, bins as channels -> (features (batch, C),)."""

    def __init__(self, n_fft: int, hop: int, channels: Sequence[int], group: int) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        bins = n_fft // 2 + 1
        self.from_input = nn.Sequential(_conv(bins, channels[0], kernel=1), nn.LeakyReLU(_SLOPE))
        self.blocks = nn.Sequential(*(
            nn.Sequential(_conv(cin, cout), nn.LeakyReLU(_SLOPE), _conv(cout, cout), nn.LeakyReLU(_SLOPE),
                          nn.AvgPool1d(2, ceil_mode=True))
            for cin, cout in itertools.pairwise(channels)
        ))
        self.final = nn.Sequential(MinibatchStd(group), _conv(channels[-1] + 1, channels[-1]),
                                   nn.LeakyReLU(_SLOPE))

    def log_magnitude(self, audio: torch.Tensor) -> torch.Tensor:
        spectrum = torch.stft(audio, self.n_fft, self.hop, window=self.window, center=True,
                              normalized=True, return_complex=True)
        # |X| via the squared parts: abs() of a complex tensor has an infinite gradient at exact zero,
        # which a gradient penalty on interpolates does reach (silent stretches).
        power = spectrum.real.pow(2) + spectrum.imag.pow(2)
        return 0.5 * torch.log(power + _LOG_FLOOR**2) / math.log(10.0)  # log10 magnitude, (b, bins, frames)

    def forward(self, log_magnitude: torch.Tensor) -> torch.Tensor:
        x = self.final(self.blocks(self.from_input(log_magnitude)))
        return x.mean(dim=2)


class SpectralCritic(nn.Module):
    """audio (batch, 1, samples) [+ pitch class] -> (Wasserstein score (batch,), pitch logits)."""

    conditional = True

    def __init__(self, cfg: GanConfig) -> None:
        super().__init__()
        n_fft = cfg.audio.n_fft
        channels = cfg.model.disc_channels
        group = math.gcd(4, cfg.train.batch_size)
        self.views = nn.ModuleList([
            _ResolutionCritic(n_fft, n_fft // 4, channels, group),
            _ResolutionCritic(max(n_fft // 8, 16), max(n_fft // 32, 4), channels, group),
        ])
        pitches = len(pitch_list(cfg))
        width = channels[-1] * len(self.views)
        self.head = EqualizedLinear(width, 1 + pitches)
        self.embed = nn.Embedding(pitches, width)
        nn.init.normal_(self.embed.weight, std=1.0 / math.sqrt(width))

    def prepare(self, audio: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """What the critic reads: each view's log-magnitude spectrogram. The gradient penalty is taken
        here, not on the waveform: d log|X| / dx grows without bound in quiet bins, so a penalty on the
        waveform measured ~3000 at initialisation and drowned the Wasserstein term."""
        flat = audio[:, 0]
        return tuple(view.log_magnitude(flat) for view in self.views)

    def score(self, prepared: tuple[torch.Tensor, ...], pitch: torch.Tensor | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.cat([view(x) for view, x in zip(self.views, prepared, strict=True)], dim=1)
        out = self.head(h)
        score = out[:, 0]
        if pitch is not None:
            score = score + (self.embed(pitch) * h).sum(dim=1)
        return score, out[:, 1:]

    def forward(self, audio: torch.Tensor, pitch: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.score(self.prepare(audio), pitch)
