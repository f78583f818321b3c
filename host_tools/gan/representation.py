"""Audio <-> what the networks see, for either representation in the config (host training layer;
imports torch).

Why spectral (GANSynth's log-magnitude + instantaneous frequency) is the default: on the tiny config
the waveform GAN (WaveGAN-style) still made unpitched noise where the spectral one was pitched, and
cost more per step (25-tap 1-D convolutions over 16 384 samples, whose backward pass is slow on a
CPU), matching GANSynth's finding that IF spectra beat waveforms for pitched notes (the comparison:
docs/MEASUREMENTS.md). The spectral codec inverts real notes exactly (round-trip error ~1e-5), so
phase is only as wrong as the generated instantaneous frequency.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from host_tools.gan.config import GanConfig, note_samples, output_shape
from host_tools.gan.spectral import SpectralCodec


class NoteCodec:
    """encode: audio (batch, samples) -> (batch, *output_shape); decode: the reverse."""

    def __init__(self, cfg: GanConfig) -> None:
        self.samples = note_samples(cfg)
        self.shape = output_shape(cfg)
        self.spectral = (
            SpectralCodec(cfg.audio.n_fft, cfg.audio.hop, self.samples, self.shape[1])
            if cfg.audio.representation == "spectral"
            else None
        )

    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        if self.spectral is not None:
            return self.spectral.encode(audio)
        return F.pad(audio, (0, self.shape[1] - audio.shape[1])).unsqueeze(1)

    def decode(self, representation: torch.Tensor) -> torch.Tensor:
        if self.spectral is not None:
            return self.spectral.decode(representation)
        return representation[:, 0, : self.samples]
