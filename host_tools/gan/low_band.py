"""The silent low band of the spectral representation: bins below every trained fundamental (host
training layer; imports torch).

A pitched instrument note has no energy below its fundamental, so bins under 0.7 x the lowest trained
fundamental carry nothing in the training data (0.7 leaves the Hann window's main lobe around the
fundamental untouched: two bins either side at the shipped geometries). Left free, the generator
filled them anyway: on `tiny` (pitches 60-67, 31 Hz bins) its notes carried 40 dB more energy in
bins 2-3 (60-95 Hz) than the real notes'. (Most of the wrong pitches YIN reported were a different
fault, the frame-rate modulation that spectral.py's Griffin-Lim steps remove.)
The critic gives no useful gradient against a handful of near-silent bins, so this is fixed as an
architectural prior instead: the generator's output there is exact silence (log-magnitude -1,
instantaneous frequency 0), and real notes are encoded the same way so the critic never spends
capacity on a band the generator cannot change.
"""

from __future__ import annotations

import math

import torch

from host_tools.gan.config import GanConfig, pitch_list

LOW_CUT_RATIO = 0.7  # of the lowest trained fundamental


def silent_bins(cfg: GanConfig) -> int:
    """How many of the lowest STFT bins lie below LOW_CUT_RATIO x the lowest trained fundamental."""
    audio = cfg.audio
    lowest = 440.0 * 2.0 ** ((min(pitch_list(cfg)) - 69) / 12.0)
    bin_hz = audio.sample_rate / audio.n_fft
    return min(math.ceil(LOW_CUT_RATIO * lowest / bin_hz), audio.n_fft // 2)


def silence_low_band(spec: torch.Tensor, bins: int) -> torch.Tensor:
    """(batch, 2, frames, bins) with the lowest `bins` bins set to silence; out of place (autograd-safe)."""
    if bins <= 0:
        return spec
    keep = torch.ones(spec.shape[-1], dtype=spec.dtype, device=spec.device)
    keep[:bins] = 0.0
    floor = torch.zeros(2, 1, spec.shape[-1], dtype=spec.dtype, device=spec.device)
    floor[0, 0, :bins] = -1.0  # log-magnitude of silence; the instantaneous frequency stays 0
    return spec * keep + floor
