"""Harmonic templates of a conditioning pitch, fed to the spectral generator beside its activations
(host training layer; imports torch).

A convolutional generator has no sense of absolute frequency: nearest-upsampling and 3x3 convolutions
are the same at every bin, so placing partials at k * f0 must be learned from the dense layer's coarse
layout, which took GANSynth days of GPU time. Two fixed channels per resolution, broadcast over time,
give it that coordinate for free (a CoordConv for pitch): a harmonic comb (1 at k * f0, Gaussian over
about one bin) and the instantaneous frequency a partial at the nearest harmonic would have. The
networks stay free to ignore them; the first conv block's activations (the latent analysis's input)
are untouched by them.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from host_tools.gan.config import GanConfig, pitch_list


def harmonic_templates(cfg: GanConfig) -> torch.Tensor:
    """(pitches, 2, n_fft // 2): comb and expected instantaneous frequency (in the codec's units)."""
    audio = cfg.audio
    rate, n_fft, hop = audio.sample_rate, audio.n_fft, audio.hop
    centres = torch.arange(n_fft // 2, dtype=torch.float64) * rate / n_fft
    bin_hz = rate / n_fft
    rows = []
    for pitch in pitch_list(cfg):
        f0 = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
        nearest = torch.clamp(torch.round(centres / f0), min=1.0) * f0
        comb = torch.exp(-0.5 * ((centres - nearest) / bin_hz) ** 2)
        comb = torch.where(nearest < rate / 2, comb, torch.zeros_like(comb))
        advance = 2.0 * math.pi * nearest * hop / rate
        frequency = torch.atan2(torch.sin(advance), torch.cos(advance)) / math.pi
        rows.append(torch.stack([comb, frequency]))
    return torch.stack(rows).float()


def at_resolution(templates: torch.Tensor, bins: int) -> torch.Tensor:
    """The templates averaged down to `bins` frequency cells: (pitches, 2, bins)."""
    factor = templates.shape[-1] // bins
    return F.avg_pool1d(templates, factor) if factor > 1 else templates
