"""The silent low band: which bins it covers, and that generated and real notes are silent there."""

from __future__ import annotations

import math

import torch

from host_tools.gan.config import load_config
from host_tools.gan.low_band import LOW_CUT_RATIO, silence_low_band, silent_bins
from host_tools.gan.networks import Generator
from host_tools.gan.representation import NoteCodec

from .micro import micro_config


def test_the_band_ends_below_the_lowest_fundamental_of_each_shipped_config() -> None:
    for name in ("tiny", "small", "full"):
        cfg = load_config(name)
        bin_hz = cfg.audio.sample_rate / cfg.audio.n_fft
        lowest = 440.0 * 2.0 ** ((cfg.data.pitches[0] - 69) / 12.0)
        bins = silent_bins(cfg)
        assert (bins - 1) * bin_hz < LOW_CUT_RATIO * lowest <= bins * bin_hz
        assert (bins - 1) * bin_hz < lowest - 2 * bin_hz  # the Hann main lobe (+-2 bins) of f0 stays free
    assert silent_bins(load_config("tiny")) == 6  # 0.7 x 261.6 Hz = 183 Hz over 31.25 Hz bins


def test_generated_notes_are_exactly_silent_in_the_band_and_free_above() -> None:
    cfg = micro_config()
    torch.manual_seed(0)
    generator = Generator(cfg).eval()
    with torch.no_grad():
        spec = generator(torch.randn(3, cfg.model.latent_dim), torch.tensor([0, 1, 2]))
    bins = silent_bins(cfg)
    assert bins > 0
    assert torch.equal(spec[:, 0, :, :bins], torch.full_like(spec[:, 0, :, :bins], -1.0))
    assert torch.equal(spec[:, 1, :, :bins], torch.zeros_like(spec[:, 1, :, :bins]))
    assert spec[:, 0, :, bins:].std() > 0


def test_a_real_note_keeps_its_pitch_band_and_loses_only_the_rumble() -> None:
    cfg = load_config("tiny")
    rate = cfg.audio.sample_rate
    t = torch.arange(rate) / rate
    note = torch.sin(2 * math.pi * 261.63 * t) + 0.5 * torch.sin(2 * math.pi * 70.0 * t)
    spec = NoteCodec(cfg).encode(note.unsqueeze(0))
    bins = silent_bins(cfg)
    silenced = silence_low_band(spec, bins)
    assert spec[0, 0, 10, 2] > -0.5  # the 70 Hz rumble was there ...
    assert torch.all(silenced[:, 0, :, :bins] == -1.0)  # ... and is gone
    assert torch.equal(silenced[:, :, :, bins:], spec[:, :, :, bins:])
    assert silence_low_band(spec, 0) is spec
