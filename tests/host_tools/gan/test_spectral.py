"""The spectral codec: real notes round-trip, and decoding makes a generated (inconsistent) spectrogram's
frames agree with its magnitudes."""

from __future__ import annotations

import math

import torch

from host_tools.gan.spectral import SpectralCodec


def _codec() -> SpectralCodec:
    return SpectralCodec(n_fft=512, hop=256, samples=16000, frames=64)


def _note() -> torch.Tensor:
    t = torch.arange(16000, dtype=torch.float32) / 16000
    envelope = torch.exp(-2.0 * t)
    return (envelope * sum(torch.sin(2 * math.pi * 261.63 * k * t) / k for k in (1, 2, 3))).unsqueeze(0)


def test_a_real_note_survives_the_round_trip_with_and_without_refinement() -> None:
    codec, note = _codec(), _note()
    for refine in (0, None):
        audio = codec.decode(codec.encode(note), refine=refine)
        assert audio.shape == note.shape
        assert (audio - note).abs().max() < 1e-3


def _magnitude_error(codec: SpectralCodec, audio: torch.Tensor, target: torch.Tensor) -> float:
    return float((codec.encode(audio)[:, 0, :63] - target[:, 0, :63]).abs().mean())


def test_refinement_brings_a_scrambled_phase_closer_to_its_magnitudes() -> None:
    codec, note = _codec(), _note()
    spec = codec.encode(note)
    scrambled = spec.clone()
    scrambled[:, 1] = torch.rand(scrambled[:, 1].shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
    plain = _magnitude_error(codec, codec.decode(scrambled, refine=0), spec)
    refined = _magnitude_error(codec, codec.decode(scrambled, refine=16), spec)
    assert refined < 0.7 * plain
