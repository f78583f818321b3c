"""A differentiable harmonic-plus-noise synthesiser: per-frame controls in, audio out (host training
layer; imports torch).

The last stage of the `ddsp` generator (DDSP, Engel et al. 2020): per control frame a loudness, a
distribution over the harmonics of the conditioning pitch and a filtered-noise spectrum. The note is in
tune by construction (the oscillators run at exact multiples of the conditioning fundamental), there is
no phase to invent, and the network has ~150 numbers per frame to learn instead of a spectrogram.

- Harmonics: amplitude(t) x distribution_k(t) x sin(2 pi k f0 t), the distribution a softmax over the
  harmonics below Nyquist only (a harmonic above it would alias, so it gets no share of the energy).
  Controls are interpolated linearly from the frame rate to the sample rate.
- Noise: white noise shaped per frame by `noise_bands` linearly spaced magnitudes, made directly in the
  STFT domain (random complex spectra x the interpolated magnitudes, inverse STFT): one FFT pass for
  the whole note. In training the noise is fresh; in eval mode it is the same for every call, so one
  latent point always gives the same audio (a compiled bank or an edit is reproducible).

Scales follow DDSP's: `exp_sigmoid` maps a network output to a positive magnitude with a soft ceiling,
so no initialisation can blast and no gradient dies at zero.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

_EVAL_NOISE_SEED = 20_200_117  # any constant: eval-mode noise is fixed, so audio is a function of z


def midi_to_hz(midi: torch.Tensor) -> torch.Tensor:
    return 440.0 * torch.pow(2.0, (midi - 69.0) / 12.0)


def exp_sigmoid(x: torch.Tensor, exponent: float = 10.0, max_value: float = 2.0,
                threshold: float = 1e-7) -> torch.Tensor:
    """DDSP's positive nonlinearity: max_value * sigmoid(x) ** ln(exponent) + threshold."""
    return max_value * torch.sigmoid(x).pow(math.log(exponent)) + threshold


def upsample_frames(controls: torch.Tensor, samples: int) -> torch.Tensor:
    """(batch, channels, frames) -> (batch, channels, samples), linear between frame centres."""
    return F.interpolate(controls, size=samples, mode="linear", align_corners=True)


class HarmonicNoiseSynth(torch.nn.Module):
    """controls (batch, 1 + harmonics + noise_bands, frames) + f0 in Hz (batch,) -> audio (batch, samples)."""

    def __init__(self, sample_rate: int, samples: int, harmonics: int, noise_bands: int) -> None:
        super().__init__()
        self.sample_rate, self.samples = sample_rate, samples
        self.harmonics, self.noise_bands = harmonics, noise_bands
        self.noise_fft = 2 * (noise_bands - 1)
        self.noise_hop = self.noise_fft // 2  # Hann windows at half overlap add up to a constant
        self.noise_frames = samples // self.noise_hop + 1
        self._tables: dict[float, torch.Tensor] = {}  # f0 in Hz -> (H, samples) sines; see oscillators()
        self.register_buffer("harmonic_numbers", torch.arange(1, harmonics + 1, dtype=torch.float32),
                             persistent=False)
        self.register_buffer("time", torch.arange(samples, dtype=torch.float64) / sample_rate,
                             persistent=False)
        self.register_buffer("noise_window", torch.hann_window(self.noise_fft), persistent=False)

    def split(self, controls: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(amplitude (b, 1, f), harmonic logits (b, H, f), noise logits (b, N, f))."""
        return (controls[:, :1], controls[:, 1 : 1 + self.harmonics],
                controls[:, 1 + self.harmonics : 1 + self.harmonics + self.noise_bands])

    def harmonic_distribution(self, logits: torch.Tensor, f0: torch.Tensor) -> torch.Tensor:
        """Softmax over the harmonics below Nyquist (those above get exactly zero)."""
        audible = (self.harmonic_numbers[None, :] * f0[:, None]) < self.sample_rate / 2  # (b, H)
        masked = logits.masked_fill(~audible[:, :, None], float("-inf"))
        return torch.softmax(masked, dim=1)

    def oscillators(self, f0: torch.Tensor) -> torch.Tensor:
        """(batch, H, samples) unit sines at k f0, from a per-pitch table built on first use.

        The oscillators depend on the fixed pitch only, so no gradient flows through them and a table
        per pitch replaces ~10^7 sines per note and step (the speed-up: docs/MEASUREMENTS.md). Built
        in float64, because k f0 t reaches ~1e5 cycles, where float32 keeps only ~0.01 of a cycle."""
        rows = []
        for hz in f0.detach().cpu().tolist():
            key = round(hz, 6)
            table = self._tables.get(key)
            if table is None:
                with torch.no_grad():
                    cycles = (hz * self.harmonic_numbers.double()[:, None]) * self.time.cpu()[None, :]
                    table = torch.sin((2.0 * math.pi) * (cycles - torch.floor(cycles))).float()
                self._tables[key] = table
            rows.append(table)
        return torch.stack(rows).to(f0.device)

    def harmonic_part(self, amplitude: torch.Tensor, distribution: torch.Tensor,
                      f0: torch.Tensor) -> torch.Tensor:
        per_harmonic = upsample_frames(amplitude * distribution, self.samples)  # (b, H, samples)
        return (per_harmonic * self.oscillators(f0)).sum(dim=1)

    def noise_part(self, magnitudes: torch.Tensor) -> torch.Tensor:
        batch = magnitudes.shape[0]
        shaped = F.interpolate(magnitudes, size=self.noise_frames, mode="linear", align_corners=True)
        shape = (batch, self.noise_bands, self.noise_frames)
        if self.training:
            real, imag = torch.randn(shape, device=magnitudes.device), torch.randn(shape,
                                                                                   device=magnitudes.device)
        else:
            # One realisation shared by every note, so a note does not depend on its batch neighbours.
            fixed = torch.Generator().manual_seed(_EVAL_NOISE_SEED)
            one = (1, *shape[1:])
            real = torch.randn(one, generator=fixed).to(magnitudes.device).expand(shape)
            imag = torch.randn(one, generator=fixed).to(magnitudes.device).expand(shape)
        spectrum = torch.complex(real * shaped, imag * shaped) / math.sqrt(2.0)
        audio = torch.istft(spectrum, self.noise_fft, self.noise_hop, window=self.noise_window,
                            length=self.samples, center=True)
        return audio

    def positive_controls(self, controls: torch.Tensor, f0: torch.Tensor
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The generator's raw controls as the synthesiser plays them: amplitude (b, 1, f), harmonic
        distribution (b, H, f; sums to 1 below Nyquist) and noise magnitudes (b, N, f)."""
        amp_logit, harm_logits, noise_logits = self.split(controls)
        # Noise starts ~40 dB under the harmonics (DDSP's -5 bias): a fresh generator plays a quiet
        # hiss-free tone rather than loud noise, and learns to add noise where the data has it.
        return (exp_sigmoid(amp_logit), self.harmonic_distribution(harm_logits, f0),
                exp_sigmoid(noise_logits - 5.0))

    def render(self, amplitude: torch.Tensor, distribution: torch.Tensor, noise: torch.Tensor,
               f0: torch.Tensor) -> torch.Tensor:
        """(batch, samples) audio of positive controls (as `positive_controls` gives them)."""
        return self.harmonic_part(amplitude, distribution, f0) + self.noise_part(noise)

    def forward(self, controls: torch.Tensor, f0: torch.Tensor) -> torch.Tensor:
        return self.render(*self.positive_controls(controls, f0), f0)
