"""The RNN: (x, y, pitch, loudness) per 4 ms frame -> harmonic-plus-noise controls (host tools; torch).

input MLP (two layers, leaky ReLU) -> GRU -> a linear head over [GRU output, MLP output] to
1 + harmonics + noise_bands numbers, made into the contract's controls (device/bundle/rnn_format.py):
amplitude and noise magnitudes through DDSP's exp_sigmoid (positive, with a soft ceiling a little
above the largest value in the training data, so no input can make it blast), the harmonic
distribution a softmax over the harmonics below nyquist_hz only, the mask computed from the pitch
input (as HarmonicNoiseSynth.harmonic_distribution does). That output stage is `output_stage`; the
exported ONNX ends before it, at the head's raw outputs (`raw`), and the device runs the same stage
compiled (device/engine/rnn_stage.py; its constants travel in the bundle: EXP_SIGMOID_EXPONENT,
EXP_SIGMOID_THRESHOLD, amplitude_max, noise_max, nyquist_hz). Not autoregressive on its own output: the GRU
reads only the conditioning, so it cannot feed back into a blow-up, and the state is explicit
(an input and an output) so the device can step it block by block.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from host_tools.gan.harmonic_synth import exp_sigmoid

PITCH_CENTRE, PITCH_SPAN = 60.0, 24.0   # pitch input = (midi - 60) / 24
_SLOPE = 0.2
LOG_FLOOR = 1e-4                         # -80 dB: quieter partials and bands are not judged
EXP_SIGMOID_EXPONENT, EXP_SIGMOID_THRESHOLD = 10.0, 1e-7   # exp_sigmoid's (DDSP's) defaults


def pitch_input(midi: Any) -> Any:
    return (midi - PITCH_CENTRE) / PITCH_SPAN


@dataclass(frozen=True)
class Architecture:
    """Everything that fixes the network's shape and output scale (saved with runs and bundles)."""

    input_width: int
    hidden: int
    layers: int
    harmonics: int
    noise_bands: int
    nyquist_hz: float
    amplitude_max: float
    noise_max: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def width(self) -> int:
        return 1 + self.harmonics + self.noise_bands


class ControlRnn(nn.Module):
    """cond (B, T, 4), state (L, B, H) -> controls (B, T, 1 + harmonics + noise_bands), state_out."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.arch = arch
        w = arch.input_width
        self.inputs = nn.Sequential(nn.Linear(4, w), nn.LeakyReLU(_SLOPE), nn.Linear(w, w),
                                    nn.LeakyReLU(_SLOPE))
        self.gru = nn.GRU(w, arch.hidden, num_layers=arch.layers, batch_first=True)
        self.head = nn.Linear(arch.hidden + w, arch.width)
        self.register_buffer("harmonic_numbers", torch.arange(1, arch.harmonics + 1, dtype=torch.float32),
                             persistent=False)

    def zero_state(self, batch: int = 1) -> torch.Tensor:
        return torch.zeros(self.arch.layers, batch, self.arch.hidden)

    def forward(self, cond: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw, state_out = self.raw(cond, state)
        return self.output_stage(raw, cond), state_out

    def raw(self, cond: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The head's raw outputs (B, T, width) and the state: what the exported graph returns."""
        features = self.inputs(cond)
        out, state_out = self.gru(features, state)
        return self.head(torch.cat([out, features], dim=2)), state_out

    def output_stage(self, raw: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Raw outputs -> controls (amplitude, harmonic distribution, noise magnitudes); the device's
        device/engine/rnn_stage.output_stage computes the same."""
        harmonics = self.arch.harmonics
        amplitude = exp_sigmoid(raw[:, :, :1], EXP_SIGMOID_EXPONENT, self.arch.amplitude_max,
                                EXP_SIGMOID_THRESHOLD)
        midi = cond[:, :, 2:3] * PITCH_SPAN + PITCH_CENTRE
        f0 = 440.0 * torch.pow(2.0, (midi - 69.0) / 12.0)
        audible = self.harmonic_numbers * f0 < self.arch.nyquist_hz            # (B, T, H)
        logits = raw[:, :, 1:1 + harmonics].masked_fill(~audible, float("-inf"))
        distribution = torch.softmax(logits, dim=2)
        noise = exp_sigmoid(raw[:, :, 1 + harmonics:], EXP_SIGMOID_EXPONENT, self.arch.noise_max,
                            EXP_SIGMOID_THRESHOLD)
        return torch.cat([amplitude, distribution, noise], dim=2)


def control_loss(predicted: torch.Tensor, target: torch.Tensor, harmonics: int) -> dict[str, torch.Tensor]:
    """L1 distances in the log domain, each in natural-log units (x 8.7 for dB):
    amplitude; each harmonic's amplitude (amplitude x distribution, so a harmonic counts by how loud it
    is and the quiet ones below -80 dB not at all); each noise band's magnitude."""
    def log(x: torch.Tensor) -> torch.Tensor:
        return torch.log(x + LOG_FLOOR)

    amp, dist, noise = predicted[..., :1], predicted[..., 1:1 + harmonics], predicted[..., 1 + harmonics:]
    t_amp, t_dist, t_noise = target[..., :1], target[..., 1:1 + harmonics], target[..., 1 + harmonics:]
    parts = {
        "amplitude": (log(amp) - log(t_amp)).abs().mean(),
        "harmonics": (log(amp * dist) - log(t_amp * t_dist)).abs().mean(),
        "noise": (log(noise) - log(t_noise)).abs().mean(),
    }
    parts["total"] = parts["amplitude"] + parts["harmonics"] + parts["noise"]
    return parts


def output_ceiling(largest: float) -> float:
    """exp_sigmoid's ceiling for a positive output whose largest training value is `largest`: 1.5 x that
    (room to fit, not to blast), at least 1e-3."""
    return float(max(1.5 * largest, 1e-3))
