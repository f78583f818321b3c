"""GANSynth's note representation: STFT log-magnitude + instantaneous frequency, and its inverse
(host training layer; imports torch).

Magnitudes are divided by half the window's sum, so a full-scale sine peaks near 1, then
log(|X| + 1e-6) in [-13.8, 0] is mapped linearly onto [-1, 1] — a fixed scaling with no data statistics
to store. The instantaneous frequency is the frame-to-frame phase advance wrapped into (-pi, pi] and
divided by pi; integrating it back gives exactly the original phase modulo 2 pi, so a real note
survives the round trip and a generated one gets a phase that is coherent over time (the reason
GANSynth's notes are clean where a generated raw phase would smear). The Nyquist bin is dropped so the
frequency axis is a power of two; time frames are padded with silence up to the generator's size.
"""

from __future__ import annotations

import math

import torch

_EPS = 1e-6
_LOG_FLOOR = math.log(_EPS)  # -13.8: the log-magnitude of silence
# Griffin-Lim steps after the IF integration. A generated spectrogram is rarely a consistent STFT: its
# overlapping frames disagree in phase, and overlap-add then modulates the note at the frame rate
# (16000 / 256 = 62.5 Hz on tiny), a period the YIN estimator reported as the pitch of most generated
# notes. Starting from the IF phase, each step keeps the generated magnitudes and takes the phase of
# the nearest consistent signal; 16 steps is where pitch accuracy stopped improving on tiny
# (docs/MEASUREMENTS.md). A real note's STFT is consistent already, so it survives the round trip.
REFINE_ITERATIONS = 16


class SpectralCodec:
    """audio (batch, samples) <-> representation (batch, 2, frames, bins) for one STFT geometry."""

    def __init__(self, n_fft: int, hop: int, samples: int, frames: int) -> None:
        self.n_fft, self.hop, self.samples, self.frames = n_fft, hop, samples, frames
        self.window = torch.hann_window(n_fft)
        self.scale = float(self.window.sum()) / 2.0

    def _window(self, like: torch.Tensor) -> torch.Tensor:
        return self.window.to(device=like.device, dtype=like.dtype)

    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        stft = torch.stft(audio, self.n_fft, self.hop, window=self._window(audio), center=True,
                          return_complex=True)[:, :-1, :]  # (batch, bins, frames), Nyquist dropped
        magnitude = stft.abs() / self.scale
        log_magnitude = torch.log(magnitude + _EPS)
        normalised = (log_magnitude - _LOG_FLOOR / 2) / (-_LOG_FLOOR / 2)
        phase = torch.angle(stft)
        advance = torch.diff(phase, dim=-1, prepend=torch.zeros_like(phase[..., :1]))
        frequency = torch.atan2(torch.sin(advance), torch.cos(advance)) / math.pi
        spec = torch.stack([normalised, frequency], dim=1).transpose(2, 3)  # (batch, 2, frames, bins)
        pad = self.frames - spec.shape[2]
        if pad > 0:
            silence = torch.zeros(spec.shape[0], 2, pad, spec.shape[3], dtype=spec.dtype, device=spec.device)
            silence[:, 0] = -1.0
            spec = torch.cat([spec, silence], dim=2)
        return spec[:, :, : self.frames]

    def decode(self, spec: torch.Tensor, refine: int | None = None) -> torch.Tensor:
        """Audio with the phase integrated from the IF, then `refine` (default REFINE_ITERATIONS)
        Griffin-Lim steps that keep the magnitudes and make the frames agree (see REFINE_ITERATIONS)."""
        used = self.samples // self.hop + 1
        spec = spec[:, :, :used].transpose(2, 3)  # (batch, 2, bins, frames)
        log_magnitude = spec[:, 0].clamp(-1.0, 1.0) * (-_LOG_FLOOR / 2) + _LOG_FLOOR / 2
        magnitude = (torch.exp(log_magnitude) - _EPS).clamp_min(0.0) * self.scale
        magnitude = torch.cat([magnitude, torch.zeros_like(magnitude[:, :1])], dim=1)  # Nyquist, silent
        phase = torch.cumsum(spec[:, 1] * math.pi, dim=-1)
        phase = torch.cat([phase, torch.zeros_like(phase[:, :1])], dim=1)
        audio = self._inverse(torch.polar(magnitude, phase))
        for _ in range(REFINE_ITERATIONS if refine is None else refine):
            stft = torch.stft(audio, self.n_fft, self.hop, window=self._window(audio), center=True,
                              return_complex=True)
            audio = self._inverse(torch.polar(magnitude, torch.angle(stft)))
        return audio

    def _inverse(self, stft: torch.Tensor) -> torch.Tensor:
        return torch.istft(stft, self.n_fft, self.hop, window=self._window(stft.real), center=True,
                           length=self.samples)
